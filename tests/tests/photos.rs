//! Photo evidence on cases, on both backends: camera-style JPEGs whose EXIF time, GPS and device
//! are written by a real tool (exiftool), uploaded as multipart forms; the tamper checks (far
//! away, taken before the report, no EXIF, reused by hash or by picture) and their flags; the
//! content-addressed files, thumbnails and downloads; bad uploads; who may see what.

mod common;

use common::camera::{camera_jpeg, camera_jpeg_of, encode, other_scene, scene};
use common::{inside, Backend, Server};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use time::{Duration, OffsetDateTime, UtcOffset};

/// POSTs a multipart form with `file` (and `stage`) to a case; status and JSON answer.
fn upload(server: &Server, token: &str, problem: i64, stage: Option<&str>, name: &str, bytes: &[u8]) -> (u16, Value) {
    let path = format!("/api/v1/problems/{problem}/photos");
    let fields: Vec<(&str, &str)> = stage.map(|s| ("stage", s)).into_iter().collect();
    common::upload_form(server, token, &path, &fields, name, bytes)
}

/// GET answered with bytes: status, media type, body.
fn fetch(server: &Server, token: &str, path: &str) -> (u16, String, Vec<u8>) {
    let response = match ureq::get(&server.url(path)).set("Authorization", &format!("Bearer {token}")).call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path}: {e}"),
    };
    let (status, media) = (response.status(), response.content_type().to_string());
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut body).expect("body");
    (status, media, body)
}

/// Haversine on the mean Earth radius: an independent check of the server's geodesic distance.
fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((b.0 - a.0).to_radians() / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

fn flags(photo: &Value) -> Vec<String> {
    photo["flags"]
        .as_array()
        .map(|f| f.iter().map(|x| x["flag"].as_str().unwrap_or("").to_string()).collect())
        .unwrap_or_default()
}

fn scenario(backend: &Backend) {
    let name = backend.name();
    let media_dir: PathBuf = common::scratch("media");
    let work = common::scratch("photos");
    let server = Server::start(&backend.url(), &["--demo", "--media-dir", media_dir.to_str().expect("utf-8 path")]);
    let (admin, officer) = (server.token_of("admin"), server.token_of("officer"));

    // Two cases: one in the officer's own grid, one in another street's.
    let (_, mine) = server.get_as(Some(&officer), "/api/v1/layers/grids?level=grid");
    let (_, all) = server.get_as(Some(&admin), "/api/v1/layers/grids?level=grid");
    let other_grid = all["features"]
        .as_array()
        .and_then(|f| f.iter().find(|g| !g["id"].as_str().unwrap_or("").starts_with("110101001")).cloned())
        .expect("a grid of another street");
    let report = |lon: f64, lat: f64| {
        let body = format!(
            r#"{{"lon": {lon}, "lat": {lat}, "category": "暴露垃圾", "description": "photos", "source": "officer"}}"#
        );
        let (status, p) = server.post_as(Some(&admin), "/api/v1/problems", &body);
        assert_eq!(status, 201, "{name}: {p}");
        (p["id"].as_i64().expect("id"), lon, lat)
    };
    let (own_lon, own_lat) = inside(&mine["features"][0]);
    let (first, lon, lat) = report(own_lon, own_lat);
    let (other_lon, other_lat) = inside(&other_grid);
    let (second, _, _) = report(other_lon, other_lat);
    let now = OffsetDateTime::now_utc();

    // A genuine after-photo: 20 m away, taken after the report, with its device.
    let near = (lon + 20.0 / 85_000.0, lat);
    let genuine = camera_jpeg(&work, "genuine.jpg", now + Duration::minutes(2), near.0, near.1);
    let (status, photo) = upload(&server, &officer, first, Some("verification"), "IMG_0001.jpg", &genuine);
    assert_eq!(status, 201, "{name}: {photo}");
    assert_eq!(flags(&photo), Vec::<String>::new(), "{name}: a genuine photo has no flag: {photo}");
    assert_eq!(photo["exif"]["device"], "HUAWEI Mate 60", "{name}");
    assert!((photo["exif"]["lon"].as_f64().unwrap_or(0.0) - near.0).abs() < 1e-6, "{name}: GPS read back: {photo}");
    assert_eq!(photo["stage"], "verification", "{name}");
    assert_eq!(photo["filename"], "IMG_0001.jpg", "{name}");
    let sha = hex::encode(Sha256::digest(&genuine));
    assert_eq!(photo["sha256"], sha, "{name}: addressed by the SHA-256 of the bytes sent");
    // The same file again on the same case: the first upload, not a second one.
    let (status, again) = upload(&server, &officer, first, Some("verification"), "copy.jpg", &genuine);
    assert_eq!((status, &again["id"]), (200, &photo["id"]), "{name}");

    // Stored as sent, under its hash; a thumbnail beside it; both downloadable.
    let stored = media_dir.join(&sha[..2]).join(&sha);
    assert_eq!(std::fs::read(&stored).expect("stored original"), genuine, "{name}: the original is never modified");
    let (status, media, body) = fetch(&server, &officer, &format!("/api/v1/photos/{sha}"));
    assert_eq!((status, media.as_str()), (200, "image/jpeg"), "{name}");
    assert_eq!(hex::encode(Sha256::digest(&body)), sha, "{name}: download round trip");
    let (status, media, body) = fetch(&server, &officer, &format!("/api/v1/photos/{sha}?size=thumb"));
    assert_eq!((status, media.as_str()), (200, "image/jpeg"), "{name}");
    let thumb = image::load_from_memory(&body).expect("thumbnail decodes");
    assert_eq!((thumb.width(), thumb.height()), (320, 240), "{name}: thumbnail size");
    assert!(media_dir.join(&sha[..2]).join(format!("{sha}.thumb.jpg")).exists(), "{name}");

    // Far away: 1 km east. The distance the server gives agrees with an independent formula.
    let far = (lon + 1000.0 / 85_000.0, lat);
    let jpeg = camera_jpeg(&work, "far.jpg", now + Duration::minutes(3), far.0, far.1);
    let (status, photo) = upload(&server, &officer, first, Some("verification"), "far.jpg", &jpeg);
    assert_eq!((status, flags(&photo)), (201, vec!["far_away".to_string()]), "{name}: {photo}");
    let distance = photo["flags"][0]["distance_m"].as_f64().unwrap_or(0.0);
    let expected = haversine_m((lon, lat), far);
    assert!((distance - expected).abs() / expected < 0.005, "{name}: {distance} m against {expected} m");
    assert_eq!(photo["flags"][0]["limit_m"], 100.0, "{name}");

    // Too early: an "after" photo taken the day before the report. As a report photo it is fine.
    let early = camera_jpeg(&work, "early.jpg", now - Duration::days(1), lon, lat);
    let (status, photo) = upload(&server, &officer, first, Some("verification"), "early.jpg", &early);
    assert_eq!((status, flags(&photo)), (201, vec!["taken_before_report".to_string()]), "{name}: {photo}");
    let (status, photo) = upload(&server, &admin, second, Some("report"), "early.jpg", &early);
    assert_eq!(status, 201, "{name}");
    assert!(!flags(&photo).contains(&"taken_before_report".to_string()), "{name}: {photo}");

    // No EXIF at all (a screenshot, a chat-app copy).
    let bare = encode(&scene(true), image::ImageFormat::Jpeg);
    let (status, photo) = upload(&server, &officer, first, None, "bare.jpg", &bare);
    assert_eq!((status, flags(&photo)), (201, vec!["no_exif".to_string()]), "{name}: {photo}");
    assert_eq!(photo["stage"], "report", "{name}: report is the default stage");

    // Reused: the genuine photo's very bytes on another case, and the same picture re-encoded.
    let (status, photo) = upload(&server, &admin, second, Some("verification"), "reuse.jpg", &genuine);
    assert_eq!(status, 201, "{name}");
    assert!(
        photo["flags"].as_array().is_some_and(|f| f
            .iter()
            .any(|x| x["flag"] == "reused" && x["problem_id"] == first && x["identical"] == true)),
        "{name}: {photo}"
    );
    let png = encode(&scene(false), image::ImageFormat::Png);
    let (status, photo) = upload(&server, &admin, second, None, "same-scene.png", &png);
    assert_eq!(status, 201, "{name}");
    assert!(
        photo["flags"].as_array().is_some_and(|f| f.iter().any(|x| x["flag"] == "reused" && x["identical"] == false)),
        "{name}: the same picture re-encoded is found by its perceptual hash: {photo}"
    );

    // The case's photos, flags included, for the dispatcher.
    let (status, list) =
        server.get_as(Some(&server.token_of("dispatcher")), &format!("/api/v1/problems/{first}/photos"));
    assert_eq!(status, 200, "{name}: {list}");
    let listed: Vec<Vec<String>> = list["photos"].as_array().map(|p| p.iter().map(flags).collect()).unwrap_or_default();
    assert_eq!(
        listed,
        vec![
            vec![],
            vec!["far_away".to_string()],
            vec!["taken_before_report".to_string()],
            vec!["no_exif".to_string()]
        ],
        "{name}"
    );

    // Verifying the case on its flagged after-photos needs an explicit override with a reason,
    // and the override is kept in the case's history and the audit log.
    let transition = |body: &str| server.post_as(Some(&admin), &format!("/api/v1/problems/{first}/transitions"), body);
    assert_eq!(transition(r#"{"action": "self_handle", "note": "cleaned"}"#).0, 200, "{name}");
    let (status, body) = transition(r#"{"action": "verify"}"#);
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("flagged_evidence")), "{name}: {body}");
    let shown: Vec<Vec<String>> =
        body["error"]["details"]["photos"].as_array().map(|p| p.iter().map(flags).collect()).unwrap_or_default();
    assert_eq!(
        shown,
        vec![vec!["far_away".to_string()], vec!["taken_before_report".to_string()]],
        "{name}: the after-photos at fault"
    );
    let (status, body) = transition(r#"{"action": "verify", "override_flags": true}"#);
    assert_eq!(
        (status, body["error"]["details"]["fields"][0]["field"].as_str()),
        (422, Some("note")),
        "{name}: {body}"
    );
    let (status, body) = transition(
        r#"{"action": "verify", "override_flags": true, "note": "GPS drift in the hutong; checked on site"}"#,
    );
    assert_eq!((status, body["status"].as_str()), (200, Some("verified")), "{name}: {body}");
    let (_, events) = server.get_as(Some(&admin), &format!("/api/v1/problems/{first}/events"));
    let verify = events["events"]
        .as_array()
        .and_then(|e| e.iter().find(|x| x["action"] == "verify").cloned())
        .expect("verify step");
    assert_eq!(verify["details"]["overridden_photos"].as_array().map(Vec::len), Some(2), "{name}: {verify}");
    if let Backend::Postgres(db) = backend {
        let audit = db.sql(&format!(
            "SELECT actor, details FROM audit_log WHERE action = 'photo.override' AND object = 'problem/{first}'"
        ));
        assert!(audit.starts_with("demo-admin|") && audit.contains("GPS drift"), "{name}: {audit}");
    }

    // On-site photos of an assessment point (测评点位实景), per criterion of its checklist.
    let (_, points) = server.get_as(Some(&officer), "/api/v1/points?limit=10000");
    let point = points["features"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|p| {
                    p["geometry"]["type"] == "Point"
                        && p["properties"]["criteria"].as_array().is_some_and(|c| c.len() >= 2)
                })
                .cloned()
        })
        .expect("a demo point with a checklist in the officer's area");
    let code = point["properties"]["code"].as_str().expect("code").to_string();
    let criteria: Vec<String> = point["properties"]["criteria"]
        .as_array()
        .map(|c| c.iter().filter_map(|x| x["id"].as_str().map(String::from)).collect())
        .unwrap_or_default();
    let (plon, plat) = (
        point["geometry"]["coordinates"][0].as_f64().expect("lon"),
        point["geometry"]["coordinates"][1].as_f64().expect("lat"),
    );
    let on_site = camera_jpeg_of(&other_scene(1), &work, "site.jpg", now, plon + 10.0 / 85_000.0, plat);
    let point_upload = |criterion: &str, name: &str, bytes: &[u8]| {
        let form: Vec<(&str, &str)> = if criterion.is_empty() { vec![] } else { vec![("criterion", criterion)] };
        common::upload_form(&server, &officer, &format!("/api/v1/points/{code}/photos"), &form, name, bytes)
    };
    let (status, site) = point_upload(&criteria[0], "site.jpg", &on_site);
    assert_eq!((status, flags(&site)), (201, vec![]), "{name}: an on-site photo 10 m from the point: {site}");
    assert_eq!(
        (site["point_code"].as_str(), site["criterion"].as_str()),
        (Some(code.as_str()), Some(criteria[0].as_str()))
    );
    let far_site = camera_jpeg_of(&other_scene(2), &work, "far-site.jpg", now, plon + 2000.0 / 85_000.0, plat);
    let (status, far) = point_upload(&criteria[1], "far-site.jpg", &far_site);
    assert_eq!((status, flags(&far)), (201, vec!["far_away".to_string()]), "{name}: {far}");
    // The case's after-photo offered as the point's photo: found as reused from the case.
    let (status, reused) = point_upload("", "again.jpg", &genuine);
    assert_eq!(status, 201, "{name}: {reused}");
    assert!(
        reused["flags"].as_array().is_some_and(|f| f
            .iter()
            .any(|x| x["flag"] == "reused" && x["problem_id"] == first && x["identical"] == true)),
        "{name}: {reused}"
    );
    let (status, body) = point_upload("no-such-criterion", "x.jpg", &on_site);
    assert_eq!((status, body["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("criterion")), "{name}");
    assert_eq!(
        common::upload_form(
            &server,
            &server.token_of("app"),
            &format!("/api/v1/points/{code}/photos"),
            &[],
            "x.jpg",
            &on_site
        )
        .0,
        403
    );
    // Who may: an officer only at points of their own area (others look absent), a dispatcher not at all.
    let (_, every) = server.get_as(Some(&admin), "/api/v1/points?limit=10000");
    let mine: Vec<&Value> =
        points["features"].as_array().map(|f| f.iter().map(|p| &p["properties"]["code"]).collect()).unwrap_or_default();
    let elsewhere = every["features"]
        .as_array()
        .and_then(|f| f.iter().map(|p| &p["properties"]["code"]).find(|c| !mine.contains(c)).and_then(Value::as_str))
        .expect("a point of another street")
        .to_string();
    let path = format!("/api/v1/points/{elsewhere}/photos");
    assert_eq!(common::upload_form(&server, &officer, &path, &[], "x.jpg", &on_site).0, 404, "{name}");
    assert_eq!(server.get_as(Some(&officer), &path).0, 404, "{name}");
    let dispatcher = server.token_of("dispatcher");
    assert_eq!(
        common::upload_form(&server, &dispatcher, &format!("/api/v1/points/{code}/photos"), &[], "x.jpg", &on_site).0,
        403
    );
    let (status, listed) = server.get_as(Some(&officer), &format!("/api/v1/points/{code}/photos"));
    assert_eq!((status, listed["photos"].as_array().map(Vec::len)), (200, Some(3)), "{name}: {listed}");
    let site_sha = hex::encode(Sha256::digest(&on_site));
    let (status, _, bytes) = fetch(&server, &officer, &format!("/api/v1/photos/{site_sha}"));
    assert_eq!((status, bytes == on_site), (200, true), "{name}: a point photo downloads");
    // And an inspection of the point this week: its results go into the archive beside the photos.
    let results: Vec<Value> = criteria.iter().map(|c| serde_json::json!({"criterion": c, "pass": true})).collect();
    let (status, inspected) = server.post_as(
        Some(&officer),
        "/api/v1/inspections",
        &serde_json::json!({"point": code, "results": results}).to_string(),
    );
    assert_eq!(status, 201, "{name}: {inspected}");
    // A photo taken at that inspection: tied to it, and listed among its photos.
    let inspection = inspected["inspection"]["id"].as_i64().expect("inspection id").to_string();
    let at_inspection = camera_jpeg_of(&other_scene(3), &work, "at-inspection.jpg", now, plon, plat);
    let path = format!("/api/v1/points/{code}/photos");
    let form = |id: &str| {
        let fields = [("inspection", id), ("criterion", criteria[0].as_str())];
        common::upload_form(&server, &officer, &path, &fields, "at-inspection.jpg", &at_inspection)
    };
    let (status, tied) = form(&inspection);
    assert_eq!((status, tied["inspection"].as_i64()), (201, inspection.parse().ok()), "{name}: {tied}");
    let (_, week) = server.get_as(Some(&officer), &format!("/api/v1/inspections?point={code}"));
    let listed_at = week["inspections"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["id"].as_i64() == inspection.parse().ok()).cloned());
    let url = format!("/api/v1/photos/{}", hex::encode(Sha256::digest(&at_inspection)));
    assert_eq!(listed_at.map(|i| i["photos"].clone()), Some(serde_json::json!([url])), "{name}");
    assert_eq!(form("999999").0, 422, "{name}: an inspection of another point, or none");

    // Closing needs the override too; then the period's evidence archive holds the case.
    let (status, body) =
        transition(r#"{"action": "close", "override_flags": true, "note": "checked on site by the street office"}"#);
    assert_eq!((status, body["status"].as_str()), (200, Some("closed")), "{name}: {body}");
    let today = now.to_offset(UtcOffset::from_hms(8, 0, 0).expect("offset")).date();
    let period = format!("/api/v1/evidence/archive?from={today}&to={today}");
    assert_eq!(fetch(&server, &officer, &period).0, 403, "{name}: officers do not export archives");
    let (status, media, zip_bytes) = fetch(&server, &server.token_of("office"), &period);
    assert_eq!((status, media.as_str()), (200, "application/zip"), "{name}");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("a ZIP");
    let names: Vec<String> = zip.file_names().filter_map(Result::ok).map(|n| n.to_string()).collect();
    let read = |zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str| {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_name(name).expect(name), &mut out).expect("read");
        out
    };
    let html = String::from_utf8(read(&mut zip, "index.html")).expect("utf-8");
    assert!(
        html.contains(&format!("<td>{first}</td>")) && html.contains("far_away") && html.contains("暴露垃圾"),
        "{name}: {html}"
    );
    let after: Vec<&String> = names.iter().filter(|n| n.contains(&format!("/{first}/verification-"))).collect();
    assert_eq!(after.len(), 3, "{name}: the case's three after-photos: {names:?}");
    let genuine_path = after.iter().find(|n| n.ends_with("verification-1.jpg")).expect("the first after-photo");
    assert_eq!(hex::encode(Sha256::digest(read(&mut zip, genuine_path))), sha, "{name}: photos archived as sent");
    // Per criterion of the point: its best photo (the one that passed), the far one flagged.
    assert!(html.contains("测评点位实景") && html.contains(&code), "{name}: the points' part");
    let folder = names
        .iter()
        .find(|n| n.starts_with("points/") && n.contains(&format!("/{code}/{}-", criteria[0])))
        .expect("the criterion's photo");
    assert_eq!(read(&mut zip, folder), on_site, "{name}: point photos archived as sent");
    assert!(names.iter().any(|n| n.contains(&format!("/{code}/whole-"))), "{name}: the whole-point photo: {names:?}");
    assert!(html.contains("1 次 · 不达标 0"), "{name}: the inspection result per criterion");
    let xlsx = read(&mut zip, "index.xlsx");
    assert!(xlsx.starts_with(b"PK"), "{name}: the XLSX index is there");
    assert!(!names.iter().any(|n| n.contains(&format!("/{second}/"))), "{name}: open cases are not in the archive");
    // The day before holds none of today's closings (the store filters by closing time).
    let yesterday = today.previous_day().expect("a day before");
    let (status, _, earlier) =
        fetch(&server, &admin, &format!("/api/v1/evidence/archive?from={yesterday}&to={yesterday}"));
    let earlier = zip::ZipArchive::new(std::io::Cursor::new(earlier)).expect("a ZIP");
    let inside: Vec<String> = earlier.file_names().filter_map(Result::ok).map(|n| n.to_string()).collect();
    assert_eq!(status, 200, "{name}");
    assert!(!inside.iter().any(|n| n.contains(&format!("/{first}/"))), "{name}: {inside:?}");
    let (status, body) = server.get_as(Some(&admin), "/api/v1/evidence/archive?from=2026-12-31&to=2026-01-01");
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_parameter")), "{name}: {body}");

    // Bad uploads: clear errors, nothing stored.
    let before = std::fs::read_dir(&media_dir).map(|d| d.count()).unwrap_or(0);
    let (status, body) = upload(&server, &officer, first, None, "a.gif", b"GIF89a\x01\x00\x01\x00");
    assert_eq!((status, body["error"]["code"].as_str()), (415, Some("unsupported_file")), "{name}");
    let (status, body) = upload(&server, &officer, first, None, "half.png", &png[..png.len() / 2]);
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("unsupported_file")), "{name}: {body}");
    let (status, body) = upload(&server, &officer, first, Some("afterwards"), "x.jpg", &genuine);
    assert_eq!((status, body["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("stage")), "{name}");
    let (status, body) = server.post_as(Some(&officer), &format!("/api/v1/problems/{first}/photos"), "{}");
    assert_eq!((status, body["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{name}");
    let huge = vec![0xFFu8; 21 * 1024 * 1024];
    let (status, body) = upload(&server, &officer, first, None, "huge.jpg", &huge);
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "{name}: {body}");
    assert_eq!(std::fs::read_dir(&media_dir).map(|d| d.count()).unwrap_or(0), before, "{name}: nothing half-written");

    // Who may see what: the officer cannot reach the other street's case or its files.
    assert_eq!(upload(&server, &officer, second, None, "x.jpg", &bare).0, 404, "{name}");
    assert_eq!(server.get_as(Some(&officer), &format!("/api/v1/problems/{second}/photos")).0, 404, "{name}");
    let png_sha = hex::encode(Sha256::digest(&png));
    assert_eq!(fetch(&server, &officer, &format!("/api/v1/photos/{png_sha}")).0, 404, "{name}");
    assert_eq!(fetch(&server, &admin, &format!("/api/v1/photos/{png_sha}")).0, 200, "{name}");
    assert_eq!(fetch(&server, &admin, "/api/v1/photos/..%2F..%2Fetc%2Fpasswd").0, 404, "{name}");
    assert_eq!(server.get_as(None, &format!("/api/v1/problems/{first}/photos")).0, 401, "{name}");
    let app = server.token_of("app");
    let (status, _) = upload(&server, &app, first, Some("verification"), "x.jpg", &bare);
    assert!(status == 403 || status == 404, "{name}: an app attaches no verification photo ({status})");
    let _ = std::fs::remove_dir_all(media_dir);
    let _ = std::fs::remove_dir_all(work);
}

#[test]
fn photos_are_stored_checked_and_served_on_both_backends() {
    for backend in Backend::both("photos") {
        scenario(&backend);
    }
}

/// A real S3-compatible server (s3s-fs, which checks every request's Signature V4 and keeps each
/// object as a file; scripts/test.sh installs it) on a free port, serving the folder `root`.
struct S3Server {
    child: std::process::Child,
    port: u16,
}

impl S3Server {
    const ACCESS_KEY: &'static str = "gridwatch-test";
    const SECRET_KEY: &'static str = "a-secret-for-the-test-bucket";

    fn start(root: &Path) -> Self {
        let binary = std::env::var_os("GRIDWATCH_S3S_FS")
            .map(PathBuf::from)
            .unwrap_or_else(|| common::workspace().join("target/tools/bin/s3s-fs"));
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", Self::ACCESS_KEY, "--secret-key", Self::SECRET_KEY])
            .arg(root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} runs (scripts/test.sh installs s3s-fs): {e}", binary.display()));
        assert!(
            common::eventually(30, || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()),
            "s3s-fs listens on {port}"
        );
        Self { child, port }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn photos_round_trip_through_an_s3_compatible_bucket() {
    let root = common::scratch("s3");
    std::fs::create_dir_all(root.join("evidence")).expect("the bucket (a folder to s3s-fs)");
    let s3 = S3Server::start(&root);
    let work = common::scratch("s3-photos");
    let db = |name: &str| format!("sqlite://{}", work.join(name).display());
    let bucket = format!("http://127.0.0.1:{}/evidence/city-a", s3.port);
    let serve = |name: &str, secret: &str| {
        let keys = [("GRIDWATCH_S3_ACCESS_KEY", S3Server::ACCESS_KEY), ("GRIDWATCH_S3_SECRET_KEY", secret)];
        Server::start_with_env(&db(name), &["--demo", "--media-s3", &bucket], &keys)
    };
    let server = serve("s3.db", S3Server::SECRET_KEY);
    let (admin, officer) = (server.token_of("admin"), server.token_of("officer"));
    let (_, mine) = server.get_as(Some(&officer), "/api/v1/layers/grids?level=grid");
    let (lon, lat) = inside(&mine["features"][0]);
    let body =
        format!(r#"{{"lon": {lon}, "lat": {lat}, "category": "暴露垃圾", "description": "s3", "source": "officer"}}"#);
    let (status, case) = server.post_as(Some(&admin), "/api/v1/problems", &body);
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_i64().expect("id");

    let jpeg = camera_jpeg(&work, "s3.jpg", OffsetDateTime::now_utc(), lon, lat);
    let sha = hex::encode(Sha256::digest(&jpeg));
    let (status, photo) = upload(&server, &officer, id, None, "s3.jpg", &jpeg);
    assert_eq!((status, flags(&photo)), (201, vec![]), "{photo}");
    // In the bucket under its name, as sent, with the thumbnail beside it (s3s-fs keeps each
    // object as the file bucket/key).
    let object = root.join("evidence/city-a").join(&sha[..2]).join(&sha);
    assert_eq!(std::fs::read(&object).expect("the object in the bucket"), jpeg, "the original, unmodified");
    let thumb_object = root.join("evidence/city-a").join(&sha[..2]).join(format!("{sha}.thumb.jpg"));
    assert!(thumb_object.exists(), "the thumbnail in the bucket");

    // Downloads come back from the bucket.
    let (status, media, bytes) = fetch(&server, &officer, &format!("/api/v1/photos/{sha}"));
    assert_eq!((status, media.as_str(), bytes == jpeg), (200, "image/jpeg", true));
    let (status, _, bytes) = fetch(&server, &officer, &format!("/api/v1/photos/{sha}?size=thumb"));
    let thumb = image::load_from_memory(&bytes).expect("thumbnail decodes");
    assert_eq!((status, thumb.width(), thumb.height()), (200, 320, 240));
    // The same file on another case is stored once; the bucket refuses nothing it already has.
    let (status, other) = server.post_as(Some(&admin), "/api/v1/problems", &body.replace("\"s3\"", "\"s3 again\""));
    assert_eq!(status, 201);
    let (status, _) = upload(&server, &admin, other["id"].as_i64().expect("id"), None, "copy.jpg", &jpeg);
    assert_eq!(status, 201);
    let objects = std::fs::read_dir(root.join("evidence/city-a").join(&sha[..2])).expect("prefix folder").count();
    assert_eq!(objects, 2, "one original and one thumbnail");

    // A HEIC photo (an iPhone's default) of the same scene on a third case: kept as sent, with a
    // JPEG made from it and a thumbnail beside it; its EXIF is read, and the perceptual hash
    // knows it for the JPEG's picture.
    let heic = common::camera::camera_heic(&work, "IMG_0002.heic", OffsetDateTime::now_utc(), lon, lat);
    assert_eq!(&heic[4..12], b"ftypheic", "a real HEIC file");
    let (status, third) = server.post_as(Some(&admin), "/api/v1/problems", &body.replace("\"s3\"", "\"heic\""));
    assert_eq!(status, 201);
    let (status, photo) = upload(&server, &officer, third["id"].as_i64().expect("id"), None, "IMG_0002.HEIC", &heic);
    assert_eq!((status, photo["media"].as_str()), (201, Some("heic")), "{photo}");
    assert_eq!(photo["exif"]["device"], "HUAWEI Mate 60", "{photo}");
    assert!((photo["exif"]["lat"].as_f64().unwrap_or(0.0) - lat).abs() < 1e-6, "{photo}");
    assert!(
        photo["flags"].as_array().is_some_and(|f| f
            .iter()
            .any(|x| x["flag"] == "reused" && x["problem_id"] == id && x["identical"] == false)),
        "the same picture as HEIC is found: {photo}"
    );
    let heic_sha = hex::encode(Sha256::digest(&heic));
    let folder = root.join("evidence/city-a").join(&heic_sha[..2]);
    assert_eq!(std::fs::read(folder.join(&heic_sha)).expect("HEIC original in the bucket"), heic);
    assert!(folder.join(format!("{heic_sha}.jpg")).exists() && folder.join(format!("{heic_sha}.thumb.jpg")).exists());
    let (status, media, bytes) = fetch(&server, &officer, &format!("/api/v1/photos/{heic_sha}"));
    assert_eq!((status, media.as_str(), bytes == heic), (200, "image/heic", true), "the original as sent");
    let (status, media, bytes) = fetch(&server, &officer, &format!("/api/v1/photos/{heic_sha}?size=jpeg"));
    assert_eq!((status, media.as_str()), (200, "image/jpeg"));
    let picture = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).expect("a JPEG");
    assert_eq!((picture.width(), picture.height()), (800, 600));
    assert_eq!(photo["jpeg_url"], format!("/api/v1/photos/{heic_sha}?size=jpeg"));
    drop(server);

    // A wrong secret: the bucket refuses the signature, the upload fails cleanly and nothing is kept.
    let server = serve("wrong.db", "not-the-secret");
    let officer = server.token_of("officer");
    let (status, case) = server.post_as(Some(&server.token_of("admin")), "/api/v1/problems", &body);
    assert_eq!(status, 201);
    let id = case["id"].as_i64().expect("id");
    let other = encode(&scene(true), image::ImageFormat::Png);
    let (status, answer) = upload(&server, &officer, id, None, "refused.png", &other);
    assert_eq!((status, answer["error"]["code"].as_str()), (503, Some("storage_unavailable")), "{answer}");
    let (_, list) = server.get_as(Some(&officer), &format!("/api/v1/problems/{id}/photos"));
    assert_eq!(list["photos"], serde_json::json!([]), "no row without its file");
    let _ = std::fs::remove_dir_all(root);
}
