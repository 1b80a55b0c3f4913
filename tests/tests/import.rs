//! `gridwatch import grids`: every bad feature named, nothing stored unless all is well,
//! `--repair` checked against PostGIS's own ST_MakeValid, versions on changed boundaries, and a
//! running server picking up the change.

mod common;

use common::{gridwatch, scratch, shared_data, text, Backend, PgDatabase, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn feature(code: Option<&str>, geometry: Value) -> Value {
    let props = match code {
        Some(c) => {
            json!({"code": c, "name": format!("grid {c}"), "responsible_unit": "东华门街道办事处"})
        }
        None => json!({"name": "no code"}),
    };
    json!({"type": "Feature", "properties": props, "geometry": geometry})
}

fn square(x: f64, y: f64, size: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]})
}

fn write_collection(dir: &Path, name: &str, features: Vec<Value>) -> PathBuf {
    let path = dir.join(name);
    let body = json!({"type": "FeatureCollection", "features": features});
    std::fs::write(&path, body.to_string()).expect("write fixture");
    path
}

fn bowtie() -> Value {
    json!({"type": "Polygon", "coordinates": [[[116.42, 39.90], [116.43, 39.91], [116.43, 39.90], [116.42, 39.91], [116.42, 39.90]]]})
}

fn unclosed() -> Value {
    json!({"type": "Polygon", "coordinates": [[[116.44, 39.90], [116.45, 39.90], [116.45, 39.91], [116.44, 39.91]]]})
}

fn import(file: &Path, url: &str, repair: bool) -> (bool, String, String) {
    let path = file.to_string_lossy().to_string();
    let mut args = vec!["import", "grids", path.as_str()];
    if repair {
        args.push("--repair");
    }
    let out = gridwatch(&args, Some(url));
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

fn grid_layer(server: &Server) -> Vec<Value> {
    let (status, body) = server.get("/api/v1/layers/grids");
    assert_eq!(status, 200);
    body["features"].as_array().cloned().unwrap_or_default()
}

fn import_scenario(backend: &Backend) {
    let name = backend.name();
    let url = backend.url();
    let dir = scratch("import");

    let broken = write_collection(
        &dir,
        "broken.geojson",
        vec![
            feature(Some("G1"), square(116.40, 39.90, 0.01)),
            feature(Some("G2"), bowtie()),
            feature(Some("G3"), unclosed()),
            feature(
                Some("G4"),
                json!({"type": "Polygon", "coordinates": [[[116.4, 39.9], [196.4, 39.9], [116.4, 39.95], [116.4, 39.9]]]}),
            ),
            feature(None, square(116.50, 39.90, 0.01)),
            feature(Some("G6"), json!({"type": "Point", "coordinates": [116.4, 39.9]})),
            feature(Some("G1"), square(116.60, 39.90, 0.01)),
        ],
    );
    let (ok, _, stderr) = import(&broken, &url, false);
    assert!(!ok, "{name}: a file with bad features must fail");
    for expected in [
        "feature 1 (code G2), geometry: polygon 0: exterior ring has a self-intersection at (116.4250000, 39.9050000)",
        "feature 2 (code G3), geometry: polygon 0 exterior ring: ring is not closed",
        "feature 3 (code G4), geometry: polygon 0 exterior ring: position 1 (196.4, 39.9) is out of range",
        "feature 4, code: is required",
        "feature 5 (code G6), geometry: type \"Point\" is not a Polygon or MultiPolygon",
        "feature 6 (code G1), code: appears more than once",
        "nothing was stored",
    ] {
        assert!(stderr.contains(expected), "{name}: stderr lacks {expected:?}:\n{stderr}");
    }
    assert!(stderr.contains("broken.geojson"), "{name}: the file is named");

    // Even --repair cannot fix out-of-range coordinates, a missing code or a point: still all or nothing.
    let (ok, _, stderr) = import(&broken, &url, true);
    assert!(!ok && stderr.contains("cannot be repaired"), "{name}: {stderr}");
    let mut server = Server::start(&url, &[]);
    server.token = Some(common::user_with_token(&url, "e2e-admin", &["--role", "admin"]));
    assert!(grid_layer(&server).is_empty(), "{name}: nothing may be stored after a failed import");

    let repairable = write_collection(
        &dir,
        "repairable.geojson",
        vec![
            feature(Some("G1"), square(116.40, 39.90, 0.01)),
            feature(Some("G2"), bowtie()),
            feature(Some("G3"), unclosed()),
        ],
    );
    let (ok, _, stderr) = import(&repairable, &url, false);
    assert!(!ok && stderr.contains("--repair can fix this"), "{name}: {stderr}");
    let (ok, stdout, stderr) = import(&repairable, &url, true);
    assert!(ok, "{name}: {stderr}");
    assert!(stdout.contains("repaired feature 1 (code G2)") && stdout.contains("even-odd"), "{name}: {stdout}");
    assert!(stdout.contains("repaired feature 2 (code G3): polygon 0 exterior ring: closed"), "{name}: {stdout}");
    assert!(stdout.contains("3 new, 0 new versions"), "{name}: {stdout}");

    // The running server follows the import without a restart.
    assert!(
        common::eventually(20, || server.get("/api/v1/locate?lon=116.405&lat=39.905").1["grid"]["code"] == "G1"),
        "{name}: the server picks up imported grids"
    );
    let grids = grid_layer(&server);
    let g2 = grids.iter().find(|f| f["id"] == "G2").expect("G2 stored");
    assert_eq!(g2["geometry"]["type"], "MultiPolygon", "{name}: the bowtie becomes two triangles");

    // Move G1: version 2 opens and the index follows; the same file again changes nothing.
    let moved = write_collection(
        &dir,
        "moved.geojson",
        vec![feature(Some("G1"), square(116.40, 39.92, 0.01)), feature(Some("G3"), square(116.44, 39.90, 0.01))],
    );
    let (ok, stdout, stderr) = import(&moved, &url, false);
    assert!(ok, "{name}: {stderr}");
    assert!(stdout.contains("0 new, 1 new versions, 0 updated, 1 unchanged"), "{name}: {stdout}");
    let (_, stdout, _) = import(&moved, &url, false);
    assert!(stdout.contains("0 new, 0 new versions, 0 updated, 2 unchanged"), "{name}: {stdout}");
    assert!(
        common::eventually(20, || server.get("/api/v1/locate?lon=116.405&lat=39.925").1["grid"]["code"] == "G1"),
        "{name}: the moved grid is found at its new place"
    );
    let (_, old_place) = server.get("/api/v1/locate?lon=116.405&lat=39.905");
    assert_eq!(old_place["grid"], Value::Null, "{name}");
    let grids = grid_layer(&server);
    let g1 = grids.iter().find(|f| f["id"] == "G1").expect("G1");
    assert_eq!(g1["properties"]["version"], 2, "{name}");
}

#[test]
fn imports_report_every_bad_feature_and_are_atomic_on_both_backends() {
    for backend in Backend::both("import") {
        import_scenario(&backend);
    }
}

/// Beijing's 16 districts as a vendor ships them (12 invalid): gridwatch refuses them, then
/// repairs them; PostGIS checks the result is valid and covers what ST_MakeValid covers.
#[test]
fn repaired_beijing_districts_agree_with_postgis_make_valid() {
    let source: Value =
        serde_json::from_str(&std::fs::read_to_string(shared_data("beijing-districts.geojson")).expect("read"))
            .expect("json");
    let features: Vec<Value> = source["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            let props = json!({"code": f["properties"]["id"], "name": f["properties"]["name"], "level": "district"});
            json!({"type": "Feature", "properties": props, "geometry": f["geometry"]})
        })
        .collect();
    let dir = scratch("beijing");
    let file = write_collection(&dir, "beijing.geojson", features.clone());
    let db = PgDatabase::fresh();

    let (ok, _, stderr) = import(&file, &db.url(), false);
    assert!(!ok, "the vendor file is invalid");
    assert!(stderr.contains("(code 110101)") && stderr.contains("self-intersection at ("), "{stderr}");
    let (ok, stdout, stderr) = import(&file, &db.url(), true);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("16 new"), "{stdout}");

    // The originals, straight into PostGIS, to be repaired by ST_MakeValid (GEOS).
    let mut sql = String::from("CREATE TABLE originals (code text, geom geometry);\n");
    for f in &features {
        sql.push_str(&format!(
            "INSERT INTO originals VALUES ('{}', ST_SetSRID(ST_GeomFromGeoJSON('{}'), 4326));\n",
            f["properties"]["code"].as_str().expect("code"),
            f["geometry"]
        ));
    }
    let sql_file = dir.join("originals.sql");
    std::fs::write(&sql_file, sql).expect("sql");
    common::psql_file(&db.url(), &sql_file);

    let rows = db.sql(
        "SELECT g.code, ST_IsValid(g.geom), ST_IsValid(o.geom), \
                ST_Area(g.geom::geography) / ST_Area(ST_MakeValid(o.geom)::geography), \
                ST_Area(ST_SymDifference(g.geom, ST_MakeValid(o.geom))) / ST_Area(ST_MakeValid(o.geom)) \
         FROM grids g JOIN originals o USING (code) WHERE g.valid_to IS NULL ORDER BY g.code",
    );
    let rows: Vec<Vec<&str>> = rows.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(rows.len(), 16);
    assert!(rows.iter().filter(|r| r[2] == "f").count() >= 12, "the fixture has 12 invalid districts");
    for r in &rows {
        assert_eq!(r[1], "t", "district {} must be valid after repair", r[0]);
        let area_ratio: f64 = r[3].parse().expect("ratio");
        let difference: f64 = r[4].parse().expect("difference");
        assert!((area_ratio - 1.0).abs() < 1e-6, "district {}: area ratio {area_ratio}", r[0]);
        assert!(difference < 1e-6, "district {}: symmetric difference {difference}", r[0]);
    }
    let dongcheng_km2: f64 = db
        .sql("SELECT ST_Area(geom::geography) / 1e6 FROM grids WHERE code = '110101' AND valid_to IS NULL")
        .trim()
        .parse()
        .expect("area");
    assert!((dongcheng_km2 - 41.82).abs() < 0.01, "Dongcheng {dongcheng_km2} km²");
}
