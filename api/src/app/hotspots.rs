//! Hot spots and stubborn points (热点与顽固点位) over a period: where the cases reported in it
//! gather, per responsibility grid or per square cell, as GeoJSON and vector tiles, and the
//! chains of recurrences (反弹) the office hits harder.

use crate::domain::grids::Snapshot;
use crate::domain::hotspots::{per_cell, per_grid, Cells, HotCase, HotCount, HotspotBy};
use crate::domain::problem::Problem;
use crate::domain::workflow::state::State;
use crate::store::{AreaFilter, Store, StoreError};
use maps::mvt::{self, GeomType, Value};
use maps::tiles::{TileId, EXTENT};
use serde::Serialize;
use time::OffsetDateTime;

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
