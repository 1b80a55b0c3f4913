//! The web map in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; see
//! tests/browser/map.test.mjs): every view opens against the demo server and draws its features,
//! one dispatcher action goes end to end, and each view's screenshot is saved under
//! target/test-output/map/.

mod common;

use common::{text, Server};
use serde_json::json;
use std::process::Command;

/// The demo's printed sign-ins, as the browser scripts read them: `{role: [user, password]}`.
fn logins_of(server: &Server) -> serde_json::Value {
    server.logins.iter().map(|(role, (user, password))| (role.clone(), json!([user, password]))).collect()
}

#[test]
fn every_view_of_the_web_map_draws_in_chromium() {
    let dir = common::scratch("map");
    // A Thursday afternoon outside the demo's own fortnight: the demo lives in that week (2026-W49).
    let server = Server::start(
        &format!("sqlite://{}", dir.join("map.db").display()),
        &["--demo", "--clock-start", "2026-12-03T15:00:00+08:00"],
    );
    let tokens = json!({
        "officer": server.token_of("officer"),
        "dispatcher": server.token_of("dispatcher"),
        "office": server.token_of("office"),
        "unit": server.token_of("unit"),
    });
    let logins = logins_of(&server);
    let shots = common::workspace().join("target/test-output/map");
    let _ = std::fs::remove_dir_all(&shots);
    let browser = common::workspace().join("tests/browser");
    let out = Command::new("node")
        .arg("map.test.mjs")
        .current_dir(&browser)
        .env("GRIDWATCH_URL", &server.base)
        .env("GRIDWATCH_TOKENS", tokens.to_string())
        .env("GRIDWATCH_LOGINS", logins.to_string())
        .env("GRIDWATCH_SCREENSHOTS", &shots)
        .output()
        .expect("node runs (scripts/test.sh installs playwright-core into tests/browser)");
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "browser checks failed:\n{log}");
    assert!(log.contains("all 6 browser checks passed"), "{log}");
    for view in ["sign-in", "officer", "unit", "dispatcher", "office"] {
        let png = std::fs::read(shots.join(format!("{view}.png"))).expect("screenshot saved");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{view}: a real screenshot");
    }
}

/// The officer's phone offline (tests/browser/offline.test.mjs): installed as an app, reopened
/// with no signal, a report with a camera photo and an inspection with an on-site photo filed
/// offline; on return all four writes arrive exactly once although the server's first answers
/// are lost. The report is checked here again through the API.
#[test]
fn a_report_and_an_inspection_filed_offline_arrive_exactly_once_with_their_photos() {
    let dir = common::scratch("offline");
    let server = Server::start(&format!("sqlite://{}", dir.join("offline.db").display()), &["--demo"]);
    let token = server.token_of("officer");
    let (status, grids) = server.get_as(Some(&token), "/api/v1/layers/grids?level=grid");
    assert_eq!(status, 200);
    let (lon, lat) = common::inside(&grids["features"][0]);
    let now = time::OffsetDateTime::now_utc();
    let photo = dir.join("scene.jpg");
    let bytes = common::camera::camera_jpeg(&dir, "scene.jpg", now, lon, lat);
    let description = format!("离线上报 offline report {}", now.unix_timestamp_nanos());
    let out = Command::new("node")
        .arg("offline.test.mjs")
        .current_dir(common::workspace().join("tests/browser"))
        .env("GRIDWATCH_URL", &server.base)
        .env("GRIDWATCH_TOKEN", &token)
        .env("GRIDWATCH_PHOTO", &photo)
        .env("GRIDWATCH_AT", format!("{lon},{lat}"))
        .env("GRIDWATCH_DESCRIPTION", &description)
        .output()
        .expect("node runs (scripts/test.sh installs playwright-core into tests/browser)");
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "offline browser checks failed:\n{log}");
    assert!(log.contains("offline checks passed"), "{log}");

    let (_, list) = server.get_as(Some(&token), "/api/v1/problems?limit=1000&sort=-created_at");
    let mine: Vec<&serde_json::Value> = list["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|p| p["description"] == description.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "one case: {mine:?}");
    assert_eq!(mine[0]["reported_by"], "demo-officer");
    let (_, photos) = server.get_as(Some(&token), &format!("/api/v1/problems/{}/photos", mine[0]["id"]));
    let photos = photos["photos"].as_array().expect("photos");
    assert_eq!(photos.len(), 1, "one photo: {photos:?}");
    use sha2::Digest;
    assert_eq!(photos[0]["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
    // Taken where and when it was filed: none of the tamper checks fire.
    assert_eq!(photos[0]["flags"], json!([]), "{:?}", photos[0]);
}

/// The whole loop on screen (tests/browser/loop.test.mjs), on both backends: each role signs in
/// with the demo's printed password; the officer reports on a phone, the dispatcher accepts,
/// registers and dispatches at a desk, the unit handles with an after-photo, the officer — with no
/// signal — confirms a hotline call (核实) and checks the fix (核查) with photos, and back online,
/// with the server's first answers lost on the way, every photo and step arrives exactly once;
/// the dispatcher closes the case from their to-do list.
#[test]
fn the_whole_loop_runs_on_screen_with_the_officer_offline_on_both_backends() {
    use common::camera::{camera_jpeg, camera_jpeg_of, other_scene};
    for backend in common::Backend::both("loop") {
        let name = backend.name();
        let dir = common::scratch(&format!("loop-{name}"));
        let server = Server::start(&backend.url(), &["--demo"]);
        let (officer, dispatcher) = (server.token_of("officer"), server.token_of("dispatcher"));
        let (lon, lat) = common::demo_unit_place(&server, &officer);
        // A hotline call there, accepted: it waits for the officer to confirm it on site.
        let body = json!({"lon": lon, "lat": lat, "category": "E01001", "description": "12345：胡同口垃圾", "source": "hotline"});
        let (status, call) = server.post_as(Some(&dispatcher), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{name}: {call}");
        let call = call["id"].as_i64().expect("id");
        let accept = json!({"action": "accept"}).to_string();
        let (status, accepted) =
            server.post_as(Some(&dispatcher), &format!("/api/v1/problems/{call}/transitions"), &accept);
        assert_eq!((status, accepted["status"].as_str()), (200, Some("confirming")), "{name}: {accepted}");
        // Camera photos, each of its own scene, taken where the case is; the after-photos a few
        // minutes from now, after the report they show the fix of.
        let now = time::OffsetDateTime::now_utc();
        let later = now + time::Duration::minutes(10);
        camera_jpeg(&dir, "report.jpg", now, lon, lat);
        for (file, n, at) in [
            ("after.jpg", 1, later),
            ("seen.jpg", 2, now),
            ("check.jpg", 3, later),
            ("before.jpg", 4, now),
            ("fixed.jpg", 5, later),
        ] {
            camera_jpeg_of(&other_scene(n), &dir, file, at, lon, lat);
        }
        let photos: serde_json::Map<String, serde_json::Value> =
            ["report", "after", "seen", "check", "before", "fixed"]
                .iter()
                .map(|p| (p.to_string(), json!(dir.join(format!("{p}.jpg")))))
                .collect();
        let logins = logins_of(&server);
        let description = format!("网格员上报 loop {}", now.unix_timestamp_nanos());
        let shots = common::workspace().join(format!("target/test-output/loop-{name}"));
        let out = Command::new("node")
            .arg("loop.test.mjs")
            .current_dir(common::workspace().join("tests/browser"))
            .env("GRIDWATCH_URL", &server.base)
            .env("GRIDWATCH_LOGINS", logins.to_string())
            .env("GRIDWATCH_TOKENS", json!({"dispatcher": dispatcher}).to_string())
            .env("GRIDWATCH_AT", format!("{lon},{lat}"))
            .env("GRIDWATCH_CALL", call.to_string())
            .env("GRIDWATCH_PHOTOS", serde_json::Value::Object(photos).to_string())
            .env("GRIDWATCH_DESCRIPTION", &description)
            .env("GRIDWATCH_SCREENSHOTS", &shots)
            .output()
            .expect("node runs (scripts/test.sh installs playwright-core into tests/browser)");
        let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{name}: loop browser checks failed:\n{log}");
        assert!(log.contains("loop checks passed"), "{name}: {log}");
        // The office's bulletin of this week counts the call as confirmed on time.
        let (_, bulletin) = server.get_as(Some(&server.token_of("office")), "/api/v1/reports/weekly");
        let counts = &bulletin["total"]["counts"];
        assert!(
            counts["confirmed"].as_u64() >= Some(1) && counts["to_confirm"].as_u64() >= Some(1),
            "{name}: {counts}"
        );
    }
}

/// Supervision on screen (tests/browser/rounds.test.mjs): the office opens an undercover round
/// at a desk and records a finding by tapping the map; the unit, on a phone, sees nothing until
/// the office publishes it, and then the finding handed to it in the ledger (台账); the unit signs
/// for and answers one of its letters (督办函) and the office finds it answered.
#[test]
fn the_office_runs_a_supervision_round_on_screen_and_the_unit_sees_it_once_published() {
    let dir = common::scratch("rounds-map");
    let server = Server::start(&format!("sqlite://{}", dir.join("rounds.db").display()), &["--demo"]);
    let (lon, lat) = common::demo_unit_place(&server, &server.token_of("office"));
    let shots = common::workspace().join("target/test-output/rounds");
    let out = Command::new("node")
        .arg("rounds.test.mjs")
        .current_dir(common::workspace().join("tests/browser"))
        .env("GRIDWATCH_URL", &server.base)
        .env("GRIDWATCH_LOGINS", logins_of(&server).to_string())
        .env("GRIDWATCH_AT", format!("{lon},{lat}"))
        .env("GRIDWATCH_SCREENSHOTS", &shots)
        .output()
        .expect("node runs (scripts/test.sh installs playwright-core into tests/browser)");
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && log.contains("rounds checks passed"), "rounds browser checks failed:\n{log}");
    // What the screen showed is what the API holds: one round, its finding handed to the unit.
    let (_, listed) = server.get_as(Some(&server.token_of("unit")), "/api/v1/rounds");
    let round = &listed["rounds"][0];
    let (_, ledger) = server.get_as(Some(&server.token_of("unit")), &format!("/api/v1/rounds/{}/ledger", round["id"]));
    assert_eq!(
        (ledger["total"]["found"].as_u64(), ledger["items"][0]["unit"].as_str()),
        (Some(1), Some("东华门街道办事处"))
    );
    // And one letter answered on screen, by the unit's user, with its words.
    let (_, answered) = server.get_as(Some(&server.token_of("office")), "/api/v1/letters?status=answered");
    let answered = answered["letters"].as_array().cloned().unwrap_or_default();
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(answered[0]["answer"], "已组织清运，整改到位");
    assert_eq!(answered[0]["unit"], "东华门街道办事处");
}
