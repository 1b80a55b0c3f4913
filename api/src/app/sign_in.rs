//! Signing in with a user name and password (登录): the password checked against its Argon2id
//! hash off the request threads, an unknown user answered exactly like a wrong password and in
//! the same time, repeated failures for one user name or one address slowed and then refused,
//! and a session opened on success.

use crate::domain::auth::{hash_password, hash_token, new_token, verify_password, Actor, Role, DECOY_HASH};
use crate::store::accounts::Credentials;
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Failed sign-ins are counted over this window.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures for one user name before further tries are refused (the sixth try in a row).
pub const FAILURES_PER_USER: u32 = 5;
/// Failures from one address before further tries are refused (a guesser walking user names).
pub const FAILURES_PER_ADDRESS: u32 = 20;
/// Each failure in a row answers this much later than the one before (at most [`MAX_DELAY`]).
const DELAY_STEP: Duration = Duration::from_millis(150);
const MAX_DELAY: Duration = Duration::from_millis(750);

/// Why a sign-in did not open a session.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown user, revoked user, no password set, or a wrong password: all look the same.
    #[error("the user name or password is wrong")]
    InvalidCredentials,
    /// Too many failures for this user name or from this address.
    #[error("too many failed sign-ins; try again later")]
    Throttled { retry_after: Duration },
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A session opened by a sign-in. The token is shown once; the database keeps its hash.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: OffsetDateTime,
    pub user: String,
    pub role: Role,
    pub must_change_password: bool,
}

struct Failures {
    count: u32,
    since: Instant,
}

/// Failed sign-ins per user name and per address (this process's memory: a restart forgets them).
#[derive(Default)]
pub struct SignIns {
    failures: Mutex<HashMap<String, Failures>>,
}

/// Remembered keys at most; beyond, expired windows are forgotten first, then everything.
const MAX_KEYS: usize = 100_000;

impl SignIns {
    /// Checks `password` for `username` and opens a session of `idle` sliding length.
    pub async fn sign_in(
        &self,
        store: &Store,
        username: &str,
        password: &str,
        actor: Actor,
        idle: time::Duration,
        now: OffsetDateTime,
    ) -> Result<Session, SignInError> {
        let credentials = self.checked(store, username, password, &actor.remote).await?;
        let token = new_token().map_err(SignInError::Internal)?;
        let role: Role = credentials.role.parse().map_err(|e| SignInError::Store(StoreError::Corrupt(e)))?;
        let opened = store.open_session(credentials.user_id, hash_token(&token), idle, now, actor).await?;
        Ok(Session {
            token,
            expires_at: opened.expires_at,
            user: username.to_string(),
            role,
            must_change_password: credentials.must_change_password,
        })
    }

    /// Checks that `password` is `username`'s current one (before a change of one's own
    /// password), counted and slowed like a sign-in: a stolen session cannot guess it either.
    pub async fn confirm(
        &self,
        store: &Store,
        username: &str,
        password: &str,
        remote: &str,
    ) -> Result<(), SignInError> {
        self.checked(store, username, password, remote).await.map(drop)
    }

    /// The user's credentials if `password` is theirs: refused while over the failure limits,
    /// counted and slowed when wrong, the user name's failures forgotten when right.
    async fn checked(
        &self,
        store: &Store,
        username: &str,
        password: &str,
        remote: &str,
    ) -> Result<Credentials, SignInError> {
        let keys = [format!("user:{username}"), format!("address:{remote}")];
        if let Some(retry_after) = self.refused(&keys, Instant::now()) {
            return Err(SignInError::Throttled { retry_after });
        }
        let credentials = store.credentials(username).await?;
        let hash = credentials.as_ref().and_then(|c| c.password_hash.clone());
        let known = hash.is_some();
        let given = password.to_string();
        // The decoy costs as much as a real hash: an unknown name takes as long as a wrong password.
        let matches = tokio::task::spawn_blocking(move || {
            verify_password(&given, hash.as_deref().unwrap_or(DECOY_HASH)) && known
        })
        .await
        .map_err(|e| SignInError::Internal(e.to_string()))?;
        let Some(credentials) = credentials.filter(|_| matches) else {
            let in_a_row = self.failed(&keys, Instant::now());
            tokio::time::sleep((DELAY_STEP * in_a_row).min(MAX_DELAY)).await;
            return Err(SignInError::InvalidCredentials);
        };
        self.forget(&keys[0]);
        Ok(credentials)
    }

    /// How long until the first of `keys` over its limit may try again, if any is.
    fn refused(&self, keys: &[String; 2], now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter().zip([FAILURES_PER_USER, FAILURES_PER_ADDRESS]).find_map(|(key, limit)| {
            let f = failures.get(key)?;
            let left = FAILURE_WINDOW.checked_sub(now.duration_since(f.since)).filter(|left| !left.is_zero())?;
            (f.count >= limit).then_some(left)
        })
    }

    /// Counts a failure against each key; the failures in a row for the user name (what the
    /// answer is slowed by, so that a known and an unknown name are slowed alike).
    fn failed(&self, keys: &[String; 2], now: Instant) -> u32 {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, f| now.duration_since(f.since) < FAILURE_WINDOW);
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        let mut counts = keys.iter().map(|key| {
            let f = failures.entry(key.clone()).or_insert(Failures { count: 0, since: now });
            if now.duration_since(f.since) >= FAILURE_WINDOW {
                *f = Failures { count: 0, since: now };
            }
            f.count += 1;
            f.count
        });
        let of_user = counts.next().unwrap_or(0);
        counts.for_each(drop);
        of_user
    }

    fn forget(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

/// Hashes a new password off the calling thread (Argon2id takes tens of milliseconds).
pub async fn hashed(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(|e| e.to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_failure_in_a_row_is_refused_until_the_window_passes() {
        let sign_ins = SignIns::default();
        let keys = ["user:wang.wei".to_string(), "address:10.0.0.7".to_string()];
        let t0 = Instant::now();
        for n in 1..=FAILURES_PER_USER {
            assert!(sign_ins.refused(&keys, t0).is_none(), "try {n} is heard");
            assert_eq!(sign_ins.failed(&keys, t0), n);
        }
        let wait = sign_ins.refused(&keys, t0).expect("the sixth try is refused");
        assert!(wait <= FAILURE_WINDOW && wait > FAILURE_WINDOW - Duration::from_secs(1));
        let other = ["user:li.na".to_string(), "address:10.0.0.8".to_string()];
        assert!(sign_ins.refused(&other, t0).is_none(), "another user from another address is heard");
        assert!(sign_ins.refused(&keys, t0 + FAILURE_WINDOW).is_none(), "the window passes");
        sign_ins.forget(&keys[0]);
        assert!(sign_ins.refused(&keys, t0).is_none(), "a success forgets the user's failures");
    }

    #[test]
    fn one_address_walking_user_names_is_refused_too() {
        let sign_ins = SignIns::default();
        let t0 = Instant::now();
        for n in 0..FAILURES_PER_ADDRESS {
            let keys = [format!("user:guess{n}"), "address:10.0.0.9".to_string()];
            assert!(sign_ins.refused(&keys, t0).is_none());
            sign_ins.failed(&keys, t0);
        }
        let next = ["user:guess-next".to_string(), "address:10.0.0.9".to_string()];
        assert!(sign_ins.refused(&next, t0).is_some());
    }
}
