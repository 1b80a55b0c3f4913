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
    let closed = closed_call(&server);
    let out = Command::new("node")
        .arg("hotline.test.mjs")
        .current_dir(common::workspace().join("tests/browser"))
        .env("GRIDWATCH_URL", &server.base)
        .env("GRIDWATCH_LOGINS", logins_of(&server).to_string())
        .env("GRIDWATCH_QUERY", "多富巷居委会")
        .env("GRIDWATCH_EXPECT", "多福巷社区居委会")
        .env("GRIDWATCH_PHONE", PHONE)
        .env("GRIDWATCH_CALLBACK", closed.to_string())
        .env("GRIDWATCH_SCREENSHOTS", &shots)
        .output()
        .expect("node runs (scripts/test.sh installs playwright-core into tests/browser)");
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && log.contains("hotline checks passed"), "hotline browser checks failed:\n{log}");
    let (_, reopened) = server.get_as(Some(&server.token_of("dispatcher")), &format!("/api/v1/problems/{closed}"));
    assert_eq!(
        (reopened["status"].as_str(), reopened["callback"].as_str()),
        (Some("rework"), Some("dissatisfied")),
        "{reopened}"
    );
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

/// A hotline call taken through to 结案 by the API (the caller's phone on it): to be called back.
fn closed_call(server: &Server) -> i64 {
    let (dispatcher, unit, officer) =
        (server.token_of("dispatcher"), server.token_of("unit"), server.token_of("officer"));
    let (lon, lat) = common::demo_unit_place(server, &officer);
    let body = json!({"lon": lon, "lat": lat, "category": "E01001", "description": "12345：楼下垃圾没人清",
        "source": "hotline", "caller": {"name": "陈先生", "phone": PHONE}});
    let (status, created) = server.post_as(Some(&dispatcher), "/api/v1/problems", &body.to_string());
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");
    for (token, step) in [
        (&dispatcher, json!({"action": "accept"})),
        (&officer, json!({"action": "confirm"})),
        (&dispatcher, json!({"action": "register"})),
        (&dispatcher, json!({"action": "dispatch"})),
        (&unit, json!({"action": "handle", "note": "已清运"})),
        (&officer, json!({"action": "verify"})),
        (&dispatcher, json!({"action": "close"})),
    ] {
        server.act(token, id, step);
    }
    id
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

/// A stand-in for the city's 12345 platform: it takes results and hands each on with its
/// headers; it refuses the first delivery (the server must send it again later).
fn platform() -> (String, std::sync::mpsc::Receiver<(String, Value)>) {
    use std::io::{BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/12345/results", listener.local_addr().expect("addr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let (head, body) = common::read_request(&mut BufReader::new(stream.try_clone().expect("clone")));
            let status = if n == 0 { "503 Service Unavailable" } else { "200 OK" };
            let _ = stream.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes());
            if n > 0 {
                let signature = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase().strip_prefix("x-gridwatch-signature: sha256=").map(String::from)
                    })
                    .unwrap_or_default();
                let ok = signature == common::hmac_hex(b"12345-shared", &body);
                let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let _ = tx.send((if ok { "signed".into() } else { format!("bad signature in {head}") }, value));
            }
        }
    });
    (url, rx)
}

#[test]
fn the_12345_exchange_takes_each_order_once_and_sends_each_result_once_on_both_backends() {
    for backend in Backend::both("exchange") {
        let name = backend.name();
        let (url, results) = platform();
        let server = Server::start_with_env(
            &backend.url(),
            &["--demo", "--hotline-url", &url],
            &[("GRIDWATCH_HOTLINE_SECRET", "12345-shared")],
        );
        let account =
            common::user_with_token(&backend.url(), "platform-12345", &["--role", "dispatcher", "--scope", "110101"]);
        let order = |id: &str, extra: Value| {
            let mut body = json!({"order_id": id, "category": "E01001", "description": format!("12345 工单 {id}：楼道堆物"),
                "caller": {"name": "赵先生", "phone": PHONE}});
            body.as_object_mut().expect("object").extend(extra.as_object().cloned().unwrap_or_default());
            server.post_as(Some(&account), "/api/v1/hotline/orders", &body.to_string())
        };
        // The same order three times, two of them at once: one case.
        let first = order("GD-20261206-0001", json!({"address": "多福巷居委会"}));
        assert_eq!(first.0, 201, "{name}: {}", first.1);
        let id = first.1["problem"]["id"].as_i64().expect("id");
        assert!(
            first.1["problem"]["grid_code"].as_str().is_some_and(|g| g.starts_with("110101001001")),
            "{name}: placed by the address book: {}",
            first.1
        );
        assert_eq!(first.1["problem"]["source"], "hotline", "{name}");
        assert!(first.1["problem"].get("caller").is_none(), "{name}: the answer carries no caller");
        let again: Vec<(u16, Value)> = std::thread::scope(|s| {
            let runs: Vec<_> =
                (0..2).map(|_| s.spawn(|| order("GD-20261206-0001", json!({"address": "多福巷居委会"})))).collect();
            runs.into_iter().map(|r| r.join().expect("thread")).collect()
        });
        for (status, body) in &again {
            assert_eq!((*status, body["problem"]["id"].as_i64()), (200, Some(id)), "{name}: {body}");
        }
        let described: Vec<Value> = server
            .all_problems()
            .into_iter()
            .filter(|p| p["description"].as_str().is_some_and(|d| d.contains("GD-20261206-0001")))
            .collect();
        assert_eq!(described.len(), 1, "{name}: three deliveries, one case");
        let (_, seen) = server.get_as(Some(&account), &format!("/api/v1/problems/{id}"));
        assert_eq!(seen["caller"]["phone"], PHONE, "{name}: the desk sees the order's caller");

        // Orders it cannot take, each naming its field.
        for (body, field) in [
            (
                json!({"order_id": "GD 2", "category": "E01001", "description": "x", "lon": 116.41, "lat": 39.93}),
                "order_id",
            ),
            (
                json!({"order_id": "GD-2", "category": "nonsense", "description": "x", "lon": 116.41, "lat": 39.93}),
                "category",
            ),
            (
                json!({"order_id": "GD-3", "category": "E01001", "description": "x", "address": "火星基地九号"}),
                "address",
            ),
            (json!({"order_id": "GD-4", "category": "E01001", "description": "x", "lon": 116.41}), "lon"),
        ] {
            let (status, answer) = server.post_as(Some(&account), "/api/v1/hotline/orders", &body.to_string());
            assert_eq!(status, 422, "{name}: {body}: {answer}");
            assert_eq!(
                answer["error"]["details"]["fields"][0]["field"]
                    .as_str()
                    .or(answer["error"]["details"]["field"].as_str()),
                Some(field),
                "{name}: {answer}"
            );
        }
        for role in ["officer", "unit", "office", "app"] {
            let (status, _) = server.post_as(
                Some(&server.token_of(role)),
                "/api/v1/hotline/orders",
                &json!({"order_id": "GD-9", "category": "E01001", "description": "x", "lon": 116.41, "lat": 39.93})
                    .to_string(),
            );
            assert_eq!(status, 403, "{name}: {role} does not take platform orders");
        }

        // Closed: the result goes back once, signed — although the platform refused the first try.
        let (dispatcher, unit, officer) =
            (server.token_of("dispatcher"), server.token_of("unit"), server.token_of("officer"));
        for (token, step) in [
            (&dispatcher, json!({"action": "accept"})),
            (&officer, json!({"action": "confirm", "note": "现场核实属实"})),
            (&dispatcher, json!({"action": "register"})),
            (&dispatcher, json!({"action": "dispatch"})),
            (&unit, json!({"action": "handle", "note": "已清理"})),
            (&officer, json!({"action": "verify"})),
            (&dispatcher, json!({"action": "close", "note": "已办结，来电人满意"})),
        ] {
            let (status, after) =
                server.post_as(Some(token), &format!("/api/v1/problems/{id}/transitions"), &step.to_string());
            if status != 200 && step["action"] == "confirm" {
                continue; // an order registered without an on-site check goes straight on
            }
            assert_eq!(status, 200, "{name}: {step}: {after}");
        }
        let (signed, result) =
            results.recv_timeout(std::time::Duration::from_secs(60)).expect("the closed order's result arrives");
        assert_eq!(signed, "signed", "{name}");
        assert_eq!(
            (
                result["order_id"].as_str(),
                result["outcome"].as_str(),
                result["problem_id"].as_i64(),
                result["note"].as_str()
            ),
            (Some("GD-20261206-0001"), Some("closed"), Some(id), Some("已办结，来电人满意")),
            "{name}: {result}"
        );
        // The server marks it taken once the platform's 200 is back: a moment after it was sent.
        let taken = common::eventually(10, || {
            server.get_as(Some(&account), "/api/v1/hotline/orders/GD-20261206-0001").1["order"]["pushed_at"].is_string()
        });
        assert!(taken, "{name}: the order shows its result taken");

        // Sent back (退单) with a reason: voided, and the platform told why.
        let (status, other) = order("GD-20261206-0002", json!({"lon": seen["lon"], "lat": seen["lat"]}));
        assert_eq!(status, 201, "{name}: {other}");
        let (status, _) =
            server.post_as(Some(&account), "/api/v1/hotline/orders/GD-20261206-0002/send-back", r#"{"reason": ""}"#);
        assert_eq!(status, 422, "{name}: a send-back needs its reason");
        let reason = "属于市场监管部门职责，非城市管理范围";
        let (status, sent) = server.post_as(
            Some(&account),
            "/api/v1/hotline/orders/GD-20261206-0002/send-back",
            &json!({"reason": reason}).to_string(),
        );
        assert_eq!(status, 200, "{name}: {sent}");
        assert_eq!(
            (sent["problem"]["status"].as_str(), sent["order"]["outcome"].as_str()),
            (Some("void"), Some("sent_back")),
            "{name}: {sent}"
        );
        let (status, _) = server.post_as(
            Some(&account),
            "/api/v1/hotline/orders/GD-20261206-0002/send-back",
            &json!({"reason": reason}).to_string(),
        );
        assert_eq!(status, 409, "{name}: an order is sent back once");
        let (signed, result) = results.recv_timeout(std::time::Duration::from_secs(60)).expect("the send-back arrives");
        assert_eq!(signed, "signed", "{name}");
        assert_eq!(
            (result["order_id"].as_str(), result["outcome"].as_str(), result["note"].as_str()),
            (Some("GD-20261206-0002"), Some("sent_back"), Some(reason)),
            "{name}: {result}"
        );
        let (status, _) = server.get_as(Some(&account), "/api/v1/hotline/orders/GD-404");
        assert_eq!(status, 404, "{name}");

        // Nothing more: each result went once.
        assert!(results.recv_timeout(std::time::Duration::from_secs(5)).is_err(), "{name}: a result went twice");
    }
}

/// 回访: a citizen's closed case is on the desk's and the office's list to call back; dissatisfied
/// re-opens it for rework (the unit has it again) and the bulletin counts it; satisfied after the
/// second fix closes the loop. Officers' own reports are not called back.
#[test]
fn a_dissatisfied_call_back_reopens_the_case_and_the_bulletin_counts_it_on_both_backends() {
    for backend in Backend::both("callback") {
        let name = backend.name();
        let server = Server::start(&backend.url(), &["--demo"]);
        let (dispatcher, office, unit, officer) = (
            server.token_of("dispatcher"),
            server.token_of("office"),
            server.token_of("unit"),
            server.token_of("officer"),
        );
        let (lon, lat) = common::demo_unit_place(&server, &officer);
        let report = |token: &str, source: &str, extra: Value| {
            let mut body = json!({"lon": lon, "lat": lat, "category": "E01001", "description": format!("回访 {source}"), "source": source});
            body.as_object_mut().expect("object").extend(extra.as_object().cloned().unwrap_or_default());
            let (status, created) = server.post_as(Some(token), "/api/v1/problems", &body.to_string());
            assert_eq!(status, 201, "{name}: {created}");
            created["id"].as_i64().expect("id")
        };
        let step = |token: &str, id: i64, body: Value| {
            server.post_as(Some(token), &format!("/api/v1/problems/{id}/transitions"), &body.to_string())
        };
        let fix_and_close = |id: i64| {
            assert_eq!(step(&unit, id, json!({"action": "handle", "note": "已清理"})).0, 200, "{name}");
            assert_eq!(step(&officer, id, json!({"action": "verify"})).0, 200, "{name}");
            let (status, closed) = step(&dispatcher, id, json!({"action": "close"}));
            assert_eq!((status, closed["status"].as_str()), (200, Some("closed")), "{name}: {closed}");
        };
        let to_unit = |id: i64| {
            for body in [json!({"action": "accept"}), json!({"action": "register"}), json!({"action": "dispatch"})] {
                let (status, after) = step(&dispatcher, id, body.clone());
                if status == 200 && after["status"] == "confirming" {
                    assert_eq!(step(&officer, id, json!({"action": "confirm"})).0, 200, "{name}");
                    continue;
                }
                assert_eq!(status, 200, "{name}: {body}: {after}");
            }
        };
        let call = report(&dispatcher, "hotline", json!({"caller": {"phone": PHONE}}));
        let own = report(&officer, "officer", json!({}));
        for id in [call, own] {
            to_unit(id);
            fix_and_close(id);
        }
        let listed = |token: &str| -> Vec<(i64, String, Value)> {
            let (_, tasks) = server.get_as(Some(token), "/api/v1/tasks");
            tasks["tasks"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|x| {
                            Some((
                                x["problem_id"].as_i64()?,
                                x["kind"].as_str()?.to_string(),
                                x["next_actions"].clone(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        for token in [&dispatcher, &office] {
            let tasks = listed(token);
            assert!(tasks.contains(&(call, "callback".into(), json!(["callback"]))), "{name}: {tasks:?}");
            assert!(
                !tasks.iter().any(|(id, kind, _)| *id == own && kind == "callback"),
                "{name}: officers' reports are not called back"
            );
        }
        let (_, before) = server.get_as(Some(&office), "/api/v1/reports/weekly");

        // Refused: an officer's report, no answer, dissatisfied without saying why, a unit.
        let (status, body) = step(&dispatcher, own, json!({"action": "callback", "satisfaction": "satisfied"}));
        assert_eq!(status, 422, "{name}: {body}");
        assert_eq!(step(&dispatcher, call, json!({"action": "callback"})).0, 422, "{name}");
        assert_eq!(
            step(&dispatcher, call, json!({"action": "callback", "satisfaction": "dissatisfied"})).0,
            422,
            "{name}"
        );
        assert_eq!(step(&dispatcher, call, json!({"action": "callback", "satisfaction": "so-so"})).0, 422, "{name}");
        assert_eq!(step(&unit, call, json!({"action": "callback", "satisfaction": "satisfied"})).0, 403, "{name}");

        // Dissatisfied: back to the unit for rework, counted.
        let (status, reopened) = step(
            &office,
            call,
            json!({"action": "callback", "satisfaction": "dissatisfied", "note": "垃圾又堆起来了"}),
        );
        assert_eq!(status, 200, "{name}: {reopened}");
        assert_eq!(
            (reopened["status"].as_str(), reopened["reworks"].as_u64(), reopened["closed_at"].is_null()),
            (Some("rework"), Some(1), true),
            "{name}: {reopened}"
        );
        assert!(
            listed(&unit).iter().any(|(id, kind, _)| *id == call && kind == "rework"),
            "{name}: the unit has it again"
        );
        assert!(!listed(&dispatcher).iter().any(|(id, kind, _)| *id == call && kind == "callback"), "{name}");
        assert_eq!(
            step(&dispatcher, call, json!({"action": "callback", "satisfaction": "satisfied"})).0,
            409,
            "{name}: an open case is not called back"
        );
        let (_, after) = server.get_as(Some(&office), "/api/v1/reports/weekly");
        let (b, a) = (&before["total"]["counts"], &after["total"]["counts"]);
        assert_eq!((a["called_back"].as_u64(), a["dissatisfied"].as_u64()), (Some(1), Some(1)), "{name}: {a}");
        assert_eq!(
            a["reworked"].as_u64(),
            b["reworked"].as_u64().map(|n| n + 1),
            "{name}: the rework counts against the unit"
        );
        assert_eq!(after["total"]["satisfaction"]["satisfaction"].as_f64(), Some(0.0), "{name}: {}", after["total"]);
        let csv = ureq::get(&server.url("/api/v1/reports/weekly?format=csv"))
            .set("Authorization", &format!("Bearer {office}"))
            .call()
            .expect("csv")
            .into_string()
            .expect("text");
        assert!(
            csv.lines().next().is_some_and(|h| h.contains("满意率 %") && h.contains("不满意 dissatisfied")),
            "{name}: {csv}"
        );

        // Fixed again and closed: called back afresh, satisfied.
        fix_and_close(call);
        assert!(
            listed(&dispatcher).iter().any(|(id, kind, _)| *id == call && kind == "callback"),
            "{name}: each closing is called back"
        );
        let (status, done) = step(&dispatcher, call, json!({"action": "callback", "satisfaction": "satisfied"}));
        assert_eq!(
            (status, done["status"].as_str(), done["callback"].as_str()),
            (200, Some("closed"), Some("satisfied")),
            "{name}: {done}"
        );
        assert_eq!(
            step(&dispatcher, call, json!({"action": "callback", "satisfaction": "satisfied"})).0,
            422,
            "{name}: once per closing"
        );
        let (_, last) = server.get_as(Some(&office), "/api/v1/reports/weekly");
        let l = &last["total"]["counts"];
        assert_eq!(
            (l["called_back"].as_u64(), l["satisfied"].as_u64(), l["dissatisfied"].as_u64()),
            (Some(1), Some(1), Some(0)),
            "{name}: {l}"
        );
        assert_eq!(last["total"]["satisfaction"]["satisfaction"].as_f64(), Some(1.0), "{name}");
        let (_, history) = server.get_as(Some(&dispatcher), &format!("/api/v1/problems/{call}/events"));
        let said: Vec<&str> = history["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["action"] == "callback")
            .filter_map(|e| e["details"]["satisfaction"].as_str())
            .collect();
        assert_eq!(said, ["dissatisfied", "satisfied"], "{name}: the history keeps both call-backs");
    }
}
