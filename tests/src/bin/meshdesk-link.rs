//! The delay and loss stage of a shaped link (`meshdesk_tests::shaped`),
//! for kernels without `netem` (this machine's has only `tbf`, `htb` and
//! the FIFOs). It runs in the link's namespace, owns a TUN device that
//! policy routing sends every forwarded packet through, and writes each
//! packet back after the link's one-way delay; uplink packets (those not
//! addressed to the site's network) are also dropped at the link's loss
//! rate. The kernel then routes them on, through `tbf` for the rate.
//!
//! `meshdesk-link --dev NAME --site NET/PREFIX --delay-ms D [--loss-pct L]`
//!
//! Prints `ready` once the device exists (the caller brings it up and
//! routes through it). Runs until killed.

use std::collections::VecDeque;
use std::io::Write;
use std::net::Ipv4Addr;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

struct Args {
    dev: String,
    /// The site's network: packets to it go down the link.
    site: (Ipv4Addr, u8),
    delay: Duration,
    loss_pct: f64,
}

fn parse_args() -> Result<Args> {
    let (mut dev, mut site, mut delay, mut loss_pct) = (None, None, None, 0.0);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--dev" => dev = Some(value),
            "--site" => {
                let (net, prefix) = value.split_once('/').context("--site is NET/PREFIX")?;
                site = Some((net.parse()?, prefix.parse()?));
            }
            "--delay-ms" => delay = Some(Duration::from_millis(value.parse()?)),
            "--loss-pct" => loss_pct = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    if !(0.0..100.0).contains(&loss_pct) {
        bail!("--loss-pct must be 0 to under 100");
    }
    Ok(Args {
        dev: dev.context("--dev is required")?,
        site: site.context("--site is required")?,
        delay: delay.context("--delay-ms is required")?,
        loss_pct,
    })
}

/// Whether an IPv4 packet is addressed into `site`.
fn downlink(packet: &[u8], (net, prefix): (Ipv4Addr, u8)) -> bool {
    let Some(dst) = packet.get(16..20) else {
        return false;
    };
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    let dst = u32::from_be_bytes([dst[0], dst[1], dst[2], dst[3]]);
    dst & mask == u32::from(net) & mask
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let dev = Arc::new(
        tun_rs::DeviceBuilder::new()
            .name(&args.dev)
            .mtu(1500)
            .build_sync()
            .context("create the TUN device")?,
    );
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let reader = Arc::clone(&dev);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65_536];
        while let Ok(n) = reader.recv(&mut buf) {
            if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                return;
            }
        }
    });
    println!("ready");
    std::io::stdout().flush()?;

    // One queue per direction; the delay is constant, so each stays in
    // order and only its front can be due.
    let mut queues: [VecDeque<(Instant, Vec<u8>)>; 2] = [VecDeque::new(), VecDeque::new()];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    loop {
        let next = queues.iter().filter_map(|q| q.front().map(|p| p.0)).min();
        let wait = next.map(|at| at.saturating_duration_since(Instant::now()));
        let got = match wait {
            Some(wait) => match rx.recv_timeout(wait) {
                Ok(got) => Some(got),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            },
            None => match rx.recv() {
                Ok(got) => Some(got),
                Err(_) => return Ok(()),
            },
        };
        if let Some((at, packet)) = got {
            let down = downlink(&packet, args.site);
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let lost = !down && (seed % 1_000_000) as f64 / 10_000.0 < args.loss_pct;
            if !lost {
                queues[usize::from(down)].push_back((at + args.delay, packet));
            }
        }
        let now = Instant::now();
        for queue in &mut queues {
            while queue.front().is_some_and(|p| p.0 <= now) {
                if let Some((_, packet)) = queue.pop_front() {
                    // A full device queue drops, as a link would.
                    let _ = dev.send(&packet);
                }
            }
        }
    }
}
