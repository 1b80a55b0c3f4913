//! `GET /api/v1/coverage` (weekly coverage), `GET /api/v1/coverage/gaps` (its gaps as a map
//! layer) and `GET /api/v1/tiling` (the grid tiling check, 责任全覆盖).

use super::error::{ApiError, ErrorBody, Refusals};
use super::geojson::FeatureCollection;
use super::guard::Caller;
use super::params::Params;
use super::{geojson, ApiContext};
use crate::app::bulletin::Week;
use crate::app::coverage::Coverage;
use crate::app::coverage::{compute, patrol_week};
use crate::domain::access::{Action, Area};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use spatial::tiling::{check_tiling, TileGrid, TilingReport};
use spatial::GridLevel;

/// `week=2026-W47`, defaulting to the week running now.
pub(super) fn week_param(ctx: &ApiContext, params: &Params) -> Result<Week, ApiError> {
    let label = match params.text("week") {
        Some(w) => w.to_string(),
        None => {
            let (year, week, _) = ctx.clock.now().to_offset(ctx.coverage.offset).date().to_iso_week_date();
            format!("{year}-W{week:02}")
        }
    };
    patrol_week(&label, &ctx.coverage).map_err(|reason| ApiError::parameter("week", reason))
}

/// Which week.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameter `coverage` and `coverage_gaps` read (and refuse any other)
pub(super) struct WeekQuery {
    /// ISO week, e.g. 2026-W47 (default: this week).
    #[param(pattern = "^[0-9]{4}-W[0-9]{2}$")]
    week: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/coverage", operation_id = "weeklyCoverage", tag = "patrols",
    summary = "Weekly coverage (一周一梳理): per point, grid, street and unit, with gaps",
    params(WeekQuery),
    responses(
        (status = 200, description = "Coverage", body = Coverage),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn coverage(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadPatrols)?;
    params.only_documented::<WeekQuery>()?;
    let week = week_param(&ctx, &params)?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let (coverage, _) = compute(ctx.store.as_ref(), &snapshot, &area, week, &ctx.coverage).await?;
    Ok(axum::Json(coverage).into_response())
}

/// A coverage gap's properties: which gap, where, and for a point its visits.
#[derive(serde::Serialize)]
struct GapProperties<'a> {
    /// not_covered, off_route, no_officer or no_track.
    gap: &'static str,
    week: &'a str,
    code: &'a str,
    name: Option<&'a str>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    point: Option<PointGap<'a>>,
    unit: &'a Option<String>,
}

/// What a point's gap adds.
#[derive(serde::Serialize)]
struct PointGap<'a> {
    r#type: &'a str,
    grid_code: &'a Option<String>,
    visits: u32,
    required: u8,
}

/// The week's gaps as features: uncovered points and points on no route (their geometry), grids
/// without an officer or without any track (their boundary). `gap` says which.
pub async fn gap_features(
    ctx: &ApiContext,
    principal: &crate::domain::auth::Principal,
    week: Week,
) -> Result<Vec<Value>, ApiError> {
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let (coverage, points) = compute(ctx.store.as_ref(), &snapshot, &area, week, &ctx.coverage).await?;
    let mut features = Vec::new();
    let label = coverage.week.label.clone();
    for (p, c) in points.iter().zip(&coverage.points) {
        for (gap, applies) in [("not_covered", !c.covered), ("off_route", !c.on_route)] {
            if !applies {
                continue;
            }
            let properties = GapProperties {
                gap,
                week: &label,
                code: &p.code,
                name: Some(&p.name),
                point: Some(PointGap {
                    r#type: &p.kind,
                    grid_code: &p.grid_code,
                    visits: c.visits,
                    required: c.required,
                }),
                unit: &p.responsible_unit,
            };
            features.push(geojson::feature(
                format!("{gap}/{}", p.code),
                maps::geojson::geometry(&p.geometry),
                &properties,
            ));
        }
    }
    let entries = snapshot.index.entries();
    let by_code: std::collections::HashMap<&str, usize> =
        entries.iter().enumerate().map(|(i, e)| (e.code.as_str(), i)).collect();
    for (gap, codes) in
        [("no_officer", &coverage.gaps.grids_without_officer), ("no_track", &coverage.gaps.grids_without_track)]
    {
        for code in codes {
            let Some(&i) = by_code.get(code.as_str()) else { continue };
            let payload = &entries[i].payload;
            let properties = GapProperties {
                gap,
                week: &label,
                code,
                name: payload.name.as_deref(),
                point: None,
                unit: &payload.responsible_unit,
            };
            let boundary = maps::geojson::multipolygon(&entries[i].geometry);
            features.push(geojson::feature(format!("{gap}/{code}"), boundary, &properties));
        }
    }
    Ok(features)
}

#[utoipa::path(get, path = "/api/v1/coverage/gaps", operation_id = "coverageGaps", tag = "patrols",
    summary = "The week's coverage gaps as GeoJSON (gap: not_covered, off_route, no_officer, no_track)",
    params(WeekQuery),
    responses(
        (status = 200, description = "FeatureCollection", content_type = "application/geo+json", body = FeatureCollection),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn coverage_gaps(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadPatrols)?;
    params.only_documented::<WeekQuery>()?;
    let week = week_param(&ctx, &params)?;
    Ok(geojson::answer(maps::geojson::feature_collection(gap_features(&ctx, principal, week).await?)))
}

/// Runs the tiling check on stored grids: the grids of `level` below `within` (a grid code whose
/// boundary is the jurisdiction; by default every top-level grid together).
pub async fn tiling_report(
    ctx: &ApiContext,
    principal: &crate::domain::auth::Principal,
    params: &Params,
) -> Result<TilingReport, ApiError> {
    let level = match params.text("level") {
        Some(l) => l.parse::<GridLevel>().map_err(|reason| ApiError::parameter("level", reason))?,
        None => GridLevel::Grid,
    };
    let min_area = match params.text("min_area") {
        None => 1.0,
        Some(t) => t
            .parse::<f64>()
            .ok()
            .filter(|a| a.is_finite() && *a >= 0.0)
            .ok_or_else(|| ApiError::parameter("min_area", "must be a non-negative number of square metres"))?,
    };
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let all = ctx.store.grids_in_bbox(None, None, None, &area.filter(), i64::MAX).await?;
    let boundary = match params.text("within") {
        Some(code) => {
            let g = all.iter().find(|g| g.grid.code == code);
            g.map(|g| g.grid.geometry.clone())
                .ok_or_else(|| ApiError::parameter("within", format!("no grid {code:?} in your area")))?
        }
        None => {
            let top = all.iter().filter_map(|g| g.grid.level).min();
            let parts =
                all.iter().filter(|g| g.grid.level == top && top != Some(level)).flat_map(|g| g.grid.geometry.0.iter());
            geo::unary_union(parts)
        }
    };
    if boundary.0.is_empty() {
        return Err(ApiError::parameter("within", "no boundary: give a grid code above the level checked"));
    }
    let below: Option<std::collections::BTreeSet<String>> =
        params.text("within").map(|code| snapshot.descendants(&[code.to_string()]));
    let grids: Vec<TileGrid> = all
        .into_iter()
        .filter(|g| g.grid.level == Some(level) && below.as_ref().is_none_or(|b| b.contains(&g.grid.code)))
        .map(|g| TileGrid { code: g.grid.code, geometry: g.grid.geometry })
        .collect();
    // The overlay work is CPU-bound: keep it off the async workers.
    tokio::task::spawn_blocking(move || check_tiling(&boundary, &grids, min_area))
        .await
        .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

/// What the tiling check covers.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `tiling` reads (and refuses any other)
pub(super) struct TilingQuery {
    /// The level checked (default grid).
    #[param(schema_with = super::layers::level_schema)]
    level: Option<String>,
    /// A grid code whose boundary is the jurisdiction.
    within: Option<String>,
    /// Ignore parts under this many m² (default 1).
    #[param(minimum = 0)]
    min_area: Option<f64>,
    #[param(inline)]
    format: Option<TilingFormat>,
}

/// The report as JSON, or its findings as GeoJSON.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum TilingFormat {
    Json,
    Geojson,
}

#[utoipa::path(get, path = "/api/v1/tiling", operation_id = "tilingCheck", tag = "grids",
    summary = "Grid tiling check (责任全覆盖): gaps, overlaps and parts outside",
    params(TilingQuery),
    responses(
        (status = 200, description = "Report (JSON) or findings (GeoJSON)", content(
            (Object = "application/json"),
            (FeatureCollection = "application/geo+json"))),
        (status = 400, description = "An unknown or malformed parameter; no boundary", body = ErrorBody),
        (status = 403, description = "Only the office and dispatchers check tiling; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn tiling(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let principal = caller.require(Action::CheckTiling)?;
    params.only_documented::<TilingQuery>()?;
    let format = params.text("format").unwrap_or("json");
    if !matches!(format, "json" | "geojson") {
        return Err(ApiError::parameter("format", "must be json or geojson"));
    }
    let report = tiling_report(&ctx, principal, &params).await?;
    Ok(match format {
        "geojson" => geojson::answer(maps::geojson::feature_collection(maps::geojson::tiling_features(&report))),
        _ => axum::Json(report).into_response(),
    })
}
