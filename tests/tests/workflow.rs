//! The case workflow end to end over HTTP, on both backends: every state, every side path,
//! illegal transitions, who may act, and the recorded steps.

mod common;

use common::{Backend, Server};
use serde_json::{json, Value};

struct Desk<'a> {
    server: &'a Server,
    name: &'static str,
}

impl Desk<'_> {
    fn token(&self, role: &str) -> String {
        self.server.token_of(role)
    }

    /// Reports a problem as the demo officer inside their own grid.
    fn report(&self, category: &str) -> Value {
        let officer = self.token("officer");
        let (_, mine) = self.server.get_as(Some(&officer), "/api/v1/layers/grids?level=grid");
        let ring = &mine["features"][0]["geometry"]["coordinates"][0];
        let (lon, lat) = (
            (ring[0][0].as_f64().unwrap_or(0.0) + ring[2][0].as_f64().unwrap_or(0.0)) / 2.0,
            (ring[0][1].as_f64().unwrap_or(0.0) + ring[2][1].as_f64().unwrap_or(0.0)) / 2.0,
        );
        let body =
            json!({"lon": lon, "lat": lat, "category": category, "description": "workflow", "source": "officer"});
        let (status, p) = self.server.post_as(Some(&officer), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{}: {p}", self.name);
        p
    }

    fn act(&self, role: &str, p: &Value, body: Value) -> (u16, Value) {
        let path = format!("/api/v1/problems/{}/transitions", p["id"]);
        self.server.post_as(Some(&self.token(role)), &path, &body.to_string())
    }

    /// Takes an action that must succeed and returns the case after it.
    fn ok(&self, role: &str, p: &Value, body: Value, state: &str) -> Value {
        let (status, after) = self.act(role, p, body.clone());
        assert_eq!(status, 200, "{}: {role} {body}: {after}", self.name);
        assert_eq!(after["status"], state, "{}: {role} {body}", self.name);
        after
    }
}

fn scenario(backend: &Backend) {
    let name = backend.name();
    let server = Server::start(&backend.url(), &["--demo"]);
    let desk = Desk { server: &server, name };

    // Routing: the grid's unit (territory first) and the category's department.
    let p = desk.report("暴露垃圾");
    assert_eq!(
        (p["category"].as_str(), p["department"].as_str()),
        (Some("E01001"), Some("环境卫生服务中心")),
        "{name}"
    );
    assert_eq!(p["responsible_unit"], "东华门街道办事处", "{name}");
    assert_eq!((p["status"].as_str(), p["colour"].as_str()), (Some("reported"), Some("none")), "{name}");

    // The main path, each step by its role.
    let p = desk.ok("dispatcher", &p, json!({"action": "accept"}), "accepted");
    let p = desk.ok("dispatcher", &p, json!({"action": "register"}), "registered");
    let p = desk.ok("dispatcher", &p, json!({"action": "dispatch"}), "dispatched");
    assert!(p["deadline"].is_string() && p["dispatched_at"].is_string(), "{name}: dispatch sets the deadline");
    let p = desk.ok(
        "unit",
        &p,
        json!({"action": "handle", "note": "已清运", "photo_url": "https://example.org/after.jpg"}),
        "handled",
    );
    let p = desk.ok("officer", &p, json!({"action": "verify"}), "verified");
    let p = desk.ok("dispatcher", &p, json!({"action": "close"}), "closed");
    assert!(p["closed_at"].is_string(), "{name}");
    let (status, events) = server.get_as(Some(&desk.token("office")), &format!("/api/v1/problems/{}/events", p["id"]));
    assert_eq!(status, 200, "{name}");
    let steps: Vec<(String, String, String, String)> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (s("action"), s("from_state"), s("to_state"), s("actor"))
        })
        .collect();
    let expected = [
        ("accept", "reported", "accepted", "demo-dispatcher"),
        ("register", "accepted", "registered", "demo-dispatcher"),
        ("dispatch", "registered", "dispatched", "demo-dispatcher"),
        ("handle", "dispatched", "handled", "demo-unit"),
        ("verify", "handled", "verified", "demo-officer"),
        ("close", "verified", "closed", "demo-dispatcher"),
    ];
    let expected: Vec<(String, String, String, String)> =
        expected.iter().map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string())).collect();
    assert_eq!(steps, expected, "{name}: every step recorded with its actor");
    assert_eq!(events["events"][3]["photo_url"], "https://example.org/after.jpg", "{name}");

    // Illegal transitions: 409 naming the allowed next states; wrong roles: 403.
    let (status, err) = desk.act("dispatcher", &p, json!({"action": "void", "note": "x"}));
    assert_eq!((status, err["error"]["code"].as_str()), (409, Some("illegal_transition")), "{name}");
    // A closed case goes nowhere but to its call-back (回访), which may re-open it.
    assert_eq!(
        err["error"]["details"]["allowed"],
        json!([{"action": "callback", "to": "closed"}]),
        "{name}: a closed case is only called back"
    );
    let q = desk.report("E01002");
    let (status, err) = desk.act("dispatcher", &q, json!({"action": "close"}));
    assert_eq!(status, 409, "{name}");
    let allowed: Vec<&str> = err["error"]["details"]["allowed"]
        .as_array()
        .expect("allowed")
        .iter()
        .filter_map(|a| a["to"].as_str())
        .collect();
    assert_eq!(allowed, ["accepted", "self_handled", "void", "closed"], "{name}: closed by merging into another case");
    assert!(
        err["error"]["message"].as_str().is_some_and(|m| m.contains("accepted, self_handled, void, closed")),
        "{name}"
    );
    assert_eq!(desk.act("officer", &q, json!({"action": "accept"})).0, 403, "{name}: officers do not accept cases");
    assert_eq!(desk.act("office", &q, json!({"action": "accept"})).0, 403, "{name}: the office only reads");
    assert_eq!(desk.act("dispatcher", &q, json!({"action": "fly"})).0, 422, "{name}");
    assert_eq!(desk.act("dispatcher", &q, json!({"action": "void"})).0, 422, "{name}: void needs a reason");

    // Void.
    desk.ok("dispatcher", &q, json!({"action": "void", "note": "重复上报"}), "void");

    // Returned: the unit refuses with a reason and a forward target; the dispatcher re-routes.
    let r = desk.report("E05001");
    let r = desk.ok("dispatcher", &r, json!({"action": "accept"}), "accepted");
    let r = desk.ok("dispatcher", &r, json!({"action": "register"}), "registered");
    let r = desk.ok("dispatcher", &r, json!({"action": "dispatch"}), "dispatched");
    assert_eq!(desk.act("unit", &r, json!({"action": "refuse"})).0, 422, "{name}: refusing needs a reason");
    let r = desk.ok(
        "unit",
        &r,
        json!({"action": "refuse", "note": "非本单位职责", "forward_to": "景山街道办事处"}),
        "returned",
    );
    let r = desk.ok("dispatcher", &r, json!({"action": "dispatch", "unit": "景山街道办事处"}), "dispatched");
    assert_eq!(r["responsible_unit"], "景山街道办事处", "{name}");
    let (status, _) = desk.act("unit", &r, json!({"action": "handle"}));
    assert_eq!(status, 404, "{name}: once re-routed, the first unit no longer sees the case");

    // Rework: verification fails, the case comes back yellow, then closes.
    let w = desk.report("E01004");
    let w = desk.ok("dispatcher", &w, json!({"action": "accept"}), "accepted");
    let w = desk.ok("dispatcher", &w, json!({"action": "register"}), "registered");
    let w = desk.ok("dispatcher", &w, json!({"action": "dispatch"}), "dispatched");
    let w = desk.ok("unit", &w, json!({"action": "handle"}), "handled");
    let w = desk.ok("officer", &w, json!({"action": "reject", "note": "未清理干净"}), "rework");
    assert_eq!((w["reworks"].as_u64(), w["colour"].as_str()), (Some(1), Some("yellow")), "{name}");
    let w = desk.ok("unit", &w, json!({"action": "handle"}), "handled");
    let w = desk.ok("officer", &w, json!({"action": "verify"}), "verified");
    desk.ok("dispatcher", &w, json!({"action": "close"}), "closed");

    // Extension: requested by the unit, approved by the dispatcher, the deadline moves.
    let x = desk.report("E01003");
    assert_eq!(x["colour"], "yellow", "{name}: illegal structures start at yellow");
    let x = desk.ok("dispatcher", &x, json!({"action": "accept"}), "accepted");
    let x = desk.ok("dispatcher", &x, json!({"action": "register"}), "registered");
    let x = desk.ok("dispatcher", &x, json!({"action": "dispatch"}), "dispatched");
    let ask = json!({"action": "request_extension", "note": "需协调产权单位", "extension": {"amount": 2, "unit": "working_days"}});
    let asked = desk.ok("unit", &x, ask, "dispatched");
    assert_eq!(asked["extension_requested"]["amount"], 2, "{name}");
    let approved = desk.ok("dispatcher", &asked, json!({"action": "approve_extension"}), "dispatched");
    assert_ne!(approved["deadline"], x["deadline"], "{name}: approval moves the deadline");
    assert_eq!(approved["extension_requested"], Value::Null, "{name}");
    let (status, _) = desk.act("dispatcher", &approved, json!({"action": "approve_extension"}));
    assert_eq!(status, 422, "{name}: nothing left to approve");

    // Self-handled by the officer on the spot, then verified.
    let s = desk.report("E02001");
    let s = desk.ok("officer", &s, json!({"action": "self_handle", "note": "已当场清除"}), "self_handled");
    desk.ok("dispatcher", &s, json!({"action": "verify"}), "verified");

    // The catalogue is readable by every role.
    let (status, cats) = server.get_as(Some(&desk.token("officer")), "/api/v1/categories");
    assert_eq!(status, 200, "{name}");
    assert!(cats["categories"].as_array().is_some_and(|c| c.len() >= 15), "{name}");
    let (status, body) = server.post_as(
        Some(&desk.token("admin")),
        "/api/v1/problems",
        r#"{"lon": 116.41, "lat": 39.93, "category": "外星人", "description": "", "source": "hotline"}"#,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_report")),
        "{name}: unknown categories are refused"
    );
}

#[test]
fn the_whole_workflow_runs_over_http_on_both_backends() {
    for backend in Backend::both("workflow") {
        scenario(&backend);
    }
}

fn queue_scenario(backend: &Backend) {
    let name = backend.name();
    // The last evening of the demo's own fortnight: every demo report is in the past, laid out as
    // the window count below expects (on other days the demo lives in the present).
    let server = Server::start(&backend.url(), &["--demo", "--clock-start", "2026-11-29T23:00:00+08:00"]);
    let dispatcher = server.token_of("dispatcher");
    let get = |path: &str| {
        let (status, body) = server.get_as(Some(&dispatcher), path);
        assert_eq!(status, 200, "{name}: {path}: {body}");
        body
    };
    let ids = |page: &Value| -> Vec<i64> {
        page["problems"].as_array().map(|p| p.iter().filter_map(|x| x["id"].as_i64()).collect()).unwrap_or_default()
    };

    // Paging through `next` returns every match exactly once, in order.
    let first = get("/api/v1/problems?limit=40");
    let total = first["total"].as_i64().expect("total");
    assert!(total >= 300, "{name}: {total}");
    let mut seen = ids(&first);
    let mut next = first["next"].as_str().map(String::from);
    while let Some(link) = next {
        let page = get(&link);
        seen.extend(ids(&page));
        next = page["next"].as_str().map(String::from);
    }
    assert_eq!(seen.len() as i64, total, "{name}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{name}: oldest first, no repeats");
    let newest = get("/api/v1/problems?sort=-created_at&limit=5");
    assert_eq!(ids(&newest).first(), seen.last(), "{name}");

    // Filters.
    let matches = |path: &str, check: &dyn Fn(&Value) -> bool| {
        let page = get(path);
        let list = page["problems"].as_array().cloned().unwrap_or_default();
        assert!(!list.is_empty(), "{name}: {path} matched nothing");
        assert!(list.iter().all(check), "{name}: {path}");
        page["total"].as_i64().unwrap_or(0)
    };
    matches("/api/v1/problems?category=E01001&limit=1000", &|p| p["category"] == "E01001");
    matches("/api/v1/problems?grid=110101001&limit=1000", &|p| {
        p["grid_code"].as_str().is_some_and(|g| g.starts_with("110101001"))
    });
    matches("/api/v1/problems?source=hotline&limit=1000", &|p| p["source"] == "hotline");
    matches("/api/v1/problems?colour=yellow&limit=1000", &|p| p["colour"] == "yellow");
    matches("/api/v1/problems?department=城管执法队&limit=1000", &|p| p["department"] == "城管执法队");
    matches("/api/v1/problems?unit=东华门街道办事处&limit=1000", &|p| {
        p["responsible_unit"] == "东华门街道办事处"
    });
    let window = matches("/api/v1/problems?from=2026-11-16T12:00:00%2B08:00&to=2026-11-17&limit=1000", &|p| {
        p["created_at"].as_str().is_some_and(|t| ("2026-11-16T04:00:00Z".."2026-11-16T16:00:00Z").contains(&t))
    });
    // Demo reports come every 37 minutes from 2026-11-16 00:00 +08:00: 12 h = 720 min → 19 of them.
    assert_eq!(window, 19, "{name}");
    let bbox = matches("/api/v1/problems?bbox=116.40,39.92,116.41,39.93&limit=1000", &|p| {
        let (lon, lat) = (p["lon"].as_f64().unwrap_or(0.0), p["lat"].as_f64().unwrap_or(0.0));
        (116.40..=116.41).contains(&lon) && (39.92..=39.93).contains(&lat)
    });
    assert!(bbox < total, "{name}");
    let combined = get("/api/v1/problems?status=reported,accepted&source=hotline&category=E01001");
    assert!(combined["total"].as_i64().unwrap_or(0) <= total, "{name}");

    // Sorting by deadline puts the nearest first; a newly dispatched case joins them.
    let dispatched_before = get("/api/v1/problems?status=dispatched")["total"].as_i64().unwrap_or(0);
    let target = seen[5];
    for action in ["accept", "register", "dispatch"] {
        let (status, _) = server.post_as(
            Some(&dispatcher),
            &format!("/api/v1/problems/{target}/transitions"),
            &json!({"action": action}).to_string(),
        );
        assert_eq!(status, 200, "{name}");
    }
    let by_deadline = get("/api/v1/problems?sort=deadline&limit=1000");
    let deadlines: Vec<(i64, String)> = by_deadline["problems"]
        .as_array()
        .map(|p| p.iter().filter_map(|x| Some((x["id"].as_i64()?, x["deadline"].as_str()?.to_string()))).collect())
        .unwrap_or_default();
    assert!(deadlines.iter().any(|(id, _)| *id == target), "{name}: the new deadline is listed");
    // Every case with a deadline comes before every one without, nearest first.
    assert!(ids(&by_deadline)[..deadlines.len()].iter().zip(&deadlines).all(|(a, (b, _))| a == b), "{name}");
    let parsed: Vec<time::OffsetDateTime> = deadlines
        .iter()
        .map(|(_, d)| time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339).expect("RFC 3339"))
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] <= w[1]), "{name}: nearest deadline first");
    assert_eq!(get("/api/v1/problems?status=dispatched")["total"], dispatched_before + 1, "{name}");

    // The officer's queue is their area only.
    let (_, mine) = server.get_as(Some(&server.token_of("officer")), "/api/v1/problems?limit=1000");
    let mine = mine["problems"].as_array().cloned().unwrap_or_default();
    assert!(mine.iter().all(|p| p["grid_code"].as_str().is_some_and(|g| g.starts_with("110101001001"))), "{name}");

    for bad in [
        "status=flying",
        "colour=purple",
        "sort=random",
        "offset=-1",
        "source=fax",
        "from=yesterday",
        "limit=5000",
        "page=2",
    ] {
        let (status, body) = server.get_as(Some(&dispatcher), &format!("/api/v1/problems?{bad}"));
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_parameter")), "{name}: {bad}");
    }
}

#[test]
fn the_queue_filters_sorts_and_pages_on_both_backends() {
    for backend in Backend::both("queue") {
        queue_scenario(&backend);
    }
}

#[test]
fn admins_replace_the_catalogue_from_csv_or_json_all_or_nothing() {
    let dir = common::scratch("catalogue");
    let url = format!("sqlite://{}", dir.join("g.db").display());
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "code,kind,name_zh,name_en,department,time_limit,limit_unit,severity\n\
         E01080,event,共享单车乱停,Bike clutter,城管执法队,2,working_hours,none\n\
         E01081,event,餐厨垃圾,Kitchen waste,环境卫生服务中心,3,fortnights,none\n",
    )
    .expect("write");
    let out = common::gridwatch(&["import", "categories", &bad.to_string_lossy()], Some(&url));
    assert!(!out.status.success());
    let stderr = common::text(&out.stderr);
    assert!(stderr.contains("bad.csv: row 2, limit_unit") && stderr.contains("catalogue is unchanged"), "{stderr}");

    let good = dir.join("city.json");
    std::fs::write(
        &good,
        json!([
            {"code": "E01080", "kind": "事件", "name_zh": "共享单车乱停", "name_en": "Bike clutter",
             "department": "城管执法队", "time_limit": 2, "limit_unit": "working_hours"},
            {"code": "C01001", "kind": "部件", "name_zh": "上水井盖", "name_en": "Water manhole cover",
             "department": "自来水集团", "time_limit": 2, "limit_unit": "urgent_hours", "severity": "red"}
        ])
        .to_string(),
    )
    .expect("write");
    let out = common::gridwatch(&["import", "categories", &good.to_string_lossy()], Some(&url));
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(common::text(&out.stdout).contains("2 categories"));

    let server = Server::start(&url, &["--demo"]);
    let (_, cats) = server.get("/api/v1/categories");
    let codes: Vec<&str> =
        cats["categories"].as_array().expect("list").iter().filter_map(|c| c["code"].as_str()).collect();
    assert_eq!(codes, ["C01001", "E01080"]);
    let (status, p) = server.post_json(
        "/api/v1/problems",
        r#"{"lon": 116.41, "lat": 39.93, "category": "共享单车乱停", "description": "", "source": "citizen"}"#,
    );
    assert_eq!((status, p["category"].as_str(), p["department"].as_str()), (201, Some("E01080"), Some("城管执法队")));
    // A component whose owner is named goes to the owner first (先属主).
    let (status, p) = server.post_json(
        "/api/v1/problems",
        r#"{"lon": 116.41, "lat": 39.93, "category": "C01001", "description": "井盖缺失", "source": "hotline", "owner": "北京自来水集团东城分公司"}"#,
    );
    assert_eq!(
        (status, p["responsible_unit"].as_str(), p["colour"].as_str()),
        (201, Some("北京自来水集团东城分公司"), Some("red"))
    );
}

fn duplicates_scenario(backend: &Backend) {
    let name = backend.name();
    // The demo's own week: its cases lie where they always did, none within reach of the point below.
    let server = Server::start(&backend.url(), &["--demo", "--clock-start", "2026-11-20T10:00:00+08:00"]);
    let dispatcher = server.token_of("dispatcher");
    let officer = server.token_of("officer");
    let post = |token: &str, lon: f64, lat: f64, category: &str| {
        let body = json!({"lon": lon, "lat": lat, "category": category, "description": "dup", "source": "officer"});
        let (status, p) = server.post_as(Some(token), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{name}: {body}: {p}");
        p
    };
    // A point in the officer's first grid, and metres in degrees there.
    let (_, mine) = server.get_as(Some(&officer), "/api/v1/layers/grids?level=grid");
    // A whole lattice cell (a 190 m square), not one clipped by the district boundary.
    let width = |g: &Value| {
        let xs: Vec<f64> = g["geometry"]["coordinates"][0]
            .as_array()
            .map(|r| r.iter().filter_map(|c| c[0].as_f64()).collect())
            .unwrap_or_default();
        xs.iter().cloned().fold(f64::MIN, f64::max) - xs.iter().cloned().fold(f64::MAX, f64::min)
    };
    let square = mine["features"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .filter(|g| {
                    g["geometry"]["type"] == "Polygon"
                        && g["geometry"]["coordinates"][0].as_array().map(Vec::len) == Some(5)
                })
                .max_by(|a, b| width(a).total_cmp(&width(b)))
        })
        .cloned()
        .expect("a square grid");
    let ring = square["geometry"]["coordinates"][0].as_array().cloned().expect("ring");
    let xs: Vec<f64> = ring.iter().filter_map(|c| c[0].as_f64()).collect();
    let ys: Vec<f64> = ring.iter().filter_map(|c| c[1].as_f64()).collect();
    let (min_x, max_x) = (xs.iter().cloned().fold(f64::MAX, f64::min), xs.iter().cloned().fold(f64::MIN, f64::max));
    let (min_y, max_y) = (ys.iter().cloned().fold(f64::MAX, f64::min), ys.iter().cloned().fold(f64::MIN, f64::max));
    let (lon, lat) = ((min_x + max_x) / 2.0, (min_y + max_y) / 2.0);
    let metre_lon = 1.0 / (111_320.0 * lat.to_radians().cos());

    let first = post(&officer, lon, lat, "E01001");
    assert_eq!(first["likely_duplicates"], json!([]), "{name}");
    let again = post(&dispatcher, lon + 20.0 * metre_lon, lat, "E01001");
    let dups = again["likely_duplicates"].as_array().cloned().unwrap_or_default();
    assert_eq!(dups.len(), 1, "{name}: {again}");
    assert_eq!(dups[0]["id"], first["id"], "{name}");
    assert!((dups[0]["distance_m"].as_f64().unwrap_or(0.0) - 20.0).abs() < 0.5, "{name}: measured in metres");
    assert_eq!(post(&dispatcher, lon, lat, "E05001")["likely_duplicates"], json!([]), "{name}: other category");
    assert_eq!(
        post(&dispatcher, lon + 60.0 * metre_lon, lat, "E01001")["likely_duplicates"].as_array().map(Vec::len),
        Some(1),
        "{name}: 60 m from the first but 40 m from the second"
    );
    // A citizen app is not shown links to cases it cannot see; the dispatcher is.
    let from_app = post(&server.token_of("app"), lon, lat, "E01001");
    assert_eq!(from_app["likely_duplicates"], json!([]), "{name}");
    let (_, seen) = server.get_as(Some(&dispatcher), &format!("/api/v1/problems/{}", from_app["id"]));
    assert!(seen["likely_duplicates"].as_array().is_some_and(|d| d.len() >= 2), "{name}: {seen}");

    // Merge the repeat into the first report.
    let path = format!("/api/v1/problems/{}/transitions", again["id"]);
    let (status, err) =
        server.post_as(Some(&dispatcher), &path, &json!({"action": "merge", "into": 999_999}).to_string());
    assert_eq!((status, err["error"]["code"].as_str()), (422, Some("invalid_transition")), "{name}");
    let (status, merged) =
        server.post_as(Some(&dispatcher), &path, &json!({"action": "merge", "into": first["id"]}).to_string());
    assert_eq!(status, 200, "{name}: {merged}");
    assert_eq!((merged["status"].as_str(), &merged["merged_into"]), (Some("closed"), &first["id"]), "{name}");
    let (status, _) = server.post_as(
        Some(&officer),
        &format!("/api/v1/problems/{}/transitions", from_app["id"]),
        &json!({"action": "merge", "into": first["id"]}).to_string(),
    );
    assert_eq!(status, 403, "{name}: officers do not merge");

    // Near a boundary the alternatives are listed: 5 m inside the grid's east edge.
    let edge = post(&dispatcher, max_x - 5.0 * metre_lon, lat, "E02001");
    let nearby = edge["nearby"].as_array().cloned().unwrap_or_default();
    assert_eq!(nearby[0]["code"], edge["grid_code"], "{name}: the covering grid first, at 0 m");
    assert_eq!(nearby[0]["distance_m"], 0.0, "{name}");
    if let Some(neighbour) = nearby.get(1) {
        assert!((neighbour["distance_m"].as_f64().unwrap_or(0.0) - 5.0).abs() < 0.5, "{name}: {nearby:?}");
    }
    assert!(
        first["nearby"].as_array().is_some_and(|n| n.len() == 1),
        "{name}: the centre of a 190 m cell is far from others"
    );

    // Re-route the first report to another street's grid, with a reason.
    let (_, all) = server.get_as(Some(&dispatcher), "/api/v1/layers/grids?level=grid&bbox=116.42,39.93,116.43,39.94");
    let elsewhere = all["features"]
        .as_array()
        .and_then(|f| f.iter().find(|g| !g["id"].as_str().unwrap_or("").starts_with("110101001")).cloned())
        .expect("another street's grid");
    let route = format!("/api/v1/problems/{}/reroute", first["id"]);
    assert_eq!(
        server.post_as(Some(&dispatcher), &route, &json!({"grid": elsewhere["id"]}).to_string()).0,
        422,
        "{name}: needs a reason"
    );
    assert_eq!(
        server.post_as(Some(&officer), &route, &json!({"grid": elsewhere["id"], "reason": "x"}).to_string()).0,
        403,
        "{name}"
    );
    let (status, moved) = server.post_as(
        Some(&dispatcher),
        &route,
        &json!({"grid": elsewhere["id"], "reason": "位置标错，实为对面社区"}).to_string(),
    );
    assert_eq!(status, 200, "{name}: {moved}");
    assert_eq!(moved["grid_code"], elsewhere["id"], "{name}");
    assert_eq!(moved["responsible_unit"], elsewhere["properties"]["responsible_unit"], "{name}");
    let (_, events) = server.get_as(Some(&dispatcher), &format!("/api/v1/problems/{}/events", first["id"]));
    let last = events["events"].as_array().and_then(|e| e.last().cloned()).expect("event");
    assert_eq!(
        (last["action"].as_str(), last["note"].as_str()),
        (Some("reroute"), Some("位置标错，实为对面社区")),
        "{name}"
    );
    assert_eq!(last["details"]["from_grid"], first["grid_code"], "{name}");
    assert_eq!(
        server.get_as(Some(&officer), &format!("/api/v1/problems/{}", first["id"])).0,
        404,
        "{name}: moved out of the officer's area"
    );
}

#[test]
fn duplicates_are_flagged_merged_and_cases_rerouted_on_both_backends() {
    for backend in Backend::both("duplicates") {
        duplicates_scenario(&backend);
    }
}

#[test]
fn each_city_configures_its_calendar_thresholds_and_duplicate_distance() {
    let dir = common::scratch("city-config");
    let calendar = dir.join("calendar.json");
    // Monday 2026-11-23 declared a holiday; Saturday 2026-11-28 a working weekend (调休).
    std::fs::write(&calendar, r#"{"utc_offset": "+08:00", "day_start": "09:00", "day_end": "17:00", "holidays": ["2026-11-23"], "working_weekends": ["2026-11-28"]}"#)
        .expect("write");
    let url = format!("sqlite://{}", dir.join("g.db").display());
    let cal = calendar.to_string_lossy().to_string();
    let server = Server::start(
        &url,
        &["--demo", "--clock-start", "2026-11-23T10:00:00+08:00", "--calendar", &cal, "--duplicate-metres", "5"],
    );
    let (dispatcher, officer) = (server.token_of("dispatcher"), server.token_of("officer"));
    let (_, mine) = server.get_as(Some(&officer), "/api/v1/layers/grids?level=grid");
    let ring = &mine["features"][0]["geometry"]["coordinates"][0];
    let (lon, lat) = (
        (ring[0][0].as_f64().unwrap_or(0.0) + ring[2][0].as_f64().unwrap_or(0.0)) / 2.0,
        (ring[0][1].as_f64().unwrap_or(0.0) + ring[2][1].as_f64().unwrap_or(0.0)) / 2.0,
    );
    let post = |dlon: f64| {
        let body =
            json!({"lon": lon + dlon, "lat": lat, "category": "E01001", "description": "config", "source": "officer"});
        let (status, p) = server.post_as(Some(&officer), "/api/v1/problems", &body.to_string());
        assert_eq!(status, 201, "{p}");
        p
    };
    let p = post(0.0);
    for action in ["accept", "register", "dispatch"] {
        let path = format!("/api/v1/problems/{}/transitions", p["id"]);
        assert_eq!(server.post_as(Some(&dispatcher), &path, &json!({"action": action}).to_string()).0, 200);
    }
    let (_, p) = server.get_as(Some(&dispatcher), &format!("/api/v1/problems/{}", p["id"]));
    // Dispatched on the holiday: the 4 working hours run Tuesday 09:00–13:00 (05:00 UTC).
    assert_eq!(p["deadline"], "2026-11-24T05:00:00Z");
    // 20 m away is not a duplicate when the city set 5 m.
    let second = post(20.0 / (111_320.0 * lat.to_radians().cos()));
    assert_eq!(second["likely_duplicates"], json!([]));

    let bad = dir.join("bad-calendar.json");
    std::fs::write(&bad, r#"{"holidays": ["23 Nov"]}"#).expect("write");
    let out = std::process::Command::new(common::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--calendar", &bad.to_string_lossy()])
        .env("GRIDWATCH_DATABASE_URL", &url)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = common::text(&out.stderr);
    assert!(stderr.contains("bad-calendar.json") && stderr.contains("holidays"), "{stderr}");
    let out = std::process::Command::new(common::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--blue-share", "1.5"])
        .env("GRIDWATCH_DATABASE_URL", &url)
        .output()
        .expect("runs");
    assert!(!out.status.success() && common::text(&out.stderr).contains("--blue-share"), "thresholds are checked");
}
