//! Weekly plans on generated districts: our solver beside the nearest-neighbour baseline.
//! Run with `bash bench/plan.sh` (or `cargo run --release -p spatial --example plan_week`).
//!
//! Each district is seeded: a community office at the centre, assessment points clustered in
//! eight communities over about 3 × 3 km near Dongcheng, Beijing, with dwell times by type,
//! markets to be inspected by 10:00, and some points due twice a week. Five 6-hour days at
//! 4.5 km/h. Distances twice: on the ellipsoid, and along a generated street network (blocks of
//! about 120 × 120 m over 4 × 4 km, a tenth of the street segments missing, as walls, rivers and
//! gated compounds take them away).

use geo::Coord;
use spatial::planning::{nearest_neighbour, plan, Day, Distances, Geodesic, Plan, Stop};
use spatial::streets::StreetNetwork;
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn district(seed: u64, points: usize) -> (Vec<Stop>, Vec<Day>) {
    let mut rng = Rng(seed);
    let centre = Coord { x: 116.4170, y: 39.9290 };
    let (m_lon, m_lat) = (1.0 / 85_300.0, 1.0 / 111_000.0);
    let communities: Vec<Coord<f64>> = (0..8)
        .map(|_| Coord {
            x: centre.x + (rng.next() - 0.5) * 3000.0 * m_lon,
            y: centre.y + (rng.next() - 0.5) * 3000.0 * m_lat,
        })
        .collect();
    // (kind, dwell minutes, share): markets are inspected in the morning.
    let kinds =
        [("market", 15.0), ("back_street", 10.0), ("public_toilet", 5.0), ("old_compound", 15.0), ("bus_stop", 5.0)];
    let mut stops = Vec::new();
    for i in 0..points {
        let c = communities[(rng.next() * communities.len() as f64) as usize % communities.len()];
        let (kind, dwell) = kinds[i % kinds.len()];
        let position =
            Coord { x: c.x + (rng.next() - 0.5) * 600.0 * m_lon, y: c.y + (rng.next() - 0.5) * 600.0 * m_lat };
        let window = (kind == "market").then_some((8.5 * 3600.0, 10.0 * 3600.0));
        let twice = i % 7 == 0;
        for visit in 0..(1 + usize::from(twice)) {
            stops.push(Stop {
                id: format!("P{i:04}#{visit}"),
                group: format!("P{i:04}"),
                position,
                dwell_s: dwell * 60.0,
                window,
                weekday: None,
            });
        }
    }
    let days = (1..=5)
        .map(|w| Day { weekday: w, start: centre, end: centre, start_s: 8.5 * 3600.0, budget_s: 6.0 * 3600.0 })
        .collect();
    (stops, days)
}

/// Street segments between neighbouring junctions of a lattice, some left out at random.
fn street_lattice(seed: u64) -> Vec<geo::LineString<f64>> {
    let mut rng = Rng(seed);
    let (x0, y0, step_x, step_y, n) = (116.3935, 39.9110, 0.0014, 0.0011, 34);
    let at = |i: usize, j: usize| Coord { x: x0 + step_x * i as f64, y: y0 + step_y * j as f64 };
    let mut lines = Vec::new();
    for i in 0..n {
        for j in 0..n {
            for (di, dj) in [(1, 0), (0, 1)] {
                if i + di < n && j + dj < n && rng.next() >= 0.1 {
                    lines.push(geo::LineString(vec![at(i, j), at(i + di, j + dj)]));
                }
            }
        }
    }
    lines
}

fn main() {
    let streets = StreetNetwork::new(&street_lattice(99));
    println!("== distances on the ellipsoid");
    compare(&Geodesic);
    println!(
        "\n== distances along a generated street network ({} junctions, {} segments)",
        streets.nodes(),
        streets.segments()
    );
    compare(&streets);
}

fn compare(distances: &dyn Distances) {
    let speed = 4.5 / 3.6;
    println!(
        "{:>5} {:>6} | {:>18} {:>9} | {:>18} {:>9} {:>8} | {:>9}",
        "seed", "stops", "nearest neighbour", "covered", "gridwatch", "covered", "time", "shorter"
    );
    let mut ratios = Vec::new();
    for (seed, points) in [(1, 40), (2, 60), (3, 60), (4, 80), (5, 80), (6, 100)] {
        let (stops, days) = district(seed, points);
        let nn = nearest_neighbour(&stops, &days, speed, distances);
        let started = Instant::now();
        let ours = plan(&stops, &days, speed, distances);
        let took = started.elapsed();
        let covered = |p: &Plan| format!("{}/{}", p.planned(), stops.len());
        // Comparable when we cover at least as many stops (covering more while walking less).
        let shorter = 1.0 - ours.length_m() / nn.length_m();
        if ours.planned() >= nn.planned() {
            ratios.push(shorter);
        }
        println!(
            "{seed:>5} {:>6} | {:>15.0} m {:>9} | {:>15.0} m {:>9} {:>6.2} s | {:>8.1}%",
            stops.len(),
            nn.length_m(),
            covered(&nn),
            ours.length_m(),
            covered(&ours),
            took.as_secs_f64(),
            shorter * 100.0
        );
    }
    if !ratios.is_empty() {
        let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
        let worst = ratios.iter().cloned().fold(f64::INFINITY, f64::min);
        println!(
            "routes shorter than nearest neighbour, covering as many stops or more: mean {:.1} %, worst {:.1} %",
            mean * 100.0,
            worst * 100.0
        );
    }
}
