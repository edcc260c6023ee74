//! A man in the middle between viewers and the server, for the tests of
//! "Verifying the remote PC" (not a mode of the product): a TCP proxy that
//! passes the viewers' HTTP and WebSocket traffic through, and rewrites
//! what the server sends them, as a malicious server would:
//! - [`Rewrite::Fingerprint`]: the DTLS fingerprint in the host's SDP
//!   offers (every hex digit changed), so the viewer would talk DTLS with
//!   someone else's certificate;
//! - [`Rewrite::DeviceKey`]: every `public_key` in the device list, so the
//!   viewer would check the binding with the attacker's key (and the
//!   `device_public_key` of `session_created`, which the browser uses).
//!
//! Rewrites keep the length of what they change, so HTTP lengths and
//! WebSocket frames stay valid (the server's frames are neither masked nor
//! compressed). A message split across two reads is not rewritten; the
//! count of rewrites lets a test check that its rewrite happened.
//!
//! It runs on its own thread and runtime; stopped on drop.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy changes in the server's replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rewrite {
    /// Nothing: an honest path.
    Honest,
    /// The `a=fingerprint:sha-256` value of every SDP.
    Fingerprint,
    /// Every `"public_key":"..."` value, with this key (standard base64
    /// of 32 bytes, 44 characters, like the real ones).
    DeviceKey(String),
}

const FINGERPRINT: &[u8] = b"a=fingerprint:sha-256 ";
/// Matches `public_key` and `device_public_key` (in `session_created`).
const KEY_FIELD: &[u8] = b"public_key\":\"";

/// Rewrite `buf` in place; returns how many values were changed.
pub fn rewrite(buf: &mut [u8], how: &Rewrite) -> usize {
    match how {
        Rewrite::Honest => 0,
        Rewrite::Fingerprint => each_after(buf, FINGERPRINT, |value| {
            for b in value
                .iter_mut()
                .take_while(|b| b.is_ascii_hexdigit() || **b == b':')
            {
                *b = match *b {
                    b':' => b':',
                    b'9' => b'A',
                    b'F' | b'f' => b'0',
                    other => other + 1,
                };
            }
        }),
        Rewrite::DeviceKey(key) => each_after(buf, KEY_FIELD, |value| {
            if value.len() >= key.len() && value.get(key.len()) == Some(&b'"') {
                value[..key.len()].copy_from_slice(key.as_bytes());
            }
        }),
    }
}

/// Call `change` with the bytes after every occurrence of `marker`.
fn each_after(buf: &mut [u8], marker: &[u8], mut change: impl FnMut(&mut [u8])) -> usize {
    let mut count = 0;
    let mut at = 0;
    while let Some(i) = find(&buf[at..], marker) {
        let start = at + i + marker.len();
        change(&mut buf[start..]);
        count += 1;
        at = start;
    }
    count
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A running man in the middle.
#[derive(Debug)]
pub struct Mitm {
    /// Where viewers connect.
    pub addr: SocketAddr,
    how: Arc<Mutex<Rewrite>>,
    rewrites: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Mitm {
    /// Listen on 127.0.0.1 (port 0) and forward to `upstream`, honestly
    /// until [`Mitm::set`] says otherwise.
    pub fn start(upstream: SocketAddr) -> Mitm {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind mitm");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("mitm address");
        let how = Arc::new(Mutex::new(Rewrite::Honest));
        let rewrites = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = watch::channel(false);
        let shared = (Arc::clone(&how), Arc::clone(&rewrites));
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("mitm runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("mitm listener");
                serve(listener, upstream, shared, stopped).await;
            });
        });
        Mitm {
            addr,
            how,
            rewrites,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What to rewrite from now on (connections already open included).
    pub fn set(&self, how: Rewrite) {
        *self.how.lock().unwrap_or_else(|p| p.into_inner()) = how;
    }

    /// Values rewritten so far.
    pub fn rewrites(&self) -> usize {
        self.rewrites.load(Ordering::SeqCst)
    }
}

impl Drop for Mitm {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Shared = (Arc<Mutex<Rewrite>>, Arc<AtomicUsize>);

async fn serve(
    listener: TcpListener,
    upstream: SocketAddr,
    shared: Shared,
    mut stopped: watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let shared = (Arc::clone(&shared.0), Arc::clone(&shared.1));
                conns.spawn(relay(client, upstream, shared));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn relay(client: TcpStream, upstream: SocketAddr, shared: Shared) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut client_rx, &mut server_tx).await;
        let _ = server_tx.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match server_rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let how = shared.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let changed = rewrite(&mut buf[..n], &how);
            shared.1.fetch_add(changed, Ordering::SeqCst);
            if client_tx.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_tx.shutdown().await;
    };
    tokio::join!(up, down);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_change_and_keep_their_length() {
        let mut sdp = b"v=0\\r\\na=fingerprint:sha-256 AB:9F:01\\r\\n".to_vec();
        let len = sdp.len();
        assert_eq!(rewrite(&mut sdp, &Rewrite::Fingerprint), 1);
        assert_eq!(sdp.len(), len);
        assert!(String::from_utf8_lossy(&sdp).contains("sha-256 BC:A0:12\\r\\n"));
    }

    #[test]
    fn device_keys_are_replaced() {
        let key = "B".repeat(44);
        let mut body =
            format!("[{{\"id\":\"d\",\"public_key\":\"{}\"}}]", "A".repeat(44)).into_bytes();
        assert_eq!(rewrite(&mut body, &Rewrite::DeviceKey(key.clone())), 1);
        assert!(String::from_utf8_lossy(&body).contains(&key));
        assert_eq!(rewrite(&mut body, &Rewrite::Honest), 0);
    }
}
