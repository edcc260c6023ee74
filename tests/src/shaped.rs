//! Shaped links between a site and the internet (see `netns`): a rate
//! limit, a round-trip time and loss, set with `tc` as a real slow link
//! behaves. The rate limit is a token bucket (`tbf`) whose queue holds
//! up to [`QUEUE_MS`] of traffic, as a home router's or a mobile link's
//! buffer does; behind it `netem` delays (and drops) packets.
//!
//! The site's uplink (what its machine sends: the video, for a host) gets
//! the rate, the loss and half the round trip; its downlink the other
//! half.

use crate::netns::{Internet, Site};

/// How much traffic the bottleneck queues before it drops: a deep buffer,
/// so a sender that ignores the link builds seconds of delay.
pub const QUEUE_MS: u32 = 2000;

/// One link's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// The uplink's rate, kbit/s.
    pub rate_kbit: u32,
    /// The round-trip time the link adds, ms.
    pub rtt_ms: u32,
    /// Share of uplink packets lost, percent.
    pub loss_pct: f32,
}

impl Shape {
    /// The bucket's burst: 10 ms at the rate, at least a few full packets.
    fn burst_bytes(self) -> u32 {
        (self.rate_kbit * 1000 / 8 / 100).max(6_000)
    }
}

/// The internet's side of `site`'s link (`siteN` in the public namespace).
#[allow(dead_code)]
fn internet_side(site: &Site) -> String {
    format!("site{}", site.wan_ip.octets()[2])
}

/// Shape `site`'s link (again: a later call changes it in place, as a
/// link that slows down mid-session).
pub fn apply(_net: &Internet, site: &Site, shape: Shape) {
    assert!(
        shape.rtt_ms == 0 && shape.loss_pct == 0.0,
        "this kernel has no netem: delay and loss need the userspace link stage"
    );
    let rate = format!("{}kbit", shape.rate_kbit);
    let burst = shape.burst_bytes().to_string();
    let queue = format!("{QUEUE_MS}ms");
    site.router.exec(
        "tc",
        &[
            "qdisc", "replace", "dev", "wan", "root", "handle", "1:", "tbf", "rate", &rate,
            "burst", &burst, "latency", &queue,
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_is_ten_milliseconds_or_a_few_packets() {
        let shape = |rate_kbit| Shape {
            rate_kbit,
            rtt_ms: 20,
            loss_pct: 0.0,
        };
        assert_eq!(shape(20_000).burst_bytes(), 25_000);
        assert_eq!(shape(1_000).burst_bytes(), 6_000);
    }
}
