//! Storage: one trait, two implementations (PostGIS for production, embedded SQLite as the
//! zero-setup default). Both run the same test-suite.

/// Applies an import inside the open transaction `tx`. The SQL is the same on both backends
/// except for reading and inserting geometry, so the calling module supplies `GRID_COLUMNS` and
/// `insert_grid`. A macro, because sqlx's executor types differ per backend.
macro_rules! apply_import {
    ($tx:ident, $grids:expr, $now:expr) => {{
        let rows = sqlx::query(&format!("SELECT {GRID_COLUMNS} FROM grids WHERE valid_to IS NULL"))
            .fetch_all(&mut *$tx)
            .await?;
        let current = rows
            .iter()
            .map(|r| r.grid_row()?.into_stored())
            .collect::<Result<Vec<_>, StoreError>>()?;
        let (steps, summary) = $crate::store::plan_import($grids, &current);
        for step in steps {
            match step {
                $crate::store::ImportStep::Create(grid) => insert_grid(&mut $tx, grid, 1, $now).await?,
                $crate::store::ImportStep::NewVersion { grid, previous } => {
                    sqlx::query("UPDATE grids SET valid_to = $3 WHERE code = $1 AND version = $2")
                        .bind(&grid.code)
                        .bind(previous)
                        .bind($now)
                        .execute(&mut *$tx)
                        .await?;
                    insert_grid(&mut $tx, grid, previous + 1, $now).await?;
                }
                $crate::store::ImportStep::UpdateAttributes { grid, version } => {
                    sqlx::query(
                        "UPDATE grids SET name = $3, parent_code = $4, level = $5, lead_department = $6, \
                         responsible_unit = $7, officer = $8 WHERE code = $1 AND version = $2",
                    )
                    .bind(&grid.code)
                    .bind(version)
                    .bind(&grid.name)
                    .bind(&grid.parent_code)
                    .bind($crate::store::level_text(grid))
                    .bind(&grid.lead_department)
                    .bind(&grid.responsible_unit)
                    .bind(&grid.officer)
                    .execute(&mut *$tx)
                    .await?;
                }
                $crate::store::ImportStep::Unchanged => {}
            }
        }
        if summary.created + summary.new_versions + summary.updated > 0 {
            sqlx::query("UPDATE revisions SET value = value + 1 WHERE name = 'grids'")
                .execute(&mut *$tx)
                .await?;
        }
        summary
    }};
}

/// Inserts problems inside the open transaction `tx` with the backend's `INSERT … RETURNING id`
/// (whose first two parameters are lon and lat) and returns their ids in order.
macro_rules! insert_problem_rows {
    ($tx:ident, $problems:expr, $sql:expr) => {{
        let mut ids = Vec::with_capacity($problems.len());
        for p in $problems {
            let id: i64 = sqlx::query_scalar($sql)
                .bind(p.lon)
                .bind(p.lat)
                .bind(&p.category)
                .bind(&p.description)
                .bind(p.source.as_str())
                .bind(&p.grid_code)
                .bind(p.grid_version)
                .bind(&p.responsible_unit)
                .bind($crate::store::candidates_json(p))
                .bind(&p.status)
                .bind(p.created_at)
                .fetch_one(&mut *$tx)
                .await?;
            ids.push(id);
        }
        ids
    }};
}

mod postgres;
mod sqlite;

use crate::problem::{NewProblem, Problem, Source};
use async_trait::async_trait;
use spatial::{Grid, GridLevel, MultiPolygon};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: use postgres://… or sqlite://…")]
    UnsupportedUrl(String),
}

/// A grid as stored: one version of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredGrid {
    pub grid: Grid,
    pub version: i32,
    pub valid_from: OffsetDateTime,
    pub valid_to: Option<OffsetDateTime>,
}

/// A longitude/latitude box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Codes seen for the first time.
    pub created: usize,
    /// Codes whose boundary changed: old version closed, new version opened.
    pub new_versions: usize,
    /// Codes whose attributes changed but not their boundary (updated in place).
    pub updated: usize,
    pub unchanged: usize,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// "postgis" or "sqlite".
    fn backend(&self) -> &'static str;

    /// Upserts grids by code in one transaction: all or nothing.
    async fn import_grids(
        &self,
        grids: &[Grid],
        now: OffsetDateTime,
    ) -> Result<ImportSummary, StoreError>;

    /// The current version of every grid.
    async fn current_grids(&self) -> Result<Vec<StoredGrid>, StoreError>;

    /// Every version of one grid, oldest first.
    async fn grid_versions(&self, code: &str) -> Result<Vec<StoredGrid>, StoreError>;

    /// Current grids whose bounding box meets `bbox` (all when `None`), optionally of one level,
    /// by code, at most `limit`.
    async fn grids_in_bbox(
        &self,
        bbox: Option<BBox>,
        level: Option<GridLevel>,
        limit: i64,
    ) -> Result<Vec<StoredGrid>, StoreError>;

    /// A number that changes whenever grids change (to know when to rebuild the index).
    async fn grid_revision(&self) -> Result<i64, StoreError>;

    /// Stores problems in one transaction and returns them with their ids.
    async fn insert_problems(&self, problems: Vec<NewProblem>) -> Result<Vec<Problem>, StoreError>;

    async fn problem(&self, id: i64) -> Result<Option<Problem>, StoreError>;

    /// Problems inside `bbox` (all when `None`), by id, at most `limit`.
    async fn problems_in_bbox(
        &self,
        bbox: Option<BBox>,
        limit: i64,
    ) -> Result<Vec<Problem>, StoreError>;

    async fn count_problems(&self) -> Result<i64, StoreError>;
}

/// The database gridwatch uses when none is named: an embedded SQLite file.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://gridwatch.db";

/// Opens (creating if needed) and migrates the database behind `url`.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}

/// One step of an import, decided by comparing a grid with its current stored version.
#[derive(Debug, PartialEq)]
pub(crate) enum ImportStep<'a> {
    Create(&'a Grid),
    NewVersion { grid: &'a Grid, previous: i32 },
    UpdateAttributes { grid: &'a Grid, version: i32 },
    Unchanged,
}

/// Decides what to do with each incoming grid. Pure, so both backends behave alike.
pub(crate) fn plan_import<'a>(
    incoming: &'a [Grid],
    current: &[StoredGrid],
) -> (Vec<ImportStep<'a>>, ImportSummary) {
    let by_code: HashMap<&str, &StoredGrid> =
        current.iter().map(|s| (s.grid.code.as_str(), s)).collect();
    let mut summary = ImportSummary::default();
    let steps = incoming
        .iter()
        .map(|grid| match by_code.get(grid.code.as_str()) {
            None => {
                summary.created += 1;
                ImportStep::Create(grid)
            }
            Some(stored) if stored.grid.geometry != grid.geometry => {
                summary.new_versions += 1;
                ImportStep::NewVersion {
                    grid,
                    previous: stored.version,
                }
            }
            Some(stored) if !stored.grid.same_attributes(grid) => {
                summary.updated += 1;
                ImportStep::UpdateAttributes {
                    grid,
                    version: stored.version,
                }
            }
            Some(_) => {
                summary.unchanged += 1;
                ImportStep::Unchanged
            }
        })
        .collect();
    (steps, summary)
}

/// Migrations compiled into the binary, so it runs without its source tree.
#[derive(Debug)]
struct EmbeddedMigrations(&'static [(i64, &'static str, &'static str)]);

impl<'s> sqlx::migrate::MigrationSource<'s> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>,
                > + Send
                + 's,
        >,
    > {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    sqlx::migrate::Migration::new(
                        version,
                        Cow::Borrowed(description),
                        sqlx::migrate::MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

async fn migrator(
    migrations: &'static [(i64, &'static str, &'static str)],
) -> Result<sqlx::migrate::Migrator, StoreError> {
    Ok(sqlx::migrate::Migrator::new(EmbeddedMigrations(migrations)).await?)
}

/// Row fields shared by both backends, decoded into domain types.
pub(crate) struct GridRow {
    pub code: String,
    pub version: i32,
    pub name: Option<String>,
    pub parent_code: Option<String>,
    pub level: Option<String>,
    pub lead_department: Option<String>,
    pub responsible_unit: Option<String>,
    pub officer: Option<String>,
    pub wkb: Vec<u8>,
    pub valid_from: OffsetDateTime,
    pub valid_to: Option<OffsetDateTime>,
}

impl GridRow {
    pub fn into_stored(self) -> Result<StoredGrid, StoreError> {
        let geometry: MultiPolygon<f64> = spatial::wkb::multipolygon_from_wkb(&self.wkb)
            .map_err(|e| StoreError::Corrupt(format!("grid {} geometry: {e}", self.code)))?;
        let level = match self.level {
            Some(l) => Some(l.parse::<GridLevel>().map_err(StoreError::Corrupt)?),
            None => None,
        };
        Ok(StoredGrid {
            grid: Grid {
                code: self.code,
                name: self.name,
                parent_code: self.parent_code,
                level,
                lead_department: self.lead_department,
                responsible_unit: self.responsible_unit,
                officer: self.officer,
                geometry,
            },
            version: self.version,
            valid_from: self.valid_from,
            valid_to: self.valid_to,
        })
    }
}

/// Problem row fields shared by both backends.
pub(crate) struct ProblemRow {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub category: String,
    pub description: String,
    pub source: String,
    pub grid_code: Option<String>,
    pub grid_version: Option<i32>,
    pub responsible_unit: Option<String>,
    pub candidates: String,
    pub status: String,
    pub created_at: OffsetDateTime,
}

impl ProblemRow {
    pub fn into_problem(self) -> Result<Problem, StoreError> {
        let source: Source = self.source.parse().map_err(StoreError::Corrupt)?;
        let candidates: Vec<String> = serde_json::from_str(&self.candidates)
            .map_err(|e| StoreError::Corrupt(format!("problem {} candidates: {e}", self.id)))?;
        Ok(Problem {
            id: self.id,
            lon: self.lon,
            lat: self.lat,
            category: self.category,
            description: self.description,
            source,
            grid_code: self.grid_code,
            grid_version: self.grid_version,
            responsible_unit: self.responsible_unit,
            candidates,
            status: self.status,
            created_at: self.created_at,
        })
    }
}

pub(crate) fn candidates_json(p: &NewProblem) -> String {
    serde_json::to_string(&p.candidates).unwrap_or_else(|_| "[]".into())
}

/// Decoding rows by column name works the same on both backends.
pub(crate) trait RowExt<'r>: sqlx::Row {
    fn grid_row(&'r self) -> Result<GridRow, sqlx::Error>;
    fn problem_row(&'r self) -> Result<ProblemRow, sqlx::Error>;
}

impl<'r, R> RowExt<'r> for R
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    OffsetDateTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn grid_row(&'r self) -> Result<GridRow, sqlx::Error> {
        Ok(GridRow {
            code: self.try_get("code")?,
            version: self.try_get("version")?,
            name: self.try_get("name")?,
            parent_code: self.try_get("parent_code")?,
            level: self.try_get("level")?,
            lead_department: self.try_get("lead_department")?,
            responsible_unit: self.try_get("responsible_unit")?,
            officer: self.try_get("officer")?,
            wkb: self.try_get("wkb")?,
            valid_from: self.try_get("valid_from")?,
            valid_to: self.try_get("valid_to")?,
        })
    }

    fn problem_row(&'r self) -> Result<ProblemRow, sqlx::Error> {
        Ok(ProblemRow {
            id: self.try_get("id")?,
            lon: self.try_get("lon")?,
            lat: self.try_get("lat")?,
            category: self.try_get("category")?,
            description: self.try_get("description")?,
            source: self.try_get("source")?,
            grid_code: self.try_get("grid_code")?,
            grid_version: self.try_get("grid_version")?,
            responsible_unit: self.try_get("responsible_unit")?,
            candidates: self.try_get("candidates")?,
            status: self.try_get("status")?,
            created_at: self.try_get("created_at")?,
        })
    }
}

pub(crate) fn level_text(grid: &Grid) -> Option<&'static str> {
    grid.level.map(GridLevel::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn grid(code: &str, size: f64, name: &str) -> Grid {
        let mut g = Grid::new(
            code,
            MultiPolygon(vec![
                polygon![(x: 0., y: 0.), (x: size, y: 0.), (x: size, y: size), (x: 0., y: 0.)],
            ]),
        );
        g.name = Some(name.into());
        g
    }

    #[test]
    fn import_plan_distinguishes_new_geometry_attributes_and_nothing() {
        let stored = |g: Grid, version| StoredGrid {
            grid: g,
            version,
            valid_from: OffsetDateTime::UNIX_EPOCH,
            valid_to: None,
        };
        let current = vec![
            stored(grid("A", 1., "a"), 1),
            stored(grid("B", 1., "b"), 3),
            stored(grid("C", 1., "c"), 1),
        ];
        let incoming = vec![
            grid("A", 2., "a"),
            grid("B", 1., "b2"),
            grid("C", 1., "c"),
            grid("D", 1., "d"),
        ];
        let (steps, summary) = plan_import(&incoming, &current);
        assert_eq!(
            steps[0],
            ImportStep::NewVersion {
                grid: &incoming[0],
                previous: 1
            }
        );
        assert_eq!(
            steps[1],
            ImportStep::UpdateAttributes {
                grid: &incoming[1],
                version: 3
            }
        );
        assert_eq!(steps[2], ImportStep::Unchanged);
        assert_eq!(steps[3], ImportStep::Create(&incoming[3]));
        assert_eq!(
            summary,
            ImportSummary {
                created: 1,
                new_versions: 1,
                updated: 1,
                unchanged: 1
            }
        );
    }
}
