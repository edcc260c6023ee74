//! The README's reverse proxy examples, run for real in front of a server
//! on plain HTTP: nginx (`docs/examples/nginx.conf`) and Caddy
//! (`docs/examples/Caddyfile`), each serving HTTPS. Through each, the whole
//! journey works: sign-up and sign-in (REST), the live feed (server-sent
//! events, arriving while the stream stays open), a host that enrolls and
//! comes online (its WebSocket upgraded through the proxy), and the native
//! viewer's session, which decodes the host's pictures. The server trusts
//! the proxy's `X-Forwarded-For`, as the README's config says.

use meshdesk_client::Trust;
use meshdesk_tests::clients::PASSWORD;
use meshdesk_tests::require;
use meshdesk_tests::reverse_proxy::{self, free_port, Proxy};
use meshdesk_tests::tls::TestCa;
use meshdesk_tests::viewer::{wait_online, ViewerHome};
use meshdesk_tests::{Api, FeedStream, Host, Server, Xvfb, WAIT};

/// A server on plain HTTP that believes the proxy at 127.0.0.1 and knows
/// its public URL (`https://localhost:PORT`, the proxy's), as the README
/// configures it.
fn server_behind(port: u16) -> Server {
    Server::start_with(&format!(
        "signup = \"open\"\npublic_url = \"https://localhost:{port}\"\ntrusted_proxies = [\"127.0.0.1\"]\n"
    ))
}

/// `http://HOST:PORT` to `HOST:PORT`.
fn upstream(server: &Server) -> String {
    server
        .base
        .strip_prefix("http://")
        .expect("the server speaks plain HTTP")
        .to_string()
}

/// The journey through `proxy`: every client uses its URL and trusts its CA.
async fn journey_through(proxy: &Proxy, mut server: Server) {
    server.base = proxy.url.clone();
    server.ca_file = Some(proxy.ca_file.clone());
    let api = Api::with_trust(&server, &Trust::CaFile(proxy.ca_file.clone()));
    let alice = api.user("alice").await;
    let mut feed = tokio::time::timeout(WAIT, FeedStream::open(&api, &alice))
        .await
        .expect("the live feed opens through the proxy (is it buffered?)");

    let x = Xvfb::start(640, 480);
    let host = Host::start(&server, &api, &alice, &x, "proxied-pc").await;
    wait_online(&api, &alice, &host.device_id).await;
    let online = feed
        .next_where("device_online", |e| {
            e["kind"] == "device_online" && e["device_id"] == host.device_id.as_str()
        })
        .await;
    eprintln!("live through the proxy: {online}");

    let viewer = ViewerHome::new();
    let login = viewer
        .command(&[
            "login",
            "--server",
            &proxy.url,
            "--username",
            "alice",
            "--ca-file",
            &proxy.ca_file.display().to_string(),
        ])
        .env("MESHDESK_PASSWORD", PASSWORD)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run login");
    assert!(
        login.status.success(),
        "login through the proxy: {}",
        String::from_utf8_lossy(&login.stderr)
    );
    let stats = viewer.connect_stats("proxied-pc", &["--duration", "2"]);
    assert!(stats["frames_decoded"].as_u64().unwrap_or(0) > 0, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nginx_example_carries_the_whole_journey() {
    require!(reverse_proxy::unavailable("nginx", "nginx"));
    let ca = TestCa::new();
    let cert = ca.issue("proxy", &["localhost"]);
    let port = free_port();
    let server = server_behind(port);
    let proxy = Proxy::nginx(port, &upstream(&server), &cert, &ca.ca_file);
    journey_through(&proxy, server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caddy_example_carries_the_whole_journey() {
    require!(reverse_proxy::unavailable("caddy", "caddy"));
    let port = free_port();
    let server = server_behind(port);
    let proxy = Proxy::caddy(port, &upstream(&server));
    journey_through(&proxy, server).await;
}

#[test]
fn the_readme_shows_the_examples_the_tests_run() {
    let readme =
        std::fs::read_to_string(meshdesk_tests::package::workspace_root().join("README.md"))
            .expect("README.md");
    for (name, fence) in [
        ("nginx.conf", "```nginx\n"),
        ("Caddyfile", "```\n"),
        ("haproxy.cfg", "```haproxy\n"),
    ] {
        let example = reverse_proxy::example(name);
        assert!(
            readme.contains(&format!("{fence}{example}```")),
            "README.md does not show docs/examples/{name} as it is"
        );
    }
}
