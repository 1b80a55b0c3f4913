//! `GET /api/v1/problems`: the dispatcher's queue, filtered, ordered and paged, within the
//! caller's area.

use super::error::ApiError;
use super::guard::Caller;
use super::params::Params;
use super::ApiContext;
use crate::domain::access::{Action, Area};
use crate::domain::grids::Snapshot;
use crate::domain::problem::Source;
use crate::domain::workflow::colour::Colour;
use crate::domain::workflow::state::State;
use crate::store::{ProblemQuery, Sort};
use axum::extract::State as AxumState;
use axum::http::Uri;
use axum::Json;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, Time, UtcOffset};

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 1000;

const PARAMETERS: [&str; 13] = [
    "status",
    "colour",
    "grid",
    "unit",
    "department",
    "category",
    "source",
    "bbox",
    "from",
    "to",
    "sort",
    "limit",
    "offset",
];

fn list(
    params: &Params,
    name: &str,
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(text) = params.text(name) else { return Ok(None) };
    let items: Vec<String> = text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    for item in &items {
        check(item).map_err(|reason| ApiError::parameter(name, reason))?;
    }
    Ok(Some(items))
}

/// RFC 3339, or a date (midnight in the city's time zone).
fn moment(params: &Params, name: &str, offset: UtcOffset) -> Result<Option<OffsetDateTime>, ApiError> {
    let Some(text) = params.text(name) else { return Ok(None) };
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(Some(t));
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, date_format)
        .map(|d| Some(d.with_time(Time::MIDNIGHT).assume_offset(offset)))
        .map_err(|_| ApiError::parameter(name, "must be an RFC 3339 time or a date YYYY-MM-DD"))
}

/// The filters the queue and the OGC `problems` collection share: the caller's area, `bbox`,
/// `status`, `colour`, `grid` (with everything below it), `unit`, `department`, `category`, `source`.
pub(super) fn property_filters(params: &Params, snapshot: &Snapshot, area: &Area) -> Result<ProblemQuery, ApiError> {
    Ok(ProblemQuery {
        area: area.filter(),
        bbox: params.bbox()?,
        statuses: list(params, "status", |s| s.parse::<State>().map(|_| ()))?,
        colours: list(params, "colour", |c| Colour::parse(c).map(|_| ()))?,
        grid_codes: params.text("grid").map(|g| snapshot.descendants(&[g.to_string()]).into_iter().collect()),
        unit: params.text("unit").map(String::from),
        department: params.text("department").map(String::from),
        category: params.text("category").map(String::from),
        source: params
            .text("source")
            .map(|s| s.parse::<Source>().map(|s| s.as_str().to_string()))
            .transpose()
            .map_err(|reason| ApiError::parameter("source", reason))?,
        ..ProblemQuery::default()
    })
}

pub async fn list_problems(
    AxumState(ctx): AxumState<ApiContext>,
    caller: Caller,
    uri: Uri,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let principal = caller.require(Action::ReadProblems)?;
    params.only(&PARAMETERS)?;
    let snapshot = ctx.catalog.snapshot();
    let offset_param = params.text("offset").map(|t| t.parse::<i64>()).transpose();
    let offset = match offset_param {
        Ok(o) if o.unwrap_or(0) >= 0 && o.unwrap_or(0) <= 1_000_000 => o.unwrap_or(0),
        _ => return Err(ApiError::parameter("offset", "must be a whole number from 0 to 1000000")),
    };
    let area = Area::of(principal, &snapshot);
    let query = ProblemQuery {
        created_from: moment(&params, "from", ctx.calendar.offset)?,
        created_to: moment(&params, "to", ctx.calendar.offset)?,
        sort: params
            .text("sort")
            .map(Sort::parse)
            .transpose()
            .map_err(|r| ApiError::parameter("sort", r))?
            .unwrap_or_default(),
        limit: params.limit(DEFAULT_PAGE, MAX_PAGE)?,
        offset,
        ..property_filters(&params, &snapshot, &area)?
    };
    let (problems, total) = ctx.store.query_problems(&query).await?;
    let shown = problems.len() as i64;
    let next = (offset + shown < total).then(|| {
        let kept: Vec<String> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("offset="))
            .map(String::from)
            .chain(std::iter::once(format!("offset={}", offset + shown)))
            .collect();
        format!("{}?{}", uri.path(), kept.join("&"))
    });
    let problems: Vec<_> = problems.into_iter().map(|p| super::present::case(&ctx, &area, p)).collect();
    Ok(Json(json!({"total": total, "offset": offset, "limit": query.limit, "problems": problems, "next": next})))
}
