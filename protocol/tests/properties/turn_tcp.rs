//! Properties of the TURN-over-TCP framing ([`meshdesk_protocol::turn_tcp`]):
//! any bytes give a frame inside the buffer, "need more" or "not TURN";
//! frames written back to back are found again, whole, at any cut.

use meshdesk_protocol::turn_tcp::{first_frame, stream_padding, Frame, NotTurnFraming};
use proptest::collection::vec;
use proptest::prelude::*;

use crate::config;

/// The most a frame can take on a stream: a STUN header and a 16-bit length.
const MAX_FRAME: usize = 20 + 0xFFFF;

/// One frame as written on a stream: STUN (first bits 00) or padded
/// ChannelData (first bits 01), and its length as a datagram.
#[derive(Debug, Clone)]
struct Written {
    bytes: Vec<u8>,
    datagram_len: usize,
}

fn stun() -> impl Strategy<Value = Written> {
    (0u8..0x40, any::<u8>(), vec(any::<u8>(), 0..600)).prop_map(|(b0, b1, body)| {
        let mut bytes = vec![b0, b1];
        bytes.extend_from_slice(&(body.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        bytes.extend_from_slice(&[7; 12]);
        bytes.extend_from_slice(&body);
        let datagram_len = bytes.len();
        Written {
            bytes,
            datagram_len,
        }
    })
}

fn channel_data() -> impl Strategy<Value = Written> {
    (0x40u8..0x80, any::<u8>(), vec(any::<u8>(), 0..600)).prop_map(|(b0, b1, data)| {
        let mut bytes = vec![b0, b1];
        bytes.extend_from_slice(&(data.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&data);
        let datagram_len = bytes.len();
        bytes.resize(datagram_len.div_ceil(4) * 4, 0);
        Written {
            bytes,
            datagram_len,
        }
    })
}

fn frames() -> impl Strategy<Value = Vec<Written>> {
    vec(prop_oneof![stun(), channel_data()], 1..8)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_bytes_give_a_frame_within_them_more_needed_or_not_turn(
        buf in prop_oneof![vec(any::<u8>(), 0..64), vec(any::<u8>(), 0..2000)],
    ) {
        match first_frame(&buf) {
            Ok(Some(Frame { stream_len, datagram_len })) => {
                prop_assert!(buf[0] & 0xC0 < 0x80);
                prop_assert!(4 <= datagram_len && datagram_len <= stream_len);
                prop_assert!(stream_len <= buf.len() && stream_len <= MAX_FRAME);
                prop_assert!(stream_len - datagram_len < 4);
            }
            Ok(None) => prop_assert!(buf.len() < 4 || buf[0] & 0xC0 < 0x80),
            Err(NotTurnFraming) => prop_assert!(buf.len() >= 4 && buf[0] & 0xC0 >= 0x80),
        }
        // Padding is padding: never a fill-up of missing data.
        let padding = stream_padding(&buf);
        prop_assert!(padding < 4);
        if padding > 0 {
            let mut framed = buf.clone();
            framed.resize(buf.len() + padding, 0);
            let got = first_frame(&framed).map(|f| f.map(|f| f.stream_len));
            prop_assert_eq!(got, Ok(Some(framed.len())));
        }
    }

    #[test]
    fn frames_back_to_back_are_found_again(written in frames()) {
        let stream: Vec<u8> = written.iter().flat_map(|w| w.bytes.clone()).collect();
        let mut at = 0;
        for w in &written {
            let got = first_frame(&stream[at..]);
            let want = Frame { stream_len: w.bytes.len(), datagram_len: w.datagram_len };
            prop_assert_eq!(got, Ok(Some(want)));
            at += w.bytes.len();
        }
        prop_assert_eq!(at, stream.len());
        prop_assert_eq!(first_frame(&stream[at..]), Ok(None));
    }

    #[test]
    fn a_cut_frame_waits_for_more(written in frames(), cut in any::<prop::sample::Index>()) {
        let first = &written[0].bytes;
        let short = &first[..cut.index(first.len())];
        prop_assert_eq!(first_frame(short), Ok(None));
    }

    /// A datagram without its stream padding gets exactly what the stream
    /// needs; STUN needs none.
    #[test]
    fn padding_completes_a_datagram_to_its_stream_frame(w in prop_oneof![stun(), channel_data()]) {
        let datagram = &w.bytes[..w.datagram_len];
        prop_assert_eq!(datagram.len() + stream_padding(datagram), w.bytes.len());
        prop_assert_eq!(stream_padding(&w.bytes), 0);
    }
}
