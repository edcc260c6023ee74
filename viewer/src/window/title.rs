//! The window title: the device, view-only, on request the live fps
//! and round-trip time, and once verified the device's safety code. Pure: counters and instants go in, text comes out.

use std::time::{Duration, Instant};

/// Frames per second from a growing counter, over the last sample period.
#[derive(Debug, Default)]
pub struct RateMeter {
    last: Option<(u64, Instant)>,
}

impl RateMeter {
    /// Feed the counter's value at `now`; returns the rate since the last
    /// call (none on the first).
    pub fn sample(&mut self, count: u64, now: Instant) -> Option<f64> {
        let rate = self.last.and_then(|(c, at)| {
            let secs = now.saturating_duration_since(at).as_secs_f64();
            (secs > 0.0).then(|| count.saturating_sub(c) as f64 / secs)
        });
        self.last = Some((count, now));
        rate
    }
}

/// The window title: the device, view-only, and live figures on request.
pub fn title(device: &str, view_only: bool, live: Option<(f64, Option<Duration>)>) -> String {
    let mut t = format!("{device} - Meshdesk");
    if view_only {
        t.push_str(" (view only)");
    }
    if let Some((fps, rtt)) = live {
        t.push_str(&format!(" - {fps:.0} fps"));
        if let Some(rtt) = rtt {
            t.push_str(&format!(", RTT {:.1} ms", rtt.as_secs_f64() * 1e3));
        }
    }
    t
}

/// The title with "Verified" and the device key's safety code, once the
/// session verified.
pub fn with_safety_code(mut title: String, code: Option<&str>) -> String {
    if let Some(code) = code {
        title.push_str(&format!(" - Verified {code}"));
    }
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_meter_and_title() {
        let mut m = RateMeter::default();
        let t0 = Instant::now();
        assert_eq!(m.sample(10, t0), None);
        assert_eq!(m.sample(40, t0 + Duration::from_secs(1)), Some(30.0));
        assert_eq!(title("pc", false, None), "pc - Meshdesk");
        assert_eq!(
            title("pc", true, Some((29.6, Some(Duration::from_micros(1234))))),
            "pc - Meshdesk (view only) - 30 fps, RTT 1.2 ms"
        );
        assert_eq!(
            with_safety_code(title("pc", false, None), Some("1234 5678 9012")),
            "pc - Meshdesk - Verified 1234 5678 9012"
        );
        assert_eq!(with_safety_code("pc".into(), None), "pc");
    }
}
