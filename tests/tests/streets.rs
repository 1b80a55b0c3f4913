//! Weekly plans along a street network, on both backends: with streets imported, every day's
//! line walks only the streets that exist, its length is what PostGIS measures, and each leg is
//! as long as pgRouting's shortest path (pgr_dijkstra) over the same streets — an independent
//! engine.

mod common;

use common::{gridwatch, text, user_with_token, Backend, PgDatabase};
use serde_json::{json, Value};
use std::collections::HashSet;

const WEEK: &str = "2026-W48";
const MONDAY: &str = "2026-11-23T07:00:00+08:00";
const COLUMNS: usize = 6;
const ROWS: usize = 5;

fn junction(i: usize, j: usize) -> (f64, f64) {
    (116.400 + 0.002 * i as f64, 39.900 + 0.002 * j as f64)
}

/// The streets: a 6 × 5 lattice of blocks with a wall (no street) along part of column 2, so
/// that some walks go round. Each edge is (node, node) with nodes numbered j · 6 + i.
fn streets() -> Vec<(usize, usize)> {
    let mut edges = Vec::new();
    for j in 0..ROWS {
        for i in 0..COLUMNS {
            let n = j * COLUMNS + i;
            if i + 1 < COLUMNS && !(i == 2 && j < 3) {
                edges.push((n, n + 1));
            }
            if j + 1 < ROWS {
                edges.push((n, n + COLUMNS));
            }
        }
    }
    edges
}

fn position(node: usize) -> (f64, f64) {
    junction(node % COLUMNS, node / COLUMNS)
}

fn plan(url: &str) -> Value {
    let out = gridwatch(
        &["plan", "--week", WEEK, "--officer", "li.officer", "--format", "geojson", "--as-of", MONDAY],
        Some(url),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plans: Value = serde_json::from_slice(&out.stdout).expect("geojson");
    plans[0].clone()
}

fn routes(plan: &Value) -> Vec<Value> {
    plan["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["kind"] == "route")
        .cloned()
        .collect()
}

fn scenario(backend: &Backend, pg: &PgDatabase) {
    let (name, url) = (backend.name(), backend.url());
    let dir = common::scratch(&format!("streets-{name}"));
    let grid = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"code": "110101001001001", "name": "路网测试网格"},
        "geometry": {"type": "Polygon", "coordinates": [[[116.399, 39.899], [116.411, 39.899], [116.411, 39.909], [116.399, 39.909], [116.399, 39.899]]]}}]});
    let file = dir.join("grid.geojson");
    std::fs::write(&file, grid.to_string()).expect("write");
    assert!(gridwatch(&["import", "grids", &file.to_string_lossy()], Some(&url)).status.success());
    user_with_token(&url, "li.officer", &["--role", "officer", "--scope", "110101001001001"]);
    // The community office and eight points, all at junctions.
    let mut features = vec![
        json!({"type": "Feature", "properties": {"code": "OFFICE", "name": "社区居委会", "type": "community_committee"},
        "geometry": {"type": "Point", "coordinates": [116.400, 39.900]}}),
    ];
    for (k, (i, j)) in [(5, 4), (2, 3), (4, 1), (1, 4), (3, 0), (5, 2), (0, 3), (3, 3)].into_iter().enumerate() {
        let (x, y) = junction(i, j);
        features.push(json!({"type": "Feature", "properties": {"code": format!("P{k}"), "name": format!("点位{k}"), "type": "back_street"},
            "geometry": {"type": "Point", "coordinates": [x, y]}}));
    }
    let file = dir.join("points.geojson");
    std::fs::write(&file, json!({"type": "FeatureCollection", "features": features}).to_string()).expect("write");
    assert!(gridwatch(&["import", "points", &file.to_string_lossy()], Some(&url)).status.success());
    let straight = plan(&url);

    // A file with a point among the lines is refused whole: nothing changes.
    let edges = streets();
    let mut lines: Vec<Value> = edges
        .iter()
        .map(|&(a, b)| {
            let ((x0, y0), (x1, y1)) = (position(a), position(b));
            json!({"type": "Feature", "properties": {"name": format!("街{a}-{b}")},
                   "geometry": {"type": "LineString", "coordinates": [[x0, y0], [x1, y1]]}})
        })
        .collect();
    let file = dir.join("streets.geojson");
    let mut with_point = lines.clone();
    with_point.push(json!({"type": "Feature", "properties": {"name": "井盖"}, "geometry": {"type": "Point", "coordinates": [116.4, 39.9]}}));
    std::fs::write(&file, json!({"type": "FeatureCollection", "features": with_point}).to_string()).expect("write");
    let out = gridwatch(&["import", "streets", &file.to_string_lossy()], Some(&url));
    let stderr = text(&out.stderr);
    assert!(!out.status.success() && stderr.contains("geometry") && stderr.contains("LineString"), "{name}: {stderr}");
    assert_eq!(plan(&url)["length_m"], straight["length_m"], "{name}: nothing was stored");

    // One MultiLineString among the lines, split into its parts.
    let last = lines.pop().expect("a line");
    let first = lines.pop().expect("a line");
    lines.push(json!({"type": "Feature", "properties": {"name": "多段街"}, "geometry": {"type": "MultiLineString",
        "coordinates": [first["geometry"]["coordinates"].clone(), last["geometry"]["coordinates"].clone()]}}));
    std::fs::write(&file, json!({"type": "FeatureCollection", "features": lines}).to_string()).expect("write");
    let out = gridwatch(&["import", "streets", &file.to_string_lossy()], Some(&url));
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("{} street lines", edges.len())), "{name}: {}", text(&out.stdout));

    let along = plan(&url);
    assert_eq!(along["unplanned"].as_array().map(Vec::len), Some(0), "{name}: {along}");
    let total = |p: &Value| p["length_m"].as_f64().unwrap_or(0.0);
    assert!(
        total(&along) > total(&straight) * 1.05,
        "{name}: streets {} m vs straight {} m",
        total(&along),
        total(&straight)
    );

    // Every step of every day's line is a street that exists.
    let existing: HashSet<(usize, usize)> = edges.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect();
    let node_at = |c: &Value| -> usize {
        let (x, y) = (c[0].as_f64().unwrap_or(0.0), c[1].as_f64().unwrap_or(0.0));
        let (i, j) = (((x - 116.400) / 0.002).round() as usize, ((y - 39.900) / 0.002).round() as usize);
        assert!(
            (junction(i, j).0 - x).abs() < 1e-9 && (junction(i, j).1 - y).abs() < 1e-9,
            "{name}: {c} is at a junction"
        );
        j * COLUMNS + i
    };
    let stops: Vec<Value> = along["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["kind"] == "stop")
        .cloned()
        .collect();
    for route in routes(&along) {
        let coords = route["geometry"]["coordinates"].as_array().expect("line");
        let nodes: Vec<usize> = coords.iter().map(node_at).collect();
        for w in nodes.windows(2) {
            assert!(existing.contains(&(w[0], w[1])), "{name}: {} → {} is not a street", w[0], w[1]);
        }
        // The line's length is the day's length, as PostGIS measures it.
        let wkt: Vec<String> = coords.iter().map(|c| format!("{} {}", c[0], c[1])).collect();
        let postgis: f64 = pg
            .sql(&format!("SELECT ST_Length(ST_GeomFromText('LINESTRING({})', 4326)::geography)", wkt.join(",")))
            .trim()
            .parse()
            .expect("a length");
        let day_length = route["properties"]["length_m"].as_f64().unwrap_or(0.0);
        assert!((day_length - postgis).abs() <= 1.0, "{name}: {day_length} vs PostGIS {postgis}");
        // Each leg (office, stops in order, office) is pgRouting's shortest path.
        let date = route["properties"]["date"].as_str().unwrap_or("");
        let mut day: Vec<&Value> = stops.iter().filter(|s| s["properties"]["date"] == date).collect();
        day.sort_by_key(|s| s["properties"]["order"].as_u64());
        let mut visits = vec![0usize];
        visits.extend(day.iter().map(|s| node_at(&s["geometry"]["coordinates"])));
        visits.push(0);
        let mut pgrouting = 0.0;
        for w in visits.windows(2) {
            let cost: f64 = pg
                .sql(&format!(
                    "SELECT COALESCE(max(agg_cost), 0) FROM pgr_dijkstra('SELECT id, source, target, cost, cost AS reverse_cost FROM walk', {}, {}, false)",
                    w[0], w[1]
                ))
                .trim()
                .parse()
                .expect("a cost");
            pgrouting += cost;
        }
        assert!((day_length - pgrouting).abs() <= 1.0, "{name} {date}: {day_length} m vs pgRouting {pgrouting} m");
    }
}

#[test]
fn plans_follow_the_streets_as_pgrouting_finds_them_on_both_backends() {
    // pgRouting's copy of the same streets, in a database of its own.
    let pg = PgDatabase::fresh();
    pg.sql("CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pgrouting");
    let rows: Vec<String> = streets()
        .iter()
        .enumerate()
        .map(|(k, &(a, b))| {
            let ((x0, y0), (x1, y1)) = (position(a), position(b));
            format!("({k}, {a}, {b}, ST_GeomFromText('LINESTRING({x0} {y0}, {x1} {y1})', 4326))")
        })
        .collect();
    pg.sql(&format!(
        "CREATE TABLE walk AS SELECT id, source, target, ST_Length(geom::geography) AS cost FROM (VALUES {}) AS e(id, source, target, geom)",
        rows.join(", ")
    ));
    for backend in Backend::both("streets") {
        scenario(&backend, &pg);
    }
}
