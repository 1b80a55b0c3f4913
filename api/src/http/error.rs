//! Every error leaves the API as `{"error": {"code", "message", "details"}}` with a fitting status.

use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: Value::Null }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A query parameter that is missing or malformed.
    pub fn parameter(name: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::bad_request("invalid_parameter", format!("parameter {name}: {reason}"))
            .with_details(json!({"parameter": name, "reason": reason}))
    }
}

/// The body of every error answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct ErrorDetail {
    /// Stable and machine-readable (`invalid_parameter`, `illegal_transition` …).
    code: &'static str,
    /// For people.
    message: String,
    /// What exactly was wrong (which field, which states are allowed), or null.
    details: Value,
}

/// The refusals any endpoint for signed-in callers may answer, for `#[utoipa::path]`'s
/// `responses(…)`: not signed in (401), too many requests (429), busy or the database
/// unavailable (503).
pub struct Refusals;

impl utoipa::IntoResponses for Refusals {
    fn responses() -> Responses {
        errors(&[
            ("401", "Not signed in: no token, or one expired or revoked"),
            ("429", "Too many requests"),
            ("503", "Busy, or the database or the file storage is unavailable: retry shortly"),
        ])
    }
}

/// The refusals of an endpoint that reads a JSON body, beside [`Refusals`]: malformed (400), too
/// large (413), a field missing or wrong (422, the field named in `details.fields`).
pub struct BodyRefusals;

impl utoipa::IntoResponses for BodyRefusals {
    fn responses() -> Responses {
        errors(&[
            ("400", "Malformed JSON"),
            ("413", "Too large"),
            ("422", "A field is missing or wrong (named in details.fields); or idempotency_key_reused"),
        ])
    }
}

/// The refusals of a file upload (a multipart form), beside [`Refusals`].
pub struct UploadRefusals;

impl utoipa::IntoResponses for UploadRefusals {
    fn responses() -> Responses {
        errors(&[
            ("400", "The form cannot be read"),
            ("413", "Too large (bytes or pixels)"),
            ("415", "Not multipart/form-data, or not a JPEG, PNG, HEIC or PDF"),
            ("422", "invalid_upload naming the field; unsupported_file; idempotency_key_reused"),
        ])
    }
}

type Responses = std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>>;

/// Error answers (an [`ErrorBody`]) by status, each with what it means.
fn errors(statuses: &[(&str, &str)]) -> Responses {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let body = || ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build();
    statuses
        .iter()
        .map(|(status, description)| {
            let response = ResponseBuilder::new().description(*description).content("application/json", body()).build();
            (status.to_string(), response.into())
        })
        .collect()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code, message: self.message, details: self.details } };
        (self.status, Json(body)).into_response()
    }
}

impl ApiError {
    /// A store conflict (two writers at once, or a change at a stale version) as 409; anything
    /// else as usual.
    pub fn conflict(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(reason) => Self::new(StatusCode::CONFLICT, "conflict", reason),
            other => other.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is unavailable; retry shortly",
            )
            .with_details(serde_json::json!({"retry": true}));
        }
        tracing::error!(error = %e, "storage failure");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request could not be completed")
    }
}
