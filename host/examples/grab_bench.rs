//! Screen grab benchmark: what one fresh frame costs, and whether it is fresh.
//!
//! For 1280x720 and 1920x1080 on a private Xvfb, 100 times: repaint the
//! whole screen a new colour, then time, back to back,
//! - `grab` (one `ShmGetImage` into the shared segment), what the
//!   pipeline does;
//! - `grab` plus a copy of the image out of shared memory (the previous
//!   pipeline copied each frame into a buffer of its own);
//! - two `grab`s plus the copy (an earlier pipeline, which believed the
//!   first frame stale);
//! - core `GetImage` over the X socket, no shared memory;
//!
//! and count how often the first grab after a repaint shows the old colour.
//! Prints one JSON document with p50 and p95 in milliseconds.
//!
//! Run: `cargo run --release -p meshdesk-host --example grab_bench` (needs Xvfb).

use std::time::{Duration, Instant};

use meshdesk_host::media::grab::ScreenGrabber;
use meshdesk_xtest::Xvfb;
use serde_json::{json, Value};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};

type BoxError = Box<dyn std::error::Error>;

const ROUNDS: usize = 100;
const COLOURS: [u32; 4] = [0xff0000, 0x0000ff, 0x00ff00, 0xffffff];
const METHODS: [&str; 4] = ["grab", "grab_copy", "grab_twice_copy", "get_image_socket"];

fn main() -> Result<(), BoxError> {
    let mut results = Vec::new();
    for (width, height) in [(1280u16, 720u16), (1920, 1080)] {
        results.push(bench_resolution(width, height)?);
    }
    let report = json!({
        "load_average_after": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "rounds": ROUNDS,
        "results": results,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn bench_resolution(width: u16, height: u16) -> Result<Value, BoxError> {
    let xvfb = Xvfb::start(width.into(), height.into());
    let (conn, screen) = x11rb::connect(Some(xvfb.display()))?;
    let root = conn.setup().roots[screen].root;
    let mut grabber = ScreenGrabber::open(Some(xvfb.display()), root, width, height)?;
    let mut copy = Vec::new();
    let mut times: Vec<Vec<f64>> = METHODS.iter().map(|_| Vec::new()).collect();
    let mut stale = 0;
    for round in 0..ROUNDS {
        let colour = COLOURS[round % COLOURS.len()];
        xvfb.paint(colour);
        // An idle gap, as between two clicks.
        std::thread::sleep(Duration::from_millis(5));
        for (m, samples) in times.iter_mut().enumerate() {
            let started = Instant::now();
            match m {
                0 => {
                    let image = grabber.grab()?;
                    let got = u32::from_le_bytes([image[0], image[1], image[2], 0]);
                    stale += usize::from(got != colour);
                }
                1 | 2 => {
                    if m == 2 {
                        let _ = grabber.grab()?;
                    }
                    copy.clear();
                    copy.extend_from_slice(grabber.grab()?);
                }
                _ => {
                    let reply = conn
                        .get_image(ImageFormat::Z_PIXMAP, root, 0, 0, width, height, !0)?
                        .reply()?;
                    std::hint::black_box(&reply.data);
                }
            }
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let mut by_method = serde_json::Map::new();
    for (name, samples) in METHODS.iter().zip(&mut times) {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| round(samples[((samples.len() - 1) as f64 * q).round() as usize]);
        by_method.insert((*name).into(), json!({ "p50": at(0.5), "p95": at(0.95) }));
    }
    Ok(json!({
        "resolution": format!("{width}x{height}"),
        "ms": by_method,
        "stale_first_grabs": stale,
    }))
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
