//! Weekly coverage checked against an independent engine: a generated week of assessment points
//! (points, streets, polygons) and officers' GPS tracks goes through the API, and PostGIS
//! counts the same visits with `ST_DWithin` on geography.

mod common;

use common::{psql, psql_file, PgDatabase, Server};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Write as _;

/// A small deterministic generator (xorshift64*), so the week is the same on every run.
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

const LON0: f64 = 116.405;
const LAT0: f64 = 39.915;
/// Metres per degree near Beijing (only for generating; the checks measure on the ellipsoid).
const M_LON: f64 = 85_300.0;
const M_LAT: f64 = 111_040.0;
/// 2026-11-16 00:00 +08:00, the start of 2026-W47 in Beijing.
const WEEK_START: i64 = 1_794_758_400;

fn pos(rng: &mut Rng, size_m: f64) -> [f64; 2] {
    [LON0 + rng.range(0.0, size_m) / M_LON, LAT0 + rng.range(0.0, size_m) / M_LAT]
}

fn geometry(rng: &mut Rng, i: usize) -> Value {
    let [x, y] = pos(rng, 1500.0);
    match i % 8 {
        0 | 1 => {
            let (w, h) = (rng.range(20.0, 120.0) / M_LON, rng.range(20.0, 120.0) / M_LAT);
            json!({"type": "Polygon", "coordinates": [[[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]]})
        }
        2 | 3 => {
            let mut line = vec![json!([x, y])];
            let (mut px, mut py) = (x, y);
            for _ in 0..(2 + i % 3) {
                px += rng.range(-150.0, 150.0) / M_LON;
                py += rng.range(-150.0, 150.0) / M_LAT;
                line.push(json!([px, py]));
            }
            json!({"type": "LineString", "coordinates": line})
        }
        _ => json!({"type": "Point", "coordinates": [x, y]}),
    }
}

/// One officer's hour of walking between random waypoints at about 1.3 m/s, a fix every 15 s.
fn walk(rng: &mut Rng, start: i64) -> Vec<(i64, f64, f64)> {
    let [mut x, mut y] = pos(rng, 1500.0);
    let mut target = pos(rng, 1500.0);
    (0..240)
        .map(|i| {
            let (dx, dy) = ((target[0] - x) * M_LON, (target[1] - y) * M_LAT);
            let d = (dx * dx + dy * dy).sqrt();
            let step = rng.range(10.0, 22.0);
            if d <= step {
                (x, y) = (target[0], target[1]);
                target = pos(rng, 1500.0);
            } else {
                x += dx / d * step / M_LON;
                y += dy / d * step / M_LAT;
            }
            (start + 15 * i, x, y)
        })
        .collect()
}

#[test]
fn coverage_agrees_with_postgis_st_dwithin_on_a_generated_week() {
    let dir = common::scratch("coverage");
    let url = format!("sqlite://{}", dir.join("g.db").display());
    // No demo: the generated week is all there is.
    let admin = common::user_with_token(&url, "walker-admin", &["--role", "admin"]);
    // After the generated week and the Monday after it: fixes dated ahead of the clock are refused.
    let server = Server::start(&url, &["--clock-start", "2026-11-24T20:00:00+08:00"]);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let reference = PgDatabase::fresh();
    psql(&reference.url(), "CREATE EXTENSION IF NOT EXISTS postgis");
    let mut sql = String::from(
        "CREATE TABLE pts (code text PRIMARY KEY, geom geometry(Geometry, 4326)); \
         CREATE TABLE fixes (t bigint, lon double precision, lat double precision);\n",
    );
    let n_points = 240;
    for i in 0..n_points {
        let code = format!("P{i:03}");
        let g = geometry(&mut rng, i);
        let body = json!({"type": "Feature", "properties": {"code": code, "name": code, "type": "back_street",
            "required_per_week": 1 + i % 3, "criteria": []}, "geometry": g});
        let (status, r) = server.post_as(Some(&admin), "/api/v1/points", &body.to_string());
        assert_eq!(status, 201, "{r}");
        writeln!(sql, "INSERT INTO pts VALUES ('{code}', ST_SetSRID(ST_GeomFromGeoJSON('{g}'), 4326));").ok();
    }
    // Eight officers, an hour a day from the Sunday before the week to the Monday after it: 72
    // track batches, more than the 64 the coverage reads at a time.
    let mut posted = 0;
    for officer in 0..8 {
        for day in -1..8 {
            let fixes = walk(&mut rng, WEEK_START + day * 86_400 + 9 * 3600 + officer * 600);
            let list: Vec<Value> = fixes.iter().map(|(t, x, y)| json!({"time": t, "lon": x, "lat": y})).collect();
            let body = json!({"officer": format!("walker-{officer}"), "fixes": list});
            let (status, r) = server.post_as(Some(&admin), "/api/v1/tracks", &body.to_string());
            assert_eq!((status, r["dropped"].as_u64()), (201, Some(0)), "{r}");
            for (t, x, y) in &fixes {
                writeln!(sql, "INSERT INTO fixes VALUES ({t}, {x:.7}, {y:.7});").ok();
            }
            posted += fixes.len();
        }
    }
    let file = dir.join("reference.sql");
    std::fs::write(&file, sql).expect("write SQL");
    psql_file(&reference.url(), &file);

    // PostGIS: days with a fix within 30 m (geography, on the spheroid) per point.
    let end = WEEK_START + 7 * 86_400;
    let rows = psql(
        &reference.url(),
        &format!(
            "SELECT p.code, count(DISTINCT (f.t - {WEEK_START}) / 86400) FROM pts p JOIN fixes f \
             ON ST_DWithin(p.geom::geography, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326)::geography, 30) \
             WHERE f.t >= {WEEK_START} AND f.t < {end} GROUP BY p.code"
        ),
    );
    let expected: HashMap<String, u64> = rows
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(code, n)| (code.to_string(), n.trim().parse().unwrap_or(0)))
        .collect();

    let (status, cov) = server.get_as(Some(&admin), "/api/v1/coverage?week=2026-W47");
    assert_eq!(status, 200, "{cov}");
    let points = cov["points"].as_array().expect("points");
    assert_eq!(points.len(), n_points);
    assert_eq!(
        cov["summary"]["fixes"].as_u64(),
        Some((posted - 8 * 2 * 240) as u64),
        "fixes outside the week are not counted"
    );
    let mut mismatches = Vec::new();
    for p in points {
        let code = p["code"].as_str().unwrap_or_default();
        let ours = p["visits"].as_u64().unwrap_or(0);
        let theirs = expected.get(code).copied().unwrap_or(0);
        if ours != theirs {
            mismatches.push(code.to_string());
        }
        let required = p["required"].as_u64().unwrap_or(1);
        assert_eq!(p["covered"].as_bool(), Some(ours >= required), "{p}");
    }
    // A disagreement is only acceptable for a fix within 5 cm of the 30 m line, where a local
    // metric frame and the spheroid may round differently.
    for code in &mismatches {
        let near_line = psql(
            &reference.url(),
            &format!(
                "SELECT count(*) FROM pts p JOIN fixes f ON abs(ST_Distance(p.geom::geography, \
                 ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326)::geography) - 30) < 0.05 WHERE p.code = '{code}'"
            ),
        );
        assert_ne!(near_line.trim(), "0", "{code}: ours and PostGIS disagree with no fix near the 30 m line");
    }
    let visited = expected.values().filter(|&&n| n > 0).count();
    let covered = cov["summary"]["covered"].as_u64().unwrap_or(0) as usize;
    assert!(
        visited > n_points / 4 && covered < n_points,
        "the week must exercise both outcomes: {visited} visited, {covered} covered"
    );
    assert!(mismatches.len() <= 2, "{} mismatches: {mismatches:?}", mismatches.len());
    eprintln!(
        "coverage: {} points, {visited} visited per PostGIS, {} mismatches at the 30 m line",
        n_points,
        mismatches.len()
    );
}
