//! Supervision rounds (督查, issue 23) through the API on both backends: the office opens an
//! undercover round and records findings that no unit can see; publishing hands them over as
//! routed cases; the ledger (台账) follows each to 销号 with counts computed by hand here; an
//! open round hands its finding over at once, and one past its rectify-by day is overdue.

mod common;

use common::{inside, small_jpeg, upload_form, Backend, Server};
use serde_json::{json, Value};

/// The counts of a ledger row, in the order found, rectified, not rectified, overdue, reopened, voided.
fn tally(row: &Value) -> [u64; 6] {
    ["found", "rectified", "not_rectified", "overdue", "reopened", "voided"].map(|k| row[k].as_u64().unwrap_or(99))
}

fn row<'a>(rows: &'a Value, key: &str) -> &'a Value {
    rows.as_array().and_then(|r| r.iter().find(|r| r["key"] == key)).unwrap_or(&Value::Null)
}

fn scenario(backend: &Backend) {
    let name = backend.name();
    let server = Server::start(&backend.url(), &["--demo", "--clock-start", "2026-11-20T10:00:00+08:00"]);
    let [office, dispatcher, unit] = ["office", "dispatcher", "unit"].map(|r| server.session(r));
    let app = server.token_of("app");

    // Places: two grids of the demo unit (东华门街道办事处), one of another unit.
    let (_, grids) = server.get_as(Some(&office), "/api/v1/layers/grids?level=grid");
    let grids = grids["features"].as_array().expect("grids").clone();
    let of_unit = |mine: bool| -> Vec<&Value> {
        grids.iter().filter(|g| (g["properties"]["responsible_unit"] == "东华门街道办事处") == mine).collect()
    };
    let (ours, theirs) = (of_unit(true), of_unit(false));
    let other_unit = theirs[0]["properties"]["responsible_unit"].as_str().expect("a unit").to_string();
    let places = [inside(ours[0]), inside(ours[1]), inside(theirs[0])];

    // Only the office opens rounds; bodies are checked field by field.
    let round = json!({"name": "11月第三周暗访", "kind": "undercover", "starts_on": "2026-11-16",
                       "ends_on": "2026-11-20", "rectify_by": "2026-11-27"});
    assert_eq!(server.post_as(Some(&dispatcher), "/api/v1/rounds", &round.to_string()).0, 403, "{name}");
    let backwards = json!({"name": "x", "kind": "open", "starts_on": "2026-11-20", "ends_on": "2026-11-16"});
    let (status, error) = server.post_as(Some(&office), "/api/v1/rounds", &backwards.to_string());
    assert_eq!((status, error["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("ends_on")), "{error}");
    let unknown = json!({"name": "x", "kind": "secret", "starts_on": "2026-11-16", "ends_on": "2026-11-20"});
    let (status, error) = server.post_as(Some(&office), "/api/v1/rounds", &unknown.to_string());
    assert_eq!((status, error["error"]["code"].as_str()), (422, Some("invalid_round")), "{name}: {error}");

    let (status, undercover) = server.post_as(Some(&office), "/api/v1/rounds", &round.to_string());
    assert_eq!(status, 201, "{name}: {undercover}");
    assert_eq!((undercover["year"].as_i64(), undercover["number"].as_i64()), (Some(2026), Some(1)), "{name}");
    assert_eq!(undercover["area"], json!(["110101"]), "{name}: the office's own scope");
    let days = ["starts_on", "ends_on", "rectify_by"].map(|d| undercover[d].as_str().unwrap_or("?").to_string());
    assert_eq!(days, ["2026-11-16", "2026-11-20", "2026-11-27"], "{name}");
    let id = undercover["id"].as_i64().expect("id");

    // Three findings, withheld: no case yet (the demo's own undercover cases stay as they were).
    let undercover_cases = || server.get_as(Some(&dispatcher), "/api/v1/problems?source=undercover").1["total"].clone();
    let before = undercover_cases();
    for ((lon, lat), what) in places.iter().zip(["垃圾堆放", "占道经营", "乱贴小广告"]) {
        let finding = json!({"lon": lon, "lat": lat, "category": "暴露垃圾", "description": what});
        let (status, recorded) =
            server.post_as(Some(&office), &format!("/api/v1/rounds/{id}/findings"), &finding.to_string());
        assert_eq!(status, 201, "{name}: {recorded}");
        assert!(recorded["problem"].is_null() && recorded["finding"]["problem_id"].is_null(), "{name}: withheld");
    }
    let findings_path = format!("/api/v1/rounds/{id}/findings");
    let nowhere = json!({"point": "NO-SUCH-POINT", "category": "暴露垃圾", "description": "x"});
    let (status, error) = server.post_as(Some(&office), &findings_path, &nowhere.to_string());
    assert_eq!((status, error["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("point")), "{name}");
    let by_unit = json!({"lon": places[0].0, "lat": places[0].1, "category": "暴露垃圾", "description": "x"});
    assert_eq!(server.post_as(Some(&unit), &findings_path, &by_unit.to_string()).0, 403, "{name}: units do not");

    // An office of one street runs no round of the district: it does not see it, nor act on it.
    let street_office =
        common::user_with_token(&backend.url(), "office-dongsi", &["--role", "office", "--scope", "110101002"]);
    assert_eq!(server.get_as(Some(&street_office), &format!("/api/v1/rounds/{id}")).0, 404, "{name}");
    assert_eq!(server.post_as(Some(&street_office), &findings_path, &by_unit.to_string()).0, 404, "{name}");

    // Nobody checked sees the round, its ledger or its findings as cases.
    for token in [&unit, &dispatcher] {
        assert_eq!(server.get_as(Some(token), &format!("/api/v1/rounds/{id}")).0, 404, "{name}");
        assert_eq!(server.get_as(Some(token), &format!("/api/v1/rounds/{id}/ledger")).0, 404, "{name}");
        let (_, listed) = server.get_as(Some(token), "/api/v1/rounds");
        assert_eq!(listed["rounds"].as_array().map(Vec::len), Some(0), "{name}: {listed}");
    }
    assert_eq!(undercover_cases(), before, "{name}: no case before publication");
    assert_eq!(server.get_as(Some(&app), "/api/v1/rounds").0, 403, "{name}: citizen apps see no rounds");

    let ledger_path = format!("/api/v1/rounds/{id}/ledger");
    let (_, ledger) = server.get_as(Some(&office), &ledger_path);
    assert_eq!(tally(&ledger["total"]), [3, 0, 3, 0, 0, 0], "{name}: {}", ledger["total"]);
    assert_eq!(tally(row(&ledger["by_unit"], "—")), [3, 0, 3, 0, 0, 0], "{name}: withheld, routed to no unit yet");

    // Publication hands the three over, routed; once.
    let (status, published) = server.post_as(Some(&office), &format!("/api/v1/rounds/{id}/publish"), "");
    assert_eq!(status, 200, "{name}: {published}");
    let cases = published["handed_over"].as_array().expect("cases").clone();
    assert_eq!(cases.len(), 3, "{name}");
    assert!(cases.iter().all(|c| c["source"] == "undercover" && c["status"] == "reported"), "{name}: {cases:?}");
    let units: Vec<&str> = cases.iter().filter_map(|c| c["responsible_unit"].as_str()).collect();
    assert_eq!(units, ["东华门街道办事处", "东华门街道办事处", other_unit.as_str()], "{name}");
    assert_eq!(server.post_as(Some(&office), &format!("/api/v1/rounds/{id}/publish"), "").0, 409, "{name}");
    assert_eq!(undercover_cases().as_u64(), before.as_u64().map(|n| n + 3), "{name}: three more cases");
    let case_id = |i: usize| cases[i]["id"].as_i64().expect("id");

    // The unit now sees the round and, in its ledger, only what was handed to it.
    assert_eq!(server.get_as(Some(&unit), &format!("/api/v1/rounds/{id}")).0, 200, "{name}");
    let (_, mine) = server.get_as(Some(&unit), &ledger_path);
    assert_eq!(tally(&mine["total"]), [2, 0, 2, 0, 0, 0], "{name}: {}", mine["total"]);
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(2), "{name}");

    // One is fixed and closed (销号); the other unit's is found not to hold (不属实).
    let first = case_id(0);
    for action in ["accept", "register", "dispatch"] {
        server.act(&dispatcher, first, json!({"action": action}));
    }
    let (status, photo) = upload_form(
        &server,
        &unit,
        &format!("/api/v1/problems/{first}/photos"),
        &[("stage", "handling")],
        "after.jpg",
        &small_jpeg(90),
    );
    assert_eq!(status, 201, "{name}: {photo}");
    server.act(&unit, first, json!({"action": "handle", "note": "已清运"}));
    server.act(&dispatcher, first, json!({"action": "verify", "override_flags": true, "note": "现场核查已清理"}));
    let closed = server.act(&dispatcher, first, json!({"action": "close", "override_flags": true, "note": "销号"}));
    assert_eq!(closed["status"], "closed", "{name}");
    server.act(&dispatcher, case_id(2), json!({"action": "void", "note": "经核实不属实"}));

    let (_, ledger) = server.get_as(Some(&office), &ledger_path);
    assert_eq!(tally(&ledger["total"]), [3, 1, 1, 0, 0, 1], "{name}: {}", ledger["total"]);
    assert_eq!(tally(row(&ledger["by_unit"], "东华门街道办事处")), [2, 1, 1, 0, 0, 0], "{name}");
    assert_eq!(tally(row(&ledger["by_unit"], &other_unit)), [1, 0, 0, 0, 0, 1], "{name}");
    let (_, mine) = server.get_as(Some(&unit), &ledger_path);
    assert_eq!(tally(&mine["total"]), [2, 1, 1, 0, 0, 0], "{name}: {}", mine["total"]);
    let standings: Vec<&str> =
        ledger["items"].as_array().expect("items").iter().filter_map(|i| i["standing"].as_str()).collect();
    assert_eq!(standings, ["rectified", "not_rectified", "voided"], "{name}");

    // The 督查通报 says the same numbers, as JSON, printable HTML and XLSX.
    let (status, bulletin) = server.get_as(Some(&office), &format!("/api/v1/rounds/{id}/bulletin"));
    assert_eq!(status, 200, "{name}: {bulletin}");
    assert_eq!(bulletin["title"], "督查通报（2026年第1期）", "{name}");
    let summary = bulletin["summary"].as_str().unwrap_or_default();
    for part in ["对东城区开展暗访督查", "发现问题3个", "已整改1个，未整改1个（其中超期0个），不属实1个，整改率50.0%"]
    {
        assert!(summary.contains(part), "{name}: {part:?} in {summary}");
    }
    let ranked: Vec<&str> =
        bulletin["units"].as_array().expect("units").iter().filter_map(|u| u["unit"].as_str()).collect();
    assert_eq!(ranked, ["东华门街道办事处", other_unit.as_str()], "{name}: the rectified first");
    assert_eq!(bulletin["open"].as_array().map(Vec::len), Some(1), "{name}");
    // The office writes a foreword (one of two writers at the same version wins), and a letter
    // over the open finding joins the bulletin.
    let foreword = "为巩固创建成果，市创建办开展暗访督查，现将有关情况通报如下。";
    let write = |version: i64| {
        let body = json!({"foreword": foreword, "version": version}).to_string();
        server.send_as("PUT", Some(&office), &format!("/api/v1/rounds/{id}/foreword"), Some(&body))
    };
    let (status, written) = write(0);
    assert_eq!((status, written["version"].as_i64()), (200, Some(1)), "{name}: {written}");
    assert_eq!(write(0).0, 409, "{name}: a stale version loses");
    let body = json!({"foreword": "x", "version": 1}).to_string();
    assert_eq!(server.send_as("PUT", Some(&unit), &format!("/api/v1/rounds/{id}/foreword"), Some(&body)).0, 403);
    let open_case = case_id(1);
    let letter =
        json!({"kind": "notice", "unit": "东华门街道办事处", "cases": [open_case], "reason": "暗访发现问题未整改"});
    let (status, letter) = server.post_as(Some(&office), "/api/v1/letters", &letter.to_string());
    assert_eq!(status, 201, "{name}: {letter}");
    let (_, bulletin) = server.get_as(Some(&office), &format!("/api/v1/rounds/{id}/bulletin"));
    assert_eq!(bulletin["foreword"], foreword, "{name}");
    assert_eq!(bulletin["letters"][0]["label"], letter["label"], "{name}");
    assert_eq!(bulletin["letters"][0]["cases"], json!([open_case]), "{name}");
    assert!(bulletin["last_round"].is_null(), "{name}: the year's first round has none before it");
    let page = server.fetch(Some(&office), &format!("/api/v1/rounds/{id}/bulletin?format=html"), None);
    let html = String::from_utf8_lossy(&page.body).to_string();
    assert!(page.status == 200 && html.contains("@page { size: A4") && html.contains(summary), "{name}: {html}");
    assert!(html.contains(foreword) && html.contains(letter["label"].as_str().unwrap_or("?")), "{name}: {html}");
    // The same as a PDF: its text, read back by poppler's pdftotext, says what the page says.
    let pdf = server.fetch(Some(&office), &format!("/api/v1/rounds/{id}/bulletin?format=pdf"), None);
    assert!(pdf.status == 200 && pdf.body.starts_with(b"%PDF-"), "{name}: {}", pdf.status);
    let words = common::pdf_text(&pdf.body, &format!("bulletin-{name}"));
    for expected in ["督查通报（2026年第1期）", "一、各责任单位整改情况", "东华门街道办事处", foreword]
    {
        assert!(words.contains(expected), "{name}: {expected:?} not in the PDF: {words}");
    }
    assert_eq!(server.get_as(Some(&office), &format!("/api/v1/rounds/{id}/bulletin?format=doc")).0, 400, "{name}");
    let book = server.fetch(Some(&office), &format!("/api/v1/rounds/{id}/bulletin?format=xlsx"), None);
    assert_eq!(book.status, 200, "{name}");
    let lines = common::openpyxl(
        &book.body,
        &format!("bulletin-{name}"),
        "print(book.sheetnames)\n\
         print(book['通报'].cell(1, 1).value)\n\
         s = book['各单位']\n\
         print(*[s.cell(2, c).value for c in range(1, 9)], sep='|')",
    );
    assert_eq!(lines[0], "['通报', '各单位', '各点位', '未整改问题', '督办函']", "{name}");
    assert_eq!(lines[1], "督查通报（2026年第1期）", "{name}");
    assert_eq!(lines[2], "1|东华门街道办事处|2|1|1|0|0|0.5", "{name}");

    // An open round hands its finding over at once; past its rectify-by day it is overdue.
    let late = json!({"name": "11月专项明查", "kind": "open", "starts_on": "2026-11-17", "ends_on": "2026-11-18",
                      "rectify_by": "2026-11-19"});
    let (status, open) = server.post_as(Some(&office), "/api/v1/rounds", &late.to_string());
    assert_eq!((status, open["number"].as_i64()), (201, Some(2)), "{name}: {open}");
    let finding = json!({"lon": places[1].0, "lat": places[1].1, "category": "暴露垃圾", "description": "门前堆物 <script>x</script>"});
    let (status, recorded) =
        server.post_as(Some(&office), &format!("/api/v1/rounds/{}/findings", open["id"]), &finding.to_string());
    assert_eq!(status, 201, "{name}: {recorded}");
    assert_eq!(recorded["problem"]["source"], "supervision", "{name}: handed over at once");
    assert_eq!(recorded["problem"]["responsible_unit"], "东华门街道办事处", "{name}");
    let (status, late_ledger) = server.get_as(Some(&unit), &format!("/api/v1/rounds/{}/ledger", open["id"]));
    assert_eq!(status, 200, "{name}: an open round is public");
    assert_eq!(tally(&late_ledger["total"]), [1, 0, 1, 1, 0, 0], "{name}: {}", late_ledger["total"]);
    let (_, listed) = server.get_as(Some(&unit), "/api/v1/rounds");
    assert_eq!(listed["rounds"].as_array().map(Vec::len), Some(2), "{name}: both public now");
    // Its bulletin carries what the round before left open: the one finding not yet rectified.
    let (_, second) = server.get_as(Some(&office), &format!("/api/v1/rounds/{}/bulletin", open["id"]));
    assert_eq!(second["last_round"]["title"], "督查通报（2026年第1期）", "{name}");
    let left: Vec<&Value> =
        second["last_round"]["open"].as_array().expect("open").iter().map(|i| &i["finding"]["problem_id"]).collect();
    assert_eq!(left, [&json!(open_case)], "{name}");
    // Public, the district's round is read by the street office, but still not run by it.
    assert_eq!(server.get_as(Some(&street_office), &format!("/api/v1/rounds/{id}")).0, 200, "{name}");
    assert_eq!(server.post_as(Some(&street_office), &findings_path, &by_unit.to_string()).0, 403, "{name}");
    assert_eq!(server.post_as(Some(&street_office), &format!("/api/v1/rounds/{id}/publish"), "").0, 403, "{name}");
    // What an inspector typed is text in the printed bulletin, never markup.
    let page = server.fetch(Some(&unit), &format!("/api/v1/rounds/{}/bulletin?format=html", open["id"]), None);
    let html = String::from_utf8_lossy(&page.body).to_string();
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"), "{name}: {html}");

    // The week's 督查通报 counts both rounds of 2026-W47 together; the week before held none.
    let (status, week) = server.get_as(Some(&office), "/api/v1/rounds/bulletin?period=2026-W47");
    assert_eq!(status, 200, "{name}: {week}");
    assert_eq!(week["title"], "督查通报（2026年第47周）", "{name}");
    assert_eq!(week["rounds"].as_array().map(Vec::len), Some(2), "{name}");
    assert_eq!(tally(&week["total"]), [4, 1, 2, 1, 0, 1], "{name}: the two ledgers' sums: {}", week["total"]);
    let summary = week["summary"].as_str().unwrap_or("");
    assert!(summary.contains("开展督查2次（明查1次、暗访1次）") && summary.contains("发现问题4个"), "{summary}");
    assert_eq!(week["last_round"]["title"], "督查通报（2026年第46周）", "{name}");
    assert_eq!(week["last_round"]["open"], json!([]), "{name}");
    // The unit counts what was handed to it; a month holds the week; bad periods are named.
    let (_, theirs) = server.get_as(Some(&unit), "/api/v1/rounds/bulletin?period=2026-W47");
    assert_eq!(tally(&theirs["total"]), [3, 1, 2, 1, 0, 0], "{name}: {}", theirs["total"]);
    let (_, month) = server.get_as(Some(&office), "/api/v1/rounds/bulletin?period=2026-11");
    assert_eq!(
        (month["title"].as_str(), tally(&month["total"])),
        (Some("督查通报（2026年11月）"), tally(&week["total"]))
    );
    let (_, october) = server.get_as(Some(&office), "/api/v1/rounds/bulletin?period=2026-10");
    assert_eq!(october["total"]["found"], 0, "{name}");
    let (status, error) = server.get_as(Some(&office), "/api/v1/rounds/bulletin?period=2026-W60");
    assert_eq!((status, error["error"]["details"]["parameter"].as_str()), (400, Some("period")), "{name}: {error}");
    assert_eq!(server.get_as(Some(&app), "/api/v1/rounds/bulletin").0, 403, "{name}: citizen apps see no rounds");
    let book = server.fetch(Some(&office), "/api/v1/rounds/bulletin?period=2026-W47&format=pdf", None);
    let words = common::pdf_text(&book.body, &format!("week-{name}"));
    assert!(words.contains("督查通报（2026年第47周）") && words.contains("11月专项明查"), "{name}: {words}");

    // The office reports what it finds outside a round too.
    let report = json!({"lon": places[0].0, "lat": places[0].1, "category": "暴露垃圾", "description": "检查发现",
                        "source": "undercover"});
    assert_eq!(server.post_as(Some(&office), "/api/v1/problems", &report.to_string()).0, 201, "{name}");

    inspectors(&server, backend, &grids);
    drawn_and_assessed(&server, backend);
}

/// A round's points drawn like a mock assessment (the same seed, the same points), and the failed
/// items of a mock assessment recorded as its findings — once, however often asked.
fn drawn_and_assessed(server: &Server, backend: &Backend) {
    let name = backend.name();
    let office = server.session("office");
    let round = |draw: Value| {
        let body = json!({"name": "12月测评复查", "kind": "open", "starts_on": "2026-11-20", "ends_on": "2026-11-20",
                          "draw": draw});
        server.post_as(Some(&office), "/api/v1/rounds", &body.to_string())
    };
    let (status, first) = round(json!({"n": 3, "seed": 20261120}));
    assert_eq!(status, 201, "{name}: {first}");
    let (_, again) = round(json!({"n": 3, "seed": 20261120}));
    assert_eq!(first["points"].as_array().map(Vec::len), Some(3), "{name}: {first}");
    assert_eq!(first["points"], again["points"], "{name}: the same seed draws the same points");
    let both = json!({"name": "x", "kind": "open", "starts_on": "2026-11-20", "ends_on": "2026-11-20",
                      "points": ["P1"], "draw": {"n": 1, "seed": 1}});
    let (status, error) = server.post_as(Some(&office), "/api/v1/rounds", &both.to_string());
    assert_eq!((status, error["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("draw")), "{name}");

    // A mock assessment of two points: one criterion failed, one passed, one half-scored.
    let (status, assessment) = server.post_as(
        Some(&office),
        "/api/v1/assessments",
        &json!({"name": "11月模拟测评", "n": 2, "seed": 7}).to_string(),
    );
    assert_eq!(status, 201, "{name}: {assessment}");
    let items = assessment["items"].as_array().expect("items");
    let criterion = |i: usize, c: usize| items[i]["checklist"][c]["id"].as_str().expect("criterion").to_string();
    let scores = json!({"scores": [
        {"point": items[0]["code"], "criterion": criterion(0, 0), "pass": false, "note": "垃圾未清"},
        {"point": items[0]["code"], "criterion": criterion(0, 1), "pass": true},
        {"point": items[1]["code"], "criterion": criterion(1, 0), "score": 0.5},
    ]});
    let path = format!("/api/v1/assessments/{}/scores", assessment["id"]);
    let (status, scored) = server.post_as(Some(&office), &path, &scores.to_string());
    assert!(status == 200 || status == 201, "{name}: {scored}");
    let id = first["id"].as_i64().expect("id");
    let from = format!("/api/v1/rounds/{id}/findings/from-assessment");
    let body = json!({"assessment": assessment["id"]}).to_string();
    let (status, made) = server.post_as(Some(&office), &from, &body);
    assert_eq!(status, 201, "{name}: {made}");
    let recorded = made["recorded"].as_array().expect("recorded");
    assert_eq!((recorded.len(), made["already"].as_u64()), (2, Some(0)), "{name}: the two items scored below full");
    let points: Vec<&Value> = recorded.iter().map(|r| &r["finding"]["point_code"]).collect();
    assert_eq!(points, [&items[0]["code"], &items[1]["code"]], "{name}");
    assert!(recorded[0]["finding"]["description"].as_str().is_some_and(|d| d.contains("垃圾未清")), "{name}");
    assert_eq!(recorded[0]["problem"]["source"], "supervision", "{name}: handed over at once (an open round)");
    let (status, again) = server.post_as(Some(&office), &from, &body);
    assert_eq!(
        (status, again["recorded"].as_array().map(Vec::len), again["already"].as_u64()),
        (201, Some(0), Some(2))
    );
    let (_, ledger) = server.get_as(Some(&office), &format!("/api/v1/rounds/{id}/ledger"));
    assert_eq!(ledger["total"]["found"], 2, "{name}: each failed item once");

    // The bulletin shows the worst points with their photos: a photo of the first as found.
    let case = recorded[0]["problem"]["id"].as_i64().expect("case");
    let (status, photo) = upload_form(
        server,
        &office,
        &format!("/api/v1/problems/{case}/photos"),
        &[("stage", "report")],
        "found.jpg",
        &small_jpeg(77),
    );
    assert_eq!(status, 201, "{name}: {photo}");
    let (_, bulletin) = server.get_as(Some(&office), &format!("/api/v1/rounds/{id}/bulletin"));
    let worst = bulletin["worst_points"].as_array().expect("worst points");
    assert_eq!(worst.len(), 2, "{name}: both points have a finding not rectified");
    let first = worst.iter().find(|p| p["point"] == items[0]["code"]).expect("the first point");
    assert_eq!((first["cases"][0]["case"].as_i64(), &first["cases"][0]["before"]), (Some(case), &photo["sha256"]));
    assert!(first["cases"][0]["after"].is_null(), "{name}: not fixed yet");
    let page = server.fetch(Some(&office), &format!("/api/v1/rounds/{id}/bulletin?format=html"), None);
    let html = String::from_utf8_lossy(&page.body).to_string();
    assert!(
        html.contains("问题较多点位") && html.contains("data:image/jpeg;base64,"),
        "{name}: the photo is in the page"
    );
    let nowhere = json!({"assessment": 999_999}).to_string();
    let (status, error) = server.post_as(Some(&office), &from, &nowhere);
    assert_eq!((status, error["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("assessment")), "{name}");
}

/// Inspectors (督查员): one named in an undercover round sees it before publication and records
/// findings in their own street only; one not named sees nothing; neither opens nor publishes.
fn inspectors(server: &Server, backend: &Backend, grids: &[Value]) {
    let name = backend.name();
    let office = server.session("office");
    let url = backend.url();
    let named = common::user_with_token(&url, "inspector-jingshan", &["--role", "inspector", "--scope", "110101001"]);
    let other = common::user_with_token(&url, "inspector-other", &["--role", "inspector", "--scope", "110101001"]);
    let street = |inside_street: bool| {
        let grid = grids.iter().find(|g| g["id"].as_str().unwrap_or("").starts_with("110101001") == inside_street);
        inside(grid.expect("a grid"))
    };
    let (mine, elsewhere) = (street(true), street(false));
    let round = |inspectors: Value| {
        json!({"name": "12月暗访", "kind": "undercover", "starts_on": "2026-11-20", "ends_on": "2026-11-20",
               "inspectors": inspectors})
        .to_string()
    };
    let (status, error) = server.post_as(Some(&office), "/api/v1/rounds", &round(json!(["demo-unit"])));
    assert_eq!((status, error["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("inspectors")), "{name}");
    assert_eq!(
        server.post_as(Some(&named), "/api/v1/rounds", &round(json!([]))).0,
        403,
        "{name}: inspectors open none"
    );
    let (status, created) = server.post_as(Some(&office), "/api/v1/rounds", &round(json!(["inspector-jingshan"])));
    assert_eq!(status, 201, "{name}: {created}");
    assert_eq!(created["inspectors"], json!(["inspector-jingshan"]), "{name}");
    let path = |tail: &str| format!("/api/v1/rounds/{}{tail}", created["id"]);
    assert_eq!(server.get_as(Some(&named), &path("")).0, 200, "{name}: the named inspector sees it unpublished");
    assert_eq!(server.get_as(Some(&other), &path("")).0, 404, "{name}: another does not");
    let finding = |(lon, lat): (f64, f64)| {
        json!({"lon": lon, "lat": lat, "category": "暴露垃圾", "description": "督查员发现"}).to_string()
    };
    assert_eq!(server.post_as(Some(&other), &path("/findings"), &finding(mine)).0, 404, "{name}");
    let (status, recorded) = server.post_as(Some(&named), &path("/findings"), &finding(mine));
    assert_eq!(status, 201, "{name}: {recorded}");
    assert_eq!(recorded["finding"]["found_by"], "inspector-jingshan", "{name}");
    let (status, error) = server.post_as(Some(&named), &path("/findings"), &finding(elsewhere));
    assert_eq!((status, error["error"]["code"].as_str()), (403, Some("outside_area")), "{name}: only in their street");
    assert_eq!(server.post_as(Some(&named), &path("/publish"), "").0, 403, "{name}: the office publishes");
    let (_, ledger) = server.get_as(Some(&named), &path("/ledger"));
    assert_eq!(tally(&ledger["total"]), [1, 0, 1, 0, 0, 0], "{name}: the withheld finding in its ledger");
    let listed = server.get_as(Some(&other), "/api/v1/rounds").1;
    let ids: Vec<&Value> = listed["rounds"].as_array().expect("rounds").iter().map(|r| &r["id"]).collect();
    assert!(!ids.contains(&&created["id"]), "{name}: not listed to an inspector it does not name");
    assert_eq!(
        server.post_as(Some(&named), "/api/v1/problems", &finding(mine)).0,
        403,
        "{name}: they record findings, not reports"
    );
}

#[test]
fn supervision_rounds_hand_over_findings_and_keep_the_ledger_on_both_backends() {
    for backend in Backend::both("rounds") {
        scenario(&backend);
    }
}
