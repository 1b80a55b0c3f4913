//! The append-only audit log: every write records who did what, from where, in its own
//! transaction.

use super::db::{sql, Tx};
use super::{utc, AuditEntry, Store, StoreError};
use crate::domain::auth::Actor;
use time::OffsetDateTime;

/// One audit entry (`many_rows` multiplies it for a batch).
pub(super) const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (at, actor, remote, action, object, details) VALUES ($1, $2, $3, $4, $5, $6)";

/// Appends one audit entry inside the open transaction `tx`.
pub(super) async fn record(
    tx: &mut Tx,
    at: OffsetDateTime,
    actor: &Actor,
    action: &str,
    object: &str,
    details: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sql(INSERT_AUDIT)
        .bind(at)
        .bind(&actor.name)
        .bind(&actor.remote)
        .bind(action)
        .bind(object)
        .bind(details.to_string())
        .execute(tx)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: OffsetDateTime,
    actor: String,
    remote: String,
    action: String,
    object: String,
    details: String,
}

impl Store {
    /// The newest audit entries, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<AuditRow> =
            sql("SELECT id, at, actor, remote, action, object, details FROM audit_log ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: utc(r.at),
                actor: r.actor,
                remote: r.remote,
                action: r.action,
                object: r.object,
                details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }
}
