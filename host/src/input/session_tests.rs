//! Unit tests of [`InputSession`] against a recording sink.

use meshdesk_protocol::input::{InputMsg, MouseButton};
use meshdesk_protocol::rest::Permission;

use super::*;

fn screen() -> ScreenRect {
    ScreenRect::at_origin(1280, 720).unwrap()
}

fn session(permission: Permission) -> InputSession<RecordingSink> {
    InputSession::new(permission, screen(), RecordingSink::new())
}

fn key(code: &str, down: bool) -> InputMsg {
    InputMsg::Key {
        code: code.into(),
        down,
        text: None,
    }
}

fn button(button: MouseButton, down: bool) -> InputMsg {
    InputMsg::PointerButton {
        button,
        down,
        x: 0.5,
        y: 0.5,
    }
}

#[test]
fn pointer_move_lands_on_the_pixel() {
    let mut s = session(Permission::Control);
    let out = s.handle(InputMsg::PointerMove { x: 0.25, y: 0.5 });
    assert_eq!(out.unwrap(), Outcome::Injected);
    assert_eq!(s.sink().events, vec![SinkEvent::MoveTo(320, 360)]);
}

#[test]
fn view_only_injects_nothing_and_counts() {
    let mut s = session(Permission::View);
    let msgs = [
        InputMsg::PointerMove { x: 0.1, y: 0.1 },
        button(MouseButton::Left, true),
        key("ShiftLeft", true),
        InputMsg::Wheel { dx: 0.0, dy: 3.0 },
        InputMsg::ReleaseAll,
    ];
    for msg in msgs {
        assert_eq!(s.handle(msg).unwrap(), Outcome::DroppedViewOnly);
    }
    assert!(s.sink().events.is_empty());
    assert!(s.held().is_empty());
    assert_eq!(s.stats().dropped_view_only, 5);
    assert_eq!(s.stats().injected, 0);
}

#[test]
fn owner_may_control() {
    let mut s = session(Permission::Owner);
    assert_eq!(s.handle(key("KeyA", true)).unwrap(), Outcome::Injected);
}

#[test]
fn key_repeat_presses_again_and_stray_up_is_ignored() {
    let mut s = session(Permission::Control);
    s.handle(key("KeyA", true)).unwrap();
    s.handle(key("KeyA", true)).unwrap();
    s.handle(key("KeyA", false)).unwrap();
    assert_eq!(s.handle(key("KeyA", false)).unwrap(), Outcome::Ignored);
    assert_eq!(s.handle(key("KeyB", false)).unwrap(), Outcome::Ignored);
    let a = HostKey::Code(38);
    assert_eq!(
        s.sink().events,
        vec![
            SinkEvent::Key(a, Press::Down),
            SinkEvent::Key(a, Press::Down),
            SinkEvent::Key(a, Press::Up),
        ]
    );
    assert_eq!(s.stats().injected, 3);
    assert_eq!(s.stats().ignored, 2);
}

#[test]
fn unknown_code_types_text_or_is_rejected() {
    let mut s = session(Permission::Control);
    let with_text = InputMsg::Key {
        code: "IntlRo".into(),
        down: true,
        text: Some("ß".into()),
    };
    assert_eq!(s.handle(with_text).unwrap(), Outcome::Injected);
    assert_eq!(s.handle(key("IntlRo", false)).unwrap(), Outcome::Ignored);
    assert_eq!(
        s.handle(key("Bogus", true)).unwrap(),
        Outcome::Rejected(Rejection::UnknownKey)
    );
    assert_eq!(s.sink().events, vec![SinkEvent::Text("ß".into())]);
    assert_eq!(s.stats().rejected, 1);
    assert!(s.held().is_empty());
}

#[test]
fn malformed_text_is_rejected_and_session_goes_on() {
    let mut s = session(Permission::Control);
    for bad in [
        "",
        "{",
        r#"{"type":"teleport"}"#,
        r#"{"type":"pointer_move","x":2,"y":0}"#,
    ] {
        assert_eq!(
            s.handle_text(bad).unwrap(),
            Outcome::Rejected(Rejection::Malformed),
            "{bad}"
        );
    }
    let ok = s.handle_text(r#"{"type":"pointer_move","x":1.0,"y":1.0}"#);
    assert_eq!(ok.unwrap(), Outcome::Injected);
    assert_eq!(s.sink().events, vec![SinkEvent::MoveTo(1279, 719)]);
    assert_eq!(s.stats().rejected, 4);
}

#[test]
fn in_process_messages_are_validated_too() {
    let mut s = session(Permission::Control);
    let out = s.handle(InputMsg::PointerMove {
        x: f64::NAN,
        y: 0.0,
    });
    assert_eq!(out.unwrap(), Outcome::Rejected(Rejection::Malformed));
    assert!(s.sink().events.is_empty());
}

#[test]
fn button_press_moves_first_and_duplicates_do_not_press_twice() {
    let mut s = session(Permission::Control);
    s.handle(button(MouseButton::Left, true)).unwrap();
    s.handle(button(MouseButton::Left, true)).unwrap();
    s.handle(button(MouseButton::Left, false)).unwrap();
    s.handle(button(MouseButton::Left, false)).unwrap();
    let mv = SinkEvent::MoveTo(640, 360);
    assert_eq!(
        s.sink().events,
        vec![
            mv.clone(),
            SinkEvent::Button(MouseButton::Left, Press::Down),
            mv.clone(),
            mv.clone(),
            SinkEvent::Button(MouseButton::Left, Press::Up),
            mv,
        ]
    );
}

#[test]
fn wheel_accumulates_lines() {
    let mut s = session(Permission::Control);
    let wheel = |dx, dy| InputMsg::Wheel { dx, dy };
    assert_eq!(s.handle(wheel(0.0, 0.5)).unwrap(), Outcome::Ignored);
    assert_eq!(s.handle(wheel(-1.0, 0.5)).unwrap(), Outcome::Injected);
    assert_eq!(
        s.sink().events,
        vec![
            SinkEvent::Scroll(1, ScrollAxis::Vertical),
            SinkEvent::Scroll(-1, ScrollAxis::Horizontal),
        ]
    );
}

#[test]
fn release_all_releases_exactly_what_is_held() {
    let mut s = session(Permission::Control);
    s.handle(key("ControlLeft", true)).unwrap();
    s.handle(key("ShiftLeft", true)).unwrap();
    s.handle(key("KeyT", true)).unwrap();
    s.handle(key("KeyT", false)).unwrap();
    s.handle(button(MouseButton::Right, true)).unwrap();
    let before = s.sink().events.len();
    assert_eq!(s.handle(InputMsg::ReleaseAll).unwrap(), Outcome::Injected);
    assert_eq!(
        s.sink().events[before..],
        [
            SinkEvent::Button(MouseButton::Right, Press::Up),
            SinkEvent::Key(HostKey::Sym(Key::LShift), Press::Up),
            SinkEvent::Key(HostKey::Sym(Key::LControl), Press::Up),
        ]
    );
    assert!(s.held().is_empty());
    assert_eq!(s.handle(InputMsg::ReleaseAll).unwrap(), Outcome::Ignored);
}

#[test]
fn drop_releases_held_input() {
    let mut sink = RecordingSink::new();
    {
        let mut s = InputSession::new(Permission::Control, screen(), &mut sink);
        s.handle(key("ShiftLeft", true)).unwrap();
        s.handle(button(MouseButton::Left, true)).unwrap();
    }
    let tail = &sink.events[sink.events.len() - 2..];
    assert_eq!(
        tail,
        [
            SinkEvent::Button(MouseButton::Left, Press::Up),
            SinkEvent::Key(HostKey::Sym(Key::LShift), Press::Up),
        ]
    );
}

#[test]
fn losing_control_releases_and_then_drops_input() {
    let mut s = session(Permission::Control);
    s.handle(key("AltLeft", true)).unwrap();
    s.set_permission(Permission::View).unwrap();
    assert!(s.held().is_empty());
    assert_eq!(
        s.sink().events.last(),
        Some(&SinkEvent::Key(HostKey::Sym(Key::Alt), Press::Up))
    );
    assert_eq!(
        s.handle(key("AltLeft", true)).unwrap(),
        Outcome::DroppedViewOnly
    );
    assert_eq!(s.permission(), Permission::View);
}

#[test]
fn failed_press_stays_recorded_for_release() {
    let mut sink = RecordingSink::new();
    sink.fail = true;
    let mut s = InputSession::new(Permission::Control, screen(), sink);
    assert!(s.handle(key("ShiftLeft", true)).is_err());
    assert!(s.held().is_key_held(HostKey::Sym(Key::LShift)));
    assert_eq!(s.stats().failed, 1);
    // The display is gone: release-all reports it and still forgets.
    assert!(s.release_all().is_err());
    assert!(s.held().is_empty());
}

#[test]
fn session_with_enigo_sink_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<InputSession<EnigoSink>>();
}
