//! Connecting across networks: the real server, host and viewer in network
//! namespaces behind NAT routers (see `meshdesk_tests::netns`), one
//! topology per test. Each test asserts that the viewer connected, how
//! (the candidate types), and that it decoded frames.
//!
//! Root only, and the coturn tests need `turnserver`: scripts/test runs as
//! root with coturn installed. Elsewhere every test fails saying what is
//! missing, unless the run sets `MESHDESK_ALLOW_SKIP=1`: then it is
//! skipped and counted (`meshdesk_tests::prereq`).

use std::time::{SystemTime, UNIX_EPOCH};

use meshdesk_tests::coturn::Coturn;
use meshdesk_tests::mesh::{self, Viewer, DEVICE, RELAY_SECRET};
use meshdesk_tests::netns::{Internet, Nat, Site, SERVER_IP};
use meshdesk_tests::turn::{coturn_password, udp_echo, TurnClient};
use meshdesk_tests::{require, require_netns, Api, Host, Server, Xvfb};
use serde_json::Value;

/// How long each viewer session lasts: the first frame through the relay
/// takes about 2 s here, sometimes more (docs/performance.md, "Connect
/// time").
const SESSION_SECS: f64 = 5.0;

/// Where the host and the viewer sit.
enum Layout {
    /// Together on one LAN behind one router.
    SameLan,
    /// Each on its own LAN behind its own router of this kind.
    Apart(Nat),
}

/// The internet and the sites: the host's first, the viewer's last (the
/// same one on a shared LAN).
fn network(layout: Layout) -> (Internet, Vec<Site>) {
    let mut net = Internet::new();
    let sites = match layout {
        Layout::SameLan => vec![net.site(Nat::Cone)],
        Layout::Apart(nat) => vec![net.site(nat), net.site(nat)],
    };
    (net, sites)
}

/// A running deployment. Fields drop in order: processes first, then the
/// namespaces they ran in.
struct World {
    viewer: Viewer,
    host: Host,
    server: Server,
    _x: Xvfb,
    _sites: Vec<Site>,
    _net: Internet,
}

impl World {
    /// Server with `config` in the public namespace, a host enrolled and
    /// online in the first site, a viewer signed in in the last.
    fn start(net: Internet, sites: Vec<Site>, config: &str) -> World {
        let server = mesh::start_server(&net.ns, config);
        let x = Xvfb::start(640, 360);
        let token = mesh::sign_up(&net.ns, &server);
        let host = mesh::start_host(&net.ns, &server, &token, &sites[0].lan, &x);
        let viewer = Viewer::login(&sites[sites.len() - 1].lan, &server);
        World {
            viewer,
            host,
            server,
            _x: x,
            _sites: sites,
            _net: net,
        }
    }

    /// A headless session of [`SESSION_SECS`]; its stats report.
    fn session(&self) -> Value {
        let stats = self
            .viewer
            .connect(DEVICE, SESSION_SECS)
            .unwrap_or_else(|e| panic!("{e}\n--- server log ---\n{}", self.server.log_text()));
        eprintln!("stats: {stats}");
        if std::env::var_os("MESHDESK_NAT_LOGS").is_some() {
            eprintln!("--- viewer log ---\n{}", self.viewer.log_text());
            eprintln!("--- host log ---\n{}", self.host.log_text());
        }
        stats
    }

    /// The candidate type the host reports for its side of the pair.
    fn host_candidate(&self) -> String {
        let log = plain(&self.host.log_text());
        log.lines()
            .rev()
            .filter(|l| l.contains("viewer connected"))
            .find_map(|l| l.split("candidate_pair_type=").nth(1))
            .map(|t| t.trim().to_lowercase())
            .unwrap_or_else(|| "unknown".into())
    }

    /// Frames decoded, and whether either side's candidate is a relayed
    /// one (the viewer's stats name only its own side).
    fn assert_connected(&self, stats: &Value, relayed: bool) {
        if stats["frames_decoded"].as_u64().unwrap_or(0) == 0 {
            eprintln!("--- viewer log ---\n{}", self.viewer.log_text());
        }
        assert!(stats["frames_decoded"].as_u64().unwrap_or(0) > 0, "{stats}");
        assert!(stats["connect_ms"].as_f64().is_some(), "{stats}");
        assert!(stats["first_frame_ms"].as_f64().is_some(), "{stats}");
        let host_side = self.host_candidate();
        let through_relay = stats["relayed"] == true || host_side == "relay";
        assert_eq!(
            through_relay, relayed,
            "relayed? viewer side {}, host side {host_side}",
            stats["candidate_type"]
        );
        // Each side's TURN bridges wake webrtc's driver only when media goes
        // through them: never on a side whose candidate is direct, even
        // though ICE checked the relay pairs too. Each bridge connection
        // says how many kicks it sent when it ends.
        let kicked = |log: String| plain(&log).contains("media relayed through this bridge");
        assert_eq!(
            kicked(self.host.log_text()),
            host_side == "relay",
            "host side {host_side}"
        );
        assert_eq!(
            kicked(self.viewer.log_text()),
            stats["candidate_type"] == "relay",
            "viewer side {}",
            stats["candidate_type"]
        );
        let viewer_kicks = kicks(&self.viewer.log_text()).expect("the viewer's bridges ended");
        assert_eq!(
            viewer_kicks > 0,
            stats["candidate_type"] == "relay",
            "viewer side {}: {viewer_kicks} kicks",
            stats["candidate_type"]
        );
        // The host's bridges end with its session, just after the viewer's.
        let deadline = std::time::Instant::now() + meshdesk_tests::WAIT;
        let host_kicks = loop {
            if let Some(n) = kicks(&self.host.log_text()) {
                break n;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the host's bridges never ended"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(
            host_kicks > 0,
            host_side == "relay",
            "host side {host_side}: {host_kicks} kicks"
        );
    }
}

/// The kicks a log's TURN bridge connections sent in all, once at least
/// one of them has ended.
fn kicks(log: &str) -> Option<u64> {
    let done: Vec<u64> = plain(log)
        .lines()
        .filter(|l| l.contains("TURN bridge connection done"))
        .filter_map(|l| {
            l.split("kicks=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    (!done.is_empty()).then(|| done.iter().sum())
}

/// A log without terminal colour codes.
fn plain(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[test]
fn same_lan_connects_directly_with_host_candidates() {
    require_netns!();
    let (net, sites) = network(Layout::SameLan);
    let w = World::start(net, sites, &mesh::relay_config(""));
    let stats = w.session();
    w.assert_connected(&stats, false);
    assert_eq!(stats["candidate_type"], "host");
    assert_eq!(w.host_candidate(), "host");
}

#[test]
fn cone_nats_connect_directly_without_the_relay() {
    require_netns!();
    let (net, sites) = network(Layout::Apart(Nat::Cone));
    let w = World::start(net, sites, &mesh::relay_config(""));
    let stats = w.session();
    // The LANs cannot reach each other, so a direct pair goes from one
    // side's socket to the other's server-reflexive (NAT) address.
    w.assert_connected(&stats, false);
}

#[test]
fn symmetric_nats_connect_through_the_relay() {
    require_netns!();
    let (net, sites) = network(Layout::Apart(Nat::Symmetric));
    let w = World::start(net, sites, &mesh::relay_config(""));
    let stats = w.session();
    w.assert_connected(&stats, true);
}

#[test]
fn viewer_without_udp_connects_through_turn_over_tcp() {
    require_netns!();
    let (net, sites) = network(Layout::Apart(Nat::Cone));
    sites[1].block_udp();
    let viewer_wan = format!("client={}:", sites[1].wan_ip);
    let w = World::start(net, sites, &mesh::relay_config(""));
    let stats = w.session();
    w.assert_connected(&stats, true);
    assert_eq!(stats["candidate_type"], "relay");
    // The viewer's only allocation, and it came over TCP.
    let log = plain(&w.server.log_text());
    let viewer_allocations: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&viewer_wan) && l.contains(" allocated "))
        .collect();
    assert!(
        !viewer_allocations.is_empty(),
        "the viewer allocated:\n{log}"
    );
    assert!(
        viewer_allocations
            .iter()
            .all(|l| l.contains("transport=\"tcp\"")),
        "{viewer_allocations:#?}"
    );
}

#[test]
fn relay_only_network_connects_through_the_relay() {
    require_netns!();
    // No UDP between the two sites: only paths through the server remain.
    let (net, sites) = network(Layout::Apart(Nat::Cone));
    net.block_udp_between(&sites[0], &sites[1]);
    let w = World::start(net, sites, &mesh::relay_config(""));
    let stats = w.session();
    w.assert_connected(&stats, true);
    let log = plain(&w.server.log_text());
    assert!(log.contains("allocated"), "the relay allocated");
}

#[test]
fn relay_only_policy_connects_through_the_relay() {
    require_netns!();
    // Direct paths exist (cone NATs); the viewer refuses them.
    let (net, sites) = network(Layout::Apart(Nat::Cone));
    let w = World::start(net, sites, &mesh::relay_config(""));
    let stats = w
        .viewer
        .connect_with(DEVICE, SESSION_SECS, &["--relay-only"])
        .unwrap_or_else(|e| panic!("{e}"));
    w.assert_connected(&stats, true);
    assert_eq!(stats["candidate_type"], "relay", "{stats}");
    assert_eq!(stats["relayed"], true, "{stats}");
}

#[test]
fn expired_relay_credentials_are_refused() {
    require_netns!();
    let (net, sites) = network(Layout::Apart(Nat::Cone));
    net.block_udp_between(&sites[0], &sites[1]);
    // A relay server, and a server that hands out an expired credential
    // for it (correctly signed with its secret).
    let relay = mesh::start_server(&net.ns, &mesh::relay_config(""));
    let token = mesh::sign_up(&net.ns, &relay);
    let api = Api::new(&relay);
    let (_, body) = net
        .ns
        .block_on(api.call("GET", "/ice-servers", Some(&token), None));
    let stun = body["ice_servers"][0]["urls"][0]
        .as_str()
        .expect("stun URL")
        .to_string();
    let addr = stun.trim_start_matches("stun:");
    let username = format!("{}:alice", unix_now() - 60);
    let password = coturn_password(RELAY_SECRET, &username);
    let config = format!(
        "signup = \"open\"\n\n[[ice_servers]]\nurls = [\"{stun}\"]\n\n[[ice_servers]]\n\
         urls = [\"turn:{addr}?transport=udp\"]\nusername = \"{username}\"\n\
         credential = \"{password}\"\n\n[relay]\nenabled = false\n"
    );
    let w = World::start(net, sites, &config);
    let stats = w.session();
    assert_eq!(stats["frames_decoded"], 0, "{stats}");
    assert!(stats["connect_ms"].is_null(), "no connection: {stats}");
    let log = plain(&relay.log_text());
    assert!(
        log.contains("TURN credentials refused") && log.contains("credentials expired"),
        "the relay refused the expired credential:\n{log}"
    );
    assert!(!log.contains("allocated"), "no allocation:\n{log}");
    drop(w);
}

#[test]
fn relay_refuses_loopback_and_peers_outside_the_allowed_ranges() {
    require_netns!();
    let (net, sites) = network(Layout::Apart(Nat::Cone));
    let server = mesh::start_server(&net.ns, &mesh::relay_config(""));
    let token = mesh::sign_up(&net.ns, &server);
    let api = Api::new(&server);
    let lan = &sites[0].lan;
    // A client behind the NAT, with the credentials the API hands out.
    lan.block_on(async {
        let (_, body) = api.call("GET", "/ice-servers", Some(&token), None).await;
        let turn = body["ice_servers"]
            .as_array()
            .expect("list")
            .iter()
            .find(|s| {
                s["urls"][0]
                    .as_str()
                    .is_some_and(|u| u.starts_with("turn:"))
            })
            .expect("a TURN entry")
            .clone();
        let url = turn["urls"][0].as_str().expect("url");
        let addr = url
            .trim_start_matches("turn:")
            .trim_end_matches("?transport=udp")
            .parse()
            .expect("relay address");
        let user = turn["username"].as_str().expect("username");
        let pass = turn["credential"].as_str().expect("credential");
        let mut client = TurnClient::connect(addr, false, user, pass).await;
        let relayed = client.allocate().await.expect("allocation");
        for peer in [
            "127.0.0.1:9",
            "0.0.0.0:9",
            "10.1.2.3:9",
            "192.168.1.1:9",
            "169.254.169.254:80",
        ] {
            let err = client
                .create_permission(relayed, peer.parse().expect("addr"))
                .await
                .expect_err(peer);
            assert!(err.contains("403"), "{peer}: {err}");
        }
        // A peer in the allowed range is fine.
        let other = format!("{}:9", sites[1].wan_ip);
        client
            .create_permission(relayed, other.parse().expect("addr"))
            .await
            .expect("an allowed peer");
    });
    let log = plain(&server.log_text());
    assert!(log.contains("peer address refused"), "refusals are logged");
}

#[test]
fn coturn_relays_a_whole_session() {
    require_netns!();
    require!(Coturn::unavailable());
    let (net, sites) = network(Layout::Apart(Nat::Symmetric));
    let secret = "coturn-shared-secret-0123456789";
    let coturn = Coturn::start(
        &net.ns,
        SERVER_IP,
        secret,
        "meshdesk",
        &["198.18.0.0-198.18.255.255"],
    );
    let addr = coturn.addr;
    let config = format!(
        "signup = \"open\"\n\n[relay]\nenabled = false\n\n[turn_external]\n\
         urls = [\"stun:{addr}\", \"turn:{addr}?transport=udp\"]\nshared_secret = \"{secret}\"\n"
    );
    let w = World::start(net, sites, &config);
    let stats = w.session();
    w.assert_connected(&stats, true);
    let log = coturn.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains(":ses_") && l.contains("ALLOCATE processed, success")),
        "coturn allocated for the session's credential:\n{log}"
    );
    drop(w);
}

#[test]
fn coturn_accepts_the_servers_credentials_and_relays() {
    require_netns!();
    require!(Coturn::unavailable());
    let (net, sites) = network(Layout::Apart(Nat::Cone));
    // An echo peer on a second public address.
    let peer_ip = "198.18.0.2";
    net.ns
        .ip(&["addr", "add", &format!("{peer_ip}/32"), "dev", "lo"]);
    let secret = "coturn-shared-secret-0123456789";
    let coturn = Coturn::start(
        &net.ns,
        SERVER_IP,
        secret,
        "meshdesk",
        &["198.18.0.0-198.18.255.255"],
    );
    let addr = coturn.addr;
    let server = mesh::start_server(
        &net.ns,
        &format!(
            "signup = \"open\"\n\n[relay]\nenabled = false\n\n[turn_external]\n\
             urls = [\"stun:{addr}\", \"turn:{addr}?transport=udp\"]\n\
             shared_secret = \"{secret}\"\n"
        ),
    );
    let token = mesh::sign_up(&net.ns, &server);
    let api = Api::new(&server);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            net.ns.block_on(async {
                let socket = tokio::net::UdpSocket::bind(format!("{peer_ip}:0"))
                    .await
                    .expect("echo socket");
                port_tx
                    .send(socket.local_addr().expect("addr"))
                    .expect("send port");
                udp_echo(socket, stop_rx).await;
            })
        });
        let peer = port_rx.recv().expect("echo address");
        sites[1].lan.block_on(async {
            let (_, body) = api.call("GET", "/ice-servers", Some(&token), None).await;
            let turn = body["ice_servers"]
                .as_array()
                .expect("list")
                .iter()
                .find(|s| {
                    s["urls"][0]
                        .as_str()
                        .is_some_and(|u| u.starts_with("turn:"))
                })
                .expect("a TURN entry")
                .clone();
            let user = turn["username"].as_str().expect("username");
            let pass = turn["credential"].as_str().expect("credential");
            let mut client = TurnClient::connect(addr, false, user, pass).await;
            let relayed = client.allocate().await.expect("coturn allocates");
            client
                .echo_through_channel(relayed, peer)
                .await
                .expect("relayed both ways");
            // coturn refuses an expired credential in the same scheme.
            let expired = format!("{}:alice", unix_now() - 60);
            let mut late =
                TurnClient::connect(addr, false, &expired, &coturn_password(secret, &expired))
                    .await;
            let err = late.allocate().await.expect_err("expired");
            assert!(err.contains("401"), "{err}");
        });
        let _ = stop_tx.send(());
    });
}

#[test]
fn harness_cleans_up_its_namespaces() {
    require_netns!();
    let names: Vec<String> = {
        let (net, sites) = network(Layout::Apart(Nat::Cone));
        let mut names = vec![net.ns.name().to_string()];
        for s in &sites {
            names.push(s.lan.name().to_string());
            names.push(s.router.name().to_string());
        }
        names
    };
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    let list = String::from_utf8_lossy(&out.stdout);
    for n in names {
        assert!(
            !list
                .lines()
                .any(|l| l.split_whitespace().next() == Some(&n)),
            "{n} left behind"
        );
    }
}
