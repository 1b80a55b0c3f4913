//! The tiling check (责任全覆盖): do the grids of one level cover the jurisdiction exactly once?
//!
//! Gaps are the parts of the boundary no grid covers, overlaps the pairs of grids that share
//! area, and "outside" the parts of grids beyond the boundary. Areas are geodesic (m²) and
//! parts smaller than a minimum area are ignored, so the floating-point slivers every overlay
//! leaves along shared edges do not count. The same questions in PostGIS are
//! `ST_Difference(boundary, ST_Union(grids))`, `ST_Intersection(a, b)` and
//! `ST_Difference(grid, boundary)`, dumped into parts and measured on the geography.

use crate::geodesy::area_m2;
use geo::{BooleanOps, BoundingRect, Distance, Euclidean, MultiPolygon, Polygon, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use serde::Serialize;

/// Gaps closer than this to a grid (in degrees, about 1 cm) name it as a neighbour.
const TOUCH_DEGREES: f64 = 1e-7;

/// One grid of the level being checked (its geometry valid, repaired if need be).
#[derive(Debug, Clone)]
pub struct TileGrid {
    pub code: String,
    pub geometry: MultiPolygon<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    #[serde(skip)]
    pub geometry: Polygon<f64>,
    pub area_m2: f64,
    /// Grids that touch the gap: the candidates to take it over.
    pub neighbours: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overlap {
    pub a: String,
    pub b: String,
    #[serde(skip)]
    pub geometry: MultiPolygon<f64>,
    pub area_m2: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outside {
    pub code: String,
    #[serde(skip)]
    pub geometry: Polygon<f64>,
    pub area_m2: f64,
}

/// The figures an office reads first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TilingSummary {
    pub grids: usize,
    pub boundary_m2: f64,
    pub gap_parts: usize,
    pub gap_m2: f64,
    pub overlap_pairs: usize,
    pub overlap_m2: f64,
    pub outside_parts: usize,
    pub outside_m2: f64,
    pub min_area_m2: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TilingReport {
    pub summary: TilingSummary,
    pub gaps: Vec<Gap>,
    pub overlaps: Vec<Overlap>,
    pub outside: Vec<Outside>,
}

type Boxed = GeomWithData<Rectangle<[f64; 2]>, usize>;

fn aabb(r: Rect<f64>) -> Rectangle<[f64; 2]> {
    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y])
}

/// Checks that `grids` tile `boundary`. Parts (and overlapping pairs) under `min_area_m2` are ignored.
pub fn check_tiling(boundary: &MultiPolygon<f64>, grids: &[TileGrid], min_area_m2: f64) -> TilingReport {
    let boxes: Vec<Boxed> =
        grids.iter().enumerate().filter_map(|(i, g)| Some(Boxed::new(aabb(g.geometry.bounding_rect()?), i))).collect();
    let tree = RTree::bulk_load(boxes);

    let union = geo::unary_union(grids.iter().flat_map(|g| g.geometry.0.iter()));
    let gaps: Vec<Gap> = boundary
        .difference(&union)
        .0
        .into_iter()
        .map(|part| (area_m2(&MultiPolygon(vec![part.clone()])), part))
        .filter(|(a, _)| *a >= min_area_m2)
        .map(|(area, part)| Gap { neighbours: touching(&part, grids, &tree), geometry: part, area_m2: area })
        .collect();

    let mut overlaps = Vec::new();
    for (i, g) in grids.iter().enumerate() {
        let Some(r) = g.geometry.bounding_rect() else { continue };
        let envelope = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
        let mut others: Vec<usize> =
            tree.locate_in_envelope_intersecting(&envelope).map(|b| b.data).filter(|&j| j > i).collect();
        others.sort_unstable();
        for j in others {
            let shared = g.geometry.intersection(&grids[j].geometry);
            let area = area_m2(&shared);
            if area >= min_area_m2 {
                overlaps.push(Overlap { a: g.code.clone(), b: grids[j].code.clone(), geometry: shared, area_m2: area });
            }
        }
    }

    let mut outside = Vec::new();
    for g in grids {
        for part in g.geometry.difference(boundary).0 {
            let area = area_m2(&MultiPolygon(vec![part.clone()]));
            if area >= min_area_m2 {
                outside.push(Outside { code: g.code.clone(), geometry: part, area_m2: area });
            }
        }
    }

    let summary = TilingSummary {
        grids: grids.len(),
        boundary_m2: area_m2(boundary),
        gap_parts: gaps.len(),
        gap_m2: gaps.iter().fold(0.0, |sum, g| sum + g.area_m2),
        overlap_pairs: overlaps.len(),
        overlap_m2: overlaps.iter().fold(0.0, |sum, o| sum + o.area_m2),
        outside_parts: outside.len(),
        outside_m2: outside.iter().fold(0.0, |sum, o| sum + o.area_m2),
        min_area_m2,
    };
    TilingReport { summary, gaps, overlaps, outside }
}

fn touching(part: &Polygon<f64>, grids: &[TileGrid], tree: &RTree<Boxed>) -> Vec<String> {
    let Some(r) = part.bounding_rect() else { return Vec::new() };
    let envelope = AABB::from_corners(
        [r.min().x - TOUCH_DEGREES, r.min().y - TOUCH_DEGREES],
        [r.max().x + TOUCH_DEGREES, r.max().y + TOUCH_DEGREES],
    );
    let mut codes: Vec<String> = tree
        .locate_in_envelope_intersecting(&envelope)
        .map(|b| &grids[b.data])
        .filter(|g| g.geometry.0.iter().any(|p| Euclidean.distance(p, part) <= TOUCH_DEGREES))
        .map(|g| g.code.clone())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(x0: f64, y0: f64, size: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x0, y: y0), (x: x0 + size, y: y0), (x: x0 + size, y: y0 + size), (x: x0, y: y0 + size), (x: x0, y: y0)
        ]])
    }

    fn grid(code: &str, geometry: MultiPolygon<f64>) -> TileGrid {
        TileGrid { code: code.into(), geometry }
    }

    #[test]
    fn a_perfect_tiling_has_nothing_to_report() {
        let boundary = square(116.0, 39.0, 0.02);
        let grids = [
            grid("a", square(116.0, 39.0, 0.01)),
            grid("b", square(116.01, 39.0, 0.01)),
            grid("c", square(116.0, 39.01, 0.01)),
            grid("d", square(116.01, 39.01, 0.01)),
        ];
        let r = check_tiling(&boundary, &grids, 1.0);
        assert_eq!((r.summary.gap_parts, r.summary.overlap_pairs, r.summary.outside_parts), (0, 0, 0));
        assert!((r.summary.boundary_m2 - area_m2(&boundary)).abs() < 1e-6);
    }

    #[test]
    fn a_missing_grid_is_a_gap_named_by_its_neighbours_and_a_shifted_one_overlaps() {
        let boundary = square(116.0, 39.0, 0.02);
        let grids = [
            grid("a", square(116.0, 39.0, 0.01)),
            grid("b", square(116.01, 39.0, 0.01)),
            // "c" is missing; "d" is pushed 0.001° east: it overlaps nobody but leaves the boundary.
            grid("d", square(116.011, 39.01, 0.01)),
            // "e" sits on top of "a".
            grid("e", square(116.005, 39.0, 0.002)),
        ];
        let r = check_tiling(&boundary, &grids, 1.0);
        let missing = area_m2(&square(116.0, 39.01, 0.01));
        assert_eq!(r.summary.gap_parts, 1, "c's square and d's strip are one gap");
        assert_eq!(r.gaps[0].neighbours, ["a", "b", "d"]);
        assert!(r.summary.gap_m2 > missing);
        assert_eq!(r.summary.overlap_pairs, 1);
        assert_eq!((r.overlaps[0].a.as_str(), r.overlaps[0].b.as_str()), ("a", "e"));
        assert!((r.summary.overlap_m2 - area_m2(&square(116.005, 39.0, 0.002))).abs() < 1e-3);
        assert_eq!(r.summary.outside_parts, 1);
        assert_eq!(r.outside[0].code, "d");
    }

    #[test]
    fn slivers_under_the_minimum_are_ignored() {
        let boundary = square(116.0, 39.0, 0.01);
        // 1e-9° short of the edge: a gap of a few square millimetres.
        let grids = [grid("a", square(116.0, 39.0, 0.01 - 1e-9))];
        let r = check_tiling(&boundary, &grids, 1.0);
        assert_eq!(r.summary.gap_parts, 0);
        assert_eq!(check_tiling(&boundary, &grids, 0.0).summary.gap_parts, 1);
    }
}
