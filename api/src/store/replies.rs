//! Kept answers to `Idempotency-Key`s (see `http::idempotency`), the same SQL on both backends.

/// A kept answer: which endpoint it came from, its status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub endpoint: String,
    /// SHA-256 of the request (endpoint and body): the same key with another request is refused.
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
}

/// How long a key is remembered: a phone offline for longer than a week starts afresh.
pub const KEEP_SECONDS: i64 = 7 * 24 * 3600;

/// The reply methods of `Store`. Expands inside `impl Store for …` of a type with `pool`.
macro_rules! reply_methods {
    () => {
        fn reply(
            &self,
            user_id: i64,
            key: String,
        ) -> $crate::store::BoxFuture<'_, Result<Option<$crate::store::replies::Reply>, StoreError>> {
            Box::pin(async move {
                let row: Option<(String, String, i32, String)> = sqlx::query_as(
                    "SELECT endpoint, fingerprint, status, body FROM replies WHERE user_id = $1 AND key = $2",
                )
                .bind(user_id)
                .bind(&key)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(endpoint, fingerprint, status, body)| $crate::store::replies::Reply {
                    endpoint,
                    fingerprint,
                    status: status as u16,
                    body,
                }))
            })
        }

        fn keep_reply(
            &self,
            user_id: i64,
            key: String,
            reply: $crate::store::replies::Reply,
            now: OffsetDateTime,
        ) -> $crate::store::BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async move {
                let now = now.unix_timestamp();
                sqlx::query("DELETE FROM replies WHERE created_unix < $1")
                    .bind(now - $crate::store::replies::KEEP_SECONDS)
                    .execute(&self.pool)
                    .await?;
                sqlx::query(
                    "INSERT INTO replies (user_id, key, endpoint, status, body, created_unix, fingerprint) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, key) DO NOTHING",
                )
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
            })
        }
    };
}
