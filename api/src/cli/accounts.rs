//! `gridwatch user add|list|revoke` and `gridwatch token create|revoke`.

use crate::cli::error::CliError;
use crate::domain::auth::{check_user, hash_token, new_token, Actor, Role};
use crate::domain::clock::{Clock, SystemClock};
use crate::store::{connect, NewUser};

pub enum UserCommand {
    Add { name: String, role: String, scope: Vec<String>, unit: Option<String>, database_url: String },
    List { database_url: String },
    Revoke { name: String, database_url: String },
}

pub enum TokenCommand {
    Create { user: String, expires_in_days: Option<u32>, label: Option<String>, database_url: String },
    Revoke { id: i64, database_url: String },
}

pub async fn user(command: UserCommand) -> Result<(), CliError> {
    let now = SystemClock.now();
    match command {
        UserCommand::Add { name, role, scope, unit, database_url } => {
            let role: Role = role.parse()?;
            let scope: Vec<String> =
                scope.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
            check_user(role, &scope, unit.as_deref())?;
            if name.trim().is_empty() {
                return Err("the user name must not be empty".into());
            }
            let store = connect(&database_url).await?;
            let user = store.create_user(NewUser { name, role, scope, unit }, now, Actor::cli()).await?;
            println!("added user {} ({}, scope {:?}, unit {:?})", user.name, user.role, user.scope, user.unit);
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
