//! The load generator of the scale benchmarks (`scripts/bench signaling`,
//! `scripts/bench cluster`): many simulated hosts and viewers speaking the
//! real protocol to real `meshdesk-signaling` processes, and the figures
//! they report (percentiles, resident memory, the machine).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context, Result};
use futures_util::{stream, SinkExt, StreamExt};
use meshdesk_protocol::decode;
use meshdesk_protocol::signal::{HostToServer, ServerToHost, ServerToViewer};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::{Api, HostConn, Server, TestDevice, ViewerConn};

/// Connections opened (or devices enrolled) at the same time.
pub const PARALLEL: usize = 64;
/// Longest wait for any one phase step (all viewers told, all devices online).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
pub const GIB: f64 = (1u64 << 30) as f64;

/// Read `--NAME N` pairs into the counts `slots` name (each above 0);
/// `usage` is shown for an unknown flag.
pub fn parse_counts(
    mut it: impl Iterator<Item = String>,
    slots: &mut [(&str, &mut usize)],
    usage: &str,
) -> Result<()> {
    while let Some(flag) = it.next() {
        let Some((_, slot)) = slots.iter_mut().find(|(name, _)| *name == flag) else {
            bail!("unknown argument `{flag}`; usage: {usage}");
        };
        let v = it
            .next()
            .with_context(|| format!("{flag} needs a number"))?;
        **slot = v
            .parse()
            .with_context(|| format!("{flag}: `{v}` is not a number"))?;
        ensure!(**slot > 0, "{flag} must be greater than 0");
    }
    Ok(())
}

/// Create `n` devices for `owner`, one enrollment code each.
pub async fn enroll(api: &Api, owner: &str, n: usize) -> Vec<TestDevice> {
    stream::iter(0..n)
        .map(|i| async move {
            let code = api.code(owner).await;
            TestDevice::enroll(api, &code, &format!("bench-{i}")).await
        })
        .buffer_unordered(PARALLEL / 4)
        .collect()
        .await
}

/// A host that completed the handshake.
#[derive(Debug)]
pub struct Online {
    pub conn: HostConn,
    pub heartbeat: Duration,
    /// Just before `auth` went out.
    pub auth_sent: Instant,
    /// When `welcome` arrived.
    pub welcomed: Instant,
}

/// Open a host socket, answer the challenge and wait for `welcome`.
pub async fn go_online(server: &Server, dev: &TestDevice) -> Result<Online> {
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
pub async fn keep_alive(o: Online) {
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
pub async fn wait_all_online(api: &Api, owner: &str, n: usize) -> Result<()> {
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
pub type Seen = (bool, Instant);

/// Report every presence change of `device_id` this viewer receives.
pub async fn watch(mut v: ViewerConn, device_id: String, tx: mpsc::UnboundedSender<Seen>) {
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
pub async fn collect(
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

pub fn stats(v: &mut [f64]) -> Value {
    json!({
        "p50": round(percentile(v, 0.50), 2),
        "p90": round(percentile(v, 0.90), 2),
        "p99": round(percentile(v, 0.99), 2),
        "max": round(percentile(v, 1.0), 2),
    })
}

/// Nearest-rank percentile.
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// `VmRSS` of a process, in bytes.
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).context("read /proc/PID/status")?;
    proc_field_kib(&status, "VmRSS:")
        .map(|k| k * 1024)
        .context("no VmRSS")
}

pub fn proc_field_kib(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// The soft `RLIMIT_NOFILE` of this process.
pub fn open_file_limit() -> Result<u64> {
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

pub fn machine(load_at_start: &str) -> Value {
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
pub fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Today as `YYYY-MM-DD` (UTC), from the days since 1970 (H. Hinnant's
/// civil-from-days).
pub fn utc_date() -> String {
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
