//! Supervision letters (督办函): `GET /api/v1/letters` is the letter ledger, `POST /api/v1/letters`
//! issues one by hand, `GET /api/v1/letters/{id}` reads one (JSON or a page that prints on A4),
//! and the unit it is addressed to signs for it (`…/sign`, 签收) and answers it (`…/answer`, 反馈).
//!
//! A unit sees the letters to it; dispatchers and the office those naming a case in their area.
//! A letter anyone else asks for is 404.

use super::error::{ApiError, BodyRefusals, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::{field_error, text_field, typed_body_or, Params};
use super::ApiContext;
use crate::app::letters::{issue, to_html, to_pdf};
use crate::domain::access::{Action, Area};
use crate::domain::auth::Principal;
use crate::domain::letters::{Letter, LetterKind, LetterOrigin, LetterStatus, NewLetter};
use crate::store::letters::LetterFilter;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;

/// The error code of a letter or an answer whose body is wrong.
const INVALID: &str = "invalid_letter";

fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    field_error(INVALID, field, reason)
}

/// Text of 1 to `max` characters, trimmed.
fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    text_field(INVALID, field, value, max)
}

/// A letter the office issues by hand.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "notice", "unit": "东城区环卫中心", "cases": [12, 15], "reason": "督查发现问题整改不到位"}))]
pub struct NewLetterRequest {
    kind: LetterKind,
    /// The responsible unit (责任单位) it goes to; every case must be routed to it.
    #[schema(min_length = 1, max_length = 200)]
    unit: String,
    /// Open cases in the caller's area.
    #[schema(min_items = 1, max_items = 200)]
    cases: Vec<i64>,
    #[schema(min_length = 1, max_length = 2000)]
    reason: String,
}

/// A unit's answer (反馈).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answer": "已组织清运，见整改后照片", "evidence": [31]}))]
pub struct AnswerRequest {
    #[schema(min_length = 1, max_length = 4000)]
    answer: String,
    /// Photos of the letter's cases (GET /api/v1/problems/{id}/photos) that show the fix.
    #[serde(default)]
    #[schema(max_items = 50)]
    evidence: Vec<i64>,
}

/// The letter ledger (督办函台账).
#[derive(Serialize, ToSchema)]
pub struct Letters {
    letters: Vec<Letter>,
}

/// The ledger's filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `list` reads (and refuses any other)
pub(super) struct LetterQuery {
    /// Only letters standing so.
    #[param(inline)]
    status: Option<LetterStatus>,
    /// Only letters of this kind.
    #[param(inline)]
    kind: Option<LetterKind>,
    /// Only letters to this unit.
    unit: Option<String>,
}

/// The page's formats.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameter `get` reads
pub(super) struct LetterFormat {
    #[param(inline)]
    format: Option<LetterFileFormat>,
}

/// JSON, a page that prints on A4, or a PDF.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum LetterFileFormat {
    Json,
    Html,
    Pdf,
}

/// The letter as a caller with `area` may read it: a dispatcher or office of part of the city
/// sees only the letter's cases in its own area (a unit's letter may name cases across streets).
fn as_seen(area: &Area, mut letter: Letter) -> Letter {
    if let Area::Grids(_) = area {
        letter.cases.retain(|c| area.sees(c.grid_code.as_deref(), None, None));
    }
    letter
}

/// A letter the caller may see; 404 otherwise.
async fn visible_letter(ctx: &ApiContext, principal: &Principal, id: &str) -> Result<Letter, ApiError> {
    let not_found = || ApiError::not_found(format!("no letter {id}"));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let letter = ctx.store.letter(id, ctx.clock.now()).await?.ok_or_else(not_found)?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    area.sees_letter(&letter).then(|| as_seen(&area, letter)).ok_or_else(not_found)
}

/// A letter to the caller's own unit, for signing or answering; 404 for one they cannot see.
async fn own_letter(ctx: &ApiContext, caller: &Caller, id: &str) -> Result<Letter, ApiError> {
    let principal = caller.require(Action::ReadLetters)?;
    let letter = visible_letter(ctx, principal, id).await?;
    if !(caller.require(Action::AnswerLetters).is_ok() && principal.unit.as_deref() == Some(letter.unit.as_str())) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the unit a letter is addressed to signs and answers it",
        ));
    }
    Ok(letter)
}

#[utoipa::path(get, path = "/api/v1/letters", operation_id = "listLetters", tag = "supervision",
    summary = "The letter ledger (督办函台账): 提醒函, 督办函 and 红色督办单 the caller may see, newest first",
    params(LetterQuery),
    responses(
        (status = 200, description = "Letters", body = Letters),
        (status = 400, description = "An unknown parameter or value", body = ErrorBody),
        (status = 403, description = "Officers and citizen apps receive no letters; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn list(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Json<Letters>, ApiError> {
    let principal = caller.require(Action::ReadLetters)?;
    params.only_documented::<LetterQuery>()?;
    let status = match params.text("status") {
        Some(s) => Some(
            LetterStatus::parse(s)
                .ok_or_else(|| ApiError::parameter("status", format!("{s:?} is not a letter status")))?,
        ),
        None => None,
    };
    let kind = match params.text("kind") {
        Some(k) => Some(
            LetterKind::parse(k)
                .ok_or_else(|| ApiError::parameter("kind", format!("{k:?} is not reminder, notice or red")))?,
        ),
        None => None,
    };
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let unit = match &area {
        Area::Unit(own) => Some(own.clone()),
        _ => params.text("unit").map(String::from),
    };
    let letters = ctx.store.letters(&LetterFilter { unit }, ctx.clock.now()).await?;
    let letters = letters
        .into_iter()
        .filter(|l| area.sees_letter(l))
        .map(|l| as_seen(&area, l))
        .filter(|l| status.is_none_or(|s| l.status == s) && kind.is_none_or(|k| l.kind == k))
        .filter(|l| params.text("unit").is_none_or(|u| l.unit == u))
        .collect();
    Ok(Json(Letters { letters }))
}

#[utoipa::path(post, path = "/api/v1/letters", operation_id = "issueLetter", tag = "supervision",
    summary = "Issue a letter by hand (提醒函, 督办函 or 红色督办单) to a unit, naming its open cases",
    request_body = NewLetterRequest,
    responses(
        (status = 201, description = "The letter, numbered", body = Letter, headers(("Location" = String))),
        (status = 403, description = "Only the office and admins issue letters", body = ErrorBody),
        (status = 409, description = "Another letter was numbered at the same moment; send again", body = ErrorBody),
        BodyRefusals,
        Refusals,
    ))]
pub async fn create(
    State(ctx): State<ApiContext>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::Supervise)?;
    let request: NewLetterRequest = typed_body_or(body, INVALID)?;
    let unit = text("unit", &request.unit, 200)?;
    let reason = text("reason", &request.reason, 2000)?;
    let cases: BTreeSet<i64> = request.cases.iter().copied().collect();
    if cases.is_empty() || cases.len() > 200 {
        return Err(invalid("cases", "name 1 to 200 cases"));
    }
    let area = Area::of(principal, &ctx.catalog.snapshot());
    for &id in &cases {
        // A case outside the caller's area answers as one that does not exist.
        let case = ctx.store.problem(id).await?.filter(|p| area.sees_problem(p));
        let case = case.ok_or_else(|| invalid("cases", format!("no case {id} in your area")))?;
        if !case.status.is_open() {
            return Err(invalid("cases", format!("case {id} is {} already", case.status.as_str())));
        }
        if case.responsible_unit.as_deref() != Some(unit.as_str()) {
            return Err(invalid("cases", format!("case {id} is not routed to {unit}")));
        }
    }
    let now = ctx.clock.now();
    let letter = NewLetter {
        kind: request.kind,
        answer_by: ctx.letter_rules.answer_by(request.kind, now, &ctx.calendar),
        unit,
        reason,
        origin: LetterOrigin::Hand,
        escalated_from: None,
        cases: cases.into_iter().collect(),
    };
    let id = issue(&ctx.store, letter, &ctx.calendar, now, &caller.actor())
        .await
        .map_err(ApiError::conflict)?
        .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "conflict", "the letter could not be issued; send again"))?;
    let letter = ctx.store.letter(id, now).await?.ok_or_else(|| ApiError::not_found("the letter vanished"))?;
    let location = [(header::LOCATION, format!("/api/v1/letters/{id}"))];
    Ok((StatusCode::CREATED, location, Json(letter)).into_response())
}

#[utoipa::path(get, path = "/api/v1/letters/{id}", operation_id = "getLetter", tag = "supervision",
    summary = "One letter, as JSON, as a page that prints on A4 (format=html) or as a PDF (format=pdf)",
    params(("id" = String, Path, description = "The letter's id"), LetterFormat),
    responses(
        (status = 200, description = "The letter", content(
            (Letter = "application/json"),
            (String = "text/html"),
            (Vec<u8> = "application/pdf"))),
        (status = 400, description = "An unknown format or parameter", body = ErrorBody),
        (status = 403, description = "Officers and citizen apps receive no letters", body = ErrorBody),
        (status = 404, description = "No such letter the caller may see", body = ErrorBody),
        Refusals,
    ))]
pub async fn get(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadLetters)?;
    params.only_documented::<LetterFormat>()?;
    let format = params.text("format").unwrap_or("json");
    if !matches!(format, "json" | "html" | "pdf") {
        return Err(ApiError::parameter("format", format!("{format:?} is not json, html or pdf")));
    }
    let letter = visible_letter(&ctx, principal, &id).await?;
    Ok(match format {
        "pdf" => {
            let pdf = to_pdf(&letter, ctx.calendar.offset);
            super::download(super::PDF, &format!("gridwatch-letter-{}.pdf", letter.id), pdf)
        }
        "html" => {
            let page = to_html(&letter, ctx.calendar.offset);
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
        }
        _ => Json(letter).into_response(),
    })
}

#[utoipa::path(post, path = "/api/v1/letters/{id}/sign", operation_id = "signLetter", tag = "supervision",
    summary = "Sign for a letter (签收): the unit it is addressed to",
    params(("id" = String, Path, description = "The letter's id")),
    responses(
        (status = 200, description = "The letter, signed for", body = Letter),
        (status = 403, description = "Only the unit the letter is addressed to", body = ErrorBody),
        (status = 404, description = "No such letter the caller may see", body = ErrorBody),
        (status = 409, description = "Signed for already", body = ErrorBody),
        Refusals,
    ))]
pub async fn sign(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Letter>, ApiError> {
    let letter = own_letter(&ctx, &caller, &id).await?;
    let now = ctx.clock.now();
    if !ctx.store.sign_letter(letter.id, now, &caller.actor()).await? {
        return Err(ApiError::new(StatusCode::CONFLICT, "illegal_transition", "the letter is signed for already"));
    }
    Ok(Json(ctx.store.letter(letter.id, now).await?.ok_or_else(|| ApiError::not_found("the letter vanished"))?))
}

#[utoipa::path(post, path = "/api/v1/letters/{id}/answer", operation_id = "answerLetter", tag = "supervision",
    summary = "Answer a letter (反馈) with a note and photos of its cases as evidence; signs for it too if nobody had",
    params(("id" = String, Path, description = "The letter's id")),
    request_body = AnswerRequest,
    responses(
        (status = 200, description = "The letter, answered", body = Letter),
        (status = 403, description = "Only the unit the letter is addressed to", body = ErrorBody),
        (status = 404, description = "No such letter the caller may see", body = ErrorBody),
        (status = 409, description = "Answered already", body = ErrorBody),
        BodyRefusals,
        Refusals,
    ))]
pub async fn answer(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Letter>, ApiError> {
    let letter = own_letter(&ctx, &caller, &id).await?;
    let request: AnswerRequest = typed_body_or(body, INVALID)?;
    let answer = text("answer", &request.answer, 4000)?;
    let evidence: BTreeSet<i64> = request.evidence.iter().copied().collect();
    if evidence.len() > 50 {
        return Err(invalid("evidence", "at most 50 photos"));
    }
    let mut photos = BTreeSet::new();
    for case in &letter.cases {
        photos.extend(ctx.store.photos_of(case.id).await?.into_iter().map(|p| p.id));
    }
    if let Some(stranger) = evidence.iter().find(|id| !photos.contains(id)) {
        return Err(invalid("evidence", format!("photo {stranger} belongs to none of the letter's cases")));
    }
    let evidence: Vec<i64> = evidence.into_iter().collect();
    let now = ctx.clock.now();
    if !ctx.store.answer_letter(letter.id, &answer, &evidence, now, &caller.actor()).await? {
        return Err(ApiError::new(StatusCode::CONFLICT, "illegal_transition", "the letter is answered already"));
    }
    Ok(Json(ctx.store.letter(letter.id, now).await?.ok_or_else(|| ApiError::not_found("the letter vanished"))?))
}
