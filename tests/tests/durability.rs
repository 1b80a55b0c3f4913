//! An acknowledged report is never lost: SIGKILL the server in the middle of 10,000 reports,
//! restart it, retry what was not acknowledged with the same idempotency keys, and find every
//! acknowledged report exactly once — on SQLite and on PostGIS.

mod common;

use common::{Backend, Server};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REPORTS: usize = 10_000;
const CLIENTS: usize = 4;

fn body(i: usize) -> String {
    let lon = 116.40 + (i % 100) as f64 * 0.0002;
    let lat = 39.91 + (i / 100) as f64 * 0.0002;
    format!(r#"{{"lon": {lon}, "lat": {lat}, "category": "暴露垃圾", "description": "durability {i}", "source": "hotline"}}"#)
}

/// POSTs report `i`; Ok(id) on 201, Err(()) on anything else (refused, reset, server gone).
fn send(agent: &ureq::Agent, base: &str, token: &str, i: usize) -> Result<i64, ()> {
    let response = agent
        .post(&format!("{base}/api/v1/problems"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json")
        .set("Idempotency-Key", &format!("durability-{i}"))
        .timeout(Duration::from_secs(20))
        .send_string(&body(i))
        .map_err(|_| ())?;
    if response.status() != 201 {
        return Err(());
    }
    let v: Value = response.into_json().map_err(|_| ())?;
    v["id"].as_i64().ok_or(())
}

fn kill_during_load(backend: &Backend) {
    let name = backend.name();
    let url = backend.url();
    let limits = ["--demo", "--rate-limit-per-token", "1000000", "--rate-limit-per-ip", "1000000"];
    let mut server = Server::start(&url, &limits);
    let token = server.token_of("admin");
    let base = server.base.clone();

    let acked: Arc<Mutex<HashMap<usize, i64>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let kill_at = REPORTS / 3;
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let (acked, next, base, token) = (acked.clone(), next.clone(), base.clone(), token.clone());
        workers.push(std::thread::spawn(move || {
            let agent = ureq::AgentBuilder::new().build();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= REPORTS {
                    break;
                }
                if let Ok(id) = send(&agent, &base, &token, i) {
                    acked.lock().expect("lock").insert(i, id);
                }
            }
        }));
    }
    while acked.lock().expect("lock").len() < kill_at {
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill9();
    for w in workers {
        w.join().expect("client thread");
    }
    let acked_before_kill = acked.lock().expect("lock").clone();
    assert!(acked_before_kill.len() >= kill_at && acked_before_kill.len() < REPORTS, "{name}: the kill came mid-load");

    // Restart on the same database and send again everything that was not acknowledged.
    let mut restarted = Server::start(&url, &limits);
    restarted.token = Some(token.clone());
    let agent = ureq::AgentBuilder::new().build();
    let mut final_ids = acked_before_kill.clone();
    for i in 0..REPORTS {
        if !final_ids.contains_key(&i) {
            let id = send(&agent, &restarted.base, &token, i).unwrap_or_else(|_| panic!("{name}: retry of report {i} failed"));
            final_ids.insert(i, id);
        }
    }
    // Resending an acknowledged report returns the stored one, not a copy.
    for (&i, &id) in acked_before_kill.iter().take(50) {
        assert_eq!(send(&agent, &restarted.base, &token, i), Ok(id), "{name}: replay of report {i}");
    }

    // Every acknowledged report is present, exactly once, with its content.
    let (status, layer) = restarted.get("/api/v1/layers/problems?limit=50000");
    assert_eq!(status, 200);
    let mut seen: HashMap<String, Vec<i64>> = HashMap::new();
    for f in layer["features"].as_array().expect("features") {
        let description = f["properties"]["description"].as_str().unwrap_or("").to_string();
        if description.starts_with("durability ") {
            seen.entry(description).or_default().push(f["id"].as_i64().unwrap_or(-1));
        }
    }
    assert_eq!(seen.len(), REPORTS, "{name}: every report stored");
    for (i, id) in &final_ids {
        assert_eq!(seen.get(&format!("durability {i}")), Some(&vec![*id]), "{name}: report {i} exactly once, with its id");
    }
    println!(
        "{name}: {REPORTS} reports sent, {} acknowledged before SIGKILL, {} found after restart (all {} exactly once)",
        acked_before_kill.len(),
        acked_before_kill.keys().filter(|i| seen.contains_key(&format!("durability {i}"))).count(),
        REPORTS
    );
}

#[test]
fn sigkill_mid_load_loses_no_acknowledged_report_on_sqlite() {
    kill_during_load(&Backend::Sqlite(common::scratch("kill")));
}

#[test]
fn sigkill_mid_load_loses_no_acknowledged_report_on_postgis() {
    kill_during_load(&Backend::Postgres(common::PgDatabase::fresh()));
}
