//! Sign-in for people (登录): `POST /api/v1/auth/login` opens a session, `POST /api/v1/auth/logout`
//! ends it, `POST /api/v1/auth/password` changes one's own password, and an admin resets anyone's
//! with `POST /api/v1/users/{name}/password`. API tokens stay for apps and scripts.

use super::error::ApiError;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; shown only now.
    token: String,
    /// Moves forward while the session is used.
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    user: String,
    role: Role,
    /// The password was set by an admin: change it (`POST /api/v1/auth/password`) before anything else.
    must_change_password: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordReset {
    /// The new password; without one, a fresh one is made and answered once.
    password: Option<String>,
    /// Must the user change it at the next sign-in (default: yes).
    #[serde(default = "yes")]
    must_change: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize)]
struct PasswordResetDone {
    user: String,
    /// The password made for the user, when none was given: hand it over; it is not kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    must_change: bool,
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
