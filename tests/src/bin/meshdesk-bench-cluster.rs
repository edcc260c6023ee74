//! `meshdesk-bench-cluster [--devices N] [--viewers M] [--reps R] [--sessions S]`
//!
//! Benchmark of two real `meshdesk-signaling` nodes on one PostgreSQL and
//! one nats-server (issue 23), with a lone server (SQLite, no bus) of the
//! same run beside it:
//!
//! 1. Idle devices per GiB per node: N simulated hosts connect to node A;
//!    the growth of A's resident memory per host (and B's, which only
//!    hears about them).
//! 2. Presence fan-out across nodes: M viewers of one user, half on A and
//!    half on B; a device connects to A R times, and each time we measure
//!    from its `auth` until the last viewer on A and on B has the matching
//!    `presence online`; then the same with all M viewers and the device
//!    on the lone server.
//! 3. Session set-up, same node and across nodes: a viewer asks, the
//!    simulated host accepts the grant at once; from `session_request` to
//!    `session_accepted`, S times with the viewer on A and S times on B
//!    (the host on A).
//! 4. Reconnect storm: node A is killed with SIGKILL while it holds the N
//!    hosts; each reconnects to B after a random 0 to 1 s wait (backing off
//!    on failure), and we measure until every one has its `welcome`, and
//!    B's memory before, at its peak and after.
//!
//! Prints one JSON document on stdout; progress goes to stderr. Run it
//! through `scripts/bench cluster`, which builds release binaries, installs
//! PostgreSQL and nats-server and raises the open-file limit.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use futures_util::{stream, StreamExt};
use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::{HostToServer, ServerToHost, ServerToViewer, ViewerToServer};
use meshdesk_tests::load::{
    collect, enroll, go_online, keep_alive, loadavg, machine, mib, ms, open_file_limit,
    parse_counts, round, rss_bytes, stats, utc_date, wait_all_online, watch, Online, GIB, PARALLEL,
    STEP_TIMEOUT,
};
use meshdesk_tests::nats::NatsServer;
use meshdesk_tests::postgres::PgServer;
use meshdesk_tests::{Api, HostConn, Server, TestDevice, ViewerConn};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// The goal for the storm, repeated next to the measurement.
const GOAL_STORM_SECS: f64 = 60.0;
/// Longest a storm may take before the bench gives up.
const STORM_TIMEOUT: Duration = Duration::from_secs(120);

/// Validated command line.
#[derive(Debug)]
struct Args {
    devices: usize,
    viewers: usize,
    reps: usize,
    sessions: usize,
}

impl Args {
    fn parse(it: impl Iterator<Item = String>) -> Result<Args> {
        let mut a = Args {
            devices: 1_000,
            viewers: 1_000,
            reps: 20,
            sessions: 30,
        };
        parse_counts(
            it,
            &mut [
                ("--devices", &mut a.devices),
                ("--viewers", &mut a.viewers),
                ("--reps", &mut a.reps),
                ("--sessions", &mut a.sessions),
            ],
            "[--devices N] [--viewers M] [--reps R] [--sessions S]",
        )?;
        Ok(a)
    }

    /// Connections one node holds at most, with room for REST calls.
    fn per_node(&self) -> usize {
        self.devices + self.viewers + 256
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse(std::env::args().skip(1))?;
    let need = (args.devices + args.viewers) * 2 + 512;
    let limit = open_file_limit()?;
    ensure!(
        limit >= need as u64,
        "open-file limit is {limit}, need about {need}: run through `scripts/bench` or raise `ulimit -n`"
    );
    let report = run(&args).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn run(args: &Args) -> Result<Value> {
    let load_at_start = loadavg();
    let pg = PgServer::start();
    let nats = NatsServer::start();
    let limits = format!("max_connections = {}\n", args.per_node());
    let mut a = Server::start_cluster_node_with(&pg.url(), &nats.url(), &limits);
    let b = Server::start_cluster_node_with(&pg.url(), &nats.url(), &limits);
    let (pid_a, pid_b) = (a.pid().context("pid")?, b.pid().context("pid")?);
    let api = Api::new(&a);
    let owner = api.user("bench").await;
    let watcher = api.user("watcher").await;

    eprintln!("enrolling {} devices...", args.devices + 1);
    let mut devices = enroll(&api, &owner, args.devices + 1).await;
    let fan_device = devices.pop().context("no fan-out device")?;
    api.share(&owner, &fan_device.id, "watcher", "view").await;

    let (idle, hosts) = idle_phase(&a, &api, &owner, &devices, [pid_a, pid_b]).await?;
    let fanout = fanout_across(&a, &b, &watcher, &fan_device, args).await?;
    let sessions = session_phase(&a, &b, &api, &owner, args).await?;
    let storm = storm_phase(&mut a, &b, hosts, &devices, pid_b).await?;
    drop(a);
    let single = single_fanout(args).await?;
    Ok(json!({
        "bench": "cluster",
        "date": utc_date(),
        "machine": machine(&load_at_start),
        "note": "two nodes, PostgreSQL, nats-server and the load generator share the machine's cores",
        "server_binary": meshdesk_tests::server::binary("meshdesk-signaling").display().to_string(),
        "idle": idle,
        "fanout": {
            "cluster": fanout,
            "single_node": single,
        },
        "session_setup": sessions,
        "reconnect_storm": storm,
    }))
}

/// Connect every device to node A and keep it alive; returns the figures
/// and the tasks that keep the hosts connected.
async fn idle_phase(
    a: &Server,
    api: &Api,
    owner: &str,
    devices: &[TestDevice],
    pids: [u32; 2],
) -> Result<(Value, JoinSet<()>)> {
    let n = devices.len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = [rss_bytes(pids[0])?, rss_bytes(pids[1])?];
    eprintln!("connecting {n} hosts to node A...");
    let mut hosts = JoinSet::new();
    let mut online =
        stream::iter(devices.iter().map(|d| go_online(a, d))).buffer_unordered(PARALLEL);
    while let Some(o) = online.next().await {
        hosts.spawn(keep_alive(o?));
    }
    wait_all_online(api, owner, n).await?;
    // Beyond one heartbeat, so B has heard A's full list.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = [rss_bytes(pids[0])?, rss_bytes(pids[1])?];
    let per = |i: usize| after[i].saturating_sub(before[i]) as f64 / n as f64;
    let (per_a, per_b) = (per(0), per(1));
    eprintln!(
        "A: {:.1} -> {:.1} MiB ({per_a:.0} B per host); B: {per_b:.0} B per host elsewhere",
        mib(before[0]),
        mib(after[0])
    );
    Ok((
        json!({
            "devices": n,
            "node_a_bytes_per_device": round(per_a, 0),
            "node_a_devices_per_gib": round(GIB / per_a.max(1.0), 0),
            "node_b_bytes_per_remote_device": round(per_b, 0),
            "node_a_rss_after_bytes": after[0],
            "node_b_rss_after_bytes": after[1],
        }),
        hosts,
    ))
}

/// Viewers of `token` on `server`, each reporting `device`'s presence.
async fn viewers_on(
    server: &Server,
    token: &str,
    device: &TestDevice,
    n: usize,
    tx: &mpsc::UnboundedSender<(bool, Instant)>,
    set: &mut JoinSet<()>,
) {
    let mut connects = stream::iter(0..n)
        .map(|_| ViewerConn::connect(server, token))
        .buffer_unordered(PARALLEL);
    while let Some(v) = connects.next().await {
        set.spawn(watch(v, device.id.clone(), tx.clone()));
    }
}

/// Half the viewers on A, half on B; the device connects to A.
async fn fanout_across(
    a: &Server,
    b: &Server,
    token: &str,
    dev: &TestDevice,
    args: &Args,
) -> Result<Value> {
    let half = args.viewers / 2;
    let rest = args.viewers - half;
    eprintln!("connecting {half} viewers to A and {rest} to B...");
    let (tx_a, mut rx_a) = mpsc::unbounded_channel();
    let (tx_b, mut rx_b) = mpsc::unbounded_channel();
    let mut set = JoinSet::new();
    viewers_on(a, token, dev, half, &tx_a, &mut set).await;
    viewers_on(b, token, dev, rest, &tx_b, &mut set).await;
    collect(&mut rx_a, half, false).await?;
    collect(&mut rx_b, rest, false).await?;
    eprintln!("fan-out across nodes: {} reconnects...", args.reps);
    let (mut same, mut cross) = (Vec::new(), Vec::new());
    for _ in 0..args.reps {
        let o = go_online(a, dev).await?;
        let (_, last_a) = collect(&mut rx_a, half, true).await?;
        let (_, last_b) = collect(&mut rx_b, rest, true).await?;
        same.push(ms(last_a - o.auth_sent));
        cross.push(ms(last_b - o.auth_sent));
        offline(o).await?;
        collect(&mut rx_a, half, false).await?;
        collect(&mut rx_b, rest, false).await?;
    }
    set.abort_all();
    Ok(json!({
        "viewers_on_a": half,
        "viewers_on_b": rest,
        "repetitions": args.reps,
        "measured_from": "host sends auth to node A; last viewer of each node told",
        "same_node_last_viewer_ms": stats(&mut same),
        "other_node_last_viewer_ms": stats(&mut cross),
    }))
}

/// The same fan-out on a lone server (SQLite, no bus).
async fn single_fanout(args: &Args) -> Result<Value> {
    let server = Server::start_with(&format!(
        "signup = \"open\"\nmax_connections = {}\n",
        args.per_node()
    ));
    let api = Api::new(&server);
    let owner = api.user("bench").await;
    let watcher = api.user("watcher").await;
    let dev = TestDevice::enroll(&api, &api.code(&owner).await, "fan").await;
    api.share(&owner, &dev.id, "watcher", "view").await;
    eprintln!("single node: {} viewers...", args.viewers);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut set = JoinSet::new();
    viewers_on(&server, &watcher, &dev, args.viewers, &tx, &mut set).await;
    collect(&mut rx, args.viewers, false).await?;
    let mut last = Vec::new();
    for _ in 0..args.reps {
        let o = go_online(&server, &dev).await?;
        let (_, latest) = collect(&mut rx, args.viewers, true).await?;
        last.push(ms(latest - o.auth_sent));
        offline(o).await?;
        collect(&mut rx, args.viewers, false).await?;
    }
    set.abort_all();
    Ok(json!({
        "viewers": args.viewers,
        "repetitions": args.reps,
        "last_viewer_ms": stats(&mut last),
    }))
}

/// Close a host's connection, as a host going away does.
async fn offline(o: Online) -> Result<()> {
    let mut ws = o.conn.ws;
    futures_util::SinkExt::close(&mut ws)
        .await
        .context("close the device")
}

/// Session set-up with the host on A: the viewer on A, then on B.
async fn session_phase(
    a: &Server,
    b: &Server,
    api: &Api,
    owner: &str,
    args: &Args,
) -> Result<Value> {
    let dev = TestDevice::enroll(api, &api.code(owner).await, "sessions").await;
    let mut host = HostConn::connect(a, &dev).await;
    let mut figures = Vec::new();
    for (name, server) in [("same_node_ms", a), ("other_node_ms", b)] {
        eprintln!("session set-up, {name}: {} sessions...", args.sessions);
        let mut viewer = ViewerConn::connect(server, owner).await;
        // Presence reaches B through the bus: wait until B knows the host.
        wait_online_on(server, owner, &dev.id).await?;
        let mut took = Vec::new();
        for _ in 0..args.sessions {
            took.push(one_session(&mut viewer, &mut host, &dev.id).await?);
        }
        figures.push((name, stats(&mut took)));
    }
    let mut out = json!({
        "sessions": args.sessions,
        "measured_from": "viewer sends session_request; until it has session_accepted (the host accepts the grant at once)",
    });
    for (name, v) in figures {
        out[name] = v;
    }
    Ok(out)
}

/// Until `server` says the device is online.
async fn wait_online_on(server: &Server, token: &str, device_id: &str) -> Result<()> {
    let api = Api::new(server);
    let deadline = Instant::now() + STEP_TIMEOUT;
    while !api.online(token, device_id).await {
        ensure!(
            Instant::now() < deadline,
            "device never online on {}",
            server.base
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// One session from request to accepted, then ended; its set-up in ms.
async fn one_session(viewer: &mut ViewerConn, host: &mut HostConn, device_id: &str) -> Result<f64> {
    let asked = Instant::now();
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: device_id.into(),
            request_id: None,
            screen: None,
            files_only: false,
        })
        .await;
    let grant = host
        .wait_for("grant", |m| matches!(m, ServerToHost::SessionGrant { .. }))
        .await;
    let ServerToHost::SessionGrant {
        session_id,
        permission,
        ..
    } = grant
    else {
        bail!("no grant");
    };
    ensure!(permission == Permission::Owner, "granted {permission:?}");
    host.send(&HostToServer::SessionAccept {
        session_id: session_id.clone(),
    })
    .await;
    viewer
        .wait_for(
            "accepted",
            |m| matches!(m, ServerToViewer::SessionAccepted { session_id: s } if *s == session_id),
        )
        .await;
    let took = ms(asked.elapsed());
    viewer
        .send(&ViewerToServer::SessionEnd(
            meshdesk_protocol::signal::SessionEndMsg::new(
                session_id,
                meshdesk_protocol::signal::EndReason::ViewerClosed,
            ),
        ))
        .await;
    host.wait_for("end", |m| matches!(m, ServerToHost::SessionEnd(_)))
        .await;
    Ok(took)
}

/// Kill A while it holds every host; each comes back on B.
async fn storm_phase(
    a: &mut Server,
    b: &Server,
    mut hosts: JoinSet<()>,
    devices: &[TestDevice],
    pid_b: u32,
) -> Result<Value> {
    let n = devices.len();
    let rss_before = rss_bytes(pid_b)?;
    eprintln!("reconnect storm: killing node A with {n} hosts...");
    let killed = Instant::now();
    a.kill();
    // Their connections end with A.
    while hosts.join_next().await.is_some() {}
    // Every host at once, as a node's restart drops them all.
    let mut back =
        stream::iter(devices.iter().map(|d| reconnect(b, d, killed))).buffer_unordered(n);
    let mut took = Vec::new();
    let mut peak = rss_before;
    let deadline = tokio::time::Instant::now() + STORM_TIMEOUT;
    let mut kept = JoinSet::new();
    let mut sample = tokio::time::interval(Duration::from_millis(100));
    while took.len() < n {
        tokio::select! {
            done = back.next() => {
                let (o, secs) = done.context("hosts missing")??;
                took.push(secs * 1000.0);
                kept.spawn(keep_alive(o));
            }
            _ = sample.tick() => peak = peak.max(rss_bytes(pid_b)?),
            _ = tokio::time::sleep_until(deadline) => bail!("only {} of {n} hosts back", took.len()),
        }
    }
    drop(back);
    let all_secs = killed.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss_bytes(pid_b)?;
    kept.abort_all();
    eprintln!("all {n} hosts back on B in {all_secs:.1} s");
    Ok(json!({
        "hosts": n,
        "method": "SIGKILL of node A; each host waits a random 0-1 s (the jitter of a reconnect), then connects to node B",
        "all_back_seconds": round(all_secs, 2),
        "per_host_back_ms": stats(&mut took),
        "node_b_rss_before_bytes": rss_before,
        "node_b_rss_peak_bytes": peak,
        "node_b_rss_after_bytes": rss_after,
        "goal_seconds": GOAL_STORM_SECS,
        "meets_goal": all_secs <= GOAL_STORM_SECS,
    }))
}

/// A host of the storm: a random wait, then connect to `b`; returns the
/// connection and the seconds from the kill to its welcome.
async fn reconnect(b: &Server, d: &TestDevice, killed: Instant) -> Result<(Online, f64)> {
    tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 1000)).await;
    let o = go_online(b, d).await?;
    Ok((o, killed.elapsed().as_secs_f64()))
}
