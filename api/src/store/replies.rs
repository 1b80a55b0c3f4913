//! Kept answers to `Idempotency-Key`s (see `http::idempotency`).

use super::db::sql;
use super::{Store, StoreError};
use time::OffsetDateTime;

/// A kept answer: which endpoint it came from, its status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub endpoint: String,
    /// SHA-256 of the request (endpoint and body): the same key with another request is refused.
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
}

#[derive(sqlx::FromRow)]
struct ReplyRow {
    endpoint: String,
    fingerprint: String,
    status: i32,
    body: String,
}

/// How long a key is remembered: a phone offline for longer than a week starts afresh.
pub const KEEP_SECONDS: i64 = 7 * 24 * 3600;

impl Store {
    /// The answer kept for a caller's key, if any.
    pub async fn reply(&self, user_id: i64, key: String) -> Result<Option<Reply>, StoreError> {
        let row: Option<ReplyRow> =
            sql("SELECT endpoint, fingerprint, status, body FROM replies WHERE user_id = $1 AND key = $2")
                .bind(user_id)
                .bind(&key)
                .optional(&self.pool)
                .await?;
        Ok(row.map(|r| Reply {
            endpoint: r.endpoint,
            fingerprint: r.fingerprint,
            status: r.status as u16,
            body: r.body,
        }))
    }

    /// Keeps the first answer to a key (a second is ignored) and forgets week-old ones.
    pub async fn keep_reply(
        &self,
        user_id: i64,
        key: String,
        reply: Reply,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let now = now.unix_timestamp();
        sql("DELETE FROM replies WHERE created_unix < $1").bind(now - KEEP_SECONDS).execute(&self.pool).await?;
        sql("INSERT INTO replies (user_id, key, endpoint, status, body, created_unix, fingerprint) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, key) DO NOTHING")
        .bind(user_id)
        .bind(&key)
        .bind(&reply.endpoint)
        .bind(i32::from(reply.status))
        .bind(&reply.body)
        .bind(now)
        .bind(&reply.fingerprint)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
