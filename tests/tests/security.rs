//! Who may call what, and for which area: every endpoint × role × own area / other area /
//! anonymous, on both backends; plus tokens that expire or are revoked, rate limits, the bbox
//! limit and the append-only audit log.

mod common;

use common::{gridwatch, inside, Backend, Server};
use serde_json::Value;

/// The centre of a grid's first ring: a point inside a lattice cell of the demo.
/// The zoom-16 tile of a layer around a position: status and bytes.
fn tile_bytes(server: &Server, token: Option<&str>, layer: &str, lon: f64, lat: f64) -> (u16, Vec<u8>) {
    let (x, y) = common::tile_of(lon, lat, 16);
    let tile = server.fetch(token, &format!("/tiles/{layer}/16/{x}/{y}.mvt"), None);
    (tile.status, tile.body)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn report(lon: f64, lat: f64) -> String {
    format!(r#"{{"lon": {lon}, "lat": {lat}, "category": "暴露垃圾", "description": "matrix", "source": "officer"}}"#)
}

fn codes(layer: &Value, key: &str) -> Vec<String> {
    layer["features"]
        .as_array()
        .map(|f| f.iter().map(|x| x["properties"][key].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

/// (who, token, locate, report own, report other, read own, read other, read grids layer)
type Expectation<'a> = (&'a str, Option<String>, u16, u16, u16, u16, u16, u16);

fn matrix_scenario(backend: &Backend) {
    let name = backend.name();
    let url = backend.url();
    let server = Server::start(&url, &["--demo"]);
    let admin = server.token_of("admin");
    let street_dispatcher =
        common::user_with_token(&url, "street-dispatcher", &["--role", "dispatcher", "--scope", "110101001"]);

    // An officer's own grid and a grid of another street.
    let (_, mine) = server.get_as(Some(&server.token_of("officer")), "/api/v1/layers/grids?level=grid");
    let own_grid = mine["features"][0].clone();
    let (_, all) = server.get_as(Some(&admin), "/api/v1/layers/grids?level=grid");
    let other_grid = all["features"]
        .as_array()
        .and_then(|f| f.iter().find(|g| !g["id"].as_str().unwrap_or("").starts_with("110101001")).cloned())
        .expect("a grid of another street");
    let (own_lon, own_lat) = inside(&own_grid);
    let (other_lon, other_lat) = inside(&other_grid);

    let (status, own_problem) =
        server.post_as(Some(&server.token_of("officer")), "/api/v1/problems", &report(own_lon, own_lat));
    assert_eq!(status, 201, "{name}: an officer reports in their own grid: {own_problem}");
    assert_eq!(own_problem["grid_code"], own_grid["id"], "{name}");
    assert_eq!(own_problem["reported_by"], "demo-officer", "{name}");
    let (status, other_problem) = server.post_as(Some(&admin), "/api/v1/problems", &report(other_lon, other_lat));
    assert_eq!(status, 201, "{name}");
    let own = format!("/api/v1/problems/{}", own_problem["id"]);
    let other = format!("/api/v1/problems/{}", other_problem["id"]);
    let missing = "/api/v1/problems/987654321";

    let (status, app_problem) =
        server.post_as(Some(&server.token_of("app")), "/api/v1/problems", &report(other_lon, other_lat));
    assert_eq!(status, 201, "{name}: citizen apps report anywhere");
    assert_eq!(app_problem["source"], "app", "{name}: an app key reports as source app");
    let app_own = format!("/api/v1/problems/{}", app_problem["id"]);

    // (who, token, locate, report own, report other, read own, read other, read grids layer)
    let roles: Vec<Expectation<'_>> = vec![
        ("anonymous", None, 401, 401, 401, 401, 401, 401),
        ("officer", Some(server.token_of("officer")), 200, 201, 403, 200, 404, 200),
        ("unit", Some(server.token_of("unit")), 200, 403, 403, 200, 404, 200),
        ("street dispatcher", Some(street_dispatcher.clone()), 200, 201, 403, 200, 404, 200),
        ("district dispatcher", Some(server.token_of("dispatcher")), 200, 201, 201, 200, 200, 200),
        // The office reports what it finds on its checks (issue 23), within its district.
        ("office", Some(server.token_of("office")), 200, 201, 201, 200, 200, 200),
        ("admin", Some(admin.clone()), 200, 201, 201, 200, 200, 200),
        ("app", Some(server.token_of("app")), 200, 201, 201, 404, 404, 403),
    ];
    for (who, token, locate, report_own, report_other, read_own, read_other, grids) in roles {
        let t = token.as_deref();
        let ctx = format!("{name}/{who}");
        assert_eq!(server.get_as(t, &format!("/api/v1/locate?lon={own_lon}&lat={own_lat}")).0, locate, "{ctx}: locate");
        assert_eq!(server.post_as(t, "/api/v1/problems", &report(own_lon, own_lat)).0, report_own, "{ctx}: report own");
        let (status, body) = server.post_as(t, "/api/v1/problems", &report(other_lon, other_lat));
        assert_eq!(status, report_other, "{ctx}: report other: {body}");
        assert_eq!(server.get_as(t, &own).0, read_own, "{ctx}: read own");
        let (status, body) = server.get_as(t, &other);
        assert_eq!(status, read_other, "{ctx}: read other");
        if status == 404 {
            // BOLA: another area's problem is indistinguishable from one that does not exist.
            let (missing_status, missing_body) = server.get_as(t, missing);
            assert_eq!(missing_status, 404, "{ctx}");
            assert_eq!(body["error"]["code"], missing_body["error"]["code"], "{ctx}");
            assert_eq!(body["error"]["details"], missing_body["error"]["details"], "{ctx}");
        }
        // The case endpoints follow the same area rules as reading a problem.
        assert_eq!(server.get_as(t, &format!("{own}/events")).0, read_own, "{ctx}: own events");
        assert_eq!(server.get_as(t, &format!("{other}/events")).0, read_other, "{ctx}: other events");
        let (status, _) = server.post_as(t, &format!("{other}/transitions"), r#"{"action": "accept"}"#);
        let expected: &[u16] = match (read_other, who) {
            (401, _) => &[401],
            (404, _) => &[404],
            // They may accept it (409 once someone before them in this loop already did).
            (_, "district dispatcher" | "admin") => &[200, 409],
            _ => &[403], // they see it, but their role may not act
        };
        assert!(expected.contains(&status), "{ctx}: act on another area's case: {status}");
        let (status, queue) = server.get_as(t, "/api/v1/problems?limit=1000");
        assert_eq!(status, if t.is_none() { 401 } else { 200 }, "{ctx}: queue");
        if t.is_some() {
            let ids: Vec<i64> = queue["problems"]
                .as_array()
                .map(|p| p.iter().filter_map(|x| x["id"].as_i64()).collect())
                .unwrap_or_default();
            assert_eq!(
                ids.contains(&other_problem["id"].as_i64().unwrap_or(-1)),
                read_other == 200,
                "{ctx}: queue shows other"
            );
        }
        assert_eq!(server.get_as(t, "/api/v1/categories").0, if t.is_none() { 401 } else { 200 }, "{ctx}: categories");
        let reports = match who {
            "anonymous" => 401,
            "officer" | "app" => 403,
            _ => 200,
        };
        assert_eq!(server.get_as(t, "/api/v1/reports/weekly").0, reports, "{ctx}: weekly bulletin");
        let (status, _) = server.post_as(t, &format!("{other}/reroute"), r#"{"unit": "x", "reason": "matrix"}"#);
        let expected = match (read_other, who) {
            (401, _) => 401,
            (404, _) => 404,
            (_, "district dispatcher" | "admin") => 200,
            _ => 403,
        };
        assert_eq!(status, expected, "{ctx}: re-route another area's case");
        let status = server.stream_status(t, "/api/v1/escalations/stream");
        assert_eq!(status, if t.is_none() { 401 } else { 200 }, "{ctx}: escalation stream");
        assert_eq!(server.stream_status(t, "/api/v1/problems/stream"), status, "{ctx}: problem stream");
        assert_eq!(server.get_as(t, "/api/v1/me").0, if t.is_none() { 401 } else { 200 }, "{ctx}: me");
        // Vector tiles keep the same borders: another area's grid and cases are not in them.
        // (MVT keeps string values verbatim, so a grid code in the tile's bytes means it is drawn.)
        let other_code = other_grid["id"].as_str().unwrap_or_default();
        let (status, tile) = tile_bytes(&server, t, "grids", other_lon, other_lat);
        assert_eq!(status, grids, "{ctx}: grids tile");
        if status == 200 {
            assert_eq!(contains(&tile, other_code), read_other == 200, "{ctx}: another area's grid in a tile");
        }
        let (status, tile) = tile_bytes(&server, t, "problems", other_lon, other_lat);
        assert_eq!(status, if t.is_none() { 401 } else { 200 }, "{ctx}: problems tile");
        if status == 200 && who != "app" {
            assert_eq!(contains(&tile, other_code), read_other == 200, "{ctx}: another area's cases in a tile");
        }
        let (status, layer) = server.get_as(t, "/api/v1/layers/grids");
        assert_eq!(status, grids, "{ctx}: grids layer");
        let (status, problems) = server.get_as(t, "/api/v1/layers/problems");
        assert_eq!(status, if t.is_none() { 401 } else { 200 }, "{ctx}: problems layer");
        if t.is_none() {
            continue;
        }
        let grid_codes = codes(&layer, "code");
        let problem_grids = codes(&problems, "grid_code");
        let problem_units = codes(&problems, "responsible_unit");
        match who {
            "officer" => {
                assert!(!grid_codes.is_empty() && grid_codes.iter().all(|c| c.starts_with("110101001001")), "{ctx}");
                assert!(problem_grids.iter().all(|c| c.starts_with("110101001001")), "{ctx}");
                assert!(problem_grids.contains(&own_grid["id"].as_str().unwrap_or("").to_string()), "{ctx}");
            }
            "street dispatcher" => {
                assert!(grid_codes.iter().all(|c| c.starts_with("110101001")), "{ctx}");
                assert!(!problem_grids.is_empty() && problem_grids.iter().all(|c| c.starts_with("110101001")), "{ctx}");
            }
            "unit" => {
                let units = codes(&layer, "responsible_unit");
                assert!(!units.is_empty() && units.iter().all(|u| u == "东华门街道办事处"), "{ctx}");
                assert!(!problem_units.is_empty() && problem_units.iter().all(|u| u == "东华门街道办事处"), "{ctx}");
            }
            "app" => {
                let reporters = codes(&problems, "reported_by");
                assert!(!reporters.is_empty() && reporters.iter().all(|r| r == "demo-app"), "{ctx}");
                assert_eq!(server.get_as(t, &app_own).0, 200, "{ctx}: an app reads its own reports");
            }
            _ => assert!(problem_grids.len() > 300, "{ctx}: the whole district"),
        }
    }

    // Bad, revoked and expired tokens.
    let (status, body) = server.get_as(Some("gw_not-a-token"), "/api/v1/locate?lon=116.4&lat=39.9");
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_token")), "{name}");
    let out = gridwatch(&["user", "revoke", "street-dispatcher"], Some(&url));
    assert!(out.status.success(), "{name}");
    assert_eq!(server.get_as(Some(&street_dispatcher), "/api/v1/me").0, 401, "{name}: revoked at once");
    // Grid lookups (locate, tiles) may reuse a token check for PrincipalCache::TTL (2 s).
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(
        server.get_as(Some(&street_dispatcher), "/api/v1/locate?lon=116.4&lat=39.9").0,
        401,
        "{name}: locate refuses a revoked token after the 2 s reuse"
    );
    let (status, _) = server.get_as(Some(&admin), "/api/v1/layers/problems?bbox=100,20,130,50");
    assert_eq!(status, 400, "{name}: a bbox over the area limit is refused");
    assert_eq!(server.get_as(None, "/healthz").0, 200, "{name}: health needs no token");
}

#[test]
fn every_endpoint_checks_role_and_area_on_both_backends() {
    for backend in Backend::both("security") {
        matrix_scenario(&backend);
    }
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let dir = common::scratch("ratelimit");
    let url = format!("sqlite://{}", dir.join("g.db").display());
    let server = Server::start(&url, &["--demo", "--rate-limit-per-token", "5", "--rate-limit-per-ip", "12"]);
    let admin = server.token_of("admin");
    for _ in 0..5 {
        assert_eq!(server.get_as(Some(&admin), "/api/v1/locate?lon=116.4&lat=39.9").0, 200);
    }
    let refused = ureq::get(&server.url("/api/v1/locate?lon=116.4&lat=39.9"))
        .set("Authorization", &format!("Bearer {admin}"))
        .call();
    match refused {
        Err(ureq::Error::Status(429, response)) => {
            let retry: u64 = response.header("Retry-After").and_then(|v| v.parse().ok()).expect("Retry-After");
            assert!((1..=60).contains(&retry));
            let body: Value = serde_json::from_str(&response.into_string().expect("body")).expect("json");
            assert_eq!(body["error"]["code"], "rate_limited");
        }
        other => panic!("expected 429, got {other:?}"),
    }
    // Another token still works until the address itself is over its limit.
    let office = server.token_of("office");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(server.get_as(Some(&office), "/healthz").0);
    }
    assert!(statuses.contains(&200) && statuses.contains(&429), "{statuses:?}");
}

#[test]
fn the_audit_log_records_who_did_what_and_cannot_be_rewritten() {
    let db = common::PgDatabase::fresh();
    let server = Server::start(&db.url(), &["--demo"]);
    let (status, created) = server.post_as(
        Some(&server.token_of("dispatcher")),
        "/api/v1/problems",
        r#"{"lon": 116.41, "lat": 39.93, "category": "暴露垃圾", "description": "审计", "source": "hotline"}"#,
    );
    assert_eq!(status, 201);
    let row =
        db.sql(&format!("SELECT actor, remote, action FROM audit_log WHERE object = 'problem/{}'", created["id"]));
    assert_eq!(row.trim(), "demo-dispatcher|127.0.0.1|problem.create");
    let actions = db.sql("SELECT DISTINCT action FROM audit_log ORDER BY action");
    for a in ["grids.import", "problem.create", "token.create", "user.add"] {
        assert!(actions.lines().any(|l| l == a), "{a} missing from {actions}");
    }
    let tokens = db.sql("SELECT hash FROM tokens");
    assert!(!tokens.contains(&server.token_of("admin")[3..]), "only hashes are stored");
    for sql in ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"] {
        let out = std::process::Command::new("psql")
            .args([&db.url(), "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
            .output()
            .expect("psql");
        assert!(!out.status.success(), "{sql} must fail");
        assert!(common::text(&out.stderr).contains("append-only"));
    }
}
