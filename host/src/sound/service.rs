//! The host's one sound pipeline, shared by every session that has sound:
//! started by the first that subscribes, stopped a moment after the last
//! one left. Where there is no sound server the host says so once in its
//! log, and each session tells its viewer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use meshdesk_peer::AudioPacket;
use tokio::sync::{broadcast, Mutex};

use super::capture;
use super::SoundError;

/// Packets a session may fall behind by before it skips ahead (1 s).
const BACKLOG: usize = 100;
/// How often a running pipeline looks for whether anyone still listens.
const IDLE_CHECK: Duration = Duration::from_millis(500);
/// How long finding the sound server may take before a session goes
/// without.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The receiving end of the sound for one session.
pub type SoundPackets = broadcast::Receiver<Arc<AudioPacket>>;

/// The shared pipeline (see the module docs).
#[derive(Debug, Default)]
pub struct SoundService {
    running: Mutex<Option<broadcast::Sender<Arc<AudioPacket>>>>,
    /// The reason there is no sound went to the log already.
    said_why: AtomicBool,
}

impl SoundService {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Whether sound can be had: yes while it runs, else the server is
    /// asked. Why not is logged once, not for every session.
    pub async fn check(&self) -> Result<(), SoundError> {
        if self.running.lock().await.is_some() {
            return Ok(());
        }
        let result = match tokio::time::timeout(CONNECT_TIMEOUT, capture::connect()).await {
            Ok(Ok(_client)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(SoundError::NoServer("it did not answer within 2 s".into())),
        };
        self.note(&result);
        result
    }

    /// The sound from now on, starting the pipeline if it is not running.
    pub async fn subscribe(self: &Arc<Self>) -> Result<SoundPackets, SoundError> {
        let mut running = self.running.lock().await;
        if let Some(packets) = running.as_ref() {
            return Ok(packets.subscribe());
        }
        let result = self.start().await;
        self.note(&result);
        let (packets, receiver) = result?;
        *running = Some(packets);
        Ok(receiver)
    }

    async fn start(
        self: &Arc<Self>,
    ) -> Result<(broadcast::Sender<Arc<AudioPacket>>, SoundPackets), SoundError> {
        let client = tokio::time::timeout(CONNECT_TIMEOUT, capture::connect())
            .await
            .map_err(|_| SoundError::NoServer("it did not answer within 2 s".into()))??;
        let (packets, receiver) = broadcast::channel(BACKLOG);
        let stream = capture::record(&client, packets.clone()).await?;
        tracing::info!("sound capture started");
        let service = Arc::clone(self);
        let watched = packets.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(IDLE_CHECK).await;
                let mut running = service.running.lock().await;
                // Receivers are added only under this lock: none can
                // come between the count and the stop.
                if watched.receiver_count() == 0 {
                    *running = None;
                    break;
                }
            }
            if let Err(e) = stream.delete().await {
                tracing::debug!(error = %e, "the record stream was gone already");
            }
            drop(client);
            tracing::info!("sound capture stopped: no session listens");
        });
        Ok((packets, receiver))
    }

    /// Log once why there is no sound; after sound worked, again when it
    /// fails anew.
    fn note<T>(&self, result: &Result<T, SoundError>) {
        match result {
            Ok(_) => self.said_why.store(false, Ordering::Relaxed),
            Err(e) => {
                if !self.said_why.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "no sound: sessions stream video only");
                }
            }
        }
    }
}
