//! The screen of a display: paint it, change its resolution, read it back.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ChangeWindowAttributesAux, ConnectionExt as _, ImageFormat};
use x11rb::rust_connection::RustConnection;

use crate::Xvfb;

impl Xvfb {
    /// A new X connection to this display and its default screen's number.
    fn connect(&self) -> (RustConnection, usize) {
        x11rb::connect(Some(self.display()))
            .unwrap_or_else(|e| panic!("cannot connect to X display {}: {e}", self.display()))
    }

    /// Fills the whole screen with `rgb` (0xRRGGBB) by repainting the root
    /// window; returns once the server has done it.
    pub fn paint(&self, rgb: u32) {
        let (conn, screen) = self.connect();
        let root = conn.setup().roots[screen].root;
        let attrs = ChangeWindowAttributesAux::new().background_pixel(rgb);
        conn.change_window_attributes(root, &attrs)
            .expect("set the root's background");
        conn.clear_area(false, root, 0, 0, 0, 0)
            .expect("clear the root");
        // A round trip: every request before it has been processed.
        conn.get_input_focus()
            .expect("sync")
            .reply()
            .expect("sync reply");
    }

    /// The root window's size, asked of the server now.
    pub fn root_size(&self) -> (u32, u32) {
        let (conn, screen) = self.connect();
        let root = conn.setup().roots[screen].root;
        let geometry = conn
            .get_geometry(root)
            .expect("get_geometry")
            .reply()
            .expect("geometry reply");
        (u32::from(geometry.width), u32::from(geometry.height))
    }

    /// Switches the screen to its RandR mode `width` x `height`, as a user
    /// picking another resolution would, and returns once the root window
    /// has the new size. Needs [`Xvfb::start_xvnc`]: Xvfb has one mode.
    pub fn resize(&self, width: u32, height: u32) {
        let query = self.run("xrandr", &["--query"]);
        let output = query
            .lines()
            .find_map(|l| l.split_once(" connected").map(|(name, _)| name.to_owned()))
            .unwrap_or_else(|| panic!("no connected output in {query}"));
        let mode = format!("{width}x{height}");
        self.run("xrandr", &["--output", &output, "--mode", &mode]);
        assert_eq!(
            self.root_size(),
            (width, height),
            "root window after xrandr"
        );
    }

    /// Every pixel of the screen, windows included (the server composites
    /// nothing, so the root shows whatever is mapped on it).
    pub fn screenshot(&self) -> Screenshot {
        let (conn, screen) = self.connect();
        let root = &conn.setup().roots[screen];
        let (width, height) = (root.width_in_pixels, root.height_in_pixels);
        let reply = conn
            .get_image(ImageFormat::Z_PIXMAP, root.root, 0, 0, width, height, !0)
            .expect("get_image")
            .reply()
            .expect("get_image reply");
        assert_eq!(reply.depth, 24, "screenshots expect a 24-bit screen");
        Screenshot {
            width: u32::from(width),
            height: u32::from(height),
            data: reply.data,
        }
    }
}

/// A picture of a whole X screen, read back from the server.
#[derive(Debug, Clone)]
pub struct Screenshot {
    /// In pixels.
    pub width: u32,
    /// In pixels.
    pub height: u32,
    /// 32-bit pixels as the server stores them at depth 24: B, G, R, pad.
    data: Vec<u8>,
}

impl Screenshot {
    /// The colour at `(x, y)` as RGB, or `None` outside the screen.
    pub fn rgb(&self, x: i32, y: i32) -> Option<[u8; 3]> {
        let (x, y) = (u32::try_from(x).ok()?, u32::try_from(y).ok()?);
        if x >= self.width || y >= self.height {
            return None;
        }
        let at = (y as usize * self.width as usize + x as usize) * 4;
        let p = self.data.get(at..at + 4)?;
        Some([p[2], p[1], p[0]])
    }
}
