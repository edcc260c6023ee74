//! One capture and encode pipeline per display, shared by every session.
//!
//! Two owned threads: capture (damage, pacing, grab, convert; see
//! `capture.rs`) and encode (encode, publish). Encoded frames are published once to a
//! `tokio::sync::broadcast` channel as `Arc<EncodedFrame>`, so a second
//! viewer costs a receiver, not a second encoder. With no subscriber the
//! capture thread grabs nothing and sleeps without a timer. Dropping the
//! [`MediaPipeline`] stops and joins both threads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::broadcast;

use crate::media::capture::{self, CaptureCommand, CaptureHandle, CaptureLoop, RawFrame};
use crate::media::convert::{I420Picture, I420View};
use crate::media::encode::{EncoderTuning, H264Encoder};
use crate::media::frame::{EncodedFrame, StageTimings};
use crate::media::scene;
use crate::media::subscription::Subscription;
use crate::media::{MediaConfig, MediaError};

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

/// State shared by the pipeline handle, its threads and its subscriptions.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Publishes frames; taken (dropped) when the pipeline stops, so that
    /// subscribers see the channel close once the encode thread is gone.
    sender: Mutex<Option<broadcast::Sender<Arc<EncodedFrame>>>>,
    /// Why the pipeline stopped, once it has.
    failure: Mutex<Option<String>>,
    /// The next encoded frame must be an IDR.
    keyframe_wanted: AtomicBool,
    /// Commands to the capture thread.
    capture: CaptureHandle,
    /// The screen's size in pixels, width in the high half: it changes
    /// with a RandR mode change.
    screen_size: AtomicU64,
    /// See [`MediaStats`].
    frames_captured: AtomicU64,
    frames_encoded: AtomicU64,
    keyframes: AtomicU64,
    bytes_encoded: AtomicU64,
}

impl Shared {
    /// Asks for an IDR soon, grabbing the screen even if unchanged.
    pub(crate) fn request_keyframe(&self) {
        self.keyframe_wanted.store(true, Ordering::SeqCst);
        self.capture.send(CaptureCommand::Keyframe);
    }

    /// Records the screen's size (at start, and after each resize).
    fn set_screen_size(&self, (width, height): (u32, u32)) {
        let packed = (u64::from(width) << 32) | u64::from(height);
        self.screen_size.store(packed, Ordering::Relaxed);
    }

    /// The screen's size as last recorded.
    fn screen_size(&self) -> (u32, u32) {
        let packed = self.screen_size.load(Ordering::Relaxed);
        ((packed >> 32) as u32, packed as u32)
    }

    /// Number of live subscriptions.
    fn subscriber_count(&self) -> usize {
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        sender.as_ref().map_or(0, broadcast::Sender::receiver_count)
    }

    /// Records why the pipeline stopped (first reason wins) and closes the channel.
    fn stop(&self, reason: String) {
        let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        failure.get_or_insert(reason);
        drop(failure);
        self.sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// The error to hand out once the pipeline has stopped.
    pub(crate) fn stopped_error(&self) -> MediaError {
        let failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        MediaError::Stopped {
            reason: failure.clone().unwrap_or_else(|| "shut down".into()),
        }
    }
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
            screen_size: AtomicU64::new(0),
            frames_captured: AtomicU64::new(0),
            frames_encoded: AtomicU64::new(0),
            keyframes: AtomicU64::new(0),
            bytes_encoded: AtomicU64::new(0),
        });
        let (frames_tx, frames_rx) = mpsc::sync_channel::<RawFrame>(capture::PICTURES);
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let capture_shared = Arc::clone(&shared);
        let capture_thread = std::thread::Builder::new()
            .name("meshdesk-capture".into())
            .spawn(move || {
                let watched_shared = Arc::clone(&capture_shared);
                let watched = Box::new(move || watched_shared.subscriber_count() > 0);
                let resized_shared = Arc::clone(&capture_shared);
                let resized = Box::new(move |size| resized_shared.set_screen_size(size));
                let display = config.display.as_deref();
                let fps = config.max_fps;
                match CaptureLoop::open(display, fps, commands, wake, frames_tx, watched, resized) {
                    Ok(capture) => {
                        // Set here, before any resize can be reported.
                        capture_shared.set_screen_size(capture.size());
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
            .spawn(move || encode_loop(&frames_rx, encoder, &shared, &sender))
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

    /// Size of the captured screen in pixels (the stream is cropped to
    /// even). It follows the screen when its resolution changes.
    pub fn screen_size(&self) -> (u32, u32) {
        self.shared.screen_size()
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

/// The encode thread: encode, publish, until the capture side ends.
fn encode_loop(
    frames: &Receiver<RawFrame>,
    mut encoder: H264Encoder,
    shared: &Shared,
    sender: &broadcast::Sender<Arc<EncodedFrame>>,
) {
    let started = Instant::now();
    let mut sequence = 0;
    // The last picture encoded, kept to tell a scene cut (`scene.rs`).
    let mut previous: Option<I420Picture> = None;
    for raw in frames {
        shared.frames_captured.fetch_add(1, Ordering::Relaxed);
        let picture = raw.picture.view();
        let scene_start = Instant::now();
        let cut = keyframe_needed(shared, previous.as_ref(), picture);
        if cut != Cut::None {
            encoder.force_keyframe();
        }
        let (width, height) = (picture.width, picture.height);
        let encode_start = Instant::now();
        let pts = raw.captured_at.saturating_duration_since(started);
        let encoded = encoder.encode(picture, pts);
        let encode_time = encode_start.elapsed();
        // The capture thread may grab into the older picture again; this
        // one is kept for the next comparison.
        if let Some(older) = previous.replace(raw.picture) {
            shared.capture.send(CaptureCommand::ReturnPicture(older));
        }
        let encoded = match encoded {
            Ok(Some(encoded)) => encoded,
            Ok(None) => continue,
            Err(error) => return fail(shared, error),
        };
        let timings = StageTimings {
            waited: raw.waited,
            capture: raw.capture_time,
            convert: raw.convert_time,
            queued: scene_start.saturating_duration_since(raw.sent_at),
            scene_check: encode_start - scene_start,
            encode: encode_time,
        };
        let frame = EncodedFrame {
            keyframe: encoded.keyframe,
            // Numbered so viewers that see frames unordered notice a loss.
            data: Bytes::from(meshdesk_peer::h264::with_frame_number(
                &encoded.data,
                sequence as u32,
            )),
            width,
            height,
            captured_at: raw.captured_at,
            pts,
            sequence,
            timings,
        };
        sequence += 1;
        publish(shared, sender, frame, cut == Cut::Scene);
    }
}

/// Why the next frame must be an IDR, if it must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    None,
    /// A subscriber asked for one.
    Requested,
    /// The picture changed so much that a keyframe is cheaper.
    Scene,
}

/// A requested IDR needs no check; a found cut spares OpenH264 its own.
fn keyframe_needed(shared: &Shared, previous: Option<&I420Picture>, picture: I420View<'_>) -> Cut {
    if shared.keyframe_wanted.swap(false, Ordering::SeqCst) {
        return Cut::Requested;
    }
    if previous.is_some_and(|previous| scene::scene_cut(previous.view(), picture)) {
        return Cut::Scene;
    }
    Cut::None
}

/// Count and log an encoded frame and hand it to every subscriber.
fn publish(
    shared: &Shared,
    sender: &broadcast::Sender<Arc<EncodedFrame>>,
    frame: EncodedFrame,
    scene_cut: bool,
) {
    let timings = frame.timings;
    tracing::debug!(
        sequence = frame.sequence,
        keyframe = frame.keyframe,
        bytes = frame.data.len(),
        waited_us = timings.waited.as_micros(),
        capture_us = timings.capture.as_micros(),
        convert_us = timings.convert.as_micros(),
        queued_us = timings.queued.as_micros(),
        scene_cut,
        scene_check_us = timings.scene_check.as_micros(),
        encode_us = timings.encode.as_micros(),
        "frame encoded"
    );
    shared.frames_encoded.fetch_add(1, Ordering::Relaxed);
    shared
        .keyframes
        .fetch_add(u64::from(frame.keyframe), Ordering::Relaxed);
    shared
        .bytes_encoded
        .fetch_add(frame.data.len() as u64, Ordering::Relaxed);
    // An error only means nobody is subscribed right now.
    let _ = sender.send(Arc::new(frame));
}

fn fail(shared: &Shared, error: MediaError) {
    tracing::error!(%error, "media encoding stopped");
    shared.stop(error.to_string());
}
