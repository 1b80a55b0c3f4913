//! Patrols on both backends through the real binary: assessment points routed to the grid that
//! holds most of them, planned routes, GPS tracks cleaned of bad fixes, inspections whose failed
//! criteria open routed problems, and weekly coverage with its gaps — with who may do what.

mod common;

use common::{Backend, Server};
use serde_json::{json, Value};

/// A unit grid of the demo officer's area: its code and its bounding box.
fn officer_grid(server: &Server, officer: &str) -> (String, [f64; 4]) {
    let (status, grids) = server.get_as(Some(officer), "/api/v1/layers/grids?level=grid&limit=1");
    assert_eq!(status, 200, "{grids}");
    let f = &grids["features"][0];
    let ring = f["geometry"]["coordinates"][0].as_array().expect("ring").clone();
    let xs: Vec<f64> = ring.iter().map(|p| p[0].as_f64().unwrap_or(0.0)).collect();
    let ys: Vec<f64> = ring.iter().map(|p| p[1].as_f64().unwrap_or(0.0)).collect();
    let fold = |v: &[f64], f: fn(f64, f64) -> f64, init: f64| v.iter().copied().fold(init, f);
    let code = f["properties"]["code"].as_str().expect("code").to_string();
    (
        code,
        [
            fold(&xs, f64::min, 180.0),
            fold(&ys, f64::min, 90.0),
            fold(&xs, f64::max, -180.0),
            fold(&ys, f64::max, -90.0),
        ],
    )
}

fn point_feature(code: &str, kind: &str, geometry: Value) -> String {
    json!({"type": "Feature", "properties": {
        "code": code, "name": format!("点位 {code}"), "type": kind,
        "criteria": [{"id": "c1", "text": "路面平整", "weight": 2}, {"id": "c2", "text": "无暴露垃圾", "category": "E01001"}]
    }, "geometry": geometry})
    .to_string()
}

/// POSTs JSON with an `Idempotency-Key`: status, the `Idempotent-Replayed` header, the answer.
fn post_keyed(server: &Server, token: &str, path: &str, key: &str, body: &str) -> (u16, String, Value) {
    let answer = ureq::post(&server.url(path))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Idempotency-Key", key)
        .set("Content-Type", "application/json")
        .send_string(body);
    let response = match answer {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("HTTP transport error: {e}"),
    };
    let replayed = response.header("idempotent-replayed").unwrap_or("").to_string();
    (response.status(), replayed, serde_json::from_str(&response.into_string().expect("body")).expect("JSON"))
}

fn scenario(backend: &Backend) {
    let name = backend.name();
    // Wednesday of 2026-W48 in Beijing (the demo's own patrols are in W47).
    let server = Server::start(&backend.url(), &["--demo", "--clock-start", "2026-11-25T10:00:00+08:00"]);
    let (office, officer, app, unit) =
        (server.token_of("office"), server.token_of("officer"), server.token_of("app"), server.token_of("unit"));
    let (grid, [x0, y0, x1, y1]) = officer_grid(&server, &officer);
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let count = |v: &Value| v["features"].as_array().map_or(0, Vec::len);
    let demo_points = count(&server.get_as(Some(&officer), "/api/v1/points").1);

    // Points: a toilet inside the grid, a street mostly inside it, a market polygon.
    let toilet = point_feature("T1", "公厕", json!({"type": "Point", "coordinates": [cx, cy]}));
    let (status, created) = server.post_as(Some(&office), "/api/v1/points", &toilet);
    assert_eq!(status, 201, "{name}: {created}");
    assert_eq!(created["properties"]["grid_code"], grid, "{name}");
    assert_eq!(created["properties"]["type"], "public_toilet");
    let (status, again) = server.post_as(Some(&office), "/api/v1/points", &toilet);
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("conflict")), "{name}");
    let width = x1 - x0;
    let street = point_feature(
        "S1",
        "back_street",
        json!({"type": "LineString", "coordinates": [[x0 + width * 0.1, cy], [x1 + width * 0.3, cy]]}),
    );
    let (status, s1) = server.send_as("PUT", Some(&office), "/api/v1/points/S1", Some(&street));
    assert_eq!(status, 201, "{name}: {s1}");
    assert_eq!(s1["properties"]["grid_code"], grid, "{name}: most of the street lies in the officer's grid");
    let touched = s1["properties"]["grids"].as_array().map_or(0, Vec::len);
    assert!(touched >= 2, "{name}: the street crosses into the next grid: {s1}");
    let (status, updated) =
        server.send_as("PUT", Some(&office), "/api/v1/points/S1", Some(&street.replace("点位 S1", "史家胡同")));
    assert_eq!((status, updated["properties"]["name"].as_str()), (200, Some("史家胡同")), "{name}");

    // Bad input is a 422 naming the field; officers and apps may not manage points.
    let bad = point_feature("B1", "spaceport", json!({"type": "Point", "coordinates": [cx, cy]}));
    let (status, e) = server.post_as(Some(&office), "/api/v1/points", &bad);
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["details"]["fields"][0]["field"], "type");
    let bowtie = point_feature(
        "B2",
        "park",
        json!({"type": "Polygon", "coordinates": [[[cx, cy], [cx + 0.001, cy + 0.001], [cx + 0.001, cy], [cx, cy + 0.001], [cx, cy]]]}),
    );
    let (status, e) = server.post_as(Some(&office), "/api/v1/points", &bowtie);
    assert_eq!((status, e["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("geometry")), "{e}");
    assert_eq!(server.post_as(Some(&officer), "/api/v1/points", &toilet).0, 403);
    assert_eq!(server.get_as(Some(&app), "/api/v1/points").0, 403);
    assert_eq!(server.get_as(None, "/api/v1/points").0, 401);

    // The officer sees both points of their area; the unit of another street sees neither.
    let (_, mine) = server.get_as(Some(&officer), "/api/v1/points");
    assert_eq!(count(&mine), demo_points + 2, "{name}: {mine}");
    let (_, unit_view) = server.get_as(Some(&unit), "/api/v1/points?type=public_toilet");
    let unit_of_grid = created["properties"]["unit"].clone();
    let seen: Vec<&Value> = unit_view["features"].as_array().map(|f| f.iter().collect()).unwrap_or_default();
    assert_eq!(
        seen.iter().any(|f| f["properties"]["code"] == "T1"),
        unit_of_grid == json!("东华门街道办事处"),
        "{name}"
    );
    assert!(
        seen.iter().all(|f| f["properties"]["unit"] == "东华门街道办事处"),
        "{name}: a unit sees only its own points"
    );

    // A planned route past the toilet for Wednesday; the officer reads it, may not change it.
    let route =
        json!({"type": "Feature", "properties": {"officer": "demo-officer", "weekday": "周三", "name": "周三路线"},
        "geometry": {"type": "LineString", "coordinates": [[x0, cy + 0.0001], [x1, cy + 0.0001]]}})
        .to_string();
    let (status, r) = server.post_as(Some(&office), "/api/v1/routes", &route);
    assert_eq!(status, 201, "{name}: {r}");
    let route_id = r["properties"]["id"].as_i64().expect("route id");
    let (_, routes) = server.get_as(Some(&officer), "/api/v1/routes?weekday=3");
    assert!(
        routes["features"].as_array().is_some_and(|f| f.iter().any(|r| r["properties"]["name"] == "周三路线")),
        "{routes}"
    );
    assert_eq!(server.send_as("DELETE", Some(&officer), &format!("/api/v1/routes/{route_id}"), None).0, 403);
    let (status, _) = server.send_as("PUT", Some(&office), &format!("/api/v1/routes/{route_id}"), Some(&route));
    assert_eq!(status, 200);
    assert_eq!(server.send_as("PUT", Some(&office), "/api/v1/routes/999999", Some(&route)).0, 404);

    // Tracks: a walk on Monday past the toilet, with one inaccurate fix and one spike.
    let monday = 1_795_363_200_i64 + 9 * 3600; // 2026-11-23 09:00 +08:00
    let mut fixes: Vec<Value> = (0..40)
        .map(|i| json!({"time": monday + 15 * i, "lon": x0 + (x1 - x0) * i as f64 / 40.0, "lat": cy, "accuracy": 8}))
        .collect();
    fixes[5]["accuracy"] = json!(300);
    fixes[9]["lon"] = json!(cx + 0.05);
    let (status, t) = server.post_as(Some(&officer), "/api/v1/tracks", &json!({"fixes": fixes}).to_string());
    assert_eq!(status, 201, "{name}: {t}");
    assert_eq!((t["received"].as_u64(), t["stored"].as_u64(), t["dropped"].as_u64()), (Some(40), Some(38), Some(2)));
    assert_eq!(t["dropped_by_reason"], json!({"inaccurate": 1, "spikes": 1, "duplicates": 0}));
    let other = json!({"officer": "someone-else", "fixes": [{"time": monday, "lon": cx, "lat": cy}]}).to_string();
    assert_eq!(server.post_as(Some(&officer), "/api/v1/tracks", &other).0, 403, "officers record only their own");
    let (status, e) =
        server.post_as(Some(&officer), "/api/v1/tracks", r#"{"fixes":[{"time":"yesterday","lon":1,"lat":2}]}"#);
    assert_eq!((status, e["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("fixes[0].time")));
    let (_, day) = server.get_as(Some(&officer), "/api/v1/tracks?date=2026-11-23");
    assert_eq!(day["features"][0]["properties"]["fixes"], 38, "{name}: {day}");
    assert_eq!(day["features"][0]["geometry"]["type"], "LineString");
    assert_eq!(server.get_as(Some(&unit), "/api/v1/tracks").0, 403);

    // A phone that lost the answer sends the same batch again with the same Idempotency-Key:
    // an earlier week's track (kept out of this week's coverage; a later one would be dated ahead
    // of the clock and refused) is stored once and the retry gets the first answer back.
    let earlier: Vec<Value> = fixes
        .iter()
        .map(|f| json!({"time": f["time"].as_i64().unwrap_or(0) - 14 * 86_400, "lon": f["lon"], "lat": f["lat"], "accuracy": f["accuracy"]}))
        .collect();
    let batch = json!({"fixes": earlier}).to_string();
    let (status, replayed, first) = post_keyed(&server, &officer, "/api/v1/tracks", "phone-1-track-7", &batch);
    assert_eq!((status, replayed.as_str()), (201, "false"), "{name}: {first}");
    let (status, replayed, again) = post_keyed(&server, &officer, "/api/v1/tracks", "phone-1-track-7", &batch);
    assert_eq!((status, replayed.as_str(), &again), (201, "true", &first), "{name}");
    let (_, day) = server.get_as(Some(&officer), "/api/v1/tracks?date=2026-11-09");
    assert_eq!(day["features"][0]["properties"]["fixes"], 38, "{name}: stored once: {day}");
    let (status, _, reused) = post_keyed(&server, &officer, "/api/v1/inspections", "phone-1-track-7", "{}");
    assert_eq!((status, reused["error"]["code"].as_str()), (422, Some("idempotency_key_reused")), "{name}");
    let (status, _, bad) = post_keyed(&server, &officer, "/api/v1/tracks", &"k".repeat(201), &batch);
    assert_eq!((status, bad["error"]["code"].as_str()), (400, Some("invalid_header")), "{name}");

    // An inspection at the street: c1 fails and opens a problem routed like any report.
    let body = json!({"point": "S1", "results": [{"criterion": "c1", "pass": false, "note": "坑洼"}, {"criterion": "c2", "pass": true}],
        "photos": ["https://example.org/p/1.jpg"]});
    let (status, replayed, done) =
        post_keyed(&server, &officer, "/api/v1/inspections", "phone-1-inspection-1", &body.to_string());
    assert_eq!((status, replayed.as_str()), (201, "false"), "{name}: {done}");
    // Sent twice (a lost answer): one inspection, one problem.
    let (_, replayed, twice) =
        post_keyed(&server, &officer, "/api/v1/inspections", "phone-1-inspection-1", &body.to_string());
    assert_eq!((replayed.as_str(), &twice), ("true", &done), "{name}");
    let problem = &done["problems"][0];
    assert_eq!(done["problems"].as_array().map_or(0, Vec::len), 1);
    assert_eq!((problem["source"].as_str(), problem["assessment_point"].as_str()), (Some("inspection"), Some("S1")));
    assert_eq!(problem["criterion"], "c1");
    assert_eq!(problem["grid_code"], grid, "{name}: routed to the grid holding the street");
    let id = problem["id"].as_i64().expect("problem id");
    let (_, stored) = server.get_as(Some(&office), &format!("/api/v1/problems/{id}"));
    assert_eq!(stored["assessment_point"], "S1", "{name}: the link survives storage");
    assert_eq!(done["inspection"]["problems"]["c1"], id);
    let unknown = json!({"point": "S1", "results": [{"criterion": "zz", "pass": false}]}).to_string();
    assert_eq!(server.post_as(Some(&officer), "/api/v1/inspections", &unknown).0, 422);
    // A code PostgreSQL text cannot hold (NUL) is a named 4xx, never a 500 (found by Schemathesis).
    let nul = json!({"point": "P\u{0}1", "results": []}).to_string();
    assert_eq!(server.post_as(Some(&officer), "/api/v1/inspections", &nul).0, 422);
    assert_eq!(server.get_as(Some(&officer), "/api/v1/points/P%001").0, 404);
    assert_eq!(server.send_as("DELETE", server.token.as_deref(), "/api/v1/points/P%001", None).0, 404);
    assert_eq!(server.post_as(Some(&unit), "/api/v1/inspections", &body.to_string()).0, 403);

    // Coverage of 2026-W48: the toilet was passed on Monday, the street inspected on Wednesday.
    let (status, cov) = server.get_as(Some(&office), "/api/v1/coverage?week=2026-W48");
    assert_eq!(status, 200, "{name}: {cov}");
    let by_code = |code: &str| cov["points"].as_array().and_then(|ps| ps.iter().find(|p| p["code"] == code).cloned());
    let t1 = by_code("T1").expect("T1");
    assert_eq!(
        (t1["visits"].as_u64(), t1["covered"].as_bool(), t1["on_route"].as_bool()),
        (Some(1), Some(true), Some(true))
    );
    assert_eq!(t1["days"], json!(["2026-11-23"]));
    let s1 = by_code("S1").expect("S1");
    assert_eq!(
        (s1["visits"].as_u64(), s1["inspections"].as_u64()),
        (Some(2), Some(1)),
        "{name}: tracked Monday, inspected Wednesday: {s1}"
    );
    let (_, all) = server.get_as(Some(&office), "/api/v1/points");
    assert_eq!(cov["summary"]["points"].as_u64(), Some(count(&all) as u64));
    let grid_row =
        cov["grids"].as_array().and_then(|g| g.iter().find(|r| r["code"] == grid).cloned()).expect("grid row");
    let in_grid =
        all["features"].as_array().map_or(0, |f| f.iter().filter(|p| p["properties"]["grid_code"] == grid).count());
    assert_eq!(grid_row["points"].as_u64(), Some(in_grid as u64), "{grid_row}");
    let no_track = cov["gaps"]["grids_without_track"].as_array().map_or(0, Vec::len);
    assert!(
        no_track > 1000 && !cov["gaps"]["grids_without_track"].as_array().is_some_and(|g| g.contains(&json!(grid)))
    );
    // The next week nothing happened: both points are gaps, and the gaps layer draws them.
    let (_, gaps) = server.get_as(Some(&office), "/api/v1/coverage/gaps?week=2026-W49");
    let uncovered: Vec<&str> = gaps["features"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|x| x["properties"]["gap"] == "not_covered")
                .filter_map(|x| x["properties"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(uncovered.contains(&"S1") && uncovered.contains(&"T1"), "{name}: {uncovered:?}");
    assert_eq!(uncovered.len(), count(&all), "{name}: nothing was visited in W49");
    assert_eq!(server.get_as(Some(&office), "/api/v1/coverage?week=2026-47").0, 400);
    assert_eq!(server.get_as(Some(&app), "/api/v1/coverage").0, 403);

    // Deleting a point: gone for everyone.
    assert_eq!(server.send_as("DELETE", Some(&office), "/api/v1/points/T1", None).0, 204);
    assert_eq!(server.get_as(Some(&office), "/api/v1/points/T1").0, 404);
}

#[test]
fn patrol_records_and_coverage_on_both_backends() {
    for backend in Backend::both("patrols") {
        scenario(&backend);
    }
}

#[test]
fn points_routes_and_tracks_import_from_files_and_coverage_exports_csv() {
    use common::{gridwatch, text};
    let dir = common::scratch("patrol-import");
    let url = format!("sqlite://{}", dir.join("g.db").display());
    let server = Server::start(&url, &["--demo"]);
    let officer = server.token_of("officer");
    let (grid, [x0, y0, x1, y1]) = officer_grid(&server, &officer);
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let feature = |code: &str, kind: &str| {
        json!({"type": "Feature", "properties": {"code": code, "name": code, "type": kind, "required_per_week": 1},
            "geometry": {"type": "Point", "coordinates": [cx, cy]}})
    };
    let write = |name: &str, features: Vec<Value>| {
        let path = dir.join(name);
        std::fs::write(&path, json!({"type": "FeatureCollection", "features": features}).to_string()).expect("write");
        path.to_string_lossy().to_string()
    };
    // One bad feature: the whole file is refused, naming it, and nothing is stored.
    let bad = write("bad.geojson", vec![feature("A1", "公厕"), feature("A2", "spaceport")]);
    let out = gridwatch(&["import", "points", &bad], Some(&url));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("feature 1 (code A2), type"), "{}", text(&out.stderr));
    let (_, none) = server.get_as(Some(&officer), "/api/v1/points");
    let codes = |v: &Value| -> Vec<String> {
        v["features"]
            .as_array()
            .map(|f| f.iter().filter_map(|x| x["properties"]["code"].as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    assert!(!codes(&none).iter().any(|c| c.starts_with("A")), "nothing half-written");
    let good = write("points.geojson", vec![feature("A1", "公厕"), feature("A2", "market")]);
    let out = gridwatch(&["import", "points", &good], Some(&url));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("2 new, 0 updated, 0 unchanged"), "{}", text(&out.stdout));
    let out = gridwatch(&["import", "points", &good], Some(&url));
    assert!(
        text(&out.stdout).contains("0 new, 0 updated, 2 unchanged"),
        "re-import is idempotent: {}",
        text(&out.stdout)
    );

    let routes = write(
        "routes.geojson",
        vec![json!({"type": "Feature", "properties": {"officer": "demo-officer", "weekday": "Mon"},
            "geometry": {"type": "LineString", "coordinates": [[x0, cy], [x1, cy]]}})],
    );
    for _ in 0..2 {
        let out = gridwatch(&["import", "routes", &routes], Some(&url));
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let (_, r) = server.get_as(Some(&officer), "/api/v1/routes?weekday=1");
    assert_eq!(r["features"].as_array().map_or(0, Vec::len), 1, "re-importing replaces the officer's Monday: {r}");
    assert_eq!(r["features"][0]["geometry"]["coordinates"][0][0].as_f64(), Some(x0));

    let gpx = dir.join("monday.gpx");
    let points: String = (0..3)
        .map(|i| {
            format!(
                r#"<trkpt lat="{cy}" lon="{}"><time>2026-11-23T0{}:00:00Z</time></trkpt>"#,
                cx + 0.00001 * i as f64,
                2 + i
            )
        })
        .collect();
    std::fs::write(&gpx, format!(r#"<gpx version="1.1"><trk><trkseg>{points}</trkseg></trk></gpx>"#)).expect("gpx");
    let out = gridwatch(&["import", "tracks", "--officer", "demo-officer", &gpx.to_string_lossy()], Some(&url));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("3 of 3 fixes"), "{}", text(&out.stdout));

    // 2026-W48: the demo's own tracks are in W47.
    let out = gridwatch(&["coverage", "--week", "2026-W48", "--format", "csv"], Some(&url));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    let header: Vec<&str> = csv.lines().next().unwrap_or_default().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{name} in {header:?}"));
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|r| r[col("code")].starts_with('A'))
        .collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(
            (row[col("grid_code")], row[col("visits")], row[col("covered")], row[col("on_route")]),
            (grid.as_str(), "1", "true", "true"),
            "{csv}"
        );
    }
    let out = gridwatch(&["coverage", "--week", "2026-W47", "--time-zone", "Mars/Olympus"], Some(&url));
    assert!(!out.status.success() && text(&out.stderr).contains("time zone"));
}

#[test]
fn the_demo_city_has_a_patrol_week_to_look_at() {
    let dir = common::scratch("patrol-demo");
    // In the demo's own week (on other days it lives in the present: tests/tests/demo.rs).
    let server = Server::start(
        &format!("sqlite://{}", dir.join("g.db").display()),
        &["--demo", "--clock-start", "2026-11-20T10:00:00+08:00"],
    );
    let (status, cov) = server.get_as(Some(&server.token_of("officer")), "/api/v1/coverage?week=2026-W47");
    assert_eq!(status, 200, "{cov}");
    let points = cov["points"].as_array().expect("points");
    assert!(points.len() >= 3, "the officer's community has assessment points: {}", points.len());
    // The officer walked their route on four weekdays, passing every grid's centre.
    assert!(points.iter().all(|p| p["on_route"] == true), "{cov}");
    assert!(points.iter().any(|p| p["visits"] == 4), "{cov}");
    let (_, office) = server.get_as(Some(&server.token_of("office")), "/api/v1/coverage?week=2026-W47");
    let total = office["summary"]["points"].as_u64().unwrap_or(0);
    assert!(total > 400 && office["summary"]["covered"].as_u64() < Some(total), "{}", office["summary"]);
}
