//! A city week of patrols, generated and measured: `bench/coverage.sh` runs this and PostGIS
//! side by side.
//!
//! usage: coverage_week POINTS OFFICERS SUBSET_OFFICERS OUT_DIR [store]
//!
//! Generates POINTS assessment points (80 % points, 12 % streets, 8 % squares) over a 30 km ×
//! 30 km city and OFFICERS officers walking 5 days × 8 h with a fix every 15 s around their
//! beat. Times the weekly coverage on one core for everyone, then for the first SUBSET_OFFICERS
//! alone, and writes that subset (points as WKT, fixes, our answer) under OUT_DIR for PostGIS.
//! With `store`, also writes the points as GeoJSON (`points.geojson`, codes P0…) and every
//! officer-day's fixes (`chunks.bin`: per chunk a little-endian u32 count, then t as i64, lon and
//! lat as f64 per fix) for `bench/coverage-store.sh` to load into gridwatch's store.

use geo::{coord, Geometry, LineString, Point, Polygon};
use spatial::coverage::{CoverageIndex, Fix, WeekTally};
use std::io::{BufWriter, Write};
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

const LON0: f64 = 116.20;
const LAT0: f64 = 39.75;
const M_LON: f64 = 85_400.0;
const M_LAT: f64 = 111_040.0;
const SIDE_M: f64 = 30_000.0;
/// 2026-11-16 00:00 +08:00.
const WEEK_START: i64 = 1_794_758_400;
const FIXES_PER_DAY: i64 = 8 * 3600 / 15;

/// A position, rounded as it is written for PostGIS (1e-9°), so both engines read the same.
fn at(x_m: f64, y_m: f64) -> geo::Coord<f64> {
    let round = |v: f64| (v * 1e9).round() / 1e9;
    coord! { x: round(LON0 + x_m / M_LON), y: round(LAT0 + y_m / M_LAT) }
}

fn target(rng: &mut Rng) -> Geometry<f64> {
    let (x, y) = (rng.range(0.0, SIDE_M), rng.range(0.0, SIDE_M));
    match (rng.next() * 100.0) as u32 {
        0..80 => Geometry::Point(Point(at(x, y))),
        80..92 => {
            let (dx, dy) = (rng.range(-300.0, 300.0), rng.range(-300.0, 300.0));
            Geometry::LineString(LineString(vec![at(x, y), at(x + dx / 2.0, y + dy / 3.0), at(x + dx, y + dy)]))
        }
        _ => {
            let s = rng.range(30.0, 150.0);
            Geometry::Polygon(Polygon::new(
                LineString(vec![at(x, y), at(x + s, y), at(x + s, y + s), at(x, y + s), at(x, y)]),
                vec![],
            ))
        }
    }
}

/// One officer's day: walking between waypoints within 1 km of their beat at ~1.2 m/s.
fn day(rng: &mut Rng, home: (f64, f64), start: i64, out: &mut Vec<Fix>) {
    let waypoint = |rng: &mut Rng| {
        (
            (home.0 + rng.range(-1000.0, 1000.0)).clamp(0.0, SIDE_M),
            (home.1 + rng.range(-1000.0, 1000.0)).clamp(0.0, SIDE_M),
        )
    };
    let (mut x, mut y) = waypoint(rng);
    let mut goal = waypoint(rng);
    for i in 0..FIXES_PER_DAY {
        let (dx, dy) = (goal.0 - x, goal.1 - y);
        let d = (dx * dx + dy * dy).sqrt();
        let step = 18.0;
        if d <= step {
            (x, y) = goal;
            goal = waypoint(rng);
        } else {
            x += dx / d * step;
            y += dy / d * step;
        }
        // Fixes are stored at 1e-7° (spatial::track), and written so for PostGIS.
        let c = at(x, y);
        let round = |v: f64| (v * 1e7).round() / 1e7;
        out.push(Fix { t: start + 15 * i, lon: round(c.x), lat: round(c.y) });
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let number = |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (n_points, officers, subset) = (number(1, 100_000), number(2, 5_000), number(3, 250));
    let out_dir = std::path::PathBuf::from(args.get(4).cloned().unwrap_or_else(|| "target/bench-coverage".into()));
    std::fs::create_dir_all(&out_dir)?;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let targets: Vec<Geometry<f64>> = (0..n_points).map(|_| target(&mut rng)).collect();
    let generated = Instant::now();
    // One chunk per officer-day, as the API stores them.
    let mut chunks: Vec<Vec<Fix>> = Vec::with_capacity(officers * 5);
    for _ in 0..officers {
        let home = (rng.range(0.0, SIDE_M), rng.range(0.0, SIDE_M));
        for d in 0..5 {
            let mut fixes = Vec::with_capacity(FIXES_PER_DAY as usize);
            day(&mut rng, home, WEEK_START + d * 86_400 + 9 * 3600, &mut fixes);
            chunks.push(fixes);
        }
    }
    let total: usize = chunks.iter().map(Vec::len).sum();
    eprintln!("generated {n_points} points and {total} fixes in {:.1} s", generated.elapsed().as_secs_f64());

    let run = |chunks: &[Vec<Fix>]| {
        let t = Instant::now();
        let index = CoverageIndex::new(&targets, 30.0);
        let built = t.elapsed().as_secs_f64();
        let mut week = WeekTally::new(targets.len(), WEEK_START);
        for c in chunks {
            week.add_fixes(&index, c);
        }
        (t.elapsed().as_secs_f64(), built, week)
    };
    let (seconds, built, week) = run(&chunks);
    let visited = (0..targets.len()).filter(|&i| week.visits(i) > 0).count();
    println!(
        "gridwatch full: {n_points} points, {total} fixes, {seconds:.2} s on one core ({:.1} M fixes/s; index {built:.2} s); {visited} points visited",
        total as f64 / seconds / 1e6
    );

    let sub = &chunks[..(subset * 5).min(chunks.len())];
    let sub_total: usize = sub.iter().map(Vec::len).sum();
    let (sub_seconds, _, sub_week) = run(sub);
    println!("gridwatch subset: {sub_total} fixes, {sub_seconds:.3} s");
    let mut w = BufWriter::new(std::fs::File::create(out_dir.join("points.csv"))?);
    for (i, g) in targets.iter().enumerate() {
        writeln!(w, "{i}\t{}", wkt(g))?;
    }
    let mut w = BufWriter::new(std::fs::File::create(out_dir.join("fixes.csv"))?);
    for f in sub.iter().flatten() {
        writeln!(w, "{}\t{:.7}\t{:.7}", f.t, f.lon, f.lat)?;
    }
    let mut w = BufWriter::new(std::fs::File::create(out_dir.join("ours.csv"))?);
    for i in (0..targets.len()).filter(|&i| sub_week.visits(i) > 0) {
        writeln!(w, "{i}|{}", sub_week.visits(i))?;
    }
    if args.get(5).map(String::as_str) == Some("store") {
        let mut w = BufWriter::new(std::fs::File::create(out_dir.join("points.geojson"))?);
        writeln!(w, "{{\"type\": \"FeatureCollection\", \"features\": [")?;
        for (i, g) in targets.iter().enumerate() {
            let comma = if i + 1 < targets.len() { "," } else { "" };
            let properties = format!("{{\"code\": \"P{i}\", \"name\": \"point {i}\", \"type\": \"back_street\"}}");
            writeln!(
                w,
                "{{\"type\": \"Feature\", \"properties\": {properties}, \"geometry\": {}}}{comma}",
                geojson(g)
            )?;
        }
        writeln!(w, "]}}")?;
        let mut w = BufWriter::new(std::fs::File::create(out_dir.join("chunks.bin"))?);
        for chunk in &chunks {
            w.write_all(&(chunk.len() as u32).to_le_bytes())?;
            for f in chunk {
                w.write_all(&f.t.to_le_bytes())?;
                w.write_all(&f.lon.to_le_bytes())?;
                w.write_all(&f.lat.to_le_bytes())?;
            }
        }
    }
    std::fs::write(out_dir.join("subset-seconds"), format!("{sub_seconds}\n{sub_total}\n{seconds}\n{total}\n"))?;
    Ok(())
}

fn wkt(g: &Geometry<f64>) -> String {
    let coords =
        |ls: &LineString<f64>| ls.0.iter().map(|c| format!("{:.9} {:.9}", c.x, c.y)).collect::<Vec<_>>().join(",");
    match g {
        Geometry::Point(p) => format!("POINT({:.9} {:.9})", p.x(), p.y()),
        Geometry::LineString(ls) => format!("LINESTRING({})", coords(ls)),
        Geometry::Polygon(p) => format!("POLYGON(({}))", coords(p.exterior())),
        _ => String::new(),
    }
}

fn geojson(g: &Geometry<f64>) -> String {
    let coords =
        |ls: &LineString<f64>| ls.0.iter().map(|c| format!("[{:.9}, {:.9}]", c.x, c.y)).collect::<Vec<_>>().join(", ");
    match g {
        Geometry::Point(p) => format!("{{\"type\": \"Point\", \"coordinates\": [{:.9}, {:.9}]}}", p.x(), p.y()),
        Geometry::LineString(ls) => format!("{{\"type\": \"LineString\", \"coordinates\": [{}]}}", coords(ls)),
        Geometry::Polygon(p) => format!("{{\"type\": \"Polygon\", \"coordinates\": [[{}]]}}", coords(p.exterior())),
        _ => String::new(),
    }
}
