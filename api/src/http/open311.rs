//! Open311 GeoReport v2 (JSON) for citizen apps, under `/open311/v2`.
//!
//! Services are the category catalogue. Posting needs a citizen app's key (`api_key`, a token of
//! role `app`). Reading is public, as the standard expects; what is published is decided by
//! [`published`] and [`request`] alone (docs/security.md, "What Open311 publishes"). Errors are
//! `[{"code", "description"}]`.

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
use serde_json::{json, Value};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub struct Open311Error(StatusCode, String);

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        (self.0, Json(json!([{"code": self.0.as_u16(), "description": self.1}]))).into_response()
    }
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

pub async fn discovery(State(ctx): State<ApiContext>, headers: HeaderMap) -> Json<Value> {
    let base = super::public_base(&ctx, &headers);
    Json(json!({
        "changeset": rfc3339(ctx.clock.now()),
        "contact": "gridwatch — see /api/v1/openapi.json",
        "key_service": "API keys for citizen apps are issued by the city's gridwatch administrator (role app)",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": format!("{base}/open311/v2"),
            "changeset": rfc3339(ctx.clock.now()),
            "type": "production",
            "formats": ["application/json"]
        }]
    }))
}

fn service(c: &Category) -> Value {
    json!({
        "service_code": c.code,
        "service_name": c.name_zh,
        "description": format!("{} / {} — {}", c.name_zh, c.name_en, c.department),
        "metadata": false,
        "type": "realtime",
        "keywords": c.name_en,
        "group": match c.kind { Kind::Component => "部件 components", Kind::Event => "事件 events" },
    })
}

pub async fn services(State(ctx): State<ApiContext>) -> Result<Json<Value>, Open311Error> {
    let categories = ctx.store.categories().await?;
    Ok(Json(Value::Array(categories.iter().map(service).collect())))
}

pub async fn service_definition(
    State(ctx): State<ApiContext>,
    Path(segment): Path<String>,
) -> Result<Json<Value>, Open311Error> {
    let code = json_name(&segment)?;
    let categories = ctx.store.categories().await?;
    let c = categories
        .iter()
        .find(|c| c.code == code)
        .ok_or_else(|| Open311Error(StatusCode::NOT_FOUND, format!("no service {code}")))?;
    Ok(Json(json!({"service_code": c.code, "attributes": []})))
}

/// The publication rule: a case is public on Open311 only when it arrived through a citizen app's
/// key (source `app`, which staff cannot claim: see `http::problems::create`).
pub fn published(p: &Problem) -> bool {
    p.source == Source::App
}

/// A request as GeoReport v2 describes it, as published: the description (free text that often
/// carries names and phone numbers) and the reporter are never part of it.
fn request(p: &Problem) -> Value {
    let open = p.status.is_open();
    json!({
        "service_request_id": p.id.to_string(),
        "status": if open { "open" } else { "closed" },
        "status_notes": p.status,
        "service_name": p.class.as_ref().map(|c| c.category_name.clone()),
        "service_code": p.category,
        "description": Value::Null,
        "agency_responsible": p.class.as_ref().map(|c| c.department.clone()),
        "service_notice": p.case.deadline.and_then(rfc3339).map(|d| format!("限时整改 deadline {d}")),
        "requested_datetime": rfc3339(p.created_at),
        "updated_datetime": rfc3339(p.case.closed_at.or(p.case.dispatched_at).unwrap_or(p.created_at)),
        "expected_datetime": p.case.deadline.and_then(rfc3339),
        "address": Value::Null,
        "address_id": Value::Null,
        "zipcode": Value::Null,
        "lat": p.lat,
        "long": p.lon,
        "media_url": Value::Null,
    })
}

/// `POST /open311/v2/requests.json` (form-encoded as the standard says, or JSON).
pub async fn post_request(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Open311Error> {
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
    Ok((
        StatusCode::CREATED,
        Json(
            json!([{"service_request_id": stored.id.to_string(), "service_notice": notice, "account_id": Value::Null}]),
        ),
    ))
}

/// `GET /open311/v2/requests.json` with the standard's filters.
pub async fn get_requests(
    State(ctx): State<ApiContext>,
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, Open311Error> {
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
    let found: Vec<Value> = problems
        .iter()
        .filter(|p| codes.as_ref().is_none_or(|c| c.contains(&p.category)))
        .filter(|p| ids.as_ref().is_none_or(|i| i.contains(&p.id)))
        .filter(|p| published(p))
        .map(request)
        .collect();
    Ok(Json(Value::Array(found)))
}

/// `GET /open311/v2/requests/{id}.json`.
pub async fn get_request(
    State(ctx): State<ApiContext>,
    Path(segment): Path<String>,
) -> Result<Json<Value>, Open311Error> {
    let not_found = || Open311Error(StatusCode::NOT_FOUND, format!("no service request {segment}"));
    let id: i64 = json_name(&segment)?.parse().map_err(|_| not_found())?;
    let problem = ctx.store.problem(id).await?.filter(published).ok_or_else(not_found)?;
    Ok(Json(json!([request(&problem)])))
}
