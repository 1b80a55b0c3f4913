//! Hot spots and stubborn points (热点与顽固点位) over a period: where the cases reported in it
//! gather, per responsibility grid or per square cell, as GeoJSON and vector tiles, and the
//! chains of recurrences (反弹) the office hits harder.

use crate::domain::grids::Snapshot;
use crate::domain::hotspots::{
    per_cell, per_grid, recurrence_of, Cells, ClosedNear, HotCase, HotCount, HotspotBy, RecurrenceRule,
};
use crate::domain::problem::{NewProblem, Problem};
use crate::domain::workflow::state::State;
use crate::store::{AreaFilter, BBox, Near, NearProbe, Store, StoreError};
use maps::mvt::{self, GeomType, Value};
use maps::tiles::{TileId, EXTENT};
use serde::Serialize;
use time::OffsetDateTime;

/// Where to look for cases of a new case's category within `radius` metres of it: open ones
/// and, from `closed_since`, closed ones.
pub fn near_probe(p: &NewProblem, radius: f64, closed_since: Option<OffsetDateTime>) -> NearProbe {
    let (per_lat, per_lon) = spatial::geodesy::metres_per_degree(p.lat);
    let (dx, dy) = (radius / per_lon.max(1e-9), radius / per_lat);
    NearProbe {
        bbox: BBox { min_lon: p.lon - dx, min_lat: p.lat - dy, max_lon: p.lon + dx, max_lat: p.lat + dy },
        category: p.category.clone(),
        closed_since,
    }
}

/// Sets what a new case recurs (反弹) from the cases found near it (the closed ones count),
/// unless it says so already.
pub fn recur(p: &mut NewProblem, near: &[Near], rule: RecurrenceRule) {
    if p.recurrence.is_some() || !rule.is_on() {
        return;
    }
    let closed: Vec<ClosedNear> = near
        .iter()
        .filter_map(|n| {
            Some(ClosedNear {
                id: n.id,
                lon: n.lon,
                lat: n.lat,
                closed_at: n.closed_at?,
                responsible_unit: n.responsible_unit.clone(),
                root: n.recurrence_root,
            })
        })
        .collect();
    p.recurrence = recurrence_of(p.lon, p.lat, p.created_at, &closed, rule);
}

/// Links each new case to the recently closed case of its category it follows, if any (反弹),
/// with one search for all of them.
pub async fn link_recurrences(
    store: &Store,
    mut cases: Vec<&mut NewProblem>,
    rule: RecurrenceRule,
) -> Result<(), StoreError> {
    if !rule.is_on() || cases.is_empty() {
        return Ok(());
    }
    let probes: Vec<NearProbe> =
        cases.iter().map(|p| near_probe(p, rule.metres, Some(rule.since(p.created_at)))).collect();
    let near = store.near(&probes).await?;
    for (p, found) in cases.iter_mut().zip(near) {
        recur(p, &found, rule);
    }
    Ok(())
}

/// [`link_recurrences`] as the hint it is: a failed search is logged and the cases are stored
/// without it — unless the database is away, which the caller hears.
pub async fn hint_recurrences(
    store: &Store,
    cases: Vec<&mut NewProblem>,
    rule: RecurrenceRule,
) -> Result<(), StoreError> {
    match link_recurrences(store, cases, rule).await {
        Err(e) if !e.is_unavailable() => {
            tracing::warn!(error = %e, "the recurrence search failed; storing without it");
            Ok(())
        }
        done => done,
    }
}

/// Cells are at least this wide (metres): finer would draw single cases, not hot spots.
pub const MIN_CELL_M: f64 = 50.0;
pub const MAX_CELL_M: f64 = 5_000.0;

/// Which cases a hot-spot map counts.
#[derive(Debug, Clone, PartialEq)]
pub struct HotspotQuery {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub by: HotspotBy,
    pub cell_m: f64,
    /// Only this catalogue category.
    pub category: Option<String>,
}

/// The cases reported in the query's period within `area` (void ones and merged duplicates
/// left out: not found, or the same thing twice).
pub async fn load(store: &Store, area: &AreaFilter, q: &HotspotQuery) -> Result<Vec<HotCase>, StoreError> {
    let cases = store.created_between(q.from, q.to, area).await?;
    Ok(cases
        .into_iter()
        .filter(|p| p.status != State::Void && p.case.merged_into.is_none())
        .filter(|p| q.category.as_ref().is_none_or(|c| &p.category == c))
        .map(hot_case)
        .collect())
}

fn hot_case(p: Problem) -> HotCase {
    HotCase {
        id: p.id,
        lon: p.lon,
        lat: p.lat,
        open: p.status.is_open(),
        category_name: p.class.map(|c| c.category_name),
        category: p.category,
        grid_code: p.grid_code,
        responsible_unit: p.responsible_unit,
        created_at: p.created_at,
        recurrence: p.recurrence,
    }
}

/// The cells of a hot-spot map: measured at the latitude of the city's grids.
pub fn cells(snapshot: &Snapshot, size_m: f64) -> Cells {
    let reference = snapshot.index.bounds().map_or(0.0, |b| b.center().y);
    Cells::new(size_m, reference)
}

/// What each hot spot carries (GeoJSON properties; the tiles carry the same).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HotspotProperties {
    /// The grid code, or the cell as `column,row`.
    pub key: String,
    pub name: Option<String>,
    pub responsible_unit: Option<String>,
    #[serde(flatten)]
    pub count: HotCount,
}

/// One hot spot: its outline and what it counts.
pub struct Hotspot {
    pub geometry: geo::MultiPolygon<f64>,
    pub properties: HotspotProperties,
}

/// The hot spots of `cases`, most cases first (grids routed to none are left out).
pub fn hotspots(cases: &[HotCase], by: HotspotBy, cells: &Cells, snapshot: &Snapshot) -> Vec<Hotspot> {
    let mut spots: Vec<Hotspot> = match by {
        HotspotBy::Grid => {
            let counts = per_grid(cases);
            snapshot
                .index
                .entries()
                .iter()
                .filter_map(|e| {
                    let count = counts.get(&e.code)?.clone();
                    Some(Hotspot {
                        geometry: e.geometry.clone(),
                        properties: HotspotProperties {
                            key: e.code.clone(),
                            name: e.payload.name.clone(),
                            responsible_unit: e.payload.responsible_unit.clone(),
                            count,
                        },
                    })
                })
                .collect()
        }
        HotspotBy::Cell => per_cell(cases, cells)
            .into_iter()
            .map(|(cell, count)| {
                let [w, s, e, n] = cells.bounds(cell);
                let ring = geo::LineString::from(vec![(w, s), (e, s), (e, n), (w, n), (w, s)]);
                Hotspot {
                    geometry: geo::MultiPolygon(vec![geo::Polygon::new(ring, vec![])]),
                    properties: HotspotProperties {
                        key: format!("{},{}", cell.0, cell.1),
                        name: None,
                        responsible_unit: None,
                        count,
                    },
                }
            })
            .collect(),
    };
    spots.sort_by(|a, b| {
        b.properties.count.cases.cmp(&a.properties.count.cases).then(a.properties.key.cmp(&b.properties.key))
    });
    spots
}

/// The hot spots as one Mapbox Vector Tile (layer `hotspots`).
pub fn tile(spots: &[Hotspot], tile: TileId) -> Vec<u8> {
    use geo::BoundingRect;
    let mut layer = mvt::Layer::new("hotspots", EXTENT);
    let boxes: Vec<Option<geo::Rect<f64>>> = spots.iter().map(|s| s.geometry.bounding_rect()).collect();
    let found = tile.candidates(|rect| {
        boxes
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_some_and(|b| geo::Intersects::intersects(&b, &rect)))
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    });
    for (i, shifts) in found {
        let spot = &spots[i];
        if let Some(commands) = tile.polygon_commands(&spot.geometry, &shifts) {
            let p = &spot.properties;
            let text = |v: &Option<String>| v.as_deref().map(Value::from);
            layer.add(
                Some(i as u64 + 1),
                GeomType::Polygon,
                &commands,
                &[
                    ("key", Some(Value::from(p.key.as_str()))),
                    ("name", text(&p.name)),
                    ("responsible_unit", text(&p.responsible_unit)),
                    ("cases", Some(Value::from(i64::from(p.count.cases)))),
                    ("open", Some(Value::from(i64::from(p.count.open)))),
                    ("recurrences", Some(Value::from(i64::from(p.count.recurrences)))),
                ],
            );
        }
    }
    mvt::encode_tile(&[layer])
}
