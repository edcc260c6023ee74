//! Assembles H.264 RTP packets (RFC 6184, packetization-mode 1) into access
//! units on the RTP marker bit.
//!
//! A frame is handed out the moment its last packet (marker bit set) arrives,
//! not when the next frame starts, which is the one-frame delay of webrtc's
//! `SampleBuilder`. Loss is detected here as well: a sequence-number gap, a
//! FU-A fragment without its start, a frame that ends with a NAL unit still
//! open, or a new timestamp before the marker all make the frame
//! [`VideoEvent::Lost`], so the viewer can ask for a keyframe instead of
//! decoding garbage. So does a payload that breaks RFC 6184 (a truncated
//! STAP-A, an aggregate or fragment of anything but a plain NAL unit).
//! Loss before the first packet received cannot be seen: a stream joined
//! mid-frame reaches the decoder, whose error then asks for a keyframe.
//!
//! Sans-IO: feed packets with [`FrameAssembler::push`], take results with
//! [`FrameAssembler::poll`].

use std::collections::VecDeque;

use bytes::Bytes;

use crate::h264::{NAL_IDR, START_CODE};

/// NAL type of a STAP-A aggregation packet.
const STAP_A: u8 = 24;
/// NAL type of a FU-A fragment.
const FU_A: u8 = 28;
/// FU header bit: first fragment of a NAL unit.
const FU_START: u8 = 0x80;
/// FU header bit: last fragment of a NAL unit.
const FU_END: u8 = 0x40;

/// The parts of an RTP packet the assembler needs.
#[derive(Debug, Clone, Copy)]
pub struct RtpPacketRef<'a> {
    pub sequence_number: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: &'a [u8],
}

/// One complete H.264 access unit, as Annex-B with four-byte start codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// NAL units, each preceded by `00 00 00 01`.
    pub data: Bytes,
    /// RTP timestamp (90 kHz clock) shared by all packets of the frame.
    pub rtp_timestamp: u32,
    /// The frame contains an IDR slice and can be decoded on its own.
    pub keyframe: bool,
}

/// What the assembler produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoEvent {
    /// A frame whose every packet arrived.
    Frame(AccessUnit),
    /// A frame (or frames) lost or damaged; the decoder's state is no longer
    /// trustworthy until the next keyframe.
    Lost { rtp_timestamp: u32 },
}

/// The frame being assembled.
#[derive(Debug)]
struct Partial {
    /// RTP timestamp of the frame; a different one means a new frame.
    timestamp: u32,
    /// Annex-B bytes collected so far.
    data: Vec<u8>,
    /// Something is missing or malformed; the frame will be reported lost.
    damaged: bool,
    /// A FU-A NAL unit was started and has not seen its end fragment.
    fragment_open: bool,
    /// An IDR slice was seen.
    keyframe: bool,
}

/// Marker-bit frame assembler with loss detection. See the module docs.
#[derive(Debug, Default)]
pub struct FrameAssembler {
    /// Sequence number of the last accepted packet; `None` before the first.
    last_sequence: Option<u16>,
    /// The frame in progress.
    frame: Option<Partial>,
    /// Results waiting for [`FrameAssembler::poll`].
    output: VecDeque<VideoEvent>,
}

impl FrameAssembler {
    /// An assembler waiting for its first packet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one RTP packet of the H.264 stream.
    pub fn push(&mut self, packet: RtpPacketRef<'_>) {
        let gap = match self.last_sequence {
            None => false,
            Some(last) => {
                let delta = packet.sequence_number.wrapping_sub(last) as i16;
                if delta <= 0 {
                    // Duplicate or late (e.g. a retransmission after we gave up).
                    return;
                }
                delta > 1
            }
        };
        self.last_sequence = Some(packet.sequence_number);

        if let Some(frame) = &self.frame {
            if frame.timestamp != packet.timestamp {
                // The previous frame's marker packet never came.
                let lost = frame.timestamp;
                self.frame = None;
                self.output.push_back(VideoEvent::Lost {
                    rtp_timestamp: lost,
                });
            }
        }

        let frame = self.frame.get_or_insert_with(|| Partial {
            timestamp: packet.timestamp,
            data: Vec::new(),
            damaged: false,
            fragment_open: false,
            keyframe: false,
        });
        // After a gap we cannot tell whether the missing packets belonged to
        // this frame or to whole frames before it: either way the decoder
        // misses data, so the frame counts as lost.
        frame.damaged |= gap;
        if !frame.damaged && depacketize(frame, packet.payload).is_err() {
            frame.damaged = true;
        }

        if packet.marker {
            // `get_or_insert_with` above guarantees a frame is present.
            if let Some(frame) = self.frame.take() {
                self.finish(frame);
            }
        }
    }

    /// Take the next assembled frame or loss report.
    pub fn poll(&mut self) -> Option<VideoEvent> {
        self.output.pop_front()
    }

    fn finish(&mut self, frame: Partial) {
        if frame.damaged || frame.fragment_open {
            self.output.push_back(VideoEvent::Lost {
                rtp_timestamp: frame.timestamp,
            });
        } else if !frame.data.is_empty() {
            self.output.push_back(VideoEvent::Frame(AccessUnit {
                data: Bytes::from(frame.data),
                rtp_timestamp: frame.timestamp,
                keyframe: frame.keyframe,
            }));
        }
    }
}

/// Why a payload could not be used; the frame is then reported lost.
#[derive(Debug)]
struct Malformed;

/// Append one RTP payload to the frame.
fn depacketize(frame: &mut Partial, payload: &[u8]) -> Result<(), Malformed> {
    let Some(&indicator) = payload.first() else {
        return Ok(()); // Padding-only packet: no media, sequence still counts.
    };
    match indicator & 0x1f {
        nal @ 1..=23 => {
            if frame.fragment_open {
                return Err(Malformed);
            }
            push_nal(frame, nal, payload);
            Ok(())
        }
        STAP_A => {
            if frame.fragment_open {
                return Err(Malformed);
            }
            let mut rest = &payload[1..];
            while !rest.is_empty() {
                let [hi, lo, tail @ ..] = rest else {
                    return Err(Malformed);
                };
                let size = usize::from(u16::from_be_bytes([*hi, *lo]));
                if size == 0 || size > tail.len() {
                    return Err(Malformed);
                }
                let (nal, after) = tail.split_at(size);
                push_nal(frame, plain_nal_type(nal[0])?, nal);
                rest = after;
            }
            Ok(())
        }
        FU_A => {
            let [_, header, fragment @ ..] = payload else {
                return Err(Malformed);
            };
            let nal = plain_nal_type(*header)?;
            if header & FU_START != 0 {
                if frame.fragment_open {
                    return Err(Malformed);
                }
                let reconstructed = (indicator & 0xe0) | nal;
                frame.data.extend_from_slice(&START_CODE);
                frame.data.push(reconstructed);
                frame.keyframe |= nal == NAL_IDR;
                frame.fragment_open = true;
            } else if !frame.fragment_open {
                return Err(Malformed); // Its start fragment was lost.
            }
            frame.data.extend_from_slice(fragment);
            if header & FU_END != 0 {
                frame.fragment_open = false;
            }
            Ok(())
        }
        // STAP-B, MTAP, FU-B and reserved types are not used with
        // packetization-mode 1 by WebRTC senders.
        _ => Err(Malformed),
    }
}

/// The NAL type in `header` if it is a plain NAL unit (1 to 23): RFC 6184
/// lets a STAP-A aggregate, and a FU-A fragment, nothing else. Types 0
/// and 24 to 31 would reach the decoder as NAL units it cannot have.
fn plain_nal_type(header: u8) -> Result<u8, Malformed> {
    match header & 0x1f {
        nal @ 1..=23 => Ok(nal),
        _ => Err(Malformed),
    }
}

fn push_nal(frame: &mut Partial, nal_type: u8, nal: &[u8]) {
    frame.data.extend_from_slice(&START_CODE);
    frame.data.extend_from_slice(nal);
    frame.keyframe |= nal_type == NAL_IDR;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::join_annexb;

    fn pkt(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> RtpPacketRef<'_> {
        RtpPacketRef {
            sequence_number: seq,
            timestamp: ts,
            marker,
            payload,
        }
    }

    fn drain(a: &mut FrameAssembler) -> Vec<VideoEvent> {
        std::iter::from_fn(|| a.poll()).collect()
    }

    const SPS: &[u8] = &[0x67, 0x42, 0xe0, 0x1f];
    const PPS: &[u8] = &[0x68, 0xce, 0x06];
    /// An IDR NAL split as FU-A: header 0x65, body [1,2,3,4,5,6].
    const FU_1: &[u8] = &[0x7c, 0x85, 1, 2];
    const FU_2: &[u8] = &[0x7c, 0x05, 3, 4];
    const FU_3: &[u8] = &[0x7c, 0x45, 5, 6];
    const IDR: &[u8] = &[0x65, 1, 2, 3, 4, 5, 6];

    fn stap_a() -> Vec<u8> {
        let mut p = vec![0x78, 0, SPS.len() as u8];
        p.extend_from_slice(SPS);
        p.extend_from_slice(&[0, PPS.len() as u8]);
        p.extend_from_slice(PPS);
        p
    }

    #[test]
    fn emits_a_frame_on_the_marker_packet_without_waiting() {
        let mut a = FrameAssembler::new();
        let stap = stap_a();
        a.push(pkt(10, 900, false, &stap));
        a.push(pkt(11, 900, false, FU_1));
        a.push(pkt(12, 900, false, FU_2));
        assert!(a.poll().is_none());
        a.push(pkt(13, 900, true, FU_3));
        let expected = AccessUnit {
            data: Bytes::from(join_annexb([SPS, PPS, IDR])),
            rtp_timestamp: 900,
            keyframe: true,
        };
        assert_eq!(drain(&mut a), vec![VideoEvent::Frame(expected)]);
    }

    #[test]
    fn single_nal_frames_and_sequence_wraparound() {
        let mut a = FrameAssembler::new();
        let p = [0x41, 9, 9];
        a.push(pkt(u16::MAX, 0, true, &p));
        a.push(pkt(0, 3000, true, &p));
        let frames = drain(&mut a);
        assert_eq!(frames.len(), 2);
        assert!(
            matches!(&frames[1], VideoEvent::Frame(f) if !f.keyframe && f.rtp_timestamp == 3000)
        );
    }

    #[test]
    fn a_gap_inside_a_frame_reports_it_lost() {
        let mut a = FrameAssembler::new();
        a.push(pkt(1, 900, false, FU_1));
        a.push(pkt(3, 900, true, FU_3)); // 2 missing
        assert_eq!(drain(&mut a), vec![VideoEvent::Lost { rtp_timestamp: 900 }]);
        // The next whole frame is delivered again.
        a.push(pkt(4, 1800, true, &[0x41, 1]));
        assert!(matches!(drain(&mut a)[..], [VideoEvent::Frame(_)]));
    }

    #[test]
    fn a_lost_start_fragment_is_detected_without_a_gap_at_stream_start() {
        let mut a = FrameAssembler::new();
        // The first packet seen is a middle fragment: no gap is visible.
        a.push(pkt(2, 900, false, FU_2));
        a.push(pkt(3, 900, true, FU_3));
        assert_eq!(drain(&mut a), vec![VideoEvent::Lost { rtp_timestamp: 900 }]);
    }

    #[test]
    fn a_missing_end_fragment_or_marker_reports_lost() {
        let mut a = FrameAssembler::new();
        a.push(pkt(1, 900, true, FU_1)); // marker, but the NAL is still open
        a.push(pkt(2, 1800, false, &[0x41, 1])); // marker never arrives...
        a.push(pkt(3, 2700, true, &[0x41, 2])); // ...a new timestamp starts
        let out = drain(&mut a);
        assert_eq!(out[0], VideoEvent::Lost { rtp_timestamp: 900 });
        assert_eq!(
            out[1],
            VideoEvent::Lost {
                rtp_timestamp: 1800
            }
        );
        assert!(matches!(&out[2], VideoEvent::Frame(f) if f.rtp_timestamp == 2700));
    }

    #[test]
    fn a_gap_between_frames_marks_the_next_frame_lost() {
        let mut a = FrameAssembler::new();
        a.push(pkt(1, 900, true, &[0x41, 1]));
        a.push(pkt(5, 4500, true, &[0x41, 2])); // whole frames 2..4 missing
        let out = drain(&mut a);
        assert!(matches!(out[0], VideoEvent::Frame(_)));
        assert_eq!(
            out[1],
            VideoEvent::Lost {
                rtp_timestamp: 4500
            }
        );
    }

    #[test]
    fn duplicates_are_ignored_and_malformed_payloads_are_lost() {
        let mut a = FrameAssembler::new();
        a.push(pkt(1, 900, true, &[0x41, 1]));
        a.push(pkt(1, 900, true, &[0x41, 1]));
        assert_eq!(drain(&mut a).len(), 1);
        a.push(pkt(2, 1800, true, &[0x78, 0, 9, 0x67])); // STAP-A size overruns
        a.push(pkt(3, 2700, true, &[0x7c])); // FU-A without a header
        a.push(pkt(4, 3600, true, &[0x7d, 0x85, 1])); // FU-B: unsupported
        assert!(drain(&mut a)
            .iter()
            .all(|x| matches!(x, VideoEvent::Lost { .. })));
    }

    /// Found by the property tests: a STAP-A or FU-A carrying an RTP-only
    /// type (a STAP-A inside a STAP-A, type 0) was handed to the decoder.
    #[test]
    fn aggregates_and_fragments_of_rtp_only_types_are_lost() {
        let mut a = FrameAssembler::new();
        a.push(pkt(1, 900, true, &[0x78, 0, 2, 0x78, 1])); // STAP-A in STAP-A
        a.push(pkt(2, 1800, true, &[0x7c, 0xC0, 1])); // FU-A of type 0
        a.push(pkt(3, 2700, true, &[0x7c, 0xDC, 1])); // FU-A of a FU-A
        assert_eq!(
            drain(&mut a),
            [900, 1800, 2700].map(|rtp_timestamp| VideoEvent::Lost { rtp_timestamp })
        );
    }

    #[test]
    fn padding_packets_keep_the_sequence_continuous() {
        let mut a = FrameAssembler::new();
        a.push(pkt(1, 900, false, &[0x41, 1]));
        a.push(pkt(2, 900, false, &[]));
        a.push(pkt(3, 900, true, &[0x41, 2]));
        assert!(matches!(drain(&mut a)[..], [VideoEvent::Frame(_)]));
    }
}
