//! The monitors of the X screen, from RandR 1.5 (`RRGetMonitors`): name,
//! position, size and which is primary. A display without RandR monitors
//! (Xvfb, which has none) counts as one monitor covering the whole screen.
//!
//! [`MonitorWatcher`] keeps its own connection and hears RandR's screen,
//! CRTC and output notifications (a hot-plug, a mode change) and the root
//! window's `ConfigureNotify` (which is all a `--setmonitor` sends); the
//! agent re-reads the list on each.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::randr::{self, ConnectionExt as _, NotifyMask};
use x11rb::protocol::xproto::{ChangeWindowAttributesAux, ConnectionExt as _, EventMask, Window};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;

use crate::media::grab::GrabArea;
use crate::media::MediaError;

/// The id of the one monitor of a screen without RandR monitors.
pub const WHOLE_SCREEN_ID: &str = "screen";

/// One monitor: an area of the X screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    /// Stable id: RandR's monitor name (unique on a screen), which a
    /// viewer names to choose it.
    pub id: String,
    /// Left edge in X screen pixels.
    pub x: i16,
    /// Top edge in X screen pixels.
    pub y: i16,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// RandR's primary monitor.
    pub primary: bool,
}

impl Monitor {
    /// The area to capture.
    pub fn area(&self) -> GrabArea {
        GrabArea {
            x: self.x,
            y: self.y,
            width: self.width,
            height: self.height,
        }
    }
}

/// The monitors in a stable order: the primary first, then left to right,
/// top to bottom. Monitors lying partly outside the screen are clipped to
/// it (and to even sizes); empty ones are left out. Never empty: without RandR monitors, the
/// whole screen.
pub fn arrange(mut monitors: Vec<Monitor>, screen: (u16, u16)) -> Vec<Monitor> {
    let (sw, sh) = (i32::from(screen.0), i32::from(screen.1));
    monitors.retain_mut(|m| {
        let (x0, y0) = (i32::from(m.x).max(0), i32::from(m.y).max(0));
        let x1 = (i32::from(m.x) + i32::from(m.width)).min(sw);
        let y1 = (i32::from(m.y) + i32::from(m.height)).min(sh);
        if x1 <= x0 || y1 <= y0 {
            return false;
        }
        // The encoder takes even sizes: a stray odd column or row is left
        // out. All four fit in u16 / i16: they lie inside a screen of u16
        // size whose origin is 0.
        let (width, height) = ((x1 - x0) & !1, (y1 - y0) & !1);
        m.x = x0 as i16;
        m.y = y0 as i16;
        m.width = width as u16;
        m.height = height as u16;
        width > 0 && height > 0
    });
    if monitors.is_empty() {
        return vec![Monitor {
            id: WHOLE_SCREEN_ID.into(),
            x: 0,
            y: 0,
            width: screen.0,
            height: screen.1,
            primary: true,
        }];
    }
    if !monitors.iter().any(|m| m.primary) {
        monitors.sort_by_key(|m| (m.x, m.y));
        monitors[0].primary = true;
    }
    monitors.sort_by_key(|m| (!m.primary, m.x, m.y));
    monitors
}

/// Reads the monitors of `root` on `conn`.
fn read(conn: &RustConnection, root: Window) -> Result<Vec<Monitor>, MediaError> {
    let geometry = conn.get_geometry(root)?.reply()?;
    let screen = (geometry.width, geometry.height);
    if conn
        .extension_information(randr::X11_EXTENSION_NAME)?
        .is_none()
    {
        return Ok(arrange(Vec::new(), screen));
    }
    let version = conn.randr_query_version(1, 5)?.reply()?;
    if (version.major_version, version.minor_version) < (1, 5) {
        return Ok(arrange(Vec::new(), screen));
    }
    let reply = conn.randr_get_monitors(root, true)?.reply()?;
    let mut monitors = Vec::with_capacity(reply.monitors.len());
    for info in reply.monitors {
        let name = conn.get_atom_name(info.name)?.reply()?;
        let id = String::from_utf8_lossy(&name.name).into_owned();
        monitors.push(Monitor {
            id,
            x: info.x,
            y: info.y,
            width: info.width,
            height: info.height,
            primary: info.primary,
        });
    }
    Ok(arrange(monitors, screen))
}

/// Its own X connection, listening for RandR changes of the screen.
pub struct MonitorWatcher {
    conn: RustConnection,
    root: Window,
}

impl std::fmt::Debug for MonitorWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorWatcher")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl MonitorWatcher {
    /// Connects to `display` (`None`: `$DISPLAY`) and asks for RandR's
    /// notifications (when the server has RandR).
    pub fn connect(display: Option<&str>) -> Result<Self, MediaError> {
        let (conn, screen_num) = x11rb::connect(display).map_err(|source| MediaError::Connect {
            display: display.map_or_else(
                || std::env::var("DISPLAY").unwrap_or_default(),
                str::to_owned,
            ),
            source,
        })?;
        let root = conn
            .setup()
            .roots
            .get(screen_num)
            .ok_or(MediaError::MissingExtension("screen in setup"))?
            .root;
        if conn
            .extension_information(randr::X11_EXTENSION_NAME)?
            .is_some()
        {
            conn.randr_query_version(1, 5)?.reply()?;
            let mask = NotifyMask::SCREEN_CHANGE
                | NotifyMask::CRTC_CHANGE
                | NotifyMask::OUTPUT_CHANGE
                | NotifyMask::RESOURCE_CHANGE;
            conn.randr_select_input(root, mask)?.check()?;
        }
        // Adding or removing a monitor sends no RandR event, only a
        // ConfigureNotify of the root window (the server's
        // RRSendConfigNotify).
        let attrs = ChangeWindowAttributesAux::new().event_mask(EventMask::STRUCTURE_NOTIFY);
        conn.change_window_attributes(root, &attrs)?.check()?;
        Ok(Self { conn, root })
    }

    /// The monitors as they are now.
    pub fn monitors(&self) -> Result<Vec<Monitor>, MediaError> {
        read(&self.conn, self.root)
    }

    /// Takes every queued event; `true` if any was a RandR change.
    pub fn changed(&self) -> Result<bool, MediaError> {
        let mut changed = false;
        while let Some(event) = self.conn.poll_for_event()? {
            changed |= matches!(
                event,
                Event::RandrScreenChangeNotify(_)
                    | Event::RandrNotify(_)
                    | Event::ConfigureNotify(_)
            );
        }
        Ok(changed)
    }
}

impl AsFd for MonitorWatcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.conn.stream().as_fd()
    }
}

/// For `tokio::io::unix::AsyncFd`, which waits on the raw descriptor.
impl AsRawFd for MonitorWatcher {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, x: i16, y: i16, width: u16, height: u16, primary: bool) -> Monitor {
        Monitor {
            id: id.into(),
            x,
            y,
            width,
            height,
            primary,
        }
    }

    #[test]
    fn no_monitors_is_the_whole_screen() {
        assert_eq!(
            arrange(Vec::new(), (1280, 720)),
            [m(WHOLE_SCREEN_ID, 0, 0, 1280, 720, true)]
        );
    }

    #[test]
    fn primary_first_then_left_to_right() {
        let got = arrange(
            vec![
                m("C", 2304, 0, 100, 100, false),
                m("A", 0, 0, 1280, 720, false),
                m("B", 1280, 0, 1024, 768, true),
            ],
            (2404, 768),
        );
        let ids: Vec<&str> = got.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["B", "A", "C"]);
    }

    #[test]
    fn without_a_primary_the_leftmost_is_primary() {
        let got = arrange(
            vec![
                m("B", 1280, 0, 1024, 768, false),
                m("A", 0, 0, 1280, 720, false),
            ],
            (2304, 768),
        );
        assert_eq!(got[0].id, "A");
        assert!(got[0].primary && !got[1].primary);
    }

    #[test]
    fn monitors_are_clipped_to_the_screen_and_empty_ones_dropped() {
        let got = arrange(
            vec![
                m("A", 0, 0, 1280, 720, true),
                m("B", 1280, 0, 1024, 768, false),
                m("gone", 3000, 0, 100, 100, false),
            ],
            (2000, 700),
        );
        assert_eq!(
            got,
            [
                m("A", 0, 0, 1280, 700, true),
                m("B", 1280, 0, 720, 700, false)
            ]
        );
    }
}
