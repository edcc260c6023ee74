//! `meshdesk-bench-signaling [--devices N] [--viewers M] [--reps R]`
//!
//! Scale benchmark of the real `meshdesk-signaling` binary (not a test):
//!
//! 1. Idle devices: enroll N devices over REST, connect and authenticate N
//!    host WebSockets that only send heartbeats, and compare the server's
//!    resident memory (`VmRSS`) before and after: bytes per idle device.
//! 2. Presence fan-out: M viewers watch one device (shared with their user);
//!    the device reconnects R times and each time we measure from sending its
//!    `auth` until the last viewer has the matching `presence online`.
//! 3. Loopback floor: the same delivery to M plain TCP sockets with no
//!    server, so the server's figure can be read against the machine's.
//!
//! Prints one JSON document on stdout; progress goes to stderr. Run it
//! through `scripts/bench signaling`, which builds release binaries and
//! raises the open-file limit.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use futures_util::{stream, SinkExt, StreamExt};
use meshdesk_protocol::decode;
use meshdesk_protocol::signal::{HostToServer, ServerToHost, ServerToViewer};
use meshdesk_tests::{floor, Api, HostConn, Server, TestDevice, ViewerConn};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

/// Connections opened (or devices enrolled) at the same time.
const PARALLEL: usize = 64;
/// Longest wait for any one phase step (all viewers told, all devices online).
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// The goals, repeated in the output next to the measurements.
const GOAL_DEVICES_PER_GIB: f64 = 50_000.0;
const GOAL_FANOUT_P99_MS: f64 = 10.0;
const GIB: f64 = (1u64 << 30) as f64;

/// Validated command line.
#[derive(Debug)]
struct Args {
    /// Idle devices to connect.
    devices: usize,
    /// Viewers watching the fan-out device.
    viewers: usize,
    /// Reconnects of the fan-out device.
    reps: usize,
}

impl Args {
    fn parse(mut it: impl Iterator<Item = String>) -> Result<Args> {
        let mut a = Args {
            devices: 10_000,
            viewers: 1_000,
            reps: 50,
        };
        while let Some(flag) = it.next() {
            let slot = match flag.as_str() {
                "--devices" => &mut a.devices,
                "--viewers" => &mut a.viewers,
                "--reps" => &mut a.reps,
                _ => bail!(
                    "unknown argument `{flag}`; usage: [--devices N] [--viewers M] [--reps R]"
                ),
            };
            let v = it
                .next()
                .with_context(|| format!("{flag} needs a number"))?;
            *slot = v
                .parse()
                .with_context(|| format!("{flag}: `{v}` is not a number"))?;
            ensure!(*slot > 0, "{flag} must be greater than 0");
        }
        Ok(a)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse(std::env::args().skip(1))?;
    let need = connections_needed(&args);
    let limit = open_file_limit()?;
    ensure!(
        limit >= need as u64,
        "open-file limit is {limit}, need about {need}: run through `scripts/bench` or raise `ulimit -n`"
    );
    let report = run(&args).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Connections (and so open files) the bench holds at once: every idle
/// host, every viewer, and room for REST calls.
fn connections_needed(args: &Args) -> usize {
    args.devices + args.viewers + 256
}

async fn run(args: &Args) -> Result<Value> {
    let load_at_start = loadavg();
    // Every idle host and viewer holds a connection: lift the server's
    // default limit (1024) above what the bench opens.
    let server = Server::start_with(&format!(
        "signup = \"open\"\nmax_connections = {}\n",
        connections_needed(args)
    ));
    let pid = server.pid().context("server has no pid")?;
    let api = Api::new(&server);
    let owner = api.user("bench").await;
    let watcher = api.user("watcher").await;

    eprintln!("enrolling {} devices over REST...", args.devices + 1);
    let started = Instant::now();
    let mut devices = enroll(&api, &owner, args.devices + 1).await;
    let enroll_secs = started.elapsed().as_secs_f64();
    let fan_device = devices.pop().context("no fan-out device")?;
    api.share(&owner, &fan_device.id, "watcher", "view").await;

    let (idle, hosts) = idle_phase(&server, &api, &owner, devices, pid).await?;
    // The idle hosts stay connected through the fan-out phase.
    let mut fanout = fanout_phase(&server, &watcher, &fan_device, args, pid).await?;
    drop(hosts);
    eprintln!("loopback floor: {} sockets, no server...", args.viewers);
    let floor = floor_phase(args, &mut fanout).await?;
    Ok(json!({
        "bench": "signaling",
        "date": utc_date(),
        "machine": machine(&load_at_start),
        "note": "server and load generator share the machine's cores; latencies include client-side scheduling",
        "server_binary": meshdesk_tests::server::binary("meshdesk-signaling").display().to_string(),
        "enrollment": {
            "method": "REST, one enrollment code per device",
            "devices": args.devices + 1,
            "seconds": round(enroll_secs, 2),
            "per_second": round((args.devices + 1) as f64 / enroll_secs, 0),
        },
        "idle": idle,
        "fanout": fanout,
        "loopback_floor": floor,
    }))
}

/// Create `n` devices for `owner`, one enrollment code each.
async fn enroll(api: &Api, owner: &str, n: usize) -> Vec<TestDevice> {
    stream::iter(0..n)
        .map(|i| async move {
            let code = api.code(owner).await;
            TestDevice::enroll(api, &code, &format!("bench-{i}")).await
        })
        .buffer_unordered(PARALLEL / 4)
        .collect()
        .await
}

/// Connect every device and keep it alive; returns the figures and the
/// tasks that keep the hosts connected (dropping them disconnects).
async fn idle_phase(
    server: &Server,
    api: &Api,
    owner: &str,
    devices: Vec<TestDevice>,
    pid: u32,
) -> Result<(Value, JoinSet<()>)> {
    let n = devices.len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss_bytes(pid)?;
    eprintln!(
        "server RSS before: {:.1} MiB; connecting {n} hosts...",
        mib(rss_before)
    );
    let started = Instant::now();
    let mut hosts = JoinSet::new();
    let mut online =
        stream::iter(devices.iter().map(|d| go_online(server, d))).buffer_unordered(PARALLEL);
    while let Some(o) = online.next().await {
        hosts.spawn(keep_alive(o?));
        if hosts.len() % 1000 == 0 {
            eprintln!("  {} hosts online", hosts.len());
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    wait_all_online(api, owner, n).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss_bytes(pid)?;
    let mut lost = 0;
    while hosts.try_join_next().is_some() {
        lost += 1;
    }
    let per_device = rss_after.saturating_sub(rss_before) as f64 / n as f64;
    let per_gib = GIB / per_device.max(1.0);
    eprintln!(
        "server RSS after: {:.1} MiB = {per_device:.0} B per device",
        mib(rss_after)
    );
    let figures = json!({
        "devices": n,
        "connect_seconds": round(connect_secs, 2),
        "connects_per_second": round(n as f64 / connect_secs, 0),
        "hosts_lost": lost,
        "rss_before_bytes": rss_before,
        "rss_after_bytes": rss_after,
        "bytes_per_device": round(per_device, 0),
        "devices_per_gib": round(per_gib, 0),
        "goal_devices_per_gib": GOAL_DEVICES_PER_GIB,
        "meets_goal": per_gib >= GOAL_DEVICES_PER_GIB,
    });
    Ok((figures, hosts))
}

/// A host that completed the handshake.
#[derive(Debug)]
struct Online {
    conn: HostConn,
    heartbeat: Duration,
    /// Just before `auth` went out.
    auth_sent: Instant,
    /// When `welcome` arrived.
    welcomed: Instant,
}

/// Open a host socket, answer the challenge and wait for `welcome`.
async fn go_online(server: &Server, dev: &TestDevice) -> Result<Online> {
    let (mut conn, nonce) = HostConn::open(server).await;
    let auth = dev.auth(&nonce);
    let auth_sent = Instant::now();
    conn.send(&auth).await;
    match conn.recv().await {
        ServerToHost::Welcome { heartbeat_secs, .. } => Ok(Online {
            conn,
            heartbeat: Duration::from_secs(heartbeat_secs.into()),
            auth_sent,
            welcomed: Instant::now(),
        }),
        other => bail!("device {}: expected welcome, got {other:?}", dev.id),
    }
}

/// Heartbeat as a real idle host does; ends when the server closes.
async fn keep_alive(o: Online) {
    let mut ws = o.conn.ws;
    let ping = Message::text(meshdesk_protocol::encode(&HostToServer::Ping));
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + o.heartbeat, o.heartbeat);
    loop {
        tokio::select! {
            _ = beat.tick() => {
                if ws.send(ping.clone()).await.is_err() {
                    return;
                }
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Poll `GET /devices` until `n` of the owner's devices are online.
async fn wait_all_online(api: &Api, owner: &str, n: usize) -> Result<()> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let (status, body) = api.call("GET", "/devices", Some(owner), None).await;
        ensure!(status.is_success(), "GET /devices: {status} {body}");
        let online = body
            .as_array()
            .map_or(0, |a| a.iter().filter(|d| d["online"] == true).count());
        if online == n {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "only {online} of {n} devices online"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A presence change one viewer saw, and when.
type Seen = (bool, Instant);

async fn fanout_phase(
    server: &Server,
    token: &str,
    dev: &TestDevice,
    args: &Args,
    pid: u32,
) -> Result<Value> {
    let rss_before = rss_bytes(pid)?;
    eprintln!("connecting {} viewers...", args.viewers);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut viewers = JoinSet::new();
    let mut connects = stream::iter(0..args.viewers)
        .map(|_| ViewerConn::connect(server, token))
        .buffer_unordered(PARALLEL);
    while let Some(v) = connects.next().await {
        viewers.spawn(watch(v, dev.id.clone(), tx.clone()));
    }
    // Each viewer's first presence is the snapshot (device offline).
    collect(&mut rx, args.viewers, false).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let per_viewer = rss_bytes(pid)?.saturating_sub(rss_before) as f64 / args.viewers as f64;

    eprintln!("fan-out: {} reconnects...", args.reps);
    let (mut last, mut first, mut welcome) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.reps {
        let o = go_online(server, dev).await?;
        let (earliest, latest) = collect(&mut rx, args.viewers, true).await?;
        last.push(ms(latest - o.auth_sent));
        first.push(ms(earliest - o.auth_sent));
        welcome.push(ms(o.welcomed - o.auth_sent));
        let mut ws = o.conn.ws;
        ws.close(None).await.context("close fan-out device")?;
        collect(&mut rx, args.viewers, false).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    viewers.abort_all();
    let p99 = percentile(&mut last, 0.99);
    Ok(json!({
        "viewers": args.viewers,
        "repetitions": args.reps,
        "measured_from": "host sends auth",
        "last_viewer_ms": stats(&mut last),
        "first_viewer_ms": stats(&mut first),
        "host_welcome_ms": stats(&mut welcome),
        "bytes_per_viewer": round(per_viewer, 0),
        "goal_p99_ms": GOAL_FANOUT_P99_MS,
        "meets_goal": p99 < GOAL_FANOUT_P99_MS,
    }))
}

/// The same delivery to the same number of sockets with no server: one
/// writer thread, then two (the server runs two worker threads). Adds the
/// server's p50 over the two-writer floor's to `fanout`.
async fn floor_phase(args: &Args, fanout: &mut Value) -> Result<Value> {
    let mut one = floor::last_delivery_ms(args.viewers, args.reps, 1).await?;
    let mut two = floor::last_delivery_ms(args.viewers, args.reps, 2).await?;
    let two_p50 = percentile(&mut two, 0.5);
    if let Some(server_p50) = fanout["last_viewer_ms"]["p50"].as_f64() {
        fanout["over_loopback_floor_p50"] = json!(round(server_p50 / two_p50, 2));
    }
    Ok(json!({
        "method": "raw TCP on 127.0.0.1, a 400-byte write to each socket from writer threads, \
                   read by one task per socket in this process; last reader's clock",
        "one_writer_last_ms": stats(&mut one),
        "two_writers_last_ms": stats(&mut two),
    }))
}

/// Report every presence change of `device_id` this viewer receives.
async fn watch(mut v: ViewerConn, device_id: String, tx: mpsc::UnboundedSender<Seen>) {
    while let Some(Ok(frame)) = v.ws.next().await {
        let at = Instant::now();
        let Message::Text(text) = frame else { continue };
        if let Ok(ServerToViewer::Presence {
            device_id: d,
            online,
            ..
        }) = decode(&text)
        {
            if d == device_id && tx.send((online, at)).is_err() {
                return;
            }
        }
    }
}

/// Wait for `n` reports of `online`; returns the earliest and latest time.
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
    n: usize,
    online: bool,
) -> Result<(Instant, Instant)> {
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    let mut span: Option<(Instant, Instant)> = None;
    for got in 0..n {
        let seen = tokio::time::timeout_at(deadline, rx.recv()).await;
        let (state, at) = match seen {
            Ok(Some(s)) => s,
            Ok(None) => bail!("viewers gone"),
            Err(_) => bail!("only {got} of {n} viewers saw online={online}"),
        };
        ensure!(
            state == online,
            "a viewer saw online={state}, expected {online}"
        );
        span = Some(span.map_or((at, at), |(lo, hi)| (lo.min(at), hi.max(at))));
    }
    span.context("no viewers")
}

fn stats(v: &mut [f64]) -> Value {
    json!({
        "p50": round(percentile(v, 0.50), 2),
        "p90": round(percentile(v, 0.90), 2),
        "p99": round(percentile(v, 0.99), 2),
        "max": round(percentile(v, 1.0), 2),
    })
}

/// Nearest-rank percentile.
fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// `VmRSS` of a process, in bytes.
fn rss_bytes(pid: u32) -> Result<u64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).context("read /proc/PID/status")?;
    proc_field_kib(&status, "VmRSS:")
        .map(|k| k * 1024)
        .context("no VmRSS")
}

fn proc_field_kib(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// The soft `RLIMIT_NOFILE` of this process.
fn open_file_limit() -> Result<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").context("read /proc/self/limits")?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .context("no open-file limit")?;
    let soft = line["Max open files".len()..]
        .split_whitespace()
        .next()
        .context("limit")?;
    Ok(if soft == "unlimited" {
        u64::MAX
    } else {
        soft.parse()?
    })
}

fn machine(load_at_start: &str) -> Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string());
    json!({
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu_model": cpu,
        "mem_total_bytes": proc_field_kib(&read("/proc/meminfo"), "MemTotal:").map(|k| k * 1024),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "server_and_clients_same_machine": true,
        // Other work on the machine skews latencies; recorded to judge a run.
        "loadavg_at_start": load_at_start,
        "loadavg_at_end": loadavg(),
    })
}

/// The 1, 5 and 15 minute load averages.
fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Today as `YYYY-MM-DD` (UTC), from the days since 1970 (H. Hinnant's
/// civil-from-days).
fn utc_date() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
