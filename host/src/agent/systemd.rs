//! The agent under systemd (`Type=notify`): `READY=1` once it is online,
//! `STATUS=` lines as it connects and disconnects, and `WATCHDOG=1` from
//! an owned task while the capture thread and the signaling task both
//! beat (the decision is [`Watchdog::judge`]). Without `NOTIFY_SOCKET`
//! every call does nothing; without `WATCHDOG_USEC` no task runs.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use meshdesk_tasks::AbortOnDrop;
use sd_notify::NotifyState;

use super::watchdog::{Verdict, Watchdog};
use crate::heartbeat::Heartbeat;
use crate::media::MediaPipeline;

/// The agent's link to systemd. Dropping it stops the watchdog pings.
#[derive(Debug)]
pub struct Systemd {
    /// Timing, when systemd watches this process.
    watchdog: Option<Watchdog>,
    /// The signaling task's heartbeat, stamped by [`Systemd::beating`].
    signaling: Heartbeat,
    /// The task that pings; aborted on drop.
    _pinger: Option<AbortOnDrop>,
}

impl Systemd {
    /// Reads `WATCHDOG_USEC` (and `WATCHDOG_PID`) and, when systemd wants
    /// pings, has the capture thread beat and starts the pinger.
    pub fn from_env(media: Option<Arc<MediaPipeline>>) -> Self {
        let signaling = Heartbeat::new();
        let Some(watchdog) = sd_notify::watchdog_enabled().map(Watchdog::new) else {
            return Self {
                watchdog: None,
                signaling,
                _pinger: None,
            };
        };
        let capture = media.map(|media| {
            let heartbeat = Heartbeat::new();
            media.keep_alive(watchdog.beat_every(), heartbeat.clone());
            heartbeat
        });
        tracing::info!(timeout = ?watchdog.timeout(), "systemd watchdog enabled");
        let pinger = AbortOnDrop::spawn(ping(watchdog, capture, signaling.clone()));
        Self {
            watchdog: Some(watchdog),
            signaling,
            _pinger: Some(pinger),
        }
    }

    /// Stamps the signaling heartbeat for as long as it is polled; never
    /// ends. Put it in the `select!` of the loop it vouches for.
    pub async fn beating(&self) -> Infallible {
        let Some(watchdog) = self.watchdog else {
            return std::future::pending().await;
        };
        loop {
            self.signaling.beat();
            tokio::time::sleep(watchdog.beat_every()).await;
        }
    }

    /// The agent's WebSocket is authenticated: ready, and say so.
    pub fn online(&self) {
        send(&[NotifyState::Ready, NotifyState::Status("online")]);
    }

    /// The connection is gone; the agent reconnects.
    pub fn offline(&self) {
        send(&[NotifyState::Status("offline, reconnecting")]);
    }
}

/// Every `ping_every`: ping if both loops beat lately.
async fn ping(watchdog: Watchdog, capture: Option<Heartbeat>, signaling: Heartbeat) {
    // Whether the current stuck spell was logged (once per spell).
    let mut logged = false;
    loop {
        let verdict = watchdog.judge(
            Instant::now(),
            capture.as_ref().map(Heartbeat::last),
            signaling.last(),
        );
        match verdict {
            Verdict::Ping => {
                if std::mem::take(&mut logged) {
                    tracing::info!("every loop is alive again; watchdog pings resume");
                }
                send(&[NotifyState::Watchdog]);
            }
            Verdict::Withhold(stuck) if !logged => {
                logged = true;
                tracing::error!(
                    ?stuck,
                    "a loop is stuck: no watchdog ping, systemd will restart the agent"
                );
            }
            Verdict::Withhold(_) => {}
        }
        tokio::time::sleep(watchdog.ping_every()).await;
    }
}

fn send(state: &[NotifyState]) {
    if let Err(error) = sd_notify::notify(state) {
        tracing::warn!(%error, "cannot notify systemd");
    }
}
