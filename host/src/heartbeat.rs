//! A loop's last sign of life: a loop that works stamps it, a watcher
//! reads how long ago that was. Shared between threads (the capture thread
//! stamps one, the signaling task another, the systemd watchdog reads both).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// When a loop last said it was alive. Cheap to clone; clones share it.
#[derive(Debug, Clone)]
pub struct Heartbeat(Arc<Mutex<Instant>>);

impl Heartbeat {
    /// A heartbeat that beat just now.
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }

    /// The loop is alive now.
    pub fn beat(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// When it last beat.
    pub fn last(&self) -> Instant {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_stamp() {
        let a = Heartbeat::new();
        let b = a.clone();
        let before = a.last();
        std::thread::sleep(std::time::Duration::from_millis(2));
        b.beat();
        assert!(a.last() > before);
    }
}
