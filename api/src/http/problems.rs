//! `POST /api/v1/problems` (intake) and `GET /api/v1/problems/{id}`.

use super::error::ApiError;
use super::ApiContext;
use crate::intake::{parse_report, route};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// Largest accepted report body.
pub const MAX_REPORT_BYTES: usize = 64 * 1024;

pub async fn create(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the report as application/json",
        ));
    }
    let body = body.map_err(|e| {
        let status = e.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "unreadable_body"
        };
        ApiError::new(
            status,
            code,
            format!("the request body cannot be read: {e}"),
        )
        .with_details(json!({"max_bytes": MAX_REPORT_BYTES}))
    })?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
            .with_details(json!({"line": e.line(), "column": e.column()}))
    })?;
    let report = parse_report(&value).map_err(|fields| {
        let summary: Vec<String> = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.reason))
            .collect();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
            format!("the report is invalid: {}", summary.join("; ")),
        )
        .with_details(json!({"fields": fields}))
    })?;
    let problem = route(&ctx.catalog.snapshot(), report, ctx.clock.now());
    // Acknowledge only what is committed: insert_problems returns after COMMIT.
    let stored = ctx.store.insert_problems(vec![problem]).await?;
    let problem = stored.into_iter().next().ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the report was not stored",
        )
    })?;
    let location = format!("/api/v1/problems/{}", problem.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(problem),
    ))
}

pub async fn get(
    State(ctx): State<ApiContext>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let not_found = || ApiError::not_found(format!("no problem with id {id}"));
    let numeric: i64 = id.parse().map_err(|_| not_found())?;
    let problem = ctx.store.problem(numeric).await?.ok_or_else(not_found)?;
    Ok(Json(problem))
}
