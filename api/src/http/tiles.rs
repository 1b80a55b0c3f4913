//! `GET /tiles/{layer}/{z}/{x}/{y}.mvt`: Mapbox Vector Tiles of grids, assessment points and
//! problems, as the caller's area shows them, with ETags for revalidation; `GET
//! /tiles/{layer}.json`: each layer's TileJSON 3.0.0 (QGIS, MapLibre).

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::Params;
use super::ApiContext;
use crate::app::tiles::{Clocked, TileLayer};
use crate::domain::access::Action;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use maps::tiles::TileId;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The media type of MVT (as registered by Mapbox and used by MapLibre and Martin).
pub const MVT_MEDIA_TYPE: &str = "application/vnd.mapbox-vector-tile";

/// The tile layers, from the type that names them.
fn layer_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(TileLayer::ALL.iter().map(|l| l.name()))).build()
}

/// Which tile: the layer, the zoom and the tile's column and row.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documents the path `tile` reads
struct TileAddress {
    #[param(schema_with = layer_schema)]
    layer: String,
    #[param(minimum = 0, maximum = 22)]
    z: u32,
    x: u32,
    /// The row, followed by `.mvt` in the path.
    y: u32,
}

#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}.mvt", operation_id = "tile", tag = "layers",
    summary = "A Mapbox Vector Tile 2.1 of grids, assessment points or problems as the caller's area shows them (problems cluster below zoom 14)",
    params(
        TileAddress,
        ("If-None-Match" = Option<String>, Header, description = "The ETag of a tile kept: 304 while it is unchanged"),
    ),
    responses(
        (status = 200, description = "The tile (empty when nothing is in it)", content_type = "application/vnd.mapbox-vector-tile", body = Vec<u8>,
            headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag"),
        (status = 400, description = "A tile outside the zoom's range, or a parameter", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        (status = 404, description = "No such layer", body = ErrorBody),
        Refusals,
    ))]
pub async fn tile(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let layer = TileLayer::parse(&layer).ok_or_else(|| {
        ApiError::not_found(format!("no tile layer {layer:?}; the layers are grids, points and problems"))
    })?;
    let principal = caller.require(required(layer))?;
    params.only(&[])?;
    let number = |name: &str, text: &str| {
        text.parse::<u32>().map_err(|_| ApiError::parameter(name, format!("{text:?} is not a whole number")))
    };
    let y = y
        .strip_suffix(".mvt")
        .ok_or_else(|| ApiError::not_found("tiles end in .mvt: /tiles/{layer}/{z}/{x}/{y}.mvt"))?;
    let tile = TileId::new(number("z", &z)?, number("x", &x)?, number("y", y)?)
        .map_err(|reason| ApiError::parameter("tile", reason))?;
    let snapshot = ctx.catalog.snapshot();
    let clock = Clocked { now: ctx.clock.now(), calendar: &ctx.calendar, thresholds: &ctx.thresholds };
    let built = ctx.tiles.tile(&ctx.store, &snapshot, principal, layer, tile, clock).await?;
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == built.etag || tag.trim() == "*"));
    // Tiles depend on who asks (their area): caches may keep them only per user, and must revalidate.
    let cache_headers = [(header::ETAG, built.etag.clone()), (header::CACHE_CONTROL, "private, no-cache".to_string())];
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, cache_headers).into_response());
    }
    Ok((cache_headers, [(header::CONTENT_TYPE, MVT_MEDIA_TYPE)], built.bytes.clone()).into_response())
}

/// TileJSON 3.0.0: where a layer's tiles are and what they hold.
#[derive(Serialize, ToSchema)]
pub struct TileJson {
    /// `3.0.0`
    tilejson: &'static str,
    name: String,
    description: String,
    /// The tile URL template, on the service's public address.
    tiles: Vec<String>,
    /// `xyz`
    scheme: &'static str,
    minzoom: u8,
    maxzoom: u8,
    /// West, south, east, north: the city's grids (the whole world for points and problems).
    bounds: [f64; 4],
    /// Longitude, latitude and zoom to open at.
    center: [f64; 3],
    vector_layers: Vec<VectorLayer>,
}

/// A layer inside the tiles, and its attributes.
#[derive(Serialize, ToSchema)]
pub struct VectorLayer {
    id: String,
    description: String,
    minzoom: u8,
    maxzoom: u8,
    /// Attribute name → its type and meaning.
    fields: BTreeMap<String, String>,
}

/// Which layer's TileJSON.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documents the path `tilejson` reads
struct TileJsonAddress {
    /// The layer, followed by `.json` in the path.
    #[param(schema_with = layer_schema)]
    layer: String,
}

#[utoipa::path(get, path = "/tiles/{layer}.json", operation_id = "tileJson", tag = "layers",
    summary = "TileJSON 3.0.0 of a tile layer: its URL template, zooms, bounds and attributes (for QGIS and MapLibre)",
    params(TileJsonAddress),
    responses(
        (status = 200, description = "The layer's TileJSON", body = TileJson),
        (status = 400, description = "A parameter", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        (status = 404, description = "No such layer", body = ErrorBody),
        Refusals,
    ))]
pub async fn tilejson(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
    Path(file): Path<String>,
) -> Result<Json<TileJson>, ApiError> {
    let layer = file.strip_suffix(".json").and_then(TileLayer::parse).ok_or_else(|| {
        ApiError::not_found(format!("no TileJSON {file:?}; they are grids.json, points.json and problems.json"))
    })?;
    caller.require(required(layer))?;
    params.only(&[])?;
    let world = [-180.0, -85.051_129, 180.0, 85.051_129];
    let grids = ctx.catalog.snapshot().index.bounds().map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
    let bounds = match layer {
        TileLayer::Grids => grids.unwrap_or(world),
        _ => world,
    };
    let [w, s, e, n] = grids.unwrap_or(world);
    let name = layer.name();
    let base = caller.base();
    Ok(Json(TileJson {
        tilejson: "3.0.0",
        name: format!("gridwatch {name}"),
        description: layer.description().to_string(),
        tiles: vec![format!("{base}/tiles/{name}/{{z}}/{{x}}/{{y}}.mvt")],
        scheme: "xyz",
        minzoom: 0,
        maxzoom: maps::tiles::MAX_ZOOM,
        bounds,
        center: [(w + e) / 2.0, (s + n) / 2.0, 12.0],
        vector_layers: vec![VectorLayer {
            id: name.to_string(),
            description: layer.description().to_string(),
            minzoom: 0,
            maxzoom: maps::tiles::MAX_ZOOM,
            fields: layer.fields().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }],
    }))
}

/// What reading a layer needs.
fn required(layer: TileLayer) -> Action {
    match layer {
        TileLayer::Grids => Action::ReadGrids,
        TileLayer::Points => Action::ReadPatrols,
        TileLayer::Problems => Action::ReadProblems,
    }
}
