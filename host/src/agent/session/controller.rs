//! Every decision of one host session, as a plain state machine: no
//! sockets, no clock, no spawning. The driver ([`super::driver`]) turns
//! I/O into [`Event`]s, calls [`Controller::handle`] with the time, and
//! carries out the [`Action`]s it gets back; [`Controller::deadline`] says
//! when to call again with [`Event::Tick`] if nothing else happens.
//!
//! Decided here: the grant (a `view` session injects nothing), keyframe
//! requests ([`KeyframePolicy`]), ICE restarts ([`IceRestart`]), how long
//! a session may stay without connectivity, releasing held input when
//! connectivity is lost or the viewer's input goes silent ([`HoldWatch`]),
//! when frames start, each frame's duration, following a change of the
//! screen's size, when to sign the DTLS binding ([`Binding`]), and what
//! the session asks of the encoder and tells the viewer about its quality
//! ([`QualityWatch`]).

use std::sync::Arc;
use std::time::Duration;

use meshdesk_peer::{Estimate, HostEvent};
use meshdesk_protocol::binding::VideoQuality;
use meshdesk_protocol::input::ControlMsg;
use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::{EndReason, HostToServer, IceCandidate, IceMsg, SdpMsg};
use tokio::time::Instant;

use super::binding::Binding;
use super::hold::HoldWatch;
use super::quality::QualityWatch;
use super::SessionIn;
use crate::agent::keyframes::KeyframePolicy;
use crate::agent::restart::IceRestart;
use crate::media::grab::GrabArea;
use crate::media::EncodedFrame;

/// How long a session survives without connectivity (the viewer vanished
/// or its network changed) before it is ended.
pub const VANISH_TIMEOUT: Duration = Duration::from_secs(30);
/// The duration of the first frame, and of one whose timestamp did not move.
const DEFAULT_FRAME_DURATION: Duration = Duration::from_millis(33);

/// What happened, as the driver saw it.
#[derive(Debug)]
pub enum Event {
    /// A message from the server, through the agent.
    Signal(SessionIn),
    /// Something from the peer connection.
    Peer(HostEvent),
    /// A local ICE candidate to trickle to the viewer.
    LocalCandidate(IceCandidate),
    /// An offer was made (the first, or an ICE restart's).
    Offered(String),
    /// The viewer's answer could not be applied.
    AnswerRefused(String),
    /// The viewer's answer was applied.
    AnswerApplied(String),
    /// The pipeline encoded a frame; `screen` is where its pixels are on
    /// the X screen now.
    Frame {
        frame: Arc<EncodedFrame>,
        screen: GrabArea,
    },
    /// A frame from [`Action::WriteFrame`] went out (`sent`) or did not.
    FrameWritten { keyframe: bool, sent: bool },
    /// The congestion controller's estimate of the path changed.
    Estimate(Estimate),

    /// The media pipeline stopped.
    MediaStopped(String),
    /// Nothing but time passed (a [`Controller::deadline`] came).
    Tick,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a message to the server.
    Send(HostToServer),
    /// Apply the viewer's SDP answer; report as [`Event::AnswerApplied`]
    /// or [`Event::AnswerRefused`].
    ApplyAnswer(String),
    /// Sign this DTLS binding payload with the device key and send it on
    /// the `control` channel ([`super::binding`]).
    SendBinding(Vec<u8>),
    /// Give the peer connection a remote candidate.
    AddCandidate(IceCandidate),
    /// Inject one `input` channel message (the grant admits it).
    Inject(String),
    /// Release every key and button this session holds.
    ReleaseInput,
    /// Input maps onto this area of the X screen from now on.
    SetScreen(GrabArea),
    /// Show the viewer this screen (monitor) from now on; the driver then
    /// tells the viewer the screens ([`Action::SendScreens`]).
    SwitchScreen(String),
    /// Tell the viewer the screens and which one it sees.
    SendScreens,
    /// Ask the pipeline for a keyframe.
    RequestKeyframe,
    /// Start receiving the pipeline's frames (and, when the session has
    /// it, the sound, which goes to its track from a task of its own).
    Subscribe,
    /// Tell the viewer whether the session has sound, and why not.
    SendSound,
    /// Send the sound on the `sound` channel (`false`: on its track).
    SoundChannel(bool),
    /// Ask the pipeline to aim at no more than this bitrate (bit/s).
    AskBitrate(u32),
    /// Tell the viewer what the video aims at.
    SendQuality(VideoQuality),

    /// Write a frame to the video track; report as [`Event::FrameWritten`].
    WriteFrame {
        frame: Arc<EncodedFrame>,
        duration: Duration,
    },
    /// Restart ICE; report the new offer as [`Event::Offered`].
    RestartIce { attempt: u32 },
    /// Tell the agent this session lost its path (maybe this machine's
    /// network changed, and the signaling connection must prove itself).
    PathLost,
    /// The session is over; `None` when the other side ended it (nothing
    /// to tell the server).
    End(Option<EndReason>),
}

/// Counters for the session's summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Input messages dropped because the grant is `view`.
    pub dropped_view_only: u64,
    /// Control messages that did not decode.
    pub rejected_control: u64,
}

/// One session's state.
#[derive(Debug)]
pub struct Controller {
    /// The session, for the messages it sends.
    session_id: String,
    /// What the server granted.
    permission: Permission,
    /// RTCP keyframe requests, and when they stop counting.
    keyframes: KeyframePolicy,
    /// When to restart ICE.
    restart: IceRestart,
    /// Without connectivity since: the session ends at this instant.
    vanish_at: Option<Instant>,
    /// Frames flow (subscribed once the first connection was made).
    streaming: bool,
    /// The area input maps onto.
    screen: GrabArea,
    /// Another screen was chosen and its first keyframe is still to come.
    switched: bool,
    /// The previous frame's timestamp.
    last_pts: Option<Duration>,
    /// Whether the session is over (nothing more is done).
    ended: bool,
    /// Releases held input when the viewer's input goes silent.
    hold: HoldWatch,
    /// When to sign the DTLS binding.
    binding: Binding,
    /// Only the files channel: no frames, no input, no screens, no sound.
    files_only: bool,
    /// The estimate, the encoder's rate, and the viewer's reports.
    quality: QualityWatch,
    counters: Counters,
}

impl Controller {
    /// A granted session showing `screen` of the X screen.
    pub fn new(session_id: String, permission: Permission, screen: GrabArea) -> Self {
        Self {
            binding: Binding::new(session_id.clone()),
            session_id,
            permission,
            keyframes: KeyframePolicy::default(),
            restart: IceRestart::default(),
            vanish_at: None,
            streaming: false,
            screen,
            switched: false,
            last_pts: None,
            ended: false,
            hold: HoldWatch::default(),
            files_only: false,
            quality: QualityWatch::new(true),
            counters: Counters::default(),
        }
    }

    /// Whether the bandwidth estimate drives the encoder (on unless the
    /// host's `adaptive_quality` is off; the viewer is told either way).
    pub fn adaptive(mut self, on: bool) -> Self {
        self.quality = QualityWatch::new(on);
        self
    }

    /// A files-only session: it never subscribes to frames or sound,
    /// injects nothing and tells the viewer no screens.
    pub fn files_only(mut self) -> Self {
        self.files_only = true;
        self
    }

    /// What the session does first: accept the grant (the driver then
    /// makes the offer and reports it as [`Event::Offered`]).
    pub fn start(&self) -> Vec<Action> {
        vec![Action::Send(HostToServer::SessionAccept {
            session_id: self.session_id.clone(),
        })]
    }

    /// The next instant at which [`Event::Tick`] is due, if any.
    pub fn deadline(&self) -> Option<Instant> {
        [self.restart.due(), self.vanish_at, self.hold.due()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Counters so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The area input maps onto.
    pub fn screen(&self) -> GrabArea {
        self.screen
    }

    /// Handle one event at `now`.
    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Action> {
        if self.ended {
            return Vec::new();
        }
        let actions = match event {
            Event::Signal(msg) => self.on_signal(now, msg),
            Event::Peer(ev) => self.on_peer(now, ev),
            Event::LocalCandidate(candidate) => vec![Action::Send(HostToServer::Ice(IceMsg {
                session_id: self.session_id.clone(),
                candidate,
            }))],
            Event::Offered(sdp) => {
                self.binding.offered(&sdp);
                vec![Action::Send(HostToServer::Offer(SdpMsg {
                    session_id: self.session_id.clone(),
                    sdp,
                }))]
            }
            Event::AnswerRefused(error) => self.on_answer_refused(&error),
            Event::AnswerApplied(sdp) => self
                .binding
                .answered(&sdp)
                .map(Action::SendBinding)
                .into_iter()
                .collect(),
            Event::Frame { frame, screen } => self.on_frame(now, frame, screen),
            Event::Estimate(estimate) => {
                if let Some(rtt) = estimate.rtt_ms {
                    self.keyframes
                        .set_round_trip(Duration::from_millis(u64::from(rtt)));
                }
                let step = self.quality.estimate(now, estimate);
                let ask = step.ask_bps.map(Action::AskBitrate);
                ask.into_iter()
                    .chain(step.report.map(Action::SendQuality))
                    .collect()
            }

            Event::FrameWritten { keyframe, sent } => {
                if sent {
                    self.keyframes.frame_sent(now, keyframe);
                }
                Vec::new()
            }
            Event::MediaStopped(error) => {
                tracing::warn!(%error, "the screen's pipeline stopped");
                vec![Action::End(Some(EndReason::ConnectionFailed))]
            }
            Event::Tick => self.on_tick(now),
        };
        let mut actions = actions;
        // A pipeline subscribed afresh (the first, another screen, the
        // primary once the shown one went away) hears this session's ask.
        let new_pipeline = actions.iter().any(|a| {
            matches!(
                a,
                Action::Subscribe | Action::SwitchScreen(_) | Action::SendScreens
            )
        });
        if new_pipeline {
            actions.extend(self.quality.ask().map(Action::AskBitrate));
        }
        if actions.iter().any(|a| matches!(a, Action::End(_))) {
            self.ended = true;
        }
        actions
    }

    fn on_signal(&mut self, now: Instant, msg: SessionIn) -> Vec<Action> {
        match msg {
            SessionIn::Answer(sdp) => vec![Action::ApplyAnswer(sdp)],
            SessionIn::Ice(candidate) => vec![Action::AddCandidate(candidate)],
            SessionIn::SignalingRestored => {
                self.restart.signaling_restored(now);
                Vec::new()
            }
            SessionIn::RestartRequested => {
                if self.restart.requested(now) {
                    tracing::info!("the viewer's network changed; restarting ICE");
                } else {
                    tracing::debug!("ICE restart request ignored: one was just made");
                }
                Vec::new()
            }
            SessionIn::NetworkChanged => {
                tracing::info!(
                    "this machine's address changed; restarting ICE once signaling is back"
                );
                self.restart.network_changed();
                Vec::new()
            }
            SessionIn::ScreensChanged => vec![Action::SendScreens],
            SessionIn::End => vec![Action::End(None)],
        }
    }

    fn on_peer(&mut self, now: Instant, event: HostEvent) -> Vec<Action> {
        match event {
            HostEvent::InputMessage(text) => self.on_input(now, text),
            HostEvent::InputClosed => {
                // The viewer is gone or closed its input: nothing it held
                // may stay pressed.
                self.hold.clear();
                vec![Action::ReleaseInput]
            }
            HostEvent::ControlMessage(text) => self.on_control(&text),
            HostEvent::KeyframeRequested if self.keyframes.rtcp_request(now) => {
                vec![Action::RequestKeyframe]
            }
            HostEvent::KeyframeRequested => {
                tracing::trace!("keyframe request ignored");
                Vec::new()
            }
            HostEvent::Connected {
                candidate_pair_type,
            } => {
                tracing::info!(?candidate_pair_type, "viewer connected");
                self.vanish_at = None;
                self.restart.connected();
                if self.streaming {
                    return Vec::new();
                }
                self.streaming = true;
                if self.files_only {
                    return Vec::new();
                }
                vec![Action::Subscribe]
            }
            HostEvent::Disconnected => {
                tracing::info!("connectivity lost; restarting ICE");
                self.vanish_at.get_or_insert(now + VANISH_TIMEOUT);
                self.restart.disconnected(now);
                // Nothing the viewer holds may stay pressed while it
                // cannot send the release.
                vec![Action::ReleaseInput, Action::PathLost]
            }
            HostEvent::ChannelsReady => {
                let media = match self.files_only {
                    true => vec![],
                    false => vec![Action::SendScreens, Action::SendSound],
                };
                self.binding
                    .channels_ready()
                    .map(Action::SendBinding)
                    .into_iter()
                    .chain(media)
                    .collect()
            }
            HostEvent::Failed | HostEvent::Closed => {
                vec![Action::End(Some(EndReason::ConnectionFailed))]
            }
            _ => Vec::new(),
        }
    }

    fn on_input(&mut self, now: Instant, text: String) -> Vec<Action> {
        if self.files_only {
            // A files-only session's viewer still sends heartbeats.
            return Vec::new();
        }
        if self.permission.may_control() {
            self.hold.input(now);
            return vec![Action::Inject(text)];
        }
        self.counters.dropped_view_only += 1;
        if self.counters.dropped_view_only == 1 {
            tracing::warn!("input from a view-only session dropped");
        }
        Vec::new()
    }

    fn on_control(&mut self, text: &str) -> Vec<Action> {
        match ControlMsg::decode(text) {
            Ok(ControlMsg::RequestKeyframe) if self.files_only => Vec::new(),
            Ok(ControlMsg::RequestKeyframe) => vec![Action::RequestKeyframe],
            Ok(ControlMsg::RtcpKeyframeRequests { enabled }) => {
                tracing::debug!(enabled, "RTCP keyframe requests");
                self.keyframes.set_rtcp(enabled);
                Vec::new()
            }
            // Any session may look at another monitor: it shows no more
            // than its grant already does.
            Ok(ControlMsg::SoundChannel { enabled }) => vec![Action::SoundChannel(enabled)],
            Ok(ControlMsg::SelectScreen { id }) => {
                self.switched = true;
                vec![Action::SwitchScreen(id)]
            }
            Err(e) => {
                self.counters.rejected_control += 1;
                tracing::warn!(error = %e, "rejected control message");
                Vec::new()
            }
        }
    }

    fn on_answer_refused(&mut self, error: &str) -> Vec<Action> {
        // An answer to the first offer that cannot be used ends the
        // session; a stale one to an ICE restart does not.
        if self.streaming {
            tracing::warn!(%error, "answer ignored");
            return Vec::new();
        }
        tracing::warn!(%error, "the viewer's answer cannot be used");
        vec![Action::End(Some(EndReason::ConnectionFailed))]
    }

    fn on_frame(
        &mut self,
        now: Instant,
        frame: Arc<EncodedFrame>,
        screen: GrabArea,
    ) -> Vec<Action> {
        let mut actions = Vec::with_capacity(2);
        if screen != self.screen {
            // A new resolution, another monitor, or the monitor moved:
            // input follows before this frame shows.
            self.screen = screen;
            actions.push(Action::SetScreen(screen));
        }
        let duration = match self.last_pts {
            Some(prev) if frame.pts > prev => frame.pts - prev,
            _ => DEFAULT_FRAME_DURATION,
        };
        self.last_pts = Some(frame.pts);
        let first_of_new_screen = self.switched && frame.keyframe;
        let report = self.quality.frame(now, frame.quality);
        actions.push(Action::WriteFrame { frame, duration });
        actions.extend(report.map(Action::SendQuality));
        if first_of_new_screen {
            // Chromium's <video> path does not show the first IDR of the
            // other monitor's stream (a new encoder, its frame numbers
            // starting again): it waits, then asks by PLI 3 s later.
            // Measured in tests/web/screens.test.mjs: 3.1 s to B's picture
            // with one IDR, 43 ms with a second one right after it.
            self.switched = false;
            actions.push(Action::RequestKeyframe);
        }
        actions
    }

    fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        if self.vanish_at.is_some_and(|at| now >= at) {
            tracing::info!("no connectivity for {VANISH_TIMEOUT:?}; ending the session");
            return vec![Action::End(Some(EndReason::ConnectionFailed))];
        }
        let mut actions = Vec::new();
        if self.hold.expired(now) {
            tracing::debug!("the viewer's input went silent; releasing held input");
            actions.push(Action::ReleaseInput);
        }
        if self.restart.due().is_some_and(|due| now >= due) {
            let attempt = self.restart.restarted(now);
            actions.push(Action::RestartIce { attempt });
        }
        actions
    }
}
