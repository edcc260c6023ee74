//! The session driver: one task that owns the WebRTC peer and the signaling
//! link once the offer is answered. It trickles candidates both ways,
//! sends input and keyframe requests, samples stats every second, notices
//! the end of the session, and on close releases every key and button,
//! tells the server, and closes the connection. A failed signaling
//! connection is replaced and the session resumed by the [`Link`], while
//! the peer connection carries on.

use std::time::{Duration, Instant};

use meshdesk_peer::netwatch;
use meshdesk_peer::{CandidatePairType, PeerStats, ViewerEvent};
use meshdesk_protocol::encode;
use meshdesk_protocol::input::{ControlMsg, InputMsg};
use meshdesk_protocol::signal::{
    EndReason, IceMsg, SdpMsg, ServerToViewer, SessionEndMsg, ViewerToServer,
};
use meshdesk_tasks::sleep_or_never;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::handshake::Established;
use crate::link::{Link, LinkEvent};
use crate::resume::ResumeKey;
use crate::ViewerError;

/// How long ICE and DTLS may take once the answer is sent.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Input messages kept while the data channels are not open yet.
const EARLY_INPUT_LIMIT: usize = 256;
/// How often stats are sampled for the window title.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// What the window or the headless loop asks of the session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionCommand {
    /// Send an input message (held until the channels are open).
    Input(InputMsg),
    /// Ask the host for a keyframe.
    RequestKeyframe,
    /// The first picture was decoded (stops the first-picture watchdog).
    FirstPicture,
    /// End the session.
    Close,
}

/// How long after connecting a session waits for its first picture before
/// asking for a keyframe (again every this long). The host sends one at
/// once, but packets that beat the receiving track's setup are dropped.
const FIRST_PICTURE_WAIT: Duration = Duration::from_millis(700);

/// What the session reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// ICE and DTLS are up.
    Connected(CandidatePairType),
    /// The input and control channels are open.
    ChannelsReady,
    /// Counters, once a second.
    Stats(PeerStats),
}

/// How a session ended.
#[derive(Debug)]
pub struct Outcome {
    /// Counters at the end.
    pub stats: PeerStats,
    /// When ICE connected, if it did.
    pub connected_at: Option<Instant>,
    /// `Ok` when we closed it; the reason otherwise.
    pub result: Result<(), ViewerError>,
}

/// Why the loop stopped.
enum Stop {
    /// We asked to close.
    Closed,
    /// The other side or the server ended it (no `session_end` to send).
    EndedRemotely(ViewerError),
    /// Connectivity failed (send `session_end` with `connection_failed`).
    Failed(ViewerError),
}

/// Run the session until `Close` or its end. `video` of the streams must
/// have been taken by the decoder already (it is ignored here).
pub async fn drive(
    session: Established,
    commands: mpsc::UnboundedReceiver<SessionCommand>,
    notify: impl FnMut(Notice) + Send,
) -> Outcome {
    let span = tracing::info_span!("session", session = %session.session_id);
    drive_inner(session, commands, notify)
        .instrument(span)
        .await
}

async fn drive_inner(
    session: Established,
    mut commands: mpsc::UnboundedReceiver<SessionCommand>,
    mut notify: impl FnMut(Notice) + Send,
) -> Outcome {
    let Established {
        peer,
        mut streams,
        session_id,
        resume_secret,
        resume_grace_secs,
        permission,
        signal_tx,
        signal_rx,
        target,
    } = session;
    let key = ResumeKey::new(session_id.clone(), resume_secret, resume_grace_secs);
    let mut link = Link::new(key, target, signal_tx, signal_rx);
    let mut watch = netwatch::open_or_warn();
    let may_send_input = permission.may_control();
    let connect_deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    let mut stats_tick = tokio::time::interval(STATS_EVERY);
    let mut connected_at = None;
    let mut channels_ready = false;
    let mut candidates_open = true;
    let mut early_input = Vec::new();
    let mut first_picture_due: Option<tokio::time::Instant> = None;
    let mut pictured = false;

    let stop = loop {
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(SessionCommand::Input(msg)) if channels_ready && may_send_input => {
                    send_input(&peer, &msg).await;
                }
                Some(SessionCommand::Input(msg)) if may_send_input => {
                    // Input before the channels open waits for them.
                    if early_input.len() < EARLY_INPUT_LIMIT {
                        early_input.push(msg);
                    }
                }
                Some(SessionCommand::Input(_)) => {}
                Some(SessionCommand::RequestKeyframe) => request_keyframe(&peer, channels_ready).await,
                Some(SessionCommand::FirstPicture) => {
                    pictured = true;
                    first_picture_due = None;
                }
                Some(SessionCommand::Close) | None => break Stop::Closed,
            },
            event = streams.events.recv() => match event {
                Some(ViewerEvent::Connected { candidate_pair_type }) => {
                    tracing::info!(candidate = %candidate_pair_type, "connected");
                    connected_at = Some(Instant::now());
                    if !pictured {
                        first_picture_due = Some(tokio::time::Instant::now() + FIRST_PICTURE_WAIT);
                    }
                    notify(Notice::Connected(candidate_pair_type));
                }
                Some(ViewerEvent::ChannelsReady) => {
                    channels_ready = true;
                    for msg in early_input.drain(..) {
                        send_input(&peer, &msg).await;
                    }
                    notify(Notice::ChannelsReady);
                }
                Some(ViewerEvent::Disconnected) => {
                    tracing::warn!("connection interrupted");
                    // Maybe our network changed: the signaling connection
                    // must prove it still works, or be replaced, so the
                    // host's ICE restart can reach us.
                    link.check().await;
                }
                Some(ViewerEvent::Failed) => {
                    break Stop::Failed(ViewerError::ConnectionFailed("the WebRTC connection was lost".into()))
                }
                Some(ViewerEvent::Closed) | None => break Stop::EndedRemotely(ViewerError::Ended(EndReason::HostClosed)),
                Some(other) => tracing::debug!(?other, "peer event"),
            },
            candidate = streams.candidates.recv(), if candidates_open => match candidate {
                Some(candidate) => {
                    link.send(ViewerToServer::Ice(IceMsg { session_id: session_id.clone(), candidate })).await;
                }
                None => candidates_open = false,
            },
            removed = netwatch::removed_or_never(&mut watch) => match removed {
                // The signaling connection on the old address is dead: get
                // a new one now, and ask the host for an ICE restart (it
                // goes out once the session is resumed), as neither side's
                // ICE will notice for seconds.
                Ok(()) => {
                    link.replace("a local address was removed");
                    link.send(ViewerToServer::RestartIce { session_id: session_id.clone() }).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "stopped watching local addresses");
                    watch = None;
                }
            },
            event = link.recv() => match event {
                LinkEvent::Message(ServerToViewer::Ice(ice)) if ice.session_id == session_id => {
                    if let Err(e) = peer.add_remote_candidate(ice.candidate).await {
                        tracing::debug!(error = %e, "remote candidate refused");
                    }
                }
                LinkEvent::Message(ServerToViewer::Offer(offer)) if offer.session_id == session_id => {
                    // The host restarted ICE (a network changed): answer
                    // it like the first offer; the session carries on.
                    match peer.accept_restart_offer(offer.sdp).await {
                        Ok(sdp) => {
                            tracing::info!("answering the host's ICE restart");
                            link.send(ViewerToServer::Answer(SdpMsg { session_id: session_id.clone(), sdp })).await;
                        }
                        Err(e) => tracing::warn!(error = %e, "new offer refused"),
                    }
                }
                LinkEvent::Message(ServerToViewer::SessionEnd(end)) if end.session_id == session_id => {
                    break Stop::EndedRemotely(ViewerError::Ended(end.reason));
                }
                LinkEvent::Message(ServerToViewer::Error(e)) if e.session_id.as_deref() == Some(&session_id) => {
                    tracing::warn!(code = ?e.code, message = %e.message, "server error for this session");
                }
                LinkEvent::Message(_) => {}
                LinkEvent::Resumed => {}
                // Media may still flow, but nobody can reach us for an ICE
                // restart or the session's end any more.
                LinkEvent::Failed(e) => break Stop::Failed(e),
            },
            _ = sleep_or_never(first_picture_due) => {
                tracing::info!("no picture yet: asking for a keyframe");
                request_keyframe(&peer, channels_ready).await;
                first_picture_due = Some(tokio::time::Instant::now() + FIRST_PICTURE_WAIT);
            }
            _ = stats_tick.tick() => notify(Notice::Stats(peer.stats().await)),
            _ = tokio::time::sleep_until(connect_deadline), if connected_at.is_none() => {
                break Stop::Failed(ViewerError::ConnectionFailed(format!(
                    "no connection to the remote PC within {} s (blocked by a firewall?)",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
    };

    // Tear down: release held input, tell the server, close the peer.
    if channels_ready && may_send_input {
        let _ = peer.send_input(&encode(&InputMsg::ReleaseAll)).await;
    }
    let (reason, result) = match stop {
        Stop::Closed => (Some(EndReason::ViewerClosed), Ok(())),
        Stop::Failed(e) => (Some(EndReason::ConnectionFailed), Err(e)),
        Stop::EndedRemotely(e) => (None, Err(e)),
    };
    if let (Some(reason), true) = (reason, link.is_up()) {
        let end = SessionEndMsg::new(session_id.clone(), reason);
        link.send(ViewerToServer::SessionEnd(end)).await;
    }
    let stats = peer.stats().await;
    if let Err(e) = peer.close().await {
        tracing::debug!(error = %e, "close");
    }
    link.close().await;
    tracing::info!("session closed");
    Outcome {
        stats,
        connected_at,
        result,
    }
}

async fn send_input(peer: &meshdesk_peer::ViewerPeer, msg: &InputMsg) {
    tracing::trace!(?msg, "input");
    if let Err(e) = peer.send_input(&encode(msg)).await {
        tracing::debug!(error = %e, "input not sent");
    }
}

/// Ask for a keyframe on the control channel (the documented way), or with
/// RTCP PLI before the channel is open.
async fn request_keyframe(peer: &meshdesk_peer::ViewerPeer, channels_ready: bool) {
    let sent = if channels_ready {
        peer.send_control(&encode(&ControlMsg::RequestKeyframe))
            .await
            .is_ok()
    } else {
        false
    };
    if !sent {
        if let Err(e) = peer.request_keyframe().await {
            tracing::debug!(error = %e, "keyframe request not sent");
        }
    }
}
