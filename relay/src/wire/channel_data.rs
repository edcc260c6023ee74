//! ChannelData messages (RFC 5766 §11.4) and the framing of STUN and
//! ChannelData over a TCP stream (§11.5: ChannelData padded to 4 bytes).

use super::WireError;

/// Lowest and highest channel numbers a client may bind.
pub const MIN_CHANNEL: u16 = 0x4000;
pub const MAX_CHANNEL: u16 = 0x7FFF;

/// One ChannelData message borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    pub number: u16,
    pub data: &'a [u8],
}

/// Whether the first byte starts a ChannelData message (0b01 prefix).
pub fn is_channel_data(raw: &[u8]) -> bool {
    raw.first().is_some_and(|b| b & 0xC0 == 0x40)
}

impl<'a> ChannelData<'a> {
    /// Decode; trailing padding (or anything else after the payload) is
    /// ignored, as UDP clients may or may not pad.
    pub fn decode(raw: &'a [u8]) -> Result<ChannelData<'a>, WireError> {
        if raw.len() < 4 {
            return Err(WireError::Truncated);
        }
        let number = u16::from_be_bytes([raw[0], raw[1]]);
        if !(MIN_CHANNEL..=MAX_CHANNEL).contains(&number) {
            return Err(WireError::BadChannel);
        }
        let len = usize::from(u16::from_be_bytes([raw[2], raw[3]]));
        let data = raw.get(4..4 + len).ok_or(WireError::Truncated)?;
        Ok(ChannelData { number, data })
    }

    /// Encode; `pad` to a multiple of 4 bytes (required over TCP).
    /// Payloads over 65535 bytes are cut (UDP datagrams cannot be longer).
    pub fn encode(number: u16, data: &[u8], pad: bool) -> Vec<u8> {
        let data = &data[..data.len().min(usize::from(u16::MAX))];
        let mut v = Vec::with_capacity(data.len() + 7);
        v.extend_from_slice(&number.to_be_bytes());
        v.extend_from_slice(&(data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        if pad {
            v.resize((v.len() + 3) & !3, 0);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_padding() {
        let raw = ChannelData::encode(0x4001, b"hello", true);
        assert_eq!(raw.len(), 12);
        assert_eq!(
            ChannelData::decode(&raw),
            Ok(ChannelData {
                number: 0x4001,
                data: b"hello"
            })
        );
        assert_eq!(ChannelData::encode(0x4001, b"hello", false).len(), 9);
        assert!(is_channel_data(&raw) && !is_channel_data(&[0x01]));
    }

    #[test]
    fn bad_channel_data_is_rejected() {
        assert_eq!(ChannelData::decode(&[0x40, 0]), Err(WireError::Truncated));
        assert_eq!(
            ChannelData::decode(&[0x80, 0, 0, 0]),
            Err(WireError::BadChannel)
        );
        assert_eq!(
            ChannelData::decode(&[0x40, 0, 0, 5, 1, 2]),
            Err(WireError::Truncated)
        );
    }

    #[test]
    fn the_relays_messages_frame_on_a_stream() {
        use meshdesk_protocol::turn_tcp::first_frame;
        let stun = super::super::Builder::new(
            super::super::Method::BINDING,
            super::super::Class::Request,
            [0; 12],
        )
        .finish(None, false);
        let chan = ChannelData::encode(0x4000, b"abcde", true);
        let mut stream = stun.clone();
        stream.extend_from_slice(&chan);
        let len = |b: &[u8]| first_frame(b).map(|f| f.map(|f| f.stream_len));
        assert_eq!(len(&stream), Ok(Some(20)));
        assert_eq!(len(&stream[20..]), Ok(Some(12)));
        assert_eq!(len(&stream[20..30]), Ok(None));
    }
}
