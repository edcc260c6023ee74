//! The state a pipeline shares with its capture and encode threads and its
//! subscriptions: the frame channel, why it stopped, the keyframe flag, the
//! captured area and the counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use super::capture::{CaptureCommand, CaptureHandle};
use super::frame::EncodedFrame;
use super::grab::GrabArea;
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
    /// What is captured, in X screen pixels: it changes with a RandR mode
    /// change (the whole screen) or a monitor's new place (one monitor).
    pub(super) area: Mutex<GrabArea>,
    /// See [`MediaStats`].
    pub(super) frames_captured: AtomicU64,
    pub(super) frames_encoded: AtomicU64,
    pub(super) keyframes: AtomicU64,
    pub(super) bytes_encoded: AtomicU64,
    /// Told each frame's encode time, when someone keeps figures.
    pub(super) encode_probe: Option<super::EncodeProbe>,
    /// The bitrates subscriptions ask for (their sessions' congestion
    /// controllers); the encoder aims at the lowest.
    pub(super) asks: Mutex<Asks>,
}

/// Each subscription's ask, by subscription number.
#[derive(Debug, Default)]
pub(crate) struct Asks {
    next: u64,
    bps: HashMap<u64, u32>,
}

impl Asks {
    /// A number for a new subscription (which asks nothing yet).
    pub(super) fn register(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    pub(super) fn set(&mut self, id: u64, bps: u32) {
        self.bps.insert(id, bps);
    }

    pub(super) fn remove(&mut self, id: u64) {
        self.bps.remove(&id);
    }

    /// The lowest ask, if anyone asks.
    pub(super) fn lowest(&self) -> Option<u32> {
        self.bps.values().copied().min()
    }
}

impl Shared {
    /// Asks for an IDR soon, grabbing the screen even if unchanged.
    pub(crate) fn request_keyframe(&self) {
        self.keyframe_wanted.store(true, Ordering::SeqCst);
        self.capture.send(CaptureCommand::Keyframe);
    }

    /// The subscriptions' asks, to read or change.
    pub(super) fn asks(&self) -> std::sync::MutexGuard<'_, Asks> {
        self.asks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records what is captured (at start, and after each change).
    pub(super) fn set_area(&self, area: GrabArea) {
        *self.area.lock().unwrap_or_else(PoisonError::into_inner) = area;
    }

    /// What is captured, as last recorded.
    pub(super) fn area(&self) -> GrabArea {
        *self.area.lock().unwrap_or_else(PoisonError::into_inner)
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
