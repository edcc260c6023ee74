//! TURN over TCP framing (RFC 8656 §11.5, RFC 5766 §2.1): the client and
//! the TURN server exchange STUN messages and ChannelData back to back on
//! one stream. A STUN message is its 20-byte header plus the length in
//! bytes 2..4; ChannelData is a 4-byte header plus the length, padded to a
//! multiple of 4 on a stream (optional in a UDP datagram).
//!
//! Shared by the embedded relay (which reads client streams) and the
//! native peers (which carry their TURN client's datagrams over TCP).
//! Pure: bytes in, lengths out.

/// STUN header length.
const STUN_HEADER: usize = 20;
/// ChannelData header length.
const CHANNEL_HEADER: usize = 4;

/// The stream holds something that is neither STUN nor ChannelData: its
/// framing is lost and the connection should be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a STUN message or ChannelData")]
pub struct NotTurnFraming;

/// One frame at the start of a stream buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Bytes the frame takes on the stream, padding included.
    pub stream_len: usize,
    /// Bytes of the frame as a datagram (ChannelData without its padding).
    pub datagram_len: usize,
}

/// The first frame in `buf`, `Ok(None)` if more bytes are needed to have
/// all of it, or an error when the first bits are neither STUN (00) nor
/// ChannelData (01).
pub fn first_frame(buf: &[u8]) -> Result<Option<Frame>, NotTurnFraming> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let frame = match buf[0] & 0xC0 {
        0x00 => Frame {
            stream_len: STUN_HEADER + len,
            datagram_len: STUN_HEADER + len,
        },
        0x40 => Frame {
            stream_len: CHANNEL_HEADER + padded(len),
            datagram_len: CHANNEL_HEADER + len,
        },
        _ => return Err(NotTurnFraming),
    };
    Ok((buf.len() >= frame.stream_len).then_some(frame))
}

/// Zero bytes (0 to 3) to append to `datagram` before it goes on a stream:
/// ChannelData sent over UDP may lack the padding a stream requires. A
/// datagram shorter than its length field gets none: filling it up would
/// hide the missing data, and [`first_frame`] then tells it is not whole.
pub fn stream_padding(datagram: &[u8]) -> usize {
    if datagram.len() >= CHANNEL_HEADER && datagram[0] & 0xC0 == 0x40 {
        let len = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
        if datagram.len() < CHANNEL_HEADER + len {
            return 0;
        }
        (CHANNEL_HEADER + padded(len)).saturating_sub(datagram.len())
    } else {
        0
    }
}

fn padded(len: usize) -> usize {
    (len + 3) & !3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(body: usize) -> Vec<u8> {
        let mut v = vec![0x00, 0x01];
        v.extend_from_slice(&(body as u16).to_be_bytes());
        v.resize(STUN_HEADER + body, 0xAB);
        v
    }

    fn channel(data: &[u8], pad: bool) -> Vec<u8> {
        let mut v = vec![0x40, 0x01];
        v.extend_from_slice(&(data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        if pad {
            v.resize(CHANNEL_HEADER + padded(data.len()), 0);
        }
        v
    }

    #[test]
    fn frames_back_to_back_are_delimited() {
        let mut buf = stun(8);
        buf.extend(channel(b"hello", true));
        let first = first_frame(&buf).unwrap().unwrap();
        assert_eq!(first.stream_len, 28);
        assert_eq!(first.datagram_len, 28);
        let second = first_frame(&buf[28..]).unwrap().unwrap();
        assert_eq!(second.stream_len, 12, "padded to 4 on the stream");
        assert_eq!(second.datagram_len, 9, "the datagram loses the padding");
        assert_eq!(buf.len(), 28 + 12);
    }

    #[test]
    fn partial_frames_wait_for_more() {
        let buf = channel(b"hello", true);
        assert_eq!(first_frame(&buf[..3]), Ok(None));
        assert_eq!(first_frame(&buf[..11]), Ok(None));
        assert_eq!(first_frame(&stun(4)[..23]), Ok(None));
    }

    #[test]
    fn other_first_bits_lose_the_framing() {
        assert_eq!(first_frame(&[0x80, 0, 0, 0]), Err(NotTurnFraming));
        assert_eq!(first_frame(&[0xFF, 0, 0, 0]), Err(NotTurnFraming));
    }

    #[test]
    fn only_unpadded_channel_data_needs_padding() {
        assert_eq!(stream_padding(&channel(b"hello", false)), 3);
        assert_eq!(stream_padding(&channel(b"hello", true)), 0);
        assert_eq!(stream_padding(&channel(b"four", false)), 0);
        assert_eq!(stream_padding(&stun(8)), 0);
        assert_eq!(stream_padding(&[0x40]), 0, "too short to tell");
    }

    /// Found by the property tests: a ChannelData datagram shorter than its
    /// length field was "padded" with zeros up to that length, so the
    /// bridge wrote it to the stream as if it were whole.
    #[test]
    fn a_truncated_datagram_gets_no_padding_and_stays_incomplete() {
        let whole = channel(b"hello world", false);
        let cut = &whole[..9];
        assert_eq!(stream_padding(cut), 0);
        assert_eq!(first_frame(cut), Ok(None), "never a whole frame");
    }
}
