//! TURN across the nodes of a cluster: two nodes, each with its embedded
//! relay and the same `[relay] secret` (as README "Scale" says), hand out
//! credentials the other node's relay accepts, so a session's parties may
//! use either relay whichever node they asked; a node with another secret
//! refuses them.

use std::net::SocketAddr;

use meshdesk_tests::nats::NatsServer;
use meshdesk_tests::postgres::PgServer;
use meshdesk_tests::turn::TurnClient;
use meshdesk_tests::{Api, Server};

const SECRET: &str = "cluster-turn-test-secret-0123456789";

fn node(pg: &PgServer, nats: &NatsServer, secret: &str) -> Server {
    let config = format!(
        "signup = \"open\"\n[relay]\nlisten = \"127.0.0.1:0\"\npublic_ip = \"127.0.0.1\"\n\
         secret = \"{secret}\"\nallowed_peer_ranges = [\"127.0.0.0/8\"]\n"
    );
    Server::start_cluster_node_config(&pg.url(), &nats.url(), &config)
}

/// The relay address and TURN credentials `token` gets from `server`.
async fn turn_of(server: &Server, token: &str) -> (SocketAddr, String, String) {
    let api = Api::new(server);
    let (status, body) = api.call("GET", "/ice-servers", Some(token), None).await;
    assert!(status.is_success(), "{status} {body}");
    let list = body["ice_servers"].as_array().expect("list");
    let turn = list
        .iter()
        .find(|s| {
            s["urls"][0]
                .as_str()
                .is_some_and(|u| u.starts_with("turn:"))
        })
        .expect("a turn entry");
    let url = turn["urls"][0].as_str().expect("url");
    let addr = url
        .trim_start_matches("turn:")
        .split('?')
        .next()
        .expect("address");
    (
        addr.parse().expect("relay address"),
        turn["username"].as_str().expect("username").to_string(),
        turn["credential"].as_str().expect("credential").to_string(),
    )
}

#[tokio::test]
async fn credentials_from_one_node_allocate_on_the_others_relay() {
    let pg = PgServer::start();
    let nats = NatsServer::start();
    let a = node(&pg, &nats, SECRET);
    let b = node(&pg, &nats, SECRET);
    let token = Api::new(&a).user("alice").await;
    let (relay_a, _, _) = turn_of(&a, &token).await;
    let (relay_b, username, password) = turn_of(&b, &token).await;
    assert_ne!(relay_a, relay_b, "two relays");

    let mut client = TurnClient::connect(relay_a, false, &username, &password).await;
    let relayed = client
        .allocate()
        .await
        .expect("A's relay takes B's credentials");
    eprintln!("allocated {relayed} on A with B's credentials");

    // A node with its own secret is not one of them.
    let other = node(&pg, &nats, "another-secret-of-another-cluster-42");
    let (relay_other, _, _) = turn_of(&other, &token).await;
    let mut stranger = TurnClient::connect(relay_other, false, &username, &password).await;
    assert!(
        stranger.allocate().await.is_err(),
        "a relay with another secret refuses them"
    );
}
