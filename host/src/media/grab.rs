//! Grabbing a rectangle of the X screen into memory over MIT-SHM (x11rb).
//!
//! The grabber shares one memory segment with the X server (a memfd handed
//! over with `ShmAttachFd`, MIT-SHM 1.2) and asks it to copy the screen
//! there with `ShmGetImage`. [`ScreenGrabber::grab`] sends the request and
//! waits for its reply, so the image is the screen as it is at the call,
//! after every drawing request that reached the server before it.
//! `host/tests/screen_grab.rs` guards that.
//!
//! Pure Rust on the X side (x11rb's own connection, no libxcb), so the host
//! links no X library and builds as a static binary (`scripts/package`).
//! Measured on Xvfb with `host/examples/grab_bench.rs`: a shared-memory
//! grab costs a fraction of core `GetImage` over the X socket, which copies
//! the whole image through the socket (12 to 15 ms at 720p).
//!
//! [`ScreenGrabber::grab`] lends the shared image itself, so the caller
//! converts straight from it without copying 3.7 MB (720p) or 8.3 MB
//! (1080p) first.

use std::fs::File;

use memmap2::MmapMut;
use rustix::fs::MemfdFlags;
use x11rb::connection::{Connection, RequestConnection};
use x11rb::errors::ReplyError;
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xproto::ImageFormat;
use x11rb::protocol::ErrorKind;
use x11rb::rust_connection::RustConnection;

use crate::media::MediaError;

/// A rectangle of one X screen, in root window pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrabArea {
    /// Left edge.
    pub x: i16,
    /// Top edge.
    pub y: i16,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
}

impl GrabArea {
    /// Whether the rectangle at `(x, y)` of `width` x `height` shares a
    /// pixel with this area.
    pub fn meets(&self, x: i16, y: i16, width: u16, height: u16) -> bool {
        let span = |a: i16, len: u16| (i32::from(a), i32::from(a) + i32::from(len));
        let (ax0, ax1) = span(self.x, self.width);
        let (ay0, ay1) = span(self.y, self.height);
        let (bx0, bx1) = span(x, width);
        let (by0, by1) = span(y, height);
        ax0 < bx1 && bx0 < ax1 && ay0 < by1 && by0 < ay1
    }

    /// The whole of a `width` x `height` screen.
    pub fn whole(width: u16, height: u16) -> Self {
        Self {
            x: 0,
            y: 0,
            width,
            height,
        }
    }
}

/// A shared-memory grabber for one rectangle of the root window of one X
/// display.
pub struct ScreenGrabber {
    /// Our own connection: a grab waits for its reply on it.
    conn: RustConnection,
    /// The root window.
    root: u32,
    /// What is grabbed.
    area: GrabArea,
    /// The segment's id on the X server.
    segment: shm::Seg,
    /// The segment, mapped here: the X server writes each grab into it.
    image: MmapMut,
}

impl std::fmt::Debug for ScreenGrabber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScreenGrabber")
            .field("root", &self.root)
            .field("area", &self.area)
            .finish_non_exhaustive()
    }
}

/// Bytes per pixel of a grabbed frame (BGRX).
const BYTES_PER_PIXEL: usize = 4;

impl ScreenGrabber {
    /// Opens a grabber on `display` (`None`: `$DISPLAY`) for the whole root
    /// window `root` of size `width` x `height`, as reported by the X server.
    pub fn open(
        display: Option<&str>,
        root: u32,
        width: u16,
        height: u16,
    ) -> Result<Self, MediaError> {
        Self::open_area(display, root, GrabArea::whole(width, height))
    }

    /// Opens a grabber on `display` for `area` of the root window `root`.
    pub fn open_area(display: Option<&str>, root: u32, area: GrabArea) -> Result<Self, MediaError> {
        if area.width == 0 || area.height == 0 {
            return Err(MediaError::UnsupportedSize {
                width: area.width.into(),
                height: area.height.into(),
            });
        }
        let (conn, _) = RustConnection::connect(display).map_err(|source| MediaError::Connect {
            display: display.map_or_else(
                || std::env::var("DISPLAY").unwrap_or_default(),
                str::to_owned,
            ),
            source,
        })?;
        check_shm(&conn)?;
        check_pixel_format(&conn, root)?;
        let len = usize::from(area.width) * usize::from(area.height) * BYTES_PER_PIXEL;
        let memory = rustix::fs::memfd_create("meshdesk-grab", MemfdFlags::CLOEXEC)
            .map_err(|e| MediaError::Capture(e.into()))?;
        rustix::fs::ftruncate(&memory, len as u64).map_err(|e| MediaError::Capture(e.into()))?;
        let for_server = memory.try_clone().map_err(MediaError::Capture)?;
        let file = File::from(memory);
        #[allow(unsafe_code)]
        // SAFETY: the mapping is of a memfd of our own, which nothing in
        // this process truncates. The X server writes into it only while a
        // `ShmGetImage` runs, and `grab` lends the image out only after that
        // request's reply, until the next `grab` (which takes `&mut self`).
        let image = unsafe { MmapMut::map_mut(&file) }.map_err(MediaError::Capture)?;
        let segment = conn.generate_id()?;
        conn.shm_attach_fd(segment, for_server, false)?.check()?;
        Ok(Self {
            conn,
            root,
            area,
            segment,
            image,
        })
    }

    /// What is grabbed.
    pub fn area(&self) -> GrabArea {
        self.area
    }

    /// Width of a grabbed frame in pixels.
    pub fn width(&self) -> u32 {
        self.area.width.into()
    }

    /// Height of a grabbed frame in pixels.
    pub fn height(&self) -> u32 {
        self.area.height.into()
    }

    /// Bytes per row of a grabbed frame (BGRX, no padding).
    pub fn stride(&self) -> u32 {
        self.width() * BYTES_PER_PIXEL as u32
    }

    /// The area as it is now: BGRX, `stride * height` bytes, borrowed from
    /// the shared segment until the next grab.
    pub fn grab(&mut self) -> Result<&[u8], MediaError> {
        let GrabArea {
            x,
            y,
            width,
            height,
        } = self.area;
        let reply = self
            .conn
            .shm_get_image(
                self.root,
                x,
                y,
                width,
                height,
                !0,
                ImageFormat::Z_PIXMAP.into(),
                self.segment,
                0,
            )?
            .reply()
            .map_err(|e| match e {
                // The X server refuses a rectangle that is not inside the
                // window (the screen shrank before we saw the event).
                ReplyError::X11Error(ref x) if x.error_kind == ErrorKind::Match => {
                    MediaError::OffScreen
                }
                e => e.into(),
            })?;
        let len = self.image.len();
        if reply.size as usize != len {
            return Err(MediaError::Capture(std::io::Error::other(format!(
                "the X server wrote {} bytes for a {width}x{height} grab, not {len}",
                reply.size
            ))));
        }
        Ok(&self.image[..])
    }
}

/// MIT-SHM 1.2 or later: the version that takes a file descriptor.
fn check_shm(conn: &RustConnection) -> Result<(), MediaError> {
    if conn
        .extension_information(shm::X11_EXTENSION_NAME)?
        .is_none()
    {
        return Err(MediaError::MissingExtension("MIT-SHM"));
    }
    let version = conn.shm_query_version()?.reply()?;
    if (version.major_version, version.minor_version) < (1, 2) {
        return Err(MediaError::MissingExtension(
            "MIT-SHM 1.2 (file descriptors)",
        ));
    }
    Ok(())
}

/// The root window's depth packs into 32 bits per pixel with rows padded to
/// 32 bits: BGRX with no padding, what the converter reads.
fn check_pixel_format(conn: &RustConnection, root: u32) -> Result<(), MediaError> {
    let setup = conn.setup();
    let depth = setup
        .roots
        .iter()
        .find(|screen| screen.root == root)
        .map(|screen| screen.root_depth)
        .ok_or_else(|| MediaError::InvalidConfig(format!("no screen has root window {root}")))?;
    let format = setup.pixmap_formats.iter().find(|f| f.depth == depth);
    match format {
        Some(f) if f.bits_per_pixel == 32 && f.scanline_pad == 32 && depth >= 24 => Ok(()),
        _ => Err(MediaError::Capture(std::io::Error::other(format!(
            "unsupported pixel format: depth {depth} ({format:?}); 24 or 32 bits in 32 are needed"
        )))),
    }
}
