//! Waiting on a condition with a deadline, never a bare sleep.

use std::time::{Duration, Instant};

/// Polls `check` every 20 ms until it returns `Some`, and returns that;
/// panics after `timeout` naming `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
