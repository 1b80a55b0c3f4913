//! Two API nodes on one PostGIS (issue 24), sharing one simulated clock: a report posted to node
//! A reaches node B's live stream, and B's problem tiles, within 2 s; exactly one node leads the
//! escalation, so a colour change reaches the webhook once, not once per node; killing the
//! leader moves the lead and escalation goes on. And SQLite, which serves one node, refuses a
//! second server on its file.

mod common;

use common::{ogr_values, text, tile_of, PgDatabase, Server};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A webhook receiver that accepts everything and hands each body on.
fn receiver() -> (String, mpsc::Receiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (_, body) = common::read_request(&mut BufReader::new(stream.try_clone().expect("clone")));
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                let _ = tx.send(v);
            }
        }
    });
    (url, rx)
}

/// Subscribes to a node's case stream; each case id it shows is handed on.
fn stream_of(server: &Server, token: &str) -> mpsc::Receiver<i64> {
    let stream = server.open_stream(token, "");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Some(id) = line.strip_prefix("data:").and_then(|d| serde_json::from_str::<Value>(d.trim()).ok()) {
                let _ = tx.send(id["id"].as_i64().unwrap_or(-1));
            }
        }
    });
    rx
}

fn leads(server: &Server) -> bool {
    server.get_as(None, "/healthz").1["escalation_leader"] == true
}

/// Waits up to `seconds` for `check`.
fn within(seconds: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// A case reported in the officer's first grid through `server`, dispatched; its id and place.
fn dispatched(server: &Server, officer: &str, dispatcher: &str, what: &str) -> (i64, f64, f64) {
    let (_, mine) = server.get_as(Some(officer), "/api/v1/layers/grids?level=grid");
    let ring = &mine["features"][0]["geometry"]["coordinates"][0];
    let lon = (ring[0][0].as_f64().unwrap_or(0.0) + ring[2][0].as_f64().unwrap_or(0.0)) / 2.0;
    let lat = (ring[0][1].as_f64().unwrap_or(0.0) + ring[2][1].as_f64().unwrap_or(0.0)) / 2.0;
    let body = json!({"lon": lon, "lat": lat, "category": "E01001", "description": what, "source": "officer"});
    let (status, case) = server.post_as(Some(officer), "/api/v1/problems", &body.to_string());
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_i64().expect("id");
    for action in ["accept", "register", "dispatch"] {
        let path = format!("/api/v1/problems/{id}/transitions");
        assert_eq!(server.post_as(Some(dispatcher), &path, &json!({"action": action}).to_string()).0, 200);
    }
    (id, lon, lat)
}

/// The case ids GDAL decodes from a node's problem tile at `z` around a place.
fn tile_ids(server: &Server, token: &str, lon: f64, lat: f64, z: u32) -> Vec<String> {
    let (x, y) = tile_of(lon, lat, z);
    let tile = server.fetch(Some(token), &format!("/tiles/problems/{z}/{x}/{y}.mvt"), None);
    let file = common::scratch("cluster-tiles")
        .join(format!("{z}-{x}-{y}-{}.mvt", tile.etag.unwrap_or_default().trim_matches('"')));
    std::fs::write(&file, &tile.body).expect("write");
    let out = std::process::Command::new("ogrinfo")
        .args([
            "-ro",
            "-al",
            "-q",
            "-geom=NO",
            "-oo",
            &format!("Z={z}"),
            "-oo",
            &format!("X={x}"),
            "-oo",
            &format!("Y={y}"),
        ])
        .arg(&file)
        .output()
        .expect("ogrinfo runs");
    ogr_values(&text(&out.stdout), "id")
}

#[test]
fn two_nodes_on_one_postgis_share_streams_tiles_and_one_escalation_leader() {
    let db = PgDatabase::fresh();
    let (hook, deliveries) = receiver();
    let anchor = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).expect("now");
    let flags = [
        "--demo",
        "--clock-start",
        "2026-11-23T09:00:00+08:00",
        "--clock-rate",
        "3600",
        "--clock-anchor",
        &anchor,
        "--escalation-seconds",
        "0.2",
        "--webhook-url",
        &hook,
        "--webhook-attempts",
        "1",
        // The periodic index check only as a last resort: the index follows the notifications.
        "--reload-seconds",
        "3600",
    ];
    let a = Server::start(&db.url(), &flags);
    let b = Server::start(&db.url(), &flags);
    let (officer, dispatcher) = (a.token_of("officer"), a.token_of("dispatcher"));

    // One leader of the two.
    assert!(within(10, || leads(&a) != leads(&b)), "exactly one node leads");

    // A report posted to A shows on B's live stream, and in B's tiles, within 2 s.
    let on_b = stream_of(&b, &dispatcher);
    std::thread::sleep(Duration::from_millis(300)); // let the subscription settle
    let posted = Instant::now();
    let (id, lon, lat) = dispatched(&a, &officer, &dispatcher, "cluster: 垃圾堆放");
    let mut seen = false;
    while !seen && posted.elapsed() < Duration::from_secs(2) {
        seen = on_b.recv_timeout(Duration::from_millis(100)).is_ok_and(|shown| shown == id);
    }
    assert!(seen, "node B's stream showed case {id} within 2 s");
    assert!(within(2, || tile_ids(&b, &dispatcher, lon, lat, 17).contains(&id.to_string())), "B's tile shows {id}");

    // A grid imported from a shell (another process) reaches both nodes' index within 2 s.
    let revision = |server: &Server| server.get_as(None, "/healthz").1["grid_revision"].as_i64().unwrap_or(-1);
    let before = revision(&a);
    let grid = common::scratch("cluster-grid").join("grid.geojson");
    let square = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"code": "110101999999001", "name": "测试网格", "responsible_unit": "东华门街道办事处"},
        "geometry": {"type": "Polygon", "coordinates": [[[116.50, 39.99], [116.501, 39.99], [116.501, 39.991], [116.50, 39.991], [116.50, 39.99]]]}}]});
    std::fs::write(&grid, square.to_string()).expect("grid");
    let imported = common::gridwatch(&["import", "grids", &grid.display().to_string()], Some(&db.url()));
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    assert!(within(2, || revision(&a) > before && revision(&b) > before), "both indexes follow the import");

    // Its colour changes (blue near its 4-hour deadline, yellow past it) reach the webhook once
    // each, from the leader alone.
    let mut colours: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while colours.len() < 2 && Instant::now() < deadline {
        if let Ok(change) = deliveries.recv_timeout(Duration::from_millis(200)) {
            if change["problem_id"] == id {
                colours.push(change["to"].as_str().unwrap_or("?").to_string());
            }
        }
    }
    std::thread::sleep(Duration::from_secs(1)); // a duplicate from the other node would be here by now
    colours.extend(deliveries.try_iter().filter(|c| c["problem_id"] == id).map(|c| c["to"].to_string()));
    assert_eq!(colours, ["blue", "yellow"], "each change delivered once");

    // The leader dies; the other takes the lead and escalation goes on.
    let (leader, survivor) = if leads(&a) { (a, b) } else { (b, a) };
    drop(leader);
    let died = Instant::now();
    assert!(within(10, || leads(&survivor)), "the survivor leads");
    assert!(died.elapsed() < Duration::from_secs(5), "took the lead within seconds: {:?}", died.elapsed());
    let (next, _, _) = dispatched(&survivor, &officer, &dispatcher, "cluster: after the leader died");
    let mut blue = false;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !blue && Instant::now() < deadline {
        blue = deliveries
            .recv_timeout(Duration::from_millis(200))
            .is_ok_and(|c| c["problem_id"] == next && c["to"] == "blue");
    }
    assert!(blue, "case {next} turned blue under the new leader");
}

#[test]
fn a_second_server_on_one_sqlite_file_is_refused() {
    let dir = common::scratch("sqlite-single");
    let url = format!("sqlite://{}", dir.join("g.db").display());
    let _first = Server::start(&url, &[]);
    let second = std::process::Command::new(common::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .output()
        .expect("gridwatch runs");
    assert!(!second.status.success(), "refused");
    let said = text(&second.stderr);
    assert!(said.contains("another gridwatch serve") && said.contains("SQLite serves one node"), "{said}");
}
