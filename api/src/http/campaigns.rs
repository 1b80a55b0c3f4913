//! Special campaigns (专项整治): `POST/GET /api/v1/campaigns`, `GET/PUT /api/v1/campaigns/{id}`
//! and `GET /api/v1/campaigns/{id}/report?format=json|xlsx`.

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::{field_error, json_body, object_with, typed_value, Params};
use super::{download, ApiContext, XLSX};
use crate::app::campaigns::{report, CampaignReport};
use crate::domain::access::{Action, Area};
use crate::domain::campaign::{Campaign, CampaignPlan, Fault, PLAN_FIELDS};
use crate::domain::grids::Snapshot;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A campaign with its joint enforcement days.
#[derive(Serialize, ToSchema)]
pub(super) struct ShownCampaign {
    #[serde(flatten)]
    campaign: Campaign,
    /// 联合执法日: the first day, then every `cycle_days`, to the end (YYYY-MM-DD).
    rounds: Vec<String>,
    /// Running today (in the city's time).
    active: bool,
}

fn shown(ctx: &ApiContext, campaign: Campaign) -> ShownCampaign {
    let today = ctx.clock.now().to_offset(ctx.calendar.offset).date();
    let active = (campaign.plan.start..=campaign.plan.end).contains(&today);
    ShownCampaign { rounds: campaign.plan.rounds().iter().map(ToString::to_string).collect(), active, campaign }
}

#[derive(Serialize, ToSchema)]
pub(super) struct CampaignList {
    /// Newest first.
    campaigns: Vec<ShownCampaign>,
}

/// A change of a campaign: its new plan, and the version it was read at.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CampaignChange {
    /// The `version` the campaign had when read: a change made meanwhile gets 409.
    version: i64,
    plan: CampaignPlan,
}

/// A plan as received: a JSON object of a plan's fields only (an unknown one is named).
fn plan_of(value: &serde_json::Value) -> Result<(), ApiError> {
    object_with(value, &PLAN_FIELDS).map(drop)
}

fn invalid(fault: Fault) -> ApiError {
    field_error("invalid_campaign", fault.0, fault.1)
}

/// Checks a plan against the grids and catalogue, and that its area lies within the caller's.
async fn checked(
    ctx: &ApiContext,
    area: &Area,
    snapshot: &Snapshot,
    plan: CampaignPlan,
) -> Result<CampaignPlan, ApiError> {
    let catalogue: Vec<String> = ctx.store.categories().await?.into_iter().map(|c| c.code).collect();
    let plan = plan.checked(snapshot, &catalogue).map_err(invalid)?;
    if let Some(code) = plan.area.iter().find(|c| !area.sees(Some(c), None, None)) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "outside_area", format!("grid {code} is outside your area"))
            .with_details(serde_json::json!({"fields": [{"field": "area", "reason": "outside your area"}]})));
    }
    Ok(plan)
}

#[utoipa::path(post, path = "/api/v1/campaigns", operation_id = "createCampaign", tag = "campaigns",
    summary = "Set up a special campaign (专项整治): period, area, categories, lead and joint units, and a joint enforcement day every N days",
    request_body = CampaignPlan,
    responses(
        (status = 201, description = "Set up", body = ShownCampaign),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 403, description = "Only the office and admins set up campaigns, within their area", body = ErrorBody),
        (status = 422, description = "A field at fault, named", body = ErrorBody),
        Refusals,
    ))]
pub async fn create(
    State(ctx): State<ApiContext>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let principal = caller.require(Action::ManageCampaigns)?;
    let value = json_body(body)?;
    plan_of(&value)?;
    let plan: CampaignPlan = typed_value(value, "invalid_body")?;
    let snapshot = ctx.catalog.snapshot();
    let plan = checked(&ctx, &Area::of(principal, &snapshot), &snapshot, plan).await?;
    let campaign = ctx.store.create_campaign(&plan, &caller.actor(), ctx.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(shown(&ctx, campaign))))
}

#[utoipa::path(get, path = "/api/v1/campaigns", operation_id = "listCampaigns", tag = "campaigns",
    summary = "Special campaigns (专项整治), newest first, each with its joint enforcement days",
    responses(
        (status = 200, description = "The campaigns", body = CampaignList),
        (status = 403, description = "Units, dispatchers and the office read campaigns; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn list(State(ctx): State<ApiContext>, caller: Caller) -> Result<Json<CampaignList>, ApiError> {
    caller.require(Action::ReadReports)?;
    let campaigns = ctx.store.campaigns().await?.into_iter().map(|c| shown(&ctx, c)).collect();
    Ok(Json(CampaignList { campaigns }))
}

async fn found(ctx: &ApiContext, id: &str) -> Result<Campaign, ApiError> {
    let not_found = || ApiError::not_found(format!("no campaign {id}"));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    ctx.store.campaign(id).await?.ok_or_else(not_found)
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", operation_id = "getCampaign", tag = "campaigns",
    summary = "One special campaign",
    params(("id" = String, Path, description = "The campaign's id")),
    responses(
        (status = 200, description = "The campaign", body = ShownCampaign),
        (status = 403, description = "Units, dispatchers and the office read campaigns", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        Refusals,
    ))]
pub async fn get(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ShownCampaign>, ApiError> {
    caller.require(Action::ReadReports)?;
    Ok(Json(shown(&ctx, found(&ctx, &id).await?)))
}

#[utoipa::path(put, path = "/api/v1/campaigns/{id}", operation_id = "changeCampaign", tag = "campaigns",
    summary = "Change a special campaign's plan, at the version it was read at",
    params(("id" = String, Path, description = "The campaign's id")),
    request_body = CampaignChange,
    responses(
        (status = 200, description = "Changed", body = ShownCampaign),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 403, description = "Only the office and admins change campaigns, within their area", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "Changed by someone else since it was read", body = ErrorBody),
        (status = 422, description = "A field at fault, named", body = ErrorBody),
        Refusals,
    ))]
pub async fn change(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ShownCampaign>, ApiError> {
    let principal = caller.require(Action::ManageCampaigns)?;
    let before = found(&ctx, &id).await?;
    let value = json_body(body)?;
    if let Some(plan) = value.get("plan") {
        plan_of(plan)?;
    }
    let change: CampaignChange = typed_value(value, "invalid_body")?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    // The campaign as it was must be within the caller's area too.
    checked(&ctx, &area, &snapshot, before.plan.clone()).await?;
    let plan = checked(&ctx, &area, &snapshot, change.plan).await?;
    let changed = ctx
        .store
        .update_campaign(before.id, change.version, &plan, &caller.actor(), ctx.clock.now())
        .await
        .map_err(ApiError::conflict)?;
    let changed = changed.ok_or_else(|| ApiError::not_found(format!("no campaign {id}")))?;
    Ok(Json(shown(&ctx, changed)))
}

/// The report's format.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameter `campaign_report` reads
struct ReportQuery {
    /// `json` (default) or `xlsx`.
    format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/report", operation_id = "campaignReport", tag = "campaigns",
    summary = "A special campaign's report (专项整治报告): cases found and fixed, overdue and recurrences (反弹), per unit and per joint enforcement round, and the cases",
    params(("id" = String, Path, description = "The campaign's id"), ReportQuery),
    responses(
        (status = 200, description = "JSON or XLSX", content(
            (CampaignReport = "application/json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Units, dispatchers and the office read reports (the cases of their area)", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        Refusals,
    ))]
pub async fn campaign_report(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadReports)?;
    params.only_documented::<ReportQuery>()?;
    let campaign = found(&ctx, &id).await?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot).filter();
    let format = params.text("format").unwrap_or("json");
    if !matches!(format, "json" | "xlsx") {
        return Err(ApiError::parameter("format", format!("{format:?} is not json or xlsx")));
    }
    let made = report(&ctx.store, &snapshot, &area, campaign, ctx.calendar.offset, ctx.clock.now()).await?;
    match format {
        "xlsx" => {
            let bytes = made.to_xlsx().map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?;
            Ok(download(XLSX, &format!("gridwatch-campaign-{}.xlsx", made.campaign.id), bytes))
        }
        _ => Ok(Json(made).into_response()),
    }
}
