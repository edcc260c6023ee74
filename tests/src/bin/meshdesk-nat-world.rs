//! A NAT topology for tests driven from outside Rust (the browser tests):
//! the server and its relay in the public namespace, a host on one LAN
//! behind a cone NAT showing a green screen, and an empty viewer LAN behind
//! another whose router drops all UDP. Prints one JSON line (server URL,
//! the viewer's namespace, the account, the device), then keeps everything
//! up until stdin closes, and tears it all down.
//!
//! With `--https` the server serves HTTPS with a certificate for its
//! address from a test CA; the JSON then names the CA file (`ca_file`)
//! and a `HOME` whose NSS database trusts it (`nss_home`, for Chromium).
//!
//! Root only; otherwise prints `{"unavailable": "why"}` and exits, and
//! the test decides whether that fails or skips it (`tests/web/skip.mjs`).

use std::io::Read;
use std::process::{Command, Stdio};

use meshdesk_tests::mesh::{self, DEVICE, PASSWORD, USER};
use meshdesk_tests::netns::{unavailable, Internet, Nat};
use meshdesk_tests::server::binary;
use meshdesk_tests::tls::TestCa;
use meshdesk_tests::Xvfb;

fn main() {
    if let Some(why) = unavailable() {
        println!("{}", serde_json::json!({ "unavailable": why }));
        return;
    }
    let mut net = Internet::new();
    let host_site = net.site(Nat::Cone);
    let viewer_site = net.site(Nat::Cone);
    viewer_site.block_udp();
    let https = std::env::args().any(|a| a == "--https");
    let ca = https.then(TestCa::new);
    let mut config = mesh::relay_config("");
    if let Some(ca) = &ca {
        let cert = ca.issue("server", &[&meshdesk_tests::netns::SERVER_IP.to_string()]);
        config.push_str(&cert.tls_config());
    }
    let mut server = mesh::start_server(&net.ns, &config);
    server.ca_file = ca.as_ref().map(|ca| ca.ca_file.clone());
    let x = Xvfb::start(640, 360);
    let mut probe = Command::new(binary("meshdesk-xprobe"))
        .args(["window", "--geometry", "640x360+0+0", "--color", "00ff00"])
        .env("DISPLAY", x.display())
        .stdout(Stdio::null())
        .spawn()
        .expect("start meshdesk-xprobe");
    let token = mesh::sign_up(&net.ns, &server);
    let host = mesh::start_host(&net.ns, &server, &token, &host_site.lan, &x);
    println!(
        "{}",
        serde_json::json!({
            "url": server.base,
            "viewer_ns": viewer_site.lan.name(),
            "username": USER,
            "password": PASSWORD,
            "device": DEVICE,
            "device_id": host.device_id,
            "ca_file": ca.as_ref().map(|ca| ca.ca_file.display().to_string()),
            "nss_home": ca.as_ref().map(|ca| ca.nss_home().display().to_string()),
        })
    );
    // Until the test is done with it.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    let _ = probe.kill();
    let _ = probe.wait();
    drop(host);
    drop(server);
    drop((viewer_site, host_site, net, ca));
}
