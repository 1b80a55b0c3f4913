//! PostGIS through sqlx: geometry columns in EPSG:4326 with GiST indexes; geometry crosses the
//! boundary as WKB.

use super::{level_text, migrator, AreaFilter, BBox, ImportSummary, RowExt, Store, StoreError, StoredGrid};
use crate::domain::auth::Actor;
use crate::domain::problem::{NewProblem, Problem};
use async_trait::async_trait;
use spatial::wkb::multipolygon_to_wkb;
use spatial::{Grid, GridLevel};
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;
use time::OffsetDateTime;

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
];

const GRID_COLUMNS: &str = "code, version, name, parent_code, level, lead_department, responsible_unit, officer, \
     ST_AsBinary(geom) AS wkb, valid_from, valid_to";
const INSERT_PROBLEM: &str = "INSERT INTO problems (geom, category, description, source, grid_code, grid_version, \
     responsible_unit, candidates, status, created_at, reported_by, \
     category_name, kind, department, severity, time_limit, limit_unit, colour, nearby, likely_duplicates, point_code, criterion_id) \
     VALUES (ST_SetSRID(ST_MakePoint($1, $2), 4326), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) RETURNING id";
/// The queue filters, parameters $1…$18 as `bind_problem_query!` binds them.
const QUEUE_WHERE: &str = "WHERE geom && ST_MakeEnvelope($1, $2, $3, $4, 4326) \
     AND ($5::text IS NULL OR grid_code IN (SELECT jsonb_array_elements_text($5::jsonb))) \
     AND ($6::text IS NULL OR responsible_unit = $6) \
     AND ($7::text IS NULL OR reported_by = $7) \
     AND ($8::text IS NULL OR status IN (SELECT jsonb_array_elements_text($8::jsonb))) \
     AND ($9::text IS NULL OR colour IN (SELECT jsonb_array_elements_text($9::jsonb))) \
     AND ($10::text IS NULL OR grid_code IN (SELECT jsonb_array_elements_text($10::jsonb))) \
     AND ($11::text IS NULL OR responsible_unit = $11) \
     AND ($12::text IS NULL OR department = $12) \
     AND ($13::text IS NULL OR category = $13) \
     AND ($14::text IS NULL OR source = $14) \
     AND ($15::timestamptz IS NULL OR created_at >= $15) \
     AND ($16::timestamptz IS NULL OR created_at < $16) \
     AND ($17::timestamptz IS NULL OR closed_at >= $17) \
     AND ($18::timestamptz IS NULL OR closed_at < $18)";

/// Queue orders, as `read_methods!` uses them.
const ORDER_OLDEST: &str = "id";
const ORDER_NEWEST: &str = "id DESC";
const ORDER_DEADLINE: &str = "deadline ASC NULLS LAST, id";
/// Cases dispatched in [$1, $2) within an area ($3 codes, $4 unit, $5 reporter).
const DISPATCHED_WHERE: &str = "dispatched_at >= $1 AND dispatched_at < $2 \
             AND ($3::text IS NULL OR grid_code IN (SELECT jsonb_array_elements_text($3::jsonb))) \
             AND ($4::text IS NULL OR responsible_unit = $4) AND ($5::text IS NULL OR reported_by = $5)";
/// Events of the cases listed (JSON array) in $1.
const EVENTS_OF_WHERE: &str = "problem_id IN (SELECT (jsonb_array_elements_text($1::jsonb))::bigint)";

const PROBLEM_COLUMNS: &str = "id, ST_X(geom) AS lon, ST_Y(geom) AS lat, category, description, source, grid_code, \
     grid_version, responsible_unit, candidates, status, created_at, reported_by, category_name, kind, department, severity, time_limit, \
     limit_unit, dispatched_at, deadline, reworks, extension_requested, closed_at, colour, nearby, likely_duplicates, merged_into, point_code, criterion_id, version";
/// Open cases of each probe's category in its box, at most 100 per probe (see `open_near_body!`).
const OPEN_NEAR: &str = "SELECT q.i::bigint AS i, p.id, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, p.grid_code, \
     p.responsible_unit, p.reported_by \
     FROM jsonb_to_recordset($1::jsonb) AS q(i int, x0 float8, y0 float8, x1 float8, y1 float8, cat text) \
     CROSS JOIN LATERAL (SELECT id, geom, grid_code, responsible_unit, reported_by FROM problems \
       WHERE geom && ST_MakeEnvelope(q.x0, q.y0, q.x1, q.y1, 4326) AND category = q.cat \
       AND status NOT IN ('closed', 'void') ORDER BY id LIMIT 100) p";
/// [`PROBLEM_COLUMNS`] without the long texts (description, candidates, nearby, duplicates,
/// extension request): what the map layers and the escalation pass read, a million at a time.
const MAP_COLUMNS: &str = "id, ST_X(geom) AS lon, ST_Y(geom) AS lat, category, ''::text AS description, source, grid_code, grid_version, \
     responsible_unit, '[]'::text AS candidates, status, created_at, reported_by, category_name, kind, department, severity, time_limit, \
     limit_unit, dispatched_at, deadline, reworks, NULL::text AS extension_requested, closed_at, colour, '[]'::text AS nearby, \
     '[]'::text AS likely_duplicates, merged_into, point_code, criterion_id, version";

/// How WKB parameter `$n` becomes a geometry, and how a geometry column becomes WKB.
fn wkb_in(n: usize) -> String {
    format!("ST_GeomFromWKB(${n}, 4326)")
}
/// The `n`th parameter of a statement whose parameters are bound in order of appearance.
fn positional(n: usize) -> String {
    format!("${n}")
}
fn wkb_positional(n: usize) -> String {
    wkb_in(n)
}
const WKB_OUT: &str = "ST_AsBinary(geom)";

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // Short, so that while the database is away callers get a quick 503, not a hang.
            .acquire_timeout(Duration::from_secs(2))
            .connect(url)
            .await?;
        migrator(MIGRATIONS).await?.run(&pool).await?;
        Ok(Self { pool })
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

async fn insert_grid(
    tx: &mut sqlx::PgConnection,
    grid: &Grid,
    version: i32,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO grids (code, version, name, parent_code, level, lead_department, responsible_unit, officer, geom, valid_from) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ST_GeomFromWKB($9, 4326), $10)",
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
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgis"
    }

    async fn import_grids(
        &self,
        grids: &[Grid],
        now: OffsetDateTime,
        actor: &Actor,
        dry_run: bool,
    ) -> Result<ImportSummary, StoreError> {
        let mut tx = self.begin_write().await?;
        // Serialise imports so two of them cannot both open version N+1.
        sqlx::query("LOCK TABLE grids IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
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
        let b = bbox.unwrap_or(BBox { min_lon: -180.0, min_lat: -90.0, max_lon: 180.0, max_lat: 90.0 });
        let rows = sqlx::query(&format!(
            "SELECT {GRID_COLUMNS} FROM grids \
             WHERE (($10::timestamptz IS NULL AND valid_to IS NULL) \
                    OR (valid_from <= $10 AND (valid_to IS NULL OR valid_to > $10))) \
             AND ($1 OR geom && ST_MakeEnvelope($2, $3, $4, $5, 4326)) \
             AND ($6::text IS NULL OR level = $6) \
             AND ($8::text IS NULL OR code IN (SELECT jsonb_array_elements_text($8::jsonb))) \
             AND ($9::text IS NULL OR responsible_unit = $9) ORDER BY code LIMIT $7"
        ))
        .bind(bbox.is_none())
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
            "SELECT concat_ws(':', (SELECT coalesce(max(id), 0) FROM problems), (SELECT coalesce(max(id), 0) FROM problem_events), (SELECT count(*) FROM assessment_points), (SELECT max(updated_at)::text FROM assessment_points))",
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
        let b = bbox.unwrap_or(BBox { min_lon: -180.0, min_lat: -90.0, max_lon: 180.0, max_lat: 90.0 });
        let rows = sqlx::query(&format!(
            "SELECT {PROBLEM_COLUMNS} FROM problems \
             WHERE ($1 OR geom && ST_MakeEnvelope($2, $3, $4, $5, 4326)) \
             AND ($7::text IS NULL OR grid_code IN (SELECT jsonb_array_elements_text($7::jsonb))) \
             AND ($8::text IS NULL OR responsible_unit = $8) \
             AND ($9::text IS NULL OR reported_by = $9) ORDER BY id LIMIT $6"
        ))
        .bind(bbox.is_none())
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
