//! meshdesk-signaling: accounts, enrollment, presence, activity feed,
//! sharing and session brokering for a Meshdesk device mesh.
//!
//! [`run`] serves a [`Config`] on a bound listener until a shutdown signal.
//! Handlers are grouped by area in [`api`] (REST) and [`ws`] (WebSocket);
//! durable state is in [`store`], live state in [`hub`]; [`webhooks`]
//! delivers feed events to their owners' URLs.

pub mod api;
pub mod auth;
pub mod backup;
pub mod broker;
pub mod bundle;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod consent;
pub mod downloads;
pub mod error;
pub mod extract;
pub mod feed;
pub mod health;
pub mod hub;
pub mod ice;
pub mod limit;
pub mod metrics;
pub mod passkeys;
pub mod resume;
pub mod share_expiry;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod tls;
pub mod web;
pub mod webhooks;
pub mod ws;

use std::future::{Future, IntoFuture};
use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use error::{Error, Result};

use crate::auth::throttle::LoginThrottle;
use crate::hub::Hub;
use crate::ice::IceIssuer;
use crate::limit::{Admission, LimitedListener};
use crate::shutdown::Shutdown;
use crate::state::AppState;
use crate::store::Store;
use crate::tls::listener::TlsListener;
use meshdesk_relay::Relay;
use meshdesk_tasks::AbortOnDrop;

/// Open the database in the configured data dir, start the embedded relay
/// (when enabled) and build the state.
pub async fn build_state(config: Config) -> Result<AppState> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        Error::Config(format!(
            "data_dir: cannot create {}: {e}",
            config.data_dir.display()
        ))
    })?;
    let store = Store::open_configured(&config.database, &config.data_dir).await?;
    store.purge_expired(clock::now_ms()).await?;
    feed::retention::prune_once(&store, config.events.retention, clock::now_ms()).await;
    let dummy_hash = auth::password::dummy_hash().await?;
    let (ice, relay) = start_relay(&config).await?;
    let tls = tls::load(&config)?;
    let cluster = cluster::Cluster::start(&config.cluster).await?;
    let clustered = matches!(config.cluster, cluster::ClusterSettings::Nats(_));
    let feed_order = feed::order::FeedOrder::new(store.event_high_water().await?, clustered);
    Ok(AppState {
        cluster,
        feed_order: Arc::new(feed_order),
        tls,
        throttle: Arc::new(Mutex::new(LoginThrottle::new(
            config.login_free_failures,
            config.login_max_delay,
        ))),
        downloads: Arc::new(downloads::Catalog::new(config.downloads.dir.clone())),
        config: Arc::new(config),
        store,
        hub: Hub::new(),
        dummy_hash: Arc::new(dummy_hash),
        ice: Arc::new(ice),
        relay,
        shutdown: shutdown::Shutdown::new(),
        webhooks: webhooks::Webhooks::new(),
        share_expiry: Arc::new(tokio::sync::Notify::new()),
        passkeys: Arc::new(passkeys::Passkeys::default()),
        metrics: Arc::new(metrics::Metrics::new()?),
    })
}

/// Start the embedded relay if enabled, and describe the ICE servers to
/// hand out: static ones, the relay's, and an external coturn's.
async fn start_relay(config: &Config) -> Result<(IceIssuer, Option<Arc<Relay>>)> {
    let mut ice = IceIssuer::new(config.ice_servers.clone());
    let mut relay = None;
    let r = &config.relay;
    if r.enabled {
        let secret = match &r.secret {
            Some(s) => s.clone(),
            None => meshdesk_relay::settings::load_or_create_secret(&config.data_dir)?,
        };
        let started = Relay::start(r, &secret).await?;
        ice = ice.with_relay(
            started.public_addr(),
            started.serves_tcp(),
            secret,
            r.credential_ttl,
        );
        relay = Some(Arc::new(started));
    }
    if let Some(ext) = &config.turn_external {
        ice = ice.with_external(&ext.urls, ext.shared_secret.clone(), ext.credential_ttl);
    }
    Ok((ice, relay))
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let api = api::router().into_router().merge(ws::router());
    let router = Router::new()
        .nest(api::PREFIX, api)
        .merge(web::router())
        .merge(health::router())
        .merge(metrics::serve::main_routes(&state))
        .merge(downloads::router())
        .fallback(web::not_found)
        .method_not_allowed_fallback(web::method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::http::count,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // Only method and path: query strings and headers may hold secrets.
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        );
    let router = tls::hsts(web::security_headers(router), &state.config);
    router.with_state(state)
}

/// Serve until `shutdown` completes, then stop accepting, tell every
/// WebSocket to close, end feed streams, and wait at most
/// [`shutdown::GRACE`] for open requests and connections to finish.
pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let listener = LimitedListener::new(listener, state.config.max_connections);
    match state.tls.clone() {
        None => serve(state, listener, shutdown).await,
        Some(tls) => serve(state, TlsListener::new(listener, tls.config), shutdown).await,
    }
}

/// [`run`] on a listener, plain or TLS.
async fn serve<L>(
    state: AppState,
    listener: L,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()>
where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
    L::Io: limit::Admitted,
{
    let relay = state.relay.clone();
    let conns = state.shutdown.clone();
    // The sweep of detached sessions (see `resume`) and the webhook
    // deliveries live exactly as long as serving does.
    let sweep = resume::sweep(state.clone());
    let deliveries = webhooks::queue::worker::run(state.clone());
    let background = async { tokio::join!(sweep, deliveries) };
    // Pruning old feed events runs while this function does.
    let _prune = AbortOnDrop::spawn(feed::retention::run(state.clone()));
    // So does ending shares at their `expires_at`.
    let _expiry = AbortOnDrop::spawn(share_expiry::run(state.clone()));
    // And hearing the other nodes of a cluster (at once done on one node).
    let _cluster = AbortOnDrop::spawn(cluster::sync::run(state.clone()));
    // Their feed events too.
    let _cluster_events = AbortOnDrop::spawn(cluster::events::run(state.clone()));
    let app = Admission::new(app(state));
    let serve = axum::serve(listener, app)
        .with_graceful_shutdown(conns.stopped())
        .into_future();
    tokio::pin!(serve);
    tokio::select! {
        served = &mut serve => return stopped(served, relay.as_deref(), &conns),
        _ = background => {}
        () = shutdown => {}
    }
    // Media relaying stops with the signal; requests and connections drain.
    conns.begin();
    if let Some(r) = &relay {
        r.stop();
    }
    tracing::info!(connections = conns.open(), "closing connections");
    let drain = async { tokio::join!(&mut serve, conns.drained()).0 };
    let served = match tokio::time::timeout(shutdown::GRACE, drain).await {
        Ok(served) => served,
        Err(_) => {
            tracing::warn!(
                connections = conns.open(),
                grace_secs = shutdown::GRACE.as_secs(),
                "connections still open after the grace period; dropping them"
            );
            Ok(())
        }
    };
    stopped(served, relay.as_deref(), &conns)
}

/// Serving ended: stop what is left.
fn stopped(served: std::io::Result<()>, relay: Option<&Relay>, conns: &Shutdown) -> Result<()> {
    conns.abort_all();
    if let Some(r) = relay {
        r.stop();
    }
    served?;
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
