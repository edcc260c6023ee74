//! Session brokering: create sessions for viewers with the right, hand the
//! host its grant, relay SDP and ICE only between a session's two parties,
//! and end sessions (recording who and how long in the feed).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use meshdesk_protocol::rest::EventKind;
use meshdesk_protocol::signal::{
    EndReason, ErrorCode, ErrorMsg, IceMsg, SdpMsg, ServerToHost, ServerToViewer, SessionEndMsg,
    MAX_END_DETAIL_CHARS,
};

use crate::auth::secret::Secret;
use crate::clock::{now_ms, random_id};
use crate::feed;
use crate::hub::{RouteError, Selector, Session, ToViewer};
use crate::state::AppState;
use crate::store::{NewEvent, User};

/// Build an error reply.
pub fn error(code: ErrorCode, message: impl Into<String>, session_id: Option<&str>) -> ErrorMsg {
    ErrorMsg {
        code,
        message: message.into(),
        session_id: session_id.map(str::to_string),
        request_id: None,
    }
}

/// The error reply for a refused session message.
pub fn route_error(e: RouteError, session_id: &str) -> ErrorMsg {
    match e {
        RouteError::NotFound => error(ErrorCode::NotFound, "no such session", Some(session_id)),
        RouteError::TooMany => error(
            ErrorCode::Forbidden,
            "too many sessions on this connection",
            None,
        ),
        RouteError::AlreadyAccepted => error(
            ErrorCode::Invalid,
            "session already accepted",
            Some(session_id),
        ),
        RouteError::Attached(_) => error(
            ErrorCode::Forbidden,
            "the session is attached to another connection",
            Some(session_id),
        ),
    }
}

/// What a viewer asks for besides the device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// The screen to show first (the primary when absent).
    pub screen: Option<String>,
    /// Only the device's files: no screen, no video, no sound.
    pub files_only: bool,
}

/// A viewer asks for a session on a device.
pub async fn request(
    st: &AppState,
    viewer_conn: u64,
    user: &User,
    device_id: &str,
    wanted: Wanted,
) -> Result<ServerToViewer, ErrorMsg> {
    let Wanted { screen, files_only } = wanted;
    if let Some(id) = &screen {
        if let Err(e) = meshdesk_protocol::signal::check_screen_id(id) {
            return Err(error(ErrorCode::Invalid, e.to_string(), None));
        }
    }
    let internal = |e: crate::error::Error| {
        tracing::error!(error = %e, "session request failed");
        error(ErrorCode::Internal, "internal error", None)
    };
    let Some(permission) = st
        .store
        .permission(user.id, device_id)
        .await
        .map_err(internal)?
    else {
        return Err(error(ErrorCode::NotFound, "no such device", None));
    };
    let device = st
        .store
        .device(device_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| error(ErrorCode::NotFound, "no such device", None))?;
    if !st.device_online(device_id) {
        return Err(error(ErrorCode::Offline, "the device is offline", None));
    }
    let session = Session {
        id: random_id("ses_", 16),
        device_id: device.id.clone(),
        device_name: device.name.clone(),
        owner_id: device.owner_id,
        viewer_conn,
        viewer_user_id: user.id,
        viewer_username: user.username.clone(),
        permission,
        created_at: now_ms(),
        accepted_at: None,
        resume_secret: Secret::generate("rs_"),
        consent_asked_at: None,
    };
    let sid = session.id.clone();
    let resume_secret = session.resume_secret.expose().to_string();
    // One set of credentials per session, for both parties: the relay
    // counts the session's allocations against one quota.
    let ice_servers = st.ice.issue(&sid, crate::ice::unix_now());
    st.hub
        .with_sessions(|t| t.insert(session))
        .map_err(|e| route_error(e, &sid))?;
    let grant = ServerToHost::SessionGrant {
        session_id: sid.clone(),
        user: user.username.clone(),
        permission,
        ice_servers: ice_servers.clone(),
        consent: device.consent_for(permission),
        display_name: Some(user.username.clone()),
        screen,
        sound: device.sound,
        files_only,
        view_may_copy: device.view_may_copy,
    };
    if !to_host(st, device_id, grant) {
        st.hub.with_sessions(|t| t.remove(&sid));
        return Err(error(ErrorCode::Offline, "the device is offline", None));
    }
    tracing::info!(session = %sid, device = %device_id, user = %user.username, ?permission, files_only, "session requested");
    Ok(ServerToViewer::SessionCreated {
        session_id: sid,
        device_id: device_id.to_string(),
        permission,
        ice_servers,
        request_id: None,
        resume_secret: Some(resume_secret),
        resume_grace_secs: Some(st.config.session_resume_grace.as_secs()),
        device_name: Some(device.name),
        device_public_key: Some(STANDARD.encode(&device.public_key)),
    })
}

/// The host accepts a session granted to it.
pub async fn accept(st: &AppState, device_id: &str, session_id: &str) -> Result<(), ErrorMsg> {
    let now = now_ms();
    let s = st
        .hub
        .with_sessions(|t| t.accept(session_id, device_id, now))
        .map_err(|e| route_error(e, session_id))?;
    st.metrics.session_started(s.permission, now - s.created_at);
    st.hub.send_to_viewer(
        s.viewer_conn,
        ServerToViewer::SessionAccepted {
            session_id: session_id.to_string(),
        },
    );
    feed::record(st, EventKind::SessionStarted, session_event(&s)).await;
    Ok(())
}

/// The feed fields every session event carries: whose device, which
/// viewer, with what right.
pub(crate) fn session_event(s: &Session) -> NewEvent {
    NewEvent {
        user_id: Some(s.owner_id),
        actor: Some(s.viewer_username.clone()),
        device_id: Some(s.device_id.clone()),
        device_name: Some(s.device_name.clone()),
        target_id: Some(s.viewer_user_id),
        permission: Some(s.permission),
        session_id: Some(s.id.clone()),
        ..Default::default()
    }
}

/// Which side(s) of a session to tell that it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    Host,
    Viewer,
    Both,
}

/// Remove a session on behalf of one party and tell the other, with the
/// party's `detail` (its words, made fit to show) if it gave any.
pub async fn end_by(
    st: &AppState,
    session_id: &str,
    from_host: Option<&str>,
    from_viewer: Option<u64>,
    reason: EndReason,
    detail: Option<&str>,
) -> Result<(), ErrorMsg> {
    let removed = st.hub.with_sessions(|t| {
        let ok = match (from_host, from_viewer) {
            (Some(d), _) => t.for_host(session_id, d).is_ok(),
            (None, Some(c)) => t.for_viewer(session_id, c).is_ok(),
            (None, None) => false,
        };
        if ok {
            t.remove(session_id)
        } else {
            None
        }
    });
    let s = removed.ok_or_else(|| route_error(RouteError::NotFound, session_id))?;
    let notify = if from_host.is_some() {
        Notify::Viewer
    } else {
        Notify::Host
    };
    let detail = detail.and_then(for_a_person);
    finish(
        st,
        &s,
        claimable(reason, from_host.is_some()),
        detail,
        notify,
    )
    .await;
    Ok(())
}

/// A party's free text made fit to show: control characters dropped,
/// trimmed, at most [`MAX_END_DETAIL_CHARS`] characters; `None` if empty.
fn for_a_person(text: &str) -> Option<String> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_END_DETAIL_CHARS)
        .collect();
    let clean = clean.trim();
    (!clean.is_empty()).then(|| clean.to_string())
}

/// A party may only claim the end reasons that are theirs to give; the
/// server's own reasons (revoked, removed, ...) are replaced by the party's
/// plain "closed" so the feed cannot be misled.
fn claimable(reason: EndReason, by_host: bool) -> EndReason {
    match (reason, by_host) {
        (EndReason::ConnectionFailed, _) => EndReason::ConnectionFailed,
        (EndReason::Rejected, true) => EndReason::Rejected,
        (EndReason::Declined, true) => EndReason::Declined,
        (EndReason::RemoteUserEnded, true) => EndReason::RemoteUserEnded,
        (_, true) => EndReason::HostClosed,
        (_, false) => EndReason::ViewerClosed,
    }
}

/// End this viewer connection's sessions that the host has not accepted
/// since before `created_before` (the host never answered the grant).
pub async fn expire_pending(st: &AppState, viewer_conn: u64, created_before: i64) {
    // A host asking its user for consent answers within its prompt
    // timeout (at most crate::consent::MAX_WAIT_MS); until then the
    // session waits.
    let asked_before = created_before - crate::consent::MAX_WAIT_MS;
    end_where(st, EndReason::ConnectionFailed, |s| {
        s.viewer_conn == viewer_conn
            && s.accepted_at.is_none()
            && s.created_at < created_before
            && s.consent_asked_at.is_none_or(|at| at < asked_before)
    })
    .await;
}

/// Queue a message for a device's host, on this node or, in a cluster,
/// on the node that holds its connection; false if it is held nowhere (or
/// its queue is full).
pub fn to_host(st: &AppState, device_id: &str, msg: ServerToHost) -> bool {
    if st.hub.is_online(device_id) {
        st.hub.send_to_host(device_id, msg)
    } else {
        st.cluster.to_host(device_id, msg)
    }
}

/// End the sessions `select` picks, here and on every other node of the
/// cluster (revoked shares, removed devices: they end everywhere at once).
pub async fn end_everywhere(st: &AppState, reason: EndReason, select: Selector) {
    st.cluster.end_sessions(&select, reason);
    end_where(st, reason, |s| select.matches(s)).await;
}

/// End every session matching `pred`, telling both sides.
pub async fn end_where(st: &AppState, reason: EndReason, pred: impl Fn(&Session) -> bool) {
    let ended = st.hub.with_sessions(|t| t.remove_where(pred));
    for s in ended {
        finish(st, &s, reason, None, Notify::Both).await;
    }
}

/// Tell the parties a removed session ended and record it in the feed.
pub async fn finish(
    st: &AppState,
    s: &Session,
    reason: EndReason,
    detail: Option<String>,
    notify: Notify,
) {
    let msg = SessionEndMsg {
        session_id: s.id.clone(),
        reason,
        detail,
    };
    if matches!(notify, Notify::Host | Notify::Both) {
        to_host(st, &s.device_id, ServerToHost::SessionEnd(msg.clone()));
    }
    if matches!(notify, Notify::Viewer | Notify::Both) {
        st.hub
            .send_to_viewer(s.viewer_conn, ServerToViewer::SessionEnd(msg));
    }
    tracing::info!(session = %s.id, ?reason, "session ended");
    let now = now_ms();
    st.hub.with_sessions(|t| t.note_ended(s, now));
    let Some(started) = s.accepted_at else { return };
    feed::record(
        st,
        EventKind::SessionEnded,
        NewEvent {
            duration_ms: Some((now - started).max(0)),
            detail: Some(reason_text(reason).to_string()),
            ..session_event(s)
        },
    )
    .await;
}

fn reason_text(r: EndReason) -> &'static str {
    match r {
        EndReason::ViewerClosed => "closed by the viewer",
        EndReason::HostClosed => "closed by the host",
        EndReason::Rejected => "refused by the host",
        EndReason::ConnectionFailed => "connection failed",
        EndReason::PeerGone => "the other side disconnected",
        EndReason::Revoked => "access revoked",
        EndReason::ShareExpired => "share expired",
        EndReason::DeviceRemoved => "device removed",
        EndReason::ServerShutdown => "server shut down",
        EndReason::Declined => "declined by the remote user",
        EndReason::RemoteUserEnded => "ended by the remote user",
    }
}

/// An SDP or ICE message in one of the two directions.
#[derive(Debug)]
pub enum Relay {
    Offer(SdpMsg),
    Answer(SdpMsg),
    Ice(IceMsg),
}

impl Relay {
    fn session_id(&self) -> &str {
        match self {
            Relay::Offer(m) | Relay::Answer(m) => &m.session_id,
            Relay::Ice(m) => &m.session_id,
        }
    }
}

/// Forward a host's SDP/ICE to its session's viewer, or hold it while the
/// session is detached (its viewer connection was lost; see
/// [`crate::resume`]).
pub fn from_host(st: &AppState, device_id: &str, msg: Relay) -> Result<(), ErrorMsg> {
    let sid = msg.session_id().to_string();
    let out = match msg {
        Relay::Offer(m) => ServerToViewer::Offer(m),
        Relay::Answer(m) => ServerToViewer::Answer(m),
        Relay::Ice(m) => ServerToViewer::Ice(m),
    };
    let routed = st
        .hub
        .with_sessions(|t| t.to_viewer(&sid, device_id, out))
        .map_err(|e| route_error(e, &sid))?;
    let (conn, out) = match routed {
        ToViewer::Send(conn, out) => (conn, *out),
        ToViewer::Held => {
            tracing::debug!(session = %sid, "held for the detached viewer");
            return Ok(());
        }
        ToViewer::Dropped => {
            tracing::info!(session = %sid, "dropped: the detached viewer's hold is full");
            return Ok(());
        }
    };
    if !st.hub.send_to_viewer(conn, out) {
        return Err(error(
            ErrorCode::Offline,
            "the viewer is not reachable",
            Some(&sid),
        ));
    }
    Ok(())
}

/// A viewer asks its session's host to restart ICE (its network changed).
/// Only the party of the session may ask, like any relayed message.
pub fn restart_ice_from_viewer(st: &AppState, viewer_conn: u64, sid: &str) -> Result<(), ErrorMsg> {
    let device = st
        .hub
        .with_sessions(|t| t.for_viewer(sid, viewer_conn).map(|s| s.device_id.clone()))
        .map_err(|e| route_error(e, sid))?;
    let out = ServerToHost::RestartIce {
        session_id: sid.to_string(),
    };
    if !to_host(st, &device, out) {
        return Err(error(
            ErrorCode::Offline,
            "the device is offline",
            Some(sid),
        ));
    }
    tracing::info!(session = %sid, "viewer asked for an ICE restart");
    Ok(())
}

/// Forward a viewer's SDP/ICE to its session's host.
pub fn from_viewer(st: &AppState, viewer_conn: u64, msg: Relay) -> Result<(), ErrorMsg> {
    let sid = msg.session_id().to_string();
    let device = st
        .hub
        .with_sessions(|t| t.for_viewer(&sid, viewer_conn).map(|s| s.device_id.clone()))
        .map_err(|e| route_error(e, &sid))?;
    let out = match msg {
        Relay::Offer(m) => ServerToHost::Offer(m),
        Relay::Answer(m) => ServerToHost::Answer(m),
        Relay::Ice(m) => ServerToHost::Ice(m),
    };
    if !to_host(st, &device, out) {
        return Err(error(
            ErrorCode::Offline,
            "the device is offline",
            Some(&sid),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partys_words_are_made_fit_to_show() {
        assert_eq!(
            for_a_person(" busy\r\n\u{1b}[31m "),
            Some("busy[31m".into())
        );
        assert_eq!(for_a_person(" \n\t "), None);
        let long = "é".repeat(MAX_END_DETAIL_CHARS + 50);
        assert_eq!(
            for_a_person(&long).map(|s| s.chars().count()),
            Some(MAX_END_DETAIL_CHARS)
        );
    }
}
