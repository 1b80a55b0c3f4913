//! Point-in-polygon with PostGIS `ST_Covers` semantics: the boundary belongs to the polygon.
//!
//! The arithmetic deliberately mirrors PostGIS (winding number, the plain double-precision side
//! test and an inclusive segment-box test) so that a point lying on a shared edge is judged
//! exactly as PostGIS judges it; assignment must agree with `ST_Covers` point for point.

use geo::{Coord, MultiPolygon, Polygon};

/// Where a point lies relative to a ring or polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Outside,
    Boundary,
    Inside,
}

/// Winding-number test of `p` against a closed ring (first coordinate repeated last).
pub fn ring_position(ring: &[Coord<f64>], p: Coord<f64>) -> Position {
    let mut winding = 0i32;
    for seg in ring.windows(2) {
        if seg[0] != seg[1] && winding_step(seg[0], seg[1], p, &mut winding) {
            return Position::Boundary; // zero-length segments (skipped) carry no direction
        }
    }
    if winding == 0 {
        Position::Outside
    } else {
        Position::Inside
    }
}

/// One edge's share of the winding test: `true` when `p` lies on the edge, else the edge's
/// crossing (if any) is added to `winding`. The locator's slab test calls this very function,
/// so both give the same answer to the last bit.
#[inline]
pub(crate) fn winding_step(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>, winding: &mut i32) -> bool {
    // Only segments spanning the point's latitude can touch or wind around it.
    if (p.y < a.y && p.y < b.y) || (p.y > a.y && p.y > b.y) {
        return false;
    }
    let side = (b.x - a.x) * (p.y - a.y) - (p.x - a.x) * (b.y - a.y);
    if side == 0.0 && within_segment_box(a, b, p) {
        return true;
    }
    if a.y <= p.y && p.y < b.y && side > 0.0 {
        *winding += 1;
    } else if b.y <= p.y && p.y < a.y && side < 0.0 {
        *winding -= 1;
    }
    false
}

fn within_segment_box(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> bool {
    a.x.min(b.x) <= p.x && p.x <= a.x.max(b.x) && a.y.min(b.y) <= p.y && p.y <= a.y.max(b.y)
}

/// Position of `p` relative to one polygon: inside its shell and outside all its holes.
pub fn polygon_position(polygon: &Polygon<f64>, p: Coord<f64>) -> Position {
    match ring_position(&polygon.exterior().0, p) {
        Position::Outside => Position::Outside,
        Position::Boundary => Position::Boundary,
        Position::Inside => {
            for hole in polygon.interiors() {
                match ring_position(&hole.0, p) {
                    Position::Inside => return Position::Outside,
                    Position::Boundary => return Position::Boundary,
                    Position::Outside => {}
                }
            }
            Position::Inside
        }
    }
}

/// `ST_Covers(polygon, point)`: true when the point is inside or on the boundary.
pub fn polygon_covers(polygon: &Polygon<f64>, p: Coord<f64>) -> bool {
    polygon_position(polygon, p) != Position::Outside
}

/// `ST_Covers(multipolygon, point)`.
pub fn multipolygon_covers(mp: &MultiPolygon<f64>, p: Coord<f64>) -> bool {
    mp.0.iter().any(|poly| polygon_covers(poly, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{coord, polygon};

    fn square_with_hole() -> Polygon<f64> {
        polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.), (x: 0., y: 0.)],
            interiors: [[(x: 4., y: 4.), (x: 6., y: 4.), (x: 6., y: 6.), (x: 4., y: 6.), (x: 4., y: 4.)]],
        )
    }

    #[test]
    fn boundary_is_covered_and_hole_is_not() {
        let p = square_with_hole();
        assert_eq!(polygon_position(&p, coord! {x: 1., y: 1.}), Position::Inside);
        assert_eq!(polygon_position(&p, coord! {x: 0., y: 5.}), Position::Boundary);
        assert_eq!(polygon_position(&p, coord! {x: 10., y: 10.}), Position::Boundary);
        assert_eq!(polygon_position(&p, coord! {x: 5., y: 5.}), Position::Outside);
        assert_eq!(polygon_position(&p, coord! {x: 4., y: 5.}), Position::Boundary);
        assert_eq!(polygon_position(&p, coord! {x: 11., y: 5.}), Position::Outside);
        assert!(polygon_covers(&p, coord! {x: 6., y: 6.}));
    }

    #[test]
    fn orientation_does_not_matter() {
        let ccw = square_with_hole();
        let mut cw_ring = ccw.exterior().0.clone();
        cw_ring.reverse();
        let cw = Polygon::new(geo::LineString(cw_ring), vec![]);
        for (x, y) in [(1., 1.), (0., 3.), (9.9, 9.9), (-1., 0.)] {
            let p = coord! {x: x, y: y};
            assert_eq!(polygon_covers(&cw, p), ring_position(&ccw.exterior().0, p) != Position::Outside);
        }
    }

    #[test]
    fn bowtie_uses_winding_number_like_postgis() {
        // A self-intersecting ring: both lobes wind (once each way) and so both count as inside.
        let bowtie = polygon![(x: 0., y: 0.), (x: 2., y: 2.), (x: 2., y: 0.), (x: 0., y: 2.), (x: 0., y: 0.)];
        assert!(polygon_covers(&bowtie, coord! {x: 0.2, y: 1.0}));
        assert!(polygon_covers(&bowtie, coord! {x: 1.8, y: 1.0}));
        assert!(polygon_covers(&bowtie, coord! {x: 1.0, y: 1.0}));
        assert!(!polygon_covers(&bowtie, coord! {x: 1.0, y: 1.9}));
    }
}
