//! The request guard driven as a tower service (no socket): the time limit and the anonymous
//! path, which the end-to-end tests cannot reach with a real slow endpoint.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::{middleware, Router};
use gridwatch::app::catalog::Catalog;
use gridwatch::domain::clock::SystemClock;
use gridwatch::http::guard::{guard, Caller, Limits};
use gridwatch::http::ApiContext;
use gridwatch::store::connect;
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

async fn context(limits: Limits) -> ApiContext {
    let dir = std::env::temp_dir().join(format!("gw-guard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let store = connect(&format!("sqlite://{}", dir.join("g.db").display())).await.expect("store");
    let catalog = Arc::new(Catalog::load(store.as_ref()).await.expect("catalog"));
    let settings = gridwatch::http::Settings { limits, ..Default::default() };
    ApiContext::new(store, catalog, Arc::new(SystemClock), settings)
}

async fn slow(caller: Caller) -> &'static str {
    assert!(caller.principal.is_none());
    tokio::time::sleep(Duration::from_secs(5)).await;
    "done"
}

#[tokio::test]
async fn a_slow_request_is_stopped_with_503() {
    let ctx = context(Limits { request_timeout: Duration::from_millis(300), ..Limits::default() }).await;
    let app: Router = Router::new()
        .route("/slow", get(slow))
        .layer(middleware::from_fn_with_state(ctx.clone(), guard))
        .with_state(ctx);
    let started = std::time::Instant::now();
    let response = app.oneshot(Request::get("/slow").body(Body::empty()).expect("request")).await.expect("response");
    assert!(started.elapsed() < Duration::from_secs(2), "stopped at the limit, not after the handler");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = response.into_body().collect().await.expect("body").to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["error"]["code"], "timeout");
    assert_eq!(json["error"]["details"]["timeout_seconds"], 0.3);
}
