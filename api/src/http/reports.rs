//! `GET /api/v1/reports/weekly?week=2026-W47&by=street&format=json|csv|xlsx`: the weekly
//! bulletin (一周一通报) for the caller's area.

use super::error::ApiError;
use super::guard::Caller;
use super::params::Params;
use super::{download, ApiContext, XLSX};
use crate::app::bulletin::{load, parse_week, week_of, GroupBy};
use crate::domain::access::{Action, Area};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

pub async fn weekly(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadReports)?;
    params.only(&["week", "by", "format"])?;
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
