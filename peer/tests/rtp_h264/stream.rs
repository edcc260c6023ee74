//! Strategies for H.264 as an encoder writes it (NAL units with emulation
//! prevention, access units) and as a sender packetizes it for RTP
//! (RFC 6184, packetization-mode 1).

use meshdesk_peer::h264::{join_annexb, NAL_IDR, NAL_PPS, NAL_SEI, NAL_SLICE, NAL_SPS};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// NAL type of a STAP-A aggregation packet.
pub const STAP_A: u8 = 24;
/// NAL type of a FU-A fragment.
pub const FU_A: u8 = 28;

/// Insert emulation-prevention bytes, so that no `00 00 0x` (x <= 3)
/// remains, and end on a non-zero byte, as the RBSP stop bit does.
fn emulation_prevented(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 2 + 1);
    let mut zeros = 0;
    for &b in raw {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out.push(0x80);
    out
}

/// One NAL unit of a type an encoder writes: header (F = 0, any NRI)
/// and an emulation-prevented body, mostly small, now and then long.
pub fn nal() -> impl Strategy<Value = Vec<u8>> {
    let common = select(vec![NAL_SLICE, NAL_IDR, NAL_SEI, NAL_SPS, NAL_PPS]);
    let nal_type = prop_oneof![3 => common, 1 => 1u8..=23];
    let body = prop_oneof![
        4 => vec(prop_oneof![3 => Just(0u8), 5 => any::<u8>()], 0..40),
        1 => vec(any::<u8>(), 100..3000),
    ];
    (nal_type, 0u8..4, body).prop_map(|(t, nri, body)| {
        let mut nal = vec![(nri << 5) | t];
        nal.extend(emulation_prevented(&body));
        nal
    })
}

/// One access unit: its NAL units, in order.
pub fn access_unit() -> impl Strategy<Value = Vec<Vec<u8>>> {
    vec(nal(), 1..6)
}

/// One RTP packet as the assembler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub sequence_number: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Vec<u8>,
    /// Which access unit of the stream it carries.
    pub frame: usize,
}

/// A packetized stream: the access units and their packets in order.
#[derive(Debug, Clone)]
pub struct Stream {
    pub units: Vec<Vec<Vec<u8>>>,
    pub timestamps: Vec<u32>,
    pub packets: Vec<Packet>,
}

impl Stream {
    /// The Annex-B bytes the assembler must hand out for unit `i`.
    pub fn annexb(&self, i: usize) -> Vec<u8> {
        join_annexb(self.units[i].iter().map(Vec::as_slice))
    }

    pub fn is_keyframe(&self, i: usize) -> bool {
        self.units[i].iter().any(|n| n[0] & 0x1f == NAL_IDR)
    }
}

/// RTP payloads for one access unit, each at most `mtu` bytes: a NAL unit
/// too large is cut into FU-A fragments; with `aggregate`, runs of small
/// ones share a STAP-A.
pub fn packetize(unit: &[Vec<u8>], mtu: usize, aggregate: bool) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    let mut i = 0;
    while i < unit.len() {
        let run = if aggregate {
            stap_run(&unit[i..], mtu)
        } else {
            0
        };
        if run >= 2 {
            payloads.push(stap_a(&unit[i..i + run]));
            i += run;
        } else if unit[i].len() <= mtu {
            payloads.push(unit[i].clone());
            i += 1;
        } else {
            payloads.extend(fu_a(&unit[i], mtu));
            i += 1;
        }
    }
    payloads
}

/// How many NAL units from the start fit in one STAP-A of `mtu` bytes.
fn stap_run(nals: &[Vec<u8>], mtu: usize) -> usize {
    let mut size = 1;
    nals.iter()
        .take_while(|n| {
            size += 2 + n.len();
            size <= mtu
        })
        .count()
}

fn stap_a(nals: &[Vec<u8>]) -> Vec<u8> {
    let nri = nals.iter().map(|n| n[0] & 0x60).max().unwrap_or(0);
    let mut p = vec![nri | STAP_A];
    for n in nals {
        p.extend_from_slice(&(n.len() as u16).to_be_bytes());
        p.extend_from_slice(n);
    }
    p
}

fn fu_a(nal: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    let (header, body) = (nal[0], &nal[1..]);
    let chunks: Vec<&[u8]> = body.chunks(mtu - 2).collect();
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(k, chunk)| {
            let start = if k == 0 { 0x80 } else { 0 };
            let end = if k == last { 0x40 } else { 0 };
            let mut p = vec![(header & 0xe0) | FU_A, start | end | (header & 0x1f)];
            p.extend_from_slice(chunk);
            p
        })
        .collect()
}

/// A stream of 1 to 8 access units, packetized with one MTU and starting
/// at any sequence number and timestamp (both wrap).
pub fn stream() -> impl Strategy<Value = Stream> {
    let units = vec(access_unit(), 1..9);
    let steps = vec(1u32..6000, 8);
    (
        units,
        steps,
        40usize..1200,
        any::<bool>(),
        any::<u16>(),
        any::<u32>(),
    )
        .prop_map(|(units, steps, mtu, aggregate, first_seq, first_ts)| {
            let mut packets = Vec::new();
            let mut timestamps = Vec::new();
            let mut ts = first_ts;
            for (frame, unit) in units.iter().enumerate() {
                let payloads = packetize(unit, mtu, aggregate);
                let last = payloads.len() - 1;
                for (k, payload) in payloads.into_iter().enumerate() {
                    packets.push(Packet {
                        sequence_number: first_seq.wrapping_add(packets.len() as u16),
                        timestamp: ts,
                        marker: k == last,
                        payload,
                        frame,
                    });
                }
                timestamps.push(ts);
                ts = ts.wrapping_add(steps[frame]);
            }
            Stream {
                units,
                timestamps,
                packets,
            }
        })
}
