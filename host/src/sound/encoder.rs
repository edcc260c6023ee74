//! Opus with the settings of a remote desktop: 48 kHz stereo, the
//! restricted low-delay mode (CELT only: no lookahead beyond 2.5 ms), DTX
//! so that silence sends next to nothing.

use opus::{Application, Bitrate, Channels, Encoder};

use super::frames::{CHANNELS, FRAME_SAMPLES, SAMPLE_RATE};
use super::SoundError;

/// Enough for music in stereo; speech needs far less and VBR takes less.
const BITRATE: i32 = 96_000;
/// Room for one 10 ms packet at any bitrate Opus allows (RFC 6716 caps a
/// frame at 1275 bytes).
const MAX_PACKET: usize = 1500;

/// One encoder, fed frame by frame.
pub struct OpusEncoder {
    inner: Encoder,
    out: Vec<u8>,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder").finish_non_exhaustive()
    }
}

impl OpusEncoder {
    pub fn new() -> Result<Self, SoundError> {
        let mut inner = Encoder::new(SAMPLE_RATE, Channels::Stereo, Application::LowDelay)?;
        inner.set_bitrate(Bitrate::Bits(BITRATE))?;
        inner.set_dtx(true)?;
        Ok(Self {
            inner,
            out: vec![0; MAX_PACKET],
        })
    }

    /// Encode one frame (`FRAME_SAMPLES * CHANNELS` interleaved samples).
    pub fn encode(&mut self, frame: &[i16]) -> Result<&[u8], SoundError> {
        debug_assert_eq!(frame.len(), FRAME_SAMPLES * CHANNELS);
        let n = self.inner.encode(frame, &mut self.out)?;
        Ok(&self.out[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sound::frames::Talkspurts;

    #[test]
    fn silence_sends_almost_nothing_and_a_tone_goes_out() {
        let mut encoder = OpusEncoder::new().expect("encoder");
        let mut spurts = Talkspurts::default();
        let silence = vec![0i16; FRAME_SAMPLES * CHANNELS];
        let mut silent_bytes = 0;
        // Two seconds of silence.
        for _ in 0..200 {
            let packet = encoder.encode(&silence).expect("encode").to_vec();
            if let Some(p) = spurts.frame(&packet) {
                silent_bytes += p.data.len();
            }
        }
        assert!(
            silent_bytes < 1000,
            "{silent_bytes} bytes for 2 s of silence"
        );
        let tone: Vec<i16> = (0..FRAME_SAMPLES)
            .flat_map(|i| {
                let v =
                    (8000.0 * (i as f64 * 440.0 * std::f64::consts::TAU / 48_000.0).sin()) as i16;
                [v, v]
            })
            .collect();
        let sent = (0..10)
            .filter_map(|_| {
                let packet = encoder.encode(&tone).expect("encode").to_vec();
                spurts.frame(&packet)
            })
            .count();
        assert!(sent >= 9, "only {sent} of 10 frames of a tone went out");
    }
}
