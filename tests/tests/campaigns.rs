//! Special campaigns (专项整治) on both backends: the office sets one up (period, area,
//! categories, lead and joint units, a joint enforcement day every N days); bad plans are named,
//! other roles and areas refused; the cases it covers are counted per unit and per round (JSON,
//! and XLSX read by openpyxl); its joint enforcement day enters the officer's weekly plan; of two
//! racing changes exactly one wins.

mod common;

use common::{text, Backend, Server};
use serde_json::{json, Value};
use std::process::Command;

/// Monday 30 November 2026, 10:00 in Beijing (week 2026-W49).
const NOW: &str = "2026-11-30T02:00:00Z";
/// Not among the demo's categories: only the planted cases have it.
const SPILL: &str = "E03002";

fn plan() -> Value {
    json!({
        "name": "  道路遗撒专项整治 ",
        "start": "2026-11-29", "end": "2026-12-31",
        "area": ["110101001"],
        "categories": [SPILL],
        "lead_unit": "东华门街道办事处",
        "joint_units": ["城管执法队", "东华门街道办事处", "城管执法队"],
        "cycle_days": 3
    })
}

#[test]
fn the_office_runs_a_special_campaign_and_everyone_sees_its_report_on_both_backends() {
    for backend in Backend::both("campaigns") {
        let name = backend.name();
        let url = backend.url();
        let server = Server::start(&url, &["--demo", "--clock-start", NOW]);
        let (office, dispatcher, officer, unit, app) = (
            server.token_of("office"),
            server.token_of("dispatcher"),
            server.token_of("officer"),
            server.token_of("unit"),
            server.token_of("app"),
        );
        let (status, made) = server.post_as(Some(&office), "/api/v1/campaigns", &plan().to_string());
        assert_eq!(status, 201, "{name}: {made}");
        let id = made["id"].as_i64().expect("id");
        assert_eq!(made["name"], "道路遗撒专项整治", "{name}");
        assert_eq!(made["joint_units"], json!(["城管执法队"]), "{name}: the lead unit and repeats are not joint units");
        assert_eq!(
            made["rounds"],
            json!([
                "2026-11-29",
                "2026-12-02",
                "2026-12-05",
                "2026-12-08",
                "2026-12-11",
                "2026-12-14",
                "2026-12-17",
                "2026-12-20",
                "2026-12-23",
                "2026-12-26",
                "2026-12-29"
            ]),
            "{name}: every third day from the first"
        );
        assert_eq!((made["active"].as_bool(), made["version"].as_i64()), (Some(true), Some(0)), "{name}");

        // Who may set one up, and where; bad plans name their field.
        for token in [&dispatcher, &unit, &officer, &app] {
            let (status, _) = server.post_as(Some(token), "/api/v1/campaigns", &plan().to_string());
            assert_eq!(status, 403, "{name}");
        }
        let street_office =
            common::user_with_token(&url, "street-office", &["--role", "office", "--scope", "110101001"]);
        let mut elsewhere = plan();
        elsewhere["area"] = json!(["110101017"]);
        let (status, body) = server.post_as(Some(&street_office), "/api/v1/campaigns", &elsewhere.to_string());
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("outside_area")), "{name}: {body}");
        for (field, value) in [
            ("end", json!("2026-11-01")),
            ("area", json!(["999"])),
            ("categories", json!(["X00000"])),
            ("cycle_days", json!(0)),
            ("name", json!(" ")),
            ("colour", json!("red")),
        ] {
            let mut bad = plan();
            bad[field] = value;
            let (status, body) = server.post_as(Some(&office), "/api/v1/campaigns", &bad.to_string());
            assert_eq!(status, 422, "{name} {field}: {body}");
            assert!(body["error"]["message"].as_str().unwrap_or("").contains(field), "{name} {field}: {body}");
        }

        // Cases: three of its category in its area, one of another category, one outside it.
        let (lon, lat) = common::demo_unit_place(&server, &officer);
        let report = |token: &str, category: &str, (lon, lat): (f64, f64)| -> Value {
            let body = json!({"lon": lon, "lat": lat, "category": category, "description": "专项整治测试", "source": "officer"});
            let (status, created) = server.post_as(Some(token), "/api/v1/problems", &body.to_string());
            assert_eq!(status, 201, "{name}: {created}");
            created
        };
        let covered: Vec<i64> = (0..3)
            .map(|i| report(&officer, SPILL, (lon + f64::from(i) * 0.0002, lat))["id"].as_i64().expect("id"))
            .collect();
        let other_category = report(&officer, "E01001", (lon, lat));
        let (_, streets) = server.get_as(Some(&office), "/api/v1/layers/grids?level=grid");
        let outside = streets["features"]
            .as_array()
            .and_then(|g| g.iter().find(|f| f["id"].as_str().is_some_and(|c| c.starts_with("110101017"))).cloned())
            .expect("a grid of another street");
        let far = report(&dispatcher, SPILL, common::inside(&outside));
        assert!(far["grid_code"].as_str().is_some_and(|g| g.starts_with("110101017")), "{name}: {far}");
        // One of them is fixed and closed.
        for (token, step) in [
            (&dispatcher, json!({"action": "accept"})),
            (&dispatcher, json!({"action": "register"})),
            (&dispatcher, json!({"action": "dispatch"})),
            (&unit, json!({"action": "handle", "note": "已清扫"})),
            (&officer, json!({"action": "verify"})),
            (&dispatcher, json!({"action": "close"})),
        ] {
            server.act(token, covered[0], step);
        }

        // Each case carries the campaigns it falls in (its tag).
        let tags = |case: i64| {
            let (_, shown) = server.get_as(Some(&dispatcher), &format!("/api/v1/problems/{case}"));
            // Left out when the case is in no campaign.
            let campaigns = shown["campaigns"].as_array().cloned().unwrap_or_default();
            campaigns.iter().any(|c| c["id"].as_i64() == Some(id))
        };
        assert!(tags(covered[1]), "{name}: a covered case is tagged");
        assert!(!tags(other_category["id"].as_i64().expect("id")), "{name}: another category is not");
        assert!(!tags(far["id"].as_i64().expect("id")), "{name}: another street is not");
        let (status, got) = server.get_as(Some(&office), &format!("/api/v1/campaigns/{id}/report"));
        assert_eq!(status, 200, "{name}: {got}");
        let ids: Vec<i64> = got["cases"].as_array().expect("cases").iter().filter_map(|c| c["id"].as_i64()).collect();
        assert_eq!(ids, covered, "{name}: only its category in its area ({other_category}, {far} are not)");
        let tally = |t: &Value| (t["found"].as_u64(), t["closed"].as_u64(), t["open"].as_u64());
        assert_eq!(tally(&got["total"]), (Some(3), Some(1), Some(2)), "{name}: {got}");
        let units = got["units"].as_array().expect("units");
        assert_eq!(
            (units[0]["unit"].as_str(), units[0]["role"].as_str()),
            (Some("东华门街道办事处"), Some("lead")),
            "{name}"
        );
        assert_eq!(tally(&units[0]), (Some(3), Some(1), Some(2)), "{name}: the demo unit's grid, the lead's");
        assert_eq!((units[1]["unit"].as_str(), units[1]["found"].as_u64()), (Some("城管执法队"), Some(0)), "{name}");
        let rounds = got["rounds"].as_array().expect("rounds");
        assert_eq!((rounds[0]["day"].as_str(), rounds[0]["found"].as_u64()), (Some("2026-11-29"), Some(3)), "{name}");
        assert!(rounds[1..].iter().all(|r| r["found"] == 0), "{name}: reported on the 30th, in the first round");

        // XLSX, read by openpyxl.
        let xlsx = server.fetch(Some(&office), &format!("/api/v1/campaigns/{id}/report?format=xlsx"), None);
        assert_eq!(xlsx.status, 200, "{name}");
        let lines = common::openpyxl(
            &xlsx.body,
            "campaign-xlsx",
            "print(book.sheetnames)\n\
             s = book['汇总']\n\
             print(s.cell(4, 1).value, s.cell(4, 3).value, s.cell(4, 4).value, s.cell(4, 5).value)\n\
             print(book['案件'].max_row - 1, book['联合执法'].max_row - 1)",
        );
        assert_eq!(lines, ["['汇总', '联合执法', '案件']", "合计 total 3 1 2", "3 11"], "{name}");

        // The unit reads it too (its own cases); citizen apps do not.
        let (status, theirs) = server.get_as(Some(&unit), &format!("/api/v1/campaigns/{id}/report"));
        assert_eq!((status, theirs["total"]["found"].as_u64()), (200, Some(3)), "{name}: {theirs}");
        let (status, _) = server.get_as(Some(&app), &format!("/api/v1/campaigns/{id}/report"));
        assert_eq!(status, 403, "{name}");
        let (status, listed) = server.get_as(Some(&dispatcher), "/api/v1/campaigns");
        assert_eq!((status, listed["campaigns"][0]["id"].as_i64()), (200, Some(id)), "{name}");
        let (status, _) = server.get_as(Some(&office), "/api/v1/campaigns/999999");
        assert_eq!(status, 404, "{name}");

        // The joint enforcement day of this week (Wednesday 2 December) is in the officer's plan.
        let (status, planned) = server.get_as(Some(&office), "/api/v1/plans?officer=demo-officer&week=2026-W49");
        assert_eq!(status, 200, "{name}: {planned}");
        let joint: Vec<Value> = planned["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter(|f| f["properties"]["kind"] == "stop" && f["properties"]["task"] == "campaign")
            .map(|f| f["properties"].clone())
            .filter(|p| p["code"].as_str() == Some(id.to_string().as_str()))
            .collect();
        // (The demo's own campaign has its Wednesday patrol too.)
        assert_eq!(joint.len(), 1, "{name}: one joint patrol of this campaign this week: {joint:?}");
        assert_eq!(joint[0]["date"].as_str(), Some("2026-12-02"), "{name}");

        // Two changes at the same version: exactly one wins.
        let change = |token: String, cycle: u32| {
            let base = server.base.clone();
            std::thread::spawn(move || {
                let mut plan = plan();
                plan["cycle_days"] = json!(cycle);
                let body = json!({"version": 0, "plan": plan}).to_string();
                let answer = ureq::put(&format!("{base}/api/v1/campaigns/{id}"))
                    .set("Authorization", &format!("Bearer {token}"))
                    .set("Content-Type", "application/json")
                    .send_string(&body);
                common::respond(answer).0
            })
        };
        let racers = [change(office.clone(), 7), change(office.clone(), 14)];
        let mut statuses: Vec<u16> = racers.into_iter().map(|r| r.join().expect("thread")).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{name}");
        let (_, now) = server.get_as(Some(&office), &format!("/api/v1/campaigns/{id}"));
        assert_eq!(now["version"], 1, "{name}: {now}");
        assert!(matches!(now["cycle_days"].as_u64(), Some(7 | 14)), "{name}: {now}");
    }
}

/// 专项整治 on screen: the office sets a campaign up through the form at desk size and sees its
/// report; the unit reads it at phone size (tests/browser/campaigns.test.mjs).
#[test]
fn the_office_sets_up_a_campaign_on_screen_and_the_unit_reads_it() {
    let dir = common::scratch("campaigns-map");
    let server = Server::start(&format!("sqlite://{}", dir.join("c.db").display()), &["--demo", "--clock-start", NOW]);
    let officer = server.token_of("officer");
    let (lon, lat) = common::demo_unit_place(&server, &officer);
    for i in 0..2 {
        let body = json!({"lon": lon + f64::from(i) * 0.0001, "lat": lat, "category": SPILL, "description": "遗撒", "source": "officer"});
        let (status, created) = server.post_as(Some(&officer), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{created}");
    }
    let logins: Value =
        server.logins.iter().map(|(role, (user, password))| (role.clone(), json!([user, password]))).collect();
    let shots = common::workspace().join("target/test-output/campaigns");
    let out = Command::new("node")
        .arg("campaigns.test.mjs")
        .current_dir(common::workspace().join("tests/browser"))
        .env("GRIDWATCH_URL", &server.base)
        .env("GRIDWATCH_LOGINS", logins.to_string())
        .env("GRIDWATCH_STREET", "110101001")
        .env("GRIDWATCH_CATEGORY", SPILL)
        .env("GRIDWATCH_FOUND", "2")
        .env("GRIDWATCH_SCREENSHOTS", &shots)
        .output()
        .expect("node runs (scripts/test.sh installs playwright-core into tests/browser)");
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && log.contains("campaigns checks passed"), "campaign browser checks failed:\n{log}");
    let (_, listed) = server.get_as(Some(&server.token_of("office")), "/api/v1/campaigns");
    assert_eq!(listed["campaigns"][0]["joint_units"], json!(["城管执法队", "市场监管所"]), "{listed}");
}
