//! A test's stand-in for systemd's notification socket: a unix datagram
//! socket the test binds and hands to a child as `NOTIFY_SOCKET`. A
//! thread reads every datagram and keeps each line with its arrival time.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::server::TempDir;

/// One line a child sent (`READY=1`, `WATCHDOG=1`, `STATUS=...`).
#[derive(Debug, Clone)]
pub struct Notice {
    /// When it arrived.
    pub at: Instant,
    /// The line, without its newline.
    pub line: String,
}

/// The bound socket and what arrived on it so far.
#[derive(Debug)]
pub struct NotifySocket {
    /// The socket's path, for `NOTIFY_SOCKET`.
    pub path: PathBuf,
    /// Lines from the reader thread.
    lines: mpsc::Receiver<Notice>,
    /// Every line taken from `lines`, in order.
    seen: Vec<Notice>,
    /// Holds the socket file.
    _dir: TempDir,
}

impl NotifySocket {
    /// Binds a fresh socket and starts reading it.
    pub fn bind() -> NotifySocket {
        let dir = TempDir::new("notify");
        let path = dir.0.join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        let (tx, lines) = mpsc::channel();
        // Ends when the test drops the receiver (the next datagram fails
        // to send) or the process exits.
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                let at = Instant::now();
                for line in String::from_utf8_lossy(&buf[..n]).lines() {
                    let notice = Notice {
                        at,
                        line: line.to_string(),
                    };
                    if tx.send(notice).is_err() {
                        return;
                    }
                }
            }
        });
        NotifySocket {
            path,
            lines,
            seen: Vec::new(),
            _dir: dir,
        }
    }

    /// `NOTIFY_SOCKET`'s value.
    pub fn env(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// Everything that arrived so far.
    pub fn seen(&mut self) -> &[Notice] {
        self.seen.extend(self.lines.try_iter());
        &self.seen
    }

    /// Waits for a line equal to `want` arriving after `after`; panics
    /// after `bound`.
    pub fn wait_for(&mut self, want: &str, after: Instant, bound: Duration) -> Notice {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(n) = self.seen().iter().find(|n| n.at > after && n.line == want) {
                return n.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {want} within {bound:?}: {:?}",
                self.seen
            );
            if let Ok(n) = self.lines.recv_timeout(left) {
                self.seen.push(n);
            }
        }
    }

    /// Arrival times of `want` lines between `from` and `to`.
    pub fn times(&mut self, want: &str, from: Instant, to: Instant) -> Vec<Instant> {
        self.seen()
            .iter()
            .filter(|n| n.line == want && n.at >= from && n.at <= to)
            .map(|n| n.at)
            .collect()
    }
}
