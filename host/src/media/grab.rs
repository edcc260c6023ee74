//! Grabbing the whole X screen into memory with scrap (MIT-SHM).
//!
//! scrap's X11 capturer looks pipelined: each `frame()` waits for the reply
//! to the `ShmGetImage` it queued at the end of the previous call, then
//! queues the next one. But queued is not sent: libxcb keeps the request in
//! its output buffer until something flushes the connection, and on this
//! connection (ours alone) the only flush is the wait for that reply at the
//! start of the next `frame()`. So the X server copies the screen when
//! `frame()` is called, after every drawing request that reached it before,
//! and one call returns the screen as it is now. An earlier version called
//! `frame()` twice on the belief that the first image was stale; measured
//! on Xvfb (`host/examples/grab_bench.rs`), one call was never stale in 200
//! tries, and the second cost 0.3 to 1.1 ms at 1280x720 and 1.6 to 1.7 ms
//! at 1920x1080. Core `GetImage` over the X socket (no shared memory, the
//! one route without scrap's unsafe code) costs 12 to 15 ms and 22 to
//! 32 ms: far worse than one shared-memory grab.
//! `host/tests/screen_grab.rs` guards this: if a scrap or libxcb update
//! started sending the request early, it would fail.
//!
//! [`ScreenGrabber::grab`] lends scrap's shared-memory image itself, so the
//! caller converts straight from it without copying 3.7 MB (720p) or 8.3 MB
//! (1080p) first (0.4 to 0.7 ms and 1.2 to 1.7 ms).
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
    /// scrap's shared-memory capturer (two image slots, one request queued).
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

    /// The screen as it is now: BGRX, `stride * height` bytes, borrowed
    /// from the shared-memory segment until the next grab.
    pub fn grab(&mut self) -> &[u8] {
        self.capturer.frame()
    }
}
