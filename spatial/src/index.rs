//! The grid index: an R-tree over grid polygons that answers "which grid covers this point?".
//!
//! Rule (the foundation of routing): a point belongs to the grid that covers it, boundary
//! included (`ST_Covers`). On an edge shared by several grids the smallest code wins, and every
//! covering grid is reported as a candidate so a dispatcher can see the alternatives.

use crate::covers::polygon_covers;
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
        Self { entries, tree: RTree::bulk_load(boxes) }
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

    fn part(&self, id: (u32, u32)) -> &Polygon<f64> {
        &self.entries[id.0 as usize].geometry.0[id.1 as usize]
    }

    /// The index of the responsible grid only: the hot path of bulk assignment.
    pub fn locate_index(&self, p: Coord<f64>) -> Option<usize> {
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

    /// The responsible grid and every candidate.
    pub fn locate(&self, p: Coord<f64>) -> Location<'_, T> {
        let mut ids: Vec<u32> = self
            .tree
            .locate_all_at_point(&[p.x, p.y])
            .filter(|hit| polygon_covers(self.part(hit.data), p))
            .map(|hit| hit.data.0)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let candidates: Vec<&Entry<T>> = ids.iter().map(|&i| &self.entries[i as usize]).collect();
        Location { grid: candidates.first().copied(), candidates }
    }
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
    fn points_outside_every_grid_are_unassigned() {
        let idx = two_by_two();
        let loc = idx.locate(coord! {x: 2.5, y: 0.5});
        assert!(loc.grid.is_none());
        assert!(loc.candidates.is_empty());
        assert_eq!(idx.locate_index(coord! {x: -0.000001, y: 0.5}), None);
    }
}
