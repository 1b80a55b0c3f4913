//! The to-do lists (待办, issue 22): the whole loop through the API with signed-in sessions — an
//! officer reports, the dispatcher finds it on their list and accepts, registers and dispatches,
//! the unit finds it and handles it with an after-photo, the officer finds the check (核查) and
//! verifies, the dispatcher closes — each step offered on the right list with the actions taken.

mod common;

use common::{small_jpeg, upload_form, Backend, Server};
use serde_json::{json, Value};

/// The caller's task for case `id`, if listed.
fn task_for(server: &Server, token: &str, id: i64) -> Option<Value> {
    let (status, list) = server.get_as(Some(token), "/api/v1/tasks");
    assert_eq!(status, 200, "{list}");
    let tasks = list["tasks"].as_array().expect("tasks");
    // Counts agree with the list, and the list is most urgent first.
    let counted: u64 = list["counts"].as_object().expect("counts").values().filter_map(Value::as_u64).sum();
    assert_eq!(counted as usize, tasks.len(), "{list}");
    let rank = |t: &Value| match t["colour"].as_str() {
        Some("red") => 0,
        Some("yellow") => 1,
        Some("blue") => 2,
        _ => 3,
    };
    let cases: Vec<&Value> = tasks.iter().filter(|t| t["problem_id"].is_i64()).collect();
    assert!(cases.windows(2).all(|w| rank(w[0]) <= rank(w[1])), "red first, then yellow, blue, the rest");
    tasks.iter().find(|t| t["problem_id"].as_i64() == Some(id)).cloned()
}

/// A step sent the way the phone's outbox sends it: with an `Idempotency-Key`, and again as if
/// the first answer were lost. Both answers are the same and the second says it was replayed.
fn act_twice(server: &Server, token: &str, id: i64, body: Value, key: &str) -> Value {
    let send = || {
        ureq::post(&server.url(&format!("/api/v1/problems/{id}/transitions")))
            .set("Authorization", &format!("Bearer {token}"))
            .set("Content-Type", "application/json")
            .set("Idempotency-Key", key)
            .send_string(&body.to_string())
            .unwrap_or_else(|e| panic!("{body}: {e}"))
    };
    let (first, again) = (send(), send());
    assert_eq!(
        (first.header("idempotent-replayed"), again.header("idempotent-replayed")),
        (Some("false"), Some("true"))
    );
    let (first, again): (Value, Value) = (first.into_json().expect("json"), again.into_json().expect("json"));
    assert_eq!(first, again, "the lost answer comes back as it was");
    first
}

/// The actions of a case's history, in order.
fn steps(server: &Server, token: &str, id: i64) -> Vec<String> {
    let (_, events) = server.get_as(Some(token), &format!("/api/v1/problems/{id}/events"));
    events["events"].as_array().expect("events").iter().filter_map(|e| e["action"].as_str().map(String::from)).collect()
}

fn scenario(backend: &Backend) {
    let name = backend.name();
    // The demo's week (2026-W47), so that its cases and patrols are current.
    let server = Server::start(&backend.url(), &["--demo", "--clock-start", "2026-11-20T10:00:00+08:00"]);
    let [officer, dispatcher, unit, office] = ["officer", "dispatcher", "unit", "office"].map(|r| server.session(r));

    // The officer reports in their own area, in the demo unit's street.
    let (lon, lat) = common::demo_unit_place(&server, &officer);
    let report =
        json!({"lon": lon, "lat": lat, "category": "暴露垃圾", "description": "胡同口垃圾堆放", "source": "officer"});
    let (status, case) = server.post_as(Some(&officer), "/api/v1/problems", &report.to_string());
    assert_eq!(status, 201, "{name}: {case}");
    let id = case["id"].as_i64().expect("id");
    assert!(task_for(&server, &unit, id).is_none(), "{name}: not the unit's yet");
    let bulletin = || {
        let (status, b) = server.get_as(Some(&dispatcher), "/api/v1/reports/weekly?week=2026-W47&by=unit");
        assert_eq!(status, 200, "{name}: {b}");
        b["total"]["counts"].clone()
    };
    let before = bulletin();

    // The dispatcher's list offers each next move, with the action it takes.
    for (kind, action) in [("accept", "accept"), ("register", "register"), ("dispatch", "dispatch")] {
        let task =
            task_for(&server, &dispatcher, id).unwrap_or_else(|| panic!("{name}: {kind} is on the dispatcher's list"));
        assert_eq!(task["kind"], kind, "{name}: {task}");
        assert!(task["next_actions"].as_array().is_some_and(|a| a.contains(&json!(action))), "{name}: {task}");
        server.act(&dispatcher, id, json!({"action": action}));
    }
    assert!(task_for(&server, &dispatcher, id).is_none(), "{name}: dispatched in time, off the dispatcher's list");

    // The unit: handle, with an after-photo (a screenshot-like JPEG: flagged, so the check overrides).
    let task = task_for(&server, &unit, id).expect("on the unit's list");
    assert_eq!((task["kind"].as_str(), task["kind_zh"].as_str()), (Some("handle"), Some("处置")), "{name}: {task}");
    assert_eq!(task["next_actions"], json!(["refuse", "handle", "request_extension"]), "{name}");
    assert!(task["deadline"].is_string(), "{name}: the deadline is shown");
    let (status, photo) = upload_form(
        &server,
        &unit,
        &format!("/api/v1/problems/{id}/photos"),
        &[("stage", "handling")],
        "after.jpg",
        &small_jpeg(90),
    );
    assert_eq!(status, 201, "{name}: {photo}");
    server.act(&unit, id, json!({"action": "handle", "note": "已清运"}));
    assert!(task_for(&server, &unit, id).is_none(), "{name}: handled, off the unit's list");

    // The officer checks it on site (核查).
    let task = task_for(&server, &officer, id).expect("on the officer's list");
    assert_eq!((task["kind"].as_str(), task["next_actions"].clone()), (Some("verify"), json!(["reject", "verify"])));
    server.act(&officer, id, json!({"action": "verify", "override_flags": true, "note": "现场核查已清理，照片为截图"}));

    // The dispatcher closes (结案).
    let task = task_for(&server, &dispatcher, id).expect("close is on the dispatcher's list");
    assert_eq!(task["kind"], "close", "{name}: {task}");
    // The flagged after-photo is overridden again, in the dispatcher's own words.
    let closed =
        server.act(&dispatcher, id, json!({"action": "close", "override_flags": true, "note": "核查员已现场确认"}));
    assert_eq!(closed["status"], "closed", "{name}");
    for token in [&officer, &dispatcher, &unit, &office] {
        assert!(task_for(&server, token, id).is_none(), "{name}: a closed case is on nobody's list");
    }
    let (_, events) = server.get_as(Some(&dispatcher), &format!("/api/v1/problems/{id}/events"));
    let steps: Vec<&str> =
        events["events"].as_array().expect("events").iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(steps, ["accept", "register", "dispatch", "handle", "verify", "close"], "{name}: the history");
    // The weekly bulletin agrees: one more case to handle, handled and closed, on time.
    let after = bulletin();
    for count in ["should_handle", "handled", "on_time_handled", "closed", "on_time_closed"] {
        assert_eq!(after[count].as_u64(), before[count].as_u64().map(|n| n + 1), "{name}: {count}: {before} → {after}");
    }

    // The officer's list also holds this week's points still due, as the coverage counts them.
    let (_, list) = server.get_as(Some(&officer), "/api/v1/tasks");
    let (_, coverage) = server.get_as(Some(&officer), "/api/v1/coverage?week=2026-W47");
    let due = coverage["points"].as_array().expect("points").iter().filter(|p| p["covered"] == false).count();
    assert_eq!(list["counts"]["inspect"].as_u64().unwrap_or(0) as usize, due, "{name}: {}", list["counts"]);
    // The office chases red and yellow cases and calls citizens back (回访) on closed cases;
    // the citizen app has no list.
    let (_, chased) = server.get_as(Some(&office), "/api/v1/tasks");
    let tasks = chased["tasks"].as_array().expect("tasks");
    assert!(tasks
        .iter()
        .all(|t| (t["kind"] == "chase" && ["red", "yellow"].contains(&t["colour"].as_str().unwrap_or("")))
            || (t["kind"] == "callback" && t["status"] == "closed" && t["next_actions"] == json!(["callback"]))));
    let (status, app) = server.get_as(Some(&server.token_of("app")), "/api/v1/tasks");
    assert_eq!((status, app["tasks"].as_array().map(Vec::len)), (200, Some(0)), "{name}: {app}");
    assert_eq!(server.get_as(None, "/api/v1/tasks").0, 401);
    assert_eq!(server.get_as(Some(&officer), "/api/v1/tasks?x=1").0, 400, "{name}: unknown parameters are refused");

    officer_checks(&server, &officer, &dispatcher, (lon, lat));
}

/// The officer's own checks, each sent twice with one key as the outbox would after a lost
/// answer: 核实 of a hotline call (confirm with a photo, or void as not found) and 自行处置 of
/// their own report with before and after photos.
fn officer_checks(server: &Server, officer: &str, dispatcher: &str, (lon, lat): (f64, f64)) {
    let call = |description: &str| {
        let body =
            json!({"lon": lon, "lat": lat, "category": "暴露垃圾", "description": description, "source": "hotline"});
        let (status, case) = server.post_as(Some(dispatcher), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{case}");
        let id = case["id"].as_i64().expect("id");
        let accepted = server.act(dispatcher, id, json!({"action": "accept"}));
        assert_eq!(accepted["status"], "confirming", "a hotline call goes to be confirmed: {accepted}");
        assert!(accepted["deadline"].is_string(), "with a deadline to confirm by");
        id
    };
    let (real, gone) = (call("12345：路口垃圾"), call("12345：楼下有垃圾"));
    let task = task_for(server, officer, real).expect("核实 is on the officer's list");
    assert_eq!((task["kind"].as_str(), task["kind_zh"].as_str()), (Some("confirm"), Some("核实")));
    assert_eq!(task["next_actions"], json!(["confirm", "void"]));
    let (status, _) = server.post_as(
        Some(dispatcher),
        &format!("/api/v1/problems/{real}/transitions"),
        &json!({"action": "register"}).to_string(),
    );
    assert_eq!(status, 409, "not registered before it is confirmed");
    let (status, photo) = upload_form(
        server,
        officer,
        &format!("/api/v1/problems/{real}/photos"),
        &[("stage", "report")],
        "seen.jpg",
        &small_jpeg(90),
    );
    assert_eq!(status, 201, "{photo}");
    let confirmed = act_twice(server, officer, real, json!({"action": "confirm", "note": "现场属实"}), "confirm-1");
    assert_eq!((confirmed["status"].as_str(), confirmed["deadline"].as_str()), (Some("accepted"), None));
    assert_eq!(steps(server, dispatcher, real), ["accept", "confirm"], "confirmed once");
    assert_eq!(task_for(server, dispatcher, real).map(|t| t["kind"].clone()), Some(json!("register")));
    let voided = act_twice(server, officer, gone, json!({"action": "void", "note": "现场未发现"}), "void-1");
    assert_eq!(voided["status"], "void");
    assert_eq!(steps(server, dispatcher, gone), ["accept", "void"], "voided once");
    let (status, _) = server.post_as(
        Some(officer),
        &format!("/api/v1/problems/{real}/transitions"),
        &json!({"action": "void", "note": "x"}).to_string(),
    );
    assert_eq!(status, 403, "an officer voids only what they were sent to confirm");

    // 自行处置: the officer's own report, fixed on the spot, before and after photos.
    let report =
        json!({"lon": lon, "lat": lat, "category": "暴露垃圾", "description": "随手清理", "source": "officer"});
    let (_, own) = server.post_as(Some(officer), "/api/v1/problems", &report.to_string());
    let own = own["id"].as_i64().expect("id");
    for (stage, name, blue) in [("report", "before.jpg", 20), ("verification", "after.jpg", 30)] {
        let (status, photo) = upload_form(
            server,
            officer,
            &format!("/api/v1/problems/{own}/photos"),
            &[("stage", stage)],
            name,
            &small_jpeg(blue),
        );
        assert_eq!(status, 201, "{stage}: {photo}");
    }
    let handled = act_twice(server, officer, own, json!({"action": "self_handle", "note": "已清理"}), "self-1");
    assert_eq!(handled["status"], "self_handled");
    assert_eq!(steps(server, dispatcher, own), ["self_handle"]);
    // One key is one request: the same key with another step is refused.
    let (status, reused) = {
        let r = ureq::post(&server.url(&format!("/api/v1/problems/{own}/transitions")))
            .set("Authorization", &format!("Bearer {officer}"))
            .set("Content-Type", "application/json")
            .set("Idempotency-Key", "self-1")
            .send_string(&json!({"action": "verify"}).to_string());
        common::respond(r)
    };
    assert_eq!((status, reused["error"]["code"].as_str()), (422, Some("idempotency_key_reused")), "{reused}");
}

#[test]
fn each_role_finds_its_next_move_and_a_report_goes_round_the_loop_on_both_backends() {
    for backend in Backend::both("tasks") {
        scenario(&backend);
    }
}
