//! Session resume: a viewer whose WebSocket dropped (a network change, a
//! proxy reset) keeps its accepted sessions for a grace period
//! (`session_resume_grace_secs`) and takes them back from a new connection
//! with `session_resume`. The host is told nothing unless the grace period
//! runs out; its messages meanwhile are held ([`crate::hub::detached`]).
//!
//! The rules live in the pure session table ([`crate::hub::Sessions`]);
//! this module is the driver: it reads the clock, logs, replies, and runs
//! the one sweep that ends sessions whose time is up.

use std::time::Duration;

use meshdesk_protocol::signal::{EndReason, ErrorMsg, ServerToViewer};

use crate::broker::{self, Notify};
use crate::clock::now_ms;
use crate::hub::RouteError;
use crate::state::AppState;
use crate::store::User;

/// Whether a closed viewer connection's sessions may be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The socket failed or ended without a close frame (a network change,
    /// a proxy reset): keep accepted sessions for a resume.
    Lost,
    /// The viewer sent a close frame (its page was closed, reloaded or
    /// left, or the native viewer quit): end every session now, as closed
    /// by the viewer, so that the host frees it at once.
    Left,
    /// The user signed out (or the server dropped the connection): end
    /// every session now.
    SignedOut,
}

/// A viewer connection is gone: detach its accepted sessions (or end them
/// all, per `closed` and the configuration) and end the others, telling
/// their hosts.
pub async fn viewer_closed(st: &AppState, conn: u64, closed: Closed) {
    let (grace, reason) = match closed {
        Closed::Lost => (st.config.session_resume_grace, EndReason::PeerGone),
        Closed::Left => (Duration::ZERO, EndReason::ViewerClosed),
        Closed::SignedOut => (Duration::ZERO, EndReason::PeerGone),
    };
    let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    let closing = st.hub.unregister_viewer(conn, now_ms(), grace_ms);
    for id in &closing.detached {
        tracing::info!(session = %id, grace_secs = grace.as_secs(), "session detached; waiting for a resume");
    }
    for s in closing.ended {
        broker::finish(st, &s, reason, None, Notify::Host).await;
    }
}

/// `session_resume` from viewer connection `conn` of `user`: the reply,
/// or `None` when another node of the cluster may broker the session and
/// the reply follows from there ([`crate::cluster::relay::claim`]).
pub fn resume(
    st: &AppState,
    conn: u64,
    user: &User,
    session_id: &str,
    secret: Option<&str>,
) -> Result<Option<ServerToViewer>, ErrorMsg> {
    match st.hub.resume(session_id, conn, user.id, now_ms(), secret) {
        Ok(s) => {
            tracing::info!(session = %s.id, device = %s.device_id, "session resumed");
            Ok(Some(ServerToViewer::SessionResumed {
                session_id: s.id,
                device_id: s.device_id,
                permission: s.permission,
            }))
        }
        Err(RouteError::NotFound) if st.cluster.is_clustered() => {
            crate::cluster::relay::claim(st, conn, user, session_id, secret);
            Ok(None)
        }
        Err(e) => {
            let why = match e {
                RouteError::Attached(_) => "attached to another live connection (probing it)",
                RouteError::TooMany => "too many sessions on this connection",
                _ => "unknown, not this user's, or over",
            };
            tracing::warn!(session = %session_id, why, "session resume refused");
            Err(refusal(e, session_id))
        }
    }
}

/// The error a refused resume answers, here or from the node that
/// brokers the session: every refusal names the session, so the viewer
/// can tell it answers its resume.
pub fn refusal(e: RouteError, session_id: &str) -> ErrorMsg {
    ErrorMsg {
        session_id: Some(session_id.to_string()),
        ..broker::route_error(e, session_id)
    }
}

/// End detached sessions whose grace period is over, as they fall due.
/// Runs for as long as the server serves (see [`crate::run`]).
pub async fn sweep(st: AppState) {
    loop {
        let wait = st
            .hub
            .next_detached_expiry()
            .map(|at| Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0)));
        tokio::select! {
            _ = sleep_or_never(wait) => {}
            _ = st.hub.detached_changed() => continue,
        }
        for s in st.hub.expire_detached(now_ms()) {
            tracing::info!(session = %s.id, device = %s.device_id, "session not resumed in time");
            broker::finish(&st, &s, EndReason::PeerGone, None, Notify::Host).await;
        }
    }
}

async fn sleep_or_never(wait: Option<Duration>) {
    match wait {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
