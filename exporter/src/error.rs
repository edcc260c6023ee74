//! The crate's one error enum.

/// What can go wrong building or serving metrics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A metric could not be made or registered (a bad name, or a name
    /// registered twice): a bug in the caller.
    #[error("metric: {0}")]
    Metric(#[from] prometheus::Error),
    /// The metrics token is empty or not printable ASCII.
    #[error("metrics.token: {0}")]
    Token(&'static str),
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
