//! Hotline calls (来电登记): the dispatcher's entry form on screen (tests/browser/hotline.test.mjs),
//! and the caller's contact kept private on both backends: dispatchers and the office read it on
//! the case; officers, units and citizen apps never; no public or exported output carries it
//! (Open311, the board's list, layers, OGC items, history, to-do lists, the weekly CSV).

mod common;

use common::{text, Backend, Server};
use serde_json::{json, Value};
use std::process::Command;

const PHONE: &str = "139 1234 5678";

fn logins_of(server: &Server) -> Value {
    server.logins.iter().map(|(role, (user, password))| (role.clone(), json!([user, password]))).collect()
}

#[test]
fn a_dispatcher_registers_a_hotline_call_by_address_on_screen() {
    let dir = common::scratch("hotline-map");
    let server = Server::start(&format!("sqlite://{}", dir.join("calls.db").display()), &["--demo"]);
    let shots = common::workspace().join("target/test-output/hotline");
    let out = Command::new("node")
        .arg("hotline.test.mjs")
        .current_dir(common::workspace().join("tests/browser"))
        .env("GRIDWATCH_URL", &server.base)
        .env("GRIDWATCH_LOGINS", logins_of(&server).to_string())
        .env("GRIDWATCH_QUERY", "多富巷居委会")
        .env("GRIDWATCH_EXPECT", "多福巷社区居委会")
        .env("GRIDWATCH_PHONE", PHONE)
        .env("GRIDWATCH_SCREENSHOTS", &shots)
        .output()
        .expect("node runs (scripts/test.sh installs playwright-core into tests/browser)");
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && log.contains("hotline checks passed"), "hotline browser checks failed:\n{log}");
    let ids: Vec<i64> = log
        .lines()
        .find_map(|l| l.strip_prefix("calls "))
        .map(|l| l.split_whitespace().filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    assert_eq!(ids.len(), 2, "{log}");
    let dispatcher = server.token_of("dispatcher");
    let (_, first) = server.get_as(Some(&dispatcher), &format!("/api/v1/problems/{}", ids[0]));
    assert_eq!(first["source"], "hotline", "{first}");
    assert!(first["address"].as_str().is_some_and(|a| a.contains("多福巷社区居委会")), "{first}");
    assert!(first["address_id"].as_i64().is_some(), "{first}");
    assert!(first["grid_code"].as_str().is_some_and(|g| g.starts_with("110101001001")), "{first}");
    assert_eq!(first["caller"], json!({"name": "王女士", "phone": PHONE}), "{first}");
    let (_, second) = server.get_as(Some(&dispatcher), &format!("/api/v1/problems/{}", ids[1]));
    assert_eq!(second["address"], "胡同口公厕旁", "the words typed name a clicked place: {second}");
    assert_eq!(second["address_id"], Value::Null, "{second}");
    assert_eq!(second["caller"], json!({"name": null, "phone": PHONE}), "{second}");
    assert_private(&server, &ids, "sqlite (on screen)");
}

#[test]
fn a_callers_contact_is_seen_only_by_dispatchers_and_the_office_on_both_backends() {
    for backend in Backend::both("hotline") {
        let name = backend.name();
        let server = Server::start(&backend.url(), &["--demo"]);
        let dispatcher = server.token_of("dispatcher");
        let (_, found) = server
            .get_as(Some(&dispatcher), "/api/v1/addresses?q=%E5%A4%9A%E7%A6%8F%E5%B7%B7%E5%B1%85%E5%A7%94%E4%BC%9A");
        let committee = found["addresses"][0].clone();
        assert!(committee["name"].as_str().is_some_and(|n| n.contains("多福巷社区居委会")), "{name}: {found}");
        let call = |token: &str, extra: Value| {
            let mut body = json!({"lon": committee["lon"], "lat": committee["lat"], "category": "E01001",
                "description": "12345：楼道堆物", "source": "hotline"});
            body.as_object_mut().expect("object").extend(extra.as_object().cloned().unwrap_or_default());
            server.post_as(Some(token), "/api/v1/problems", &body.to_string())
        };
        // By the address book's id alone: its name becomes the case's address.
        let (status, created) =
            call(&dispatcher, json!({"address_id": committee["id"], "caller": {"name": "李先生", "phone": PHONE}}));
        assert_eq!(status, 201, "{name}: {created}");
        assert_eq!(created["address"], committee["name"], "{name}: {created}");
        let id = created["id"].as_i64().expect("id");

        // Only the desk records a contact; an address must exist in the caller's area; a
        // contact must be a phone number.
        let (status, body) = call(&server.token_of("officer"), json!({"caller": {"phone": PHONE}}));
        assert_eq!(
            (status, body["error"]["details"]["fields"][0]["field"].as_str()),
            (422, Some("caller")),
            "{name}: {body}"
        );
        let (status, body) = call(&dispatcher, json!({"address_id": 987_654_321}));
        assert_eq!(
            (status, body["error"]["details"]["fields"][0]["field"].as_str()),
            (422, Some("address_id")),
            "{name}: {body}"
        );
        for bad in [json!({"phone": "call me"}), json!({"phone": "12"}), json!({"phone": PHONE, "email": "x@y"})] {
            let (status, body) = call(&dispatcher, json!({"caller": bad}));
            assert_eq!(
                (status, body["error"]["details"]["fields"][0]["field"].as_str()),
                (422, Some("caller")),
                "{name}: {bad}: {body}"
            );
        }
        // The office too (it calls back, 回访); the officer and the unit see the case, not the caller.
        let (_, seen) = server.get_as(Some(&server.token_of("office")), &format!("/api/v1/problems/{id}"));
        assert_eq!(seen["caller"]["phone"], PHONE, "{name}: {seen}");
        for role in ["officer", "unit"] {
            let (status, seen) = server.get_as(Some(&server.token_of(role)), &format!("/api/v1/problems/{id}"));
            assert_eq!(status, 200, "{name}: the {role} sees the case: {seen}");
            assert!(seen.get("caller").is_none(), "{name}: the {role} does not see the caller: {seen}");
        }
        // Dispatched, it reaches the unit's and the officer's lists: without the caller.
        let accept = server.act(&dispatcher, id, json!({"action": "accept"}));
        assert!(accept.get("caller").is_none(), "{name}: a step's answer carries no caller: {accept}");
        assert_private(&server, &[id], name);
    }
}

/// Nothing but a dispatcher's or the office's reading of one case carries the caller's phone.
fn assert_private(server: &Server, ids: &[i64], name: &str) {
    let dispatcher = server.token_of("dispatcher");
    let digits: String = PHONE.chars().filter(char::is_ascii_digit).collect();
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut read = |label: &str, token: Option<&str>, path: &str| {
        let response = match token {
            Some(t) => ureq::get(&server.url(path)).set("Authorization", &format!("Bearer {t}")).call(),
            None => ureq::get(&server.url(path)).call(),
        };
        let body = response.map(|r| r.into_string().unwrap_or_default()).unwrap_or_else(|e| format!("{e}"));
        outputs.push((format!("{label} {path}"), body));
    };
    read("public", None, "/open311/v2/requests.json");
    for id in ids {
        read("public", None, &format!("/open311/v2/requests/{id}.json"));
        read("dispatcher", Some(&dispatcher), &format!("/api/v1/problems/{id}/events"));
    }
    read("dispatcher", Some(&dispatcher), "/api/v1/problems?limit=1000");
    read("dispatcher", Some(&dispatcher), "/api/v1/layers/problems");
    read("dispatcher", Some(&dispatcher), "/collections/problems/items?limit=10000");
    read("dispatcher", Some(&dispatcher), "/api/v1/tasks");
    read("office", Some(&server.token_of("office")), "/api/v1/reports/weekly?format=csv");
    read("office", Some(&server.token_of("office")), "/api/v1/reports/weekly");
    read("officer", Some(&server.token_of("officer")), "/api/v1/tasks");
    read("unit", Some(&server.token_of("unit")), "/api/v1/tasks");
    read("app", Some(&server.token_of("app")), "/api/v1/problems?limit=1000");
    for (what, body) in &outputs {
        assert!(body.len() > 2, "{name}: {what} answered: {body}");
        assert!(!body.contains(PHONE) && !body.contains(&digits), "{name}: {what} carries the caller's phone");
        assert!(!body.contains("王女士") && !body.contains("李先生"), "{name}: {what} carries the caller's name");
    }
}
