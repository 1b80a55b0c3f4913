//! The assessment points and cases the vector tiles draw, held in memory with an R-tree over
//! each and kept up to date with the store.
//!
//! Points (thousands, seldom changed) are read again whole when they change. Cases (a city has a
//! million) are read whole once, at start; after that only what changed is read: cases above the
//! last case id read, cases with an event above the last event id read, and cases this node was
//! told of (its own writes, and on a shared PostgreSQL every node's, by NOTIFY: there a lower id
//! can commit after a higher one). What is read goes into a small `recent` set that hides its
//! old copy in the `base`; when `recent` grows past [`FOLD_AT`], it is folded into the base in
//! the background, like a log-structured tree's compaction.

use crate::app::metrics::METRICS;
use crate::domain::access::Area;
use crate::domain::patrol::StoredPoint;

use crate::domain::workflow::case::{CaseClock, MapCase};
use crate::domain::workflow::state::State;
use crate::store::{for_each_map_case, for_each_point, LayerMarks, Store, StoreError};
use arc_swap::ArcSwap;
use geo::{BoundingRect, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, RTreeObject, AABB};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the store's marks are checked while tiles are being asked for: what other
/// processes (imports, and on SQLite nothing else) committed shows within this.
const CHECK_EVERY: Duration = Duration::from_millis(500);

/// More changed cases than this at once (an import) are read as a whole new base instead.
const MOST_CHANGED: usize = 20_000;

/// `recent` is folded into the base once it holds this many cases: a tile scans `recent`
/// whole, so it stays small.
const FOLD_AT: usize = 16_384;

/// A case as a tile draws it: place, state and colour clock, with the repeated texts shared
/// (a city has a million cases but only thousands of grids, units and categories).
#[derive(Clone)]
pub struct CaseMark {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub status: State,
    pub category: Arc<str>,
    pub category_name: Option<Arc<str>>,
    pub grid_code: Option<Arc<str>>,
    pub responsible_unit: Option<Arc<str>>,
    pub reported_by: Option<Arc<str>>,
    pub clock: CaseClock,
}

/// An assessment point as a tile draws it (its checklist is one request away).
pub struct PointMark {
    pub code: Box<str>,
    pub name: Box<str>,
    pub kind: Arc<str>,
    pub geometry: geo::Geometry<f64>,
    pub required_per_week: u8,
    pub grid_code: Option<Arc<str>>,
    /// Every grid it touches: a caller whose area holds any of them sees it.
    pub grids: Box<[Arc<str>]>,
    pub responsible_unit: Option<Arc<str>>,
}

impl PointMark {
    pub fn seen_by(&self, area: &Area) -> bool {
        area.sees(self.grid_code.as_deref(), self.responsible_unit.as_deref(), None)
            || self.grids.iter().any(|g| area.sees(Some(g), None, None))
    }
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

    fn mark(&mut self, c: MapCase) -> CaseMark {
        CaseMark {
            id: c.id,
            lon: c.lon,
            lat: c.lat,
            status: c.status,
            category: self.get(&c.category),
            category_name: c.category_name.as_deref().map(|t| self.get(t)),
            grid_code: c.grid_code.as_deref().map(|t| self.get(t)),
            responsible_unit: c.responsible_unit.as_deref().map(|t| self.get(t)),
            reported_by: c.reported_by.as_deref().map(|t| self.get(t)),
            clock: c.clock,
        }
    }
}

type Boxed = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// A case's place in the case tree: a point is half a box's size, and there are a million.
type Placed = GeomWithData<[f64; 2], u32>;

fn in_tree<G: RTreeObject<Envelope = AABB<[f64; 2]>>>(
    tree: &RTree<GeomWithData<G, u32>>,
    r: Rect<f64>,
) -> impl Iterator<Item = usize> + '_ {
    let envelope = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
    tree.locate_in_envelope_intersecting(&envelope).map(|b| b.data as usize)
}

/// The assessment points, with an R-tree over their boxes.
pub struct PointLayer {
    pub marks: Vec<PointMark>,
    tree: RTree<Boxed>,
}

impl PointLayer {
    fn empty() -> Self {
        Self { marks: Vec::new(), tree: RTree::new() }
    }

    async fn load(store: &Store) -> Result<Self, StoreError> {
        let mut texts = Interner::default();
        let mut marks = Vec::new();
        for_each_point(store, |p| marks.push(texts.point(p))).await?;
        marks.shrink_to_fit();
        let boxes = marks.iter().enumerate().filter_map(|(i, p)| {
            let r = p.geometry.bounding_rect()?;
            Some(GeomWithData::new(Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]), i as u32))
        });
        Ok(Self { tree: RTree::bulk_load(boxes.collect()), marks })
    }

    /// Indexes into `marks` of the points whose box meets `r`.
    pub fn in_box(&self, r: Rect<f64>) -> impl Iterator<Item = usize> + '_ {
        in_tree(&self.tree, r)
    }
}

/// Cases with an R-tree over their places: the base, built whole.
struct CaseSet {
    marks: Vec<CaseMark>,
    tree: RTree<Placed>,
}

impl CaseSet {
    fn new(marks: Vec<CaseMark>) -> Self {
        let tree =
            RTree::bulk_load(marks.iter().enumerate().map(|(i, c)| Placed::new([c.lon, c.lat], i as u32)).collect());
        Self { marks, tree }
    }
}

/// The cases read since the base was built, the newest copy of each; small enough to scan.
#[derive(Default, Clone)]
struct Recent {
    marks: Vec<Arc<CaseMark>>,
    /// The cases layer version each was read at: a fold takes those up to its version.
    read_at: Vec<u64>,
    /// Where each case sits in `marks`; its copy in the base is hidden.
    by_id: HashMap<i64, usize>,
}

/// Every case: the base, and the recent cases that hide their old copies in it.
#[derive(Clone)]
pub struct CaseLayer {
    base: Arc<CaseSet>,
    recent: Arc<Recent>,
}

impl CaseLayer {
    fn empty() -> Self {
        Self { base: Arc::new(CaseSet::new(Vec::new())), recent: Arc::default() }
    }

    async fn load(store: &Store) -> Result<Self, StoreError> {
        let mut texts = Interner::default();
        let mut marks = Vec::with_capacity(usize::try_from(store.count_problems().await?).unwrap_or(0));
        for_each_map_case(store, |c| marks.push(texts.mark(c))).await?;
        METRICS.layer_cases_read.fetch_add(marks.len() as u64, Ordering::Relaxed);
        METRICS.layer_whole_reads.fetch_add(1, Ordering::Relaxed);
        // The tree of a million places takes a second or two: off the async workers.
        let base = tokio::task::spawn_blocking(move || CaseSet::new(marks))
            .await
            .map_err(|e| StoreError::Corrupt(format!("building the case layer failed: {e}")))?;
        Ok(Self { base: Arc::new(base), recent: Arc::default() })
    }

    /// The layer with `changed` cases in place of their old copies, read at `version`.
    fn with(&self, changed: Vec<MapCase>, version: u64) -> Self {
        let mut texts = Interner::default();
        let mut recent = (*self.recent).clone();
        for case in changed {
            let mark = Arc::new(texts.mark(case));
            match recent.by_id.get(&mark.id) {
                Some(&i) => {
                    recent.marks[i] = mark;
                    recent.read_at[i] = version;
                }
                None => {
                    recent.by_id.insert(mark.id, recent.marks.len());
                    recent.marks.push(mark);
                    recent.read_at.push(version);
                }
            }
        }
        Self { base: self.base.clone(), recent: Arc::new(recent) }
    }

    /// How many cases the map shows.
    pub fn shown(&self) -> usize {
        let hidden = self.recent.marks.iter().filter(|c| self.base_holds(c.id)).count();
        self.base.marks.len() + self.recent.marks.len() - hidden
    }

    fn base_holds(&self, id: i64) -> bool {
        self.base.marks.binary_search_by_key(&id, |c| c.id).is_ok()
    }

    /// The case at an index [`CaseLayer::in_box`] gave.
    pub fn get(&self, i: usize) -> &CaseMark {
        match i.checked_sub(self.base.marks.len()) {
            None => &self.base.marks[i],
            Some(j) => &self.recent.marks[j],
        }
    }

    /// The cases whose place lies in `r`, each once and in its newest copy, as indexes for
    /// [`CaseLayer::get`].
    pub fn in_box(&self, r: Rect<f64>) -> impl Iterator<Item = usize> + '_ {
        let (recent, offset) = (&self.recent, self.base.marks.len());
        let base = in_tree(&self.base.tree, r)
            .filter(move |&i| recent.by_id.is_empty() || !recent.by_id.contains_key(&self.base.marks[i].id));
        let (min, max) = (r.min(), r.max());
        let newer = recent.marks.iter().enumerate().filter_map(move |(j, c)| {
            (c.lon >= min.x && c.lon <= max.x && c.lat >= min.y && c.lat <= max.y).then_some(offset + j)
        });
        base.chain(newer)
    }

    /// The base with the recent cases read up to `version` folded in (off the async workers:
    /// it builds the tree again).
    fn folded(&self, version: u64) -> CaseSet {
        let taken: HashMap<i64, &CaseMark> = self
            .recent
            .marks
            .iter()
            .zip(&self.recent.read_at)
            .filter(|(_, &at)| at <= version)
            .map(|(c, _)| (c.id, &**c))
            .collect();
        let mut marks: Vec<CaseMark> = self
            .base
            .marks
            .iter()
            .filter(|c| !taken.contains_key(&c.id))
            .cloned()
            .chain(taken.values().map(|&c| c.clone()))
            .collect();
        // By id, as the base is read: `base_holds` searches it.
        marks.sort_unstable_by_key(|c| c.id);
        CaseSet::new(marks)
    }

    /// The recent cases read after `version`, over a base that holds the rest.
    fn after_fold(&self, base: Arc<CaseSet>, version: u64) -> Self {
        let mut recent = Recent::default();
        for (mark, &at) in self.recent.marks.iter().zip(&self.recent.read_at).filter(|(_, &at)| at > version) {
            recent.by_id.insert(mark.id, recent.marks.len());
            recent.marks.push(mark.clone());
            recent.read_at.push(at);
        }
        Self { base, recent: Arc::new(recent) }
    }
}

/// Points and cases as the tiles draw them, and where they stand against the store.
pub struct Layers {
    pub points: Arc<PointLayer>,
    pub cases: CaseLayer,
    /// Bumped whenever the points change: keys their cached tiles.
    pub points_version: u64,
    /// Bumped whenever a case changes: keys the cached case tiles.
    pub cases_version: u64,
    marks: LayerMarks,
    built: bool,
}

/// What this node was told changed since the last refresh.
#[derive(Default)]
struct Pending {
    cases: BTreeSet<i64>,
    points: bool,
    everything: bool,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.cases.is_empty() && !self.points && !self.everything
    }

    fn merge(&mut self, other: Pending) {
        self.cases.extend(other.cases);
        self.points |= other.points;
        self.everything |= other.everything;
    }
}

/// The layers, refreshed before a tile is drawn when something changed.
pub struct LiveLayers {
    current: Arc<ArcSwap<Layers>>,
    pending: Arc<Mutex<Pending>>,
    checked: Mutex<Option<Instant>>,
    /// One refresh (or fold) at a time; readers keep the previous layers meanwhile.
    refreshing: Arc<tokio::sync::Mutex<()>>,
    folding: Arc<AtomicBool>,
}

impl Default for LiveLayers {
    fn default() -> Self {
        let empty = Layers {
            points: Arc::new(PointLayer::empty()),
            cases: CaseLayer::empty(),
            points_version: 0,
            cases_version: 0,
            marks: LayerMarks::default(),
            built: false,
        };
        Self {
            current: Arc::new(ArcSwap::from_pointee(empty)),
            pending: Arc::default(),
            checked: Mutex::new(None),
            refreshing: Arc::default(),
            folding: Arc::default(),
        }
    }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl LiveLayers {
    /// Says that these cases were stored or changed (after their commit): the next tile reads
    /// them before it is drawn, so a tile asked for after a write shows it.
    pub fn cases_changed(&self, ids: impl IntoIterator<Item = i64>) {
        let mut pending = locked(&self.pending);
        pending.cases.extend(ids);
        // An import's worth (told case by case on a shared PostgreSQL): read everything instead.
        if pending.cases.len() > MOST_CHANGED {
            pending.cases.clear();
            pending.everything = true;
        }
    }

    /// Says that assessment points were written: the next tile reads them again.
    pub fn points_changed(&self) {
        locked(&self.pending).points = true;
    }

    /// Says that changes may have been missed (a lost notification connection): the next tile
    /// reads everything again.
    pub fn everything_changed(&self) {
        locked(&self.pending).everything = true;
    }

    /// The layers as the store has them now: refreshed first when this node was told of a
    /// change, or when the store's marks moved (checked at most every [`CHECK_EVERY`]).
    pub async fn fresh(&self, store: &Arc<Store>) -> Result<Arc<Layers>, StoreError> {
        let told = !locked(&self.pending).is_empty();
        let due = told || {
            let mut checked = locked(&self.checked);
            let due = checked.is_none_or(|t| t.elapsed() >= CHECK_EVERY);
            if due {
                *checked = Some(Instant::now());
            }
            due
        };
        // Never built yet (the server just started): wait for the build rather than draw nothing.
        if due || !self.current.load().built {
            let one = self.refreshing.clone().lock_owned().await;
            // Spawned, so that a request that gives up does not throw a half-done refresh away.
            let (store, current, pending) = (store.clone(), self.current.clone(), self.pending.clone());
            let refreshing = self.refreshing.clone();
            let folding = self.folding.clone();
            let refresh = tokio::spawn(async move {
                let _one = one;
                // Taken under the lock: whatever was announced before it is read by this refresh.
                let wanted = std::mem::take(&mut *locked(&pending));
                let layers = match refreshed(&store, &current.load_full(), &wanted).await {
                    Ok(layers) => layers,
                    Err(e) => {
                        locked(&pending).merge(wanted);
                        return Err(e);
                    }
                };
                if let Some(layers) = layers {
                    let fold = layers.cases.recent.marks.len() >= FOLD_AT;
                    current.store(layers);
                    if fold && !folding.swap(true, Ordering::SeqCst) {
                        tokio::spawn(fold_recent(current, refreshing, folding));
                    }
                }
                Ok::<(), StoreError>(())
            });
            refresh.await.map_err(|e| StoreError::Corrupt(format!("refreshing the map layers failed: {e}")))??;
        }
        Ok(self.current.load_full())
    }
}

/// The layers after reading what changed since `old`, or `None` when nothing did.
async fn refreshed(store: &Store, old: &Layers, wanted: &Pending) -> Result<Option<Arc<Layers>>, StoreError> {
    let marks = store.layer_marks().await?;
    // Fewer cases or events than before: the store was restored or replaced. Read it all.
    let whole = !old.built
        || wanted.everything
        || marks.last_case < old.marks.last_case
        || marks.last_event < old.marks.last_event;
    let points = if whole || wanted.points || marks.points != old.marks.points {
        Some(Arc::new(PointLayer::load(store).await?))
    } else {
        None
    };
    let moved = marks.last_case != old.marks.last_case || marks.last_event != old.marks.last_event;
    let mut read_whole = whole;
    let cases = if whole {
        Some(CaseLayer::load(store).await?)
    } else if moved || !wanted.cases.is_empty() {
        let ids: Vec<i64> = wanted.cases.iter().copied().collect();
        let changed = store.map_cases_changed(&old.marks, &ids, MOST_CHANGED as i64 + 1).await?;
        METRICS.layer_cases_read.fetch_add(changed.len() as u64, Ordering::Relaxed);
        if changed.len() > MOST_CHANGED {
            read_whole = true;
            Some(CaseLayer::load(store).await?)
        } else if changed.is_empty() {
            // Only colour changes: the marks move on, the drawn cases (and cached tiles) stay.
            None
        } else {
            Some(old.cases.with(changed, old.cases_version + 1))
        }
    } else {
        None
    };
    if points.is_none() && cases.is_none() && old.built && marks == old.marks {
        return Ok(None);
    }
    if read_whole {
        tracing::info!(
            points = points.as_ref().map_or(0, |p| p.marks.len()),
            cases = cases.as_ref().map_or(0, CaseLayer::shown),
            "map layers read whole"
        );
    }
    Ok(Some(Arc::new(Layers {
        points_version: old.points_version + u64::from(points.is_some()),
        points: points.unwrap_or_else(|| old.points.clone()),
        cases_version: old.cases_version + u64::from(cases.is_some()),
        cases: cases.unwrap_or_else(|| old.cases.clone()),
        marks,
        built: true,
    })))
}

/// Folds the recent cases into the base in the background; refreshes go on meanwhile, and
/// what they read after the fold began stays recent.
async fn fold_recent(current: Arc<ArcSwap<Layers>>, refreshing: Arc<tokio::sync::Mutex<()>>, folding: Arc<AtomicBool>) {
    let start = current.load_full();
    let version = start.cases_version;
    let cases = start.cases.clone();
    let began = cases.base.clone();
    drop(start);
    let folded = tokio::task::spawn_blocking(move || Arc::new(cases.folded(version))).await;
    let _one = refreshing.lock().await;
    let now = current.load_full();
    // A whole read meanwhile replaced the base the fold began from: the fold is moot.
    match folded {
        Ok(base) if Arc::ptr_eq(&now.cases.base, &began) => {
            let cases = now.cases.after_fold(base, version);
            current.store(Arc::new(Layers {
                points: now.points.clone(),
                cases,
                points_version: now.points_version,
                // The same cases are drawn: cached tiles stay good.
                cases_version: now.cases_version,
                marks: now.marks.clone(),
                built: now.built,
            }));
            METRICS.layer_folds.fetch_add(1, Ordering::Relaxed);
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "folding the recent cases into the map layer failed"),
    }
    folding.store(false, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::workflow::colour::Colour;

    fn case(id: i64, lon: f64, status: State) -> MapCase {
        MapCase {
            id,
            lon,
            lat: 0.5,
            status,
            category: "C01001".into(),
            category_name: None,
            grid_code: None,
            responsible_unit: None,
            reported_by: None,
            clock: CaseClock {
                open: true,
                floor: Colour::None,
                limit_unit: None,
                dispatched_at: None,
                deadline: None,
                reworks: 0,
            },
        }
    }

    /// Every case `in_box` finds over the whole world, as (id, status), sorted.
    fn everything(layer: &CaseLayer) -> Vec<(i64, State)> {
        let world = Rect::new(geo::coord! { x: -180.0, y: -90.0 }, geo::coord! { x: 180.0, y: 90.0 });
        let mut found: Vec<(i64, State)> =
            layer.in_box(world).map(|i| (layer.get(i).id, layer.get(i).status)).collect();
        found.sort_unstable_by_key(|c| c.0);
        found
    }

    #[test]
    fn recent_cases_hide_their_old_copies_and_survive_a_fold_read_after_it_began() {
        let mut texts = Interner::default();
        let base: Vec<CaseMark> =
            (1..=100).map(|id| texts.mark(case(id, id as f64 / 100.0, State::Reported))).collect();
        let layer = CaseLayer { base: Arc::new(CaseSet::new(base)), recent: Arc::default() };
        // Version 1: case 7 accepted, case 101 new.
        let v1 = layer.with(vec![case(7, 0.07, State::Accepted), case(101, 0.5, State::Reported)], 1);
        // Version 2: case 7 dispatched, case 8 accepted.
        let v2 = v1.with(vec![case(7, 0.07, State::Dispatched), case(8, 0.08, State::Accepted)], 2);
        let expected = |layer: &CaseLayer| {
            let found = everything(layer);
            assert_eq!(found.len(), 101, "each case once");
            assert_eq!(layer.shown(), 101);
            assert_eq!(found[6], (7, State::Dispatched));
            assert_eq!(found[7], (8, State::Accepted));
            assert_eq!(found[100], (101, State::Reported));
            assert!(found.iter().filter(|c| ![7, 8].contains(&c.0)).all(|c| c.1 == State::Reported));
        };
        expected(&v2);
        // A fold that began at version 1 takes only what was read by then; case 7's newer copy
        // (version 2) and case 8 stay recent and still hide the folded copies.
        let folded = Arc::new(v1.folded(1));
        let after = v2.after_fold(folded, 1);
        assert_eq!(after.recent.marks.len(), 2, "7 and 8 stay recent");
        assert_eq!(after.base.marks.len(), 101, "101 folded in");
        expected(&after);
        // A fold of everything leaves nothing recent and draws the same.
        let all = v2.after_fold(Arc::new(v2.folded(2)), 2);
        assert!(all.recent.marks.is_empty());
        expected(&all);
        // Only the cases inside a box, newest copies.
        let small = Rect::new(geo::coord! { x: 0.065, y: 0.0 }, geo::coord! { x: 0.085, y: 1.0 });
        for layer in [&v2, &after, &all] {
            let mut inside: Vec<(i64, State)> =
                layer.in_box(small).map(|i| (layer.get(i).id, layer.get(i).status)).collect();
            inside.sort_unstable_by_key(|c| c.0);
            assert_eq!(inside, [(7, State::Dispatched), (8, State::Accepted)]);
        }
    }
}
