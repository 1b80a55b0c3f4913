//! Who is calling: users, roles and API tokens. Tokens are random, shown once, and stored only
//! as SHA-256 hashes; they can expire and be revoked.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// What a user is in the city's organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// 网格员: their own grids.
    Officer,
    /// 责任单位 staff: their unit's problems and grids.
    Unit,
    /// 派遣员: a district or street.
    Dispatcher,
    /// 创建办/督查室: reads everything in scope.
    Office,
    /// Everything, everywhere.
    Admin,
    /// A citizen app (per-app API key): reports problems and reads back its own.
    App,
}

impl Role {
    pub const ALL: [Role; 6] = [Self::Officer, Self::Unit, Self::Dispatcher, Self::Office, Self::Admin, Self::App];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Unit => "unit",
            Self::Dispatcher => "dispatcher",
            Self::Office => "office",
            Self::Admin => "admin",
            Self::App => "app",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}: use officer, unit, dispatcher, office, admin or app"))
    }
}

/// Scope that reaches every grid and every unassigned problem.
pub const WHOLE_CITY: &str = "*";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Principal {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    /// Grid codes (any level) the user answers for; [`WHOLE_CITY`] for all.
    pub scope: Vec<String>,
    /// The unit (责任单位) of unit staff.
    pub unit: Option<String>,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub scope: Vec<String>,
    pub unit: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<time::OffsetDateTime>,
}

/// Checks a new user's role, scope and unit belong together.
pub fn check_user(role: Role, scope: &[String], unit: Option<&str>) -> Result<(), String> {
    match role {
        Role::Officer | Role::Dispatcher | Role::Office if scope.is_empty() => {
            Err(format!("a {role} needs --scope (grid codes, or {WHOLE_CITY} for the whole city)"))
        }
        Role::Unit if unit.is_none_or(|u| u.trim().is_empty()) => Err("unit staff need --unit (责任单位)".into()),
        _ => Ok(()),
    }
}

/// A fresh API token: `gw_` and 64 hex digits of operating-system randomness.
pub fn new_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("no randomness available: {e}"))?;
    Ok(format!("gw_{}", hex::encode(bytes)))
}

/// What the database keeps of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Who did something and from where, for the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub name: String,
    pub remote: String,
}

impl Actor {
    /// The command line, run by the operating-system user.
    pub fn cli() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Self { name: format!("cli:{user}"), remote: "local".into() }
    }

    /// gridwatch itself (demo seeding).
    pub fn system() -> Self {
        Self { name: "system".into(), remote: "local".into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = new_token().expect("token");
        let b = new_token().expect("token");
        assert_ne!(a, b);
        assert!(a.starts_with("gw_") && a.len() == 67);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(!hash_token(&a).contains(&a[3..]));
    }

    #[test]
    fn roles_and_their_required_scope() {
        assert_eq!("dispatcher".parse::<Role>(), Ok(Role::Dispatcher));
        assert!("mayor".parse::<Role>().is_err());
        assert!(check_user(Role::Officer, &[], None).is_err());
        assert!(check_user(Role::Officer, &["110101001001".into()], None).is_ok());
        assert!(check_user(Role::Unit, &[], None).is_err());
        assert!(check_user(Role::Unit, &[], Some("东华门街道办事处")).is_ok());
        assert!(check_user(Role::Admin, &[], None).is_ok());
    }
}
