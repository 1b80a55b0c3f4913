//! Schemathesis (PyPI) generates requests from `api/openapi.json` for every endpoint and checks
//! that no answer is a 5xx and every answer fits the document — on both backends.

mod common;

use common::{text, Backend, Server};
use std::process::Command;

fn schemathesis() -> String {
    std::env::var("GRIDWATCH_SCHEMATHESIS").unwrap_or_else(|_| "st".into())
}

fn fuzz(backend: &Backend) {
    let name = backend.name();
    let server = Server::start(
        &backend.url(),
        &["--demo", "--rate-limit-per-token", "1000000", "--rate-limit-per-ip", "1000000"],
    );
    let out = Command::new(schemathesis())
        .args(["run", &server.url("/api/v1/openapi.json")])
        .args(["-H", &format!("Authorization: Bearer {}", server.token_of("admin"))])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
        ])
        .args(["--max-examples", "40", "--seed", "2026", "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} (scripts/test.sh installs it): {e}", schemathesis()));
    let report = text(&out.stdout);
    // "N generated, N passed": every generated case passed every check. Warnings about test-data
    // coverage (404s for ids that do not exist, keys it cannot guess) are not failures.
    let generated = report.lines().find(|l| l.contains(" generated, ")).unwrap_or("").trim().to_string();
    let numbers: Vec<&str> = generated.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).collect();
    let all_passed = numbers.len() == 2 && numbers[0] == numbers[1] && !generated.contains("failed");
    assert!(
        out.status.success() && all_passed && !report.contains("FAILURES"),
        "{name}: schemathesis found problems:\n{report}\n{}",
        text(&out.stderr)
    );
    println!("{name}: schemathesis {generated}");
}

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    for backend in Backend::both("fuzz") {
        fuzz(&backend);
    }
}
