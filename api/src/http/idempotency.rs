//! `Idempotency-Key` on the writes a phone queues while offline (GPS tracks, inspections, photos).
//! The first successful answer to a caller's key is kept (store `replies`, a week); the same key
//! again gets that answer back, marked `Idempotent-Replayed: true`, instead of a second write.
//! Reports keep their keys in the same transaction as the case (`store::KeyedProblem`).

use super::error::ApiError;
use super::guard::Caller;
use super::ApiContext;
use crate::store::replies::Reply;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::hash::{Hash, Hasher};
use tokio::sync::Mutex;

/// Longest accepted `Idempotency-Key`.
pub const MAX_KEY: usize = 200;

/// Largest answer kept for replay; the answers of these endpoints are a few hundred bytes.
const MAX_KEPT_BYTES: usize = 256 * 1024;

/// Requests with the same key take turns (striped locks), so a retry racing its original waits
/// for the first answer rather than writing again.
static TURNS: [Mutex<()>; 64] = [const { Mutex::const_new(()) }; 64];

pub const REPLAYED: &str = "idempotent-replayed";

/// The request's `Idempotency-Key`, if it sent one: 1 to 200 visible ASCII characters.
pub fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().ok().filter(|k| !k.is_empty() && k.len() <= MAX_KEY);
    let key = key.ok_or_else(|| {
        ApiError::bad_request("invalid_header", format!("Idempotency-Key must be 1-{MAX_KEY} visible ASCII characters"))
    })?;
    Ok(Some(key.to_string()))
}

/// The middleware for one write endpoint.
pub async fn replay(State(ctx): State<ApiContext>, req: Request, next: Next) -> Response {
    let key = match key_of(req.headers()) {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(req).await,
        Err(e) => return e.into_response(),
    };
    // Without a token the handler answers 401; keys belong to callers.
    let Some(user_id) = req.extensions().get::<Caller>().and_then(|c| c.principal.as_ref()).map(|p| p.user_id) else {
        return next.run(req).await;
    };
    let endpoint = format!("{} {}", req.method(), req.uri().path());
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (user_id, &key).hash(&mut hasher);
    let _turn = TURNS[(hasher.finish() % TURNS.len() as u64) as usize].lock().await;

    match ctx.store.reply(user_id, key.clone()).await {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(Some(kept)) if kept.endpoint != endpoint => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for another request; send a new key",
            )
            .with_details(json!({"first_used_for": kept.endpoint}))
            .into_response();
        }
        Ok(Some(kept)) => return replayed(kept),
        Ok(None) => {}
    }
    let response = next.run(req).await;
    if !response.status().is_success() {
        return response; // a refusal or failure is not kept: the retry is judged afresh
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_KEPT_BYTES).await else {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the answer could not be kept")
            .into_response();
    };
    let reply = Reply { endpoint, status: parts.status.as_u16(), body: String::from_utf8_lossy(&bytes).into_owned() };
    if let Err(e) = ctx.store.keep_reply(user_id, key, reply, ctx.clock.now()).await {
        // The write is done; only a later retry could repeat it. Say so in the log.
        tracing::warn!("idempotency key not kept: {e}");
    }
    parts.headers.insert(REPLAYED, HeaderValue::from_static("false"));
    Response::from_parts(parts, Body::from(bytes))
}

fn replayed(kept: Reply) -> Response {
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::HeaderName::from_static(REPLAYED), HeaderValue::from_static("true")),
        ],
        kept.body,
    )
        .into_response()
}
