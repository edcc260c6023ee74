//! Input-to-photon measurement (`connect --headless --measure-latency N`),
//! the pure part: when to click, which decoded picture shows the result,
//! and the figures. No clock, no I/O: instants go in, steps and durations
//! come out; [`crate::measure`] drives it.
//!
//! A sample: note the colour at the centre of the remote screen, click
//! there, and watch decoded pictures until that colour changes (the
//! `meshdesk-xprobe --flip` window swaps colours on every press). The
//! latency is the decode-complete instant of the first picture showing the
//! change minus the click instant, both in the viewer's own clock.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::video::{Picture, Yuv};

/// A sample whose change never shows within this time is counted as lost.
pub const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);
/// Wait after the first picture before the first click (the encoder's
/// first pictures after a keyframe may still refine the colours).
const FIRST_SETTLE: Duration = Duration::from_millis(300);
/// Pause after a sample before the next click: at least this, plus up to
/// [`PAUSE_SPREAD_MS`] so the clicks do not lock to the host's frame pacing.
const PAUSE_MIN_MS: u64 = 60;
const PAUSE_SPREAD_MS: u64 = 60;
/// One completed sample and where its time went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Click to decode-complete of the first picture showing the change.
    pub total: Duration,
    /// Click to that picture's arrival at the decoder (input channel, host
    /// injection, capture, encoding, network, frame assembly).
    pub to_decoder: Duration,
    /// Its decoding.
    pub decode: Duration,
}

/// What the driver should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Send a left click at the centre now (the sampler took `now` as the
    /// click instant).
    Click,
    /// Feed pictures; call again at this instant at the latest.
    WaitUntil(Instant),
    /// Feed pictures; nothing happens before the next one.
    WaitForPicture,
    /// All samples are taken.
    Done,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Between samples; `None` until the first picture arrived.
    Pausing { until: Option<Instant> },
    /// Clicked at `clicked` while the centre showed `from`.
    Waiting {
        clicked: Instant,
        from: Yuv,
        deadline: Instant,
    },
}

/// Takes `wanted` samples, one at a time.
#[derive(Debug)]
pub struct Sampler {
    wanted: usize,
    /// Completed samples in order; `None` for a lost one.
    samples: Vec<Option<Sample>>,
    /// When each sample's click went out, lost ones too.
    clicks: Vec<Instant>,
    /// The newest picture's centre colour.
    last: Option<Yuv>,
    state: State,
    /// xorshift64 state for the pause spread (never zero).
    jitter: u64,
}

impl Sampler {
    /// `wanted` samples; `seed` varies the pauses between them.
    pub fn new(wanted: u32, seed: u64) -> Sampler {
        Sampler {
            wanted: wanted as usize,
            samples: Vec::with_capacity(wanted as usize),
            clicks: Vec::with_capacity(wanted as usize),
            last: None,
            state: State::Pausing { until: None },
            jitter: seed | 1,
        }
    }

    /// A picture was decoded.
    pub fn on_picture(&mut self, picture: Picture) {
        self.last = Some(picture.colour);
        match self.state {
            State::Pausing { until: None } => {
                self.state = State::Pausing {
                    until: Some(picture.decoded + FIRST_SETTLE),
                };
            }
            State::Waiting { clicked, from, .. }
                // A frame that reached us before the click cannot show it.
                if picture.received >= clicked && picture.colour.differs_from(from) =>
            {
                self.samples.push(Some(Sample {
                    total: picture.decoded.saturating_duration_since(clicked),
                    to_decoder: picture.received.saturating_duration_since(clicked),
                    decode: picture.decoded.saturating_duration_since(picture.received),
                }));
                self.pause_from(picture.decoded);
            }
            _ => {}
        }
    }

    /// What to do at `now`.
    pub fn poll(&mut self, now: Instant) -> Step {
        loop {
            // The first picture always counts, so `wanted == 0` ends there.
            if self.last.is_none() {
                return Step::WaitForPicture;
            }
            if self.samples.len() >= self.wanted {
                return Step::Done;
            }
            match self.state {
                State::Pausing { until: None } => return Step::WaitForPicture,
                State::Pausing { until: Some(t) } if now < t => return Step::WaitUntil(t),
                State::Pausing { .. } => {
                    // A picture has been seen, or `until` would be `None`.
                    let Some(from) = self.last else {
                        return Step::WaitForPicture;
                    };
                    self.state = State::Waiting {
                        clicked: now,
                        from,
                        deadline: now + SAMPLE_TIMEOUT,
                    };
                    self.clicks.push(now);
                    return Step::Click;
                }
                State::Waiting { deadline, .. } if now < deadline => {
                    return Step::WaitUntil(deadline)
                }
                State::Waiting { .. } => {
                    self.samples.push(None);
                    self.pause_from(now);
                }
            }
        }
    }

    /// When each click of [`Self::samples`] went out (the last may still
    /// be waiting for its picture).
    pub fn clicks(&self) -> &[Instant] {
        &self.clicks
    }

    /// Samples taken so far (`None`: lost).
    pub fn samples(&self) -> &[Option<Sample>] {
        &self.samples
    }

    fn pause_from(&mut self, at: Instant) {
        // xorshift64: cheap, and plenty to spread pauses.
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        let pause = PAUSE_MIN_MS + self.jitter % (PAUSE_SPREAD_MS + 1);
        self.state = State::Pausing {
            until: Some(at + Duration::from_millis(pause)),
        };
    }
}

/// min, p50, p95 and max of a set of samples in milliseconds, with how many
/// there are and how many were lost (the same definition as the browser
/// bench's `summary()`: the value at index `floor(p * n)` of the sorted
/// samples).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub lost: usize,
    pub min: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
}

impl Summary {
    pub fn of(values: &[Option<f64>]) -> Summary {
        let mut v: Vec<f64> = values.iter().flatten().copied().collect();
        v.sort_by(f64::total_cmp);
        let at = |p: f64| {
            let i = ((p * v.len() as f64) as usize).min(v.len().saturating_sub(1));
            v.get(i).copied().map(round2)
        };
        Summary {
            n: v.len(),
            lost: values.len() - v.len(),
            min: v.first().copied().map(round2),
            p50: at(0.5),
            p95: at(0.95),
            max: v.last().copied().map(round2),
        }
    }
}

/// The `input_to_photon_ms` object of the stats JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyReport {
    #[serde(flatten)]
    pub summary: Summary,
    /// Every sample in order, in ms; `null` for a lost one.
    pub samples: Vec<Option<f64>>,
    /// When each sample's click went out, ms from the session request
    /// (to see how latency moved through a session, say when its link
    /// slowed down).
    pub clicked_ms: Vec<f64>,
    /// The same samples split: click to the frame's arrival at the decoder,
    /// and its decoding.
    pub to_decoder: Summary,
    pub decode: Summary,
}

impl LatencyReport {
    pub fn build(samples: &[Option<Sample>]) -> LatencyReport {
        let part = |f: fn(&Sample) -> Duration| -> Vec<Option<f64>> {
            samples
                .iter()
                .map(|s| s.as_ref().map(|s| ms(f(s))))
                .collect()
        };
        let totals = part(|s| s.total);
        LatencyReport {
            summary: Summary::of(&totals),
            to_decoder: Summary::of(&part(|s| s.to_decoder)),
            decode: Summary::of(&part(|s| s.decode)),
            samples: totals.iter().map(|v| v.map(round2)).collect(),
            clicked_ms: Vec::new(),
        }
    }

    /// With the click times of the samples, from `since`.
    pub fn clicked(mut self, clicks: &[Instant], since: Instant) -> LatencyReport {
        self.clicked_ms = clicks
            .iter()
            .take(self.samples.len())
            .map(|at| round2(ms(at.saturating_duration_since(since))))
            .collect();
        self
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const RED: Yuv = Yuv([81, 90, 240]);
    const BLUE: Yuv = Yuv([41, 240, 110]);

    fn picture(at: Instant, colour: Yuv) -> Picture {
        Picture {
            received: at,
            decoded: at + Duration::from_millis(2),
            colour,
        }
    }

    fn ms_(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_sample_is_click_to_decode_of_the_first_changed_picture() {
        let t0 = Instant::now();
        let mut s = Sampler::new(2, 7);
        assert_eq!(s.poll(t0), Step::WaitForPicture);
        s.on_picture(picture(t0, RED));
        let first_click = t0 + ms_(2) + FIRST_SETTLE;
        assert_eq!(s.poll(t0 + ms_(100)), Step::WaitUntil(first_click));
        assert_eq!(s.poll(first_click), Step::Click);
        assert_eq!(
            s.poll(first_click),
            Step::WaitUntil(first_click + SAMPLE_TIMEOUT)
        );

        // Same colour, then a frame that arrived before the click: ignored.
        s.on_picture(picture(first_click + ms_(3), RED));
        s.on_picture(Picture {
            received: first_click - ms_(1),
            decoded: first_click + ms_(1),
            colour: BLUE,
        });
        assert!(s.samples().is_empty());
        // The flip arrives 9 ms after the click and decodes in 2 ms.
        s.on_picture(picture(first_click + ms_(9), BLUE));
        assert_eq!(
            s.samples(),
            [Some(Sample {
                total: ms_(11),
                to_decoder: ms_(9),
                decode: ms_(2)
            })]
        );

        // The next click comes 60 to 120 ms after that picture, from blue.
        let Step::WaitUntil(next) = s.poll(first_click + ms_(12)) else {
            panic!("pausing expected")
        };
        let pause = next - (first_click + ms_(11));
        assert!(pause >= ms_(60) && pause <= ms_(120), "{pause:?}");
        assert_eq!(s.poll(next), Step::Click);
        s.on_picture(picture(next + ms_(5), RED));
        assert_eq!(s.samples().len(), 2);
        assert_eq!(s.poll(next + ms_(8)), Step::Done);
    }

    #[test]
    fn a_change_that_never_shows_is_lost_and_the_next_sample_starts() {
        let t0 = Instant::now();
        let mut s = Sampler::new(2, 1);
        s.on_picture(picture(t0, RED));
        let click = t0 + ms_(2) + FIRST_SETTLE;
        assert_eq!(s.poll(click), Step::Click);
        let late = click + SAMPLE_TIMEOUT;
        let Step::WaitUntil(next) = s.poll(late) else {
            panic!("pausing expected")
        };
        assert_eq!(s.samples(), [None]);
        assert!(next >= late + ms_(60));
        assert_eq!(s.poll(next), Step::Click);
    }

    #[test]
    fn zero_samples_end_at_the_first_picture() {
        let t0 = Instant::now();
        let mut s = Sampler::new(0, 0);
        assert_eq!(s.poll(t0), Step::WaitForPicture);
        s.on_picture(picture(t0, RED));
        assert_eq!(s.poll(t0), Step::Done);
    }

    #[test]
    fn summary_matches_the_browser_bench() {
        let values: Vec<Option<f64>> = (1..=20).rev().map(|v| Some(f64::from(v))).collect();
        let mut with_lost = values.clone();
        with_lost.push(None);
        let s = Summary::of(&with_lost);
        assert_eq!((s.n, s.lost), (20, 1));
        assert_eq!(
            (s.min, s.p50, s.p95, s.max),
            (Some(1.0), Some(11.0), Some(20.0), Some(20.0))
        );
        let empty = Summary::of(&[None]);
        assert_eq!((empty.n, empty.lost, empty.p50), (0, 1, None));
    }

    #[test]
    fn report_splits_the_samples() {
        let sample = Sample {
            total: Duration::from_micros(12_345),
            to_decoder: ms_(10),
            decode: Duration::from_micros(2_346),
        };
        let r = LatencyReport::build(&[Some(sample), None]);
        assert_eq!(r.samples, [Some(12.35), None]);
        assert_eq!((r.summary.n, r.summary.lost), (1, 1));
        assert_eq!(r.to_decoder.p50, Some(10.0));
        assert_eq!(r.decode.max, Some(2.35), "rounded to 0.01 ms");
        let v = serde_json::to_value(&r).expect("json");
        assert_eq!(v["p50"], 12.35);
        assert_eq!(v["lost"], 1);
        assert_eq!(v["samples"][1], serde_json::Value::Null);
        assert_eq!(v["to_decoder"]["p50"], 10.0);
    }
}
