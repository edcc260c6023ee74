//! The display's monitors and one capture and encode pipeline per monitor,
//! shared by every session on it, started when the first session asks.
//!
//! The monitor list comes from RandR ([`crate::media::monitors`]) and is
//! re-read whenever RandR reports a change: pipelines follow their
//! monitor's new place and size, and the agent tells the server and the
//! running sessions. A display without RandR monitors has one, the whole
//! screen, captured as before: following the screen's size by itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use meshdesk_protocol::signal::{bounding_box, Screen, ALL_SCREENS};
use tokio::io::unix::AsyncFd;

use crate::media::grab::GrabArea;
use crate::media::monitors::{Monitor, MonitorWatcher, WHOLE_SCREEN_ID};
use crate::media::{EncodeProbe, MediaConfig, MediaError, MediaPipeline, MediaStats};

/// The monitors and their pipelines. Shared by the agent and its sessions
/// behind a mutex: every call is short (starting a pipeline opens two X
/// connections and an encoder, a few milliseconds).
pub type SharedScreens = Arc<Mutex<Screens>>;

/// Locks `screens`, whatever a panicking holder left.
pub fn lock(screens: &SharedScreens) -> std::sync::MutexGuard<'_, Screens> {
    screens.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The display's monitors and the pipelines started so far.
pub struct Screens {
    /// What every pipeline is started with (its area set per monitor).
    template: MediaConfig,
    /// Told every frame's encode time, on every pipeline.
    probe: Option<EncodeProbe>,
    /// As last read, primary first.
    monitors: Vec<Monitor>,
    /// Started pipelines, by monitor id.
    pipelines: HashMap<String, Arc<MediaPipeline>>,
}

impl std::fmt::Debug for Screens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screens")
            .field("monitors", &self.monitors)
            .field("pipelines", &self.pipelines.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why a screen cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    /// The viewer named a monitor this display does not have.
    #[error("no screen {0:?} on this PC")]
    Unknown(String),
    /// Its pipeline could not start.
    #[error(transparent)]
    Media(#[from] MediaError),
}

impl Screens {
    /// Reads the monitors of the template's display and starts the
    /// primary's pipeline (so that a display that cannot be captured is
    /// known at once, and the watchdog has a capture loop to watch).
    pub fn open(
        template: MediaConfig,
        probe: Option<EncodeProbe>,
    ) -> Result<(Screens, MonitorWatcher), MediaError> {
        let watcher = MonitorWatcher::connect(template.display.as_deref())?;
        let mut screens = Screens {
            template,
            probe,
            monitors: watcher.monitors()?,
            pipelines: HashMap::new(),
        };
        screens.pipeline(None).map_err(|e| match e {
            ScreenError::Media(e) => e,
            ScreenError::Unknown(id) => MediaError::InvalidConfig(format!("no monitor {id}")),
        })?;
        Ok((screens, watcher))
    }

    /// The primary monitor's id.
    pub fn primary_id(&self) -> String {
        self.monitors
            .first()
            .map_or_else(|| WHOLE_SCREEN_ID.to_string(), |m| m.id.clone())
    }

    /// The monitors as the protocol reports them, primary first.
    pub fn list(&self) -> Vec<Screen> {
        self.monitors
            .iter()
            .map(|m| Screen {
                id: m.id.clone(),
                name: m.id.clone(),
                width: m.width.into(),
                height: m.height.into(),
                primary: m.primary,
                x: m.x.into(),
                y: m.y.into(),
            })
            .collect()
    }

    /// Whether the display has monitor `id` now ([`ALL_SCREENS`] always).
    pub fn has(&self, id: &str) -> bool {
        id == ALL_SCREENS || self.monitors.iter().any(|m| m.id == id)
    }

    /// What [`ALL_SCREENS`] captures: the rectangle around every monitor
    /// (`None`: the whole screen, following its size by itself).
    /// It is the rectangle the viewer cuts its windows from: the
    /// [`bounding_box`] of the listed screens.
    fn all_area(&self) -> Option<GrabArea> {
        let real: Vec<Screen> = self
            .list()
            .into_iter()
            .filter(|s| s.id != WHOLE_SCREEN_ID)
            .collect();
        let (x, y, width, height) = bounding_box(&real)?;
        Some(GrabArea {
            x: i16::try_from(x).ok()?,
            y: i16::try_from(y).ok()?,
            width: u16::try_from(width).ok()?,
            height: u16::try_from(height).ok()?,
        })
    }

    /// The pipeline of monitor `id` (`None`: the primary), started if
    /// it was not yet.
    pub fn pipeline(&mut self, id: Option<&str>) -> Result<Arc<MediaPipeline>, ScreenError> {
        let id = id.map_or_else(|| self.primary_id(), str::to_owned);
        // The whole screen follows its own size; a monitor (and the
        // rectangle around them all) is moved by `refresh`.
        let area = if id == ALL_SCREENS {
            self.all_area()
        } else {
            let monitor = self
                .monitors
                .iter()
                .find(|m| m.id == id)
                .ok_or_else(|| ScreenError::Unknown(id.clone()))?;
            (monitor.id != WHOLE_SCREEN_ID).then(|| monitor.area())
        };
        if let Some(p) = self.pipelines.get(&id) {
            return Ok(Arc::clone(p));
        }
        let config = MediaConfig {
            area,
            ..self.template.clone()
        };
        let pipeline = Arc::new(MediaPipeline::start_probed(config, self.probe.clone())?);
        tracing::info!(screen = %id, "screen pipeline started");
        self.pipelines.insert(id, Arc::clone(&pipeline));
        Ok(pipeline)
    }

    /// The primary's pipeline, once started (for the watchdog).
    pub fn primary_pipeline(&self) -> Option<Arc<MediaPipeline>> {
        self.pipelines.get(&self.primary_id()).cloned()
    }

    /// Every pipeline's counters, added up.
    pub fn stats(&self) -> MediaStats {
        self.pipelines
            .values()
            .map(|p| p.stats())
            .fold(MediaStats::default(), |a, b| MediaStats {
                frames_captured: a.frames_captured + b.frames_captured,
                frames_encoded: a.frames_encoded + b.frames_encoded,
                keyframes: a.keyframes + b.keyframes,
                bytes_encoded: a.bytes_encoded + b.bytes_encoded,
            })
    }

    /// Takes `monitors` as the new list: each started pipeline follows its
    /// monitor; the pipelines of monitors that are gone stop once their
    /// last session has moved on. `true` if the list changed.
    pub fn refresh(&mut self, monitors: Vec<Monitor>) -> bool {
        if monitors == self.monitors {
            return false;
        }
        self.pipelines
            .retain(|id, pipeline| match monitors.iter().find(|m| &m.id == id) {
                Some(m) if m.id != WHOLE_SCREEN_ID => {
                    pipeline.set_area(m.area());
                    true
                }
                Some(_) => true,
                None => id == ALL_SCREENS,
            });
        tracing::info!(?monitors, "the monitors changed");
        self.monitors = monitors;
        if let (Some(all), Some(area)) = (self.pipelines.get(ALL_SCREENS), self.all_area()) {
            all.set_area(area);
        }
        true
    }
}

/// [`next_change`] while there is a watch; never otherwise.
pub async fn changed_or_never(
    watch: &Option<AsyncFd<MonitorWatcher>>,
) -> Result<Vec<Monitor>, MediaError> {
    match watch {
        Some(w) => next_change(w).await,
        None => std::future::pending().await,
    }
}

/// Waits until RandR reports a change, then returns the new monitor list
/// (`Err` when the X connection failed: the agent stops following).
pub async fn next_change(watcher: &AsyncFd<MonitorWatcher>) -> Result<Vec<Monitor>, MediaError> {
    loop {
        // Events read along with an earlier reply wait in x11rb's buffer,
        // where no readiness shows them: look there first.
        if watcher.get_ref().changed()? {
            return watcher.get_ref().monitors();
        }
        let mut ready = watcher.readable().await.map_err(MediaError::Capture)?;
        ready.clear_ready();
    }
}
