//! Every decision of a running native viewer session, as a plain state
//! machine: no sockets, no clock, no spawning. The driver
//! ([`super::driver`]) turns the window's commands, the peer connection's
//! events, the signaling link and the address watch into [`Event`]s, calls
//! [`Controller::handle`] with the time, and carries out the [`Action`]s;
//! [`Controller::deadline`] says when to call again with [`Event::Tick`].
//!
//! Decided here: the grant (a `view` session sends no input), input held
//! until the channels open and the host's DTLS binding is verified
//! ([`Verifier`]; none verified within [`VERIFY_TIMEOUT`] ends the session), keyframe requests and the first-picture
//! watchdog, answering the host's ICE restarts, checking or replacing the
//! signaling link when the path breaks, the stats cadence, the connect
//! timeout, the input heartbeat (so the host can release what we hold if
//! we vanish), and what the end releases and tells the server.

use std::time::Duration;

use meshdesk_peer::{PeerStats, ViewerEvent};
use meshdesk_protocol::binding::HostControlMsg;
use meshdesk_protocol::input::{InputMsg, HEARTBEAT};
use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::{
    EndReason, IceCandidate, IceMsg, SdpMsg, ServerToViewer, ViewerToServer,
};
use tokio::time::Instant;

use super::link::LinkEvent;
use super::verify::Verifier;
use super::{Notice, SessionCommand};
use crate::ViewerError;

/// How long ICE and DTLS may take once the answer is sent.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long after the channels open the host's binding signature may take.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(10);
/// Input messages kept while the data channels are not open yet.
pub const EARLY_INPUT_LIMIT: usize = 256;
/// How often stats are sampled for the window title.
pub const STATS_EVERY: Duration = Duration::from_secs(1);
/// How long after connecting a session waits for its first picture before
/// asking for a keyframe (again every this long). The host sends one at
/// once, but packets that beat the receiving track's setup are dropped.
pub const FIRST_PICTURE_WAIT: Duration = Duration::from_millis(700);
/// The host closes the peer connection as soon as a session ends. When the
/// server ended it (a revoke, an expired share, a removed device), that
/// close can beat the server's `session_end`, which says why: wait this
/// long for it before concluding the host closed the session itself (as
/// the browser does, controller.js `PEER_CLOSE_GRACE_MS`).
pub const PEER_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What happened, as the driver saw it.
#[derive(Debug)]
pub enum Event {
    /// From the window or the headless loop.
    Command(SessionCommand),
    /// From the peer connection.
    Peer(ViewerEvent),
    /// A local ICE candidate to trickle to the host.
    LocalCandidate(IceCandidate),
    /// This machine lost a local address.
    AddressRemoved,
    /// From the signaling link.
    Link(LinkEvent),
    /// Our answer to the host's ICE restart offer.
    RestartAnswered(String),
    /// Counters asked for with [`Action::SampleStats`].
    Stats(PeerStats),
    /// Nothing but time passed (a [`Controller::deadline`] came).
    Tick,
}

/// What the driver must do, in order.
#[derive(Debug)]
pub enum Action {
    /// Send on the `input` channel.
    SendInput(InputMsg),
    /// Ask the host for a keyframe: on the control channel when `control`
    /// (falling back to RTCP PLI if that fails), else with PLI.
    RequestKeyframe { control: bool },
    /// Tell the window or the headless loop.
    Notify(Notice),
    /// Send to the server (after a resume, if the link is down).
    Signal(ViewerToServer),
    /// Make the signaling connection prove it is alive.
    CheckLink,
    /// Replace the signaling connection now (it is known dead).
    ReplaceLink(&'static str),
    /// Give the peer connection a remote candidate.
    AddCandidate(IceCandidate),
    /// Answer the host's ICE restart offer; report as [`Event::RestartAnswered`].
    AnswerRestart(String),
    /// Read the peer's counters; report as [`Event::Stats`].
    SampleStats,
    /// The session is over: see [`Controller::finish`].
    Stop(Stop),
}

/// Why the session stopped.
#[derive(Debug)]
pub enum Stop {
    /// We asked to close.
    Closed,
    /// The other side or the server ended it (no `session_end` to send).
    EndedRemotely(ViewerError),
    /// Connectivity failed (send `session_end` with `connection_failed`).
    Failed(ViewerError),
}

/// What the end of a session does.
#[derive(Debug)]
pub struct Ending {
    /// Send a release-all first (something may be held on the host).
    pub release_input: bool,
    /// Tell the server, if the link is up.
    pub end_reason: Option<EndReason>,
    /// `Ok` when we closed it.
    pub result: Result<(), ViewerError>,
}

/// One running session's state.
#[derive(Debug)]
pub struct Controller {
    session_id: String,
    /// A `control` grant: input goes out.
    may_send_input: bool,
    /// The `input` and `control` channels are open.
    channels_ready: bool,
    /// Checks the host's DTLS binding.
    verifier: Verifier,
    /// The binding verified: input may go out.
    verified: bool,
    /// The session fails if the binding is not verified by then.
    verify_by: Option<Instant>,
    /// Input from before the channels opened, oldest first.
    early_input: Vec<InputMsg>,
    /// When ICE first connected.
    connected_at: Option<Instant>,
    /// The session fails if ICE has not connected by then.
    connect_by: Instant,
    /// A picture was decoded.
    pictured: bool,
    /// When to ask for a keyframe if no picture came yet.
    first_picture_due: Option<Instant>,
    /// When to sample stats next.
    stats_due: Instant,
    /// When to send the next input heartbeat (a `control` session with
    /// open channels).
    heartbeat_due: Option<Instant>,
    /// The peer connection closed: the session ends by then unless the
    /// server says why first.
    closed_due: Option<Instant>,
    /// Whether the session is over.
    stopped: bool,
}

impl Controller {
    /// A session whose offer was answered at `now`.
    pub fn new(
        session_id: String,
        permission: Permission,
        verifier: Verifier,
        now: Instant,
    ) -> Self {
        Self {
            session_id,
            verifier,
            verified: false,
            verify_by: None,
            may_send_input: permission.may_control(),
            channels_ready: false,
            early_input: Vec::new(),
            connected_at: None,
            connect_by: now + CONNECT_TIMEOUT,
            pictured: false,
            first_picture_due: None,
            stats_due: now,
            heartbeat_due: None,
            closed_due: None,
            stopped: false,
        }
    }

    /// When ICE first connected.
    pub fn connected_at(&self) -> Option<Instant> {
        self.connected_at
    }

    /// The next instant at which [`Event::Tick`] is due.
    pub fn deadline(&self) -> Instant {
        let mut at = self.stats_due;
        if self.connected_at.is_none() {
            at = at.min(self.connect_by);
        }
        for due in [self.first_picture_due, self.heartbeat_due, self.closed_due]
            .into_iter()
            .flatten()
        {
            at = at.min(due);
        }
        if let (Some(due), false) = (self.verify_by, self.verified) {
            at = at.min(due);
        }
        at
    }

    /// Handle one event at `now`.
    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Action> {
        if self.stopped {
            return Vec::new();
        }
        let actions = match event {
            Event::Command(command) => self.on_command(command),
            Event::Peer(event) => self.on_peer(now, event),
            Event::LocalCandidate(candidate) => vec![Action::Signal(ViewerToServer::Ice(IceMsg {
                session_id: self.session_id.clone(),
                candidate,
            }))],
            // The signaling connection on the old address is dead: get a
            // new one now, and ask the host for an ICE restart (it goes out
            // once the session is resumed), as neither side's ICE will
            // notice for seconds.
            Event::AddressRemoved => vec![
                Action::ReplaceLink("a local address was removed"),
                Action::Signal(ViewerToServer::RestartIce {
                    session_id: self.session_id.clone(),
                }),
            ],
            Event::Link(event) => self.on_link(event),
            Event::RestartAnswered(sdp) => {
                tracing::info!("answering the host's ICE restart");
                vec![Action::Signal(ViewerToServer::Answer(SdpMsg {
                    session_id: self.session_id.clone(),
                    sdp,
                }))]
            }
            Event::Stats(stats) => vec![Action::Notify(Notice::Stats(stats))],
            Event::Tick => self.on_tick(now),
        };
        if actions.iter().any(|a| matches!(a, Action::Stop(_))) {
            self.stopped = true;
        }
        actions
    }

    /// What ending for `stop` does.
    pub fn finish(&self, stop: Stop) -> Ending {
        let (end_reason, result) = match stop {
            Stop::Closed => (Some(EndReason::ViewerClosed), Ok(())),
            Stop::Failed(e) => (Some(EndReason::ConnectionFailed), Err(e)),
            Stop::EndedRemotely(e) => (None, Err(e)),
        };
        Ending {
            release_input: self.input_open() && self.may_send_input,
            end_reason,
            result,
        }
    }

    fn on_command(&mut self, command: SessionCommand) -> Vec<Action> {
        match command {
            SessionCommand::Input(_) if !self.may_send_input => Vec::new(),
            SessionCommand::Input(msg) if self.input_open() => vec![Action::SendInput(msg)],
            SessionCommand::Input(msg) => {
                // Input before the channels open and the binding is
                // verified waits for both.
                if self.early_input.len() < EARLY_INPUT_LIMIT {
                    self.early_input.push(msg);
                }
                Vec::new()
            }
            SessionCommand::RequestKeyframe => vec![self.keyframe_request()],
            SessionCommand::FirstPicture => {
                self.pictured = true;
                self.first_picture_due = None;
                Vec::new()
            }
            SessionCommand::Close => vec![Action::Stop(Stop::Closed)],
        }
    }

    fn on_peer(&mut self, now: Instant, event: ViewerEvent) -> Vec<Action> {
        match event {
            ViewerEvent::Connected {
                candidate_pair_type,
            } => {
                tracing::info!(candidate = %candidate_pair_type, "connected");
                self.connected_at.get_or_insert(now);
                if !self.pictured {
                    self.first_picture_due = Some(now + FIRST_PICTURE_WAIT);
                }
                vec![Action::Notify(Notice::Connected(candidate_pair_type))]
            }
            ViewerEvent::ChannelsReady => {
                self.channels_ready = true;
                if !self.verified {
                    self.verify_by = Some(now + VERIFY_TIMEOUT);
                }
                let mut actions = self.flush_input(now);
                actions.push(Action::Notify(Notice::ChannelsReady));
                actions
            }
            ViewerEvent::ControlMessage(text) => self.on_control(now, &text),
            ViewerEvent::Disconnected => {
                tracing::warn!("connection interrupted");
                // Maybe our network changed: the signaling connection must
                // prove it still works, or be replaced, so the host's ICE
                // restart can reach us.
                vec![Action::CheckLink]
            }
            ViewerEvent::Failed if !self.verified => {
                vec![Action::Stop(Stop::Failed(ViewerError::NotVerified(
                    "the connection failed before the remote PC proved its identity".into(),
                )))]
            }
            ViewerEvent::Failed => vec![Action::Stop(Stop::Failed(ViewerError::ConnectionFailed(
                "the WebRTC connection was lost".into(),
            )))],
            ViewerEvent::Closed => {
                self.closed_due.get_or_insert(now + PEER_CLOSE_GRACE);
                Vec::new()
            }
            other => {
                tracing::debug!(?other, "peer event");
                Vec::new()
            }
        }
    }

    /// Whether input goes out now: the channels are open and the host
    /// proved it holds the device's key.
    fn input_open(&self) -> bool {
        self.channels_ready && self.verified
    }

    /// Input held until [`Self::input_open`], once it is.
    fn flush_input(&mut self, now: Instant) -> Vec<Action> {
        if !self.input_open() {
            return Vec::new();
        }
        if self.may_send_input {
            self.heartbeat_due.get_or_insert(now + HEARTBEAT);
        }
        self.early_input.drain(..).map(Action::SendInput).collect()
    }

    /// A control message from the host: whether it sends sound, or its
    /// DTLS binding, checked once.
    fn on_control(&mut self, now: Instant, text: &str) -> Vec<Action> {
        match HostControlMsg::decode(text) {
            Ok(HostControlMsg::Sound { available, reason }) => {
                return vec![Action::Notify(Notice::Sound { available, reason })];
            }
            Ok(HostControlMsg::Quality(quality)) => {
                tracing::debug!(?quality, "video quality");
                return vec![Action::Notify(Notice::Quality(quality))];
            }
            _ => {}
        }
        let Some(checked) = self.verifier.check(text) else {
            tracing::debug!("control message from the host ignored");
            return Vec::new();
        };
        if self.verified {
            // Sent again after an ICE restart; DTLS kept its certificates.
            if let Err(e) = checked {
                tracing::warn!(error = %e, "a later binding did not verify");
            }
            return Vec::new();
        }
        match checked {
            Ok(()) => {
                self.verified = true;
                let safety_code = self.verifier.safety_code();
                tracing::info!(%safety_code, "remote PC verified");
                let mut actions = vec![Action::Notify(Notice::Verified { safety_code })];
                actions.extend(self.flush_input(now));
                actions
            }
            Err(e) => vec![Action::Stop(Stop::Failed(ViewerError::NotVerified(e)))],
        }
    }

    fn on_link(&mut self, event: LinkEvent) -> Vec<Action> {
        let msg = match event {
            LinkEvent::Message(msg) => msg,
            LinkEvent::Resumed => return Vec::new(),
            // Media may still flow, but nobody can reach us for an ICE
            // restart or the session's end any more.
            LinkEvent::Failed(e) => return vec![Action::Stop(Stop::Failed(e))],
        };
        let sid = self.session_id.as_str();
        match msg {
            ServerToViewer::Ice(ice) if ice.session_id == sid => {
                vec![Action::AddCandidate(ice.candidate)]
            }
            // The host restarted ICE (a network changed): answer it like
            // the first offer; the session carries on.
            ServerToViewer::Offer(offer) if offer.session_id == sid => {
                vec![Action::AnswerRestart(offer.sdp)]
            }
            // The host gave up on a connection that never carried its
            // binding (our DTLS refused its certificate, say).
            ServerToViewer::SessionEnd(end)
                if end.session_id == sid
                    && end.reason == EndReason::ConnectionFailed
                    && !self.verified =>
            {
                vec![Action::Stop(Stop::EndedRemotely(ViewerError::NotVerified(
                    "the connection failed before the remote PC proved its identity".into(),
                )))]
            }
            ServerToViewer::SessionEnd(end) if end.session_id == sid => vec![Action::Stop(
                Stop::EndedRemotely(ViewerError::Ended(end.reason)),
            )],
            ServerToViewer::Error(e) if e.session_id.as_deref() == Some(sid) => {
                tracing::warn!(code = ?e.code, message = %e.message, "server error for this session");
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        if self.closed_due.is_some_and(|due| now >= due) {
            return vec![Action::Stop(Stop::EndedRemotely(ViewerError::Ended(
                EndReason::HostClosed,
            )))];
        }
        if self.connected_at.is_none() && now >= self.connect_by {
            return vec![Action::Stop(Stop::Failed(ViewerError::ConnectionFailed(
                format!(
                    "could not verify the remote PC: no secure connection to it within {} s \
                     (blocked by a firewall?, or the DTLS fingerprint relayed by the server \
                     is not the remote PC's)",
                    CONNECT_TIMEOUT.as_secs()
                ),
            )))];
        }
        if !self.verified && self.verify_by.is_some_and(|by| now >= by) {
            return vec![Action::Stop(Stop::Failed(ViewerError::NotVerified(
                format!(
                "the remote PC did not prove its identity within {} s (no DTLS binding signature)",
                VERIFY_TIMEOUT.as_secs()
            ),
            )))];
        }
        let mut actions = Vec::new();
        if self.first_picture_due.is_some_and(|due| now >= due) {
            tracing::info!("no picture yet: asking for a keyframe");
            actions.push(self.keyframe_request());
            self.first_picture_due = Some(now + FIRST_PICTURE_WAIT);
        }
        if now >= self.stats_due {
            actions.push(Action::SampleStats);
            self.stats_due = now + STATS_EVERY;
        }
        if self.heartbeat_due.is_some_and(|due| now >= due) {
            actions.push(Action::SendInput(InputMsg::Heartbeat));
            self.heartbeat_due = Some(now + HEARTBEAT);
        }
        actions
    }

    /// On the control channel (the documented way), or with RTCP PLI
    /// before the channel is open.
    fn keyframe_request(&self) -> Action {
        Action::RequestKeyframe {
            control: self.channels_ready,
        }
    }
}
