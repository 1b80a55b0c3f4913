//! Evaluation (实绩考核, issue 23) through the API on both backends: a grid officer's month
//! worked out by hand (their grid had no case before), a unit's letters answered on time, areas
//! ranked and graded, and the workbook read back by openpyxl.

mod common;

use common::{inside, small_jpeg, upload_form, Backend, Server};
use serde_json::{json, Value};
use std::process::Command;

const UNIT: &str = "东华门街道办事处";

fn row<'a>(evaluation: &'a Value, key: &str) -> &'a Value {
    evaluation["rows"].as_array().and_then(|r| r.iter().find(|r| r["key"] == key)).unwrap_or(&Value::Null)
}

/// Uploads a photo (of its own bytes: `quality` differs per photo, so none looks reused).
fn photo(server: &Server, token: &str, id: i64, stage: &str, quality: u8) {
    let path = format!("/api/v1/problems/{id}/photos");
    let (status, answer) = upload_form(server, token, &path, &[("stage", stage)], "p.jpg", &small_jpeg(quality));
    assert_eq!(status, 201, "{answer}");
}

fn scenario(backend: &Backend) {
    let name = backend.name();
    // Monday 23 November 2026, 10:00 in Beijing, on a clock running at the normal rate.
    let server = Server::start(&backend.url(), &["--demo", "--clock-start", "2026-11-23T10:00:00+08:00"]);
    let [office, dispatcher, unit] = ["office", "dispatcher", "unit"].map(|r| server.token_of(r));

    // A grid of the demo unit with no case at all: the new officer's post.
    let (_, grids) = server.get_as(Some(&office), "/api/v1/layers/grids?level=grid");
    let grid = grids["features"]
        .as_array()
        .expect("grids")
        .iter()
        .filter(|g| g["properties"]["responsible_unit"] == UNIT)
        .find(|g| {
            let code = g["properties"]["code"].as_str().unwrap_or("");
            server.get_as(Some(&office), &format!("/api/v1/problems?grid={code}")).1["total"] == 0
        })
        .expect("an empty grid")
        .clone();
    let code = grid["properties"]["code"].as_str().expect("code").to_string();
    let (lon, lat) = inside(&grid);
    let officer = common::user_with_token(&backend.url(), "officer-eval", &["--role", "officer", "--scope", &code]);
    let month = "/api/v1/evaluations?period=2026-11&by=post";
    let (status, before) = server.get_as(Some(&office), month);
    assert_eq!(status, 200, "{name}: {before}");
    let post = &row(&before, "officer-eval")["post"];
    assert_eq!(post["valid_reports"], 0, "{name}: {post}");
    let points = post["points"].as_u64().expect("points");

    let report = |token: &str, source: &str, what: &str| {
        let body = json!({"lon": lon, "lat": lat, "category": "E01001", "description": what, "source": source});
        let (status, case) = server.post_as(Some(token), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{name}: {case}");
        case["id"].as_i64().expect("id")
    };
    // Two reports of the officer's own: one fixed, checked on site at once (核查 on time), and
    // closed; one found not to hold (voided: not a valid report).
    let fixed = report(&officer, "officer", "eval: 垃圾堆放");
    for action in ["accept", "register", "dispatch"] {
        server.act(&dispatcher, fixed, json!({"action": action}));
    }
    photo(&server, &unit, fixed, "handling", 81);
    server.act(&unit, fixed, json!({"action": "handle", "note": "已清运"}));
    photo(&server, &officer, fixed, "verification", 82);
    server.act(&officer, fixed, json!({"action": "verify", "note": "现场已清理", "override_flags": true}));
    let wrong = report(&officer, "officer", "eval: 误报");
    server.act(&dispatcher, wrong, json!({"action": "void", "note": "重复"}));
    // A hotline call in the grid (漏报), confirmed on site at once (核实 on time).
    let call = report(&dispatcher, "hotline", "eval: 12345 市民反映");
    server.act(&dispatcher, call, json!({"action": "accept"}));
    photo(&server, &officer, call, "report", 83);
    server.act(&officer, call, json!({"action": "confirm", "note": "属实"}));
    // A finding of the office's open round in the grid (漏报, and a finding against the post).
    let round = json!({"name": "11月第四周明查", "kind": "open", "starts_on": "2026-11-23", "ends_on": "2026-11-27"});
    let (status, round) = server.post_as(Some(&office), "/api/v1/rounds", &round.to_string());
    assert_eq!(status, 201, "{name}: {round}");
    let finding = json!({"lon": lon, "lat": lat, "category": "E01001", "description": "eval: 督查发现"});
    let path = format!("/api/v1/rounds/{}/findings", round["id"]);
    assert_eq!(server.post_as(Some(&office), &path, &finding.to_string()).0, 201, "{name}");

    // By hand: valid 1 (the voided one does not count), missed 2 (the call and the finding),
    // findings 1, 核实 1 of 1 on time, 核查 1 of 1 on time; the points as they were.
    let (_, after) = server.get_as(Some(&office), month);
    let line = row(&after, "officer-eval");
    let counts =
        ["valid_reports", "missed", "findings", "to_confirm", "confirmed_on_time", "to_verify", "verified_on_time"]
            .map(|k| line["post"][k].as_u64().unwrap_or(99));
    assert_eq!(counts, [1, 2, 1, 1, 1, 1, 1], "{name}: {line}");
    assert_eq!(line["post"]["points"].as_u64(), Some(points), "{name}");
    // Score: the mean of 核实 1, 核查 1, reporting 1/3 and — when the grid has points — coverage 0.
    let parts: Vec<f64> = if points > 0 { vec![1.0, 1.0, 0.0, 1.0 / 3.0] } else { vec![1.0, 1.0, 1.0 / 3.0] };
    let expected = 100.0 * parts.iter().sum::<f64>() / parts.len() as f64;
    let score = line["score"].as_f64().expect("score");
    assert!((score - expected).abs() < 1e-9, "{name}: {score} vs {expected}");
    let grade = if expected >= 90.0 {
        "优秀"
    } else if expected >= 80.0 {
        "良好"
    } else if expected >= 60.0 {
        "合格"
    } else {
        "不合格"
    };
    assert_eq!(line["grade"], grade, "{name}");
    // The same month as a quarter and a year; nothing of it in October.
    for period in ["2026-Q4", "2026"] {
        let (_, wider) = server.get_as(Some(&office), &format!("/api/v1/evaluations?period={period}&by=post"));
        assert_eq!(row(&wider, "officer-eval")["post"]["missed"], 2, "{name}: {period}");
    }
    let (_, october) = server.get_as(Some(&office), "/api/v1/evaluations?period=2026-10&by=post");
    assert_eq!(row(&october, "officer-eval")["post"]["missed"], 0, "{name}");

    // A unit: a letter issued by hand this month and answered at once counts as answered on time.
    let units = "/api/v1/evaluations?period=2026-11&by=unit";
    let letters =
        |e: &Value| ["issued", "due", "answered_on_time"].map(|k| row(e, UNIT)["letters"][k].as_u64().unwrap_or(99));
    let (_, before) = server.get_as(Some(&office), units);
    let letter = json!({"kind": "notice", "unit": UNIT, "cases": [fixed], "reason": "eval"});
    let (status, letter) = server.post_as(Some(&office), "/api/v1/letters", &letter.to_string());
    assert_eq!(status, 201, "{name}: {letter}");
    let answer = json!({"answer": "已整改"}).to_string();
    assert_eq!(server.post_as(Some(&unit), &format!("/api/v1/letters/{}/answer", letter["id"]), &answer).0, 200);
    let (_, after) = server.get_as(Some(&office), units);
    let [issued, due, on_time] = letters(&before);
    assert_eq!(letters(&after), [issued + 1, due + 1, on_time + 1], "{name}: {}", row(&after, UNIT));
    // The unit sees its own line only.
    let (_, own) = server.get_as(Some(&unit), units);
    assert_eq!(
        own["rows"].as_array().map(|r| r.iter().map(|r| r["key"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(UNIT)])
    );

    // Areas: streets ranked 1, 2, 3 … by score, each graded.
    let (_, areas) = server.get_as(Some(&office), "/api/v1/evaluations?period=2026-11&by=area");
    let rows = areas["rows"].as_array().expect("rows");
    let ranked: Vec<&Value> = rows.iter().filter(|r| r["rank"].is_u64()).collect();
    assert!(!ranked.is_empty(), "{name}");
    for (i, r) in ranked.iter().enumerate() {
        assert_eq!(r["rank"].as_u64(), Some(i as u64 + 1), "{name}");
        assert!(r["grade"].is_string() && r["cases"]["should_handle"].as_u64() > Some(0), "{name}: {r}");
        if i > 0 {
            assert!(ranked[i - 1]["score"].as_f64() >= r["score"].as_f64(), "{name}: best first");
        }
    }

    // Bad periods and groupings are named; the officer reads no evaluation.
    for (query, parameter) in
        [("period=2026-13", "period"), ("period=2026-Q5", "period"), ("by=street", "by"), ("format=pdf", "format")]
    {
        let (status, error) = server.get_as(Some(&office), &format!("/api/v1/evaluations?{query}"));
        assert_eq!(
            (status, error["error"]["details"]["parameter"].as_str()),
            (400, Some(parameter)),
            "{name}: {query}"
        );
    }
    assert_eq!(server.get_as(Some(&officer), "/api/v1/evaluations").0, 403, "{name}");
    let (_, default) = server.get_as(Some(&office), "/api/v1/evaluations");
    assert_eq!(
        (default["period"]["label"].as_str(), default["by"].as_str()),
        (Some("2026-10"), Some("area")),
        "{name}: last month"
    );

    // The workbook, read by openpyxl: the same rows in the same order.
    let xlsx = ureq::get(&server.url("/api/v1/evaluations?period=2026-11&by=post&format=xlsx"))
        .set("Authorization", &format!("Bearer {office}"))
        .call()
        .expect("xlsx");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut xlsx.into_reader(), &mut bytes).expect("bytes");
    let file = common::scratch("evaluation-xlsx").join("e.xlsx");
    std::fs::write(&file, &bytes).expect("write");
    let python = std::env::var("GRIDWATCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .args(["-c", "import openpyxl,sys,json; ws=openpyxl.load_workbook(sys.argv[1])['考核']; print(json.dumps([[c for c in r] for r in ws.iter_rows(min_row=4, values_only=True)], default=str))"])
        .arg(&file)
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sheet: Vec<Vec<Value>> = serde_json::from_slice(&out.stdout).expect("json");
    let (_, json_rows) = server.get_as(Some(&office), month);
    let keys: Vec<&Value> = json_rows["rows"].as_array().expect("rows").iter().map(|r| &r["key"]).collect();
    let sheet_keys: Vec<&Value> = sheet.iter().map(|r| &r[1]).collect();
    assert_eq!(sheet_keys, keys, "{name}");
    let mine = sheet.iter().find(|r| r[1] == "officer-eval").expect("the officer's line");
    assert_eq!((mine[5].as_f64(), mine[6].as_f64()), (Some(1.0), Some(2.0)), "{name}: valid, missed: {mine:?}");
}

#[test]
fn officers_units_and_areas_are_evaluated_by_month_quarter_and_year_on_both_backends() {
    for backend in Backend::both("evaluations") {
        scenario(&backend);
    }
}
