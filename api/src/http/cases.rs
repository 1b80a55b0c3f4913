//! The case workflow over HTTP: `POST /api/v1/problems/{id}/transitions`,
//! `GET /api/v1/problems/{id}/events` and `GET /api/v1/categories`.

use super::error::ApiError;
use super::guard::Caller;
use super::{present, ApiContext};
use crate::domain::access::{Action as Permission, Area};
use crate::domain::problem::Problem;
use crate::domain::workflow::calendar::LimitUnit;
use crate::domain::workflow::case::{apply, colour_at, Refusal, Request};
use crate::domain::workflow::state::Action;
use crate::store::NewEvent;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    let reason = reason.into();
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_transition", format!("{field}: {reason}"))
        .with_details(json!({"fields": [{"field": field, "reason": reason}]}))
}

fn optional_text(body: &serde_json::Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max && !s.contains('\0') => {
            Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty()))
        }
        Some(_) => Err(invalid(key, format!("must be a string of at most {max} characters"))),
    }
}

fn parse_request(body: &Value) -> Result<(Action, Request), ApiError> {
    let obj = body.as_object().ok_or_else(|| invalid("body", "must be a JSON object"))?;
    const FIELDS: [&str; 8] =
        ["action", "note", "photo_url", "unit", "forward_to", "extension", "into", "override_flags"];
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid("body", format!("unknown field {k:?} (fields: {})", FIELDS.join(", "))));
    }
    let action = match obj.get("action") {
        Some(Value::String(s)) => s.parse::<Action>().map_err(|e| invalid("action", e))?,
        _ => return Err(invalid("action", "is required")),
    };
    let extension =
        match obj.get("extension") {
            None | Some(Value::Null) => None,
            Some(e) => {
                let amount = e["amount"].as_u64().filter(|a| (1..=1000).contains(a));
                let unit = e["unit"].as_str().map(LimitUnit::parse);
                match (amount, unit) {
                    (Some(a), Some(Ok(u))) => Some((a as u32, u)),
                    _ => return Err(invalid(
                        "extension",
                        "must be {\"amount\": 1-1000, \"unit\": urgent_hours|working_hours|working_days|natural_days}",
                    )),
                }
            }
        };
    let request = Request {
        note: optional_text(obj, "note", 2000)?,
        photo_url: optional_text(obj, "photo_url", 2000)?,
        unit: optional_text(obj, "unit", 200)?,
        forward_to: optional_text(obj, "forward_to", 200)?,
        extension,
        into: match obj.get("into") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_i64().ok_or_else(|| invalid("into", "must be a problem id"))?),
        },
    };
    Ok((action, request))
}

pub async fn transition(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Problem>, ApiError> {
    let problem = present::visible_case(&ctx, &caller, &id).await?;
    let principal = caller.require(Permission::ReadProblems)?;
    let body = body.map_err(|e| ApiError::new(e.status(), "unreadable_body", e.to_string()))?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")))?;
    let (action, request) = parse_request(&value)?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let overridden = flagged_after_photos(&ctx, &problem, action, &request, &value, &area).await?;
    if let (Action::Merge, Some(into)) = (action, request.into) {
        // The case merged into must exist, be visible to the caller and still be open.
        let target = ctx.store.problem(into).await?.filter(|t| area.sees_problem(t));
        let open = target.as_ref().is_some_and(|t| t.status.is_open());
        if !open {
            return Err(invalid("into", format!("no open problem {into} to merge into")));
        }
    }
    let now = ctx.clock.now();
    let mut updated = apply(&problem, principal.role, action, &request, now, &ctx.calendar).map_err(|r| match r {
        Refusal::Role(role) => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", format!("the {role} role may not {action}"))
                .with_details(json!({"allowed_roles": action.allowed_roles()}))
        }
        Refusal::State { state, allowed } => {
            let options: Vec<Value> = allowed.iter().map(|(a, s)| json!({"action": a, "to": s})).collect();
            let next: Vec<&str> = allowed.iter().map(|(_, s)| s.as_str()).collect();
            ApiError::new(
                StatusCode::CONFLICT,
                "illegal_transition",
                format!("cannot {action} a {state} case; allowed next states: {}", next.join(", ")),
            )
            .with_details(json!({"state": state, "allowed": options}))
        }
        Refusal::Input(reason) => invalid("body", reason),
    })?;
    updated.colour = colour_at(&updated, now, &ctx.calendar, &ctx.thresholds);
    let event = NewEvent {
        at: now,
        actor: principal.name.clone(),
        role: principal.role.as_str().into(),
        action: action.as_str().into(),
        note: request.note.clone(),
        photo_url: request.photo_url.clone(),
        details: json!({
            "unit": updated.responsible_unit,
            "forward_to": request.forward_to,
            "merged_into": request.into,
            "deadline": updated.case.deadline.and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok()),
            "remote": caller.remote,
            "overridden_photos": overridden,
        }),
        audit: overridden.as_ref().map(|photos| crate::store::StepAudit {
            action: "photo.override",
            remote: caller.remote.clone(),
            details: json!({"action": action.as_str(), "photos": photos, "note": request.note}),
        }),
    };
    commit(&ctx, &area, &problem, updated, event).await
}

/// Verifying or closing a case whose after-photos (handling, verification) are flagged needs
/// `"override_flags": true` and a note saying why; the photos overridden are returned so that
/// the step and the audit log record them.
async fn flagged_after_photos(
    ctx: &ApiContext,
    problem: &Problem,
    action: Action,
    request: &crate::domain::workflow::case::Request,
    body: &Value,
    area: &Area,
) -> Result<Option<Vec<i64>>, ApiError> {
    if !matches!(action, Action::Verify | Action::Close) {
        return Ok(None);
    }
    let flagged: Vec<crate::store::photos::Photo> = ctx
        .store
        .photos_of(problem.id)
        .await?
        .into_iter()
        .filter(|p| p.stage.shows_the_fix() && !p.file.flags.is_empty())
        .collect();
    if flagged.is_empty() {
        return Ok(None);
    }
    let ids: Vec<i64> = flagged.iter().map(|p| p.id).collect();
    let shown = super::present::photos_to(ctx, area, &flagged).await?;
    match body.get("override_flags") {
        Some(Value::Bool(true)) if request.note.is_some() => Ok(Some(ids)),
        Some(Value::Bool(true)) => Err(invalid("note", "overriding flagged photos needs a note saying why")),
        None | Some(Value::Bool(false)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "flagged_evidence",
            format!("{} after-photo(s) of this case failed the tamper checks: look at them, then send \"override_flags\": true with a note to {action} anyway", ids.len()),
        )
        .with_details(json!({"photos": shown}))),
        Some(_) => Err(invalid("override_flags", "must be true or false")),
    }
}

/// Stores a case change with its step, unless someone moved the case first (409).
async fn commit(
    ctx: &ApiContext,
    area: &Area,
    before: &Problem,
    mut after: Problem,
    step: NewEvent,
) -> Result<Json<Problem>, ApiError> {
    after.version = before.version;
    if !ctx.store.update_case(after.clone(), before.status, step).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the case changed meanwhile; reload it and try again",
        ));
    }
    after.version += 1;
    ctx.announce(&after);
    Ok(Json(present::case(ctx, area, after)))
}

pub async fn events(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let problem = present::visible_case(&ctx, &caller, &id).await?;
    let events = ctx.store.problem_events(problem.id).await?;
    Ok(Json(json!({"problem": problem.id, "events": events})))
}

pub async fn categories(State(ctx): State<ApiContext>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Locate)?;
    Ok(Json(json!({"categories": ctx.store.categories().await?})))
}

/// How often a live stream asks again whether its token still holds (as often as the token cache
/// elsewhere may lag: [`super::guard::PrincipalCache::TTL`]).
pub const STREAM_RECHECK: std::time::Duration = super::guard::PrincipalCache::TTL;

/// Live streams one user may hold open at once (a dispatcher's few tabs, each with its board and
/// its escalations).
pub const MAX_STREAMS_PER_USER: usize = 8;

/// Server-sent events from a broadcast: each message `to_event` keeps (the caller's area decides),
/// kept alive; a listener too slow for the channel skips what it missed. Every
/// [`STREAM_RECHECK`] the caller's token is checked again: once it is revoked or expired (or its
/// user's role or area changed, or the store cannot tell), a last `revoked` event ends the stream.
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
    let slot = ctx.streams.take(principal.user_id, MAX_STREAMS_PER_USER).ok_or_else(|| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!("at most {MAX_STREAMS_PER_USER} live streams per user; close one first"),
        )
    })?;
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + STREAM_RECHECK, STREAM_RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ctx = ctx.clone();
    let state = Some((receiver, to_event, recheck, slot));
    let stream = futures_util::stream::unfold(state, move |state| {
        let (ctx, token, principal) = (ctx.clone(), token.clone(), principal.clone());
        async move {
            let (mut receiver, to_event, mut recheck, slot) = state?;
            loop {
                tokio::select! {
                    message = receiver.recv() => match message {
                        Ok(message) => {
                            if let Some(event) = to_event(message) {
                                return Some((event, Some((receiver, to_event, recheck, slot))));
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

/// `POST /api/v1/problems/{id}/reroute`: a dispatcher moves a case to another grid and/or unit,
/// with a reason; the step is recorded like any other.
pub async fn reroute(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Problem>, ApiError> {
    let problem = present::visible_case(&ctx, &caller, &id).await?;
    let principal = caller.require(Permission::ReadProblems)?;
    if !matches!(principal.role, crate::domain::auth::Role::Dispatcher | crate::domain::auth::Role::Admin) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the {} role may not re-route", principal.role),
        ));
    }
    let body = body.map_err(|e| ApiError::new(e.status(), "unreadable_body", e.to_string()))?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")))?;
    let obj = value.as_object().ok_or_else(|| invalid("body", "must be a JSON object"))?;
    if let Some(k) = obj.keys().find(|k| !["grid", "unit", "reason"].contains(&k.as_str())) {
        return Err(invalid("body", format!("unknown field {k:?} (fields: grid, unit, reason)")));
    }
    let reason = optional_text(obj, "reason", 2000)?.ok_or_else(|| invalid("reason", "is required"))?;
    let grid = optional_text(obj, "grid", 40)?;
    let unit = optional_text(obj, "unit", 200)?;
    if grid.is_none() && unit.is_none() {
        return Err(invalid("body", "give a grid, a unit or both"));
    }
    let state = problem.status;
    if !state.is_open() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "illegal_transition",
            format!("a {state} case cannot be re-routed"),
        ));
    }
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let mut updated = problem.clone();
    if let Some(code) = &grid {
        let entry = snapshot.index.entries().iter().find(|e| &e.code == code);
        let entry = entry
            .filter(|e| area.sees(Some(e.code.as_str()), e.payload.responsible_unit.as_deref(), None))
            .ok_or_else(|| invalid("grid", format!("no grid {code} in your area")))?;
        updated.grid_code = Some(entry.code.clone());
        updated.grid_version = Some(entry.payload.version);
        updated.responsible_unit = entry.payload.responsible_unit.clone();
    }
    if let Some(unit) = &unit {
        updated.responsible_unit = Some(unit.clone());
    }
    let now = ctx.clock.now();
    let event = NewEvent {
        at: now,
        actor: principal.name.clone(),
        role: principal.role.as_str().into(),
        action: "reroute".into(),
        note: Some(reason),
        photo_url: None,
        details: json!({
            "from_grid": problem.grid_code, "to_grid": updated.grid_code,
            "from_unit": problem.responsible_unit, "to_unit": updated.responsible_unit,
            "remote": caller.remote,
        }),
        audit: None,
    };
    commit(&ctx, &area, &problem, updated, event).await
}
