//! What is held down on a display: the modifier and button state the X
//! server reports for the pointer (`QueryPointer`'s mask), which covers
//! keys like Shift and every mouse button, whoever pressed them.

use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{ConnectionExt as _, KeyButMask};

use crate::Xvfb;

/// Modifiers and buttons held on a display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub shift: bool,
    pub button1: bool,
    /// The whole mask, for messages.
    pub mask: u16,
}

impl Held {
    /// Nothing that matters here is held.
    pub fn nothing(&self) -> bool {
        !self.shift && !self.button1
    }
}

impl Xvfb {
    /// What is held now, asked of the server.
    pub fn held(&self) -> Held {
        let (conn, screen) = x11rb::connect(Some(self.display()))
            .unwrap_or_else(|e| panic!("cannot connect to X display {}: {e}", self.display()));
        let root = conn.setup().roots[screen].root;
        let reply = conn
            .query_pointer(root)
            .expect("query_pointer")
            .reply()
            .expect("query_pointer reply");
        let mask = reply.mask;
        Held {
            shift: mask.contains(KeyButMask::SHIFT),
            button1: mask.contains(KeyButMask::BUTTON1),
            mask: u16::from(mask),
        }
    }
}
