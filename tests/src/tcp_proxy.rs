//! A TCP proxy in front of the server that a test can cut, as a proxy reset
//! would: every connection open through it is closed at once (both ends),
//! while new connections go through as before. Or freeze, as a network
//! change would: open connections stay open at both ends but nothing
//! passes any more (half-open), while new connections go through.
//!
//! It runs on its own thread and runtime, so tests that block their own
//! thread (waiting on processes) do not stall it. Stopped on drop.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What the test tells the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Control {
    /// Connections accepted before the latest cut are closed.
    cuts: u64,
    /// Connections accepted before the latest freeze stop forwarding.
    freezes: u64,
    stop: bool,
}

/// A running proxy.
#[derive(Debug)]
pub struct TcpProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    control: watch::Sender<Control>,
    /// Connections accepted so far.
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Listen on 127.0.0.1 (port 0) and forward to `upstream`.
    pub fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("proxy address");
        let (control, watch) = watch::channel(Control {
            cuts: 0,
            freezes: 0,
            stop: false,
        });
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("proxy listener");
                serve(listener, upstream, watch, counter).await;
            });
        });
        TcpProxy {
            addr,
            control,
            accepted,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Close every connection open through the proxy now.
    pub fn cut(&self) {
        self.control.send_modify(|c| c.cuts += 1);
    }

    /// Stop forwarding on every connection open now, without closing it.
    pub fn freeze(&self) {
        self.control.send_modify(|c| c.freezes += 1);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.control.send_modify(|c| c.stop = true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Accept and forward until told to stop; the join set owns every
/// connection's task and aborts them when it is dropped.
async fn serve(
    listener: TcpListener,
    upstream: SocketAddr,
    mut control: watch::Receiver<Control>,
    accepted: Arc<AtomicUsize>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = control.changed() => {
                if changed.is_err() || control.borrow().stop {
                    return;
                }
            }
            conn = listener.accept() => {
                let Ok((client, _)) = conn else { continue };
                accepted.fetch_add(1, Ordering::SeqCst);
                let generation = *control.borrow();
                connections.spawn(forward(client, upstream, control.clone(), generation));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// What ends forwarding on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    /// Close it (a cut, or the proxy stops).
    Close,
    /// Stop forwarding but keep it open.
    Freeze,
}

/// The next interrupt for a connection accepted at `born`.
async fn interrupt(control: &mut watch::Receiver<Control>, born: Control) -> Interrupt {
    loop {
        if control.changed().await.is_err() {
            return Interrupt::Close;
        }
        let c = *control.borrow();
        if c.stop || c.cuts > born.cuts {
            return Interrupt::Close;
        }
        if c.freezes > born.freezes {
            return Interrupt::Freeze;
        }
    }
}

/// One connection, until either side closes or a cut comes.
async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut control: watch::Receiver<Control>,
    born: Control,
) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let why = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => Interrupt::Close,
        why = interrupt(&mut control, born) => why,
    };
    if why == Interrupt::Freeze {
        // Both ends stay open and nothing passes until a cut or the end.
        while interrupt(&mut control, born).await != Interrupt::Close {}
    }
    // Dropping both streams closes them.
}
