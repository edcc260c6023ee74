//! The capture thread: wait for damage or a keyframe request, pace, grab,
//! convert.
//!
//! It owns the X connection that watches for damage and the shared-memory
//! grabber (both created on this thread). It sleeps in `poll(2)`
//! on two sockets, the X connection and a wake-up pair for commands, with no
//! timeout unless the frame-rate cap asks for one: a static screen, or a
//! pipeline nobody watches, costs no CPU.
//!
//! Each grab is converted to I420 straight from the shared memory (no
//! copy of the BGRX image) into one of three [`I420Picture`]s, and goes to
//! the encoder thread through a channel that never blocks; the encoder
//! hands a picture back once it has encoded the next one (it keeps the
//! last to compare with for a scene cut). So one frame can be grabbed and
//! converted while the previous one encodes, and when every picture is
//! out no grab happens: changes keep coalescing in the damage region and
//! the next grab shows the latest screen. A slow encoder thus drops frames,
//! never queues them.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::heartbeat::Heartbeat;
use crate::media::convert::I420Picture;
use crate::media::damage::DamageWatcher;
use crate::media::grab::{GrabArea, ScreenGrabber};
use crate::media::keep_alive::KeepAlive;
use crate::media::pacing::{PaceDecision, Pacer};
use crate::media::MediaError;

/// Messages to the capture thread. Always sent through [`CaptureHandle`],
/// which also wakes the thread.
#[derive(Debug)]
pub(crate) enum CaptureCommand {
    /// Produce a frame soon even if the screen did not change.
    Keyframe,
    /// The encoder is done reading this picture.
    ReturnPicture(I420Picture),
    /// From now on prove liveness every `every` by stamping `heartbeat`
    /// (see `keep_alive.rs`); for the systemd watchdog.
    KeepAlive {
        every: Duration,
        heartbeat: Heartbeat,
    },
    /// Capture this area of the screen from now on (a monitor moved).
    SetArea(GrabArea),
    /// Capture at most this many frames a second from now on.
    SetMaxFps(u32),
    /// Scale pictures down by this factor (1: full size; 2: half across
    /// and down) from the next grab on.
    SetShrink(u32),
    /// Exit the thread.
    Stop,
}

/// What a capture thread opens: the display, what of it, how fast.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opening<'a> {
    /// The X display (`None`: `$DISPLAY`).
    pub display: Option<&'a str>,
    /// One monitor's area, or `None` for the whole screen (following its
    /// size).
    pub area: Option<GrabArea>,
    /// The frame-rate cap.
    pub max_fps: u32,
}

/// A grabbed and converted screen, on its way to the encoder.
#[derive(Debug)]
pub(crate) struct RawFrame {
    /// The screen in I420, cropped to even dimensions.
    pub picture: I420Picture,
    /// When the grab started.
    pub captured_at: Instant,
    /// From the first damage event this frame covers being read to the
    /// grab (frame-rate cap, or every picture at the encoder). Zero for a
    /// grab without damage (keyframe request).
    pub waited: Duration,
    /// How long the grab took.
    pub capture_time: Duration,
    /// How long BGRX to I420 took.
    pub convert_time: Duration,
    /// When the frame was handed to the encoder thread.
    pub sent_at: Instant,
}

/// Pictures in flight between the capture and encode threads: one being
/// encoded while the next is grabbed and converted, and the one encoded
/// before, kept to compare with for a scene cut. Also the capacity of the
/// frame channel, so sending never blocks.
pub(crate) const PICTURES: usize = 3;

/// Sends commands to the capture thread and wakes it. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct CaptureHandle {
    /// Command queue (unbounded, but every sender is rate-limited by use).
    commands: Sender<CaptureCommand>,
    /// Write end of the wake-up socket pair; one byte wakes `poll`.
    waker: Arc<UnixStream>,
}

impl CaptureHandle {
    /// Queues `command` and wakes the thread. Does nothing once it has exited.
    pub fn send(&self, command: CaptureCommand) {
        if self.commands.send(command).is_ok() {
            // Non-blocking: if the socket buffer is full the thread has
            // plenty of wake-ups pending already.
            let _ = (&*self.waker).write(&[1]);
        }
    }
}

/// Whether anyone wants frames; checked before every grab.
pub(crate) type Watched = Box<dyn Fn() -> bool + Send>;

/// Told the captured area after it changed (a RandR mode change of the
/// whole screen, or a monitor's new place).
pub(crate) type Resized = Box<dyn Fn(GrabArea) + Send>;

/// State of the capture thread.
pub(crate) struct CaptureLoop {
    /// The X display (`None`: `$DISPLAY`), to capture a new size.
    display: Option<String>,
    /// Whether the whole screen is captured (following its size), rather
    /// than one monitor's area (which the agent moves).
    whole_screen: bool,
    /// Damage and resize events, and the X connection's socket.
    watcher: DamageWatcher,
    /// The shared-memory grabber, for the screen's current size.
    grabber: ScreenGrabber,
    /// Frame pacing (pure).
    pacer: Pacer,
    /// Incoming commands.
    commands: Receiver<CaptureCommand>,
    /// Read end of the wake-up pair.
    wake: UnixStream,
    /// Pictures the encoder is not holding.
    free: Vec<I420Picture>,
    /// When the first damage event since the last grab was read.
    damage_seen: Option<Instant>,
    /// To the encoder thread (capacity [`PICTURES`]).
    frames: SyncSender<RawFrame>,
    /// True while at least one subscriber exists.
    watched: Watched,
    /// Told each new captured area.
    resized: Resized,
    /// Liveness proof for a watchdog, once asked for.
    keep_alive: Option<KeepAlive>,
    /// Screen pixels per picture pixel asked for (1: full size).
    shrink: u32,
}

impl std::fmt::Debug for CaptureLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureLoop")
            .field("grabber", &self.grabber)
            .field("pacer", &self.pacer)
            .finish_non_exhaustive()
    }
}

/// Creates the command channel and wake-up pair for a capture thread.
pub(crate) fn command_channel(
) -> Result<(CaptureHandle, Receiver<CaptureCommand>, UnixStream), MediaError> {
    let (tx, rx) = mpsc::channel();
    let (waker, wake) = UnixStream::pair().map_err(MediaError::Spawn)?;
    waker.set_nonblocking(true).map_err(MediaError::Spawn)?;
    wake.set_nonblocking(true).map_err(MediaError::Spawn)?;
    let handle = CaptureHandle {
        commands: tx,
        waker: Arc::new(waker),
    };
    Ok((handle, rx, wake))
}

impl CaptureLoop {
    /// Connects to the display and prepares the grabber. Runs on the capture thread.
    pub fn open(
        opening: Opening<'_>,
        commands: Receiver<CaptureCommand>,
        wake: UnixStream,
        frames: SyncSender<RawFrame>,
        watched: Watched,
        resized: Resized,
    ) -> Result<Self, MediaError> {
        let display = opening.display;
        let mut watcher = DamageWatcher::connect(display)?;
        let (width, height) = watcher.size();
        let area = opening
            .area
            .unwrap_or_else(|| GrabArea::whole(width, height));
        watcher.watch_area(opening.area);
        let grabber = ScreenGrabber::open_area(display, watcher.root(), area)?;
        let max_fps = opening.max_fps;
        Ok(Self {
            display: display.map(str::to_owned),
            whole_screen: opening.area.is_none(),
            watcher,
            grabber,
            pacer: Pacer::new(max_fps),
            commands,
            wake,
            free: (0..PICTURES).map(|_| I420Picture::new()).collect(),
            damage_seen: None,
            frames,
            watched,
            resized,
            keep_alive: None,
            shrink: 1,
        })
    }

    /// Captured size in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.grabber.width(), self.grabber.height())
    }

    /// What is captured.
    pub fn area(&self) -> GrabArea {
        self.grabber.area()
    }

    /// Runs until told to stop (`Ok`) or until the X connection fails.
    pub fn run(mut self) -> Result<(), MediaError> {
        loop {
            if self.handle_commands() == Flow::Stop {
                return Ok(());
            }
            self.beat_if_due()?;
            let changes = self.watcher.take_changes()?;
            if let Some((width, height)) = changes.resized {
                if self.whole_screen {
                    self.capture_area(GrabArea::whole(width, height))?;
                }
            }
            if changes.damaged || changes.resized.is_some() {
                if (self.watched)() {
                    // For the frame's timings (not for pacing).
                    self.damage_seen.get_or_insert_with(Instant::now);
                }
                self.pacer.on_damage();
            }
            let timeout = match self.next_step(Instant::now()) {
                Step::Grab => {
                    if self.grab_and_send()? == Flow::Stop {
                        return Ok(());
                    }
                    continue;
                }
                Step::Sleep(timeout) => match &self.keep_alive {
                    Some(keep_alive) => keep_alive.cap(timeout, Instant::now()),
                    None => timeout,
                },
            };
            self.wait(timeout)?;
        }
    }

    /// Captures `area` from now on: the screen at its new size, or a
    /// monitor at its new place. The grabber grabs one fixed rectangle,
    /// which after a shrink lies partly off the screen (the X server
    /// refuses the grab) and after a growth misses the new part. The
    /// encoder starts a new stream, with an IDR, at the first picture of
    /// another size.
    fn capture_area(&mut self, area: GrabArea) -> Result<(), MediaError> {
        if area == self.grabber.area() {
            return Ok(());
        }
        let root = self.watcher.root();
        self.grabber = ScreenGrabber::open_area(self.display.as_deref(), root, area)?;
        if !self.whole_screen {
            self.watcher.watch_area(Some(area));
        }
        tracing::info!(?area, "capturing a new area");
        (self.resized)(area);
        self.pacer.on_damage();
        Ok(())
    }

    /// One X round trip and a heartbeat, when a keep-alive is due. Blocks
    /// while the X server does not answer, so the heartbeat stops.
    fn beat_if_due(&mut self) -> Result<(), MediaError> {
        let Some(keep_alive) = &mut self.keep_alive else {
            return Ok(());
        };
        if keep_alive.due(Instant::now()) {
            self.watcher.round_trip()?;
            keep_alive.beaten(Instant::now());
        }
        Ok(())
    }

    /// Applies queued commands.
    fn handle_commands(&mut self) -> Flow {
        loop {
            match self.commands.try_recv() {
                Ok(CaptureCommand::Keyframe) => self.pacer.on_keyframe_request(),
                Ok(CaptureCommand::SetMaxFps(fps)) => self.pacer.set_max_fps(fps),
                Ok(CaptureCommand::SetShrink(shrink)) => self.shrink = shrink,
                Ok(CaptureCommand::ReturnPicture(picture)) => self.free.push(picture),
                Ok(CaptureCommand::KeepAlive { every, heartbeat }) => {
                    self.keep_alive = Some(KeepAlive::new(every, heartbeat, Instant::now()));
                }
                Ok(CaptureCommand::SetArea(area)) => {
                    if let Err(error) = self.capture_area(area) {
                        tracing::warn!(%error, ?area, "cannot capture the new area; keeping the old");
                    }
                }
                Ok(CaptureCommand::Stop) | Err(TryRecvError::Disconnected) => return Flow::Stop,
                Err(TryRecvError::Empty) => return Flow::Continue,
            }
        }
    }

    /// Decides between grabbing now and sleeping (with an optional deadline).
    fn next_step(&self, now: Instant) -> Step {
        // Nobody watching, or the encoder holds every picture: sleep until
        // a subscriber or a picture comes back (both wake us).
        if !(self.watched)() || self.free.is_empty() {
            return Step::Sleep(None);
        }
        match self.pacer.poll(now) {
            PaceDecision::CaptureNow { .. } => Step::Grab,
            PaceDecision::WaitUntil(at) => Step::Sleep(Some(at.saturating_duration_since(now))),
            PaceDecision::Idle => Step::Sleep(None),
        }
    }

    /// Grabs the screen, converts it into a free picture and hands it to
    /// the encoder.
    fn grab_and_send(&mut self) -> Result<Flow, MediaError> {
        let Some(mut picture) = self.free.pop() else {
            return Ok(Flow::Continue);
        };
        self.watcher.rearm()?;
        let captured_at = Instant::now();
        let waited = self.damage_seen.take().map_or(Duration::ZERO, |seen| {
            captured_at.saturating_duration_since(seen)
        });
        let (width, height, stride) = (
            self.grabber.width(),
            self.grabber.height(),
            self.grabber.stride(),
        );
        let bgrx = match self.grabber.grab() {
            Ok(bgrx) => bgrx,
            Err(MediaError::OffScreen) => {
                // A shrink whose event is on its way: follow it first, and
                // try again at the next frame time, not in a busy loop.
                self.free.push(picture);
                self.pacer.on_captured(captured_at);
                self.pacer.on_damage();
                return Ok(Flow::Continue);
            }
            Err(e) => return Err(e),
        };
        let grabbed_at = Instant::now();
        self.pacer.on_captured(captured_at);
        picture.convert_scaled(bgrx, (width, height, stride), self.shrink)?;
        let sent_at = Instant::now();
        let frame = RawFrame {
            picture,
            captured_at,
            waited,
            capture_time: grabbed_at - captured_at,
            convert_time: sent_at - grabbed_at,
            sent_at,
        };
        // Never blocks: the channel holds as many frames as there are pictures.
        match self.frames.send(frame) {
            Ok(()) => Ok(Flow::Continue),
            Err(_) => Ok(Flow::Stop), // the encoder thread has exited
        }
    }

    /// Sleeps until the X socket or the wake-up socket is readable, or `timeout`.
    fn wait(&self, timeout: Option<Duration>) -> Result<(), MediaError> {
        let timeout = timeout.map(|d| {
            Timespec::try_from(d).unwrap_or(Timespec {
                tv_sec: i64::MAX,
                tv_nsec: 0,
            })
        });
        let x_fd = self.watcher.fd();
        let mut fds = [
            PollFd::new(&x_fd, PollFlags::IN),
            PollFd::new(&self.wake, PollFlags::IN),
        ];
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(errno) => return Err(MediaError::Capture(errno.into())),
        }
        // Drain the wake-up bytes; the commands themselves are in the queue.
        let mut sink = [0u8; 64];
        while matches!((&self.wake).read(&mut sink), Ok(n) if n > 0) {}
        Ok(())
    }
}

/// Whether the loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// What the loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Grab,
    Sleep(Option<Duration>),
}
