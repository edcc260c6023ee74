//! `scripts/bench shaped`: adaptive quality on shaped links. The host sits
//! behind a link with a rate, a round trip and loss
//! (`meshdesk_tests::shaped`), the native viewer behind a plain cone NAT.
//! The host's screen shows a flip window at its centre (each click swaps
//! its colour) beside a region that is a new picture 30 times a second, so
//! there is always more to send than a slow link carries. For each link
//! profile two devices on the same screen are measured in turn: one with
//! `adaptive_quality` on, one with it off (the baseline). Each session
//! clicks `--samples` times (`connect --measure-latency`) and reports
//! click-to-photon p50 and p95, the longest freeze, and the host's chosen
//! bitrate over time. Root only. Prints one JSON document on stdout and,
//! with `--plot FILE.svg`, writes the bitrates over time next to it.
//!
//! Usage: meshdesk-bench-shaped [--samples N] [--plot FILE] [--only NAME]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use meshdesk_tests::mesh::{self, Viewer};
use meshdesk_tests::netns::{self, Internet, Nat};
use meshdesk_tests::server::TempDir;
use meshdesk_tests::shaped::{Shape, ShapedSite};
use meshdesk_tests::viewer::{animate, Probe, ProbeWindow};
use meshdesk_tests::{Api, Host, Xvfb};
use serde_json::{json, Value};

/// The screen, the flip window at its centre and the moving region.
const SCREEN: (u32, u32) = (1280, 720);
const FLIP: ProbeWindow = ProbeWindow {
    geometry: (540, 260, 200, 200),
    colour: 0x000000,
    flip: Some(0xffffff),
};
const MOTION: &str = "520x240+0+0";

/// A link to measure on; `step` drops the rate to this after `at`.
struct Profile {
    name: &'static str,
    shape: Shape,
    step: Option<(Duration, u32)>,
}

const PROFILES: [Profile; 4] = [
    Profile {
        name: "20mbit_20ms",
        shape: Shape {
            rate_kbit: 20_000,
            rtt_ms: 20,
            loss_pct: 0.0,
        },
        step: None,
    },
    Profile {
        name: "4mbit_60ms_1pct_loss",
        shape: Shape {
            rate_kbit: 4_000,
            rtt_ms: 60,
            loss_pct: 1.0,
        },
        step: None,
    },
    Profile {
        name: "1mbit_100ms",
        shape: Shape {
            rate_kbit: 1_000,
            rtt_ms: 100,
            loss_pct: 0.0,
        },
        step: None,
    },
    Profile {
        name: "step_20_to_2mbit_20ms",
        shape: Shape {
            rate_kbit: 20_000,
            rtt_ms: 20,
            loss_pct: 0.0,
        },
        step: Some((Duration::from_secs(5), 2_000)),
    },
];

/// The goals: p50 at most one RTT plus 60 ms, p95 one RTT plus 150 ms, no
/// freeze over 1 s, and after the step back under the bound within 3 s.
const P50_OVER_RTT_MS: f64 = 60.0;
const P95_OVER_RTT_MS: f64 = 150.0;
const LONGEST_FREEZE_MS: f64 = 1000.0;
const STEP_RECOVERY_MS: f64 = 3000.0;

/// The host's configured bitrate (the default).
const HOST_KBPS: u32 = 4000;

fn main() {
    let Args {
        samples,
        plot,
        only,
    } = parse_args();
    if let Some(why) = netns::unavailable() {
        eprintln!("bench shaped: {why}");
        std::process::exit(1);
    }
    let mut profiles = serde_json::Map::new();
    for profile in PROFILES
        .iter()
        .filter(|p| only.as_ref().is_none_or(|o| p.name.contains(o.as_str())))
    {
        eprintln!("bench shaped: {} ...", profile.name);
        profiles.insert(profile.name.into(), measure(profile, samples));
    }
    let report = json!({
        "benchmark": "shaped",
        "samples_per_session": samples,
        "host_bitrate_kbps": HOST_KBPS,
        "measure": "meshdesk-viewer connect --headless --measure-latency N --stats-json: click at the centre to the decoded picture whose centre changed; the host behind the shaped link, a fresh picture at 30 Hz beside the flip window",
        "goals": {
            "p50_ms": format!("rtt + {P50_OVER_RTT_MS}"),
            "p95_ms": format!("rtt + {P95_OVER_RTT_MS}"),
            "longest_freeze_ms": LONGEST_FREEZE_MS,
            "step_recovery_ms": STEP_RECOVERY_MS,
        },
        "profiles": profiles,
    });
    if let Some(path) = plot {
        std::fs::write(&path, svg(&report)).expect("write the plot");
        eprintln!("bench shaped: plot in {}", path.display());
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("JSON of plain values")
    );
}

struct Args {
    samples: u32,
    plot: Option<PathBuf>,
    /// Only the profiles whose names contain this.
    only: Option<String>,
}

fn parse_args() -> Args {
    let mut samples = 40;
    let mut plot = None;
    let mut only = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--samples" => samples = value.parse().unwrap_or_else(|_| usage()),
            "--plot" => plot = Some(PathBuf::from(value)),
            "--only" => only = Some(value),
            _ => usage(),
        }
    }
    Args {
        samples,
        plot,
        only,
    }
}

fn usage() -> ! {
    eprintln!("usage: meshdesk-bench-shaped [--samples N] [--plot FILE.svg] [--only NAME]");
    std::process::exit(2);
}

/// One deployment behind `profile`'s link, then the adaptive device's
/// session and the fixed one's.
fn measure(profile: &Profile, samples: u32) -> Value {
    let mut net = Internet::new();
    let host_site = ShapedSite::new(&mut net, Nat::Cone, profile.shape);
    let viewer_site = net.site(Nat::Cone);
    let server = mesh::start_server(&net.ns, &mesh::relay_config(""));
    let x = Xvfb::start(SCREEN.0, SCREEN.1);
    let dir = TempDir::new("bench-shaped");
    let _probe = Probe::start(&x, &dir.0, FLIP);
    let _motion = animate(&x, &dir.0, MOTION, 30, "fresh");
    let token = mesh::sign_up(&net.ns, &server);
    let api = Api::new(&server);
    let start = |name: &str, adaptive: bool| {
        let code = net.ns.block_on(api.code(&token));
        let mut host = Host::enroll_in(Some(&host_site.site.lan), &server, &code, name);
        if !adaptive {
            let text = std::fs::read_to_string(&host.config).expect("host.toml");
            let fixed = text.replace("adaptive_quality = true", "adaptive_quality = false");
            assert_ne!(fixed, text, "host.toml has no adaptive_quality line");
            std::fs::write(&host.config, fixed).expect("host.toml");
        }
        host.run(&x);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !net.ns.block_on(api.online(&token, &host.device_id)) {
            assert!(Instant::now() < deadline, "{name} never came online");
            std::thread::sleep(Duration::from_millis(50));
        }
        host
    };
    let adaptive = start("adaptive-pc", true);
    let fixed = start("fixed-pc", false);
    let viewer = Viewer::login(&viewer_site.lan, &server);
    let mut out = serde_json::Map::new();
    for (label, device, host) in [
        ("adaptive", "adaptive-pc", &adaptive),
        ("fixed", "fixed-pc", &fixed),
    ] {
        // Each session starts on the profile's first rate.
        host_site.change_rate(profile.shape.rate_kbit);
        let samples_arg = samples.to_string();
        let result = std::thread::scope(|scope| {
            if let Some((after, kbit)) = profile.step {
                let site = &host_site;
                scope.spawn(move || {
                    std::thread::sleep(after);
                    site.change_rate(kbit);
                });
            }
            // The measurement ends the session; the duration only bounds
            // it (a lost sample costs 2 s).
            viewer.connect_with(
                device,
                f64::from(samples) * 2.5 + 10.0,
                &["--measure-latency", &samples_arg, "--no-sound"],
            )
        });
        let figures = match result {
            Ok(stats) => figures(profile, &stats),
            Err(e) => {
                let log = host.log_text();
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines[lines.len().saturating_sub(40)..].join("\n");
                eprintln!("bench shaped: {device} failed; its log ends:\n{tail}");
                let lines: Vec<&str> = e.lines().collect();
                let tail = lines[lines.len().saturating_sub(4)..].join(" | ");
                json!({"error": format!("{} | ... | {tail}", lines.first().unwrap_or(&""))})
            }
        };
        out.insert(label.into(), figures);
    }
    json!({
        "rate_kbit": profile.shape.rate_kbit,
        "rtt_ms": profile.shape.rtt_ms,
        "loss_pct": profile.shape.loss_pct,
        "step": profile.step.map(|(at, kbit)| json!({"after_ms": at.as_millis() as u64, "to_kbit": kbit})),
        "sessions": out,
    })
}

/// What one session's stats say, against the goals.
fn figures(profile: &Profile, stats: &Value) -> Value {
    let latency = &stats["input_to_photon_ms"];
    let rtt = f64::from(profile.shape.rtt_ms);
    let p50 = latency["p50"].as_f64();
    let p95 = latency["p95"].as_f64();
    let freeze = stats["longest_freeze_ms"].as_f64();
    let bitrate: Vec<Value> = stats["quality"]
        .as_array()
        .map(|q| {
            q.iter()
                .map(|s| json!([s["at_ms"], s["bitrate_kbps"], s["estimate_kbps"], s["fps"]]))
                .collect()
        })
        .unwrap_or_default();
    let recovery = profile
        .step
        .and_then(|(at, _)| recovery_ms(stats, at, rtt + P50_OVER_RTT_MS));
    json!({
        "click_to_photon_ms": {"p50": p50, "p95": p95, "n": latency["n"], "lost": latency["lost"]},
        "longest_freeze_ms": freeze,
        "received_kbps": stats["kbps"],
        "fps": stats["fps"],
        "rtt_ms_at_end": stats["rtt_ms"],
        "last_frame_ms": stats["last_frame_ms"],
        "bitrate_over_time": {"columns": ["at_ms", "bitrate_kbps", "estimate_kbps", "fps"], "rows": bitrate},
        "step_recovery_ms": recovery,
        "goals_met": {
            "p50": p50.map(|v| v <= rtt + P50_OVER_RTT_MS),
            "p95": p95.map(|v| v <= rtt + P95_OVER_RTT_MS),
            "freeze": freeze.map(|v| v <= LONGEST_FREEZE_MS),
            "step_recovery": profile.step.map(|_| recovery.is_some_and(|ms| ms <= STEP_RECOVERY_MS)),
        },
    })
}

/// After the step at `at` (from the session request, roughly: the step
/// thread starts with the viewer), how long until three samples in a row
/// are under `bound` again; `None` if they never are.
fn recovery_ms(stats: &Value, at: Duration, bound: f64) -> Option<f64> {
    let latency = &stats["input_to_photon_ms"];
    let samples = latency["samples"].as_array()?;
    let clicked = latency["clicked_ms"].as_array()?;
    let step = at.as_secs_f64() * 1e3;
    let after: Vec<(f64, Option<f64>)> = clicked
        .iter()
        .zip(samples)
        .filter_map(|(t, s)| Some((t.as_f64()?, s.as_f64())))
        .filter(|(t, _)| *t >= step)
        .collect();
    after
        .windows(3)
        .find(|w| w.iter().all(|(_, s)| s.is_some_and(|v| v <= bound)))
        .map(|w| w[0].0 - step)
}

/// The bitrate the host chose over time, one panel per profile, adaptive
/// and fixed, as SVG.
fn svg(report: &Value) -> String {
    let profiles = report["profiles"].as_object().cloned().unwrap_or_default();
    let (w, h, pad) = (560.0, 180.0, 40.0);
    let mut body = String::new();
    for (i, (name, profile)) in profiles.iter().enumerate() {
        let top = i as f64 * (h + pad) + pad;
        let max_kbps = 5000.0;
        let max_ms = 20_000.0;
        body += &format!(
            "<text x=\"{pad}\" y=\"{}\" font-size=\"13\">{name} (link {} kbit/s)</text>\n",
            top - 8.0,
            profile["rate_kbit"]
        );
        body += &format!(
            "<rect x=\"{pad}\" y=\"{top}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#999\"/>\n"
        );
        let x_of = |t: f64| pad + (t / max_ms).clamp(0.0, 1.0) * w;
        let y_of = |kbps: f64| top + h - (kbps / max_kbps).clamp(0.0, 1.0) * h;
        let rate = profile["rate_kbit"].as_f64().unwrap_or(0.0);
        let mut link = vec![(0.0, rate)];
        if let (Some(at), Some(to)) = (
            profile["step"]["after_ms"].as_f64(),
            profile["step"]["to_kbit"].as_f64(),
        ) {
            link.extend([(at, rate), (at, to)]);
        }
        let end = link.last().map_or(rate, |&(_, r)| r);
        link.push((max_ms, end));
        let link: Vec<String> = link
            .iter()
            .map(|&(t, r)| format!("{:.1},{:.1}", x_of(t), y_of(r)))
            .collect();
        body += &format!(
            "<polyline fill=\"none\" stroke=\"#999\" stroke-dasharray=\"4\" points=\"{}\"/>\n",
            link.join(" ")
        );
        for (label, colour) in [("adaptive", "#1f77b4"), ("fixed", "#d62728")] {
            let session = &profile["sessions"][label];
            let rows = session["bitrate_over_time"]["rows"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut steps: Vec<(f64, f64)> = Vec::new();
            for (t, kbps) in rows
                .iter()
                .filter_map(|r| Some((r[0].as_f64()?, r[1].as_f64()?)))
            {
                // A bitrate holds until the next report: draw it as a step.
                if let Some(&(_, before)) = steps.last() {
                    steps.push((t, before));
                }
                steps.push((t, kbps));
            }
            if let (Some(&(_, last)), Some(end)) = (steps.last(), session["last_frame_ms"].as_f64())
            {
                steps.push((end, last));
            }
            let points: Vec<String> = steps
                .iter()
                .map(|&(t, kbps)| format!("{:.1},{:.1}", x_of(t), y_of(kbps)))
                .collect();
            body += &format!(
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>\n",
                points.join(" ")
            );
        }
    }
    let total_h = profiles.len() as f64 * (h + pad) + pad;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{total_h}\" font-family=\"sans-serif\">\n\
         <text x=\"{pad}\" y=\"16\" font-size=\"13\">Host bitrate (kbit/s, 0 to 5000) over 20 s from the request: adaptive (blue), fixed (red); dashed: the link</text>\n{body}</svg>\n",
        w + 2.0 * pad
    )
}
