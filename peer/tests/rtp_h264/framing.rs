//! Properties of the marker-bit frame assembler (`meshdesk_peer::framing`).

use meshdesk_peer::framing::{FrameAssembler, RtpPacketRef};
use meshdesk_peer::h264::START_CODE;
use meshdesk_peer::{AccessUnit, VideoEvent};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};

use crate::config;
use crate::stream::{stream, Packet, Stream, FU_A, STAP_A};

/// Feed `packets` in order; every event, in order.
fn assemble<'a>(packets: impl IntoIterator<Item = &'a Packet>) -> Vec<VideoEvent> {
    let mut assembler = FrameAssembler::new();
    let mut events = Vec::new();
    for p in packets {
        assembler.push(RtpPacketRef {
            sequence_number: p.sequence_number,
            timestamp: p.timestamp,
            marker: p.marker,
            payload: &p.payload,
        });
        events.extend(std::iter::from_fn(|| assembler.poll()));
    }
    events
}

/// What happens on the way: a packet lost, sent twice, or overtaken by
/// the next one.
#[derive(Debug, Clone, Copy)]
enum Mishap {
    Drop(Index),
    Duplicate(Index),
    SwapWithNext(Index),
}

fn mishap() -> impl Strategy<Value = Mishap> {
    prop_oneof![
        any::<Index>().prop_map(Mishap::Drop),
        any::<Index>().prop_map(Mishap::Duplicate),
        any::<Index>().prop_map(Mishap::SwapWithNext),
    ]
}

/// The packets after `mishaps`, as positions in the stream. The first
/// packet always arrives first: loss before it cannot be seen (the
/// decoder's own error then asks for a keyframe).
fn arrivals(count: usize, mishaps: &[Mishap]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    for m in mishaps {
        if order.len() < 2 {
            break;
        }
        match *m {
            Mishap::Drop(i) => {
                order.remove(1 + i.index(order.len() - 1));
            }
            Mishap::Duplicate(i) => {
                let at = i.index(order.len());
                order.insert(at + 1, order[at]);
            }
            Mishap::SwapWithNext(i) if order.len() > 2 => {
                let at = 1 + i.index(order.len() - 2);
                order.swap(at, at + 1);
            }
            Mishap::SwapWithNext(_) => {}
        }
    }
    order
}

/// What the assembler must say for `arrived` (positions in the stream):
/// a packet older than one already seen is ignored; a frame comes out
/// whole when all its packets and the one before it arrived (else a gap
/// could hide a lost frame), and is reported lost otherwise, except the
/// last frame seen while it still waits for its marker.
fn expected(s: &Stream, arrived: &[usize]) -> Vec<VideoEvent> {
    let mut used = vec![false; s.packets.len()];
    let mut newest = None;
    for &i in arrived {
        if newest.is_none_or(|n| i > n) {
            used[i] = true;
            newest = Some(i);
        }
    }
    let last_seen = newest.map(|i| s.packets[i].frame);
    let mut events = Vec::new();
    for f in 0..s.units.len() {
        let packets: Vec<usize> = (0..s.packets.len())
            .filter(|&i| s.packets[i].frame == f)
            .collect();
        let first = packets[0];
        let marker = *packets.last().expect("a frame has packets");
        if !packets.iter().any(|&i| used[i]) {
            continue;
        }
        let whole = packets.iter().all(|&i| used[i]) && (first == 0 || used[first - 1]);
        let rtp_timestamp = s.timestamps[f];
        if whole {
            events.push(VideoEvent::Frame(AccessUnit {
                data: s.annexb(f).into(),
                rtp_timestamp,
                keyframe: s.is_keyframe(f),
            }));
        } else if used[marker] || Some(f) != last_seen {
            events.push(VideoEvent::Lost { rtp_timestamp });
        }
    }
    events
}

fn packet() -> impl Strategy<Value = Packet> {
    let header = prop_oneof![
        any::<u8>(),
        select(vec![STAP_A, FU_A, 0x7c, 0x78, 0x65, 0x41])
    ];
    let payload = (header, vec(any::<u8>(), 0..40)).prop_map(|(h, mut rest)| {
        rest.insert(0, h);
        rest
    });
    let payload = prop_oneof![4 => payload, 1 => vec(any::<u8>(), 0..3)];
    (
        any::<u16>(),
        select(vec![0u32, 1, 3000, u32::MAX]),
        any::<bool>(),
        payload,
    )
        .prop_map(|(sequence_number, timestamp, marker, payload)| Packet {
            sequence_number,
            timestamp,
            marker,
            payload,
            frame: 0,
        })
}

/// Mostly consecutive sequence numbers, so that packets get deep into
/// frames rather than being dropped as late.
fn packets() -> impl Strategy<Value = Vec<Packet>> {
    let step = prop_oneof![6 => Just(1u16), 1 => Just(0), 1 => Just(2), 1 => any::<u16>()];
    vec((packet(), step), 0..40).prop_map(|mut v| {
        let mut seq = v.first().map_or(0, |(p, _)| p.sequence_number);
        v.iter_mut()
            .map(|(p, step)| {
                seq = seq.wrapping_add(*step);
                Packet {
                    sequence_number: seq,
                    ..p.clone()
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn a_whole_stream_comes_out_byte_for_byte(s in stream()) {
        let all: Vec<usize> = (0..s.packets.len()).collect();
        prop_assert_eq!(assemble(&s.packets), expected(&s, &all));
        prop_assert!(assemble(&s.packets).iter().all(|e| matches!(e, VideoEvent::Frame(_))));
    }

    #[test]
    fn after_loss_duplicates_or_reordering_no_damaged_frame_comes_out(
        s in stream(), mishaps in vec(mishap(), 1..6),
    ) {
        let order = arrivals(s.packets.len(), &mishaps);
        let got = assemble(order.iter().map(|&i| &s.packets[i]));
        prop_assert_eq!(got, expected(&s, &order), "arrivals {:?}", order);
    }

    #[test]
    fn arbitrary_packets_never_panic_and_frames_are_annexb(packets in packets()) {
        let mut assembler = FrameAssembler::new();
        for p in &packets {
            assembler.push(RtpPacketRef {
                sequence_number: p.sequence_number,
                timestamp: p.timestamp,
                marker: p.marker,
                payload: &p.payload,
            });
            let events: Vec<VideoEvent> = std::iter::from_fn(|| assembler.poll()).collect();
            prop_assert!(events.len() <= 2, "{:?}", events);
            for e in events {
                if let VideoEvent::Frame(f) = e {
                    prop_assert!(f.data.starts_with(&START_CODE));
                    prop_assert!(packets.iter().any(|p| p.timestamp == f.rtp_timestamp));
                }
            }
        }
    }

    /// A marker on a FU-A fragment that is not the last of its NAL unit:
    /// the frame ends with the NAL unit still open, and is lost; the
    /// frames around it still come out.
    #[test]
    fn a_frame_ending_inside_a_fragmented_nal_is_lost(s in stream(), choice in any::<Index>()) {
        let open: Vec<usize> = (0..s.packets.len())
            .filter(|&i| {
                let p = &s.packets[i].payload;
                p[0] & 0x1f == FU_A && p[1] & 0x40 == 0
            })
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        let cut = open[choice.index(open.len())];
        let broken = s.packets[cut].frame;
        let first = s.packets[0].sequence_number;
        let packets: Vec<Packet> = s
            .packets
            .iter()
            .enumerate()
            .filter(|&(i, p)| p.frame != broken || i <= cut)
            .enumerate()
            .map(|(k, (i, p))| Packet {
                sequence_number: first.wrapping_add(k as u16),
                marker: p.marker || i == cut,
                ..p.clone()
            })
            .collect();
        let all: Vec<usize> = (0..s.packets.len()).collect();
        let mut want = expected(&s, &all);
        want[broken] = VideoEvent::Lost { rtp_timestamp: s.timestamps[broken] };
        prop_assert_eq!(assemble(&packets), want);
    }

    /// RFC 6184: a STAP-A aggregates, and a FU-A fragments, plain NAL units
    /// only (types 1 to 23); anything else in them is damage.
    #[test]
    fn aggregates_and_fragments_of_rtp_only_types_are_lost(
        inner in prop_oneof![Just(0u8), 24u8..=31], body in vec(1u8..=255, 1..20), fu in any::<bool>(),
    ) {
        let payload = if fu {
            let mut p = vec![0x60 | FU_A, 0xC0 | inner];
            p.extend(&body);
            p
        } else {
            let mut p = vec![STAP_A];
            p.extend_from_slice(&(body.len() as u16 + 1).to_be_bytes());
            p.push(0x60 | inner);
            p.extend(&body);
            p
        };
        let packet = Packet { sequence_number: 7, timestamp: 90, marker: true, payload, frame: 0 };
        prop_assert_eq!(assemble([&packet]), vec![VideoEvent::Lost { rtp_timestamp: 90 }]);
    }
}
