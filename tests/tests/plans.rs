//! Weekly patrol plans (巡查计划) on the demo city, both backends: every due visit is routed or
//! listed with a reason, days keep their budget and windows, re-planning after an inspection
//! drops it, lengths agree with PostGIS's geography length, and only the right callers see a plan.

mod common;

use common::{gridwatch, text, Backend, Server};
use serde_json::{json, Value};
use std::collections::HashMap;

const WEEK: &str = "2026-W48";
/// Wednesday of W48, before the working day: Monday and Tuesday are over.
const NOW: &str = "2026-11-25T07:00:00+08:00";

/// Adds assessment points to the demo officer's community, two per unit grid, some due twice.
fn more_points(server: &Server, url: &str, dir: &std::path::Path) -> usize {
    let (_, layer) = server.get("/api/v1/layers/grids?limit=5000");
    let kinds = ["market", "back_street", "public_toilet", "old_compound"];
    let mut features = Vec::new();
    for g in layer["features"].as_array().expect("grids") {
        let code = g["properties"]["code"].as_str().unwrap_or_default();
        if !(code.starts_with("110101001001") && code.len() > 12) {
            continue;
        }
        let ring = match g["geometry"]["type"].as_str() {
            Some("Polygon") => &g["geometry"]["coordinates"][0],
            _ => &g["geometry"]["coordinates"][0][0],
        };
        let corners: Vec<(f64, f64)> = ring
            .as_array()
            .expect("ring")
            .iter()
            .map(|p| (p[0].as_f64().unwrap_or(0.0), p[1].as_f64().unwrap_or(0.0)))
            .collect();
        let n = corners.len() as f64;
        let (cx, cy) = corners.iter().fold((0.0, 0.0), |(x, y), c| (x + c.0 / n, y + c.1 / n));
        for k in 0..2 {
            let i = features.len();
            features.push(json!({"type": "Feature",
                "properties": {"code": format!("PLAN{i:03}"), "name": format!("计划点位 {i}"), "type": kinds[i % 4],
                               "required_per_week": 1 + usize::from(i % 5 == 0)},
                "geometry": {"type": "Point", "coordinates": [cx + 0.0002 * k as f64, cy]}}));
        }
    }
    let file = dir.join("plan-points.geojson");
    std::fs::write(&file, json!({"type": "FeatureCollection", "features": features}).to_string()).expect("write");
    let out = gridwatch(&["import", "points", &file.to_string_lossy()], Some(url));
    assert!(out.status.success(), "{}", text(&out.stderr));
    features.len()
}

fn local_seconds(t: &str) -> f64 {
    // RFC 3339 in +08:00, as the plan writes it: the clock part is local time.
    let clock = &t[11..19];
    let parts: Vec<f64> = clock.split(':').map(|p| p.parse().unwrap_or(0.0)).collect();
    parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
}

fn stops(plan: &Value) -> Vec<Value> {
    let features = plan["features"].as_array().cloned().unwrap_or_default();
    features.into_iter().filter(|f| f["properties"]["kind"] == "stop").map(|f| f["properties"].clone()).collect()
}

fn scenario(backend: &Backend) {
    let (name, url) = (backend.name(), backend.url());
    let dir = common::scratch(&format!("plans-{name}"));
    let server = Server::start(&url, &["--demo", "--clock-start", NOW]);
    let added = more_points(&server, &url, &dir);
    assert!(added >= 10, "{name}: the community has unit grids");
    let officer = server.token_of("officer");

    let (status, plan) = server.get_as(Some(&officer), &format!("/api/v1/plans?week={WEEK}"));
    assert_eq!(status, 200, "{name}: {plan}");
    let (_, coverage) = server.get_as(Some(&officer), &format!("/api/v1/coverage?week={WEEK}"));
    let mut due: HashMap<String, i64> = HashMap::new();
    for p in coverage["points"].as_array().expect("points") {
        let left = p["required"].as_i64().unwrap_or(0) - p["visits"].as_i64().unwrap_or(0);
        due.insert(p["code"].as_str().unwrap_or_default().to_string(), left.max(0));
    }
    let mut routed: HashMap<String, i64> = HashMap::new();
    for s in stops(&plan).iter().filter(|s| s["task"] == "inspect") {
        *routed.entry(s["code"].as_str().unwrap_or_default().to_string()).or_default() += 1;
    }
    for u in plan["unplanned"].as_array().expect("unplanned") {
        assert!(["no_room", "unreachable", "no_day_left"].contains(&u["reason"].as_str().unwrap_or("")), "{u}");
        if u["task"] == "inspect" {
            *routed.entry(u["code"].as_str().unwrap_or_default().to_string()).or_default() += 1;
        }
    }
    due.retain(|_, n| *n > 0);
    assert_eq!(routed, due, "{name}: every due visit is routed or listed with its reason, exactly once");
    assert!(stops(&plan).len() >= added, "{name}: three 6-hour days hold the community's points");

    // Days: only Wednesday to Friday, 08:30 to 14:30 at most, ETAs in order, markets by 11:00,
    // and a point due twice is visited on two different days.
    let mut by_day: HashMap<String, Vec<Value>> = HashMap::new();
    for s in stops(&plan) {
        by_day.entry(s["date"].as_str().unwrap_or_default().to_string()).or_default().push(s);
    }
    for route in plan["features"].as_array().expect("features").iter().filter(|f| f["properties"]["kind"] == "route") {
        let p = &route["properties"];
        let date = p["date"].as_str().unwrap_or_default();
        assert!(["2026-11-25", "2026-11-26", "2026-11-27"].contains(&date), "{name}: {date}");
        assert_eq!(local_seconds(p["start"].as_str().unwrap_or_default()), 8.5 * 3600.0);
        assert!(local_seconds(p["finish"].as_str().unwrap_or_default()) <= 14.5 * 3600.0, "{name}: {p}");
        let day = by_day.get(date).cloned().unwrap_or_default();
        let etas: Vec<f64> = day.iter().map(|s| local_seconds(s["eta"].as_str().unwrap_or_default())).collect();
        assert!(etas.windows(2).all(|w| w[0] <= w[1]), "{name}: ETAs in visiting order");
        for s in &day {
            if s["type"] == "market" {
                assert!(local_seconds(s["eta"].as_str().unwrap_or_default()) <= 11.0 * 3600.0, "{name}: {s}");
            }
        }
        let mut codes: Vec<&str> = day.iter().map(|s| s["code"].as_str().unwrap_or_default()).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), before, "{name}: no point twice in one day");

        // The day's length is the line's length on the ellipsoid, as PostGIS measures it.
        if let Backend::Postgres(db) = backend {
            let wkt: Vec<String> = route["geometry"]["coordinates"]
                .as_array()
                .expect("line")
                .iter()
                .map(|c| format!("{} {}", c[0], c[1]))
                .collect();
            let postgis: f64 = db
                .sql(&format!("SELECT ST_Length(ST_GeomFromText('LINESTRING({})', 4326)::geography)", wkt.join(",")))
                .trim()
                .parse()
                .expect("a length");
            let ours = p["length_m"].as_f64().unwrap_or(0.0);
            assert!((ours - postgis).abs() <= 1.0 + postgis * 1e-4, "{name}: {ours} m vs PostGIS {postgis} m");
        }
    }

    // Re-planning mid-week: an inspection recorded now drops that visit from the plan.
    let first = stops(&plan)[0].clone();
    let code = first["code"].as_str().unwrap_or_default().to_string();
    let body = json!({"point": code, "time": "2026-11-25T06:55:00+08:00",
                      "results": [], "note": "早巡"})
    .to_string();
    let (status, recorded) = server.post_as(Some(&officer), "/api/v1/inspections", &body);
    assert_eq!(status, 201, "{name}: {recorded}");
    let (_, again) = server.get_as(Some(&officer), &format!("/api/v1/plans?week={WEEK}"));
    let count = |p: &Value| stops(p).iter().filter(|s| s["code"] == code.as_str()).count();
    assert_eq!(count(&again) + 1, count(&plan), "{name}: the inspected visit is no longer planned");
    assert_eq!(again["done"].as_u64(), plan["done"].as_u64().map(|d| d + 1), "{name}");

    // Who may see which plan.
    let dispatcher = server.token_of("dispatcher");
    let (status, theirs) = server.get_as(Some(&dispatcher), &format!("/api/v1/plans?week={WEEK}&officer=demo-officer"));
    assert_eq!((status, theirs["length_m"].clone()), (200, again["length_m"].clone()), "{name}");
    let (status, _) = server.get_as(Some(&dispatcher), "/api/v1/plans");
    assert_eq!(status, 400, "{name}: a dispatcher names the officer");
    let (status, _) = server.get_as(Some(&dispatcher), "/api/v1/plans?officer=nobody");
    assert_eq!(status, 404, "{name}");
    let (status, _) = server.get_as(Some(&officer), "/api/v1/plans?officer=demo-dispatcher");
    assert_eq!(status, 403, "{name}: an officer sees only their own plan");
    let (status, _) = server.get_as(Some(&server.token_of("unit")), "/api/v1/plans?officer=demo-officer");
    assert_eq!(status, 403, "{name}");
    let (status, _) = server.get_as(None, "/api/v1/plans?officer=demo-officer");
    assert_eq!(status, 401, "{name}");

    // The CLI plans the same week for every officer; the demo officer's rows match the API.
    let out = gridwatch(&["plan", "--week", WEEK, "--as-of", "2026-11-25T07:00:00+08:00"], Some(&url));
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    let csv = text(&out.stdout);
    let rows = csv.lines().skip(1).filter(|l| l.starts_with("demo-officer,")).count();
    assert_eq!(rows, stops(&again).len(), "{name}: {csv}");
    let out = gridwatch(&["plan", "--week", WEEK, "--officer", "demo-officer", "--format", "geojson"], Some(&url));
    let plans: Value = serde_json::from_slice(&out.stdout).expect("geojson");
    assert_eq!(plans[0]["type"], "FeatureCollection", "{name}");

    // A city's own rules: 08:00 for 4 hours, Saturdays only.
    let rules = dir.join("plan-rules.json");
    std::fs::write(&rules, r#"{"day_start": "08:00", "day_hours": 4, "workdays": [6], "dwell_minutes": {"公厕": 8}}"#)
        .expect("write");
    let args = ["plan", "--week", WEEK, "--officer", "demo-officer", "--format", "geojson", "--as-of", NOW];
    let out = gridwatch(&[&args[..], &["--plan-rules", &rules.to_string_lossy()]].concat(), Some(&url));
    assert!(out.status.success(), "{name}: {}", text(&out.stderr));
    let plans: Value = serde_json::from_slice(&out.stdout).expect("geojson");
    let routes: Vec<&Value> = plans[0]["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["kind"] == "route")
        .map(|f| &f["properties"])
        .collect();
    assert!(
        !routes.is_empty() && routes.iter().all(|r| r["date"] == "2026-11-28"),
        "{name}: Saturdays only: {routes:?}"
    );
    for r in &routes {
        assert_eq!(local_seconds(r["start"].as_str().unwrap_or_default()), 8.0 * 3600.0, "{name}: {r}");
        assert!(local_seconds(r["finish"].as_str().unwrap_or_default()) <= 12.0 * 3600.0, "{name}: {r}");
    }
    for s in stops(&plans[0]).iter().filter(|s| s["type"] == "public_toilet") {
        let stay = local_seconds(s["depart"].as_str().unwrap_or_default())
            - local_seconds(s["eta"].as_str().unwrap_or_default());
        assert_eq!(stay, 8.0 * 60.0, "{name}: {s}");
    }
    std::fs::write(&rules, r#"{"day_start": "08:00", "day_hours": 30}"#).expect("write");
    let out = gridwatch(&[&args[..], &["--plan-rules", &rules.to_string_lossy()]].concat(), Some(&url));
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("plan-rules.json") && stderr.contains("day_hours"),
        "{name}: {stderr}"
    );
    server.stop();
}

#[test]
fn weekly_plans_route_every_due_visit_on_both_backends() {
    for backend in Backend::both("plans") {
        scenario(&backend);
    }
}
