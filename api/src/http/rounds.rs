//! Supervision rounds (督查): `POST /api/v1/rounds` opens one, `GET /api/v1/rounds` lists them,
//! `GET /api/v1/rounds/{id}` reads one, `POST /api/v1/rounds/{id}/findings` records what was
//! found, `POST /api/v1/rounds/{id}/publish` hands over an undercover round's findings, and
//! `GET /api/v1/rounds/{id}/ledger` follows them (台账).
//!
//! The office and admins run rounds within their area. Everyone else sees a round once it is
//! public (an undercover one only after publication; before, it is 404), and in its ledger only
//! the findings whose cases they may see.

use super::error::{ApiError, BodyRefusals, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::{field_error, text_field, typed_body_or, Params};
use super::{present, ApiContext};
use crate::app::supervision::{ledger_of, publish, record_finding};
use crate::domain::access::{Action, Area};
use crate::domain::auth::{Principal, Role};
use crate::domain::grids::Snapshot;
use crate::domain::problem::Problem;
use crate::domain::supervision::{
    check_dates, findings_of_failed_items, restricted, Finding, Ledger, NewRound, Round, RoundKind,
};
use crate::domain::workflow::catalogue::{find, GENERAL_CATEGORY};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::Date;
use utoipa::ToSchema;

/// The error code of a round or finding whose body is wrong.
const INVALID: &str = "invalid_round";

/// Days after a round's end its findings are due by default (限时整改).
pub const DEFAULT_RECTIFY_DAYS: i64 = 7;

fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    field_error(INVALID, field, reason)
}

/// A round to open.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "11月第四周暗访", "kind": "undercover", "starts_on": "2026-11-23", "ends_on": "2026-11-27"}))]
pub struct NewRoundRequest {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    kind: RoundKind,
    #[schema(value_type = String, format = Date)]
    starts_on: String,
    #[schema(value_type = String, format = Date)]
    ends_on: String,
    /// Default: a week after ends_on.
    #[schema(value_type = Option<String>, format = Date)]
    rectify_by: Option<String>,
    /// Grid codes it covers, within the caller's area (default: the caller's scope).
    #[schema(max_items = 1000)]
    area: Option<Vec<String>>,
    /// Assessment point codes it checks.
    #[schema(max_items = 5000)]
    points: Option<Vec<String>>,
    /// Instead of `points`: draw them at random like a mock assessment, stratified by type and
    /// district, from the points in the round's area (the same seed draws the same points).
    draw: Option<RoundDraw>,
    /// User names of the inspectors (role `inspector`) who record its findings besides the office.
    #[schema(max_items = 100)]
    inspectors: Option<Vec<String>>,
}

/// How many points to draw, and the seed anyone can draw them again with.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundDraw {
    #[schema(minimum = 1, maximum = 5000)]
    n: usize,
    seed: u64,
}

/// A finding to record: at an assessment point, or at a place (or both: the place wins).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"point": "P001", "category": "E01001", "description": "路边垃圾堆放"}))]
pub struct NewFinding {
    /// An assessment point code (测评点位).
    #[schema(max_length = 100)]
    point: Option<String>,
    #[schema(minimum = -180, maximum = 180)]
    lon: Option<f64>,
    #[schema(minimum = -90, maximum = 90)]
    lat: Option<f64>,
    /// A catalogue code or name (GET /api/v1/categories).
    #[schema(min_length = 1, max_length = 100)]
    category: String,
    #[schema(min_length = 1, max_length = 4000)]
    description: String,
}

/// A finding recorded, and its case when it was handed over at once.
#[derive(Serialize, ToSchema)]
pub struct FindingRecorded {
    finding: Finding,
    problem: Option<Problem>,
}

/// A published round and the cases its findings became.
#[derive(Serialize, ToSchema)]
pub struct Published {
    round: Round,
    handed_over: Vec<Problem>,
}

/// The rounds the caller may see.
#[derive(Serialize, ToSchema)]
pub struct Rounds {
    rounds: Vec<Round>,
}

/// May `principal` run rounds over `area` (grid codes; empty for the whole city)?
fn runs_over(principal: &Principal, snapshot: &Snapshot, area: &[String]) -> bool {
    crate::domain::access::permitted(principal.role, Action::Supervise)
        && match Area::of(principal, snapshot) {
            Area::Everything => true,
            own @ Area::Grids(_) => !area.is_empty() && own.covers(&Area::Grids(snapshot.descendants(area))),
            _ => false,
        }
}

/// May `principal` run `round`?
fn runs(principal: &Principal, snapshot: &Snapshot, round: &Round) -> bool {
    runs_over(principal, snapshot, &round.area)
}

/// May `principal` record `round`'s findings: the office running it, or an inspector it names?
fn records(principal: &Principal, snapshot: &Snapshot, round: &Round) -> bool {
    runs(principal, snapshot, round) || round.names(principal)
}

/// A round the caller may see: the office over its area and the inspectors it names, everyone
/// else once it is public.
async fn visible_round(ctx: &ApiContext, principal: &Principal, id: &str) -> Result<Round, ApiError> {
    let not_found = || ApiError::not_found(format!("no round {id}"));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let round = ctx.store.round(id).await?.ok_or_else(not_found)?;
    let snapshot = ctx.catalog.snapshot();
    (records(principal, &snapshot, &round) || round.is_public()).then_some(round).ok_or_else(not_found)
}

/// A round the caller runs; 404 for one they cannot see, 403 for one they only read.
async fn run_round(ctx: &ApiContext, principal: &Principal, id: &str) -> Result<Round, ApiError> {
    let round = visible_round(ctx, principal, id).await?;
    if !runs(principal, &ctx.catalog.snapshot(), &round) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "only the office runs rounds, within its area"));
    }
    Ok(round)
}

fn date(field: &str, text: &str) -> Result<Date, ApiError> {
    Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| invalid(field, "must be a date YYYY-MM-DD"))
}

#[utoipa::path(post, path = "/api/v1/rounds", operation_id = "openRound", tag = "supervision",
    summary = "Open a supervision round (督查): open 明查, undercover 暗访 or special 专项, numbered per year",
    request_body = NewRoundRequest,
    responses(
        (status = 201, description = "The round", body = Round, headers(("Location" = String))),
        (status = 403, description = "Only the office and admins run rounds, within their area", body = ErrorBody),
        BodyRefusals,
        Refusals,
    ))]
pub async fn create(
    State(ctx): State<ApiContext>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::Supervise)?;
    let request: NewRoundRequest = typed_body_or(body, INVALID)?;
    let name = text_field(INVALID, "name", &request.name, 200)?;
    let (starts_on, ends_on) = (date("starts_on", &request.starts_on)?, date("ends_on", &request.ends_on)?);
    let rectify_by = match &request.rectify_by {
        Some(text) => date("rectify_by", text)?,
        None => ends_on + time::Duration::days(DEFAULT_RECTIFY_DAYS),
    };
    check_dates(starts_on, ends_on, rectify_by).map_err(|(field, reason)| invalid(field, reason))?;
    let snapshot = ctx.catalog.snapshot();
    let area = request.area.unwrap_or_else(|| {
        principal.scope.iter().filter(|s| s.as_str() != crate::domain::auth::WHOLE_CITY).cloned().collect()
    });
    if let Some(unknown) = area.iter().find(|code| !snapshot.grids.contains_key(*code)) {
        return Err(invalid("area", format!("no grid {unknown:?}")));
    }
    let points = match (request.points, request.draw) {
        (Some(_), Some(_)) => return Err(invalid("draw", "give points or a draw, not both")),
        (Some(points), None) => points,
        (None, Some(RoundDraw { n, seed })) => {
            if !(1..=crate::domain::assessment::MAX_POINTS).contains(&n) {
                return Err(invalid("draw", format!("n must be from 1 to {}", crate::domain::assessment::MAX_POINTS)));
            }
            let within =
                if area.is_empty() { Area::of(principal, &snapshot) } else { Area::Grids(snapshot.descendants(&area)) };
            let spec = crate::domain::assessment::Spec {
                name: name.clone(),
                n,
                seed,
                per_type: Default::default(),
                districts: Vec::new(),
            };
            let all = ctx.store.points(None).await?;
            crate::domain::assessment::sample(&all, &within, &spec).into_iter().map(|item| item.code).collect()
        }
        (None, None) => Vec::new(),
    };
    if points.len() > 5000 || points.iter().any(|p| p.is_empty() || p.chars().count() > 100 || p.contains('\0')) {
        return Err(invalid("points", "at most 5000 point codes of 1 to 100 characters"));
    }
    let inspectors = request.inspectors.unwrap_or_default();
    if inspectors.len() > 100 {
        return Err(invalid("inspectors", "at most 100 inspectors"));
    }
    let users = ctx.store.users().await?;
    for name in &inspectors {
        let known = users.iter().any(|u| u.name == *name && u.role == Role::Inspector && u.revoked_at.is_none());
        if !known {
            return Err(invalid("inspectors", format!("{name:?} is no inspector (a user with role inspector)")));
        }
    }
    let new = NewRound { name, kind: request.kind, starts_on, ends_on, rectify_by, area, points, inspectors };
    if !runs_over(principal, &snapshot, &new.area) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "a round's area must lie within yours"));
    }
    let year = starts_on.year();
    let round = ctx.store.create_round(new, year, ctx.clock.now(), caller.actor()).await.map_err(ApiError::conflict)?;
    let location = [(header::LOCATION, format!("/api/v1/rounds/{}", round.id))];
    Ok((StatusCode::CREATED, location, Json(round)).into_response())
}

#[utoipa::path(get, path = "/api/v1/rounds", operation_id = "listRounds", tag = "supervision",
    summary = "The supervision rounds the caller may see, newest first",
    responses(
        (status = 200, description = "Rounds", body = Rounds),
        (status = 400, description = "An unknown parameter", body = ErrorBody),
        (status = 403, description = "Citizen apps see no rounds; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn list(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Json<Rounds>, ApiError> {
    let principal = caller.require(Action::ReadRounds)?;
    params.only(&[])?;
    Ok(Json(Rounds { rounds: visible_rounds(&ctx, principal).await? }))
}

#[utoipa::path(get, path = "/api/v1/rounds/{id}", operation_id = "getRound", tag = "supervision",
    summary = "One supervision round (404 for an undercover round not yet published, except to the office running it)",
    params(("id" = String, Path, description = "The round's id")),
    responses(
        (status = 200, description = "The round", body = Round),
        (status = 403, description = "Citizen apps see no rounds; or a password change comes first", body = ErrorBody),
        (status = 404, description = "No such round the caller may see", body = ErrorBody),
        Refusals,
    ))]
pub async fn get(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Round>, ApiError> {
    let principal = caller.require(Action::ReadRounds)?;
    Ok(Json(visible_round(&ctx, principal, &id).await?))
}

#[utoipa::path(post, path = "/api/v1/rounds/{id}/findings", operation_id = "recordFinding", tag = "supervision",
    summary = "Record a finding of a round (the office running it, or an inspector it names): handed over as a routed case at once, or when an undercover round is published",
    params(("id" = String, Path, description = "The round's id")),
    request_body = NewFinding,
    responses(
        (status = 201, description = "The finding, and its case when handed over", body = FindingRecorded),
        (status = 403, description = "Only the office running the round or an inspector it names; or a place outside its area", body = ErrorBody),
        (status = 404, description = "No such round the caller may see", body = ErrorBody),
        BodyRefusals,
        Refusals,
    ))]
pub async fn add_finding(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::RecordFindings)?;
    let round = visible_round(&ctx, principal, &id).await?;
    if !records(principal, &ctx.catalog.snapshot(), &round) {
        let reason = "only the office running the round and the inspectors it names record its findings";
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", reason));
    }
    let request: NewFinding = typed_body_or(body, INVALID)?;
    let description = text_field(INVALID, "description", &request.description, 4000)?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let category = find(&snapshot.categories, request.category.trim()).ok_or_else(|| {
        invalid("category", format!("{:?} is not in the catalogue (GET /api/v1/categories)", request.category))
    })?;
    let point = match request.point.as_deref().map(str::trim) {
        Some(code) if code.is_empty() || code.chars().count() > 100 || code.contains('\0') => {
            return Err(invalid("point", "must be a point code of 1 to 100 characters"))
        }
        // A point outside the caller's area answers as one that does not exist.
        Some(code) => {
            let point = ctx.store.point(code.to_string()).await?.filter(|p| area.sees_point(p));
            Some(point.ok_or_else(|| invalid("point", format!("no assessment point {code:?} in your area")))?)
        }
        None => None,
    };
    let (lon, lat) = match (request.lon, request.lat, &point) {
        (Some(lon), Some(lat), _) if lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0 => {
            (lon, lat)
        }
        (Some(_), Some(_), _) => return Err(invalid("lon", "lon and lat must be degrees within ±180 and ±90")),
        (None, None, Some(p)) => {
            let at = geo::InteriorPoint::interior_point(&p.geometry)
                .ok_or_else(|| invalid("point", "has an empty geometry"))?;
            (at.x(), at.y())
        }
        _ => return Err(invalid("lon", "give lon and lat, or a point")),
    };
    // The place must lie in the round's area (when it has one) and in the caller's.
    let grid = snapshot.index.locate(geo::Coord { x: lon, y: lat }).grid.map(|e| e.code.clone());
    let in_round =
        round.area.is_empty() || grid.as_ref().is_some_and(|g| snapshot.descendants(&round.area).contains(g));
    if !in_round || !area.may_report_at(grid.as_deref()) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "outside_area", "the finding lies outside the round's area"));
    }
    let finding = Finding {
        id: 0,
        round_id: round.id,
        point_code: point.map(|p| p.code),
        lon,
        lat,
        category: category.code.clone(),
        description,
        found_by: principal.name.clone(),
        found_at: ctx.clock.now(),
        problem_id: None,
        from_assessment: None,
    };
    let (finding, problem) =
        record_finding(&ctx.store, &snapshot, &round, finding, category, caller.actor(), ctx.recurrence).await?;
    if let Some(p) = &problem {
        ctx.announce(p);
    }
    let problem = problem.map(|p| present::case(&ctx, &area, p));
    Ok((StatusCode::CREATED, Json(FindingRecorded { finding, problem })).into_response())
}

/// Which mock assessment's failed items to record as findings.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"assessment": 3}))]
pub struct FromAssessment {
    /// The mock assessment's id (GET /api/v1/assessments).
    #[schema(minimum = 1)]
    assessment: i64,
}

/// The findings made from an assessment, and how many of its failed items were findings already.
#[derive(Serialize, ToSchema)]
pub struct FromAssessmentRecorded {
    recorded: Vec<FindingRecorded>,
    already: usize,
}

#[utoipa::path(post, path = "/api/v1/rounds/{id}/findings/from-assessment", operation_id = "findingsFromAssessment", tag = "supervision",
    summary = "Record each failed item of a mock assessment (a criterion scored below its weight) as a finding of the round, once",
    params(("id" = String, Path, description = "The round's id")),
    request_body = FromAssessment,
    responses(
        (status = 201, description = "The findings recorded (and cases handed over), and the count of items that were findings already", body = FromAssessmentRecorded),
        (status = 403, description = "Only the office running the round", body = ErrorBody),
        (status = 404, description = "No such round the caller may see", body = ErrorBody),
        (status = 409, description = "Recorded at the same moment by someone else: send again", body = ErrorBody),
        BodyRefusals,
        Refusals,
    ))]
pub async fn findings_from_assessment(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::Supervise)?;
    let round = run_round(&ctx, principal, &id).await?;
    let request: FromAssessment = typed_body_or(body, INVALID)?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    // An assessment outside the caller's area answers as one that does not exist.
    let assessment = ctx.store.assessments(Some(request.assessment)).await?.into_iter().next();
    let assessment = assessment
        .filter(|a| a.visible_to(&area))
        .ok_or_else(|| invalid("assessment", format!("no assessment {} in your area", request.assessment)))?;
    let done: BTreeSet<String> =
        ctx.store.findings(round.id).await?.into_iter().filter_map(|f| f.from_assessment).collect();
    let (mut recorded, mut already) = (Vec::new(), 0);
    for finding in findings_of_failed_items(&assessment, round.id, GENERAL_CATEGORY) {
        if finding.from_assessment.as_ref().is_some_and(|key| done.contains(key)) {
            already += 1;
            continue;
        }
        // A category taken out of the catalogue since: the general one.
        let category = find(&snapshot.categories, &finding.category)
            .or_else(|| find(&snapshot.categories, GENERAL_CATEGORY))
            .ok_or_else(|| {
                invalid("assessment", "neither the criterion's category nor the general one is catalogued")
            })?;
        let finding = Finding { category: category.code.clone(), ..finding };
        let (finding, problem) =
            record_finding(&ctx.store, &snapshot, &round, finding, category, caller.actor(), ctx.recurrence)
                .await
                .map_err(ApiError::conflict)?;
        if let Some(p) = &problem {
            ctx.announce(p);
        }
        let problem = problem.map(|p| present::case(&ctx, &area, p));
        recorded.push(FindingRecorded { finding, problem });
    }
    Ok((StatusCode::CREATED, Json(FromAssessmentRecorded { recorded, already })).into_response())
}

/// The office's foreword to a round's 督查通报, and the version it was read at.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"foreword": "为巩固创建成果，11月23日至27日市创建办对各街道开展暗访督查，现将有关情况通报如下。", "version": 0}))]
pub struct ForewordRequest {
    /// Null or empty to remove it.
    #[schema(max_length = 4000)]
    foreword: Option<String>,
    /// The round's `version` as the office read it; a stale one is 409.
    version: i64,
}

#[utoipa::path(put, path = "/api/v1/rounds/{id}/foreword", operation_id = "setRoundForeword", tag = "supervision",
    summary = "Write the foreword (前言) of a round's 督查通报: the office running the round; send back the version read",
    params(("id" = String, Path, description = "The round's id")),
    request_body = ForewordRequest,
    responses(
        (status = 200, description = "The round, its version moved on", body = Round),
        (status = 403, description = "Only the office running the round", body = ErrorBody),
        (status = 404, description = "No such round the caller may see", body = ErrorBody),
        (status = 409, description = "Changed meanwhile by someone else: read it again", body = ErrorBody),
        BodyRefusals,
        Refusals,
    ))]
pub async fn set_foreword(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Round>, ApiError> {
    let principal = caller.require(Action::Supervise)?;
    let round = run_round(&ctx, principal, &id).await?;
    let request: ForewordRequest = typed_body_or(body, INVALID)?;
    let foreword = request.foreword.as_deref().map(str::trim).filter(|f| !f.is_empty());
    if foreword.is_some_and(|f| f.chars().count() > 4000 || f.contains('\0')) {
        return Err(invalid("foreword", "must be text of at most 4000 characters"));
    }
    let now = ctx.clock.now();
    if !ctx.store.set_foreword(round.id, foreword, request.version, now, caller.actor()).await? {
        let reason = format!("the foreword changed since version {}: read the round again", request.version);
        return Err(ApiError::new(StatusCode::CONFLICT, "conflict", reason));
    }
    Ok(Json(ctx.store.round(round.id).await?.ok_or_else(|| ApiError::not_found("the round vanished"))?))
}

#[utoipa::path(post, path = "/api/v1/rounds/{id}/publish", operation_id = "publishRound", tag = "supervision",
    summary = "Publish an undercover round: its findings are handed over as routed cases, and the units see the round",
    params(("id" = String, Path, description = "The round's id")),
    responses(
        (status = 200, description = "The round and the cases handed over", body = Published),
        (status = 403, description = "Only the office running the round", body = ErrorBody),
        (status = 404, description = "No such round the caller may see", body = ErrorBody),
        (status = 409, description = "Not an undercover round, published already, or a finding recorded meanwhile", body = ErrorBody),
        Refusals,
    ))]
pub async fn publish_round(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Published>, ApiError> {
    let principal = caller.require(Action::Supervise)?;
    let round = run_round(&ctx, principal, &id).await?;
    let refused = |reason: &str| ApiError::new(StatusCode::CONFLICT, "illegal_transition", reason.to_string());
    if round.kind != RoundKind::Undercover {
        return Err(refused("only an undercover round is published: the findings of others are handed over at once"));
    }
    let snapshot = ctx.catalog.snapshot();
    let now = ctx.clock.now();
    let handed_over = publish(&ctx.store, &snapshot, &round, now, caller.actor(), ctx.recurrence)
        .await
        .map_err(ApiError::conflict)?
        .ok_or_else(|| refused("the round is published already"))?;
    handed_over.iter().for_each(|p| ctx.announce(p));
    let area = Area::of(principal, &snapshot);
    let handed_over = handed_over.into_iter().map(|p| present::case(&ctx, &area, p)).collect();
    let round = ctx.store.round(round.id).await?.ok_or_else(|| ApiError::not_found("the round vanished"))?;
    Ok(Json(Published { round, handed_over }))
}

#[utoipa::path(get, path = "/api/v1/rounds/{id}/ledger", operation_id = "roundLedger", tag = "supervision",
    summary = "A round's ledger (台账): every finding with its standing (rectified 已整改, not rectified 未整改, overdue 超期, voided), per unit and per point",
    description = "The office running the round and the inspectors it names see every finding; everyone else, once the round is public, only the findings whose cases they may see (a unit: those handed to it).",
    params(("id" = String, Path, description = "The round's id")),
    responses(
        (status = 200, description = "The ledger", body = Ledger),
        (status = 403, description = "Citizen apps see no rounds; or a password change comes first", body = ErrorBody),
        (status = 404, description = "No such round the caller may see", body = ErrorBody),
        Refusals,
    ))]
pub async fn ledger(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Ledger>, ApiError> {
    Ok(Json(visible_ledger(&ctx, &caller, &id).await?))
}

/// A round's ledger as the caller may see it: whole to the office running the round; to anyone
/// else (once public) only the findings whose cases they may see.
pub(super) async fn visible_ledger(ctx: &ApiContext, caller: &Caller, id: &str) -> Result<Ledger, ApiError> {
    let principal = caller.require(Action::ReadRounds)?;
    let round = visible_round(ctx, principal, id).await?;
    ledger_as_seen(ctx, principal, round).await
}

/// `round`'s ledger as `principal` sees it: whole to those who record it, else only the
/// findings whose cases they may see.
pub(super) async fn ledger_as_seen(ctx: &ApiContext, principal: &Principal, round: Round) -> Result<Ledger, ApiError> {
    let snapshot = ctx.catalog.snapshot();
    let office = records(principal, &snapshot, &round);
    let ledger = ledger_of(&ctx.store, round, ctx.clock.now(), ctx.calendar.offset).await?;
    if office {
        return Ok(ledger);
    }
    let area = Area::of(principal, &snapshot);
    Ok(restricted(ledger, |item| {
        item.finding.problem_id.is_some() && area.sees(item.grid_code.as_deref(), item.unit.as_deref(), None)
    }))
}

/// The rounds `principal` may see, newest first.
pub(super) async fn visible_rounds(ctx: &ApiContext, principal: &Principal) -> Result<Vec<Round>, ApiError> {
    let snapshot = ctx.catalog.snapshot();
    Ok(ctx.store.rounds().await?.into_iter().filter(|r| records(principal, &snapshot, r) || r.is_public()).collect())
}
