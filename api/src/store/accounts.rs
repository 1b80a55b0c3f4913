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
    id: i64,
    name: String,
    role: String,
    scope: String,
    unit: Option<String>,
    expires_at: Option<OffsetDateTime>,
}

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
            "SELECT u.id, u.name, u.role, u.scope, u.unit, t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.hash = $1 AND t.revoked_at IS NULL AND u.revoked_at IS NULL",
        )
        .bind(&hash)
        .optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        if r.expires_at.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        Ok(Some(Principal {
            user_id: r.id,
            role: parse_role(&r.role)?,
            scope: parse_scope(&r.scope)?,
            name: r.name,
            unit: r.unit,
        }))
    }
}
