//! A task handle that aborts its task when dropped, so no task outlives
//! its owner; and an optional deadline for `select!` loops.

use tokio::task::JoinHandle;
use tokio::time::Instant;

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

/// Sleep until `deadline`, or forever when there is none: a `select!` arm
/// for a timer that is not always armed.
pub async fn sleep_or_never(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
