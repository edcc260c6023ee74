//! Graceful shutdown of live connections. On SIGTERM or Ctrl-C the server
//! stops accepting, tells every WebSocket to close (with code
//! [`CLOSE_CODE`] and [`CLOSE_REASON`], so hosts and viewers know to come
//! back), ends open feed streams, and waits at most [`GRACE`] for requests
//! and connections to end before it exits. A connection that sent its
//! close waits [`CLOSE_REPLY_WAIT`] for the peer's: a live client answers
//! within a round trip, and one that does not (it stopped reading) must
//! not hold up the others' restart, nor block a peer's media for long.
//!
//! [`Shutdown`] is the signal every connection watches and the owner of the
//! WebSocket tasks: axum hands each upgraded socket to a task of its own,
//! which only passes it on to one spawned here, so that every connection
//! task is counted, can be waited for, and is aborted when the server stops.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use meshdesk_tasks::TaskSet;
use tokio::sync::watch;

/// The WebSocket close code sent when the server stops: 1012, "service
/// restart" (RFC 6455's registry): the client should reconnect later.
pub const CLOSE_CODE: u16 = 1012;
/// The close frame's reason, for people reading a client's log.
pub const CLOSE_REASON: &str = "server shutting down";
/// How long requests and connections get to end after the signal before
/// the server exits anyway (a handshake in progress, a request in flight).
pub const GRACE: Duration = Duration::from_secs(5);
/// How long a connection waits for the peer's close frame after sending
/// its own. Closing the socket before it arrives could lose ours to a TCP
/// reset.
pub const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(1);

/// The shutdown signal and the owner of every WebSocket task. Cheap to
/// clone; all clones share one state.
#[derive(Debug, Clone)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `true` once shutdown began; connections wait for it.
    stopping: watch::Sender<bool>,
    /// Connection tasks still running; [`Shutdown::drained`] waits for 0.
    open: watch::Sender<usize>,
    /// The connection tasks, aborted by [`Shutdown::abort_all`] (and when
    /// the last clone is dropped).
    tasks: TaskSet,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            inner: Arc::new(Inner {
                stopping: watch::Sender::new(false),
                open: watch::Sender::new(0),
                tasks: TaskSet::new(),
            }),
        }
    }
}

/// Counts one running connection task; dropped when it ends or is aborted.
struct OpenGuard(watch::Sender<usize>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Run one connection's task, owned and counted here.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.inner.open.send_modify(|n| *n += 1);
        let guard = OpenGuard(self.inner.open.clone());
        self.inner.tasks.spawn(async move {
            let _guard = guard;
            task.await;
        });
    }

    /// Begin shutting down: every [`stopped`](Shutdown::stopped) future
    /// resolves. Idempotent.
    pub fn begin(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Whether shutdown has begun (new connections are refused).
    pub fn is_stopping(&self) -> bool {
        *self.inner.stopping.borrow()
    }

    /// Resolves once shutdown has begun.
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.stopping.subscribe();
        async move {
            // An error means every sender is gone: nothing left to serve.
            let _ = rx.wait_for(|stopping| *stopping).await;
        }
    }

    /// Connection tasks still running.
    pub fn open(&self) -> usize {
        *self.inner.open.borrow()
    }

    /// Resolves when no connection task is running.
    pub async fn drained(&self) {
        let mut rx = self.inner.open.subscribe();
        let _ = rx.wait_for(|open| *open == 0).await;
    }

    /// Abort every connection task still running.
    pub fn abort_all(&self) {
        self.inner.tasks.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_see_the_signal_and_are_waited_for() {
        let shutdown = Shutdown::new();
        for _ in 0..3 {
            let stopped = shutdown.stopped();
            shutdown.spawn(async move {
                stopped.await;
                tokio::task::yield_now().await;
            });
        }
        assert_eq!(shutdown.open(), 3);
        assert!(!shutdown.is_stopping());
        shutdown.begin();
        assert!(shutdown.is_stopping());
        tokio::time::timeout(GRACE, shutdown.drained())
            .await
            .expect("every connection went");
        assert_eq!(shutdown.open(), 0);
    }

    #[tokio::test]
    async fn a_connection_that_stays_is_aborted() {
        let shutdown = Shutdown::new();
        shutdown.spawn(std::future::pending());
        shutdown.begin();
        let waited = tokio::time::timeout(Duration::from_millis(50), shutdown.drained()).await;
        assert!(
            waited.is_err(),
            "a connection that ignores the signal stays"
        );
        shutdown.abort_all();
        tokio::time::timeout(GRACE, shutdown.drained())
            .await
            .expect("the aborted task no longer counts");
    }

    #[tokio::test]
    async fn a_late_watcher_sees_that_shutdown_began() {
        let shutdown = Shutdown::new();
        shutdown.begin();
        tokio::time::timeout(GRACE, shutdown.stopped())
            .await
            .expect("resolves at once");
    }
}
