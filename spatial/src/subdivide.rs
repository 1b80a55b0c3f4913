//! Cutting a territory into a square lattice of unit grids and grouping the cells into larger
//! areas (communities, streets): how the demo city gets its ~1,200 万米-style unit grids.
//!
//! All cutting happens in one integer frame (1e-7 degree units, about 1 cm), so neighbouring
//! cells share their edges exactly and the cells tile the territory without gaps or overlaps.

use crate::geodesy::metres_per_degree;
use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::{IntOverlayOptions, Overlay};
use i_overlay::core::overlay_rule::OverlayRule;
use i_overlay::core::solver::Solver;
use i_overlay::i_float::int::point::IntPoint;
use i_overlay::i_shape::int::shape::{IntShape, IntShapes};

/// Integer units per degree.
const SCALE: f64 = 1e7;

/// One lattice cell clipped to the territory. Row 0 is the northernmost row, column 0 the westernmost.
#[derive(Debug, Clone)]
pub struct Cell {
    pub row: usize,
    pub col: usize,
    shapes: IntShapes,
}

/// A territory cut into cells, with the integer frame the cells live in.
#[derive(Debug, Clone)]
pub struct Lattice {
    /// The frame's origin in integer units (whole 1e-7 degrees), so output coordinates are
    /// the shortest decimals that name them.
    origin: (i64, i64),
    pub cells: Vec<Cell>,
    pub rows: usize,
    pub cols: usize,
}

impl Lattice {
    /// Cuts `area` into squares of about `cell_m` metres, keeping the non-empty pieces.
    pub fn cut(area: &MultiPolygon<f64>, cell_m: f64) -> Self {
        let Some(bbox) = area.bounding_rect() else {
            return Self { origin: (0, 0), cells: vec![], rows: 0, cols: 0 };
        };
        let origin = ((bbox.min().x * SCALE).round() as i64, (bbox.min().y * SCALE).round() as i64);
        let to_int = |c: &Coord<f64>| {
            IntPoint::new(
                ((c.x * SCALE).round() as i64 - origin.0) as i32,
                ((c.y * SCALE).round() as i64 - origin.1) as i32,
            )
        };
        let territory: IntShapes = area
            .0
            .iter()
            .map(|p| std::iter::once(p.exterior()).chain(p.interiors()).map(|r| ring_to_contour(r, to_int)).collect())
            .collect();

        let (per_lat, per_lon) = metres_per_degree(bbox.center().y);
        let dy = ((cell_m / per_lat) * SCALE).round().max(1.0) as i32;
        let dx = ((cell_m / per_lon) * SCALE).round().max(1.0) as i32;
        let IntPoint { x: width, y: height } = to_int(&bbox.max());
        let cols = (width as f64 / dx as f64).ceil().max(1.0) as usize;
        let rows = (height as f64 / dy as f64).ceil().max(1.0) as usize;

        let mut cells = Vec::new();
        for row in 0..rows {
            let top = height - row as i32 * dy;
            let bottom = top - dy;
            for col in 0..cols {
                let left = col as i32 * dx;
                let right = left + dx;
                let square: IntShape = vec![vec![
                    IntPoint::new(left, bottom),
                    IntPoint::new(right, bottom),
                    IntPoint::new(right, top),
                    IntPoint::new(left, top),
                ]];
                let shapes =
                    Overlay::with_shapes_options(&territory, &[square], IntOverlayOptions::ogc(), Solver::default())
                        .overlay(OverlayRule::Intersect, FillRule::EvenOdd);
                if !shapes.is_empty() {
                    cells.push(Cell { row, col, shapes });
                }
            }
        }
        Self { origin, cells, rows, cols }
    }

    /// The boundary of one cell in degrees.
    pub fn cell_geometry(&self, cell: usize) -> MultiPolygon<f64> {
        self.to_multipolygon(&self.cells[cell].shapes)
    }

    /// The exact union of some cells in degrees: shared edges dissolve.
    pub fn union_geometry(&self, cells: &[usize]) -> MultiPolygon<f64> {
        let subject: IntShapes = cells.iter().flat_map(|&i| self.cells[i].shapes.iter().cloned()).collect();
        let merged = Overlay::with_shapes_options(&subject, &[], IntOverlayOptions::ogc(), Solver::default())
            .overlay(OverlayRule::Subject, FillRule::NonZero);
        self.to_multipolygon(&merged)
    }

    /// The cells ordered along a Hilbert curve, so that consecutive runs are compact areas.
    pub fn hilbert_order(&self) -> Vec<usize> {
        let side = self.rows.max(self.cols).next_power_of_two();
        let mut order: Vec<usize> = (0..self.cells.len()).collect();
        order.sort_by_key(|&i| hilbert_index(side, self.cells[i].col, self.cells[i].row));
        order
    }

    fn to_multipolygon(&self, shapes: &IntShapes) -> MultiPolygon<f64> {
        let to_float = |p: &IntPoint| Coord {
            x: (self.origin.0 + p.x as i64) as f64 / SCALE,
            y: (self.origin.1 + p.y as i64) as f64 / SCALE,
        };
        MultiPolygon(
            shapes
                .iter()
                .filter(|s| !s.is_empty())
                .map(|shape| {
                    let mut rings = shape.iter().map(|c| {
                        let mut coords: Vec<Coord<f64>> = c.iter().map(to_float).collect();
                        if let Some(&first) = coords.first() {
                            coords.push(first);
                        }
                        LineString(coords)
                    });
                    let exterior = rings.next().unwrap_or_else(|| LineString(vec![]));
                    Polygon::new(exterior, rings.collect())
                })
                .collect(),
        )
    }
}

fn ring_to_contour(ring: &LineString<f64>, to_int: impl Fn(&Coord<f64>) -> IntPoint) -> Vec<IntPoint> {
    let mut contour: Vec<IntPoint> = ring.0.iter().map(to_int).collect();
    contour.dedup();
    if contour.len() > 1 && contour.first() == contour.last() {
        contour.pop();
    }
    contour
}

/// Position of (x, y) along the Hilbert curve filling a `side`×`side` square (side a power of two).
fn hilbert_index(side: usize, mut x: usize, mut y: usize) -> usize {
    let mut d = 0;
    let mut s = side / 2;
    while s > 0 {
        let rx = usize::from(x & s > 0);
        let ry = usize::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = side - 1 - x;
                y = side - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

/// Splits `n` items into consecutive runs whose lengths follow `weights` (each run gets at
/// least one item while items last).
pub fn split_by_weights(n: usize, weights: &[usize]) -> Vec<std::ops::Range<usize>> {
    let total: usize = weights.iter().sum::<usize>().max(1);
    let mut out = Vec::with_capacity(weights.len());
    let mut start = 0;
    let mut acc = 0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        let remaining_runs = weights.len() - i - 1;
        let mut end = if remaining_runs == 0 { n } else { (n * acc + total / 2) / total };
        end = end.max((start + 1).min(n)).min(n.saturating_sub(remaining_runs).max(start));
        out.push(start..end);
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covers::multipolygon_covers;
    use geo::{polygon, Area, Validation};

    fn l_shape() -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: 116.40, y: 39.90), (x: 116.42, y: 39.90), (x: 116.42, y: 39.91),
            (x: 116.41, y: 39.91), (x: 116.41, y: 39.92), (x: 116.40, y: 39.92), (x: 116.40, y: 39.90)
        ]])
    }

    #[test]
    fn cells_tile_the_territory_exactly() {
        let area = l_shape();
        let lattice = Lattice::cut(&area, 300.0);
        assert!(lattice.cells.len() > 20);
        let total: f64 = (0..lattice.cells.len()).map(|i| lattice.cell_geometry(i).unsigned_area()).sum();
        assert!((total - area.unsigned_area()).abs() < 1e-9, "{total} vs {}", area.unsigned_area());
        for i in 0..lattice.cells.len() {
            assert!(lattice.cell_geometry(i).is_valid());
        }
        let all: Vec<usize> = (0..lattice.cells.len()).collect();
        let union = lattice.union_geometry(&all);
        assert_eq!(union.0.len(), 1);
        assert!((union.unsigned_area() - area.unsigned_area()).abs() < 1e-9);
    }

    #[test]
    fn shared_edges_are_identical_so_edge_points_have_two_owners() {
        let lattice = Lattice::cut(&l_shape(), 300.0);
        let a = lattice.cell_geometry(0);
        let b = lattice.cell_geometry(1);
        // A vertex of cell 0 lying on cell 1 is covered by both.
        let shared = a.0[0].exterior().0.iter().filter(|c| multipolygon_covers(&b, **c)).count();
        assert!(shared >= 2);
    }

    #[test]
    fn hilbert_runs_and_weighted_splits() {
        assert_eq!(hilbert_index(2, 0, 0), 0);
        assert_eq!(hilbert_index(2, 0, 1), 1);
        assert_eq!(hilbert_index(2, 1, 1), 2);
        assert_eq!(hilbert_index(2, 1, 0), 3);
        let runs = split_by_weights(10, &[1, 1, 3]);
        assert_eq!(runs, vec![0..2, 2..4, 4..10]);
        let tight = split_by_weights(3, &[5, 5, 5]);
        assert!(tight.iter().all(|r| r.len() == 1));
    }
}
