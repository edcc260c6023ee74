//! `meshdesk-client`: a Rust client of the Meshdesk REST API.
//!
//! - [`Client`]: one server and an optional bearer token (a sign-in's, or
//!   a personal API token's), with a typed call for every REST route:
//!   accounts and sign-in, enrollment, devices, shares, the paged feed
//!   ([`EventsQuery`]), ICE servers, API tokens, webhooks and their
//!   deliveries, and the OpenAPI document.
//! - [`Client::events`]: the live feed as a [`futures::Stream`] of
//!   [`FeedItem`]s that reconnects by itself and resumes with
//!   `Last-Event-ID`, so each event arrives once, in order.
//! - [`Client::presence`]: the devices a user may see and each change to
//!   them, as a stream of [`DeviceState`]s.
//! - [`Client::with_trust`]: an `https://` server verified against a CA
//!   file or a pinned certificate fingerprint instead of the system's CAs.
//! - [`Error`]: whether the server could not be reached, answered
//!   something unreadable, or refused the request (its status and
//!   `{"error": ...}` text).
//!
//! The REST bodies are those of `meshdesk-protocol`, re-exported as
//! [`rest`].
//!
//! # Example
//!
//! Watch the feed with an API token and print each event:
//!
//! ```no_run
//! use futures::StreamExt;
//! use meshdesk_client::{Client, EventsQuery, FeedItem};
//!
//! # async fn run() -> Result<(), meshdesk_client::Error> {
//! let client = Client::new("http://127.0.0.1:8080")?
//!     .with_token(std::env::var("MESHDESK_TOKEN").unwrap_or_default());
//! println!("signed in as {}", client.me().await?.username);
//! let mut events = std::pin::pin!(client.events(EventsQuery::new()));
//! while let Some(item) = events.next().await {
//!     match item? {
//!         FeedItem::Event(e) => println!("{} {} {:?}", e.id, e.kind.as_str(), e.device_name),
//!         FeedItem::Gap { after, before } => println!("events {after}..{before} were pruned"),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```

mod account;
mod client;
mod devices;
mod error;
mod events;
mod feed;
mod presence;
mod server_info;
mod tokens;
mod webhooks;

pub use client::{Client, Token};
pub use error::{Error, Result};
pub use events::EventsQuery;
pub use feed::{FeedConnection, FeedItem};
/// How an `https://` server is verified ([`Client::with_trust`]).
pub use meshdesk_tls::{Fingerprint, Trust};
pub use presence::DeviceState;

/// The REST bodies (from `meshdesk-protocol`).
pub use meshdesk_protocol::rest;
