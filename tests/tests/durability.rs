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
    format!(
        r#"{{"lon": {lon}, "lat": {lat}, "category": "暴露垃圾", "description": "durability {i}", "source": "hotline"}}"#
    )
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
        if let std::collections::hash_map::Entry::Vacant(slot) = final_ids.entry(i) {
            let id = send(&agent, &restarted.base, &token, i)
                .unwrap_or_else(|_| panic!("{name}: retry of report {i} failed"));
            slot.insert(id);
        }
    }
    // Resending an acknowledged report returns the stored one, not a copy.
    for (&i, &id) in acked_before_kill.iter().take(50) {
        assert_eq!(send(&agent, &restarted.base, &token, i), Ok(id), "{name}: replay of report {i}");
    }

    // Every acknowledged report is present, exactly once, with its content.
    let mut seen: HashMap<String, Vec<i64>> = HashMap::new();
    for p in restarted.all_problems() {
        let description = p["description"].as_str().unwrap_or("").to_string();
        if description.starts_with("durability ") {
            seen.entry(description).or_default().push(p["id"].as_i64().unwrap_or(-1));
        }
    }
    assert_eq!(seen.len(), REPORTS, "{name}: every report stored");
    for (i, id) in &final_ids {
        assert_eq!(
            seen.get(&format!("durability {i}")),
            Some(&vec![*id]),
            "{name}: report {i} exactly once, with its id"
        );
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

/// A PostgreSQL cluster of our own (so restarting it disturbs no other test), dropped at the end.
struct PrivateCluster {
    name: String,
    port: u16,
}

impl PrivateCluster {
    fn create() -> Self {
        let name = format!("gw{}", std::process::id());
        let port = 20_000 + (std::process::id() % 20_000) as u16;
        let _ = std::process::Command::new("pg_dropcluster").args(["15", &name, "--stop"]).output();
        let out = std::process::Command::new("pg_createcluster")
            .args(["15", &name, "-p", &port.to_string(), "--start", "--", "--auth=trust"])
            .output()
            .expect("pg_createcluster runs (PostgreSQL server tools)");
        assert!(out.status.success(), "pg_createcluster: {}", common::text(&out.stderr));
        Self { name, port }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn ctl(&self, action: &str) {
        let out = std::process::Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", "15", &self.name, action, "-m", "fast"])
            .output()
            .expect("pg_ctlcluster");
        assert!(out.status.success(), "pg_ctlcluster {action}: {}", common::text(&out.stderr));
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("pg_dropcluster").args(["15", &self.name, "--stop"]).output();
    }
}

/// (report, status, seconds since start, seconds taken)
type Attempt = (usize, u16, f64, f64);

#[test]
fn a_postgresql_restart_under_load_gives_quick_503s_and_loses_nothing() {
    let cluster = PrivateCluster::create();
    let limits = ["--demo", "--rate-limit-per-token", "1000000", "--rate-limit-per-ip", "1000000"];
    let server = Server::start(&cluster.url(), &limits);
    let token = server.token_of("admin");
    let base = server.base.clone();

    // (report, status, seconds since start, seconds taken) for every attempt.
    let log: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let acked: Arc<Mutex<HashMap<usize, i64>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (log, acked, stop, next, base, token) =
            (log.clone(), acked.clone(), stop.clone(), next.clone(), base.clone(), token.clone());
        workers.push(std::thread::spawn(move || {
            let agent = ureq::AgentBuilder::new().build();
            let mut i = next.fetch_add(1, Ordering::SeqCst);
            while !stop.load(Ordering::SeqCst) {
                let t0 = started.elapsed().as_secs_f64();
                let result = agent
                    .post(&format!("{base}/api/v1/problems"))
                    .set("Authorization", &format!("Bearer {token}"))
                    .set("Content-Type", "application/json")
                    .set("Idempotency-Key", &format!("restart-{i}"))
                    .timeout(Duration::from_secs(30))
                    .send_string(&body(i));
                let took = started.elapsed().as_secs_f64() - t0;
                let (status, id) = match result {
                    Ok(r) => (r.status(), r.into_json::<Value>().ok().and_then(|v| v["id"].as_i64())),
                    Err(ureq::Error::Status(code, _)) => (code, None),
                    Err(_) => (0, None),
                };
                log.lock().expect("lock").push((i, status, t0, took));
                if status == 201 {
                    acked.lock().expect("lock").insert(i, id.unwrap_or(-1));
                    i = next.fetch_add(1, Ordering::SeqCst);
                } else {
                    std::thread::sleep(Duration::from_millis(50)); // the same report again, same key
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(2));
    let ready = || {
        ureq::get(&format!("{base}/readyz")).call().map_or_else(
            |e| match e {
                ureq::Error::Status(code, _) => code,
                _ => 0,
            },
            |r| r.status(),
        )
    };
    assert_eq!(ready(), 200, "ready while the database runs");
    cluster.ctl("stop");
    // Readiness says so within seconds (a load balancer takes the node out).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while ready() != 503 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ready(), 503, "not ready while the database is stopped");
    std::thread::sleep(Duration::from_secs(2));
    cluster.ctl("start");
    // Give the service time to notice and carry on.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let acked_at_restart = acked.lock().expect("lock").len();
    while acked.lock().expect("lock").len() < acked_at_restart + 200 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    assert_eq!(ready(), 200, "ready again once the database is back");
    for w in workers {
        w.join().expect("client");
    }

    let log = log.lock().expect("lock").clone();
    let failures: Vec<&Attempt> = log.iter().filter(|e| e.1 != 201).collect();
    assert!(!failures.is_empty(), "the outage was seen");
    assert!(
        failures.iter().all(|e| e.1 == 503),
        "while the database is away the answer is 503: {:?}",
        &failures[..5.min(failures.len())]
    );
    let slowest = failures.iter().map(|e| e.3).fold(0.0, f64::max);
    assert!(slowest < 5.0, "503s come quickly (slowest {slowest:.2} s)");
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() > acked_at_restart + 100, "the service recovered by itself");
    // The longest stretch without a 201: first failure to the next success.
    let mut window: f64 = 0.0;
    let mut open: Option<f64> = None;
    let mut sorted = log.clone();
    sorted.sort_by(|a, b| a.2.total_cmp(&b.2));
    for (_, status, t, took) in &sorted {
        match (status, open) {
            (201, Some(from)) => {
                window = window.max(t + took - from);
                open = None;
            }
            (201, None) => {}
            (_, None) => open = Some(*t),
            _ => {}
        }
    }

    // Nothing acknowledged was lost.
    let mut restarted = server;
    restarted.token = Some(token);
    let stored: HashMap<String, i64> = restarted
        .all_problems()
        .iter()
        .map(|p| (p["description"].as_str().unwrap_or("").to_string(), p["id"].as_i64().unwrap_or(-1)))
        .collect();
    for (i, id) in &acked {
        assert_eq!(stored.get(&format!("durability {i}")), Some(id), "report {i} acknowledged and present");
    }
    println!(
        "postgres restart: {} attempts, {} acknowledged, {} found after recovery, {} answered 503 (slowest {slowest:.2} s), longest window without a 201: {window:.2} s",
        log.len(),
        acked.len(),
        acked.keys().filter(|i| stored.contains_key(&format!("durability {i}"))).count(),
        failures.len()
    );
}
