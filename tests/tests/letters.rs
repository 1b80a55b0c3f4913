//! Supervision letters (督办函, issue 23) on a simulated clock (one real second = three hours), on
//! both backends: a case going yellow sends its unit a numbered 督办函; the unit signs for it and
//! answers with a photo of the fix, and the letter ledger shows it answered on time; a letter the
//! office issues by hand and nobody answers escalates to the next kind after its day.

mod common;

use common::{inside, small_jpeg, upload_form, Backend, Server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const UNIT: &str = "东华门街道办事处";

/// Waits (up to `seconds`) for a letter in `path`'s list that `pick` accepts.
fn letter_where(server: &Server, token: &str, seconds: u64, pick: impl Fn(&Value) -> bool) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        let (status, list) = server.get_as(Some(token), "/api/v1/letters");
        assert_eq!(status, 200, "{list}");
        if let Some(found) = list["letters"].as_array().and_then(|l| l.iter().find(|l| pick(l)).cloned()) {
            return Some(found);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn names_case(letter: &Value, id: i64) -> bool {
    letter["cases"].as_array().is_some_and(|cases| cases.iter().any(|c| c["id"] == id))
}

fn scenario(backend: &Backend, rules: &std::path::Path) {
    let name = backend.name();
    let server = Server::start(
        &backend.url(),
        &[
            "--demo",
            "--clock-start",
            "2026-11-23T09:00:00+08:00",
            "--clock-rate",
            "10800",
            "--escalation-seconds",
            "0.1",
            "--letter-rules",
            &rules.display().to_string(),
        ],
    );
    let [office, dispatcher, unit] = ["office", "dispatcher", "unit"].map(|r| server.token_of(r));
    let stranger = common::user_with_token(&backend.url(), "unit-other", &["--role", "unit", "--unit", "某某公司"]);

    // Two working-hours cases (暴露垃圾, 4 working hours) in the unit's grids, dispatched.
    let (_, grids) = server.get_as(Some(&dispatcher), "/api/v1/layers/grids?level=grid");
    let ours: Vec<&Value> = grids["features"]
        .as_array()
        .expect("grids")
        .iter()
        .filter(|g| g["properties"]["responsible_unit"] == UNIT)
        .collect();
    // Two grids of the unit in different communities (a community's grid codes share 12 digits).
    let community = |g: &Value| g["properties"]["code"].as_str().unwrap_or("")[..12].to_string();
    let other = ours.iter().find(|g| community(g) != community(ours[0])).expect("a second community");
    let mut cases = Vec::new();
    for (grid, what) in [ours[0], *other].iter().zip(["letters: 垃圾堆放", "letters: 乱堆物料"]) {
        let (lon, lat) = inside(grid);
        let body = json!({"lon": lon, "lat": lat, "category": "E01001", "description": what, "source": "officer"});
        let (status, case) = server.post_as(Some(&dispatcher), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{name}: {case}");
        let id = case["id"].as_i64().expect("id");
        for action in ["accept", "register", "dispatch"] {
            server.act(&dispatcher, id, json!({"action": action}));
        }
        cases.push(id);
    }
    let (a, b) = (cases[0], cases[1]);

    // By hand: only the office, only open cases of the unit named.
    let by_hand = json!({"kind": "reminder", "unit": UNIT, "cases": [b], "reason": "督查发现问题，请抓紧整改"});
    assert_eq!(server.post_as(Some(&unit), "/api/v1/letters", &by_hand.to_string()).0, 403, "{name}");
    let wrong_unit = json!({"kind": "reminder", "unit": "某某公司", "cases": [b], "reason": "x"});
    let (status, error) = server.post_as(Some(&office), "/api/v1/letters", &wrong_unit.to_string());
    assert_eq!((status, error["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("cases")), "{error}");
    let none = json!({"kind": "reminder", "unit": UNIT, "cases": [], "reason": "x"});
    assert_eq!(server.post_as(Some(&office), "/api/v1/letters", &none.to_string()).0, 422, "{name}");
    let (status, reminder) = server.post_as(Some(&office), "/api/v1/letters", &by_hand.to_string());
    assert_eq!(status, 201, "{name}: {reminder}");
    assert_eq!((reminder["origin"].as_str(), reminder["status"].as_str()), (Some("hand"), Some("issued")), "{name}");
    assert!(reminder["label"].as_str().is_some_and(|l| l.starts_with("提醒函〔2026〕")), "{name}: {reminder}");
    let reminder_id = reminder["id"].as_i64().expect("id");

    // A goes yellow: a 督办函 from the colour rules, to its unit.
    let notice =
        letter_where(&server, &unit, 30, |l| l["kind"] == "notice" && l["origin"] == "colour" && names_case(l, a))
            .unwrap_or_else(|| panic!("{name}: no 督办函 for case {a}"));
    let notice_id = notice["id"].as_i64().expect("id");
    assert_eq!(notice["unit"], UNIT, "{name}");
    assert!(notice["label"].as_str().is_some_and(|l| l.starts_with("督办函〔2026〕") && l.ends_with('号')), "{notice}");
    let case_a = notice["cases"].as_array().and_then(|c| c.iter().find(|c| c["id"] == a)).expect("case a");
    assert_eq!(case_a["colour"], "yellow", "{name}: the case as it stands");
    let path = |what: &str| format!("/api/v1/letters/{notice_id}{what}");

    // Who may touch it: the dispatcher reads it but does not sign; another unit does not see it.
    assert_eq!(server.get_as(Some(&dispatcher), &path("")).0, 200, "{name}");
    assert_eq!(server.post_as(Some(&dispatcher), &path("/sign"), "").0, 403, "{name}");
    assert_eq!(server.get_as(Some(&stranger), &path("")).0, 404, "{name}");
    assert_eq!(server.post_as(Some(&stranger), &path("/sign"), "").0, 404, "{name}");
    assert!(server.get_as(Some(&stranger), "/api/v1/letters").1["letters"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(server.get_as(Some(&server.token_of("officer")), "/api/v1/letters").0, 403, "{name}");
    // A dispatcher of A's community reads a letter naming A and B with A only.
    let both = json!({"kind": "red", "unit": UNIT, "cases": [a, b], "reason": "两件问题均未整改"});
    let (status, both) = server.post_as(Some(&office), "/api/v1/letters", &both.to_string());
    assert_eq!((status, both["cases"].as_array().map(Vec::len)), (201, Some(2)), "{name}: {both}");
    let local = common::user_with_token(
        &backend.url(),
        "dispatcher-community",
        &["--role", "dispatcher", "--scope", &community(ours[0])],
    );
    let (status, seen) = server.get_as(Some(&local), &format!("/api/v1/letters/{}", both["id"]));
    let ids: Vec<&Value> = seen["cases"].as_array().map(|c| c.iter().map(|c| &c["id"]).collect()).unwrap_or_default();
    assert_eq!((status, ids), (200, vec![&json!(a)]), "{name}: only the case in its own area");

    // Two signatures at once: exactly one wins.
    let signatures: Vec<u16> = std::thread::scope(|s| {
        let tries: Vec<_> = (0..2).map(|_| s.spawn(|| server.post_as(Some(&unit), &path("/sign"), "").0)).collect();
        tries.into_iter().map(|t| t.join().expect("thread")).collect()
    });
    let mut sorted = signatures.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [200, 409], "{name}: {signatures:?}");

    // The answer: a note and a photo of the fix; a photo of another case is refused.
    let (status, photo) = upload_form(
        &server,
        &unit,
        &format!("/api/v1/problems/{a}/photos"),
        &[("stage", "handling")],
        "after.jpg",
        &small_jpeg(90),
    );
    assert_eq!(status, 201, "{name}: {photo}");
    let photo_id = photo["id"].as_i64().expect("photo id");
    let foreign = json!({"answer": "已整改", "evidence": [photo_id + 100_000]});
    let (status, error) = server.post_as(Some(&unit), &path("/answer"), &foreign.to_string());
    assert_eq!((status, error["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("evidence")), "{error}");
    let answer = json!({"answer": "已组织清运，见整改后照片", "evidence": [photo_id]});
    let (status, answered) = server.post_as(Some(&unit), &path("/answer"), &answer.to_string());
    assert_eq!(status, 200, "{name}: {answered}");
    assert_eq!((answered["status"].as_str(), answered["answered_on_time"].as_bool()), (Some("answered"), Some(true)));
    assert_eq!(answered["evidence"], json!([photo_id]), "{name}");
    assert_eq!(server.post_as(Some(&unit), &path("/answer"), &answer.to_string()).0, 409, "{name}: once");

    // The office's ledger shows it answered, and the page prints it.
    let (_, done) = server.get_as(Some(&office), "/api/v1/letters?status=answered&kind=notice");
    assert!(done["letters"].as_array().is_some_and(|l| l.iter().any(|l| l["id"] == notice_id)), "{name}: {done}");
    let page = ureq::get(&server.url(&path("?format=html")))
        .set("Authorization", &format!("Bearer {office}"))
        .call()
        .expect("page")
        .into_string()
        .expect("text");
    let label = notice["label"].as_str().unwrap_or("?");
    assert!(page.contains(label) && page.contains(UNIT) && page.contains("按期反馈"), "{name}: {page}");
    assert!(page.contains(&format!("#{a}")) && page.contains("@page"), "{name}");
    let pdf = server.fetch(Some(&unit), &path("?format=pdf"), None);
    assert!(pdf.status == 200 && pdf.body.starts_with(b"%PDF-"), "{name}: {}", pdf.status);
    let words = common::pdf_text(&pdf.body, &format!("letter-{name}"));
    assert!(words.contains(label) && words.contains(UNIT) && words.contains("按期反馈"), "{name}: {words}");
    assert_eq!(server.get_as(Some(&office), "/api/v1/letters?status=lost").0, 400, "{name}");

    // The reminder nobody answered escalates, one working day later, to a 督办函 naming B.
    let next = letter_where(&server, &office, 40, |l| l["escalated_from"] == reminder_id)
        .unwrap_or_else(|| panic!("{name}: the unanswered reminder {reminder_id} did not escalate"));
    assert_eq!((next["kind"].as_str(), next["origin"].as_str()), (Some("notice"), Some("escalation")), "{next}");
    assert!(names_case(&next, b) && next["cases"].as_array().map(Vec::len) == Some(1), "{name}: {next}");
    let (_, before) = server.get_as(Some(&office), &format!("/api/v1/letters/{reminder_id}"));
    assert_eq!((before["status"].as_str(), before["escalated_to"].as_i64()), (Some("escalated"), next["id"].as_i64()));
    assert!(before["answered_on_time"].is_null(), "{name}");

    // A round's ledger: three findings handed to the unit and still open after the round's
    // rectify-by day make its ledger red (the default rules: one overdue 督办函, three 红色督办单),
    // so one 红色督办单 names all three, whatever colour each case has by itself.
    let round = json!({"name": "11月第三周明查", "kind": "open", "starts_on": "2026-11-16", "ends_on": "2026-11-18",
                       "rectify_by": "2026-11-20"});
    let (status, round) = server.post_as(Some(&office), "/api/v1/rounds", &round.to_string());
    assert_eq!(status, 201, "{name}: {round}");
    let mut found = Vec::new();
    for (i, grid) in ours.iter().take(3).enumerate() {
        let (lon, lat) = inside(grid);
        let finding = json!({"lon": lon, "lat": lat, "category": "E01001", "description": format!("督查发现堆物 {i}")});
        let (status, recorded) =
            server.post_as(Some(&office), &format!("/api/v1/rounds/{}/findings", round["id"]), &finding.to_string());
        assert_eq!((status, recorded["problem"]["responsible_unit"].as_str()), (201, Some(UNIT)), "{recorded}");
        found.push(recorded["problem"]["id"].as_i64().expect("case"));
    }
    let red = letter_where(&server, &unit, 30, |l| {
        l["origin"] == "ledger" && l["kind"] == "red" && found.iter().all(|id| names_case(l, *id))
    })
    .unwrap_or_else(|| panic!("{name}: no red ledger letter naming {found:?}"));
    let reason = red["reason"].as_str().unwrap_or("");
    assert!(reason.contains("2026年第1期") && reason.contains("3件"), "{name}: {reason}");
}

#[test]
fn a_yellow_case_sends_a_letter_the_unit_signs_and_answers_and_an_unanswered_one_escalates_on_both_backends() {
    let dir = common::scratch("letter-rules");
    let rules = dir.join("letters.json");
    std::fs::write(&rules, r#"{"colours": ["yellow"], "answer_days": {"reminder": 1, "notice": 1}}"#).expect("rules");
    for backend in Backend::both("letters") {
        scenario(&backend, &rules);
    }
}
