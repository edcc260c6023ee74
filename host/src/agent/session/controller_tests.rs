//! The session controller through the cases that otherwise need a real
//! WebRTC session, a viewer and a changing network.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use meshdesk_peer::{CandidatePairType, HostEvent};
use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::{EndReason, HostToServer};
use tokio::time::Instant;

use super::controller::{Action, Controller, Event, VANISH_TIMEOUT};
use super::SessionIn;
use crate::agent::restart::RETRY;
use crate::media::grab::GrabArea;
use crate::media::{EncodedFrame, StageTimings};

fn frame(pts_ms: u64, keyframe: bool) -> Arc<EncodedFrame> {
    Arc::new(EncodedFrame {
        data: Bytes::from_static(&[0, 0, 0, 1, 0x65]),
        keyframe,
        width: 1280,
        height: 720,
        captured_at: std::time::Instant::now(),
        pts: Duration::from_millis(pts_ms),
        sequence: pts_ms,
        timings: StageTimings::default(),
        quality: crate::media::Quality {
            bitrate_bps: 4_000_000,
            fps: 30,
            scale: 1,
        },
    })
}

fn connected() -> Event {
    Event::Peer(HostEvent::Connected {
        candidate_pair_type: CandidatePairType::Host,
    })
}

/// A controller whose viewer has connected once, with `permission`.
fn running(permission: Permission, t0: Instant) -> Controller {
    let mut c = Controller::new("s1".into(), permission, GrabArea::whole(1280, 720));
    assert_eq!(c.handle(t0, connected()), vec![Action::Subscribe]);
    c
}

/// Send one frame through and report it written.
fn send_frame(c: &mut Controller, now: Instant, pts_ms: u64, keyframe: bool) {
    let actions = c.handle(
        now,
        Event::Frame {
            frame: frame(pts_ms, keyframe),
            screen: GrabArea::whole(1280, 720),
        },
    );
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::WriteFrame { .. })));
    c.handle(
        now,
        Event::FrameWritten {
            keyframe,
            sent: true,
        },
    );
}

/// `actions` without the quality reports a frame may bring.
fn without_reports(actions: Vec<Action>) -> Vec<Action> {
    actions
        .into_iter()
        .filter(|a| !matches!(a, Action::SendQuality(_)))
        .collect()
}

fn offers(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Send(HostToServer::Offer(_))))
        .count()
}

#[test]
fn a_session_accepts_then_offers_and_streams_once_connected() {
    let t0 = Instant::now();
    let mut c = Controller::new("s1".into(), Permission::Control, GrabArea::whole(1280, 720));
    assert_eq!(
        c.start(),
        vec![Action::Send(HostToServer::SessionAccept {
            session_id: "s1".into()
        })]
    );
    assert_eq!(offers(&c.handle(t0, Event::Offered("v=0".into()))), 1);
    assert_eq!(
        c.handle(t0, Event::Signal(SessionIn::Answer("answer".into()))),
        vec![Action::ApplyAnswer("answer".into())]
    );
    assert_eq!(c.handle(t0, connected()), vec![Action::Subscribe]);
    assert_eq!(c.handle(t0, connected()), vec![], "subscribed once only");
}

#[test]
fn a_keyframe_request_storm_on_a_static_screen_is_cut_off() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let storm = || Event::Peer(HostEvent::KeyframeRequested);
    let mut keyframes = 0;
    // Chromium asks every 3 s or so (an IDR per round trip at most is
    // another rule, tested in keyframes.rs).
    for i in 0..10 {
        let at = t0 + Duration::from_secs(3 * i);
        if c.handle(at, storm()) == vec![Action::RequestKeyframe] {
            keyframes += 1;
            send_frame(&mut c, at, i * 33, true);
        }
    }
    assert_eq!(
        keyframes, 3,
        "the first keyframe and two re-sends, then no more"
    );
    // The viewer's own request on the control channel always counts.
    let asked = c.handle(
        t0,
        Event::Peer(HostEvent::ControlMessage(
            r#"{"type":"request_keyframe"}"#.into(),
        )),
    );
    assert_eq!(asked, vec![Action::RequestKeyframe]);
    // A change on the screen makes RTCP requests count again.
    let later = t0 + Duration::from_secs(40);
    send_frame(&mut c, later, 500, false);
    assert_eq!(c.handle(later, storm()), vec![Action::RequestKeyframe]);
}

#[test]
fn a_viewer_can_turn_rtcp_keyframe_requests_off() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let off = r#"{"type":"rtcp_keyframe_requests","enabled":false}"#;
    c.handle(t0, Event::Peer(HostEvent::ControlMessage(off.into())));
    assert_eq!(
        c.handle(t0, Event::Peer(HostEvent::KeyframeRequested)),
        vec![]
    );
}

#[test]
fn a_malformed_control_message_is_counted_and_the_session_goes_on() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let bad = c.handle(t0, Event::Peer(HostEvent::ControlMessage("{nope".into())));
    assert_eq!(bad, vec![]);
    assert_eq!(c.counters().rejected_control, 1);
    assert_eq!(c.handle(t0, connected()), vec![], "still running");
}

#[test]
fn ice_disconnect_restarts_at_once_then_recovers() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let lost = c.handle(t0, Event::Peer(HostEvent::Disconnected));
    assert_eq!(lost, vec![Action::ReleaseInput, Action::PathLost]);
    assert_eq!(c.deadline(), Some(t0), "the restart is due at once");
    assert_eq!(
        c.handle(t0, Event::Tick),
        vec![Action::RestartIce { attempt: 1 }]
    );
    assert_eq!(
        offers(&c.handle(t0, Event::Offered("v=0 restart".into()))),
        1
    );
    // Still disconnected: retried after RETRY, not before.
    assert_eq!(c.handle(t0 + RETRY / 2, Event::Tick), vec![]);
    assert_eq!(
        c.handle(t0 + RETRY, Event::Tick),
        vec![Action::RestartIce { attempt: 2 }]
    );
    // The new path works: no more restarts, no vanish deadline.
    assert_eq!(
        c.handle(t0 + RETRY, connected()),
        vec![],
        "no second subscribe"
    );
    assert_eq!(c.deadline(), None);
    assert_eq!(c.handle(t0 + VANISH_TIMEOUT * 2, Event::Tick), vec![]);
}

#[test]
fn a_session_without_connectivity_ends_after_the_vanish_timeout() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    c.handle(t0, Event::Peer(HostEvent::Disconnected));
    let mut now = t0;
    let mut restarts = 0;
    while now < t0 + VANISH_TIMEOUT - RETRY {
        let actions = c.handle(now, Event::Tick);
        restarts += actions
            .iter()
            .filter(|a| matches!(a, Action::RestartIce { .. }))
            .count();
        now = c.deadline().expect("a deadline while disconnected");
    }
    assert!(restarts >= 10, "kept trying: {restarts}");
    let end = c.handle(t0 + VANISH_TIMEOUT, Event::Tick);
    assert_eq!(end, vec![Action::End(Some(EndReason::ConnectionFailed))]);
    assert_eq!(c.handle(t0 + VANISH_TIMEOUT, connected()), vec![], "over");
}

#[test]
fn signaling_back_after_a_loss_offers_the_restart_again_at_once() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    c.handle(t0, Event::Peer(HostEvent::Disconnected));
    assert_eq!(
        c.handle(t0, Event::Tick),
        vec![Action::RestartIce { attempt: 1 }]
    );
    // That offer may have died with the old signaling connection.
    let back = t0 + Duration::from_millis(300);
    c.handle(back, Event::Signal(SessionIn::SignalingRestored));
    assert_eq!(c.deadline(), Some(back));
    assert_eq!(
        c.handle(back, Event::Tick),
        vec![Action::RestartIce { attempt: 2 }]
    );
}

#[test]
fn a_lost_local_address_restarts_once_signaling_is_back() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    c.handle(t0, Event::Signal(SessionIn::NetworkChanged));
    assert_eq!(c.deadline(), None, "no offer can leave yet");
    let back = t0 + Duration::from_millis(400);
    c.handle(back, Event::Signal(SessionIn::SignalingRestored));
    assert_eq!(
        c.handle(back, Event::Tick),
        vec![Action::RestartIce { attempt: 1 }]
    );
}

#[test]
fn a_viewer_restart_request_is_taken_but_not_in_a_loop() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    c.handle(t0, Event::Signal(SessionIn::RestartRequested));
    assert_eq!(
        c.handle(t0, Event::Tick),
        vec![Action::RestartIce { attempt: 1 }]
    );
    c.handle(t0, connected());
    let soon = t0 + Duration::from_millis(100);
    c.handle(soon, Event::Signal(SessionIn::RestartRequested));
    assert_eq!(c.deadline(), None, "ignored: one was just made");
}

#[test]
fn a_view_only_grant_injects_nothing() {
    let t0 = Instant::now();
    let mut c = running(Permission::View, t0);
    let click = r#"{"type":"pointer_button","button":"left","down":true,"x":0.5,"y":0.5}"#;
    for _ in 0..3 {
        assert_eq!(
            c.handle(t0, Event::Peer(HostEvent::InputMessage(click.into()))),
            vec![]
        );
    }
    assert_eq!(c.counters().dropped_view_only, 3);
    let mut control = running(Permission::Control, t0);
    assert_eq!(
        control.handle(t0, Event::Peer(HostEvent::InputMessage(click.into()))),
        vec![Action::Inject(click.into())]
    );
}

#[test]
fn a_screen_resize_mid_session_moves_input_before_the_next_frame() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    send_frame(&mut c, t0, 0, true);
    let actions = c.handle(
        t0,
        Event::Frame {
            frame: frame(33, true),
            screen: GrabArea::whole(800, 600),
        },
    );
    assert_eq!(actions[0], Action::SetScreen(GrabArea::whole(800, 600)));
    assert!(matches!(actions[1], Action::WriteFrame { .. }));
    assert_eq!(c.screen(), GrabArea::whole(800, 600));
    let again = c.handle(
        t0,
        Event::Frame {
            frame: frame(66, false),
            screen: GrabArea::whole(800, 600),
        },
    );
    assert_eq!(again.len(), 1, "no second SetScreen: {again:?}");
}

#[test]
fn choosing_another_screen_switches_and_its_first_keyframe_is_sent_twice() {
    let t0 = Instant::now();
    let mut c = running(Permission::View, t0);
    let chose = c.handle(
        t0,
        Event::Peer(HostEvent::ControlMessage(
            r#"{"type":"select_screen","id":"B"}"#.into(),
        )),
    );
    assert_eq!(
        chose,
        [Action::SwitchScreen("B".into())],
        "a view session may look at B"
    );
    let b = GrabArea {
        x: 1280,
        y: 0,
        width: 1024,
        height: 768,
    };
    let first = c.handle(
        t0,
        Event::Frame {
            frame: frame(40, true),
            screen: b,
        },
    );
    // The session's first frame also tells the viewer its quality.
    let first = without_reports(first);
    assert_eq!(first[0], Action::SetScreen(b), "input moves to B first");
    assert!(matches!(first[1], Action::WriteFrame { .. }));
    assert_eq!(
        first[2],
        Action::RequestKeyframe,
        "a second IDR of B: {first:?}"
    );
    let next = c.handle(
        t0,
        Event::Frame {
            frame: frame(80, true),
            screen: b,
        },
    );
    assert_eq!(next.len(), 1, "only once per switch: {next:?}");
    let bad = c.handle(
        t0,
        Event::Peer(HostEvent::ControlMessage(
            r#"{"type":"select_screen","id":""}"#.into(),
        )),
    );
    assert!(bad.is_empty(), "an empty id is refused: {bad:?}");
}

#[test]
fn frames_last_until_the_next_timestamp() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let duration = |c: &mut Controller, pts| match without_reports(c.handle(
        t0,
        Event::Frame {
            frame: frame(pts, false),
            screen: GrabArea::whole(1280, 720),
        },
    ))
    .pop()
    {
        Some(Action::WriteFrame { duration, .. }) => duration,
        other => panic!("expected a frame, got {other:?}"),
    };
    assert_eq!(duration(&mut c, 100), Duration::from_millis(33), "first");
    assert_eq!(duration(&mut c, 150), Duration::from_millis(50));
    assert_eq!(duration(&mut c, 150), Duration::from_millis(33), "same pts");
}

#[test]
fn a_refused_first_answer_ends_the_session_but_a_stale_restart_answer_does_not() {
    let t0 = Instant::now();
    let mut first = Controller::new("s1".into(), Permission::Control, GrabArea::whole(1280, 720));
    assert_eq!(
        first.handle(t0, Event::AnswerRefused("bad sdp".into())),
        vec![Action::End(Some(EndReason::ConnectionFailed))]
    );
    let mut restarted = running(Permission::Control, t0);
    assert_eq!(
        restarted.handle(t0, Event::AnswerRefused("stale".into())),
        vec![]
    );
}

#[test]
fn the_end_from_the_server_tells_it_nothing_and_a_failed_link_says_why() {
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    assert_eq!(
        c.handle(t0, Event::Signal(SessionIn::End)),
        vec![Action::End(None)]
    );
    let mut c = running(Permission::Control, t0);
    assert_eq!(
        c.handle(t0, Event::Peer(HostEvent::Failed)),
        vec![Action::End(Some(EndReason::ConnectionFailed))]
    );
    let mut c = running(Permission::Control, t0);
    assert_eq!(
        c.handle(t0, Event::MediaStopped("display gone".into())),
        vec![Action::End(Some(EndReason::ConnectionFailed))]
    );
}

#[test]
fn a_viewer_gone_silent_or_closing_its_input_leaves_nothing_pressed() {
    use meshdesk_protocol::input::{HEARTBEAT, HOLD_SILENCE};
    let t0 = Instant::now();
    let mut c = running(Permission::Control, t0);
    let key = r#"{"type":"key","code":"ShiftLeft","down":true}"#;
    let input = |s: &str| Event::Peer(HostEvent::InputMessage(s.into()));
    assert_eq!(c.handle(t0, input(key)), vec![Action::Inject(key.into())]);
    // Heartbeats keep the hold.
    let beat = r#"{"type":"heartbeat"}"#;
    c.handle(t0 + HEARTBEAT, input(beat));
    assert!(!c
        .handle(t0 + HOLD_SILENCE, Event::Tick)
        .contains(&Action::ReleaseInput));
    // Then the viewer is killed: silence releases, once, within 2 s.
    let deadline = c.deadline().expect("the hold is watched");
    assert_eq!(deadline, t0 + HEARTBEAT + HOLD_SILENCE);
    assert!(deadline - (t0 + HEARTBEAT) < Duration::from_secs(2));
    assert_eq!(c.handle(deadline, Event::Tick), vec![Action::ReleaseInput]);
    assert!(c.handle(deadline + HOLD_SILENCE, Event::Tick).is_empty());
    // A closed input channel releases at once.
    c.handle(deadline, input(key));
    assert_eq!(
        c.handle(deadline, Event::Peer(HostEvent::InputClosed)),
        vec![Action::ReleaseInput]
    );
    // A view session is never watched: it sends no input.
    let mut v = running(Permission::View, t0);
    v.handle(t0, input(key));
    assert_eq!(v.deadline(), None);
}

#[test]
fn the_viewer_hears_whether_there_is_sound_when_the_channels_open() {
    let t0 = Instant::now();
    let mut c = running(Permission::View, t0);
    let ready = c.handle(t0, Event::Peer(HostEvent::ChannelsReady));
    assert!(ready.contains(&Action::SendSound), "{ready:?}");
    let control = |c: &mut Controller, text: &str| {
        c.handle(t0, Event::Peer(HostEvent::ControlMessage(text.into())))
    };
    assert_eq!(
        control(&mut c, r#"{"type":"sound_channel","enabled":true}"#),
        [Action::SoundChannel(true)]
    );
    assert_eq!(
        control(&mut c, r#"{"type":"sound_channel","enabled":false}"#),
        [Action::SoundChannel(false)]
    );
    assert!(control(&mut c, r#"{"type":"sound_channel","enabled":"yes"}"#).is_empty());
}

#[test]
fn the_estimate_drives_the_encoder_only_when_adaptive_and_the_viewer_hears_it() {
    let t0 = Instant::now();
    let estimate = Event::Estimate(meshdesk_peer::Estimate {
        target_bps: 1_500_000,
        queue_ms: Some(70),
        rtt_ms: Some(40),
        loss: Some(0.0),
    });
    let mut c = running(Permission::View, t0);
    send_frame(&mut c, t0, 0, true);
    let actions = c.handle(t0 + Duration::from_secs(2), estimate);
    assert_eq!(actions[0], Action::AskBitrate(1_500_000), "{actions:?}");
    match &actions[1] {
        Action::SendQuality(q) => assert_eq!((q.estimate_kbps, q.adaptive), (Some(1500), true)),
        other => panic!("expected a report, got {other:?}"),
    }
    // Another screen's pipeline hears the same ask.
    let select = r#"{"type":"select_screen","id":"B"}"#;
    let switched = c.handle(t0, Event::Peer(HostEvent::ControlMessage(select.into())));
    assert_eq!(
        switched,
        [
            Action::SwitchScreen("B".into()),
            Action::AskBitrate(1_500_000)
        ]
    );

    let mut fixed = running(Permission::View, t0).adaptive(false);
    send_frame(&mut fixed, t0, 0, true);
    let estimate = Event::Estimate(meshdesk_peer::Estimate {
        target_bps: 1_500_000,
        queue_ms: Some(70),
        rtt_ms: Some(40),
        loss: Some(0.0),
    });
    let actions = fixed.handle(t0 + Duration::from_secs(2), estimate);
    assert!(
        !actions.iter().any(|a| matches!(a, Action::AskBitrate(_))),
        "{actions:?}"
    );
    let switched = fixed.handle(t0, Event::Peer(HostEvent::ControlMessage(select.into())));
    assert_eq!(switched, [Action::SwitchScreen("B".into())]);
}
