//! The OpenAPI 3.1 document served at `GET /api/v1/openapi.json`, generated from the code.
//!
//! An endpoint whose handler carries `#[utoipa::path]` is routed through [`documented`]: its
//! operation is collected from the handler's request and response types as it is routed, so it
//! cannot be served undocumented, nor documented differently from what it answers. The endpoints
//! not yet moved over are described in `api/openapi.json`; [`document`] merges the two, and a
//! path may be in only one of them (the tests fail otherwise, and when a routed path is missing).

use super::{auth, cases, locate, tasks, ApiContext};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The hand-written part of the document: the endpoints not yet generated.
pub const HAND_WRITTEN: &str = include_str!("../../openapi.json");

/// The endpoints documented by their types, routed with their documentation.
pub fn documented() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::reset_password))
        .routes(routes!(auth::me))
        .routes(routes!(tasks::list))
        .routes(routes!(cases::events))
        .routes(routes!(cases::categories))
        .routes(routes!(locate::locate))
        .routes(routes!(super::health))
}

/// Why the two parts of the document do not fit together.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("api/openapi.json is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0} is described both by the code and in api/openapi.json")]
    Twice(String),
}

/// The whole document: `generated` (from [`documented`]) merged into the hand-written part.
pub fn document(generated: &utoipa::openapi::OpenApi) -> Result<String, MergeError> {
    let mut doc: Value = serde_json::from_str(HAND_WRITTEN)?;
    let generated = serde_json::to_value(generated)?;
    for (section, what) in [("paths", "path"), ("components", "component")] {
        let Some(from) = generated.get(section).and_then(Value::as_object) else { continue };
        for (name, item) in from {
            match (section, &mut doc[section][name]) {
                // Components (schemas, responses) merge kind by kind.
                ("components", Value::Object(into)) => {
                    for (key, value) in item.as_object().into_iter().flatten() {
                        match into.get(key) {
                            Some(kept) if kept != value => {
                                return Err(MergeError::Twice(format!("{what} {name}/{key}")))
                            }
                            _ => into.insert(key.clone(), value.clone()),
                        };
                    }
                }
                (_, slot @ Value::Null) => *slot = item.clone(),
                _ => return Err(MergeError::Twice(format!("{what} {name}"))),
            }
        }
    }
    Ok(serde_json::to_string_pretty(&doc)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged() -> Value {
        let (_, generated) = documented().split_for_parts();
        serde_json::from_str(&document(&generated).expect("the parts fit")).expect("JSON")
    }

    #[test]
    fn the_generated_and_the_hand_written_parts_fit_together() {
        let doc = merged();
        assert_eq!(doc["openapi"], "3.1.0");
        let tasks = &doc["paths"]["/api/v1/tasks"]["get"];
        assert_eq!(tasks["operationId"], "listTasks");
        // The task kinds come from the type itself: a new kind is documented when it is written.
        let kinds = &doc["components"]["schemas"]["TaskKind"]["enum"];
        assert!(kinds.as_array().is_some_and(|k| k.contains(&Value::from("confirm"))), "{kinds}");
        assert_eq!(doc["components"]["schemas"]["LoginRequest"]["additionalProperties"], false);
        // Every reference points at something that is there.
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/").skip(1).filter_map(|r| r.split('"').next()) {
            let target = reference.split('/').fold(&doc, |node, key| &node[key.replace("~1", "/")]);
            assert!(!target.is_null(), "dangling $ref #/{reference}");
        }
    }

    #[test]
    fn the_openapi_document_names_each_operation_once() {
        // A copied operationId makes clients (and Schemathesis' links) call the wrong endpoint.
        let doc = merged();
        let mut seen = std::collections::BTreeMap::new();
        for (path, operations) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in operations.as_object().expect("operations") {
                if let Some(id) = operation["operationId"].as_str() {
                    if let Some(first) = seen.insert(id.to_string(), format!("{method} {path}")) {
                        panic!("operationId {id} is used by {first} and {method} {path}");
                    }
                }
            }
        }
        assert!(seen.len() > 20, "the document names its operations");
    }

    #[test]
    fn a_path_in_both_parts_is_refused() {
        let mut twice = OpenApiRouter::<ApiContext>::new().routes(routes!(auth::me)).split_for_parts().1;
        twice.paths.paths.insert("/api/v1/points".into(), twice.paths.paths["/api/v1/me"].clone());
        assert!(matches!(document(&twice), Err(MergeError::Twice(p)) if p.contains("/api/v1/points")));
    }

    /// A path template with its parameters unnamed (`/collections/{}/items/{}`): the router names
    /// them `{feature}`, the document `{featureId}`; a tile's `{y}.mvt` is matched as `{y}`.
    fn shape(path: &str) -> String {
        let mut out = String::new();
        for segment in path.split('/').skip(1) {
            out.push('/');
            out.push_str(if segment.starts_with('{') { "{}" } else { segment });
        }
        out
    }

    /// The web map's page and files: HTML and JavaScript for browsers, not the API.
    const NOT_API: [&str; 4] = ["/map", "/map/", "/map/config.json", "/map/{file}"];

    #[test]
    fn every_routed_path_is_documented_and_every_documented_path_is_routed() {
        // The router as written (`http::router`), and the endpoints routed with their documentation.
        let source = include_str!("mod.rs");
        let mut routed: std::collections::BTreeSet<String> = source
            .split(".route(")
            .skip(1)
            .filter_map(|call| call.trim_start().strip_prefix('"')?.split('"').next())
            .filter(|path| !NOT_API.contains(path))
            .map(shape)
            .collect();
        assert!(routed.len() > 30, "the router's paths are read: {routed:?}");
        let (_, generated) = documented().split_for_parts();
        routed.extend(generated.paths.paths.keys().map(|p| shape(p)));
        let doc = merged();
        let documented: std::collections::BTreeSet<String> =
            doc["paths"].as_object().expect("paths").keys().map(|p| shape(p)).collect();
        let missing: Vec<&String> = routed.difference(&documented).collect();
        assert!(missing.is_empty(), "routed but not in the OpenAPI document: {missing:?}");
        let unrouted: Vec<&String> = documented.difference(&routed).collect();
        assert!(unrouted.is_empty(), "in the OpenAPI document but not routed: {unrouted:?}");
    }
}
