//! `GET /api/v1/tasks`: the caller's to-do list (待办), most urgent first.

use super::error::ApiError;
use super::guard::Caller;
use super::params::Params;
use super::ApiContext;
use crate::app::tasks::{tasks_of, TaskRules, Tasks};
use crate::domain::access::Action;
use axum::extract::State;
use axum::Json;

pub async fn list(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Json<Tasks>, ApiError> {
    let principal = caller.require(Action::ReadProblems)?;
    params.only(&[])?;
    let rules = TaskRules { calendar: &ctx.calendar, thresholds: &ctx.thresholds, coverage: &ctx.coverage };
    let snapshot = ctx.catalog.snapshot();
    Ok(Json(tasks_of(&ctx.store, &snapshot, principal, &rules, ctx.clock.now()).await?))
}
