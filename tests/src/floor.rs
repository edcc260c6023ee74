//! The machine's own floor for fan-out: how long it takes to deliver one
//! small message to each of N loopback TCP sockets with no server at all,
//! measured the same way `bench signaling` measures the real server (the
//! same runtime, one reader task per socket, the last reader's clock).
//!
//! On loopback the sender's `write` also runs the receiver's TCP path, so
//! this is the cost a server pays per watcher before any code of its own
//! runs; the benchmark reports the server's figure over this one.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// About the size of a `presence` message with its feed entry.
const MESSAGE: [u8; 400] = [b'x'; 400];
/// Longest wait for every reader to get one round.
const ROUND_TIMEOUT: Duration = Duration::from_secs(30);

/// Per round: from the first `write` until the last reader has its bytes,
/// in milliseconds, with the writes spread over `writers` threads.
pub async fn last_delivery_ms(sockets: usize, rounds: usize, writers: usize) -> Result<Vec<f64>> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind")?;
    let addr = listener.local_addr()?;
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    let mut readers = JoinSet::new();
    let mut sending = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        let client = tokio::net::TcpStream::connect(addr).await?;
        let (server, _) = listener.accept()?;
        server.set_nodelay(true)?;
        sending.push(server);
        readers.spawn(read_rounds(client, seen_tx.clone()));
    }
    let per_writer = sockets.div_ceil(writers.max(1));
    let mut groups = Vec::new();
    while !sending.is_empty() {
        let rest = sending.split_off(per_writer.min(sending.len()));
        groups.push(Writer::spawn(std::mem::replace(&mut sending, rest)));
    }
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        for g in &groups {
            g.go.send(()).context("writer gone")?;
        }
        let deadline = tokio::time::Instant::now() + ROUND_TIMEOUT;
        let mut last = start;
        for got in 0..sockets {
            match tokio::time::timeout_at(deadline, seen_rx.recv()).await {
                Ok(Some(at)) => last = last.max(at),
                Ok(None) => bail!("readers gone"),
                Err(_) => bail!("only {got} of {sockets} sockets got the round"),
            }
        }
        for g in &groups {
            g.done.recv().context("writer gone")??;
        }
        out.push((last - start).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    readers.abort_all();
    Ok(out)
}

async fn read_rounds(mut s: tokio::net::TcpStream, seen: mpsc::UnboundedSender<Instant>) {
    let mut buf = [0u8; 4096];
    let mut have = 0;
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
        while have >= MESSAGE.len() {
            have -= MESSAGE.len();
            if seen.send(Instant::now()).is_err() {
                return;
            }
        }
    }
}

/// A thread that writes one message to each of its sockets on every `go`.
struct Writer {
    go: std_mpsc::Sender<()>,
    done: std_mpsc::Receiver<std::io::Result<()>>,
}

impl Writer {
    fn spawn(mut sockets: Vec<TcpStream>) -> Writer {
        let (go, go_rx) = std_mpsc::channel::<()>();
        let (done_tx, done) = std_mpsc::channel();
        thread::spawn(move || {
            for () in go_rx {
                let r = sockets.iter_mut().try_for_each(|s| s.write_all(&MESSAGE));
                if done_tx.send(r).is_err() {
                    return;
                }
            }
        });
        Writer { go, done }
    }
}
