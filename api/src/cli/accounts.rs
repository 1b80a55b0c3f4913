//! `gridwatch user add|passwd|list|revoke` and `gridwatch token create|revoke`.

use crate::app::sign_in::hashed;
use crate::cli::config::DatabaseArgs;
use crate::cli::error::CliError;
use crate::domain::auth::{check_password, check_user, hash_token, new_password, new_token, Actor, Role};
use crate::domain::clock::{Clock, SystemClock};
use crate::store::{connect, NewUser};
use clap::Subcommand;

#[derive(Subcommand)]
pub(super) enum UserCommand {
    /// Add a user.
    Add {
        name: String,
        /// officer, unit, dispatcher, office, admin or app (a citizen app's key).
        #[arg(long)]
        role: String,
        /// Grid codes the user answers for (any level, comma-separated); * for the whole city.
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
        /// The responsible unit (责任单位) of unit staff.
        #[arg(long)]
        unit: Option<String>,
        /// Read the user's password (for signing in to the map) from standard input, one line.
        #[arg(long)]
        password_stdin: bool,
        /// Ask for a new password at the first sign-in.
        #[arg(long, requires = "password_stdin")]
        must_change: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Set a user's password (read from standard input, one line; with --generate, made and
    /// printed). Ends the user's open sign-in sessions; API tokens stay.
    Passwd {
        name: String,
        /// Make a password instead of reading one, and print it.
        #[arg(long)]
        generate: bool,
        /// Ask for a new password at the next sign-in (an admin reset).
        #[arg(long)]
        must_change: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List users.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a user and every token of theirs.
    Revoke {
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
pub(super) enum TokenCommand {
    /// Create an API token for a user; it is printed once and stored only as a hash.
    Create {
        user: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke one token by its id.
    Revoke {
        id: i64,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub(super) async fn user(command: UserCommand) -> Result<(), CliError> {
    let now = SystemClock.now();
    match command {
        UserCommand::Add { name, role, scope, unit, password_stdin, must_change, database } => {
            let role: Role = role.parse()?;
            let scope: Vec<String> =
                scope.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
            check_user(role, &scope, unit.as_deref())?;
            // Read (and checked) before anything is written: a bad password adds no user.
            let password = if password_stdin { Some(read_password()?) } else { None };
            if let Some(password) = &password {
                check_password(&name, password)?;
            }
            if name.trim().is_empty() {
                return Err("the user name must not be empty".into());
            }
            let store = connect(&database.database_url).await?;
            let user = store.create_user(NewUser { name, role, scope, unit }, now, Actor::cli()).await?;
            if let Some(password) = password {
                let hash = hashed(password).await?;
                store.set_password(&user.name, hash, must_change, false, now, Actor::cli()).await?;
            }
            println!("added user {} ({}, scope {:?}, unit {:?})", user.name, user.role, user.scope, user.unit);
        }
        UserCommand::Passwd { name, generate, must_change, database } => {
            let password = if generate { new_password()? } else { read_password()? };
            check_password(&name, &password)?;
            let store = connect(&database.database_url).await?;
            let hash = hashed(password.clone()).await?;
            if !store.set_password(&name, hash, must_change, true, now, Actor::cli()).await? {
                return Err(format!("no active user named {name:?}").into());
            }
            if generate {
                println!("{password}");
            }
            eprintln!(
                "password of {name} set{}",
                if must_change { "; it must be changed at the next sign-in" } else { "" }
            );
        }
        UserCommand::List { database } => {
            let store = connect(&database.database_url).await?;
            for u in store.users().await? {
                let state = if u.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}\t{}\t{}\t{}\t{}", u.name, u.role, u.scope.join(","), u.unit.unwrap_or_default(), state);
            }
        }
        UserCommand::Revoke { name, database } => {
            let store = connect(&database.database_url).await?;
            if !store.revoke_user(name.clone(), now, Actor::cli()).await? {
                return Err(format!("no active user named {name:?}").into());
            }
            println!("revoked user {name} and all their tokens");
        }
    }
    Ok(())
}

pub(super) async fn token(command: TokenCommand) -> Result<(), CliError> {
    let now = SystemClock.now();
    match command {
        TokenCommand::Create { user, expires_in_days, label, database } => {
            let store = connect(&database.database_url).await?;
            let token = new_token()?;
            let expires_at = expires_in_days.map(|d| now + time::Duration::days(i64::from(d)));
            let info = store
                .create_token(user.clone(), hash_token(&token), label, expires_at, now, Actor::cli())
                .await?
                .ok_or_else(|| format!("no active user named {user:?}"))?;
            eprintln!("token {} for {} (store it now: it cannot be shown again)", info.id, info.user);
            println!("{token}");
        }
        TokenCommand::Revoke { id, database } => {
            let store = connect(&database.database_url).await?;
            if !store.revoke_token(id, now, Actor::cli()).await? {
                return Err(format!("no active token with id {id}").into());
            }
            println!("revoked token {id}");
        }
    }
    Ok(())
}

/// One line of standard input, without its line ending: a password piped in, never an argument
/// (arguments show in `ps` and shell histories).
fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| CliError::Failed(format!("cannot read the password: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err("no password on standard input: echo … | gridwatch user passwd NAME".into());
    }
    Ok(password)
}
