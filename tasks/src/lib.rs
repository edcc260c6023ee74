//! Task ownership for every Meshdesk crate that spawns: each spawned task
//! has an owner, and dropping the owner cancels the task (the iroh-relay
//! rule: no detached task outlives what it serves).
//!
//! - [`AbortOnDrop`]: one task, aborted when its handle is dropped.
//! - [`TaskSet`]: many tasks of one owner, aborted together.
//! - [`sleep_or_never`]: a `select!` arm for a deadline that is not always
//!   armed.

use std::future::Future;
use std::sync::Mutex;

use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Owns one spawned task; dropping it aborts the task.
#[derive(Debug)]
pub struct AbortOnDrop<T = ()>(JoinHandle<T>);

impl<T: Send + 'static> AbortOnDrop<T> {
    /// Spawn `task` on the current runtime, owned by the returned handle.
    pub fn spawn(task: impl Future<Output = T> + Send + 'static) -> AbortOnDrop<T> {
        AbortOnDrop(tokio::spawn(task))
    }
}

impl<T> AbortOnDrop<T> {
    /// Whether the task has finished (or was aborted).
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A set of tasks aborted together on drop. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct TaskSet {
    /// The tasks; `JoinSet` aborts all of them when dropped.
    set: Mutex<JoinSet<()>>,
}

impl TaskSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawn a task owned by this set.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut set = self.lock();
        // Reap finished tasks so a long-lived owner does not accumulate handles.
        while set.try_join_next().is_some() {}
        set.spawn(task);
    }

    /// Abort every task now (also happens on drop).
    pub fn abort_all(&self) {
        self.lock().abort_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JoinSet<()>> {
        // Never held across an await or a panic of ours; a poisoned lock
        // still holds a valid set.
        self.set
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A task that reports when it is dropped (cancelled or finished).
    fn watched() -> (impl Future<Output = ()>, tokio::sync::oneshot::Receiver<()>) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = async move {
            let _guard = tx;
            std::future::pending::<()>().await;
        };
        (task, rx)
    }

    #[tokio::test]
    async fn dropping_the_handle_aborts_the_task() {
        let (task, gone) = watched();
        let handle = AbortOnDrop::spawn(task);
        assert!(!handle.is_finished());
        drop(handle);
        tokio::time::timeout(Duration::from_secs(5), gone)
            .await
            .expect("the task was aborted")
            .expect_err("the sender was dropped, not used");
    }

    #[tokio::test]
    async fn dropping_the_set_aborts_every_task() {
        let set = TaskSet::new();
        let (a, gone_a) = watched();
        let (b, gone_b) = watched();
        set.spawn(a);
        set.spawn(b);
        drop(set);
        for gone in [gone_a, gone_b] {
            let _ = tokio::time::timeout(Duration::from_secs(5), gone)
                .await
                .expect("the task was aborted");
        }
    }

    #[tokio::test]
    async fn no_deadline_never_fires_and_a_deadline_does() {
        let never = tokio::time::timeout(Duration::from_millis(50), sleep_or_never(None)).await;
        assert!(never.is_err(), "no deadline must not fire");
        let at = Instant::now() + Duration::from_millis(10);
        tokio::time::timeout(Duration::from_secs(5), sleep_or_never(Some(at)))
            .await
            .expect("a deadline fires");
    }
}
