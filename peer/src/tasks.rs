//! Ownership of spawned tasks: every task a session starts is aborted when
//! the session (the owner of the [`TaskSet`]) is dropped.

use std::future::Future;
use std::sync::Mutex;

use tokio::task::JoinSet;

/// A set of tasks aborted together on drop. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub(crate) struct TaskSet {
    /// The tasks; `JoinSet` aborts all of them when dropped.
    set: Mutex<JoinSet<()>>,
}

impl TaskSet {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Spawn a task owned by this set.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut set = self
            .set
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Reap finished tasks so a long session does not accumulate handles.
        while set.try_join_next().is_some() {}
        set.spawn(task);
    }

    /// Abort every task now (also happens on drop).
    pub(crate) fn abort_all(&self) {
        let mut set = self
            .set
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        set.abort_all();
    }
}

/// One task, aborted when this handle is dropped.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl AbortOnDrop {
    pub(crate) fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Self {
        Self(tokio::spawn(task))
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
