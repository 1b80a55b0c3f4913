//! The connection loop in front of the router: HTTP/1.1 with a time limit on reading a request's
//! headers (which also closes a kept-alive connection left idle that long), a cap on connections
//! per client address, and a shutdown that stops accepting, lets requests finish and then waits
//! at most a set time. `axum::serve` has none of these limits (no timer: a client trickling one
//! header line every few seconds kept a connection forever).

use axum::Router;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Limits on connections (docs/security.md).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Time a client has to send a request's headers, and the longest a kept-alive connection may
    /// sit idle between requests.
    pub header_read_timeout: Duration,
    /// Connections one client address may hold open at once; more are closed on arrival.
    pub max_per_ip: usize,
    /// How long a shutdown waits for open connections (live streams never end by themselves).
    pub drain: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self { header_read_timeout: Duration::from_secs(10), max_per_ip: 256, drain: Duration::from_secs(10) }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains (see [`ConnectionLimits`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use tower_service::Service;
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let per_address = Arc::new(super::slots::Slots::<IpAddr>::default());
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {} // forget finished connections
        let Some(place) = per_address.take(peer.ip(), limits.max_per_ip) else {
            // Debug only: a flood of refused connections must not flood the log too.
            tracing::debug!(ip = %peer.ip(), "too many connections from one address; closed");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok(service) = make.call(peer).await;
        let service = hyper_util::service::TowerToHyperService::new(service);
        let connection = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let _place = place;
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = async { let _ = stopping.wait_for(|stop| *stop).await; } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.as_mut().await;
                }
            }
        });
    }
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.drain, async { while connections.join_next().await.is_some() {} });
    if drained.await.is_err() {
        tracing::warn!(open = connections.len(), "connections still open after the drain time; closing them");
        connections.abort_all();
    }
}
