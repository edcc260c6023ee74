//! The session controller through the cases that otherwise need a real
//! WebRTC session, a server and a changing network.

use std::time::Duration;

use meshdesk_peer::{CandidatePairType, PeerStats, ViewerEvent};
use meshdesk_protocol::input::{InputMsg, MouseButton};
use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::{
    EndReason, IceCandidate, IceMsg, SdpMsg, ServerToViewer, SessionEndMsg, ViewerToServer,
};
use tokio::time::Instant;

use super::controller::{
    Action, Controller, Event, Stop, CONNECT_TIMEOUT, EARLY_INPUT_LIMIT, FIRST_PICTURE_WAIT,
    PEER_CLOSE_GRACE, STATS_EVERY, VERIFY_TIMEOUT,
};
use super::link::LinkEvent;
use super::verify::tests::{binding, device_key, verifier, OFFER};
use super::{Notice, SessionCommand};
use crate::ViewerError;

fn click(down: bool) -> InputMsg {
    InputMsg::PointerButton {
        button: MouseButton::Left,
        down,
        x: 0.5,
        y: 0.5,
    }
}

fn connected() -> Event {
    Event::Peer(ViewerEvent::Connected {
        candidate_pair_type: CandidatePairType::Host,
    })
}

fn input(msg: InputMsg) -> Event {
    Event::Command(SessionCommand::Input(msg))
}

fn from_server(msg: ServerToViewer) -> Event {
    Event::Link(LinkEvent::Message(msg))
}

fn sent_inputs(actions: &[Action]) -> Vec<InputMsg> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendInput(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn keyframe_requests(actions: &[Action]) -> Vec<bool> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RequestKeyframe { control } => Some(*control),
            _ => None,
        })
        .collect()
}

/// A session that connected and opened its channels at `t0`.
fn running(permission: Permission, t0: Instant) -> Controller {
    let mut c = Controller::new("s1".into(), permission, verifier("s1"), t0);
    c.handle(t0, connected());
    c.handle(t0, verified());
    c.handle(t0, Event::Peer(ViewerEvent::ChannelsReady));
    c.handle(t0, Event::Command(SessionCommand::FirstPicture));
    c
}

/// The host's valid DTLS binding, on the control channel.
fn verified() -> Event {
    Event::Peer(ViewerEvent::ControlMessage(binding(
        &device_key(),
        "s1",
        OFFER,
    )))
}

#[test]
fn input_before_the_channels_open_waits_and_then_goes_out_in_order() {
    let t0 = Instant::now();
    let mut c = Controller::new("s1".into(), Permission::Control, verifier("s1"), t0);
    assert!(c.handle(t0, input(click(true))).is_empty());
    assert!(c.handle(t0, input(click(false))).is_empty());
    c.handle(t0, verified());
    let opened = c.handle(t0, Event::Peer(ViewerEvent::ChannelsReady));
    assert_eq!(sent_inputs(&opened), vec![click(true), click(false)]);
    assert!(matches!(
        opened.last(),
        Some(Action::Notify(Notice::ChannelsReady))
    ));
    assert_eq!(
        sent_inputs(&c.handle(t0, input(click(true)))),
        vec![click(true)],
        "straight out once open"
    );
}

#[test]
fn early_input_is_bounded() {
    let t0 = Instant::now();
    let mut c = Controller::new("s1".into(), Permission::Control, verifier("s1"), t0);
    for _ in 0..EARLY_INPUT_LIMIT + 50 {
        c.handle(t0, input(click(true)));
    }
    c.handle(t0, verified());
    let opened = c.handle(t0, Event::Peer(ViewerEvent::ChannelsReady));
    assert_eq!(sent_inputs(&opened).len(), EARLY_INPUT_LIMIT);
}

#[test]
fn a_view_only_grant_sends_no_input_and_releases_nothing() {
    let t0 = Instant::now();
    let mut c = running(Permission::View, t0);
    assert!(c.handle(t0, input(click(true))).is_empty());
    let ending = c.finish(Stop::Closed);
    assert!(!ending.release_input);
    assert_eq!(ending.end_reason, Some(EndReason::ViewerClosed));
    assert!(ending.result.is_ok());
}

#[test]
fn closing_releases_held_input_and_says_the_viewer_closed() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let close = c.handle(t0, Event::Command(SessionCommand::Close));
    let Some(Action::Stop(stop)) = close.into_iter().next() else {
        panic!("close stops the session");
    };
    let ending = c.finish(stop);
    assert!(ending.release_input);
    assert_eq!(ending.end_reason, Some(EndReason::ViewerClosed));
    assert!(
        c.handle(t0, input(click(true))).is_empty(),
        "nothing after the stop"
    );
}

#[test]
fn no_picture_after_connecting_asks_for_keyframes_until_one_comes() {
    let t0 = Instant::now();
    let mut c = Controller::new("s1".into(), Permission::Control, verifier("s1"), t0);
    c.handle(t0, Event::Tick); // the first stats sample
    c.handle(t0, connected());
    // Before the channels open the request goes out as RTCP PLI.
    let first = t0 + FIRST_PICTURE_WAIT;
    assert_eq!(c.deadline(), first);
    assert_eq!(
        keyframe_requests(&c.handle(first, Event::Tick)),
        vec![false]
    );
    c.handle(first, Event::Peer(ViewerEvent::ChannelsReady));
    let second = first + FIRST_PICTURE_WAIT;
    assert_eq!(
        keyframe_requests(&c.handle(second, Event::Tick)),
        vec![true]
    );
    c.handle(second, Event::Command(SessionCommand::FirstPicture));
    let later = second + FIRST_PICTURE_WAIT * 3;
    assert!(keyframe_requests(&c.handle(later, Event::Tick)).is_empty());
}

#[test]
fn a_keyframe_request_storm_from_the_decoder_goes_out_on_the_control_channel() {
    let t0 = Instant::now();
    let mut c = running(Permission::View, t0);
    for _ in 0..20 {
        let actions = c.handle(t0, Event::Command(SessionCommand::RequestKeyframe));
        assert_eq!(keyframe_requests(&actions), vec![true]);
    }
}

#[test]
fn ice_disconnect_checks_the_link_then_answers_the_hosts_restart() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let lost = c.handle(t0, Event::Peer(ViewerEvent::Disconnected));
    assert!(matches!(lost.as_slice(), [Action::CheckLink]));
    let offer = c.handle(
        t0,
        from_server(ServerToViewer::Offer(SdpMsg {
            session_id: "s1".into(),
            sdp: "restart offer".into(),
        })),
    );
    assert!(matches!(offer.as_slice(), [Action::AnswerRestart(sdp)] if sdp == "restart offer"));
    let answered = c.handle(t0, Event::RestartAnswered("answer".into()));
    assert!(matches!(
        answered.as_slice(),
        [Action::Signal(ViewerToServer::Answer(SdpMsg { session_id, sdp }))]
            if session_id == "s1" && sdp == "answer"
    ));
    let back = c.handle(t0 + Duration::from_secs(1), connected());
    assert!(matches!(
        back.as_slice(),
        [Action::Notify(Notice::Connected(CandidatePairType::Host))]
    ));
}

#[test]
fn a_lost_local_address_replaces_the_link_and_asks_for_a_restart() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let actions = c.handle(t0, Event::AddressRemoved);
    assert!(matches!(
        actions.as_slice(),
        [
            Action::ReplaceLink(_),
            Action::Signal(ViewerToServer::RestartIce { session_id })
        ] if session_id == "s1"
    ));
}

#[test]
fn a_resumed_link_carries_on_and_a_failed_resume_ends_with_its_reason() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    assert!(c.handle(t0, Event::Link(LinkEvent::Resumed)).is_empty());
    // Candidates of the host's restart still arrive after the resume.
    let candidate = IceCandidate {
        candidate: "candidate:1 1 udp 1 192.0.2.1 5000 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
        username_fragment: None,
    };
    let got = c.handle(
        t0,
        from_server(ServerToViewer::Ice(IceMsg {
            session_id: "s1".into(),
            candidate: candidate.clone(),
        })),
    );
    assert!(matches!(got.as_slice(), [Action::AddCandidate(c)] if *c == candidate));
    let failed = c.handle(
        t0,
        Event::Link(LinkEvent::Failed(ViewerError::NotResumed(
            "the server no longer has the session".into(),
        ))),
    );
    let Some(Action::Stop(stop)) = failed.into_iter().next() else {
        panic!("a failed resume stops the session");
    };
    let ending = c.finish(stop);
    assert_eq!(ending.end_reason, Some(EndReason::ConnectionFailed));
    assert!(matches!(ending.result, Err(ViewerError::NotResumed(_))));
}

#[test]
fn messages_for_other_sessions_change_nothing() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let other = c.handle(
        t0,
        from_server(ServerToViewer::SessionEnd(SessionEndMsg::new(
            "s2",
            EndReason::Revoked,
        ))),
    );
    assert!(other.is_empty());
    let mine = c.handle(
        t0,
        from_server(ServerToViewer::SessionEnd(SessionEndMsg::new(
            "s1",
            EndReason::Revoked,
        ))),
    );
    let Some(Action::Stop(stop)) = mine.into_iter().next() else {
        panic!("the end stops the session");
    };
    let ending = c.finish(stop);
    assert_eq!(
        ending.end_reason, None,
        "the server ended it: nothing to tell"
    );
    assert!(matches!(
        ending.result,
        Err(ViewerError::Ended(EndReason::Revoked))
    ));
}

#[test]
fn no_connection_within_the_timeout_fails_the_session() {
    let t0 = Instant::now();
    let mut c = Controller::new("s1".into(), Permission::Control, verifier("s1"), t0);
    let mut now = t0;
    while now < t0 + CONNECT_TIMEOUT {
        assert!(!c
            .handle(now, Event::Tick)
            .iter()
            .any(|a| matches!(a, Action::Stop(_))));
        now = c.deadline();
    }
    let late = c.handle(t0 + CONNECT_TIMEOUT, Event::Tick);
    assert!(matches!(
        late.as_slice(),
        [Action::Stop(Stop::Failed(ViewerError::ConnectionFailed(_)))]
    ));
}

#[test]
fn a_connected_session_has_no_connect_timeout() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let late = c.handle(t0 + CONNECT_TIMEOUT * 2, Event::Tick);
    assert!(!late.iter().any(|a| matches!(a, Action::Stop(_))));
}

#[test]
fn stats_are_sampled_every_second_and_reported() {
    let t0 = Instant::now();
    // A view session: no input heartbeats share the ticks.
    let mut c = running(Permission::View, t0);
    assert!(matches!(
        c.handle(t0, Event::Tick).as_slice(),
        [Action::SampleStats]
    ));
    assert_eq!(c.deadline(), t0 + STATS_EVERY);
    assert!(c.handle(t0 + STATS_EVERY / 2, Event::Tick).is_empty());
    let stats = PeerStats::default();
    let told = c.handle(t0, Event::Stats(stats.clone()));
    assert!(matches!(told.as_slice(), [Action::Notify(Notice::Stats(s))] if *s == stats));
}

#[test]
fn the_peer_closing_means_the_host_ended_it_unless_the_server_says_why() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    assert!(c.handle(t0, Event::Peer(ViewerEvent::Closed)).is_empty());
    assert!(c.deadline() <= t0 + PEER_CLOSE_GRACE);
    let closed = c.handle(t0 + PEER_CLOSE_GRACE, Event::Tick);
    assert!(matches!(
        closed.as_slice(),
        [Action::Stop(Stop::EndedRemotely(ViewerError::Ended(
            EndReason::HostClosed
        )))]
    ));
    // The server's reason, arriving within the grace, is the one given.
    let mut c = running(Permission::Control, t0);
    assert!(c.handle(t0, Event::Peer(ViewerEvent::Closed)).is_empty());
    let end = SessionEndMsg::new("s1", EndReason::ShareExpired);
    let told = c.handle(
        t0 + PEER_CLOSE_GRACE / 2,
        from_server(ServerToViewer::SessionEnd(end)),
    );
    assert!(matches!(
        told.as_slice(),
        [Action::Stop(Stop::EndedRemotely(ViewerError::Ended(
            EndReason::ShareExpired
        )))]
    ));
    let mut c = running(Permission::Control, t0);
    let failed = c.handle(t0, Event::Peer(ViewerEvent::Failed));
    assert!(matches!(failed.as_slice(), [Action::Stop(Stop::Failed(_))]));
}

#[test]
fn a_control_session_heartbeats_so_the_host_can_tell_it_vanished() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let step = meshdesk_protocol::input::HEARTBEAT;
    assert!(c.deadline() <= t0 + step);
    assert!(sent_inputs(&c.handle(t0 + step / 2, Event::Tick)).is_empty());
    assert_eq!(
        sent_inputs(&c.handle(t0 + step, Event::Tick)),
        vec![InputMsg::Heartbeat]
    );
    assert!(sent_inputs(&c.handle(t0 + step + step / 2, Event::Tick)).is_empty());
    assert_eq!(
        sent_inputs(&c.handle(t0 + step * 2, Event::Tick)),
        vec![InputMsg::Heartbeat]
    );
    // A view session sends nothing on the input channel, heartbeats included.
    let mut v = running(Permission::View, t0);
    for i in 1..10 {
        assert!(sent_inputs(&v.handle(t0 + step * i, Event::Tick)).is_empty());
    }
}

#[test]
fn no_input_goes_out_before_the_binding_is_verified() {
    let t0 = Instant::now();
    let mut c = Controller::new("s1".into(), Permission::Control, verifier("s1"), t0);
    c.handle(t0, connected());
    let opened = c.handle(t0, Event::Peer(ViewerEvent::ChannelsReady));
    assert!(sent_inputs(&opened).is_empty());
    assert!(sent_inputs(&c.handle(t0, input(click(true)))).is_empty());
    assert!(!c.finish(Stop::Closed).release_input, "nothing was sent");
    let checked = c.handle(t0, verified());
    assert!(matches!(
        checked.first(),
        Some(Action::Notify(Notice::Verified { safety_code })) if safety_code.len() == 14
    ));
    assert_eq!(sent_inputs(&checked), vec![click(true)], "held until now");
    assert_eq!(
        sent_inputs(&c.handle(t0, input(click(false)))),
        vec![click(false)]
    );
}

#[test]
fn a_binding_by_another_key_ends_the_session_and_sends_nothing() {
    let t0 = Instant::now();
    let mut c = Controller::new("s1".into(), Permission::Control, verifier("s1"), t0);
    c.handle(t0, Event::Peer(ViewerEvent::ChannelsReady));
    c.handle(t0, input(click(true)));
    let intruder = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let msg = binding(&intruder, "s1", OFFER);
    let out = c.handle(t0, Event::Peer(ViewerEvent::ControlMessage(msg)));
    assert!(sent_inputs(&out).is_empty());
    let [Action::Stop(Stop::Failed(e))] = out.as_slice() else {
        panic!("the session stops: {out:?}");
    };
    assert!(
        e.to_string()
            .starts_with("could not verify the remote PC: "),
        "{e}"
    );
}

#[test]
fn no_binding_within_the_timeout_ends_the_session() {
    let t0 = Instant::now();
    let mut c = Controller::new("s1".into(), Permission::Control, verifier("s1"), t0);
    c.handle(t0, connected());
    c.handle(t0, Event::Peer(ViewerEvent::ChannelsReady));
    c.handle(t0, Event::Command(SessionCommand::FirstPicture));
    let mut now = t0;
    while now < t0 + VERIFY_TIMEOUT {
        let out = c.handle(now, Event::Tick);
        assert!(!out.iter().any(|a| matches!(a, Action::Stop(_))));
        now = c.deadline();
    }
    let late = c.handle(t0 + VERIFY_TIMEOUT, Event::Tick);
    assert!(matches!(
        late.as_slice(),
        [Action::Stop(Stop::Failed(ViewerError::NotVerified(_)))]
    ));
}
