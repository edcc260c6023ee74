//! meshdesk-signaling: accounts, enrollment, presence, activity feed,
//! sharing and session brokering for a Meshdesk device mesh.
//!
//! [`run`] serves a [`Config`] on a bound listener until a shutdown signal.
//! Handlers are grouped by area in [`api`] (REST) and [`ws`] (WebSocket);
//! durable state is in [`store`], live state in [`hub`].

pub mod api;
pub mod auth;
pub mod broker;
pub mod clock;
pub mod config;
pub mod error;
pub mod feed;
pub mod hub;
pub mod state;
pub mod store;
pub mod web;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use error::{Error, Result};

use crate::auth::throttle::LoginThrottle;
use crate::hub::Hub;
use crate::state::AppState;
use crate::store::Store;

/// Open the database in the configured data dir and build the state.
pub async fn build_state(config: Config) -> Result<AppState> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        Error::Config(format!(
            "data_dir: cannot create {}: {e}",
            config.data_dir.display()
        ))
    })?;
    let store = Store::open(&config.data_dir.join("meshdesk.db"))?;
    store.purge_expired(clock::now_ms())?;
    let dummy_hash = auth::password::dummy_hash().await?;
    Ok(AppState {
        throttle: Arc::new(Mutex::new(LoginThrottle::new(
            config.login_free_failures,
            config.login_max_delay,
        ))),
        config: Arc::new(config),
        store,
        hub: Hub::new(),
        dummy_hash: Arc::new(dummy_hash),
    })
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let api = api::router().merge(ws::router());
    let router = Router::new()
        .nest("/api/v1", api)
        .merge(web::router())
        .fallback(web::not_found)
        .method_not_allowed_fallback(web::method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // Only method and path: query strings and headers may hold secrets.
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        );
    web::security_headers(router).with_state(state)
}

/// Serve until `shutdown` completes, then stop accepting and let open
/// requests finish.
pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = app(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
