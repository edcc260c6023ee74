//! Private X displays for tests and benchmarks.
//!
//! [`Xvfb::start`] runs a virtual X server (`Xvfb`), [`Xvfb::start_xvnc`]
//! TigerVNC's `Xvnc` (the same server code, plus RandR modes that
//! [`Xvfb::resize`] switches and keyboard layouts that `setxkbmap` sets).
//! The server picks a free display number itself (`-displayfd`) and reports
//! it once it accepts clients, so tests running side by side never race
//! for a number; dropping the handle stops the server.
//!
//! Around a display: paint its root window ([`Xvfb::paint`]), read every
//! pixel back ([`Xvfb::screenshot`]), run X clients on it
//! ([`Xvfb::command`], [`Xvfb::run`]), read the pointer and find windows
//! with `xdotool` ([`Xvfb::pointer`], [`Xvfb::find_window`]), read what is
//! held down ([`Xvfb::held`]), keep a client
//! alive for a test ([`KillOnDrop`]) and wait on a condition
//! ([`wait_for`]).
//!
//! A harness for tests only: every failure (a missing package, a server
//! that does not start, an X request refused) panics with a message saying
//! what went wrong, which is the test's failure. So there is no error type.
//!
//! Packages: `xvfb`, `tigervnc-standalone-server` (Xvnc), `x11-xserver-utils`
//! (xrandr), `xdotool`.

mod held;
mod process;
mod screen;
mod server;
mod wait;
mod xdotool;

pub use held::Held;
pub use process::KillOnDrop;
pub use screen::Screenshot;
pub use server::Xvfb;
pub use wait::wait_for;
