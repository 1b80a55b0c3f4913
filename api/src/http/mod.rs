//! The HTTP API: axum routers, one module per resource, one shared context.
//!
//! Every request passes [`guard::guard`] (rate limits, bearer-token authentication, time limit);
//! every handler then asks its [`guard::Caller`] for permission and area (`crate::domain::access`).

mod addresses;
mod assessments;
mod auth;
mod bodies;
mod campaigns;
mod cases;
mod coverage;
pub mod error;
mod features;
pub mod forwarded;
mod geojson;
pub mod guard;
mod hotline;
mod hotspots;
mod idempotency;
mod layers;
mod letters;
mod locate;
mod map;
mod observe;
mod open311;
pub mod openapi;
pub mod params;
pub mod patrols;
pub mod photos;
mod plans;
mod present;
mod problems;
mod queue;
mod reports;
mod round_bulletins;
mod rounds;
pub mod server;
mod slots;
mod tasks;
mod tiles;
mod xml;

use crate::app::catalog::Catalog;
use crate::domain::clock::Clock;
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::domain::workflow::colour::Thresholds;
use crate::domain::workflow::confirmation::Confirmation;
use crate::store::Store;
use axum::extract::State;
use axum::middleware;
use axum::routing::get;
use axum::{Json, Router};
use bodies::SMALL_BODY;
use error::ApiError;
use std::sync::Arc;

/// Everything a handler needs, shared: axum clones the state for every middleware of every
/// request, so cloning it is one reference count, not one per field.
#[derive(Clone)]
pub struct ApiContext(Arc<Context>);

impl std::ops::Deref for ApiContext {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.0
    }
}

/// What [`ApiContext`] shares.
pub struct Context {
    pub store: Arc<Store>,
    pub catalog: Arc<Catalog>,
    pub clock: Arc<dyn Clock>,
    pub limits: Arc<guard::Limits>,
    pub limiter: Arc<guard::RateLimiter>,
    /// Recently authenticated tokens (a couple of seconds).
    pub principals: Arc<guard::PrincipalCache>,
    pub calendar: Arc<WorkingCalendar>,
    pub thresholds: Arc<Thresholds>,
    /// Which reports an officer confirms on site (核实) before they are registered, and how soon.
    pub confirmation: Arc<Confirmation>,
    /// Colour changes from the escalation scheduler, for the SSE stream.
    pub changes: tokio::sync::broadcast::Sender<crate::app::escalation::ColourChange>,
    /// How weekly coverage is judged.
    pub coverage: Arc<crate::app::coverage::CoverageRules>,
    /// New and changed cases, for the dispatcher board's live stream.
    pub problem_changes: tokio::sync::broadcast::Sender<crate::domain::problem::Problem>,
    /// Vector tiles and the in-memory layers behind them.
    pub tiles: Arc<crate::app::tiles::TileService>,
    /// The web map's raster basemap, if one is configured.
    pub basemap: Option<Arc<Basemap>>,
    /// How officers' weeks are planned (days, speed, dwell times, windows).
    pub plan_rules: Arc<crate::app::planning::PlanRules>,
    /// The street network's graph, rebuilt when the stored network changes.
    pub streets: Arc<crate::app::planning::StreetCache>,
    /// The address book's search index, rebuilt when an import changes the addresses.
    pub addresses: Arc<crate::app::addresses::AddressBook>,
    /// Wakes the 12345 exchange's sender when a result is owed (`app::hotline`).
    pub hotline_wake: Arc<tokio::sync::Notify>,
    /// The city's Open311 `jurisdiction_id` (`--jurisdiction-id`): another one is refused.
    pub jurisdiction: Option<String>,
    /// Reports arriving together share one commit (and one search for likely duplicates).
    pub intake: Arc<crate::app::group_commit::GroupCommit>,
    /// When a new case is a recurrence (反弹) of a closed one: for the cases that do not come
    /// through intake (inspections, supervision findings).
    pub recurrence: crate::domain::hotspots::RecurrenceRule,
    /// Where photo evidence is kept and how it is checked.
    pub evidence: Arc<Evidence>,
    /// Live streams open per user id (capped: [`cases::MAX_STREAMS_PER_USER`]).
    pub streams: Arc<slots::Slots<i64>>,
    /// Live streams open on this server (capped: `Limits::max_streams`).
    pub all_streams: Arc<slots::Slots<()>>,
    /// Whether this node leads the escalation passes and webhook deliveries just now.
    pub leader: Arc<std::sync::atomic::AtomicBool>,
    /// Set when the server begins to shut down: live streams end with a `reconnect` event.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// The SHA-256 of the token Prometheus reads `/metrics` with (`--metrics-token`).
    pub metrics_token: Option<String>,
    /// The proxies whose forwarding headers are believed (`--trusted-proxies`).
    pub trusted_proxies: Arc<[forwarded::Cidr]>,
    /// The address users reach this service at (`--public-url`, e.g. `https://grid.example.cn`):
    /// every link is built from it when set.
    pub public_url: Option<Arc<str>>,
    /// Failed sign-ins, counted to slow and then refuse guessing.
    pub sign_ins: Arc<crate::app::sign_in::SignIns>,
    /// How long a sign-in session lasts unused (it slides while used).
    pub session_idle: time::Duration,
    /// When letters (督办函) go out and how soon units answer them.
    pub letter_rules: Arc<crate::domain::letters::LetterRules>,
    /// How areas, units and posts are scored and graded (实绩考核).
    pub evaluation_rules: Arc<crate::domain::evaluation::EvaluationRules>,
}

/// Photo evidence settings.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub blobs: crate::app::evidence::blobs::Blobs,
    /// A photo taken farther than this from its case is flagged (metres).
    pub max_distance_m: f64,
}

/// A raster basemap for the web map: an XYZ URL template and its attribution.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Basemap {
    pub url: String,
    pub attribution: String,
}

/// What the operator configures for the API (`gridwatch serve` flags); `Default` gives the
/// built-in value of each.
pub struct Settings {
    pub limits: guard::Limits,
    pub calendar: WorkingCalendar,
    pub thresholds: Thresholds,
    pub confirmation: Confirmation,
    /// Open cases of the same category within this many metres are likely duplicates.
    pub duplicate_metres: f64,
    /// How close and how recent a closed case must be for a new one to be its recurrence (反弹).
    pub recurrence: crate::domain::hotspots::RecurrenceRule,
    pub coverage: crate::app::coverage::CoverageRules,
    pub plan_rules: crate::app::planning::PlanRules,
    pub evidence: Evidence,
    pub basemap: Option<Basemap>,
    /// The address users reach the service at (`--public-url`).
    pub public_url: Option<String>,
    /// The SHA-256 of the token Prometheus reads `/metrics` with.
    pub metrics_token: Option<String>,
    /// The proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<forwarded::Cidr>,
    /// How long a sign-in session lasts unused (`--session-hours`).
    pub session_idle: time::Duration,
    /// When letters (督办函) go out and how soon units answer them (`--letter-rules`).
    pub letter_rules: crate::domain::letters::LetterRules,
    /// How areas, units and posts are scored and graded (`--evaluation-rules`).
    pub evaluation_rules: crate::domain::evaluation::EvaluationRules,
    /// The city's Open311 `jurisdiction_id` (`--jurisdiction-id`).
    pub jurisdiction: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            limits: guard::Limits::default(),
            calendar: WorkingCalendar::default(),
            thresholds: Thresholds::default(),
            confirmation: Confirmation::default(),
            duplicate_metres: 50.0,
            recurrence: crate::domain::hotspots::RecurrenceRule::default(),
            coverage: crate::app::coverage::CoverageRules::default(),
            plan_rules: crate::app::planning::PlanRules::default(),
            evidence: Evidence {
                blobs: crate::app::evidence::blobs::Blobs::Local(crate::app::evidence::blobs::LocalBlobs::new(
                    std::env::temp_dir().join("gridwatch-media"),
                )),
                max_distance_m: 100.0,
            },
            basemap: None,
            public_url: None,
            metrics_token: None,
            trusted_proxies: Vec::new(),
            session_idle: time::Duration::hours(12),
            letter_rules: Default::default(),
            evaluation_rules: Default::default(),
            jurisdiction: None,
        }
    }
}

impl ApiContext {
    pub fn new(store: Arc<Store>, catalog: Arc<Catalog>, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self(Arc::new(Context {
            catalog,
            clock,
            limits: Arc::new(settings.limits),
            limiter: Arc::new(guard::RateLimiter::default()),
            principals: Arc::new(guard::PrincipalCache::default()),
            calendar: Arc::new(settings.calendar),
            thresholds: Arc::new(settings.thresholds),
            confirmation: Arc::new(settings.confirmation),
            changes: tokio::sync::broadcast::channel(1024).0,
            coverage: Arc::new(settings.coverage),
            tiles: Arc::new(crate::app::tiles::TileService::default()),
            problem_changes: tokio::sync::broadcast::channel(1024).0,
            basemap: settings.basemap.map(Arc::new),
            plan_rules: Arc::new(settings.plan_rules),
            streets: Arc::new(crate::app::planning::StreetCache::default()),
            addresses: Arc::new(crate::app::addresses::AddressBook::default()),
            hotline_wake: Arc::default(),
            jurisdiction: settings.jurisdiction,
            recurrence: settings.recurrence,
            intake: Arc::new(crate::app::group_commit::GroupCommit::new(
                store.clone(),
                settings.duplicate_metres,
                settings.recurrence,
            )),
            evidence: Arc::new(settings.evidence),
            streams: Arc::default(),
            all_streams: Arc::default(),
            leader: Arc::default(),
            stopping: tokio::sync::watch::channel(false).0,
            metrics_token: settings.metrics_token,
            trusted_proxies: settings.trusted_proxies.into(),
            public_url: settings.public_url.map(Arc::from),
            sign_ins: Arc::default(),
            session_idle: settings.session_idle,
            letter_rules: Arc::new(settings.letter_rules),
            evaluation_rules: Arc::new(settings.evaluation_rules),
            store,
        }))
    }

    /// Tells live streams that a case was stored or changed (after its commit).
    pub fn announce(&self, problem: &crate::domain::problem::Problem) {
        self.tiles.cases_changed([problem.id]);
        // On a shared PostgreSQL the streams of every node, this one's too, hear of it from the
        // store at commit (`app::cluster`).
        if !self.store.is_shared() {
            let _ = self.problem_changes.send(problem.clone()); // nobody listening is fine
        }
    }
}

pub fn router(ctx: ApiContext) -> Router {
    // Endpoints documented by their types come with their part of the OpenAPI document.
    let (documented, generated) = openapi::documented(&ctx).split_for_parts();
    // Made once; each answer shares its bytes.
    let document: Arc<Result<axum::body::Bytes, String>> =
        Arc::new(openapi::document(generated).map(axum::body::Bytes::from).map_err(|e| e.to_string()));
    Router::new()
        .route("/map", get(map::to_map))
        .route("/map/", get(map::page))
        .route("/map/config.json", get(map::config))
        .route("/map/{file}", get(map::file))
        .route("/api/v1/openapi.json", get(move || async move { serve_document(&document) }))
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tiles::tile))
        .route("/tiles/{layer}", get(tiles::tilejson))
        .route("/api/v1/hotspots/tiles/{z}/{x}/{y}", get(hotspots::tile))
        .merge(documented)
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(middleware::from_fn_with_state(ctx.clone(), guard::guard))
        .layer(middleware::from_fn_with_state(ctx.clone(), bodies::settle))
        .layer(middleware::from_fn_with_state(ctx.clone(), security_headers))
        .layer(compression())
        .layer(middleware::from_fn_with_state(ctx.clone(), observe::observe))
        .with_state(ctx)
}

/// gzip or brotli, as the client accepts, for answers of 1 KB and more — but not for live
/// streams (each event must go out at once), images or files that are compressed already.
fn compression() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    let worth_it = SizeAbove::new(1024)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(NotForContentType::const_new(XLSX));
    tower_http::compression::CompressionLayer::new().compress_when(worth_it)
}

/// Headers every answer carries: no framing (clickjacking of dispatcher actions), no type
/// sniffing, no referrer (a case id in a URL stays here); the web map's pages get their
/// Content-Security-Policy; an answer to a token-bearing request that says nothing of caching is
/// never stored (`no-store`: private JSON must not stay in shared or browser caches).
async fn security_headers(
    State(ctx): State<ApiContext>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let private = req.headers().contains_key(header::AUTHORIZATION);
    let page = req.uri().path().starts_with("/map");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if page {
        let policy = map::content_security_policy(ctx.basemap.as_deref());
        if let Ok(value) = HeaderValue::from_str(&policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    } else {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'none'"));
    }
    if private && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Where links (OGC API, Open311 discovery, TileJSON) point: `--public-url` when configured;
/// otherwise the scheme and host a trusted proxy forwarded (`X-Forwarded-Proto`, `-Host`,
/// `Forwarded`), else `http://` and the request's `Host` — if it is a plain host name or address
/// with a port (any other text in it, such as a path or a quote, would end up in every link:
/// `localhost` then).
pub fn public_base(origin: &guard::Origin) -> String {
    if let Some(url) = &origin.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let plain = |h: &&str| {
        !h.is_empty() && h.len() <= 255 && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    };
    let host = origin
        .client
        .host
        .as_deref()
        .filter(plain)
        .or_else(|| origin.host.as_ref().and_then(|h| h.to_str().ok()).filter(plain));
    format!("{}://{}", origin.client.proto.as_deref().unwrap_or("http"), host.unwrap_or("localhost"))
}

/// A file to download (`attachment; filename=…`) of the given media type: the office's CSV,
/// XLSX and PDF exports.
fn download(media_type: &str, filename: &str, body: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let disposition = format!("attachment; filename=\"{filename}\"");
    ([(header::CONTENT_TYPE, media_type.to_string()), (header::CONTENT_DISPOSITION, disposition)], body).into_response()
}

/// `GET /api/v1/openapi.json`: the document [`openapi::document`] made when the router was built.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "openapi", tag = "service",
    summary = "This document (OpenAPI 3.1)", security(()),
    responses(
        (status = 200, description = "OpenAPI 3.1", body = Object),
        (status = 429, description = "Too many requests", body = error::ErrorBody),
    ))]
fn serve_document(document: &Result<axum::body::Bytes, String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match document {
        Ok(text) => ([(axum::http::header::CONTENT_TYPE, "application/json")], text.clone()).into_response(),
        // The tests prove the parts fit; a build where they do not says so instead of lying.
        Err(e) => ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", e.clone()).into_response(),
    }
}

/// The media type of an Excel workbook.
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// PDF exports.
const PDF: &str = "application/pdf";

/// The service is up, and what it serves.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Health)]
struct HealthBody {
    status: &'static str,
    /// `postgres` or `sqlite`.
    backend: &'static str,
    /// Bumped by every change of the grids.
    grid_revision: i64,
    indexed_grids: usize,
    /// Does this node run the escalation passes and webhook deliveries now (one node of several
    /// on one PostgreSQL does)?
    escalation_leader: bool,
}

#[utoipa::path(get, path = "/healthz", operation_id = "health", tag = "service", summary = "Service health",
    security(()),
    responses(
        (status = 200, description = "Up", body = HealthBody),
        (status = 429, description = "Too many requests", body = error::ErrorBody),
    ))]
async fn health(State(ctx): State<ApiContext>) -> Json<HealthBody> {
    let snapshot = ctx.catalog.snapshot();
    Json(HealthBody {
        status: "ok",
        backend: ctx.store.backend(),
        grid_revision: snapshot.revision,
        indexed_grids: snapshot.index.len(),
        escalation_leader: ctx.leader.load(std::sync::atomic::Ordering::Relaxed),
    })
}
