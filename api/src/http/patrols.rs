//! Assessment points (`/api/v1/points`), planned routes (`/api/v1/routes`), GPS tracks
//! (`/api/v1/tracks`) and inspections (`/api/v1/inspections`).

use super::error::{ApiError, BodyRefusals, ErrorBody, Refusals};
use super::geojson::{Feature, FeatureCollection};
use super::guard::Caller;
use super::idempotency::IdempotencyKey;
use super::params::{invalid_field, json_body, object_with, Params};
use super::{geojson, ApiContext};
use crate::app::bulletin::Week;
use crate::app::hotspots::hint_recurrences;
use crate::domain::access::{Action, Area};
use crate::domain::auth::{Principal, Role};
use crate::domain::intake::{route, Report};
use crate::domain::patrol::{CriterionResult, CriterionSchema, Inspection, StoredPoint, StoredRoute};
use crate::domain::problem::{Class, Origin, Problem, Source};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use spatial::patrol::{AssessmentPoint, PlannedRoute};
use spatial::track::{clean, CleaningRules, RawFix};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// Most fixes one `POST /api/v1/tracks` may carry (a phone sends a few hundred at most).
pub const MAX_FIXES_PER_BATCH: usize = 10_000;
/// Largest accepted patrol request body.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

// The bodies below are read by the importers' feature parsers (shared with `gridwatch import`,
// which name every field at fault); these types are the shapes the API documents for them.

/// An assessment point (测评点位) as a GeoJSON Feature: Point, LineString or Polygon.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct PointFeature {
    #[schema(inline)]
    r#type: PatrolFeatureType,
    /// A GeoJSON Point, LineString or Polygon (WGS 84).
    #[schema(value_type = Object)]
    geometry: Value,
    #[schema(inline)]
    properties: PointProperties,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct PointProperties {
    /// Unique; the path's code wins on PUT.
    code: Option<String>,
    name: String,
    /// A point type id (market) or its Chinese name (农贸市场).
    r#type: String,
    #[schema(value_type = Option<Vec<CriterionSchema>>)]
    criteria: Option<Vec<Value>>,
    #[schema(minimum = 1, maximum = 7)]
    required_per_week: Option<u8>,
    /// The responsible unit (责任单位); default: the grid's.
    unit: Option<String>,
}

/// A planned route: a LineString for one officer and weekday.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct RouteFeature {
    #[schema(inline)]
    r#type: PatrolFeatureType,
    /// A GeoJSON LineString (WGS 84).
    #[schema(value_type = Object)]
    geometry: Value,
    #[schema(inline)]
    properties: RouteProperties,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct RouteProperties {
    officer: String,
    weekday: Weekday,
    name: Option<String>,
}

/// 1-7 (Monday first) or a day name.
#[derive(serde::Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Weekday {
    Number(u8),
    Name(String),
}

/// RFC 3339 text or Unix seconds.
#[derive(serde::Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Moment {
    #[schema(format = DateTime)]
    Text(String),
    Seconds(i64),
}

#[derive(ToSchema)]
#[allow(dead_code)]
enum PatrolFeatureType {
    Feature,
}

/// A batch of GPS fixes from an officer's phone.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(super) struct TrackBatch {
    /// Default: the caller; officers may send only their own.
    officer: Option<String>,
    #[schema(min_items = 1, max_items = 10000)]
    fixes: Vec<Fix>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Fix {
    time: Moment,
    #[schema(minimum = -180, maximum = 180)]
    lon: f64,
    #[schema(minimum = -90, maximum = 90)]
    lat: f64,
    /// Metres; fixes less accurate than the rules allow are dropped and counted.
    #[schema(minimum = 0)]
    accuracy: Option<f64>,
}

/// An inspection (check-in) at an assessment point.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(as = NewInspection)]
pub(super) struct InspectionReport {
    point: String,
    /// Default: the caller; officers may record only their own.
    officer: Option<String>,
    /// Default: now.
    time: Option<Moment>,
    results: Vec<CriterionResult>,
    note: Option<String>,
    /// Photo URLs or hashes.
    #[schema(max_items = 20)]
    photos: Option<Vec<String>>,
}

/// A track batch as stored: what was kept and what cleaning dropped.
#[derive(serde::Serialize, ToSchema)]
pub struct TrackStored {
    /// The stored track; null when every fix was dropped.
    id: Option<i64>,
    officer: String,
    received: usize,
    stored: usize,
    dropped: usize,
    dropped_by_reason: DroppedFixes,
}

/// How many fixes cleaning dropped, and why (`spatial::track::Dropped`).
#[derive(serde::Serialize, ToSchema)]
pub struct DroppedFixes {
    /// Less accurate than the rules allow.
    inaccurate: usize,
    /// A jump no walker makes.
    spikes: usize,
    /// The same time as a kept fix.
    duplicates: usize,
}

/// An inspection as shown: the record, with its time in the city's zone.
#[derive(serde::Serialize, ToSchema)]
pub struct ShownInspection {
    #[serde(flatten)]
    #[schema(inline)]
    inspection: Inspection,
    /// RFC 3339, in the city's time zone.
    time: Option<String>,
}

/// An inspection recorded, with the cases its failed criteria opened.
#[derive(serde::Serialize, ToSchema)]
pub struct InspectionRecorded {
    inspection: ShownInspection,
    problems: Vec<Problem>,
}

/// The week's inspections.
#[derive(serde::Serialize, ToSchema)]
pub struct Inspections {
    week: Week,
    inspections: Vec<ShownInspection>,
}

/// Which points.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `list_points` reads (and refuses any other)
pub(super) struct PointQuery {
    /// minLon,minLat,maxLon,maxLat
    bbox: Option<String>,
    /// A point type id or Chinese name.
    r#type: Option<String>,
    /// A grid code the point lies in or touches.
    grid: Option<String>,
    #[param(minimum = 1, maximum = 200000)]
    limit: Option<i64>,
}

/// Whose routes, which day.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `list_routes` reads (and refuses any other)
pub(super) struct RouteQuery {
    /// A user name.
    officer: Option<String>,
    /// 1-7 or a day name.
    weekday: Option<String>,
}

/// Whose tracks, which day.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `get_tracks` reads (and refuses any other)
pub(super) struct TrackQuery {
    /// A user name (officers: only themselves).
    officer: Option<String>,
    /// A local date, e.g. 2026-11-16 (default: today).
    date: Option<String>,
}

/// Which week's inspections, at which point.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `list_inspections` reads (and refuses any other)
pub(super) struct InspectionQuery {
    /// ISO week, e.g. 2026-W47 (default: this week).
    #[param(pattern = "^[0-9]{4}-W[0-9]{2}$")]
    week: Option<String>,
    /// An assessment point code.
    point: Option<String>,
}

fn record_error(e: importers::RecordError) -> ApiError {
    invalid_field(&e.field, e.reason)
}

/// An assessment point's properties as features show them.
#[derive(serde::Serialize)]
struct ShownPointProperties<'a> {
    code: &'a str,
    name: &'a str,
    r#type: &'a str,
    /// The type's Chinese name (农贸市场).
    type_zh: Option<&'static str>,
    criteria: &'a [spatial::patrol::Criterion],
    required_per_week: u8,
    grid_code: &'a Option<String>,
    grids: &'a [String],
    unit: &'a Option<String>,
    updated_at: Option<String>,
}

pub(super) fn point_feature(p: &StoredPoint) -> Value {
    let properties = ShownPointProperties {
        code: &p.code,
        name: &p.name,
        r#type: &p.kind,
        type_zh: spatial::patrol::POINT_KINDS.iter().find(|(id, _)| *id == p.kind).map(|(_, zh)| *zh),
        criteria: &p.criteria,
        required_per_week: p.required_per_week,
        grid_code: &p.grid_code,
        grids: &p.grids,
        unit: &p.responsible_unit,
        updated_at: p.updated_at.format(&Rfc3339).ok(),
    };
    geojson::feature(&p.code, maps::geojson::geometry(&p.geometry), &properties)
}

/// A planned route's properties as features show them.
#[derive(serde::Serialize)]
struct ShownRouteProperties<'a> {
    id: i64,
    officer: &'a str,
    weekday: u8,
    name: &'a Option<String>,
}

pub(super) fn route_feature(r: &StoredRoute) -> Value {
    let properties = ShownRouteProperties { id: r.id, officer: &r.officer, weekday: r.weekday, name: &r.name };
    geojson::feature(r.id, maps::geojson::line_string(&r.line), &properties)
}

/// A day's track of one officer, as features show it.
#[derive(serde::Serialize)]
struct TrackProperties {
    officer: String,
    date: String,
    fixes: usize,
    first_fix: Option<String>,
    last_fix: Option<String>,
}

/// Visible points, filtered as asked.
pub(super) async fn visible_points(
    ctx: &ApiContext,
    principal: &Principal,
    params: &Params,
) -> Result<Vec<StoredPoint>, ApiError> {
    let bbox = params.bbox()?;
    let kind = params
        .text("type")
        .map(|t| {
            spatial::patrol::point_kind(t)
                .ok_or_else(|| ApiError::parameter("type", format!("{t:?} is not a point type")))
        })
        .transpose()?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let grid = params.text("grid");
    Ok(ctx
        .store
        .points(bbox)
        .await?
        .into_iter()
        .filter(|p| area.sees_point(p))
        .filter(|p| kind.is_none_or(|k| p.kind == k))
        .filter(|p| grid.is_none_or(|g| p.grid_code.as_deref() == Some(g) || p.grids.iter().any(|x| x == g)))
        .collect())
}

#[utoipa::path(get, path = "/api/v1/points", operation_id = "listPoints", tag = "patrols",
    summary = "Assessment points (测评点位) in the caller's area as GeoJSON",
    params(PointQuery),
    responses(
        (status = 200, description = "FeatureCollection", content_type = "application/geo+json", body = FeatureCollection),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Not the caller's to read; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn list_points(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadPatrols)?;
    params.only_documented::<PointQuery>()?;
    let limit = params.limit(10_000, 200_000)? as usize;
    let points = visible_points(&ctx, principal, &params).await?;
    Ok(geojson::answer(maps::geojson::feature_collection(points.iter().take(limit).map(point_feature).collect())))
}

async fn visible_point(ctx: &ApiContext, caller: &Caller, code: &str) -> Result<StoredPoint, ApiError> {
    let principal = caller.require(Action::ReadPatrols)?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    if code.contains('\0') {
        return Err(ApiError::not_found(format!("no assessment point {code:?}")));
    }
    let point = ctx.store.point(code.to_string()).await?;
    point.filter(|p| area.sees_point(p)).ok_or_else(|| ApiError::not_found(format!("no assessment point {code:?}")))
}

#[utoipa::path(get, path = "/api/v1/points/{code}", operation_id = "getPoint", tag = "patrols",
    summary = "One assessment point",
    params(("code" = String, Path, min_length = 1, max_length = 100)),
    responses(
        (status = 200, description = "Feature", content_type = "application/geo+json", body = Feature),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        (status = 404, description = "No such point in the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn get_point(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    Ok(geojson::answer(point_feature(&visible_point(&ctx, &caller, &code).await?)))
}

/// Parses a point Feature from a body; `code` from the path wins over the properties'.
fn point_from_body(value: Value, code: Option<&str>) -> Result<AssessmentPoint, ApiError> {
    let mut value = value;
    if let (Some(code), Some(props)) = (code, value.get_mut("properties").and_then(Value::as_object_mut)) {
        props.insert("code".into(), json!(code));
    }
    let feature = importers::geojson::parse_any_feature(value).map_err(record_error)?;
    importers::patrol::point_from_feature(&feature).map_err(|errors| {
        let fields: Vec<Value> = errors.iter().map(|e| json!({"field": e.field, "reason": e.reason})).collect();
        let summary: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect();
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", summary.join("; "))
            .with_details(json!({"fields": fields}))
    })
}

async fn save_point(
    ctx: &ApiContext,
    caller: &Caller,
    point: AssessmentPoint,
    create_only: bool,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ManagePatrols)?;
    let now = ctx.clock.now();
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let existing = ctx.store.point(point.code.clone()).await?;
    if create_only && existing.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("assessment point {:?} exists already: PUT /api/v1/points/{{code}} changes it", point.code),
        ));
    }
    // A point outside the caller's area is not theirs to change (and looks absent, as on reading).
    if existing.as_ref().is_some_and(|p| !area.sees_point(p)) {
        return Err(ApiError::not_found(format!("no assessment point {:?}", point.code)));
    }
    let exists = existing.is_some();
    let stored = crate::domain::patrol::placed(&snapshot, point, now);
    if !area.sees_point(&stored) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "outside_area",
            "the point would lie outside your area: you can place points only inside it",
        ));
    }
    ctx.store.upsert_points(vec![stored.clone()], now, caller.actor(), false).await?;
    ctx.tiles.points_changed();
    let status = if exists { StatusCode::OK } else { StatusCode::CREATED };
    let location = format!("/api/v1/points/{}", stored.code);
    Ok((
        status,
        [(header::LOCATION, location), (header::CONTENT_TYPE, "application/geo+json".into())],
        point_feature(&stored).to_string(),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/points", operation_id = "createPoint", tag = "patrols",
    summary = "Create an assessment point; it is routed to the grid holding most of it",
    request_body = PointFeature,
    responses(
        (status = 201, description = "Created", content_type = "application/geo+json", body = Feature),
        (status = 403, description = "Not the caller's to write, or outside their area", body = ErrorBody),
        BodyRefusals,
        (status = 409, description = "A point with this code exists", body = ErrorBody),
        Refusals,
    ))]
pub async fn create_point(
    State(ctx): State<ApiContext>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Action::ManagePatrols)?;
    let point = point_from_body(json_body(body)?, None)?;
    save_point(&ctx, &caller, point, true).await
}

#[utoipa::path(put, path = "/api/v1/points/{code}", operation_id = "putPoint", tag = "patrols",
    summary = "Create or replace an assessment point by code",
    params(("code" = String, Path, min_length = 1, max_length = 100)),
    request_body = PointFeature,
    responses(
        (status = 200, description = "Updated", content_type = "application/geo+json", body = Feature),
        (status = 201, description = "Created", content_type = "application/geo+json", body = Feature),
        (status = 403, description = "Not the caller's to write, or outside their area", body = ErrorBody),
        BodyRefusals,
        (status = 404, description = "No such point in the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn put_point(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(code): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Action::ManagePatrols)?;
    if code.trim().is_empty() || code.len() > 100 || code.contains('\0') {
        return Err(ApiError::parameter("code", "must be 1-100 characters"));
    }
    let point = point_from_body(json_body(body)?, Some(&code))?;
    save_point(&ctx, &caller, point, false).await
}

#[utoipa::path(delete, path = "/api/v1/points/{code}", operation_id = "deletePoint", tag = "patrols",
    summary = "Delete an assessment point",
    params(("code" = String, Path, min_length = 1, max_length = 100)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A parameter", body = ErrorBody),
        (status = 403, description = "Not the caller's to delete", body = ErrorBody),
        (status = 404, description = "No such point in the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn delete_point(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Action::ManagePatrols)?;
    // Only a point the caller may see may be deleted; any other looks absent.
    visible_point(&ctx, &caller, &code).await?;
    if ctx.store.delete_point(code.clone(), ctx.clock.now(), caller.actor()).await? {
        ctx.tiles.points_changed();
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no assessment point {code:?}")))
    }
}

/// The refusal for acting on an officer outside the caller's area.
pub(super) fn officer_outside() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", "that officer's area is outside yours")
}

/// May `principal` write for `officer` (their routes, tracks, inspections)? Officers only for
/// themselves; everyone else only for officers whose whole area lies inside their own (an admin,
/// or a whole-city scope, for anyone).
pub(super) async fn may_write_for(ctx: &ApiContext, principal: &Principal, officer: &str) -> Result<(), ApiError> {
    if officer == principal.name {
        return Ok(());
    }
    if principal.role == Role::Officer {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "an officer records only their own tracks and inspections",
        ));
    }
    let snapshot = ctx.catalog.snapshot();
    let mine = Area::of(principal, &snapshot);
    if mine == Area::Everything {
        return Ok(());
    }
    let users = ctx.store.users().await?;
    match crate::app::planning::officer_area(&users, &snapshot, officer) {
        Some(theirs) if mine.covers(&theirs) => Ok(()),
        _ => Err(officer_outside()),
    }
}

/// Routes the caller may see: officers their own, everyone else (but citizen apps) all.
pub(super) async fn visible_routes(ctx: &ApiContext, principal: &Principal) -> Result<Vec<StoredRoute>, ApiError> {
    let all = ctx.store.routes().await?;
    Ok(match principal.role {
        Role::Officer => all.into_iter().filter(|r| r.officer == principal.name).collect(),
        _ => all,
    })
}

#[utoipa::path(get, path = "/api/v1/routes", operation_id = "listRoutes", tag = "patrols",
    summary = "Planned patrol routes (officers see their own)",
    params(RouteQuery),
    responses(
        (status = 200, description = "FeatureCollection of LineStrings", content_type = "application/geo+json", body = FeatureCollection),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Not the caller's to read; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn list_routes(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadPatrols)?;
    params.only_documented::<RouteQuery>()?;
    let weekday = params
        .text("weekday")
        .map(|w| {
            importers::patrol::parse_weekday(w)
                .ok_or_else(|| ApiError::parameter("weekday", "must be 1-7 or a day name"))
        })
        .transpose()?;
    let officer = params.text("officer");
    let routes = visible_routes(&ctx, principal).await?;
    let features = routes
        .iter()
        .filter(|r| officer.is_none_or(|o| r.officer == o) && weekday.is_none_or(|w| r.weekday == w))
        .map(route_feature)
        .collect();
    Ok(geojson::answer(maps::geojson::feature_collection(features)))
}

fn route_from_body(value: Value) -> Result<PlannedRoute, ApiError> {
    let feature = importers::geojson::parse_any_feature(value).map_err(record_error)?;
    let props = &feature.properties;
    let officer =
        importers::geojson::text_property(props, "officer").ok_or_else(|| invalid_field("officer", "is required"))?;
    let weekday = importers::geojson::text_property(props, "weekday")
        .and_then(|w| importers::patrol::parse_weekday(&w))
        .ok_or_else(|| invalid_field("weekday", "is required: 1-7 (Monday first) or a day name"))?;
    let geo::Geometry::LineString(line) = feature.geometry else {
        return Err(invalid_field("geometry", "a route must be a LineString"));
    };
    Ok(PlannedRoute { officer, weekday, name: importers::geojson::text_property(props, "name"), line })
}

#[utoipa::path(post, path = "/api/v1/routes", operation_id = "createRoute", tag = "patrols",
    summary = "Add a planned route",
    request_body = RouteFeature,
    responses(
        (status = 201, description = "Created", content_type = "application/geo+json", body = Feature,
            headers(("Location" = String, description = "The route's address"))),
        (status = 403, description = "Not the caller's to write, or outside their area", body = ErrorBody),
        BodyRefusals,
        Refusals,
    ))]
pub async fn create_route(
    State(ctx): State<ApiContext>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ManagePatrols)?;
    let route = route_from_body(json_body(body)?)?;
    may_write_for(&ctx, principal, &route.officer).await?;
    let ids = ctx.store.save_routes(None, vec![route.clone()], false, ctx.clock.now(), caller.actor()).await?;
    let id = ids.first().copied().unwrap_or_default();
    let stored = StoredRoute { id, officer: route.officer, weekday: route.weekday, name: route.name, line: route.line };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/routes/{id}"))],
        geojson::answer(route_feature(&stored)),
    )
        .into_response())
}

/// A stored route by id, or 404.
async fn stored_route(ctx: &ApiContext, id: i64) -> Result<StoredRoute, ApiError> {
    let routes = ctx.store.routes().await?;
    routes.into_iter().find(|r| r.id == id).ok_or_else(|| ApiError::not_found(format!("no route {id}")))
}

fn route_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| ApiError::not_found(format!("no route {text:?}")))
}

#[utoipa::path(get, path = "/api/v1/routes/{id}", operation_id = "getRoute", tag = "patrols",
    summary = "One planned route",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 200, description = "Feature", content_type = "application/geo+json", body = Feature),
        (status = 400, description = "Not a route id", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        (status = 404, description = "No such route the caller may see", body = ErrorBody),
        Refusals,
    ))]
pub async fn get_route(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadPatrols)?;
    let id = route_id(&id)?;
    let route = visible_routes(&ctx, principal).await?.into_iter().find(|r| r.id == id);
    let route = route.ok_or_else(|| ApiError::not_found(format!("no route {id}")))?;
    Ok(geojson::answer(route_feature(&route)))
}

#[utoipa::path(put, path = "/api/v1/routes/{id}", operation_id = "putRoute", tag = "patrols",
    summary = "Replace a planned route",
    params(("id" = i64, Path, minimum = 1)),
    request_body = RouteFeature,
    responses(
        (status = 200, description = "Replaced", content_type = "application/geo+json", body = Feature),
        (status = 403, description = "Not the caller's to write, or outside their area", body = ErrorBody),
        BodyRefusals,
        (status = 404, description = "No such route the caller may see", body = ErrorBody),
        Refusals,
    ))]
pub async fn put_route(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ManagePatrols)?;
    let id = route_id(&id)?;
    let route = route_from_body(json_body(body)?)?;
    // The route as it is, and as it would be, must both belong to officers of the caller's area.
    let current = stored_route(&ctx, id).await?;
    may_write_for(&ctx, principal, &current.officer)
        .await
        .map_err(|_| ApiError::not_found(format!("no route {id}")))?;
    may_write_for(&ctx, principal, &route.officer).await?;
    let ids = ctx.store.save_routes(Some(id), vec![route.clone()], false, ctx.clock.now(), caller.actor()).await?;
    if ids.is_empty() {
        return Err(ApiError::not_found(format!("no route {id}")));
    }
    let stored = StoredRoute { id, officer: route.officer, weekday: route.weekday, name: route.name, line: route.line };
    Ok(geojson::answer(route_feature(&stored)))
}

#[utoipa::path(delete, path = "/api/v1/routes/{id}", operation_id = "deleteRoute", tag = "patrols",
    summary = "Delete a planned route",
    params(("id" = i64, Path, minimum = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Not a route id", body = ErrorBody),
        (status = 403, description = "Not the caller's to delete", body = ErrorBody),
        (status = 404, description = "No such route the caller may see", body = ErrorBody),
        Refusals,
    ))]
pub async fn delete_route(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = caller.require(Action::ManagePatrols)?;
    let id = route_id(&id)?;
    let current = stored_route(&ctx, id).await?;
    may_write_for(&ctx, principal, &current.officer)
        .await
        .map_err(|_| ApiError::not_found(format!("no route {id}")))?;
    if ctx.store.delete_route(id, ctx.clock.now(), caller.actor()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no route {id}")))
    }
}

/// How far ahead of the server's clock a phone's clock may run: a fix or an inspection dated later
/// is refused.
const CLOCK_SKEW_SECONDS: i64 = 300;

/// Unix seconds as RFC 3339 in the city's time zone.
fn local_time(t: i64, offset: time::UtcOffset) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(t).ok().and_then(|t| t.to_offset(offset).format(&Rfc3339).ok())
}

/// A time given as RFC 3339 text or Unix seconds.
fn parse_time(v: &Value) -> Result<i64, String> {
    match v {
        Value::String(s) => OffsetDateTime::parse(s.trim(), &Rfc3339)
            .map(|t| t.unix_timestamp())
            .map_err(|_| format!("{s:?} is not an RFC 3339 time")),
        Value::Number(n) => n
            .as_i64()
            .filter(|t| (0..=253_402_300_799).contains(t))
            .ok_or_else(|| format!("{n} is not a time in Unix seconds")),
        other => Err(format!("{other} is not a time")),
    }
}

fn number(obj: &Map<String, Value>, key: &str, limit: f64) -> Result<f64, String> {
    let v = obj.get(key).ok_or("is required")?;
    let n = v.as_f64().filter(|n| n.is_finite()).ok_or_else(|| format!("{v} is not a number"))?;
    if n.abs() > limit {
        return Err(format!("{n} is out of range (±{limit})"));
    }
    Ok(n)
}

/// The officer a record is for: the caller, unless they name another they may write for.
async fn officer_for(ctx: &ApiContext, principal: &Principal, given: Option<&Value>) -> Result<String, ApiError> {
    let officer = match given {
        None | Some(Value::Null) => principal.name.clone(),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 100 && !s.contains('\0') => s.trim().to_string(),
        Some(_) => return Err(invalid_field("officer", "must be a user name")),
    };
    may_write_for(ctx, principal, &officer).await?;
    Ok(officer)
}

#[utoipa::path(post, path = "/api/v1/tracks", operation_id = "postTrack", tag = "patrols",
    summary = "Send a batch of GPS fixes; inaccurate fixes and spikes are dropped and counted",
    params(IdempotencyKey),
    request_body = TrackBatch,
    responses(
        (status = 201, description = "Stored (committed): fixes kept and dropped, by reason", body = TrackStored),
        (status = 403, description = "Not the caller's to write, or outside their area", body = ErrorBody),
        BodyRefusals,
        Refusals,
    ))]
pub async fn post_track(
    State(ctx): State<ApiContext>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::RecordPatrol)?;
    let value = json_body(body)?;
    let obj = object_with(&value, &["officer", "fixes"])?;
    let officer = officer_for(&ctx, principal, obj.get("officer")).await?;
    let list = obj.get("fixes").and_then(Value::as_array).ok_or_else(|| invalid_field("fixes", "must be an array"))?;
    if list.is_empty() || list.len() > MAX_FIXES_PER_BATCH {
        return Err(invalid_field("fixes", format!("must hold 1 to {MAX_FIXES_PER_BATCH} fixes")));
    }
    let mut fixes = Vec::with_capacity(list.len());
    let latest = ctx.clock.now().unix_timestamp() + CLOCK_SKEW_SECONDS;
    for (i, f) in list.iter().enumerate() {
        let at = |field: &str, reason: String| invalid_field(&format!("fixes[{i}].{field}"), reason);
        let f = f.as_object().ok_or_else(|| at("", "must be an object".into()))?;
        let t = parse_time(f.get("time").unwrap_or(&Value::Null)).map_err(|r| at("time", r))?;
        // A fix from the future would mark next week's points covered now.
        if t > latest {
            return Err(at("time", "is in the future".into()));
        }
        let lon = number(f, "lon", 180.0).map_err(|r| at("lon", r))?;
        let lat = number(f, "lat", 90.0).map_err(|r| at("lat", r))?;
        let accuracy_m = match f.get("accuracy") {
            None | Some(Value::Null) => None,
            Some(_) => Some(number(f, "accuracy", 1e6).map_err(|r| at("accuracy", r))?.abs()),
        };
        fixes.push(RawFix { t, lon, lat, accuracy_m });
    }
    let received = fixes.len();
    let (kept, dropped) = clean(fixes, CleaningRules::default());
    let id = if kept.is_empty() {
        None
    } else {
        Some(ctx.store.insert_track(officer.clone(), kept.clone(), ctx.clock.now()).await?)
    };
    let stored = TrackStored {
        id,
        officer,
        received,
        stored: kept.len(),
        dropped: dropped.total(),
        dropped_by_reason: DroppedFixes {
            inaccurate: dropped.inaccurate,
            spikes: dropped.spikes,
            duplicates: dropped.duplicates,
        },
    };
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

/// `GET /api/v1/tracks?officer=…&date=YYYY-MM-DD`: each officer's fixes of a local day as a line.
#[utoipa::path(get, path = "/api/v1/tracks", operation_id = "getTracks", tag = "patrols",
    summary = "GPS tracks of a local day, one LineString per officer",
    params(TrackQuery),
    responses(
        (status = 200, description = "FeatureCollection", content_type = "application/geo+json", body = FeatureCollection),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Not the caller's to read; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn get_tracks(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadPatrols)?;
    params.only_documented::<TrackQuery>()?;
    if principal.role == Role::Unit {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "the unit role may not read officers' tracks"));
    }
    let officer = match (principal.role, params.text("officer")) {
        (Role::Officer, Some(o)) if o != principal.name => {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "an officer reads only their own tracks"))
        }
        (Role::Officer, _) => Some(principal.name.clone()),
        (_, o) => o.map(str::to_string),
    };
    if officer.as_deref().is_some_and(|o| o.contains('\0') || o.len() > 100) {
        return Err(ApiError::parameter("officer", "must be a user name"));
    }
    let offset = ctx.coverage.offset;
    let date = match params.text("date") {
        Some(d) => time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| ApiError::parameter("date", format!("{d:?} is not a date like 2026-11-16")))?,
        None => ctx.clock.now().to_offset(offset).date(),
    };
    let start = date.with_time(time::Time::MIDNIGHT).assume_offset(offset).unix_timestamp();
    let features = track_features(&ctx, principal, officer, start, start + 86_400).await?;
    Ok(geojson::answer(maps::geojson::feature_collection(features)))
}

/// Tracks with fixes in [from, to), one line per officer and local day, as the caller may see
/// them: officers their own, unit staff none, everyone else all.
pub(super) async fn track_features(
    ctx: &ApiContext,
    principal: &Principal,
    officer: Option<String>,
    from: i64,
    to: i64,
) -> Result<Vec<Value>, ApiError> {
    let officer = match principal.role {
        Role::Unit | Role::App => return Ok(Vec::new()),
        Role::Officer => Some(principal.name.clone()),
        _ => officer,
    };
    let offset = ctx.coverage.offset;
    let local_date = |t: i64| OffsetDateTime::from_unix_timestamp(t).ok().map(|t| t.to_offset(offset).date());
    let mut days: std::collections::BTreeMap<(String, time::Date), Vec<RawFix>> = Default::default();
    for c in ctx.store.track_chunks(from, to, officer).await? {
        for f in c.fixes.into_iter().filter(|f| f.t >= from && f.t < to) {
            if let Some(d) = local_date(f.t) {
                days.entry((c.officer.clone(), d)).or_default().push(f);
            }
        }
    }
    Ok(days
        .into_iter()
        .map(|((officer, date), mut fixes)| {
            fixes.sort_by_key(|f| f.t);
            let line = geo::LineString(fixes.iter().map(|f| geo::Coord { x: f.lon, y: f.lat }).collect());
            let time = |t: i64| local_time(t, offset);
            let id = format!("{officer}/{date}");
            let properties = TrackProperties {
                date: date.to_string(),
                fixes: fixes.len(),
                first_fix: fixes.first().and_then(|f| time(f.t)),
                last_fix: fixes.last().and_then(|f| time(f.t)),
                officer,
            };
            let geometry = if fixes.len() == 1 {
                maps::geojson::point(geo::Point(line.0[0]))
            } else {
                maps::geojson::line_string(&line)
            };
            geojson::feature(id, geometry, &properties)
        })
        .collect())
}

#[utoipa::path(post, path = "/api/v1/inspections", operation_id = "postInspection", tag = "patrols",
    summary = "Record an inspection (check-in); each failed criterion opens a routed problem",
    params(IdempotencyKey),
    request_body = InspectionReport,
    responses(
        (status = 201, description = "Stored with the problems it opened", body = InspectionRecorded),
        (status = 403, description = "Not the caller's to write, or outside their area", body = ErrorBody),
        BodyRefusals,
        (status = 404, description = "No such point in the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn post_inspection(
    State(ctx): State<ApiContext>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::RecordPatrol)?;
    let value = json_body(body)?;
    let obj = object_with(&value, &["point", "officer", "time", "results", "note", "photos"])?;
    let officer = officer_for(&ctx, principal, obj.get("officer")).await?;
    let code = obj.get("point").and_then(Value::as_str).ok_or_else(|| invalid_field("point", "is required"))?;
    // A code the database cannot even hold (PostgreSQL text has no NUL) names no point.
    if code.is_empty() || code.chars().count() > 100 || code.contains('\0') {
        return Err(invalid_field("point", "must be a point code of 1 to 100 characters"));
    }
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let point = ctx.store.point(code.to_string()).await?.filter(|p| area.sees_point(p));
    let point = point.ok_or_else(|| invalid_field("point", format!("no assessment point {code:?} in your area")))?;
    let now = ctx.clock.now();
    let at = match obj.get("time") {
        None | Some(Value::Null) => now.unix_timestamp(),
        Some(v) => parse_time(v).map_err(|r| invalid_field("time", r))?,
    };
    if at > now.unix_timestamp() + CLOCK_SKEW_SECONDS {
        return Err(invalid_field("time", "is in the future"));
    }
    let results: Vec<CriterionResult> = serde_json::from_value(obj.get("results").cloned().unwrap_or(Value::Null))
        .map_err(|e| invalid_field("results", format!("must be an array of {{criterion, pass, note}}: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    for r in &results {
        if !point.criteria.iter().any(|c| c.id == r.criterion) {
            return Err(invalid_field("results", format!("{:?} is not a criterion of point {code}", r.criterion)));
        }
        if !seen.insert(&r.criterion) {
            return Err(invalid_field("results", format!("criterion {:?} is given twice", r.criterion)));
        }
        if r.note.chars().count() > 2000 || r.note.contains('\0') {
            return Err(invalid_field("results", "a note must be text of at most 2000 characters"));
        }
    }
    let note = match obj.get("note") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if s.chars().count() <= 4000 && !s.contains('\0') => s.trim().to_string(),
        Some(_) => return Err(invalid_field("note", "must be text of at most 4000 characters")),
    };
    let photos: Vec<String> = serde_json::from_value(obj.get("photos").cloned().unwrap_or(json!([])))
        .map_err(|_| invalid_field("photos", "must be an array of URLs"))?;
    if photos.len() > 20
        || photos
            .iter()
            .any(|u| !(u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/')) || u.len() > 2000)
    {
        return Err(invalid_field("photos", "at most 20 http(s) URLs or server paths"));
    }
    // Each failed criterion becomes a problem, routed exactly like a report made at the point.
    // A problem found at a street or market is reported at a point on it.
    let position = report_position(&snapshot, &area, &point.geometry)
        .ok_or_else(|| invalid_field("point", "has an empty geometry"))?;
    let mut problems = Vec::new();
    for r in results.iter().filter(|r| !r.pass) {
        let criterion = point.criteria.iter().find(|c| c.id == r.criterion);
        let wanted = criterion
            .and_then(|c| c.category.clone())
            .unwrap_or_else(|| crate::domain::workflow::catalogue::GENERAL_CATEGORY.to_string());
        let category = crate::domain::workflow::catalogue::find(&snapshot.categories, &wanted).or_else(|| {
            crate::domain::workflow::catalogue::find(
                &snapshot.categories,
                crate::domain::workflow::catalogue::GENERAL_CATEGORY,
            )
        });
        let text = criterion.map(|c| c.text.clone()).unwrap_or_default();
        let report = Report {
            lon: position.x(),
            lat: position.y(),
            category: category.map_or(wanted.clone(), |c| c.code.clone()),
            description: format!("测评点位 {} {}：{}不达标。{}", point.code, point.name, text, r.note)
                .trim()
                .to_string(),
            source: Source::Inspection,
            owner: None,
            address: None,
            address_id: None,
            caller: None,
        };
        let mut problem = route(&snapshot, report, category.map(Class::from), now);
        problem.reported_by = Some(officer.clone());
        problem.origin = Some(Origin { assessment_point: point.code.clone(), criterion: r.criterion.clone() });
        problems.push((r.criterion.clone(), problem));
    }
    let inspection = Inspection {
        id: 0,
        point_code: point.code.clone(),
        officer,
        at,
        results,
        note,
        photos,
        problems: Default::default(),
    };
    hint_recurrences(&ctx.store, problems.iter_mut().map(|(_, case)| case).collect(), ctx.recurrence).await?;
    let (inspection, opened) = ctx.store.insert_inspection(inspection, problems, now, caller.actor()).await?;
    opened.iter().for_each(|p| ctx.announce(p));
    let problems = opened.into_iter().map(|p| super::present::case(&ctx, &area, p)).collect();
    let recorded = InspectionRecorded { inspection: shown(inspection, ctx.coverage.offset), problems };
    Ok((StatusCode::CREATED, Json(recorded)).into_response())
}

/// Where on an assessment point a problem found there is reported: its interior point, unless
/// that lies in a grid outside the inspector's area (a street crossing several grids); then the
/// place on the point's shape nearest to it that lies inside the area, so the case is routed to a
/// grid the inspector answers for and can follow.
fn report_position(
    snapshot: &crate::domain::grids::Snapshot,
    area: &Area,
    shape: &geo::Geometry<f64>,
) -> Option<geo::Point<f64>> {
    use geo::{Distance, Euclidean};
    /// Places tried along each segment of the shape.
    const STEPS: usize = 32;
    let centre = geo::InteriorPoint::interior_point(shape)?;
    let inside = |c: geo::Coord<f64>| area.may_report_at(snapshot.index.locate(c).grid.map(|e| e.code.as_str()));
    if inside(centre.0) {
        return Some(centre);
    }
    let rings: Vec<&geo::LineString<f64>> = match shape {
        geo::Geometry::LineString(l) => vec![l],
        geo::Geometry::MultiLineString(m) => m.0.iter().collect(),
        geo::Geometry::Polygon(p) => std::iter::once(p.exterior()).chain(p.interiors()).collect(),
        geo::Geometry::MultiPolygon(m) => {
            m.0.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())).collect()
        }
        _ => Vec::new(),
    };
    let along = rings.into_iter().flat_map(|ring| ring.lines()).flat_map(|line| {
        (0..=STEPS).map(move |i| {
            let t = i as f64 / STEPS as f64;
            geo::Coord {
                x: line.start.x + (line.end.x - line.start.x) * t,
                y: line.start.y + (line.end.y - line.start.y) * t,
            }
        })
    });
    let nearest = along
        .filter(|c| inside(*c))
        .map(geo::Point::from)
        .min_by(|a, b| Euclidean.distance(*a, centre).total_cmp(&Euclidean.distance(*b, centre)));
    Some(nearest.unwrap_or(centre))
}

fn shown(inspection: Inspection, offset: time::UtcOffset) -> ShownInspection {
    ShownInspection { time: local_time(inspection.at, offset), inspection }
}

/// `GET /api/v1/inspections?week=…`: the week's check-ins at visible points.
#[utoipa::path(get, path = "/api/v1/inspections", operation_id = "listInspections", tag = "patrols",
    summary = "The week's inspections at visible points",
    params(InspectionQuery),
    responses(
        (status = 200, description = "Inspections", body = Inspections),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Not the caller's to read; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn list_inspections(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
) -> Result<Json<Inspections>, ApiError> {
    let principal = caller.require(Action::ReadPatrols)?;
    params.only_documented::<InspectionQuery>()?;
    let week = super::coverage::week_param(&ctx, &params)?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let visible: std::collections::HashSet<String> =
        ctx.store.points(None).await?.into_iter().filter(|p| area.sees_point(p)).map(|p| p.code).collect();
    let point = params.text("point");
    let inspections = ctx
        .store
        .inspections(week.start.unix_timestamp(), week.end.unix_timestamp())
        .await?
        .into_iter()
        .filter(|i| visible.contains(&i.point_code) && point.is_none_or(|p| p == i.point_code))
        .map(|i| shown(i, ctx.coverage.offset))
        .collect();
    Ok(Json(Inspections { week, inspections }))
}
