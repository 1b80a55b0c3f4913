//! `GET /api/v1/problems`: the dispatcher's queue, filtered, ordered and paged, within the
//! caller's area.

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::Params;
use super::ApiContext;
use crate::domain::access::{Action, Area};
use crate::domain::grids::Snapshot;
use crate::domain::problem::Problem;
use crate::domain::problem::Source;
use crate::domain::workflow::colour::Colour;
use crate::domain::workflow::state::State;
use crate::store::{ProblemQuery, Sort};
use axum::extract::State as AxumState;
use axum::http::Uri;
use axum::Json;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, Time, UtcOffset};

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 1000;

/// The queue's filters, order and page.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `list_problems` reads (and refuses any other)
pub(super) struct QueueQuery {
    /// Comma-separated states.
    status: Option<String>,
    /// Comma-separated: none, blue, yellow, red.
    colour: Option<String>,
    /// A grid code: it and every grid below.
    grid: Option<String>,
    unit: Option<String>,
    department: Option<String>,
    category: Option<String>,
    source: Option<Source>,
    /// minLon,minLat,maxLon,maxLat
    bbox: Option<String>,
    /// Reported from: RFC 3339 or YYYY-MM-DD (midnight in the city's time zone).
    from: Option<String>,
    /// Reported before: RFC 3339 or YYYY-MM-DD.
    to: Option<String>,
    #[param(inline)]
    sort: Option<SortOrder>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    #[param(minimum = 0, maximum = 1000000)]
    offset: Option<i64>,
}

/// How the queue is ordered: oldest first, newest first, or nearest deadline first.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) enum SortOrder {
    #[schema(rename = "created_at")]
    Oldest,
    #[schema(rename = "-created_at")]
    Newest,
    #[schema(rename = "deadline")]
    Deadline,
}

/// One page of the queue.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct Page {
    /// Cases matching the filters, on every page.
    total: i64,
    offset: i64,
    limit: i64,
    problems: Vec<Problem>,
    /// The next page's address, while there is one.
    next: Option<String>,
}

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

#[utoipa::path(get, path = "/api/v1/problems", operation_id = "listProblems", tag = "cases",
    summary = "The queue: problems in the caller's area, filtered, sorted and paged",
    params(QueueQuery),
    responses(
        (status = 200, description = "One page", body = Page),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn list_problems(
    AxumState(ctx): AxumState<ApiContext>,
    caller: Caller,
    uri: Uri,
    params: Params,
) -> Result<Json<Page>, ApiError> {
    let principal = caller.require(Action::ReadProblems)?;
    params.only_documented::<QueueQuery>()?;
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
    Ok(Json(Page { total, offset, limit: query.limit, problems, next }))
}
