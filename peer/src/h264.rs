//! H.264 Annex-B helpers shared by the host and the viewer.
//!
//! Encoders (openh264) emit access units as Annex-B byte streams: NAL units
//! separated by `00 00 01` or `00 00 00 01` start codes. This module splits
//! them, classifies NAL units (IDR, SPS, PPS) and, for decoders that want a
//! picture in every frame (WebCodecs, openh264), joins a parameter-set-only
//! frame onto the frame that follows it. Pure functions, no I/O.

/// The four-byte Annex-B start code this crate writes.
pub const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// NAL unit type of a non-IDR coded slice.
pub const NAL_SLICE: u8 = 1;
/// NAL unit type of an IDR coded slice (a keyframe).
pub const NAL_IDR: u8 = 5;
/// NAL unit type of supplemental enhancement information.
pub const NAL_SEI: u8 = 6;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;
/// NAL unit type of an access unit delimiter.
pub const NAL_AUD: u8 = 9;

/// The `nal_unit_type` of a NAL unit (its first byte without F and NRI bits).
/// Returns `None` for an empty slice.
pub fn nal_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|b| b & 0x1f)
}

/// Split an Annex-B byte stream into NAL units, without their start codes.
///
/// Accepts three- and four-byte start codes. Bytes before the first start
/// code are ignored; a stream without any start code is returned as a single
/// NAL unit (a lenient reading of a bare NAL). Empty NAL units are skipped.
pub fn split_annexb(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new(); // (start code begin, payload begin)
    let mut i = 0;
    while i + 2 < data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            let begin = if i > 0 && data[i - 1] == 0 { i - 1 } else { i };
            starts.push((begin, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    if starts.is_empty() {
        return if data.is_empty() { vec![] } else { vec![data] };
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &(_, payload)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(data.len(), |&(begin, _)| begin);
        let nal = trim_trailing_zeros(&data[payload..end]);
        if !nal.is_empty() {
            nals.push(nal);
        }
    }
    nals
}

/// Trailing zero bytes belong to the next start code (`trailing_zero_8bits`),
/// never to a NAL unit, whose last byte holds the RBSP stop bit.
fn trim_trailing_zeros(nal: &[u8]) -> &[u8] {
    let end = nal.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    &nal[..end]
}

/// Write NAL units as an Annex-B stream with four-byte start codes.
pub fn join_annexb<'a>(nals: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for nal in nals {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
    }
    out
}

/// Whether an access unit contains an IDR slice (it can be decoded alone).
pub fn is_keyframe(access_unit: &[u8]) -> bool {
    split_annexb(access_unit)
        .iter()
        .any(|nal| nal_type(nal) == Some(NAL_IDR))
}

/// Whether an access unit carries an SPS or a PPS.
pub fn has_parameter_sets(access_unit: &[u8]) -> bool {
    split_annexb(access_unit)
        .iter()
        .any(|nal| matches!(nal_type(nal), Some(NAL_SPS | NAL_PPS)))
}

/// Whether an access unit contains a coded picture (any slice NAL unit).
pub fn has_picture(access_unit: &[u8]) -> bool {
    split_annexb(access_unit)
        .iter()
        .any(|nal| matches!(nal_type(nal), Some(NAL_SLICE..=NAL_IDR)))
}

/// The UUID of Meshdesk's frame-number SEI message (ASCII, no zero bytes).
pub const FRAME_NUMBER_UUID: &[u8; 16] = b"meshdesk-frameno";

/// An SEI NAL unit (user data unregistered) carrying `number` as eight
/// ASCII hex digits. Viewers that see frames before any reordering (the
/// browser's encoded transform) use it to notice a lost frame and ask for a
/// keyframe. No byte is zero, so no emulation prevention is needed, and
/// decoders skip the message.
pub fn frame_number_sei(number: u32) -> Vec<u8> {
    let digits = format!("{number:08x}");
    let mut nal = vec![NAL_SEI, 5, 24];
    nal.extend_from_slice(FRAME_NUMBER_UUID);
    nal.extend_from_slice(digits.as_bytes());
    nal.push(0x80);
    nal
}

/// The frame number in an access unit's Meshdesk SEI message, if any.
pub fn frame_number(access_unit: &[u8]) -> Option<u32> {
    split_annexb(access_unit).into_iter().find_map(|nal| {
        let body = nal.strip_prefix(&[NAL_SEI, 5, 24])?;
        let digits = body.strip_prefix(FRAME_NUMBER_UUID.as_slice())?.get(..8)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    })
}

/// `access_unit` with a frame-number SEI inserted before its first slice.
pub fn with_frame_number(access_unit: &[u8], number: u32) -> Vec<u8> {
    let sei = frame_number_sei(number);
    let nals = split_annexb(access_unit);
    let first_slice = nals
        .iter()
        .position(|nal| matches!(nal_type(nal), Some(NAL_SLICE..=NAL_IDR)))
        .unwrap_or(nals.len());
    let mut out = Vec::with_capacity(access_unit.len() + sei.len() + 4);
    for (i, nal) in nals.iter().enumerate() {
        if i == first_slice {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(&sei);
        }
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
    }
    if first_slice == nals.len() {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(&sei);
    }
    out
}

/// Joins frames that carry no picture (SPS, PPS, SEI alone) onto the next
/// frame that does, so a decoder is always fed whole pictures.
///
/// Chromium, for one, hands SPS/PPS over as a separate frame.
#[derive(Debug, Default)]
pub struct ParamSetJoiner {
    /// NAL units of picture-less frames waiting for the next picture.
    pending: Vec<u8>,
}

impl ParamSetJoiner {
    /// A joiner with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one access unit; returns the frame to decode, or `None` when the
    /// unit carried no picture and is held for the next one.
    pub fn push(&mut self, access_unit: &[u8]) -> Option<Vec<u8>> {
        if !has_picture(access_unit) {
            self.pending.extend_from_slice(access_unit);
            return None;
        }
        if self.pending.is_empty() {
            return Some(access_unit.to_vec());
        }
        let mut joined = std::mem::take(&mut self.pending);
        joined.extend_from_slice(access_unit);
        Some(joined)
    }

    /// Drop anything pending (after loss or a stream change).
    pub fn reset(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1f, 0x8c];
    const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];
    const IDR: &[u8] = &[0x65, 0x88, 0x84, 0x00, 0x33];
    const P: &[u8] = &[0x41, 0x9a, 0x02, 0x03];

    #[test]
    fn frame_number_goes_before_the_first_slice_and_reads_back() {
        let au = join_annexb([&[0x67u8, 1][..], &[0x68, 2], &[0x65, 3, 4]]);
        let numbered = with_frame_number(&au, 0x00ab_cdef);
        let types: Vec<_> = split_annexb(&numbered)
            .iter()
            .map(|n| nal_type(n))
            .collect();
        assert_eq!(
            types,
            [Some(NAL_SPS), Some(NAL_PPS), Some(NAL_SEI), Some(NAL_IDR)]
        );
        assert_eq!(frame_number(&numbered), Some(0x00ab_cdef));
        assert_eq!(frame_number(&au), None);
        assert!(is_keyframe(&numbered));
        assert!(
            !frame_number_sei(0).contains(&0),
            "no zero bytes, no emulation prevention"
        );
    }

    #[test]
    fn splits_four_and_three_byte_start_codes() {
        let mut stream = vec![0, 0, 0, 1];
        stream.extend_from_slice(SPS);
        stream.extend_from_slice(&[0, 0, 1]);
        stream.extend_from_slice(PPS);
        stream.extend_from_slice(&[0, 0, 0, 1]);
        stream.extend_from_slice(IDR);
        assert_eq!(split_annexb(&stream), vec![SPS, PPS, IDR]);
    }

    #[test]
    fn keeps_zero_bytes_inside_a_nal_but_not_trailing_ones() {
        // IDR ends in 0x33; `00 00 03` emulation prevention stays intact.
        let nal: &[u8] = &[0x65, 0x00, 0x00, 0x03, 0x01, 0x33];
        let mut stream = join_annexb([nal]);
        stream.extend_from_slice(&[0, 0]); // trailing_zero_8bits
        assert_eq!(split_annexb(&stream), vec![nal]);
    }

    #[test]
    fn bare_nal_and_empty_input() {
        assert_eq!(split_annexb(P), vec![P]);
        assert!(split_annexb(&[]).is_empty());
        assert!(split_annexb(&[0, 0, 0, 1]).is_empty());
    }

    #[test]
    fn join_then_split_round_trips() {
        let stream = join_annexb([SPS, PPS, IDR]);
        assert_eq!(&stream[..4], &START_CODE);
        assert_eq!(split_annexb(&stream), vec![SPS, PPS, IDR]);
    }

    #[test]
    fn classifies_frames() {
        let key = join_annexb([SPS, PPS, IDR]);
        let delta = join_annexb([P]);
        assert!(is_keyframe(&key) && has_parameter_sets(&key) && has_picture(&key));
        assert!(!is_keyframe(&delta) && !has_parameter_sets(&delta) && has_picture(&delta));
        assert_eq!(nal_type(IDR), Some(NAL_IDR));
        assert_eq!(nal_type(&[]), None);
    }

    #[test]
    fn joiner_holds_parameter_sets_for_the_next_picture() {
        let mut joiner = ParamSetJoiner::new();
        assert_eq!(joiner.push(&join_annexb([SPS, PPS])), None);
        let joined = joiner.push(&join_annexb([IDR])).expect("picture");
        assert_eq!(joined, join_annexb([SPS, PPS, IDR]));
        let delta = join_annexb([P]);
        assert_eq!(joiner.push(&delta), Some(delta.clone()));
        joiner.push(&join_annexb([SPS]));
        joiner.reset();
        assert_eq!(joiner.push(&delta), Some(delta));
    }
}
