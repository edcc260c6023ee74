//! TURN over TCP (RFC 5766 §2.1): the client reaches the relay over TCP,
//! framing STUN messages and padded ChannelData back to back; the relayed
//! side stays UDP. One task per connection; closing the connection deletes
//! its allocation.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use super::core::ClientKey;
use super::Shared;
use meshdesk_protocol::turn_tcp::first_frame;

/// Frames queued for one connection before further ones are dropped.
const QUEUE: usize = 256;
/// A connection silent this long is closed. Clients with an allocation
/// refresh it well within its lifetime, so only idle ones hit this.
const IDLE: Duration = Duration::from_secs(660);
/// Largest frame: a STUN header plus a 16-bit length.
const MAX_FRAME: usize = 20 + 65_535;

/// Accept connections until aborted; connection tasks are owned by the
/// set, so aborting this aborts them. At most `max_conns` at once.
pub async fn serve(shared: Arc<Shared>, listener: TcpListener, max_conns: usize) {
    let limit = Arc::new(Semaphore::new(max_conns));
    let next_conn = AtomicU64::new(1);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, addr) = match accepted {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::debug!(error = %e, "relay TCP accept failed");
                        tokio::task::yield_now().await;
                        continue;
                    }
                };
                let Ok(permit) = limit.clone().try_acquire_owned() else {
                    tracing::warn!(client = %addr, "too many relay TCP connections; refused");
                    continue;
                };
                let conn = next_conn.fetch_add(1, Ordering::Relaxed);
                let shared = shared.clone();
                conns.spawn(async move {
                    let _permit = permit;
                    connection(shared, stream, conn, addr).await;
                });
            }
        }
    }
}

/// One client connection: register its sender, run, then clean up.
async fn connection(shared: Arc<Shared>, stream: TcpStream, conn: u64, addr: SocketAddr) {
    let client = ClientKey::Tcp { conn, addr };
    let (tx, rx) = mpsc::channel(QUEUE);
    shared.tcp_conns().insert(conn, tx);
    if let Err(e) = run(&shared, stream, client, rx).await {
        tracing::debug!(client = %addr, error = %e, "relay TCP connection ended");
    }
    shared.tcp_conns().remove(&conn);
    shared.core().client_gone(client);
}

async fn run(
    shared: &Arc<Shared>,
    mut stream: TcpStream,
    client: ClientKey,
    mut rx: mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.split();
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut out = Vec::new();
    loop {
        tokio::select! {
            biased;
            frame = rx.recv() => {
                let Some(frame) = frame else { return Ok(()) };
                writer.write_all(&frame).await?;
            }
            read = tokio::time::timeout(IDLE, reader.read(&mut chunk)) => {
                let n = read.map_err(|_| std::io::ErrorKind::TimedOut)??;
                if n == 0 {
                    return Ok(());
                }
                buf.extend_from_slice(&chunk[..n]);
                while let Some(f) = first_frame(&buf).map_err(|e| invalid(e.to_string()))? {
                    shared.core().handle_client(Shared::now(), client, &buf[..f.stream_len], &mut out);
                    shared.dispatch(&mut out);
                    buf.drain(..f.stream_len);
                }
                if buf.len() > MAX_FRAME {
                    return Err(invalid("frame too long".into()));
                }
            }
        }
    }
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}
