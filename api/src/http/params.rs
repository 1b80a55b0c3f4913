//! Query-string parsing shared by the resources: strict, so a typo is a 400 and not a silent default.

use super::error::ApiError;
use crate::store::BBox;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use std::collections::HashMap;

/// The query string as name → value; a repeated or unknown name is refused by [`Params::only`].
#[derive(Default)]
pub struct Params(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be read: {e}")))?;
        let mut map = HashMap::new();
        for (k, v) in pairs {
            // No name, code or date holds a NUL, and PostgreSQL text cannot: refused here, once,
            // for every endpoint and both backends.
            if k.contains('\0') || v.contains('\0') {
                return Err(ApiError::parameter(&k.replace('\0', "\\0"), "must not contain a NUL character"));
            }
            if map.insert(k.clone(), v).is_some() {
                return Err(ApiError::parameter(&k, "is given more than once"));
            }
        }
        Ok(Self(map))
    }
}

impl Params {
    /// Refuses parameters the endpoint does not know.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        let mut unknown: Vec<&str> = self.0.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
        unknown.sort_unstable();
        match unknown.first() {
            None => Ok(()),
            Some(name) => Err(ApiError::parameter(
                name,
                format!("is not a parameter of this endpoint (known: {})", known.join(", ")),
            )),
        }
    }

    /// Refuses parameters the endpoint's documented query `Q` does not name: the server and its
    /// OpenAPI document know the same parameters.
    pub fn only_documented<Q: utoipa::IntoParams>(&self) -> Result<(), ApiError> {
        let names: Vec<String> = Q::into_params(|| None).into_iter().map(|p| p.name).collect();
        self.only(&names.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Every parameter, for links that repeat a query.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut all: Vec<(&str, &str)> = self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.sort_unstable();
        all.into_iter()
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required finite number within ±`limit`.
    pub fn coordinate(&self, name: &str, limit: f64) -> Result<f64, ApiError> {
        let text = self.text(name).ok_or_else(|| ApiError::parameter(name, "is required"))?;
        parse_coordinate(text, limit).map_err(|reason| ApiError::parameter(name, reason))
    }

    /// `bbox=minLon,minLat,maxLon,maxLat`, if given.
    pub fn bbox(&self) -> Result<Option<BBox>, ApiError> {
        let Some(text) = self.text("bbox") else {
            return Ok(None);
        };
        let parts: Vec<&str> = text.split(',').collect();
        if parts.len() != 4 {
            return Err(ApiError::parameter("bbox", "must be four numbers: minLon,minLat,maxLon,maxLat"));
        }
        let mut v = [0.0; 4];
        for (i, p) in parts.iter().enumerate() {
            let limit = if i % 2 == 0 { 180.0 } else { 90.0 };
            v[i] = parse_coordinate(p.trim(), limit).map_err(|reason| ApiError::parameter("bbox", reason))?;
        }
        if v[0] > v[2] || v[1] > v[3] {
            return Err(ApiError::parameter("bbox", "minimum must not exceed maximum"));
        }
        Ok(Some(BBox { min_lon: v[0], min_lat: v[1], max_lon: v[2], max_lat: v[3] }))
    }

    /// `limit`, defaulting to `default` and refused above `max`.
    pub fn limit(&self, default: i64, max: i64) -> Result<i64, ApiError> {
        match self.text("limit") {
            None => Ok(default),
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::parameter("limit", format!("must be a whole number from 1 to {max}"))),
            },
        }
    }
}

/// A finite decimal number within ±`limit`.
pub fn parse_coordinate(text: &str, limit: f64) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|_| format!("{text:?} is not a number"))?;
    if !value.is_finite() {
        return Err(format!("{text:?} is not a finite number"));
    }
    if value.abs() > limit {
        return Err(format!("{value} is out of range (±{limit})"));
    }
    Ok(value)
}

/// A request body that must be a JSON value: unreadable or malformed bodies are named 4xx errors.
pub fn json_body(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<serde_json::Value, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status(), "unreadable_body", e.to_string()))?;
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
            .with_details(serde_json::json!({"line": e.line(), "column": e.column()}))
    })
}

/// A request body read into its typed form: malformed JSON is 400 `malformed_json`, JSON of
/// the wrong shape (a missing, unknown or mistyped field) is 422 `invalid_body` naming the field.
pub fn typed_body<T: serde::de::DeserializeOwned>(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<T, ApiError> {
    typed_body_or(body, "invalid_body")
}

/// [`typed_body`], answering a body of the wrong shape with the endpoint's own error `code`.
pub fn typed_body_or<T: serde::de::DeserializeOwned>(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
    code: &'static str,
) -> Result<T, ApiError> {
    typed_value(json_body(body)?, code)
}

/// A JSON value read into its typed form, a fault answered with `code` naming the field.
pub fn typed_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    code: &'static str,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        // The path of the field at fault (`extension.unit`, `fixes[0].time`); `.` is the body.
        let path = e.path().to_string();
        let field = if path == "." { "body".to_string() } else { path };
        field_error(code, &field, e.into_inner().to_string())
    })
}
/// The body as a JSON object of only the named fields (422 naming the first unknown one).
pub fn object_with<'a>(
    value: &'a serde_json::Value,
    fields: &[&str],
) -> Result<&'a serde_json::Map<String, serde_json::Value>, ApiError> {
    let obj = value.as_object().ok_or_else(|| invalid_field("body", "must be a JSON object"))?;
    match obj.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(invalid_field("body", format!("unknown field {k:?} (fields: {})", fields.join(", ")))),
        None => Ok(obj),
    }
}

/// An invalid field of a request body: 422 `invalid_body` with the field named.
pub fn invalid_field(field: &str, reason: impl Into<String>) -> ApiError {
    field_error("invalid_body", field, reason)
}

/// A body's text field, trimmed, of 1 to `max` characters and no NUL; otherwise 422 with the
/// endpoint's error `code` and the field named.
pub fn text_field(code: &'static str, field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.contains('\0') {
        return Err(field_error(code, field, format!("must be text of 1 to {max} characters")));
    }
    Ok(value.to_string())
}

/// An invalid field of a request body: 422 with the endpoint's error `code` and the field named.
pub fn field_error(code: &'static str, field: &str, reason: impl Into<String>) -> ApiError {
    let reason = reason.into();
    ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, code, format!("{field}: {reason}"))
        .with_details(serde_json::json!({"fields": [{"field": field, "reason": reason}]}))
}
