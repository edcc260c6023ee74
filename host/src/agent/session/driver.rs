//! The task around one session's [`Controller`]: it turns the server's
//! messages, the peer connection's events, local candidates, encoded
//! frames and deadlines into [`Event`]s, and carries out the [`Action`]s
//! that come back on the peer, the input session and the pipeline.

use std::collections::VecDeque;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use meshdesk_peer::{HostEvent, HostPeer, HostStreams};
use meshdesk_protocol::binding::HostControlMsg;
use meshdesk_protocol::encode;
use meshdesk_protocol::signal::{EndReason, HostToServer};
use meshdesk_tasks::sleep_or_never;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use super::controller::{Action, Controller, Counters, Event};
use super::{Finished, Grant, SessionEnv, SessionIn};
use crate::agent::metrics::HostMetrics;
use crate::agent::AgentError;
use crate::consent::{Shield, ShieldedSink};
use crate::input::{EnigoSink, InputSession, ScreenRect};
use crate::media::{EncodedFrame, MediaError, MediaPipeline, Subscription};

/// Run a session until it ends. `out` carries messages for the server;
/// `path_lost` tells the agent that this session lost connectivity;
/// `shield` keeps its input off the consent windows.
pub async fn run(
    grant: Grant,
    env: SessionEnv,
    mut inbox: mpsc::Receiver<SessionIn>,
    shield: Arc<Shield>,
) -> Finished {
    let reason = match serve(&grant, env, shield, &mut inbox).await {
        Ok(reason) => reason,
        Err(e) => {
            tracing::warn!(error = %e, "session failed");
            Some(EndReason::ConnectionFailed)
        }
    };
    tracing::info!(?reason, "session ended");
    Finished {
        session_id: grant.session_id,
        reason,
    }
}

/// What the session's actions are carried out on.
struct Io {
    peer: HostPeer,
    /// Injects what the grant admits (never onto a consent window);
    /// dropping it releases what is held.
    input: InputSession<ShieldedSink<EnigoSink>>,
    media: Arc<MediaPipeline>,
    /// The pipeline's frames, once the viewer first connected.
    frames: Option<Subscription>,
    out: mpsc::UnboundedSender<HostToServer>,
    path_lost: Arc<Notify>,
    /// The device key, which signs the DTLS binding.
    key: Arc<SigningKey>,
    /// Counts frames sent.
    metrics: Arc<HostMetrics>,
}

/// What carrying out one action led to.
enum Applied {
    Done,
    /// Feed this back to the controller.
    Then(Event),
    /// The session is over.
    End(Option<EndReason>),
}

async fn serve(
    grant: &Grant,
    env: SessionEnv,
    shield: Arc<Shield>,
    inbox: &mut mpsc::Receiver<SessionIn>,
) -> Result<Option<EndReason>, AgentError> {
    let SessionEnv {
        key,
        media,
        display,
        out,
        path_lost,
        metrics,
    } = env;
    let (width, height) = media.screen_size();
    let sink = ShieldedSink::new(EnigoSink::connect(display.as_deref())?, shield);
    let input = InputSession::new(
        grant.permission,
        ScreenRect::at_origin(width, height)?,
        sink,
    );
    let (peer, mut streams) = HostPeer::new(&grant.ice_servers).await?;
    let mut core = Controller::new(grant.session_id.clone(), grant.permission, (width, height));
    let mut io = Io {
        peer,
        input,
        media,
        frames: None,
        out,
        path_lost,
        key,
        metrics,
    };
    for action in core.start() {
        io.apply(action).await;
    }
    let offer = io.peer.create_offer().await?;
    let mut event = Event::Offered(offer);
    let reason = loop {
        if let Some(reason) = step(&mut core, &mut io, event).await {
            break reason;
        }
        event = next_event(inbox, &mut streams, &mut io, core.deadline()).await;
    };
    io.close(core.counters()).await;
    Ok(reason)
}

/// Hand `event` and what follows from it to the controller; `Some` once
/// the session is over.
async fn step(core: &mut Controller, io: &mut Io, event: Event) -> Option<Option<EndReason>> {
    let mut queue = VecDeque::from([event]);
    while let Some(event) = queue.pop_front() {
        for action in core.handle(Instant::now(), event) {
            match io.apply(action).await {
                Applied::Done => {}
                Applied::Then(next) => queue.push_back(next),
                Applied::End(reason) => return Some(reason),
            }
        }
    }
    None
}

/// Wait for the next thing to happen, the server's messages first.
async fn next_event(
    inbox: &mut mpsc::Receiver<SessionIn>,
    streams: &mut HostStreams,
    io: &mut Io,
    deadline: Option<Instant>,
) -> Event {
    tokio::select! {
        biased;
        msg = inbox.recv() => Event::Signal(msg.unwrap_or(SessionIn::End)),
        ev = streams.events.recv() => Event::Peer(ev.unwrap_or(HostEvent::Closed)),
        Some(candidate) = streams.candidates.recv() => Event::LocalCandidate(candidate),
        frame = next_frame(&mut io.frames) => match frame {
            Ok(frame) => Event::Frame { frame, screen: io.media.screen_size() },
            Err(e) => Event::MediaStopped(e.to_string()),
        },
        () = sleep_or_never(deadline) => Event::Tick,
    }
}

async fn next_frame(frames: &mut Option<Subscription>) -> Result<Arc<EncodedFrame>, MediaError> {
    match frames {
        Some(f) => f.recv().await,
        None => std::future::pending().await,
    }
}

impl Io {
    async fn apply(&mut self, action: Action) -> Applied {
        match action {
            Action::Send(msg) => {
                // Gone only when the agent itself is stopping.
                let _ = self.out.send(msg);
            }
            Action::ApplyAnswer(sdp) => {
                return match self.peer.set_remote_answer(sdp.clone()).await {
                    Ok(()) => Applied::Then(Event::AnswerApplied(sdp)),
                    Err(e) => Applied::Then(Event::AnswerRefused(e.to_string())),
                };
            }
            Action::SendBinding(payload) => {
                let signature = STANDARD.encode(self.key.sign(&payload).to_bytes());
                let msg = encode(&HostControlMsg::Binding { signature });
                match self.peer.send_control(&msg).await {
                    Ok(()) => tracing::info!("DTLS binding signed and sent"),
                    Err(e) => tracing::warn!(error = %e, "DTLS binding not sent"),
                }
            }
            Action::AddCandidate(c) => {
                if let Err(e) = self.peer.add_remote_candidate(c).await {
                    tracing::debug!(error = %e, "ignored remote candidate");
                }
            }
            Action::Inject(text) => {
                if let Err(e) = self.input.handle_text(&text) {
                    tracing::warn!(error = %e, "input injection failed");
                }
            }
            Action::ReleaseInput => {
                if let Err(e) = self.input.release_all() {
                    tracing::warn!(error = %e, "releasing held input failed");
                }
            }
            Action::SetScreen(width, height) => match ScreenRect::at_origin(width, height) {
                Ok(screen) => self.input.set_screen(screen),
                Err(e) => tracing::warn!(error = %e, "input keeps the old screen size"),
            },
            Action::RequestKeyframe => self.media.request_keyframe(),
            Action::Subscribe => match self.media.subscribe() {
                Ok(frames) => self.frames = Some(frames),
                Err(e) => return Applied::Then(Event::MediaStopped(e.to_string())),
            },
            Action::WriteFrame { frame, duration } => {
                let sent = match self.peer.write_frame(&frame.data, duration).await {
                    Ok(()) => {
                        self.metrics.frame_sent(frame.data.len());
                        true
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "frame not sent");
                        false
                    }
                };
                let keyframe = frame.keyframe;
                return Applied::Then(Event::FrameWritten { keyframe, sent });
            }
            Action::RestartIce { attempt } => match self.peer.restart_ice().await {
                Ok(sdp) => {
                    tracing::info!(attempt, "ICE restart offered");
                    return Applied::Then(Event::Offered(sdp));
                }
                Err(e) => tracing::warn!(attempt, error = %e, "ICE restart failed"),
            },
            Action::PathLost => self.path_lost.notify_one(),
            Action::End(reason) => return Applied::End(reason),
        }
        Applied::Done
    }

    /// Release everything held before the peer goes away, then close it.
    async fn close(self, counters: Counters) {
        let stats = self.input.stats();
        tracing::info!(
            injected = stats.injected,
            dropped_view_only = counters.dropped_view_only,
            rejected = stats.rejected,
            rejected_control = counters.rejected_control,
            "input summary"
        );
        drop(self.input);
        drop(self.frames);
        let _ = self.peer.close().await;
    }
}
