//! `gridwatch serve`: the HTTP API, with the index kept fresh from the database.

use crate::app::catalog::Catalog;
use crate::cli::config::ServeConfig;
use crate::cli::error::CliError;
use crate::domain::clock::Clock;
use crate::domain::clock::SystemClock;
use crate::http::{router, ApiContext};
use crate::store::connect;
use std::sync::Arc;
use std::time::Duration;

/// Connects, seeds the demo city when asked, and serves until SIGTERM or Ctrl-C: the one place
/// the running service is put together.
pub async fn serve(config: ServeConfig) -> Result<(), CliError> {
    let ServeConfig { database_url, options } = config;
    let _only_server = sqlite_lock(&database_url)?;
    let store = connect(&database_url).await?;
    let catalog = Arc::new(Catalog::load(store.as_ref()).await?);
    let clock: Arc<dyn Clock> = options.clock.clone().unwrap_or_else(|| Arc::new(SystemClock));
    if options.demo {
        let seeded = crate::app::demo::seed(store.as_ref(), &catalog, clock.now())
            .await
            .map_err(|e| CliError::Failed(format!("demo seed failed: {e}")))?;
        if let Some(logins) = seeded {
            tracing::info!("seeded the demo city (Dongcheng, 110101)");
            // Shown once: only their hashes are stored.
            println!("demo sign-ins for the map (shown only now):");
            for l in &logins {
                if let Some(password) = &l.password {
                    println!("  demo login {} {} {}", l.role.as_str(), l.user, password);
                }
            }
            println!("demo API tokens for scripts (shown only now; send as Authorization: Bearer <token>):");
            for l in logins {
                println!("  demo token {:<10} {:<16} {:<24} {}", l.role.as_str(), l.user, l.area, l.token);
            }
        }
    }
    // Other processes (imports) change grids: follow the revision and rebuild when it moves.
    let refresher = {
        let (store, catalog) = (store.clone(), catalog.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(options.reload_interval);
            loop {
                tick.tick().await;
                if let Err(e) = catalog.refresh(store.as_ref()).await {
                    tracing::warn!(error = %e, "grid index refresh failed; keeping the previous index");
                }
            }
        })
    };
    if let crate::app::evidence::blobs::Blobs::Local(local) = &options.api.evidence.blobs {
        // Half-written uploads of a process killed mid-write (an hour old: never one in progress).
        match local.sweep(Duration::from_secs(3600)) {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed temporary upload files left by a crash"),
            Err(e) => tracing::warn!(error = %e, "could not sweep temporary upload files"),
        }
    }
    let snapshot = catalog.snapshot();
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {}: {e}", options.listen)))?;
    let addr = listener.local_addr().map_err(|e| CliError::Failed(e.to_string()))?;
    let ctx = ApiContext::new(store.clone(), catalog, clock.clone(), options.api);
    let (tiles, tile_store) = (ctx.tiles.clone(), store.clone());
    let escalator = crate::app::escalation::Escalator {
        store: store.clone(),
        clock,
        calendar: ctx.calendar.clone(),
        thresholds: ctx.thresholds.clone(),
        changes: ctx.changes.clone(),
        webhook: options.webhook,
        letters: ctx.letter_rules.clone(),
        leader: ctx.leader.clone(),
    };
    // The map's layers are read first: at start they are what people wait for, and on two cores
    // the escalation pass's walk over every open case beside them doubled their time. The first
    // pass follows at once.
    let interval = options.escalation_interval;
    let escalations = tokio::spawn(async move {
        tiles.warm(&tile_store).await;
        escalator.run(interval).await;
    });
    // Several nodes on one PostgreSQL: follow each other's commits.
    let follower = crate::app::cluster::Follower {
        store: store.clone(),
        catalog: ctx.catalog.clone(),
        tiles: ctx.tiles.clone(),
        problems: ctx.problem_changes.clone(),
        colours: ctx.changes.clone(),
    };
    let following = tokio::spawn(follower.run());
    // The 12345 platform's results, when it has a receiving URL.
    let pushing = options.hotline.map(|exchange| {
        let pusher = crate::app::hotline::Pusher {
            store: store.clone(),
            clock: ctx.clock.clone(),
            exchange,
            wake: ctx.hotline_wake.clone(),
        };
        tokio::spawn(pusher.run())
    });
    // Scripts and tests wait for this line on stdout.
    println!(
        "gridwatch listening on http://{addr} ({} backend, {} grids indexed)",
        store.backend(),
        snapshot.index.len()
    );
    drop(snapshot);
    // On SIGTERM the live streams are told first (they end with a `reconnect` event), then the
    // server stops accepting and drains.
    let stopping = ctx.stopping.clone();
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("shutting down: ending live streams, draining requests");
        let _ = stopping.send(true);
    };
    crate::http::server::serve(listener, router(ctx), options.connections, shutdown).await;
    refresher.abort();
    escalations.abort();
    following.abort();
    if let Some(pushing) = pushing {
        pushing.abort();
    }
    Ok(())
}

/// SQLite serves one node: a second `gridwatch serve` on the same file is refused at start (it
/// would run its own escalation passes and miss the first one's live changes). The lock is a
/// file beside the database, held while the server runs (the kernel lets it go if it dies).
fn sqlite_lock(database_url: &str) -> Result<Option<std::fs::File>, CliError> {
    let Some(rest) = database_url.strip_prefix("sqlite:") else { return Ok(None) };
    let path = rest.trim_start_matches("//").split('?').next().unwrap_or("");
    if path.is_empty() || path.contains(":memory:") {
        return Ok(None);
    }
    let lock_path = format!("{path}.serve-lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| CliError::Failed(format!("{lock_path}: {e}")))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(CliError::Failed(format!(
            "another gridwatch serve is using {path} (it holds {lock_path}). SQLite serves one node: \
             stop the other, or run several nodes on PostgreSQL (docs/deploy.md)"
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(CliError::Failed(format!("{lock_path}: {e}"))),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
