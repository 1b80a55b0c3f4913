//! The case workflow over HTTP: `POST /api/v1/problems/{id}/transitions`,
//! `GET /api/v1/problems/{id}/events` and `GET /api/v1/categories`.

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::idempotency::IdempotencyKey;
use super::params::{field_error, typed_body_or};
use super::{present, ApiContext};
use crate::app::casework::{Casework, Caseworker, StepError};
use crate::app::metrics::METRICS;
use crate::domain::access::{Action as Permission, Area};
use crate::domain::problem::Problem;
use crate::domain::workflow::calendar::LimitUnit;
use crate::domain::workflow::case::{Refusal, Request, Rules};
use crate::domain::workflow::state::Action;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    field_error(INVALID, field, reason)
}

/// The error code of a step whose body is wrong.
const INVALID: &str = "invalid_transition";

/// A step of the workflow: the action and what it needs (a note, a unit, an extension …).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Transition, example = json!({"action": "accept", "note": "受理"}))]
pub(super) struct TransitionRequest {
    action: Action,
    #[schema(max_length = 2000)]
    note: Option<String>,
    #[schema(max_length = 2000)]
    photo_url: Option<String>,
    /// The unit to dispatch to (dispatch; the case's own unit otherwise).
    #[schema(max_length = 200)]
    unit: Option<String>,
    /// Where a refusing unit says the case belongs.
    #[schema(max_length = 200)]
    forward_to: Option<String>,
    /// How much more time is asked for (request_extension).
    extension: Option<ExtensionAsked>,
    /// The case a duplicate is merged into (merge).
    into: Option<i64>,
    /// Verify or close although after-photos failed the tamper checks (needs a note; recorded in the audit log).
    #[serde(default)]
    override_flags: bool,
    /// What the caller said when called back (callback): dissatisfied re-opens the case for rework.
    satisfaction: Option<crate::domain::problem::Satisfaction>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ExtensionAsked {
    #[schema(minimum = 1, maximum = 1000)]
    amount: u32,
    unit: LimitUnit,
}

/// A text field: trimmed, empty as absent, at most `max` characters, no NUL.
fn text(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    match value {
        Some(s) if s.chars().count() > max || s.contains('\0') => {
            Err(invalid(field, format!("must be a string of at most {max} characters")))
        }
        Some(s) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        None => Ok(None),
    }
}

impl TransitionRequest {
    fn checked(self) -> Result<(Action, Request, bool), ApiError> {
        let extension = match self.extension {
            Some(e) if (1..=1000).contains(&e.amount) => Some((e.amount, e.unit)),
            Some(_) => return Err(invalid("extension.amount", "must be from 1 to 1000")),
            None => None,
        };
        let request = Request {
            note: text("note", self.note, 2000)?,
            photo_url: text("photo_url", self.photo_url, 2000)?,
            unit: text("unit", self.unit, 200)?,
            forward_to: text("forward_to", self.forward_to, 200)?,
            extension,
            into: self.into,
            satisfaction: self.satisfaction,
        };
        Ok((self.action, request, self.override_flags))
    }
}

#[utoipa::path(post, path = "/api/v1/problems/{id}/transitions", operation_id = "transitionProblem", tag = "cases",
    summary = "Move a case through the workflow (accept, confirm, register, dispatch, refuse, handle, reject, self_handle, verify, close, void, request/approve/refuse_extension, merge, callback)",
    description = "With an `Idempotency-Key`, a step sent again after a lost answer gets the first answer back (`Idempotent-Replayed: true`) instead of a second step: the phone's outbox sends its checks this way.",
    params(("id" = String, Path, description = "The case's id"), IdempotencyKey),
    request_body = TransitionRequest,
    responses(
        (status = 200, description = "The case after the action", body = Problem),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "The caller's role may not take this step", body = ErrorBody),
        (status = 404, description = "No such case in the caller's area", body = ErrorBody),
        (status = 409, description = "illegal_transition from the case's state, flagged_evidence, or conflict with a change meanwhile", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "invalid_transition: a field is missing, unknown or wrong; or idempotency_key_reused", body = ErrorBody),
        Refusals,
    ))]
pub async fn transition(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Problem>, ApiError> {
    let problem = present::visible_case(&ctx, &caller, &id).await?;
    let principal = caller.require(Permission::ReadProblems)?;
    let (action, request, override_flags) = typed_body_or::<TransitionRequest>(body, INVALID)?.checked()?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let who = Caseworker { principal, area: &area, remote: &caller.remote, now: ctx.clock.now() };
    let taken = casework(&ctx).take_step(&who, &problem, action, &request, override_flags).await;
    let updated = match taken {
        Ok(updated) => updated,
        Err(e) => return Err(step_refused(&ctx, &area, action, e).await),
    };
    ctx.announce(&updated);
    if updated.status == crate::domain::workflow::state::State::Closed {
        // A 12345 order's case closed (办结): the platform is owed its result.
        let note = request.note.as_deref();
        if ctx.store.settle_hotline_order(updated.id, crate::domain::hotline::Outcome::Closed, note, who.now).await? {
            ctx.hotline_wake.notify_one();
        }
    }
    Ok(Json(present::case(&ctx, &area, updated)))
}

pub(super) fn casework(ctx: &ApiContext) -> Casework<'_> {
    let rules = Rules { calendar: &ctx.calendar, confirmation: &ctx.confirmation };
    Casework { store: &ctx.store, rules, thresholds: &ctx.thresholds }
}

/// A refused step as the API answers it.
pub(super) async fn step_refused(ctx: &ApiContext, area: &Area, action: Action, error: StepError) -> ApiError {
    match error {
        StepError::Refused(Refusal::Role(role)) => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", format!("the {role} role may not {action}"))
                .with_details(json!({"allowed_roles": action.allowed_roles()}))
        }
        StepError::Refused(Refusal::State { state, allowed }) => {
            let options: Vec<Value> = allowed.iter().map(|(a, s)| json!({"action": a, "to": s})).collect();
            let next: Vec<&str> = allowed.iter().map(|(_, s)| s.as_str()).collect();
            ApiError::new(
                StatusCode::CONFLICT,
                "illegal_transition",
                format!("cannot {action} a {state} case; allowed next states: {}", next.join(", ")),
            )
            .with_details(json!({"state": state, "allowed": options}))
        }
        StepError::Refused(Refusal::Input(reason)) => invalid("body", reason),
        StepError::NoMergeTarget(_) => invalid("into", error.to_string()),
        StepError::OverrideNeedsNote => invalid("note", error.to_string()),
        StepError::FlaggedEvidence(photos) => {
            let shown = match present::photos_to(ctx, area, &photos).await {
                Ok(shown) => shown,
                Err(e) => return e,
            };
            ApiError::new(
                StatusCode::CONFLICT,
                "flagged_evidence",
                format!("{} after-photo(s) of this case failed the tamper checks: look at them, then send \"override_flags\": true with a note to {action} anyway", photos.len()),
            )
            .with_details(json!({"photos": shown}))
        }
        StepError::MayNotReroute(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", error.to_string()),
        StepError::Closed(_) => ApiError::new(StatusCode::CONFLICT, "illegal_transition", error.to_string()),
        StepError::NoSuchGrid(_) => invalid("grid", error.to_string()),
        StepError::Conflict => {
            ApiError::new(StatusCode::CONFLICT, "conflict", "the case changed meanwhile; reload it and try again")
        }
        StepError::Store(e) => e.into(),
    }
}

/// A case's history (办理经过).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct History {
    problem: i64,
    /// Oldest first.
    events: Vec<crate::domain::problem::ProblemEvent>,
}

#[utoipa::path(get, path = "/api/v1/problems/{id}/events", operation_id = "getProblemEvents", tag = "cases",
    summary = "Every recorded step of a case (append-only)",
    params(("id" = String, Path, description = "The case's id")),
    responses(
        (status = 200, description = "The steps, oldest first", body = History),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        (status = 404, description = "No such case in the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn events(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<History>, ApiError> {
    let problem = present::visible_case(&ctx, &caller, &id).await?;
    let events = ctx.store.problem_events(problem.id).await?;
    Ok(Json(History { problem: problem.id, events }))
}

/// The category catalogue.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct Catalogue {
    categories: Vec<crate::domain::workflow::catalogue::Category>,
}

#[utoipa::path(get, path = "/api/v1/categories", operation_id = "listCategories", tag = "cases",
    summary = "The category catalogue (部件/事件) with departments and time limits",
    responses(
        (status = 200, description = "The catalogue", body = Catalogue),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn categories(State(ctx): State<ApiContext>, caller: Caller) -> Result<Json<Catalogue>, ApiError> {
    caller.require(Permission::Locate)?;
    Ok(Json(Catalogue { categories: ctx.store.categories().await? }))
}

/// How often a live stream asks again whether its token still holds (as often as the token cache
/// elsewhere may lag: [`super::guard::PrincipalCache::TTL`]).
pub const STREAM_RECHECK: std::time::Duration = super::guard::PrincipalCache::TTL;

/// Live streams one user may hold open at once (a dispatcher's few tabs, each with its board and
/// its escalations).
pub const MAX_STREAMS_PER_USER: usize = 8;

/// A live stream's places: one of its user's, one of the node's (`--max-streams`), and its count
/// in the metrics; all given back when the stream ends.
struct StreamPlaces {
    _user: super::slots::Slot<i64>,
    _node: super::slots::Slot<()>,
}

impl StreamPlaces {
    fn take(ctx: &ApiContext, user: i64) -> Result<Self, ApiError> {
        let full = |message: String| ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_streams", message);
        let user = ctx
            .streams
            .take(user, MAX_STREAMS_PER_USER)
            .ok_or_else(|| full(format!("at most {MAX_STREAMS_PER_USER} live streams per user; close one first")))?;
        let node = ctx.all_streams.take((), ctx.limits.max_streams).ok_or_else(|| {
            full(format!("this server holds its most live streams ({}); try again soon", ctx.limits.max_streams))
        })?;
        METRICS.live_streams.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Self { _user: user, _node: node })
    }
}

impl Drop for StreamPlaces {
    fn drop(&mut self) {
        METRICS.live_streams.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Returns once the server has begun to shut down.
async fn stopped(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    while !*stopping.borrow_and_update() {
        if stopping.changed().await.is_err() {
            return std::future::pending().await; // the server is gone without saying: nothing to end
        }
    }
}

/// Server-sent events from a broadcast: each message `to_event` keeps (the caller's area decides),
/// kept alive; a listener too slow for the channel skips what it missed. Every
/// [`STREAM_RECHECK`] the caller's token is checked again: once it is revoked or expired (or its
/// user's role or area changed, or the store cannot tell), a last `revoked` event ends the stream.
/// When the server shuts down, a last `reconnect` event (with a retry time) ends it, so that the
/// shutdown need not wait for the client to leave.
fn live<T: Clone + Send + 'static>(
    ctx: &ApiContext,
    caller: &Caller,
    receiver: tokio::sync::broadcast::Receiver<T>,
    to_event: impl Fn(T) -> Option<axum::response::sse::Event> + Send + Sync + 'static,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::response::IntoResponse;
    use tokio::sync::broadcast::error::RecvError;
    let principal = caller.require(Permission::ReadProblems)?.clone();
    let token = caller.token_hash.clone().unwrap_or_default();
    let slot = StreamPlaces::take(ctx, principal.user_id)?;
    let stopping = ctx.stopping.subscribe();
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + STREAM_RECHECK, STREAM_RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ctx = ctx.clone();
    let state = Some((receiver, to_event, recheck, slot, stopping));
    let stream = futures_util::stream::unfold(state, move |state| {
        let (ctx, token, principal) = (ctx.clone(), token.clone(), principal.clone());
        async move {
            let (mut receiver, to_event, mut recheck, slot, mut stopping) = state?;
            loop {
                tokio::select! {
                    () = stopped(&mut stopping) => {
                        let end = Event::default()
                            .event("reconnect")
                            .retry(std::time::Duration::from_secs(2))
                            .data("the server is shutting down: reconnect in a moment");
                        return Some((end, None));
                    }
                    message = receiver.recv() => match message {
                        Ok(message) => {
                            if let Some(event) = to_event(message) {
                                return Some((event, Some((receiver, to_event, recheck, slot, stopping))));
                            }
                        }
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    },
                    _ = recheck.tick() => {
                        let now = ctx.clock.now();
                        let still = ctx.store.principal(token.clone(), now).await.ok().flatten();
                        if still.as_ref() != Some(&principal) {
                            let end = Event::default().event("revoked").data("the token is revoked or expired, or its user changed: sign in again");
                            return Some((end, None));
                        }
                    }
                }
            }
        }
    });
    let stream = futures_util::StreamExt::map(stream, Ok::<_, std::convert::Infallible>);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// `GET /api/v1/escalations/stream`: colour changes in the caller's area as server-sent events
/// (`event: colour`, JSON data), for dispatch screens.
#[utoipa::path(get, path = "/api/v1/escalations/stream", operation_id = "escalationStream", tag = "cases",
    summary = "Colour changes (三色督办) in the caller's area as server-sent events (event: colour)",
    responses(
        (status = 200, description = "The stream; a last `revoked` event ends it when the token no longer holds", content_type = "text/event-stream", body = String),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn escalation_stream(
    State(ctx): State<ApiContext>,
    caller: Caller,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::sse::Event;
    let principal = caller.require(Permission::ReadProblems)?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    live(&ctx, &caller, ctx.changes.subscribe(), move |c| {
        area.sees(c.grid_code.as_deref(), c.responsible_unit.as_deref(), c.reported_by.as_deref()).then(|| {
            let event = Event::default().event("colour").id(c.problem_id.to_string());
            event.json_data(&c).unwrap_or_else(|_| Event::default().comment("unencodable change"))
        })
    })
}

/// `GET /api/v1/problems/stream`: every case stored or changed in the caller's area, as it
/// happens (SSE `problem` events carrying the case as a GeoJSON feature).
#[utoipa::path(get, path = "/api/v1/problems/stream", operation_id = "problemStream", tag = "cases",
    summary = "New and changed cases in the caller's area as server-sent events (event: problem; data: a GeoJSON Feature)",
    responses(
        (status = 200, description = "The stream; a last `revoked` event ends it when the token no longer holds", content_type = "text/event-stream", body = String),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn problem_stream(
    State(ctx): State<ApiContext>,
    caller: Caller,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::sse::Event;
    let principal = caller.require(Permission::ReadProblems)?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let receiver = ctx.problem_changes.subscribe();
    let shown = ctx.clone();
    live(&ctx, &caller, receiver, move |p| {
        area.sees_problem(&p).then(|| {
            let event = Event::default().event("problem").id(p.id.to_string());
            let feature = super::present::case_feature(&shown, &area, p);
            event.json_data(&feature).unwrap_or_else(|_| Event::default().comment("unencodable change"))
        })
    })
}

/// Where a dispatcher moves a case, and why.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RerouteRequest {
    /// The grid the case belongs to instead.
    #[schema(max_length = 40)]
    grid: Option<String>,
    /// The unit that handles it instead.
    #[schema(max_length = 200)]
    unit: Option<String>,
    #[schema(max_length = 2000)]
    reason: String,
}

/// `POST /api/v1/problems/{id}/reroute`: a dispatcher moves a case to another grid and/or unit,
/// with a reason; the step is recorded like any other.
#[utoipa::path(post, path = "/api/v1/problems/{id}/reroute", operation_id = "rerouteProblem", tag = "cases",
    summary = "Move a case to another grid and/or unit, with a reason (dispatchers)",
    params(("id" = String, Path, description = "The case's id")),
    request_body = RerouteRequest,
    responses(
        (status = 200, description = "The re-routed case", body = Problem),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "Only dispatchers re-route, within their area", body = ErrorBody),
        (status = 404, description = "No such case in the caller's area", body = ErrorBody),
        (status = 409, description = "The case is closed, or changed meanwhile", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "invalid_transition: no grid or unit, an unknown grid, a field too long", body = ErrorBody),
        Refusals,
    ))]
pub async fn reroute(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Problem>, ApiError> {
    let problem = present::visible_case(&ctx, &caller, &id).await?;
    let principal = caller.require(Permission::ReadProblems)?;
    let request: RerouteRequest = typed_body_or(body, INVALID)?;
    let reason = text("reason", Some(request.reason), 2000)?.ok_or_else(|| invalid("reason", "is required"))?;
    let grid = text("grid", request.grid, 40)?;
    let unit = text("unit", request.unit, 200)?;
    if grid.is_none() && unit.is_none() {
        return Err(invalid("body", "give a grid, a unit or both"));
    }
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let who = Caseworker { principal, area: &area, remote: &caller.remote, now: ctx.clock.now() };
    let moved = casework(&ctx).reroute(&snapshot, &who, &problem, grid.as_deref(), unit.as_deref(), reason).await;
    let updated = match moved {
        Ok(updated) => updated,
        Err(e) => return Err(step_refused(&ctx, &area, Action::Dispatch, e).await),
    };
    ctx.announce(&updated);
    Ok(Json(present::case(&ctx, &area, updated)))
}
