//! [`TlsListener`]: the connection-limited TCP listener with a TLS
//! handshake on every connection. Handshakes run side by side inside the
//! listener (no task each), so one slow or silent client holds up no
//! other; one that has not finished within [`HANDSHAKE_TIMEOUT`] is
//! dropped. A failed handshake (a client that does not trust this
//! certificate, a port scan) is logged at debug level only: it is the
//! client's problem, and clients retry.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::limit::{Admitted, Counted, LimitedListener};

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A handshake under way: the connection, or `None` if it failed.
type Handshake = Pin<Box<dyn Future<Output = Option<(TlsStream<Counted>, SocketAddr)>> + Send>>;

/// Accepts TCP connections and hands on those whose TLS handshake
/// succeeded.
pub struct TlsListener {
    inner: LimitedListener,
    acceptor: TlsAcceptor,
    /// Handshakes in progress, polled by `accept`.
    handshakes: FuturesUnordered<Handshake>,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("inner", &self.inner)
            .field("handshakes", &self.handshakes.len())
            .finish()
    }
}

impl TlsListener {
    pub fn new(inner: LimitedListener, config: Arc<rustls::ServerConfig>) -> Self {
        Self {
            inner,
            acceptor: TlsAcceptor::from(config),
            handshakes: FuturesUnordered::new(),
        }
    }

    fn start(&self, io: Counted, addr: SocketAddr) -> Handshake {
        let handshake = self.acceptor.accept(io);
        Box::pin(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                Ok(Ok(tls)) => Some((tls, addr)),
                Ok(Err(error)) => {
                    tracing::debug!(peer = %addr, %error, "TLS handshake failed");
                    None
                }
                Err(_) => {
                    tracing::debug!(peer = %addr, "TLS handshake timed out");
                    None
                }
            }
        })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<Counted>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        loop {
            tokio::select! {
                // Both are cancel safe: a TCP accept, or a handshake that
                // stays in the set.
                (io, addr) = self.inner.accept() => {
                    let handshake = self.start(io, addr);
                    self.handshakes.push(handshake);
                }
                Some(done) = self.handshakes.next(), if !self.handshakes.is_empty() => {
                    if let Some(connection) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Admitted for TlsStream<Counted> {
    fn admitted(&self) -> bool {
        self.get_ref().0.admitted()
    }
}
