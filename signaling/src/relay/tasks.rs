//! Task ownership: every task the relay spawns is held by an
//! [`AbortOnDrop`], so dropping its owner (an allocation, the relay)
//! cancels it.

use std::future::Future;

/// One task, aborted when this handle is dropped.
#[derive(Debug)]
pub struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl AbortOnDrop {
    pub fn spawn(task: impl Future<Output = ()> + Send + 'static) -> AbortOnDrop {
        AbortOnDrop(tokio::spawn(task))
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
