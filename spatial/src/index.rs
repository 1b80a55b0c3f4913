//! The grid index: an R-tree over grid polygons that answers "which grid covers this point?".
//!
//! Rule (the foundation of routing): a point belongs to the grid that covers it, boundary
//! included (`ST_Covers`). On an edge shared by several grids the smallest code wins, and every
//! covering grid is reported as a candidate so a dispatcher can see the alternatives.

use crate::covers::polygon_covers;
use crate::locator::Locator;
use geo::{BoundingRect, Coord, MultiPolygon, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

/// One indexed grid: its code, its boundary and whatever the caller wants back with it.
#[derive(Debug, Clone)]
pub struct Entry<T> {
    pub code: String,
    pub geometry: MultiPolygon<f64>,
    pub payload: T,
}

/// The answer for one point.
#[derive(Debug)]
pub struct Location<'a, T> {
    /// The responsible grid: the covering grid with the smallest code.
    pub grid: Option<&'a Entry<T>>,
    /// Every covering grid, by code.
    pub candidates: Vec<&'a Entry<T>>,
}

type PartBox = GeomWithData<Rectangle<[f64; 2]>, (u32, u32)>;

/// Immutable once built; rebuild and swap when grids change.
#[derive(Debug)]
pub struct GridIndex<T> {
    /// Sorted by code, so the smallest entry index is the smallest code.
    entries: Vec<Entry<T>>,
    tree: RTree<PartBox>,
    /// The fast exact path for the responsible grid (bulk assignment, intake).
    locator: Locator,
}

impl<T> GridIndex<T> {
    pub fn new(mut entries: Vec<Entry<T>>) -> Self {
        entries.sort_by(|a, b| a.code.cmp(&b.code));
        let boxes = entries
            .iter()
            .enumerate()
            .flat_map(|(i, e)| {
                e.geometry.0.iter().enumerate().filter_map(move |(j, poly)| {
                    let r = poly.bounding_rect()?;
                    Some(PartBox::new(
                        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                        (i as u32, j as u32),
                    ))
                })
            })
            .collect();
        let parts: Vec<&[Polygon<f64>]> = entries.iter().map(|e| &e.geometry.0[..]).collect();
        let locator = Locator::new(&parts);
        Self { entries, tree: RTree::bulk_load(boxes), locator }
    }

    /// The box around every grid, `None` when there are none.
    pub fn bounds(&self) -> Option<geo::Rect<f64>> {
        let envelope = self.tree.root().envelope();
        (!self.entries.is_empty()).then(|| geo::Rect::new(Coord::from(envelope.lower()), Coord::from(envelope.upper())))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[Entry<T>] {
        &self.entries
    }

    /// The fast locator (its memory and tuning figures).
    pub fn locator(&self) -> &Locator {
        &self.locator
    }

    fn part(&self, id: (u32, u32)) -> &Polygon<f64> {
        &self.entries[id.0 as usize].geometry.0[id.1 as usize]
    }

    /// Grids whose bounding box meets `r`, by entry index (ascending).
    pub fn intersecting(&self, r: geo::Rect<f64>) -> Vec<usize> {
        let envelope = rstar::AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
        let mut found: Vec<usize> =
            self.tree.locate_in_envelope_intersecting(&envelope).map(|hit| hit.data.0 as usize).collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// The index of the responsible grid only: the hot path of bulk assignment.
    #[inline]
    pub fn locate_index(&self, p: Coord<f64>) -> Option<usize> {
        self.locator.locate(p)
    }

    /// The same answer through the R-tree and whole-ring tests: the reference the locator is
    /// checked and benchmarked against.
    pub fn locate_index_rtree(&self, p: Coord<f64>) -> Option<usize> {
        let mut best: Option<u32> = None;
        for hit in self.tree.locate_all_at_point(&[p.x, p.y]) {
            let (grid, _) = hit.data;
            if best.is_some_and(|b| b <= grid) {
                continue; // cannot beat the smaller code already found
            }
            if polygon_covers(self.part(hit.data), p) {
                best = Some(grid);
            }
        }
        best.map(|b| b as usize)
    }

    /// Every grid covering `p`, by entry index (ascending, so the first is the responsible one).
    pub fn covering(&self, p: Coord<f64>) -> Vec<usize> {
        let mut ids: Vec<usize> = self
            .tree
            .locate_all_at_point(&[p.x, p.y])
            .filter(|hit| polygon_covers(self.part(hit.data), p))
            .map(|hit| hit.data.0 as usize)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The responsible grid and every candidate.
    pub fn locate(&self, p: Coord<f64>) -> Location<'_, T> {
        let candidates: Vec<&Entry<T>> = self.covering(p).into_iter().map(|i| &self.entries[i]).collect();
        Location { grid: candidates.first().copied(), candidates }
    }
}

impl<T> GridIndex<T> {
    /// Grids whose boundary lies within `metres` of `p` (covering grids at distance 0), nearest
    /// first: the alternatives a dispatcher should see for a report near a boundary. Distances use
    /// a local equirectangular projection, exact enough at tens of metres.
    pub fn nearby(&self, p: Coord<f64>, metres: f64) -> Vec<(&Entry<T>, f64)> {
        let (per_lat, per_lon) = crate::geodesy::metres_per_degree(p.y);
        let (dx, dy) = (metres / per_lon.max(1e-9), metres / per_lat);
        let search = rstar::AABB::from_corners([p.x - dx, p.y - dy], [p.x + dx, p.y + dy]);
        let to_m = |c: Coord<f64>| ((c.x - p.x) * per_lon, (c.y - p.y) * per_lat);
        let mut best: Vec<(u32, f64)> = Vec::new();
        for hit in self.tree.locate_in_envelope_intersecting(&search) {
            let polygon = self.part(hit.data);
            let distance = if polygon_covers(polygon, p) {
                0.0
            } else {
                std::iter::once(polygon.exterior())
                    .chain(polygon.interiors())
                    .flat_map(|ring| ring.0.windows(2))
                    .map(|seg| segment_distance(to_m(seg[0]), to_m(seg[1])))
                    .fold(f64::INFINITY, f64::min)
            };
            if distance <= metres {
                match best.iter_mut().find(|(g, _)| *g == hit.data.0) {
                    Some(entry) => entry.1 = entry.1.min(distance),
                    None => best.push((hit.data.0, distance)),
                }
            }
        }
        best.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        best.into_iter().map(|(g, d)| (&self.entries[g as usize], d)).collect()
    }
}

/// Distance from the origin to the segment a–b (plane coordinates).
fn segment_distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (vx, vy) = (b.0 - a.0, b.1 - a.1);
    let len2 = vx * vx + vy * vy;
    let t = if len2 == 0.0 { 0.0 } else { (-(a.0 * vx + a.1 * vy) / len2).clamp(0.0, 1.0) };
    let (x, y) = (a.0 + t * vx, a.1 + t * vy);
    (x * x + y * y).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{coord, polygon};

    fn square(x0: f64, y0: f64, size: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x0, y: y0), (x: x0 + size, y: y0), (x: x0 + size, y: y0 + size), (x: x0, y: y0 + size), (x: x0, y: y0)
        ]])
    }

    fn two_by_two() -> GridIndex<()> {
        // Codes deliberately not in spatial order: the tie rule is by code, not by position.
        let grids = [("004", 0., 0.), ("002", 1., 0.), ("003", 0., 1.), ("001", 1., 1.)];
        GridIndex::new(
            grids
                .iter()
                .map(|&(code, x, y)| Entry { code: code.into(), geometry: square(x, y, 1.), payload: () })
                .collect(),
        )
    }

    #[test]
    fn interior_points_have_one_grid() {
        let idx = two_by_two();
        let loc = idx.locate(coord! {x: 0.5, y: 0.5});
        assert_eq!(loc.grid.map(|e| e.code.as_str()), Some("004"));
        assert_eq!(loc.candidates.len(), 1);
    }

    #[test]
    fn shared_edges_and_corners_go_to_the_smallest_code_with_all_candidates() {
        let idx = two_by_two();
        let edge = idx.locate(coord! {x: 1.0, y: 0.5});
        let codes: Vec<&str> = edge.candidates.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["002", "004"]);
        assert_eq!(edge.grid.map(|e| e.code.as_str()), Some("002"));

        let corner = idx.locate(coord! {x: 1.0, y: 1.0});
        assert_eq!(corner.candidates.len(), 4);
        assert_eq!(corner.grid.map(|e| e.code.as_str()), Some("001"));
        assert_eq!(idx.locate_index(coord! {x: 1.0, y: 1.0}), Some(0));
    }

    #[test]
    fn nearby_lists_grids_within_reach_nearest_first() {
        // Squares of about 111 m × 111 m at the equator (0.001°).
        let grids = [("A", 0.0), ("B", 0.001), ("C", 0.003)];
        let idx = GridIndex::new(
            grids
                .iter()
                .map(|&(code, x)| Entry { code: code.into(), geometry: square(x, 0.0, 0.001), payload: () })
                .collect(),
        );
        // 10 m west of the A|B edge, inside A.
        let p = coord! {x: 0.001 - 10.0 / 111_320.0, y: 0.0005};
        let near: Vec<(&str, f64)> = idx.nearby(p, 30.0).into_iter().map(|(e, d)| (e.code.as_str(), d)).collect();
        assert_eq!(near.len(), 2, "{near:?}");
        assert_eq!(near[0], ("A", 0.0));
        assert_eq!(near[1].0, "B");
        assert!((near[1].1 - 10.0).abs() < 0.1, "{near:?}");
        assert!(idx.nearby(coord! {x: 0.0025, y: 0.0005}, 30.0).is_empty(), "C is 55 m away");
    }

    #[test]
    fn points_outside_every_grid_are_unassigned() {
        let idx = two_by_two();
        let loc = idx.locate(coord! {x: 2.5, y: 0.5});
        assert!(loc.grid.is_none());
        assert!(loc.candidates.is_empty());
        assert_eq!(idx.locate_index(coord! {x: -0.000001, y: 0.5}), None);
    }
}
