//! The backups docs/deploy.md tells a city to take, restored with exactly its commands: SQLite
//! copied by `gridwatch backup` while the server runs; PostgreSQL dumped by `pg_dump` and restored
//! by `pg_restore` into a fresh database. The restored service has every case.

mod common;

use common::{gridwatch, inside, text, PgDatabase, Server};
use serde_json::json;
use std::process::Command;

/// Reports a case through `server`; its id.
fn report(server: &Server, what: &str) -> i64 {
    let officer = server.token_of("officer");
    let (_, mine) = server.get_as(Some(&officer), "/api/v1/layers/grids?level=grid");
    let (lon, lat) = inside(&mine["features"][0]);
    let body = json!({"lon": lon, "lat": lat, "category": "E01001", "description": what, "source": "officer"});
    let (status, case) = server.post_as(Some(&officer), "/api/v1/problems", &body.to_string());
    assert_eq!(status, 201, "{case}");
    case["id"].as_i64().expect("id")
}

/// The case as the restored service (started on `url`) shows it to an admin of it.
fn restored_description(url: &str, id: i64) -> String {
    let mut server = Server::start(url, &[]);
    server.token = Some(common::user_with_token(url, "restore-check", &["--role", "admin"]));
    let (status, case) = server.get(&format!("/api/v1/problems/{id}"));
    assert_eq!(status, 200, "{case}");
    case["description"].as_str().unwrap_or("").to_string()
}

#[test]
fn a_sqlite_backup_taken_while_serving_restores_with_a_copy() {
    let dir = common::scratch("backup-sqlite");
    let (live, backup, restored) = (dir.join("g.db"), dir.join("backup.db"), dir.join("restored.db"));
    let url = format!("sqlite://{}", live.display());
    let server = Server::start(&url, &["--demo"]);
    let id = report(&server, "backup: 路边垃圾");

    let out = gridwatch(&["backup", &backup.display().to_string()], Some(&url));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = gridwatch(&["backup", &backup.display().to_string()], Some(&url));
    assert!(!again.status.success() && text(&again.stderr).contains("exists already"), "never overwritten");
    drop(server);

    // The restore of docs/deploy.md: with the server stopped, copy the backup over the file.
    std::fs::copy(&backup, &restored).expect("cp");
    let restored_url = format!("sqlite://{}", restored.display());
    assert_eq!(restored_description(&restored_url, id), "backup: 路边垃圾");
}

#[test]
fn a_postgresql_dump_restores_into_a_fresh_database() {
    let db = PgDatabase::fresh();
    let server = Server::start(&db.url(), &["--demo"]);
    let id = report(&server, "backup: 井盖缺失");
    let dump = common::scratch("backup-pg").join("gridwatch.dump");
    let pg_dump = Command::new("pg_dump")
        .args(["--format=custom", &format!("--file={}", dump.display()), &db.url()])
        .output()
        .expect("pg_dump runs");
    assert!(pg_dump.status.success(), "{}", text(&pg_dump.stderr));
    let refused = gridwatch(&["backup", &dump.with_extension("db").display().to_string()], Some(&db.url()));
    assert!(text(&refused.stderr).contains("pg_dump"), "gridwatch backup points PostgreSQL to pg_dump");
    drop(server);

    let fresh = PgDatabase::fresh();
    let pg_restore = Command::new("pg_restore")
        .args(["--no-owner", &format!("--dbname={}", fresh.url())])
        .arg(&dump)
        .output()
        .expect("pg_restore runs");
    assert!(pg_restore.status.success(), "{}", text(&pg_restore.stderr));
    assert_eq!(restored_description(&fresh.url(), id), "backup: 井盖缺失");
}
