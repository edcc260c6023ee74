//! The relay's one error enum: what can stop it from starting. Once
//! running it never fails as a whole; a bad request gets a STUN error
//! reply and is logged, not returned.

/// Everything that can go wrong starting the relay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `[relay]` setting is invalid or cannot be used (an address that
    /// cannot be bound, a secret file that cannot be read); the message
    /// starts with the field, e.g. `relay.listen: ...`.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// I/O on a socket that was bound failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Result alias for the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::Config`] for `field`.
    pub(crate) fn field(field: &str, msg: impl std::fmt::Display) -> Error {
        Error::Config(format!("{field}: {msg}"))
    }
}
