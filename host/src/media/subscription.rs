//! A viewer's handle on a pipeline's encoded frames.
//!
//! Wraps the broadcast receiver so that a decoder always starts on an IDR:
//! frames before the first keyframe are skipped, and after falling behind
//! (broadcast lag, which breaks the reference chain) it asks for a new IDR
//! and skips until it arrives.

use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::media::frame::EncodedFrame;
use crate::media::shared::Shared;
use crate::media::MediaError;

/// Encoded frames for one viewer. Dropping it unsubscribes; when the last
/// subscription is gone the pipeline stops grabbing.
#[derive(Debug)]
pub struct Subscription {
    /// Our receiver on the pipeline's broadcast channel.
    receiver: broadcast::Receiver<Arc<EncodedFrame>>,
    /// To ask for keyframes and learn why the pipeline stopped.
    shared: Arc<Shared>,
    /// A keyframe was delivered and no frame was missed since.
    in_sync: bool,
    /// Our number among the pipeline's bitrate asks.
    id: u64,
}

impl Subscription {
    pub(crate) fn new(
        receiver: broadcast::Receiver<Arc<EncodedFrame>>,
        shared: Arc<Shared>,
    ) -> Self {
        let id = shared.asks().register();
        Self {
            receiver,
            shared,
            in_sync: false,
            id,
        }
    }

    /// Asks the encoder to aim at no more than `bps` (what this viewer's
    /// path carries); the pipeline aims at the lowest ask of all its
    /// subscriptions. Dropping the subscription withdraws the ask.
    pub fn ask_bitrate(&self, bps: u32) {
        self.shared.asks().set(self.id, bps);
    }

    /// The next frame a decoder can use. The first is always an IDR.
    /// Fails only when the pipeline has stopped.
    pub async fn recv(&mut self) -> Result<Arc<EncodedFrame>, MediaError> {
        loop {
            match self.receiver.recv().await {
                Ok(frame) => {
                    if let Some(frame) = self.accept(frame) {
                        return Ok(frame);
                    }
                }
                Err(RecvError::Lagged(missed)) => self.lagged(missed),
                Err(RecvError::Closed) => return Err(self.shared.stopped_error()),
            }
        }
    }

    /// Like [`Self::recv`] without waiting: `Ok(None)` when no usable frame is queued.
    pub fn try_recv(&mut self) -> Result<Option<Arc<EncodedFrame>>, MediaError> {
        loop {
            match self.receiver.try_recv() {
                Ok(frame) => {
                    if let Some(frame) = self.accept(frame) {
                        return Ok(Some(frame));
                    }
                }
                Err(TryRecvError::Empty) => return Ok(None),
                Err(TryRecvError::Lagged(missed)) => self.lagged(missed),
                Err(TryRecvError::Closed) => return Err(self.shared.stopped_error()),
            }
        }
    }

    /// Asks the pipeline for an IDR (for example on a PLI or FIR from this viewer).
    pub fn request_keyframe(&self) {
        self.shared.request_keyframe();
    }

    fn accept(&mut self, frame: Arc<EncodedFrame>) -> Option<Arc<EncodedFrame>> {
        if !self.in_sync && !frame.keyframe {
            return None;
        }
        self.in_sync = true;
        Some(frame)
    }

    fn lagged(&mut self, missed: u64) {
        tracing::warn!(
            missed,
            "viewer fell behind the encoder; waiting for a keyframe"
        );
        self.in_sync = false;
        self.shared.request_keyframe();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.shared.asks().remove(self.id);
    }
}
