//! Who is calling: users, roles and API tokens. Tokens are random, shown once, and stored only
//! as SHA-256 hashes; they can expire and be revoked.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// What a user is in the city's organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
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
    /// 督查员: an inspector of the office, scoped to an area, who records findings in the
    /// supervision rounds they are named in.
    Inspector,
    /// Everything, everywhere.
    Admin,
    /// A citizen app (per-app API key): reports problems and reads back its own.
    App,
}

impl Role {
    pub const ALL: [Role; 7] =
        [Self::Officer, Self::Unit, Self::Dispatcher, Self::Office, Self::Inspector, Self::Admin, Self::App];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Unit => "unit",
            Self::Dispatcher => "dispatcher",
            Self::Office => "office",
            Self::Inspector => "inspector",
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
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            format!("unknown role {s:?}: use officer, unit, dispatcher, office, inspector, admin or app")
        })
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
    /// Signed in with a password an admin set: until it is changed, the session may only change
    /// it (and say who it is).
    pub must_change_password: bool,
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
        Role::Officer | Role::Dispatcher | Role::Office | Role::Inspector if scope.is_empty() => {
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

/// HMAC-SHA256 (RFC 2104): what webhook signatures and S3 request signatures are made of.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::Mac;
    // HMAC takes a key of any length (a long one is hashed first), so this never fails.
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!("any key length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Passwords are at least this long (characters).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// And at most this long, so that hashing cannot be made expensive on purpose.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Checks a new password: 8 to 128 characters, not blank, no control characters, and not the
/// user's own name.
pub fn check_password(user: &str, password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(format!("a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"));
    }
    if password.chars().any(char::is_control) || password.trim().is_empty() {
        return Err("a password has no control characters and is not blank".into());
    }
    if password.eq_ignore_ascii_case(user) {
        return Err("a password is not the user's own name".into());
    }
    Ok(())
}

/// The Argon2id hash of a password (PHC string, with its own random salt): what the database
/// keeps. Slow on purpose (tens of milliseconds): run it off the request threads.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| format!("no randomness available: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    let hash = argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| e.to_string())?;
    Ok(hash.to_string())
}

/// Whether `password` is the one `hash` was made from. An unreadable hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash no password matches, verified against when the user is unknown so that an unknown
/// user and a wrong password take the same time.
pub const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$ZGVjb3lkZWNveWRlY295$0mS+bd2LpeJ6Aj5o9VJ1b6F8dbS0ZlPmfXa5UuFXGdE";

/// A fresh password for a demo or reset account: 12 letters and digits, easy to type on a phone.
pub fn new_password() -> Result<String, String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 12];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("no randomness available: {e}"))?;
    Ok(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
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
        // RFC 4231, test cases 2 and 6 (a key longer than the block).
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(!hash_token(&a).contains(&a[3..]));
    }

    #[test]
    fn passwords_are_hashed_salted_and_checked() {
        let hash = hash_password("晨光-2026-巡查").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert_ne!(hash, hash_password("晨光-2026-巡查").expect("hash"), "each hash has its own salt");
        assert!(verify_password("晨光-2026-巡查", &hash));
        assert!(!verify_password("晨光-2026-巡察", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert!(argon2::password_hash::PasswordHash::new(DECOY_HASH).is_ok(), "the decoy is a well-formed hash");
        assert!(!verify_password("", DECOY_HASH));
        assert!(check_password("wang.wei", "short").is_err());
        assert!(check_password("wang.wei", "WANG.WEI").is_err());
        assert!(check_password("wang.wei", &"x".repeat(129)).is_err());
        assert!(check_password("wang.wei", "tab\there!").is_err());
        assert!(check_password("wang.wei", "東華門-網格-7").is_ok());
        let fresh = new_password().expect("password");
        assert!(fresh.len() == 12 && check_password("demo", &fresh).is_ok());
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
