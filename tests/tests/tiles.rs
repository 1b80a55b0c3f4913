//! Vector tiles: GDAL's MVT driver reads what we serve (a real, independent decoder); the grids in
//! a tile match what PostGIS says intersects it (`ST_TileEnvelope`); ETags revalidate and move
//! when the data does; the antimeridian, the poles and empty tiles; who may read which tile.

mod common;

use common::{gridwatch, ogr_values as values, text, tile_of, Backend, PgDatabase, Server};
use serde_json::json;
use std::collections::BTreeSet;
use std::process::Command;

/// Web Mercator half-width in metres.
const HALF_WORLD: f64 = 20_037_508.342_789_244;

/// What GDAL's MVT driver reads from a tile: attribute values of one field, and the extent in
/// EPSG:3857 metres.
struct Decoded {
    listing: String,
    extent: Option<[f64; 4]>,
}

fn ogr_read(bytes: &[u8], z: u32, x: u32, y: u32, label: &str) -> Decoded {
    let dir = common::scratch("tiles-ogr");
    let file = dir.join(format!("{label}-{z}-{x}-{y}.mvt"));
    std::fs::write(&file, bytes).expect("write tile");
    let run = |extra: &[&str]| {
        let out = Command::new("ogrinfo")
            .args(["-ro", "-al", "-oo", "CLIP=NO"])
            .args(extra)
            .args(["-oo", &format!("Z={z}"), "-oo", &format!("X={x}"), "-oo", &format!("Y={y}")])
            .arg(&file)
            .output()
            .expect("ogrinfo runs (scripts/test.sh installs gdal-bin)");
        assert!(out.status.success(), "ogrinfo on {label}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let summary = run(&["-so"]);
    let extent = summary.lines().find(|l| l.starts_with("Extent:")).map(|l| {
        let numbers: Vec<f64> = l
            .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
            .filter_map(|s| s.parse().ok())
            .collect();
        [numbers[0], numbers[1], numbers[2], numbers[3]]
    });
    Decoded { listing: run(&["-q", "-geom=NO"]), extent }
}

/// The tile's box in EPSG:3857, grown by `buffer` tile units.
fn mercator_box(z: u32, x: u32, y: u32, buffer: f64) -> [f64; 4] {
    let size = 2.0 * HALF_WORLD / f64::from(1u32 << z);
    let pad = size * buffer / 4096.0;
    let min_x = -HALF_WORLD + f64::from(x) * size;
    let max_y = HALF_WORLD - f64::from(y) * size;
    [min_x - pad, max_y - size - pad, min_x + size + pad, max_y + pad]
}

fn scenario(backend: &Backend, postgis: Option<&PgDatabase>) {
    let name = backend.name();
    let server = Server::start(&backend.url(), &["--demo"]);
    let admin = server.token_of("admin");
    // Dongcheng's centre at zoom 14 and 16.
    for z in [14u32, 16] {
        let (x, y) = tile_of(116.41, 39.92, z);
        let path = format!("/tiles/grids/{z}/{x}/{y}.mvt");
        let tile = server.fetch(Some(&admin), &path, None);
        assert_eq!(tile.status, 200, "{name} {path}");
        assert_eq!(tile.content_type.as_deref(), Some("application/vnd.mapbox-vector-tile"));
        let decoded = ogr_read(&tile.body, z, x, y, name);
        let ours: BTreeSet<String> = values(&decoded.listing, "code").into_iter().collect();
        assert!(!ours.is_empty(), "{name}: grids at {path}");
        // Everything GDAL decodes lies within the tile and its 64-unit buffer.
        let [a, b, c, d] = decoded.extent.expect("extent");
        let [bx0, by0, bx1, by1] = mercator_box(z, x, y, 64.0 + 1.0);
        assert!(
            a >= bx0 && b >= by0 && c <= bx1 && d <= by1,
            "{name}: extent {:?} within {:?}",
            [a, b, c, d],
            [bx0, by0, bx1, by1]
        );
        if let Some(db) = postgis {
            // PostGIS: every leaf grid meeting the tile by more than a few square units is in it,
            // and nothing in it is outside the buffered tile.
            let unit = 2.0 * HALF_WORLD / f64::from(1u32 << z) / 4096.0;
            let query = |margin: f64, min_area: f64| -> BTreeSet<String> {
                db.sql(&format!(
                    "SELECT code FROM grids g WHERE valid_to IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM grids c WHERE c.parent_code = g.code AND c.valid_to IS NULL) \
                     AND ST_Area(ST_Intersection(ST_Transform(g.geom, 3857), ST_TileEnvelope({z}, {x}, {y}, margin => {margin}))) > {min_area} \
                     ORDER BY code"
                ))
                .lines()
                .map(str::to_string)
                .collect()
            };
            let clearly_inside = query(0.0, 4.0 * unit * unit);
            let touching_buffer = query(64.0 / 4096.0, 0.0);
            assert!(
                clearly_inside.is_subset(&ours),
                "{name} z{z}: missing {:?}",
                clearly_inside.difference(&ours).collect::<Vec<_>>()
            );
            assert!(
                ours.is_subset(&touching_buffer),
                "{name} z{z}: extra {:?}",
                ours.difference(&touching_buffer).collect::<Vec<_>>()
            );
        }
    }

    // Points and problems decode too.
    let (x, y) = tile_of(116.41, 39.92, 13);
    for layer in ["points", "problems"] {
        let tile = server.fetch(Some(&admin), &format!("/tiles/{layer}/13/{x}/{y}.mvt"), None);
        assert_eq!(tile.status, 200, "{name} {layer}");
        let decoded = ogr_read(&tile.body, 13, x, y, &format!("{name}-{layer}"));
        // Below zoom 14 problems come as clusters with a count.
        let key = if layer == "points" { "code" } else { "count" };
        assert!(!values(&decoded.listing, key).is_empty(), "{name}: {layer} drawn");
        let [a, b, c, d] = decoded.extent.expect("extent");
        // Problems are points, drawn by exactly one tile; assessment points may be streets or
        // areas, which reach into the buffer like grids.
        let buffer = if layer == "problems" { 0.0 } else { 65.0 };
        let [bx0, by0, bx1, by1] = mercator_box(13, x, y, buffer);
        assert!(
            a >= bx0 - 1.0 && b >= by0 - 1.0 && c <= bx1 + 1.0 && d <= by1 + 1.0,
            "{name} {layer}: {:?} within {:?}",
            [a, b, c, d],
            [bx0, by0, bx1, by1]
        );
    }

    // A cluster tile counts exactly the problems its four children draw one by one.
    let clustered = server.fetch(Some(&admin), &format!("/tiles/problems/13/{x}/{y}.mvt"), None);
    let total: i64 = values(&ogr_read(&clustered.body, 13, x, y, &format!("{name}-clusters")).listing, "count")
        .iter()
        .map(|c| c.parse::<i64>().expect("count"))
        .sum();
    let mut children = 0;
    for (cx, cy) in [(2 * x, 2 * y), (2 * x + 1, 2 * y), (2 * x, 2 * y + 1), (2 * x + 1, 2 * y + 1)] {
        let child = server.fetch(Some(&admin), &format!("/tiles/problems/14/{cx}/{cy}.mvt"), None);
        if !child.body.is_empty() {
            children +=
                values(&ogr_read(&child.body, 14, cx, cy, &format!("{name}-child")).listing, "status").len() as i64;
        }
    }
    assert!(total > 0 && total == children, "{name}: clusters count {total}, children draw {children}");

    // ETags: a repeat with If-None-Match is a 304; a new problem changes the problems tile.
    let (x, y) = tile_of(116.3955, 39.9622, 15);
    let path = format!("/tiles/problems/15/{x}/{y}.mvt");
    let first = server.fetch(Some(&admin), &path, None);
    let tag = first.etag.expect("ETag");
    let again = server.fetch(Some(&admin), &path, Some(&tag));
    assert_eq!(again.status, 304, "{name}: unchanged tile revalidates");
    assert!(again.body.is_empty());
    let (status, created) = server.post_json(
        "/api/v1/problems",
        &json!({"lon": 116.3955, "lat": 39.9622, "category": "E01001", "description": "tile test", "source": "officer"}).to_string(),
    );
    assert_eq!(status, 201, "{name}: {created}");
    assert!(
        common::eventually(10, || server.fetch(Some(&admin), &path, Some(&tag)).status == 200),
        "{name}: the new problem changes the tile's ETag"
    );
    let after = server.fetch(Some(&admin), &path, None);
    let ids = values(&ogr_read(&after.body, 15, x, y, &format!("{name}-after")).listing, "id");
    assert!(ids.contains(&created["id"].to_string()), "{name}: the new problem is drawn");

    // An officer's grid tile holds only their own grids; a citizen app may not read grids at all.
    let officer = server.token_of("officer");
    let (x, y) = tile_of(116.41, 39.92, 12);
    let mine = server.fetch(Some(&officer), &format!("/tiles/grids/12/{x}/{y}.mvt"), None);
    let codes = values(&ogr_read(&mine.body, 12, x, y, &format!("{name}-officer")).listing, "code");
    assert!(!codes.is_empty() && codes.iter().all(|c| c.starts_with("110101001001")), "{name}: {codes:?}");
    assert_eq!(server.fetch(Some(&server.token_of("app")), "/tiles/grids/12/0/0.mvt", None).status, 403);
    assert_eq!(server.fetch(None, "/tiles/grids/12/0/0.mvt", None).status, 401);

    // Bad addresses are clear errors; an empty tile is a valid, empty MVT.
    for (path, status) in [
        ("/tiles/grids/23/0/0.mvt", 400),
        ("/tiles/grids/3/8/0.mvt", 400),
        ("/tiles/grids/3/x/0.mvt", 400),
        ("/tiles/grids/3/0/0.png", 404),
        ("/tiles/roads/3/0/0.mvt", 404),
        ("/tiles/grids/3/0/0.mvt?format=json", 400),
    ] {
        let r = server.fetch(Some(&admin), path, None);
        assert_eq!(r.status, status, "{name} {path}");
        let error: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON error");
        assert!(error["error"]["code"].is_string(), "{name} {path}: {error}");
    }
    let ocean = server.fetch(Some(&admin), "/tiles/grids/6/20/30.mvt", None);
    assert_eq!((ocean.status, ocean.body.len()), (200, 0), "{name}: empty tile");
}

#[test]
fn tiles_from_sqlite_decode_with_gdal() {
    scenario(&Backend::Sqlite(common::scratch("tiles-sqlite")), None);
}

#[test]
fn tiles_from_postgis_match_st_tile_envelope() {
    let db = PgDatabase::fresh();
    let backend = Backend::Postgres(db);
    let Backend::Postgres(db) = &backend else { unreachable!() };
    scenario(&backend, Some(db));
}

#[test]
fn the_antimeridian_and_the_poles() {
    let dir = common::scratch("tiles-edges");
    let url = format!("sqlite://{}", dir.join("edges.db").display());
    // A grid split at the antimeridian (as RFC 7946 asks), and a polar cap.
    let grids = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "FIJI", "name": "antimeridian"}, "geometry": {"type": "MultiPolygon", "coordinates": [
            [[[179.0, -17.0], [180.0, -17.0], [180.0, -16.0], [179.0, -16.0], [179.0, -17.0]]],
            [[[-180.0, -17.0], [-179.0, -17.0], [-179.0, -16.0], [-180.0, -16.0], [-180.0, -17.0]]]]}},
        {"type": "Feature", "properties": {"code": "POLE", "name": "arctic"}, "geometry": {"type": "Polygon", "coordinates":
            [[[-30.0, 80.0], [30.0, 80.0], [30.0, 90.0], [-30.0, 90.0], [-30.0, 80.0]]]}}
    ]});
    let file = dir.join("edges.geojson");
    std::fs::write(&file, grids.to_string()).expect("write");
    let out = gridwatch(&["import", "grids", file.to_str().expect("path")], Some(&url));
    assert!(out.status.success(), "import: {}", text(&out.stderr));
    let admin = common::user_with_token(&url, "edge-admin", &["--role", "admin"]);
    let server = Server::start(&url, &[]);

    // Zoom 3: the grid's halves are in the last and the first column, and each tile's buffer
    // reaches across the line to the other half.
    let (_, y) = tile_of(179.5, -16.5, 3);
    let east = ogr_read(&server.fetch(Some(&admin), &format!("/tiles/grids/3/7/{y}.mvt"), None).body, 3, 7, y, "east");
    let west = ogr_read(&server.fetch(Some(&admin), &format!("/tiles/grids/3/0/{y}.mvt"), None).body, 3, 0, y, "west");
    assert_eq!(values(&east.listing, "code"), ["FIJI"]);
    assert_eq!(values(&west.listing, "code"), ["FIJI"]);
    let [_, _, east_max_x, _] = east.extent.expect("extent");
    let [west_min_x, _, _, _] = west.extent.expect("extent");
    assert!(east_max_x > HALF_WORLD, "the east tile draws the western half in its buffer: {east_max_x}");
    assert!(west_min_x < -HALF_WORLD, "the west tile draws the eastern half in its buffer: {west_min_x}");

    // The polar cap fills the top row up to Web Mercator's edge, and no further.
    let top = server.fetch(Some(&admin), "/tiles/grids/2/2/0.mvt", None);
    let decoded = ogr_read(&top.body, 2, 2, 0, "pole");
    assert_eq!(values(&decoded.listing, "code"), ["POLE"]);
    let [_, _, _, max_y] = decoded.extent.expect("extent");
    let [_, _, _, buffered_top] = mercator_box(2, 2, 0, 64.0);
    assert!(max_y > HALF_WORLD - 1.0 && max_y <= buffered_top + 1.0, "clamped at the edge: {max_y}");
    // Below it, the row that does not reach 80°N is empty.
    let below = server.fetch(Some(&admin), "/tiles/grids/2/2/1.mvt", None);
    assert_eq!((below.status, below.body.len()), (200, 0));
}

/// TileJSON 3.0.0 of each layer (what QGIS and MapLibre read): the tile template on the public
/// address, the city's bounds, and fields that name every attribute GDAL decodes from a tile.
#[test]
fn each_layer_has_a_tilejson_whose_fields_name_what_the_tiles_carry() {
    let dir = common::scratch("tilejson");
    let server = Server::start(
        &format!("sqlite://{}", dir.join("g.db").display()),
        &["--demo", "--public-url", "https://gw.example.org/city"],
    );
    let admin = server.token_of("admin");
    for (layer, z) in [("grids", 15u32), ("points", 14), ("problems", 15), ("problems", 12)] {
        let (status, tilejson) = server.get_as(Some(&admin), &format!("/tiles/{layer}.json"));
        assert_eq!(status, 200, "{layer}: {tilejson}");
        assert_eq!(tilejson["tilejson"], "3.0.0");
        assert_eq!(tilejson["tiles"][0], format!("https://gw.example.org/city/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"));
        assert_eq!((tilejson["minzoom"].as_u64(), tilejson["maxzoom"].as_u64()), (Some(0), Some(22)));
        let bounds: Vec<f64> = tilejson["bounds"].as_array().into_iter().flatten().filter_map(|v| v.as_f64()).collect();
        if let (&[w, s, e, n], "grids") = (bounds.as_slice(), layer) {
            // Dongcheng district (东城区) lies within 116.35–116.45°E, 39.85–39.98°N.
            assert!(w > 116.3 && e < 116.5 && s > 39.8 && n < 40.0 && w < e && s < n, "{layer}: {bounds:?}");
        }
        assert_eq!(bounds.len(), 4, "{layer}: {bounds:?}");
        let fields = &tilejson["vector_layers"][0]["fields"];
        assert_eq!(tilejson["vector_layers"][0]["id"], layer);
        // A tile at the centre the TileJSON gives, decoded by GDAL: every attribute is described.
        let (cx, cy) = (tilejson["center"][0].as_f64().unwrap_or(0.0), tilejson["center"][1].as_f64().unwrap_or(0.0));
        let (x, y) = tile_of(cx, cy, z);
        let tile = server.fetch(Some(&admin), &format!("/tiles/{layer}/{z}/{x}/{y}.mvt"), None);
        let decoded = ogr_read(&tile.body, z, x, y, &format!("tilejson-{layer}-{z}"));
        let seen: BTreeSet<&str> = decoded
            .listing
            .lines()
            .filter_map(|l| l.strip_prefix("  ")?.split_once(" (")?.0.split_whitespace().next())
            .filter(|name| !name.starts_with("mvt_id"))
            .collect();
        assert!(!seen.is_empty(), "{layer} z{z}: the tile has features with attributes");
        for name in seen {
            assert!(fields.get(name).is_some(), "{layer}: attribute {name:?} is not in the TileJSON fields {fields}");
        }
    }
    assert_eq!(server.get_as(None, "/tiles/grids.json").0, 401, "a TileJSON needs a token like its tiles");
    assert_eq!(server.get_as(Some(&admin), "/tiles/roads.json").0, 404);
}

/// A counter of the server's `/metrics`.
fn counter(server: &Server, token: &str, name: &str) -> u64 {
    let scraped = server.fetch(Some(token), "/metrics", None);
    assert_eq!(scraped.status, 200);
    let text = String::from_utf8_lossy(&scraped.body).into_owned();
    let line = text.lines().find(|l| l.split_whitespace().next() == Some(name));
    line.and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or_else(|| panic!("{name} in {text}"))
}

/// Case ids and statuses one problems tile draws, as GDAL reads them.
fn drawn(server: &Server, token: &str, (z, x, y): (u32, u32, u32), label: &str) -> Vec<(String, String)> {
    let tile = server.fetch(Some(token), &format!("/tiles/problems/{z}/{x}/{y}.mvt"), None);
    assert_eq!(tile.status, 200, "{label}");
    if tile.body.is_empty() {
        return Vec::new();
    }
    let listing = ogr_read(&tile.body, z, x, y, label).listing;
    values(&listing, "id").into_iter().zip(values(&listing, "status")).collect()
}

/// A tile asked for after a write shows it at once, a changed case is drawn once in its new state,
/// cases written by another process show within seconds, and the server reads only what changed
/// (never every case again) to get there.
fn live_scenario(backend: &Backend) {
    let name = backend.name();
    let server = Server::start(&backend.url(), &["--demo"]);
    let (admin, officer, dispatcher) =
        (server.token_of("admin"), server.token_of("officer"), server.token_of("dispatcher"));
    let (lon, lat) = (116.3955, 39.9622);
    let (x, y) = tile_of(lon, lat, 17);
    let at = (17, x, y);
    let before = drawn(&server, &admin, at, &format!("{name}-live-0"));
    let (whole, read) = (
        counter(&server, &admin, "gridwatch_map_layer_whole_reads_total"),
        counter(&server, &admin, "gridwatch_map_layer_cases_read_total"),
    );
    assert_eq!(whole, 1, "{name}: the layers were read whole once, at start");
    let everything = read;

    // Five reports: each is in the tile asked for right after its answer.
    let mut ids = Vec::new();
    for i in 0..5 {
        let body = json!({"lon": lon + 1e-5 * f64::from(i), "lat": lat, "category": "E01001", "description": "live", "source": "officer"});
        let (status, created) = server.post_as(Some(&officer), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{name}: {created}");
        let id = created["id"].to_string();
        let now = drawn(&server, &admin, at, &format!("{name}-live-r{i}"));
        assert!(now.iter().any(|(drawn, _)| *drawn == id), "{name}: report {id} drawn at once");
        ids.push(created["id"].as_i64().expect("id"));
    }

    // A step of one of them: drawn once, in its new state.
    let accepted = server.act(&dispatcher, ids[2], json!({"action": "accept"}));
    assert_eq!(accepted["status"], "accepted", "{name}");
    let now = drawn(&server, &admin, at, &format!("{name}-live-step"));
    let copies: Vec<&(String, String)> = now.iter().filter(|(id, _)| *id == ids[2].to_string()).collect();
    assert_eq!(copies, [&(ids[2].to_string(), "accepted".to_string())], "{name}: one copy, accepted");
    assert_eq!(now.len(), before.len() + 5, "{name}: every case drawn once");

    // Cases imported by another process (the command line) show within seconds.
    let dir = common::scratch("tiles-live-import");
    let csv = dir.join("backlog.csv");
    let rows: String = (0..3)
        .map(|i| format!("LIVE{i},C01001,imported,citizen,2026-11-20 09:00,{},{lat}\n", lon + 2e-5 * f64::from(i)))
        .collect();
    std::fs::write(&csv, format!("code,category,description,source,reported_at,lon,lat\n{rows}")).expect("csv");
    let out = gridwatch(&["import", "problems", csv.to_str().expect("path")], Some(&backend.url()));
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    assert!(
        common::eventually(5, || drawn(&server, &admin, at, &format!("{name}-live-import")).len() == before.len() + 8),
        "{name}: the imported cases are drawn"
    );

    // All of that without reading every case again: only the nine changed, and a few the demo's
    // clock changed meanwhile.
    assert_eq!(counter(&server, &admin, "gridwatch_map_layer_whole_reads_total"), 1, "{name}: no whole read");
    let caught_up = counter(&server, &admin, "gridwatch_map_layer_cases_read_total") - read;
    assert!((9..everything).contains(&caught_up), "{name}: read {caught_up} cases to catch up, {everything} in all");
}

#[test]
fn problem_tiles_follow_each_change_reading_only_what_changed() {
    for backend in Backend::both("tiles-live") {
        live_scenario(&backend);
    }
}
