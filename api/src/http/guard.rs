//! The guard every request passes: rate limits per IP and per token, authentication by bearer
//! token, and a time limit. Handlers then ask the [`Caller`] what it may do.

use super::error::ApiError;
use super::ApiContext;
use crate::domain::access::{permitted, Action};
use crate::domain::auth::{hash_token, Actor, Principal};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The configurable limits (docs/security.md).
#[derive(Debug, Clone)]
pub struct Limits {
    pub requests_per_minute_per_token: u32,
    pub requests_per_minute_per_ip: u32,
    pub request_timeout: Duration,
    /// Largest `bbox` a layer request may ask for, in km².
    pub max_bbox_km2: f64,
    /// Live streams this server holds open at once, for all users.
    pub max_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            requests_per_minute_per_token: 1200,
            requests_per_minute_per_ip: 3000,
            request_timeout: Duration::from_secs(30),
            max_bbox_km2: 20_000.0,
            max_streams: 5000,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Who a token belongs to, remembered for [`PrincipalCache::TTL`] so a map pulling tiles does not
/// cost a database round trip per tile. A revoked or expired token may fetch tiles for up to that
/// long; every other endpoint asks the store each time.
pub struct PrincipalCache {
    entries: Mutex<HashMap<String, (crate::domain::auth::Principal, std::time::Instant)>>,
}

impl Default for PrincipalCache {
    fn default() -> Self {
        Self { entries: Mutex::new(HashMap::new()) }
    }
}

impl PrincipalCache {
    pub const TTL: Duration = Duration::from_secs(2);
    const MAX_ENTRIES: usize = 10_000;

    fn get(&self, hash: &str) -> Option<crate::domain::auth::Principal> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(hash).filter(|(_, at)| at.elapsed() < Self::TTL).map(|(p, _)| p.clone())
    }

    /// Forgets a token at once (its session ended).
    pub fn forget(&self, hash: &str) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(hash);
    }

    fn put(&self, hash: String, principal: &crate::domain::auth::Principal) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(hash, (principal.clone(), std::time::Instant::now()));
    }
}

/// Token buckets keyed by caller: `per_minute` requests, refilled continuously.
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self { buckets: Mutex::new(HashMap::new()) }
    }
}

impl RateLimiter {
    /// Takes one request from `key`'s bucket; on refusal, the seconds until one is available.
    pub fn take(&self, key: &str, per_minute: u32, now: Instant) -> Result<(), u64> {
        let capacity = f64::from(per_minute.max(1));
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 100_000 {
            // Forget callers whose buckets have refilled: they are indistinguishable from new ones.
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < capacity);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: capacity, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Who sent the request: an authenticated principal or nobody, and from where.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Option<Principal>,
    /// The client's address (behind trusted proxies, the one they forwarded).
    pub remote: String,
    /// How the client reached the service (scheme and host, as far as trusted), for links: see
    /// [`Caller::base`].
    pub origin: Origin,
    /// The SHA-256 of the bearer token, so that a long-lived answer (a live stream) can ask again
    /// whether it is still valid.
    pub token_hash: Option<String>,
}

/// What links are built from, kept per request and put together only by the few answers that
/// hold links.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub public_url: Option<std::sync::Arc<str>>,
    pub client: super::forwarded::Client,
    pub host: Option<HeaderValue>,
}

impl Caller {
    /// Where the client reached the service (`https://gw.example.org`): links are built on it.
    pub fn base(&self) -> String {
        super::public_base(&self.origin)
    }

    /// The principal, if it may do `action`: 401 without a token, 403 when the role may not.
    pub fn require(&self, action: Action) -> Result<&Principal, ApiError> {
        let principal = self.principal.as_ref().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "sign in (POST /api/v1/auth/login) or send an API token: Authorization: Bearer <token>",
            )
        })?;
        if principal.must_change_password {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "password_change_required",
                "change the password an admin set first: POST /api/v1/auth/password",
            ));
        }
        if permitted(principal.role, action) {
            Ok(principal)
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("the {} role may not do this", principal.role),
            ))
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            name: self.principal.as_ref().map_or_else(|| "anonymous".to_string(), |p| p.name.clone()),
            remote: self.remote.clone(),
        }
    }
}

impl FromRequestParts<ApiContext> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &ApiContext) -> Result<Self, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "request did not pass the guard")
        })
    }
}

fn too_many(retry_after: u64, what: &str) -> Response {
    let mut response =
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", format!("too many requests {what}; retry later"))
            .with_details(json!({"retry_after_seconds": retry_after}))
            .into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The middleware: limits, authentication, then the handler under a time limit.
pub async fn guard(State(ctx): State<ApiContext>, mut req: Request, next: Next) -> Response {
    let now = Instant::now();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    // The outer layer (`observe`) worked the client out already; in tests without it, here.
    let client = match req.extensions().get::<super::forwarded::Client>() {
        Some(client) => client.clone(),
        None => super::forwarded::client(req.headers(), peer, &ctx.trusted_proxies),
    };
    let remote = client.ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    let origin = Origin { public_url: ctx.public_url.clone(), host: req.headers().get(header::HOST).cloned(), client };
    if let Err(wait) = ctx.limiter.take(&format!("ip:{remote}"), ctx.limits.requests_per_minute_per_ip, now) {
        return too_many(wait, "from this address");
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().strip_prefix("Bearer ").unwrap_or("").trim().to_string());
    let token_hash = bearer.map(|token| hash_token(&token));
    // Prometheus's token (`--metrics-token`) is no user's: it opens /metrics only.
    let metrics_scrape =
        req.uri().path() == "/metrics" && ctx.metrics_token.is_some() && token_hash == ctx.metrics_token;
    let principal = match &token_hash {
        None => None,
        Some(_) if metrics_scrape => None,
        Some(hash) => match principal_of(&ctx, hash.clone(), reuses_token_check(req.uri().path())).await {
            Ok(Some(p)) => Some(p),
            Ok(None) => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "the token is unknown, expired or revoked",
                )
                .into_response();
            }
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    if let Some(p) = &principal {
        if let Err(wait) =
            ctx.limiter.take(&format!("user:{}", p.user_id), ctx.limits.requests_per_minute_per_token, now)
        {
            return too_many(wait, "for this token");
        }
    }
    req.extensions_mut().insert(Caller { principal, remote, origin, token_hash });
    match tokio::time::timeout(ctx.limits.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", "the request took too long and was stopped")
                .with_details(json!({"timeout_seconds": ctx.limits.request_timeout.as_secs_f64()}))
                .into_response()
        }
    }
}

/// Map tiles (dozens per screen) and `locate` (an app asks it at every tap) show only what the
/// grid map shows, never a case: they may reuse a token check for [`PrincipalCache::TTL`].
fn reuses_token_check(path: &str) -> bool {
    path.starts_with("/tiles/") || path == "/api/v1/locate"
}

/// The token's principal from the store, or for map tiles and `locate` (read-only, dozens per screen) from
/// the cache while fresh. Everything else sees a revocation at once.
async fn principal_of(
    ctx: &ApiContext,
    hash: String,
    cached: bool,
) -> Result<Option<crate::domain::auth::Principal>, crate::store::StoreError> {
    if let Some(p) = ctx.principals.get(&hash).filter(|_| cached) {
        return Ok(Some(p));
    }
    let found = ctx.store.principal(hash.clone(), ctx.clock.now()).await?;
    if let Some(p) = &found {
        ctx.principals.put(hash, p);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refuse_then_refill() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take("a", 3, t0).is_ok());
        }
        assert_eq!(limiter.take("a", 3, t0), Err(20));
        assert!(limiter.take("b", 3, t0).is_ok(), "buckets are per key");
        assert!(limiter.take("a", 3, t0 + Duration::from_secs(21)).is_ok());
    }
}
