//! Open311 GeoReport v2: a real client (the `georeport` package from PyPI, with `requests` for
//! the POST it lacks) lists services, posts a request and reads it back; every response is
//! checked against the GeoReport v2 field definitions.

mod common;

use common::{text, Server};
use serde_json::Value;
use std::process::Command;

const CLIENT: &str = r#"
import json, sys, requests
from georeport import GeoReport
base, key, lon, lat = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
client = GeoReport(base, api_key=key)
services = client.get_service_list()
definition = client.get_service_definition("E01001")
posted = requests.post(f"{base}/requests.json", data={
    "api_key": key, "service_code": "E01001", "lat": lat, "long": lon,
    "description": "公园门口暴露垃圾", "email": "citizen@example.org"})
posted.raise_for_status()
sid = posted.json()[0]["service_request_id"]
one = client.get_service_request(sid)
many = client.get_service_requests(status="open", service_code="E01001")
refused = requests.post(f"{base}/requests.json", data={"api_key": "wrong", "service_code": "E01001", "lat": lat, "long": lon})
print(json.dumps({"services": services, "definition": definition, "posted": posted.json(), "status": posted.status_code,
                  "one": one, "many": many, "refused": refused.json(), "refused_status": refused.status_code}))
"#;

fn has(object: &Value, fields: &[&str], what: &str) {
    for f in fields {
        assert!(object.get(*f).is_some(), "{what} lacks the GeoReport v2 field {f}: {object}");
    }
}

#[test]
fn an_open311_client_lists_services_posts_and_reads_back() {
    let dir = common::scratch("open311");
    let server = Server::start(&format!("sqlite://{}", dir.join("g.db").display()), &["--demo"]);
    let base = server.url("/open311/v2");
    let python = std::env::var("GRIDWATCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .args(["-c", CLIENT, &base, &server.token_of("app"), "116.4105", "39.9305"])
        .output()
        .expect("python runs (scripts/test.sh installs georeport)");
    assert!(out.status.success(), "client failed: {}", text(&out.stderr));
    let r: Value = serde_json::from_str(&text(&out.stdout)).expect("client output");

    let services = r["services"].as_array().expect("services");
    assert!(services.len() >= 15);
    for s in services {
        has(s, &["service_code", "service_name", "description", "metadata", "type", "keywords", "group"], "service");
        assert!(
            s["metadata"].is_boolean() && ["realtime", "batch", "blackbox"].contains(&s["type"].as_str().unwrap_or(""))
        );
    }
    assert_eq!(r["definition"]["service_code"], "E01001");
    assert!(r["definition"]["attributes"].is_array());

    assert_eq!(r["status"], 201);
    has(&r["posted"][0], &["service_request_id", "service_notice", "account_id"], "POST response");
    let sid = r["posted"][0]["service_request_id"].as_str().expect("id as a string").to_string();

    let one = &r["one"];
    has(
        one,
        &[
            "service_request_id",
            "status",
            "status_notes",
            "service_name",
            "service_code",
            "description",
            "agency_responsible",
            "service_notice",
            "requested_datetime",
            "updated_datetime",
            "expected_datetime",
            "address",
            "address_id",
            "zipcode",
            "lat",
            "long",
            "media_url",
        ],
        "service request",
    );
    assert_eq!(one["service_request_id"], sid.as_str());
    assert_eq!((one["status"].as_str(), one["service_code"].as_str()), (Some("open"), Some("E01001")));
    assert_eq!(one["agency_responsible"], "环境卫生服务中心");
    assert!(
        (one["long"].as_f64().unwrap_or(0.0) - 116.4105).abs() < 1e-9
            && (one["lat"].as_f64().unwrap_or(0.0) - 39.9305).abs() < 1e-9
    );
    assert!(one["requested_datetime"].as_str().is_some_and(|t| t.contains('T')), "w3 datetimes");
    assert!(r["many"].as_array().expect("list").iter().any(|x| x["service_request_id"] == sid.as_str()));
    assert!(!text(&out.stdout).contains("citizen@example.org"), "no personal data is published");

    // Errors come as [{code, description}].
    assert_eq!(r["refused_status"], 403);
    has(&r["refused"][0], &["code", "description"], "error");

    // Internal reports (officers, inspections) are not published through Open311.
    let (_, internal) = server.post_json(
        "/api/v1/problems",
        r#"{"lon": 116.41, "lat": 39.93, "category": "E01001", "description": "内部", "source": "undercover"}"#,
    );
    let path = format!("/open311/v2/requests/{}.json", internal["id"]);
    let hidden = ureq::get(&server.url(&path)).call();
    assert!(matches!(hidden, Err(ureq::Error::Status(404, _))), "an internal report is not public");

    // The request joins the workflow like any other: the dispatcher sees it with its source.
    let (_, seen) = server.get_as(Some(&server.token_of("dispatcher")), &format!("/api/v1/problems/{sid}"));
    assert_eq!((seen["source"].as_str(), seen["reported_by"].as_str()), (Some("app"), Some("demo-app")));
}

/// Reads the same requests as JSON and as XML (Python's own XML parser: well-formed or it fails)
/// and prints what each carries, for the test to compare.
const XML_CLIENT: &str = r#"
import json, sys, urllib.request
import xml.etree.ElementTree as ET
base = sys.argv[1]
def get(path):
    with urllib.request.urlopen(base + path) as r:
        return r.headers.get("Content-Type"), r.read()
kind, body = get("/requests.xml?jurisdiction_id=110101")
root = ET.fromstring(body)
as_xml = [{child.tag: (child.text or "") for child in request} for request in root.findall("request")]
as_json = json.loads(get("/requests.json")[1])
services_xml = ET.fromstring(get("/services.xml")[1])
definition = ET.fromstring(get("/services/C01001.xml")[1])
discovery = ET.fromstring(get("/discovery.xml")[1])
print(json.dumps({"kind": kind, "root": root.tag, "xml": as_xml, "json": as_json,
    "service_codes_xml": [s.findtext("service_code") for s in services_xml.findall("service")],
    "service_codes_json": [s["service_code"] for s in json.loads(get("/services.json")[1])],
    "attributes": [a.findtext("code") for a in definition.find("attributes").findall("attribute")],
    "formats": [f.text for f in discovery.iter("format")]}, ensure_ascii=False))
"#;

#[test]
fn open311_speaks_xml_and_carries_addresses_status_notes_attributes_and_its_jurisdiction() {
    use serde_json::json;
    let dir = common::scratch("open311-xml");
    let server =
        Server::start(&format!("sqlite://{}", dir.join("g.db").display()), &["--demo", "--jurisdiction-id", "110101"]);
    let key = server.token_of("app");
    // (status, body) of a form POST.
    let post = |path: &str, form: &[(&str, &str)]| -> (u16, String) {
        let mut all = vec![("api_key", key.as_str()), ("jurisdiction_id", "110101")];
        all.extend_from_slice(form);
        match ureq::post(&server.url(path)).send_form(&all) {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        }
    };
    // By the address alone: the address book places it.
    let (status, answer) = post(
        "/open311/v2/requests.json",
        &[("service_code", "E01001"), ("address_string", "多福巷居委会"), ("description", "门口垃圾")],
    );
    assert_eq!(status, 201, "posted by address: {answer}");
    let posted: Value = serde_json::from_str(&answer).expect("json");
    let by_address = posted[0]["service_request_id"].as_str().expect("id").to_string();
    // A component with its owner (attribute[owner]): routed to the owner first (先属主).
    let (status, xml) = post(
        "/open311/v2/requests.xml",
        &[
            ("service_code", "C01001"),
            ("lat", "39.9305"),
            ("long", "116.4105"),
            ("attribute[owner]", "北京市自来水集团"),
        ],
    );
    assert_eq!(status, 201, "posted, answered in XML: {xml}");
    assert!(xml.starts_with("<?xml") && xml.contains("<service_request_id>"), "{xml}");
    let owned = xml.split("<service_request_id>").nth(1).and_then(|r| r.split('<').next()).expect("id").to_string();
    let dispatcher = server.token_of("dispatcher");
    let (_, seen) = server.get_as(Some(&dispatcher), &format!("/api/v1/problems/{owned}"));
    assert_eq!(seen["responsible_unit"], "北京市自来水集团", "{seen}");
    let (_, committee) = server.get_as(
        Some(&dispatcher),
        "/api/v1/addresses?q=%E5%A4%9A%E7%A6%8F%E5%B7%B7%E5%B1%85%E5%A7%94%E4%BC%9A&limit=1",
    );
    let committee = &committee["addresses"][0];

    // Status notes follow the public steps; the dispatcher's notes stay inside.
    let id: i64 = by_address.parse().expect("number");
    server.act(&dispatcher, id, json!({"action": "accept", "note": "内部备注：王女士家门口"}));
    let (_, one) = server.get(&format!("/open311/v2/requests/{by_address}.json"));
    let one = &one[0];
    assert_eq!(one["address"], "多福巷居委会", "{one}");
    assert_eq!(one["address_id"], committee["id"].to_string().as_str(), "{one}");
    assert!((one["lat"].as_f64().unwrap_or(0.0) - committee["lat"].as_f64().unwrap_or(1.0)).abs() < 1e-9, "{one}");
    assert!(one["status_notes"].as_str().is_some_and(|n| n.contains("已受理")), "{one}");
    assert!(!one.to_string().contains("王女士"), "a dispatcher's note is not published: {one}");

    // XML carries the same requests as JSON, and parses.
    let python = std::env::var("GRIDWATCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python).args(["-c", XML_CLIENT, &server.url("/open311/v2")]).output().expect("python runs");
    assert!(out.status.success(), "the XML did not parse: {}", text(&out.stderr));
    let r: Value = serde_json::from_str(&text(&out.stdout)).expect("client output");
    assert!(r["kind"].as_str().is_some_and(|k| k.starts_with("text/xml")), "{}", r["kind"]);
    assert_eq!(r["root"], "service_requests");
    let (xml, json) = (r["xml"].as_array().expect("xml"), r["json"].as_array().expect("json"));
    assert_eq!(xml.len(), json.len(), "the same requests");
    assert!(json.len() >= 2, "{json:?}");
    for (x, j) in xml.iter().zip(json) {
        for field in [
            "service_request_id",
            "status",
            "status_notes",
            "service_code",
            "address",
            "address_id",
            "requested_datetime",
        ] {
            let expected = match &j[field] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(x[field].as_str(), Some(expected.as_str()), "{field}: {x} vs {j}");
        }
        assert_eq!(x["lat"].as_str().and_then(|v| v.parse::<f64>().ok()), j["lat"].as_f64(), "{x}");
    }
    assert_eq!(r["service_codes_xml"], r["service_codes_json"]);
    assert_eq!(r["attributes"], json!(["owner"]), "components take their owner");
    assert_eq!(r["formats"], json!(["application/json", "text/xml"]));

    // Another jurisdiction is not served here.
    for path in ["/open311/v2/requests.json?jurisdiction_id=310101", "/open311/v2/services.xml?jurisdiction_id=310101"]
    {
        let refused = ureq::get(&server.url(path)).call();
        assert!(matches!(refused, Err(ureq::Error::Status(404, _))), "{path}");
    }
    let (status, refused) =
        post("/open311/v2/requests.json", &[("service_code", "E01001"), ("address_string", "火星基地九号")]);
    assert_eq!(status, 400, "an address the book does not know needs lat and long: {refused}");
}

/// `media_url`: a citizen app's report photo, published because its reporter said so at upload,
/// is a public, unguessable link to a copy without EXIF (no position, time or device); a photo
/// sent without consent, and every other file, stays private. Only the reporter consents, only
/// for a picture sent with the report, only on a case Open311 publishes. Both backends.
#[test]
fn media_url_links_a_published_report_photo_without_its_exif_on_both_backends() {
    use common::Backend;
    use serde_json::json;
    for backend in Backend::both("open311-media") {
        let name = backend.name();
        let server = Server::start(&backend.url(), &["--demo"]);
        let (app, dispatcher, officer) =
            (server.token_of("app"), server.token_of("dispatcher"), server.token_of("officer"));
        let report = |token: &str, source: &str| -> i64 {
            let body = json!({"lon": 116.4105, "lat": 39.9305, "category": "E01001", "description": "路边垃圾", "source": source});
            let (status, created) = server.post_as(Some(token), "/api/v1/problems", &body.to_string());
            assert_eq!(status, 201, "{name}: {created}");
            created["id"].as_i64().expect("id")
        };
        let (agreed, private) = (report(&app, "app"), report(&app, "app"));
        let dir = common::scratch("open311-media-photos");
        let now = time::OffsetDateTime::now_utc();
        let photo = common::camera::camera_jpeg(&dir, "street.jpg", now, 116.4105, 39.9305);
        let upload = |token: &str, id: i64, fields: &[(&str, &str)], bytes: &[u8]| {
            common::upload_form(&server, token, &format!("/api/v1/problems/{id}/photos"), fields, "street.jpg", bytes)
        };
        let (status, shown) = upload(&app, agreed, &[("stage", "report"), ("public", "true")], &photo);
        assert_eq!(status, 201, "{name}: {shown}");
        let path = shown["public_url"].as_str().expect("a public link").to_string();
        let token =
            path.strip_prefix("/open311/v2/media/").and_then(|t| t.strip_suffix(".jpg")).expect("the media path");
        assert!(token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()), "{name}: 256 random bits: {path}");
        assert_ne!(token, shown["sha256"].as_str().unwrap_or(""), "{name}: not the file's hash, which others may know");
        // Sent again with consent: the same link.
        let (status, again) = upload(&app, agreed, &[("public", "true")], &photo);
        assert_eq!((status, again["public_url"].as_str()), (200, Some(path.as_str())), "{name}: {again}");
        let other =
            common::camera::camera_jpeg_of(&common::camera::other_scene(3), &dir, "other.jpg", now, 116.4105, 39.9305);
        let (status, kept) = upload(&app, private, &[("stage", "report")], &other);
        assert_eq!((status, kept["public_url"].clone()), (201, Value::Null), "{name}: {kept}");

        // Open311 carries it (JSON and XML); the other request has none.
        let (_, list) = server.get_as(None, "/open311/v2/requests.json");
        let media_of = |id: i64| {
            list.as_array()
                .and_then(|l| l.iter().find(|r| r["service_request_id"].as_str() == Some(id.to_string().as_str())))
                .map(|r| r["media_url"].clone())
                .expect("listed")
        };
        assert_eq!(media_of(agreed), json!(server.url(&path)), "{name}");
        assert_eq!(media_of(private), Value::Null, "{name}");
        let (_, one) = server.get_as(None, &format!("/open311/v2/requests/{agreed}.json"));
        assert_eq!(one[0]["media_url"], json!(server.url(&path)), "{name}: {one}");
        let xml = ureq::get(&server.url("/open311/v2/requests.xml")).call().expect("xml").into_string().expect("text");
        assert!(xml.contains(&format!("<media_url>{}</media_url>", server.url(&path))), "{name}: {xml}");

        // Anyone opens the link, with no token: a JPEG of the picture, with nothing of the EXIF.
        let response = ureq::get(&server.url(&path)).call().expect("the public photo");
        assert_eq!(response.content_type(), "image/jpeg", "{name}");
        let mut public = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut public).expect("bytes");
        let picture = image::load_from_memory(&public).expect("a picture");
        assert_eq!((picture.width(), picture.height()), (800, 600), "{name}: not enlarged");
        let exif = |bytes: &[u8], file: &str| {
            std::fs::write(dir.join(file), bytes).expect("write");
            let out = Command::new("exiftool").args(["-j", "-n"]).arg(dir.join(file)).output().expect("exiftool runs");
            let tags: Value = serde_json::from_slice(&out.stdout).expect("exiftool JSON");
            tags[0].clone()
        };
        let (sent, seen) = (exif(&photo, "sent.jpg"), exif(&public, "public.jpg"));
        for tag in ["GPSLatitude", "GPSLongitude", "DateTimeOriginal", "Make", "Model"] {
            assert!(!sent[tag].is_null(), "{name}: the photo as sent has {tag}: {sent}");
            assert!(seen[tag].is_null(), "{name}: the public copy has no {tag}: {seen}");
        }

        // What stays private: a guessed token, the file's hash as a token, the original itself.
        let sha = kept["sha256"].as_str().expect("sha256").to_string();
        for guess in [
            format!("{}.jpg", "ab".repeat(32)),
            format!("{sha}.jpg"),
            format!("{token}.png"),
            "..%2F..%2Fetc.jpg".into(),
        ] {
            let (status, _) = server.get_as(None, &format!("/open311/v2/media/{guess}"));
            assert_eq!(status, 404, "{name}: {guess}");
        }
        let (status, _) = server.get_as(None, &format!("/api/v1/photos/{sha}"));
        assert_eq!(status, 401, "{name}");

        // Consent is the reporter's, for a report photo, on a published case.
        let refused = |token: &str, id: i64, fields: &[(&str, &str)], why: &str| {
            let (status, body) = upload(token, id, fields, &photo);
            assert!(matches!(status, 403 | 422), "{name}: {why}: {status} {body}");
            if status == 422 {
                assert!(body["error"]["message"].as_str().unwrap_or("").starts_with("public"), "{name}: {why}: {body}");
            }
        };
        refused(&dispatcher, agreed, &[("public", "true")], "not the reporter");
        refused(&app, agreed, &[("stage", "handling"), ("public", "true")], "not a report photo");
        refused(&app, agreed, &[("public", "yes")], "true or false");
        let (lon, lat) = common::demo_unit_place(&server, &officer);
        let body =
            json!({"lon": lon, "lat": lat, "category": "E01001", "description": "巡查发现", "source": "officer"});
        let (_, own) = server.post_as(Some(&officer), "/api/v1/problems", &body.to_string());
        refused(&officer, own["id"].as_i64().expect("id"), &[("public", "true")], "an officer's case is not published");
    }
}
