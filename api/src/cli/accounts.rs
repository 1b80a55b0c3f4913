//! `gridwatch user add|passwd|list|revoke` and `gridwatch token create|revoke`.

use crate::app::sign_in::hashed;
use crate::cli::error::CliError;
use crate::domain::auth::{check_password, check_user, hash_token, new_password, new_token, Actor, Role};
use crate::domain::clock::{Clock, SystemClock};
use crate::store::{connect, NewUser};

pub enum UserCommand {
    Add {
        name: String,
        role: String,
        scope: Vec<String>,
        unit: Option<String>,
        password_stdin: bool,
        must_change: bool,
        database_url: String,
    },
    Passwd {
        name: String,
        generate: bool,
        must_change: bool,
        database_url: String,
    },
    List {
        database_url: String,
    },
    Revoke {
        name: String,
        database_url: String,
    },
}

pub enum TokenCommand {
    Create { user: String, expires_in_days: Option<u32>, label: Option<String>, database_url: String },
    Revoke { id: i64, database_url: String },
}

pub async fn user(command: UserCommand) -> Result<(), CliError> {
    let now = SystemClock.now();
    match command {
        UserCommand::Add { name, role, scope, unit, password_stdin, must_change, database_url } => {
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
            let store = connect(&database_url).await?;
            let user = store.create_user(NewUser { name, role, scope, unit }, now, Actor::cli()).await?;
            if let Some(password) = password {
                let hash = hashed(password).await?;
                store.set_password(&user.name, hash, must_change, false, now, Actor::cli()).await?;
            }
            println!("added user {} ({}, scope {:?}, unit {:?})", user.name, user.role, user.scope, user.unit);
        }
        UserCommand::Passwd { name, generate, must_change, database_url } => {
            let password = if generate { new_password()? } else { read_password()? };
            check_password(&name, &password)?;
            let store = connect(&database_url).await?;
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
        UserCommand::List { database_url } => {
            let store = connect(&database_url).await?;
            for u in store.users().await? {
                let state = if u.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}\t{}\t{}\t{}\t{}", u.name, u.role, u.scope.join(","), u.unit.unwrap_or_default(), state);
            }
        }
        UserCommand::Revoke { name, database_url } => {
            let store = connect(&database_url).await?;
            if !store.revoke_user(name.clone(), now, Actor::cli()).await? {
                return Err(format!("no active user named {name:?}").into());
            }
            println!("revoked user {name} and all their tokens");
        }
    }
    Ok(())
}

pub async fn token(command: TokenCommand) -> Result<(), CliError> {
    let now = SystemClock.now();
    match command {
        TokenCommand::Create { user, expires_in_days, label, database_url } => {
            let store = connect(&database_url).await?;
            let token = new_token()?;
            let expires_at = expires_in_days.map(|d| now + time::Duration::days(i64::from(d)));
            let info = store
                .create_token(user.clone(), hash_token(&token), label, expires_at, now, Actor::cli())
                .await?
                .ok_or_else(|| format!("no active user named {user:?}"))?;
            eprintln!("token {} for {} (store it now: it cannot be shown again)", info.id, info.user);
            println!("{token}");
        }
        TokenCommand::Revoke { id, database_url } => {
            let store = connect(&database_url).await?;
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
