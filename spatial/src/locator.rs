//! The fast path of assignment: which grid covers a point, answered with as few edge tests as
//! possible and exactly the answer of [`crate::covers`] (PostGIS `ST_Covers`, smallest code on
//! shared edges).
//!
//! Two ideas, both exact:
//! - A uniform **cell grid** over all grids. A cell that no edge touches lies wholly inside the
//!   same grids (or none), so its answer is decided once, when the index is built; a point
//!   falling there needs no test at all. Only cells crossed by boundaries keep a short list of
//!   candidate polygons.
//! - **Sub-cells** of a mixed cell: each cell that edges cross is cut 4 × 4, and a sub-cell that
//!   no edge touches is settled the same way, so only points near a boundary are tested.
//! - **Slabs** per ring. The winding test only counts edges that span the point's latitude, so
//!   each ring keeps its edges sorted into horizontal slabs, and a point is tested against the
//!   few edges of its slab with [`crate::covers::ring_position`]'s own edge step. The result is
//!   bit-for-bit that of testing the whole ring.

use crate::covers::{winding_step, Position};
use geo::{BoundingRect, Coord, Polygon};

/// Cell contents: `EMPTY`, a grid index (the cell is wholly inside it), or `MIXED | k` where k
/// indexes `spans`.
const EMPTY: u32 = u32::MAX;
const MIXED: u32 = 1 << 31;
/// A candidate that covers its whole cell (no test needed) carries this bit.
const WHOLE: u32 = 1 << 31;
/// A mixed cell is cut into SUB × SUB sub-cells, each `EMPTY`, a grid index, or `MIXED` (its
/// point is tested against the cell's candidates).
const SUB: usize = 4;

/// A mixed cell's sub-cells in 16 bytes: two bits each, row by row, naming one of three
/// answers (a grid index or `EMPTY`) or 3 for `MIXED`. A cell whose sub-cells hold more than
/// three answers (rare: four grids meeting in one cell) leaves the others `MIXED`, which is
/// slower but still exact.
#[derive(Debug, Clone, Copy)]
struct SubCells {
    answers: [u32; 3],
    codes: u32,
}

impl SubCells {
    const MIXED_CODE: u32 = 3;

    fn new(each: &[u32; SUB * SUB]) -> Self {
        let (mut answers, mut used, mut codes) = ([EMPTY; 3], 0, 0u32);
        for (s, &answer) in each.iter().enumerate() {
            let code = if answer == MIXED {
                Self::MIXED_CODE
            } else if let Some(known) = answers[..used].iter().position(|&a| a == answer) {
                known as u32
            } else if used < 3 {
                answers[used] = answer;
                used += 1;
                used as u32 - 1
            } else {
                Self::MIXED_CODE
            };
            codes |= code << (2 * s);
        }
        Self { answers, codes }
    }

    /// Sub-cell s: `EMPTY`, a grid index, or `MIXED`.
    #[inline]
    fn get(&self, s: usize) -> u32 {
        match (self.codes >> (2 * s)) & 3 {
            Self::MIXED_CODE => MIXED,
            code => self.answers[code as usize],
        }
    }
}

/// One ring's edges, sorted into horizontal slabs. Edges are kept once, as the index of their
/// first vertex; a slab lists the edges that reach into it.
#[derive(Debug, Clone)]
struct Ring {
    min_y: f64,
    max_y: f64,
    inv_slab: f64,
    /// Slab k's edges are `slab_edges[slab_start[k]..slab_start[k + 1]]`.
    slab_start: Vec<u32>,
    slab_edges: Vec<u32>,
    vertices: Vec<Coord<f64>>,
}

/// About this many edges per slab: fewer slabs list each edge fewer times (memory), more
/// slabs test fewer edges per point (time).
const EDGES_PER_SLAB: usize = 4;

impl Ring {
    fn new(ring: &[Coord<f64>]) -> Self {
        let vertices = ring.to_vec();
        // Zero-length segments carry no direction: the whole-ring test skips them too.
        let segments: Vec<u32> = (0..vertices.len().saturating_sub(1))
            .filter(|&i| vertices[i] != vertices[i + 1])
            .map(|i| i as u32)
            .collect();
        let (min_y, max_y) = segments
            .iter()
            .flat_map(|&i| [vertices[i as usize].y, vertices[i as usize + 1].y])
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
        let slabs = (segments.len() / EDGES_PER_SLAB).clamp(1, 64);
        let height = max_y - min_y;
        let inv_slab = if height > 0.0 { slabs as f64 / height } else { 0.0 };
        let slab_of = |y: f64| (((y - min_y) * inv_slab) as usize).min(slabs - 1);
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); slabs];
        for &i in &segments {
            let (a, b) = (vertices[i as usize], vertices[i as usize + 1]);
            // Monotone arithmetic: an edge spanning y is in the slab that y falls in.
            let (lo, hi) = (slab_of(a.y.min(b.y)), slab_of(a.y.max(b.y)));
            for slab in &mut members[lo..=hi] {
                slab.push(i);
            }
        }
        let mut slab_start = Vec::with_capacity(slabs + 1);
        let mut slab_edges = Vec::new();
        for m in &members {
            slab_start.push(slab_edges.len() as u32);
            slab_edges.extend_from_slice(m);
        }
        slab_start.push(slab_edges.len() as u32);
        Self { min_y, max_y, inv_slab, slab_start, slab_edges, vertices }
    }

    /// Every edge, once.
    fn edges(&self) -> impl Iterator<Item = [Coord<f64>; 2]> + '_ {
        self.vertices.windows(2).filter(|w| w[0] != w[1]).map(|w| [w[0], w[1]])
    }

    /// [`crate::covers::ring_position`], over the point's slab only.
    #[inline]
    fn position(&self, p: Coord<f64>) -> Position {
        if !(self.min_y <= p.y && p.y <= self.max_y) {
            return Position::Outside;
        }
        let slabs = self.slab_start.len() - 1;
        let k = (((p.y - self.min_y) * self.inv_slab) as usize).min(slabs - 1);
        let mut winding = 0i32;
        for &i in &self.slab_edges[self.slab_start[k] as usize..self.slab_start[k + 1] as usize] {
            let (a, b) = (self.vertices[i as usize], self.vertices[i as usize + 1]);
            if winding_step(a, b, p, &mut winding) {
                return Position::Boundary;
            }
        }
        if winding == 0 {
            Position::Outside
        } else {
            Position::Inside
        }
    }
}

/// A polygon part of one grid: its shell and holes.
#[derive(Debug, Clone)]
struct Part {
    grid: u32,
    shell: Ring,
    holes: Vec<Ring>,
}

impl Part {
    /// [`crate::covers::polygon_covers`].
    #[inline]
    fn covers(&self, p: Coord<f64>) -> bool {
        match self.shell.position(p) {
            Position::Outside => false,
            Position::Boundary => true,
            Position::Inside => {
                for hole in &self.holes {
                    match hole.position(p) {
                        Position::Inside => return false,
                        Position::Boundary => return true,
                        Position::Outside => {}
                    }
                }
                true
            }
        }
    }
}

/// Answers "the smallest-indexed grid covering this point" for grids given in index order.
#[derive(Debug, Clone)]
pub struct Locator {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    inv_w: f64,
    inv_h: f64,
    nx: usize,
    ny: usize,
    cells: Vec<u32>,
    /// Mixed cell k's candidates are `candidates[spans[k]..spans[k + 1]]`, by grid index.
    spans: Vec<u32>,
    /// Mixed cell k's sub-cells, row by row.
    subcells: Vec<SubCells>,
    candidates: Vec<u32>,
    parts: Vec<Part>,
}

/// About this many cells per polygon part: finer cells answer more points without a test, and
/// cost memory (4 bytes each).
const CELLS_PER_PART: usize = 256;
const MAX_CELLS: usize = 1 << 24;

impl Locator {
    /// Builds the locator over `grids[i]`'s polygon parts; an answer is an index into `grids`.
    pub fn new(grids: &[&[Polygon<f64>]]) -> Self {
        let mut parts = Vec::new();
        let mut boxes = Vec::new();
        for (g, polygons) in grids.iter().enumerate() {
            for polygon in polygons.iter() {
                let Some(r) = polygon.bounding_rect() else { continue };
                if !(r.min().x.is_finite() && r.min().y.is_finite() && r.max().x.is_finite() && r.max().y.is_finite()) {
                    continue;
                }
                parts.push(Part {
                    grid: g as u32,
                    shell: Ring::new(&polygon.exterior().0),
                    holes: polygon.interiors().iter().map(|h| Ring::new(&h.0)).collect(),
                });
                boxes.push(r);
            }
        }
        let (x0, y0, x1, y1) = boxes
            .iter()
            .fold((f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY), |(a, b, c, d), r| {
                (a.min(r.min().x), b.min(r.min().y), c.max(r.max().x), d.max(r.max().y))
            });
        if parts.is_empty() {
            return Self {
                x0: 0.0,
                y0: 0.0,
                x1: -1.0,
                y1: -1.0,
                inv_w: 0.0,
                inv_h: 0.0,
                nx: 0,
                ny: 0,
                cells: Vec::new(),
                spans: vec![0],
                subcells: Vec::new(),
                candidates: Vec::new(),
                parts,
            };
        }
        // Square-ish cells, about CELLS_PER_PART per part.
        let (width, height) = ((x1 - x0).max(1e-12), (y1 - y0).max(1e-12));
        let target = (parts.len() * CELLS_PER_PART).clamp(1, MAX_CELLS) as f64;
        let side = (width * height / target).sqrt();
        let nx = ((width / side).ceil() as usize).clamp(1, 1 << 14);
        let ny = ((height / side).ceil() as usize).clamp(1, 1 << 14);
        let (w, h) = (width / nx as f64, height / ny as f64);
        let (inv_w, inv_h) = (1.0 / w, 1.0 / h);
        // A point is filed in a cell by rounded arithmetic: judge each cell on a slightly larger box.
        let (mx, my) = (w * 1e-6, h * 1e-6);
        let cell_box = |i: usize, j: usize| {
            let (cx, cy) = (x0 + i as f64 * w, y0 + j as f64 * h);
            (cx - mx, cy - my, cx + w + mx, cy + h + my)
        };
        // Sub-cell s of cell (i, j), with the same margin.
        let (sw, sh) = (w / SUB as f64, h / SUB as f64);
        let sub_box = |i: usize, j: usize, s: usize| {
            let (cx, cy) = (x0 + i as f64 * w + (s % SUB) as f64 * sw, y0 + j as f64 * h + (s / SUB) as f64 * sh);
            (cx - mx, cy - my, cx + sw + mx, cy + sh + my)
        };
        let cell_range = |lo: f64, hi: f64, origin: f64, inv: f64, n: usize| {
            let a = (((lo - origin) * inv).floor() as isize - 1).clamp(0, n as isize - 1) as usize;
            let b = (((hi - origin) * inv).floor() as isize + 1).clamp(0, n as isize - 1) as usize;
            (a, b)
        };
        // Each part is rasterised on its own: the cells its edges touch become (cell, part)
        // pairs; the cells it holds whole are found row by row, one test per run of untouched
        // cells (no edge passes between two neighbouring untouched cells).
        let mut cells = vec![EMPTY; nx * ny];
        // (cell, part, the sub-cells the part's edges touch)
        let mut pairs: Vec<(u32, u32, u16)> = Vec::new();
        let mut whole_pairs: Vec<(u32, u32)> = Vec::new();
        let mut local: Vec<u16> = Vec::new();
        for (k, (part, r)) in parts.iter().zip(&boxes).enumerate() {
            let (i0, i1) = cell_range(r.min().x, r.max().x, x0, inv_w, nx);
            let (j0, j1) = cell_range(r.min().y, r.max().y, y0, inv_h, ny);
            let width = i1 - i0 + 1;
            local.clear();
            local.resize(width * (j1 - j0 + 1), 0);
            for ring in std::iter::once(&part.shell).chain(&part.holes) {
                for [a, b] in ring.edges() {
                    let (ei0, ei1) = cell_range(a.x.min(b.x), a.x.max(b.x), x0, inv_w, nx);
                    let (ej0, ej1) = cell_range(a.y.min(b.y), a.y.max(b.y), y0, inv_h, ny);
                    for j in ej0.max(j0)..=ej1.min(j1) {
                        for i in ei0.max(i0)..=ei1.min(i1) {
                            let slot = &mut local[(j - j0) * width + (i - i0)];
                            if *slot != u16::MAX && segment_meets_box(a, b, cell_box(i, j)) {
                                // Only the sub-cells the edge's box reaches.
                                let (cx, cy) = (x0 + i as f64 * w, y0 + j as f64 * h);
                                let sub_range = |lo: f64, hi: f64, inv: f64| {
                                    let at = |v: f64| ((v * inv * SUB as f64).floor().max(0.0) as usize).min(SUB - 1);
                                    (at(lo), at(hi))
                                };
                                let (si0, si1) = sub_range(a.x.min(b.x) - mx - cx, a.x.max(b.x) + mx - cx, inv_w);
                                let (sj0, sj1) = sub_range(a.y.min(b.y) - my - cy, a.y.max(b.y) + my - cy, inv_h);
                                for sj in sj0..=sj1 {
                                    for si in si0..=si1 {
                                        let s = sj * SUB + si;
                                        if segment_meets_box(a, b, sub_box(i, j, s)) {
                                            *slot |= 1 << s;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for j in j0..=j1 {
                let mut run_inside: Option<bool> = None;
                for i in i0..=i1 {
                    let c = (j * nx + i) as u32;
                    let touched = local[(j - j0) * width + (i - i0)];
                    if touched != 0 {
                        pairs.push((c, k as u32, touched));
                        run_inside = None;
                        continue;
                    }
                    let inside = *run_inside.get_or_insert_with(|| {
                        let (bx0, by0, bx1, by1) = cell_box(i, j);
                        part.covers(Coord { x: (bx0 + bx1) / 2.0, y: (by0 + by1) / 2.0 })
                    });
                    if inside {
                        whole_pairs.push((c, k as u32));
                        let cell = &mut cells[c as usize];
                        *cell = (*cell).min(part.grid);
                    }
                }
            }
        }
        // Cells some edge touches keep their candidates: the touching parts, and the parts that
        // hold them whole (marked, no test needed), by grid index.
        pairs.sort_unstable();
        whole_pairs.sort_unstable();
        let mut spans = vec![0u32];
        let mut subcells = Vec::new();
        let mut candidates = Vec::new();
        let (mut p, mut w) = (0, 0);
        // (candidate, the sub-cells its edges touch)
        let mut list: Vec<(u32, u16)> = Vec::new();
        while p < pairs.len() {
            let c = pairs[p].0;
            list.clear();
            while p < pairs.len() && pairs[p].0 == c {
                list.push((pairs[p].1, pairs[p].2));
                p += 1;
            }
            while w < whole_pairs.len() && whole_pairs[w].0 < c {
                w += 1;
            }
            while w < whole_pairs.len() && whole_pairs[w].0 == c {
                list.push((whole_pairs[w].1 | WHOLE, 0));
                w += 1;
            }
            list.sort_by_key(|&(k, _)| (parts[(k & !WHOLE) as usize].grid, k & WHOLE == 0));
            // Nothing after a part that covers the whole cell can win.
            if let Some(cut) = list.iter().position(|&(k, _)| k & WHOLE != 0) {
                list.truncate(cut + 1);
            }
            let (i, j) = (c as usize % nx, c as usize / nx);
            subcells.push(SubCells::new(&settle_subcells(&list, &parts, |s| sub_box(i, j, s))));
            cells[c as usize] = MIXED | (spans.len() as u32 - 1);
            candidates.extend(list.iter().map(|&(k, _)| k));
            spans.push(candidates.len() as u32);
        }
        Self { x0, y0, x1, y1, inv_w, inv_h, nx, ny, cells, spans, subcells, candidates, parts }
    }

    /// The smallest grid index covering `p`, boundary included.
    #[inline]
    pub fn locate(&self, p: Coord<f64>) -> Option<usize> {
        let cell = self.cells[self.cell_of(p)? as usize];
        self.answer(p, self.in_subcell(p, cell))
    }

    /// The answers for many points, in order, each as [`Locator::locate`] gives it. Faster on
    /// large cities: for each batch of points, their cells and then their sub-cells are read in
    /// tight loops of their own, so that the processor waits for that memory once for many
    /// points rather than once for each (with 50,000 grids the cells take 51 MB, and a random
    /// point's cell is rarely in any cache).
    pub fn locate_many(&self, points: &[Coord<f64>], answers: &mut Vec<Option<usize>>) {
        const BATCH: usize = 128;
        answers.clear();
        answers.reserve(points.len());
        let mut cells = [EMPTY; BATCH];
        for batch in points.chunks(BATCH) {
            let cells = &mut cells[..batch.len()];
            for (cell, &p) in cells.iter_mut().zip(batch) {
                *cell = self.cell_of(p).unwrap_or(u32::MAX);
            }
            for cell in cells.iter_mut() {
                *cell = self.cells.get(*cell as usize).copied().unwrap_or(EMPTY);
            }
            for (cell, &p) in cells.iter_mut().zip(batch) {
                *cell = self.in_subcell(p, *cell);
            }
            answers.extend(batch.iter().zip(cells.iter()).map(|(&p, &cell)| self.answer(p, cell)));
        }
    }

    /// Narrows a mixed cell's contents to `p`'s sub-cell: `EMPTY` or a grid index when the
    /// sub-cell is settled, else the cell's contents as they were.
    #[inline]
    fn in_subcell(&self, p: Coord<f64>, cell: u32) -> u32 {
        if cell == EMPTY || cell & MIXED == 0 {
            return cell;
        }
        match self.subcells[(cell & !MIXED) as usize].get(self.subcell_of(p)) {
            MIXED => cell,
            settled => settled,
        }
    }

    /// The answer for `p`, given its cell's contents narrowed to its sub-cell.
    #[inline]
    fn answer(&self, p: Coord<f64>, cell: u32) -> Option<usize> {
        if cell == EMPTY {
            return None;
        }
        if cell & MIXED == 0 {
            return Some(cell as usize);
        }
        self.test_candidates(p, (cell & !MIXED) as usize)
    }

    /// The smallest grid among mixed cell k's candidates that covers `p`.
    #[inline]
    fn test_candidates(&self, p: Coord<f64>, k: usize) -> Option<usize> {
        for &candidate in &self.candidates[self.spans[k] as usize..self.spans[k + 1] as usize] {
            let part = &self.parts[(candidate & !WHOLE) as usize];
            if candidate & WHOLE != 0 || part.covers(p) {
                return Some(part.grid as usize);
            }
        }
        None
    }

    /// Which of its cell's sub-cells `p` falls in (the cell found as [`Locator::cell_of`] does).
    #[inline]
    fn subcell_of(&self, p: Coord<f64>) -> usize {
        let (fx, fy) = ((p.x - self.x0) * self.inv_w, (p.y - self.y0) * self.inv_h);
        let (i, j) = ((fx as usize).min(self.nx - 1), (fy as usize).min(self.ny - 1));
        let si = (((fx - i as f64) * SUB as f64) as usize).min(SUB - 1);
        let sj = (((fy - j as f64) * SUB as f64) as usize).min(SUB - 1);
        sj * SUB + si
    }

    #[inline]
    fn cell_of(&self, p: Coord<f64>) -> Option<u32> {
        if !(self.x0 <= p.x && p.x <= self.x1 && self.y0 <= p.y && p.y <= self.y1) {
            return None;
        }
        let i = (((p.x - self.x0) * self.inv_w) as usize).min(self.nx - 1);
        let j = (((p.y - self.y0) * self.inv_h) as usize).min(self.ny - 1);
        Some((j * self.nx + i) as u32)
    }

    /// Bytes held, for the memory figures.
    pub fn heap_bytes(&self) -> usize {
        let rings: usize = self
            .parts
            .iter()
            .flat_map(|p| std::iter::once(&p.shell).chain(&p.holes))
            .map(|r| r.vertices.len() * 16 + (r.slab_start.len() + r.slab_edges.len()) * 4)
            .sum();
        self.cells.len() * 4
            + self.spans.len() * 4
            + self.subcells.len() * std::mem::size_of::<SubCells>()
            + self.candidates.len() * 4
            + rings
    }

    /// Share of cells answered without any test (for tuning and the benchmark notes).
    pub fn settled_share(&self) -> f64 {
        let settled = self.cells.iter().filter(|&&c| c == EMPTY || c & MIXED == 0).count();
        settled as f64 / self.cells.len().max(1) as f64
    }
}

/// The sub-cells of a mixed cell, given its candidates in order (each with the sub-cells its
/// edges touch; a `WHOLE` one covers the cell) and the sub-cells' boxes. A sub-cell is the first
/// candidate's that holds it whole, unless an earlier one's edges touch it (`MIXED`: tested
/// point by point); held by none, it is `EMPTY`. Sub-cells that a candidate's edges do not touch
/// and that are 4-connected through such sub-cells lie all inside or all outside it, so one test
/// decides each such group.
fn settle_subcells(
    list: &[(u32, u16)],
    parts: &[Part],
    sub_box: impl Fn(usize) -> (f64, f64, f64, f64),
) -> [u32; SUB * SUB] {
    let mut answers = [EMPTY; SUB * SUB];
    let mut open: u16 = u16::MAX; // sub-cells not decided yet
    for &(k, touched) in list {
        if open == 0 {
            break;
        }
        let part = &parts[(k & !WHOLE) as usize];
        if k & WHOLE != 0 {
            for (s, answer) in answers.iter_mut().enumerate() {
                if open & (1 << s) != 0 {
                    *answer = part.grid;
                }
            }
            break;
        }
        for (s, answer) in answers.iter_mut().enumerate() {
            if open & touched & (1 << s) != 0 {
                *answer = MIXED;
            }
        }
        open &= !touched;
        let mut unseen = !touched & open;
        while unseen != 0 {
            let group = connected(unseen.trailing_zeros() as usize, !touched);
            let (bx0, by0, bx1, by1) = sub_box(group.trailing_zeros() as usize);
            if part.covers(Coord { x: (bx0 + bx1) / 2.0, y: (by0 + by1) / 2.0 }) {
                for (s, answer) in answers.iter_mut().enumerate() {
                    if open & group & (1 << s) != 0 {
                        *answer = part.grid;
                    }
                }
                open &= !group;
            }
            unseen &= !group;
        }
    }
    answers
}

/// The sub-cells of `free` (a bit mask) 4-connected to sub-cell `start` through `free`.
fn connected(start: usize, free: u16) -> u16 {
    let mut group: u16 = 1 << start;
    loop {
        let mut grown = group;
        for s in 0..SUB * SUB {
            if group & (1 << s) == 0 {
                continue;
            }
            let (x, y) = (s % SUB, s / SUB);
            if x > 0 {
                grown |= 1 << (s - 1);
            }
            if x + 1 < SUB {
                grown |= 1 << (s + 1);
            }
            if y > 0 {
                grown |= 1 << (s - SUB);
            }
            if y + 1 < SUB {
                grown |= 1 << (s + SUB);
            }
        }
        grown &= free;
        if grown == group {
            return group;
        }
        group = grown;
    }
}

/// Does segment ab meet the box (x0, y0, x1, y1)? Box overlap, then the separating axis of the
/// segment's line: all four corners strictly on one side means no.
fn segment_meets_box(a: Coord<f64>, b: Coord<f64>, (x0, y0, x1, y1): (f64, f64, f64, f64)) -> bool {
    if a.x.max(b.x) < x0 || a.x.min(b.x) > x1 || a.y.max(b.y) < y0 || a.y.min(b.y) > y1 {
        return false;
    }
    let side = |x: f64, y: f64| (b.x - a.x) * (y - a.y) - (x - a.x) * (b.y - a.y);
    let s = [side(x0, y0), side(x1, y0), side(x0, y1), side(x1, y1)];
    !(s.iter().all(|&v| v > 0.0) || s.iter().all(|&v| v < 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::covers::polygon_covers;
    use geo::{polygon, MultiPolygon};

    /// The reference: the smallest index whose polygons cover p, by whole-ring tests.
    fn reference(grids: &[MultiPolygon<f64>], p: Coord<f64>) -> Option<usize> {
        grids.iter().position(|mp| mp.0.iter().any(|poly| polygon_covers(poly, p)))
    }

    fn grids() -> Vec<MultiPolygon<f64>> {
        let mut out = Vec::new();
        // A 6 × 6 tiling of jagged squares (shared edges), one with a hole, plus one overlapping
        // grid with a larger index and a far island.
        for j in 0..6 {
            for i in 0..6 {
                let (x, y) = (f64::from(i), f64::from(j));
                let mut shell = vec![
                    Coord { x, y },
                    Coord { x: x + 0.5, y: y + 0.013 * (i % 3) as f64 },
                    Coord { x: x + 1.0, y },
                    Coord { x: x + 1.0, y: y + 1.0 },
                    Coord { x, y: y + 1.0 },
                    Coord { x, y },
                ];
                if j == 0 {
                    shell[1].y = y; // the bottom row keeps a straight bottom edge
                }
                let holes = if (i, j) == (2, 2) {
                    vec![geo::LineString(vec![
                        Coord { x: x + 0.3, y: y + 0.3 },
                        Coord { x: x + 0.7, y: y + 0.3 },
                        Coord { x: x + 0.7, y: y + 0.7 },
                        Coord { x: x + 0.3, y: y + 0.7 },
                        Coord { x: x + 0.3, y: y + 0.3 },
                    ])]
                } else {
                    vec![]
                };
                out.push(MultiPolygon(vec![Polygon::new(geo::LineString(shell), holes)]));
            }
        }
        // Rows above j shifted: make the upper edge of each row follow the next row's jagged
        // bottom so that the tiling has no gaps (jags are only on bottoms of rows ≥ 1).
        for j in 0..5 {
            for i in 0..6 {
                let upper = out[(j + 1) * 6 + i].0[0].exterior().0[1];
                let poly = &mut out[j * 6 + i].0[0];
                let mut ring = poly.exterior().0.clone();
                ring.insert(4, upper);
                *poly = Polygon::new(geo::LineString(ring), poly.interiors().to_vec());
            }
        }
        out.push(MultiPolygon(vec![
            polygon![(x: 1.5, y: 1.5), (x: 3.5, y: 1.5), (x: 3.5, y: 2.5), (x: 1.5, y: 2.5), (x: 1.5, y: 1.5)],
        ]));
        out.push(MultiPolygon(vec![
            polygon![(x: 10.0, y: 10.0), (x: 11.0, y: 10.0), (x: 10.0, y: 11.0), (x: 10.0, y: 10.0)],
        ]));
        out
    }

    #[test]
    fn answers_exactly_as_whole_ring_tests_on_random_points_vertices_and_edges() {
        let grids = grids();
        let parts: Vec<&[Polygon<f64>]> = grids.iter().map(|g| &g.0[..]).collect();
        let locator = Locator::new(&parts);
        let mut seed = 42u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut points: Vec<Coord<f64>> =
            (0..200_000).map(|_| Coord { x: next() * 12.0 - 0.5, y: next() * 12.0 - 0.5 }).collect();
        // Every vertex, every edge's midpoint, and points a hair off each edge.
        for g in &grids {
            for poly in &g.0 {
                for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                    for w in ring.0.windows(2) {
                        let mid = Coord { x: (w[0].x + w[1].x) / 2.0, y: (w[0].y + w[1].y) / 2.0 };
                        points.extend([
                            w[0],
                            mid,
                            Coord { x: mid.x + 1e-12, y: mid.y },
                            Coord { x: mid.x, y: mid.y - 1e-12 },
                        ]);
                    }
                }
            }
        }
        // Points outside the cells' extent and not numbers at all, among the others.
        points.extend([Coord { x: f64::NAN, y: 1.0 }, Coord { x: 1e300, y: -1e300 }, Coord { x: 3.5, y: 2.5 }]);
        for &p in &points {
            assert_eq!(locator.locate(p), reference(&grids, p), "{p:?}");
        }
        assert!(locator.settled_share() > 0.3, "{}", locator.settled_share());
        // Many at once: the same answers, in order, whatever the batch boundaries.
        let mut many = Vec::new();
        for n in [0, 1, 127, 128, 129, points.len()] {
            locator.locate_many(&points[..n], &mut many);
            let one_by_one: Vec<Option<usize>> = points[..n].iter().map(|&p| locator.locate(p)).collect();
            assert_eq!(many, one_by_one, "{n} points");
        }
    }

    #[test]
    fn sub_cells_keep_three_answers_and_leave_the_rest_to_the_tests() {
        let mut each = [EMPTY; SUB * SUB];
        each[1] = 7;
        each[2] = MIXED;
        each[3] = 9;
        each[4] = 11; // a fourth answer (after EMPTY, 7 and 9): left MIXED
        each[5] = 7;
        let sub = SubCells::new(&each);
        let got: Vec<u32> = (0..SUB * SUB).map(|s| sub.get(s)).collect();
        let mut want = each;
        want[4] = MIXED;
        assert_eq!(got, want);
    }

    #[test]
    fn no_grids_no_answer() {
        let locator = Locator::new(&[]);
        assert_eq!(locator.locate(Coord { x: 0.0, y: 0.0 }), None);
        let mut many = Vec::new();
        locator.locate_many(&[Coord { x: 0.0, y: 0.0 }, Coord { x: -1.0, y: -1.0 }], &mut many);
        assert_eq!(many, [None, None]);
    }
}
