//! The embedded default: one SQLite file, no server. Geometry is stored as WKB with
//! bounding-box columns; exact spatial tests happen in `spatial`, as they do for PostGIS results.

use super::db::{migrator, Pool};
use super::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "grids and problems", include_str!("../../migrations/sqlite/0001_grids_and_problems.sql")),
    (2, "users, tokens and audit", include_str!("../../migrations/sqlite/0002_users_tokens_audit.sql")),
    (3, "workflow", include_str!("../../migrations/sqlite/0003_workflow.sql")),
    (4, "patrols", include_str!("../../migrations/sqlite/0004_patrols.sql")),
    (5, "layer fingerprint", include_str!("../../migrations/sqlite/0005_layer_fingerprint.sql")),
    (6, "mock assessments", include_str!("../../migrations/sqlite/0006_mock_assessments.sql")),
    (7, "streets", include_str!("../../migrations/sqlite/0007_streets.sql")),
    (8, "photos", include_str!("../../migrations/sqlite/0008_photos.sql")),
    (9, "replies", include_str!("../../migrations/sqlite/0009_replies.sql")),
    (10, "point photos", include_str!("../../migrations/sqlite/0010_point_photos.sql")),
    (11, "case versions", include_str!("../../migrations/sqlite/0011_case_versions.sql")),
    (12, "reply fingerprints", include_str!("../../migrations/sqlite/0012_reply_fingerprints.sql")),
    (13, "passwords and sessions", include_str!("../../migrations/sqlite/0013_passwords_and_sessions.sql")),
    (14, "supervision", include_str!("../../migrations/sqlite/0014_supervision.sql")),
    (15, "letters", include_str!("../../migrations/sqlite/0015_letters.sql")),
    (
        16,
        "round inspectors and foreword",
        include_str!("../../migrations/sqlite/0016_round_inspectors_and_foreword.sql"),
    ),
    (17, "problems near", include_str!("../../migrations/sqlite/0017_problems_near.sql")),
    (18, "addresses and callers", include_str!("../../migrations/sqlite/0018_addresses_and_callers.sql")),
    (19, "hotline orders", include_str!("../../migrations/sqlite/0019_hotline_orders.sql")),
    (20, "callbacks", include_str!("../../migrations/sqlite/0020_callbacks.sql")),
    (21, "recurrences", include_str!("../../migrations/sqlite/0021_recurrences.sql")),
    (22, "public photos", include_str!("../../migrations/sqlite/0022_public_photos.sql")),
    (23, "campaigns", include_str!("../../migrations/sqlite/0023_campaigns.sql")),
];

/// Opens (creating if needed) and brings the schema up to date.
pub(super) async fn connect(url: &str) -> Result<Pool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a 201 means the report survives a power cut, not just a crash.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        // Statement journals (one per multi-row INSERT) in memory, not in temporary files:
        // a third of a bulk import's time went to writing them.
        .pragma("temp_store", "memory");
    let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
    migrator(MIGRATIONS).await?.run(&pool).await?;
    Ok(Pool::Sqlite(pool))
}
