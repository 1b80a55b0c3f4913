//! `POST /api/v1/problems` (intake) and `GET /api/v1/problems/{id}`.

use super::error::ApiError;
use super::guard::Caller;
use super::ApiContext;
use crate::domain::access::{Action, Area};
use crate::domain::auth::Role;
use crate::domain::intake::{parse_report, route};
use crate::domain::problem::{Class, Source};
use crate::domain::workflow::catalogue::find;
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
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let principal = caller.require(Action::Report)?;
    let idempotency_key = super::idempotency::key_of(&headers)?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the report as application/json",
        ));
    }
    let body = body.map_err(|e| {
        let status = e.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "payload_too_large" } else { "unreadable_body" };
        ApiError::new(status, code, format!("the request body cannot be read: {e}"))
            .with_details(json!({"max_bytes": MAX_REPORT_BYTES}))
    })?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
            .with_details(json!({"line": e.line(), "column": e.column()}))
    })?;
    let report = parse_report(&value).map_err(|fields| {
        let summary: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
            format!("the report is invalid: {}", summary.join("; ")),
        )
        .with_details(json!({"fields": fields}))
    })?;
    let mut report = report;
    if principal.role == Role::App {
        report.source = Source::App; // a citizen app's key speaks for the app, whatever it claims
    } else if report.source == Source::App {
        // Source `app` is what Open311 publishes: only a citizen app's key may file it.
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
            "the report is invalid: source: only a citizen app's key reports as source app",
        )
        .with_details(
            json!({"fields": [{"field": "source", "reason": "only a citizen app's key reports as source app"}]}),
        ));
    }
    let snapshot = ctx.catalog.snapshot();
    let Some(category) = find(&snapshot.categories, &report.category) else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_report",
            format!(
                "the report is invalid: category: {:?} is not in the catalogue (GET /api/v1/categories)",
                report.category
            ),
        )
        .with_details(json!({"fields": [{"field": "category", "reason": "not in the catalogue"}]})));
    };
    report.category = category.code.clone();
    let mut problem = route(&snapshot, report, Some(Class::from(category)), ctx.clock.now());
    if !Area::of(principal, &snapshot).may_report_at(problem.grid_code.as_deref()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "outside_area",
            "you can report problems only inside your own area",
        ));
    }
    problem.reported_by = Some(principal.name.clone());
    // Acknowledge only what is committed: submit returns after the COMMIT holding this report,
    // with the likely duplicates found for its batch.
    let idempotency = idempotency_key.map(|key| (principal.user_id, key));
    let sent = (problem.lon, problem.lat, problem.category.clone(), problem.description.clone());
    let report = crate::store::KeyedProblem { problem, idempotency, actor: caller.actor() };
    let (problem, replayed) = ctx.intake.submit(report).await?;
    // The same key with another report is another request: refused, not answered with the first.
    if replayed && sent != (problem.lon, problem.lat, problem.category.clone(), problem.description.clone()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different report; send a new key",
        )
        .with_details(json!({"first_used_for": format!("/api/v1/problems/{}", problem.id)})));
    }
    if !replayed {
        ctx.announce(&problem);
    }
    let headers = [
        (header::LOCATION, format!("/api/v1/problems/{}", problem.id)),
        (header::HeaderName::from_static(super::idempotency::REPLAYED), replayed.to_string()),
    ];
    let area = Area::of(principal, &ctx.catalog.snapshot());
    Ok((StatusCode::CREATED, headers, Json(super::present::case(&ctx, &area, problem))))
}

pub async fn get(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let problem = super::present::visible_case(&ctx, &caller, &id).await?;
    let area = Area::of(caller.require(Action::ReadProblems)?, &ctx.catalog.snapshot());
    Ok(Json(super::present::case(&ctx, &area, problem)))
}
