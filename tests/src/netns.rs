//! Network namespaces for tests that cross NATs on one machine (root only).
//!
//! A [`Netns`] is a named namespace (`ip netns add`), deleted on drop, also
//! when the test panics. [`Internet`] builds the topology of the NAT tests:
//! a "public" namespace that routes between sites and holds the server at
//! [`SERVER_IP`], and [`Site`]s, each a LAN namespace behind a router
//! namespace that masquerades its traffic as a cone or a symmetric NAT.
//!
//! Addresses come from ranges kept for tests: 198.18.0.0/16 (the benchmark
//! range) is the "internet", 10.77.N.0/24 is site N's LAN. They exist only
//! inside the namespaces a test creates; nothing is added to the machine's
//! own namespace, so tests can build topologies side by side.

use std::ffi::OsStr;
use std::future::Future;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The server's address in the public namespace.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The "internet" range, for the relay's `allowed_peer_ranges`.
pub const INTERNET_RANGE: &str = "198.18.0.0/16";
/// All site LANs, for the relay's `allowed_peer_ranges`.
pub const LAN_RANGE: &str = "10.77.0.0/16";

/// Why namespace tests cannot run here, or `None` when they can: they need
/// root, `ip netns` and `iptables`. Tests check it with [`require_netns!`].
pub fn unavailable() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("network-namespace tests need root".into());
    }
    for (program, args) in [("ip", &["netns", "list"][..]), ("iptables", &["-V"][..])] {
        if !crate::prereq::runs(program, args) {
            return Some(format!(
                "`{program}` is missing or fails (Debian packages iproute2 iptables)"
            ));
        }
    }
    None
}

/// Fail the calling test when namespaces are not available (see
/// [`unavailable`]), or skip it where the run allows skipping (see
/// [`crate::prereq`]).
#[macro_export]
macro_rules! require_netns {
    () => {
        $crate::require!($crate::netns::unavailable())
    };
}

/// Run a command to completion; panics with its stderr when it fails.
pub fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// A command for `program` that runs inside namespace `netns` when given
/// (`ip netns exec` execs the program, so the child's pid is the program's).
pub fn command(netns: Option<&str>, program: impl AsRef<OsStr>) -> Command {
    match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// A named network namespace with its loopback up; deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// A new namespace named after this process, a counter and `tag`, so
    /// concurrent tests (and concurrent test binaries) never collide.
    pub fn new(tag: &str) -> Netns {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("md{}x{n}{tag}", std::process::id());
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME ARGS...`
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        run("ip", &all);
    }

    /// Run `program ARGS...` inside, to completion; panics when it fails.
    pub fn exec(&self, program: &str, args: &[&str]) {
        let mut all = vec!["netns", "exec", &self.name, program];
        all.extend_from_slice(args);
        run("ip", &all);
    }

    /// A command that runs `program` inside.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        command(Some(&self.name), program)
    }

    /// `iptables ARGS...` inside.
    pub fn iptables(&self, args: &[&str]) {
        self.exec("iptables", args);
    }

    /// Forward packets between interfaces (a router).
    pub fn enable_forwarding(&self) {
        self.exec("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
    }

    /// Run `fut` to completion on a thread that has entered this namespace,
    /// with its own single-threaded runtime: every socket it opens lives
    /// here (the test process itself stays in the machine's namespace).
    pub fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        std::thread::scope(|s| {
            let thread = s.spawn(|| {
                let path = format!("/run/netns/{}", self.name);
                let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                rustix::thread::move_into_link_name_space(
                    std::os::fd::AsFd::as_fd(&file),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .expect("setns into the test namespace");
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(fut)
            });
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes the test started inside are killed by their owners;
        // deleting the namespace removes its interfaces and rules.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// Connect `a` and `b` with a veth pair: interface `a_if` with `a_cidr` in
/// `a`, `b_if` with `b_cidr` in `b`, both up.
pub fn veth(a: &Netns, a_if: &str, a_cidr: &str, b: &Netns, b_if: &str, b_cidr: &str) {
    run(
        "ip",
        &[
            "link", "add", a_if, "netns", &a.name, "type", "veth", "peer", "name", b_if, "netns",
            &b.name,
        ],
    );
    for (ns, dev, cidr) in [(a, a_if, a_cidr), (b, b_if, b_cidr)] {
        ns.ip(&["addr", "add", cidr, "dev", dev]);
        ns.ip(&["link", "set", dev, "up"]);
    }
}

/// How a site's router maps its LAN to its public address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// Plain MASQUERADE: one public port per LAN socket whatever the
    /// destination (endpoint-independent mapping), so server-reflexive
    /// candidates work.
    Cone,
    /// MASQUERADE --random-fully: a new random public port for every
    /// destination, so the port the STUN server saw is useless to the peer.
    Symmetric,
}

/// A LAN namespace behind a NAT router namespace.
#[derive(Debug)]
pub struct Site {
    /// The LAN, where a host or a viewer runs.
    pub lan: Netns,
    /// The NAT router between the LAN and the internet.
    pub router: Netns,
    /// The router's public address.
    pub wan_ip: Ipv4Addr,
    /// The address of the machine in the LAN.
    pub lan_ip: Ipv4Addr,
}

impl Site {
    /// Drop every UDP packet the router would forward to or from the LAN
    /// (TCP, and so signaling and TURN over TCP, still pass).
    pub fn block_udp(&self) {
        for dir in ["-i", "-o"] {
            self.router
                .iptables(&["-A", "FORWARD", dir, "lan", "-p", "udp", "-j", "DROP"]);
        }
    }
}

/// The public namespace: the internet's router and the server's home.
#[derive(Debug)]
pub struct Internet {
    pub ns: Netns,
    /// Sites made so far; the next one is number `sites + 1`.
    sites: u8,
}

impl Default for Internet {
    fn default() -> Self {
        Internet::new()
    }
}

impl Internet {
    /// The public namespace, holding [`SERVER_IP`] and routing between sites.
    pub fn new() -> Internet {
        let ns = Netns::new("pub");
        ns.ip(&["addr", "add", &format!("{SERVER_IP}/32"), "dev", "lo"]);
        ns.enable_forwarding();
        Internet { ns, sites: 0 }
    }

    /// A new site N: its router's `wan` is 198.18.N.2 (the internet side is
    /// 198.18.N.1), its LAN 10.77.N.0/24 with the machine at .2 behind the
    /// router's `lan` at .1.
    pub fn site(&mut self, nat: Nat) -> Site {
        self.sites += 1;
        let n = self.sites;
        let router = Netns::new(&format!("r{n}"));
        veth(
            &self.ns,
            &format!("site{n}"),
            &format!("198.18.{n}.1/24"),
            &router,
            "wan",
            &format!("198.18.{n}.2/24"),
        );
        site_behind(n, router, nat, Ipv4Addr::new(198, 18, n, 1))
    }

    /// A new site N as [`Self::site`], but with a link namespace between
    /// its router and the internet, where a slow link is emulated
    /// (`shaped`): the internet's `siteN` (198.18.N.1) faces the link's
    /// `inet` (198.18.N.2); the link's `site` (198.19.N.1) faces the
    /// router's `wan` (198.19.N.2, its public address).
    pub fn site_behind_link(&mut self, nat: Nat) -> (Site, Netns) {
        self.sites += 1;
        let n = self.sites;
        let link = Netns::new(&format!("k{n}"));
        let router = Netns::new(&format!("r{n}"));
        veth(
            &self.ns,
            &format!("site{n}"),
            &format!("198.18.{n}.1/24"),
            &link,
            "inet",
            &format!("198.18.{n}.2/24"),
        );
        veth(
            &link,
            "site",
            &format!("198.19.{n}.1/24"),
            &router,
            "wan",
            &format!("198.19.{n}.2/24"),
        );
        link.ip(&["route", "add", "default", "via", &format!("198.18.{n}.1")]);
        link.enable_forwarding();
        self.ns.ip(&[
            "route",
            "add",
            &format!("198.19.{n}.0/24"),
            "via",
            &format!("198.18.{n}.2"),
        ]);
        let site = site_behind(n, router, nat, Ipv4Addr::new(198, 19, n, 1));
        (site, link)
    }

    /// Drop UDP between two sites' public addresses in the internet: only
    /// paths through the server's relay remain.
    pub fn block_udp_between(&self, a: &Site, b: &Site) {
        for (from, to) in [(a.wan_ip, b.wan_ip), (b.wan_ip, a.wan_ip)] {
            let (from, to) = (from.to_string(), to.to_string());
            self.ns.iptables(&[
                "-A", "FORWARD", "-s", &from, "-d", &to, "-p", "udp", "-j", "DROP",
            ]);
        }
    }
}

/// Site N's router (its `wan` already linked towards the internet, whose
/// side is `gateway`) and LAN: the LAN 10.77.N.0/24 with the machine at .2
/// behind the router's `lan` at .1, and the router's NAT.
fn site_behind(n: u8, router: Netns, nat: Nat, gateway: Ipv4Addr) -> Site {
    let lan = Netns::new(&format!("l{n}"));
    veth(
        &router,
        "lan",
        &format!("10.77.{n}.1/24"),
        &lan,
        "eth0",
        &format!("10.77.{n}.2/24"),
    );
    router.ip(&["route", "add", "default", "via", &gateway.to_string()]);
    lan.ip(&["route", "add", "default", "via", &format!("10.77.{n}.1")]);
    router.enable_forwarding();
    let mut masquerade = vec!["-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j"];
    masquerade.push("MASQUERADE");
    if nat == Nat::Symmetric {
        masquerade.push("--random-fully");
    }
    router.iptables(&masquerade);
    // Unsolicited packets to the router are dropped, as a home router
    // does. Accepted, their connection-tracking entry would stay and
    // clash with the LAN's own outgoing packet to the same peer, which
    // then gets a new port: a cone NAT would act symmetric whenever the
    // peer's check arrives first.
    router.iptables(&[
        "-A",
        "INPUT",
        "-i",
        "wan",
        "-m",
        "conntrack",
        "--ctstate",
        "NEW",
        "-j",
        "DROP",
    ]);
    let [a, b, _, _] = gateway.octets();
    Site {
        lan,
        router,
        wan_ip: Ipv4Addr::new(a, b, n, 2),
        lan_ip: Ipv4Addr::new(10, 77, n, 2),
    }
}
