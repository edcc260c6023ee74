//! One allocation (RFC 5766 §5): the relayed address a client holds, the
//! peers it may exchange data with (permissions), its channel bindings,
//! when each expires, and its bandwidth budget.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::bucket::TokenBucket;
use super::client::ClientKey;
use super::credentials::IntegrityKey;
use super::wire::TransactionId;

/// Permissions last 5 minutes unless refreshed (RFC 5766 §8).
pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// Channel bindings last 10 minutes unless refreshed (§11).
pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// Allocation lifetime when the client asks for none or less (§6.2).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);
/// The longest lifetime granted; clients refresh before it ends.
pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);
/// Bounds on per-allocation tables, so one client cannot grow them at will.
pub const MAX_PERMISSIONS: usize = 128;
pub const MAX_CHANNELS: usize = 128;

/// A server-local allocation id (not on the wire).
pub type AllocId = u64;

/// Whether the relayed socket exists yet.
#[derive(Debug)]
pub enum Relayed<S> {
    /// The driver is opening the socket; `tx` and `fingerprint` describe
    /// the Allocate request to answer when it is open.
    Pending {
        tx: TransactionId,
        fingerprint: bool,
    },
    /// Open: the driver's socket handle and the advertised address.
    Open { socket: S, addr: SocketAddr },
}

/// Why a channel could not be bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindError {
    /// The number is bound to another peer, or the peer to another number.
    Conflict,
    /// [`MAX_CHANNELS`] reached.
    Full,
}

/// A client's allocation.
#[derive(Debug)]
pub struct Allocation<S> {
    pub id: AllocId,
    /// The client's transport address (the 5-tuple's client half).
    pub client: ClientKey,
    /// The USERNAME it authenticated with; later requests must match it.
    pub username: String,
    /// The credential id (session or user) its quota is counted against.
    pub user: String,
    /// MESSAGE-INTEGRITY key for replies.
    pub key: IntegrityKey,
    pub relay: Relayed<S>,
    /// When it is deleted unless refreshed.
    pub expires: Instant,
    /// The Allocate transaction and its success response, so a
    /// retransmitted Allocate gets the same answer (§6.2).
    pub allocate_tx: TransactionId,
    pub allocate_response: Option<Vec<u8>>,
    /// Peer IP → expiry.
    permissions: HashMap<IpAddr, Instant>,
    /// Channel number → (peer, expiry).
    channels: HashMap<u16, (SocketAddr, Instant)>,
    /// Bytes per second this allocation may relay (both directions).
    pub bucket: TokenBucket,
    /// Its tracing span, entered for everything logged about it.
    pub span: tracing::Span,
}

impl<S> Allocation<S> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: AllocId,
        client: ClientKey,
        username: String,
        user: String,
        key: IntegrityKey,
        tx: TransactionId,
        fingerprint: bool,
        expires: Instant,
        bucket: TokenBucket,
    ) -> Allocation<S> {
        let span = tracing::info_span!(
            "allocation",
            id,
            user = %user,
            client = %client.addr(),
            transport = client.transport(),
        );
        Allocation {
            id,
            client,
            username,
            user,
            key,
            relay: Relayed::Pending { tx, fingerprint },
            expires,
            allocate_tx: tx,
            allocate_response: None,
            permissions: HashMap::new(),
            channels: HashMap::new(),
            bucket,
            span,
        }
    }

    /// The open socket and relayed address, if open.
    pub fn open(&self) -> Option<(&S, SocketAddr)> {
        match &self.relay {
            Relayed::Open { socket, addr } => Some((socket, *addr)),
            Relayed::Pending { .. } => None,
        }
    }

    /// Install or refresh a permission; false when the table is full.
    pub fn permit(&mut self, ip: IpAddr, now: Instant) -> bool {
        let ip = ip.to_canonical();
        if !self.permissions.contains_key(&ip) && self.permissions.len() >= MAX_PERMISSIONS {
            self.prune(now);
            if self.permissions.len() >= MAX_PERMISSIONS {
                return false;
            }
        }
        self.permissions.insert(ip, now + PERMISSION_LIFETIME);
        true
    }

    /// Install or refresh permissions for all of `ips`, or for none of
    /// them when they do not all fit (CreatePermission is all or nothing).
    pub fn permit_all(&mut self, ips: &[IpAddr], now: Instant) -> bool {
        self.prune(now);
        let mut new: Vec<IpAddr> = ips
            .iter()
            .map(|ip| ip.to_canonical())
            .filter(|ip| !self.permissions.contains_key(ip))
            .collect();
        new.sort();
        new.dedup();
        if self.permissions.len() + new.len() > MAX_PERMISSIONS {
            return false;
        }
        for ip in ips {
            self.permissions
                .insert(ip.to_canonical(), now + PERMISSION_LIFETIME);
        }
        true
    }

    /// Whether data may flow to and from `ip` now.
    pub fn permits(&self, ip: IpAddr, now: Instant) -> bool {
        self.permissions
            .get(&ip.to_canonical())
            .is_some_and(|exp| *exp > now)
    }

    /// Bind or refresh channel `number` to `peer` (and refresh its
    /// permission, §11.2).
    pub fn bind_channel(
        &mut self,
        number: u16,
        peer: SocketAddr,
        now: Instant,
    ) -> Result<(), BindError> {
        self.prune(now);
        match self.channels.get(&number) {
            Some((p, _)) if *p != peer => return Err(BindError::Conflict),
            Some(_) => {}
            None => {
                if self.channel_for(peer, now).is_some() {
                    return Err(BindError::Conflict);
                }
                if self.channels.len() >= MAX_CHANNELS {
                    return Err(BindError::Full);
                }
            }
        }
        if !self.permit(peer.ip(), now) {
            return Err(BindError::Full);
        }
        self.channels.insert(number, (peer, now + CHANNEL_LIFETIME));
        Ok(())
    }

    /// The peer bound to `number`, if bound now.
    pub fn channel_peer(&self, number: u16, now: Instant) -> Option<SocketAddr> {
        self.channels
            .get(&number)
            .filter(|(_, exp)| *exp > now)
            .map(|(p, _)| *p)
    }

    /// The channel bound to `peer`, if any.
    pub fn channel_for(&self, peer: SocketAddr, now: Instant) -> Option<u16> {
        self.channels
            .iter()
            .find(|(_, (p, exp))| *p == peer && *exp > now)
            .map(|(n, _)| *n)
    }

    /// Drop expired permissions and channels.
    pub fn prune(&mut self, now: Instant) {
        self.permissions.retain(|_, exp| *exp > now);
        self.channels.retain(|_, (_, exp)| *exp > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(now: Instant) -> Allocation<()> {
        Allocation::new(
            1,
            ClientKey::Udp("203.0.113.1:5000".parse().expect("addr")),
            "1:u".into(),
            "u".into(),
            IntegrityKey([0; 16]),
            [0; 12],
            false,
            now + DEFAULT_LIFETIME,
            TokenBucket::new(0, now),
        )
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("addr")
    }

    #[test]
    fn permissions_expire_and_match_by_ip() {
        let t0 = Instant::now();
        let mut a = alloc(t0);
        let peer = addr("198.51.100.7:4000");
        assert!(!a.permits(peer.ip(), t0));
        assert!(a.permit(peer.ip(), t0));
        assert!(a.permits("198.51.100.7".parse().expect("ip"), t0));
        assert!(a.permits("::ffff:198.51.100.7".parse().expect("ip"), t0));
        assert!(!a.permits(peer.ip(), t0 + PERMISSION_LIFETIME));
    }

    #[test]
    fn channels_bind_one_to_one() {
        let t0 = Instant::now();
        let mut a = alloc(t0);
        let (p1, p2) = (addr("198.51.100.7:4000"), addr("198.51.100.7:4001"));
        assert_eq!(a.bind_channel(0x4000, p1, t0), Ok(()));
        assert_eq!(a.bind_channel(0x4000, p1, t0), Ok(()), "refresh");
        assert_eq!(a.bind_channel(0x4000, p2, t0), Err(BindError::Conflict));
        assert_eq!(a.bind_channel(0x4001, p1, t0), Err(BindError::Conflict));
        assert_eq!(a.bind_channel(0x4001, p2, t0), Ok(()));
        assert_eq!(a.channel_peer(0x4000, t0), Some(p1));
        assert_eq!(a.channel_for(p2, t0), Some(0x4001));
        assert!(a.permits(p1.ip(), t0), "binding installs a permission");
        let later = t0 + CHANNEL_LIFETIME;
        assert_eq!(a.channel_peer(0x4000, later), None);
        assert_eq!(
            a.bind_channel(0x4000, p2, later + Duration::from_secs(1)),
            Ok(())
        );
    }

    #[test]
    fn tables_are_bounded() {
        let t0 = Instant::now();
        let mut a = alloc(t0);
        for i in 0..MAX_PERMISSIONS {
            assert!(a.permit(
                IpAddr::from([198, 51, (i / 256) as u8, (i % 256) as u8]),
                t0
            ));
        }
        assert!(!a.permit("203.0.113.200".parse().expect("ip"), t0));
        assert!(a.permit(
            "203.0.113.200".parse().expect("ip"),
            t0 + PERMISSION_LIFETIME
        ));
    }
}
