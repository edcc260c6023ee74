//! Feed retention in the store: delete old events, and remember how far
//! deleting went so that a reader resuming from before it learns of the
//! gap (see [`crate::feed::cursor::gap`]).
//!
//! Pruning deletes a prefix of ids (everything up to the newest event
//! recorded before the cutoff), so "every id up to `through_id` is gone"
//! holds exactly, even if the clock once stepped back.

use async_trait::async_trait;

use crate::error::Result;
use crate::feed::cursor::Pruned;

/// Deleting old events.
#[async_trait]
pub trait Retention: Send + Sync {
    /// Delete every event up to the newest one recorded before
    /// `cutoff_at` (epoch ms); returns how many were deleted.
    async fn prune_events(&self, cutoff_at: i64) -> Result<usize>;

    /// How far pruning has deleted; `None` when it never deleted anything.
    async fn pruned(&self) -> Result<Option<Pruned>>;
}
