//! The relay's figures for an operator's metrics: plain numbers read from
//! the core on demand, so the relay needs no metrics library and knows
//! nothing of the server that embeds it.

/// A snapshot of the relay's counters since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Allocations held now (open or being opened).
    pub allocations_active: u64,
    /// Allocations ever made.
    pub allocations_total: u64,
    /// Payload bytes relayed, client to peer and peer to client.
    pub relayed_bytes: u64,
}
