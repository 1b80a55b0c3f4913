//! Vector tiles (`/tiles/{layer}/{z}/{x}/{y}.mvt`) served from memory: grids from the routing
//! index, assessment points and problems from the map layers kept up to date beside it
//! ([`crate::app::map_layers`]). Built tiles are cached per caller's area; ETags let clients
//! revalidate.

use crate::app::map_layers::{Layers, LiveLayers};
use crate::app::metrics::METRICS;
use crate::domain::access::{Area, Scope};
use crate::domain::auth::Principal;
use crate::domain::grids::Snapshot;
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::domain::workflow::colour::{Colour, Thresholds};
use crate::store::{Store, StoreError};
use maps::mvt::{self, GeomType, Value};
use maps::tiles::{point_at, TileId, EXTENT};
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The tiled layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileLayer {
    Grids,
    Points,
    Problems,
}

impl TileLayer {
    pub const ALL: [TileLayer; 3] = [TileLayer::Grids, TileLayer::Points, TileLayer::Problems];

    pub fn name(self) -> &'static str {
        match self {
            TileLayer::Grids => "grids",
            TileLayer::Points => "points",
            TileLayer::Problems => "problems",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == s)
    }

    /// What the layer is, for its TileJSON.
    pub fn description(self) -> &'static str {
        match self {
            TileLayer::Grids => "Responsibility grids (网格) of every level, as the caller's area shows them",
            TileLayer::Points => "Assessment points (测评点位) in the caller's area",
            TileLayer::Problems => {
                "Open problems (cases) with their status and colour; below zoom 14, clusters with count, open and the worst colour"
            }
        }
    }

    /// The attributes its features carry, and what each holds (the tile writers below set them).
    pub fn fields(self) -> &'static [(&'static str, &'static str)] {
        match self {
            TileLayer::Grids => &[
                ("code", "String: the grid code"),
                ("name", "String"),
                ("level", "String: district, street, community or grid"),
                ("officer", "String: the grid officer (网格员)"),
                ("responsible_unit", "String: 责任单位"),
            ],
            TileLayer::Points => &[
                ("code", "String: the point code"),
                ("name", "String"),
                ("kind", "String: the point type"),
                ("kind_zh", "String: the point type in Chinese"),
                ("required_per_week", "Number: inspections due each week"),
                ("grid_code", "String"),
                ("responsible_unit", "String"),
            ],
            TileLayer::Problems => &[
                ("id", "Number: the case id"),
                ("status", "String: the workflow state"),
                ("colour", "String: none, blue, yellow or red (三色督办)"),
                ("category", "String: the catalogue code"),
                ("category_name", "String"),
                ("grid_code", "String"),
                ("responsible_unit", "String"),
                ("deadline", "String: RFC 3339"),
                ("count", "Number: cases in a cluster (below zoom 14)"),
                ("open", "Number: open cases in a cluster (below zoom 14)"),
            ],
        }
    }
}

/// A built tile: its bytes and the ETag derived from them.
pub struct Tile {
    pub bytes: axum::body::Bytes,
    pub etag: String,
}

#[derive(Hash, PartialEq, Eq, Clone)]
struct CacheKey {
    layer: TileLayer,
    tile: TileId,
    /// Hash of the caller's scope and the grid revision: tiles differ per area.
    area: u64,
    /// Grid revision or layer fingerprint hash, and for problems the minute (colours move with time).
    data: u64,
}

/// The tile cache holds about this many tiles, and at most this many bytes of them; when full it
/// evicts the least used (quick_cache's CLOCK-PRO), so the tiles a city's maps keep asking for stay.
const CACHE_TILES: usize = 20_000;
const CACHE_BYTES: u64 = 64 << 20;

/// A tile costs the cache its bytes (and a little for its key and ETag).
#[derive(Clone)]
struct TileWeight;

impl quick_cache::Weighter<CacheKey, Arc<Tile>> for TileWeight {
    fn weight(&self, _key: &CacheKey, tile: &Arc<Tile>) -> u64 {
        tile.bytes.len() as u64 + 64
    }
}

type TileCache = quick_cache::sync::Cache<CacheKey, Arc<Tile>, TileWeight>;

fn tile_cache() -> TileCache {
    TileCache::with_weighter(CACHE_TILES, CACHE_BYTES, TileWeight)
}
pub struct TileService {
    layers: LiveLayers,
    cache: TileCache,
}

impl Default for TileService {
    fn default() -> Self {
        Self { layers: LiveLayers::default(), cache: tile_cache() }
    }
}

/// What a problem tile needs to colour a case at the moment it is drawn.
pub struct Clocked<'a> {
    pub now: OffsetDateTime,
    pub calendar: &'a WorkingCalendar,
    pub thresholds: &'a Thresholds,
}

impl TileService {
    /// Says that these cases were stored or changed by a commit: the next tile shows them.
    pub fn cases_changed(&self, ids: impl IntoIterator<Item = i64>) {
        self.layers.cases_changed(ids);
    }

    /// Says that assessment points were written: the next tile shows them.
    pub fn points_changed(&self) {
        self.layers.points_changed();
    }

    /// Says that changes may have been missed: the next tile reads the layers whole.
    pub fn everything_changed(&self) {
        self.layers.everything_changed();
    }

    /// The tile cache's bytes and tiles.
    pub fn cache_usage(&self) -> (u64, usize) {
        (self.cache.weight(), self.cache.len())
    }

    /// Builds the point and problem layers ahead of the first map: a big city's take longer
    /// than a request may wait.
    pub async fn warm(&self, store: &Arc<Store>) {
        if let Err(e) = self.layers.fresh(store).await {
            tracing::warn!(error = %e, "building the tile layers at start failed; the first tile will retry");
        }
    }

    /// One tile of one layer as the caller's area shows it. The area is only built when the
    /// tile is not cached already.
    pub async fn tile(
        &self,
        store: &Arc<Store>,
        snapshot: &Snapshot,
        principal: &Principal,
        layer: TileLayer,
        tile: TileId,
        clock: Clocked<'_>,
    ) -> Result<Arc<Tile>, StoreError> {
        let layers = match layer {
            TileLayer::Grids => None,
            _ => Some(self.layers.fresh(store).await?),
        };
        let data = match (&layers, layer) {
            (None, _) => hash(&snapshot.revision),
            (Some(l), TileLayer::Problems) => hash(&(l.cases_version, clock.now.unix_timestamp() / 60)),
            (Some(l), _) => hash(&l.points_version),
        };
        // The area a scope expands to follows the grid hierarchy, hence the revision.
        let key = CacheKey { layer, tile, area: hash(&(Scope::of(principal), snapshot.revision)), data };
        if let Some(hit) = self.cache.get(&key) {
            METRICS.tile_hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Ok(hit);
        }
        METRICS.tile_misses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let area = &Area::of(principal, snapshot);
        let bytes = match (layer, &layers) {
            (TileLayer::Grids, _) => grids_tile(snapshot, area, tile),
            (TileLayer::Points, Some(l)) => points_tile(l, area, tile),
            (TileLayer::Problems, Some(l)) => problems_tile(l, area, tile, &clock),
            (_, None) => Vec::new(),
        };
        let built = Arc::new(Tile { etag: format!("\"{:016x}\"", hash(&bytes)), bytes: bytes.into() });
        self.cache.insert(key, built.clone());
        Ok(built)
    }
}

fn hash<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

fn text(v: &Option<String>) -> Option<Value> {
    v.as_deref().map(Value::from)
}

fn grids_tile(snapshot: &Snapshot, area: &Area, tile: TileId) -> Vec<u8> {
    let mut layer = mvt::Layer::new("grids", EXTENT);
    for (i, shifts) in tile.candidates(|rect| snapshot.index.intersecting(rect)) {
        let e = &snapshot.index.entries()[i];
        if !area.sees(Some(&e.code), e.payload.responsible_unit.as_deref(), None) {
            continue;
        }
        if let Some(commands) = tile.polygon_commands(&e.geometry, &shifts) {
            let level = snapshot.grids.get(&e.code).and_then(|m| m.level).map(|l| Value::from(l.to_string()));
            layer.add(
                Some(i as u64 + 1),
                GeomType::Polygon,
                &commands,
                &[
                    ("code", Some(Value::from(e.code.as_str()))),
                    ("name", text(&e.payload.name)),
                    ("level", level),
                    ("officer", text(&e.payload.officer)),
                    ("responsible_unit", text(&e.payload.responsible_unit)),
                ],
            );
        }
    }
    mvt::encode_tile(&[layer])
}

fn points_tile(layers: &Layers, area: &Area, tile: TileId) -> Vec<u8> {
    let mut layer = mvt::Layer::new("points", EXTENT);
    for (i, shifts) in tile.candidates(|rect| layers.points.in_box(rect)) {
        let p = &layers.points.marks[i];
        if !p.seen_by(area) {
            continue;
        }
        if let Some((kind, commands)) = tile.geometry_commands(&p.geometry, &shifts) {
            let kind_zh =
                spatial::patrol::POINT_KINDS.iter().find(|(id, _)| *id == &*p.kind).map(|(_, zh)| Value::from(*zh));
            layer.add(
                Some(i as u64 + 1),
                kind,
                &commands,
                &[
                    ("code", Some(Value::from(&*p.code))),
                    ("name", Some(Value::from(&*p.name))),
                    ("kind", Some(Value::from(&*p.kind))),
                    ("kind_zh", kind_zh),
                    ("required_per_week", Some(Value::Int(i64::from(p.required_per_week)))),
                    ("grid_code", p.grid_code.as_deref().map(Value::from)),
                    ("responsible_unit", p.responsible_unit.as_deref().map(Value::from)),
                ],
            );
        }
    }
    mvt::encode_tile(&[layer])
}

/// Below this zoom, problems are drawn as clusters: a city's 100,000 cases would otherwise make
/// megabyte tiles that no phone draws smoothly.
pub const CLUSTER_BELOW_ZOOM: u8 = 14;
/// Cluster cell size in tile units (4096 across a tile): 8 screen pixels.
const CLUSTER_CELL: i32 = 64;

/// One cluster of problems: how many, the worst colour, and where (their mean position).
struct Cluster {
    count: i64,
    open: i64,
    worst: Colour,
    sum: (i64, i64),
}

fn problems_tile(layers: &Layers, area: &Area, tile: TileId, clock: &Clocked<'_>) -> Vec<u8> {
    let mut layer = mvt::Layer::new("problems", EXTENT);
    let mut clusters: BTreeMap<(i32, i32), Cluster> = BTreeMap::new();
    for (i, shifts) in tile.candidates(|rect| layers.cases.in_box(rect)) {
        let p = layers.cases.get(i);
        if !area.sees(p.grid_code.as_deref(), p.responsible_unit.as_deref(), p.reported_by.as_deref()) {
            continue;
        }
        let position = geo::Coord { x: p.lon, y: p.lat };
        let Some(at) = shifts.iter().find_map(|&s| tile.point_position(position, s)) else { continue };
        let colour = p.clock.colour_at(clock.now, clock.calendar, clock.thresholds);
        if tile.z < CLUSTER_BELOW_ZOOM {
            let c = clusters.entry((at.0 / CLUSTER_CELL, at.1 / CLUSTER_CELL)).or_insert(Cluster {
                count: 0,
                open: 0,
                worst: Colour::None,
                sum: (0, 0),
            });
            c.count += 1;
            c.open += i64::from(p.status.is_open());
            c.worst = c.worst.max(colour);
            c.sum = (c.sum.0 + i64::from(at.0), c.sum.1 + i64::from(at.1));
            continue;
        }
        let deadline = p.clock.deadline.and_then(|d| d.format(&Rfc3339).ok()).map(Value::from);
        layer.add(
            u64::try_from(p.id).ok(),
            GeomType::Point,
            &point_at(at),
            &[
                ("id", Some(Value::Int(p.id))),
                ("status", Some(Value::from(p.status.as_str()))),
                ("colour", Some(Value::from(colour.as_str()))),
                ("category", Some(Value::from(&*p.category))),
                ("category_name", p.category_name.as_deref().map(Value::from)),
                ("grid_code", p.grid_code.as_deref().map(Value::from)),
                ("responsible_unit", p.responsible_unit.as_deref().map(Value::from)),
                ("deadline", deadline),
            ],
        );
    }
    for c in clusters.values() {
        let centre = ((c.sum.0 / c.count) as i32, (c.sum.1 / c.count) as i32);
        layer.add(
            None,
            GeomType::Point,
            &point_at(centre),
            &[
                ("count", Some(Value::Int(c.count))),
                ("open", Some(Value::Int(c.open))),
                ("colour", Some(Value::from(c.worst.as_str()))),
            ],
        );
    }
    mvt::encode_tile(&[layer])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(x: u32) -> CacheKey {
        CacheKey { layer: TileLayer::Points, tile: TileId { z: 18, x, y: 0 }, area: 0, data: 0 }
    }

    #[test]
    fn the_tile_cache_keeps_the_tiles_in_use_and_stays_within_its_bytes() {
        let cache = tile_cache();
        let tile = |n: usize| Arc::new(Tile { bytes: vec![7u8; n].into(), etag: String::new() });
        cache.insert(key(0), tile(1000));
        // A map keeps asking for tile 0 while 100,000 others pass through once each.
        for x in 1..100_000 {
            cache.insert(key(x), tile(1000));
            assert!(cache.get(&key(0)).is_some(), "the tile in use was evicted after {x} others");
        }
        assert!(cache.weight() <= CACHE_BYTES, "{} bytes held", cache.weight());
        assert!(cache.len() < 100_000, "old tiles were evicted");
    }
}
