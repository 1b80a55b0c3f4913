//! Vector tiles (`/tiles/{layer}/{z}/{x}/{y}.mvt`) served from memory: grids from the routing
//! index, assessment points and problems from layers kept beside it and rebuilt when the store's
//! layer fingerprint moves. Built tiles are cached per caller's area; ETags let clients revalidate.

use crate::app::metrics::METRICS;
use crate::domain::access::{Area, Scope};
use crate::domain::auth::Principal;
use crate::domain::grids::Snapshot;
use crate::domain::patrol::StoredPoint;
use crate::domain::problem::Problem;
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::domain::workflow::case::CaseClock;
use crate::domain::workflow::colour::{Colour, Thresholds};
use crate::store::{for_each_point, for_each_problem, Store, StoreError, Which};
use arc_swap::ArcSwap;
use geo::{BoundingRect, Rect};
use maps::mvt::{self, GeomType, Value};
use maps::tiles::{point_at, TileId, EXTENT};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, RTreeObject, AABB};
use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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

type Boxed = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// A case as a tile draws it: place, state and colour clock, with the repeated texts shared
/// (a city has a million cases but only thousands of grids, units and categories).
struct CaseMark {
    id: i64,
    lon: f64,
    lat: f64,
    status: crate::domain::workflow::state::State,
    category: Arc<str>,
    category_name: Option<Arc<str>>,
    grid_code: Option<Arc<str>>,
    responsible_unit: Option<Arc<str>>,
    reported_by: Option<Arc<str>>,
    clock: CaseClock,
}

/// Hands out one shared copy of each distinct text.
#[derive(Default)]
struct Interner(HashMap<String, Arc<str>>);

impl Interner {
    fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(text);
        self.0.insert(text.to_string(), shared.clone());
        shared
    }

    fn point(&mut self, p: StoredPoint) -> PointMark {
        PointMark {
            code: p.code.into(),
            name: p.name.into(),
            kind: self.get(&p.kind),
            geometry: p.geometry,
            required_per_week: p.required_per_week,
            grid_code: p.grid_code.as_deref().map(|t| self.get(t)),
            grids: p.grids.iter().map(|t| self.get(t)).collect(),
            responsible_unit: p.responsible_unit.as_deref().map(|t| self.get(t)),
        }
    }

    fn mark(&mut self, p: &Problem) -> CaseMark {
        CaseMark {
            id: p.id,
            lon: p.lon,
            lat: p.lat,
            status: p.status,
            category: self.get(&p.category),
            category_name: p.class.as_ref().map(|c| self.get(&c.category_name)),
            grid_code: p.grid_code.as_deref().map(|t| self.get(t)),
            responsible_unit: p.responsible_unit.as_deref().map(|t| self.get(t)),
            reported_by: p.reported_by.as_deref().map(|t| self.get(t)),
            clock: CaseClock::of(p),
        }
    }
}

/// An assessment point as a tile draws it (its checklist is one request away).
struct PointMark {
    code: Box<str>,
    name: Box<str>,
    kind: Arc<str>,
    geometry: geo::Geometry<f64>,
    required_per_week: u8,
    grid_code: Option<Arc<str>>,
    /// Every grid it touches: a caller whose area holds any of them sees it.
    grids: Box<[Arc<str>]>,
    responsible_unit: Option<Arc<str>>,
}

impl PointMark {
    fn seen_by(&self, area: &Area) -> bool {
        area.sees(self.grid_code.as_deref(), self.responsible_unit.as_deref(), None)
            || self.grids.iter().any(|g| area.sees(Some(g), None, None))
    }
}

/// Points and problems as the tiles need them, with an R-tree over each.
struct Layers {
    fingerprint: String,
    points: Vec<PointMark>,
    point_tree: RTree<Boxed>,
    problems: Vec<CaseMark>,
    problem_tree: RTree<Placed>,
}

impl Layers {
    fn empty() -> Self {
        Self {
            fingerprint: String::new(),
            points: Vec::new(),
            point_tree: RTree::new(),
            problems: Vec::new(),
            problem_tree: RTree::new(),
        }
    }
}

fn boxed(r: Rect<f64>, i: usize) -> Boxed {
    GeomWithData::new(Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]), i as u32)
}

/// A case's place in the problem tree: a point is half a box's size, and there are a million.
type Placed = GeomWithData<[f64; 2], u32>;

fn in_box<G: RTreeObject<Envelope = AABB<[f64; 2]>>>(
    tree: &RTree<GeomWithData<G, u32>>,
    r: Rect<f64>,
) -> impl Iterator<Item = usize> + '_ {
    let envelope = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
    tree.locate_in_envelope_intersecting(&envelope).map(|b| b.data as usize)
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
/// How often the store's fingerprint is checked while tiles are being asked for.
const CHECK_EVERY: Duration = Duration::from_millis(500);

pub struct TileService {
    layers: Arc<ArcSwap<Layers>>,
    checked: Mutex<Option<Instant>>,
    /// Set when this process committed a change the layers show (see [`TileService::changed`]).
    changed: std::sync::atomic::AtomicBool,
    rebuilding: Arc<tokio::sync::Mutex<()>>,
    cache: TileCache,
}

impl Default for TileService {
    fn default() -> Self {
        Self {
            layers: Arc::new(ArcSwap::from_pointee(Layers::empty())),
            checked: Mutex::new(None),
            changed: std::sync::atomic::AtomicBool::new(false),
            rebuilding: Arc::new(tokio::sync::Mutex::new(())),
            cache: tile_cache(),
        }
    }
}

/// What a problem tile needs to colour a case at the moment it is drawn.
pub struct Clocked<'a> {
    pub now: OffsetDateTime,
    pub calendar: &'a WorkingCalendar,
    pub thresholds: &'a Thresholds,
}

impl TileService {
    /// Says that a change the layers show (a case stored or changed, a point written) was
    /// committed by this process: the next tile reloads the layers before it is drawn, so a tile
    /// asked for after a write shows it. Changes made elsewhere (imports, other nodes) are seen by
    /// the fingerprint, checked every [`CHECK_EVERY`].
    pub fn changed(&self) {
        self.changed.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Reloads points and problems when this process changed them, or when the store says they
    /// changed (checked at most every [`CHECK_EVERY`]); one reload at a time, readers keep the
    /// previous layers meanwhile.
    async fn fresh_layers(&self, store: &Arc<Store>) -> Result<Arc<Layers>, StoreError> {
        // A change committed here forces a reload even if the fingerprint did not move: on
        // PostgreSQL a transaction holding a lower id can commit after one holding a higher id.
        let forced = self.changed.swap(false, std::sync::atomic::Ordering::SeqCst);
        let due = forced || {
            let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
            let due = checked.is_none_or(|t| t.elapsed() >= CHECK_EVERY);
            if due {
                *checked = Some(Instant::now());
            }
            due
        };
        // Never built yet (the server just started): wait for the build rather than draw nothing.
        if due || self.layers.load().fingerprint.is_empty() {
            // Waiting here for a build that began before the change, then building again.
            let one = self.rebuilding.clone().lock_owned().await;
            let fingerprint = store.layer_fingerprint().await?;
            if forced || fingerprint != self.layers.load().fingerprint {
                // A big city's layers take longer than a request may: the build runs on its own,
                // so a request that gives up does not throw the half-built layers away.
                let (store, slot) = (store.clone(), self.layers.clone());
                let build = tokio::spawn(async move {
                    let _one = one;
                    let layers = load(&store, fingerprint).await?;
                    tracing::info!(
                        points = layers.points.len(),
                        problems = layers.problems.len(),
                        "tile layers rebuilt"
                    );
                    slot.store(Arc::new(layers));
                    Ok::<(), StoreError>(())
                });
                build.await.map_err(|e| StoreError::Corrupt(format!("building the tile layers failed: {e}")))??;
            }
        }
        Ok(self.layers.load_full())
    }

    /// The tile cache's bytes and tiles.
    pub fn cache_usage(&self) -> (u64, usize) {
        (self.cache.weight(), self.cache.len())
    }

    /// Builds the point and problem layers ahead of the first map: a big city's take longer
    /// than a request may wait.
    pub async fn warm(&self, store: &Arc<Store>) {
        if let Err(e) = self.fresh_layers(store).await {
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
            _ => Some(self.fresh_layers(store).await?),
        };
        let data = match (&layers, layer) {
            (None, _) => hash(&snapshot.revision),
            (Some(l), TileLayer::Problems) => hash(&(&l.fingerprint, clock.now.unix_timestamp() / 60)),
            (Some(l), _) => hash(&l.fingerprint),
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

async fn load(store: &Store, fingerprint: String) -> Result<Layers, StoreError> {
    let mut texts = Interner::default();
    let mut points = Vec::new();
    for_each_point(store, |p| points.push(texts.point(p))).await?;
    points.shrink_to_fit();
    // Walked page by page: whole `Problem`s for a million cases would take gigabytes.
    let mut problems = Vec::with_capacity(usize::try_from(store.count_problems().await?).unwrap_or(0));
    for_each_problem(store, Which::AllOnMap, |p| problems.push(texts.mark(&p))).await?;
    let point_tree = RTree::bulk_load(
        points.iter().enumerate().filter_map(|(i, p)| Some(boxed(p.geometry.bounding_rect()?, i))).collect(),
    );
    let problem_tree =
        RTree::bulk_load(problems.iter().enumerate().map(|(i, p)| Placed::new([p.lon, p.lat], i as u32)).collect());
    Ok(Layers { fingerprint, points, point_tree, problems, problem_tree })
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
    for (i, shifts) in tile.candidates(|rect| in_box(&layers.point_tree, rect)) {
        let p = &layers.points[i];
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
    for (i, shifts) in tile.candidates(|rect| in_box(&layers.problem_tree, rect)) {
        let p = &layers.problems[i];
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
