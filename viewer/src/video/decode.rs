//! The decoder thread: whole access units in, pictures out. It runs apart
//! from the window and the network so that neither input nor packets ever
//! wait on video. It joins parameter-set-only frames onto the next picture,
//! decodes with openh264, converts to RGB for the window (or discards, or
//! reports the centre colour for a latency measurement, in headless mode),
//! and asks for a keyframe after loss or a decode error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Instant;

use meshdesk_peer::h264::ParamSetJoiner;
use meshdesk_peer::VideoEvent;
use openh264::decoder::{DecodedYUV, Decoder};
use openh264::formats::YUVSource;
use tokio::sync::mpsc;

use super::convert::{i420_to_frame, I420};
use super::frame::{Frame, FrameSlot};
use super::probe::{Picture, Yuv};
use super::recovery::Recovery;
use crate::ViewerError;

/// Where decoded pictures go.
pub enum Output {
    /// Convert to RGB, put in the slot, and call `wake` (the window redraws).
    Window {
        slot: Arc<FrameSlot>,
        wake: Box<dyn Fn() + Send>,
    },
    /// Decode only (headless benchmarks).
    Discard,
    /// Decode and report each picture's centre colour and timing (the
    /// latency measurement; no RGB conversion).
    Probe(mpsc::UnboundedSender<Picture>),
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Output::Window { .. } => "Output::Window",
            Output::Discard => "Output::Discard",
            Output::Probe(_) => "Output::Probe",
        })
    }
}

/// Counters the decoder thread keeps; read at any time by the window title
/// and the final stats.
#[derive(Debug, Default)]
pub struct DecodeStats {
    /// Pictures decoded (and converted, with a window).
    pub frames_decoded: AtomicU64,
    /// Frames the decoder rejected.
    pub decode_errors: AtomicU64,
    /// Delta frames skipped while waiting for a keyframe.
    pub frames_skipped: AtomicU64,
    /// Keyframe requests made.
    pub keyframe_requests: AtomicU64,
    /// Total time spent decoding (and converting), in microseconds.
    pub decode_us_total: AtomicU64,
    /// Longest single decode (and conversion), in microseconds.
    pub decode_us_max: AtomicU64,
    /// When the first picture was ready.
    pub first_frame_at: OnceLock<Instant>,
    /// When the latest picture was ready.
    pub last_frame_at: std::sync::Mutex<Option<Instant>>,
    /// The longest wait between two pictures, in microseconds: with a
    /// moving screen, the longest freeze.
    pub longest_gap_us: AtomicU64,
    /// The latest picture's size and centre colour.
    pub last_picture: std::sync::Mutex<Option<LastPicture>>,
}

/// What the report says of the latest decoded picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastPicture {
    pub width: u32,
    pub height: u32,
    /// The limited-range Y, U and V at its centre.
    pub centre: Yuv,
}

impl DecodeStats {
    fn record(&self, took_us: u64, now: Instant, picture: LastPicture) {
        *self
            .last_picture
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(picture);
        self.frames_decoded.fetch_add(1, Ordering::Relaxed);
        self.decode_us_total.fetch_add(took_us, Ordering::Relaxed);
        self.decode_us_max.fetch_max(took_us, Ordering::Relaxed);
        let _ = self.first_frame_at.set(now);
        // Only this thread writes; a poisoned lock still holds an Instant.
        let previous = self
            .last_frame_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .replace(now);
        if let Some(previous) = previous {
            let gap = now.saturating_duration_since(previous).as_micros();
            self.longest_gap_us
                .fetch_max(u64::try_from(gap).unwrap_or(u64::MAX), Ordering::Relaxed);
        }
    }

    /// When the latest picture was ready.
    pub fn last_frame(&self) -> Option<Instant> {
        *self
            .last_frame_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What the decoder asks of whoever runs the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The picture cannot go on without a keyframe (loss, decode error).
    Keyframe,
    /// The first picture was decoded.
    FirstPicture,
}

/// Where the decoder's [`Need`]s go (called on the decoder thread).
pub type DecoderNeeds = Box<dyn Fn(Need) + Send>;

/// Start the decoder thread. It ends when the video channel closes (the
/// session ended) and is joined through the returned handle.
pub fn spawn(
    mut video: mpsc::Receiver<VideoEvent>,
    mut output: Output,
    needs: DecoderNeeds,
    stats: Arc<DecodeStats>,
) -> Result<JoinHandle<()>, ViewerError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let handle = std::thread::Builder::new()
        .name("decoder".into())
        .spawn(move || {
            // The decoder holds raw pointers (not Send): make it here.
            let mut decoder = match Decoder::new() {
                Ok(d) => {
                    let _ = ready_tx.send(Ok(()));
                    d
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(ViewerError::Decoder(e.to_string())));
                    return;
                }
            };
            let mut state = Pipeline::default();
            while let Some(event) = video.blocking_recv() {
                state.handle(event, &mut decoder, &mut output, &needs, &stats);
            }
            tracing::debug!("video stream ended; decoder thread stops");
        })
        .map_err(|e| ViewerError::Decoder(e.to_string()))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ViewerError::Decoder("decoder thread died".into())),
    }
}

/// The decoder thread's state besides the decoder itself.
#[derive(Debug, Default)]
struct Pipeline {
    joiner: ParamSetJoiner,
    recovery: Recovery,
    /// The buffer pictures are converted into (swapped with the slot's).
    frame: Frame,
}

impl Pipeline {
    fn handle(
        &mut self,
        event: VideoEvent,
        decoder: &mut Decoder,
        output: &mut Output,
        needs: &DecoderNeeds,
        stats: &DecodeStats,
    ) {
        let now = Instant::now();
        let request = match event {
            VideoEvent::Lost { rtp_timestamp } => {
                tracing::debug!(rtp_timestamp, "frame lost");
                self.joiner.reset();
                self.recovery.on_lost(now)
            }
            VideoEvent::Frame(unit) => {
                let Some(data) = self.joiner.push(&unit.data) else {
                    return; // Parameter sets alone: wait for the picture.
                };
                let decision = self.recovery.on_frame(unit.keyframe, now);
                if decision.decode {
                    match self.decode(&data, now, decoder, output) {
                        Ok(Some(picture)) => {
                            let first = stats.first_frame_at.get().is_none();
                            stats.record(elapsed_us(now), Instant::now(), picture);
                            if first {
                                needs(Need::FirstPicture);
                            }
                        }
                        Ok(None) => {}
                        Err(reason) => {
                            tracing::debug!(%reason, "decode failed");
                            stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                            if self.recovery.on_decode_error(now) {
                                request_keyframe(needs, stats);
                            }
                        }
                    }
                } else {
                    stats.frames_skipped.fetch_add(1, Ordering::Relaxed);
                }
                decision.request_keyframe
            }
        };
        if request {
            request_keyframe(needs, stats);
        }
    }

    /// Decode one access unit taken off the queue at `received`; what
    /// came out, if a picture did.
    fn decode(
        &mut self,
        data: &[u8],
        received: Instant,
        decoder: &mut Decoder,
        output: &mut Output,
    ) -> Result<Option<LastPicture>, ViewerError> {
        let decoded = decoder.decode(data);
        let Some(yuv) = decoded.map_err(|e| ViewerError::Decoder(e.to_string()))? else {
            return Ok(None);
        };
        let all = planes(&yuv);
        let centre = Yuv::at_centre(&all)
            .ok_or_else(|| ViewerError::Decoder("picture planes too short".into()))?;
        let picture = LastPicture {
            width: all.width,
            height: all.height,
            centre,
        };
        match output {
            Output::Window { slot, wake } => {
                i420_to_frame(&all, &mut self.frame)?;
                // A replaced picture was never taken, so its wake-up is still
                // pending: one wake-up per picture the window will see.
                if !slot.publish(&mut self.frame) {
                    wake();
                }
            }
            Output::Discard => {}
            Output::Probe(pictures) => {
                let decoded = Instant::now();
                // The measurement may have finished; pictures then go nowhere.
                let _ = pictures.send(Picture {
                    received,
                    decoded,
                    colour: centre,
                });
            }
        }
        Ok(Some(picture))
    }
}

fn planes<'a>(yuv: &'a DecodedYUV<'a>) -> I420<'a> {
    let (w, h) = yuv.dimensions();
    let (y_stride, uv_stride, _) = yuv.strides();
    // openh264 pictures are at most 16384 pixels wide: these fit in u32.
    I420 {
        width: w as u32,
        height: h as u32,
        y: yuv.y(),
        u: yuv.u(),
        v: yuv.v(),
        y_stride: y_stride as u32,
        uv_stride: uv_stride as u32,
    }
}

fn request_keyframe(needs: &DecoderNeeds, stats: &DecodeStats) {
    stats.keyframe_requests.fetch_add(1, Ordering::Relaxed);
    needs(Need::Keyframe);
}

fn elapsed_us(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}
