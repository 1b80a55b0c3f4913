//! Hot spots (热点) and stubborn points (顽固点位) of a period: `GET /api/v1/hotspots` (GeoJSON),
//! `GET /api/v1/hotspots/tiles/{z}/{x}/{y}.mvt` (the same as vector tiles) and
//! `GET /api/v1/hotspots/stubborn` (the chains of recurrences, for the office's list).

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::Params;
use super::tiles::MVT_MEDIA_TYPE;
use super::ApiContext;
use crate::app::hotspots::{self, Hotspot, HotspotQuery, MAX_CELL_M, MIN_CELL_M};
use crate::domain::access::{Action, Area};
use crate::domain::hotspots::{stubborn_points, HotCase, HotspotBy, StubbornPoint};
use crate::domain::period::Period;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use maps::tiles::TileId;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Days counted when neither `period` nor `days` is given.
const DEFAULT_DAYS: i64 = 30;
const MAX_DAYS: i64 = 366;

/// Which cases a hot-spot map counts, and over what it draws them.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `query` reads (and refuses any other)
struct HotspotParams {
    /// A week (2026-W47), month (2026-11), quarter (2026-Q4) or year (2026) in the city's time.
    #[param(pattern = "^[0-9]{4}(-(W[0-9]{2}|Q[1-4]|[0-9]{1,2}))?$")]
    period: Option<String>,
    /// Instead of a period: the last this many days (default 30).
    #[param(minimum = 1, maximum = 366)]
    days: Option<i64>,
    /// Grids (网格, default) or square cells.
    by: Option<HotspotBy>,
    /// The cells' size in metres (default 200).
    #[param(minimum = 50, maximum = 5000)]
    cell_m: Option<f64>,
    /// Only this catalogue category.
    #[param(max_length = 64)]
    category: Option<String>,
}

/// Which stubborn points: over what period, with how many recurrences at least.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `stubborn` reads
struct StubbornParams {
    /// A week (2026-W47), month (2026-11), quarter (2026-Q4) or year (2026) in the city's time.
    #[param(pattern = "^[0-9]{4}(-(W[0-9]{2}|Q[1-4]|[0-9]{1,2}))?$")]
    period: Option<String>,
    /// Instead of a period: the last this many days (default 30).
    #[param(minimum = 1, maximum = 366)]
    days: Option<i64>,
    /// Only chains with at least this many recurrences (default 2).
    #[param(minimum = 1, maximum = 100)]
    min: Option<u32>,
    /// Only this catalogue category.
    #[param(max_length = 64)]
    category: Option<String>,
}

/// The period counted, as the answer states it.
#[derive(Serialize, ToSchema)]
pub(super) struct Counted {
    /// The period's label (2026-11), or `last 30 days`.
    label: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    to: OffsetDateTime,
}

/// `period` or `days` (not both), as a time span ending no later than now.
fn period(ctx: &ApiContext, params: &Params) -> Result<Counted, ApiError> {
    let now = ctx.clock.now();
    match (params.text("period"), params.text("days")) {
        (Some(_), Some(_)) => Err(ApiError::parameter("days", "give either period or days, not both")),
        (Some(text), None) => {
            let p = Period::parse(text, ctx.calendar.offset).map_err(|r| ApiError::parameter("period", r))?;
            Ok(Counted { label: p.label, from: p.start, to: p.end })
        }
        (None, days) => {
            let days = match days {
                None => DEFAULT_DAYS,
                Some(text) => text.parse::<i64>().ok().filter(|d| (1..=MAX_DAYS).contains(d)).ok_or_else(|| {
                    ApiError::parameter("days", format!("must be a whole number from 1 to {MAX_DAYS}"))
                })?,
            };
            Ok(Counted { label: format!("last {days} days"), from: now - time::Duration::days(days), to: now })
        }
    }
}

fn category(params: &Params) -> Result<Option<String>, ApiError> {
    match params.text("category") {
        Some(c) if c.is_empty() || c.chars().count() > 64 => {
            Err(ApiError::parameter("category", "must be a catalogue code of 1 to 64 characters"))
        }
        other => Ok(other.map(String::from)),
    }
}

fn query(ctx: &ApiContext, params: &Params) -> Result<(Counted, HotspotQuery), ApiError> {
    let counted = period(ctx, params)?;
    let by = match params.text("by").unwrap_or("grid") {
        "grid" => HotspotBy::Grid,
        "cell" => HotspotBy::Cell,
        other => return Err(ApiError::parameter("by", format!("{other:?} is not grid or cell"))),
    };
    let cell_m = match params.text("cell_m") {
        None => 200.0,
        Some(text) => text.parse::<f64>().ok().filter(|m| (MIN_CELL_M..=MAX_CELL_M).contains(m)).ok_or_else(|| {
            ApiError::parameter("cell_m", format!("must be a number from {MIN_CELL_M} to {MAX_CELL_M}"))
        })?,
    };
    let q = HotspotQuery { from: counted.from, to: counted.to, by, cell_m, category: category(params)? };
    Ok((counted, q))
}

/// The hot spots a caller may see: their area's cases only.
async fn spots(ctx: &ApiContext, caller: &Caller, q: &HotspotQuery) -> Result<Vec<Hotspot>, ApiError> {
    let principal = caller.require(Action::ReadReports)?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot).filter();
    let cases: Vec<HotCase> = hotspots::load(&ctx.store, &area, q).await?;
    Ok(hotspots::hotspots(&cases, q.by, &hotspots::cells(&snapshot, q.cell_m), &snapshot))
}

/// Hot spots as GeoJSON: the FeatureCollection with what was counted beside it.
#[derive(Serialize, ToSchema)]
pub(super) struct HotspotCollection {
    /// `FeatureCollection`
    r#type: &'static str,
    period: Counted,
    by: HotspotBy,
    /// The cells' size (by cell only).
    cell_m: Option<f64>,
    /// Most cases first; each a grid's or cell's outline with its key, name, responsible_unit,
    /// cases, open and recurrences.
    #[schema(value_type = Vec<Object>)]
    features: Vec<serde_json::Value>,
}

#[utoipa::path(get, path = "/api/v1/hotspots", operation_id = "hotspots", tag = "reports",
    summary = "Hot spots (热点): cases reported in a period per grid or per square cell, with how many are open and how many are recurrences (反弹), as GeoJSON",
    params(HotspotParams),
    responses(
        (status = 200, description = "RFC 7946 FeatureCollection, most cases first; properties as HotspotProperties", content_type = "application/geo+json", body = HotspotCollection),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Units, dispatchers and the office read hot spots; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn collection(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    caller.require(Action::ReadReports)?;
    params.only_documented::<HotspotParams>()?;
    let (counted, q) = query(&ctx, &params)?;
    let features = spots(&ctx, &caller, &q)
        .await?
        .into_iter()
        .map(|s| super::geojson::feature(&s.properties.key, maps::geojson::multipolygon(&s.geometry), &s.properties))
        .collect();
    let cell_m = (q.by == HotspotBy::Cell).then_some(q.cell_m);
    let body = HotspotCollection { r#type: "FeatureCollection", period: counted, by: q.by, cell_m, features };
    Ok(super::geojson::answer(body))
}

/// Which tile of the hot-spot map.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documents the path `tile` reads
struct HotspotTileAddress {
    #[param(minimum = 0, maximum = 22)]
    z: u32,
    x: u32,
    /// The row, followed by `.mvt` in the path.
    y: u32,
}

#[utoipa::path(get, path = "/api/v1/hotspots/tiles/{z}/{x}/{y}.mvt", operation_id = "hotspotTile", tag = "reports",
    summary = "Hot spots (热点) as a Mapbox Vector Tile (layer hotspots: key, name, responsible_unit, cases, open, recurrences)",
    params(HotspotTileAddress, HotspotParams),
    responses(
        (status = 200, description = "The tile (empty when nothing is in it)", content_type = "application/vnd.mapbox-vector-tile", body = Vec<u8>),
        (status = 400, description = "A tile outside the zoom's range, or a parameter", body = ErrorBody),
        (status = 403, description = "Units, dispatchers and the office read hot spots; or a password change comes first", body = ErrorBody),
        (status = 404, description = "The path does not end in .mvt", body = ErrorBody),
        Refusals,
    ))]
pub async fn tile(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
    Path((z, x, y)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Action::ReadReports)?;
    params.only_documented::<HotspotParams>()?;
    let number = |name: &str, text: &str| {
        text.parse::<u32>().map_err(|_| ApiError::parameter(name, format!("{text:?} is not a whole number")))
    };
    let y = y
        .strip_suffix(".mvt")
        .ok_or_else(|| ApiError::not_found("tiles end in .mvt: /api/v1/hotspots/tiles/{z}/{x}/{y}.mvt"))?;
    let tile = TileId::new(number("z", &z)?, number("x", &x)?, number("y", y)?)
        .map_err(|reason| ApiError::parameter("tile", reason))?;
    let (_, q) = query(&ctx, &params)?;
    let bytes = hotspots::tile(&spots(&ctx, &caller, &q).await?, tile);
    // Counted afresh for each caller (their area) and each moment (the period runs to now).
    Ok(([(header::CONTENT_TYPE, MVT_MEDIA_TYPE), (header::CACHE_CONTROL, "private, no-cache")], bytes).into_response())
}

/// The stubborn points (顽固点位) of a period, most recurrences first.
#[derive(Serialize, ToSchema)]
pub(super) struct StubbornPoints {
    period: Counted,
    /// The fewest recurrences listed.
    min: u32,
    points: Vec<StubbornPoint>,
}

#[utoipa::path(get, path = "/api/v1/hotspots/stubborn", operation_id = "stubbornPoints", tag = "reports",
    summary = "Stubborn points (顽固点位): places where the same problem came back (反弹) again and again in a period",
    params(StubbornParams),
    responses(
        (status = 200, description = "Chains of recurrences in the caller's area, most recurrences first", body = StubbornPoints),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Units, dispatchers and the office read stubborn points; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn stubborn(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
) -> Result<Json<StubbornPoints>, ApiError> {
    let principal = caller.require(Action::ReadReports)?;
    params.only_documented::<StubbornParams>()?;
    let counted = period(&ctx, &params)?;
    let min = match params.text("min") {
        None => 2,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|m| (1..=100).contains(m))
            .ok_or_else(|| ApiError::parameter("min", "must be a whole number from 1 to 100"))?,
    };
    let q = HotspotQuery {
        from: counted.from,
        to: counted.to,
        by: HotspotBy::Grid,
        cell_m: MIN_CELL_M,
        category: category(&params)?,
    };
    let area = Area::of(principal, &ctx.catalog.snapshot()).filter();
    let cases = hotspots::load(&ctx.store, &area, &q).await?;
    Ok(Json(StubbornPoints { period: counted, min, points: stubborn_points(&cases, min) }))
}
