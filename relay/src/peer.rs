//! Relayed sockets: one UDP socket per allocation, bound on the relay's
//! IP (within `relay_port_range` if set), and the task that reads what
//! peers send to it and hands it to the core.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};

use rand::Rng;
use tokio::net::UdpSocket;
use tracing::Instrument;

use super::allocation::AllocId;
use super::Shared;
use meshdesk_tasks::AbortOnDrop;

/// The driver's handle to an allocation's relayed socket. The core holds
/// it inside the allocation; when the allocation goes, the last handle
/// drops and the reading task is aborted.
#[derive(Debug)]
pub struct RelaySocket {
    pub socket: Arc<UdpSocket>,
    _reader: AbortOnDrop,
}

/// Attempts at a random port within a configured range before giving up.
const PORT_ATTEMPTS: usize = 32;

/// Bind a UDP socket on `ip`, at a random free port of `range` or any
/// free port.
fn bind(ip: IpAddr, range: Option<(u16, u16)>) -> std::io::Result<std::net::UdpSocket> {
    let Some((lo, hi)) = range else {
        return std::net::UdpSocket::bind(SocketAddr::new(ip, 0));
    };
    let mut last = std::io::Error::new(std::io::ErrorKind::AddrInUse, "no free relay port");
    for _ in 0..PORT_ATTEMPTS {
        let port = rand::thread_rng().gen_range(lo..=hi);
        match std::net::UdpSocket::bind(SocketAddr::new(ip, port)) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Open the relayed socket for `alloc` and start reading it. `None` (and
/// a warning) when no port could be had.
pub fn open(
    shared: &Arc<Shared>,
    alloc: AllocId,
    span: tracing::Span,
) -> Option<(Arc<RelaySocket>, u16)> {
    let opened = bind(shared.bind_ip, shared.port_range).and_then(|s| {
        s.set_nonblocking(true)?;
        let port = s.local_addr()?.port();
        Ok((UdpSocket::from_std(s)?, port))
    });
    let (socket, port) = match opened {
        Ok(v) => v,
        Err(e) => {
            span.in_scope(|| tracing::warn!(error = %e, "cannot open a relayed socket"));
            return None;
        }
    };
    let socket = Arc::new(socket);
    let reader = AbortOnDrop::spawn(
        read_peers(Arc::downgrade(shared), alloc, socket.clone()).instrument(span),
    );
    Some((
        Arc::new(RelaySocket {
            socket,
            _reader: reader,
        }),
        port,
    ))
}

/// Feed every datagram from a peer to the core until aborted. Holds the
/// relay weakly so a stopped relay is not kept alive by its sockets.
async fn read_peers(shared: Weak<Shared>, alloc: AllocId, socket: Arc<UdpSocket>) {
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::new();
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "relayed socket read failed");
                tokio::task::yield_now().await;
                continue;
            }
        };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared
            .core()
            .handle_peer(Shared::now(), alloc, peer, &buf[..n], &mut out);
        shared.dispatch(&mut out);
    }
}
