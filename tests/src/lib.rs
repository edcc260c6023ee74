//! Shared harness for end-to-end tests: starts the real `meshdesk-signaling`
//! binary on port 0 with a fresh data dir and real SQLite file, and drives
//! it with an HTTP client, test hosts (real Ed25519 keys) and test viewers
//! over real WebSockets. Everything is torn down on drop.

pub mod clients;
pub mod conn;
pub mod coturn;
pub mod feed_world;
pub mod floor;
pub mod forwarding_proxy;
pub mod host;
pub mod load;
pub mod mesh;
pub mod mitm;
pub mod nats;
pub mod netns;
pub mod notify;
pub mod package;
pub mod postgres;
pub mod prereq;
pub mod prom;
pub mod pulse;
pub mod receiver;
pub mod reverse_proxy;
pub mod server;
pub mod shaped;
pub mod sse;
pub mod tcp_proxy;
pub mod tls;
pub mod turn;
pub mod viewer;

pub use clients::{Api, TestDevice};
pub use conn::{HostConn, ViewerConn};
pub use feed_world::FeedWorld;
pub use host::Host;
pub use meshdesk_xtest::{Screenshot, Xvfb};
pub use receiver::Receiver;
pub use server::Server;
pub use sse::{Block, FeedStream};

/// How long any single expectation may take before the test fails.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Poll `done` every 50 ms until it holds; fails the test after `bound`.
/// Returns how long it took. For conditions read from logs and files of
/// other processes, which have nothing to await.
pub fn wait_until(
    what: &str,
    bound: std::time::Duration,
    mut done: impl FnMut() -> bool,
) -> std::time::Duration {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < bound, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    start.elapsed()
}
