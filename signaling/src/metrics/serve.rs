//! Where `GET /metrics` is served: on the main router ([`main_routes`]),
//! or on a listener of its own ([`bind`], [`serve_own`]), as
//! `[metrics]` says.

use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::MetricsPlace;
use crate::error::{Error, Result};
use crate::state::AppState;

/// The `/metrics` route, refreshing live figures from `st` first.
fn route<S: Clone + Send + Sync + 'static>(st: &AppState) -> Router<S> {
    let metrics = Arc::clone(&st.metrics);
    let hub = st.hub.clone();
    let relay = st.relay.clone();
    meshdesk_exporter::router(
        st.metrics.registry.clone(),
        st.config.metrics.token.clone(),
        move || metrics.refresh(&hub, relay.as_deref()),
    )
}

/// The routes to merge into the main router: `/metrics` when it is served
/// there, nothing otherwise (so it is a 404).
pub fn main_routes(st: &AppState) -> Router<AppState> {
    match st.config.metrics.place {
        MetricsPlace::Main => route(st),
        MetricsPlace::Off | MetricsPlace::Own(_) => Router::new(),
    }
}

/// Bind the metrics listener when `[metrics] listen` is set.
pub async fn bind(st: &AppState) -> Result<Option<TcpListener>> {
    let MetricsPlace::Own(addr) = st.config.metrics.place else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Config(format!("metrics.listen: cannot listen on {addr}: {e}")))?;
    Ok(Some(listener))
}

/// Serve `/metrics` alone on its own listener until the future is
/// dropped; a failure to accept is logged (the main server keeps going).
pub async fn serve_own(st: AppState, listener: TcpListener) {
    let app: Router = route(&st);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the metrics listener failed");
    }
}
