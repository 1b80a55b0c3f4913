//! The OpenAPI 3.1 document served at `GET /api/v1/openapi.json`, generated from the code.
//!
//! Every endpoint's handler carries `#[utoipa::path]` and is routed through [`documented`]: its
//! operation is collected from the handler's request and response types as it is routed, so it
//! cannot be served undocumented, nor documented differently from what it answers. Three endpoints
//! are routed by hand and documented through [`RoutedByHand`]; a test fails when a routed path is
//! missing from the document.

use super::{
    addresses, assessments, auth, campaigns, cases, coverage, features, hotline, hotspots, idempotency, layers,
    letters, locate, observe, open311, patrols, photos, plans, problems, queue, reports, round_bulletins, rounds,
    tasks, tiles, ApiContext,
};
use axum::middleware;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// The endpoints documented by their types, routed with their documentation (and with the
/// layers some of them need: a body limit, replay of an `Idempotency-Key`).
pub fn documented(ctx: &ApiContext) -> OpenApiRouter<ApiContext> {
    use axum::extract::DefaultBodyLimit;
    // Writes a phone may send twice when its connection drops take an Idempotency-Key; their
    // bodies are read whole (up to the route's limit) before the handler runs.
    let once = |limit: usize| middleware::from_fn_with_state((ctx.clone(), limit), idempotency::replay);
    let patrol_limit = || DefaultBodyLimit::max(patrols::MAX_BODY_BYTES);
    // An upload's form around its file.
    let upload_limit = photos::MAX_UPLOAD_BYTES + 64 * 1024;
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::reset_password))
        .routes(routes!(auth::me))
        .routes(routes!(tasks::list))
        .routes(routes!(queue::list_problems))
        .routes(routes!(problems::create).layer(DefaultBodyLimit::max(problems::MAX_REPORT_BYTES)))
        .routes(routes!(problems::get))
        .routes(routes!(cases::transition).layer(once(super::SMALL_BODY as usize)))
        .routes(routes!(cases::reroute))
        .routes(routes!(cases::events))
        .routes(routes!(cases::problem_stream))
        .routes(routes!(cases::escalation_stream))
        .routes(routes!(cases::categories))
        .routes(routes!(locate::locate))
        .routes(routes!(addresses::search))
        .routes(routes!(addresses::get))
        .routes(routes!(campaigns::create, campaigns::list).layer(DefaultBodyLimit::max(super::SMALL_BODY as usize)))
        .routes(routes!(campaigns::get, campaigns::change).layer(DefaultBodyLimit::max(super::SMALL_BODY as usize)))
        .routes(routes!(campaigns::campaign_report))
        .routes(routes!(hotspots::collection))
        .routes(routes!(hotspots::stubborn))
        .routes(routes!(hotline::receive).layer(DefaultBodyLimit::max(problems::MAX_REPORT_BYTES)))
        .routes(routes!(hotline::get))
        .routes(routes!(hotline::send_back).layer(DefaultBodyLimit::max(super::SMALL_BODY as usize)))
        .routes(routes!(layers::grids))
        .routes(routes!(layers::problems))
        .routes(routes!(coverage::coverage))
        .routes(routes!(coverage::coverage_gaps))
        .routes(routes!(coverage::tiling))
        .routes(routes!(plans::plan))
        .routes(routes!(patrols::list_points))
        .routes(routes!(patrols::create_point).layer(patrol_limit()))
        .routes(routes!(patrols::get_point))
        .routes(routes!(patrols::put_point).layer(patrol_limit()))
        .routes(routes!(patrols::delete_point))
        .routes(routes!(patrols::list_routes))
        .routes(routes!(patrols::create_route).layer(patrol_limit()))
        .routes(routes!(patrols::get_route))
        .routes(routes!(patrols::put_route).layer(patrol_limit()))
        .routes(routes!(patrols::delete_route))
        .routes(routes!(patrols::get_tracks))
        .routes(routes!(patrols::post_track).layer((patrol_limit(), once(patrols::MAX_BODY_BYTES))))
        .routes(routes!(patrols::list_inspections))
        .routes(routes!(patrols::post_inspection).layer((patrol_limit(), once(patrols::MAX_BODY_BYTES))))
        .routes(routes!(reports::weekly))
        .routes(routes!(reports::evaluations))
        .routes(routes!(assessments::list))
        .routes(routes!(assessments::create).layer(DefaultBodyLimit::max(assessments::MAX_BODY_BYTES)))
        .routes(routes!(assessments::get))
        .routes(routes!(assessments::score).layer(DefaultBodyLimit::max(assessments::MAX_BODY_BYTES)))
        .routes(routes!(rounds::list))
        .routes(routes!(rounds::create))
        .routes(routes!(rounds::get))
        .routes(routes!(rounds::add_finding))
        .routes(routes!(rounds::publish_round))
        .routes(routes!(rounds::ledger))
        .routes(routes!(round_bulletins::bulletin))
        .routes(routes!(round_bulletins::period_bulletin))
        .routes(routes!(rounds::set_foreword))
        .routes(routes!(rounds::findings_from_assessment))
        .routes(routes!(letters::list))
        .routes(routes!(letters::create))
        .routes(routes!(letters::get))
        .routes(routes!(letters::sign))
        .routes(routes!(letters::answer))
        .routes(routes!(photos::list))
        .routes(routes!(photos::upload).layer((DefaultBodyLimit::max(upload_limit), once(upload_limit))))
        .routes(routes!(photos::point_list))
        .routes(routes!(photos::upload_to_point).layer((DefaultBodyLimit::max(upload_limit), once(upload_limit))))
        .routes(routes!(photos::download))
        .routes(routes!(photos::archive))
        .routes(routes!(photos::flagged))
        .routes(routes!(open311::discovery))
        .routes(routes!(open311::discovery_xml))
        .routes(routes!(open311::services))
        .routes(routes!(open311::services_xml))
        .routes(routes!(open311::service_definition))
        .routes(routes!(open311::get_requests))
        .routes(routes!(open311::post_request).layer(DefaultBodyLimit::max(problems::MAX_REPORT_BYTES)))
        .routes(routes!(open311::get_requests_xml))
        .routes(routes!(open311::post_request_xml).layer(DefaultBodyLimit::max(problems::MAX_REPORT_BYTES)))
        .routes(routes!(open311::get_request))
        .routes(routes!(open311::media))
        .routes(routes!(features::landing))
        .routes(routes!(features::conformance))
        .routes(routes!(features::collections))
        .routes(routes!(features::collection))
        .routes(routes!(features::items))
        .routes(routes!(features::item))
        .routes(routes!(super::health))
        .routes(routes!(observe::ready))
        .routes(routes!(observe::metrics))
}

/// What the document says of itself, and the endpoints documented by their types but routed in
/// `http::router` by hand: a tile's path (layers and hot spots) ends in `{y}.mvt` and a TileJSON's in `{layer}.json`,
/// which the router cannot match as written, and this document is made from the others.
#[derive(OpenApi)]
#[openapi(
    info(title = "gridwatch API",
        description = "Responsibility grids (网格), problem intake, the case workflow, patrols and layers. Every endpoint but /healthz, this document, the OGC landing pages and Open311 needs a bearer token; see docs/security.md."),
    servers((url = "/")),
    security(("bearerAuth" = [])),
    modifiers(&BearerAuth),
    paths(tiles::tile, tiles::tilejson, hotspots::tile, super::serve_document),
)]
pub struct RoutedByHand;

/// Signed-in callers send `Authorization: Bearer <token>`.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        components.add_security_scheme("bearerAuth", SecurityScheme::Http(bearer));
    }
}

/// The whole document: `generated` (from [`documented`]) with [`RoutedByHand`].
pub fn document(generated: utoipa::openapi::OpenApi) -> Result<String, serde_json::Error> {
    RoutedByHand::openapi().merge_from(generated).to_pretty_json()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The generated part, collected from the router over a context on an empty in-memory
    /// database (nothing is asked of it).
    fn generated() -> utoipa::openapi::OpenApi {
        use std::sync::Arc;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let store = crate::store::connect("sqlite::memory:").await.expect("store");
            let catalog = Arc::new(crate::app::catalog::Catalog::load(&store).await.expect("catalogue"));
            let clock = Arc::new(crate::domain::clock::SystemClock);
            let ctx = ApiContext::new(store, catalog, clock, super::super::Settings::default());
            documented(&ctx).split_for_parts().1
        })
    }

    fn merged() -> Value {
        serde_json::from_str(&document(generated()).expect("the document is written")).expect("JSON")
    }

    #[test]
    fn the_document_is_whole() {
        let doc = merged();
        assert_eq!(doc["openapi"], "3.1.0");
        let tasks = &doc["paths"]["/api/v1/tasks"]["get"];
        assert_eq!(tasks["operationId"], "listTasks");
        // The task kinds come from the type itself: a new kind is documented when it is written.
        let kinds = &doc["components"]["schemas"]["TaskKind"]["enum"];
        assert!(kinds.as_array().is_some_and(|k| k.contains(&Value::from("confirm"))), "{kinds}");
        assert_eq!(doc["components"]["schemas"]["LoginRequest"]["additionalProperties"], false);
        // Signed in by default; the public pages say they are public.
        assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
        assert_eq!(doc["security"][0]["bearerAuth"], serde_json::json!([]));
        assert_eq!(doc["paths"]["/healthz"]["get"]["security"], serde_json::json!([{}]));
        assert_eq!(doc["paths"]["/open311/v2/services.json"]["get"]["security"], serde_json::json!([{}]));
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
                let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} is unnamed"));
                if let Some(first) = seen.insert(id.to_string(), format!("{method} {path}")) {
                    panic!("operationId {id} is used by {first} and {method} {path}");
                }
            }
        }
        assert!(seen.len() > 60, "the document names its operations: {}", seen.len());
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
        assert!(routed.contains("/tiles/{}/{}/{}/{}"), "the router's paths are read: {routed:?}");
        routed.extend(generated().paths.paths.keys().map(|p| shape(p)));
        assert!(routed.len() > 40, "every path is read: {routed:?}");
        let doc = merged();
        let documented: std::collections::BTreeSet<String> =
            doc["paths"].as_object().expect("paths").keys().map(|p| shape(p)).collect();
        let missing: Vec<&String> = routed.difference(&documented).collect();
        assert!(missing.is_empty(), "routed but not in the OpenAPI document: {missing:?}");
        let unrouted: Vec<&String> = documented.difference(&routed).collect();
        assert!(unrouted.is_empty(), "in the OpenAPI document but not routed: {unrouted:?}");
    }
}
