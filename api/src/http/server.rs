//! The connection loop in front of the router: HTTP/1.1 with a time limit on reading a request's
//! headers (which also closes a kept-alive connection left idle that long), a cap on connections
//! per client address, and a shutdown that stops accepting, lets requests finish and then waits
//! at most a set time. `axum::serve` has none of these limits (no timer: a client trickling one
//! header line every few seconds kept a connection forever).

use super::slots::Slot;
use axum::Router;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Limits on connections (docs/security.md).
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Time a client has to send a request's headers, and the longest a kept-alive connection may
    /// sit idle between requests.
    pub header_read_timeout: Duration,
    /// Connections one client address may hold open at once; more are closed on arrival.
    pub max_per_ip: usize,
    /// How long a shutdown waits for open requests (live streams are ended at once).
    pub drain: Duration,
    /// Peers the per-address cap does not apply to: the trusted proxies, whose connections carry
    /// many clients.
    pub exempt: Vec<super::forwarded::Cidr>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_per_ip: 256,
            drain: Duration::from_secs(10),
            exempt: Vec::new(),
        }
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
    let lingering = Arc::new(tokio::sync::Semaphore::new(MAX_LINGERING));
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
        let most = if limits.exempt.iter().any(|c| c.contains(peer.ip())) { usize::MAX } else { limits.max_per_ip };
        let Some(place) = per_address.take(peer.ip(), most) else {
            // Debug only: a flood of refused connections must not flood the log too.
            tracing::debug!(ip = %peer.ip(), "too many connections from one address; closed");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok(service) = make.call(peer).await;
        let service = hyper_util::service::TowerToHyperService::new(service);
        let socket = Lingering { stream: Some(stream), place: Some(place), lingering: lingering.clone() };
        let connection = http.serve_connection(hyper_util::rt::TokioIo::new(socket), service);
        let mut stopping = stopping.clone();
        connections.spawn(async move {
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

/// How long, and for how many bytes, a closed connection keeps reading what its client still
/// sends: while something arrives at least every `LINGER_IDLE`, for at most `LINGER_TIME` and
/// `LINGER_BYTES` in all (nginx's lingering_timeout and lingering_time). A fixed total alone was
/// not enough: on a busy machine a client still sending a 4 MiB upload was cut off after it and
/// saw "broken pipe" instead of its 413.
const LINGER_IDLE: Duration = Duration::from_secs(2);
const LINGER_TIME: Duration = Duration::from_secs(30);
const LINGER_BYTES: usize = 32 << 20;
/// Closed connections reading on at once, from all addresses. A closed connection gives its
/// address's place back at once: a phone sending refused uploads one after another must not
/// find its places taken by its own earlier connections, whose bytes the server is still
/// reading. Past this many, a closed connection closes at once (its client may see a reset).
const MAX_LINGERING: usize = 1024;

/// A connection's socket that, once hyper is done with it, reads and discards what the client is
/// still sending for a short while before closing it (the "lingering close" of nginx and Apache).
/// Closing a socket with unread bytes sends a reset: a client still writing an upload that was
/// refused (413) would see "broken pipe" instead of the answer, at random, depending on who was
/// faster. The connection's place among its address's connections is held until hyper is done
/// with it; the reading on takes one of [`MAX_LINGERING`] places instead.
struct Lingering {
    stream: Option<TcpStream>,
    place: Option<Slot<IpAddr>>,
    lingering: Arc<tokio::sync::Semaphore>,
}

impl Lingering {
    fn stream(&mut self) -> Pin<&mut TcpStream> {
        // Only `Drop` takes the stream, so it is there for as long as hyper holds the socket.
        Pin::new(self.stream.as_mut().expect("the socket is open until dropped"))
    }
}

impl AsyncRead for Lingering {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().stream().poll_read(cx, buf)
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.get_mut().stream().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().stream().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().stream().poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().stream().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(TcpStream::is_write_vectored)
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        drop(self.place.take()); // the address's place is free at once, lingering or not
        let Some(stream) = self.stream.take() else { return };
        let (Ok(runtime), Ok(place)) =
            (tokio::runtime::Handle::try_current(), self.lingering.clone().try_acquire_owned())
        else {
            return;
        };
        runtime.spawn(linger(stream, place));
    }
}

/// Ends the answer (FIN), then discards what the client still sends until it closes too, stops
/// sending for [`LINGER_IDLE`], or the linger time or byte budget runs out.
async fn linger(mut stream: TcpStream, _place: tokio::sync::OwnedSemaphorePermit) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.shutdown().await;
    let mut scratch = [0u8; 8192];
    let mut left = LINGER_BYTES;
    let deadline = tokio::time::Instant::now() + LINGER_TIME;
    while left > 0 {
        let wait = LINGER_IDLE.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        match tokio::time::timeout(wait, stream.read(&mut scratch)).await {
            Ok(Ok(n)) if n > 0 => left = left.saturating_sub(n),
            _ => break, // closed, failed, quiet for LINGER_IDLE, or out of time
        }
    }
}
