//! Mock assessments (模拟测评): `POST /api/v1/assessments` draws one, `GET /api/v1/assessments`
//! lists them, `GET /api/v1/assessments/{id}?format=json|xlsx` reads one with its score rates,
//! and `POST /api/v1/assessments/{id}/scores` records scores.
//!
//! Only the office and admins draw and score; dispatchers read. Officers and units are the ones
//! assessed, so they never see which points are drawn. An assessment is visible to a caller
//! whose area holds every drawn point; others get 404.

use super::error::{ApiError, BodyRefusals, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::{invalid_field, json_body, typed_body, Params};
use super::{download, ApiContext, XLSX};
use crate::domain::access::{Action, Area};
use crate::domain::assessment::{check_scores, sample, Assessment, Item, Report, ScoreInput, Spec};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Bodies are small: a draw's settings, or a few hundred scores.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// A draw's settings, as `Spec::from_json` reads them (naming the field at fault).
#[derive(ToSchema)]
#[allow(dead_code)] // documents the body `Spec::from_json` reads
pub(super) struct AssessmentDraw {
    /// Default 模拟测评.
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// Points in all, spread over types and districts by their sizes.
    #[schema(minimum = 1, maximum = 5000)]
    n: Option<u32>,
    /// Points per type (id or Chinese name), instead of n.
    per_type: Option<std::collections::BTreeMap<String, u32>>,
    /// The same seed over the same points draws the same sample; a random one is chosen and returned when absent.
    seed: Option<u64>,
    /// Only these districts (6-digit codes).
    #[schema(inline)]
    districts: Option<Vec<DistrictCode>>,
}

/// A 6-digit district code.
#[derive(ToSchema)]
#[schema(pattern = "^[0-9]{6}$")]
#[allow(dead_code)]
struct DistrictCode(String);

/// Scores to record.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AssessmentScores {
    #[schema(min_items = 1, max_items = 10000)]
    scores: Vec<ScoreInput>,
}

/// A mock assessment as listed.
#[derive(Serialize, ToSchema)]
pub struct AssessmentSummary {
    id: i64,
    name: String,
    seed: u64,
    created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    points: usize,
    criteria: usize,
    scored: usize,
    /// 得分率 so far; null until something is scored.
    rate: Option<f64>,
}

/// The mock assessments the caller may see.
#[derive(Serialize, ToSchema)]
pub struct Assessments {
    assessments: Vec<AssessmentSummary>,
}

/// One mock assessment: its points, checklists, scores and score rates.
#[derive(Serialize, ToSchema)]
#[schema(as = Assessment)]
pub struct AssessmentView {
    id: i64,
    name: String,
    spec: Spec,
    created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    items: Vec<Item>,
    report: Report,
}

/// Scores recorded, and the report after them.
#[derive(Serialize, ToSchema)]
pub struct ScoresRecorded {
    recorded: usize,
    report: Report,
}

/// The format of one assessment.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameter `get` reads (and refuses any other)
pub(super) struct AssessmentFormat {
    #[param(inline)]
    format: Option<AssessmentFileFormat>,
}

/// JSON, or the office's workbook.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum AssessmentFileFormat {
    Json,
    Xlsx,
}

#[utoipa::path(post, path = "/api/v1/assessments", operation_id = "drawAssessment", tag = "assessments",
    summary = "Draw a mock assessment: points at random, stratified by type and district, from a seed; each with its checklist",
    request_body = AssessmentDraw,
    responses(
        (status = 201, description = "The drawn points, checklists and (empty) report", body = AssessmentView,
            headers(("Location" = String))),
        (status = 403, description = "Only the office and admins draw and score; or a password change comes first", body = ErrorBody),
        BodyRefusals,
        Refusals,
    ))]
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
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/assessments/{id}"))], Json(present(stored)))
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/assessments", operation_id = "listAssessments", tag = "assessments",
    summary = "Mock assessments (模拟测评) within the caller's area, with their overall score rate (得分率)",
    responses(
        (status = 200, description = "The list", body = Assessments),
        (status = 400, description = "An unknown parameter", body = ErrorBody),
        (status = 403, description = "Officers and units are assessed, and see none; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]

pub async fn list(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
) -> Result<Json<Assessments>, ApiError> {
    let principal = caller.require(Action::ReadAssessments)?;
    params.only(&[])?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let all = ctx.store.assessments(None).await?;
    let assessments = all
        .into_iter()
        .filter(|a| a.visible_to(&area))
        .map(|a| {
            let overall = a.report().overall;
            AssessmentSummary {
                id: a.id,
                name: a.spec.name,
                seed: a.spec.seed,
                created_by: a.created_by,
                created_at: a.created_at,
                points: overall.points,
                criteria: overall.criteria,
                scored: overall.scored,
                rate: overall.rate,
            }
        })
        .collect();
    Ok(Json(Assessments { assessments }))
}

#[utoipa::path(get, path = "/api/v1/assessments/{id}", operation_id = "getAssessment", tag = "assessments",
    summary = "One mock assessment: its points, checklists, scores and score rates overall, per type, unit and district; format=xlsx for the office's workbook",
    params(("id" = i64, Path, minimum = 1), AssessmentFormat),
    responses(
        (status = 200, description = "The assessment", content(
            (AssessmentView = "application/json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Officers and units are assessed, and see none; or a password change comes first", body = ErrorBody),
        (status = 404, description = "No such assessment within the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn get(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadAssessments)?;
    params.only_documented::<AssessmentFormat>()?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let assessment = load(&ctx, &area, parse_id(&id)?).await?;
    match params.text("format").unwrap_or("json") {
        "json" => Ok(Json(present(assessment)).into_response()),
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

#[utoipa::path(post, path = "/api/v1/assessments/{id}/scores", operation_id = "recordScores", tag = "assessments",
    summary = "Record scores of a mock assessment (all or nothing; a criterion scored again is replaced)",
    params(("id" = i64, Path, minimum = 1)),
    request_body = AssessmentScores,
    responses(
        (status = 200, description = "How many were recorded, and the report", body = ScoresRecorded),
        (status = 403, description = "Only the office and admins draw and score; or a password change comes first", body = ErrorBody),
        BodyRefusals,
        (status = 404, description = "No such assessment within the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn score(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ScoresRecorded>, ApiError> {
    let principal = caller.require(Action::RunAssessments)?;
    let id = parse_id(&id)?;
    let inputs = typed_body::<AssessmentScores>(body)?.scores;
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
    Ok(Json(ScoresRecorded { recorded: count, report: stored.report() }))
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

fn present(a: Assessment) -> AssessmentView {
    let report = a.report();
    AssessmentView {
        id: a.id,
        name: a.spec.name.clone(),
        spec: a.spec,
        created_by: a.created_by,
        created_at: a.created_at,
        items: a.items,
        report,
    }
}
