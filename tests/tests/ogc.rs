//! OGC API – Features: GDAL's `ogrinfo` (OAPIF driver) reads every collection from the demo
//! server and, paging through `next` links, gets every feature exactly once; the documents carry
//! the links and counts the standard requires; bad parameters are 400s.

mod common;

use common::{ogr_values as values, text, Backend, Server};
use serde_json::Value;
use std::collections::HashMap;
use std::process::Command;

/// Runs ogrinfo with the token in an HTTP header.
fn ogrinfo(token: &str, args: &[&str]) -> String {
    let out = Command::new("ogrinfo")
        .args(["-ro", "--config", "GDAL_HTTP_TIMEOUT", "60"])
        .args(args)
        .env("GDAL_HTTP_HEADERS", format!("Authorization: Bearer {token}"))
        .env("OAPIF_PAGE_SIZE", "250")
        .output()
        .expect("ogrinfo runs (scripts/test.sh installs gdal-bin)");
    assert!(out.status.success(), "ogrinfo {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn scenario(backend: &Backend) {
    let name = backend.name();
    let server = Server::start(&backend.url(), &["--demo"]);
    let admin = server.token_of("admin");
    let source = format!("OAPIF:{}/", server.base);

    let listing = ogrinfo(&admin, &[&source]);
    assert!(listing.contains("grids") && listing.contains("problems"), "{name}: {listing}");

    // Every grid and every problem, each exactly once, through ogrinfo's paging.
    let (_, all_grids) = server.get("/collections/grids/items?limit=10000");
    let grid_total = all_grids["numberMatched"].as_i64().expect("numberMatched");
    assert_eq!(grid_total, 1 + 17 + 169 + 1287, "{name}: every level of the demo city");
    let grids = ogrinfo(&admin, &["-al", "-q", "-geom=NO", &source, "grids"]);
    let codes = values(&grids, "code");
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for c in &codes {
        *counts.entry(c.as_str()).or_default() += 1;
    }
    assert_eq!(codes.len() as i64, grid_total, "{name}: ogrinfo read every grid");
    assert!(counts.values().all(|&n| n == 1), "{name}: no grid twice");
    let problems = ogrinfo(&admin, &["-al", "-q", "-geom=NO", &source, "problems"]);
    let problem_ids = values(&problems, "category");
    assert_eq!(problem_ids.len(), 300, "{name}: ogrinfo read every problem");

    // The documents and their links.
    let (_, landing) = server.get_as(None, "/");
    let rels: Vec<&str> =
        landing["links"].as_array().expect("links").iter().filter_map(|l| l["rel"].as_str()).collect();
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&rel), "{name}: landing lacks {rel}");
    }
    let (_, conf) = server.get_as(None, "/conformance");
    assert!(conf["conformsTo"]
        .as_array()
        .is_some_and(|c| c.iter().any(|x| x.as_str().is_some_and(|s| s.ends_with("/conf/core")))));
    let (_, page) = server.get("/collections/grids/items?level=grid&limit=100&offset=1200");
    assert_eq!((page["numberMatched"].as_i64(), page["numberReturned"].as_i64()), (Some(1287), Some(87)), "{name}");
    let (_, first) = server.get("/collections/grids/items?level=grid&limit=5");
    let next = first["links"].as_array().expect("links").iter().find(|l| l["rel"] == "next").expect("next link");
    assert!(
        next["href"].as_str().is_some_and(|h| h.contains("offset=5") && h.contains("level=grid")),
        "{name}: {next}"
    );
    let (_, clamped) = server.get("/collections/grids/items?limit=50000");
    assert_eq!(clamped["numberReturned"].as_i64(), Some(grid_total), "{name}: limit clamped, not refused");
    let (_, one) = server.get("/collections/grids/items/110101001001001");
    assert_eq!((one["type"].as_str(), one["id"].as_str()), (Some("Feature"), Some("110101001001001")), "{name}");
    assert!(one["links"].as_array().is_some_and(|l| l.iter().any(|x| x["rel"] == "collection")), "{name}");
    let (_, yellow) = server.get("/collections/problems/items?colour=yellow&limit=1000");
    let features = yellow["features"].as_array().expect("features");
    assert!(!features.is_empty() && features.iter().all(|f| f["properties"]["colour"] == "yellow"), "{name}");
    let (_, before) = server.get("/collections/grids/items?datetime=2020-01-01T00:00:00Z");
    assert_eq!(before["numberMatched"], 0, "{name}: no grid was in force in 2020");

    for (path, param) in [
        ("/collections/grids/items?colour=red", "colour"),
        ("/collections/grids/items?bbox=1,2,3", "bbox"),
        ("/collections/grids/items?limit=0", "limit"),
        ("/collections/problems/items?datetime=yesterday", "datetime"),
        ("/collections/problems/items?status=lost", "status"),
    ] {
        let (status, body) = server.get(path);
        assert_eq!((status, body["error"]["details"]["parameter"].as_str()), (400, Some(param)), "{name}: {path}");
    }
    assert_eq!(server.get("/collections/roads").0, 404, "{name}");

    // An officer's client sees the officer's area only.
    let officer = ogrinfo(&server.token_of("officer"), &["-al", "-q", "-geom=NO", &source, "grids"]);
    let theirs = values(&officer, "code");
    assert!(!theirs.is_empty() && theirs.iter().all(|c| c.starts_with("110101001001")), "{name}");
    assert_eq!(server.get_as(None, "/collections").0, 401, "{name}: data needs a token");
    let (_, app) = server.get_as(Some(&server.token_of("app")), "/collections");
    let ids: Vec<&str> = app["collections"].as_array().expect("list").iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, ["problems"], "{name}: a citizen app does not read grids");
}

#[test]
fn ogrinfo_reads_every_collection_on_both_backends() {
    for backend in Backend::both("ogc") {
        scenario(&backend);
    }
}

#[test]
fn every_problem_feature_is_valid_geojson() {
    let dir = common::scratch("ogc-json");
    let server = Server::start(&format!("sqlite://{}", dir.join("g.db").display()), &["--demo"]);
    let (_, page) = server.get("/collections/problems/items?limit=10");
    for f in page["features"].as_array().expect("features") {
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "Point");
        let c: Vec<f64> =
            f["geometry"]["coordinates"].as_array().expect("xy").iter().filter_map(Value::as_f64).collect();
        assert!(c.len() == 2 && (116.0..117.0).contains(&c[0]) && (39.0..41.0).contains(&c[1]));
    }
}

#[test]
fn ogrinfo_reads_the_patrol_collections_each_feature_once() {
    let dir = common::scratch("ogc-patrols");
    // Friday of the demo's patrol week (2026-W47).
    let server = Server::start(
        &format!("sqlite://{}", dir.join("g.db").display()),
        &["--demo", "--clock-start", "2026-11-20T12:00:00+08:00"],
    );
    let admin = server.token_of("admin");
    let source = format!("OAPIF:{}/", server.base);
    let listing = ogrinfo(&admin, &[&source]);
    for id in ["points", "routes", "tracks", "coverage_gaps", "tiling"] {
        assert!(listing.contains(id), "{id} is listed: {listing}");
        let (status, all) = server.get(&format!("/collections/{id}/items?limit=10000"));
        assert_eq!(status, 200, "{id}: {all}");
        let matched = all["numberMatched"].as_u64().expect("numberMatched");
        let read = ogrinfo(&admin, &["-al", "-q", "-geom=NO", &source, id]);
        let features = read.lines().filter(|l| l.starts_with("OGRFeature(")).count() as u64;
        assert_eq!(features, matched, "{id}: ogrinfo read every feature");
        let ids: std::collections::HashSet<String> =
            all["features"].as_array().expect("features").iter().map(|f| f["id"].to_string()).collect();
        assert_eq!(ids.len() as u64, matched, "{id}: feature ids are unique");
    }
    let count = |path: &str| server.get(path).1["numberMatched"].as_u64().unwrap_or(0);
    assert_eq!(count("/collections/points/items?limit=1"), 429);
    assert_eq!(count("/collections/tracks/items"), 4, "the demo officer's four days");
    assert!(count("/collections/points/items?type=market") > 0);
    assert!(count("/collections/coverage_gaps/items?gap=no_track") > 1000);
    assert_eq!(count("/collections/tiling/items?level=grid&within=110101001"), 0);
    let (_, one) = server.get("/collections/tracks/items/demo-officer%2F2026-11-16");
    assert_eq!(one["properties"]["officer"], "demo-officer", "{one}");
    assert_eq!(server.get("/collections/points/items?colour=red").0, 400);
    assert_eq!(server.get("/collections/coverage_gaps/items?week=someday").0, 400);
    let (_, officer_view) = server.get_as(Some(&server.token_of("officer")), "/collections/tracks/items");
    assert!(officer_view["features"]
        .as_array()
        .is_some_and(|f| f.iter().all(|t| t["properties"]["officer"] == "demo-officer")));
}
