//! Open311 GeoReport v2 for citizen apps, under `/open311/v2`, in JSON and XML (`.json`, `.xml`).
//!
//! Services are the category catalogue; components (部件) take the attribute `owner` (部件权属单位).
//! Posting needs a citizen app's key (`api_key`, a token of role `app`); the place is `lat`/`long`,
//! or `address_string`/`address_id` found in the address book. Reading is public, as the standard
//! expects; what is published is decided by [`published`] and [`request`] alone (docs/security.md,
//! "What Open311 publishes"). Every endpoint takes `jurisdiction_id` (`--jurisdiction-id`).
//! Errors are `[{"code", "description"}]` (JSON, also for `.xml`).

use super::error::ErrorBody;
use super::guard::Caller;
use super::ApiContext;
use crate::app::addresses::Search;
use crate::domain::access::Area;
use crate::domain::auth::{hash_token, Role};
use crate::domain::intake::{parse_report, route};
use crate::domain::problem::{Class, Problem, ProblemEvent, Source};
use crate::domain::workflow::catalogue::{find, Category, Kind};
use crate::domain::workflow::state::State as CaseState;
use crate::store::{ProblemQuery, Sort};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

pub struct Open311Error(StatusCode, String);

/// An Open311 error, as GeoReport v2 writes them: a list of one.
#[derive(Serialize, ToSchema)]
pub struct Open311Fault {
    code: u16,
    description: String,
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        (self.0, Json([Open311Fault { code: self.0.as_u16(), description: self.1 }])).into_response()
    }
}

/// Where the GeoReport v2 service is and what it speaks.
#[derive(Serialize, ToSchema)]
#[schema(as = Open311Discovery)]
pub struct Discovery {
    changeset: Option<String>,
    contact: &'static str,
    key_service: &'static str,
    endpoints: Vec<Endpoint>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Open311Endpoint)]
pub struct Endpoint {
    specification: &'static str,
    url: String,
    changeset: Option<String>,
    r#type: &'static str,
    formats: Vec<&'static str>,
}

/// A service: one category of the catalogue.
#[derive(Serialize, ToSchema)]
#[schema(as = Open311Service)]
pub struct Service {
    service_code: String,
    service_name: String,
    description: String,
    metadata: bool,
    r#type: &'static str,
    keywords: String,
    group: &'static str,
}

/// A service's definition: its extra attributes (none yet).
#[derive(Serialize, ToSchema)]
#[schema(as = Open311ServiceDefinition)]
pub struct ServiceDefinition {
    service_code: String,
    attributes: Vec<Attribute>,
}

/// One extra field a service takes (`attribute[code]` when posting).
#[derive(Serialize, ToSchema)]
#[schema(as = Open311Attribute)]
pub struct Attribute {
    variable: bool,
    code: &'static str,
    datatype: &'static str,
    required: bool,
    datatype_description: &'static str,
    order: u32,
    description: &'static str,
    /// Choices of a list attribute (none here).
    #[schema(value_type = Vec<Object>)]
    values: Vec<Value>,
}

/// The city a request is about, as the standard names it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameter the endpoints read
pub(super) struct Jurisdiction {
    /// The city's id (`--jurisdiction-id`); optional, another one is refused.
    jurisdiction_id: Option<String>,
}

/// A service request as published: never the description or the reporter.
#[derive(Serialize, ToSchema)]
#[schema(as = Open311Request)]
pub struct ServiceRequest {
    service_request_id: String,
    #[schema(inline)]
    status: OpenOrClosed,
    /// The latest public step of the case, in words (已派遣至东华门街道办事处, 已结案 …).
    status_notes: Option<String>,
    service_name: Option<String>,
    service_code: String,
    /// Never published (free text often carries names and phone numbers).
    description: Option<String>,
    agency_responsible: Option<String>,
    service_notice: Option<String>,
    requested_datetime: Option<String>,
    updated_datetime: Option<String>,
    expected_datetime: Option<String>,
    address: Option<String>,
    address_id: Option<String>,
    zipcode: Option<String>,
    lat: f64,
    long: f64,
    media_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OpenOrClosed {
    Open,
    Closed,
}

/// A request posted: its id and what happens next.
#[derive(Serialize, ToSchema)]
#[schema(as = Open311Posted)]
pub struct Posted {
    service_request_id: String,
    service_notice: String,
    account_id: Option<String>,
}

/// A service request as a citizen app posts it (form-encoded, as the standard says, or JSON).
#[derive(ToSchema)]
#[schema(as = Open311NewRequest)]
#[allow(dead_code)] // documents the fields `post_request` reads
pub(super) struct NewRequest {
    /// A citizen app's key (a token of role app).
    api_key: String,
    service_code: String,
    #[schema(minimum = -90, maximum = 90)]
    lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    long: f64,
    #[schema(max_length = 4000)]
    description: Option<String>,
}

/// The standard's filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `get_requests` reads
pub(super) struct RequestFilters {
    /// Comma-separated ids.
    service_request_id: Option<String>,
    /// Comma-separated service codes.
    service_code: Option<String>,
    /// W3C date-time (default: 90 days before end_date).
    start_date: Option<String>,
    /// W3C date-time (default: now).
    end_date: Option<String>,
    /// open, closed, or both comma-separated.
    status: Option<String>,
}

impl From<crate::store::StoreError> for Open311Error {
    fn from(e: crate::store::StoreError) -> Self {
        let status =
            if e.is_unavailable() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::INTERNAL_SERVER_ERROR };
        tracing::error!(error = %e, "open311 storage failure");
        Open311Error(status, "the request could not be completed".into())
    }
}

fn bad(description: impl Into<String>) -> Open311Error {
    Open311Error(StatusCode::BAD_REQUEST, description.into())
}

/// The refusals every Open311 endpoint may answer, as the standard writes errors (a list of
/// `{code, description}`), and the rate limit's.
pub struct Open311Refusals;

impl utoipa::IntoResponses for Open311Refusals {
    fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        use utoipa::openapi::schema::ArrayBuilder;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let faults = || {
            let list = ArrayBuilder::new().items(Ref::from_schema_name("Open311Fault")).build();
            ContentBuilder::new().schema(Some(list)).build()
        };
        let fault = |description: &str| {
            ResponseBuilder::new().description(description).content("application/json", faults()).build()
        };
        let limited = ResponseBuilder::new()
            .description("Too many requests")
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build())
            .build();
        [
            ("400", fault("A malformed query or field, or a name ending neither in .json nor .xml")),
            ("404", fault("No such service or request, or another jurisdiction_id")),
            ("429", limited),
            ("503", fault("The database is unavailable")),
        ]
        .into_iter()
        .map(|(status, response)| (status.to_string(), utoipa::openapi::RefOr::T(response)))
        .collect()
    }
}

/// The two formats GeoReport v2 speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// `foo.json` → (`foo`, JSON), `foo.xml` → (`foo`, XML); other formats are refused.
fn named(segment: &str) -> Result<(&str, Format), Open311Error> {
    if let Some(name) = segment.strip_suffix(".json") {
        Ok((name, Format::Json))
    } else if let Some(name) = segment.strip_suffix(".xml") {
        Ok((name, Format::Xml))
    } else {
        Err(bad("use .json or .xml"))
    }
}

/// A list answer in `format`: a JSON array, or `<root><item>…</item></root>`.
fn answer<T: Serialize>(format: Format, root: &str, item: &str, items: &[T]) -> Result<Response, Open311Error> {
    Ok(match format {
        Format::Json => Json(items).into_response(),
        Format::Xml => xml_response(super::xml::document(root, item, items)),
    })
}

/// A single-object answer (discovery, a service definition) in `format`.
fn answer_one<T: Serialize>(format: Format, root: &str, item: &T) -> Result<Response, Open311Error> {
    Ok(match format {
        Format::Json => Json(item).into_response(),
        Format::Xml => xml_response(super::xml::object(root, item)),
    })
}

fn xml_response(document: Result<String, serde_json::Error>) -> Response {
    match document {
        Ok(text) => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], text).into_response(),
        Err(e) => Open311Error(StatusCode::INTERNAL_SERVER_ERROR, format!("the XML could not be written: {e}"))
            .into_response(),
    }
}

/// Refuses a `jurisdiction_id` other than the city's (`--jurisdiction-id`); any is taken when the
/// city set none.
fn check_jurisdiction(ctx: &ApiContext, given: Option<&str>) -> Result<(), Open311Error> {
    match (given, ctx.jurisdiction.as_deref()) {
        (Some(asked), Some(ours)) if !asked.is_empty() && asked != ours => Err(Open311Error(
            StatusCode::NOT_FOUND,
            format!("jurisdiction_id {asked:?} is not served here (this is {ours:?})"),
        )),
        _ => Ok(()),
    }
}

/// The query string, refused when it cannot be read or holds NUL characters.
fn query_of(
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<HashMap<String, String>, Open311Error> {
    let Query(params) = params.map_err(|e| bad(format!("the query string cannot be read: {e}")))?;
    if params.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(bad("the query string must not contain NUL characters"));
    }
    Ok(params)
}

fn rfc3339(t: OffsetDateTime) -> Option<String> {
    t.format(&Rfc3339).ok()
}

#[utoipa::path(get, path = "/open311/v2/discovery.json", operation_id = "open311Discovery", tag = "open311",
    summary = "Open311 GeoReport v2 discovery", security(()),
    responses(
        (status = 200, description = "Discovery", body = Discovery),
        Open311Refusals,
    ))]
pub async fn discovery(State(ctx): State<ApiContext>, caller: Caller) -> Result<Response, Open311Error> {
    discovered(&ctx, &caller, Format::Json)
}

#[utoipa::path(get, path = "/open311/v2/discovery.xml", operation_id = "open311DiscoveryXml", tag = "open311",
    summary = "Open311 GeoReport v2 discovery, as XML", security(()),
    responses(
        (status = 200, description = "Discovery", content_type = "text/xml", body = String),
        Open311Refusals,
    ))]
pub async fn discovery_xml(State(ctx): State<ApiContext>, caller: Caller) -> Result<Response, Open311Error> {
    discovered(&ctx, &caller, Format::Xml)
}

fn discovered(ctx: &ApiContext, caller: &Caller, format: Format) -> Result<Response, Open311Error> {
    let base = caller.base();
    let discovery = Discovery {
        changeset: rfc3339(ctx.clock.now()),
        contact: "gridwatch — see /api/v1/openapi.json",
        key_service: "API keys for citizen apps are issued by the city's gridwatch administrator (role app)",
        endpoints: vec![Endpoint {
            specification: "http://wiki.open311.org/GeoReport_v2",
            url: format!("{base}/open311/v2"),
            changeset: rfc3339(ctx.clock.now()),
            r#type: "production",
            formats: vec!["application/json", "text/xml"],
        }],
    };
    answer_one(format, "discovery", &discovery)
}

/// The component attribute every component service takes: its owner (部件权属单位), which a
/// component is routed to first (先属主).
fn owner_attribute() -> Attribute {
    Attribute {
        variable: true,
        code: "owner",
        datatype: "string",
        required: false,
        datatype_description: "部件权属单位 — the unit that owns the component, if the reporter knows it",
        order: 1,
        description: "权属单位 Owner",
        values: Vec::new(),
    }
}

fn service(c: &Category) -> Service {
    Service {
        service_code: c.code.clone(),
        service_name: c.name_zh.clone(),
        description: format!("{} / {} — {}", c.name_zh, c.name_en, c.department),
        // Components take the `owner` attribute (GET /services/{code}.json).
        metadata: c.kind == Kind::Component,
        r#type: "realtime",
        keywords: c.name_en.clone(),
        group: match c.kind {
            Kind::Component => "部件 components",
            Kind::Event => "事件 events",
        },
    }
}

#[utoipa::path(get, path = "/open311/v2/services.json", operation_id = "open311Services", tag = "open311",
    summary = "Open311 services (the category catalogue)", security(()),
    params(Jurisdiction),
    responses(
        (status = 200, description = "Services", body = [Service]),
        Open311Refusals,
    ))]
pub async fn services(
    State(ctx): State<ApiContext>,
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Open311Error> {
    listed_services(&ctx, query_of(params)?, Format::Json).await
}

#[utoipa::path(get, path = "/open311/v2/services.xml", operation_id = "open311ServicesXml", tag = "open311",
    summary = "Open311 services (the category catalogue), as XML", security(()),
    params(Jurisdiction),
    responses(
        (status = 200, description = "Services", content_type = "text/xml", body = String),
        Open311Refusals,
    ))]
pub async fn services_xml(
    State(ctx): State<ApiContext>,
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Open311Error> {
    listed_services(&ctx, query_of(params)?, Format::Xml).await
}

async fn listed_services(
    ctx: &ApiContext,
    params: HashMap<String, String>,
    format: Format,
) -> Result<Response, Open311Error> {
    check_jurisdiction(ctx, params.get("jurisdiction_id").map(String::as_str))?;
    let categories = ctx.store.categories().await?;
    let services: Vec<Service> = categories.iter().map(service).collect();
    answer(format, "services", "service", &services)
}

#[utoipa::path(get, path = "/open311/v2/services/{code}", operation_id = "open311ServiceDefinition", tag = "open311",
    summary = "Open311 service definition ({code}.json or {code}.xml)", security(()),
    params(("code" = String, Path, description = "A service code followed by .json or .xml"), Jurisdiction),
    responses(
        (status = 200, description = "Definition", content(
            (ServiceDefinition = "application/json"),
            (String = "text/xml"))),
        Open311Refusals,
    ))]
pub async fn service_definition(
    State(ctx): State<ApiContext>,
    Path(segment): Path<String>,
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Open311Error> {
    let params = query_of(params)?;
    check_jurisdiction(&ctx, params.get("jurisdiction_id").map(String::as_str))?;
    let (code, format) = named(&segment)?;
    let categories = ctx.store.categories().await?;
    let c = categories
        .iter()
        .find(|c| c.code == code)
        .ok_or_else(|| Open311Error(StatusCode::NOT_FOUND, format!("no service {code}")))?;
    let attributes = if c.kind == Kind::Component { vec![owner_attribute()] } else { Vec::new() };
    answer_one(format, "service_definition", &ServiceDefinition { service_code: c.code.clone(), attributes })
}

/// The publication rule: a case is public on Open311 only when it arrived through a citizen app's
/// key (source `app`, which staff cannot claim: see `http::problems::create`).
pub fn published(p: &Problem) -> bool {
    p.source == Source::App
}

/// A request as GeoReport v2 describes it, as published: the description (free text that often
/// carries names and phone numbers) and the reporter are never part of it; the status notes say
/// the latest public step (`latest`) in fixed words, never a note someone typed.
fn request(p: &Problem, history: &[ProblemEvent], media_url: Option<String>) -> ServiceRequest {
    let latest = history.iter().rev().find_map(|e| public_step(e).map(|words| (e.at, words)));
    ServiceRequest {
        service_request_id: p.id.to_string(),
        status: if p.status.is_open() { OpenOrClosed::Open } else { OpenOrClosed::Closed },
        status_notes: Some(latest.as_ref().map_or_else(|| "已收到 received".to_string(), |(_, words)| words.clone())),
        service_name: p.class.as_ref().map(|c| c.category_name.clone()),
        service_code: p.category.clone(),
        description: None,
        agency_responsible: p.class.as_ref().map(|c| c.department.clone()),
        service_notice: p.case.deadline.and_then(rfc3339).map(|d| format!("限时整改 deadline {d}")),
        requested_datetime: rfc3339(p.created_at),
        updated_datetime: rfc3339(latest.map_or(p.created_at, |(at, _)| at)),
        expected_datetime: p.case.deadline.and_then(rfc3339),
        address: p.address.clone(),
        address_id: p.address_id.map(|id| id.to_string()),
        zipcode: None,
        lat: p.lat,
        long: p.lon,
        media_url,
    }
}

/// A step as the public may read it, or `None` for the office's own (colours, extension
/// requests). The unit a case went to is public: the standard's `agency_responsible` is too.
fn public_step(e: &ProblemEvent) -> Option<String> {
    let unit = || e.details.get("unit").and_then(Value::as_str).map(|u| format!("（{u}）")).unwrap_or_default();
    Some(match e.action.as_str() {
        "accept" if e.to_state == "confirming" => "已受理，待现场核实 accepted, to be confirmed on site".into(),
        "accept" => "已受理 accepted".into(),
        "confirm" => "已现场核实 confirmed on site".into(),
        "register" => "已立案 registered".into(),
        "dispatch" => format!("已派遣{} dispatched", unit()),
        "refuse" => "责任单位退回，重新派遣中 sent back by the unit, being dispatched again".into(),
        "handle" => "已处置，待核查 fixed, to be checked".into(),
        "reject" | "callback" if e.to_state == "rework" => "返工中 being fixed again".into(),
        "self_handle" => "网格员已现场处置 fixed on the spot".into(),
        "verify" => "已核查 checked".into(),
        "close" => "已办结 closed".into(),
        "void" => "已作废 void".into(),
        "merge" => "与相同问题合并处理 merged with the same problem reported earlier".into(),
        "approve_extension" => "已延期 deadline extended".into(),
        "callback" => "已回访 called back".into(),
        _ => return None,
    })
}

/// `POST /open311/v2/requests.json` (form-encoded as the standard says, or JSON).
#[utoipa::path(post, path = "/open311/v2/requests.json", operation_id = "open311PostRequest", tag = "open311",
    summary = "Post a service request (api_key of a citizen app)", security(()),
    request_body(content(
        (NewRequest = "application/x-www-form-urlencoded"),
        (NewRequest = "application/json"))),
    responses(
        (status = 201, description = "Created", body = [Posted]),
        (status = 403, description = "No api_key, or not a citizen app's", body = [Open311Fault]),
        (status = 413, description = "Too large", body = ErrorBody),
        Open311Refusals,
    ))]
pub async fn post_request(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Open311Error> {
    posted(&ctx, &headers, &body, Format::Json).await
}

#[utoipa::path(post, path = "/open311/v2/requests.xml", operation_id = "open311PostRequestXml", tag = "open311",
    summary = "Post a service request (api_key of a citizen app), answered in XML", security(()),
    request_body(content(
        (NewRequest = "application/x-www-form-urlencoded"),
        (NewRequest = "application/json"))),
    responses(
        (status = 201, description = "Created", content_type = "text/xml", body = String),
        (status = 403, description = "No api_key, or not a citizen app's", body = [Open311Fault]),
        (status = 413, description = "Too large", body = ErrorBody),
        Open311Refusals,
    ))]
pub async fn post_request_xml(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Open311Error> {
    posted(&ctx, &headers, &body, Format::Xml).await
}

/// An address book entry stands for a request's place from this score up.
const MIN_PLACE_SCORE: f32 = 0.6;

async fn posted(ctx: &ApiContext, headers: &HeaderMap, body: &[u8], format: Format) -> Result<Response, Open311Error> {
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
    let fields: HashMap<String, Value> = if is_json {
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not a JSON object: {e}")))?
    } else {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map_err(|e| bad(format!("the body is not form-encoded: {e}")))?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    };
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(|v| v.as_str().map(String::from).or_else(|| Some(v.to_string())))
            .filter(|t| !t.trim().is_empty() && t != "null")
    };
    let key = text("api_key").ok_or_else(|| Open311Error(StatusCode::FORBIDDEN, "api_key is required".into()))?;
    let principal =
        ctx.store.principal(hash_token(&key), ctx.clock.now()).await?.filter(|p| p.role == Role::App).ok_or_else(
            || Open311Error(StatusCode::FORBIDDEN, "the api_key is unknown, revoked or not a citizen app's".into()),
        )?;
    check_jurisdiction(ctx, text("jurisdiction_id").as_deref())?;
    let number = |k: &str, t: String| -> Result<f64, Open311Error> {
        t.trim().parse::<f64>().map_err(|_| bad(format!("{k}: {t:?} is not a number")))
    };
    let snapshot = ctx.catalog.snapshot();
    let address_string = text("address_string");
    // The place: lat/long, else the address book entry named by address_id, else the best
    // match for address_string.
    let (lon, lat, address_id) = match (text("long"), text("lat")) {
        (Some(lon), Some(lat)) => (number("long", lon)?, number("lat", lat)?, None),
        (None, None) => {
            let found = match (text("address_id"), address_string.as_deref()) {
                (Some(id), _) => {
                    let id: i64 = id.trim().parse().map_err(|_| bad(format!("address_id: {id:?} is not a number")))?;
                    ctx.store
                        .address(id)
                        .await?
                        .ok_or_else(|| bad(format!("address_id {id} is not in the address book")))?
                }
                (None, Some(words)) => {
                    let search = Search { text: words.to_string(), limit: 1, kind: None };
                    let best = ctx
                        .addresses
                        .search(&ctx.store, &snapshot, &Area::Everything, &search)
                        .await?
                        .into_iter()
                        .next();
                    best.filter(|f| f.score >= MIN_PLACE_SCORE).map(|f| f.address).ok_or_else(|| {
                        bad(format!("address_string {words:?} is not in the address book: send lat and long"))
                    })?
                }
                (None, None) => return Err(bad("lat and long are required, or address_string or address_id")),
            };
            (found.lon, found.lat, Some(found.id))
        }
        _ => return Err(bad("lat and long come together")),
    };
    let service_code = text("service_code").ok_or_else(|| bad("service_code is required"))?;
    let mut report_json = json!({
        "lon": lon,
        "lat": lat,
        "category": service_code,
        "description": text("description").unwrap_or_default(),
        "source": "app",
        "address": address_string,
        "address_id": address_id,
    });
    if let Some(owner) = text("attribute[owner]") {
        report_json["owner"] = Value::String(owner);
    }
    let report = parse_report(&report_json).map_err(|fields| {
        bad(fields.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect::<Vec<_>>().join("; "))
    })?;
    let category = find(&snapshot.categories, &report.category)
        .filter(|c| c.code == report.category)
        .ok_or_else(|| Open311Error(StatusCode::NOT_FOUND, format!("no service {}", report.category)))?;
    let mut problem = route(&snapshot, report, Some(Class::from(category)), ctx.clock.now());
    problem.source = Source::App;
    problem.reported_by = Some(principal.name.clone());
    let actor = crate::domain::auth::Actor { name: principal.name.clone(), remote: "open311".into() };
    let (stored, _) = ctx.intake.submit(crate::store::KeyedProblem { problem, idempotency: None, actor }).await?;
    ctx.announce(&stored);
    let notice = match &stored.grid_code {
        Some(grid) => format!("已受理，转网格 {grid}"),
        None => "已收到 (outside every grid)".to_string(),
    };
    let posted = Posted { service_request_id: stored.id.to_string(), service_notice: notice, account_id: None };
    let mut response = answer(format, "service_requests", "request", &[posted])?;
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// `GET /open311/v2/requests.json` with the standard's filters.
#[utoipa::path(get, path = "/open311/v2/requests.json", operation_id = "open311Requests", tag = "open311",
    summary = "Open311 service requests (those posted through Open311)", security(()),
    params(RequestFilters),
    responses(
        (status = 200, description = "Requests, newest first", body = [ServiceRequest]),
        Open311Refusals,
    ))]
pub async fn get_requests(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Open311Error> {
    listed_requests(&ctx, &caller.base(), query_of(params)?, Format::Json).await
}

/// `GET /open311/v2/requests.xml`: the same, as XML.
#[utoipa::path(get, path = "/open311/v2/requests.xml", operation_id = "open311RequestsXml", tag = "open311",
    summary = "Open311 service requests, as XML", security(()),
    params(RequestFilters),
    responses(
        (status = 200, description = "Requests, newest first", content_type = "text/xml", body = String),
        Open311Refusals,
    ))]
pub async fn get_requests_xml(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Open311Error> {
    listed_requests(&ctx, &caller.base(), query_of(params)?, Format::Xml).await
}

async fn listed_requests(
    ctx: &ApiContext,
    base: &str,
    params: HashMap<String, String>,
    format: Format,
) -> Result<Response, Open311Error> {
    check_jurisdiction(ctx, params.get("jurisdiction_id").map(String::as_str))?;
    let time = |k: &str| -> Result<Option<OffsetDateTime>, Open311Error> {
        params
            .get(k)
            .map(|t| OffsetDateTime::parse(t, &Rfc3339).map_err(|_| bad(format!("{k} must be w3 format"))))
            .transpose()
    };
    let now = ctx.clock.now();
    let end = time("end_date")?.unwrap_or(now);
    // The standard's default window: the most recent 90 days.
    let start = time("start_date")?.unwrap_or(end - time::Duration::days(90));
    let statuses = match params.get("status").map(String::as_str) {
        None | Some("") => None,
        Some(list) => {
            let mut states = Vec::new();
            for s in list.split(',') {
                let open = match s.trim() {
                    "open" => true,
                    "closed" => false,
                    other => return Err(bad(format!("status {other:?}: use open or closed"))),
                };
                states
                    .extend(CaseState::ALL.iter().filter(|st| st.is_open() == open).map(|st| st.as_str().to_string()));
            }
            Some(states)
        }
    };
    let codes: Option<Vec<String>> =
        params.get("service_code").map(|c| c.split(',').map(|s| s.trim().to_string()).collect());
    let ids: Option<Vec<i64>> = params
        .get("service_request_id")
        .map(|l| {
            l.split(',')
                .map(|s| s.trim().parse::<i64>().map_err(|_| bad("service_request_id must be numbers")))
                .collect()
        })
        .transpose()?;
    let query = ProblemQuery {
        source: Some(Source::App.as_str().into()),
        statuses,
        created_from: Some(start),
        created_to: Some(end + time::Duration::seconds(1)),
        sort: Sort::Newest,
        limit: 1000,
        ..ProblemQuery::default()
    };
    let (problems, _) = ctx.store.query_problems(&query).await?;
    let shown: Vec<&Problem> = problems
        .iter()
        .filter(|p| codes.as_ref().is_none_or(|c| c.contains(&p.category)))
        .filter(|p| ids.as_ref().is_none_or(|i| i.contains(&p.id)))
        .filter(|p| published(p))
        .collect();
    let ids: Vec<i64> = shown.iter().map(|p| p.id).collect();
    let mut histories: HashMap<i64, Vec<ProblemEvent>> = HashMap::new();
    for e in ctx.store.events_of(&ids).await? {
        histories.entry(e.problem_id).or_default().push(e);
    }
    let media = ctx.store.public_photo_tokens(&ids).await?;
    let found: Vec<ServiceRequest> = shown
        .into_iter()
        .map(|p| {
            let url = media.get(&p.id).map(|token| media_url(base, token));
            request(p, histories.get(&p.id).map_or(&[][..], Vec::as_slice), url)
        })
        .collect();
    answer(format, "service_requests", "request", &found)
}

/// The public address of a published photo (`media_url`).
fn media_url(base: &str, token: &str) -> String {
    format!("{base}{}", super::present::public_photo_path(token))
}

/// `GET /open311/v2/media/{token}.jpg`: a report photo its reporter agreed to publish.
#[utoipa::path(get, path = "/open311/v2/media/{name}", operation_id = "open311Media", tag = "open311",
    summary = "A published report photo (media_url): a JPEG at most 1280 pixels across, without EXIF", security(()),
    params(("name" = String, Path, description = "The photo's token followed by .jpg, as media_url gives it")),
    responses(
        (status = 200, description = "The picture", content_type = "image/jpeg", body = Vec<u8>),
        Open311Refusals,
    ))]
pub async fn media(State(ctx): State<ApiContext>, Path(name): Path<String>) -> Result<Response, Open311Error> {
    let not_found = || Open311Error(StatusCode::NOT_FOUND, "no such published photo".into());
    let token = name.strip_suffix(".jpg").filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let token = token.ok_or_else(not_found)?;
    let (problem_id, sha256) = ctx.store.public_photo(token).await?.ok_or_else(not_found)?;
    // Published only while its case is (a citizen app's report).
    ctx.store.problem(problem_id).await?.filter(published).ok_or_else(not_found)?;
    let blobs = ctx.evidence.blobs.clone();
    let bytes = tokio::task::spawn_blocking(move || blobs.get(&sha256, crate::app::evidence::objects::Variant::Public))
        .await
        .map_err(|e| Open311Error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| Open311Error(StatusCode::SERVICE_UNAVAILABLE, format!("the photo store is away: {e}")))?
        .ok_or_else(not_found)?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/jpeg"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /open311/v2/requests/{id}.json` (or `.xml`).
#[utoipa::path(get, path = "/open311/v2/requests/{id}", operation_id = "open311Request", tag = "open311",
    summary = "One Open311 service request ({id}.json or {id}.xml)", security(()),
    params(("id" = String, Path, description = "A service request id followed by .json or .xml"), Jurisdiction),
    responses(
        (status = 200, description = "The request", content(
            ([ServiceRequest] = "application/json"),
            (String = "text/xml"))),
        Open311Refusals,
    ))]
pub async fn get_request(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(segment): Path<String>,
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Open311Error> {
    let params = query_of(params)?;
    check_jurisdiction(&ctx, params.get("jurisdiction_id").map(String::as_str))?;
    let not_found = || Open311Error(StatusCode::NOT_FOUND, format!("no service request {segment}"));
    let (id, format) = named(&segment)?;
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let problem = ctx.store.problem(id).await?.filter(published).ok_or_else(not_found)?;
    let history = ctx.store.events_of(&[id]).await?;
    let url = ctx.store.public_photo_tokens(&[id]).await?.get(&id).map(|token| media_url(&caller.base(), token));
    answer(format, "service_requests", "request", &[request(&problem, &history, url)])
}
