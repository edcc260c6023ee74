//! A NAT topology for tests driven from outside Rust (the browser tests):
//! the server and its relay in the public namespace, a host on one LAN
//! behind a cone NAT showing a green screen, and an empty viewer LAN behind
//! another whose router drops all UDP. Prints one JSON line (server URL,
//! the viewer's namespace, the account, the device), then keeps everything
//! up until stdin closes, and tears it all down.
//!
//! Root only; otherwise prints `{"unavailable": "why"}` and exits, and
//! the test decides whether that fails or skips it (`tests/web/skip.mjs`).

use std::io::Read;
use std::process::{Command, Stdio};

use meshdesk_tests::mesh::{self, DEVICE, PASSWORD, USER};
use meshdesk_tests::netns::{unavailable, Internet, Nat};
use meshdesk_tests::server::binary;
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
    let server = mesh::start_server(&net.ns, &mesh::relay_config(""));
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
        })
    );
    // Until the test is done with it.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    let _ = probe.kill();
    let _ = probe.wait();
    drop(host);
    drop(server);
    drop((viewer_site, host_site, net));
}
