//! Web Mercator tiles (`z/x/y`, XYZ scheme as MapLibre asks for them): tile addressing, the
//! longitude/latitude boxes to query for a tile, and turning geometry into MVT commands —
//! projected, clipped to the tile plus a buffer, simplified for the zoom and oriented as MVT 2.1
//! requires (exterior rings clockwise on screen, holes counter-clockwise).
//!
//! The antimeridian: a tile's buffer may reach past ±180°; [`TileId::query_boxes`] then also asks
//! for the other side, shifted by a whole world, so features touching the line draw seamlessly.
//! The poles: Web Mercator ends at ±85.0511°; polygons beyond are clamped to the tile edge (a polar
//! cap still fills its top tiles) and points beyond are not in any tile.

use crate::mvt::{command, zigzag32, GeomType, CLOSE_PATH, LINE_TO, MOVE_TO};
use geo::{Coord, MultiPolygon, Rect};

/// Tile coordinates are 0..EXTENT across a tile.
pub const EXTENT: u32 = 4096;
/// Geometry is kept this far (in tile units) beyond the tile edge so strokes join across tiles.
pub const BUFFER: f64 = 64.0;
/// Highest zoom served: a tile is ~10 m across there.
pub const MAX_ZOOM: u8 = 22;
/// Web Mercator's latitude limit, where the square world ends.
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;
/// Ring vertices closer than this (tile units) to the simplified line are dropped; 4096 units
/// span 512 screen pixels, so this is half a pixel at any zoom.
const SIMPLIFY_TOLERANCE: f64 = 4.0;

/// One tile of the XYZ pyramid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// The world shifts a feature is drawn under in one tile: at most one per query box (three).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Shifts {
    list: [f64; 3],
    len: u8,
}

impl Shifts {
    fn one(shift: f64) -> Self {
        Self { list: [shift, 0.0, 0.0], len: 1 }
    }

    fn push(&mut self, shift: f64) {
        if let Some(slot) = self.list.get_mut(usize::from(self.len)) {
            *slot = shift;
            self.len += 1;
        }
    }
}

impl std::ops::Deref for Shifts {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        &self.list[..usize::from(self.len)]
    }
}

impl TileId {
    /// Checks the address: zoom up to [`MAX_ZOOM`], column and row inside the zoom's 2^z.
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, String> {
        if z > u32::from(MAX_ZOOM) {
            return Err(format!("zoom {z} is above the highest served zoom {MAX_ZOOM}"));
        }
        let n = 1u64 << z;
        if u64::from(x) >= n || u64::from(y) >= n {
            return Err(format!("tile {z}/{x}/{y} does not exist: x and y run from 0 to {} at zoom {z}", n - 1));
        }
        Ok(Self { z: z as u8, x, y })
    }

    fn tiles_across(&self) -> f64 {
        f64::from(1u32 << self.z)
    }

    /// The tile's own longitude/latitude box (no buffer).
    pub fn bounds(&self) -> Rect<f64> {
        let n = self.tiles_across();
        let west = f64::from(self.x) / n * 360.0 - 180.0;
        let east = f64::from(self.x + 1) / n * 360.0 - 180.0;
        let north = latitude_of(f64::from(self.y) / n);
        let south = latitude_of(f64::from(self.y + 1) / n);
        Rect::new(Coord { x: west, y: south }, Coord { x: east, y: north })
    }

    /// The boxes to look features up in, each with the world shift (in whole worlds) to apply to
    /// what it finds: the buffered tile, and across the antimeridian when the buffer reaches it.
    pub fn query_boxes(&self) -> Vec<(Rect<f64>, f64)> {
        let n = self.tiles_across();
        let margin = BUFFER / f64::from(EXTENT);
        let world_x = |t: f64| t / n * 360.0 - 180.0;
        let (west, east) = (world_x(f64::from(self.x) - margin), world_x(f64::from(self.x + 1) + margin));
        // Rows at the top and bottom reach the poles: what lies beyond the Mercator limit is clamped onto them.
        let north = if self.y == 0 { 90.0 } else { latitude_of((f64::from(self.y) - margin) / n) };
        let south = if u64::from(self.y) + 1 == 1u64 << self.z {
            -90.0
        } else {
            latitude_of((f64::from(self.y + 1) + margin) / n)
        };
        let rect = |w: f64, e: f64| Rect::new(Coord { x: w, y: south }, Coord { x: e, y: north });
        let mut boxes = vec![(rect(west.max(-180.0), east.min(180.0)), 0.0)];
        if west < -180.0 {
            boxes.push((rect(west + 360.0, 180.0), -1.0));
        }
        if east > 180.0 {
            boxes.push((rect(-180.0, east - 360.0), 1.0));
        }
        boxes
    }

    /// Feature indexes found by `lookup` in each query box, each with every world shift it was
    /// found under: one feature per index, drawn once per shift. `lookup` gives each index at
    /// most once per box.
    pub fn candidates<I: IntoIterator<Item = usize>>(
        &self,
        mut lookup: impl FnMut(Rect<f64>) -> I,
    ) -> Vec<(usize, Shifts)> {
        let boxes = self.query_boxes();
        // One box, as for every tile away from the antimeridian: nothing to merge (a zoom-12
        // tile of a big city finds a million cases, and a map of them took half a second).
        if let [(rect, shift)] = boxes[..] {
            return lookup(rect).into_iter().map(|i| (i, Shifts::one(shift))).collect();
        }
        let mut found: std::collections::BTreeMap<usize, Shifts> = std::collections::BTreeMap::new();
        for (rect, shift) in boxes {
            for i in lookup(rect) {
                found.entry(i).or_default().push(shift);
            }
        }
        found.into_iter().collect()
    }

    /// A longitude/latitude position in this tile's units (may lie outside 0..EXTENT), after
    /// shifting it by `shift` whole worlds.
    pub fn project(&self, c: Coord<f64>, shift: f64) -> Coord<f64> {
        let n = self.tiles_across();
        let wx = (c.x + 180.0) / 360.0 + shift;
        let lat = c.y.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians();
        let wy = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
        let e = f64::from(EXTENT);
        Coord { x: (wx * n - f64::from(self.x)) * e, y: (wy * n - f64::from(self.y)) * e }
    }

    /// A point's MVT commands, or `None` when it is outside the tile (buffer excluded, so each
    /// point is drawn by exactly one tile) or beyond Web Mercator's latitude limit.
    pub fn point_commands(&self, c: Coord<f64>, shift: f64) -> Option<Vec<u32>> {
        self.point_position(c, shift).map(point_at)
    }

    /// Where a point falls in this tile, in whole units; `None` outside the tile itself.
    pub fn point_position(&self, c: Coord<f64>, shift: f64) -> Option<(i32, i32)> {
        if !(-MAX_LATITUDE..=MAX_LATITUDE).contains(&c.y) {
            return None;
        }
        let p = self.project(c, shift);
        let e = f64::from(EXTENT);
        ((0.0..e).contains(&p.x) && (0.0..e).contains(&p.y)).then_some((p.x as i32, p.y as i32))
    }

    /// A (multi)polygon's MVT commands: every ring projected (once per world shift, see
    /// [`TileId::query_boxes`]), clipped to the buffered tile, simplified, snapped to whole units
    /// and oriented. `None` when nothing of it is left.
    pub fn polygon_commands(&self, mp: &MultiPolygon<f64>, shifts: &[f64]) -> Option<Vec<u32>> {
        let mut out = Vec::new();
        let mut cursor = (0i32, 0i32);
        for (polygon, &shift) in shifts.iter().flat_map(|s| mp.0.iter().map(move |p| (p, s))) {
            let Some(exterior) = self.tile_ring(polygon.exterior(), shift) else { continue };
            let area = signed_area(&exterior);
            if area == 0 {
                continue;
            }
            encode_ring(&exterior, area < 0, &mut cursor, &mut out);
            for hole in polygon.interiors() {
                if let Some(ring) = self.tile_ring(hole, shift) {
                    let area = signed_area(&ring);
                    if area != 0 {
                        encode_ring(&ring, area > 0, &mut cursor, &mut out);
                    }
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// A line's (or lines') MVT commands: projected, cut to the buffered tile, simplified and
    /// snapped; `None` when nothing of it crosses the tile.
    pub fn line_commands(&self, lines: &[&geo::LineString<f64>], shifts: &[f64]) -> Option<Vec<u32>> {
        let mut out = Vec::new();
        let mut cursor = (0i32, 0i32);
        for (line, &shift) in shifts.iter().flat_map(|s| lines.iter().map(move |l| (l, s))) {
            let projected: Vec<Coord<f64>> = line.0.iter().map(|&c| self.project(c, shift)).collect();
            for part in clip_line(&projected, -BUFFER, f64::from(EXTENT) + BUFFER) {
                let snapped = snap(simplify_open(&part, SIMPLIFY_TOLERANCE));
                if snapped.len() >= 2 {
                    encode_path(&snapped, false, &mut cursor, &mut out);
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// Any simple geometry's MVT type and commands, or `None` when nothing of it is in the tile.
    pub fn geometry_commands(&self, g: &geo::Geometry<f64>, shifts: &[f64]) -> Option<(GeomType, Vec<u32>)> {
        use geo::Geometry as G;
        match g {
            G::Point(p) => shifts.iter().find_map(|&s| self.point_commands(p.0, s)).map(|c| (GeomType::Point, c)),
            G::MultiPoint(mp) => {
                let inside: Vec<(i32, i32)> =
                    shifts.iter().flat_map(|&s| mp.0.iter().filter_map(move |p| self.point_position(p.0, s))).collect();
                if inside.is_empty() {
                    return None;
                }
                let mut out = vec![command(MOVE_TO, inside.len() as u32)];
                let mut cursor = (0, 0);
                for (x, y) in inside {
                    out.push(zigzag32(x - cursor.0));
                    out.push(zigzag32(y - cursor.1));
                    cursor = (x, y);
                }
                Some((GeomType::Point, out))
            }
            G::LineString(l) => self.line_commands(&[l], shifts).map(|c| (GeomType::LineString, c)),
            G::MultiLineString(ml) => {
                self.line_commands(&ml.0.iter().collect::<Vec<_>>(), shifts).map(|c| (GeomType::LineString, c))
            }
            G::Polygon(p) => {
                self.polygon_commands(&MultiPolygon(vec![p.clone()]), shifts).map(|c| (GeomType::Polygon, c))
            }
            G::MultiPolygon(mp) => self.polygon_commands(mp, shifts).map(|c| (GeomType::Polygon, c)),
            _ => None,
        }
    }

    /// One ring in whole tile units: projected, clipped, simplified and without repeats (open: the
    /// first vertex is not repeated at the end). `None` when fewer than three vertices are left.
    fn tile_ring(&self, ring: &geo::LineString<f64>, shift: f64) -> Option<Vec<(i32, i32)>> {
        let projected: Vec<Coord<f64>> = ring.0.iter().map(|&c| self.project(c, shift)).collect();
        let clipped = clip_ring(&projected, -BUFFER, f64::from(EXTENT) + BUFFER);
        if clipped.len() < 3 {
            return None;
        }
        let mut snapped = snap(simplify_ring(&clipped, SIMPLIFY_TOLERANCE));
        while snapped.len() > 1 && snapped.first() == snapped.last() {
            snapped.pop();
        }
        (snapped.len() >= 3).then_some(snapped)
    }
}

/// The MVT commands of one point at a tile position.
pub fn point_at((x, y): (i32, i32)) -> Vec<u32> {
    vec![command(MOVE_TO, 1), zigzag32(x), zigzag32(y)]
}

/// Latitude of a Web Mercator world y in 0..1 (0 at the top).
fn latitude_of(world_y: f64) -> f64 {
    let n = std::f64::consts::PI * (1.0 - 2.0 * world_y);
    n.sinh().atan().to_degrees()
}

/// Twice the surveyor's-formula area in tile coordinates (y down): positive is clockwise on screen.
fn signed_area(ring: &[(i32, i32)]) -> i64 {
    let mut sum = 0i64;
    for (i, &(x0, y0)) in ring.iter().enumerate() {
        let (x1, y1) = ring[(i + 1) % ring.len()];
        sum += i64::from(x0) * i64::from(y1) - i64::from(x1) * i64::from(y0);
    }
    sum
}

/// Tile positions rounded to whole units, without consecutive repeats.
fn snap(coords: Vec<Coord<f64>>) -> Vec<(i32, i32)> {
    let mut snapped: Vec<(i32, i32)> = Vec::with_capacity(coords.len());
    for c in coords {
        let p = (c.x.round() as i32, c.y.round() as i32);
        if snapped.last() != Some(&p) {
            snapped.push(p);
        }
    }
    snapped
}

/// MoveTo, LineTo… (and ClosePath for a ring) with parameters as deltas from the cursor.
fn encode_path(path: &[(i32, i32)], close: bool, cursor: &mut (i32, i32), out: &mut Vec<u32>) {
    for (i, &(x, y)) in path.iter().enumerate() {
        if i == 0 {
            out.push(command(MOVE_TO, 1));
        } else if i == 1 {
            out.push(command(LINE_TO, path.len() as u32 - 1));
        }
        out.push(zigzag32(x - cursor.0));
        out.push(zigzag32(y - cursor.1));
        *cursor = (x, y);
    }
    if close {
        out.push(command(CLOSE_PATH, 1));
    }
}

/// A ring's commands; `reverse` flips its winding.
fn encode_ring(ring: &[(i32, i32)], reverse: bool, cursor: &mut (i32, i32), out: &mut Vec<u32>) {
    if reverse {
        let reversed: Vec<(i32, i32)> = ring.iter().rev().copied().collect();
        encode_path(&reversed, true, cursor, out);
    } else {
        encode_path(ring, true, cursor, out);
    }
}

/// Sutherland–Hodgman against the square `lo..hi` on both axes. The ring may come back with
/// edges running along the square's border; renderers fill it correctly.
fn clip_ring(ring: &[Coord<f64>], lo: f64, hi: f64) -> Vec<Coord<f64>> {
    let inside_all = ring.iter().all(|c| (lo..=hi).contains(&c.x) && (lo..=hi).contains(&c.y));
    if inside_all {
        return ring.to_vec();
    }
    let mut current = ring.to_vec();
    // Each edge of the square: which axis, which bound, and whether inside means ≥ the bound.
    for (axis_x, bound, keep_above) in [(true, lo, true), (true, hi, false), (false, lo, true), (false, hi, false)] {
        if current.is_empty() {
            break;
        }
        let value = |c: &Coord<f64>| if axis_x { c.x } else { c.y };
        let inside = |c: &Coord<f64>| if keep_above { value(c) >= bound } else { value(c) <= bound };
        let mut next = Vec::with_capacity(current.len() + 4);
        for (i, &b) in current.iter().enumerate() {
            let a = current[(i + current.len() - 1) % current.len()];
            let (a_in, b_in) = (inside(&a), inside(&b));
            if a_in != b_in {
                let t = (bound - value(&a)) / (value(&b) - value(&a));
                let crossing = Coord { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t };
                next.push(if axis_x { Coord { x: bound, ..crossing } } else { Coord { y: bound, ..crossing } });
            }
            if b_in {
                next.push(b);
            }
        }
        current = next;
    }
    current
}

/// Cuts a polyline to the square `lo..hi` (Liang–Barsky per segment); each stretch inside
/// becomes its own part.
fn clip_line(line: &[Coord<f64>], lo: f64, hi: f64) -> Vec<Vec<Coord<f64>>> {
    let mut parts: Vec<Vec<Coord<f64>>> = Vec::new();
    let mut current: Vec<Coord<f64>> = Vec::new();
    for pair in line.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let mut visible = true;
        for (p, q) in [(-dx, a.x - lo), (dx, hi - a.x), (-dy, a.y - lo), (dy, hi - a.y)] {
            if p == 0.0 {
                if q < 0.0 {
                    visible = false;
                    break;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        if !visible || t0 > t1 {
            if current.len() > 1 {
                parts.push(std::mem::take(&mut current));
            }
            current.clear();
            continue;
        }
        let start = Coord { x: a.x + t0 * dx, y: a.y + t0 * dy };
        let end = Coord { x: a.x + t1 * dx, y: a.y + t1 * dy };
        if current.last() != Some(&start) {
            if current.len() > 1 {
                parts.push(std::mem::take(&mut current));
            }
            current = vec![start];
        }
        current.push(end);
        if t1 < 1.0 {
            parts.push(std::mem::take(&mut current));
        }
    }
    if current.len() > 1 {
        parts.push(current);
    }
    parts
}

/// Douglas–Peucker on an open line: both ends stay.
fn simplify_open(line: &[Coord<f64>], tolerance: f64) -> Vec<Coord<f64>> {
    if line.len() <= 2 {
        return line.to_vec();
    }
    let mut keep = vec![false; line.len()];
    keep[0] = true;
    keep[line.len() - 1] = true;
    douglas_peucker(&|i| line[i], 0, line.len() - 1, tolerance, &mut keep);
    (0..line.len()).filter(|&i| keep[i]).map(|i| line[i]).collect()
}

/// Marks the vertices between `start` and `end` that stay more than `tolerance` off the line.
fn douglas_peucker(at: &dyn Fn(usize) -> Coord<f64>, start: usize, end: usize, tolerance: f64, keep: &mut [bool]) {
    let mut stack = vec![(start, end)];
    while let Some((start, end)) = stack.pop() {
        let (a, b) = (at(start), at(end));
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let length = dx.hypot(dy);
        let mut worst = (0.0, 0);
        for i in start + 1..end {
            let c = at(i);
            let d = if length == 0.0 {
                (c.x - a.x).hypot(c.y - a.y)
            } else {
                ((c.x - a.x) * dy - (c.y - a.y) * dx).abs() / length
            };
            if d > worst.0 {
                worst = (d, i);
            }
        }
        if worst.0 > tolerance {
            keep[worst.1] = true;
            stack.push((start, worst.1));
            stack.push((worst.1, end));
        }
    }
}

/// Douglas–Peucker on a ring (treated as closed: split at its first vertex and the vertex
/// farthest from it, so both halves keep their ends).
fn simplify_ring(ring: &[Coord<f64>], tolerance: f64) -> Vec<Coord<f64>> {
    if ring.len() <= 4 {
        return ring.to_vec();
    }
    let first = ring[0];
    let far = (1..ring.len())
        .max_by(|&a, &b| {
            let da = (ring[a].x - first.x).hypot(ring[a].y - first.y);
            let db = (ring[b].x - first.x).hypot(ring[b].y - first.y);
            da.total_cmp(&db)
        })
        .unwrap_or(ring.len() / 2);
    let mut keep = vec![false; ring.len() + 1];
    keep[0] = true;
    keep[far] = true;
    keep[ring.len()] = true;
    let at = |i: usize| ring[i % ring.len()];
    douglas_peucker(&at, 0, far, tolerance, &mut keep);
    douglas_peucker(&at, far, ring.len(), tolerance, &mut keep);
    (0..ring.len()).filter(|&i| keep[i]).map(|i| ring[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn addresses_outside_the_pyramid_are_refused() {
        assert!(TileId::new(0, 0, 0).is_ok());
        assert!(TileId::new(2, 4, 0).is_err());
        assert!(TileId::new(23, 0, 0).is_err());
    }

    #[test]
    fn tile_bounds_follow_web_mercator() {
        let b = TileId::new(1, 0, 0).expect("valid").bounds();
        assert_eq!((b.min().x, b.max().x), (-180.0, 0.0));
        assert!((b.max().y - MAX_LATITUDE).abs() < 1e-9 && b.min().y.abs() < 1e-9);
    }

    #[test]
    fn projection_puts_the_tile_corners_on_the_extent() {
        let t = TileId::new(10, 843, 388).expect("valid");
        let b = t.bounds();
        let nw = t.project(Coord { x: b.min().x, y: b.max().y }, 0.0);
        let se = t.project(Coord { x: b.max().x, y: b.min().y }, 0.0);
        assert!(nw.x.abs() < 1e-6 && nw.y.abs() < 1e-6, "{nw:?}");
        assert!((se.x - 4096.0).abs() < 1e-6 && (se.y - 4096.0).abs() < 1e-6, "{se:?}");
    }

    #[test]
    fn buffers_reaching_past_the_antimeridian_look_on_the_other_side() {
        let east_edge = TileId::new(3, 7, 3).expect("valid");
        let boxes = east_edge.query_boxes();
        assert_eq!(boxes.len(), 2);
        assert_eq!(boxes[1].1, 1.0);
        assert_eq!(boxes[1].0.min().x, -180.0);
        // A position just west of -180 lands just east of the tile's right edge once shifted.
        let p = east_edge.project(Coord { x: -179.99, y: 0.0 }, 1.0);
        assert!(p.x > 4096.0 && p.x < 4096.0 + BUFFER, "{p:?}");
    }

    #[test]
    fn a_polygon_covering_the_tile_becomes_one_clockwise_square() {
        let t = TileId::new(5, 10, 12).expect("valid");
        let big = MultiPolygon(vec![
            polygon![(x: -179.0, y: -80.0), (x: 179.0, y: -80.0), (x: 179.0, y: 80.0), (x: -179.0, y: 80.0)],
        ]);
        let commands = t.polygon_commands(&big, &[0.0]).expect("covers the tile");
        // MoveTo 1, LineTo 3 (a square clipped to the buffer), ClosePath.
        assert_eq!(commands.len(), 1 + 2 + 1 + 6 + 1);
        assert_eq!(commands[3], command(LINE_TO, 3));
    }

    #[test]
    fn rings_come_out_clockwise_on_screen_whatever_their_input_winding() {
        let t = TileId::new(0, 0, 0).expect("valid");
        let ccw = polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)];
        let cw = polygon![(x: 0.0, y: 0.0), (x: 0.0, y: 10.0), (x: 10.0, y: 10.0), (x: 10.0, y: 0.0)];
        for p in [ccw, cw] {
            let ring = t.tile_ring(p.exterior(), 0.0).expect("visible");
            let area = signed_area(&ring);
            let mut out = Vec::new();
            encode_ring(&ring, area < 0, &mut (0, 0), &mut out);
            // Decode the deltas back and check the sign of the written ring.
            let mut pts = Vec::new();
            let (mut x, mut y) = (0i32, 0i32);
            let unzig = |v: u32| ((v >> 1) as i32) ^ -((v & 1) as i32);
            let params: Vec<u32> = out.iter().copied().filter(|&c| c & 7 != 7).collect();
            let mut i = 0;
            while i < params.len() {
                let count = params[i] >> 3;
                i += 1;
                for _ in 0..count {
                    x += unzig(params[i]);
                    y += unzig(params[i + 1]);
                    pts.push((x, y));
                    i += 2;
                }
            }
            assert!(signed_area(&pts) > 0);
        }
    }

    #[test]
    fn a_sliver_smaller_than_a_unit_disappears_at_low_zoom() {
        let tiny =
            MultiPolygon(vec![polygon![(x: 116.4, y: 39.9), (x: 116.40001, y: 39.9), (x: 116.40001, y: 39.90001)]]);
        assert!(TileId::new(4, 13, 6).expect("valid").polygon_commands(&tiny, &[0.0]).is_none());
    }

    #[test]
    fn simplification_keeps_corners_and_drops_near_collinear_vertices() {
        let ring: Vec<Coord<f64>> = [(0.0, 0.0), (50.0, 0.5), (100.0, 0.0), (100.0, 100.0), (50.0, 99.0), (0.0, 100.0)]
            .into_iter()
            .map(|(x, y)| Coord { x, y })
            .collect();
        let s = simplify_ring(&ring, 4.0);
        assert_eq!(s.len(), 4, "{s:?}");
    }

    #[test]
    fn lines_are_cut_at_the_buffer_into_parts() {
        let square = |pts: &[(f64, f64)]| pts.iter().map(|&(x, y)| Coord { x, y }).collect::<Vec<_>>();
        // In, out, back in: two parts, each ending on the border.
        let parts = clip_line(&square(&[(10.0, 10.0), (10.0, -500.0), (20.0, 10.0)]), 0.0, 100.0);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].last().map(|c| c.y), Some(0.0));
        assert_eq!(parts[1].first().map(|c| c.y), Some(0.0));
        assert!(clip_line(&square(&[(-10.0, -10.0), (-20.0, 50.0)]), 0.0, 100.0).is_empty());
    }

    #[test]
    fn points_belong_to_exactly_one_tile() {
        let c = Coord { x: 116.397, y: 39.909 };
        let z = 12;
        let hits: usize = (0..1u32 << z)
            .filter(|x| (3300..3450).contains(x))
            .flat_map(|x| (1500..1600).map(move |y| (x, y)))
            .filter(|&(x, y)| TileId::new(z, x, y).expect("valid").point_commands(c, 0.0).is_some())
            .count();
        assert_eq!(hits, 1);
        assert!(TileId::new(0, 0, 0).expect("valid").point_commands(Coord { x: 0.0, y: 89.0 }, 0.0).is_none());
    }
}
