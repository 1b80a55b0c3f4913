//! The tiling check (责任全覆盖) against PostGIS/GEOS on real county boundaries with deliberate
//! gaps and overlaps: counts agree exactly, areas within 0.5 %. Also over HTTP on the demo city.

mod common;

use common::{gridwatch, psql, psql_file, shared_data, text, PgDatabase, Server};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// Moves every position of a GeoJSON geometry by (dx, dy) degrees.
fn shift(v: &mut Value, dx: f64, dy: f64) {
    match v {
        Value::Array(items) if items.len() >= 2 && items.iter().all(Value::is_number) => {
            items[0] = json!(items[0].as_f64().unwrap_or(0.0) + dx);
            items[1] = json!(items[1].as_f64().unwrap_or(0.0) + dy);
        }
        Value::Array(items) => items.iter_mut().for_each(|i| shift(i, dx, dy)),
        _ => {}
    }
}

fn collection(features: &[Value]) -> String {
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

#[test]
fn the_tiling_check_agrees_with_postgis_on_iowa_counties_with_deliberate_faults() {
    let dir = common::scratch("tiling");
    let all: Value =
        serde_json::from_str(&std::fs::read_to_string(shared_data("us-counties.geojson")).expect("counties"))
            .expect("GeoJSON");
    let iowa: Vec<Value> = all["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["id"].as_str().is_some_and(|id| id.starts_with("19")))
        .map(|f| {
            let mut f = f.clone();
            f["properties"]["code"] = f["properties"]["id"].clone();
            f
        })
        .collect();
    assert_eq!(iowa.len(), 99, "Iowa has 99 counties");
    // Faults: two counties missing (gaps); Story (inland) and Scott (on the Mississippi) moved
    // 0.02° east, overlapping a neighbour or crossing the state line and leaving gaps behind; and
    // a square laid over two others.
    let mut grids: Vec<Value> =
        iowa.iter().filter(|f| !matches!(f["properties"]["code"].as_str(), Some("19153" | "19113"))).cloned().collect();
    for f in grids.iter_mut().filter(|f| matches!(f["properties"]["code"].as_str(), Some("19163" | "19169"))) {
        shift(&mut f["geometry"]["coordinates"], 0.02, 0.0);
    }
    grids.push(json!({"type": "Feature", "properties": {"code": "X0001"}, "geometry": {"type": "Polygon",
        "coordinates": [[[-93.0, 42.0], [-92.9, 42.0], [-92.9, 42.1], [-93.0, 42.1], [-93.0, 42.0]]]}}));
    let (boundary_file, grids_file) = (dir.join("iowa.geojson"), dir.join("grids.geojson"));
    std::fs::write(&boundary_file, collection(&iowa)).expect("write");
    std::fs::write(&grids_file, collection(&grids)).expect("write");

    let out = gridwatch(
        &[
            "check",
            "grids",
            "--boundary",
            &boundary_file.to_string_lossy(),
            &grids_file.to_string_lossy(),
            "--format",
            "json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ours: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let s = &ours["summary"];

    // The same questions to PostGIS (GEOS), on the same files.
    let db = PgDatabase::fresh();
    psql(&db.url(), "CREATE EXTENSION IF NOT EXISTS postgis");
    let mut sql =
        String::from("CREATE TABLE bnd (code text, g geometry); CREATE TABLE grids (code text, g geometry);\n");
    for (table, features) in [("bnd", &iowa), ("grids", &grids)] {
        for f in features.iter() {
            let code = f["properties"]["code"].as_str().unwrap_or_default();
            writeln!(
                sql,
                "INSERT INTO {table} VALUES ('{code}', ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON('{}'), 4326)));",
                f["geometry"]
            )
            .ok();
        }
    }
    let file = dir.join("load.sql");
    std::fs::write(&file, sql).expect("write");
    psql_file(&db.url(), &file);
    let measure = |query: &str| -> (u64, f64) {
        let row = psql(&db.url(), &format!("SELECT count(*), coalesce(sum(a), 0) FROM ({query}) s WHERE a >= 1"));
        let (n, a) = row.trim().split_once('|').expect("count|sum");
        (n.parse().expect("count"), a.parse().expect("sum"))
    };
    let gaps = measure(
        "SELECT ST_Area((ST_Dump(ST_Difference((SELECT ST_Union(g) FROM bnd), (SELECT ST_Union(g) FROM grids)))).geom::geography) a",
    );
    let overlaps = measure(
        "SELECT ST_Area(ST_CollectionExtract(ST_Intersection(x.g, y.g), 3)::geography) a FROM grids x JOIN grids y \
         ON x.code < y.code AND ST_Intersects(x.g, y.g)",
    );
    let outside = measure(
        "SELECT ST_Area((ST_Dump(ST_Difference(x.g, (SELECT ST_Union(g) FROM bnd)))).geom::geography) a FROM grids x",
    );
    let close = |ours: f64, theirs: f64| (ours - theirs).abs() <= 0.005 * theirs.max(1.0);
    for (what, (n, area), (our_n, our_area)) in [
        ("gap", gaps, (&s["gap_parts"], &s["gap_m2"])),
        ("overlap", overlaps, (&s["overlap_pairs"], &s["overlap_m2"])),
        ("outside", outside, (&s["outside_parts"], &s["outside_m2"])),
    ] {
        let (our_n, our_area) = (our_n.as_u64().unwrap_or(u64::MAX), our_area.as_f64().unwrap_or(-1.0));
        eprintln!("{what}: ours {our_n} parts {our_area:.0} m², PostGIS {n} parts {area:.0} m²");
        assert_eq!(our_n, n, "{what} count: {s}");
        assert!(close(our_area, area), "{what} area: ours {our_area}, PostGIS {area}");
    }
    assert!(s["gap_parts"].as_u64() >= Some(2) && s["overlap_pairs"].as_u64() >= Some(3), "the faults are found: {s}");
    let overlap_codes: Vec<String> = ours["overlaps"]
        .as_array()
        .map(|o| {
            o.iter().map(|p| format!("{}+{}", p["a"].as_str().unwrap_or(""), p["b"].as_str().unwrap_or(""))).collect()
        })
        .unwrap_or_default();
    assert!(overlap_codes.iter().any(|c| c.contains("19169")), "{overlap_codes:?}");
    assert!(ours["outside"].as_array().is_some_and(|o| o.iter().any(|p| p["code"] == "19163")), "{}", ours["outside"]);
    let gap_neighbours = &ours["gaps"];
    assert!(gap_neighbours
        .as_array()
        .is_some_and(|g| g.iter().all(|g| !g["neighbours"].as_array().is_none_or(Vec::is_empty))));

    // GeoJSON output draws the same findings.
    let out = gridwatch(
        &[
            "check",
            "grids",
            "--boundary",
            &boundary_file.to_string_lossy(),
            &grids_file.to_string_lossy(),
            "--format",
            "geojson",
        ],
        None,
    );
    let layer: Value = serde_json::from_slice(&out.stdout).expect("GeoJSON");
    let expected = s["gap_parts"].as_u64().unwrap_or(0)
        + s["overlap_pairs"].as_u64().unwrap_or(0)
        + s["outside_parts"].as_u64().unwrap_or(0);
    assert_eq!(layer["features"].as_array().map_or(0, Vec::len) as u64, expected);

    // Bad input names the file and the feature.
    std::fs::write(dir.join("bad.geojson"), r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"A"},"geometry":{"type":"Point","coordinates":[0,0]}}]}"#).expect("write");
    let out = gridwatch(
        &["check", "grids", "--boundary", &boundary_file.to_string_lossy(), &dir.join("bad.geojson").to_string_lossy()],
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("bad.geojson: feature 0 (code A), geometry"), "{}", text(&out.stderr));
}

#[test]
fn the_demo_city_tiles_its_streets_and_the_api_reports_it() {
    let dir = common::scratch("tiling-api");
    let server = Server::start(&format!("sqlite://{}", dir.join("g.db").display()), &["--demo"]);
    let office = server.token_of("office");
    // The demo's unit grids are cut from each community exactly: nothing to report.
    let (status, report) = server.get_as(Some(&office), "/api/v1/tiling?level=grid&within=110101001");
    assert_eq!(status, 200, "{report}");
    let s = &report["summary"];
    assert!(s["grids"].as_u64() > Some(10), "{s}");
    assert_eq!(
        (s["gap_parts"].as_u64(), s["overlap_pairs"].as_u64(), s["outside_parts"].as_u64()),
        (Some(0), Some(0), Some(0)),
        "{s}"
    );
    // The whole district at once: the overlay leaves degenerate slivers along shared edges, which
    // must measure ~0 m² (not the whole Earth, as a clockwise ring on the ellipsoid would).
    let (_, city) = server.get_as(Some(&office), "/api/v1/tiling");
    assert_eq!(city["summary"]["grids"], 1287, "{}", city["summary"]);
    assert_eq!((city["summary"]["gap_parts"].as_u64(), city["summary"]["gap_m2"].as_f64()), (Some(0), Some(0.0)));
    let (status, layer) =
        server.get_as(Some(&office), "/api/v1/tiling?level=community&within=110101001&format=geojson");
    assert_eq!((status, layer["type"].as_str()), (200, Some("FeatureCollection")), "{layer}");
    assert_eq!(server.get_as(Some(&office), "/api/v1/tiling?level=moon").0, 400);
    assert_eq!(server.get_as(Some(&office), "/api/v1/tiling?within=nowhere").0, 400);
    assert_eq!(server.get_as(Some(&server.token_of("officer")), "/api/v1/tiling").0, 403);
}
