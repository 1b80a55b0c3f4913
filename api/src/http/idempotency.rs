//! `Idempotency-Key` on the writes a phone queues while offline (GPS tracks, inspections, photos).
//! The first successful answer to a caller's key is kept (store `replies`, a week) with a
//! fingerprint of the request; the same key with the same request gets that answer back, marked
//! `Idempotent-Replayed: true`, instead of a second write; the same key with another request is
//! refused (422), as the IETF idempotency-key draft says. Reports keep their keys in the same
//! transaction as the case (`store::KeyedProblem`).
//!
//! The body is read whole (up to the route's limit) before anything else happens: no lock is ever
//! held while a client sends, and a refused upload is refused after it has arrived, so the client
//! reads the answer instead of a broken connection.

use super::error::ApiError;
use super::guard::Caller;
use super::ApiContext;
use crate::store::replies::Reply;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

/// Longest accepted `Idempotency-Key`.
pub const MAX_KEY: usize = 200;

/// Largest answer kept for replay; the answers of these endpoints are a few hundred bytes.
const MAX_KEPT_BYTES: usize = 256 * 1024;

pub const REPLAYED: &str = "idempotent-replayed";

/// The `Idempotency-Key` header, as the OpenAPI document describes it (`params(IdempotencyKey)`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by `key_of` and `replay`; the struct only describes it
pub struct IdempotencyKey {
    /// Makes a retry safe: the first successful answer to this key (per caller, kept a week) is
    /// given again, with Idempotent-Replayed: true, instead of a second write. The same key on
    /// another endpoint answers 422 idempotency_key_reused.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 200, pattern = "^[!-~]+$")]
    key: Option<String>,
}

/// The request's `Idempotency-Key`, if it sent one: 1 to 200 visible ASCII characters.
pub fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().ok().filter(|k| !k.is_empty() && k.len() <= MAX_KEY);
    let key = key.ok_or_else(|| {
        ApiError::bad_request("invalid_header", format!("Idempotency-Key must be 1-{MAX_KEY} visible ASCII characters"))
    })?;
    Ok(Some(key.to_string()))
}

/// Requests with the same user and key take turns, so a retry racing its original waits for the
/// first answer rather than writing again. One lock per key in use: other keys never wait.
static TURNS: LazyLock<std::sync::Mutex<HashMap<KeyOf, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);

/// A caller's key: user id and `Idempotency-Key`.
type KeyOf = (i64, String);

/// A key's turn; the key's lock is forgotten when nobody holds or awaits it any more.
struct Turn {
    id: KeyOf,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

async fn turn(user_id: i64, key: &str) -> Turn {
    let id = (user_id, key.to_string());
    let lock = {
        let mut turns = TURNS.lock().unwrap_or_else(|e| e.into_inner());
        turns.entry(id.clone()).or_default().clone()
    };
    Turn { id, guard: Some(lock.lock_owned().await) }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut turns = TURNS.lock().unwrap_or_else(|e| e.into_inner());
        drop(self.guard.take());
        // Only the map holds it now: nobody else has or waits for this key.
        if turns.get(&self.id).is_some_and(|lock| Arc::strong_count(lock) == 1) {
            turns.remove(&self.id);
        }
    }
}

/// What makes two requests the same request: endpoint and body. A multipart form's boundary is
/// random per send (a phone retrying the same photo picks a new one), so it is left out.
fn fingerprint(endpoint: &str, headers: &HeaderMap, body: &[u8]) -> String {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split(';').find_map(|p| p.trim().strip_prefix("boundary=")))
        .map(|b| b.trim_matches('"').to_string())
        .filter(|b| !b.is_empty());
    let mut hash = Sha256::new();
    hash.update(endpoint.as_bytes());
    hash.update([0]);
    match boundary {
        Some(b) => {
            memchr::memmem::find_iter(body, b.as_bytes()).chain(std::iter::once(body.len())).fold(0, |from, at| {
                hash.update(&body[from..at]);
                (at + b.len()).min(body.len())
            })
        }
        None => {
            hash.update(body);
            body.len()
        }
    };
    hex::encode(hash.finalize())
}

/// Reads the whole body, at most `limit` bytes (413 beyond).
pub(super) async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
                .with_details(json!({"max_bytes": limit})))
        }
        Err(e) => Err(ApiError::bad_request("unreadable_body", format!("the request body cannot be read: {e}"))),
    }
}

/// The middleware for one write endpoint whose bodies may be `limit` bytes.
pub async fn replay(State((ctx, limit)): State<(ApiContext, usize)>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match read_body(body, limit).await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    let key = match key_of(&parts.headers) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    // Without a token the handler answers 401; keys belong to callers.
    let user_id = parts.extensions.get::<Caller>().and_then(|c| c.principal.as_ref()).map(|p| p.user_id);
    let (Some(key), Some(user_id)) = (key, user_id) else {
        return next.run(Request::from_parts(parts, Body::from(bytes))).await;
    };
    let endpoint = format!("{} {}", parts.method, parts.uri.path());
    let fingerprint = fingerprint(&endpoint, &parts.headers, &bytes);
    let _turn = turn(user_id, &key).await;

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
        // Replies kept before fingerprints were (empty) cannot be compared: they replay.
        Ok(Some(kept)) if !kept.fingerprint.is_empty() && kept.fingerprint != fingerprint => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request body; send a new key",
            )
            .with_details(json!({"first_used_for": kept.endpoint}))
            .into_response();
        }
        Ok(Some(kept)) => return replayed(kept),
        Ok(None) => {}
    }
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if !response.status().is_success() {
        return response; // a refusal or failure is not kept: the retry is judged afresh
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_KEPT_BYTES).await else {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the answer could not be kept")
            .into_response();
    };
    let reply = Reply {
        endpoint,
        fingerprint,
        status: parts.status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_fingerprint_ignores_the_boundary_only() {
        let form = |b: &str, content: &str| {
            let mut headers = HeaderMap::new();
            let value = HeaderValue::from_str(&format!("multipart/form-data; boundary={b}")).expect("header");
            headers.insert(header::CONTENT_TYPE, value);
            let body =
                format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n{content}\r\n--{b}--\r\n");
            fingerprint("POST /x", &headers, body.as_bytes())
        };
        assert_eq!(form("AaB03x", "photo"), form("zz9", "photo"), "a new boundary is the same request");
        assert_ne!(form("AaB03x", "photo"), form("AaB03x", "other"), "another file is another request");
        let json = |body: &str| fingerprint("POST /x", &HeaderMap::new(), body.as_bytes());
        assert_ne!(json(r#"{"a":1}"#), json(r#"{"a":2}"#));
        assert_ne!(fingerprint("POST /x", &HeaderMap::new(), b"{}"), fingerprint("POST /y", &HeaderMap::new(), b"{}"));
    }
}
