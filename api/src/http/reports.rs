//! `GET /api/v1/reports/weekly?week=2026-W47&by=street&format=json|csv|xlsx`: the weekly
//! bulletin (一周一通报) for the caller's area.

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::Params;
use super::{download, ApiContext, XLSX};
use crate::app::bulletin::{load, parse_week, week_of, Bulletin, GroupBy};
use crate::domain::access::{Action, Area};
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
    format: Option<Format>,
}

/// What the bulletin is written as.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum Format {
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
