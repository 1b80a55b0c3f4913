//! Users and their API tokens.

use super::db::sql;
use super::{audit, json_text, parse_role, NewUser, Store, StoreError, TokenInfo};
use crate::domain::auth::{Actor, Principal, User};
use serde_json::json;
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    role: String,
    scope: String,
    unit: Option<String>,
    created_at: OffsetDateTime,
    revoked_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    token_id: i64,
    id: i64,
    name: String,
    role: String,
    scope: String,
    unit: Option<String>,
    must_change_password: bool,
    expires_at: Option<OffsetDateTime>,
    idle_seconds: Option<i64>,
}

/// What a sign-in checks a password against.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Credentials {
    pub user_id: i64,
    pub role: String,
    /// The Argon2id PHC string; `None` for a user who has no password (signs in with tokens only).
    pub password_hash: Option<String>,
    pub must_change_password: bool,
}

/// A session opened by a sign-in.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    pub id: i64,
    pub expires_at: OffsetDateTime,
}

/// A session's expiry is moved forward at most this often (seconds): a busy phone does not write
/// on every request.
const SLIDE_EVERY_SECONDS: i64 = 60;

fn parse_scope(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("user scope: {e}")))
}

impl Store {
    /// Creates a user; a taken name is a [`StoreError::Conflict`].
    pub async fn create_user(&self, user: NewUser, now: OffsetDateTime, actor: Actor) -> Result<User, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let inserted =
            sql("INSERT INTO users (name, role, scope, unit, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
                .bind(&user.name)
                .bind(user.role.as_str())
                .bind(json_text(&user.scope, "[]"))
                .bind(&user.unit)
                .bind(now)
                .scalar::<i64>(&mut tx)
                .await;
        let id = match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict(format!("a user named {:?} exists already", user.name)));
            }
            other => other?,
        };
        let details = json!({"role": user.role, "scope": user.scope, "unit": user.unit});
        audit::record(&mut tx, now, &actor, "user.add", &format!("user/{}", user.name), &details).await?;
        tx.commit().await?;
        Ok(User {
            id,
            name: user.name,
            role: user.role,
            scope: user.scope,
            unit: user.unit,
            created_at: now,
            revoked_at: None,
        })
    }

    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> =
            sql("SELECT id, name, role, scope, unit, created_at, revoked_at FROM users ORDER BY name")
                .all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|r| {
                Ok(User {
                    role: parse_role(&r.role)?,
                    scope: parse_scope(&r.scope)?,
                    id: r.id,
                    name: r.name,
                    unit: r.unit,
                    created_at: r.created_at,
                    revoked_at: r.revoked_at,
                })
            })
            .collect()
    }

    /// Revokes a user and with it every token; false when there is no such active user.
    pub async fn revoke_user(&self, name: String, now: OffsetDateTime, actor: Actor) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let done = sql("UPDATE users SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL")
            .bind(&name)
            .bind(now)
            .execute(&mut tx)
            .await?
            > 0;
        if done {
            sql("UPDATE tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND user_id = (SELECT id FROM users WHERE name = $1)")
                .bind(&name)
                .bind(now)
                .execute(&mut tx)
                .await?;
            audit::record(&mut tx, now, &actor, "user.revoke", &format!("user/{name}"), &json!({})).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Stores a token hash for an active user; `None` when there is no such user.
    pub async fn create_token(
        &self,
        user: String,
        hash: String,
        label: Option<String>,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
        actor: Actor,
    ) -> Result<Option<TokenInfo>, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let user_id = sql("SELECT id FROM users WHERE name = $1 AND revoked_at IS NULL")
            .bind(&user)
            .optional_scalar::<i64>(&mut tx)
            .await?;
        let Some(user_id) = user_id else { return Ok(None) };
        let id: i64 = sql(
            "INSERT INTO tokens (user_id, hash, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(&hash)
        .bind(&label)
        .bind(now)
        .bind(expires_at)
        .scalar(&mut tx)
        .await?;
        let details = json!({"user": user, "label": label});
        audit::record(&mut tx, now, &actor, "token.create", &format!("token/{id}"), &details).await?;
        tx.commit().await?;
        Ok(Some(TokenInfo { id, user, label, expires_at }))
    }

    pub async fn revoke_token(&self, id: i64, now: OffsetDateTime, actor: Actor) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let done = sql("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut tx)
            .await?
            > 0;
        if done {
            audit::record(&mut tx, now, &actor, "token.revoke", &format!("token/{id}"), &json!({})).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// The caller behind a token hash, if the token and its user are valid at `now`.
    pub async fn principal(&self, hash: String, now: OffsetDateTime) -> Result<Option<Principal>, StoreError> {
        let row: Option<PrincipalRow> = sql(
            "SELECT t.id AS token_id, u.id, u.name, u.role, u.scope, u.unit, u.must_change_password, t.expires_at, \
             t.idle_seconds FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.hash = $1 AND t.revoked_at IS NULL AND u.revoked_at IS NULL",
        )
        .bind(&hash)
        .optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        if r.expires_at.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        // A session stays open while it is used: its expiry slides to `idle_seconds` from now.
        if let (Some(idle), Some(expires_at)) = (r.idle_seconds, r.expires_at) {
            let slid = now + time::Duration::seconds(idle);
            if slid - expires_at >= time::Duration::seconds(SLIDE_EVERY_SECONDS) {
                sql("UPDATE tokens SET expires_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(r.token_id)
                    .bind(slid)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(Some(Principal {
            user_id: r.id,
            role: parse_role(&r.role)?,
            scope: parse_scope(&r.scope)?,
            name: r.name,
            unit: r.unit,
            must_change_password: r.must_change_password,
        }))
    }

    /// What an active user's sign-in is checked against; `None` for an unknown or revoked user.
    pub async fn credentials(&self, name: &str) -> Result<Option<Credentials>, StoreError> {
        Ok(sql("SELECT id AS user_id, role, password_hash, must_change_password FROM users \
             WHERE name = $1 AND revoked_at IS NULL")
        .bind(name)
        .optional(&self.pool)
        .await?)
    }

    /// Sets an active user's password (its Argon2id hash) and whether it must be changed at the
    /// next sign-in; false when there is no such active user. With `end_sessions`, the user's
    /// open sessions end (a reset, or a change after a suspected leak); API tokens stay.
    pub async fn set_password(
        &self,
        name: &str,
        hash: String,
        must_change: bool,
        end_sessions: bool,
        now: OffsetDateTime,
        actor: Actor,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let done = sql(
            "UPDATE users SET password_hash = $2, must_change_password = $3 WHERE name = $1 AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(hash)
        .bind(must_change)
        .execute(&mut tx)
        .await?
            > 0;
        if done {
            if end_sessions {
                sql("UPDATE tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND kind = 'session' \
                     AND user_id = (SELECT id FROM users WHERE name = $1)")
                .bind(name)
                .bind(now)
                .execute(&mut tx)
                .await?;
            }
            let details = json!({"must_change": must_change, "sessions_ended": end_sessions});
            audit::record(&mut tx, now, &actor, "user.password", &format!("user/{name}"), &details).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Opens a session for a user who signed in: a token (stored as its hash) that expires
    /// `idle` after its last use.
    pub async fn open_session(
        &self,
        user_id: i64,
        hash: String,
        idle: time::Duration,
        now: OffsetDateTime,
        actor: Actor,
    ) -> Result<SessionInfo, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let expires_at = now + idle;
        let id: i64 = sql("INSERT INTO tokens (user_id, hash, label, created_at, expires_at, kind, idle_seconds) \
             VALUES ($1, $2, 'sign-in', $3, $4, 'session', $5) RETURNING id")
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .bind(expires_at)
        .bind(idle.whole_seconds())
        .scalar(&mut tx)
        .await?;
        audit::record(&mut tx, now, &actor, "session.open", &format!("token/{id}"), &json!({})).await?;
        tx.commit().await?;
        Ok(SessionInfo { id, expires_at })
    }

    /// Ends the session behind a token hash (sign-out); false when it is not an open session.
    pub async fn end_session(&self, hash: &str, now: OffsetDateTime, actor: Actor) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let id: Option<i64> = sql("UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND kind = 'session' \
             AND revoked_at IS NULL RETURNING id")
        .bind(hash)
        .bind(now)
        .optional_scalar(&mut tx)
        .await?;
        if let Some(id) = id {
            audit::record(&mut tx, now, &actor, "session.end", &format!("token/{id}"), &json!({})).await?;
        }
        tx.commit().await?;
        Ok(id.is_some())
    }
}
