//! Media pipeline benchmark: prints one JSON document to stdout.
//!
//! For 1280x720 and 1920x1080 it starts a private Xvfb, scrolls text over
//! the whole screen (every grabbed frame differs) and reports, per frame,
//! capture / convert / encode time and capture-to-encoded latency (p50, p95),
//! frames per second reached with the cap lifted and at the default 30 fps,
//! and the bitrate. Then, with the screen static and one subscriber, it
//! measures this process's CPU use and the bytes sent over five seconds.
//!
//! Run: `cargo run --release -p meshdesk-host --example media_bench`
//! (needs Xvfb; figures are from a shared, noisy machine).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use meshdesk_host::media::{EncodedFrame, MediaConfig, MediaPipeline, Subscription};
use meshdesk_xtest::Xvfb;
use serde_json::{json, Value};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, CreateGCAux};

/// A frame and when the subscriber received it.
type Received = (Arc<EncodedFrame>, Instant);

const RUN: Duration = Duration::from_secs(4);
const WARM_UP: Duration = Duration::from_millis(500);
const STATIC_PERIOD: Duration = Duration::from_secs(5);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let mut results = Vec::new();
    for (width, height) in [(1280, 720), (1920, 1080)] {
        results.push(runtime.block_on(bench_resolution(width, height))?);
    }
    let report = json!({
        "machine_cores": std::thread::available_parallelism().map_or(0, usize::from),
        // Other work on the machine skews every figure: record how much there was.
        "load_average_after": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "content": "full-screen text scrolling one line every 4 ms (X server draws it)",
        "results": results,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn bench_resolution(width: u32, height: u32) -> Result<Value, Box<dyn std::error::Error>> {
    let xvfb = Xvfb::start(width, height);
    let mut changing = serde_json::Map::new();
    for max_fps in [240, 30] {
        let scroller = Scroller::start(xvfb.display(), width, height);
        let config = MediaConfig {
            max_fps,
            ..MediaConfig::for_display(xvfb.display())
        };
        let pipeline = MediaPipeline::start(config)?;
        let mut sub = pipeline.subscribe()?;
        let frames = collect(&mut sub, RUN).await?;
        drop(scroller);
        changing.insert(format!("max_fps_{max_fps}"), summarize(&frames));
    }
    Ok(json!({
        "resolution": format!("{width}x{height}"),
        "changing": changing,
        "static": measure_static(&xvfb).await?,
    }))
}

/// Frames received after a warm-up, each with the time it was received.
async fn collect(
    sub: &mut Subscription,
    period: Duration,
) -> Result<Vec<Received>, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut frames = Vec::new();
    while start.elapsed() < period {
        let frame = match tokio::time::timeout(Duration::from_secs(2), sub.recv()).await {
            Ok(frame) => frame?,
            Err(_) => break,
        };
        if start.elapsed() >= WARM_UP {
            frames.push((frame, Instant::now()));
        }
    }
    Ok(frames)
}

fn summarize(frames: &[Received]) -> Value {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let series = |f: &dyn Fn(&Received) -> f64| {
        let mut values: Vec<f64> = frames.iter().map(f).collect();
        values.sort_by(f64::total_cmp);
        json!({ "p50": round(percentile(&values, 0.50)), "p95": round(percentile(&values, 0.95)) })
    };
    let span = match (frames.first(), frames.last()) {
        (Some(first), Some(last)) => last.0.captured_at - first.0.captured_at,
        _ => Duration::ZERO,
    };
    let seconds = span.as_secs_f64().max(f64::EPSILON);
    let bytes: usize = frames.iter().map(|(f, _)| f.data.len()).sum();
    json!({
        "frames": frames.len(),
        "fps": round(frames.len().saturating_sub(1) as f64 / seconds),
        "kbit_per_s": round(bytes as f64 * 8.0 / 1000.0 / seconds),
        "capture_ms": series(&|(f, _)| ms(f.timings.capture)),
        "convert_ms": series(&|(f, _)| ms(f.timings.convert)),
        "encode_ms": series(&|(f, _)| ms(f.timings.encode)),
        "capture_to_encoded_ms": series(&|(f, _)| ms(f.timings.capture + f.timings.convert + f.timings.encode)),
        "capture_to_received_ms": series(&|(f, at)| ms(at.duration_since(f.captured_at))),
    })
}

/// CPU and bytes with one subscriber and nothing changing on screen.
async fn measure_static(xvfb: &Xvfb) -> Result<Value, Box<dyn std::error::Error>> {
    let pipeline = MediaPipeline::start(MediaConfig::for_display(xvfb.display()))?;
    let mut sub = pipeline.subscribe()?;
    tokio::time::timeout(Duration::from_secs(5), sub.recv()).await??;
    let stats_before = pipeline.stats();
    let cpu_before = process_cpu()?;
    let wall = Instant::now();
    let mut frames = 0;
    let mut bytes = 0;
    while let Ok(frame) =
        tokio::time::timeout(STATIC_PERIOD.saturating_sub(wall.elapsed()), sub.recv()).await
    {
        let frame = frame?;
        frames += 1;
        bytes += frame.data.len();
    }
    let cpu = process_cpu()?.saturating_sub(cpu_before);
    let seconds = wall.elapsed().as_secs_f64();
    let stats = pipeline.stats();
    Ok(json!({
        "seconds": round(seconds),
        "frames": frames,
        "grabs": stats.frames_captured - stats_before.frames_captured,
        "bytes": bytes,
        "kbit_per_s": round(bytes as f64 * 8.0 / 1000.0 / seconds),
        "cpu_percent_of_one_core": round(cpu.as_secs_f64() / seconds * 100.0),
    }))
}

/// User plus system CPU time of this process (all threads), from /proc.
fn process_cpu() -> Result<Duration, Box<dyn std::error::Error>> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, in USER_HZ (100 per second on Linux).
    let after_name = stat.rsplit_once(')').ok_or("bad /proc/self/stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11).ok_or("no utime")?.parse::<u64>()?
        + fields.get(12).ok_or("no stime")?.parse::<u64>()?;
    Ok(Duration::from_millis(ticks * 10))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Scrolls lines of text over the whole root window until dropped.
struct Scroller {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Scroller {
    fn start(display: &str, width: u32, height: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let display = display.to_owned();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || scroll(&display, width, height, &flag));
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Scroller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn scroll(display: &str, width: u32, height: u32, stop: &AtomicBool) {
    let (conn, screen) = x11rb::connect(Some(display)).expect("connect to Xvfb");
    let root = conn.setup().roots[screen].root;
    let font = conn.generate_id().expect("id");
    conn.open_font(font, b"fixed").expect("open font");
    let gc = conn.generate_id().expect("id");
    let aux = CreateGCAux::new()
        .foreground(0xd0d0d0)
        .background(0x202030)
        .font(font)
        .graphics_exposures(0);
    conn.create_gc(gc, root, &aux).expect("create gc");
    let (w, h) = (width as u16, height as u16);
    let line = 14u16;
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        conn.copy_area(root, root, gc, 0, line as i16, 0, 0, w, h - line)
            .expect("scroll");
        let text = format!(
            "{n:08}  drwxr-xr-x  2 root root  4096 Jan  1 00:00 /usr/share/doc/package-{}  the quick brown fox jumps over the lazy dog {}",
            n % 997,
            "0123456789abcdef".repeat((n % 7) as usize + 1)
        );
        let text = &text.as_bytes()[..text.len().min(255)];
        conn.image_text8(root, gc, 4, (h - 3) as i16, text)
            .expect("text");
        // Round trip so the server is never flooded with queued drawing.
        conn.get_input_focus()
            .expect("sync")
            .reply()
            .expect("sync reply");
        n += 1;
        std::thread::sleep(Duration::from_millis(4));
    }
}
