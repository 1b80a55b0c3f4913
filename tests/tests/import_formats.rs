//! `gridwatch import` on the files cities really have, written by GDAL (`ogr2ogr`) and by hand:
//! a GBK Shapefile in a CGCS2000 Gauss-Krüger zone, a GeoPackage in Web Mercator with two
//! layers, a GBK CSV from "Excel", GCJ-02 positions, a problem backlog; `--map`, `--dry-run`,
//! `--skip-invalid` and `--report`; and the two real vendor files, with every invalid polygon
//! named exactly as PostGIS (GEOS) finds it.

mod common;

use common::{gridwatch, scratch, shared_data, text, Backend, PgDatabase, Server};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const NAMES: [&str; 3] = ["东华门街道第一网格", "景山街道第二网格", "交道口街道第三网格"];

fn run(args: &[&str], url: &str) -> (bool, String, String) {
    let out = gridwatch(args, Some(url));
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

fn ogr2ogr(args: &[&str]) {
    let out = Command::new("ogr2ogr").args(args).output().expect("ogr2ogr (gdal-bin) runs");
    assert!(out.status.success(), "ogr2ogr {args:?}: {}", text(&out.stderr));
}

/// Three 0.01° squares with the attribute names a surveying bureau uses (网格编码, 名称, 所属街道).
fn source_grids(dir: &Path) -> String {
    let features: Vec<Value> = NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let x = 116.40 + 0.01 * i as f64;
            json!({"type": "Feature",
                   "properties": {"WGBM": format!("11010100100100{i}"), "MC": name, "SSJD": "东华门街道办事处"},
                   "geometry": {"type": "Polygon", "coordinates": [[[x, 39.9], [x + 0.01, 39.9], [x + 0.01, 39.91], [x, 39.91], [x, 39.9]]]}})
        })
        .collect();
    let path = dir.join("grids.geojson");
    std::fs::write(&path, json!({"type": "FeatureCollection", "features": features}).to_string()).expect("write");
    path.to_string_lossy().into_owned()
}

/// A grid feature's outer ring (of its first polygon).
fn outer_ring(g: &Value) -> Vec<[f64; 2]> {
    let outer = match g["geometry"]["type"].as_str() {
        Some("Polygon") => &g["geometry"]["coordinates"][0],
        _ => &g["geometry"]["coordinates"][0][0],
    };
    serde_json::from_value(outer.clone()).expect("ring")
}

fn admin(url: &str) -> Server {
    let mut server = Server::start(url, &[]);
    server.token = Some(common::user_with_token(url, "import-admin", &["--role", "admin"]));
    server
}

fn formats_scenario(backend: &Backend) {
    let name = backend.name();
    let url = backend.url();
    let dir = scratch("formats");
    let geojson = source_grids(&dir);

    // A Shapefile as ArcGIS users get it: GBK attributes (.cpg), CGCS2000 / 3-degree
    // Gauss-Kruger CM 114E (.prj). PROJ projects; gridwatch must unproject.
    let shp = dir.join("网格.shp").to_string_lossy().into_owned();
    ogr2ogr(&["-f", "ESRI Shapefile", "-lco", "ENCODING=GBK", "-t_srs", "EPSG:4547", &shp, &geojson]);
    assert_eq!(std::fs::read_to_string(dir.join("网格.cpg")).expect("cpg").trim(), "GBK");
    let dbf = std::fs::read(dir.join("网格.dbf")).expect("dbf");
    assert!(!dbf.windows(3).any(|w| w == "东".as_bytes()), "{name}: the .dbf holds GBK, not UTF-8");
    let map = "code=WGBM,name=MC,responsible_unit=SSJD";
    let (ok, stdout, stderr) = run(&["import", "grids", "--map", map, &shp], &url);
    assert!(ok, "{name}: {stderr}");
    assert_eq!(stderr, "", "{name}: no progress bar when stderr is not a terminal");
    assert!(stdout.contains("Shapefile") && stdout.contains("GBK") && stdout.contains("3 new"), "{name}: {stdout}");

    let server = admin(&url);
    let (status, layer) = server.get("/api/v1/layers/grids");
    assert_eq!(status, 200);
    let grids = layer["features"].as_array().cloned().unwrap_or_default();
    assert_eq!(grids.len(), 3, "{name}");
    for (i, g) in grids.iter().enumerate() {
        assert_eq!(g["properties"]["name"], NAMES[i], "{name}: the GBK name comes out right");
        assert_eq!(g["properties"]["responsible_unit"], "东华门街道办事处", "{name}");
        let ring = outer_ring(g);
        let x0 = 116.40 + 0.01 * i as f64;
        for want in [[x0, 39.9], [x0 + 0.01, 39.91]] {
            let nearest =
                ring.iter().map(|p| ((p[0] - want[0]).abs()).max((p[1] - want[1]).abs())).fold(f64::INFINITY, f64::min);
            assert!(nearest < 1e-8, "{name}: PROJ's EPSG:4547 unprojected by gridwatch lands within 1 mm: {nearest}°");
        }
    }

    // A GeoPackage in Web Mercator with two layers: the layer must be chosen; the same
    // boundaries from another format are unchanged, not new versions.
    let gpkg = dir.join("survey.gpkg").to_string_lossy().into_owned();
    ogr2ogr(&["-f", "GPKG", "-t_srs", "EPSG:3857", "-nln", "网格", &gpkg, &geojson]);
    ogr2ogr(&["-f", "GPKG", "-update", "-nln", "其他", &gpkg, &geojson]);
    let (ok, _, stderr) = run(&["import", "grids", "--map", map, &gpkg], &url);
    assert!(
        !ok && stderr.contains("--layer") && stderr.contains("网格") && stderr.contains("其他"),
        "{name}: {stderr}"
    );
    let (ok, stdout, stderr) = run(&["import", "grids", "--map", map, "--layer", "网格", &gpkg], &url);
    assert!(ok, "{name}: {stderr}");
    assert!(
        stdout.contains("Web Mercator") && stdout.contains("0 new, 0 new versions, 0 updated, 3 unchanged"),
        "{name}: {stdout}"
    );

    // A point list saved by Chinese Excel: GBK, semicolons, Chinese headers; one bad row.
    let csv = dir.join("点位.csv");
    let body = "编号;名称;类型;经度;纬度\nP1;东四菜市场;农贸市场;116.405;39.905\nP2;史家胡同;背街小巷;116.415;39.905\nP3;坏行;公厕;东经;39.9\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(body);
    std::fs::write(&csv, &gbk).expect("csv");
    let csv = csv.to_string_lossy().into_owned();
    let map = "code=编号,name=名称,type=类型";
    let report = dir.join("report.csv");
    let report_arg = report.to_string_lossy().into_owned();
    let (ok, _, stderr) = run(&["import", "points", "--map", map, "--report", &report_arg, &csv], &url);
    assert!(!ok && stderr.contains("row 3 (code P3), 经度: \"东经\" is not a number"), "{name}: {stderr}");
    assert!(stderr.contains("nothing was stored"), "{name}");
    let (status, points) = server.get("/api/v1/points");
    assert_eq!((status, points["features"].as_array().map(Vec::len)), (200, Some(0)), "{name}: all or nothing");
    let lines: Vec<String> = std::fs::read_to_string(&report).expect("report").lines().map(String::from).collect();
    assert_eq!(lines[0], "file,unit,record,code,field,problem,action");
    assert!(lines[1].ends_with(",row,3,P3,经度,\"\"\"东经\"\" is not a number\",refused"), "{name}: {}", lines[1]);

    let (ok, _, stderr) = run(&["import", "points", "--map", map, "--dry-run", "--skip-invalid", &csv], &url);
    assert!(ok, "{name}: {stderr}");
    assert_eq!(server.get("/api/v1/points").1["features"].as_array().map(Vec::len), Some(0), "{name}: dry run");
    let (ok, stdout, stderr) = run(&["import", "points", "--map", map, "--skip-invalid", &csv], &url);
    assert!(ok, "{name}: {stderr}");
    assert!(
        stdout.contains("gb18030") && stdout.contains("2 new") && stdout.contains("1 invalid records skipped"),
        "{name}: {stdout}"
    );
    let (_, points) = server.get("/api/v1/points");
    let named: BTreeSet<String> =
        points["features"].as_array().into_iter().flatten().map(|f| f["properties"]["name"].to_string()).collect();
    assert_eq!(named, BTreeSet::from(["\"东四菜市场\"".to_string(), "\"史家胡同\"".to_string()]), "{name}");
    let p1 = points["features"].as_array().and_then(|f| f.iter().find(|p| p["id"] == "P1")).expect("P1");
    assert_eq!(p1["properties"]["grid_code"], "110101001001000", "{name}: the point is placed in its grid");

    // GCJ-02 (高德): the published pair WGS-84 (116.404, 39.915) ↔ GCJ-02 (116.41024449916938,
    // 39.91640428150164) from coordtransform's README; the dry run says P1 would move.
    let gcj = dir.join("gcj.csv");
    std::fs::write(&gcj, "code,name,type,lon,lat\nP1,东四菜市场,market,116.41024449916938,39.91640428150164\n")
        .expect("gcj");
    let gcj = gcj.to_string_lossy().into_owned();
    let (ok, stdout, _) = run(&["import", "points", "--crs", "gcj02", "--dry-run", &gcj], &url);
    assert!(
        ok && stdout.contains("GCJ-02") && stdout.contains("1 updated") && stdout.contains("--dry-run"),
        "{name}: {stdout}"
    );
    let (ok, _, stderr) = run(&["import", "points", "--crs", "gcj02", &gcj], &url);
    assert!(ok, "{name}: {stderr}");
    let (_, p1) = server.get("/api/v1/points/P1");
    let c = &p1["geometry"]["coordinates"];
    let (lon, lat) = (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));
    let metres = ((lon - 116.404) * 111_320.0 * 39.915f64.to_radians().cos()).hypot((lat - 39.915) * 110_574.0);
    assert!(metres < 0.5, "{name}: GCJ-02 undone to within {metres} m");

    // A phone track as a 高德-based app exports it: GCJ-02, Chinese headers, China time.
    let track = dir.join("track.csv");
    let fixes: String = (0..3)
        .map(|i| format!("{},39.91640428150164,2026-11-16 09:0{i}:00\n", 116.41024449916938 + 0.0001 * i as f64))
        .collect();
    std::fs::write(&track, format!("经度,纬度,定位时间\n{fixes}")).expect("track");
    let track = track.to_string_lossy().into_owned();
    let args = ["import", "tracks", "--officer", "wang", "--crs", "gcj02", "--map", "time=定位时间"];
    let (ok, stdout, stderr) = run(&[&args[..], &["--dry-run", &track]].concat(), &url);
    assert!(ok && stdout.contains("3 of 3 fixes") && stdout.contains("--dry-run"), "{name}: {stdout}{stderr}");
    let walked = || server.get("/api/v1/tracks?officer=wang&date=2026-11-16").1["features"].clone();
    assert_eq!(walked().as_array().map(Vec::len), Some(0), "{name}: a dry run stores no track");
    let (ok, stdout, stderr) = run(&[&args[..], &[&track]].concat(), &url);
    assert!(ok && stdout.contains("3 of 3 fixes for wang"), "{name}: {stdout}{stderr}");
    let first = &walked()[0]["geometry"]["coordinates"][0];
    let (lon, lat) = (first[0].as_f64().expect("lon"), first[1].as_f64().expect("lat"));
    let metres = ((lon - 116.404) * 111_320.0 * 39.915f64.to_radians().cos()).hypot((lat - 39.915) * 110_574.0);
    assert!(metres < 0.5, "{name}: the track's GCJ-02 undone to within {metres} m");

    // A backlog of problems from the old system: routed to grids, and a re-import adds none.
    let backlog = dir.join("backlog.csv");
    std::fs::write(
        &backlog,
        "code,category,description,reported_at,lon,lat\n\
         OLD-1,C01011,路灯不亮,2026-11-02 08:30,116.405,39.905\n\
         OLD-2,C01011,路灯倒伏,2026-11-03T10:00:00+08:00,116.425,39.905\n",
    )
    .expect("backlog");
    let backlog = backlog.to_string_lossy().into_owned();
    let (ok, stdout, stderr) = run(&["import", "problems", &backlog], &url);
    assert!(ok && stdout.contains("2 new cases"), "{name}: {stdout}{stderr}");
    let (ok, stdout, _) = run(&["import", "problems", &backlog], &url);
    assert!(ok && stdout.contains("0 new cases, 2 imported before"), "{name}: {stdout}");
    let problems = server.all_problems();
    assert_eq!(problems.len(), 2, "{name}");
    let routed: BTreeSet<String> = problems.iter().map(|p| p["grid_code"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(routed, BTreeSet::from(["110101001001000".to_string(), "110101001001002".to_string()]), "{name}");
    assert!(
        problems.iter().any(|p| p["created_at"].as_str().is_some_and(|t| t.starts_with("2026-11-02T00:30:00"))),
        "{name}: reported_at in China time"
    );
}

#[test]
fn gdal_files_gbk_text_and_china_datums_import_right_on_both_backends() {
    for backend in Backend::both("formats") {
        formats_scenario(&backend);
    }
}

/// The codes PostGIS (GEOS) finds invalid in a GeoJSON file, by the property `id`.
fn postgis_invalid(db: &PgDatabase, file: &Path) -> BTreeSet<String> {
    let source: Value = serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("json");
    let mut sql =
        String::from("CREATE EXTENSION IF NOT EXISTS postgis;\nCREATE TABLE originals (code text, geom geometry);\n");
    for f in source["features"].as_array().expect("features") {
        sql.push_str(&format!(
            "INSERT INTO originals VALUES ('{}', ST_SetSRID(ST_GeomFromGeoJSON('{}'), 4326));\n",
            f["properties"]["id"].as_str().expect("id"),
            f["geometry"]
        ));
    }
    let sql_file = scratch("originals").join("originals.sql");
    std::fs::write(&sql_file, sql).expect("sql");
    common::psql_file(&db.url(), &sql_file);
    db.sql("SELECT code FROM originals WHERE NOT ST_IsValid(geom) ORDER BY code").lines().map(String::from).collect()
}

/// The codes a `--report` CSV lists with an invalid-polygon problem.
fn reported_invalid(report: &Path) -> BTreeSet<String> {
    let mut reader = csv::Reader::from_path(report).expect("report");
    reader
        .records()
        .map(|r| r.expect("row"))
        .filter(|r| r[5].contains("self-intersection") || r[5].contains("ring"))
        .map(|r| r[3].to_string())
        .collect()
}

#[test]
fn us_counties_import_as_one_level_and_the_report_names_the_polygons_postgis_finds_invalid() {
    let db = PgDatabase::fresh();
    let file = shared_data("us-counties.geojson");
    let expected = postgis_invalid(&db, &file);
    assert_eq!(expected.len(), 21, "the vendor file has 21 invalid polygons");
    let report = scratch("counties").join("report.csv");
    let (file_arg, report_arg) = (file.to_string_lossy().into_owned(), report.to_string_lossy().into_owned());

    let (ok, _, stderr) = run(
        &["import", "grids", "--map", "code=id", "--level", "district", "--report", &report_arg, &file_arg],
        &db.url(),
    );
    assert!(!ok && stderr.contains("nothing was stored"), "{stderr}");
    assert_eq!(reported_invalid(&report), expected, "without --repair, each invalid polygon is named");
    assert_eq!(db.sql("SELECT count(*) FROM grids").trim(), "0");

    let args =
        ["import", "grids", "--map", "code=id", "--level", "district", "--repair", "--report", &report_arg, &file_arg];
    let (ok, stdout, stderr) = run(&args, &db.url());
    assert!(ok, "{stderr}");
    assert!(stdout.contains("3231 records read; 3231 new"), "{stdout}");
    assert_eq!(reported_invalid(&report), expected, "the report names every repaired polygon");
    let stored =
        db.sql("SELECT count(*), count(*) FILTER (WHERE ST_IsValid(geom)) FROM grids WHERE level = 'district'");
    assert_eq!(stored.trim(), "3231|3231", "one level of 3,231 valid grids");
    // Falls Church (51610) lost its boundary in the vendor's simplification: kept, covering nothing.
    assert!(std::fs::read_to_string(&report).expect("report").contains("51610,geometry,the boundary is empty"));
    let (ok, stdout, _) = run(&args, &db.url());
    assert!(ok && stdout.contains("0 new, 0 new versions, 0 updated, 3231 unchanged"), "idempotent: {stdout}");
}

#[test]
fn beijing_districts_invalid_polygons_are_each_named_and_nothing_is_stored_until_repaired() {
    let db = PgDatabase::fresh();
    let file = shared_data("beijing-districts.geojson");
    let expected = postgis_invalid(&db, &file);
    let report = scratch("beijing-raw").join("report.csv");
    let (file_arg, report_arg) = (file.to_string_lossy().into_owned(), report.to_string_lossy().into_owned());
    let (ok, _, _) = run(&["import", "grids", "--map", "code=id", "--report", &report_arg, &file_arg], &db.url());
    assert!(!ok);
    assert_eq!(reported_invalid(&report), expected);
    assert_eq!(db.sql("SELECT count(*) FROM grids").trim(), "0", "nothing stored");
    let (ok, stdout, stderr) = run(&["import", "grids", "--map", "code=id", "--repair", &file_arg], &db.url());
    assert!(ok && stdout.contains("16 new"), "{stdout}{stderr}");
    let dongcheng: f64 = db
        .sql(
            "SELECT ST_Area(g.geom::geography) / ST_Area(ST_MakeValid(o.geom)::geography) FROM grids g \
              JOIN originals o USING (code) WHERE code = '110101'",
        )
        .trim()
        .parse()
        .expect("ratio");
    assert!((dongcheng - 1.0).abs() < 0.01, "Dongcheng within 1% of ST_MakeValid: {dongcheng}");
}

#[test]
fn import_help_documents_every_option_with_examples() {
    for what in ["grids", "points", "routes", "problems", "tracks"] {
        let out = gridwatch(&["import", what, "--help"], None);
        let help = text(&out.stdout);
        for option in [
            "--format",
            "--crs",
            "--encoding",
            "--layer",
            "--map",
            "--dry-run",
            "--skip-invalid",
            "--report",
            "Examples:",
        ] {
            assert!(help.contains(option), "import {what} --help lacks {option}:\n{help}");
        }
    }
    let help = text(&gridwatch(&["import", "categories", "--help"], None).stdout);
    assert!(help.contains("code,kind,name_zh") && help.contains("Examples:"), "{help}");
}

/// Points reach the store in batches while the file is still being read. A fault in the
/// very last record must still leave nothing stored; `--skip-invalid` keeps the rest, and a
/// re-import finds every point unchanged.
#[test]
fn a_fault_after_many_batches_still_stores_nothing() {
    for backend in Backend::both("batches") {
        let (name, url) = (backend.name(), backend.url());
        let dir = scratch(&format!("batches-{name}"));
        let point = |i: usize, code: &str| {
            json!({"type": "Feature", "properties": {"code": code, "name": format!("点位 {i}"), "type": "market"},
                   "geometry": {"type": "Point", "coordinates": [116.3 + (i % 100) as f64 * 0.001, 39.9 + (i / 100) as f64 * 0.001]}})
        };
        let mut features: Vec<Value> = (0..5_000).map(|i| point(i, &format!("P{i:05}"))).collect();
        features.push(point(5_000, "P00000"));
        let file = dir.join("points.geojson");
        std::fs::write(&file, json!({"type": "FeatureCollection", "features": features}).to_string()).expect("write");
        let file = file.to_string_lossy().into_owned();
        let server = admin(&url);
        let stored = || {
            let (status, layer) = server.get("/api/v1/points?limit=200000");
            assert_eq!(status, 200, "{name}: {layer}");
            layer["features"].as_array().map_or(0, Vec::len)
        };

        let (ok, _, stderr) = run(&["import", "points", &file], &url);
        assert!(!ok, "{name}: a repeated code refuses the import");
        assert!(stderr.contains("feature 5000 (code P00000), code: appears more than once"), "{name}: {stderr}");
        assert_eq!(stored(), 0, "{name}: the batches already written were rolled back");

        let (ok, stdout, stderr) = run(&["import", "points", "--skip-invalid", &file], &url);
        assert!(ok, "{name}: {stderr}");
        assert!(stdout.contains("5001 records read; 5000 new, 0 updated, 0 unchanged"), "{name}: {stdout}");
        assert_eq!(stored(), 5_000, "{name}");

        let (ok, stdout, stderr) = run(&["import", "points", "--skip-invalid", &file], &url);
        assert!(ok, "{name}: {stderr}");
        assert!(stdout.contains("0 new, 0 updated, 5000 unchanged"), "{name}: {stdout}");
        server.stop();
    }
}

/// Files GDAL writes that carry more than gridwatch keeps, or a datum it must not guess at: a 3D
/// GeoPackage imports with its heights dropped (and says so); a Shapefile in Beijing 1954 is
/// refused with the reason and what to do, and nothing is stored; `--crs` overrides it.
#[test]
fn a_3d_geopackage_imports_and_a_beijing_1954_shapefile_is_refused_with_the_way_out() {
    let dir = scratch("datums");
    let url = format!("sqlite://{}", dir.join("g.db").display());
    let geojson = source_grids(&dir);
    let map = "code=WGBM,name=MC,responsible_unit=SSJD";

    let gpkg = dir.join("3d.gpkg").to_string_lossy().into_owned();
    ogr2ogr(&["-f", "GPKG", "-dim", "XYZ", &gpkg, &geojson]);
    let info = Command::new("ogrinfo").args(["-so", "-al", &gpkg]).output().expect("ogrinfo runs");
    assert!(text(&info.stdout).contains("3D Polygon"), "GDAL wrote 3D: {}", text(&info.stdout));
    let (ok, stdout, stderr) = run(&["import", "grids", "--map", map, &gpkg], &url);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Z dropped: kept x and y") && stdout.contains("3 new"), "{stdout}");
    let server = admin(&url);
    let (_, layer) = server.get("/api/v1/layers/grids");
    let first = &layer["features"][0]["geometry"]["coordinates"];
    let corner = match layer["features"][0]["geometry"]["type"].as_str() {
        Some("Polygon") => &first[0][0],
        _ => &first[0][0][0],
    };
    assert_eq!(corner.as_array().map(Vec::len), Some(2), "stored in 2D: {corner}");
    drop(server);

    // Beijing 1954 / 3-degree Gauss-Kruger CM 117E: PROJ projects the squares with its datum shift.
    let shp = dir.join("bj54.shp").to_string_lossy().into_owned();
    ogr2ogr(&["-f", "ESRI Shapefile", "-t_srs", "EPSG:2436", &shp, &geojson]);
    let fresh = format!("sqlite://{}", dir.join("bj54.db").display());
    let (ok, _, stderr) = run(&["import", "grids", "--map", map, &shp], &fresh);
    assert!(!ok, "a Beijing 1954 file is refused");
    assert!(
        stderr.contains("bj54.prj") && stderr.contains("Beijing 1954") && stderr.contains("tens of metres"),
        "{stderr}"
    );
    assert!(stderr.contains("TOWGS84") && stderr.contains("--crs"), "says what to do: {stderr}");
    let server = admin(&fresh);
    assert_eq!(server.get("/api/v1/layers/grids").1["features"].as_array().map(Vec::len), Some(0), "nothing stored");
    drop(server);

    // With the city's parameters on the command line it imports, and PROJ's projection with
    // the same shift (+towgs84) is undone to within centimetres.
    let shift = "15.8,-154.4,-82.3,0,0,0,0";
    let with_shift = dir.join("bj54-shift.shp").to_string_lossy().into_owned();
    let proj = format!(
        "+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +ellps=krass +towgs84={shift} +units=m +no_defs"
    );
    ogr2ogr(&["-f", "ESRI Shapefile", "-t_srs", &proj, &with_shift, &geojson]);
    let crs = format!("EPSG:2436+towgs84={shift}");
    let (ok, stdout, stderr) = run(&["import", "grids", "--map", map, "--crs", &crs, &with_shift], &fresh);
    assert!(ok && stdout.contains("Beijing 1954") && stdout.contains("3 new"), "{stdout}{stderr}");
    let mut server = Server::start(&fresh, &[]);
    server.token = Some(common::user_with_token(&fresh, "import-admin-2", &["--role", "admin"]));
    let (_, layer) = server.get("/api/v1/layers/grids");
    for (i, g) in layer["features"].as_array().expect("grids").iter().enumerate() {
        let ring = outer_ring(g);
        let x0 = 116.40 + 0.01 * i as f64;
        for want in [[x0, 39.9], [x0 + 0.01, 39.91]] {
            let metres = ring
                .iter()
                .map(|p| ((p[0] - want[0]) * 85_390.0).hypot((p[1] - want[1]) * 111_000.0))
                .fold(f64::INFINITY, f64::min);
            assert!(metres < 0.05, "PROJ's Beijing 1954 undone by gridwatch to {metres} m");
        }
    }
}
