//! Mock assessments (模拟测评): `POST /api/v1/assessments` draws one, `GET /api/v1/assessments`
//! lists them, `GET /api/v1/assessments/{id}?format=json|xlsx` reads one with its score rates,
//! and `POST /api/v1/assessments/{id}/scores` records scores.
//!
//! Only the office and admins draw and score; dispatchers read. Officers and units are the ones
//! assessed, so they never see which points are drawn. An assessment is visible to a caller
//! whose area holds every drawn point; others get 404.

use super::error::ApiError;
use super::guard::Caller;
use super::params::{invalid_field, json_body, object_with, Params};
use super::{download, ApiContext, XLSX};
use crate::domain::access::{Action, Area};
use crate::domain::assessment::{check_scores, sample, Assessment, ScoreInput, Spec};
use crate::domain::clock::rfc3339;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Bodies are small: a draw's settings, or a few hundred scores.
pub const MAX_BODY_BYTES: usize = 1 << 20;

pub async fn create(
    State(ctx): State<ApiContext>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::RunAssessments)?;
    let value = json_body(body)?;
    let spec = Spec::from_json(&value).map_err(|(field, reason)| invalid_field(&field, reason))?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let points = ctx.store.points(None).await?;
    let items = sample(&points, &area, &spec);
    if items.is_empty() {
        return Err(invalid_field("n", "no assessment point in your area matches this draw"));
    }
    let id = ctx.store.create_assessment(spec, items, ctx.clock.now(), caller.actor()).await?;
    let stored = load(&ctx, &area, id).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/assessments/{id}"))], Json(present(&stored)))
        .into_response())
}

pub async fn list(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Json<Value>, ApiError> {
    let principal = caller.require(Action::ReadAssessments)?;
    params.only(&[])?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let all = ctx.store.assessments(None).await?;
    let rows: Vec<Value> = all
        .iter()
        .filter(|a| a.visible_to(&area))
        .map(|a| {
            let overall = a.report().overall;
            json!({"id": a.id, "name": a.spec.name, "seed": a.spec.seed, "created_by": a.created_by,
                   "created_at": rfc3339(a.created_at), "points": overall.points, "criteria": overall.criteria,
                   "scored": overall.scored, "rate": overall.rate})
        })
        .collect();
    Ok(Json(json!({"assessments": rows})))
}

pub async fn get(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadAssessments)?;
    params.only(&["format"])?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let assessment = load(&ctx, &area, parse_id(&id)?).await?;
    match params.text("format").unwrap_or("json") {
        "json" => Ok(Json(present(&assessment)).into_response()),
        "xlsx" => {
            let body = assessment.to_xlsx().map_err(|e| {
                tracing::error!(error = %e, "assessment rendering failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the workbook could not be rendered")
            })?;
            Ok(download(XLSX, &format!("gridwatch-assessment-{}.xlsx", assessment.id), body))
        }
        other => Err(ApiError::parameter("format", format!("{other:?} is not json or xlsx"))),
    }
}

pub async fn score(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let principal = caller.require(Action::RunAssessments)?;
    let id = parse_id(&id)?;
    let value = json_body(body)?;
    let obj = object_with(&value, &["scores"])?;
    let inputs: Vec<ScoreInput> =
        serde_json::from_value(obj.get("scores").cloned().unwrap_or(Value::Null)).map_err(|e| {
            invalid_field("scores", format!("must be an array of {{point, criterion, score | pass, note}}: {e}"))
        })?;
    if inputs.is_empty() || inputs.len() > 10_000 {
        return Err(invalid_field("scores", "give 1 to 10000 scores"));
    }
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let assessment = load(&ctx, &area, id).await?;
    let now = ctx.clock.now();
    let scored = check_scores(&assessment, inputs, &principal.name, now).map_err(|faults| {
        let field = |f: &crate::domain::assessment::ScoreFault| format!("scores[{}].{}", f.index, f.field);
        let fields: Vec<Value> = faults.iter().map(|f| json!({"field": field(f), "reason": f.reason})).collect();
        let summary: Vec<String> = faults.iter().map(|f| format!("{}: {}", field(f), f.reason)).collect();
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", summary.join("; "))
            .with_details(json!({"fields": fields}))
    })?;
    let count = scored.len();
    if !ctx.store.record_scores(id, scored, now, caller.actor()).await? {
        return Err(ApiError::not_found(format!("no assessment {id}")));
    }
    let stored = load(&ctx, &area, id).await?;
    Ok(Json(json!({"recorded": count, "report": stored.report()})))
}

/// The assessment, if it exists and the caller's area holds it (404 otherwise, either way).
async fn load(ctx: &ApiContext, area: &Area, id: i64) -> Result<Assessment, ApiError> {
    let found = ctx.store.assessments(Some(id)).await?.into_iter().next();
    found.filter(|a| a.visible_to(area)).ok_or_else(|| ApiError::not_found(format!("no assessment {id}")))
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| ApiError::parameter("id", "must be a positive whole number"))
}

fn present(a: &Assessment) -> Value {
    json!({"id": a.id, "name": a.spec.name, "spec": a.spec, "created_by": a.created_by,
           "created_at": rfc3339(a.created_at), "items": a.items, "report": a.report()})
}
