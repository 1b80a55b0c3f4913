//! Vector tiles (`/tiles/{layer}/{z}/{x}/{y}.mvt`) served from memory: grids from the routing
//! index, assessment points and problems from layers kept beside it and rebuilt when the store's
//! layer fingerprint moves. Built tiles are cached per caller's area; ETags let clients revalidate.

use crate::access::{Area, Scope};
use crate::auth::Principal;
use crate::catalog::Snapshot;
use crate::patrol::StoredPoint;
use crate::problem::Problem;
use crate::store::{AreaFilter, Store, StoreError};
use crate::workflow::calendar::WorkingCalendar;
use crate::workflow::case::colour_at;
use crate::workflow::colour::{Colour, Thresholds};
use arc_swap::ArcSwap;
use geo::{BoundingRect, Rect};
use maps::mvt::{self, GeomType, Value};
use maps::tiles::{point_at, TileId, EXTENT};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
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
}

type Boxed = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// Points and problems as the tiles need them, with an R-tree over each.
struct Layers {
    fingerprint: String,
    points: Vec<StoredPoint>,
    point_tree: RTree<Boxed>,
    problems: Vec<Problem>,
    problem_tree: RTree<Boxed>,
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

fn in_box(tree: &RTree<Boxed>, r: Rect<f64>) -> impl Iterator<Item = usize> + '_ {
    let envelope = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
    tree.locate_in_envelope_intersecting(&envelope).map(|b| b.data as usize)
}

/// A built tile: its bytes and the ETag derived from them.
pub struct Tile {
    pub bytes: axum::body::Bytes,
    pub etag: String,
}

#[derive(Hash, PartialEq, Eq)]
struct CacheKey {
    layer: TileLayer,
    tile: TileId,
    /// Hash of the caller's scope and the grid revision: tiles differ per area.
    area: u64,
    /// Grid revision or layer fingerprint hash, and for problems the minute (colours move with time).
    data: u64,
}

/// Tiles kept at most; the cache is emptied when full (tiles are cheap to rebuild).
const CACHE_TILES: usize = 20_000;
/// How often the store's fingerprint is checked while tiles are being asked for.
const CHECK_EVERY: Duration = Duration::from_millis(500);

pub struct TileService {
    layers: ArcSwap<Layers>,
    checked: Mutex<Option<Instant>>,
    rebuilding: tokio::sync::Mutex<()>,
    cache: Mutex<HashMap<CacheKey, Arc<Tile>>>,
}

impl Default for TileService {
    fn default() -> Self {
        Self {
            layers: ArcSwap::from_pointee(Layers::empty()),
            checked: Mutex::new(None),
            rebuilding: tokio::sync::Mutex::new(()),
            cache: Mutex::new(HashMap::new()),
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
    /// Reloads points and problems when the store says they changed (checked at most every
    /// [`CHECK_EVERY`]; one reload at a time, readers keep the previous layers meanwhile).
    async fn fresh_layers(&self, store: &dyn Store) -> Result<Arc<Layers>, StoreError> {
        let due = {
            let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
            let due = checked.is_none_or(|t| t.elapsed() >= CHECK_EVERY);
            if due {
                *checked = Some(Instant::now());
            }
            due
        };
        if due {
            let _one = self.rebuilding.lock().await;
            let fingerprint = store.layer_fingerprint().await?;
            if fingerprint != self.layers.load().fingerprint {
                let layers = load(store, fingerprint).await?;
                tracing::info!(points = layers.points.len(), problems = layers.problems.len(), "tile layers rebuilt");
                self.layers.store(Arc::new(layers));
            }
        }
        Ok(self.layers.load_full())
    }

    /// One tile of one layer as the caller's area shows it. The area is only built when the
    /// tile is not cached already.
    pub async fn tile(
        &self,
        store: &dyn Store,
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
        if let Some(hit) = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(hit.clone());
        }
        let area = &Area::of(principal, snapshot);
        let bytes = match (layer, &layers) {
            (TileLayer::Grids, _) => grids_tile(snapshot, area, tile),
            (TileLayer::Points, Some(l)) => points_tile(l, area, tile),
            (TileLayer::Problems, Some(l)) => problems_tile(l, area, tile, &clock),
            (_, None) => Vec::new(),
        };
        let built = Arc::new(Tile { etag: format!("\"{:016x}\"", hash(&bytes)), bytes: bytes.into() });
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_TILES {
            cache.clear();
        }
        cache.insert(key, built.clone());
        Ok(built)
    }
}

fn hash<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

async fn load(store: &dyn Store, fingerprint: String) -> Result<Layers, StoreError> {
    let points = store.points(None).await?;
    let mut problems = store.problems_in_bbox(None, &AreaFilter::default(), i64::MAX).await?;
    // The tiles draw a case's place and state; the full case is one request away.
    for p in &mut problems {
        p.description = String::new();
        p.nearby = Vec::new();
        p.likely_duplicates = Vec::new();
        p.candidates = Vec::new();
    }
    let point_tree = RTree::bulk_load(
        points.iter().enumerate().filter_map(|(i, p)| Some(boxed(p.geometry.bounding_rect()?, i))).collect(),
    );
    let problem_tree = RTree::bulk_load(
        problems
            .iter()
            .enumerate()
            .map(|(i, p)| boxed(Rect::new(geo::Coord { x: p.lon, y: p.lat }, geo::Coord { x: p.lon, y: p.lat }), i))
            .collect(),
    );
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
        if !area.sees_point(p) {
            continue;
        }
        if let Some((kind, commands)) = tile.geometry_commands(&p.geometry, &shifts) {
            let kind_zh =
                spatial::patrol::POINT_KINDS.iter().find(|(id, _)| *id == p.kind).map(|(_, zh)| Value::from(*zh));
            layer.add(
                Some(i as u64 + 1),
                kind,
                &commands,
                &[
                    ("code", Some(Value::from(p.code.as_str()))),
                    ("name", Some(Value::from(p.name.as_str()))),
                    ("kind", Some(Value::from(p.kind.as_str()))),
                    ("kind_zh", kind_zh),
                    ("required_per_week", Some(Value::Int(i64::from(p.required_per_week)))),
                    ("grid_code", text(&p.grid_code)),
                    ("responsible_unit", text(&p.responsible_unit)),
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
        if !area.sees_problem(p) {
            continue;
        }
        let position = geo::Coord { x: p.lon, y: p.lat };
        let Some(at) = shifts.iter().find_map(|&s| tile.point_position(position, s)) else { continue };
        let colour = colour_at(p, clock.now, clock.calendar, clock.thresholds);
        if tile.z < CLUSTER_BELOW_ZOOM {
            let c = clusters.entry((at.0 / CLUSTER_CELL, at.1 / CLUSTER_CELL)).or_insert(Cluster {
                count: 0,
                open: 0,
                worst: Colour::None,
                sum: (0, 0),
            });
            c.count += 1;
            c.open += i64::from(!matches!(p.status.as_str(), "closed" | "void"));
            c.worst = c.worst.max(colour);
            c.sum = (c.sum.0 + i64::from(at.0), c.sum.1 + i64::from(at.1));
            continue;
        }
        let deadline = p.case.deadline.and_then(|d| d.format(&Rfc3339).ok()).map(Value::from);
        layer.add(
            u64::try_from(p.id).ok(),
            GeomType::Point,
            &point_at(at),
            &[
                ("id", Some(Value::Int(p.id))),
                ("status", Some(Value::from(p.status.as_str()))),
                ("colour", Some(Value::from(colour.as_str()))),
                ("category", Some(Value::from(p.category.as_str()))),
                ("category_name", p.class.as_ref().map(|c| Value::from(c.category_name.as_str()))),
                ("grid_code", text(&p.grid_code)),
                ("responsible_unit", text(&p.responsible_unit)),
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
