//! `GET /api/v1/locate?lon=&lat=`: which grid answers for a place.

use super::error::ApiError;
use super::guard::Caller;
use super::params::Params;
use super::ApiContext;
use crate::domain::access::Action;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

pub async fn locate(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Json<Value>, ApiError> {
    caller.require(Action::Locate)?;
    params.only(&["lon", "lat"])?;
    let lon = params.coordinate("lon", 180.0)?;
    let lat = params.coordinate("lat", 90.0)?;
    let snapshot = ctx.catalog.snapshot();
    let found = snapshot.index.locate(geo::Coord { x: lon, y: lat });
    let grid = found.grid.map(|e| {
        json!({
            "code": e.code,
            "name": e.payload.name,
            "responsible_unit": e.payload.responsible_unit,
            "version": e.payload.version,
        })
    });
    let candidates: Vec<&str> = found.candidates.iter().map(|e| e.code.as_str()).collect();
    Ok(Json(json!({"grid": grid, "candidates": candidates})))
}
