//! A task handle that aborts its task when dropped, so no task outlives
//! its owner.

use tokio::task::JoinHandle;

/// Owns a spawned task; dropping it aborts the task.
#[derive(Debug)]
pub struct AbortOnDrop<T>(JoinHandle<T>);

impl<T: Send + 'static> AbortOnDrop<T> {
    pub fn spawn(fut: impl std::future::Future<Output = T> + Send + 'static) -> AbortOnDrop<T> {
        AbortOnDrop(tokio::spawn(fut))
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
