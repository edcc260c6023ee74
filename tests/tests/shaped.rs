//! Adaptive quality on a slow link: the host behind a 2 Mbit/s uplink
//! (`meshdesk_tests::shaped`), its screen changing all the time, the
//! native viewer on another site. The host's congestion controller must
//! bring the encoder below the link's rate within 5 s of the first
//! picture, and pictures must keep coming.
//!
//! Root only (network namespaces and `tc`), as the NAT tests.

use meshdesk_tests::mesh::{self, Viewer, DEVICE};
use meshdesk_tests::netns::{Internet, Nat};
use meshdesk_tests::shaped::{Shape, ShapedSite};
use meshdesk_tests::viewer::animate;
use meshdesk_tests::{require_netns, server::TempDir, Xvfb};
use serde_json::Value;

/// The session's length: 5 s to adapt, and time to see it hold.
const SESSION_SECS: f64 = 12.0;

/// What moves: two thirds of the screen's width and height, a new
/// picture 30 times a second, so that more than the link carries is
/// there to send. (Across the whole screen every frame would be a new
/// scene to OpenH264, and an IDR.)
const MOTION: &str = "420x240+0+0";

/// The link: 2 Mbit/s up, 40 ms round trip. The host's configured
/// bitrate (4 Mbit/s, the default) is twice what it carries.
const LINK: Shape = Shape {
    rate_kbit: 2_000,
    rtt_ms: 40,
    loss_pct: 0.0,
};

/// The host's bitrate over the session, as the viewer heard it:
/// (ms since the session request, kbit/s).
fn bitrates(stats: &Value) -> Vec<(f64, u64)> {
    stats["quality"]
        .as_array()
        .map(|samples| {
            samples
                .iter()
                .filter_map(|s| Some((s["at_ms"].as_f64()?, s["bitrate_kbps"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn under_a_2_mbit_link_the_bitrate_falls_below_it_within_5_s() {
    require_netns!();
    let mut net = Internet::new();
    let host_site = ShapedSite::new(&mut net, Nat::Cone, LINK);
    let viewer_site = net.site(Nat::Cone);
    let server = mesh::start_server(&net.ns, &mesh::relay_config(""));
    let x = Xvfb::start(640, 360);
    let dir = TempDir::new("shaped");
    let _motion = animate(&x, &dir.0, MOTION, 30, "fresh");
    let token = mesh::sign_up(&net.ns, &server);
    let host = mesh::start_host(&net.ns, &server, &token, &host_site.site.lan, &x);
    let viewer = Viewer::login(&viewer_site.lan, &server);

    let stats = viewer
        .connect(DEVICE, SESSION_SECS)
        .unwrap_or_else(|e| panic!("{e}\n--- host log ---\n{}", host.log_text()));
    eprintln!("stats: {stats}");
    let first_frame = stats["first_frame_ms"].as_f64().expect("a first picture");
    let rates = bitrates(&stats);
    let link = u64::from(LINK.rate_kbit);
    let below = rates
        .iter()
        .find(|&&(_, kbps)| kbps < link)
        .unwrap_or_else(|| panic!("the bitrate never fell below the link's: {rates:?}"));
    assert!(
        below.0 - first_frame <= 5_000.0,
        "below the link's rate {:.0} ms after the first picture: {rates:?}",
        below.0 - first_frame
    );
    // It then probes around the link's rate, not back to its 4 Mbit/s.
    let mut later: Vec<u64> = rates
        .iter()
        .filter(|&&(at, _)| at > below.0)
        .map(|&(_, kbps)| kbps)
        .collect();
    later.sort_unstable();
    let median = later.get(later.len() / 2).copied().unwrap_or(0);
    assert!(
        median > 0 && median < link * 11 / 10,
        "median {median} kbit/s after adapting: {rates:?}"
    );
    assert!(
        stats["quality"][0]["estimate_kbps"].is_u64(),
        "the viewer hears the estimate: {stats}"
    );
    // Pictures kept coming to the end, not only before the queue filled.
    let last_frame = stats["last_frame_ms"].as_f64().expect("pictures");
    assert!(
        last_frame - first_frame >= (SESSION_SECS - 2.0) * 1000.0,
        "pictures stopped {:.0} ms after the first: {stats}",
        last_frame - first_frame
    );
    assert!(stats["fps"].as_f64().unwrap_or(0.0) > 5.0, "{stats}");
}
