//! `GET /api/v1/tasks`: the caller's to-do list (待办), most urgent first.

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::Params;
use super::ApiContext;
use crate::app::tasks::{tasks_of, TaskRules, Tasks};
use crate::domain::access::Action;
use axum::extract::State;
use axum::Json;

#[utoipa::path(get, path = "/api/v1/tasks", operation_id = "listTasks", tag = "tasks",
    summary = "The caller's to-do list (待办), most urgent first, with counts per kind",
    description = "A unit's cases to handle or rework; an officer's reports to confirm on site (核实), fixes to check (核查) and points due this week; a dispatcher's reports to accept, register and dispatch, cases to verify, close, re-dispatch or decide an extension for, and the red and yellow cases to chase.",
    responses(
        (status = 200, description = "The list and its counts per kind", body = Tasks),
        (status = 400, description = "An unknown parameter", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn list(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Json<Tasks>, ApiError> {
    let principal = caller.require(Action::ReadProblems)?;
    params.only(&[])?;
    let rules = TaskRules { calendar: &ctx.calendar, thresholds: &ctx.thresholds, coverage: &ctx.coverage };
    let snapshot = ctx.catalog.snapshot();
    Ok(Json(tasks_of(&ctx.store, &snapshot, principal, &rules, ctx.clock.now()).await?))
}
