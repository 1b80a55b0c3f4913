//! The 12345 exchange (12345 热线工单对接): `POST /api/v1/hotline/orders` receives a platform work
//! order (the same order id twice is one case), `GET /api/v1/hotline/orders/{order_id}` says what
//! became of it, `POST /api/v1/hotline/orders/{order_id}/send-back` sends it back (退单) with a
//! reason. Results go back to the platform signed (`app::hotline`); docs/hotline.md is the contract.

use super::error::{ApiError, BodyRefusals, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::{field_error, typed_body_or};
use super::{cases, present, ApiContext};
use crate::app::addresses::Search;
use crate::app::casework::Caseworker;
use crate::domain::access::{Action as Permission, Area};
use crate::domain::hotline::{valid_order_id, Order, OrderState, Outcome, MAX_REASON_CHARS};
use crate::domain::intake::{parse_report, route};
use crate::domain::problem::{Class, Problem};
use crate::domain::workflow::case::Request;
use crate::domain::workflow::catalogue::find;
use crate::domain::workflow::state::Action;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

/// The error code of an order the exchange cannot take.
const INVALID: &str = "invalid_order";
/// An address found in the address book stands for an order's place from this score up.
const MIN_PLACE_SCORE: f32 = 0.6;

/// An order and the case it became.
#[derive(Serialize, ToSchema)]
pub(super) struct OrderCase {
    order: OrderState,
    problem: Problem,
}

/// Why an order goes back to the platform (退单理由).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SendBack {
    #[schema(min_length = 1, max_length = 500, example = "属于市场监管部门职责，非城市管理范围")]
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/hotline/orders", operation_id = "receiveHotlineOrder", tag = "hotline",
    summary = "Receive a 12345 work order (工单): routed to its grid and unit like a hotline call; the same order_id again is the same case",
    request_body = Order,
    responses(
        (status = 201, description = "A new case", body = OrderCase, headers(("Location" = String))),
        (status = 200, description = "This order was received before: its case, unchanged", body = OrderCase),
        (status = 403, description = "Only dispatchers (the platform's account) and admins; the place is outside the account's area", body = ErrorBody),
        BodyRefusals,
        Refusals,
    ))]
pub async fn receive(
    State(ctx): State<ApiContext>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Permission::ExchangeOrders)?;
    let order = typed_body_or::<Order>(body, INVALID)?;
    if !valid_order_id(&order.order_id) {
        return Err(field_error(INVALID, "order_id", "1 to 64 letters, digits, - or _"));
    }
    let snapshot = ctx.catalog.snapshot();
    let area = Area::of(principal, &snapshot);
    if let Some(kept) = ctx.store.hotline_order(&order.order_id).await? {
        return answer(&ctx, &area, kept, StatusCode::OK).await;
    }
    // The place: as given, or the best address for the words.
    let (lon, lat, address_id) = match (order.lon, order.lat, order.address.as_deref()) {
        (Some(lon), Some(lat), _) => (lon, lat, None),
        (None, None, Some(words)) if !words.trim().is_empty() => {
            let search = Search { text: words.to_string(), limit: 1, kind: None };
            let best = ctx.addresses.search(&ctx.store, &snapshot, &area, &search).await?.into_iter().next();
            match best.filter(|f| f.score >= MIN_PLACE_SCORE) {
                Some(found) => (found.address.lon, found.address.lat, Some(found.address.id)),
                None => {
                    return Err(field_error(
                        INVALID,
                        "address",
                        format!("{words:?} is not in the address book (GET /api/v1/addresses); send lon and lat"),
                    ))
                }
            }
        }
        (Some(_), None, _) | (None, Some(_), _) => {
            return Err(field_error(INVALID, "lon", "lon and lat come together"))
        }
        _ => return Err(field_error(INVALID, "address", "an order needs lon and lat, or an address")),
    };
    let value = json!({"lon": lon, "lat": lat, "category": order.category, "description": order.description,
        "source": "hotline", "address": order.address, "address_id": address_id, "caller": order.caller});
    let mut report = parse_report(&value).map_err(|fields| {
        let first = &fields[0];
        field_error(INVALID, first.field, first.reason.clone())
    })?;
    let Some(category) = find(&snapshot.categories, &report.category) else {
        return Err(field_error(INVALID, "category", format!("{:?} is not in the catalogue", report.category)));
    };
    report.category = category.code.clone();
    let mut problem = route(&snapshot, report, Some(Class::from(category)), ctx.clock.now());
    if !area.may_report_at(problem.grid_code.as_deref()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "outside_area",
            "the order's place is outside this account's area",
        ));
    }
    problem.reported_by = Some(principal.name.clone());
    // Two deliveries at once: the key makes them one case, the order table keeps the first.
    let key = format!("12345:{}", order.order_id);
    let report =
        crate::store::KeyedProblem { problem, idempotency: Some((principal.user_id, key)), actor: caller.actor() };
    let (problem, replayed) = ctx.intake.submit(report).await?;
    let kept = ctx.store.record_hotline_order(&order.order_id, problem.id, problem.created_at).await?;
    if !replayed && kept.problem_id == problem.id {
        ctx.announce(&problem);
        return answer(&ctx, &area, kept, StatusCode::CREATED).await;
    }
    answer(&ctx, &area, kept, StatusCode::OK).await
}

async fn answer(ctx: &ApiContext, area: &Area, order: OrderState, status: StatusCode) -> Result<Response, ApiError> {
    let problem = ctx
        .store
        .problem(order.problem_id)
        .await?
        .filter(|p| area.sees_problem(p))
        .ok_or_else(|| ApiError::not_found(format!("no order {} in your area", order.order_id)))?;
    let location = format!("/api/v1/hotline/orders/{}", order.order_id);
    let body = OrderCase { order, problem: present::case(ctx, area, problem) };
    Ok((status, [(header::LOCATION, location)], Json(body)).into_response())
}

#[utoipa::path(get, path = "/api/v1/hotline/orders/{order_id}", operation_id = "getHotlineOrder", tag = "hotline",
    summary = "What became of a 12345 order: its case, and the result owed to or taken by the platform",
    params(("order_id" = String, Path, description = "The platform's order id")),
    responses(
        (status = 200, description = "The order and its case", body = OrderCase),
        (status = 403, description = "Only dispatchers and admins", body = ErrorBody),
        (status = 404, description = "No such order in the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn get(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(order_id): Path<String>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Permission::ExchangeOrders)?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let order = ctx
        .store
        .hotline_order(&order_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no order {order_id} in your area")))?;
    answer(&ctx, &area, order, StatusCode::OK).await
}

#[utoipa::path(post, path = "/api/v1/hotline/orders/{order_id}/send-back", operation_id = "sendBackHotlineOrder", tag = "hotline",
    summary = "Send an order back to the platform (退单) as outside the city's remit: its case is voided with the reason, and the platform is told",
    params(("order_id" = String, Path, description = "The platform's order id")),
    request_body = SendBack,
    responses(
        (status = 200, description = "Sent back; the result is on its way to the platform", body = OrderCase),
        (status = 403, description = "Only dispatchers and admins", body = ErrorBody),
        (status = 404, description = "No such order in the caller's area", body = ErrorBody),
        (status = 409, description = "The case is past the point where it can be voided, or the order has a result already", body = ErrorBody),
        BodyRefusals,
        Refusals,
    ))]
pub async fn send_back(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(order_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = caller.require(Permission::ExchangeOrders)?;
    let SendBack { reason } = typed_body_or::<SendBack>(body, INVALID)?;
    let reason = reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS || reason.contains('\0') {
        return Err(field_error(
            INVALID,
            "reason",
            format!("1 to {MAX_REASON_CHARS} characters: why it is not the city's"),
        ));
    }
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let not_found = || ApiError::not_found(format!("no order {order_id} in your area"));
    let order = ctx.store.hotline_order(&order_id).await?.ok_or_else(not_found)?;
    let problem = ctx.store.problem(order.problem_id).await?.filter(|p| area.sees_problem(p)).ok_or_else(not_found)?;
    if let Some(outcome) = order.outcome {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "order_settled",
            format!("the order is {} already", outcome.as_str()),
        ));
    }
    let who = Caseworker { principal, area: &area, remote: &caller.remote, now: ctx.clock.now() };
    let request = Request { note: Some(format!("退单：{reason}")), ..Request::default() };
    let voided = match cases::casework(&ctx).take_step(&who, &problem, Action::Void, &request, false).await {
        Ok(voided) => voided,
        Err(e) => return Err(cases::step_refused(&ctx, &area, Action::Void, e).await),
    };
    ctx.announce(&voided);
    ctx.store.settle_hotline_order(voided.id, Outcome::SentBack, Some(&reason), who.now).await?;
    ctx.hotline_wake.notify_one();
    let order = ctx.store.hotline_order(&order_id).await?.ok_or_else(not_found)?;
    answer(&ctx, &area, order, StatusCode::OK).await
}
