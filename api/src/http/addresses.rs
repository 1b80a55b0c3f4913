//! `GET /api/v1/addresses?q=`: the address book (地址库) a dispatcher finds a caller's place in,
//! and `GET /api/v1/addresses/{id}`.

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::Params;
use super::ApiContext;
use crate::app::addresses::{Found, Search, MAX_HITS};
use crate::domain::access::{Action, Area};
use crate::domain::address::{AddressKind, MAX_NAME_CHARS};
use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Addresses matching a search, best first.
#[derive(Serialize, ToSchema)]
pub(super) struct AddressHits {
    query: String,
    addresses: Vec<AddressHit>,
}

/// One address, where it is and the grid (网格) that covers it.
#[derive(Serialize, ToSchema)]
pub(super) struct AddressHit {
    id: i64,
    code: String,
    name: String,
    kind: AddressKind,
    aliases: Vec<String>,
    lon: f64,
    lat: f64,
    /// How much of the search this address matches (0–1; 1 = every part of it).
    score: f32,
    /// The covering grid, or null outside every grid.
    grid: Option<AddressGrid>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct AddressGrid {
    code: String,
    name: Option<String>,
    responsible_unit: Option<String>,
}

impl From<Found> for AddressHit {
    fn from(f: Found) -> Self {
        let a = f.address;
        Self {
            id: a.id,
            code: a.code,
            name: a.name,
            kind: a.kind,
            aliases: a.aliases,
            lon: a.lon,
            lat: a.lat,
            score: (f.score * 1000.0).round() / 1000.0,
            grid: f.grid.map(|g| AddressGrid { code: g.code, name: g.name, responsible_unit: g.responsible_unit }),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/addresses", operation_id = "searchAddresses", tag = "addresses",
    summary = "Find addresses (地址库) by partial text: 小区 names, 门牌号, abbreviations, misspellings, full-width or Chinese digits",
    params(
        ("q" = String, Query, min_length = 1, max_length = 200, description = "What the caller said, e.g. 南河沿大街15号 or 多福巷居委会"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 50, description = "At most this many (default 10)"),
        ("kind" = Option<AddressKind>, Query, description = "Only addresses of this kind"),
    ),
    responses(
        (status = 200, description = "The best matches within the caller's area, best first, each with its grid", body = AddressHits),
        (status = 400, description = "A missing, malformed or unknown parameter", body = ErrorBody),
        (status = 403, description = "Citizen apps do not search the address book; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn search(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
) -> Result<Json<AddressHits>, ApiError> {
    let principal = caller.require(Action::SearchAddresses)?;
    params.only(&["q", "limit", "kind"])?;
    let query = params.text("q").map(str::trim).unwrap_or_default().to_string();
    if query.is_empty() {
        return Err(ApiError::parameter("q", "is required: the address or part of it"));
    }
    if query.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::parameter("q", format!("is longer than {MAX_NAME_CHARS} characters")));
    }
    let limit = params.limit(10, MAX_HITS as i64)? as usize;
    let kind = params.text("kind").map(str::parse).transpose().map_err(|e: String| ApiError::parameter("kind", e))?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let search = Search { text: query.clone(), limit, kind };
    let found = ctx.addresses.search(&ctx.store, &snapshot, &area, &search).await?;
    Ok(Json(AddressHits { query, addresses: found.into_iter().map(AddressHit::from).collect() }))
}

#[utoipa::path(get, path = "/api/v1/addresses/{id}", operation_id = "getAddress", tag = "addresses",
    summary = "One address and the grid that covers it",
    params(("id" = String, Path, description = "The address id")),
    responses(
        (status = 200, description = "The address", body = AddressHit),
        (status = 404, description = "No such address in the caller's area", body = ErrorBody),
        (status = 403, description = "Citizen apps do not read the address book; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn get(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AddressHit>, ApiError> {
    let principal = caller.require(Action::SearchAddresses)?;
    let not_found = || ApiError::not_found(format!("no address with id {id}"));
    let numeric: i64 = id.parse().map_err(|_| not_found())?;
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    let found = ctx.addresses.get(&ctx.store, &snapshot, &area, numeric).await?;
    found.map(|f| Json(AddressHit::from(f))).ok_or_else(not_found)
}
