//! Recurrences (反弹) and hot spots: cases planted at known places and times, the server restarted
//! on later days (a simulated clock), and every link it makes checked — against the plan, and on
//! PostGIS against an independent query (geodesic `ST_Distance` on geography). Nothing outside
//! the radius, the period, the category, or a voided case is linked. The bulletin counts each
//! recurrence against the unit that closed the case; the hot-spot layer (GeoJSON and tiles, read
//! back by GDAL) and the stubborn points agree with what was planted.

mod common;

use common::{ogr_values, text, tile_of, Backend, Server};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

/// Not among the demo's categories: only the planted cases have it.
const SPILL: &str = "E03002"; // 道路遗撒
const SINKHOLE: &str = "E04002"; // 路面塌陷

/// A point `east_m` metres east and `north_m` north of `(lon, lat)`.
fn offset((lon, lat): (f64, f64), east_m: f64, north_m: f64) -> (f64, f64) {
    let phi = lat.to_radians();
    let per_lat = 111_132.954 - 559.822 * (2.0 * phi).cos() + 1.175 * (4.0 * phi).cos();
    let per_lon = 111_412.84 * phi.cos() - 93.5 * (3.0 * phi).cos();
    (lon + east_m / per_lon, lat + north_m / per_lat)
}

/// The demo's people, by role, across restarts (tokens are printed only on the first start).
struct People {
    tokens: HashMap<String, String>,
}

impl People {
    fn of(&self, role: &str) -> &str {
        &self.tokens[role]
    }

    fn report(&self, server: &Server, (lon, lat): (f64, f64), category: &str) -> i64 {
        let body =
            json!({"lon": lon, "lat": lat, "category": category, "description": "反弹测试", "source": "officer"});
        let (status, created) = server.post_as(Some(self.of("officer")), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{created}");
        created["id"].as_i64().expect("id")
    }

    fn close(&self, server: &Server, id: i64) {
        for (role, step) in [
            ("dispatcher", json!({"action": "accept"})),
            ("dispatcher", json!({"action": "register"})),
            ("dispatcher", json!({"action": "dispatch"})),
            ("unit", json!({"action": "handle", "note": "已清理"})),
            ("officer", json!({"action": "verify"})),
            ("dispatcher", json!({"action": "close"})),
        ] {
            server.act(self.of(role), id, step);
        }
    }

    fn case(&self, server: &Server, id: i64) -> Value {
        let (status, case) = server.get_as(Some(self.of("dispatcher")), &format!("/api/v1/problems/{id}"));
        assert_eq!(status, 200, "{case}");
        case
    }
}

/// What a case recurs, as the server says: (of, root).
fn link(case: &Value) -> Option<(i64, i64)> {
    let r = &case["recurrence"];
    Some((r["of"].as_i64()?, r["root"].as_i64()?))
}

fn start(url: &str, clock: &str) -> Server {
    Server::start(url, &["--demo", "--clock-start", clock, "--recurrence-metres", "50", "--recurrence-days", "30"])
}

/// The middle of the bounding box of one of the officer's grids.
fn officer_grid_middle(server: &Server, officer: &str, code: &str) -> (f64, f64) {
    let (status, grids) = server.get_as(Some(officer), "/api/v1/layers/grids?level=grid");
    assert_eq!(status, 200, "{grids}");
    let grid =
        grids["features"].as_array().and_then(|g| g.iter().find(|f| f["id"] == code).cloned()).expect("the grid");
    let outer = &grid["geometry"]["coordinates"][0];
    let ring = if grid["geometry"]["type"] == "MultiPolygon" { &outer[0] } else { outer };
    let ring = ring.as_array().cloned().unwrap_or_default();
    let (xs, ys): (Vec<f64>, Vec<f64>) =
        ring.iter().map(|c| (c[0].as_f64().unwrap_or(0.0), c[1].as_f64().unwrap_or(0.0))).unzip();
    let middle = |v: &[f64]| {
        (v.iter().copied().fold(f64::INFINITY, f64::min) + v.iter().copied().fold(f64::NEG_INFINITY, f64::max)) / 2.0
    };
    (middle(&xs), middle(&ys))
}

struct Planted {
    /// Case label → id.
    ids: BTreeMap<&'static str, i64>,
    /// Case label → the link the server made.
    links: BTreeMap<&'static str, Option<(i64, i64)>>,
    server: Server,
    people: People,
}

fn plant(backend: &Backend) -> Planted {
    let url = backend.url();
    let mut ids = BTreeMap::new();

    // 5 October: four cases closed, one voided (not found on site: never recurred).
    let server = start(&url, "2026-10-05T01:00:00Z");
    let people = People { tokens: server.tokens.clone() };
    // The middle of a grid of the officer's community, whose neighbours east, north and
    // north-east are the officer's too (the demo's grids are some 190 m across).
    let p = officer_grid_middle(&server, people.of("officer"), "110101001001007");
    let (q, r, s) = (offset(p, 130.0, 0.0), offset(p, 0.0, 130.0), offset(p, 130.0, 130.0));
    for (label, at, category) in [("C1", p, SPILL), ("C2", q, SPILL), ("C3", r, SINKHOLE)] {
        let id = people.report(&server, at, category);
        people.close(&server, id);
        ids.insert(label, id);
    }
    let v = people.report(&server, s, SPILL);
    server.act(people.of("dispatcher"), v, json!({"action": "void", "note": "现场未发现"}));
    ids.insert("V", v);
    server.stop();

    // 25 October, twenty days on.
    let server = start(&url, "2026-10-25T01:00:00Z");
    for (label, at, category) in [
        ("N1", offset(p, 0.0, 30.0), SPILL),    // 30 m from C1: a recurrence
        ("N2", offset(p, 0.0, 70.0), SPILL),    // 70 m: outside the radius (N1 is open: no candidate)
        ("N3", offset(q, 0.0, 10.0), SINKHOLE), // beside C2, another category
        ("N4", offset(r, 10.0, 0.0), SINKHOLE), // 10 m from C3: a recurrence
        ("N5", offset(s, 0.0, 5.0), SPILL),     // beside the voided case
    ] {
        ids.insert(label, people.report(&server, at, category));
    }
    people.close(&server, ids["N1"]);
    // 5 m from N1 (closed minutes ago) and 35 m from C1: N1 is nearer, and the chain is C1's.
    ids.insert("N6", people.report(&server, offset(p, 0.0, 35.0), SPILL));
    server.stop();

    // 20 November: C2 was closed 46 days before (outside the 30 days), N1 26 days before.
    let server = start(&url, "2026-11-20T01:00:00Z");
    ids.insert("N7", people.report(&server, offset(q, 5.0, 0.0), SPILL));
    ids.insert("N8", people.report(&server, offset(p, 0.0, 33.0), SPILL));

    let links = ids.iter().map(|(label, id)| (*label, link(&people.case(&server, *id)))).collect();
    Planted { ids, links, server, people }
}

#[test]
fn recurrences_are_linked_within_the_radius_and_period_only_and_counted_against_the_unit_on_both_backends() {
    let mut seen: Vec<BTreeMap<&'static str, Option<(&'static str, &'static str)>>> = Vec::new();
    for backend in Backend::both("recurrences") {
        let name = backend.name();
        let Planted { ids, links, server, people } = plant(&backend);
        let label_of = |id: i64| ids.iter().find(|(_, v)| **v == id).map(|(k, _)| *k).unwrap_or("demo");
        let named: BTreeMap<&'static str, Option<(&'static str, &'static str)>> =
            links.iter().map(|(k, l)| (*k, l.map(|(of, root)| (label_of(of), label_of(root))))).collect();
        let expected: BTreeMap<&'static str, Option<(&'static str, &'static str)>> = [
            ("C1", None),
            ("C2", None),
            ("C3", None),
            ("V", None),
            ("N1", Some(("C1", "C1"))),
            ("N2", None),
            ("N3", None),
            ("N4", Some(("C3", "C3"))),
            ("N5", None),
            ("N6", Some(("N1", "C1"))),
            ("N7", None),
            ("N8", Some(("N1", "C1"))),
        ]
        .into_iter()
        .collect();
        assert_eq!(named, expected, "{name}: the links made");
        let n1 = people.case(&server, ids["N1"]);
        let d = n1["recurrence"]["distance_m"].as_f64().expect("distance");
        assert!((d - 30.0).abs() < 0.5, "{name}: N1 is 30 m from C1: {d}");
        assert_eq!(n1["recurrence"]["unit"], people.case(&server, ids["C1"])["responsible_unit"], "{name}");

        // On PostGIS, every planted case against an independent query over every case of the
        // database (the demo's too): the nearest case of its category closed (not merged) within
        // the 30 days before it and within 50 m on the spheroid, the latest closed on a tie.
        if let Backend::Postgres(db) = &backend {
            let planted: Vec<String> = ids.values().map(i64::to_string).collect();
            let oracle = db.sql(&format!(
                "SELECT n.id, coalesce((SELECT c.id FROM problems c WHERE c.category = n.category \
                 AND c.status = 'closed' AND c.merged_into IS NULL AND c.closed_at <= n.created_at \
                 AND c.closed_at >= n.created_at - interval '30 days' \
                 AND ST_DWithin(c.geom::geography, n.geom::geography, 50) \
                 ORDER BY ST_Distance(c.geom::geography, n.geom::geography), c.closed_at DESC, c.id DESC LIMIT 1)::text, '-') \
                 || ' ' || coalesce(n.recurrence_of::text, '-') FROM problems n WHERE n.id IN ({}) ORDER BY n.id",
                planted.join(", ")
            ));
            let mut checked = 0;
            for line in oracle.lines() {
                let (id, pair) = line.split_once('|').expect("id|pair");
                let (want, got) = pair.split_once(' ').expect("pair");
                assert_eq!(want, got, "{name}: case {id}: PostGIS says {want}, gridwatch linked {got}");
                checked += 1;
            }
            assert_eq!(checked, ids.len(), "{name}");
        }

        // The bulletin of the week of 25 October counts N1, N4 and N6 against the units that
        // closed C1, C3 and N1.
        let (status, bulletin) =
            server.get_as(Some(people.of("office")), "/api/v1/reports/weekly?week=2026-W43&by=unit");
        assert_eq!(status, 200, "{name}: {bulletin}");
        assert_eq!(bulletin["total"]["counts"]["recurred"], 3, "{name}: {bulletin}");
        let mut against: BTreeMap<String, u64> = BTreeMap::new();
        for earlier in ["C1", "C3", "N1"] {
            let unit = people.case(&server, ids[earlier])["responsible_unit"].as_str().unwrap_or("(none)").to_string();
            *against.entry(unit).or_default() += 1;
        }
        let rows: BTreeMap<String, u64> = bulletin["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .filter(|r| r["counts"]["recurred"].as_u64() > Some(0))
            .map(|r| (r["group"].as_str().unwrap_or("").to_string(), r["counts"]["recurred"].as_u64().unwrap_or(0)))
            .collect();
        assert_eq!(rows, against, "{name}: recurrences per unit");
        let csv = ureq::get(&server.url("/api/v1/reports/weekly?week=2026-W43&by=unit&format=csv"))
            .set("Authorization", &format!("Bearer {}", people.of("office")))
            .call()
            .expect("the CSV bulletin")
            .into_string()
            .expect("CSV text");
        let header: Vec<&str> = csv.lines().next().unwrap_or("").split(',').collect();
        let column = header.iter().position(|h| *h == "反弹 recurred").expect("a 反弹 column");
        let total_row: Vec<&str> = csv.lines().nth(1).unwrap_or("").split(',').collect();
        assert_eq!(total_row.get(column), Some(&"3"), "{name}: {csv}");

        // Stubborn points of October: the chain C1 ← N1 ← N6; of the quarter: N8 joins it.
        let stubborn = |query: &str| {
            let (status, body) =
                server.get_as(Some(people.of("office")), &format!("/api/v1/hotspots/stubborn?{query}"));
            assert_eq!(status, 200, "{name}: {body}");
            body["points"]
                .as_array()
                .expect("points")
                .iter()
                .map(|p| {
                    let cases: Vec<&str> =
                        p["cases"].as_array().expect("cases").iter().filter_map(Value::as_i64).map(label_of).collect();
                    (label_of(p["root"].as_i64().unwrap_or(0)), cases, p["recurrences"].as_u64())
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(stubborn("period=2026-10"), vec![("C1", vec!["N1", "N6"], Some(2))], "{name}");
        assert_eq!(stubborn("period=2026-Q4"), vec![("C1", vec!["N1", "N6", "N8"], Some(3))], "{name}");
        assert_eq!(stubborn("period=2026-10&min=1").len(), 2, "{name}: C1's chain and C3's");
        assert_eq!(stubborn("period=2026-11").len(), 0, "{name}: one recurrence in November is no chain");

        hot_spots(&server, &people, &backend, &ids);
        seen.push(named);
    }
    assert_eq!(seen[0], seen[1], "both backends link alike");
}

/// The hot-spot layer of October for the planted category, per grid and per cell: counts match
/// the cases (PostGIS counts the cells by `ST_Covers`), the tile says what the GeoJSON says.
fn hot_spots(server: &Server, people: &People, backend: &Backend, ids: &BTreeMap<&'static str, i64>) {
    let name = backend.name();
    let office = people.of("office");
    let get = |path: &str| {
        let (status, body) = server.get_as(Some(office), path);
        assert_eq!(status, 200, "{name} {path}: {body}");
        body
    };
    // October's SPILL cases not voided: C1, C2, N1, N2, N5, N6 (V is void).
    let by_grid = get(&format!("/api/v1/hotspots?period=2026-10&by=grid&category={SPILL}"));
    let features = by_grid["features"].as_array().expect("features");
    let total: u64 = features.iter().filter_map(|f| f["properties"]["cases"].as_u64()).sum();
    let recurrences: u64 = features.iter().filter_map(|f| f["properties"]["recurrences"].as_u64()).sum();
    assert_eq!((total, recurrences), (6, 2), "{name}: {by_grid}");
    let mut grids: BTreeMap<String, u64> = BTreeMap::new();
    for label in ["C1", "C2", "N1", "N2", "N5", "N6"] {
        let case = people.case(server, ids[label]);
        *grids.entry(case["grid_code"].as_str().unwrap_or("").to_string()).or_default() += 1;
    }
    let served: BTreeMap<String, u64> = features
        .iter()
        .map(|f| {
            (f["properties"]["key"].as_str().unwrap_or("").to_string(), f["properties"]["cases"].as_u64().unwrap_or(0))
        })
        .collect();
    assert_eq!(served, grids, "{name}: cases per grid");

    let by_cell = get(&format!("/api/v1/hotspots?period=2026-10&by=cell&cell_m=100&category={SPILL}"));
    let cells = by_cell["features"].as_array().expect("features");
    assert_eq!(cells.iter().filter_map(|f| f["properties"]["cases"].as_u64()).sum::<u64>(), 6, "{name}");
    // The busiest cell holds C1, N1, N2 and N6 (within 70 m north of C1) unless a cell edge cuts
    // them; whatever the cut, PostGIS counts the same cases in each cell's square.
    if let Backend::Postgres(db) = backend {
        for cell in cells {
            let geometry = cell["geometry"].to_string();
            let counted = db.sql(&format!(
                "SELECT count(*) FROM problems WHERE category = '{SPILL}' AND status <> 'void' \
                 AND created_at >= '2026-10-01T00:00:00+08:00' AND created_at < '2026-11-01T00:00:00+08:00' \
                 AND ST_Covers(ST_GeomFromGeoJSON('{geometry}'), geom)"
            ));
            assert_eq!(counted.trim(), cell["properties"]["cases"].to_string(), "{name}: cell {}", cell["id"]);
        }
    }

    // The tile with C1 in it, read by GDAL's MVT driver, carries C1's cell with the same count.
    let c1 = people.case(server, ids["C1"]);
    let (lon, lat) = (c1["lon"].as_f64().expect("lon"), c1["lat"].as_f64().expect("lat"));
    let (x, y) = tile_of(lon, lat, 15);
    let path = format!("/api/v1/hotspots/tiles/15/{x}/{y}.mvt?period=2026-10&by=cell&cell_m=100&category={SPILL}");
    let bytes = {
        let response = ureq::get(&server.url(&path))
            .set("Authorization", &format!("Bearer {office}"))
            .call()
            .expect("the hot-spot tile");
        assert_eq!(response.content_type(), "application/vnd.mapbox-vector-tile", "{name}");
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).expect("tile bytes");
        bytes
    };
    let file = common::scratch("hotspot-tile").join("hot.mvt");
    std::fs::write(&file, &bytes).expect("write tile");
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al", "-q", "-geom=NO", "-oo", "Z=15", "-oo", &format!("X={x}"), "-oo", &format!("Y={y}")])
        .arg(&file)
        .output()
        .expect("ogrinfo runs");
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    let listing = text(&out.stdout);
    let (keys, counts) = (ogr_values(&listing, "key"), ogr_values(&listing, "cases"));
    let in_tile: BTreeMap<String, String> = keys.into_iter().zip(counts).collect();
    let c1_cell = cells
        .iter()
        .find(|f| {
            let ring = f["geometry"]["coordinates"][0].as_array().cloned().unwrap_or_default();
            let (xs, ys): (Vec<f64>, Vec<f64>) =
                ring.iter().map(|c| (c[0].as_f64().unwrap_or(0.0), c[1].as_f64().unwrap_or(0.0))).unzip();
            let (w, e) = (
                xs.iter().copied().fold(f64::INFINITY, f64::min),
                xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            );
            let (s, n) = (
                ys.iter().copied().fold(f64::INFINITY, f64::min),
                ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            );
            w <= lon && lon < e && s <= lat && lat < n
        })
        .expect("C1's cell");
    let key = c1_cell["properties"]["key"].as_str().expect("key");
    assert_eq!(
        in_tile.get(key).map(String::as_str),
        Some(c1_cell["properties"]["cases"].to_string().as_str()),
        "{name}: {listing}"
    );

    // Who may read it: citizen apps may not; a unit sees its own area's cases only; bad input is named.
    let (status, _) = server.get_as(Some(people.of("app")), "/api/v1/hotspots");
    assert_eq!(status, 403, "{name}");
    let (status, _) = server.get_as(None, "/api/v1/hotspots/stubborn");
    assert_eq!(status, 401, "{name}");
    for (query, field) in [
        ("by=hexagon", "by"),
        ("cell_m=10", "cell_m"),
        ("period=2026-13", "period"),
        ("days=0", "days"),
        ("period=2026-10&days=3", "days"),
        ("zoom=3", "zoom"),
    ] {
        let (status, body) = server.get_as(Some(office), &format!("/api/v1/hotspots?{query}"));
        assert_eq!(status, 400, "{name} {query}: {body}");
        assert!(body["error"]["message"].as_str().unwrap_or("").contains(field), "{name} {query}: {body}");
    }
    let unit_view = {
        let (status, body) =
            server.get_as(Some(people.of("unit")), &format!("/api/v1/hotspots?period=2026-10&category={SPILL}"));
        assert_eq!(status, 200, "{name}: {body}");
        body
    };
    for f in unit_view["features"].as_array().expect("features") {
        assert_eq!(f["properties"]["responsible_unit"], "东华门街道办事处", "{name}: a unit sees its own grids: {f}");
    }
}

/// The office's 热点反弹 view in headless Chromium at desk and phone size, on the demo city (whose
/// history has places that keep coming back): the list on screen is the API's.
#[test]
fn the_office_sees_hot_spots_and_stubborn_points_on_screen() {
    let dir = common::scratch("hotspots-map");
    let server = Server::start(&format!("sqlite://{}", dir.join("hot.db").display()), &["--demo"]);
    let (status, stubborn) = server.get_as(Some(&server.token_of("office")), "/api/v1/hotspots/stubborn");
    assert_eq!(status, 200, "{stubborn}");
    let count = stubborn["points"].as_array().map_or(0, Vec::len);
    let logins: Value =
        server.logins.iter().map(|(role, (user, password))| (role.clone(), json!([user, password]))).collect();
    let shots = common::workspace().join("target/test-output/hotspots");
    let out = Command::new("node")
        .arg("hotspots.test.mjs")
        .current_dir(common::workspace().join("tests/browser"))
        .env("GRIDWATCH_URL", &server.base)
        .env("GRIDWATCH_LOGINS", logins.to_string())
        .env("GRIDWATCH_STUBBORN", count.to_string())
        .env("GRIDWATCH_SCREENSHOTS", &shots)
        .output()
        .expect("node runs (scripts/test.sh installs playwright-core into tests/browser)");
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success() && log.contains("hotspots checks passed"), "hot-spot browser checks failed:\n{log}");
    assert!(Path::new(&shots).join("office-hotspots-phone.png").exists(), "{log}");
}

/// Cases that do not come through intake recur too: a criterion failing again at an assessment
/// point after its case was closed, and a supervision finding (明查) where a closed case of its
/// category was. Both backends.
#[test]
fn failed_inspections_and_supervision_findings_are_linked_as_recurrences_on_both_backends() {
    for backend in Backend::both("recurring-inspections") {
        let name = backend.name();
        let server = Server::start(&backend.url(), &["--demo", "--clock-start", "2026-12-07T02:00:00Z"]);
        let people = People { tokens: server.tokens.clone() };
        let p = officer_grid_middle(&server, people.of("officer"), "110101001001007");
        let point = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [p.0, p.1]},
            "properties": {"name": "反弹测试点位", "type": "back_street", "criteria": [{"id": "c1", "text": "路面无遗撒", "category": SPILL}]}});
        let (status, body) =
            server.send_as("PUT", Some(people.of("admin")), "/api/v1/points/REC-1", Some(&point.to_string()));
        assert_eq!(status, 201, "{name}: {body}");
        let inspect = || {
            let body = json!({"point": "REC-1", "results": [{"criterion": "c1", "pass": false, "note": "又有遗撒"}]});
            let (status, inspected) =
                server.post_as(Some(people.of("officer")), "/api/v1/inspections", &body.to_string());
            assert_eq!(status, 201, "{name}: {inspected}");
            inspected["problems"][0]["id"].as_i64().expect("a case opened")
        };
        let first = inspect();
        assert_eq!(link(&people.case(&server, first)), None, "{name}");
        people.close(&server, first);
        let again = inspect();
        assert_eq!(link(&people.case(&server, again)), Some((first, first)), "{name}: the criterion failed again");

        // A finding of an open round (handed over at once) beside the closed case of its category.
        let round = json!({"name": "反弹明查", "kind": "open", "starts_on": "2026-12-01", "ends_on": "2026-12-31"});
        let (status, open) = server.post_as(Some(people.of("office")), "/api/v1/rounds", &round.to_string());
        assert_eq!(status, 201, "{name}: {open}");
        let closed = people.report(&server, offset(p, 100.0, 0.0), SINKHOLE);
        people.close(&server, closed);
        let (lon, lat) = offset(p, 100.0, 20.0);
        let finding = json!({"lon": lon, "lat": lat, "category": SINKHOLE, "description": "路面塌陷又出现"});
        let path = format!("/api/v1/rounds/{}/findings", open["id"]);
        let (status, recorded) = server.post_as(Some(people.of("office")), &path, &finding.to_string());
        assert_eq!(status, 201, "{name}: {recorded}");
        let found = recorded["problem"]["id"].as_i64().expect("handed over at once");
        assert_eq!(link(&people.case(&server, found)), Some((closed, closed)), "{name}: 20 m from a closed case");
    }
}
