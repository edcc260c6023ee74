//! A delay- and loss-based bandwidth estimate from transport-wide
//! feedback, made for a screen: pure, every instant a parameter.
//!
//! Each feedback report says when each packet arrived. Its one-way delay
//! (arrival on the viewer's clock minus departure on ours) is unknown up
//! to a constant, so the controller keeps the smallest delay seen in the
//! last [`BASE_WINDOW`] as the empty-queue delay; what a packet waits on
//! top of that is the queue at the bottleneck. webrtc's own GCC (a port
//! of pion's) looks only at the *slope* of the delay. Measured here
//! behind a 2 Mbit/s token bucket, it took 2.5 s to notice the first
//! overuse, then raised its target again while the queue stood full at
//! 2 s (a full queue has no slope), and only loss brought it down, to the
//! floor. The queue's depth is what the user feels, so it is what this
//! controller acts on:
//!
//! - queue above [`QUEUE_HIGH`] or loss above [`LOSS_HIGH`]: the target
//!   drops to what the viewer is receiving (the path's rate, while it is
//!   congested) times a factor that drains a deep queue faster, at most
//!   every [`DECREASE_EVERY`];
//! - queue below [`QUEUE_LOW`] and loss below [`LOSS_LOW`], and the video
//!   using at least half its target: the target grows (never beyond half
//!   again above what the viewer receives), fast
//!   ([`FAST_GROWTH`] a second) far from the rate that last congested the
//!   path and gently ([`GENTLE_GROWTH`]) near it (for
//!   [`CONGESTION_MEMORY`]);
//! - otherwise it holds.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rtc::interceptor::PacketReport;

/// How long the smallest delay is remembered as the empty-queue delay.
pub const BASE_WINDOW: Duration = Duration::from_secs(30);
/// A queue this deep (beyond the empty-queue delay) is congestion.
pub const QUEUE_HIGH: Duration = Duration::from_millis(50);
/// Below this the path has room.
pub const QUEUE_LOW: Duration = Duration::from_millis(15);
/// Loss above this (smoothed) is congestion...
pub const LOSS_HIGH: f64 = 0.10;
/// ...and below this allows growth (a lossy radio link loses some
/// packets whatever the rate).
pub const LOSS_LOW: f64 = 0.03;
/// Least time between two decreases: each needs the viewer's feedback to
/// show its effect.
pub const DECREASE_EVERY: Duration = Duration::from_millis(200);
/// Growth a second far from the last congested rate: from 1 to 20 Mbit/s
/// in about 4 s.
pub const FAST_GROWTH: f64 = 2.0;
/// Growth a second from 90% of it to half again above it.
pub const GENTLE_GROWTH: f64 = 1.15;
/// How long the congested rate is remembered without a new congestion:
/// then the path may have changed, and growth is fast again.
pub const CONGESTION_MEMORY: Duration = Duration::from_secs(10);
/// The window the received rate is measured over: short, so that after
/// a link slows down the rate it delivers is known within a few reports.
const RATE_WINDOW: Duration = Duration::from_millis(300);
/// Weight of the newest report in the smoothed loss.
const LOSS_WEIGHT: f64 = 0.3;
/// Buckets of the base-delay window (the window's resolution).
const BASE_BUCKETS: u32 = 10;

/// The smallest one-way delay over [`BASE_WINDOW`], kept as per-bucket
/// minima.
#[derive(Debug, Clone, Default)]
struct BaseDelay {
    /// (bucket start, smallest delay in it, ms), oldest first.
    buckets: VecDeque<(Instant, f64)>,
}

impl BaseDelay {
    fn add(&mut self, now: Instant, delay_ms: f64) {
        let span = BASE_WINDOW / BASE_BUCKETS;
        match self.buckets.back_mut() {
            Some((start, min)) if now.saturating_duration_since(*start) < span => {
                *min = min.min(delay_ms);
            }
            _ => self.buckets.push_back((now, delay_ms)),
        }
        while self
            .buckets
            .front()
            .is_some_and(|(start, _)| now.saturating_duration_since(*start) > BASE_WINDOW)
        {
            self.buckets.pop_front();
        }
    }

    fn get(&self) -> Option<f64> {
        self.buckets.iter().map(|&(_, min)| min).reduce(f64::min)
    }
}

/// What the viewer received lately: (arrival on its clock, bytes).
#[derive(Debug, Clone, Default)]
struct ReceivedRate {
    arrivals: VecDeque<(Duration, usize)>,
    /// The first arrival ever, to know whether the window is full yet.
    first: Option<Duration>,
}

impl ReceivedRate {
    fn add(&mut self, arrival: Duration, size: usize) {
        self.first.get_or_insert(arrival);
        self.arrivals.push_back((arrival, size));
    }

    /// bit/s over the last [`RATE_WINDOW`] of arrivals (or since the
    /// first, if less; `None` before 100 ms of them).
    fn rate(&mut self) -> Option<f64> {
        let latest = self.arrivals.back()?.0;
        while self
            .arrivals
            .front()
            .is_some_and(|&(at, _)| latest.saturating_sub(at) > RATE_WINDOW)
        {
            self.arrivals.pop_front();
        }
        let span = latest.saturating_sub(self.first?).min(RATE_WINDOW);
        if span < Duration::from_millis(100) {
            return None;
        }
        let bytes: usize = self.arrivals.iter().map(|&(_, size)| size).sum();
        Some(bytes as f64 * 8.0 / span.as_secs_f64())
    }
}

/// The controller. See the module's documentation.
#[derive(Debug, Clone)]
pub struct Congestion {
    min: f64,
    max: f64,
    target: f64,
    /// Departures are measured from the first one seen.
    epoch: Option<Instant>,
    base: BaseDelay,
    received: ReceivedRate,
    /// Smoothed share of packets lost.
    loss: Option<f64>,
    /// The latest report's queue (its least-delayed packet's wait).
    queue: Option<Duration>,
    /// From the newest reported packet's departure to its report.
    round_trip: Option<Duration>,
    last_decrease: Option<Instant>,
    last_growth: Option<Instant>,
    /// What the viewer received when the path last congested.
    congested_bps: Option<f64>,
}

impl Congestion {
    /// A controller starting at `initial` bit/s, held within `min..=max`.
    pub fn new(initial: f64, min: f64, max: f64) -> Self {
        Self {
            min,
            max,
            target: initial.clamp(min, max),
            epoch: None,
            base: BaseDelay::default(),
            received: ReceivedRate::default(),
            loss: None,
            queue: None,
            round_trip: None,
            last_decrease: None,
            last_growth: None,
            congested_bps: None,
        }
    }

    /// The estimate, bit/s.
    pub fn target(&self) -> f64 {
        self.target
    }

    /// The latest queue at the bottleneck.
    pub fn queue(&self) -> Option<Duration> {
        self.queue
    }

    /// From sending the newest reported packet to hearing of it: the round
    /// trip plus however long the viewer waited to report.
    pub fn round_trip(&self) -> Option<Duration> {
        self.round_trip
    }

    /// The smoothed share of packets lost.
    pub fn loss(&self) -> Option<f64> {
        self.loss
    }

    /// One feedback report's packets, in send order.
    pub fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        let lost = reports.iter().filter(|r| !r.arrived).count();
        let batch_loss = lost as f64 / reports.len() as f64;
        self.loss = Some(match self.loss {
            Some(loss) => loss * (1.0 - LOSS_WEIGHT) + batch_loss * LOSS_WEIGHT,
            None => batch_loss,
        });
        let epoch = *self.epoch.get_or_insert(reports[0].departure);
        self.round_trip = reports
            .iter()
            .filter(|r| r.arrived)
            .map(|r| now.saturating_duration_since(r.departure))
            .min();
        let mut least_delay: Option<f64> = None;
        for report in reports.iter().filter(|r| r.arrived) {
            let Some(arrival) = report.arrival else {
                continue;
            };
            let departed = report.departure.saturating_duration_since(epoch);
            let delay_ms = (arrival.as_secs_f64() - departed.as_secs_f64()) * 1e3;
            least_delay = Some(least_delay.map_or(delay_ms, |d| d.min(delay_ms)));
            self.received.add(arrival, report.size);
        }
        let Some(delay_ms) = least_delay else {
            // Nothing arrived: only the loss speaks.
            self.adjust(now, None);
            return;
        };
        self.base.add(now, delay_ms);
        let base = self.base.get().unwrap_or(delay_ms);
        let queue = Duration::from_secs_f64(((delay_ms - base) / 1e3).max(0.0));
        self.queue = Some(queue);
        self.adjust(now, Some(queue));
    }

    fn adjust(&mut self, now: Instant, queue: Option<Duration>) {
        let loss = self.loss.unwrap_or(0.0);
        let received = self.received.rate();
        let congested = queue.is_some_and(|q| q > QUEUE_HIGH);
        if congested || loss > LOSS_HIGH {
            let due = self
                .last_decrease
                .is_none_or(|at| now.saturating_duration_since(at) >= DECREASE_EVERY);
            let Some(received) = received.filter(|_| due) else {
                return;
            };
            // A deep queue drains within about a second: 15% off at a
            // shallow one, 30% at 300 ms, half from half a second.
            let drain = queue.map_or(1.0, |q| (1.0 - q.as_secs_f64()).clamp(0.5, 0.85));
            let lossy = if loss > LOSS_HIGH {
                1.0 - 0.5 * loss
            } else {
                1.0
            };
            let factor = if congested { drain.min(lossy) } else { lossy };
            self.target = self.target.min(received * factor).clamp(self.min, self.max);
            self.congested_bps = Some(received);
            self.last_decrease = Some(now);
            self.last_growth = Some(now);
            return;
        }
        let roomy = queue.is_some_and(|q| q < QUEUE_LOW) && loss < LOSS_LOW;
        // A screen that sends far less than its target proves nothing
        // about a higher rate: hold until it uses it. And never more than
        // half again above what arrives, so an encoder that undershoots
        // its target does not let the target run far above the path.
        let used = received.is_some_and(|r| r >= self.target * 0.5);
        let since = self
            .last_growth
            .map_or(Duration::ZERO, |at| now.saturating_duration_since(at))
            .min(Duration::from_millis(500));
        self.last_growth = Some(now);
        if !(roomy && used) {
            return;
        }
        let recent = self
            .last_decrease
            .is_some_and(|at| now.saturating_duration_since(at) < CONGESTION_MEMORY);
        let near = recent
            && self
                .congested_bps
                .is_some_and(|c| self.target > c * 0.9 && self.target < c * 1.5);
        let growth = if near { GENTLE_GROWTH } else { FAST_GROWTH };
        let grown = self.target * growth.powf(since.as_secs_f64());
        let ceiling = received.map_or(grown, |r| r * 1.5).max(self.target);
        self.target = grown.min(ceiling).clamp(self.min, self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::transport_feedbacks::cc_feedback_report::Ecn;

    const MBIT: f64 = 1e6;

    /// A path of `rate` bit/s with a queue in front (and `loss` of the
    /// packets dropped), fed 1200-byte packets at `send` bit/s; returns
    /// each 100 ms's reports as the viewer would give them.
    struct Path {
        t0: Instant,
        /// When the queue frees up, from t0.
        busy_until: Duration,
        rate: f64,
        id: u64,
    }

    impl Path {
        fn new(rate: f64) -> Self {
            Path {
                t0: Instant::now(),
                busy_until: Duration::ZERO,
                rate,
                id: 0,
            }
        }

        /// 100 ms of sending at `send` bit/s from `from` (since t0).
        fn send(&mut self, from: Duration, send: f64) -> Vec<PacketReport> {
            let size = 1200;
            let gap = Duration::from_secs_f64(size as f64 * 8.0 / send);
            let serialise = Duration::from_secs_f64(size as f64 * 8.0 / self.rate);
            let mut at = from;
            let mut out = Vec::new();
            while at < from + Duration::from_millis(100) {
                let start = self.busy_until.max(at);
                self.busy_until = start + serialise;
                // 20 ms of propagation.
                let arrival = self.busy_until + Duration::from_millis(20);
                out.push(PacketReport {
                    ssrc: 1,
                    id: self.id,
                    rtp_sequence_number: self.id as u16,
                    is_twcc: true,
                    twcc_sequence_number: self.id as u16,
                    size,
                    arrived: true,
                    departure: self.t0 + at,
                    arrival: Some(arrival),
                    ecn: Ecn::default(),
                });
                self.id += 1;
                at += gap;
            }
            out
        }
    }

    /// Run `secs` seconds, sending at the controller's target; returns it.
    fn run(c: &mut Congestion, path: &mut Path, from: Duration, secs: f64) -> Duration {
        let mut at = from;
        while at < from + Duration::from_secs_f64(secs) {
            let reports = path.send(at, c.target());
            at += Duration::from_millis(100);
            // The feedback comes back 20 ms after the last arrival.
            c.on_reports(path.t0 + at, &reports);
        }
        at
    }

    #[test]
    fn a_slow_link_is_found_within_a_second_and_its_queue_stays_short() {
        let mut c = Congestion::new(4.0 * MBIT, 0.15 * MBIT, 4.0 * MBIT);
        let mut path = Path::new(2.0 * MBIT);
        let at = run(&mut c, &mut path, Duration::ZERO, 1.0);
        assert!(c.target() < 2.0 * MBIT, "{}", c.target());
        let at = run(&mut c, &mut path, at, 5.0);
        let queue = c.queue().expect("a queue");
        assert!(queue < Duration::from_millis(150), "{queue:?}");
        assert!(
            c.target() > 1.2 * MBIT && c.target() < 2.3 * MBIT,
            "{}",
            c.target()
        );
        let _ = at;
    }

    #[test]
    fn the_target_climbs_back_within_a_few_seconds_when_the_link_improves() {
        let mut c = Congestion::new(4.0 * MBIT, 0.15 * MBIT, 20.0 * MBIT);
        let mut path = Path::new(2.0 * MBIT);
        let at = run(&mut c, &mut path, Duration::ZERO, 4.0);
        assert!(c.target() < 2.5 * MBIT);
        path.rate = 20.0 * MBIT;
        // Gently past the old ceiling, then fast: about 6 s to 12 Mbit/s.
        run(&mut c, &mut path, at, 7.0);
        assert!(c.target() > 12.0 * MBIT, "{}", c.target());
    }

    #[test]
    fn an_idle_screen_does_not_raise_the_target() {
        let mut c = Congestion::new(1.0 * MBIT, 0.15 * MBIT, 20.0 * MBIT);
        let mut path = Path::new(20.0 * MBIT);
        let mut at = Duration::ZERO;
        for _ in 0..30 {
            let reports = path.send(at, 0.1 * MBIT);
            at += Duration::from_millis(100);
            c.on_reports(path.t0 + at, &reports);
        }
        assert_eq!(c.target(), 1.0 * MBIT);
    }

    #[test]
    fn heavy_loss_lowers_the_target_and_light_loss_does_not() {
        let mut c = Congestion::new(4.0 * MBIT, 0.15 * MBIT, 4.0 * MBIT);
        let mut path = Path::new(20.0 * MBIT);
        let mut at = Duration::ZERO;
        for i in 0..20 {
            let mut reports = path.send(at, c.target());
            at += Duration::from_millis(100);
            // One packet in a hundred lost, as on a radio link.
            for r in reports.iter_mut().filter(|r| r.id % 100 == 0) {
                r.arrived = false;
                r.arrival = None;
            }
            if i >= 10 {
                // Then one in four.
                for r in reports.iter_mut().filter(|r| r.id % 4 == 0) {
                    r.arrived = false;
                    r.arrival = None;
                }
            }
            c.on_reports(path.t0 + at, &reports);
            if i == 9 {
                assert_eq!(c.target(), 4.0 * MBIT, "1% loss holds");
            }
        }
        assert!(c.target() < 3.5 * MBIT, "{}", c.target());
    }
}
