//! The state a pipeline shares with its capture and encode threads and its
//! subscriptions: the frame channel, why it stopped, the keyframe flag, the
//! screen's size and the counters.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use super::capture::{CaptureCommand, CaptureHandle};
use super::frame::EncodedFrame;
use super::MediaError;

/// State shared by the pipeline handle, its threads and its subscriptions.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Publishes frames; taken (dropped) when the pipeline stops, so that
    /// subscribers see the channel close once the encode thread is gone.
    pub(super) sender: Mutex<Option<broadcast::Sender<Arc<EncodedFrame>>>>,
    /// Why the pipeline stopped, once it has.
    pub(super) failure: Mutex<Option<String>>,
    /// The next encoded frame must be an IDR.
    pub(super) keyframe_wanted: AtomicBool,
    /// Commands to the capture thread.
    pub(super) capture: CaptureHandle,
    /// The screen's size in pixels, width in the high half: it changes
    /// with a RandR mode change.
    pub(super) screen_size: AtomicU64,
    /// See [`MediaStats`].
    pub(super) frames_captured: AtomicU64,
    pub(super) frames_encoded: AtomicU64,
    pub(super) keyframes: AtomicU64,
    pub(super) bytes_encoded: AtomicU64,
    /// Told each frame's encode time, when someone keeps figures.
    pub(super) encode_probe: Option<super::EncodeProbe>,
}

impl Shared {
    /// Asks for an IDR soon, grabbing the screen even if unchanged.
    pub(crate) fn request_keyframe(&self) {
        self.keyframe_wanted.store(true, Ordering::SeqCst);
        self.capture.send(CaptureCommand::Keyframe);
    }

    /// Records the screen's size (at start, and after each resize).
    pub(super) fn set_screen_size(&self, (width, height): (u32, u32)) {
        let packed = (u64::from(width) << 32) | u64::from(height);
        self.screen_size.store(packed, Ordering::Relaxed);
    }

    /// The screen's size as last recorded.
    pub(super) fn screen_size(&self) -> (u32, u32) {
        let packed = self.screen_size.load(Ordering::Relaxed);
        ((packed >> 32) as u32, packed as u32)
    }

    /// Number of live subscriptions.
    pub(super) fn subscriber_count(&self) -> usize {
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        sender.as_ref().map_or(0, broadcast::Sender::receiver_count)
    }

    /// Records why the pipeline stopped (first reason wins) and closes the channel.
    pub(super) fn stop(&self, reason: String) {
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
