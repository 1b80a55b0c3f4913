//! Patrol records as stored: assessment points with their routing, planned routes, GPS track
//! batches and inspections (check-ins).

use crate::domain::grids::Snapshot;
use serde::Serialize;
use spatial::patrol::{place, AssessmentPoint, Criterion};
use spatial::track::RawFix;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// An assessment point (测评点位) routed to its grid.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPoint {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub geometry: geo::Geometry<f64>,
    pub criteria: Vec<Criterion>,
    pub required_per_week: u8,
    /// The grid holding the largest share of it.
    pub grid_code: Option<String>,
    /// Every grid it touches.
    pub grids: Vec<String>,
    pub responsible_unit: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl StoredPoint {
    /// Same content, whatever the timestamps say.
    pub fn same_as(&self, other: &StoredPoint) -> bool {
        let strip = |p: &StoredPoint| StoredPoint {
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
            ..p.clone()
        };
        strip(self) == strip(other)
    }
}

/// Routes a point to its grid: the grid holding most of it, and the unit answering for it
/// (the one given, else the grid's).
pub fn placed(snapshot: &Snapshot, p: AssessmentPoint, now: OffsetDateTime) -> StoredPoint {
    let placement = place(&snapshot.index, &p.geometry);
    let entries = snapshot.index.entries();
    let grid = placement.grid.map(|g| &entries[g]);
    StoredPoint {
        code: p.code,
        name: p.name,
        kind: p.kind.to_string(),
        responsible_unit: p.unit.or_else(|| grid.and_then(|g| g.payload.responsible_unit.clone())),
        grid_code: grid.map(|g| g.code.clone()),
        grids: placement.touched.iter().map(|&g| entries[g].code.clone()).collect(),
        geometry: p.geometry,
        criteria: p.criteria,
        required_per_week: p.required_per_week,
        created_at: now,
        updated_at: now,
    }
}

/// Routes many points: import, the API and the demo share it.
pub fn place_points(snapshot: &Snapshot, points: Vec<AssessmentPoint>, now: OffsetDateTime) -> Vec<StoredPoint> {
    points.into_iter().map(|p| placed(snapshot, p, now)).collect()
}

/// A planned route (巡查路线): one officer, one weekday.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRoute {
    pub id: i64,
    pub officer: String,
    pub weekday: u8,
    pub name: Option<String>,
    pub line: geo::LineString<f64>,
}

/// One batch of an officer's fixes, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackChunk {
    pub id: i64,
    pub officer: String,
    pub fixes: Vec<RawFix>,
}

/// One line of a point's checklist (测评标准) as the API documents it: `spatial::patrol::Criterion`,
/// which stays free of the API's schema crate.
#[derive(utoipa::ToSchema)]
#[schema(as = Criterion)]
#[allow(dead_code)]
pub struct CriterionSchema {
    id: String,
    text: String,
    /// Points it is worth (default 1).
    #[schema(exclusive_minimum = 0)]
    weight: Option<f64>,
    /// Catalogue code or name of the problem a failure opens.
    category: Option<String>,
}

/// Pass or fail for one criterion at a check-in.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CriterionResult {
    pub criterion: String,
    pub pass: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A check-in at an assessment point (检查记录).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Inspection {
    pub id: i64,
    pub point_code: String,
    pub officer: String,
    /// When it happened, Unix seconds.
    #[serde(skip)]
    #[schema(ignore)]
    pub at: i64,
    pub results: Vec<CriterionResult>,
    pub note: String,
    pub photos: Vec<String>,
    /// The problem each failed criterion opened, by criterion id.
    pub problems: BTreeMap<String, i64>,
}

/// One message of a streamed point upsert: a batch of points, or the word to keep them all.
/// A stream that ends without [`PointBatch::Commit`] (the file had faults, or its reader
/// stopped) keeps nothing.
#[derive(Debug)]
pub enum PointBatch {
    Points(Vec<StoredPoint>),
    Commit,
}

/// The counts an upsert reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpsertSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}
