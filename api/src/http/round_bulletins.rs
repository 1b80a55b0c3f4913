//! The 督查通报: `GET /api/v1/rounds/{id}/bulletin` writes up one round, numbered by it;
//! `GET /api/v1/rounds/bulletin?period=2026-W47` the rounds of a week, month, quarter or year,
//! numbered by the period (周通报, 月通报, 年度通报). Each as JSON, printable HTML, XLSX or PDF,
//! counted from the ledgers the caller may see.

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::Params;
use super::rounds::{ledger_as_seen, visible_ledger, visible_rounds};
use super::{download, ApiContext, PDF, XLSX};
use crate::app::evidence::objects::Variant;
use crate::app::round_bulletin::RoundBulletin;
use crate::domain::access::{Action, Area};
use crate::domain::auth::Principal;
use crate::domain::evidence::checks::Stage;
use crate::domain::period::Period;
use crate::domain::supervision::{LedgerItem, Round};
use crate::store::letters::LetterFilter;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;
use utoipa::ToSchema;

/// The bulletin's formats.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameter `bulletin` reads (and refuses any other)
pub(super) struct BulletinFormat {
    #[param(inline)]
    format: Option<RoundBulletinFormat>,
}

/// A period's bulletin: which period, and the format.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `period_bulletin` reads (and refuses any other)
pub(super) struct PeriodBulletinQuery {
    /// 2026-W47, 2026-11, 2026-Q4 or 2026 (default: this week).
    #[param(pattern = r"^\d{4}(-(W\d{1,2}|Q[1-4]|\d{1,2}))?$")]
    period: Option<String>,
    #[param(inline)]
    format: Option<RoundBulletinFormat>,
}

/// JSON, a page that prints on A4, a workbook, or a PDF.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum RoundBulletinFormat {
    Json,
    Html,
    Xlsx,
    Pdf,
}

fn format_of(params: &Params) -> Result<&str, ApiError> {
    let format = params.text("format").unwrap_or("json");
    match format {
        "json" | "html" | "xlsx" | "pdf" => Ok(format),
        _ => Err(ApiError::parameter("format", format!("{format:?} is not json, html, xlsx or pdf"))),
    }
}

#[utoipa::path(get, path = "/api/v1/rounds/{id}/bulletin", operation_id = "roundBulletin", tag = "supervision",
    summary = "A round's 督查通报: numbered by the round, a paragraph and tables computed from its ledger (JSON, printable HTML, XLSX or PDF)",
    params(("id" = String, Path, description = "The round's id"), BulletinFormat),
    responses(
        (status = 200, description = "The bulletin", content(
            (RoundBulletin = "application/json"),
            (String = "text/html"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Vec<u8> = "application/pdf"))),
        (status = 400, description = "An unknown format or parameter", body = ErrorBody),
        (status = 403, description = "Citizen apps see no rounds; or a password change comes first", body = ErrorBody),
        (status = 404, description = "No such round the caller may see", body = ErrorBody),
        Refusals,
    ))]
pub async fn bulletin(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    params.only_documented::<BulletinFormat>()?;
    let format = format_of(&params)?;
    let principal = caller.require(Action::ReadRounds)?;
    let ledger = visible_ledger(&ctx, &caller, &id).await?;
    let area = area_words(&ctx, &ledger.round.area);
    let (number, year) = (ledger.round.number, ledger.round.year);
    let mut bulletin = RoundBulletin::of(ledger, today(&ctx), &area);
    // What the round before left open, when the caller may see it.
    let rounds = visible_rounds(&ctx, principal).await?;
    if let Some(before) = rounds.into_iter().find(|r| (r.year, r.number) < (year, number)) {
        let title = format!("督查通报（{}）", before.label());
        bulletin = bulletin.with_last(title, ledger_as_seen(&ctx, principal, before).await?.items);
    }
    render(&ctx, principal, bulletin, format, &format!("gridwatch-round-{year}-{number}")).await
}

#[utoipa::path(get, path = "/api/v1/rounds/bulletin", operation_id = "periodBulletin", tag = "supervision",
    summary = "The 督查通报 of a week, month, quarter or year: every round held in it that the caller may see, counted together (JSON, printable HTML, XLSX or PDF)",
    params(PeriodBulletinQuery),
    responses(
        (status = 200, description = "The bulletin", content(
            (RoundBulletin = "application/json"),
            (String = "text/html"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (Vec<u8> = "application/pdf"))),
        (status = 400, description = "An unknown period, format or parameter", body = ErrorBody),
        (status = 403, description = "Citizen apps see no rounds; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn period_bulletin(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    params.only_documented::<PeriodBulletinQuery>()?;
    let format = format_of(&params)?;
    let principal = caller.require(Action::ReadRounds)?;
    let offset = ctx.calendar.offset;
    let period = match params.text("period") {
        Some(text) => Period::parse(text, offset).map_err(|reason| ApiError::parameter("period", reason))?,
        None => {
            let (year, week, _) = today(&ctx).to_iso_week_date();
            Period::parse(&format!("{year}-W{week:02}"), offset).map_err(|r| ApiError::parameter("period", r))?
        }
    };
    let rounds = visible_rounds(&ctx, principal).await?;
    let in_period = |period: &Period, rounds: &[Round]| -> Vec<Round> {
        let (first, last) = period.days(offset);
        let mut held: Vec<Round> =
            rounds.iter().filter(|r| r.starts_on <= last && r.ends_on >= first).cloned().collect();
        held.sort_by_key(|r| (r.year, r.number));
        held
    };
    let mut ledgers = Vec::new();
    for round in in_period(&period, &rounds) {
        ledgers.push(ledger_as_seen(&ctx, principal, round).await?);
    }
    let area = area_words(&ctx, &principal.scope);
    let file = format!("gridwatch-supervision-{}", period.label);
    let before = period.previous(offset);
    let mut left: Vec<LedgerItem> = Vec::new();
    for round in in_period(&before, &rounds) {
        left.extend(ledger_as_seen(&ctx, principal, round).await?.items);
    }
    let bulletin = RoundBulletin::of_period(period, ledgers, today(&ctx), &area)
        .with_last(format!("督查通报（{}）", before.zh()), left);
    render(&ctx, principal, bulletin, format, &file).await
}

fn today(ctx: &ApiContext) -> time::Date {
    ctx.clock.now().to_offset(ctx.calendar.offset).date()
}

/// An area (grid codes) as people say it: the names of its grids, or 全市 for the whole city.
fn area_words(ctx: &ApiContext, area: &[String]) -> String {
    let snapshot = ctx.catalog.snapshot();
    let names: Vec<&str> =
        area.iter().map(|code| snapshot.grids.get(code).and_then(|g| g.name.as_deref()).unwrap_or(code)).collect();
    if names.is_empty() {
        "全市".to_string()
    } else {
        names.join("、")
    }
}

/// Finds the worst points' photos and the letters over the bulletin's cases (a unit: those to
/// it), and writes the bulletin out in `format`.
async fn render(
    ctx: &ApiContext,
    principal: &Principal,
    mut bulletin: RoundBulletin,
    format: &str,
    file: &str,
) -> Result<Response, ApiError> {
    for pair in bulletin.worst_points.iter_mut().flat_map(|p| p.cases.iter_mut()) {
        let photos = ctx.store.photos_of(pair.case).await?;
        let first = |stages: &[Stage]| photos.iter().find(|p| stages.contains(&p.stage)).map(|p| p.file.sha256.clone());
        (pair.before, pair.after) = (first(&[Stage::Report]), first(&[Stage::Verification, Stage::Handling]));
    }
    let unit = match Area::of(principal, &ctx.catalog.snapshot()) {
        Area::Unit(unit) => Some(unit),
        _ => None,
    };
    let letters = ctx.store.letters(&LetterFilter { unit }, ctx.clock.now()).await?;
    bulletin = bulletin.with_letters(letters);
    let failed = |e: String| {
        tracing::error!(error = %e, "round bulletin rendering failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the bulletin could not be rendered")
    };
    Ok(match format {
        "html" => {
            let page = bulletin.to_html(&thumbnails(ctx, &bulletin).await);
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
        }
        "pdf" => {
            let thumbnails = thumbnails(ctx, &bulletin).await;
            let pdf = tokio::task::spawn_blocking(move || bulletin.to_pdf(&thumbnails))
                .await
                .map_err(|e| failed(e.to_string()))?;
            download(PDF, &format!("{file}.pdf"), pdf)
        }
        "xlsx" => download(XLSX, &format!("{file}.xlsx"), bulletin.to_xlsx().map_err(failed)?),
        _ => Json(bulletin).into_response(),
    })
}

/// The worst points' photos as thumbnails (JPEG bytes by SHA-256), for the printed bulletin.
async fn thumbnails(ctx: &ApiContext, bulletin: &RoundBulletin) -> HashMap<String, Vec<u8>> {
    let wanted: Vec<String> = bulletin
        .worst_points
        .iter()
        .flat_map(|p| &p.cases)
        .flat_map(|c| [c.before.clone(), c.after.clone()])
        .flatten()
        .collect();
    let blobs = ctx.evidence.blobs.clone();
    tokio::task::spawn_blocking(move || {
        wanted
            .into_iter()
            .filter_map(|sha| blobs.get(&sha, Variant::Thumbnail).ok().flatten().map(|bytes| (sha, bytes)))
            .collect()
    })
    .await
    .unwrap_or_default()
}
