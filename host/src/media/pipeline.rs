//! One capture and encode pipeline per display or monitor, shared by every
//! session on it.
//!
//! Two owned threads: capture (damage, pacing, grab, convert; see
//! `capture.rs`) and encode (encode, publish). Encoded frames are published once to a
//! `tokio::sync::broadcast` channel as `Arc<EncodedFrame>`, so a second
//! viewer costs a receiver, not a second encoder. With no subscriber the
//! capture thread grabs nothing and sleeps without a timer. Dropping the
//! [`MediaPipeline`] stops and joins both threads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::broadcast;

use crate::media::capture::{self, CaptureCommand, CaptureLoop, RawFrame};
use crate::media::encode::{EncoderTuning, H264Encoder};
use crate::media::encode_thread::encode_loop;
use crate::media::grab::GrabArea;
use crate::media::shared::Shared;
use crate::media::subscription::Subscription;
use crate::media::{EncodeProbe, MediaConfig, MediaError, RateLimits};

/// Frames a subscriber may fall behind before it lags (and resyncs on an IDR).
const BROADCAST_CAPACITY: usize = 16;

/// Counters since the pipeline started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// Screens grabbed and handed to the encoder.
    pub frames_captured: u64,
    /// Frames encoded and published.
    pub frames_encoded: u64,
    /// How many of those were IDR frames.
    pub keyframes: u64,
    /// Total size of the published access units.
    pub bytes_encoded: u64,
}

/// A running capture and encode pipeline for one X display.
#[derive(Debug)]
pub struct MediaPipeline {
    /// Shared with the threads and subscriptions.
    shared: Arc<Shared>,
    /// The capture thread; joined on drop.
    capture_thread: Option<JoinHandle<()>>,
    /// The encode thread; joined on drop.
    encode_thread: Option<JoinHandle<()>>,
}

impl MediaPipeline {
    /// Connects to the display and starts the (idle) threads. Capture begins
    /// with the first subscriber.
    pub fn start(config: MediaConfig) -> Result<Self, MediaError> {
        Self::start_probed(config, None)
    }

    /// [`start`](Self::start), telling `probe` every frame's encode time.
    pub fn start_probed(
        config: MediaConfig,
        probe: Option<EncodeProbe>,
    ) -> Result<Self, MediaError> {
        config.validate()?;
        let tuning = EncoderTuning {
            deblocking: config.deblocking,
            ..EncoderTuning::for_this_machine()
        };
        let encoder = H264Encoder::with_tuning(config.bitrate_bps, config.max_fps, tuning)?;
        let (sender, _) = broadcast::channel(BROADCAST_CAPACITY);
        let (handle, commands, wake) = capture::command_channel()?;
        let shared = Arc::new(Shared {
            sender: Mutex::new(Some(sender.clone())),
            failure: Mutex::new(None),
            keyframe_wanted: AtomicBool::new(true),
            capture: handle,
            area: Mutex::new(GrabArea::whole(0, 0)),
            frames_captured: AtomicU64::new(0),
            frames_encoded: AtomicU64::new(0),
            keyframes: AtomicU64::new(0),
            bytes_encoded: AtomicU64::new(0),
            encode_probe: probe,
            asks: Mutex::default(),
        });
        let limits = RateLimits {
            max_bitrate_bps: config.bitrate_bps,
            max_fps: config.max_fps,
        };
        let (frames_tx, frames_rx) = mpsc::sync_channel::<RawFrame>(capture::PICTURES);
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let capture_shared = Arc::clone(&shared);
        let capture_thread = std::thread::Builder::new()
            .name("meshdesk-capture".into())
            .spawn(move || {
                let watched_shared = Arc::clone(&capture_shared);
                let watched = Box::new(move || watched_shared.subscriber_count() > 0);
                let resized_shared = Arc::clone(&capture_shared);
                let resized = Box::new(move |area| resized_shared.set_area(area));
                let opening = capture::Opening {
                    display: config.display.as_deref(),
                    area: config.area,
                    max_fps: config.max_fps,
                };
                match CaptureLoop::open(opening, commands, wake, frames_tx, watched, resized) {
                    Ok(capture) => {
                        // Set here, before any resize can be reported.
                        capture_shared.set_area(capture.area());
                        let _ = ready_tx.send(Ok(capture.size()));
                        if let Err(error) = capture.run() {
                            tracing::error!(%error, "screen capture stopped");
                            capture_shared.stop(error.to_string());
                        }
                    }
                    Err(error) => {
                        let _ = ready_tx.send(Err(error));
                    }
                }
            })
            .map_err(MediaError::Spawn)?;
        let screen_size = match ready_rx.recv() {
            Ok(Ok(size)) => size,
            Ok(Err(error)) => {
                let _ = capture_thread.join();
                return Err(error);
            }
            Err(_) => {
                let _ = capture_thread.join();
                return Err(MediaError::Stopped {
                    reason: "capture thread exited during start-up".into(),
                });
            }
        };
        let mut pipeline = Self {
            shared: Arc::clone(&shared),
            capture_thread: Some(capture_thread),
            encode_thread: None,
        };
        let encode_thread = std::thread::Builder::new()
            .name("meshdesk-encode".into())
            .spawn(move || encode_loop(&frames_rx, encoder, limits, &shared, &sender))
            .map_err(MediaError::Spawn)?;
        pipeline.encode_thread = Some(encode_thread);
        tracing::info!(
            width = screen_size.0,
            height = screen_size.1,
            "media pipeline started"
        );
        Ok(pipeline)
    }

    /// A new receiver of encoded frames. Asks for an IDR, which is the first
    /// frame the subscription yields.
    pub fn subscribe(&self) -> Result<Subscription, MediaError> {
        let receiver = {
            let sender = self
                .shared
                .sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match sender.as_ref() {
                Some(sender) => sender.subscribe(),
                None => return Err(self.shared.stopped_error()),
            }
        };
        self.shared.request_keyframe();
        Ok(Subscription::new(receiver, Arc::clone(&self.shared)))
    }

    /// Asks for an IDR soon (PLI/FIR from a viewer, or a control message).
    /// Requests that arrive before the next frame coalesce into one IDR.
    pub fn request_keyframe(&self) {
        self.shared.request_keyframe();
    }

    /// Size of the captured area in pixels (the stream is cropped to
    /// even). It follows the screen when its resolution changes.
    pub fn screen_size(&self) -> (u32, u32) {
        let area = self.shared.area();
        (area.width.into(), area.height.into())
    }

    /// What is captured, in X screen pixels (where the stream's pixels are
    /// on the screen, for input).
    pub fn area(&self) -> GrabArea {
        self.shared.area()
    }

    /// Captures `area` from now on (a monitor moved or changed its size);
    /// the stream restarts with an IDR at a new size.
    pub fn set_area(&self, area: GrabArea) {
        self.shared.capture.send(CaptureCommand::SetArea(area));
    }

    /// Has the capture thread stamp `heartbeat` every `every`, after an X
    /// round trip, even while it captures nothing (for a watchdog).
    pub fn keep_alive(&self, every: std::time::Duration, heartbeat: crate::heartbeat::Heartbeat) {
        self.shared
            .capture
            .send(CaptureCommand::KeepAlive { every, heartbeat });
    }

    /// Number of live subscriptions.
    pub fn subscriber_count(&self) -> usize {
        self.shared.subscriber_count()
    }

    /// Counters since start.
    pub fn stats(&self) -> MediaStats {
        let s = &self.shared;
        MediaStats {
            frames_captured: s.frames_captured.load(Ordering::Relaxed),
            frames_encoded: s.frames_encoded.load(Ordering::Relaxed),
            keyframes: s.keyframes.load(Ordering::Relaxed),
            bytes_encoded: s.bytes_encoded.load(Ordering::Relaxed),
        }
    }
}

impl Drop for MediaPipeline {
    fn drop(&mut self) {
        self.shared.capture.send(CaptureCommand::Stop);
        // The capture thread exits, which closes the frame channel, which
        // ends the encode thread.
        for thread in [self.capture_thread.take(), self.encode_thread.take()]
            .into_iter()
            .flatten()
        {
            if thread.join().is_err() {
                tracing::error!("a media thread panicked");
            }
        }
        self.shared.stop("shut down".into());
    }
}
