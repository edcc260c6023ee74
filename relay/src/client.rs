//! Who a relay client is: the transport address a request came from, and
//! for TCP which connection carried it.

use std::net::SocketAddr;

/// Where a client is: its transport address, and for TCP which connection
/// (the 5-tuple that identifies an allocation, RFC 5766 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    Udp(SocketAddr),
    Tcp { conn: u64, addr: SocketAddr },
}

impl ClientKey {
    pub fn addr(&self) -> SocketAddr {
        match self {
            ClientKey::Udp(a) | ClientKey::Tcp { addr: a, .. } => *a,
        }
    }

    pub fn transport(&self) -> &'static str {
        match self {
            ClientKey::Udp(_) => "udp",
            ClientKey::Tcp { .. } => "tcp",
        }
    }
}
