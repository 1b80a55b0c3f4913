//! The embedded default: one SQLite file, no server. Geometry is stored as WKB with
//! bounding-box columns; exact spatial tests happen in `spatial`, as they do for PostGIS results.

use super::{level_text, migrator, AreaFilter, BBox, ImportSummary, RowExt, Store, StoreError, StoredGrid};
use crate::domain::auth::Actor;
use crate::domain::problem::{NewProblem, Problem};
use async_trait::async_trait;
use geo::BoundingRect;
use spatial::wkb::multipolygon_to_wkb;
use spatial::{Grid, GridLevel};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

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
];

const GRID_COLUMNS: &str = "code, version, name, parent_code, level, lead_department, responsible_unit, officer, \
     geom AS wkb, valid_from, valid_to";
const INSERT_PROBLEM: &str = "INSERT INTO problems (lon, lat, category, description, source, grid_code, grid_version, \
     responsible_unit, candidates, status, created_at, reported_by, \
     category_name, kind, department, severity, time_limit, limit_unit, colour, nearby, likely_duplicates, point_code, criterion_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) RETURNING id";
/// The queue filters, parameters $1…$18 as `bind_problem_query!` binds them.
const QUEUE_WHERE: &str = "WHERE lon >= $1 AND lat >= $2 AND lon <= $3 AND lat <= $4 \
     AND ($5 IS NULL OR grid_code IN (SELECT value FROM json_each($5))) \
     AND ($6 IS NULL OR responsible_unit = $6) \
     AND ($7 IS NULL OR reported_by = $7) \
     AND ($8 IS NULL OR status IN (SELECT value FROM json_each($8))) \
     AND ($9 IS NULL OR colour IN (SELECT value FROM json_each($9))) \
     AND ($10 IS NULL OR grid_code IN (SELECT value FROM json_each($10))) \
     AND ($11 IS NULL OR responsible_unit = $11) \
     AND ($12 IS NULL OR department = $12) \
     AND ($13 IS NULL OR category = $13) \
     AND ($14 IS NULL OR source = $14) \
     AND ($15 IS NULL OR julianday(created_at) >= julianday($15)) \
     AND ($16 IS NULL OR julianday(created_at) < julianday($16)) \
     AND ($17 IS NULL OR julianday(closed_at) >= julianday($17)) \
     AND ($18 IS NULL OR julianday(closed_at) < julianday($18))";

/// Queue orders, as `read_methods!` uses them.
const ORDER_OLDEST: &str = "id";
const ORDER_NEWEST: &str = "id DESC";
const ORDER_DEADLINE: &str = "deadline IS NULL, julianday(deadline), id";
/// Cases dispatched in [$1, $2) within an area ($3 codes, $4 unit, $5 reporter).
const DISPATCHED_WHERE: &str =
    "julianday(dispatched_at) >= julianday($1) AND julianday(dispatched_at) < julianday($2) \
             AND ($3 IS NULL OR grid_code IN (SELECT value FROM json_each($3))) \
             AND ($4 IS NULL OR responsible_unit = $4) AND ($5 IS NULL OR reported_by = $5)";
/// Events of the cases listed (JSON array) in $1.
const EVENTS_OF_WHERE: &str = "problem_id IN (SELECT value FROM json_each($1))";

const PROBLEM_COLUMNS: &str = "id, lon, lat, category, description, source, grid_code, grid_version, \
     responsible_unit, candidates, status, created_at, reported_by, category_name, kind, department, severity, time_limit, \
     limit_unit, dispatched_at, deadline, reworks, extension_requested, closed_at, colour, nearby, likely_duplicates, merged_into, point_code, criterion_id, version";
/// Open cases of each probe's category in its box (see `open_near_body!`).
const OPEN_NEAR: &str = "WITH q AS (SELECT json_extract(value, '$.i') AS i, json_extract(value, '$.x0') AS x0, \
     json_extract(value, '$.y0') AS y0, json_extract(value, '$.x1') AS x1, json_extract(value, '$.y1') AS y1, \
     json_extract(value, '$.cat') AS cat FROM json_each($1)) \
     SELECT q.i AS i, p.id, p.lon, p.lat, p.grid_code, p.responsible_unit, p.reported_by FROM q JOIN problems p \
     ON p.lon >= q.x0 AND p.lon <= q.x1 AND p.lat >= q.y0 AND p.lat <= q.y1 AND p.category = q.cat \
     AND p.status NOT IN ('closed', 'void') ORDER BY q.i, p.id";
/// [`PROBLEM_COLUMNS`] without the long texts (description, candidates, nearby, duplicates,
/// extension request): what the map layers and the escalation pass read, a million at a time.
const MAP_COLUMNS: &str = "id, lon, lat, category, '' AS description, source, grid_code, grid_version, \
     responsible_unit, '[]' AS candidates, status, created_at, reported_by, category_name, kind, department, severity, time_limit, \
     limit_unit, dispatched_at, deadline, reworks, NULL AS extension_requested, closed_at, colour, '[]' AS nearby, \
     '[]' AS likely_duplicates, merged_into, point_code, criterion_id, version";
use super::WORLD;

/// How WKB parameter `$n` becomes a geometry, and how a geometry column becomes WKB.
fn wkb_in(n: usize) -> String {
    format!("${n}")
}
/// The `n`th parameter of a statement whose parameters are bound in order of appearance.
fn positional(_n: usize) -> String {
    "?".into()
}
fn wkb_positional(_n: usize) -> String {
    "?".into()
}
const WKB_OUT: &str = "geom";

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
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
        Ok(Self { pool })
    }

    /// Writers take the lock up front so a read-then-write transaction cannot fail half-way.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}

async fn insert_grid(
    tx: &mut sqlx::SqliteConnection,
    grid: &Grid,
    version: i32,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let (min, max) = grid.geometry.bounding_rect().map(|r| (r.min(), r.max())).unwrap_or_default();
    sqlx::query(
        "INSERT INTO grids (code, version, name, parent_code, level, lead_department, responsible_unit, officer, geom, \
         min_lon, min_lat, max_lon, max_lat, valid_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&grid.code)
    .bind(version)
    .bind(&grid.name)
    .bind(&grid.parent_code)
    .bind(level_text(grid))
    .bind(&grid.lead_department)
    .bind(&grid.responsible_unit)
    .bind(&grid.officer)
    .bind(multipolygon_to_wkb(&grid.geometry))
    .bind(min.x)
    .bind(min.y)
    .bind(max.x)
    .bind(max.y)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn import_grids(
        &self,
        grids: &[Grid],
        now: OffsetDateTime,
        actor: &Actor,
        dry_run: bool,
    ) -> Result<ImportSummary, StoreError> {
        let mut tx = self.begin_write().await?;
        let summary = apply_import!(tx, grids, now, actor);
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(summary)
    }

    async fn current_grids(&self) -> Result<Vec<StoredGrid>, StoreError> {
        self.grids_in_bbox(None, None, None, &AreaFilter::default(), i64::MAX).await
    }

    async fn grid_versions(&self, code: &str) -> Result<Vec<StoredGrid>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {GRID_COLUMNS} FROM grids WHERE code = $1 ORDER BY version"))
            .bind(code)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| r.grid_row()?.into_stored()).collect()
    }

    async fn grids_in_bbox(
        &self,
        bbox: Option<BBox>,
        level: Option<GridLevel>,
        as_of: Option<OffsetDateTime>,
        area: &AreaFilter,
        limit: i64,
    ) -> Result<Vec<StoredGrid>, StoreError> {
        let b = bbox.unwrap_or(WORLD);
        let rows = sqlx::query(&format!(
            "SELECT {GRID_COLUMNS} FROM grids \
             WHERE (($9 IS NULL AND valid_to IS NULL) \
                    OR (julianday(valid_from) <= julianday($9) AND (valid_to IS NULL OR julianday(valid_to) > julianday($9)))) \
             AND max_lon >= $1 AND min_lon <= $3 AND max_lat >= $2 AND min_lat <= $4 \
             AND ($5 IS NULL OR level = $5) \
             AND ($7 IS NULL OR code IN (SELECT value FROM json_each($7))) \
             AND ($8 IS NULL OR responsible_unit = $8) ORDER BY code LIMIT $6"
        ))
        .bind(b.min_lon)
        .bind(b.min_lat)
        .bind(b.max_lon)
        .bind(b.max_lat)
        .bind(level.map(GridLevel::as_str))
        .bind(limit)
        .bind(crate::store::codes_json(area))
        .bind(&area.unit)
        .bind(as_of)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| r.grid_row()?.into_stored()).collect()
    }

    async fn grid_revision(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM revisions WHERE name = 'grids'").fetch_one(&self.pool).await?)
    }

    async fn layer_fingerprint(&self) -> Result<String, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT (SELECT coalesce(max(id), 0) FROM problems) || ':' || (SELECT coalesce(max(id), 0) FROM problem_events) || ':' || (SELECT count(*) FROM assessment_points) || ':' || (SELECT coalesce(max(updated_at), '') FROM assessment_points)",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn insert_problems(&self, problems: Vec<NewProblem>, actor: &Actor) -> Result<Vec<Problem>, StoreError> {
        let mut tx = self.begin_write().await?;
        let ids = insert_problem_rows!(tx, &problems, INSERT_PROBLEM, actor);
        tx.commit().await?;
        Ok(ids.into_iter().zip(problems).map(|(id, p)| Problem::from_new(id, p)).collect())
    }

    async fn problem(&self, id: i64) -> Result<Option<Problem>, StoreError> {
        let row = sqlx::query(&format!("SELECT {PROBLEM_COLUMNS} FROM problems WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.problem_row()?.into_problem()).transpose()
    }

    async fn problems_in_bbox(
        &self,
        bbox: Option<BBox>,
        area: &AreaFilter,
        limit: i64,
    ) -> Result<Vec<Problem>, StoreError> {
        let b = bbox.unwrap_or(WORLD);
        let rows = sqlx::query(&format!(
            "SELECT {PROBLEM_COLUMNS} FROM problems \
             WHERE lon >= $1 AND lon <= $3 AND lat >= $2 AND lat <= $4 \
             AND ($6 IS NULL OR grid_code IN (SELECT value FROM json_each($6))) \
             AND ($7 IS NULL OR responsible_unit = $7) \
             AND ($8 IS NULL OR reported_by = $8) ORDER BY id LIMIT $5"
        ))
        .bind(b.min_lon)
        .bind(b.min_lat)
        .bind(b.max_lon)
        .bind(b.max_lat)
        .bind(limit)
        .bind(crate::store::codes_json(area))
        .bind(&area.unit)
        .bind(&area.reported_by)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| r.problem_row()?.into_problem()).collect()
    }

    async fn import_problems(
        &self,
        problems: Vec<(Option<String>, NewProblem)>,
        actor: Actor,
        dry_run: bool,
    ) -> Result<(usize, usize), StoreError> {
        import_problems_body!(self, problems, actor, dry_run)
    }

    async fn open_near(
        &self,
        probes: Vec<crate::store::NearProbe>,
    ) -> Result<Vec<Vec<crate::store::Near>>, StoreError> {
        open_near_body!(self, probes)
    }

    async fn insert_problems_once(
        &self,
        batch: Vec<crate::store::KeyedProblem>,
    ) -> Result<Vec<(Problem, bool)>, StoreError> {
        insert_problems_once_body!(self, batch)
    }

    account_methods!();

    workflow_methods!();

    read_methods!();

    patrol_methods!();

    assessment_methods!();

    street_methods!();
    photo_methods!();
    reply_methods!();

    async fn count_problems(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM problems").fetch_one(&self.pool).await?)
    }
}
