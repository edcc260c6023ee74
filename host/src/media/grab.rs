//! Grabbing the whole X screen into memory with scrap (MIT-SHM).
//!
//! scrap's X11 capturer is pipelined: each `frame()` returns the image
//! requested by the *previous* call and immediately requests the next one.
//! After an idle period that image is stale (it shows the screen as it was
//! when the previous grab finished), so [`ScreenGrabber::grab_into`] discards
//! the first result and returns the second, which the X server produced
//! after the call began. That costs one extra server-side copy per frame
//! (under 1 ms at 1080p) and is only paid when the screen changed.
//!
//! The capturer holds raw pointers and is not `Send`: create and use it on
//! the capture thread only.

use std::ffi::CString;
use std::io;
use std::rc::Rc;

use scrap::x11::{Capturer, Display, Rect, Server};

use crate::media::MediaError;

/// A scrap capturer for the root window of one X display.
pub struct ScreenGrabber {
    /// scrap's shared-memory capturer (double-buffered, pipelined).
    capturer: Capturer,
    /// Screen width in pixels.
    width: u32,
    /// Screen height in pixels.
    height: u32,
}

impl std::fmt::Debug for ScreenGrabber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScreenGrabber")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl ScreenGrabber {
    /// Opens a capturer on `display` (`None`: `$DISPLAY`) for the root window
    /// `root` of size `width` x `height`, as reported by the X server.
    pub fn open(
        display: Option<&str>,
        root: u32,
        width: u16,
        height: u16,
    ) -> Result<Self, MediaError> {
        let name = display
            .map(CString::new)
            .transpose()
            .map_err(|_| MediaError::InvalidConfig("display name contains a NUL byte".into()))?;
        let addr = name
            .as_ref()
            .map_or(std::ptr::null(), |n| n.as_ptr().cast::<i8>());
        // scrap reads `addr` during the call only; `name` outlives it.
        let server = Server::connect(addr)
            .map_err(|e| MediaError::Capture(io::Error::other(format!("xcb connect: {e:?}"))))?;
        let rect = Rect {
            x: 0,
            y: 0,
            w: width,
            h: height,
        };
        #[allow(unsafe_code)]
        // SAFETY: `Display::new` trusts its caller that `root` is a window of
        // `server` and `rect` lies inside it. `root` and the size come from
        // the same X server's setup block (root ids are server-wide), and the
        // rectangle is the whole root window. We build the display ourselves
        // instead of using scrap's `Display::all`/`primary`, which read RandR
        // monitor data after freeing it.
        let display = unsafe { Display::new(Rc::new(server), true, rect, root) };
        let capturer = Capturer::new(display).map_err(MediaError::Capture)?;
        Ok(Self {
            capturer,
            width: u32::from(width),
            height: u32::from(height),
        })
    }

    /// Screen width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Screen height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row of a grabbed frame (BGRX, no padding).
    pub fn stride(&self) -> u32 {
        self.width * 4
    }

    /// Grabs the screen as it is now into `dst` (BGRX, `stride * height` bytes).
    pub fn grab_into(&mut self, dst: &mut Vec<u8>) {
        // The first frame is the one requested at the end of the previous
        // grab: stale. Its slice is dropped at once.
        let _ = self.capturer.frame();
        let fresh = self.capturer.frame();
        dst.clear();
        dst.extend_from_slice(fresh);
    }
}
