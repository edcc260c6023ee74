//! The session task: owns the WebRTC peer and the signaling [`Link`] once
//! the offer is answered, turns what happens into [`Event`]s for the
//! [`Controller`], and carries out its [`Action`]s. On the end it releases
//! what is held, tells the server and closes the connection. A failed
//! signaling connection is replaced and the session resumed by the
//! [`Link`], while the peer connection carries on.

use std::collections::VecDeque;

use meshdesk_peer::netwatch::{self, AddressWatch};
use meshdesk_peer::{PeerStats, ViewerEvent, ViewerPeer, ViewerStreams};
use meshdesk_protocol::encode;
use meshdesk_protocol::input::{ControlMsg, InputMsg};
use meshdesk_protocol::signal::{SessionEndMsg, ViewerToServer};
use meshdesk_tasks::sleep_or_never;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use super::controller::{Action, Controller, Ending, Event, Stop};
use super::handshake::Established;
use super::link::Link;
use super::resume::ResumeKey;
use super::{Notice, SessionCommand};
use crate::ViewerError;

/// How a session ended.
#[derive(Debug)]
pub struct Outcome {
    /// Counters at the end.
    pub stats: PeerStats,
    /// When ICE connected, if it did.
    pub connected_at: Option<std::time::Instant>,
    /// `Ok` when we closed it; the reason otherwise.
    pub result: Result<(), ViewerError>,
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

/// What the session's actions are carried out on.
struct Io<N> {
    peer: ViewerPeer,
    link: Link,
    /// Local address removals, while they can be watched.
    watch: Option<AddressWatch>,
    /// Local candidates still come.
    candidates_open: bool,
    notify: N,
}

async fn drive_inner(
    session: Established,
    mut commands: mpsc::UnboundedReceiver<SessionCommand>,
    notify: impl FnMut(Notice) + Send,
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
        verifier,
    } = session;
    let key = ResumeKey::new(session_id.clone(), resume_secret, resume_grace_secs);
    let mut io = Io {
        peer,
        link: Link::new(key, target, signal_tx, signal_rx),
        watch: netwatch::open_or_warn(),
        candidates_open: true,
        notify,
    };
    let mut core = Controller::new(session_id.clone(), permission, verifier, Instant::now());
    let stop = loop {
        let event = io
            .next_event(&mut commands, &mut streams, core.deadline())
            .await;
        if let Some(stop) = step(&mut core, &mut io, event).await {
            break stop;
        }
    };
    let connected_at = core.connected_at().map(Instant::into_std);
    io.end(session_id, core.finish(stop), connected_at).await
}

/// Hand `event` and what follows from it to the controller; `Some` once
/// the session is over.
async fn step<N: FnMut(Notice)>(
    core: &mut Controller,
    io: &mut Io<N>,
    event: Event,
) -> Option<Stop> {
    let mut queue = VecDeque::from([event]);
    while let Some(event) = queue.pop_front() {
        for action in core.handle(Instant::now(), event) {
            match io.apply(action).await {
                Ok(Some(next)) => queue.push_back(next),
                Ok(None) => {}
                Err(stop) => return Some(stop),
            }
        }
    }
    None
}

impl<N: FnMut(Notice)> Io<N> {
    /// Wait for the next thing to happen, the window's commands first.
    async fn next_event(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<SessionCommand>,
        streams: &mut ViewerStreams,
        deadline: Instant,
    ) -> Event {
        loop {
            return tokio::select! {
                biased;
                command = commands.recv() => Event::Command(command.unwrap_or(SessionCommand::Close)),
                event = streams.events.recv() => Event::Peer(event.unwrap_or(ViewerEvent::Closed)),
                candidate = streams.candidates.recv(), if self.candidates_open => match candidate {
                    Some(candidate) => Event::LocalCandidate(candidate),
                    None => {
                        self.candidates_open = false;
                        continue;
                    }
                },
                removed = netwatch::removed_or_never(&mut self.watch) => match removed {
                    Ok(()) => Event::AddressRemoved,
                    Err(e) => {
                        tracing::warn!(error = %e, "stopped watching local addresses");
                        self.watch = None;
                        continue;
                    }
                },
                event = self.link.recv() => Event::Link(event),
                () = sleep_or_never(Some(deadline)) => Event::Tick,
            };
        }
    }

    /// Carry out one action: `Ok(Some)` feeds an event back, `Err` stops.
    async fn apply(&mut self, action: Action) -> Result<Option<Event>, Stop> {
        match action {
            Action::SendInput(msg) => send_input(&self.peer, &msg).await,
            Action::RequestKeyframe { control } => request_keyframe(&self.peer, control).await,
            Action::Notify(notice) => (self.notify)(notice),
            Action::Signal(msg) => self.link.send(msg).await,
            Action::CheckLink => self.link.check().await,
            Action::ReplaceLink(why) => self.link.replace(why),
            Action::AddCandidate(candidate) => {
                if let Err(e) = self.peer.add_remote_candidate(candidate).await {
                    tracing::debug!(error = %e, "remote candidate refused");
                }
            }
            Action::AnswerRestart(sdp) => match self.peer.accept_restart_offer(sdp).await {
                Ok(answer) => return Ok(Some(Event::RestartAnswered(answer))),
                Err(e) => tracing::warn!(error = %e, "new offer refused"),
            },
            Action::SampleStats => return Ok(Some(Event::Stats(self.peer.stats().await))),
            Action::Stop(stop) => return Err(stop),
        }
        Ok(None)
    }

    /// Release held input, tell the server, close the peer and the link.
    async fn end(
        mut self,
        session_id: String,
        ending: Ending,
        connected_at: Option<std::time::Instant>,
    ) -> Outcome {
        if ending.release_input {
            let _ = self.peer.send_input(&encode(&InputMsg::ReleaseAll)).await;
        }
        if let (Some(reason), true) = (ending.end_reason, self.link.is_up()) {
            let end = SessionEndMsg::new(session_id, reason);
            self.link.send(ViewerToServer::SessionEnd(end)).await;
        }
        let stats = self.peer.stats().await;
        if let Err(e) = self.peer.close().await {
            tracing::debug!(error = %e, "close");
        }
        self.link.close().await;
        tracing::info!("session closed");
        Outcome {
            stats,
            connected_at,
            result: ending.result,
        }
    }
}

async fn send_input(peer: &ViewerPeer, msg: &InputMsg) {
    tracing::trace!(?msg, "input");
    if let Err(e) = peer.send_input(&encode(msg)).await {
        tracing::debug!(error = %e, "input not sent");
    }
}

/// On the control channel when `control`, falling back to RTCP PLI.
async fn request_keyframe(peer: &ViewerPeer, control: bool) {
    let sent = control
        && peer
            .send_control(&encode(&ControlMsg::RequestKeyframe))
            .await
            .is_ok();
    if !sent {
        if let Err(e) = peer.request_keyframe().await {
            tracing::debug!(error = %e, "keyframe request not sent");
        }
    }
}
