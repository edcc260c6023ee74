//! Noticing that this machine lost a local address (a Wi-Fi handover, a new
//! DHCP lease, a VPN going down), from the kernel's own notifications: a
//! Linux netlink route socket subscribed to IPv4 and IPv6 address changes.
//!
//! Every socket bound to a removed address is dead, the signaling
//! connection and the sessions' ICE sockets alike, but ICE only notices
//! after its 5 s disconnected timeout and the signaling connection later
//! still. With this the host agent and the viewer reconnect their
//! signaling at once, and the host restarts ICE as soon as it is back, so
//! a network change costs about a second.
//!
//! [`deletes_address`] is the pure part (which netlink messages matter);
//! [`AddressWatch`] is the socket around it.

use std::io;
use std::os::fd::OwnedFd;

use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, RecvFlags, SocketFlags, SocketType};
use tokio::io::unix::AsyncFd;

/// Netlink multicast groups: IPv4 and IPv6 address changes.
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
/// The message type of a removed address.
const RTM_DELADDR: u16 = 21;
/// `struct nlmsghdr`: length (u32), type (u16), flags (u16), sequence
/// (u32), port id (u32), in host byte order.
const NLMSG_HEADER: usize = 16;

/// Whether a netlink datagram reports a removed address: any of its
/// messages is `RTM_DELADDR`. Truncated or malformed input is not.
pub fn deletes_address(datagram: &[u8]) -> bool {
    let mut rest = datagram;
    while rest.len() >= NLMSG_HEADER {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        if len < NLMSG_HEADER || len > rest.len() {
            return false;
        }
        if kind == RTM_DELADDR {
            return true;
        }
        // Messages are padded to 4 bytes.
        rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
    }
    false
}

/// A netlink socket that wakes when a local address goes away.
#[derive(Debug)]
pub struct AddressWatch {
    fd: AsyncFd<OwnedFd>,
    /// One datagram; address notifications are a few hundred bytes.
    buf: Vec<u8>,
}

impl AddressWatch {
    /// Subscribe to this network namespace's address changes.
    pub fn open() -> io::Result<AddressWatch> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            // NETLINK_ROUTE is protocol 0, the default.
            None,
        )?;
        rustix::net::bind(
            &fd,
            &SocketAddrNetlink::new(0, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR),
        )?;
        // SAFETY: the AsyncFd owns the OwnedFd for its whole life, so the
        // descriptor stays open and `as_raw_fd` always returns the same one.
        #[allow(unsafe_code)]
        let fd = unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)?;
        Ok(AddressWatch {
            fd,
            buf: vec![0u8; 16 * 1024],
        })
    }

    /// Wait until a local address is removed (additions are ignored: they
    /// break nothing).
    pub async fn removed(&mut self) -> io::Result<()> {
        loop {
            let mut ready = self.fd.readable().await?;
            let buf = &mut self.buf;
            match ready.try_io(|fd| {
                rustix::net::recv(fd.get_ref(), &mut buf[..], RecvFlags::empty())
                    .map(|(n, _)| n)
                    .map_err(io::Error::from)
            }) {
                Ok(Ok(n)) if deletes_address(&self.buf[..n]) => return Ok(()),
                Ok(Ok(_)) => {}
                // ENOBUFS: notifications were lost while nobody read; some
                // may have been removals, so assume one was.
                Ok(Err(e))
                    if e.raw_os_error() == Some(rustix::io::Errno::NOBUFS.raw_os_error()) =>
                {
                    return Ok(())
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
    }
}

/// The next removed address from `watch`; never, without one (a machine
/// without netlink falls back to ICE's timeout and signaling probes).
pub async fn removed_or_never(watch: &mut Option<AddressWatch>) -> io::Result<()> {
    match watch {
        Some(w) => w.removed().await,
        None => std::future::pending().await,
    }
}

/// A watch, or `None` with a warning when the kernel will not give one.
pub fn open_or_warn() -> Option<AddressWatch> {
    AddressWatch::open()
        .inspect_err(|e| tracing::warn!(error = %e, "cannot watch local addresses"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, body: usize) -> Vec<u8> {
        let len = NLMSG_HEADER + body;
        let mut m = Vec::new();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0u8; 10]);
        m.resize(len, 0xAA);
        m.resize((len + 3) & !3, 0);
        m
    }

    #[test]
    fn a_removed_address_anywhere_in_the_datagram_counts() {
        const RTM_NEWADDR: u16 = 20;
        assert!(deletes_address(&message(RTM_DELADDR, 40)));
        assert!(!deletes_address(&message(RTM_NEWADDR, 40)));
        let mut both = message(RTM_NEWADDR, 41);
        both.extend(message(RTM_DELADDR, 40));
        assert!(deletes_address(&both), "second message, after padding");
    }

    #[test]
    fn malformed_datagrams_are_not_removals() {
        assert!(!deletes_address(&[]));
        assert!(!deletes_address(&message(RTM_DELADDR, 40)[..10]));
        let mut lying = message(RTM_DELADDR, 4);
        lying[0..4].copy_from_slice(&(1000u32).to_ne_bytes());
        assert!(!deletes_address(&lying), "length beyond the datagram");
        let mut short = message(RTM_DELADDR, 4);
        short[0..4].copy_from_slice(&(8u32).to_ne_bytes());
        assert!(!deletes_address(&short), "length under the header");
    }
}
