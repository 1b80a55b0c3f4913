//! `GET /api/v1/plans?officer=&week=&base=lon,lat`: an officer's weekly patrol plan (巡查计划)
//! as GeoJSON: one LineString per working day and one Point per stop, with ETAs.

use super::coverage::week_param;
use super::error::{ApiError, ErrorBody, Refusals};
use super::geojson::FeatureCollection;
use super::guard::Caller;
use super::params::Params;
use super::{geojson, ApiContext};
use crate::app::planning::{officer_area, plan_week, Planner, Workload};
use crate::domain::access::{Action, Area};
use crate::domain::auth::Role;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

/// Whose plan, which week, from where.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `plan` reads (and refuses any other)
pub(super) struct PlanQuery {
    /// The officer's user name (or the 网格员 name on grids); officers get their own plan.
    #[param(max_length = 100)]
    officer: Option<String>,
    /// ISO week, e.g. 2026-W47 (default: this week).
    #[param(pattern = "^[0-9]{4}-W[0-9]{2}$")]
    week: Option<String>,
    /// Where each day starts and ends, lon,lat (default: the area's community office point, else the middle of the stops).
    #[param(pattern = "^-?[0-9.]+,-?[0-9.]+$")]
    base: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/plans", operation_id = "weeklyPlan", tag = "patrols",
    summary = "An officer's weekly patrol plan (巡查计划) as GeoJSON",
    description = "A LineString per working day (base, stops, base; along the imported streets when there are some) and a Point per stop with order and ETA; stops left out, with the reason, in the foreign member `unplanned`.",
    params(PlanQuery),
    responses(
        (status = 200, description = "FeatureCollection", content_type = "application/geo+json", body = FeatureCollection),
        (status = 400, description = "An unknown or malformed parameter; no officer named", body = ErrorBody),
        (status = 403, description = "Units read no plans; officers only their own; dispatchers only inside their area", body = ErrorBody),
        (status = 404, description = "No such officer", body = ErrorBody),
        Refusals,
    ))]
pub async fn plan(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadPatrols)?;
    params.only_documented::<PlanQuery>()?;
    if principal.role == Role::Unit {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "the unit role may not read officers' plans"));
    }
    let officer = match (principal.role, params.text("officer")) {
        (Role::Officer, Some(o)) if o != principal.name => {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "an officer reads only their own plan"))
        }
        (Role::Officer, _) => principal.name.clone(),
        (_, Some(o)) if !o.contains('\0') && !o.is_empty() && o.len() <= 100 => o.to_string(),
        (_, Some(_)) => return Err(ApiError::parameter("officer", "must be a user name")),
        (_, None) => return Err(ApiError::parameter("officer", "is required: whose plan?")),
    };
    let base = match params.text("base") {
        None => None,
        Some(text) => {
            let parsed = text
                .split_once(',')
                .and_then(|(x, y)| Some((x.trim().parse::<f64>().ok()?, y.trim().parse::<f64>().ok()?)))
                .filter(|(x, y)| x.abs() <= 180.0 && y.abs() <= 90.0);
            let (x, y) = parsed.ok_or_else(|| ApiError::parameter("base", "must be lon,lat in degrees"))?;
            Some(geo::Coord { x, y })
        }
    };
    let week = week_param(&ctx, &params)?;
    let snapshot = ctx.catalog.snapshot();
    let users = ctx.store.users().await?;
    let area = officer_area(&users, &snapshot, &officer)
        .ok_or_else(|| ApiError::not_found(format!("no officer {officer:?}: no such user, and no grid names them")))?;
    // A dispatcher plans only for officers inside their own area.
    if !Area::of(principal, &snapshot).covers(&area) {
        return Err(super::patrols::officer_outside());
    }
    let work = Workload::load(ctx.store.as_ref(), &snapshot, &area, week, &ctx.coverage).await?;
    let network = ctx.streets.network(ctx.store.as_ref()).await?;
    let how = Planner { rules: &ctx.plan_rules, offset: ctx.coverage.offset, distances: network.as_ref() };
    let plan = plan_week(&work, &officer, &area, ctx.clock.now(), &how, base);
    Ok(geojson::answer(plan.to_geojson()))
}
