//! A files-only session: the usual handshake and session task, the
//! `files` channel taken from it once the host proved it holds the
//! device's key.

use meshdesk_peer::FILES_CHANNEL;
use meshdesk_protocol::rest::Device;
use tokio::sync::{mpsc, oneshot};

use super::client::FilesClient;
use crate::session::{drive, establish_files, Notice, Outcome, SessionCommand, SignalTarget};
use crate::ViewerError;

/// How long the host has to prove its key and open the channel.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// A running files-only session.
pub struct FilesSession {
    pub client: FilesClient,
    commands: mpsc::UnboundedSender<SessionCommand>,
    task: tokio::task::JoinHandle<Outcome>,
}

impl std::fmt::Debug for FilesSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilesSession").finish_non_exhaustive()
    }
}

impl FilesSession {
    /// Open it; `notice` sees the session's notices (the verification).
    pub async fn open(
        target: SignalTarget,
        device: &Device,
        key: &[u8; 32],
        mut notice: impl FnMut(&Notice) + Send + 'static,
    ) -> Result<Self, ViewerError> {
        let mut session = establish_files(target, device, key).await?;
        let mut pipes = std::mem::replace(&mut session.streams.pipes, mpsc::unbounded_channel().1);
        let (verified_tx, verified) = oneshot::channel();
        let mut verified_tx = Some(verified_tx);
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(session, commands_rx, move |n| {
            notice(&n);
            if matches!(n, Notice::Verified { .. }) {
                if let Some(tx) = verified_tx.take() {
                    let _ = tx.send(());
                }
            }
        }));
        let ready = async {
            let files = loop {
                let end = pipes.recv().await.ok_or_else(|| {
                    ViewerError::ConnectionFailed(
                        "the session ended before its files channel opened".into(),
                    )
                })?;
                if end.pipe.label() == FILES_CHANNEL {
                    break end;
                }
            };
            // Nothing goes out before the host proved its key.
            verified.await.map_err(|_| {
                ViewerError::ConnectionFailed(
                    "the session ended before the remote PC proved its key".into(),
                )
            })?;
            Ok::<_, ViewerError>(files)
        };
        let files = match tokio::time::timeout(READY_TIMEOUT, ready).await {
            Ok(Ok(files)) => files,
            Ok(Err(e)) => {
                let _ = commands.send(SessionCommand::Close);
                return Err(ended(task, e).await);
            }
            Err(_) => {
                let _ = commands.send(SessionCommand::Close);
                let e =
                    ViewerError::ConnectionFailed("the remote PC did not open its files".into());
                return Err(ended(task, e).await);
            }
        };
        Ok(Self {
            client: FilesClient::new(files),
            commands,
            task,
        })
    }

    /// End the session.
    pub async fn close(self) {
        let _ = self.commands.send(SessionCommand::Close);
        let _ = self.task.await;
    }
}

/// The session's own error if it failed, else `fallback`.
async fn ended(task: tokio::task::JoinHandle<Outcome>, fallback: ViewerError) -> ViewerError {
    match task.await {
        Ok(Outcome { result: Err(e), .. }) => e,
        _ => fallback,
    }
}
