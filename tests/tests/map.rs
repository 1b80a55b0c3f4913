//! The web map in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; see
//! tests/browser/map.test.mjs): every view opens against the demo server and draws its features,
//! one dispatcher action goes end to end, and each view's screenshot is saved under
//! target/test-output/map/.

mod common;

use common::{text, Server};
use serde_json::json;
use std::process::Command;

#[test]
fn every_view_of_the_web_map_draws_in_chromium() {
    let dir = common::scratch("map");
    let server = Server::start(&format!("sqlite://{}", dir.join("map.db").display()), &["--demo"]);
    let tokens = json!({
        "officer": server.token_of("officer"),
        "dispatcher": server.token_of("dispatcher"),
        "office": server.token_of("office"),
    });
    let shots = common::workspace().join("target/test-output/map");
    let _ = std::fs::remove_dir_all(&shots);
    let browser = common::workspace().join("tests/browser");
    let out = Command::new("node")
        .arg("map.test.mjs")
        .current_dir(&browser)
        .env("GRIDWATCH_URL", &server.base)
        .env("GRIDWATCH_TOKENS", tokens.to_string())
        .env("GRIDWATCH_SCREENSHOTS", &shots)
        .output()
        .expect("node runs (scripts/test.sh installs playwright-core into tests/browser)");
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "browser checks failed:\n{log}");
    assert!(log.contains("all 3 browser checks passed"), "{log}");
    for view in ["officer", "dispatcher", "office"] {
        let png = std::fs::read(shots.join(format!("{view}.png"))).expect("screenshot saved");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{view}: a real screenshot");
    }
}
