//! `GET /api/v1/reports/weekly?week=2026-W47&by=street&format=json|csv|xlsx`: the weekly
//! bulletin (一周一通报) for the caller's area; `GET /api/v1/evaluations?period=2026-11&by=post`:
//! the evaluation (实绩考核) of areas, units or officers over any period.

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::Params;
use super::{download, ApiContext, XLSX};
use crate::app::bulletin::{load, parse_week, week_of, Bulletin, GroupBy};
use crate::app::evaluation::{evaluate, Evaluation, Setting};
use crate::domain::access::{Action, Area};
use crate::domain::evaluation::EvaluateBy;
use crate::domain::period::Period;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Which week, grouped how, in which format.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `weekly` reads (and refuses any other)
pub(super) struct WeeklyQuery {
    /// An ISO week, e.g. 2026-W47 (default: this week).
    #[param(pattern = "^[0-9]{4}-W[0-9]{2}$")]
    week: Option<String>,
    /// Rows per grid, street (default), unit or department.
    by: Option<GroupBy>,
    #[param(inline)]
    format: Option<BulletinFormat>,
}

/// What the bulletin is written as.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum BulletinFormat {
    Json,
    Csv,
    Xlsx,
}

#[utoipa::path(get, path = "/api/v1/reports/weekly", operation_id = "weeklyBulletin", tag = "reports",
    summary = "The weekly bulletin (一周一通报): indicators per grid, street, unit or department, ranked",
    params(WeeklyQuery),
    responses(
        (status = 200, description = "JSON, CSV or XLSX", content(
            (Bulletin = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Only the office and dispatchers read bulletins; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn weekly(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadReports)?;
    params.only_documented::<WeeklyQuery>()?;
    let offset = ctx.calendar.offset;
    let week = match params.text("week") {
        Some(w) => parse_week(w, offset).map_err(|r| ApiError::parameter("week", r))?,
        None => week_of(ctx.clock.now(), offset),
    };
    let by = GroupBy::parse(params.text("by").unwrap_or("street")).map_err(|r| ApiError::parameter("by", r))?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot).filter();
    let bulletin = load(ctx.store.as_ref(), &snapshot, &area, week, by, ctx.clock.now()).await?;
    let file = format!("gridwatch-weekly-{}", bulletin.week.label);
    match params.text("format").unwrap_or("json") {
        "json" => Ok(Json(bulletin).into_response()),
        "csv" => Ok(download("text/csv; charset=utf-8", &format!("{file}.csv"), bulletin.to_csv().map_err(internal)?)),
        "xlsx" => Ok(download(XLSX, &format!("{file}.xlsx"), bulletin.to_xlsx().map_err(internal)?)),
        other => Err(ApiError::parameter("format", format!("{other:?} is not json, csv or xlsx"))),
    }
}

fn internal(e: String) -> ApiError {
    tracing::error!(error = %e, "bulletin rendering failed");
    ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", "the bulletin could not be rendered")
}

/// Which period, evaluating what, in which format.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `evaluations` reads (and refuses any other)
pub(super) struct EvaluationQuery {
    /// A week (2026-W47), month (2026-11), quarter (2026-Q4) or year (2026); default: last month.
    #[param(pattern = "^[0-9]{4}(-(W[0-9]{2}|Q[1-4]|[0-9]{1,2}))?$")]
    period: Option<String>,
    /// Rows per area (street, default), unit or post (grid officer).
    by: Option<EvaluateBy>,
    #[param(inline)]
    format: Option<EvaluationFormat>,
}

/// What the evaluation is written as.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum EvaluationFormat {
    Json,
    Xlsx,
}

#[utoipa::path(get, path = "/api/v1/evaluations", operation_id = "evaluate", tag = "reports",
    summary = "Evaluation (实绩考核) of areas, units or posts over a week, month, quarter or year: a weighted score, a grade and a ranking",
    params(EvaluationQuery),
    responses(
        (status = 200, description = "JSON or XLSX", content(
            (Evaluation = "application/json"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Only the office, dispatchers and units read evaluations; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn evaluations(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadReports)?;
    params.only_documented::<EvaluationQuery>()?;
    let offset = ctx.calendar.offset;
    let now = ctx.clock.now();
    let period = match params.text("period") {
        Some(p) => Period::parse(p, offset).map_err(|r| ApiError::parameter("period", r))?,
        None => Period::month_before(now, offset),
    };
    let by = params.text("by").unwrap_or("area");
    let by =
        EvaluateBy::parse(by).ok_or_else(|| ApiError::parameter("by", format!("{by:?} is not area, unit or post")))?;
    let format = params.text("format").unwrap_or("json");
    if !matches!(format, "json" | "xlsx") {
        return Err(ApiError::parameter("format", format!("{format:?} is not json or xlsx")));
    }
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let setting = Setting {
        snapshot: &snapshot,
        area: &area,
        rules: &ctx.evaluation_rules,
        calendar: &ctx.calendar,
        confirmation: &ctx.confirmation,
        now,
    };
    let evaluation = evaluate(&ctx.store, period, by, &setting).await?;
    if format == "xlsx" {
        let file = format!("gridwatch-evaluation-{}-{}.xlsx", evaluation.period.label, by_name(by));
        return Ok(download(XLSX, &file, evaluation.to_xlsx().map_err(internal)?));
    }
    Ok(Json(evaluation).into_response())
}

fn by_name(by: EvaluateBy) -> &'static str {
    match by {
        EvaluateBy::Area => "area",
        EvaluateBy::Unit => "unit",
        EvaluateBy::Post => "post",
    }
}
