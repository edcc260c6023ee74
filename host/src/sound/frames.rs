//! The pure part of the sound pipeline: cutting what the sound server
//! delivers (interleaved s16le stereo at 48 kHz, in chunks of any size)
//! into the 10 ms frames Opus encodes, and deciding which encoded frames
//! go out and with what RTP timestamp and marker. With DTX, Opus marks a
//! frame of silence as not worth sending (2 bytes or less): it is skipped,
//! and the timestamp still advances, so the viewer plays the gap as
//! silence and the next packet starts a talk spurt (marker set).

use meshdesk_peer::AudioPacket;

/// The sample rate of capture, Opus and RTP.
pub const SAMPLE_RATE: u32 = 48_000;
/// Stereo.
pub const CHANNELS: usize = 2;
/// One frame: 10 ms, per channel (the shortest frame that keeps Opus's
/// full quality; every 10 ms added here is 10 ms later sound).
pub const FRAME_SAMPLES: usize = 480;
/// Bytes of one s16le sample of one channel.
const SAMPLE_BYTES: usize = 2;
/// An encoded frame this short is a DTX frame: nothing to send.
const DTX_MAX_LEN: usize = 2;

/// Cuts a byte stream of interleaved s16le samples into whole frames.
#[derive(Debug, Default)]
pub struct Framer {
    /// Samples of the frame being filled (interleaved).
    pending: Vec<i16>,
    /// A byte left over from a chunk that split a sample.
    half: Option<u8>,
}

impl Framer {
    /// Add `bytes`; `frame` is called with each frame completed
    /// (`FRAME_SAMPLES * CHANNELS` interleaved samples).
    pub fn push(&mut self, mut bytes: &[u8], mut frame: impl FnMut(&[i16])) {
        const FRAME_LEN: usize = FRAME_SAMPLES * CHANNELS;
        if let Some(low) = self.half.take() {
            match bytes.split_first() {
                Some((&high, rest)) => {
                    self.pending.push(i16::from_le_bytes([low, high]));
                    bytes = rest;
                }
                None => {
                    self.half = Some(low);
                    return;
                }
            }
        }
        let mut samples = bytes.chunks_exact(SAMPLE_BYTES);
        for pair in samples.by_ref() {
            self.pending.push(i16::from_le_bytes([pair[0], pair[1]]));
            if self.pending.len() == FRAME_LEN {
                frame(&self.pending);
                self.pending.clear();
            }
        }
        self.half = samples.remainder().first().copied();
    }
}

/// Times the encoded frames and drops the DTX ones.
#[derive(Debug, Default)]
pub struct Talkspurts {
    /// The timestamp of the next frame, in samples since capture started.
    next_timestamp: u32,
    /// Whether the previous frame went out (the next one then carries no
    /// marker).
    sending: bool,
}

impl Talkspurts {
    /// The packet to send for the next encoded frame, or `None` for a DTX
    /// frame.
    pub fn frame(&mut self, encoded: &[u8]) -> Option<AudioPacket> {
        let timestamp = self.next_timestamp;
        self.next_timestamp = timestamp.wrapping_add(FRAME_SAMPLES as u32);
        if encoded.len() <= DTX_MAX_LEN {
            self.sending = false;
            return None;
        }
        let marker = !self.sending;
        self.sending = true;
        Some(AudioPacket {
            data: bytes::Bytes::copy_from_slice(encoded),
            rtp_timestamp: timestamp,
            marker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(samples: impl IntoIterator<Item = i16>) -> Vec<u8> {
        samples.into_iter().flat_map(i16::to_le_bytes).collect()
    }

    #[test]
    fn frames_are_whole_whatever_the_chunks() {
        let samples: Vec<i16> = (0..(FRAME_SAMPLES * CHANNELS * 3) as i16).collect();
        let data = bytes_of(samples.iter().copied());
        let mut framer = Framer::default();
        let mut frames: Vec<Vec<i16>> = Vec::new();
        // Odd chunk sizes split samples and frames.
        for chunk in data.chunks(777) {
            framer.push(chunk, |f| frames.push(f.to_vec()));
        }
        assert_eq!(frames.len(), 3);
        assert!(frames.iter().all(|f| f.len() == FRAME_SAMPLES * CHANNELS));
        assert_eq!(frames.concat(), samples);
    }

    #[test]
    fn a_split_sample_waits_for_its_other_byte() {
        let mut framer = Framer::default();
        let mut n = 0;
        framer.push(&[0x34], |_| n += 1);
        framer.push(&[], |_| n += 1);
        framer.push(&[0x12], |_| n += 1);
        assert_eq!(framer.pending, vec![0x1234]);
        assert_eq!(n, 0);
    }

    #[test]
    fn dtx_frames_are_skipped_and_leave_a_gap_in_time() {
        let mut spurts = Talkspurts::default();
        let sound = [7u8; 40];
        let first = spurts.frame(&sound).expect("sent");
        assert_eq!((first.rtp_timestamp, first.marker), (0, true));
        let second = spurts.frame(&sound).expect("sent");
        assert_eq!((second.rtp_timestamp, second.marker), (480, false));
        assert_eq!(spurts.frame(&[0x08]), None);
        assert_eq!(spurts.frame(&[0x08, 0x00]), None);
        let back = spurts.frame(&sound).expect("sent");
        assert_eq!((back.rtp_timestamp, back.marker), (4 * 480, true));
    }
}
