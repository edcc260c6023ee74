//! The encode thread: takes converted pictures from the capture thread,
//! decides on IDRs (requested, or a scene cut) and on the bitrate and
//! frame rate (the subscriptions' asks, `rate.rs`), encodes, and publishes
//! each frame to every subscription, until the capture side ends.

use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::broadcast;

use super::capture::{CaptureCommand, RawFrame};
use super::convert::{I420Picture, I420View};
use super::encode::H264Encoder;
use super::frame::{EncodedFrame, StageTimings};
use super::rate::{self, Governor, Quality, RateLimits};
use super::scene;
use super::shared::Shared;
use super::MediaError;

/// The encode thread: encode, publish, until the capture side ends.
pub(super) fn encode_loop(
    frames: &Receiver<RawFrame>,
    mut encoder: H264Encoder,
    limits: RateLimits,
    shared: &Shared,
    sender: &broadcast::Sender<Arc<EncodedFrame>>,
) {
    let started = Instant::now();
    let mut quality = limits.full();
    let mut governor = Governor::new();
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
        let asked = shared.asks().lowest();
        let chosen = rate::choose(asked, limits, (width, height));
        // Without asks (adaptation off) the configured rate stands as is.
        let wanted = match asked {
            Some(_) => governor.govern(Instant::now(), chosen),
            None => chosen,
        };
        if wanted != quality {
            // A refused setting leaves the encoder at its old rate: not a
            // reason to stop the screen.
            if let Err(error) = retune(&mut encoder, shared, quality, wanted) {
                tracing::warn!(%error, "the encoder keeps its rate");
            }
            quality = wanted;
        }
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
            Ok(Some(encoded)) => {
                governor.encoded(Instant::now(), encoded.data.len());
                encoded
            }
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
            quality,
        };
        sequence += 1;
        publish(shared, sender, frame, cut == Cut::Scene);
    }
}

/// Sets the encoder (and, for a new frame rate, the capture pacing) to
/// `to`.
fn retune(
    encoder: &mut H264Encoder,
    shared: &Shared,
    from: Quality,
    to: Quality,
) -> Result<(), MediaError> {
    tracing::info!(
        bitrate_kbps = to.bitrate_bps / 1000,
        fps = to.fps,
        scale = to.scale,
        was_kbps = from.bitrate_bps / 1000,
        was_fps = from.fps,
        was_scale = from.scale,
        "video rate changed"
    );
    if to.fps != from.fps {
        shared.capture.send(CaptureCommand::SetMaxFps(to.fps));
    }
    if to.scale != from.scale {
        // The next grab comes at the new size, and the encoder starts over
        // with an IDR for it.
        shared.capture.send(CaptureCommand::SetShrink(to.scale));
    }
    encoder.set_rate(to.bitrate_bps, to.fps)
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
    if let Some(probe) = &shared.encode_probe {
        probe.encoded(timings.encode);
    }
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
