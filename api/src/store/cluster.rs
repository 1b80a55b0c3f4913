//! Several API nodes on one PostgreSQL: the changes every node hears at commit (LISTEN/NOTIFY on
//! the channels migration 0017's triggers and the escalation leader notify), and the advisory
//! lock that makes one node the leader. SQLite serves one node: it has neither, and its one node
//! leads.

use super::db::Pool;
use super::{Store, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgListener;
use sqlx::Postgres;

/// A case stored or changed: the payload is its id.
pub const PROBLEMS: &str = "gridwatch_problems";
/// The grid or catalogue revision moved.
pub const REVISIONS: &str = "gridwatch_revisions";
/// Assessment points were written.
pub const LAYERS: &str = "gridwatch_layers";
/// A colour change (三色督办) the leader recorded: the payload is the change as JSON.
pub const COLOURS: &str = "gridwatch_colours";

/// The advisory lock the escalation leader holds ("gwlead" in ASCII).
const LEADER_LOCK: i64 = 0x6777_6c65_6164;

/// One change heard.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub channel: String,
    pub payload: String,
}

/// The changes this node listens to (PostgreSQL only).
pub struct Notices(PgListener);

impl Notices {
    /// The next change; after a lost connection the listener reconnects (what was said
    /// meanwhile is lost: callers then reload what they keep).
    pub async fn next(&mut self) -> Result<Notice, StoreError> {
        let n = self.0.recv().await?;
        Ok(Notice { channel: n.channel().to_string(), payload: n.payload().to_string() })
    }
}

/// Whether this node leads: on PostgreSQL, while it holds the advisory lock on a connection of
/// its own (a node that dies drops the connection, and the lock with it); on SQLite, always.
#[derive(Default)]
pub struct Leadership {
    held: Option<PoolConnection<Postgres>>,
}

impl Drop for Leadership {
    fn drop(&mut self) {
        // Closed rather than given back to the pool, where the lock would go on being held by
        // whichever query borrowed the connection next.
        if let Some(held) = self.held.take() {
            drop(held.detach());
        }
    }
}

impl Store {
    /// Listens to `channels`; `None` on SQLite (one node: nothing to hear from others).
    pub async fn listen(&self, channels: &[&str]) -> Result<Option<Notices>, StoreError> {
        let Pool::Postgres(pool) = &self.pool else { return Ok(None) };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen_all(channels.iter().copied()).await?;
        Ok(Some(Notices(listener)))
    }

    /// Tells every node's listeners (PostgreSQL; nothing to do on SQLite).
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        if let Pool::Postgres(pool) = &self.pool {
            sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(pool).await?;
        }
        Ok(())
    }

    /// Writes a consistent copy of a SQLite database to `path` while it is in use (`VACUUM INTO`);
    /// PostgreSQL is copied with pg_dump instead.
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        if let Pool::Sqlite(pool) = &self.pool {
            sqlx::query("VACUUM INTO ?").bind(path.display().to_string()).execute(pool).await?;
        }
        Ok(())
    }

    /// Several nodes may serve this store (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// Does this node lead now? Keeps the lock while its connection answers; otherwise tries to
    /// take it (a follower's try costs one query on a pooled connection, given back at once).
    pub async fn lead(&self, leadership: &mut Leadership) -> bool {
        let Pool::Postgres(pool) = &self.pool else { return true };
        if let Some(held) = leadership.held.as_mut() {
            if sqlx::query("SELECT 1").execute(&mut **held).await.is_ok() {
                return true;
            }
            // The connection (and with it the lock) is gone: try again like anyone.
            leadership.held = None;
        }
        let Ok(mut connection) = pool.acquire().await else { return false };
        let taken: Result<(bool,), _> =
            sqlx::query_as("SELECT pg_try_advisory_lock($1)").bind(LEADER_LOCK).fetch_one(&mut *connection).await;
        if matches!(taken, Ok((true,))) {
            leadership.held = Some(connection);
            return true;
        }
        false
    }
}
