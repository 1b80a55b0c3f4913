//! GeoJSON answers (RFC 7946, `application/geo+json`): the layers, plans, coverage gaps, points,
//! routes and tracks. `maps::geojson` writes them; the types here are their documented shape.

use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::ToSchema;

/// The media type of every GeoJSON answer.
pub const MEDIA_TYPE: &str = "application/geo+json";

/// A GeoJSON document as an answer.
pub fn answer(body: impl serde::Serialize) -> Response {
    match serde_json::to_vec(&body) {
        Ok(bytes) => ([(axum::http::header::CONTENT_TYPE, MEDIA_TYPE)], bytes).into_response(),
        Err(e) => super::error::ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            .into_response(),
    }
}

/// A feature whose properties are a typed struct, written as `maps::geojson` writes them all.
pub fn feature(id: impl serde::Serialize, geometry: Value, properties: &impl serde::Serialize) -> Value {
    let properties = match serde_json::to_value(properties) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    maps::geojson::feature(serde_json::to_value(id).unwrap_or(Value::Null), geometry, properties)
}

/// An RFC 7946 FeatureCollection.
#[derive(ToSchema)]
#[allow(dead_code)] // describes what `maps::geojson::feature_collection` writes
pub struct FeatureCollection {
    #[schema(inline)]
    r#type: CollectionType,
    features: Vec<Feature>,
}

/// An RFC 7946 Feature: a geometry and its properties.
#[derive(ToSchema)]
#[allow(dead_code)] // describes what `maps::geojson::feature` writes
pub struct Feature {
    #[schema(inline)]
    r#type: GeoJsonFeatureType,
    /// The feature's code or id.
    id: Option<FeatureKey>,
    /// A GeoJSON geometry: `type` and `coordinates` (WGS 84 longitude, latitude).
    #[schema(value_type = Object)]
    geometry: Value,
    #[schema(value_type = Object)]
    properties: Value,
}

/// A feature's id: text (a code) or a number.
#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum FeatureKey {
    Text(String),
    Number(i64),
}

#[derive(ToSchema)]
#[allow(dead_code)]
enum CollectionType {
    FeatureCollection,
}

#[derive(ToSchema)]
#[allow(dead_code)]
enum GeoJsonFeatureType {
    Feature,
}
