//! `GET /api/v1/locate?lon=&lat=`: which grid answers for a place.

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::Params;
use super::ApiContext;
use crate::domain::access::Action;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The grid that answers for a place, and every grid whose boundary holds it.
#[derive(Serialize, ToSchema)]
#[schema(as = Location)]
pub(super) struct Located {
    /// The covering grid (smallest code on a shared edge), or null outside every grid.
    grid: Option<LocatedGrid>,
    candidates: Vec<String>,
}

#[derive(Serialize, ToSchema)]
struct LocatedGrid {
    code: String,
    name: Option<String>,
    responsible_unit: Option<String>,
    version: i32,
}

#[utoipa::path(get, path = "/api/v1/locate", operation_id = "locate", tag = "grids",
    summary = "Which grid covers a point (boundary included; smallest code on a shared edge)",
    params(
        ("lon" = f64, Query, minimum = -180, maximum = 180, description = "Longitude (WGS-84)"),
        ("lat" = f64, Query, minimum = -90, maximum = 90, description = "Latitude (WGS-84)"),
    ),
    responses(
        (status = 200, description = "The covering grid, or null, and every candidate", body = Located),
        (status = 400, description = "A missing, malformed or unknown parameter", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn locate(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Json<Located>, ApiError> {
    caller.require(Action::Locate)?;
    params.only(&["lon", "lat"])?;
    let lon = params.coordinate("lon", 180.0)?;
    let lat = params.coordinate("lat", 90.0)?;
    let snapshot = ctx.catalog.snapshot();
    let found = snapshot.index.locate(geo::Coord { x: lon, y: lat });
    let grid = found.grid.map(|e| LocatedGrid {
        code: e.code.clone(),
        name: e.payload.name.clone(),
        responsible_unit: e.payload.responsible_unit.clone(),
        version: e.payload.version,
    });
    let candidates = found.candidates.iter().map(|e| e.code.clone()).collect();
    Ok(Json(Located { grid, candidates }))
}
