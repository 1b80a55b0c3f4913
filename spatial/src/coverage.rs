//! Weekly coverage: which assessment points did officers reach, on which days?
//!
//! A point (or street, or market) is *visited on a day* when an inspection was recorded at it
//! that day, or when a GPS fix fell within `radius_m` metres of any part of it (inside a
//! polygon counts as 0 m). Its visits in a week are the number of days it was visited, so two
//! check-ins an hour apart are one visit; it is covered when its visits reach its required
//! count. PostGIS asks the same with `ST_DWithin(point::geography, fix::geography, radius)`.
//!
//! Speed comes from three things: a uniform cell grid over the targets' reach (one array
//! lookup per fix), measuring in a local metric frame instead of on the ellipsoid (sub-millimetre
//! difference at 30 m), and skipping every target already visited earlier on the fix's day.

use crate::covers::polygon_covers;
use crate::geodesy::metres_per_degree;
use geo::{BoundingRect, Coord, Geometry, LineString, Polygon};

pub const DAYS: usize = 7;
const SECONDS_PER_DAY: i64 = 86_400;
/// Most cells the lookup grid may have (about 64 MB of offsets); beyond it, cells grow.
const MAX_CELLS: usize = 16_000_000;

/// One GPS fix: seconds since the Unix epoch and a WGS-84 position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub t: i64,
    pub lon: f64,
    pub lat: f64,
}

/// What a target is, ready for distance tests.
#[derive(Debug, Clone)]
struct Shape {
    /// Points, and the reference the local frame of a pure point target uses.
    points: Vec<Coord<f64>>,
    /// Line strings and polygon rings: measured along their segments.
    paths: Vec<Vec<Coord<f64>>>,
    /// Polygons: a fix inside is at distance 0.
    polygons: Vec<Polygon<f64>>,
    /// Metres per degree (lat, lon) at the first point, for pure point targets.
    scale: (f64, f64),
    /// Bounding box grown by the radius: [min_lon, min_lat, max_lon, max_lat].
    reach: [f64; 4],
}

impl Shape {
    fn new(geometry: &Geometry<f64>, radius_m: f64) -> Option<Self> {
        let mut shape = Shape { points: vec![], paths: vec![], polygons: vec![], scale: (0.0, 0.0), reach: [0.0; 4] };
        shape.add(geometry);
        let r = geometry.bounding_rect()?;
        let (per_lat, _) = metres_per_degree(r.min().y);
        // A degree of longitude is shortest at the latitude farthest from the equator.
        let (_, per_lon) = metres_per_degree(r.min().y.abs().max(r.max().y.abs()).min(89.9));
        let grow_lat = radius_m / per_lat * 1.01;
        let grow_lon = (radius_m / per_lon.max(1.0) * 1.01).min(360.0);
        shape.reach = [r.min().x - grow_lon, r.min().y - grow_lat, r.max().x + grow_lon, r.max().y + grow_lat];
        let first = shape.points.first().or(shape.paths.first().and_then(|p| p.first())).copied()?;
        shape.scale = metres_per_degree(first.y);
        Some(shape)
    }

    fn add(&mut self, geometry: &Geometry<f64>) {
        match geometry {
            Geometry::Point(p) => self.points.push(p.0),
            Geometry::MultiPoint(mp) => self.points.extend(mp.0.iter().map(|p| p.0)),
            Geometry::Line(l) => self.paths.push(vec![l.start, l.end]),
            Geometry::LineString(ls) => self.add_path(ls),
            Geometry::MultiLineString(mls) => mls.0.iter().for_each(|ls| self.add_path(ls)),
            Geometry::Polygon(p) => self.add_polygon(p),
            Geometry::MultiPolygon(mp) => mp.0.iter().for_each(|p| self.add_polygon(p)),
            Geometry::Rect(r) => self.add_polygon(&r.to_polygon()),
            Geometry::Triangle(t) => self.add_polygon(&t.to_polygon()),
            Geometry::GeometryCollection(c) => c.0.iter().for_each(|g| self.add(g)),
        }
    }

    fn add_path(&mut self, ls: &LineString<f64>) {
        match ls.0.len() {
            0 => {}
            1 => self.points.push(ls.0[0]),
            _ => self.paths.push(ls.0.clone()),
        }
    }

    fn add_polygon(&mut self, p: &Polygon<f64>) {
        self.add_path(p.exterior());
        p.interiors().iter().for_each(|ring| self.add_path(ring));
        self.polygons.push(p.clone());
    }

    fn is_point(&self) -> bool {
        self.paths.is_empty() && self.polygons.is_empty() && self.points.len() == 1
    }

    fn reaches(&self, c: Coord<f64>) -> bool {
        c.x >= self.reach[0] && c.y >= self.reach[1] && c.x <= self.reach[2] && c.y <= self.reach[3]
    }

    /// Is `c` within `r2` (metres squared) of the shape?
    fn within(&self, c: Coord<f64>, r2: f64) -> bool {
        if !self.reaches(c) {
            return false;
        }
        // A point target measures in its own frame; anything larger in the fix's frame, so the
        // scale is right where the distance is short.
        let (ky, kx) = if self.is_point() { self.scale } else { metres_per_degree(c.y) };
        let local = |v: Coord<f64>| [(v.x - c.x) * kx, (v.y - c.y) * ky];
        if self.points.iter().any(|&p| {
            let [x, y] = local(p);
            x * x + y * y <= r2
        }) {
            return true;
        }
        if self.polygons.iter().any(|p| polygon_covers(p, c)) {
            return true;
        }
        self.paths
            .iter()
            .any(|path| path.windows(2).any(|s| point_segment_d2([0.0, 0.0], local(s[0]), local(s[1])) <= r2))
    }

    /// Does the segment `a`–`b` pass within `r2` (metres squared) of the shape?
    fn within_segment(&self, a: Coord<f64>, b: Coord<f64>, r2: f64) -> bool {
        let (ky, kx) = metres_per_degree((a.y + b.y) / 2.0);
        let local = |v: Coord<f64>| [(v.x - a.x) * kx, (v.y - a.y) * ky];
        let (la, lb) = (local(a), local(b));
        if self.points.iter().any(|&p| point_segment_d2(local(p), la, lb) <= r2) {
            return true;
        }
        if self.polygons.iter().any(|p| polygon_covers(p, a) || polygon_covers(p, b)) {
            return true;
        }
        self.paths
            .iter()
            .any(|path| path.windows(2).any(|s| segment_segment_d2(la, lb, local(s[0]), local(s[1])) <= r2))
    }
}

fn point_segment_d2(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let (x, y) = (a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    x * x + y * y
}

fn cross(o: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

fn segment_segment_d2(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> f64 {
    let (d1, d2, d3, d4) = (cross(c, d, a), cross(c, d, b), cross(a, b, c), cross(a, b, d));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0)) && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0)) {
        return 0.0;
    }
    point_segment_d2(a, c, d)
        .min(point_segment_d2(b, c, d))
        .min(point_segment_d2(c, a, b))
        .min(point_segment_d2(d, a, b))
}

/// The targets of one coverage computation, indexed for fast "which targets are near here?".
#[derive(Debug, Clone)]
pub struct CoverageIndex {
    shapes: Vec<Option<Shape>>,
    radius2: f64,
    origin: [f64; 2],
    cell: [f64; 2],
    columns: usize,
    rows: usize,
    /// Compressed rows: the targets reaching cell `i` are `entries[starts[i]..starts[i + 1]]`.
    starts: Vec<u32>,
    entries: Vec<u32>,
}

impl CoverageIndex {
    /// Indexes `targets` for fixes within `radius_m` metres. Empty geometries never match.
    pub fn new(targets: &[Geometry<f64>], radius_m: f64) -> Self {
        let radius_m = radius_m.max(0.0);
        let shapes: Vec<Option<Shape>> = targets.iter().map(|g| Shape::new(g, radius_m)).collect();
        let mut extent = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for s in shapes.iter().flatten() {
            extent = [
                extent[0].min(s.reach[0]),
                extent[1].min(s.reach[1]),
                extent[2].max(s.reach[2]),
                extent[3].max(s.reach[3]),
            ];
        }
        if !extent[0].is_finite() {
            extent = [0.0, 0.0, 0.0, 0.0];
        }
        // Cells about twice the radius wide, grown until the grid fits in MAX_CELLS.
        let (per_lat, per_lon) = metres_per_degree((extent[1] + extent[3]) / 2.0);
        let side_m = (2.0 * radius_m).max(20.0);
        let mut cell = [side_m / per_lon.max(1.0), side_m / per_lat];
        let (width, height) = ((extent[2] - extent[0]).max(1e-9), (extent[3] - extent[1]).max(1e-9));
        while (width / cell[0]).ceil() * (height / cell[1]).ceil() > MAX_CELLS as f64 {
            cell = [cell[0] * 2.0, cell[1] * 2.0];
        }
        let columns = ((width / cell[0]).ceil() as usize).max(1);
        let rows = ((height / cell[1]).ceil() as usize).max(1);
        let mut index = CoverageIndex {
            shapes,
            radius2: radius_m * radius_m,
            origin: [extent[0], extent[1]],
            cell,
            columns,
            rows,
            starts: vec![0; columns * rows + 1],
            entries: Vec::new(),
        };
        let spans: Vec<Option<[usize; 4]>> =
            index.shapes.iter().map(|s| s.as_ref().map(|s| index.cell_span(s.reach))).collect();
        for [c0, r0, c1, r1] in spans.iter().flatten() {
            for row in *r0..=*r1 {
                for col in *c0..=*c1 {
                    index.starts[row * columns + col + 1] += 1;
                }
            }
        }
        for i in 1..index.starts.len() {
            index.starts[i] += index.starts[i - 1];
        }
        let mut fill = index.starts.clone();
        index.entries = vec![0; index.starts[columns * rows] as usize];
        for (target, span) in spans.iter().enumerate() {
            let Some([c0, r0, c1, r1]) = span else { continue };
            for row in *r0..=*r1 {
                for col in *c0..=*c1 {
                    let slot = &mut fill[row * columns + col];
                    index.entries[*slot as usize] = target as u32;
                    *slot += 1;
                }
            }
        }
        index
    }

    pub fn len(&self) -> usize {
        self.shapes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    fn cell_span(&self, r: [f64; 4]) -> [usize; 4] {
        let col = |x: f64| (((x - self.origin[0]) / self.cell[0]).floor().max(0.0) as usize).min(self.columns - 1);
        let row = |y: f64| (((y - self.origin[1]) / self.cell[1]).floor().max(0.0) as usize).min(self.rows - 1);
        [col(r[0]), row(r[1]), col(r[2]), row(r[3])]
    }

    /// The targets whose reach includes the cell of `c` (a superset of those within the radius).
    fn candidates(&self, c: Coord<f64>) -> &[u32] {
        let (x, y) = ((c.x - self.origin[0]) / self.cell[0], (c.y - self.origin[1]) / self.cell[1]);
        if !(x >= 0.0 && y >= 0.0 && x < self.columns as f64 && y < self.rows as f64) {
            return &[];
        }
        let i = y as usize * self.columns + x as usize;
        &self.entries[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// Is `c` within the radius of target `i`?
    pub fn is_within(&self, i: usize, c: Coord<f64>) -> bool {
        self.shapes.get(i).and_then(Option::as_ref).is_some_and(|s| s.within(c, self.radius2))
    }

    /// Every target within the radius of `c`, in index order.
    pub fn near(&self, c: Coord<f64>) -> Vec<usize> {
        let mut found: Vec<usize> =
            self.candidates(c).iter().map(|&i| i as usize).filter(|&i| self.is_within(i, c)).collect();
        found.sort_unstable();
        found
    }

    /// Every target a line (a planned route) passes within the radius of.
    pub fn along(&self, line: &LineString<f64>) -> Vec<usize> {
        let mut found = vec![false; self.shapes.len()];
        for segment in line.0.windows(2) {
            let (a, b) = (segment[0], segment[1]);
            let [c0, r0, c1, r1] = self.cell_span([a.x.min(b.x), a.y.min(b.y), a.x.max(b.x), a.y.max(b.y)]);
            for row in r0..=r1 {
                for col in c0..=c1 {
                    let i = row * self.columns + col;
                    for &t in &self.entries[self.starts[i] as usize..self.starts[i + 1] as usize] {
                        let t = t as usize;
                        if !found[t] && self.shapes[t].as_ref().is_some_and(|s| s.within_segment(a, b, self.radius2)) {
                            found[t] = true;
                        }
                    }
                }
            }
        }
        if let [only] = line.0.as_slice() {
            self.near(*only).into_iter().for_each(|t| found[t] = true);
        }
        found.iter().enumerate().filter(|(_, &f)| f).map(|(i, _)| i).collect()
    }
}

/// Which grids of `index` hold at least one of `fixes` (each grid covering a fix counts).
/// Consecutive fixes of a track usually stay in one grid, so that grid is tried first.
pub fn grids_with_fixes<T>(index: &crate::index::GridIndex<T>, fixes: &[Fix], seen: &mut [bool]) {
    let mut last: Option<usize> = None;
    for f in fixes {
        let c = Coord { x: f.lon, y: f.lat };
        if let Some(g) = last {
            if crate::covers::multipolygon_covers(&index.entries()[g].geometry, c) {
                continue;
            }
        }
        last = index.locate_index(c);
        if let Some(g) = last {
            if let Some(s) = seen.get_mut(g) {
                *s = true;
            }
        }
    }
}

/// One week of visits: for every target and day, the earliest time it was visited.
#[derive(Debug, Clone)]
pub struct WeekTally {
    /// The week's first second (local midnight of its first day), Unix seconds.
    pub start: i64,
    first: Vec<[i64; DAYS]>,
}

impl WeekTally {
    pub fn new(targets: usize, start: i64) -> Self {
        Self { start, first: vec![[i64::MAX; DAYS]; targets] }
    }

    fn day(&self, t: i64) -> Option<usize> {
        let day = (t - self.start).div_euclid(SECONDS_PER_DAY);
        (0..DAYS as i64).contains(&day).then_some(day as usize)
    }

    /// An inspection (check-in) at target `i` at time `t`. Outside the week it is ignored.
    pub fn visit(&mut self, i: usize, t: i64) {
        if let (Some(day), Some(first)) = (self.day(t), self.first.get_mut(i)) {
            first[day] = first[day].min(t);
        }
    }

    /// Counts a track's fixes. Fixes outside the week are ignored.
    pub fn add_fixes(&mut self, index: &CoverageIndex, fixes: &[Fix]) {
        for fix in fixes {
            let Some(day) = self.day(fix.t) else { continue };
            let c = Coord { x: fix.lon, y: fix.lat };
            for &t in index.candidates(c) {
                let slot = &mut self.first[t as usize][day];
                // Already visited at or before this fix on the same day: nothing to learn.
                if *slot <= fix.t {
                    continue;
                }
                if index.is_within(t as usize, c) {
                    *slot = fix.t;
                }
            }
        }
    }

    /// Days on which target `i` was visited.
    pub fn visits(&self, i: usize) -> u32 {
        self.first.get(i).map_or(0, |f| f.iter().filter(|&&t| t != i64::MAX).count() as u32)
    }

    /// When the most recent day's visit to target `i` began.
    pub fn last_visit(&self, i: usize) -> Option<i64> {
        self.first.get(i)?.iter().rev().find(|&&t| t != i64::MAX).copied()
    }

    /// The days (0 = the week's first) on which target `i` was visited.
    pub fn days(&self, i: usize) -> Vec<usize> {
        self.first.get(i).map_or(vec![], |f| (0..DAYS).filter(|&d| f[d] != i64::MAX).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geodesy::distance_m;
    use geo::{line_string, point, polygon, Point};

    const MONDAY: i64 = 1_794_787_200; // 2026-11-16 00:00 UTC

    fn fix(t: i64, lon: f64, lat: f64) -> Fix {
        Fix { t, lon, lat }
    }

    /// A position `metres` east of `p`.
    fn east(p: Point<f64>, metres: f64) -> Coord<f64> {
        let (_, per_lon) = metres_per_degree(p.y());
        Coord { x: p.x() + metres / per_lon, y: p.y() }
    }

    #[test]
    fn distances_agree_with_the_ellipsoid_at_the_threshold() {
        let p = point!(x: 116.40, y: 39.90);
        let index = CoverageIndex::new(&[Geometry::Point(p)], 30.0);
        for m in [29.9, 29.99, 30.01, 30.1] {
            let c = east(p, m);
            let geodesic = distance_m(p, Point(c));
            assert_eq!(index.is_within(0, c), geodesic <= 30.0, "{m} m east is {geodesic} m on the ellipsoid");
        }
    }

    #[test]
    fn lines_and_polygons_measure_to_their_nearest_part() {
        let street = line_string![(x: 116.40, y: 39.90), (x: 116.41, y: 39.90)];
        let market =
            polygon![(x: 116.42, y: 39.90), (x: 116.43, y: 39.90), (x: 116.43, y: 39.91), (x: 116.42, y: 39.91)];
        let index = CoverageIndex::new(&[Geometry::LineString(street), Geometry::Polygon(market)], 30.0);
        let (per_lat, _) = metres_per_degree(39.9);
        let north = |x: f64, m: f64| Coord { x, y: 39.90 + m / per_lat };
        assert_eq!(index.near(north(116.405, 25.0)), [0], "25 m north of the street's middle");
        assert!(index.near(north(116.405, 35.0)).is_empty());
        assert_eq!(index.near(north(116.425, 500.0)), [1], "inside the market");
        assert_eq!(index.near(north(116.425, -29.0)), [1], "29 m south of the market");
        assert!(index.near(north(116.415, 0.0)).is_empty(), "between them");
    }

    #[test]
    fn visits_are_days_and_only_this_week_counts() {
        let p = point!(x: 116.40, y: 39.90);
        let index = CoverageIndex::new(&[Geometry::Point(p), Geometry::Point(point!(x: 116.5, y: 39.9))], 30.0);
        let mut week = WeekTally::new(2, MONDAY);
        let near = east(p, 10.0);
        week.add_fixes(
            &index,
            &[
                fix(MONDAY + 3600, near.x, near.y),
                fix(MONDAY + 3615, near.x, near.y),
                fix(MONDAY + 86_400 * 2 + 60, near.x, near.y),
                fix(MONDAY - 1, near.x, near.y),
                fix(MONDAY + 86_400 * 7, near.x, near.y),
            ],
        );
        assert_eq!(week.visits(0), 2);
        assert_eq!(week.days(0), [0, 2]);
        assert_eq!(week.last_visit(0), Some(MONDAY + 86_400 * 2 + 60));
        assert_eq!(week.visits(1), 0);
        week.visit(1, MONDAY + 100);
        week.visit(1, MONDAY + 50);
        assert_eq!((week.visits(1), week.last_visit(1)), (1, Some(MONDAY + 50)));
        // A later-sent but earlier fix moves the day's first visit back.
        week.add_fixes(&index, &[fix(MONDAY + 1800, near.x, near.y)]);
        assert_eq!(week.days(0), [0, 2]);
        assert_eq!(week.first[0][0], MONDAY + 1800);
    }

    #[test]
    fn routes_pass_points_within_the_radius() {
        let p = point!(x: 116.40, y: 39.90);
        let index = CoverageIndex::new(&[Geometry::Point(p), Geometry::Point(Point(east(p, 200.0)))], 30.0);
        let (per_lat, _) = metres_per_degree(39.9);
        let route = line_string![(x: 116.399, y: 39.90 + 20.0 / per_lat), (x: 116.4015, y: 39.90 + 20.0 / per_lat)];
        assert_eq!(index.along(&route), [0]);
    }

    #[test]
    fn empty_and_far_away_inputs_are_harmless() {
        let index = CoverageIndex::new(&[Geometry::LineString(LineString(vec![]))], 30.0);
        let mut week = WeekTally::new(1, MONDAY);
        week.add_fixes(&index, &[fix(MONDAY, 0.0, 0.0), fix(MONDAY, 179.9, -89.9)]);
        assert_eq!(week.visits(0), 0);
        assert!(CoverageIndex::new(&[], 30.0).near(Coord { x: 1.0, y: 1.0 }).is_empty());
    }
}
