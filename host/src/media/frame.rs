//! What the pipeline hands to sessions: encoded frames and how long each took.
//!
//! Also a small Annex-B reader ([`nal_units`]) for code that needs to look
//! inside an access unit (keyframe checks, RTP packetisation, tests).

use std::time::{Duration, Instant};

use bytes::Bytes;

/// Time spent in each stage for one frame, in pipeline order: from the
/// damage event to the encoded frame is the sum of all six.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimings {
    /// From reading the first damage event this frame covers to starting
    /// the grab: the frame-rate cap, or the encoder holding every picture.
    /// Zero when the grab was for a keyframe request alone.
    pub waited: Duration,
    /// Grabbing the screen (MIT-SHM).
    pub capture: Duration,
    /// BGRX to I420, straight from the shared-memory image.
    pub convert: Duration,
    /// Waiting for the encode thread (it was busy with the previous frame).
    pub queued: Duration,
    /// Comparing with the previous picture for a scene cut (`scene.rs`).
    pub scene_check: Duration,
    /// H.264 encoding.
    pub encode: Duration,
}

/// One encoded video frame, shared by every subscriber through an `Arc`.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedFrame {
    /// One Annex-B access unit: NAL units each prefixed with `00 00 00 01`.
    pub data: Bytes,
    /// An IDR frame carrying SPS and PPS: a decoder can start here.
    pub keyframe: bool,
    /// Encoded width in pixels (the screen width cropped to even).
    pub width: u32,
    /// Encoded height in pixels (the screen height cropped to even).
    pub height: u32,
    /// When the screen was grabbed (for latency measurement).
    pub captured_at: Instant,
    /// Capture time relative to the pipeline's start (for RTP timestamps).
    pub pts: Duration,
    /// Frame number in this pipeline, counting from 0, without gaps.
    pub sequence: u64,
    /// Where the time went for this frame.
    pub timings: StageTimings,
    /// The bitrate and frame rate the encoder aimed at for it.
    pub quality: super::rate::Quality,
}

/// NAL unit type of an IDR slice.
pub const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;

/// The NAL units of an Annex-B byte stream, without their start codes.
///
/// Accepts 3- and 4-byte start codes; bytes before the first start code
/// are ignored. Never panics, whatever the input.
pub fn nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = match find_start_code(data) {
        Some((_, after)) => &data[after..],
        None => &data[data.len()..],
    };
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (nal, next) = match find_start_code(rest) {
            Some((at, after)) => (&rest[..at], &rest[after..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        // A 4-byte start code leaves a trailing zero on the previous unit.
        Some(trim_trailing_zeros(nal))
    })
}

/// The NAL unit types (low 5 bits of the first byte) in an access unit.
pub fn nal_types(data: &[u8]) -> Vec<u8> {
    nal_units(data)
        .filter_map(|nal| nal.first().map(|b| b & 0x1f))
        .collect()
}

/// Position of the first `00 00 01` and the index just after it.
fn find_start_code(data: &[u8]) -> Option<(usize, usize)> {
    data.windows(3)
        .position(|w| w == [0, 0, 1])
        .map(|at| (at, at + 3))
}

fn trim_trailing_zeros(nal: &[u8]) -> &[u8] {
    let end = nal.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &nal[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_four_and_three_byte_start_codes() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 2, // SPS
            0, 0, 0, 1, 0x68, 3, // PPS
            0, 0, 1, 0x65, 4, 5, // IDR slice
        ];
        let units: Vec<&[u8]> = nal_units(&stream).collect();
        assert_eq!(units, vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4, 5]]);
        assert_eq!(nal_types(&stream), vec![NAL_SPS, NAL_PPS, NAL_IDR]);
    }

    #[test]
    fn garbage_yields_nothing_and_does_not_panic() {
        assert_eq!(nal_units(&[]).count(), 0);
        assert_eq!(nal_units(&[1, 2, 3]).count(), 0);
        assert_eq!(nal_types(&[0, 0, 1]), Vec::<u8>::new());
        assert_eq!(nal_types(&[0, 0, 1, 0, 0, 1, 0x41]), vec![1]);
    }
}
