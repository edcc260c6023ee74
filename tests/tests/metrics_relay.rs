//! The embedded TURN relay's figures on the server's `/metrics`: an
//! allocation made with the credentials the REST API hands out, and data
//! echoed through it, move `meshdesk_relay_*`.

use std::net::SocketAddr;

use meshdesk_tests::prom::scrape;
use meshdesk_tests::turn::{udp_echo, TurnClient};
use meshdesk_tests::{Api, Server};
use serde_json::Value;
use tokio::net::UdpSocket;

/// The relay's address and `alice`'s TURN username and password.
async fn turn_credentials(server: &Server) -> (SocketAddr, String, String) {
    let api = Api::new(server);
    let token = api.user("alice").await;
    let (status, body) = api.call("GET", "/ice-servers", Some(&token), None).await;
    assert!(status.is_success(), "{status} {body}");
    let list = body["ice_servers"].as_array().expect("list").clone();
    let first_url = |v: &Value| v["urls"][0].as_str().unwrap_or_default().to_string();
    let turn = list
        .iter()
        .find(|s| first_url(s).starts_with("turn:"))
        .expect("a turn entry");
    let addr = first_url(turn)
        .trim_start_matches("turn:")
        .split('?')
        .next()
        .expect("address")
        .parse()
        .expect("relay address");
    let user = turn["username"].as_str().expect("username").to_string();
    let pass = turn["credential"].as_str().expect("credential").to_string();
    (addr, user, pass)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_allocations_and_bytes_are_counted() {
    let server = Server::start_with(
        "signup = \"open\"\n[metrics]\nenabled = true\n[relay]\nlisten = \"127.0.0.1:0\"\n\
         public_ip = \"127.0.0.1\"\nallowed_peer_ranges = [\"127.0.0.0/8\"]\n",
    );
    let url = format!("{}/metrics", server.base);
    let before = scrape(&url, None).await;
    assert_eq!(before.value("meshdesk_relay_allocations_total", &[]), 0.0);

    let (addr, user, pass) = turn_credentials(&server).await;
    let mut client = TurnClient::connect(addr, false, &user, &pass).await;
    let relayed = client.allocate().await.expect("allocation");
    let echo = UdpSocket::bind("127.0.0.1:0").await.expect("echo socket");
    let peer = echo.local_addr().expect("echo addr");
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let echoing = tokio::spawn(udp_echo(echo, stopped));
    client
        .echo_through_channel(relayed, peer)
        .await
        .expect("echo through the relay");

    let after = scrape(&url, None).await;
    assert_eq!(after.value("meshdesk_relay_allocations", &[]), 1.0);
    assert_eq!(after.value("meshdesk_relay_allocations_total", &[]), 1.0);
    assert!(
        after.value("meshdesk_relay_bytes_total", &[]) >= 12.0,
        "at least one ping out and its echo back"
    );
    let _ = stop.send(());
    echoing.await.expect("echo task");
}
