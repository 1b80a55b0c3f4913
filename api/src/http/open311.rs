//! Open311 GeoReport v2 (JSON) for citizen apps, under `/open311/v2`.
//!
//! Services are the category catalogue. Posting needs a citizen app's key (`api_key`, a token of
//! role `app`). Reading is public, as the standard expects; what is published is decided by
//! [`published`] and [`request`] alone (docs/security.md, "What Open311 publishes"). Errors are
//! `[{"code", "description"}]`.

use super::error::ErrorBody;
use super::guard::Caller;
use super::ApiContext;
use crate::domain::auth::{hash_token, Role};
use crate::domain::intake::{parse_report, route};
use crate::domain::problem::{Class, Problem, Source};
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
    #[schema(value_type = Vec<Object>)]
    attributes: Vec<Value>,
}

/// A service request as published: never the description or the reporter.
#[derive(Serialize, ToSchema)]
#[schema(as = Open311Request)]
pub struct ServiceRequest {
    service_request_id: String,
    #[schema(inline)]
    status: OpenOrClosed,
    /// The case's state in the workflow.
    status_notes: CaseState,
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

/// `foo.json` → `foo`; other formats are refused (JSON only).
fn json_name(segment: &str) -> Result<&str, Open311Error> {
    segment.strip_suffix(".json").ok_or_else(|| bad("only the JSON format is supported: use .json"))
}

fn rfc3339(t: OffsetDateTime) -> Option<String> {
    t.format(&Rfc3339).ok()
}

#[utoipa::path(get, path = "/open311/v2/discovery.json", operation_id = "open311Discovery", tag = "open311",
    summary = "Open311 GeoReport v2 discovery", security(()),
    responses(
        (status = 200, description = "Discovery", body = Discovery),
        (status = 429, description = "Too many requests", body = ErrorBody),
    ))]
pub async fn discovery(State(ctx): State<ApiContext>, caller: Caller) -> Json<Discovery> {
    let base = caller.base();
    Json(Discovery {
        changeset: rfc3339(ctx.clock.now()),
        contact: "gridwatch — see /api/v1/openapi.json",
        key_service: "API keys for citizen apps are issued by the city's gridwatch administrator (role app)",
        endpoints: vec![Endpoint {
            specification: "http://wiki.open311.org/GeoReport_v2",
            url: format!("{base}/open311/v2"),
            changeset: rfc3339(ctx.clock.now()),
            r#type: "production",
            formats: vec!["application/json"],
        }],
    })
}

fn service(c: &Category) -> Service {
    Service {
        service_code: c.code.clone(),
        service_name: c.name_zh.clone(),
        description: format!("{} / {} — {}", c.name_zh, c.name_en, c.department),
        metadata: false,
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
    responses(
        (status = 200, description = "Services", body = [Service]),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = [Open311Fault]),
    ))]
pub async fn services(State(ctx): State<ApiContext>) -> Result<Json<Vec<Service>>, Open311Error> {
    let categories = ctx.store.categories().await?;
    Ok(Json(categories.iter().map(service).collect()))
}

#[utoipa::path(get, path = "/open311/v2/services/{code}", operation_id = "open311ServiceDefinition", tag = "open311",
    summary = "Open311 service definition ({code}.json)", security(()),
    params(("code" = String, Path, description = "A service code followed by .json")),
    responses(
        (status = 200, description = "Definition", body = ServiceDefinition),
        (status = 400, description = "Not .json", body = [Open311Fault]),
        (status = 404, description = "No such service", body = [Open311Fault]),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = [Open311Fault]),
    ))]
pub async fn service_definition(
    State(ctx): State<ApiContext>,
    Path(segment): Path<String>,
) -> Result<Json<ServiceDefinition>, Open311Error> {
    let code = json_name(&segment)?;
    let categories = ctx.store.categories().await?;
    let c = categories
        .iter()
        .find(|c| c.code == code)
        .ok_or_else(|| Open311Error(StatusCode::NOT_FOUND, format!("no service {code}")))?;
    Ok(Json(ServiceDefinition { service_code: c.code.clone(), attributes: Vec::new() }))
}

/// The publication rule: a case is public on Open311 only when it arrived through a citizen app's
/// key (source `app`, which staff cannot claim: see `http::problems::create`).
pub fn published(p: &Problem) -> bool {
    p.source == Source::App
}

/// A request as GeoReport v2 describes it, as published: the description (free text that often
/// carries names and phone numbers) and the reporter are never part of it.
fn request(p: &Problem) -> ServiceRequest {
    ServiceRequest {
        service_request_id: p.id.to_string(),
        status: if p.status.is_open() { OpenOrClosed::Open } else { OpenOrClosed::Closed },
        status_notes: p.status,
        service_name: p.class.as_ref().map(|c| c.category_name.clone()),
        service_code: p.category.clone(),
        description: None,
        agency_responsible: p.class.as_ref().map(|c| c.department.clone()),
        service_notice: p.case.deadline.and_then(rfc3339).map(|d| format!("限时整改 deadline {d}")),
        requested_datetime: rfc3339(p.created_at),
        updated_datetime: rfc3339(p.case.closed_at.or(p.case.dispatched_at).unwrap_or(p.created_at)),
        expected_datetime: p.case.deadline.and_then(rfc3339),
        address: None,
        address_id: None,
        zipcode: None,
        lat: p.lat,
        long: p.lon,
        media_url: None,
    }
}

/// `POST /open311/v2/requests.json` (form-encoded as the standard says, or JSON).
#[utoipa::path(post, path = "/open311/v2/requests.json", operation_id = "open311PostRequest", tag = "open311",
    summary = "Post a service request (api_key of a citizen app)", security(()),
    request_body(content(
        (NewRequest = "application/x-www-form-urlencoded"),
        (NewRequest = "application/json"))),
    responses(
        (status = 201, description = "Created", body = [Posted]),
        (status = 400, description = "A field is missing or wrong", body = [Open311Fault]),
        (status = 403, description = "No api_key, or not a citizen app's", body = [Open311Fault]),
        (status = 404, description = "No such service", body = [Open311Fault]),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = [Open311Fault]),
    ))]
pub async fn post_request(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<[Posted; 1]>), Open311Error> {
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
    let fields: HashMap<String, Value> = if is_json {
        serde_json::from_slice(&body).map_err(|e| bad(format!("the body is not a JSON object: {e}")))?
    } else {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .map_err(|e| bad(format!("the body is not form-encoded: {e}")))?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    };
    let text = |k: &str| fields.get(k).and_then(|v| v.as_str().map(String::from).or_else(|| Some(v.to_string())));
    let key = text("api_key").ok_or_else(|| Open311Error(StatusCode::FORBIDDEN, "api_key is required".into()))?;
    let principal =
        ctx.store.principal(hash_token(&key), ctx.clock.now()).await?.filter(|p| p.role == Role::App).ok_or_else(
            || Open311Error(StatusCode::FORBIDDEN, "the api_key is unknown, revoked or not a citizen app's".into()),
        )?;
    let number = |k: &str| -> Result<Value, Open311Error> {
        let t = text(k).ok_or_else(|| bad(format!("{k} is required (address_string alone is not supported)")))?;
        t.trim().parse::<f64>().map(|n| json!(n)).map_err(|_| bad(format!("{k}: {t:?} is not a number")))
    };
    let service_code = text("service_code").ok_or_else(|| bad("service_code is required"))?;
    let report_json = json!({
        "lon": number("long")?,
        "lat": number("lat")?,
        "category": service_code,
        "description": text("description").unwrap_or_default(),
        "source": "app",
    });
    let report = parse_report(&report_json).map_err(|fields| {
        bad(fields.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect::<Vec<_>>().join("; "))
    })?;
    let categories = ctx.store.categories().await?;
    let category = find(&categories, &report.category)
        .filter(|c| c.code == report.category)
        .ok_or_else(|| Open311Error(StatusCode::NOT_FOUND, format!("no service {}", report.category)))?;
    let mut problem = route(&ctx.catalog.snapshot(), report, Some(Class::from(category)), ctx.clock.now());
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
    Ok((StatusCode::CREATED, Json([posted])))
}

/// `GET /open311/v2/requests.json` with the standard's filters.
#[utoipa::path(get, path = "/open311/v2/requests.json", operation_id = "open311Requests", tag = "open311",
    summary = "Open311 service requests (those posted through Open311)", security(()),
    params(RequestFilters),
    responses(
        (status = 200, description = "Requests, newest first", body = [ServiceRequest]),
        (status = 400, description = "A malformed filter", body = [Open311Fault]),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = [Open311Fault]),
    ))]
pub async fn get_requests(
    State(ctx): State<ApiContext>,
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<ServiceRequest>>, Open311Error> {
    let Query(params) = params.map_err(|e| bad(format!("the query string cannot be read: {e}")))?;
    if params.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(bad("the query string must not contain NUL characters"));
    }
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
    let found: Vec<ServiceRequest> = problems
        .iter()
        .filter(|p| codes.as_ref().is_none_or(|c| c.contains(&p.category)))
        .filter(|p| ids.as_ref().is_none_or(|i| i.contains(&p.id)))
        .filter(|p| published(p))
        .map(request)
        .collect();
    Ok(Json(found))
}

/// `GET /open311/v2/requests/{id}.json`.
#[utoipa::path(get, path = "/open311/v2/requests/{id}", operation_id = "open311Request", tag = "open311",
    summary = "One Open311 service request ({id}.json)", security(()),
    params(("id" = String, Path, description = "A service request id followed by .json")),
    responses(
        (status = 200, description = "The request", body = [ServiceRequest]),
        (status = 400, description = "Not .json", body = [Open311Fault]),
        (status = 404, description = "No such published request", body = [Open311Fault]),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = [Open311Fault]),
    ))]
pub async fn get_request(
    State(ctx): State<ApiContext>,
    Path(segment): Path<String>,
) -> Result<Json<[ServiceRequest; 1]>, Open311Error> {
    let not_found = || Open311Error(StatusCode::NOT_FOUND, format!("no service request {segment}"));
    let id: i64 = json_name(&segment)?.parse().map_err(|_| not_found())?;
    let problem = ctx.store.problem(id).await?.filter(published).ok_or_else(not_found)?;
    Ok(Json([request(&problem)]))
}
