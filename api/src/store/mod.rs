//! Storage: one concrete [`Store`] over PostGIS (production) or an embedded SQLite file (the
//! zero-setup default). Its methods are ordinary `async fn`s, one module per aggregate, each
//! written once: statements run through [`db`], which holds the one `match` on the backend, and
//! the SQL that differs between the two lives in [`dialect`]. Both backends run the same tests.

pub mod accounts;
mod addresses;
pub(crate) mod assessments;
mod audit;
mod campaigns;
mod cases;
mod catalog;
pub mod cluster;
mod db;
mod dialect;
mod grids;
mod hotline;
pub mod letters;
pub(crate) mod patrols;
pub mod photos;
mod postgres;
pub mod replies;
mod sqlite;
mod streets;
mod supervision;

use crate::domain::auth::{Actor, Role};
use crate::domain::problem::{NewProblem, Problem};
use db::Pool;
use dialect::Dialect;
use std::sync::Arc;
use time::OffsetDateTime;

pub use crate::domain::access::AreaFilter;
pub use crate::domain::grids::StoredGrid;
pub use crate::domain::problem::ProblemEvent;

/// The database: a pool of connections to PostGIS or SQLite, and how to speak to it.
#[derive(Debug)]
pub struct Store {
    pool: Pool,
    dialect: Dialect,
}

/// The database gridwatch uses when none is named: an embedded SQLite file.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://gridwatch.db";

/// Opens (creating if needed) and migrates the database behind `url`.
pub async fn connect(url: &str) -> Result<Arc<Store>, StoreError> {
    let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Store { pool: postgres::connect(url).await?, dialect: Dialect::Postgres }
    } else if url.starts_with("sqlite:") {
        Store { pool: sqlite::connect(url).await?, dialect: Dialect::Sqlite }
    } else {
        return Err(StoreError::UnsupportedUrl(url.to_string()));
    };
    // A new database starts with the shipped catalogue; admins replace it with `import categories`.
    if store.categories().await?.is_empty() {
        let now = OffsetDateTime::now_utc();
        store.replace_categories(crate::domain::workflow::catalogue::default_catalogue(), now, Actor::system()).await?;
    }
    Ok(Arc::new(store))
}

impl Store {
    /// Asks the database one trivial question: is it there?
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: Vec<(i32,)> = db::sql("SELECT 1").all(&self.pool).await?;
        Ok(())
    }

    /// The connection pool: connections open, and of them idle.
    pub fn pool_usage(&self) -> (u32, u32) {
        match &self.pool {
            db::Pool::Postgres(pool) => (pool.size(), pool.num_idle() as u32),
            db::Pool::Sqlite(pool) => (pool.size(), pool.num_idle() as u32),
        }
    }

    /// "postgis" or "sqlite".
    pub fn backend(&self) -> &'static str {
        self.dialect.name()
    }
}

/// Where to look for cases of a category near a new one: open cases (likely duplicates) and,
/// when `closed_since` is given, cases closed since then (what it may recur, 反弹).
#[derive(Debug, Clone)]
pub struct NearProbe {
    pub bbox: BBox,
    pub category: String,
    pub closed_since: Option<OffsetDateTime>,
}

/// A case found near a probe: open, or closed (`closed_at`) and not merged.
#[derive(Debug, Clone, PartialEq)]
pub struct Near {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub grid_code: Option<String>,
    pub responsible_unit: Option<String>,
    pub reported_by: Option<String>,
    /// When it was closed; `None` for an open case.
    pub closed_at: Option<OffsetDateTime>,
    /// The first case of its chain, when it was itself a recurrence.
    pub recurrence_root: Option<i64>,
}

/// A report to store once per `(user id, idempotency key)`, on behalf of `actor`.
#[derive(Debug, Clone)]
pub struct KeyedProblem {
    pub problem: NewProblem,
    pub idempotency: Option<(i64, String)>,
    pub actor: Actor,
}

/// Which cases a walk over [`Store::problems_page`] visits, and how much of each it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Not closed or void, whole.
    Open,
    /// Not closed or void, as the escalation pass needs them: description, candidates, nearby
    /// grids, likely duplicates and extension request left empty.
    OpenWithoutTexts,
}

/// Where the map layers stand against the store (see `app::map_layers`).
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct LayerMarks {
    /// The highest case id: cases above it are new.
    pub last_case: i64,
    /// The highest case event id: a case with an event above it changed.
    pub last_event: i64,
    /// The assessment points' count and last update: when it moves, the points are read again.
    pub points: String,
}

/// Cases per page when walking all of them: big enough to amortise a query, small enough that a
/// page of whole `Problem`s stays a few megabytes.
pub const PAGE: i64 = 2_000;

/// Keyset paging (`WHERE key > after ORDER BY key LIMIT PAGE`): where the next page starts,
/// until a short page ends the walk.
pub struct Keyset<K> {
    after: Option<K>,
}

impl<K: Clone> Keyset<K> {
    pub fn new(start: K) -> Self {
        Self { after: Some(start) }
    }

    /// The key the next page starts after; `None` once the walk is over.
    pub fn next(&self) -> Option<K> {
        self.after.clone()
    }

    /// Records a fetched page.
    pub fn advance<T>(&mut self, page: &[T], key: impl Fn(&T) -> K) {
        self.after = page.last().filter(|_| page.len() as i64 == PAGE).map(key);
    }
}

/// Visits every assessment point, by code, one page in memory at a time.
pub async fn for_each_point(
    store: &Store,
    mut visit: impl FnMut(crate::domain::patrol::StoredPoint),
) -> Result<(), StoreError> {
    let mut pages = Keyset::new(String::new());
    while let Some(after) = pages.next() {
        let page = store.points_page(after, PAGE).await?;
        pages.advance(&page, |p| p.code.clone());
        page.into_iter().for_each(&mut visit);
    }
    Ok(())
}

/// Visits every case `which` selects, by id, one page in memory at a time.
pub async fn for_each_problem(store: &Store, which: Which, mut visit: impl FnMut(Problem)) -> Result<(), StoreError> {
    let mut pages = Keyset::new(0);
    while let Some(after) = pages.next() {
        let page = store.problems_page(after, PAGE, which).await?;
        pages.advance(&page, |p| p.id);
        page.into_iter().for_each(&mut visit);
    }
    Ok(())
}

/// Track batches read at a time by [`for_each_track_chunk`]: a batch holds up to a few thousand
/// fixes, so a page stays a few megabytes whatever the week holds.
const TRACK_PAGE: usize = 64;

/// Visits every track batch with fixes in [from, to), decoded, a page at a time: a city's week
/// (48 million fixes) is never held whole.
pub async fn for_each_track_chunk(
    store: &Store,
    from: i64,
    to: i64,
    mut visit: impl FnMut(crate::domain::patrol::TrackChunk),
) -> Result<(), StoreError> {
    for ids in store.track_chunk_ids(from, to).await?.chunks(TRACK_PAGE) {
        store.track_chunks_by_id(ids).await?.into_iter().for_each(&mut visit);
    }
    Ok(())
}

/// Visits every case as the map draws it, by id, one page in memory at a time.
pub async fn for_each_map_case(
    store: &Store,
    mut visit: impl FnMut(crate::domain::workflow::case::MapCase),
) -> Result<(), StoreError> {
    let mut pages = Keyset::new(0);
    while let Some(after) = pages.next() {
        let page = store.map_cases_page(after, PAGE).await?;
        pages.advance(&page, |p| p.id);
        page.into_iter().for_each(&mut visit);
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Conflict(String),
    #[error("unsupported database URL {0:?}: use postgres://… or sqlite://…")]
    UnsupportedUrl(String),
    /// The database was found away for a batch this request was part of (see `is_unavailable`).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// The database is down, restarting or unreachable (as opposed to refusing the request):
    /// the caller may retry, and nothing was stored.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Protocol(_) => true,
                // PostgreSQL: connection exceptions (08…) and operator intervention (57P…: shutting down, starting up).
                sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
                _ => false,
            },
            _ => false,
        }
    }
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

/// An area's grid codes as a JSON array: both backends take a list parameter that way.
fn codes_json(filter: &AreaFilter) -> Option<String> {
    json_list(&filter.grid_codes)
}

/// How a queue is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Oldest first (creation order).
    #[default]
    Oldest,
    Newest,
    /// Nearest deadline first; cases without one last.
    Deadline,
}

impl Sort {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "created_at" | "id" => Ok(Self::Oldest),
            "-created_at" | "-id" => Ok(Self::Newest),
            "deadline" => Ok(Self::Deadline),
            other => Err(format!("unknown sort {other:?}: use created_at, -created_at or deadline")),
        }
    }
}

/// A dispatcher's queue: filters (all optional, combined with AND), order and page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProblemQuery {
    pub area: AreaFilter,
    pub bbox: Option<BBox>,
    pub statuses: Option<Vec<String>>,
    pub colours: Option<Vec<String>>,
    /// A grid and everything below it.
    pub grid_codes: Option<Vec<String>>,
    pub unit: Option<String>,
    pub department: Option<String>,
    pub category: Option<String>,
    pub source: Option<String>,
    pub created_from: Option<OffsetDateTime>,
    pub created_to: Option<OffsetDateTime>,
    /// Closed in [closed_from, closed_to): the evidence archive's period.
    pub closed_from: Option<OffsetDateTime>,
    pub closed_to: Option<OffsetDateTime>,
    /// Only citizens' closed cases not yet called back (回访).
    pub awaiting_callback: bool,
    pub sort: Sort,
    pub limit: i64,
    pub offset: i64,
}

/// An optional list as a JSON array (both backends take list parameters that way).
fn json_list(list: &Option<Vec<String>>) -> Option<String> {
    list.as_ref().map(|l| json_text(l, "[]"))
}

/// A user to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub scope: Vec<String>,
    pub unit: Option<String>,
}

/// A stored token, without its secret.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub user: String,
    pub label: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub remote: String,
    pub action: String,
    pub object: String,
    pub details: serde_json::Value,
}

/// A step to record with a case change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: OffsetDateTime,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub note: Option<String>,
    pub photo_url: Option<String>,
    pub details: serde_json::Value,
    /// An audit-log entry to write with the step, in the same transaction.
    pub audit: Option<StepAudit>,
}

/// An audit-log entry about a case step (its actor and time are the step's).
#[derive(Debug, Clone, PartialEq)]
pub struct StepAudit {
    pub action: &'static str,
    pub remote: String,
    pub details: serde_json::Value,
}

/// The whole globe, for queries without a bounding box.
pub const WORLD: BBox = BBox { min_lon: -180.0, min_lat: -90.0, max_lon: 180.0, max_lat: 90.0 };

/// Every time leaves the store in UTC, whichever offset it was written with.
pub(crate) fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(time::UtcOffset::UTC)
}

fn parse_role(text: &str) -> Result<Role, StoreError> {
    text.parse().map_err(StoreError::Corrupt)
}

/// A list as the JSON text both backends take list parameters in.
fn json_text<T: serde::Serialize + ?Sized>(value: &T, empty: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| empty.into())
}
