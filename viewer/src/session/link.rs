//! The signaling link of a running session. It forwards messages both ways
//! and, when the WebSocket fails (a network change, a proxy reset), gets
//! it back with [`resume::reconnect`] while the session and its media carry
//! on. What the session sends meanwhile waits in a short backlog and goes
//! out after the resume.
//!
//! A connection can also die without failing (half-open after a network
//! change): [`Link::check`] asks the server for a `pong`, and a connection
//! that shows no life within [`CHECK_TIMEOUT`] is replaced.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use meshdesk_peer::{PeerError, SignalReceiver, SignalSender};
use meshdesk_protocol::signal::{ServerToViewer, ViewerToServer};
use meshdesk_tasks::sleep_or_never;
use tokio::time::Instant;

use crate::session::handshake::SignalTarget;
use crate::session::resume::{self, ResumeKey, Resumed};
use crate::ViewerError;

/// How long a checked connection has to show life.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// Messages kept while reconnecting; later ones are dropped (the host
/// restarts ICE if the session needs them).
const BACKLOG_LIMIT: usize = 64;

/// What the link hands the session.
#[derive(Debug)]
pub enum LinkEvent {
    /// A message from the server.
    Message(ServerToViewer),
    /// The connection failed and the session was resumed on a new one.
    Resumed,
    /// The connection failed and the session could not be resumed.
    Failed(ViewerError),
}

/// A reconnect in progress.
type Resuming = Pin<Box<dyn Future<Output = Result<Resumed, ViewerError>> + Send>>;

enum State {
    Up {
        tx: SignalSender<ViewerToServer>,
        rx: SignalReceiver<ServerToViewer>,
    },
    /// Kept across calls so [`Link::recv`] stays cancel-safe.
    Resuming(Resuming),
    /// Resuming failed; nothing more comes.
    Gone,
}

/// The session's signaling connection, replaced when it fails.
pub struct Link {
    /// The session to resume.
    key: ResumeKey,
    /// Where to connect again.
    target: SignalTarget,
    state: State,
    /// Messages from the session while reconnecting, oldest first.
    backlog: VecDeque<ViewerToServer>,
    /// After [`Link::check`]: the connection must show life by then.
    alive_by: Option<Instant>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("session_id", &self.key.session_id)
            .field("up", &self.is_up())
            .field("backlog", &self.backlog.len())
            .finish_non_exhaustive()
    }
}

impl Link {
    pub fn new(
        key: ResumeKey,
        target: SignalTarget,
        tx: SignalSender<ViewerToServer>,
        rx: SignalReceiver<ServerToViewer>,
    ) -> Self {
        Self {
            key,
            target,
            state: State::Up { tx, rx },
            backlog: VecDeque::new(),
            alive_by: None,
        }
    }

    /// Whether a connection carries the session now.
    pub fn is_up(&self) -> bool {
        matches!(self.state, State::Up { .. })
    }

    /// Send a message now, or after the resume while reconnecting.
    pub async fn send(&mut self, msg: ViewerToServer) {
        self.flush().await;
        let failed = match &self.state {
            State::Up { tx, .. } => tx.send(msg.clone()).await.is_err(),
            State::Resuming(_) => true,
            State::Gone => return,
        };
        if failed {
            if self.is_up() {
                self.lose("the connection closed");
            }
            self.keep(msg);
        }
    }

    /// Replace a connection known to be dead (this machine lost an
    /// address) without waiting for it to fail.
    pub fn replace(&mut self, why: &str) {
        if self.is_up() {
            self.lose(why);
        }
    }

    /// Make the connection prove it is alive: the media path broke, and
    /// maybe our network changed under it.
    pub async fn check(&mut self) {
        let State::Up { tx, .. } = &self.state else {
            return;
        };
        if self.alive_by.is_some() {
            return;
        }
        if tx.send(ViewerToServer::Ping).await.is_err() {
            self.lose("the connection closed");
        } else {
            self.alive_by = Some(Instant::now() + CHECK_TIMEOUT);
        }
    }

    /// The next event. Cancel-safe: a reconnect in progress goes on at the
    /// next call.
    pub async fn recv(&mut self) -> LinkEvent {
        loop {
            let alive_by = self.alive_by;
            match &mut self.state {
                State::Up { rx, .. } => {
                    let got = tokio::select! {
                        m = rx.recv() => Some(m),
                        _ = sleep_or_never(alive_by) => None,
                    };
                    match got {
                        Some(Some(Ok(msg))) => {
                            // Anything at all proves the connection alive.
                            self.alive_by = None;
                            if msg != ServerToViewer::Pong {
                                return LinkEvent::Message(msg);
                            }
                        }
                        Some(Some(Err(PeerError::Decode(e)))) => {
                            tracing::debug!(error = %e, "undecodable message");
                        }
                        Some(Some(Err(e))) => self.lose(&e.to_string()),
                        Some(None) => self.lose("the server closed the connection"),
                        None => self.lose("no answer from the server"),
                    }
                }
                State::Resuming(reconnect) => match reconnect.as_mut().await {
                    Ok(Resumed { tx, rx, target }) => {
                        tracing::info!(
                            server = target.servers.current(),
                            "signaling connection back; session resumed"
                        );
                        // The next loss starts where the session is now.
                        self.target = target;
                        self.state = State::Up { tx, rx };
                        self.flush().await;
                        return LinkEvent::Resumed;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "session not resumed");
                        self.state = State::Gone;
                        return LinkEvent::Failed(e);
                    }
                },
                State::Gone => std::future::pending::<()>().await,
            }
        }
    }

    /// Close the connection (nothing to do while reconnecting).
    pub async fn close(self) {
        if let State::Up { tx, .. } = self.state {
            tx.close().await;
        }
    }

    /// The connection failed: start getting it back.
    fn lose(&mut self, why: &str) {
        tracing::warn!(
            why,
            "signaling connection lost; reconnecting to resume the session"
        );
        self.alive_by = None;
        let reconnect = resume::reconnect(self.target.clone(), self.key.clone());
        self.state = State::Resuming(Box::pin(reconnect));
    }

    fn keep(&mut self, msg: ViewerToServer) {
        if self.backlog.len() < BACKLOG_LIMIT {
            self.backlog.push_back(msg);
        } else {
            tracing::debug!("backlog full; message dropped");
        }
    }

    /// Send what waited while reconnecting, in order. A message leaves the
    /// backlog only once sent, so a cancelled flush loses nothing.
    async fn flush(&mut self) {
        while let Some(msg) = self.backlog.front().cloned() {
            let State::Up { tx, .. } = &self.state else {
                return;
            };
            if tx.send(msg).await.is_err() {
                self.lose("the connection closed");
                return;
            }
            self.backlog.pop_front();
        }
    }
}
