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
