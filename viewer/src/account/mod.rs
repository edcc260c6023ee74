//! The viewer's account: signing in and out, the stored login, the REST
//! client, and the device list.
//!
//! - [`commands`]: `login`, `logout`, `list`, and finding a device for
//!   `connect`.
//! - [`api`]: REST errors and finding a device; [`servers`]: the REST
//!   clients of the login's servers, tried in order; [`login_file`]: the
//!   token on disk;
//!   [`table`]: the device list as text; [`known_devices`]: device keys
//!   pinned at first use; [`second_factor`]: the authentication code at
//!   sign-in.

pub mod api;
pub mod commands;
pub mod known_devices;
pub mod login_file;
pub mod second_factor;
pub mod server_trust;
pub mod servers;
pub mod table;

pub use commands::{find_device, list, login, logout, signed_in, PASSWORD_ENV};
pub use login_file::Login;
pub use second_factor::TOTP_ENV;
pub use server_trust::TrustArgs;
pub use servers::Servers;
