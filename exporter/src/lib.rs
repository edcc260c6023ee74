//! Prometheus figures for Meshdesk's server and host.
//!
//! Each process builds its own [`Registry`] (never the global default, so
//! several servers in one test process keep their figures apart),
//! registers its metrics on it, and serves it with [`router`]: `GET
//! /metrics` in the text exposition format, behind a [`Token`] when one
//! is configured. Metric names start with [`PREFIX`].

mod error;
mod route;
mod token;

pub use prometheus;
pub use prometheus::Registry;

pub use error::{Error, Result};
pub use route::{encode, router, serve, PATH};
pub use token::Token;

/// The prefix of every Meshdesk metric name.
pub const PREFIX: &str = "meshdesk";

/// A registry whose metric names all start with `meshdesk_`.
pub fn registry() -> Registry {
    // The prefix is a valid metric name, so this cannot fail; a plain
    // registry would still serve, only without the prefix.
    Registry::new_custom(Some(PREFIX.to_string()), None).unwrap_or_default()
}
