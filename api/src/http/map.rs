//! `/map/`: the web map (maps::web), public like any page; its data comes from the API with the
//! user's own token, so the page itself reveals nothing.

use super::error::ApiError;
use super::ApiContext;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde_json::{json, Value};

pub async fn to_map() -> Redirect {
    Redirect::permanent("/map/")
}

pub async fn page() -> Result<Response, ApiError> {
    file(Path(String::new())).await
}

pub async fn file(Path(name): Path<String>) -> Result<Response, ApiError> {
    let (media, bytes) = maps::web::file(&name).ok_or_else(|| ApiError::not_found(format!("no map file {name:?}")))?;
    // The page and the service worker always revalidate (a new binary's files then reach phones
    // that keep the app offline); the rest is versioned with the binary and cached for a day.
    let cache = if media.starts_with("text/html") || name == "sw.js" { "no-cache" } else { "public, max-age=86400" };
    Ok(([(header::CONTENT_TYPE, media), (header::CACHE_CONTROL, cache)], bytes).into_response())
}

/// The map's settings: the basemap, if any.
pub async fn config(State(ctx): State<ApiContext>) -> Json<Value> {
    Json(json!({"basemap": ctx.basemap.as_deref()}))
}
