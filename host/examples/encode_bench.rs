//! Encoder settings benchmark: time, size and quality of changed frames.
//!
//! For 1280x720 and 1920x1080 it records three kinds of desktop change on a
//! private Xvfb, grabbed with the pipeline's own grabber about 30 times a
//! second: a full-screen window flipping between two colours (what the
//! input-to-photon test clicks on), a large xterm printing a directory
//! listing a few lines at a time, and `meshdesk-xprobe animate` scrolling a
//! detailed picture over a quarter of the screen.
//!
//! Each recording is then encoded with every setting under test (an
//! [`EncoderTuning`], and whether scene cuts are asked for up front as the
//! pipeline does), one encoder per setting fed frame by frame in turn, so
//! that every setting sees the same moments of load on a shared, noisy
//! machine; the whole is repeated `BENCH_REPS` times (default 3).
//! `BENCH_CONTENTS` picks contents (default `flip,xterm,animate`). Every
//! output is decoded again to measure quality. Prints one JSON document:
//! per setting and content, the encode time of every frame after the first
//! (p50, p95; with scene cuts it includes the check, also given alone) and
//! its ratio to the pipeline's frame by frame (p50), bytes per frame, how
//! many frames came out as IDRs (and how many the scene-cut check found),
//! the luma PSNR of the decoded pictures (min and median; text is where
//! quality shows first) and OpenH264's decode time of each (p50, p95).
//!
//! Run: `cargo run --release -p meshdesk-host --example encode_bench`
//! (needs Xvfb and xterm, and `meshdesk-xprobe` from `MESHDESK_BIN_DIR`,
//! default `target/release`, for the animation).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use meshdesk_host::media::convert::I420Picture;
use meshdesk_host::media::encode::{EncoderComplexity, EncoderTuning, H264Encoder};
use meshdesk_host::media::grab::ScreenGrabber;
use meshdesk_host::media::scene::scene_cut;
use meshdesk_host::media::{DEFAULT_BITRATE_BPS, DEFAULT_MAX_FPS};
use meshdesk_xtest::{KillOnDrop, Xvfb};
use openh264::decoder::Decoder;
use openh264::formats::YUVSource;
use serde_json::{json, Map, Value};
use x11rb::connection::Connection;

type BoxError = Box<dyn std::error::Error>;

/// Frames recorded per content (the first is encoded as the IDR).
const FRAMES: usize = 40;
/// Gap between recorded frames (about 30 per second).
const FRAME_GAP: Duration = Duration::from_millis(33);

/// What one tuning did with one recorded content, over all repetitions.
#[derive(Default)]
struct Run {
    /// The first picture (always an IDR): wall time.
    first_ms: Vec<f64>,
    /// The first picture's size.
    first_bytes: usize,
    /// Every later picture, whatever type the encoder chose: wall time.
    changed_ms: Vec<f64>,
    /// Each later picture's time over the pipeline tuning's for the same one.
    ratio_to_pipeline: Vec<f64>,
    /// Size of every later picture.
    changed_bytes: Vec<f64>,
    /// How many later pictures came out as IDRs (scene changes).
    changed_idrs: usize,
    /// Luma PSNR of every decoded picture.
    psnr_y: Vec<f64>,
    /// Time OpenH264's decoder takes for every later picture.
    decode_ms: Vec<f64>,
    /// With scene cuts: the check's own time for every later picture
    /// (part of `changed_ms`).
    scene_check_ms: Vec<f64>,
    /// With scene cuts: how many later pictures the check found to be cuts.
    scene_cuts: usize,
}

/// One encoder setting under test.
struct Setting {
    name: &'static str,
    tuning: EncoderTuning,
    /// Ask for an IDR where `scene::scene_cut` finds one, as the pipeline does.
    scene_cuts: bool,
}

/// The settings compared; the first is the pipeline's own on this machine.
fn settings() -> Vec<Setting> {
    let medium = EncoderTuning::SINGLE_THREAD;
    let low = EncoderTuning {
        complexity: EncoderComplexity::Low,
        ..medium
    };
    // OpenH264 threads work on slices: two threads need size-limited slices.
    let two_threads = |tuning: EncoderTuning, max: u32| EncoderTuning {
        threads: 2,
        max_slice_bytes: Some(max),
        ..tuning
    };
    let setting = |name, tuning| Setting {
        name,
        tuning,
        scene_cuts: false,
    };
    vec![
        Setting {
            scene_cuts: true,
            ..setting("pipeline", EncoderTuning::for_this_machine())
        },
        setting(
            "pipeline_without_scene_cuts",
            EncoderTuning::for_this_machine(),
        ),
        Setting {
            scene_cuts: true,
            ..setting(
                "pipeline_with_deblocking",
                EncoderTuning {
                    deblocking: true,
                    ..EncoderTuning::for_this_machine()
                },
            )
        },
        setting("medium_1t", medium),
        setting("low_1t", low),
        setting("medium_2t_slices", two_threads(medium, 64_000)),
        setting("medium_2t_mtu_slices", two_threads(medium, 1_100)),
        setting("low_2t_slices", two_threads(low, 64_000)),
    ]
}

fn main() -> Result<(), BoxError> {
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let mut results = Vec::new();
    for (width, height) in [(1280, 720), (1920, 1080)] {
        results.push(bench_resolution(width, height, reps)?);
    }
    let report = json!({
        "machine_cores": std::thread::available_parallelism().map_or(0, usize::from),
        // Other work on the machine skews every figure: record how much there was.
        "load_average_after": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "pipeline_tuning": format!("{:?}", EncoderTuning::for_this_machine()),
        "bitrate_bps": DEFAULT_BITRATE_BPS,
        "max_fps": DEFAULT_MAX_FPS,
        "frames_per_content": FRAMES,
        "repetitions": reps,
        "results": results,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn bench_resolution(width: u32, height: u32, reps: usize) -> Result<Value, BoxError> {
    let xvfb = Xvfb::start(width, height);
    let mut grabber = open_grabber(&xvfb, width, height)?;
    let wanted = std::env::var("BENCH_CONTENTS").unwrap_or_else(|_| "flip,xterm,animate".into());
    let mut contents = Vec::new();
    for content in wanted.split(',') {
        let pictures = match content {
            "flip" => record_flip(&xvfb, &mut grabber),
            "xterm" => record_xterm(&xvfb, &mut grabber, width, height)?,
            "animate" => record_animate(&xvfb, &mut grabber, width, height)?,
            other => return Err(format!("unknown content {other:?}").into()),
        };
        contents.push((content, pictures));
    }
    let settings = settings();
    let mut by_content = Map::new();
    for (content, pictures) in &contents {
        let mut runs: Vec<Run> = settings.iter().map(|_| Run::default()).collect();
        for _ in 0..reps {
            encode_interleaved(&settings, pictures, &mut runs)?;
        }
        let mut by_setting = Map::new();
        for (setting, run) in settings.iter().zip(&mut runs) {
            by_setting.insert(setting.name.into(), summarize(run));
        }
        by_content.insert((*content).into(), Value::Object(by_setting));
    }
    let settings: Map<String, Value> = settings
        .iter()
        .map(|s| {
            let cuts = if s.scene_cuts { ", scene cuts" } else { "" };
            (s.name.into(), json!(format!("{:?}{cuts}", s.tuning)))
        })
        .collect();
    Ok(json!({
        "resolution": format!("{width}x{height}"),
        "tunings": settings,
        "contents": by_content,
    }))
}

fn open_grabber(xvfb: &Xvfb, width: u32, height: u32) -> Result<ScreenGrabber, BoxError> {
    let (conn, screen) = x11rb::connect(Some(xvfb.display()))?;
    let root = conn.setup().roots[screen].root;
    Ok(ScreenGrabber::open(
        Some(xvfb.display()),
        root,
        u16::try_from(width)?,
        u16::try_from(height)?,
    )?)
}

/// Grabs `FRAMES` pictures, one every `FRAME_GAP`, calling `change` before each.
fn record(grabber: &mut ScreenGrabber, mut change: impl FnMut(usize)) -> Vec<I420Picture> {
    let (width, height, stride) = (grabber.width(), grabber.height(), grabber.stride());
    (0..FRAMES)
        .map(|i| {
            change(i);
            std::thread::sleep(FRAME_GAP);
            let mut picture = I420Picture::new();
            picture
                .convert_from_bgrx(grabber.grab().expect("grab"), width, height, stride)
                .expect("the screen size converts");
            picture
        })
        .collect()
}

fn record_flip(xvfb: &Xvfb, grabber: &mut ScreenGrabber) -> Vec<I420Picture> {
    record(grabber, |i| {
        xvfb.paint(if i % 2 == 0 { 0xff0000 } else { 0x0000ff });
    })
}

fn record_xterm(
    xvfb: &Xvfb,
    grabber: &mut ScreenGrabber,
    width: u32,
    height: u32,
) -> Result<Vec<I420Picture>, BoxError> {
    xvfb.paint(0x3a6ea5);
    // Two thirds of the screen wide, nearly full height ("fixed" is 6x13).
    let geometry = format!("{}x{}+20+20", width * 2 / 3 / 6, (height - 60) / 13);
    let script =
        "ls -lR /usr/share | while IFS= read -r l; do printf '%s\\n' \"$l\"; sleep 0.01; done";
    let child = xvfb
        .command("xterm")
        .args(["-geometry", &geometry, "-e", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run xterm (apt-get install xterm): {e}"))?;
    let _xterm = KillOnDrop(child);
    // Let the window map and fill with text first.
    std::thread::sleep(Duration::from_secs(2));
    Ok(record(grabber, |_| {}))
}

fn record_animate(
    xvfb: &Xvfb,
    grabber: &mut ScreenGrabber,
    width: u32,
    height: u32,
) -> Result<Vec<I420Picture>, BoxError> {
    xvfb.paint(0x000000);
    let bin_dir = std::env::var_os("MESHDESK_BIN_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release"),
        PathBuf::from,
    );
    let xprobe = bin_dir.join("meshdesk-xprobe");
    let geometry = format!("{}x{}+0+0", width / 2, height / 2);
    let child = xvfb
        .command(&xprobe)
        .args(["animate", "--geometry", &geometry, "--color", "336699"])
        .args(["--hz", "30"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            let path = xprobe.display();
            format!("cannot run {path} (cargo build --release -p meshdesk-tests --bins): {e}")
        })?;
    let _animate = KillOnDrop(child);
    std::thread::sleep(Duration::from_secs(1));
    Ok(record(grabber, |_| {}))
}

/// Encodes `pictures` once with every setting, frame by frame in turn.
fn encode_interleaved(
    settings: &[Setting],
    pictures: &[I420Picture],
    runs: &mut [Run],
) -> Result<(), BoxError> {
    let mut coders = settings
        .iter()
        .map(|s| {
            let encoder = H264Encoder::with_tuning(DEFAULT_BITRATE_BPS, DEFAULT_MAX_FPS, s.tuning)?;
            Ok((encoder, Decoder::new()?))
        })
        .collect::<Result<Vec<_>, BoxError>>()?;
    for (i, picture) in pictures.iter().enumerate() {
        let pts = FRAME_GAP * u32::try_from(i)?;
        let mut pipeline_ms = f64::NAN;
        for (t, (encoder, decoder)) in coders.iter_mut().enumerate() {
            let run = &mut runs[t];
            let started = Instant::now();
            if settings[t].scene_cuts && i > 0 {
                if scene_cut(pictures[i - 1].view(), picture.view()) {
                    encoder.force_keyframe();
                    run.scene_cuts += 1;
                }
                run.scene_check_ms
                    .push(started.elapsed().as_secs_f64() * 1000.0);
            }
            let encoded = encoder.encode(picture.view(), pts)?.ok_or("no picture")?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if t == 0 {
                pipeline_ms = ms;
            }
            if i == 0 {
                run.first_ms.push(ms);
                run.first_bytes = encoded.data.len();
            } else {
                run.changed_ms.push(ms);
                run.ratio_to_pipeline.push(ms / pipeline_ms);
                run.changed_bytes.push(encoded.data.len() as f64);
                run.changed_idrs += usize::from(encoded.keyframe);
            }
            let started = Instant::now();
            let decoded = decoder.decode(&encoded.data)?.ok_or("no decoded picture")?;
            if i > 0 {
                run.decode_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            run.psnr_y
                .push(psnr_y(picture, decoded.y(), decoded.strides().0));
        }
    }
    Ok(())
}

/// Luma PSNR in dB of a decoded plane against the source (99 if identical).
fn psnr_y(source: &I420Picture, decoded: &[u8], stride: usize) -> f64 {
    let source = source.view();
    let w = source.width as usize;
    let mut sum = 0u64;
    for (row, src) in source.y.chunks_exact(w).enumerate() {
        let dec = &decoded[row * stride..row * stride + w];
        sum += src
            .iter()
            .zip(dec)
            .map(|(&a, &b)| u64::from(a.abs_diff(b)).pow(2))
            .sum::<u64>();
    }
    if sum == 0 {
        return 99.0;
    }
    let mse = sum as f64 / source.y.len() as f64;
    10.0 * (255.0 * 255.0 / mse).log10()
}

fn summarize(run: &mut Run) -> Value {
    let psnr_min = run.psnr_y.iter().copied().fold(f64::INFINITY, f64::min);
    json!({
        "changed_ms": quantiles(&mut run.changed_ms),
        "ratio_to_pipeline_p50": quantiles(&mut run.ratio_to_pipeline)["p50"],
        "changed_bytes": quantiles(&mut run.changed_bytes),
        "changed_idr_share": round(run.changed_idrs as f64 / run.changed_ms.len().max(1) as f64),
        "first_idr_ms": quantiles(&mut run.first_ms),
        "decode_ms": quantiles(&mut run.decode_ms),
        "first_idr_bytes": run.first_bytes,
        "psnr_y_db": { "min": round(psnr_min), "p50": quantiles(&mut run.psnr_y)["p50"] },
        "scene_check_ms": quantiles(&mut run.scene_check_ms),
        "scene_cuts": run.scene_cuts,
    })
}

fn quantiles(values: &mut [f64]) -> Value {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if values.is_empty() {
            return 0.0;
        }
        let index = ((values.len() - 1) as f64 * q).round() as usize;
        round(values[index.min(values.len() - 1)])
    };
    json!({ "p50": at(0.5), "p95": at(0.95) })
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
