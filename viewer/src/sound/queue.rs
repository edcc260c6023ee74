//! The pure core of sound output: decoded samples wait here between the
//! network and the sound card's callback. It keeps the delay short: at
//! most [`MAX_QUEUED`] waits (older samples are dropped, so a stall never
//! leaves the sound seconds behind the picture), and after running dry it
//! waits for [`START`] before playing again, so one late packet costs one
//! short gap instead of a crackle per packet.

use std::collections::VecDeque;

/// Samples per channel in 10 ms at 48 kHz.
pub const FRAME: usize = 480;
/// Channels (interleaved).
pub const CHANNELS: usize = 2;
/// What must be queued before playing starts or restarts: one packet.
pub const START: usize = FRAME * CHANNELS;
/// The most that may wait: 40 ms.
pub const MAX_QUEUED: usize = 4 * FRAME * CHANNELS;

/// Interleaved f32 samples on their way to the sound card.
#[derive(Debug, Default)]
pub struct SoundQueue {
    samples: VecDeque<f32>,
    /// Playing (not waiting for [`START`]).
    playing: bool,
    /// Samples dropped to keep the delay short.
    pub dropped: u64,
    /// Samples the card asked for while there were none.
    pub starved: u64,
}

impl SoundQueue {
    /// Add decoded samples.
    pub fn push(&mut self, samples: &[f32]) {
        self.samples.extend(samples);
        let excess = self.samples.len().saturating_sub(MAX_QUEUED);
        // Whole frames of both channels, so left stays left.
        let excess = excess.next_multiple_of(CHANNELS).min(self.samples.len());
        if excess > 0 {
            self.samples.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// Fill the card's buffer: queued samples, then silence.
    pub fn pull(&mut self, out: &mut [f32]) {
        if !self.playing && self.samples.len() >= START {
            self.playing = true;
        }
        let mut n = 0;
        if self.playing {
            n = out.len().min(self.samples.len());
            for (o, s) in out.iter_mut().zip(self.samples.drain(..n)) {
                *o = s;
            }
        }
        out[n..].fill(0.0);
        if n < out.len() {
            if self.playing {
                self.starved += (out.len() - n) as u64;
            }
            self.playing = false;
        }
    }

    /// How many samples wait.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_a_packet_then_plays_in_order() {
        let mut q = SoundQueue::default();
        q.push(&[0.5; 100]);
        let mut out = [1.0f32; 8];
        q.pull(&mut out);
        assert_eq!(out, [0.0; 8], "not enough to start");
        let ramp: Vec<f32> = (0..START).map(|i| i as f32).collect();
        q.push(&ramp);
        q.pull(&mut out);
        assert_eq!(out, [0.5; 8]);
    }

    #[test]
    fn never_holds_more_than_the_bound() {
        let mut q = SoundQueue::default();
        for i in 0..20 {
            q.push(&vec![i as f32; FRAME * CHANNELS]);
        }
        assert_eq!(q.len(), MAX_QUEUED);
        assert_eq!(q.dropped as usize, 20 * FRAME * CHANNELS - MAX_QUEUED);
        let mut out = [0.0f32; 2];
        q.pull(&mut out);
        // The oldest went: what plays is the newest 40 ms.
        assert_eq!(out, [16.0, 16.0]);
    }

    #[test]
    fn running_dry_plays_silence_and_waits_again() {
        let mut q = SoundQueue::default();
        q.push(&[0.25; START]);
        let mut out = vec![0.0f32; START + 4];
        q.pull(&mut out);
        assert!(out[..START].iter().all(|&s| s == 0.25));
        assert!(out[START..].iter().all(|&s| s == 0.0));
        assert_eq!(q.starved, 4);
        q.push(&[0.75; 4]);
        let mut short = [0.0f32; 4];
        q.pull(&mut short);
        assert_eq!(short, [0.0; 4], "restarts only with a packet queued");
    }
}
