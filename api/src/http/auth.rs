//! Sign-in for people (登录): `POST /api/v1/auth/login` opens a session, `POST /api/v1/auth/logout`
//! ends it, `POST /api/v1/auth/password` changes one's own password, and an admin resets anyone's
//! with `POST /api/v1/users/{name}/password`. API tokens stay for apps and scripts.

use super::error::{ApiError, ErrorBody, Refusals};
use super::guard::Caller;
use super::params::typed_body;
use super::ApiContext;
use crate::app::sign_in::{hashed, SignInError};
use crate::domain::auth::{check_password, new_password, Principal, Role};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginRequest {
    #[schema(max_length = 200)]
    username: String,
    #[schema(max_length = 1024)]
    password: String,
}

#[derive(Serialize, ToSchema)]
pub(super) struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; shown only now.
    token: String,
    /// Moves forward while the session is used.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    expires_at: OffsetDateTime,
    user: String,
    role: Role,
    /// The password was set by an admin: change it (`POST /api/v1/auth/password`) before anything else.
    must_change_password: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordChange {
    #[schema(max_length = 1024)]
    current_password: String,
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordReset {
    /// The new password; without one, a fresh one is made and answered once.
    #[schema(min_length = 8, max_length = 128)]
    password: Option<String>,
    /// Must the user change it at the next sign-in (default: yes).
    #[serde(default = "yes")]
    #[schema(default = true)]
    must_change: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, ToSchema)]
pub(super) struct PasswordResetDone {
    user: String,
    /// The password made for the user, when none was given: hand it over; it is not kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    must_change: bool,
}

/// Who the caller is (`GET /api/v1/me`), so a client can pick its view and area.
#[derive(Serialize, ToSchema)]
pub(super) struct Me {
    name: String,
    role: Role,
    /// The grids (with their names) the caller's area is made of; empty for the whole city.
    scope: Vec<ScopeGrid>,
    /// A unit's staff: their unit (责任单位).
    unit: Option<String>,
    must_change_password: bool,
}

#[derive(Serialize, ToSchema)]
struct ScopeGrid {
    code: String,
    name: Option<String>,
}

/// Neither a session token nor a password may stay in a cache.
fn not_stored(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The signed-in caller (a session or a token), or 401.
fn signed_in(caller: &Caller) -> Result<&Principal, ApiError> {
    caller.principal.as_ref().ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in first"))
}

/// A refused sign-in (or confirmation of one's password) as the API answers it.
fn refused(error: SignInError, wrong: ApiError) -> ApiError {
    match error {
        SignInError::InvalidCredentials => wrong,
        SignInError::Throttled { retry_after } => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_sign_ins", error.to_string())
                .with_details(json!({"retry_after_seconds": retry_after.as_secs().max(1)}))
        }
        SignInError::Internal(reason) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", reason),
        SignInError::Store(e) => e.into(),
    }
}

fn weak_password(reason: String) -> ApiError {
    super::params::invalid_field("password", reason)
}

/// `POST /api/v1/auth/login` `{"username","password"}`: 200 with a session token, or 401
/// `invalid_credentials` whatever was wrong, or 429 after repeated failures.
#[utoipa::path(post, path = "/api/v1/auth/login", operation_id = "signIn", tag = "auth",
    summary = "Sign in with a user name and password (登录): a session token that slides while used",
    security(()), request_body = LoginRequest,
    responses(
        (status = 200, description = "A session: send its token as Authorization: Bearer <token>", body = LoginResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "invalid_credentials, whatever was wrong", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "A field is missing, unknown or too long", body = ErrorBody),
        (status = 429, description = "too_many_sign_ins, or too many requests", body = ErrorBody),
        (status = 503, description = "Busy, or the database is unavailable: retry shortly", body = ErrorBody),
    ))]
pub async fn login(
    State(ctx): State<ApiContext>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: LoginRequest = typed_body(body)?;
    if request.username.chars().count() > 200 || request.password.chars().count() > 1024 {
        return Err(super::params::invalid_field("body", "the user name or password is too long"));
    }
    let now = ctx.clock.now();
    let actor = crate::domain::auth::Actor { name: request.username.clone(), remote: caller.remote.clone() };
    let signed_in =
        ctx.sign_ins.sign_in(&ctx.store, &request.username, &request.password, actor, ctx.session_idle, now).await;
    let wrong = ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "the user name or password is wrong");
    let session = signed_in.map_err(|e| refused(e, wrong))?;
    let answer = LoginResponse {
        token: session.token,
        expires_at: session.expires_at,
        user: session.user,
        role: session.role,
        must_change_password: session.must_change_password,
    };
    Ok(not_stored(Json(answer).into_response()))
}

/// `POST /api/v1/auth/logout`: ends the session the request is signed in with (204).
#[utoipa::path(post, path = "/api/v1/auth/logout", operation_id = "signOut", tag = "auth",
    summary = "End the session the request is signed in with",
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = "not_a_session: an API token is revoked, not signed out", body = ErrorBody),
        Refusals,
    ))]
pub async fn logout(State(ctx): State<ApiContext>, caller: Caller) -> Result<StatusCode, ApiError> {
    signed_in(&caller)?;
    let Some(hash) = &caller.token_hash else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in first"));
    };
    if !ctx.store.end_session(hash, ctx.clock.now(), caller.actor()).await? {
        return Err(ApiError::bad_request(
            "not_a_session",
            "this is an API token, not a sign-in: revoke it with gridwatch token revoke",
        ));
    }
    ctx.principals.forget(hash);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/auth/password` `{"current_password","new_password"}`: changes one's own password
/// (and lifts a required change); the session stays open.
#[utoipa::path(post, path = "/api/v1/auth/password", operation_id = "changeOwnPassword", tag = "auth",
    summary = "Change one's own password (and lift a change an admin asked for)",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "wrong_password", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "A weak new password, or a field missing or unknown", body = ErrorBody),
        Refusals,
    ))]
pub async fn change_password(
    State(ctx): State<ApiContext>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = signed_in(&caller)?;
    let request: PasswordChange = typed_body(body)?;
    let wrong = ApiError::new(StatusCode::FORBIDDEN, "wrong_password", "the current password is wrong");
    if request.current_password.chars().count() > 1024 {
        return Err(wrong);
    }
    let confirmed = ctx.sign_ins.confirm(&ctx.store, &principal.name, &request.current_password, &caller.remote).await;
    confirmed.map_err(|e| refused(e, wrong))?;
    check_password(&principal.name, &request.new_password).map_err(weak_password)?;
    if request.new_password == request.current_password {
        return Err(weak_password("the new password is the current one".into()));
    }
    let hash = hashed(request.new_password)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?;
    ctx.store.set_password(&principal.name, hash, false, false, ctx.clock.now(), caller.actor()).await?;
    Ok(not_stored(StatusCode::NO_CONTENT.into_response()))
}

/// `POST /api/v1/users/{name}/password` (admin): sets a user's password, or makes one, and by
/// default asks for a change at the next sign-in; the user's open sessions end.
#[utoipa::path(post, path = "/api/v1/users/{name}/password", operation_id = "resetPassword", tag = "auth",
    summary = "Set or make a user's password (admins); the user's sessions end",
    params(("name" = String, Path, description = "The user name")),
    request_body = PasswordReset,
    responses(
        (status = 200, description = "Set; a password made for the user is answered once", body = PasswordResetDone),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "A weak password, or a field unknown", body = ErrorBody),
        Refusals,
    ))]
pub async fn reset_password(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = signed_in(&caller)?;
    if principal.role != Role::Admin || principal.must_change_password {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "only an admin resets passwords"));
    }
    let request: PasswordReset = typed_body(body)?;
    let (password, made) = match request.password {
        Some(given) => (given, false),
        None => (new_password().map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?, true),
    };
    check_password(&name, &password).map_err(weak_password)?;
    let hash =
        hashed(password.clone()).await.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?;
    if !ctx.store.set_password(&name, hash, request.must_change, true, ctx.clock.now(), caller.actor()).await? {
        return Err(ApiError::not_found(format!("no active user named {name:?}")));
    }
    let done = PasswordResetDone { user: name, password: made.then_some(password), must_change: request.must_change };
    Ok(not_stored(Json(done).into_response()))
}

/// `GET /api/v1/me`: who the token belongs to.
#[utoipa::path(get, path = "/api/v1/me", operation_id = "me", tag = "auth",
    summary = "Who the token belongs to: name, role, scope (grid codes with names) and unit",
    responses(
        (status = 200, description = "The caller", body = Me),
        Refusals,
    ))]
pub async fn me(State(ctx): State<ApiContext>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let principal = caller.principal.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in (POST /api/v1/auth/login) or send an API token: Authorization: Bearer <token>",
        )
    })?;
    let snapshot = ctx.catalog.snapshot();
    let scope = principal
        .scope
        .iter()
        .map(|code| ScopeGrid { code: code.clone(), name: snapshot.grids.get(code).and_then(|m| m.name.clone()) })
        .collect();
    Ok(Json(Me {
        name: principal.name.clone(),
        role: principal.role,
        scope,
        unit: principal.unit.clone(),
        must_change_password: principal.must_change_password,
    }))
}
