//! `gridwatch assign` must agree point for point with PostGIS `ST_Covers` (plus the tie rule:
//! smallest code) on a real tiling: 3,231 US counties whose neighbours share edges exactly.

mod common;

use common::{gridwatch, scratch, shared_data, text, PgDatabase};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

/// SplitMix64: a seeded generator, so the points are the same on every run.
struct SplitMix(u64);

impl SplitMix {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn read_csv_map(path: &Path) -> HashMap<String, String> {
    let body = std::fs::read_to_string(path).expect("output CSV");
    let mut lines = body.lines();
    assert_eq!(lines.next(), Some("id,code"), "header");
    lines
        .map(|l| {
            let (id, code) = l.split_once(',').expect("two columns");
            (id.to_string(), code.to_string())
        })
        .collect()
}

#[test]
fn assign_agrees_with_postgis_st_covers_on_us_counties() {
    let dir = scratch("assign");
    let source: Value =
        serde_json::from_str(&std::fs::read_to_string(shared_data("us-counties.geojson")).expect("read"))
            .expect("json");
    let features = source["features"].as_array().expect("features");

    // Grids as given (21 are invalid: assignment, like ST_Covers, does not need validity).
    let grids: Vec<Value> = features
        .iter()
        .map(|f| json!({"type": "Feature", "properties": {"code": f["properties"]["id"]}, "geometry": f["geometry"]}))
        .collect();
    let grids_path = dir.join("counties.geojson");
    std::fs::write(&grids_path, json!({"type": "FeatureCollection", "features": grids}).to_string()).expect("write");

    // Points: uniform over the lower 48 (many fall outside every county), every county's first
    // vertex (shared by neighbours: ties), and edge midpoints (on or a hair off shared edges).
    let mut points = String::from("id,lon,lat\n");
    let mut rng = SplitMix(7);
    let mut n = 0usize;
    let mut push = |points: &mut String, lon: f64, lat: f64| {
        let _ = writeln!(points, "p{n},{lon},{lat}");
        n += 1;
    };
    for _ in 0..40_000 {
        push(&mut points, -128.0 + rng.unit() * 62.0, 23.0 + rng.unit() * 28.0);
    }
    for f in features {
        let polygons: Vec<&Value> = match f["geometry"]["type"].as_str() {
            Some("Polygon") => vec![&f["geometry"]["coordinates"]],
            _ => f["geometry"]["coordinates"].as_array().map(|a| a.iter().collect()).unwrap_or_default(),
        };
        for poly in polygons {
            let Some(ring) = poly[0].as_array() else {
                continue;
            };
            for (i, pair) in ring.windows(2).enumerate().step_by(7) {
                let (a, b) = (&pair[0], &pair[1]);
                let (ax, ay, bx, by) = (
                    a[0].as_f64().unwrap_or(0.),
                    a[1].as_f64().unwrap_or(0.),
                    b[0].as_f64().unwrap_or(0.),
                    b[1].as_f64().unwrap_or(0.),
                );
                push(&mut points, ax, ay);
                if i % 2 == 0 {
                    push(&mut points, (ax + bx) / 2.0, (ay + by) / 2.0);
                }
            }
        }
    }
    let points_path = dir.join("points.csv");
    std::fs::write(&points_path, &points).expect("write points");
    let out_path = dir.join("assigned.csv");

    let out = gridwatch(
        &[
            "assign",
            "--grids",
            &grids_path.to_string_lossy(),
            "--points",
            &points_path.to_string_lossy(),
            "--out",
            &out_path.to_string_lossy(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("points/s"), "the run reports its throughput");
    let ours = read_csv_map(&out_path);

    // The same question to PostGIS.
    let db = PgDatabase::fresh();
    let mut sql =
        String::from("CREATE EXTENSION IF NOT EXISTS postgis;\nCREATE TABLE grids (code text, geom geometry);\n");
    for f in features {
        let _ = writeln!(
            sql,
            "INSERT INTO grids VALUES ('{}', ST_SetSRID(ST_GeomFromGeoJSON('{}'), 4326));",
            f["properties"]["id"].as_str().expect("code"),
            f["geometry"]
        );
    }
    sql.push_str("CREATE INDEX ON grids USING GIST (geom);\nCREATE TABLE pts (id text, lon float8, lat float8);\n");
    let sql_path = dir.join("load.sql");
    std::fs::write(&sql_path, sql).expect("sql");
    common::psql_file(&db.url(), &sql_path);
    db.sql(&format!("\\copy pts FROM '{}' CSV HEADER", points_path.display()));
    let theirs: HashMap<String, String> = db
        .sql(
            "SELECT p.id, coalesce((SELECT min(g.code) FROM grids g \
                 WHERE ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))), '') FROM pts p",
        )
        .lines()
        .map(|l| {
            let (id, code) = l.split_once('|').expect("two columns");
            (id.to_string(), code.to_string())
        })
        .collect();

    assert_eq!(ours.len(), n, "one output row per input point");
    assert_eq!(theirs.len(), n);
    let disagreements: Vec<String> = theirs
        .iter()
        .filter(|(id, code)| ours.get(*id) != Some(code))
        .take(10)
        .map(|(id, code)| format!("{id}: PostGIS {code:?}, gridwatch {:?}", ours.get(id)))
        .collect();
    assert!(disagreements.is_empty(), "disagreements with ST_Covers:\n{}", disagreements.join("\n"));
    // The tie rule really was exercised: many points lie on edges shared by several counties.
    let ties: usize = db
        .sql(
            "SELECT count(*) FROM pts p WHERE (SELECT count(*) FROM grids g \
                 WHERE ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))) >= 2",
        )
        .trim()
        .parse()
        .expect("count");
    assert!(ties > 2_000, "only {ties} points on shared boundaries");
    let unassigned = ours.values().filter(|c| c.is_empty()).count();
    assert!(
        unassigned > 5_000 && unassigned < n / 2,
        "a real mix of assigned and unassigned points ({unassigned} of {n})"
    );
}

#[test]
fn output_keeps_input_order_and_bad_rows_are_named_without_partial_output() {
    let dir = scratch("assign-order");
    let grids = dir.join("grids.geojson");
    std::fs::write(
        &grids,
        json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "B"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}},
            {"type": "Feature", "properties": {"code": "A"}, "geometry": {"type": "Polygon", "coordinates": [[[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]]]}}
        ]})
        .to_string(),
    )
    .expect("grids");
    let points = dir.join("points.csv");
    std::fs::write(&points, "id,lon,lat\nz,0.5,0.5\ny,1,0.5\nx,5,5\nw,1.5,0.2\n").expect("points");
    let out = dir.join("out.csv");
    let run = |points: &Path| {
        gridwatch(
            &[
                "assign",
                "--grids",
                &grids.to_string_lossy(),
                "--points",
                &points.to_string_lossy(),
                "--out",
                &out.to_string_lossy(),
            ],
            None,
        )
    };
    let result = run(&points);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert_eq!(std::fs::read_to_string(&out).expect("out"), "id,code\nz,B\ny,A\nx,\nw,A\n");

    std::fs::remove_file(&out).expect("rm");
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "id,lon,lat\na,0.5,0.5\nb,0.5,north\n").expect("bad");
    let result = run(&bad);
    assert!(!result.status.success());
    let stderr = text(&result.stderr);
    assert!(stderr.contains("bad.csv: row 2: field lat: \"north\" is not a number"), "{stderr}");
    assert!(!out.exists(), "no partial output on failure");
    let leftovers = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .count();
    assert_eq!(leftovers, 0, "the temporary file is removed");
}
