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

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use futures_util::{stream, StreamExt};
use meshdesk_tests::load::{
    collect, enroll, go_online, keep_alive, loadavg, machine, mib, ms, open_file_limit,
    parse_counts, percentile, round, rss_bytes, stats, utc_date, wait_all_online, watch, GIB,
    PARALLEL,
};
use meshdesk_tests::{floor, Api, Server, TestDevice, ViewerConn};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// The goals, repeated in the output next to the measurements.
const GOAL_DEVICES_PER_GIB: f64 = 50_000.0;
const GOAL_FANOUT_P99_MS: f64 = 10.0;

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
    fn parse(it: impl Iterator<Item = String>) -> Result<Args> {
        let mut a = Args {
            devices: 10_000,
            viewers: 1_000,
            reps: 50,
        };
        parse_counts(
            it,
            &mut [
                ("--devices", &mut a.devices),
                ("--viewers", &mut a.viewers),
                ("--reps", &mut a.reps),
            ],
            "[--devices N] [--viewers M] [--reps R]",
        )?;
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
