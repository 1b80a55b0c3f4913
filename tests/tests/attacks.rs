//! The holes found by attacking the demo (issue 20), attacked again on both backends: each one
//! must hold. One scenario per backend covers the HTTP API; connection limits, links behind a
//! proxy and the sweep of crashed uploads run on their own servers.

mod common;

use common::{gridwatch, inside, text, upload_form, upload_form_with, Backend, Server};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A grid of the demo whose code starts with `prefix` (level grid), and a point inside it.
fn grid_in(server: &Server, prefix: &str) -> (String, f64, f64) {
    let (_, all) = server.get("/api/v1/layers/grids?level=grid");
    let grid = all["features"]
        .as_array()
        .and_then(|f| f.iter().find(|g| g["id"].as_str().unwrap_or("").starts_with(prefix)).cloned())
        .unwrap_or_else(|| panic!("a demo grid under {prefix}"));
    let (lon, lat) = inside(&grid);
    (grid["id"].as_str().unwrap_or_default().to_string(), lon, lat)
}

fn report(lon: f64, lat: f64, source: &str, description: &str) -> String {
    json!({"lon": lon, "lat": lat, "category": "暴露垃圾", "description": description, "source": source}).to_string()
}

/// The crc32 PNG chunks carry (ISO 3309), bit by bit.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A tiny PNG whose header declares `width` × `height` pixels (a decompression bomb's header).
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        let mut typed = kind.to_vec();
        typed.extend_from_slice(data);
        c.extend_from_slice(&typed);
        c.extend_from_slice(&crc32(&typed).to_be_bytes());
        c
    };
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grey, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &header));
    // A stored zlib block of zeros: what a bomb's compressed rows start like.
    png.extend(chunk(b"IDAT", &[0x78, 0x01, 0x01, 0x04, 0x00, 0xFB, 0xFF, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x01]));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// A raw request's answer: status and headers (lower-case names) and body.
fn raw_get(
    server: &Server,
    token: Option<&str>,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut request = ureq::get(&server.url(path));
    if let Some(t) = token {
        request = request.set("Authorization", &format!("Bearer {t}"));
    }
    for (k, v) in headers {
        request = request.set(k, v);
    }
    let response = match request.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path}: {e}"),
    };
    let status = response.status();
    let names = response.headers_names();
    let headers = names.iter().map(|n| (n.to_lowercase(), response.header(n).unwrap_or("").to_string())).collect();
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body).expect("body");
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn scenario(backend: &Backend) {
    let name = backend.name();
    let url = backend.url();
    let server = Server::start(&url, &["--demo"]);
    let admin = server.token_of("admin");
    let officer = server.token_of("officer");
    let app = server.token_of("app");
    let (_, own_lon, own_lat) = grid_in(&server, "110101001001");
    let (other_grid, other_lon, other_lat) = grid_in(&server, "110101002");

    // 1. Open311 publishes only what a citizen app's key filed, and never its text.
    let (status, claimed) = server.post_as(Some(&officer), "/api/v1/problems", &report(own_lon, own_lat, "app", "x"));
    assert_eq!(status, 422, "{name}: staff cannot claim source app: {claimed}");
    assert_eq!(claimed["error"]["details"]["fields"][0]["field"], "source", "{name}");
    let secret = "王先生 13800138000";
    let (status, filed) = server.post_as(Some(&app), "/api/v1/problems", &report(own_lon, own_lat, "citizen", secret));
    assert_eq!((status, filed["source"].as_str()), (201, Some("app")), "{name}: {filed}");
    let (status, _, body) = raw_get(&server, None, &format!("/open311/v2/requests/{}.json", filed["id"]), &[]);
    let published: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(status, 200, "{name}: an app's report is public on Open311");
    assert!(published[0]["description"].is_null() && !text(&body).contains("13800138000"), "{name}: {published}");
    let (_, _, listing) = raw_get(&server, None, "/open311/v2/requests.json", &[]);
    assert!(!text(&listing).contains("13800138000"), "{name}: the list leaves the text out too");
    let (_, staff) = server.post_as(Some(&officer), "/api/v1/problems", &report(own_lon, own_lat, "officer", "内部"));
    let (status, _, _) = raw_get(&server, None, &format!("/open311/v2/requests/{}.json", staff["id"]), &[]);
    assert_eq!(status, 404, "{name}: a staff report is not published");
    let form = format!("api_key={admin}&service_code=E01001&lat={own_lat}&long={own_lon}&description=x");
    let posted = ureq::post(&server.url("/open311/v2/requests.json"))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(&form);
    assert!(matches!(posted, Err(ureq::Error::Status(403, _))), "{name}: Open311 takes only an app's key");

    // 2. A decompression bomb is refused from its header, quickly.
    let bomb = png_declaring(20_000, 20_000);
    let started = Instant::now();
    let (status, refused) =
        upload_form(&server, &app, &format!("/api/v1/problems/{}/photos", filed["id"]), &[], "bomb.png", &bomb);
    assert_eq!((status, refused["error"]["code"].as_str()), (413, Some("image_too_large")), "{name}: {refused}");
    assert!(started.elapsed() < Duration::from_secs(1), "{name}: refused in {:?}", started.elapsed());

    // 3. Office writes keep to the office's area.
    let street_office = common::user_with_token(&url, "office-dongsi", &["--role", "office", "--scope", "110101002"]);
    let own_office = common::user_with_token(&url, "office-donghuamen", &["--role", "office", "--scope", "110101001"]);
    let far_officer = common::user_with_token(&url, "officer-dongsi", &["--role", "officer", "--scope", &other_grid]);
    let (_, points) = server.get("/api/v1/points");
    let point = points["features"]
        .as_array()
        .and_then(|f| {
            f.iter().find(|p| p["properties"]["grid_code"].as_str().unwrap_or("").starts_with("110101001")).cloned()
        })
        .expect("a demo point in the first street");
    let code = point["id"].as_str().unwrap_or_default().to_string();
    let moved = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [other_lon, other_lat]},
        "properties": {"name": "moved", "type": "back_street"}})
    .to_string();
    let path = format!("/api/v1/points/{code}");
    assert_eq!(
        server.send_as("PUT", Some(&street_office), &path, Some(&moved)).0,
        404,
        "{name}: PUT another street's point"
    );
    assert_eq!(
        server.send_as("DELETE", Some(&street_office), &path, None).0,
        404,
        "{name}: DELETE another street's point"
    );
    let (status, kept) = server.get(&path);
    assert_eq!(
        (status, &kept["geometry"], &kept["properties"]["criteria"]),
        (200, &point["geometry"], &point["properties"]["criteria"]),
        "{name}: the point is untouched"
    );
    let new_point = |at: (f64, f64)| {
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [at.0, at.1]},
            "properties": {"code": "ATTACK-P", "name": "新点位", "type": "back_street"}})
        .to_string()
    };
    assert_eq!(
        server.post_as(Some(&own_office), "/api/v1/points", &new_point((other_lon, other_lat))).0,
        403,
        "{name}: a point placed outside"
    );
    assert_eq!(
        server.post_as(Some(&own_office), "/api/v1/points", &new_point((own_lon, own_lat))).0,
        201,
        "{name}: a point placed inside"
    );
    let (_, routes) = server.get("/api/v1/routes");
    let route_id = routes["features"][0]["id"].as_i64().expect("the demo officer's route");
    let route_path = format!("/api/v1/routes/{route_id}");
    let line = json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[own_lon, own_lat], [own_lon + 0.001, own_lat]]},
        "properties": {"officer": "demo-officer", "weekday": 1}})
    .to_string();
    assert_eq!(
        server.send_as("DELETE", Some(&street_office), &route_path, None).0,
        404,
        "{name}: DELETE another street's route"
    );
    assert_eq!(
        server.send_as("PUT", Some(&street_office), &route_path, Some(&line)).0,
        404,
        "{name}: PUT another street's route"
    );
    assert_eq!(
        server.post_as(Some(&street_office), "/api/v1/routes", &line).0,
        403,
        "{name}: a route for another street's officer"
    );
    assert_eq!(
        server.send_as("PUT", Some(&own_office), &route_path, Some(&line)).0,
        200,
        "{name}: the street's own office may"
    );
    let track = |officer: &str, t: i64| {
        json!({"officer": officer, "fixes": [{"time": t, "lon": own_lon, "lat": own_lat, "accuracy": 5}]}).to_string()
    };
    let t = now_unix() - 60;
    assert_eq!(
        server.post_as(Some(&street_office), "/api/v1/tracks", &track("demo-officer", t)).0,
        403,
        "{name}: tracks for another street's officer"
    );
    assert_eq!(
        server.post_as(Some(&own_office), "/api/v1/tracks", &track("demo-officer", t)).0,
        201,
        "{name}: tracks for the street's own officer"
    );
    assert_eq!(
        server.post_as(Some(&far_officer), "/api/v1/tracks", &track("demo-officer", t)).0,
        403,
        "{name}: an officer for another"
    );

    // 17. GPS fixes dated in the future are refused.
    let (status, future) =
        server.post_as(Some(&officer), "/api/v1/tracks", &track("demo-officer", now_unix() + 86_400));
    assert_eq!(
        (status, future["error"]["details"]["fields"][0]["field"].as_str()),
        (422, Some("fixes[0].time")),
        "{name}: {future}"
    );

    // 7. CSV exports neutralise formulas a user typed.
    let (_, case) = server.post_as(Some(&admin), "/api/v1/problems", &report(own_lon, own_lat, "hotline", "csv"));
    let transitions = format!("/api/v1/problems/{}/transitions", case["id"]);
    for step in [
        json!({"action": "accept"}),
        json!({"action": "confirm"}), // a hotline call is confirmed on site (核实) first
        json!({"action": "register"}),
        json!({"action": "dispatch", "unit": "=HYPERLINK(\"http://evil.example\",\"点我\")"}),
    ] {
        let (status, moved) = server.post_as(Some(&admin), &transitions, &step.to_string());
        assert_eq!(status, 200, "{name}: {step}: {moved}");
    }
    let (status, _, csv) = raw_get(&server, Some(&admin), "/api/v1/reports/weekly?by=unit&format=csv", &[]);
    let csv = text(&csv);
    assert_eq!(status, 200, "{name}");
    assert!(csv.contains("'=HYPERLINK"), "{name}: the unit is in the bulletin, as text:\n{csv}");
    assert!(
        !csv.lines().any(|l| l.split(',').any(|cell| cell.trim_matches('"').starts_with('='))),
        "{name}: no cell starts a formula:\n{csv}"
    );

    // 9. Racing changes of one case: exactly the winners are logged, the log never disagrees.
    for round in 0..4 {
        let (_, case) = server.post_as(Some(&admin), "/api/v1/problems", &report(own_lon, own_lat, "hotline", "race"));
        let id = case["id"].as_i64().expect("id");
        let targets = [grid_in(&server, "110101003").0, grid_in(&server, "110101004").0];
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let results: Vec<u16> = std::thread::scope(|s| {
            let runs: Vec<_> = targets
                .iter()
                .map(|target| {
                    let (barrier, admin, server) = (barrier.clone(), &admin, &server);
                    s.spawn(move || {
                        barrier.wait();
                        let body = json!({"grid": target, "reason": "race"}).to_string();
                        server.post_as(Some(admin), &format!("/api/v1/problems/{id}/reroute"), &body).0
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().expect("thread")).collect()
        });
        assert!(
            results.iter().all(|s| [200, 409].contains(s)) && results.contains(&200),
            "{name} round {round}: {results:?}"
        );
        let (_, events) = server.get(&format!("/api/v1/problems/{id}/events"));
        let reroutes: Vec<&Value> = events["events"]
            .as_array()
            .map(|e| e.iter().filter(|e| e["action"] == "reroute").collect())
            .unwrap_or_default();
        assert_eq!(
            reroutes.len(),
            results.iter().filter(|s| **s == 200).count(),
            "{name} round {round}: one step per winner"
        );
        let mut grid = case["grid_code"].clone();
        for step in &reroutes {
            assert_eq!(
                step["details"]["from_grid"], grid,
                "{name} round {round}: each step starts where the last ended"
            );
            grid = step["details"]["to_grid"].clone();
        }
        let (_, now) = server.get(&format!("/api/v1/problems/{id}"));
        assert_eq!(now["grid_code"], grid, "{name} round {round}: the row agrees with the log");
    }

    // 10. An inspection of a point crossing several grids opens its case inside the inspector's area.
    let (far_grid, far_lon, far_lat) = grid_in(&server, "110101002");
    let crossing = json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[own_lon, own_lat], [far_lon, far_lat]]},
        "properties": {"name": "跨网格街巷", "type": "back_street", "criteria": [{"id": "c1", "text": "路面平整"}]}})
    .to_string();
    assert_eq!(server.send_as("PUT", Some(&admin), "/api/v1/points/ATTACK-LINE", Some(&crossing)).0, 201, "{name}");
    let inspection =
        json!({"point": "ATTACK-LINE", "results": [{"criterion": "c1", "pass": false, "note": "坑洼"}]}).to_string();
    let (status, inspected) = server.post_as(Some(&officer), "/api/v1/inspections", &inspection);
    assert_eq!(status, 201, "{name}: {inspected}");
    let opened = &inspected["problems"][0];
    assert!(
        opened["grid_code"].as_str().is_some_and(|g| g.starts_with("110101001001")),
        "{name}: routed inside: {opened} (not {far_grid})"
    );
    assert_eq!(
        server.get_as(Some(&officer), &format!("/api/v1/problems/{}", opened["id"])).0,
        200,
        "{name}: the inspector can follow it"
    );

    // 11. A reused picture names only cases the uploader may see.
    let picture = common::camera::encode(&common::camera::other_scene(7), image::ImageFormat::Jpeg);
    let (_, hidden) =
        server.post_as(Some(&admin), "/api/v1/problems", &report(other_lon, other_lat, "hotline", "hidden"));
    let hidden_id = hidden["id"].as_i64().expect("id");
    assert_eq!(
        upload_form(&server, &admin, &format!("/api/v1/problems/{hidden_id}/photos"), &[], "a.jpg", &picture).0,
        201
    );
    let (_, mine) = server.post_as(Some(&officer), "/api/v1/problems", &report(own_lon, own_lat, "officer", "mine"));
    let (status, shown) =
        upload_form(&server, &officer, &format!("/api/v1/problems/{}/photos", mine["id"]), &[], "b.jpg", &picture);
    assert_eq!(status, 201, "{name}: {shown}");
    let reused: Vec<&Value> =
        shown["flags"].as_array().map(|f| f.iter().filter(|f| f["flag"] == "reused").collect()).unwrap_or_default();
    assert!(
        !reused.is_empty() && reused.iter().all(|f| f.get("problem_id").is_none()),
        "{name}: flagged, unnamed: {shown}"
    );
    let (_, as_admin) = server.get(&format!("/api/v1/problems/{}/photos", mine["id"]));
    assert!(
        as_admin["photos"][0]["flags"].as_array().is_some_and(|f| f.iter().any(|f| f["problem_id"] == hidden_id)),
        "{name}: the admin sees which: {as_admin}"
    );

    // 5. An impossible EXIF position is a flag of its own (and no way around the distance check).
    let scratch = common::scratch("attack-exif");
    for (i, lat) in [1000.0, 90.0001].into_iter().enumerate() {
        let taken = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
        let forged = common::camera::camera_jpeg(&scratch, &format!("forged-{i}.jpg"), taken, own_lon, lat);
        let (status, shown) = upload_form(
            &server,
            &officer,
            &format!("/api/v1/problems/{}/photos", mine["id"]),
            &[("stage", "report")],
            "f.jpg",
            &forged,
        );
        let flags: Vec<&str> = shown["flags"]
            .as_array()
            .map(|f| f.iter().filter_map(|f| f["flag"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(status, 201, "{name}: {shown}");
        assert!(flags.contains(&"impossible_position"), "{name}: latitude {lat}: {flags:?} ({})", shown["exif"]);
    }

    // The 404 of an upload to a case outside the area comes after the body: the client reads it.
    let big = vec![0u8; 4 * 1024 * 1024];
    let (status, _) =
        upload_form(&server, &officer, &format!("/api/v1/problems/{hidden_id}/photos"), &[], "big.jpg", &big);
    assert_eq!(status, 404, "{name}: another area's case looks absent, and the answer arrives");

    // 12. A NUL in any filter is a 400 (PostgreSQL text holds none).
    for filter in ["grid", "unit", "department", "category"] {
        let (status, refused) = server.get(&format!("/api/v1/problems?{filter}=a%00b"));
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (400, Some("invalid_parameter")),
            "{name}: {filter}: {refused}"
        );
    }

    // 13. A forged Host never reaches a link.
    let (_, _, landing) = raw_get(&server, None, "/", &[("Host", "evil.example/\"><script>")]);
    let landing = text(&landing);
    assert!(landing.contains("http://localhost/collections") && !landing.contains("evil"), "{name}: {landing}");

    // 14. One Idempotency-Key, another body: 422, nothing written; the same body: the first answer.
    let key = ("Idempotency-Key", "attack-key-1");
    let send = |body: &str| {
        let r = ureq::post(&server.url("/api/v1/tracks"))
            .set("Authorization", &format!("Bearer {officer}"))
            .set("Content-Type", "application/json")
            .set(key.0, key.1)
            .send_string(body);
        match r {
            Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.header("idempotent-replayed").map(String::from)),
            Err(e) => panic!("{e}"),
        }
    };
    let first = track("demo-officer", now_unix() - 30);
    assert_eq!(send(&first).0, 201, "{name}");
    assert_eq!(send(&track("demo-officer", now_unix() - 20)).0, 422, "{name}: another track under the same key");
    assert_eq!(send(&first), (201, Some("true".to_string())), "{name}: the same track again is replayed");
    let keyed = |description: &str| {
        let r = ureq::post(&server.url("/api/v1/problems"))
            .set("Authorization", &format!("Bearer {officer}"))
            .set("Content-Type", "application/json")
            .set("Idempotency-Key", "attack-report-1")
            .send_string(&report(own_lon, own_lat, "officer", description));
        match r {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r.status(),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(keyed("第一次"), 201, "{name}");
    assert_eq!(keyed("另一件事"), 422, "{name}: another report under the same key");
    // A photo retried with a new multipart boundary is the same request (a phone's outbox).
    let photo_path = format!("/api/v1/problems/{}/photos", mine["id"]);
    let other = common::camera::encode(&common::camera::other_scene(8), image::ImageFormat::Jpeg);
    let keyed_photo = [("Idempotency-Key", "attack-photo-1")];
    assert_eq!(upload_form_with(&server, &officer, &photo_path, &[], "c.jpg", &other, &keyed_photo).0, 201, "{name}");
    assert_eq!(
        upload_form_with(&server, &officer, &photo_path, &[], "c.jpg", &other, &keyed_photo).0,
        201,
        "{name}: replayed"
    );
    assert_eq!(
        upload_form_with(&server, &officer, &photo_path, &[], "c.jpg", &picture, &keyed_photo).0,
        422,
        "{name}: another photo"
    );

    // 6. Slow uploads hold no lock anyone else needs.
    let slow: Vec<TcpStream> = (0..100)
        .map(|i| {
            let mut s = TcpStream::connect(server.base.trim_start_matches("http://")).expect("connect");
            let head = format!(
                "POST /api/v1/tracks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {officer}\r\nContent-Type: application/json\r\n\
                 Idempotency-Key: slow-{i}\r\nContent-Length: 100000\r\n\r\n{{\"fixes\": ["
            );
            s.write_all(head.as_bytes()).expect("send");
            s
        })
        .collect();
    let started = Instant::now();
    let r = ureq::post(&server.url("/api/v1/tracks"))
        .set("Authorization", &format!("Bearer {officer}"))
        .set("Content-Type", "application/json")
        .set("Idempotency-Key", "fast-1")
        .send_string(&track("demo-officer", now_unix() - 10));
    assert_eq!(r.map(|r| r.status()).unwrap_or(0), 201, "{name}");
    assert!(started.elapsed() < Duration::from_secs(2), "{name}: waited {:?} behind slow uploads", started.elapsed());
    drop(slow);

    // 16. Headers: no framing, no sniffing, no caching of private answers; the map's policy.
    let (_, headers, _) = raw_get(&server, None, "/map/", &[]);
    let policy = header(&headers, "content-security-policy").unwrap_or("");
    assert!(policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self'"), "{name}: {policy}");
    assert_eq!(header(&headers, "x-frame-options"), Some("DENY"), "{name}");
    assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"), "{name}");
    assert_eq!(header(&headers, "referrer-policy"), Some("no-referrer"), "{name}");
    let (_, headers, _) = raw_get(&server, Some(&officer), "/api/v1/problems", &[]);
    assert_eq!(header(&headers, "cache-control"), Some("no-store"), "{name}: private JSON");
    assert_eq!(raw_get(&server, None, "/map/config.json", &[]).0, 401, "{name}: the basemap key needs a sign-in");
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
    let (status, document) = upload_form(&server, &officer, &photo_path, &[], "notice.pdf", pdf);
    assert_eq!(status, 201, "{name}: {document}");
    let (status, headers, _) = raw_get(&server, Some(&officer), document["url"].as_str().unwrap_or(""), &[]);
    assert_eq!(status, 200, "{name}");
    assert!(
        header(&headers, "content-disposition").is_some_and(|d| d.starts_with("attachment")),
        "{name}: {headers:?}"
    );

    // 4. A revoked token's live stream ends within the re-check; streams per user are capped.
    let watcher = common::user_with_token(&url, "watcher", &["--role", "dispatcher", "--scope", "110101"]);
    let stream = ureq::get(&server.url("/api/v1/problems/stream"))
        .set("Authorization", &format!("Bearer {watcher}"))
        .timeout(Duration::from_secs(20))
        .call()
        .expect("stream opens");
    let out = gridwatch(&["user", "revoke", "watcher"], Some(&url));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let revoked = Instant::now();
    let mut lines = BufReader::new(stream.into_reader()).lines();
    let ended = lines.any(|l| l.is_ok_and(|l| l.contains("event: revoked")));
    assert!(
        ended && revoked.elapsed() < Duration::from_secs(5),
        "{name}: stream ended {:?} after the revocation",
        revoked.elapsed()
    );
    let held: Vec<ureq::Response> = (0..8)
        .map(|_| {
            ureq::get(&server.url("/api/v1/escalations/stream"))
                .set("Authorization", &format!("Bearer {officer}"))
                .call()
                .expect("one of eight streams")
        })
        .collect();
    let ninth =
        ureq::get(&server.url("/api/v1/problems/stream")).set("Authorization", &format!("Bearer {officer}")).call();
    assert!(matches!(ninth, Err(ureq::Error::Status(429, _))), "{name}: a ninth stream is refused");
    drop(held);
}

#[test]
fn the_holes_found_by_attacking_the_demo_stay_closed_on_both_backends() {
    for backend in Backend::both("attacks") {
        scenario(&backend);
    }
}

/// Reads from `stream` until the server closes it; how long that took.
fn closed_within(mut stream: TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).expect("timeout");
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(started.elapsed()),
            Err(_) => return None, // still open when the limit passed
        }
    }
}

#[test]
fn connections_are_bounded_and_links_follow_the_public_url() {
    let dir = common::scratch("connections");
    let url = format!("sqlite://{}", dir.join("g.db").display());
    let server = Server::start(
        &url,
        &[
            "--demo",
            "--header-read-timeout-seconds",
            "2",
            "--max-connections-per-ip",
            "4",
            "--public-url",
            "https://grid.example.cn/",
        ],
    );
    let address = server.base.trim_start_matches("http://").to_string();

    // 8. A client trickling header lines is closed after the header-read time.
    let mut trickle = TcpStream::connect(&address).expect("connect");
    trickle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").expect("send");
    let writer = trickle.try_clone().expect("clone");
    let dripping = std::thread::spawn(move || {
        let mut writer = writer;
        for i in 0..10 {
            std::thread::sleep(Duration::from_millis(500));
            if writer.write_all(format!("X-Drip-{i}: 1\r\n").as_bytes()).is_err() {
                break;
            }
        }
    });
    let took = closed_within(trickle, Duration::from_secs(8));
    assert!(took.is_some_and(|t| t < Duration::from_secs(4)), "a trickling client was held {took:?}");
    let _ = dripping.join();

    // An idle kept-alive connection is closed too.
    let mut idle = TcpStream::connect(&address).expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let mut answer = BufReader::new(idle.try_clone().expect("clone"));
    let mut status = String::new();
    answer.read_line(&mut status).expect("status line");
    assert!(status.contains("200"), "{status}");
    let took = closed_within(idle, Duration::from_secs(8));
    assert!(took.is_some_and(|t| t < Duration::from_secs(4)), "an idle connection was kept {took:?}");

    // More connections from one address than allowed: the extra one is closed at once.
    let held: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(&address).expect("connect")).collect();
    std::thread::sleep(Duration::from_millis(200));
    let extra = TcpStream::connect(&address).expect("the listener accepts");
    let took = closed_within(extra, Duration::from_secs(1));
    assert!(took.is_some(), "a fifth connection from one address stays open");
    drop(held);
    assert!(
        common::eventually(5, || ureq::get(&server.url("/healthz")).call().is_ok()),
        "connections are accepted again once the others closed"
    );

    // A refusal waits for the (small) body: answering first and closing would reset a client
    // still sending it, which then sees a broken connection instead of the 401.
    let mut early = TcpStream::connect(&address).expect("connect");
    let body = r#"{"lon": 116.41, "lat": 39.93, "category": "暴露垃圾", "description": "x", "source": "officer"}"#;
    let head = format!(
        "POST /api/v1/problems HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    early.write_all(head.as_bytes()).expect("headers");
    early.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    let mut first = [0u8; 1];
    assert!(early.read(&mut first).is_err(), "no answer before the body arrived");
    early.write_all(body.as_bytes()).expect("body");
    early.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut status = String::new();
    BufReader::new(early).read_line(&mut status).expect("the answer arrives");
    assert!(status.contains(" 401 "), "{status}");

    // A body far over the limit is answered 413 while the client is still sending it: the server
    // reads on and discards the rest after answering, instead of closing on unread bytes (a reset
    // that reached the client as "broken pipe" whenever it was slower than the answer).
    let huge = format!(r#"{{"description": "{}"}}"#, "x".repeat(4 << 20));
    for attempt in 0..8 {
        let (status, body) = server.post_json("/api/v1/problems", &huge);
        assert_eq!((status, &body["error"]["code"]), (413, &json!("payload_too_large")), "attempt {attempt}");
    }
    // The unread rest of that body is in the way of a next request, so the answer says the
    // connection closes: a client does not send its next request into a closing connection.
    let token = format!("Bearer {}", server.token_of("admin"));
    let request = ureq::post(&server.url("/api/v1/problems")).set("Authorization", &token);
    let refused = match request.set("Content-Type", "application/json").send_string(&huge) {
        Err(ureq::Error::Status(413, r)) => r,
        other => panic!("a refused body: {other:?}"),
    };
    assert_eq!(refused.header("connection"), Some("close"));
    let (status, headers, _) = raw_get(&server, None, "/healthz", &[]);
    assert_eq!((status, header(&headers, "connection")), (200, None), "an answer with nothing left unread keeps it");

    // 13. Every link is built on --public-url, whatever Host says.
    let (_, _, landing) = raw_get(&server, None, "/", &[("Host", "evil.example")]);
    let landing = text(&landing);
    assert!(landing.contains("https://grid.example.cn/collections") && !landing.contains("evil"), "{landing}");
    let (_, _, discovery) = raw_get(&server, None, "/open311/v2/discovery.json", &[("Host", "evil.example")]);
    assert!(text(&discovery).contains("https://grid.example.cn/open311/v2"), "{}", text(&discovery));
}

#[test]
fn uploads_half_written_by_a_killed_server_are_swept_at_start() {
    // 15. A temporary upload file older than an hour is a crash's leftover; a young one may be
    // another node's upload in progress.
    let dir = common::scratch("sweep");
    let media = dir.join("media");
    let shard = media.join("ab");
    std::fs::create_dir_all(&shard).expect("shard");
    std::fs::write(shard.join(".upload-crashed"), b"half a photo").expect("leftover");
    std::fs::write(shard.join(".upload-young"), b"in progress").expect("young");
    let touched = std::process::Command::new("touch")
        .args(["-d", "2 hours ago"])
        .arg(shard.join(".upload-crashed"))
        .status()
        .expect("touch runs");
    assert!(touched.success());
    let url = format!("sqlite://{}", dir.join("g.db").display());
    let media_flag = media.display().to_string();
    let _server = Server::start(&url, &["--media-dir", &media_flag]);
    assert!(!shard.join(".upload-crashed").exists(), "the crash's leftover is removed");
    assert!(shard.join(".upload-young").exists(), "a young temporary file is left alone");
}
