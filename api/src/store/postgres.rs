//! PostGIS through sqlx: geometry columns in EPSG:4326 with GiST indexes; geometry crosses the
//! boundary as WKB.

use super::db::{migrator, Pool};
use super::StoreError;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "grids and problems", include_str!("../../migrations/postgres/0001_grids_and_problems.sql")),
    (2, "users, tokens and audit", include_str!("../../migrations/postgres/0002_users_tokens_audit.sql")),
    (3, "workflow", include_str!("../../migrations/postgres/0003_workflow.sql")),
    (4, "patrols", include_str!("../../migrations/postgres/0004_patrols.sql")),
    (5, "layer fingerprint", include_str!("../../migrations/postgres/0005_layer_fingerprint.sql")),
    (6, "mock assessments", include_str!("../../migrations/postgres/0006_mock_assessments.sql")),
    (7, "streets", include_str!("../../migrations/postgres/0007_streets.sql")),
    (8, "photos", include_str!("../../migrations/postgres/0008_photos.sql")),
    (9, "replies", include_str!("../../migrations/postgres/0009_replies.sql")),
    (10, "point photos", include_str!("../../migrations/postgres/0010_point_photos.sql")),
    (11, "case versions", include_str!("../../migrations/postgres/0011_case_versions.sql")),
    (12, "reply fingerprints", include_str!("../../migrations/postgres/0012_reply_fingerprints.sql")),
    (13, "passwords and sessions", include_str!("../../migrations/postgres/0013_passwords_and_sessions.sql")),
    (14, "supervision", include_str!("../../migrations/postgres/0014_supervision.sql")),
    (15, "letters", include_str!("../../migrations/postgres/0015_letters.sql")),
    (
        16,
        "round inspectors and foreword",
        include_str!("../../migrations/postgres/0016_round_inspectors_and_foreword.sql"),
    ),
    (17, "notifications", include_str!("../../migrations/postgres/0017_notifications.sql")),
    (18, "colour changes unnotified", include_str!("../../migrations/postgres/0018_colour_changes_unnotified.sql")),
    (19, "addresses and callers", include_str!("../../migrations/postgres/0019_addresses_and_callers.sql")),
    (20, "hotline orders", include_str!("../../migrations/postgres/0020_hotline_orders.sql")),
    (21, "callbacks", include_str!("../../migrations/postgres/0021_callbacks.sql")),
    (22, "recurrences", include_str!("../../migrations/postgres/0022_recurrences.sql")),
    (23, "public photos", include_str!("../../migrations/postgres/0023_public_photos.sql")),
    (24, "campaigns", include_str!("../../migrations/postgres/0024_campaigns.sql")),
];

/// Connects and brings the schema up to date.
pub(super) async fn connect(url: &str) -> Result<Pool, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        // Short, so that while the database is away callers get a quick 503, not a hang.
        .acquire_timeout(Duration::from_secs(2))
        .connect(url)
        .await?;
    migrator(MIGRATIONS).await?.run(&pool).await?;
    Ok(Pool::Postgres(pool))
}
