//! Criterion benches of the spatial kernels on a generated city: a 35 × 35 tiling of grids whose
//! shared edges wiggle like streets (about 40 vertices each), 100,000 seeded points over it.
//! `cargo bench -p spatial` (or `bash bench/all.sh`); peers side by side: bench/assign-peers.sh.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use geo::{Coord, LineString, MultiPolygon, Polygon};
use spatial::covers::multipolygon_covers;
use spatial::index::Entry;
use spatial::planning::Distances;
use spatial::streets::StreetNetwork;
use spatial::GridIndex;
use std::hint::black_box;

const SIDE: usize = 35;
const STEP: f64 = 0.001;
const PIECES: usize = 10;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A lattice corner, jittered by a fixed function of its position (shared by its four grids).
fn corner(i: usize, j: usize) -> Coord<f64> {
    let h = |a: usize, b: usize| ((a * 7919 + b * 104_729) % 1000) as f64 / 1000.0 - 0.5;
    let inner = |k: usize| k > 0 && k < SIDE;
    let (dx, dy) = if inner(i) && inner(j) { (h(i, j) * 0.3, h(j, i) * 0.3) } else { (0.0, 0.0) };
    Coord { x: 116.4 + (i as f64 + dx) * STEP, y: 39.9 + (j as f64 + dy) * STEP }
}

/// The edge from corner a to corner b in PIECES pieces, bent sideways like a street; computed
/// the same way for both grids that share it (always from the smaller corner).
fn edge(a: (usize, usize), b: (usize, usize)) -> Vec<Coord<f64>> {
    let (first, second, reversed) = if a < b { (a, b, false) } else { (b, a, true) };
    let (p, q) = (corner(first.0, first.1), corner(second.0, second.1));
    let outer = |c: (usize, usize)| c.0 == 0 || c.1 == 0 || c.0 == SIDE || c.1 == SIDE;
    let straight = outer(first) && outer(second);
    let mut points: Vec<Coord<f64>> = (0..=PIECES)
        .map(|k| {
            let t = k as f64 / PIECES as f64;
            let bend =
                if straight { 0.0 } else { (t * std::f64::consts::PI).sin() * 0.04 * STEP * ((k % 3) as f64 - 1.0) };
            Coord {
                x: p.x + (q.x - p.x) * t - (q.y - p.y) * bend / STEP,
                y: p.y + (q.y - p.y) * t + (q.x - p.x) * bend / STEP,
            }
        })
        .collect();
    if reversed {
        points.reverse();
    }
    points
}

fn city() -> Vec<Entry<()>> {
    let mut entries = Vec::new();
    for j in 0..SIDE {
        for i in 0..SIDE {
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1), (i, j)];
            let mut ring: Vec<Coord<f64>> = Vec::new();
            for w in corners.windows(2) {
                let piece = edge(w[0], w[1]);
                ring.extend(&piece[..PIECES]);
            }
            ring.push(ring[0]);
            let geometry = MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]);
            entries.push(Entry { code: format!("110101{:09}", j * SIDE + i), geometry, payload: () });
        }
    }
    entries
}

fn points(n: usize) -> Vec<Coord<f64>> {
    let mut rng = Rng(2026);
    let span = SIDE as f64 * STEP;
    (0..n)
        .map(|_| Coord {
            x: 116.4 - 0.002 + rng.next() * (span + 0.004),
            y: 39.9 - 0.002 + rng.next() * (span + 0.004),
        })
        .collect()
}

fn locate(c: &mut Criterion) {
    let entries = city();
    let geometries: Vec<MultiPolygon<f64>> = entries.iter().map(|e| e.geometry.clone()).collect();
    let index = GridIndex::new(entries);
    let pts = points(100_000);
    // The same answers, or the figures mean nothing.
    for p in pts.iter().take(10_000) {
        assert_eq!(index.locate_index(*p), index.locate_index_rtree(*p));
    }
    let mut group = c.benchmark_group("locate 1,225 grids");
    group.throughput(Throughput::Elements(pts.len() as u64));
    group.bench_function("locator", |b| b.iter(|| pts.iter().filter(|p| index.locate_index(**p).is_some()).count()));
    group.bench_function("r-tree, whole rings", |b| {
        b.iter(|| pts.iter().filter(|p| index.locate_index_rtree(**p).is_some()).count());
    });
    group.finish();
    let mut group = c.benchmark_group("covers one grid");
    group.throughput(Throughput::Elements(1));
    let p = Coord { x: 116.4 + 17.5 * STEP, y: 39.9 + 17.5 * STEP };
    group.bench_function(BenchmarkId::new("whole ring", "40 vertices"), |b| {
        b.iter(|| multipolygon_covers(black_box(&geometries[17 * SIDE + 17]), black_box(p)));
    });
    group.finish();
}

fn streets(c: &mut Criterion) {
    // Every lattice edge is a street: 1,260 junctions, about 25,000 segments.
    let mut lines = Vec::new();
    for j in 0..=SIDE {
        for i in 0..=SIDE {
            if i < SIDE {
                lines.push(LineString(edge((i, j), (i + 1, j))));
            }
            if j < SIDE {
                lines.push(LineString(edge((i, j), (i, j + 1))));
            }
        }
    }
    let network = StreetNetwork::new(&lines);
    let stops = points(60);
    let mut group = c.benchmark_group("streets");
    group.bench_function("route across the city", |b| {
        b.iter(|| network.route(black_box(stops[0]), black_box(stops[1])).0);
    });
    group.bench_function("distance matrix, 60 stops", |b| b.iter(|| network.matrix(black_box(&stops)).len()));
    group.finish();
}

criterion_group!(benches, locate, streets);
criterion_main!(benches);
