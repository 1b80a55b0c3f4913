//! OGC API – Features Part 1 (Core, GeoJSON, OAS 3.0) for the grid and problem layers, so GIS
//! clients (QGIS, GDAL's OAPIF driver) read them directly. Data follow the caller's area.

use super::error::{ApiError, ErrorBody, Refusals};
use super::geojson::Feature;
use super::guard::Caller;
use super::params::Params;
use super::{geojson, ApiContext};
use crate::domain::access::{Action, Area};
use crate::store::{ProblemQuery, Sort};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use geo::Intersects;
use serde::Serialize;
use serde_json::Value;
use spatial::GridLevel;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 10_000;

const CONFORMANCE: [&str; 3] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
];

struct Collection {
    id: &'static str,
    title: &'static str,
    description: &'static str,
    filters: &'static [&'static str],
    needs: Action,
}

const COLLECTIONS: [Collection; 7] = [
    Collection {
        id: "grids",
        title: "Grids 网格",
        description: "Responsibility grids (current versions, or as of `datetime`); filter by level, parent_code, responsible_unit",
        filters: &["level", "parent_code", "responsible_unit"],
        needs: Action::ReadGrids,
    },
    Collection {
        id: "problems",
        title: "Problems 问题",
        description: "Reported problems with their case state and colour; filter by status, colour, category, source, grid, unit, department",
        filters: &["status", "colour", "category", "source", "grid", "unit", "department"],
        needs: Action::ReadProblems,
    },
    Collection {
        id: "points",
        title: "Assessment points 测评点位",
        description: "Assessment points with their checklists; filter by type, grid_code, unit",
        filters: &["type", "grid_code", "unit"],
        needs: Action::ReadPatrols,
    },
    Collection {
        id: "routes",
        title: "Planned routes 巡查路线",
        description: "Planned patrol routes per officer and weekday (1 = Monday); filter by officer, weekday",
        filters: &["officer", "weekday"],
        needs: Action::ReadPatrols,
    },
    Collection {
        id: "tracks",
        title: "Tracks 轨迹",
        description: "GPS tracks, one line per officer and local day, over `datetime` (default: this week); filter by officer, date",
        filters: &["officer", "date"],
        needs: Action::ReadPatrols,
    },
    Collection {
        id: "coverage_gaps",
        title: "Coverage gaps 覆盖缺口",
        description: "A week's coverage gaps (default: this week); filter by week (2026-W47), gap (not_covered, off_route, no_officer, no_track)",
        filters: &["week", "gap"],
        needs: Action::ReadPatrols,
    },
    Collection {
        id: "tiling",
        title: "Tiling gaps and overlaps 责任全覆盖",
        description: "The tiling check of one level (default grid) within a grid (within=code); filter by issue (gap, overlap, outside)",
        filters: &["level", "within", "min_area", "issue"],
        needs: Action::CheckTiling,
    },
];

/// Parameters that choose what a computed collection computes, rather than filter its features.
const SELECTORS: [&str; 4] = ["week", "level", "within", "min_area"];

/// The features of the collections computed in memory (all but grids and problems), before
/// paging: the same features the `/api/v1` endpoints serve.
async fn computed(
    ctx: &ApiContext,
    principal: &crate::domain::auth::Principal,
    c: &Collection,
    params: &Params,
) -> Result<Vec<Value>, ApiError> {
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let mut features = match c.id {
        "points" => ctx
            .store
            .points(params.bbox()?)
            .await?
            .iter()
            .filter(|p| area.sees_point(p))
            .map(super::patrols::point_feature)
            .collect(),
        "routes" => {
            super::patrols::visible_routes(ctx, principal).await?.iter().map(super::patrols::route_feature).collect()
        }
        "tracks" => {
            let (from, to) = match params.text("datetime") {
                None => {
                    let week = super::coverage::week_param(ctx, params)?;
                    (week.start.unix_timestamp(), week.end.unix_timestamp())
                }
                Some(t) => {
                    let at = |text: &str| parse_time(text).map_err(|r| ApiError::parameter("datetime", r));
                    // An interval's open ends are unbounded; an instant is its own second.
                    let (from, to) = match t.split_once('/') {
                        Some((a, b)) => (at(a)?.map(|a| a.unix_timestamp()), at(b)?.map(|b| b.unix_timestamp())),
                        None => at(t)?.map(|a| a.unix_timestamp()).map_or((None, None), |a| (Some(a), Some(a + 1))),
                    };
                    let (from, to) = (from.unwrap_or(0), to.unwrap_or(i64::MAX));
                    if to.saturating_sub(from) > 92 * 86_400 {
                        return Err(ApiError::parameter("datetime", "tracks are served at most 92 days at a time"));
                    }
                    (from, to)
                }
            };
            super::patrols::track_features(ctx, principal, None, from, to).await?
        }
        "coverage_gaps" => {
            let week = super::coverage::week_param(ctx, params)?;
            super::coverage::gap_features(ctx, principal, week).await?
        }
        _ => maps::geojson::tiling_features(&super::coverage::tiling_report(ctx, principal, params).await?),
    };
    let bbox = params.bbox()?;
    features.retain(|f| {
        c.filters
            .iter()
            .filter(|k| !SELECTORS.contains(k))
            .all(|k| params.text(k).is_none_or(|want| same_text(&f["properties"][*k], want)))
            && bbox.is_none_or(|b| {
                json_bbox(&f["geometry"]).is_some_and(|[x0, y0, x1, y1]| {
                    x0 <= b.max_lon && x1 >= b.min_lon && y0 <= b.max_lat && y1 >= b.min_lat
                })
            })
    });
    Ok(features)
}

/// Does a property (or id) read as `text`? Numbers compare as written (`weekday=3`).
fn same_text(v: &Value, text: &str) -> bool {
    match v {
        Value::String(s) => s == text,
        Value::Number(n) => n.to_string() == text,
        Value::Bool(b) => b.to_string() == text,
        _ => false,
    }
}

/// The bounding box of a GeoJSON geometry's positions.
fn json_bbox(g: &Value) -> Option<[f64; 4]> {
    fn walk(v: &Value, b: &mut Option<[f64; 4]>) {
        match v.as_array() {
            Some(a) if a.len() >= 2 && a[0].is_number() => {
                let (x, y) = (a[0].as_f64().unwrap_or(0.0), a[1].as_f64().unwrap_or(0.0));
                let e = b.get_or_insert([x, y, x, y]);
                *e = [e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y)];
            }
            Some(a) => a.iter().for_each(|x| walk(x, b)),
            None => {}
        }
    }
    let mut b = None;
    walk(&g["coordinates"], &mut b);
    b
}

/// A link of OGC API – Features.
#[derive(Serialize, ToSchema)]
#[schema(as = OgcLink)]
pub struct Link {
    href: String,
    rel: &'static str,
    r#type: &'static str,
    title: String,
}

fn link(href: String, rel: &'static str, kind: &'static str, title: &str) -> Link {
    Link { href, rel, r#type: kind, title: title.to_string() }
}

/// The landing page.
#[derive(Serialize, ToSchema)]
#[schema(as = OgcLanding)]
pub struct Landing {
    title: &'static str,
    description: &'static str,
    links: Vec<Link>,
}

/// The conformance classes.
#[derive(Serialize, ToSchema)]
#[schema(as = OgcConformance)]
pub struct Conformance {
    #[serde(rename = "conformsTo")]
    conforms_to: [&'static str; 3],
    links: Vec<Link>,
}

/// A collection's description.
#[derive(Serialize, ToSchema)]
#[schema(as = OgcCollection)]
pub struct CollectionInfo {
    id: &'static str,
    title: &'static str,
    description: &'static str,
    #[serde(rename = "itemType")]
    item_type: &'static str,
    crs: [&'static str; 1],
    links: Vec<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extent: Option<Extent>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = OgcExtent)]
pub struct Extent {
    spatial: SpatialExtent,
}

#[derive(Serialize, ToSchema)]
#[schema(as = OgcSpatialExtent)]
pub struct SpatialExtent {
    /// One box: minLon, minLat, maxLon, maxLat.
    bbox: [[f64; 4]; 1],
    crs: &'static str,
}

/// The collections the caller may read.
#[derive(Serialize, ToSchema)]
#[schema(as = OgcCollections)]
pub struct Collections {
    links: Vec<Link>,
    collections: Vec<CollectionInfo>,
}

/// A page of a collection's features.
#[derive(Serialize, ToSchema)]
#[schema(as = OgcFeatures)]
pub struct Items {
    #[schema(inline)]
    r#type: FeatureCollectionType,
    #[schema(value_type = Vec<Feature>)]
    features: Vec<Value>,
    #[serde(rename = "numberMatched")]
    number_matched: i64,
    #[serde(rename = "numberReturned")]
    number_returned: i64,
    #[serde(rename = "timeStamp")]
    time_stamp: Option<String>,
    links: Vec<Link>,
}

#[derive(Serialize, ToSchema)]
pub enum FeatureCollectionType {
    FeatureCollection,
}

/// One feature with its links.
#[derive(Serialize, ToSchema)]
#[schema(as = OgcFeature)]
pub struct LinkedFeature {
    #[serde(flatten)]
    #[schema(value_type = Feature)]
    feature: Value,
    links: Vec<Link>,
}

/// Which collection.
fn collection_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(COLLECTIONS.iter().map(|c| c.id))).build()
}

/// A collection, by id.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documents the path `collection` and `items` read
pub(super) struct CollectionId {
    #[param(schema_with = collection_schema)]
    id: String,
}

/// A feature of a collection, by id.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documents the path `item` reads
pub(super) struct FeatureId {
    #[param(schema_with = collection_schema)]
    id: String,
    /// The feature's id (a grid code, a case id, a point code …).
    feature: String,
}

/// The paging and filters every collection takes; each collection adds its own filters
/// (see its description).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `items` reads
pub(super) struct ItemsQuery {
    /// minLon,minLat,maxLon,maxLat
    bbox: Option<String>,
    /// Clamped at 10000.
    #[param(minimum = 1)]
    limit: Option<i64>,
    #[param(minimum = 0, maximum = 10000000)]
    offset: Option<i64>,
    /// An RFC 3339 instant (grids: the boundaries in force then) or interval a/b with .. open ends (problems).
    datetime: Option<String>,
    /// json (GeoJSON), the only format.
    f: Option<String>,
}

#[utoipa::path(get, path = "/", operation_id = "ogcLanding", tag = "ogc",
    summary = "OGC API – Features landing page", security(()),
    responses(
        (status = 200, description = "Landing", body = Landing),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn landing(caller: Caller) -> Json<Landing> {
    let b = caller.base();
    Json(Landing {
        title: "gridwatch",
        description: "Responsibility grids (网格) and the problems reported in them, as OGC API – Features",
        links: vec![
            link(format!("{b}/"), "self", "application/json", "this document"),
            link(
                format!("{b}/api/v1/openapi.json"),
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.1",
                "the API definition",
            ),
            link(format!("{b}/conformance"), "conformance", "application/json", "conformance classes"),
            link(format!("{b}/collections"), "data", "application/json", "the collections"),
        ],
    })
}

#[utoipa::path(get, path = "/conformance", operation_id = "ogcConformance", tag = "ogc",
    summary = "OGC API – Features conformance classes", security(()),
    responses(
        (status = 200, description = "Conformance", body = Conformance),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn conformance(caller: Caller) -> Json<Conformance> {
    let b = caller.base();
    Json(Conformance {
        conforms_to: CONFORMANCE,
        links: vec![link(format!("{b}/conformance"), "self", "application/json", "conformance")],
    })
}

fn describe(c: &Collection, b: &str, extent: Option<[f64; 4]>) -> CollectionInfo {
    CollectionInfo {
        id: c.id,
        title: c.title,
        description: c.description,
        item_type: "feature",
        crs: [CRS84],
        links: vec![
            link(format!("{b}/collections/{}", c.id), "self", "application/json", c.title),
            link(format!("{b}/collections/{}/items", c.id), "items", "application/geo+json", "the features"),
        ],
        extent: extent.map(|e| Extent { spatial: SpatialExtent { bbox: [e], crs: CRS84 } }),
    }
}

/// Longitude, latitude on WGS 84: the only coordinate system served.
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

fn find(id: &str) -> Result<&'static Collection, ApiError> {
    COLLECTIONS.iter().find(|c| c.id == id).ok_or_else(|| ApiError::not_found(format!("no collection {id:?}")))
}

/// The extent of the grids the index holds (a cheap, area-independent outline of the city).
fn extent(ctx: &ApiContext) -> Option<[f64; 4]> {
    let snapshot = ctx.catalog.snapshot();
    let mut e: Option<[f64; 4]> = None;
    for entry in snapshot.index.entries() {
        if let Some(r) = geo::BoundingRect::bounding_rect(&entry.geometry) {
            let x = e.get_or_insert([r.min().x, r.min().y, r.max().x, r.max().y]);
            *x = [x[0].min(r.min().x), x[1].min(r.min().y), x[2].max(r.max().x), x[3].max(r.max().y)];
        }
    }
    e
}

#[utoipa::path(get, path = "/collections", operation_id = "ogcCollections", tag = "ogc",
    summary = "The collections the caller may read",
    responses(
        (status = 200, description = "Collections", body = Collections),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn collections(State(ctx): State<ApiContext>, caller: Caller) -> Result<Json<Collections>, ApiError> {
    caller.require(Action::Locate)?;
    let b = caller.base();
    let e = extent(&ctx);
    let collections =
        COLLECTIONS.iter().filter(|c| caller.require(c.needs).is_ok()).map(|c| describe(c, &b, e)).collect();
    Ok(Json(Collections {
        links: vec![link(format!("{b}/collections"), "self", "application/json", "collections")],
        collections,
    }))
}

#[utoipa::path(get, path = "/collections/{id}", operation_id = "ogcCollection", tag = "ogc",
    summary = "One collection",
    params(CollectionId),
    responses(
        (status = 200, description = "Collection", body = CollectionInfo),
        (status = 403, description = "Not a collection the caller may read", body = ErrorBody),
        (status = 404, description = "No such collection", body = ErrorBody),
        Refusals,
    ))]
pub async fn collection(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CollectionInfo>, ApiError> {
    let c = find(&id)?;
    caller.require(c.needs)?;
    Ok(Json(describe(c, &caller.base(), extent(&ctx))))
}

fn parse_time(text: &str) -> Result<Option<OffsetDateTime>, String> {
    if text == ".." || text.is_empty() {
        return Ok(None);
    }
    OffsetDateTime::parse(text, &Rfc3339).map(Some).map_err(|_| format!("{text:?} is not an RFC 3339 time"))
}

#[utoipa::path(get, path = "/collections/{id}/items", operation_id = "ogcItems", tag = "ogc",
    summary = "Features of a collection (paged by offset; limit clamped at 10000)",
    params(CollectionId, ItemsQuery),
    responses(
        (status = 200, description = "Features", content_type = "application/geo+json", body = Items),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Not a collection the caller may read", body = ErrorBody),
        (status = 404, description = "No such collection", body = ErrorBody),
        Refusals,
    ))]
pub async fn items(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let c = find(&id)?;
    let principal = caller.require(c.needs)?;
    let mut known = vec!["bbox", "limit", "offset", "datetime", "f"];
    known.extend_from_slice(c.filters);
    params.only(&known)?;
    if params.text("f").is_some_and(|f| f != "json" && f != "geojson") {
        return Err(ApiError::parameter("f", "only json (GeoJSON) is offered"));
    }
    // Clamped, not refused, as OGC API – Features asks.
    let limit = match params.text("limit") {
        None => DEFAULT_LIMIT,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| ApiError::parameter("limit", "must be a positive whole number"))?
            .min(MAX_LIMIT),
    };
    let offset = match params.text("offset") {
        None => 0,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=10_000_000).contains(n))
            .ok_or_else(|| ApiError::parameter("offset", "must be a whole number ≥ 0"))?,
    };
    let bbox = params.bbox()?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let (features, matched) = if c.id == "grids" {
        let as_of = match params.text("datetime") {
            None => None,
            Some(t) if t.contains('/') => {
                return Err(ApiError::parameter(
                    "datetime",
                    "grids take an instant: the date the boundaries were in force",
                ))
            }
            Some(t) => parse_time(t).map_err(|r| ApiError::parameter("datetime", r))?,
        };
        let level = params
            .text("level")
            .map(|l| l.parse::<GridLevel>())
            .transpose()
            .map_err(|r| ApiError::parameter("level", r))?;
        let mut grids = ctx.store.grids_in_bbox(bbox, level, as_of, &area.filter(), i64::MAX).await?;
        grids.retain(|g| {
            bbox.is_none_or(|b| g.grid.geometry.intersects(&super::layers::rect(b)))
                && params.text("parent_code").is_none_or(|p| g.grid.parent_code.as_deref() == Some(p))
                && params.text("responsible_unit").is_none_or(|u| g.grid.responsible_unit.as_deref() == Some(u))
        });
        let matched = grids.len() as i64;
        let page = grids
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(super::layers::grid_feature)
            .collect::<Vec<_>>();
        (page, matched)
    } else if c.id == "problems" {
        let (from, to) = match params.text("datetime") {
            None => (Ok(None), Ok(None)),
            Some(t) => match t.split_once('/') {
                Some((a, b)) => (parse_time(a), parse_time(b)),
                None => (parse_time(t), parse_time(t).map(|x| x.map(|x| x + time::Duration::microseconds(1)))),
            },
        };
        let created_from = from.map_err(|r| ApiError::parameter("datetime", r))?;
        let created_to = to.map_err(|r| ApiError::parameter("datetime", r))?;
        let query = ProblemQuery {
            created_from,
            created_to,
            sort: Sort::Oldest,
            limit,
            offset,
            ..super::queue::property_filters(&params, &snapshot, &area)?
        };
        let (problems, total) = ctx.store.query_problems(&query).await?;
        (problems.into_iter().map(|p| super::present::case_feature(&ctx, &area, p)).collect(), total)
    } else {
        let all = computed(&ctx, principal, c, &params).await?;
        let matched = all.len() as i64;
        (all.into_iter().skip(offset as usize).take(limit as usize).collect(), matched)
    };
    let b = caller.base();
    let returned = features.len() as i64;
    let query_without_offset: Vec<String> =
        params.pairs().filter(|(k, _)| *k != "offset").map(|(k, v)| format!("{k}={}", encode(v))).collect();
    let page_link = |off: i64| {
        let mut q = query_without_offset.clone();
        q.push(format!("offset={off}"));
        format!("{b}/collections/{}/items?{}", c.id, q.join("&"))
    };
    let mut links = vec![
        link(page_link(offset), "self", "application/geo+json", "this page"),
        link(format!("{b}/collections/{}", c.id), "collection", "application/json", c.title),
    ];
    if offset + returned < matched {
        links.push(link(page_link(offset + returned), "next", "application/geo+json", "next page"));
    }
    let page = Items {
        r#type: FeatureCollectionType::FeatureCollection,
        features,
        number_matched: matched,
        number_returned: returned,
        time_stamp: ctx.clock.now().format(&Rfc3339).ok(),
        links,
    };
    Ok(geojson::answer(&page))
}

#[utoipa::path(get, path = "/collections/{id}/items/{feature}", operation_id = "ogcItem", tag = "ogc",
    summary = "One feature",
    params(FeatureId),
    responses(
        (status = 200, description = "Feature", content_type = "application/geo+json", body = LinkedFeature),
        (status = 403, description = "Not a collection the caller may read", body = ErrorBody),
        (status = 404, description = "No such feature the caller may see", body = ErrorBody),
        Refusals,
    ))]
pub async fn item(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path((id, feature)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let c = find(&id)?;
    let principal = caller.require(c.needs)?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let not_found = || ApiError::not_found(format!("no feature {feature:?} in {id}"));
    let f = if c.id == "grids" {
        let versions = ctx.store.grid_versions(&feature).await?;
        let current = versions.into_iter().find(|v| v.valid_to.is_none()).ok_or_else(not_found)?;
        if !area.sees(Some(current.grid.code.as_str()), current.grid.responsible_unit.as_deref(), None) {
            return Err(not_found());
        }
        super::layers::grid_feature(current)
    } else if c.id == "problems" {
        let numeric: i64 = feature.parse().map_err(|_| not_found())?;
        let p = ctx.store.problem(numeric).await?.filter(|p| area.sees_problem(p)).ok_or_else(not_found)?;
        super::present::case_feature(&ctx, &area, p)
    } else {
        let all = computed(&ctx, principal, c, &Params::default()).await?;
        let wanted = |f: &Value| same_text(&f["id"], &feature);
        all.into_iter().find(wanted).ok_or_else(not_found)?
    };
    let b = caller.base();
    let links = vec![
        link(
            format!("{b}/collections/{}/items/{}", c.id, encode(&feature)),
            "self",
            "application/geo+json",
            "this feature",
        ),
        link(format!("{b}/collections/{}", c.id), "collection", "application/json", c.title),
    ];
    Ok(geojson::answer(&LinkedFeature { feature: f, links }))
}

/// Percent-encodes a query value.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
