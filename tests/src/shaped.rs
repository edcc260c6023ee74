//! Shaped links between a site and the internet: a rate limit, a
//! round-trip time and loss, as a real slow link behaves. The site sits
//! behind a link namespace ([`Internet::site_behind_link`]) where:
//!
//! - the rate is a token bucket (`tc ... tbf`) on the uplink (what the
//!   site's machine sends: the video, for a host), whose queue holds up to
//!   [`QUEUE_MS`] of traffic, as a home router's or a mobile link's buffer
//!   does;
//! - the round trip and the loss come from `meshdesk-link`, a TUN device
//!   that policy routing sends every packet through and that gives each
//!   back after half the round trip (dropping uplink packets at the loss
//!   rate). This kernel has no `netem`, which would do that part.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::netns::{Internet, Nat, Netns, Site};
use crate::server::binary;

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

/// The bucket's burst at `rate_kbit`: 10 ms at the rate, at least a few
/// full packets.
fn burst_bytes(rate_kbit: u32) -> u32 {
    (rate_kbit * 1000 / 8 / 100).max(6_000)
}

/// A site behind a shaped link. Dropping it stops the delay stage (the
/// namespaces go with the site and the link's `Netns`).
#[derive(Debug)]
pub struct ShapedSite {
    pub site: Site,
    pub link: Netns,
    /// `meshdesk-link`, when the shape has a round trip or loss.
    stage: Option<Child>,
}

impl ShapedSite {
    /// A new site of `net` behind a link shaped as `shape`.
    pub fn new(net: &mut Internet, nat: Nat, shape: Shape) -> ShapedSite {
        let (site, link) = net.site_behind_link(nat);
        let n = site.wan_ip.octets()[2];
        let stage =
            (shape.rtt_ms > 0 || shape.loss_pct > 0.0).then(|| delay_stage(&link, n, shape));
        let shaped = ShapedSite { site, link, stage };
        shaped.set_rate(shape.rate_kbit, "add");
        shaped
    }

    /// Change the uplink's rate mid-session (a link that slows down).
    pub fn change_rate(&self, rate_kbit: u32) {
        self.set_rate(rate_kbit, "change");
    }

    fn set_rate(&self, rate_kbit: u32, verb: &str) {
        let rate = format!("{rate_kbit}kbit");
        let burst = burst_bytes(rate_kbit).to_string();
        let queue = format!("{QUEUE_MS}ms");
        self.link.exec(
            "tc",
            &[
                "qdisc", verb, "dev", "inet", "root", "handle", "1:", "tbf", "rate", &rate,
                "burst", &burst, "latency", &queue,
            ],
        );
    }
}

impl Drop for ShapedSite {
    fn drop(&mut self) {
        if let Some(mut stage) = self.stage.take() {
            let _ = stage.kill();
            let _ = stage.wait();
        }
    }
}

/// Start `meshdesk-link` in `link` for site `n` and route every packet
/// the link forwards through it.
fn delay_stage(link: &Netns, n: u8, shape: Shape) -> Child {
    let mut child = link
        .command(binary("meshdesk-link"))
        .args(["--dev", "emu", "--site", &format!("198.19.{n}.0/24")])
        .args(["--delay-ms", &(shape.rtt_ms / 2).to_string()])
        .args(["--loss-pct", &shape.loss_pct.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start meshdesk-link (cargo build -p meshdesk-tests --bins)");
    let stdout = child.stdout.take().expect("piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read meshdesk-link");
    assert_eq!(line.trim(), "ready", "meshdesk-link did not start");
    link.ip(&["link", "set", "emu", "up"]);
    for iface in ["inet", "site"] {
        link.ip(&["rule", "add", "iif", iface, "lookup", "10"]);
    }
    link.ip(&["route", "add", "default", "dev", "emu", "table", "10"]);
    // Packets come back from `emu` with addresses that do not belong
    // behind it.
    for iface in ["all", "default", "emu"] {
        link.exec(
            "sysctl",
            &["-qw", &format!("net.ipv4.conf.{iface}.rp_filter=0")],
        );
    }
    child
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_is_ten_milliseconds_or_a_few_packets() {
        assert_eq!(burst_bytes(20_000), 25_000);
        assert_eq!(burst_bytes(1_000), 6_000);
    }
}
