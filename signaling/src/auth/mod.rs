//! Who is asking: passwords, second factors (TOTP, recovery codes), tokens,
//! origin checks and sign-in throttling. Pure of the server's state; the
//! extractors that apply them to a request are in [`crate::extract`].

pub mod access;
pub mod origin;
pub mod password;
pub mod recovery;
pub mod second_factor;
pub mod secret;
pub mod throttle;
pub mod totp;

pub use access::Access;
pub use secret::Secret;
