//! The limit on concurrent connections (`max_connections`): HTTP and
//! WebSocket alike, counted per TCP connection for as long as it is open
//! (a WebSocket holds its count until it closes).
//!
//! [`LimitedListener`] accepts every connection, so that one beyond the
//! limit still gets an answer: [`Admission`] serves it a router that
//! answers every request, WebSocket upgrades included, with 503 and
//! `{"error": ...}`, and closes it. Refusals are logged at most once per
//! [`LOG_EVERY`], with how many there were, not once per connection.

use std::convert::Infallible;
use std::future::Ready;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::Service;

use crate::error::Error;

/// Refusals are logged at most this often.
pub const LOG_EVERY: Duration = Duration::from_secs(10);
/// What a refused client reads.
pub const REFUSAL: &str = "the server is at its connection limit; try again later";

/// Counts refusals and says when to log them: the first at once, then at
/// most one line per [`LOG_EVERY`] with the number since the last. Pure:
/// time is an input.
#[derive(Debug, Default)]
pub struct RefusalLog {
    /// When the last line was logged.
    logged_at: Option<Instant>,
    /// Refusals not yet logged.
    unlogged: u64,
}

impl RefusalLog {
    /// One more refusal at `now`; `Some(n)` when a line saying `n`
    /// refusals is due.
    pub fn refused(&mut self, now: Instant) -> Option<u64> {
        self.unlogged += 1;
        let due = self
            .logged_at
            .is_none_or(|at| now.duration_since(at) >= LOG_EVERY);
        if !due {
            return None;
        }
        self.logged_at = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

/// A TCP listener that counts open connections against a limit.
#[derive(Debug)]
pub struct LimitedListener {
    inner: TcpListener,
    /// One permit per connection allowed; held by [`Counted`].
    permits: Arc<Semaphore>,
    /// The configured limit, for the log.
    limit: usize,
    refusals: RefusalLog,
}

impl LimitedListener {
    pub fn new(inner: TcpListener, limit: usize) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            refusals: RefusalLog::default(),
        }
    }
}

impl Listener for LimitedListener {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        let (io, addr) = Listener::accept(&mut self.inner).await;
        // Signaling messages are small and latency-bound: no Nagle delays
        // (with delayed ACKs they cost ~40 ms per relayed message).
        if let Err(e) = io.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let permit = Arc::clone(&self.permits).try_acquire_owned().ok();
        if permit.is_none() {
            if let Some(refused) = self.refusals.refused(Instant::now()) {
                tracing::warn!(
                    refused,
                    limit = self.limit,
                    "connection limit reached; refusing new connections with 503 (max_connections)"
                );
            }
        }
        (Counted { io, permit }, addr)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// An accepted connection; it counts against the limit while open if it
/// was admitted (it holds a permit).
#[derive(Debug)]
pub struct Counted {
    io: TcpStream,
    /// `None`: accepted beyond the limit, to be refused.
    permit: Option<OwnedSemaphorePermit>,
}

/// A connection that knows whether it is within the limit: a plain
/// [`Counted`] one, or one with TLS on top (`crate::tls::listener`).
pub trait Admitted {
    /// Whether the connection is within the limit.
    fn admitted(&self) -> bool;
}

impl Admitted for Counted {
    fn admitted(&self) -> bool {
        self.permit.is_some()
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Makes the service for each accepted connection: the application for
/// one within the limit, the refusal for one beyond it. Both see the
/// peer's address as `ConnectInfo<SocketAddr>`.
#[derive(Debug, Clone)]
pub struct Admission {
    app: Router,
    refuse: Router,
}

impl Admission {
    pub fn new(app: Router) -> Self {
        Self {
            app,
            refuse: Router::new().fallback(refuse),
        }
    }
}

/// Every request on a connection beyond the limit: 503, and close.
async fn refuse() -> Response {
    let mut response = Error::Unavailable(REFUSAL).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

impl<'a, L> Service<IncomingStream<'a, L>> for Admission
where
    L: Listener<Addr = SocketAddr>,
    L::Io: Admitted,
{
    type Response = WithPeer;
    type Error = Infallible;
    type Future = Ready<Result<WithPeer, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, incoming: IncomingStream<'a, L>) -> Self::Future {
        let router = if incoming.io().admitted() {
            self.app.clone()
        } else {
            self.refuse.clone()
        };
        std::future::ready(Ok(WithPeer {
            router,
            peer: *incoming.remote_addr(),
        }))
    }
}

/// One connection's service: the router, with the peer's address added
/// to every request.
#[derive(Debug, Clone)]
pub struct WithPeer {
    router: Router,
    peer: SocketAddr,
}

impl Service<Request> for WithPeer {
    type Response = Response;
    type Error = Infallible;
    type Future = <Router as Service<Request>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        self.router.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_logged_at_once_then_at_most_every_ten_seconds() {
        let mut log = RefusalLog::default();
        let t0 = Instant::now();
        assert_eq!(log.refused(t0), Some(1), "the first is logged at once");
        for s in 1..10 {
            assert_eq!(log.refused(t0 + Duration::from_secs(s)), None);
        }
        assert_eq!(
            log.refused(t0 + LOG_EVERY),
            Some(10),
            "then one line counts all since"
        );
        assert_eq!(log.refused(t0 + LOG_EVERY + Duration::from_secs(1)), None);
    }

    #[tokio::test]
    async fn handlers_see_the_peer_address_and_refusals_say_why() {
        use axum::body::Body;
        use axum::routing::get;
        use tower::ServiceExt;
        let peer: SocketAddr = "192.0.2.7:4567".parse().expect("addr");
        let app = Router::new().route(
            "/",
            get(|ConnectInfo(a): ConnectInfo<SocketAddr>| async move { a.to_string() }),
        );
        let admitted = WithPeer { router: app, peer };
        let request = || {
            Request::builder()
                .uri("/")
                .body(Body::empty())
                .expect("request")
        };
        let resp = admitted.oneshot(request()).await.expect("infallible");
        let body = axum::body::to_bytes(resp.into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(&body[..], b"192.0.2.7:4567");

        let refused = WithPeer {
            router: Admission::new(Router::new()).refuse,
            peer,
        };
        let resp = refused.oneshot(request()).await.expect("infallible");
        assert_eq!(resp.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::CONNECTION], "close");
        let body = axum::body::to_bytes(resp.into_body(), 1024)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(json["error"], REFUSAL);
    }

    #[tokio::test]
    async fn connections_beyond_the_limit_are_told_so_and_later_ones_admitted() {
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = tcp.local_addr().expect("addr");
        let mut listener = LimitedListener::new(tcp, 2);
        let mut accepted = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..3 {
            clients.push(TcpStream::connect(addr).await.expect("connect"));
            accepted.push(listener.accept().await.0);
        }
        let admitted: Vec<bool> = accepted.iter().map(Counted::admitted).collect();
        assert_eq!(admitted, [true, true, false]);
        // A connection closing frees its place.
        drop(accepted.remove(0));
        clients.push(TcpStream::connect(addr).await.expect("connect"));
        assert!(listener.accept().await.0.admitted());
    }
}
