//! One remote session on this host: a WebRTC peer fed by the shared media
//! pipeline, and an input session that enforces the grant. The task owns
//! everything it starts; when it ends, for whatever reason, the input
//! session is dropped (releasing every held key and button), the peer is
//! closed and the subscription ends.

use std::sync::Arc;
use std::time::Duration;

use meshdesk_peer::{HostEvent, HostPeer};
use meshdesk_protocol::input::ControlMsg;
use meshdesk_protocol::rest::{IceServer, Permission};
use meshdesk_protocol::signal::{EndReason, HostToServer, IceCandidate, IceMsg, SdpMsg};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use crate::agent::keyframes::KeyframePolicy;
use crate::agent::restart::IceRestart;
use crate::input::{EnigoSink, InputSession, ScreenRect};
use crate::media::MediaPipeline;
use meshdesk_tasks::sleep_or_never;

/// How long a session survives without connectivity (the viewer vanished
/// or its network changed) before it is ended.
pub const VANISH_TIMEOUT: Duration = Duration::from_secs(30);

/// What the agent forwards to a session from the signaling server.
#[derive(Debug)]
pub enum SessionIn {
    Answer(String),
    Ice(IceCandidate),
    /// The agent's signaling connection is back after it was lost: an ICE
    /// restart offer made meanwhile may never have left.
    SignalingRestored,
    /// This machine lost a local address (`meshdesk_peer::netwatch`).
    NetworkChanged,
    /// The viewer asks for an ICE restart (its network changed).
    RestartRequested,
    /// The server or viewer ended it.
    End,
}

/// A granted session, as the server described it.
#[derive(Debug, Clone)]
pub struct Grant {
    pub session_id: String,
    pub user: String,
    pub permission: Permission,
    pub ice_servers: Vec<IceServer>,
}

/// Why a session task finished, reported to the agent.
#[derive(Debug)]
pub struct Finished {
    pub session_id: String,
    /// `None` when the other side ended it (nothing to tell the server).
    pub reason: Option<EndReason>,
}

/// Run a session until it ends. `out` carries messages for the server.
pub async fn run(
    grant: Grant,
    media: Arc<MediaPipeline>,
    display: Option<String>,
    mut inbox: mpsc::Receiver<SessionIn>,
    out: mpsc::UnboundedSender<HostToServer>,
    path_lost: Arc<Notify>,
) -> Finished {
    let sid = grant.session_id.clone();
    let reason = match serve(&grant, &media, display, &mut inbox, &out, &path_lost).await {
        Ok(reason) => reason,
        Err(e) => {
            tracing::warn!(error = %e, "session failed");
            Some(EndReason::ConnectionFailed)
        }
    };
    tracing::info!(?reason, "session ended");
    Finished {
        session_id: sid,
        reason,
    }
}

async fn serve(
    grant: &Grant,
    media: &MediaPipeline,
    display: Option<String>,
    inbox: &mut mpsc::Receiver<SessionIn>,
    out: &mpsc::UnboundedSender<HostToServer>,
    path_lost: &Notify,
) -> Result<Option<EndReason>, String> {
    let sid = grant.session_id.clone();
    let mut screen_size = media.screen_size();
    let screen = ScreenRect::at_origin(screen_size.0, screen_size.1).map_err(|e| e.to_string())?;
    let sink = EnigoSink::connect(display.as_deref()).map_err(|e| e.to_string())?;
    let mut input = InputSession::new(grant.permission, screen, sink);
    let (peer, mut streams) = HostPeer::new(&grant.ice_servers)
        .await
        .map_err(|e| e.to_string())?;
    let _ = out.send(HostToServer::SessionAccept {
        session_id: sid.clone(),
    });
    let offer = peer.create_offer().await.map_err(|e| e.to_string())?;
    let _ = out.send(HostToServer::Offer(SdpMsg {
        session_id: sid.clone(),
        sdp: offer,
    }));
    let mut frames = None;
    let mut last_pts: Option<Duration> = None;
    let mut vanish_deadline: Option<Instant> = None;
    let mut keyframes = KeyframePolicy::default();
    let mut restart = IceRestart::default();
    let result = loop {
        tokio::select! {
            biased;
            msg = inbox.recv() => match msg {
                Some(SessionIn::Answer(sdp)) => match peer.set_remote_answer(sdp).await {
                    Ok(()) => {}
                    // An answer to the first offer that cannot be used ends
                    // the session; a stale one to an ICE restart does not.
                    Err(e) if frames.is_none() => return Err(e.to_string()),
                    Err(e) => tracing::warn!(error = %e, "answer ignored"),
                },
                Some(SessionIn::Ice(c)) => {
                    if let Err(e) = peer.add_remote_candidate(c).await {
                        tracing::debug!(error = %e, "ignored remote candidate");
                    }
                }
                Some(SessionIn::SignalingRestored) => restart.signaling_restored(Instant::now()),
                Some(SessionIn::RestartRequested) => {
                    if restart.requested(Instant::now()) {
                        tracing::info!("the viewer's network changed; restarting ICE");
                    } else {
                        tracing::debug!("ICE restart request ignored: one was just made");
                    }
                }
                Some(SessionIn::NetworkChanged) => {
                    tracing::info!("this machine's address changed; restarting ICE once signaling is back");
                    restart.network_changed();
                }
                Some(SessionIn::End) | None => break None,
            },
            ev = streams.events.recv() => match ev {
                Some(HostEvent::InputMessage(text)) => {
                    if let Err(e) = input.handle_text(&text) {
                        tracing::warn!(error = %e, "input injection failed");
                    }
                }
                Some(HostEvent::ControlMessage(text)) => match ControlMsg::decode(&text) {
                    Ok(ControlMsg::RequestKeyframe) => media.request_keyframe(),
                    Ok(ControlMsg::RtcpKeyframeRequests { enabled }) => {
                        tracing::debug!(enabled, "RTCP keyframe requests");
                        keyframes.set_rtcp(enabled);
                    }
                    Err(e) => tracing::warn!(error = %e, "rejected control message"),
                },
                Some(HostEvent::KeyframeRequested) if keyframes.rtcp_request() => media.request_keyframe(),
                Some(HostEvent::KeyframeRequested) => tracing::trace!("keyframe request ignored"),
                Some(HostEvent::Connected { candidate_pair_type }) => {
                    tracing::info!(?candidate_pair_type, "viewer connected");
                    vanish_deadline = None;
                    restart.connected();
                    if frames.is_none() {
                        frames = Some(media.subscribe().map_err(|e| e.to_string())?);
                    }
                }
                Some(HostEvent::Disconnected) => {
                    tracing::info!("connectivity lost; restarting ICE");
                    // Maybe this machine's network changed: the signaling
                    // connection should prove it still works.
                    path_lost.notify_one();
                    vanish_deadline.get_or_insert(Instant::now() + VANISH_TIMEOUT);
                    restart.disconnected(Instant::now());
                }
                Some(HostEvent::Failed) => break Some(EndReason::ConnectionFailed),
                Some(HostEvent::Closed) | None => break Some(EndReason::ConnectionFailed),
                Some(_) => {}
            },
            c = streams.candidates.recv() => {
                if let Some(candidate) = c {
                    let _ = out.send(HostToServer::Ice(IceMsg { session_id: sid.clone(), candidate }));
                }
            }
            f = next_frame(&mut frames) => {
                let frame = f.map_err(|e| e.to_string())?;
                // The screen's resolution changed: input follows the new size.
                let size = media.screen_size();
                if size != screen_size {
                    screen_size = size;
                    match ScreenRect::at_origin(screen_size.0, screen_size.1) {
                        Ok(screen) => input.set_screen(screen),
                        Err(e) => tracing::warn!(error = %e, "input keeps the old screen size"),
                    }
                }
                let duration = match last_pts {
                    Some(prev) if frame.pts > prev => frame.pts - prev,
                    _ => Duration::from_millis(33),
                };
                last_pts = Some(frame.pts);
                match peer.write_frame(&frame.data, duration).await {
                    Ok(()) => keyframes.frame_sent(frame.keyframe),
                    Err(e) => tracing::debug!(error = %e, "frame not sent"),
                }
            }
            _ = sleep_or_never(restart.due()) => {
                let attempt = restart.restarted(Instant::now());
                match peer.restart_ice().await {
                    Ok(sdp) => {
                        tracing::info!(attempt, "ICE restart offered");
                        let _ = out.send(HostToServer::Offer(SdpMsg { session_id: sid.clone(), sdp }));
                    }
                    Err(e) => tracing::warn!(attempt, error = %e, "ICE restart failed"),
                }
            }
            _ = sleep_or_never(vanish_deadline) => break Some(EndReason::ConnectionFailed),
        }
    };
    let stats = input.stats();
    tracing::info!(
        injected = stats.injected,
        dropped_view_only = stats.dropped_view_only,
        rejected = stats.rejected,
        "input summary"
    );
    // Release everything held before the peer goes away.
    drop(input);
    drop(frames);
    let _ = peer.close().await;
    Ok(result)
}

async fn next_frame(
    frames: &mut Option<crate::media::Subscription>,
) -> Result<Arc<crate::media::EncodedFrame>, crate::media::MediaError> {
    match frames {
        Some(f) => f.recv().await,
        None => std::future::pending().await,
    }
}
