//! Who is asking: passwords, tokens, the authenticated-user extractor,
//! origin checks and sign-in throttling.

pub mod extract;
pub mod origin;
pub mod password;
pub mod secret;
pub mod throttle;

pub use extract::{AuthUser, ClientIp};
pub use secret::Secret;
