//! The sessions the agent runs, by id. The registry outlives any one
//! signaling connection: media is peer to peer, so a session keeps running
//! while the server is away. It owns each session's task (dropping it ends
//! the session and releases its input) and the display's monitors with
//! their shared pipelines.

use std::collections::HashMap;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use meshdesk_protocol::signal::{DeviceInfo, HostToServer, SessionEndMsg};
use meshdesk_tasks::AbortOnDrop;
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, Notify};

use super::config::HostConfig;
use super::metrics::HostMetrics;
use super::metrics_config::MetricsConfig;
use super::screens::{self, Screens, SharedScreens};
use super::session::{Finished, Grant, SessionEnv, SessionIn, VideoRate};
use super::AgentError;
use crate::consent::Consent;
use crate::files::FilesSetup;
use crate::media::monitors::{Monitor, MonitorWatcher};
use crate::media::{MediaConfig, MediaError, MediaPipeline};
use crate::sound::SoundService;
use meshdesk_clipboard::X11Clipboard;

/// Most sessions served at once.
const MAX_SESSIONS: usize = 8;

/// Live sessions, by id.
pub struct Sessions {
    map: HashMap<String, (mpsc::Sender<SessionIn>, AbortOnDrop<Finished>)>,
    /// Messages sessions want sent to the server.
    out_tx: mpsc::UnboundedSender<HostToServer>,
    pub out_rx: mpsc::UnboundedReceiver<HostToServer>,
    /// Sessions report here when they end.
    done_tx: mpsc::UnboundedSender<Finished>,
    pub done_rx: mpsc::UnboundedReceiver<Finished>,
    /// The display's monitors and their shared pipelines.
    screens: Option<SharedScreens>,
    /// RandR changes of the display, while they can be followed.
    pub monitor_watch: Option<AsyncFd<MonitorWatcher>>,
    /// Why there is no pipeline, for refusals.
    media_error: Option<String>,
    display: Option<String>,
    /// Sessions signal here when their peer connection loses connectivity.
    pub path_lost: Arc<Notify>,
    /// The consent floor, windows and shield every session goes through.
    consent: Arc<Consent>,
    /// The device key, which signs each session's DTLS binding.
    key: Arc<SigningKey>,
    /// The figures `[metrics] listen` serves (kept whether served or not:
    /// counting costs a few atomic adds).
    metrics: Arc<HostMetrics>,
    /// The PC's sound, for the sessions that may hear it.
    sound: Arc<SoundService>,
    /// The receive folder and shared folders, and the shared folders'
    /// watch (their changes go to the feed).
    files: Arc<FilesSetup>,
    _shared_watch: Option<crate::files::watch::SharedWatch>,
    /// The X clipboard (none without XFixes) and its size limit.
    clipboard: Option<Arc<X11Clipboard>>,
    clipboard_max: u64,
    /// The video's ceiling and whether sessions adapt to their paths.
    video_rate: VideoRate,
}

impl Sessions {
    pub fn new(cfg: &HostConfig, key: &SigningKey) -> Result<Sessions, AgentError> {
        let metrics = Arc::new(HostMetrics::new()?);
        let display = std::env::var("DISPLAY").ok();
        let media_cfg = MediaConfig {
            display: display.clone(),
            max_fps: cfg.max_fps,
            bitrate_bps: cfg.bitrate_kbps.saturating_mul(1000),
            deblocking: cfg.deblocking,
            area: None,
        };
        let probe = Some(metrics.encode_probe());
        let (screens, monitor_watch, media_error) = match Screens::open(media_cfg, probe) {
            Ok((screens, watcher)) => {
                tracing::info!(screens = ?screens.list(), "screens found");
                // SAFETY: the AsyncFd owns the watcher, whose connection
                // keeps the same socket open for the watcher's whole life.
                #[allow(unsafe_code)]
                let watch = unsafe { AsyncFd::register(watcher) }
                    .map_err(|e| tracing::warn!(error = %e, "not following monitor changes"))
                    .ok();
                (Some(Arc::new(std::sync::Mutex::new(screens))), watch, None)
            }
            Err(e) => {
                tracing::error!(error = %e, "screen capture unavailable; sessions will be refused");
                (None, None, Some(e.to_string()))
            }
        };
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let files = Arc::new(FilesSetup::new(&cfg.files));
        tracing::info!(
            receive_dir = %files.receive_dir.display(),
            shared = ?files.roots.iter().map(|r| &r.label).collect::<Vec<_>>(),
            "files"
        );
        let shared_watch = crate::files::watch::start(&files.roots, out_tx.clone());
        let clipboard = X11Clipboard::start()
            .map_err(|e| tracing::warn!(error = %e, "the clipboard is not shared"))
            .ok();
        Ok(Sessions {
            map: HashMap::new(),
            out_tx,
            out_rx,
            done_tx,
            done_rx,
            screens,
            monitor_watch,
            media_error,
            consent: Arc::new(Consent::new(cfg.consent.clone(), display.as_deref())),
            display,
            path_lost: Arc::new(Notify::new()),
            key: Arc::new(key.clone()),
            metrics,
            sound: SoundService::new(),
            files,
            _shared_watch: shared_watch,
            clipboard,
            clipboard_max: cfg.clipboard.max_bytes,
            video_rate: VideoRate {
                max_bitrate_bps: cfg.bitrate_kbps.saturating_mul(1000),
                adaptive: cfg.adaptive_quality,
            },
        })
    }

    /// The PC's sound (checked once at start, so a host without a sound
    /// server says so before the first session).
    pub fn sound(&self) -> Arc<SoundService> {
        Arc::clone(&self.sound)
    }

    /// Serve the figures on `[metrics] listen`, when set, for as long as
    /// the returned task lives.
    pub async fn serve_metrics(
        &self,
        cfg: &MetricsConfig,
    ) -> Result<Option<AbortOnDrop<()>>, AgentError> {
        // Checked when the file was loaded; the path only names it.
        let Some(serve) = cfg.check(std::path::Path::new("host.toml"))? else {
            return Ok(None);
        };
        let all = self.screens.clone();
        let stats = move || all.as_ref().map(|s| screens::lock(s).stats());
        let served = super::metrics::start(&serve, Arc::clone(&self.metrics), stats).await?;
        Ok(Some(served))
    }

    /// The primary monitor's capture pipeline, if the display could be
    /// opened (its capture loop proves liveness to the watchdog).
    pub fn media(&self) -> Option<Arc<MediaPipeline>> {
        self.screens
            .as_ref()
            .and_then(|s| screens::lock(s).primary_pipeline())
    }

    /// What the RandR watch reported: pipelines follow, the sessions hear,
    /// and the server is told the new screens (the returned message).
    pub fn monitors_changed(
        &mut self,
        changed: Result<Vec<Monitor>, MediaError>,
    ) -> Option<HostToServer> {
        let monitors = match changed {
            Ok(monitors) => monitors,
            Err(e) => {
                tracing::warn!(error = %e, "stopped following monitor changes");
                self.monitor_watch = None;
                return None;
            }
        };
        let all = self.screens.as_ref()?;
        if !screens::lock(all).refresh(monitors) {
            return None;
        }
        self.tell_all(&SessionIn::ScreensChanged);
        Some(HostToServer::Info { info: self.info() })
    }

    pub fn info(&self) -> DeviceInfo {
        let screens = self
            .screens
            .as_ref()
            .map(|s| screens::lock(s).list())
            .unwrap_or_default();
        DeviceInfo {
            os: super::enroll::os_description(),
            screens,
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Start a granted session, or say why not.
    pub fn start(&mut self, grant: Grant) -> Result<(), AgentError> {
        let Some(screens) = self.screens.clone() else {
            let why = self.media_error.as_deref().unwrap_or("unknown");
            return Err(AgentError::CaptureUnavailable(why.to_string()));
        };
        if self.map.len() >= MAX_SESSIONS {
            return Err(AgentError::TooManySessions);
        }
        let (tx, rx) = mpsc::channel(64);
        let sid = grant.session_id.clone();
        let span = tracing::info_span!("session", session = %sid, user = %grant.user, permission = ?grant.permission);
        let done = self.done_tx.clone();
        let env = SessionEnv {
            key: Arc::clone(&self.key),
            screens,
            display: self.display.clone(),
            out: self.out_tx.clone(),
            path_lost: Arc::clone(&self.path_lost),
            metrics: Arc::clone(&self.metrics),
            sound: Arc::clone(&self.sound),
            files: Arc::clone(&self.files),
            clipboard: self.clipboard.clone(),
            clipboard_max: self.clipboard_max,
            video_rate: self.video_rate,
        };
        let consent = Arc::clone(&self.consent);
        let task = AbortOnDrop::spawn(tracing::Instrument::instrument(
            async move {
                let finished = super::consented::run(grant, consent, env, rx).await;
                let _ = done.send(Finished {
                    session_id: finished.session_id.clone(),
                    reason: finished.reason,
                });
                finished
            },
            span,
        ));
        self.map.insert(sid, (tx, task));
        self.metrics.session_started(self.map.len());
        Ok(())
    }

    pub fn forward(&mut self, session_id: &str, msg: SessionIn) {
        if let Some((tx, _)) = self.map.get(session_id) {
            let _ = tx.try_send(msg);
        }
    }

    /// End every session (shutdown): dropping the tasks releases held input.
    pub fn end_all(&mut self) {
        for (sid, (tx, task)) in self.map.drain() {
            let _ = tx.try_send(SessionIn::End);
            tracing::info!(session = %sid, "ending session");
            drop(task);
        }
        self.metrics.sessions_running(0);
    }

    /// Tell every session something (the signaling connection is back,
    /// this machine lost an address).
    pub fn tell_all(&self, msg: &SessionIn) {
        for (tx, _) in self.map.values() {
            let _ = tx.try_send(msg.clone());
        }
    }

    /// A session's task finished: forget it, and say what the server
    /// must be told (nothing when the other side ended it).
    pub fn finished(&mut self, done: Finished) -> Option<HostToServer> {
        self.map.remove(&done.session_id);
        self.metrics.sessions_running(self.map.len());
        let reason = done.reason?;
        Some(HostToServer::SessionEnd(SessionEndMsg::new(
            done.session_id,
            reason,
        )))
    }
}
