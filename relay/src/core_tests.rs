//! Behaviour of the relay core, driven with hand-built messages and a fake
//! clock: authentication, allocation, permissions and the address policy,
//! relaying both ways, quotas, bandwidth and expiry.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::allocation::{AllocId, DEFAULT_LIFETIME, PERMISSION_LIFETIME};
use super::core::{ClientKey, CoreConfig, Now, Output, RelayCore};
use super::credentials;
use super::nonce::NonceKey;
use super::policy::PeerPolicy;
use super::settings::Limits;
use super::wire::{attr, Builder, ChannelData, Class, Message, Method};

const SECRET: &[u8] = b"meshdesk-test-secret";
const REALM: &str = "meshdesk";
const T0_UNIX: u64 = 1_700_000_000;

/// The socket handle is a tag: which allocation sent to a peer.
type Core = RelayCore<u32>;

struct Rig {
    core: Core,
    t0: Instant,
    now: Now,
    client: ClientKey,
    username: String,
    password: String,
    nonce: Vec<u8>,
    tx: u8,
}

fn limits() -> Limits {
    Limits {
        max_allocations: 10,
        max_allocations_per_user: 2,
        allocation_bytes_per_sec: 0,
        total_bytes_per_sec: 0,
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

impl Rig {
    fn new(limits: Limits, allowed: &[&str]) -> Rig {
        let t0 = Instant::now();
        let cfg = CoreConfig {
            realm: REALM.into(),
            secret: SECRET.to_vec(),
            public_ip: "203.0.113.1".parse().expect("ip"),
            policy: PeerPolicy::new(allowed.iter().map(|r| r.parse().expect("cidr")).collect()),
            limits,
        };
        let c = credentials::issue(SECRET, "ses_1", T0_UNIX, 3600);
        Rig {
            core: RelayCore::new(cfg, NonceKey::from_bytes([1; 32]), t0),
            t0,
            now: Now {
                at: t0,
                unix: T0_UNIX,
            },
            client: ClientKey::Udp(addr("198.51.100.10:40000")),
            username: c.username,
            password: c.password,
            nonce: Vec::new(),
            tx: 0,
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now.at += d;
        self.now.unix += d.as_secs();
    }

    fn next_tx(&mut self) -> [u8; 12] {
        self.tx += 1;
        [self.tx; 12]
    }

    /// A request; signed with the rig's credentials when `sign`.
    fn request(&mut self, method: Method, sign: bool, add: impl FnOnce(&mut Builder)) -> Vec<u8> {
        let mut b = Builder::new(method, Class::Request, self.next_tx());
        add(&mut b);
        if !sign {
            return b.finish(None, true);
        }
        b.attr(attr::USERNAME, self.username.as_bytes())
            .attr(attr::REALM, REALM.as_bytes())
            .attr(attr::NONCE, &self.nonce.clone());
        let key = credentials::long_term_key(&self.username, REALM, &self.password);
        b.finish(Some(key.as_ref()), true)
    }

    fn feed(&mut self, raw: &[u8]) -> Vec<Output<u32>> {
        let mut out = Vec::new();
        self.core
            .handle_client(self.now, self.client, raw, &mut out);
        out
    }

    /// Send and return the single reply to the client.
    fn ask(&mut self, raw: &[u8]) -> Vec<u8> {
        let out = self.feed(raw);
        match out.as_slice() {
            [Output::ToClient { client, bytes }] if *client == self.client => bytes.clone(),
            other => panic!("expected one reply, got {other:?}"),
        }
    }

    /// Get a nonce the way a client does: an unsigned Allocate, 401.
    fn learn_nonce(&mut self) {
        let req = self.request(Method::ALLOCATE, false, transport_udp);
        let reply = self.ask(&req);
        let m = Message::decode(&reply).expect("reply decodes");
        assert_eq!(code(&m), Some(401));
        assert_eq!(m.get(attr::REALM), Some(REALM.as_bytes()));
        self.nonce = m.get(attr::NONCE).expect("nonce").to_vec();
    }

    /// Allocate with the rig's credentials; returns the relayed address.
    fn allocate(&mut self, tag: u32) -> SocketAddr {
        self.learn_nonce();
        let req = self.request(Method::ALLOCATE, true, transport_udp);
        let out = self.feed(&req);
        let [Output::OpenRelay { alloc }] = out.as_slice() else {
            panic!("expected OpenRelay, got {out:?}");
        };
        let reply = self.open(*alloc, Some((tag, 50_000 + tag as u16)));
        let m = Message::decode(&reply).expect("decodes");
        assert_eq!(m.class, Class::Success, "{:?}", code(&m));
        assert!(m.verify_integrity(self.key().as_ref()));
        let lifetime = m.get(attr::LIFETIME).and_then(attr::decode_u32);
        assert_eq!(lifetime, Some(600));
        let mapped = m.get(attr::XOR_MAPPED_ADDRESS).expect("mapped");
        assert_eq!(
            attr::decode_xor_addr(mapped, &m.transaction_id),
            Some(self.client.addr())
        );
        let relayed = m.get(attr::XOR_RELAYED_ADDRESS).expect("relayed");
        attr::decode_xor_addr(relayed, &m.transaction_id).expect("relayed address")
    }

    fn open(&mut self, alloc: AllocId, opened: Option<(u32, u16)>) -> Vec<u8> {
        let mut out = Vec::new();
        self.core.relay_opened(self.now, alloc, opened, &mut out);
        match out.as_slice() {
            [Output::ToClient { bytes, .. }] => bytes.clone(),
            other => panic!("expected the Allocate answer, got {other:?}"),
        }
    }

    fn key(&self) -> credentials::IntegrityKey {
        credentials::long_term_key(&self.username, REALM, &self.password)
    }

    fn reply_code(&mut self, raw: &[u8]) -> Option<u16> {
        let reply = self.ask(raw);
        code(&Message::decode(&reply).expect("decodes"))
    }

    fn permit(&mut self, peer: SocketAddr) -> Option<u16> {
        let req = self.request(Method::CREATE_PERMISSION, true, |b| {
            b.xor_addr(attr::XOR_PEER_ADDRESS, peer);
        });
        self.reply_code(&req)
    }

    fn send(&mut self, peer: SocketAddr, data: &[u8]) -> Vec<Output<u32>> {
        let mut b = Builder::new(Method::SEND, Class::Indication, self.next_tx());
        b.xor_addr(attr::XOR_PEER_ADDRESS, peer)
            .attr(attr::DATA, data);
        let raw = b.finish(None, false);
        self.feed(&raw)
    }

    fn peer_sends(&mut self, alloc: AllocId, peer: SocketAddr, data: &[u8]) -> Vec<Output<u32>> {
        let mut out = Vec::new();
        self.core.handle_peer(self.now, alloc, peer, data, &mut out);
        out
    }
}

fn transport_udp(b: &mut Builder) {
    b.u32(
        attr::REQUESTED_TRANSPORT,
        u32::from(attr::TRANSPORT_UDP) << 24,
    );
}

/// ERROR-CODE of an error response, `None` for success.
fn code(m: &Message<'_>) -> Option<u16> {
    m.get(attr::ERROR_CODE).and_then(attr::decode_error_code)
}

const PEER: &str = "192.0.2.50:6000";

#[test]
fn binding_reports_the_reflexive_address_without_credentials() {
    let mut r = Rig::new(limits(), &[]);
    let req = r.request(Method::BINDING, false, |_| {});
    let reply = r.ask(&req);
    let m = Message::decode(&reply).expect("decodes");
    assert_eq!((m.method, m.class), (Method::BINDING, Class::Success));
    assert!(m.has_fingerprint, "mirrors the request's FINGERPRINT");
    let v = m.get(attr::XOR_MAPPED_ADDRESS).expect("mapped");
    assert_eq!(
        attr::decode_xor_addr(v, &m.transaction_id),
        Some(r.client.addr())
    );
}

#[test]
fn allocate_with_good_credentials() {
    let mut r = Rig::new(limits(), &[]);
    let relayed = r.allocate(1);
    assert_eq!(relayed, addr("203.0.113.1:50001"));
    assert_eq!(r.core.allocation_count(), 1);
}

#[test]
fn expired_forged_and_malformed_credentials_are_refused() {
    for (username, password) in [
        // Expired a second ago, correctly signed.
        (
            format!("{}:ses_1", T0_UNIX - 1),
            credentials::password(SECRET, &format!("{}:ses_1", T0_UNIX - 1)),
        ),
        // Valid-looking but signed with another secret.
        (
            format!("{}:ses_1", T0_UNIX + 60),
            credentials::password(b"guessed", &format!("{}:ses_1", T0_UNIX + 60)),
        ),
        // Not EXPIRY:ID.
        ("alice".to_string(), credentials::password(SECRET, "alice")),
    ] {
        let mut r = Rig::new(limits(), &[]);
        r.learn_nonce();
        r.username = username.clone();
        r.password = password;
        let req = r.request(Method::ALLOCATE, true, transport_udp);
        assert_eq!(r.reply_code(&req), Some(401), "{username}");
        assert_eq!(r.core.allocation_count(), 0);
    }
}

#[test]
fn stale_or_foreign_nonces_get_438() {
    let mut r = Rig::new(limits(), &[]);
    r.learn_nonce();
    r.advance(Duration::from_secs(super::nonce::LIFETIME_SECS + 1));
    let req = r.request(Method::ALLOCATE, true, transport_udp);
    let reply = r.ask(&req);
    let m = Message::decode(&reply).expect("decodes");
    assert_eq!(code(&m), Some(438));
    assert!(m.get(attr::NONCE).is_some(), "a fresh nonce to retry with");
    r.nonce = b"0000000000000000000000000000000000000000".to_vec();
    let req = r.request(Method::ALLOCATE, true, transport_udp);
    assert_eq!(r.reply_code(&req), Some(438));
}

#[test]
fn allocate_checks_transport_and_retransmissions() {
    let mut r = Rig::new(limits(), &[]);
    r.learn_nonce();
    let req = r.request(Method::ALLOCATE, true, |b| {
        b.u32(attr::REQUESTED_TRANSPORT, 6 << 24);
    });
    assert_eq!(r.reply_code(&req), Some(442));
    let req = r.request(Method::ALLOCATE, true, |_| {});
    assert_eq!(r.reply_code(&req), Some(400));
    let req = r.request(Method::ALLOCATE, true, |b| {
        transport_udp(b);
        b.attr(0x0022, &[0; 8]); // RESERVATION-TOKEN: not supported
    });
    assert_eq!(r.reply_code(&req), Some(420));
    r.allocate(1);
    // The same client allocating again with a new transaction: mismatch.
    let req = r.request(Method::ALLOCATE, true, transport_udp);
    assert_eq!(r.reply_code(&req), Some(437));
}

#[test]
fn quotas_per_user_and_in_total_give_486() {
    let mut r = Rig::new(limits(), &[]);
    for port in 1..=2 {
        r.client = ClientKey::Udp(addr(&format!("198.51.100.10:{port}")));
        r.allocate(port);
    }
    r.client = ClientKey::Udp(addr("198.51.100.10:3"));
    r.learn_nonce();
    let req = r.request(Method::ALLOCATE, true, transport_udp);
    assert_eq!(r.reply_code(&req), Some(486), "per user");
    // Another session's credentials are counted separately, up to the total.
    let mut r = Rig::new(
        Limits {
            max_allocations: 1,
            ..limits()
        },
        &[],
    );
    r.allocate(1);
    let c = credentials::issue(SECRET, "ses_2", T0_UNIX, 3600);
    (r.username, r.password) = (c.username, c.password);
    r.client = ClientKey::Udp(addr("198.51.100.11:1"));
    r.learn_nonce();
    let req = r.request(Method::ALLOCATE, true, transport_udp);
    assert_eq!(r.reply_code(&req), Some(486), "in total");
}

#[test]
fn no_relay_port_gives_508_and_frees_the_quota() {
    let mut r = Rig::new(limits(), &[]);
    r.learn_nonce();
    let req = r.request(Method::ALLOCATE, true, transport_udp);
    let out = r.feed(&req);
    let [Output::OpenRelay { alloc }] = out.as_slice() else {
        panic!("{out:?}")
    };
    let reply = r.open(*alloc, None);
    assert_eq!(code(&Message::decode(&reply).expect("decodes")), Some(508));
    assert_eq!(r.core.allocation_count(), 0);
}

#[test]
fn internal_peers_are_forbidden_unless_allowed() {
    let mut r = Rig::new(limits(), &["10.99.0.0/16"]);
    r.allocate(1);
    for peer in [
        "127.0.0.1:9",
        "10.1.2.3:9",
        "169.254.169.254:80",
        "192.168.0.1:9",
        "0.0.0.0:9",
    ] {
        assert_eq!(r.permit(addr(peer)), Some(403), "{peer}");
    }
    assert_eq!(r.permit(addr("[2001:db8::1]:9")), Some(443));
    assert_eq!(r.permit(addr("10.99.1.1:9")), None, "allowed range");
    assert_eq!(r.permit(addr(PEER)), None, "public peer");
    let req = r.request(Method::CHANNEL_BIND, true, |b| {
        b.u32(attr::CHANNEL_NUMBER, 0x4000 << 16)
            .xor_addr(attr::XOR_PEER_ADDRESS, addr("127.0.0.1:9"));
    });
    assert_eq!(r.reply_code(&req), Some(403));
    assert!(
        r.send(addr("127.0.0.1:9"), b"x").is_empty(),
        "Send to a refused peer is dropped"
    );
}

#[test]
fn send_and_data_indications_need_a_permission() {
    let mut r = Rig::new(limits(), &[]);
    r.allocate(7);
    let peer = addr(PEER);
    assert!(r.send(peer, b"early").is_empty(), "no permission yet");
    assert_eq!(r.permit(peer), None);
    let out = r.send(peer, b"hello");
    let [Output::ToPeer {
        socket: 7,
        peer: p,
        bytes,
    }] = out.as_slice()
    else {
        panic!("{out:?}")
    };
    assert_eq!((*p, bytes.as_slice()), (peer, &b"hello"[..]));
    // The peer answers from another port of the same IP: permitted.
    let from = addr("192.0.2.50:6001");
    let out = r.peer_sends(1, from, b"world");
    let [Output::ToClient { client, bytes }] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(*client, r.client);
    let m = Message::decode(bytes).expect("Data indication");
    assert_eq!((m.method, m.class), (Method::DATA, Class::Indication));
    assert_eq!(m.get(attr::DATA), Some(&b"world"[..]));
    let v = m.get(attr::XOR_PEER_ADDRESS).expect("peer");
    assert_eq!(attr::decode_xor_addr(v, &m.transaction_id), Some(from));
    // Strangers are dropped; permissions expire.
    assert!(r.peer_sends(1, addr("198.51.100.99:1"), b"x").is_empty());
    r.advance(PERMISSION_LIFETIME);
    assert!(r.peer_sends(1, from, b"late").is_empty());
    assert!(r.send(peer, b"late").is_empty());
}

#[test]
fn channels_carry_data_both_ways() {
    let mut r = Rig::new(limits(), &[]);
    r.client = ClientKey::Tcp {
        conn: 3,
        addr: addr("198.51.100.10:40000"),
    };
    r.allocate(1);
    let peer = addr(PEER);
    let req = r.request(Method::CHANNEL_BIND, true, |b| {
        b.u32(attr::CHANNEL_NUMBER, 0x4001 << 16)
            .xor_addr(attr::XOR_PEER_ADDRESS, peer);
    });
    assert_eq!(r.reply_code(&req), None);
    let raw = ChannelData::encode(0x4001, b"abc", true);
    let out = r.feed(&raw);
    assert!(
        matches!(out.as_slice(), [Output::ToPeer { peer: p, bytes, .. }] if *p == peer && bytes == b"abc")
    );
    let out = r.peer_sends(1, peer, b"hello");
    let [Output::ToClient { bytes, .. }] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(bytes.len(), 12, "padded to 4 over TCP");
    let stats = r.core.stats();
    assert_eq!(stats.allocations_active, 1);
    assert_eq!(stats.allocations_total, 1);
    assert_eq!(stats.relayed_bytes, 8, "abc one way, hello the other");
    assert_eq!(
        ChannelData::decode(bytes),
        Ok(ChannelData {
            number: 0x4001,
            data: b"hello"
        })
    );
    assert!(
        r.feed(&ChannelData::encode(0x4002, b"x", false)).is_empty(),
        "unbound channel"
    );
    let req = r.request(Method::CHANNEL_BIND, true, |b| {
        b.u32(attr::CHANNEL_NUMBER, 0x3FFF << 16)
            .xor_addr(attr::XOR_PEER_ADDRESS, peer);
    });
    assert_eq!(r.reply_code(&req), Some(400), "number out of range");
}

#[test]
fn bandwidth_beyond_the_budget_is_dropped() {
    let mut r = Rig::new(
        Limits {
            allocation_bytes_per_sec: 1000,
            ..limits()
        },
        &[],
    );
    r.allocate(1);
    let peer = addr(PEER);
    assert_eq!(r.permit(peer), None);
    assert_eq!(r.send(peer, &[0; 600]).len(), 1);
    assert!(
        r.peer_sends(1, peer, &[0; 600]).is_empty(),
        "both directions count"
    );
    assert_eq!(r.peer_sends(1, peer, &[0; 400]).len(), 1);
    r.advance(Duration::from_millis(500));
    assert_eq!(r.send(peer, &[0; 500]).len(), 1, "refilled");
}

#[test]
fn refresh_extends_and_lifetime_zero_deletes() {
    let mut r = Rig::new(limits(), &[]);
    r.allocate(1);
    r.advance(DEFAULT_LIFETIME - Duration::from_secs(10));
    let req = r.request(Method::REFRESH, true, |b| {
        b.u32(attr::LIFETIME, 1200);
    });
    let reply = r.ask(&req);
    let m = Message::decode(&reply).expect("decodes");
    assert_eq!(m.get(attr::LIFETIME).and_then(attr::decode_u32), Some(1200));
    r.advance(Duration::from_secs(20));
    r.core.expire(r.now.at);
    assert_eq!(r.core.allocation_count(), 1, "refreshed");
    let req = r.request(Method::REFRESH, true, |b| {
        b.u32(attr::LIFETIME, 0);
    });
    assert_eq!(
        r.reply_code(&req),
        Some(438),
        "the nonce went stale meanwhile"
    );
    r.learn_nonce();
    let req = r.request(Method::REFRESH, true, |b| {
        b.u32(attr::LIFETIME, 0);
    });
    assert_eq!(r.reply_code(&req), None);
    assert_eq!(r.core.allocation_count(), 0);
    let req = r.request(Method::REFRESH, true, |_| {});
    assert_eq!(r.reply_code(&req), Some(437), "nothing left to refresh");
}

#[test]
fn allocations_expire_and_tcp_clients_take_theirs_along() {
    let mut r = Rig::new(limits(), &[]);
    r.allocate(1);
    r.core
        .expire(r.t0 + DEFAULT_LIFETIME - Duration::from_secs(1));
    assert_eq!(r.core.allocation_count(), 1);
    r.core.expire(r.t0 + DEFAULT_LIFETIME);
    assert_eq!(r.core.allocation_count(), 0);
    r.client = ClientKey::Tcp {
        conn: 9,
        addr: addr("198.51.100.10:40001"),
    };
    r.allocate(2);
    r.core.client_gone(r.client);
    assert_eq!(r.core.allocation_count(), 0);
    // The quota is released with it.
    r.allocate(3);
    r.client = ClientKey::Udp(addr("198.51.100.10:40002"));
    r.allocate(4);
}

#[test]
fn garbage_never_panics_and_is_not_answered() {
    let mut r = Rig::new(limits(), &[]);
    r.allocate(1);
    for raw in [
        &b""[..],
        b"\x00",
        b"\x40\x00\x00\x09abc",
        b"\xff\xff\xff\xff",
        &[0u8; 20],
    ] {
        assert!(r.feed(raw).is_empty(), "{raw:?}");
    }
}
