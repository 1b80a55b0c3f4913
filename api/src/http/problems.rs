//! `POST /api/v1/problems` (intake) and `GET /api/v1/problems/{id}`.

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::idempotency::IdempotencyKey;
use super::ApiContext;
use crate::domain::access::{Action, Area};
use crate::domain::auth::Role;
use crate::domain::intake::Report;
use crate::domain::intake::{parse_report, route};
use crate::domain::problem::Problem;
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

#[utoipa::path(post, path = "/api/v1/problems", operation_id = "createProblem", tag = "cases",
    summary = "Report a problem (上报); routed to its grid at once",
    params(IdempotencyKey),
    request_body = Report,
    responses(
        (status = 201, description = "Stored (committed) and routed", body = Problem,
            headers(("Location" = String, description = "The case's address"),
                    ("Idempotent-Replayed" = String, description = "`true` when this is the answer kept for the key")),
            links(("GetProblem" = (operation_id = "getProblem", parameters(("id" = "$response.body#/id")))),
                  ("GetEvents" = (operation_id = "getProblemEvents", parameters(("id" = "$response.body#/id")))),
                  ("Transition" = (operation_id = "transitionProblem", parameters(("id" = "$response.body#/id")))))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "Outside the caller's area, or a password change comes first", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "invalid_report, naming every field at fault; or idempotency_key_reused", body = ErrorBody),
        Refusals,
    ))]
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
    if report.caller.is_some() && !may_read_callers(principal.role) {
        return Err(invalid_report("caller", "only dispatchers and the office record a caller's contact"));
    }
    let snapshot = ctx.catalog.snapshot();
    if let Some(id) = report.address_id {
        // An address the caller's area holds: its name is the case's address unless one is given.
        let area = Area::of(principal, &snapshot);
        let Some(found) = ctx.addresses.get(&ctx.store, &snapshot, &area, id).await? else {
            return Err(invalid_report("address_id", &format!("no address {id} in your area (GET /api/v1/addresses)")));
        };
        report.address.get_or_insert(found.address.name);
    }
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

#[utoipa::path(get, path = "/api/v1/problems/{id}", operation_id = "getProblem", tag = "cases",
    summary = "One problem (404 outside the caller's area)",
    params(("id" = String, Path, description = "The case's id")),
    responses(
        (status = 200, description = "The problem, with the special campaigns it falls in", body = OneProblem),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        (status = 404, description = "No such case in the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn get(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let mut problem = super::present::visible_case(&ctx, &caller, &id).await?;
    let principal = caller.require(Action::ReadProblems)?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    if may_read_callers(principal.role) {
        problem.caller = ctx.store.caller_of(problem.id).await?;
    }
    let snapshot = ctx.catalog.snapshot();
    let campaigns = crate::app::campaigns::tags_of(&ctx.store, &snapshot, &problem, ctx.calendar.offset).await?;
    Ok(Json(OneProblem { problem: super::present::case(&ctx, &area, problem), campaigns }))
}

/// One case as `GET /api/v1/problems/{id}` shows it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct OneProblem {
    #[serde(flatten)]
    problem: Problem,
    /// The special campaigns (专项整治) it falls in: their area, period and categories (left out
    /// when none, so a case reads back as it was acknowledged).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    campaigns: Vec<crate::app::campaigns::CampaignTag>,
}

/// Who sees (and records) a hotline caller's contact: the desk that takes the call and the
/// office that calls back (回访), never officers, units or citizen apps.
fn may_read_callers(role: Role) -> bool {
    matches!(role, Role::Dispatcher | Role::Office | Role::Admin)
}

/// A report refused for one field, as intake names faults.
fn invalid_report(field: &str, reason: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_report",
        format!("the report is invalid: {field}: {reason}"),
    )
    .with_details(json!({"fields": [{"field": field, "reason": reason}]}))
}
