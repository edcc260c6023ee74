//! The monitors of a real X server: TigerVNC's Xvnc, whose RandR keeps
//! monitors set with `xrandr --setmonitor` (Xvfb keeps none), and Xvfb,
//! which counts as one whole-screen monitor.

use std::time::Duration;

use meshdesk_host::media::monitors::{Monitor, MonitorWatcher, WHOLE_SCREEN_ID};
use meshdesk_xtest::{wait_for, Xvfb};

fn ids(monitors: &[Monitor]) -> Vec<(String, i16, i16, u16, u16, bool)> {
    monitors
        .iter()
        .map(|m| (m.id.clone(), m.x, m.y, m.width, m.height, m.primary))
        .collect()
}

#[test]
fn xvfb_is_one_monitor() {
    let x = Xvfb::start(640, 480);
    let watcher = MonitorWatcher::connect(Some(x.display())).expect("connect");
    let monitors = watcher.monitors().expect("monitors");
    assert_eq!(
        ids(&monitors),
        [(WHOLE_SCREEN_ID.to_string(), 0, 0, 640, 480, true)]
    );
}

#[test]
fn two_randr_monitors_are_read_and_a_change_is_heard() {
    let x = Xvfb::start_xvnc(2304, 768);
    let watcher = MonitorWatcher::connect(Some(x.display())).expect("connect");
    x.add_two_monitors();
    wait_for("a RandR change", Duration::from_secs(5), || {
        watcher.changed().expect("events").then_some(())
    });
    let monitors = watcher.monitors().expect("monitors");
    assert_eq!(
        ids(&monitors),
        [
            ("A".to_string(), 0, 0, 1280, 720, true),
            ("B".to_string(), 1280, 0, 1024, 768, false),
        ]
    );
    x.run("xrandr", &["--delmonitor", "B"]);
    wait_for("the removal heard", Duration::from_secs(5), || {
        watcher.changed().expect("events").then_some(())
    });
    assert_eq!(watcher.monitors().expect("monitors").len(), 1);
}
