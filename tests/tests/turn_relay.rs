//! The embedded TURN relay of a real `meshdesk-signaling`, driven by an
//! independent TURN client (webrtc-rs's sans-I/O `rtc-turn`): STUN
//! Binding, allocation with the credentials the REST API hands out, data
//! relayed to a peer socket and back (Send/Data indications and channels),
//! TURN over TCP, refusal of expired and forged credentials, and of peers
//! the address policy forbids.
//!
//! Everything stays on 127.0.0.1, which the test config allows as a peer
//! range.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::BytesMut;
use hmac::{Hmac, Mac};
use meshdesk_protocol::signal::{ServerToHost, ServerToViewer, ViewerToServer};
use meshdesk_tests::{Api, HostConn, Server, TestDevice, ViewerConn, WAIT};
use rtc::sansio::Protocol;
use rtc::shared::{TransportContext, TransportMessage, TransportProtocol};
use rtc::turn::client::{Client, ClientConfig, Event};
use serde_json::Value;
use sha1::Sha1;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

const SECRET: &str = "turn-relay-test-secret-0123456789";

fn start_server(allowed: &str) -> Server {
    Server::start_with(&format!(
        "signup = \"open\"\n[relay]\nlisten = \"127.0.0.1:0\"\npublic_ip = \"127.0.0.1\"\n\
         secret = \"{SECRET}\"\nallowed_peer_ranges = [{allowed}]\n"
    ))
}

/// The relay's ICE servers as handed to `alice` by `GET /ice-servers`:
/// (server address, username, password).
async fn relay_credentials(server: &Server) -> (SocketAddr, String, String) {
    let api = Api::new(server);
    let token = api.user("alice").await;
    let (status, body) = api.call("GET", "/ice-servers", Some(&token), None).await;
    assert!(status.is_success(), "{status} {body}");
    let list = body["ice_servers"].as_array().expect("list").clone();
    let urls = |v: &Value| -> Vec<String> {
        v["urls"]
            .as_array()
            .expect("urls")
            .iter()
            .map(|u| u.as_str().expect("url").to_string())
            .collect()
    };
    let stun = list
        .iter()
        .find(|s| urls(s)[0].starts_with("stun:"))
        .expect("stun entry");
    let turn = list
        .iter()
        .find(|s| urls(s)[0].starts_with("turn:"))
        .expect("turn entry");
    let turn_urls = urls(turn);
    let addr = urls(stun)[0].trim_start_matches("stun:").to_string();
    assert_eq!(
        turn_urls,
        [
            format!("turn:{addr}?transport=udp"),
            format!("turn:{addr}?transport=tcp")
        ]
    );
    let username = turn["username"].as_str().expect("username").to_string();
    let (expiry, id) = username.split_once(':').expect("EXPIRY:ID");
    assert_eq!(id, "alice");
    let expiry: u64 = expiry.parse().expect("expiry is a number");
    assert!(expiry > unix_now() + 3600, "valid for hours: {expiry}");
    let password = turn["credential"].as_str().expect("credential").to_string();
    assert_eq!(password, coturn_password(&username), "coturn's scheme");
    (addr.parse().expect("relay address"), username, password)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// base64(HMAC-SHA1(secret, username)), computed here independently.
fn coturn_password(username: &str) -> String {
    let mut mac = <Hmac<Sha1>>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(username.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// How the test client reaches the relay.
enum Link {
    Udp(UdpSocket),
    /// A TCP stream and the bytes read but not yet framed.
    Tcp(TcpStream, Vec<u8>),
}

/// An `rtc-turn` client driven over a real socket.
struct TurnClient {
    client: Client,
    link: Link,
    local: SocketAddr,
    server: SocketAddr,
}

impl TurnClient {
    async fn connect(server: SocketAddr, tcp: bool, username: &str, password: &str) -> TurnClient {
        let (link, local) = if tcp {
            let s = TcpStream::connect(server)
                .await
                .expect("TCP connect to the relay");
            let local = s.local_addr().expect("local addr");
            (Link::Tcp(s, Vec::new()), local)
        } else {
            let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
            let local = s.local_addr().expect("local addr");
            (Link::Udp(s), local)
        };
        let config = ClientConfig {
            stun_serv_addr: server.to_string(),
            turn_serv_addr: server.to_string(),
            local_addr: local,
            transport_protocol: if tcp {
                TransportProtocol::TCP
            } else {
                TransportProtocol::UDP
            },
            username: username.into(),
            password: password.into(),
            realm: String::new(),
            software: String::new(),
            rto_in_ms: 0,
            allocation_refresh_interval_cap: None,
        };
        let provider = rtc::crypto::default_provider().expect("crypto provider");
        TurnClient {
            client: Client::new(config, provider).expect("TURN client"),
            link,
            local,
            server,
        }
    }

    async fn flush(&mut self) {
        while let Some(t) = self.client.poll_write() {
            match &mut self.link {
                Link::Udp(s) => {
                    s.send_to(&t.message, t.transport.peer_addr)
                        .await
                        .expect("UDP send");
                }
                Link::Tcp(s, _) => s.write_all(&t.message).await.expect("TCP send"),
            }
        }
    }

    /// One datagram or one framed message from the relay.
    async fn recv(&mut self) -> Vec<u8> {
        match &mut self.link {
            Link::Udp(s) => {
                let mut buf = vec![0u8; 65_536];
                let (n, _) = s.recv_from(&mut buf).await.expect("UDP recv");
                buf.truncate(n);
                buf
            }
            Link::Tcp(s, pending) => loop {
                if let Some(n) = tcp_frame_len(pending) {
                    return pending.drain(..n).collect();
                }
                let mut chunk = [0u8; 4096];
                let n = s.read(&mut chunk).await.expect("TCP recv");
                assert!(n > 0, "relay closed the TCP connection");
                pending.extend_from_slice(&chunk[..n]);
            },
        }
    }

    /// Drive the client until it has an event, or fail after [`WAIT`].
    async fn next_event(&mut self) -> Event {
        let deadline = Instant::now() + WAIT;
        loop {
            self.flush().await;
            if let Some(e) = self.client.poll_event() {
                return e;
            }
            assert!(Instant::now() < deadline, "no TURN event within {WAIT:?}");
            let wake = self.client.poll_timeout().unwrap_or(deadline).min(deadline);
            tokio::select! {
                bytes = self.recv() => {
                    let msg = TransportMessage {
                        now: Instant::now(),
                        transport: TransportContext {
                            local_addr: self.local,
                            peer_addr: self.server,
                            transport_protocol: self.transport(),
                            ecn: None,
                        },
                        message: BytesMut::from(&bytes[..]),
                    };
                    let _ = self.client.handle_read(msg);
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    let _ = self.client.handle_timeout(Instant::now());
                }
            }
        }
    }

    fn transport(&self) -> TransportProtocol {
        match self.link {
            Link::Udp(_) => TransportProtocol::UDP,
            Link::Tcp(..) => TransportProtocol::TCP,
        }
    }

    async fn allocate(&mut self) -> Result<SocketAddr, String> {
        self.client
            .allocate(Instant::now())
            .expect("allocate request");
        loop {
            match self.next_event().await {
                Event::AllocateResponse(_, relayed) => return Ok(relayed),
                Event::AllocateError(_, e) => return Err(e.to_string()),
                Event::TransactionTimeout(_) => return Err("timeout".into()),
                _ => {}
            }
        }
    }

    async fn create_permission(
        &mut self,
        relayed: SocketAddr,
        peer: SocketAddr,
    ) -> Result<(), String> {
        self.client
            .relay(relayed)
            .expect("allocation")
            .create_permission(Instant::now(), peer)
            .expect("permission request");
        loop {
            match self.next_event().await {
                Event::CreatePermissionResponse(..) => return Ok(()),
                Event::CreatePermissionError(_, e) => return Err(e.to_string()),
                Event::TransactionTimeout(_) => return Err("timeout".into()),
                _ => {}
            }
        }
    }

    async fn binding(&mut self) -> SocketAddr {
        self.client
            .send_binding_request(Instant::now())
            .expect("binding request");
        loop {
            match self.next_event().await {
                Event::BindingResponse(_, reflexive) => return reflexive,
                Event::BindingError(_, e) => panic!("binding failed: {e}"),
                Event::TransactionTimeout(_) => panic!("binding timed out"),
                _ => {}
            }
        }
    }
}

/// Length of the first STUN message or padded ChannelData in `buf`.
fn tcp_frame_len(buf: &[u8]) -> Option<usize> {
    if buf.len() < 4 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let total = if buf[0] & 0xC0 == 0x40 {
        4 + len.div_ceil(4) * 4
    } else {
        20 + len
    };
    (buf.len() >= total).then_some(total)
}

/// Relay data between `client` and a peer socket on 127.0.0.1 in both
/// directions, until a reply has come back over a bound channel (the
/// client binds one after its first sends).
async fn relay_round_trip(client: &mut TurnClient, relayed: SocketAddr) {
    let peer = UdpSocket::bind("127.0.0.1:0").await.expect("peer socket");
    let peer_addr = peer.local_addr().expect("peer addr");
    client
        .create_permission(relayed, peer_addr)
        .await
        .expect("permission for a peer in an allowed range");
    let deadline = Instant::now() + WAIT;
    let mut buf = vec![0u8; 2048];
    let mut via_channel = false;
    let mut i = 0;
    while !via_channel {
        assert!(
            Instant::now() < deadline,
            "no reply over a channel within {WAIT:?}"
        );
        i += 1;
        let ping = format!("ping {i}");
        client
            .client
            .relay(relayed)
            .expect("allocation")
            .send_to(Instant::now(), ping.as_bytes(), peer_addr)
            .expect("send through the relay");
        client.flush().await;
        let (n, from) = tokio::time::timeout(WAIT, peer.recv_from(&mut buf))
            .await
            .expect("peer receives relayed data")
            .expect("peer recv");
        assert_eq!(&buf[..n], ping.as_bytes());
        assert_eq!(from, relayed, "data arrives from the relayed address");
        let pong = format!("pong {i}");
        peer.send_to(pong.as_bytes(), relayed)
            .await
            .expect("peer send");
        loop {
            if let Event::DataIndicationOrChannelData(channel, from, data) =
                client.next_event().await
            {
                assert_eq!(from, peer_addr);
                assert_eq!(&data[..], pong.as_bytes());
                via_channel = channel.is_some();
                break;
            }
        }
    }
}

#[tokio::test]
async fn udp_allocation_relays_data_both_ways() {
    let server = start_server("\"127.0.0.0/8\"");
    let (addr, username, password) = relay_credentials(&server).await;
    let mut client = TurnClient::connect(addr, false, &username, &password).await;
    let reflexive = client.binding().await;
    assert_eq!(reflexive, client.local, "STUN Binding on the relay port");
    let relayed = client
        .allocate()
        .await
        .expect("allocation with good credentials");
    assert_eq!(relayed.ip(), addr.ip(), "the configured public address");
    assert_ne!(relayed.port(), addr.port());
    relay_round_trip(&mut client, relayed).await;
    let log = server.log_text();
    assert!(log.contains("allocated"), "the allocation is logged");
    assert!(
        !log.contains(SECRET) && !log.contains(&password),
        "no secrets in the log"
    );
}

#[tokio::test]
async fn tcp_allocation_relays_data_both_ways() {
    let server = start_server("\"127.0.0.0/8\"");
    let (addr, username, password) = relay_credentials(&server).await;
    let mut client = TurnClient::connect(addr, true, &username, &password).await;
    let relayed = client.allocate().await.expect("allocation over TCP");
    relay_round_trip(&mut client, relayed).await;
}

#[tokio::test]
async fn sessions_get_their_own_turn_credentials() {
    let server = start_server("\"127.0.0.0/8\"");
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let dev = TestDevice::enroll(&api, &api.code(&alice).await, "office-pc").await;
    let mut host = HostConn::connect(&server, &dev).await;
    let mut viewer = ViewerConn::connect(&server, &alice).await;
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: dev.id.clone(),
            request_id: None,
        })
        .await;
    let created = viewer
        .wait_for("session_created", |m| {
            matches!(m, ServerToViewer::SessionCreated { .. })
        })
        .await;
    let ServerToViewer::SessionCreated {
        session_id,
        ice_servers,
        ..
    } = created
    else {
        unreachable!()
    };
    let grant = host
        .wait_for("grant", |m| matches!(m, ServerToHost::SessionGrant { .. }))
        .await;
    let ServerToHost::SessionGrant {
        ice_servers: host_ice_servers,
        ..
    } = grant
    else {
        unreachable!()
    };
    assert_eq!(
        host_ice_servers, ice_servers,
        "both parties get the same servers"
    );
    let turn = ice_servers
        .iter()
        .find(|s| s.urls[0].starts_with("turn:"))
        .expect("a TURN entry");
    let username = turn.username.clone().expect("username");
    assert!(username.ends_with(&format!(":{session_id}")), "{username}");
    let password = turn.credential.clone().expect("credential");
    assert_eq!(password, coturn_password(&username));
    let addr = turn.urls[0]
        .trim_start_matches("turn:")
        .trim_end_matches("?transport=udp")
        .parse()
        .expect("relay address");
    let mut client = TurnClient::connect(addr, false, &username, &password).await;
    client
        .allocate()
        .await
        .expect("the session's credentials work");
}

#[tokio::test]
async fn expired_and_forged_credentials_are_refused() {
    let server = start_server("\"127.0.0.0/8\"");
    let (addr, good_user, _) = relay_credentials(&server).await;
    let expired = format!("{}:alice", unix_now() - 60);
    let forged = good_user.replace(":alice", ":mallory");
    for (username, password, what) in [
        (expired.clone(), coturn_password(&expired), "expired"),
        (forged, "guessed-password".to_string(), "forged"),
        (
            good_user,
            coturn_password("something else"),
            "wrong password",
        ),
    ] {
        for tcp in [false, true] {
            let mut client = TurnClient::connect(addr, tcp, &username, &password).await;
            let err = client.allocate().await.expect_err(what);
            assert!(err.contains("401"), "{what} (tcp {tcp}): {err}");
        }
    }
}

#[tokio::test]
async fn peers_outside_the_allowed_ranges_are_forbidden() {
    let server = start_server("\"127.0.0.0/8\"");
    let (addr, username, password) = relay_credentials(&server).await;
    let mut client = TurnClient::connect(addr, false, &username, &password).await;
    let relayed = client.allocate().await.expect("allocation");
    for peer in [
        "10.1.2.3:9",
        "169.254.169.254:80",
        "192.168.1.1:9",
        "0.0.0.0:9",
    ] {
        let err = client
            .create_permission(relayed, peer.parse().expect("addr"))
            .await
            .expect_err(peer);
        assert!(err.contains("403"), "{peer}: {err}");
    }
    // Loopback is refused too when not explicitly allowed.
    let strict = start_server("");
    let (addr, username, password) = relay_credentials(&strict).await;
    let mut client = TurnClient::connect(addr, false, &username, &password).await;
    let relayed = client.allocate().await.expect("allocation");
    let err = client
        .create_permission(relayed, "127.0.0.1:9".parse().expect("addr"))
        .await
        .expect_err("loopback");
    assert!(err.contains("403"), "{err}");
}

#[tokio::test]
async fn graceful_shutdown_closes_the_relay() {
    let mut server = start_server("\"127.0.0.0/8\"");
    let (addr, _, _) = relay_credentials(&server).await;
    assert!(server.stop(), "clean exit on SIGTERM");
    assert!(
        server.log_text().contains("relay stopped"),
        "{}",
        server.log_text()
    );
    // The port is free again: both UDP and TCP can bind it.
    std::net::UdpSocket::bind(addr).expect("relay UDP port released");
    std::net::TcpListener::bind(addr).expect("relay TCP port released");
}
