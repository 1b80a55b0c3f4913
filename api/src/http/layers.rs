//! `GET /api/v1/layers/{grids,problems}`: RFC 7946 FeatureCollections filtered by `bbox`.

use super::error::{ApiError, ErrorBody, Refusals};
use super::geojson::FeatureCollection;
use super::guard::Caller;
use super::params::Params;
use super::{geojson, ApiContext};
use crate::domain::access::{Action, Area};
use crate::store::{BBox, StoredGrid};
use axum::extract::State;
use axum::response::IntoResponse;
use geo::{Intersects, Rect};
use serde_json::Value;
use spatial::GridLevel;
use time::format_description::well_known::Rfc3339;

pub const DEFAULT_LIMIT: i64 = 10_000;
pub const MAX_LIMIT: i64 = 50_000;

pub(super) fn rect(b: BBox) -> Rect<f64> {
    Rect::new(geo::Coord { x: b.min_lon, y: b.min_lat }, geo::Coord { x: b.max_lon, y: b.max_lat })
}

/// A grid's properties on the map and in the layers.
#[derive(serde::Serialize)]
struct GridProperties<'a> {
    code: &'a str,
    name: &'a Option<String>,
    parent_code: &'a Option<String>,
    level: Option<GridLevel>,
    lead_department: &'a Option<String>,
    responsible_unit: &'a Option<String>,
    officer: &'a Option<String>,
    version: i32,
    valid_from: Option<String>,
}

pub(super) fn grid_feature(g: StoredGrid) -> Value {
    let grid = &g.grid;
    let properties = GridProperties {
        code: &grid.code,
        name: &grid.name,
        parent_code: &grid.parent_code,
        level: grid.level,
        lead_department: &grid.lead_department,
        responsible_unit: &grid.responsible_unit,
        officer: &grid.officer,
        version: g.version,
        valid_from: g.valid_from.format(&Rfc3339).ok(),
    };
    geojson::feature(&grid.code, maps::geojson::multipolygon(&grid.geometry), &properties)
}

/// A bbox no larger than the configured limit.
fn bounded_bbox(ctx: &ApiContext, params: &Params) -> Result<Option<BBox>, ApiError> {
    let bbox = params.bbox()?;
    if let Some(b) = bbox {
        let (per_lat, per_lon) = spatial::geodesy::metres_per_degree((b.min_lat + b.max_lat) / 2.0);
        let km2 = (b.max_lon - b.min_lon) * per_lon * (b.max_lat - b.min_lat) * per_lat / 1e6;
        if km2 > ctx.limits.max_bbox_km2 {
            return Err(ApiError::parameter(
                "bbox",
                format!("covers {km2:.0} km², more than the {:.0} km² allowed", ctx.limits.max_bbox_km2),
            ));
        }
    }
    Ok(bbox)
}

/// Which grids the layer holds.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `grids` reads (and refuses any other)
pub(super) struct GridLayerQuery {
    /// minLon,minLat,maxLon,maxLat (at most the configured area)
    bbox: Option<String>,
    #[param(schema_with = level_schema)]
    level: Option<String>,
    #[param(minimum = 1, maximum = 50000)]
    limit: Option<i64>,
}

/// Which cases the layer holds.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `problems` reads (and refuses any other)
pub(super) struct ProblemLayerQuery {
    /// minLon,minLat,maxLon,maxLat (at most the configured area)
    bbox: Option<String>,
    #[param(minimum = 1, maximum = 50000)]
    limit: Option<i64>,
}

/// The grid levels, from the type that names them.
pub(super) fn level_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(GridLevel::ALL.iter().map(|l| l.as_str())))
        .description(Some("Only grids of this level"))
        .build()
}

#[utoipa::path(get, path = "/api/v1/layers/grids", operation_id = "gridLayer", tag = "layers",
    summary = "Current grids in the caller's area as GeoJSON",
    params(GridLayerQuery),
    responses(
        (status = 200, description = "RFC 7946 FeatureCollection", content_type = "application/geo+json", body = FeatureCollection),
        (status = 400, description = "An unknown or malformed parameter, or a bbox too large", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn grids(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let principal = caller.require(Action::ReadGrids)?;
    params.only_documented::<GridLayerQuery>()?;
    let bbox = bounded_bbox(&ctx, &params)?;
    let limit = params.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
    let level = params
        .text("level")
        .map(|l| l.parse::<GridLevel>().map_err(|reason| ApiError::parameter("level", reason)))
        .transpose()?;
    // The store filters by bounding box; the exact test against the box happens here, alike for both backends.
    let area = Area::of(principal, &ctx.catalog.snapshot()).filter();
    let grids = ctx.store.grids_in_bbox(bbox, level, None, &area, limit).await?;
    let features = grids
        .into_iter()
        .filter(|g| bbox.is_none_or(|b| g.grid.geometry.intersects(&rect(b))))
        .map(grid_feature)
        .collect();
    Ok(geojson::answer(maps::geojson::feature_collection(features)))
}

#[utoipa::path(get, path = "/api/v1/layers/problems", operation_id = "problemLayer", tag = "layers",
    summary = "Problems in the caller's area as GeoJSON",
    params(ProblemLayerQuery),
    responses(
        (status = 200, description = "RFC 7946 FeatureCollection", content_type = "application/geo+json", body = FeatureCollection),
        (status = 400, description = "An unknown or malformed parameter, or a bbox too large", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn problems(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let principal = caller.require(Action::ReadProblems)?;
    params.only_documented::<ProblemLayerQuery>()?;
    let bbox = bounded_bbox(&ctx, &params)?;
    let limit = params.limit(DEFAULT_LIMIT, MAX_LIMIT)?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let problems = ctx.store.problems_in_bbox(bbox, &area.filter(), limit).await?;
    Ok(geojson::answer(maps::geojson::feature_collection(
        problems.into_iter().map(|p| super::present::case_feature(&ctx, &area, p)).collect(),
    )))
}
