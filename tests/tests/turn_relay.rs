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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use meshdesk_protocol::signal::{ServerToHost, ServerToViewer, ViewerToServer};
use meshdesk_tests::turn::TurnClient;
use meshdesk_tests::{Api, HostConn, Server, TestDevice, ViewerConn, WAIT};
use rtc::turn::client::Event;
use serde_json::Value;
use sha1::Sha1;
use tokio::net::UdpSocket;

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
        // UDP may lose a datagram: send again every 500 ms until the peer
        // has it, driving the client meanwhile (it may hold data until a
        // channel it decided to bind is confirmed).
        let (n, from) = tokio::time::timeout(WAIT, async {
            loop {
                client
                    .client
                    .relay(relayed)
                    .expect("allocation")
                    .send_to(Instant::now(), ping.as_bytes(), peer_addr)
                    .expect("send through the relay");
                client.flush().await;
                let resend = tokio::time::sleep(Duration::from_millis(500));
                tokio::pin!(resend);
                loop {
                    tokio::select! {
                        r = peer.recv_from(&mut buf) => return r.expect("peer recv"),
                        _ = client.next_event() => {}
                        _ = &mut resend => break,
                    }
                }
            }
        })
        .await
        .expect("peer receives relayed data");
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
            screen: None,
            files_only: false,
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
