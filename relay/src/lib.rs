//! The embedded STUN and TURN relay (RFC 5389 Binding; an RFC 5766 /
//! RFC 8656 subset: UDP relaying, reached over UDP or TCP), so one
//! `meshdesk-signaling` is a complete server for a small mesh.
//!
//! Credentials are time-limited in coturn's `use-auth-secret` scheme
//! ([`credentials`]), so the same secret serves this relay or coturn. The
//! relay refuses peers on loopback, private and link-local networks unless
//! allowed ([`policy`]), and enforces allocation quotas and bandwidth
//! ([`bucket`]).
//!
//! Layout: [`wire`] is the codec; [`core`] (with `auth`, `allocate`,
//! `permission`, `data`) is the pure state machine; this module, `udp`,
//! `tcp` and `peer` are the thin tokio drivers that own the sockets.
//! [`settings`] validates the `[relay]` table of the server's config.
//!
//! `meshdesk-signaling` embeds it: it starts a [`Relay`] with the
//! [`RelaySettings`] and [`SharedSecret`], and issues [`credentials`] for
//! its sessions with the same secret.

mod allocate;
pub mod allocation;
mod auth;
pub mod bucket;
mod client;
pub mod core;
#[cfg(test)]
mod core_tests;
pub mod credentials;
mod data;
mod error;
pub mod nonce;
mod peer;
mod permission;
pub mod policy;
mod secret;
pub mod settings;
pub mod stats;
mod tcp;
mod udp;
pub mod wire;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use self::core::{ClientKey, CoreConfig, Now, Output, RelayCore};
use self::nonce::NonceKey;
use self::peer::RelaySocket;
use self::policy::PeerPolicy;
use meshdesk_tasks::AbortOnDrop;

pub use self::error::{Error, Result};
pub use self::secret::SharedSecret;
pub use self::settings::RelaySettings;
pub use self::stats::RelayStats;

/// How often expired allocations are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Tries at binding UDP and TCP to the same free port when `listen` has
/// port 0.
const SAME_PORT_ATTEMPTS: usize = 20;

/// A running relay. Dropping it (or [`stop`](Relay::stop)) stops every
/// task and closes every socket.
#[derive(Debug)]
pub struct Relay {
    shared: Arc<Shared>,
    /// The listener and sweeper tasks; relayed-socket readers are owned by
    /// their allocations inside the core.
    tasks: Mutex<Vec<AbortOnDrop>>,
    /// The bound UDP address (and TCP, when enabled, on the same port).
    local: SocketAddr,
    /// Whether TURN over TCP is served.
    tcp: bool,
    /// The address handed to clients: public IP and the bound port.
    public: SocketAddr,
}

/// What the driver tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    core: Mutex<RelayCore<Arc<RelaySocket>>>,
    /// The listening UDP socket (replies and relayed data to UDP clients).
    udp: Arc<UdpSocket>,
    /// Senders to open TCP connections, by connection id.
    tcp_conns: Mutex<HashMap<u64, mpsc::Sender<Vec<u8>>>>,
    /// IP relayed sockets bind to (the listen IP).
    bind_ip: IpAddr,
    /// Ports relayed sockets may use; `None` for any.
    port_range: Option<(u16, u16)>,
}

impl Shared {
    fn now() -> Now {
        Now {
            at: Instant::now(),
            unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }

    fn core(&self) -> MutexGuard<'_, RelayCore<Arc<RelaySocket>>> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tcp_conns(&self) -> MutexGuard<'_, HashMap<u64, mpsc::Sender<Vec<u8>>>> {
        self.tcp_conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Carry out the core's outputs (draining `out`). Sends never wait: a
    /// full socket buffer or connection queue drops the datagram, as UDP
    /// would.
    fn dispatch(self: &Arc<Self>, out: &mut Vec<Output<Arc<RelaySocket>>>) {
        loop {
            let batch = std::mem::take(out);
            if batch.is_empty() {
                return;
            }
            for o in batch {
                self.carry_out(o, out);
            }
        }
    }

    /// One output; opening a relayed socket may produce more, into `more`.
    fn carry_out(
        self: &Arc<Self>,
        o: Output<Arc<RelaySocket>>,
        more: &mut Vec<Output<Arc<RelaySocket>>>,
    ) {
        {
            match o {
                Output::ToClient {
                    client: ClientKey::Udp(addr),
                    bytes,
                } => {
                    let _ = self.udp.try_send_to(&bytes, addr);
                }
                Output::ToClient {
                    client: ClientKey::Tcp { conn, .. },
                    bytes,
                } => {
                    if let Some(tx) = self.tcp_conns().get(&conn) {
                        let _ = tx.try_send(bytes);
                    }
                }
                Output::ToPeer {
                    socket,
                    peer,
                    bytes,
                } => {
                    let _ = socket.socket.try_send_to(&bytes, peer);
                }
                Output::OpenRelay { alloc } => {
                    let span = self
                        .core()
                        .allocations
                        .get(&alloc)
                        .map(|a| a.span.clone())
                        .unwrap_or_else(tracing::Span::none);
                    let opened = peer::open(self, alloc, span);
                    self.core().relay_opened(Self::now(), alloc, opened, more);
                }
            }
        }
    }
}

impl Relay {
    /// Bind the relay's sockets and start serving.
    pub async fn start(settings: &RelaySettings, secret: &SharedSecret) -> Result<Relay> {
        let (udp, tcp) = bind_listeners(settings).await?;
        let local = udp.local_addr()?;
        let public_ip = settings
            .public_ip
            .unwrap_or_else(|| default_public_ip(local.ip()));
        let core = RelayCore::new(
            CoreConfig {
                realm: settings.realm.clone(),
                secret: secret.expose().as_bytes().to_vec(),
                public_ip,
                policy: PeerPolicy::new(settings.allowed_peer_ranges.clone()),
                limits: settings.limits,
            },
            NonceKey::random(),
            Instant::now(),
        );
        let shared = Arc::new(Shared {
            core: Mutex::new(core),
            udp: Arc::new(udp),
            tcp_conns: Mutex::new(HashMap::new()),
            bind_ip: local.ip(),
            port_range: settings.port_range,
        });
        let mut tasks = vec![
            AbortOnDrop::spawn(udp::serve(shared.clone())),
            AbortOnDrop::spawn(sweep(Arc::downgrade(&shared))),
        ];
        let has_tcp = tcp.is_some();
        if let Some(listener) = tcp {
            tasks.push(AbortOnDrop::spawn(tcp::serve(
                shared.clone(),
                listener,
                settings.limits.max_allocations,
            )));
        }
        let public = SocketAddr::new(public_ip, local.port());
        tracing::info!(listen = %local, public = %public, tcp = has_tcp, realm = %settings.realm, "relay started");
        Ok(Relay {
            shared,
            tasks: Mutex::new(tasks),
            local,
            tcp: has_tcp,
            public,
        })
    }

    /// The bound address (UDP, and TCP when enabled).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The address clients are told to use.
    pub fn public_addr(&self) -> SocketAddr {
        self.public
    }

    /// Whether TURN over TCP is served.
    pub fn serves_tcp(&self) -> bool {
        self.tcp
    }

    /// Allocations and relayed bytes so far.
    pub fn stats(&self) -> RelayStats {
        self.shared.core().stats()
    }

    /// Stop serving: abort the listeners, delete every allocation (closing
    /// the relayed sockets) and drop TCP connections. Idempotent.
    pub fn stop(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        if tasks.is_empty() {
            return;
        }
        drop(tasks);
        self.shared.core().clear();
        self.shared.tcp_conns().clear();
        tracing::info!("relay stopped");
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Delete expired allocations every [`SWEEP_EVERY`].
async fn sweep(shared: std::sync::Weak<Shared>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.core().expire(Instant::now());
    }
}

/// Bind UDP, and TCP on the same port when enabled. With port 0, retry
/// until a port is free for both.
async fn bind_listeners(s: &RelaySettings) -> Result<(UdpSocket, Option<TcpListener>)> {
    let fail = |what: &str, e: std::io::Error| {
        Error::field(
            "relay.listen",
            format!("cannot bind {what} {}: {e}", s.listen),
        )
    };
    let attempts = if s.listen.port() == 0 {
        SAME_PORT_ATTEMPTS
    } else {
        1
    };
    let mut last = None;
    for _ in 0..attempts {
        let udp = UdpSocket::bind(s.listen)
            .await
            .map_err(|e| fail("UDP", e))?;
        if !s.tcp {
            return Ok((udp, None));
        }
        let port = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(s.listen.ip(), port)).await {
            Ok(tcp) => return Ok((udp, Some(tcp))),
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or_else(|| std::io::ErrorKind::AddrInUse.into());
    Err(fail("TCP", e))
}

/// The address to advertise when `public_ip` is not set: the listen IP,
/// or for a wildcard listen the source IP of the default route (found
/// without sending anything), or loopback when there is none.
fn default_public_ip(listen: IpAddr) -> IpAddr {
    if !listen.is_unspecified() {
        return listen;
    }
    let probe = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).and_then(|s| {
        // TEST-NET-1: connect() on UDP only picks a route, nothing is sent.
        s.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
        s.local_addr()
    });
    match probe {
        Ok(a) if !a.ip().is_unspecified() => {
            tracing::warn!(public_ip = %a.ip(), "relay.public_ip is not set; advertising the default route's address");
            a.ip()
        }
        _ => {
            tracing::warn!(
                "relay.public_ip is not set and there is no default route; advertising 127.0.0.1"
            );
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        }
    }
}
