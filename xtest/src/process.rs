//! Stopping processes a test started: the X server, and X clients.

use std::process::Child;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

/// How long a process may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A child process (an X client under test) killed and reaped on drop.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Asks `child` to exit with SIGTERM (an X server then removes its socket
/// and lock file), kills it if it is still there after [`STOP_TIMEOUT`],
/// and reaps it.
pub(crate) fn stop(child: &mut Child) {
    if kill_process(Pid::from_child(child), Signal::TERM).is_ok() {
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
