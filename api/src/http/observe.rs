//! Watching the service run: every request gets an id (`X-Request-Id`, kept from a proxy that
//! set one), one access-log line and its count in the metrics; `GET /metrics` serves them to
//! Prometheus and `GET /readyz` says whether the store answers.

use super::error::{ApiError, ErrorBody};
use super::guard::Caller;
use super::{forwarded, ApiContext};
use crate::app::metrics::{Gauges, METRICS};
use crate::domain::auth::Role;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// A request id a client or proxy may pass on: short, and only letters, digits and `-_.:`.
fn passed_on(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let fits = !text.is_empty() && text.len() <= 64;
    (fits && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))).then(|| text.to_string())
}

/// A request id: this process's random prefix and a counter — unique across nodes and
/// restarts, and no system call per request. It is never a secret.
fn new_id() -> String {
    static PREFIX: std::sync::LazyLock<u32> = std::sync::LazyLock::new(|| {
        let mut bytes = [0u8; 4];
        let _ = getrandom::getrandom(&mut bytes);
        u32::from_le_bytes(bytes)
    });
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!("{:08x}{:08x}", *PREFIX, NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The outermost layer: the request id, the client as trusted proxies tell it (handed to the
/// guard), and after the answer its access-log line and metrics.
pub async fn observe(State(ctx): State<ApiContext>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req.headers().get("x-request-id").and_then(passed_on).unwrap_or_else(new_id);
    let method = method_label(req.method());
    let uri = req.uri().clone(); // shares its bytes: no copy
                                 // Router::layer wraps each route, so the route's template is known here already.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let client = forwarded::client(req.headers(), peer, &ctx.trusted_proxies);
    let address = client.ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    req.extensions_mut().insert(client);
    let mut response = next.run(req).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    let route = matched.as_ref().map_or("unmatched", |r| r.as_str());
    METRICS.request(route, method, status, took);
    tracing::info!(
        target: "gridwatch::access",
        request_id = %id,
        method,
        path = uri.path(),
        route,
        status,
        ms = took.as_secs_f64() * 1000.0,
        client = %address,
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "service",
    summary = "Prometheus metrics (text format 0.0.4): requests, latency, intake, escalation, webhook, tile cache, store pool, grid index",
    responses(
        (status = 200, description = "The metrics", content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, description = "No token, or not the metrics token", body = ErrorBody),
        (status = 403, description = "Only admins and the metrics token (--metrics-token) read the metrics", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn metrics(State(ctx): State<ApiContext>, caller: Caller) -> Result<Response, ApiError> {
    let by_token = ctx.metrics_token.is_some() && caller.token_hash == ctx.metrics_token;
    if !by_token {
        let principal = caller.principal.as_ref().ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "send the metrics token or an admin's token")
        })?;
        if principal.role != Role::Admin {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "only admins and the metrics token read the metrics",
            ));
        }
    }
    let (pool_size, pool_idle) = ctx.store.pool_usage();
    let snapshot = ctx.catalog.snapshot();
    let (tile_cache_bytes, tile_cache_tiles) = ctx.tiles.cache_usage();
    let gauges = Gauges {
        pool_size,
        pool_idle,
        grid_revision: snapshot.revision,
        grids_indexed: snapshot.index.len(),
        tile_cache_bytes,
        tile_cache_tiles,
    };
    let text = METRICS.render(&gauges);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}

/// Ready to serve.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// `ready`
    status: &'static str,
    backend: &'static str,
}

#[utoipa::path(get, path = "/readyz", operation_id = "ready", tag = "service",
    summary = "Readiness: 200 when the store answers within two seconds, 503 when it does not (a load balancer takes the node out)",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "The store does not answer", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn ready(State(ctx): State<ApiContext>) -> Result<Json<Ready>, ApiError> {
    match tokio::time::timeout(Duration::from_secs(2), ctx.store.ping()).await {
        Ok(Ok(())) => Ok(Json(Ready { status: "ready", backend: ctx.store.backend() })),
        Ok(Err(e)) => {
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", format!("the store does not answer: {e}")))
        }
        Err(_) => {
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "the store did not answer within 2 s"))
        }
    }
}
