//! Validation and repair of boundary geometry as cities actually ship it.
//!
//! Boundaries arrive as raw coordinate arrays (parts → rings → positions) that may be unclosed,
//! too short, out of range or self-intersecting. [`validate`] either returns a valid
//! [`MultiPolygon`] or says what is wrong and where; [`repair`] fixes what can be fixed and
//! reports each fix.

use geo::algorithm::bool_ops::{BooleanOps, FillRule, OpType};
use geo::{Coord, LineString, MultiPolygon, Polygon, Validation};
use serde::Serialize;
use std::fmt;

/// A polygon as a list of rings, each a list of `[lon, lat]` positions, exactly as read.
pub type RawPolygon = Vec<Vec<[f64; 2]>>;
/// A multipolygon as a list of [`RawPolygon`]s.
pub type RawMultiPolygon = Vec<RawPolygon>;

/// One thing wrong with a geometry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Defect {
    /// Which polygon of the multipolygon (0 for a plain polygon); `None` for the whole geometry.
    pub part: Option<usize>,
    /// Which ring of that polygon (0 is the exterior).
    pub ring: Option<usize>,
    pub reason: String,
    /// Where, when a single place can be named (lon, lat).
    pub at: Option<[f64; 2]>,
    /// Whether `--repair` can fix it.
    pub repairable: bool,
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(part) = self.part {
            write!(f, "polygon {part}")?;
            if let Some(ring) = self.ring {
                if ring == 0 {
                    write!(f, " exterior ring")?;
                } else {
                    write!(f, " hole {}", ring - 1)?;
                }
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.reason)?;
        if let Some([x, y]) = self.at {
            write!(f, " at ({x:.7}, {y:.7})")?;
        }
        Ok(())
    }
}

fn defect(part: Option<usize>, ring: Option<usize>, reason: impl Into<String>, repairable: bool) -> Defect {
    Defect { part, ring, reason: reason.into(), at: None, repairable }
}

/// Checks a raw geometry; returns it as a valid multipolygon or lists every defect found.
pub fn validate(raw: &RawMultiPolygon) -> Result<MultiPolygon<f64>, Vec<Defect>> {
    let mut defects = coordinate_defects(raw);
    if !defects.is_empty() {
        return Err(defects);
    }
    if raw.is_empty() || raw.iter().all(|p| p.is_empty()) {
        return Err(vec![defect(None, None, "geometry is empty", false)]);
    }
    for (pi, poly) in raw.iter().enumerate() {
        for (ri, ring) in poly.iter().enumerate() {
            if ring.len() > 1 && ring.first() != ring.last() {
                defects.push(defect(Some(pi), Some(ri), "ring is not closed", true));
            }
            if distinct_positions(ring) < 3 {
                defects.push(defect(
                    Some(pi),
                    Some(ri),
                    format!("ring has too few points ({} positions, needs 3 distinct)", ring.len()),
                    true,
                ));
            }
        }
    }
    if !defects.is_empty() {
        return Err(defects);
    }
    let mp = to_multipolygon(raw);
    let topology = topology_defects(&mp);
    if topology.is_empty() {
        Ok(mp)
    } else {
        Err(topology)
    }
}

/// What [`repair`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repair {
    pub geometry_fixes: Vec<String>,
}

/// Makes a geometry valid where that is possible: closes rings, drops degenerate rings and
/// resolves self-intersections with the even-odd rule (the result `ST_MakeValid` gives for
/// crossing rings). Coordinates out of range and empty geometries cannot be repaired.
pub fn repair(raw: &RawMultiPolygon) -> Result<(MultiPolygon<f64>, Vec<String>), Vec<Defect>> {
    let fatal = coordinate_defects(raw);
    if !fatal.is_empty() {
        return Err(fatal);
    }
    let mut fixes = Vec::new();
    let mut polygons = Vec::new();
    for (pi, poly) in raw.iter().enumerate() {
        let mut rings = Vec::new();
        for (ri, ring) in poly.iter().enumerate() {
            // Snapped to 1e-12° (0.1 µm): no real boundary notices, and the overlay engine
            // overflows on extents of subnormal size (found by fuzzing).
            let mut ring: Vec<[f64; 2]> = ring.iter().map(|p| [snap(p[0]), snap(p[1])]).collect();
            if distinct_positions(&ring) < 3 {
                fixes.push(format!("{}: dropped, too few points", ring_name(pi, ri)));
                if ri == 0 {
                    break; // without its shell the polygon's holes mean nothing
                }
                continue;
            }
            if ring.first() != ring.last() {
                ring.push(ring[0]);
                fixes.push(format!("{}: closed", ring_name(pi, ri)));
            }
            rings.push(ring);
        }
        if !rings.is_empty() {
            polygons.push(rings);
        }
    }
    let mp = to_multipolygon(&polygons);
    let problems = topology_defects(&mp);
    if problems.is_empty() && !mp.0.is_empty() {
        return Ok((mp, fixes));
    }
    for d in &problems {
        fixes.push(format!("{d}: resolved by the even-odd rule"));
    }
    let repaired = resolve_even_odd(&mp);
    if repaired.0.is_empty() {
        return Err(vec![defect(None, None, "geometry is empty after repair (it encloses no area)", false)]);
    }
    let remaining = topology_defects(&repaired);
    if !remaining.is_empty() {
        return Err(remaining);
    }
    Ok((repaired, fixes))
}

fn snap(v: f64) -> f64 {
    (v * 1e12).round() / 1e12
}

/// The region a set of possibly crossing rings encloses under the even-odd rule, as valid polygons.
pub fn resolve_even_odd(mp: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    mp.boolean_op_with_fill_rule(&MultiPolygon::<f64>::new(vec![]), OpType::Union, FillRule::EvenOdd)
}

fn ring_name(part: usize, ring: usize) -> String {
    if ring == 0 {
        format!("polygon {part} exterior ring")
    } else {
        format!("polygon {part} hole {}", ring - 1)
    }
}

fn coordinate_defects(raw: &RawMultiPolygon) -> Vec<Defect> {
    let mut out = Vec::new();
    for (pi, poly) in raw.iter().enumerate() {
        for (ri, ring) in poly.iter().enumerate() {
            for (ci, &[x, y]) in ring.iter().enumerate() {
                let reason = if !x.is_finite() || !y.is_finite() {
                    format!("position {ci} is not a finite number")
                } else if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
                    format!("position {ci} ({x}, {y}) is out of range for longitude/latitude")
                } else {
                    continue;
                };
                out.push(defect(Some(pi), Some(ri), reason, false));
            }
        }
    }
    out
}

fn distinct_positions(ring: &[[f64; 2]]) -> usize {
    let mut seen: Vec<[f64; 2]> = Vec::new();
    for p in ring {
        if !seen.contains(p) {
            seen.push(*p);
            if seen.len() >= 3 {
                break;
            }
        }
    }
    seen.len()
}

fn to_ring(ring: &[[f64; 2]]) -> LineString<f64> {
    LineString(ring.iter().map(|&[x, y]| Coord { x, y }).collect())
}

/// The geometry exactly as given, rings closed, without any check: for point-in-polygon tests,
/// which (like PostGIS's) need no validity.
pub fn as_given(raw: &RawMultiPolygon) -> MultiPolygon<f64> {
    to_multipolygon(raw)
}

fn to_multipolygon(raw: &RawMultiPolygon) -> MultiPolygon<f64> {
    MultiPolygon(
        raw.iter()
            .filter(|p| !p.is_empty())
            .map(|p| Polygon::new(to_ring(&p[0]), p[1..].iter().map(|r| to_ring(r)).collect()))
            .collect(),
    )
}

/// Topology problems (self-intersections, crossing or misplaced rings, overlapping parts),
/// each with a location where one can be found.
fn topology_defects(mp: &MultiPolygon<f64>) -> Vec<Defect> {
    let mut out = Vec::new();
    for (pi, poly) in mp.0.iter().enumerate() {
        for err in poly.validation_errors() {
            let mut d = defect(Some(pi), None, err.to_string(), true);
            if let geo::algorithm::validation::InvalidPolygon::SelfIntersection(role) = &err {
                let ring = match role {
                    geo::algorithm::validation::RingRole::Exterior => poly.exterior(),
                    geo::algorithm::validation::RingRole::Interior(i) => &poly.interiors()[*i],
                };
                d.at = first_self_intersection(&ring.0).map(|c| [c.x, c.y]);
            }
            out.push(d);
        }
    }
    if out.is_empty() {
        // Each polygon is fine on its own; the parts may still overlap one another.
        for err in mp.validation_errors() {
            if !matches!(err, geo::algorithm::validation::InvalidMultiPolygon::InvalidPolygon { .. }) {
                out.push(defect(None, None, err.to_string(), true));
            }
        }
    }
    out
}

/// Where a ring first crosses or touches itself, if it does (O(n²); rings are small).
pub fn first_self_intersection(ring: &[Coord<f64>]) -> Option<Coord<f64>> {
    use geo::{line_intersection::line_intersection, Line, LineIntersection};
    let n = ring.len().saturating_sub(1);
    for i in 0..n {
        let a = Line::new(ring[i], ring[i + 1]);
        for j in (i + 2)..n {
            if i == 0 && j == n - 1 {
                continue; // first and last segments meet at the closing vertex
            }
            let b = Line::new(ring[j], ring[j + 1]);
            match line_intersection(a, b) {
                Some(LineIntersection::SinglePoint { intersection, .. }) => return Some(intersection),
                Some(LineIntersection::Collinear { intersection }) => return Some(intersection.start),
                None => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;

    fn square() -> RawPolygon {
        vec![vec![[0., 0.], [2., 0.], [2., 2.], [0., 2.], [0., 0.]]]
    }

    #[test]
    fn a_clean_square_is_valid() {
        let mp = validate(&vec![square()]).expect("valid");
        assert_eq!(mp.unsigned_area(), 4.0);
    }

    #[test]
    fn every_kind_of_defect_is_named() {
        let unclosed = vec![vec![vec![[0., 0.], [2., 0.], [2., 2.], [0., 2.]]]];
        assert!(validate(&unclosed).expect_err("invalid")[0].reason.contains("not closed"));

        let short = vec![vec![vec![[0., 0.], [1., 1.], [0., 0.]]]];
        assert!(validate(&short).expect_err("invalid")[0].reason.contains("too few points"));

        let out_of_range = vec![vec![vec![[0., 0.], [200., 0.], [2., 2.], [0., 0.]]]];
        let d = validate(&out_of_range).expect_err("invalid");
        assert!(d[0].reason.contains("out of range") && !d[0].repairable);

        let nan = vec![vec![vec![[0., 0.], [f64::NAN, 0.], [2., 2.], [0., 0.]]]];
        assert!(validate(&nan).expect_err("invalid")[0].reason.contains("not a finite number"));

        assert!(validate(&vec![]).expect_err("invalid")[0].reason.contains("empty"));
    }

    #[test]
    fn a_bowtie_is_located_and_repaired_into_two_triangles() {
        let bowtie = vec![vec![vec![[0., 0.], [2., 2.], [2., 0.], [0., 2.], [0., 0.]]]];
        let defects = validate(&bowtie).expect_err("invalid");
        assert!(defects[0].reason.contains("self-intersection"), "{defects:?}");
        assert_eq!(defects[0].at, Some([1.0, 1.0]));

        let (fixed, fixes) = repair(&bowtie).expect("repairable");
        assert_eq!(fixed.0.len(), 2);
        assert!((fixed.unsigned_area() - 2.0).abs() < 1e-9);
        assert!(fixed.is_valid());
        assert!(fixes[0].contains("even-odd"));
    }

    #[test]
    fn repair_closes_rings_and_refuses_what_cannot_be_fixed() {
        let unclosed = vec![vec![vec![[0., 0.], [2., 0.], [2., 2.], [0., 2.]]]];
        let (fixed, fixes) = repair(&unclosed).expect("closable");
        assert_eq!(fixed.unsigned_area(), 4.0);
        assert_eq!(fixes, ["polygon 0 exterior ring: closed"]);

        let out_of_range = vec![vec![vec![[0., 0.], [0., 95.], [2., 2.], [0., 0.]]]];
        assert!(repair(&out_of_range).is_err());
        let degenerate = vec![vec![vec![[0., 0.], [1., 1.], [0., 0.]]]];
        assert!(repair(&degenerate).is_err());
    }
}

#[cfg(test)]
mod fuzz_cases {
    use super::*;

    #[test]
    fn subnormal_and_tiny_extents_do_not_reach_the_overlay_engine_unsnapped() {
        // The fuzzer's polygon: a degenerate ring of subnormal coordinates.
        let subnormal = vec![vec![vec![[0.0, 1.265e-321], [0.0, 0.0], [0.0, 0.0], [3.4e-306, 0.0], [0.0, 0.0]]]];
        assert!(repair(&subnormal).is_err(), "no area once snapped");
        // A bow-tie a few snapping steps wide still repairs.
        let tiny = vec![vec![vec![[0.0, 0.0], [4e-12, 4e-12], [4e-12, 0.0], [0.0, 4e-12], [0.0, 0.0]]]];
        let (mp, _) = repair(&tiny).expect("repairable");
        assert_eq!(mp.0.len(), 2);
    }
}
