//! Change detection with the X DAMAGE extension: wake when the screen changes.
//!
//! One damage object on the root window at report level "non-empty": the X
//! server sends a single event when the damaged region goes from empty to
//! non-empty, and nothing more until we [`DamageWatcher::rearm`] it (subtract
//! the region) right before grabbing. A static screen therefore produces no
//! events and no wake-ups at all, and a busy one at most one event per frame.
//!
//! The same connection watches the root window's structure: a RandR mode
//! change (new resolution) resizes the root window, and its
//! `ConfigureNotify` tells the capture thread to capture the new size.

use std::os::fd::{AsFd, BorrowedFd};

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::damage::{self, ConnectionExt as _, ReportLevel};
use x11rb::protocol::xfixes::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{ChangeWindowAttributesAux, ConnectionExt as _, EventMask, Window};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;

use crate::media::grab::GrabArea;
use crate::media::MediaError;

/// What the X server reported since the last look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScreenChanges {
    /// Something on the screen was drawn.
    pub damaged: bool,
    /// The screen has a new size (width, height): a RandR mode change.
    pub resized: Option<(u16, u16)>,
}

/// An X connection watching the root window for damage and resizes.
pub struct DamageWatcher {
    /// Our own connection to the X server, only for damage events.
    conn: RustConnection,
    /// Root window of the captured screen.
    root: Window,
    /// Size of the root window in pixels, as last reported.
    size: (u16, u16),
    /// The damage object tracking the root window.
    damage: damage::Damage,
    /// Only damage meeting this area counts (one monitor's pipeline), and
    /// the region that takes the damage to look at; `None`: any damage.
    area: Option<(GrabArea, xfixes::Region)>,
    /// A new size read while rearming, for the next [`Self::take_changes`].
    resized: Option<(u16, u16)>,
}

impl std::fmt::Debug for DamageWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DamageWatcher")
            .field("root", &self.root)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl DamageWatcher {
    /// Connects to `display` (`None`: `$DISPLAY`) and starts tracking damage.
    pub fn connect(display: Option<&str>) -> Result<Self, MediaError> {
        let (conn, screen_num) = x11rb::connect(display).map_err(|source| MediaError::Connect {
            display: display_label(display),
            source,
        })?;
        for (name, ext) in [
            ("DAMAGE", damage::X11_EXTENSION_NAME),
            ("XFIXES", xfixes::X11_EXTENSION_NAME),
        ] {
            if conn.extension_information(ext)?.is_none() {
                return Err(MediaError::MissingExtension(name));
            }
        }
        // DAMAGE's regions are XFIXES regions: both versions must be agreed
        // on before the first damage request.
        conn.xfixes_query_version(5, 0)?.reply()?;
        conn.damage_query_version(1, 1)?.reply()?;
        let screen = conn
            .setup()
            .roots
            .get(screen_num)
            .ok_or(MediaError::MissingExtension("screen in setup"))?;
        let (root, size) = (
            screen.root,
            (screen.width_in_pixels, screen.height_in_pixels),
        );
        let damage = conn.generate_id()?;
        conn.damage_create(damage, root, ReportLevel::NON_EMPTY)?;
        // Other clients may select other events on the root window: each
        // client's mask is its own.
        let structure = ChangeWindowAttributesAux::new().event_mask(EventMask::STRUCTURE_NOTIFY);
        conn.change_window_attributes(root, &structure)?;
        conn.flush()?;
        Ok(Self {
            conn,
            root,
            size,
            damage,
            area: None,
            resized: None,
        })
    }

    /// Counts only damage that meets `area` from now on (`None`: any).
    pub fn watch_area(&mut self, area: Option<GrabArea>) {
        self.area = match (area, self.area.take()) {
            (None, _) => None,
            (Some(area), Some((_, region))) => Some((area, region)),
            (Some(area), None) => match self.new_region() {
                Ok(region) => Some((area, region)),
                Err(error) => {
                    // Then every damage counts: more grabs, none missed.
                    tracing::warn!(%error, "no XFIXES region; any damage wakes the capture");
                    None
                }
            },
        };
    }

    fn new_region(&self) -> Result<xfixes::Region, MediaError> {
        let region = self.conn.generate_id()?;
        self.conn.xfixes_create_region(region, &[])?;
        Ok(region)
    }

    /// Whether the damage so far meets the watched area. Empties the
    /// damage into the region to read it (so the next change sends a new
    /// event), one round trip: damage elsewhere on the screen between the
    /// event and this look is in the region too, so nothing is missed.
    fn damage_meets_area(
        &self,
        area: GrabArea,
        region: xfixes::Region,
    ) -> Result<bool, MediaError> {
        self.conn
            .damage_subtract(self.damage, x11rb::NONE, region)?;
        let parts = self.conn.xfixes_fetch_region(region)?.reply()?;
        Ok(parts
            .rectangles
            .iter()
            .any(|r| area.meets(r.x, r.y, r.width, r.height)))
    }

    /// The root window being watched.
    pub fn root(&self) -> Window {
        self.root
    }

    /// Width and height of the root window, as last reported.
    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// Reads every event that has arrived: damage, and a new screen size.
    /// Never blocks. Call it before waiting on [`Self::fd`].
    pub fn take_changes(&mut self) -> Result<ScreenChanges, MediaError> {
        let mut changes = ScreenChanges {
            resized: self.resized.take(),
            ..ScreenChanges::default()
        };
        let mut elsewhere = false;
        while let Some(event) = self.conn.poll_for_event()? {
            match event {
                Event::DamageNotify(e) => match self.area {
                    Some((area, _))
                        if !area.meets(e.area.x, e.area.y, e.area.width, e.area.height) =>
                    {
                        elsewhere = true;
                    }
                    _ => changes.damaged = true,
                },
                Event::ConfigureNotify(e) if e.window == self.root => {
                    let size = (e.width, e.height);
                    if size != self.size {
                        self.size = size;
                        changes.resized = Some(size);
                    }
                }
                Event::Error(error) => {
                    tracing::warn!(?error, "X error on the damage connection");
                }
                _ => {}
            }
        }
        if let (true, false, Some((area, region))) = (elsewhere, changes.damaged, self.area) {
            changes.damaged = self.damage_meets_area(area, region)?;
        }
        Ok(changes)
    }

    /// Empties the damaged region so the next change sends a new event.
    /// Call it right before grabbing: a change after this point shows up
    /// either in the grab or as a new event, never in neither. The damage
    /// events the server sent until it emptied the region are read and
    /// dropped: what they describe was drawn before the grab, which shows
    /// it, and reading them later would grab the same picture again (a
    /// second frame of a static screen).
    pub fn rearm(&mut self) -> Result<(), MediaError> {
        self.conn
            .damage_subtract(self.damage, x11rb::NONE, x11rb::NONE)?;
        self.round_trip()?;
        let stale = self.take_changes()?;
        self.resized = stale.resized;
        Ok(())
    }

    /// One request and its reply: returns once the X server answered.
    pub fn round_trip(&self) -> Result<(), MediaError> {
        self.conn.get_input_focus()?.reply()?;
        Ok(())
    }

    /// The connection's socket, readable when events may have arrived.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.conn.stream().as_fd()
    }
}

/// How to name the display in errors and logs.
pub fn display_label(display: Option<&str>) -> String {
    match display {
        Some(name) => name.to_owned(),
        None => std::env::var("DISPLAY").unwrap_or_else(|_| "$DISPLAY (unset)".into()),
    }
}
