//! Request bodies and the connection they arrive on: a small body is read whole before the
//! request is judged, and an answer given before a large body was read closes the connection
//! and says so.

use super::error::ApiError;
use super::{idempotency, ApiContext};
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Bodies at most this large are read whole before anything answers.
pub const SMALL_BODY: u64 = 64 * 1024;

/// Reads a small request body (declared at most [`SMALL_BODY`]) whole before the request is
/// judged: an early answer (401, 404, 422) otherwise closes the connection while the client may
/// still be sending, and the client sees a reset instead of the answer. Larger bodies are read
/// by their endpoint (uploads: `idempotency::replay`), after the token was checked; when the
/// answer comes before such a body was read to its end (a 401, a 413), it carries
/// `Connection: close`. The server closes that connection anyway (the rest of the body is in the
/// way of a next request), and a client told so does not send its next request into a
/// connection that is closing — nor keep it open in its pool, holding one of its address's places.
pub async fn settle(State(ctx): State<ApiContext>, req: Request, next: Next) -> Response {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    match declared {
        Some(n) if n > 0 && n <= SMALL_BODY => read_whole_first(&ctx, req, next).await,
        Some(0) => next.run(req).await,
        None if !req.headers().contains_key(header::TRANSFER_ENCODING) => next.run(req).await,
        _ => close_unless_read(req, next).await,
    }
}

async fn read_whole_first(ctx: &ApiContext, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(ctx.limits.request_timeout, idempotency::read_body(body, SMALL_BODY as usize)).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Ok(Err(e)) => e.into_response(),
        Err(_) => ApiError::new(StatusCode::REQUEST_TIMEOUT, "timeout", "the request body took too long to arrive")
            .into_response(),
    }
}

async fn close_unless_read(req: Request, next: Next) -> Response {
    let read_to_end = Arc::new(AtomicBool::new(false));
    let watched = req.map(|inner| Body::new(Watched { inner, read_to_end: read_to_end.clone() }));
    let mut response = next.run(watched).await;
    if !read_to_end.load(Ordering::Acquire) {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that notes when it has been read to its end.
struct Watched {
    inner: Body,
    read_to_end: Arc<AtomicBool>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        // A reader may stop at the last frame without asking for the end, so both count.
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read_to_end.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
