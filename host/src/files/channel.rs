//! A session's `files` channel: requests in, replies and data out. It
//! runs as a task of its own beside the session loop, so a big transfer
//! never holds the screen back; the session owns it and aborts it when it
//! ends. Puts are written here; each get runs in a task of its own that
//! reads the file as the viewer's window allows.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use meshdesk_peer::{Pipe, PipeEnd, PipeEvent};
use meshdesk_protocol::files::{decode_request, Chunk, FilesReply, FilesRequest};
use meshdesk_protocol::rest::Permission;
use meshdesk_protocol::signal::{FileTransferMsg, HostToServer, TransferOutcome};
use meshdesk_tasks::AbortOnDrop;
use tokio::sync::{mpsc, watch};

use super::incoming::{Incoming, Leases};
use super::outgoing::{self, reply};
use super::roots::Roots;
use super::FilesError;

/// Transfers one session may run at once.
const MAX_TRANSFERS: usize = 16;

/// What every session's files channel serves: the receive folder and the
/// shared folders.
#[derive(Debug)]
pub struct FilesSetup {
    pub receive_dir: PathBuf,
    pub roots: Roots,
    /// Which transfer owns each `.part` file.
    leases: Arc<Leases>,
}

impl FilesSetup {
    pub fn new(config: &super::FilesConfig) -> Self {
        Self {
            receive_dir: config.receive_dir(),
            roots: Roots::new(&config.shared_dirs()),
            leases: Arc::default(),
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone)]
pub struct FilesGrant {
    pub session_id: String,
    pub permission: Permission,
}

/// A get in flight: where the viewer's acknowledgements go, and its task.
struct Sending {
    acks: watch::Sender<u64>,
    sent_name: String,
    _task: AbortOnDrop<()>,
}

/// A put in flight.
struct Receiving {
    incoming: Incoming,
    /// Where it goes, as the feed names it.
    shown: String,
}

/// The channel's state.
struct Files {
    pipe: Pipe,
    grant: FilesGrant,
    setup: Arc<FilesSetup>,
    out: mpsc::UnboundedSender<HostToServer>,
    puts: HashMap<u32, Receiving>,
    gets: HashMap<u32, Sending>,
    done: mpsc::UnboundedSender<(u32, Result<u64, FilesError>)>,
    /// Messages refused so far (the log line is rate-limited).
    refused: u64,
}

/// Serve the channel until it closes.
pub async fn serve(
    end: PipeEnd,
    grant: FilesGrant,
    setup: Arc<FilesSetup>,
    out: mpsc::UnboundedSender<HostToServer>,
) {
    let PipeEnd { pipe, mut events } = end;
    let (done, mut finished) = mpsc::unbounded_channel();
    let mut files = Files {
        pipe,
        grant,
        setup,
        out,
        puts: HashMap::new(),
        gets: HashMap::new(),
        done,
        refused: 0,
    };
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(PipeEvent::Text(text)) => files.on_text(&text).await,
                Some(PipeEvent::Binary(data)) => files.on_chunk(&data).await,
                Some(PipeEvent::Open) => {}
                Some(PipeEvent::Closed) | None => break,
            },
            Some((id, result)) = finished.recv() => files.on_sent(id, result).await,
        }
    }
    files.close().await;
}

impl Files {
    async fn on_text(&mut self, text: &str) {
        let request = match decode_request(text) {
            Ok(request) => request,
            Err(e) => {
                self.refuse(None, &FilesError::Protocol(format!("bad request: {e}")))
                    .await;
                return;
            }
        };
        let id = request.id();
        if let Err(e) = self.on_request(request).await {
            self.refuse(Some(id), &e).await;
        }
    }

    async fn on_request(&mut self, request: FilesRequest) -> Result<(), FilesError> {
        match request {
            FilesRequest::List { id, path } => {
                let (entries, truncated) = self.setup.roots.list(&path)?;
                let listing = FilesReply::Listing {
                    id,
                    path,
                    entries,
                    truncated,
                };
                reply(&self.pipe, &listing).await
            }
            FilesRequest::Put {
                id,
                name,
                size,
                folder,
                modified_ms,
            } => {
                if !self.grant.permission.may_control() {
                    return Err(FilesError::Forbidden(
                        "sending files needs control permission",
                    ));
                }
                self.check_new(id)?;
                let (dir, shown) = match folder.as_deref() {
                    None | Some("") => (self.setup.receive_dir.clone(), name.clone()),
                    Some(folder) => {
                        let dir = self.setup.roots.resolve(folder)?;
                        if !dir.is_dir() {
                            return Err(FilesError::BadName(format!("{folder:?} is not a folder")));
                        }
                        (dir, format!("{folder}/{name}"))
                    }
                };
                let (incoming, offset) =
                    Incoming::open(&dir, &name, size, modified_ms, &self.setup.leases).await?;
                tracing::info!(id, %shown, size, offset, "receiving a file");
                self.puts.insert(id, Receiving { incoming, shown });
                reply(&self.pipe, &FilesReply::PutReady { id, offset }).await?;
                if size == 0 {
                    // Nothing to send: acknowledged at once.
                    reply(&self.pipe, &FilesReply::Ack { id, offset: 0 }).await?;
                }
                Ok(())
            }
            FilesRequest::PutEnd { id, sha256 } => {
                let Some(put) = self.puts.remove(&id) else {
                    return Err(FilesError::Protocol(format!("no transfer {id}")));
                };
                let (size, shown) = (put.incoming.size, put.shown);
                match put.incoming.finish(&sha256).await {
                    Ok(stored) => {
                        tracing::info!(id, %stored, size, "file received");
                        let name = match shown.rsplit_once('/') {
                            Some((folder, _)) => format!("{folder}/{stored}"),
                            None => stored.clone(),
                        };
                        self.report(TransferOutcome::Sent, name, size, true, None);
                        reply(&self.pipe, &FilesReply::PutDone { id, name: stored }).await
                    }
                    Err(e) => {
                        self.report(TransferOutcome::Failed, shown, size, true, Some(&e));
                        Err(e)
                    }
                }
            }
            FilesRequest::Get { id, path, offset } => {
                self.check_new(id)?;
                let real = self.setup.roots.resolve(&path)?;
                let name = real
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let (acks, acked) = watch::channel(offset);
                let pipe = self.pipe.clone();
                let done = self.done.clone();
                let task = AbortOnDrop::spawn(tracing::Instrument::instrument(
                    async move {
                        let result = outgoing::send(&pipe, id, &real, &name, offset, acked).await;
                        let _ = done.send((id, result));
                    },
                    tracing::Span::current(),
                ));
                tracing::info!(id, %path, offset, "sending a file");
                self.gets.insert(
                    id,
                    Sending {
                        acks,
                        sent_name: path,
                        _task: task,
                    },
                );
                Ok(())
            }
            FilesRequest::Ack { id, offset } => {
                // Acknowledgements may still come after the last data of
                // a transfer went out: ignored.
                let Some(get) = self.gets.get(&id) else {
                    return Ok(());
                };
                get.acks.send_if_modified(|acked| {
                    let newer = offset > *acked;
                    if newer {
                        *acked = offset;
                    }
                    newer
                });
                Ok(())
            }
            FilesRequest::Cancel { id } => {
                if let Some(put) = self.puts.remove(&id) {
                    let (size, shown) = (put.incoming.size, put.shown.clone());
                    put.incoming.pause().await;
                    let why = FilesError::Protocol("cancelled".into());
                    self.report(TransferOutcome::Failed, shown, size, true, Some(&why));
                }
                if let Some(get) = self.gets.remove(&id) {
                    let why = FilesError::Protocol("cancelled".into());
                    self.report(TransferOutcome::Failed, get.sent_name, 0, false, Some(&why));
                }
                Ok(())
            }
        }
    }

    /// A new transfer's id must be free, and there is a limit.
    fn check_new(&self, id: u32) -> Result<(), FilesError> {
        if self.puts.contains_key(&id) || self.gets.contains_key(&id) {
            return Err(FilesError::Protocol(format!("transfer {id} is running")));
        }
        if self.puts.len() + self.gets.len() >= MAX_TRANSFERS {
            return Err(FilesError::Protocol(format!(
                "at most {MAX_TRANSFERS} transfers at once"
            )));
        }
        Ok(())
    }

    async fn on_chunk(&mut self, data: &[u8]) {
        let chunk = match Chunk::decode(data) {
            Ok(chunk) => chunk,
            Err(e) => {
                self.refuse(None, &FilesError::Protocol(e.to_string()))
                    .await;
                return;
            }
        };
        let id = chunk.id;
        let Some(put) = self.puts.get_mut(&id) else {
            let e = FilesError::Protocol(format!("data for no transfer ({id})"));
            self.refuse(Some(id), &e).await;
            return;
        };
        match put.incoming.write(chunk).await {
            Ok(Some(offset)) => {
                if let Err(e) = reply(&self.pipe, &FilesReply::Ack { id, offset }).await {
                    tracing::debug!(error = %e, "acknowledgement not sent");
                }
            }
            Ok(None) => {}
            Err(e) => {
                // The transfer ends here; what was written stays for a
                // resume.
                if let Some(put) = self.puts.remove(&id) {
                    let (size, shown) = (put.incoming.size, put.shown.clone());
                    put.incoming.pause().await;
                    self.report(TransferOutcome::Failed, shown, size, true, Some(&e));
                }
                self.refuse(Some(id), &e).await;
            }
        }
    }

    async fn on_sent(&mut self, id: u32, result: Result<u64, FilesError>) {
        let Some(get) = self.gets.remove(&id) else {
            return;
        };
        match result {
            Ok(size) => {
                tracing::info!(id, size, "file sent");
                self.report(TransferOutcome::Received, get.sent_name, size, false, None);
            }
            Err(e) => {
                self.report(TransferOutcome::Failed, get.sent_name, 0, false, Some(&e));
                self.refuse(Some(id), &e).await;
            }
        }
    }

    /// Tell the viewer why, and log it (rate-limited: the first few, then
    /// every hundredth).
    async fn refuse(&mut self, id: Option<u32>, error: &FilesError) {
        self.refused += 1;
        if self.refused <= 5 || self.refused.is_multiple_of(100) {
            tracing::warn!(?id, %error, refused = self.refused, "file request refused");
        }
        let msg = FilesReply::Error {
            id,
            message: error.to_string(),
        };
        if let Err(e) = reply(&self.pipe, &msg).await {
            tracing::debug!(error = %e, "refusal not sent");
        }
    }

    /// Tell the feed how a transfer went.
    fn report(
        &self,
        outcome: TransferOutcome,
        name: String,
        size: u64,
        upload: bool,
        error: Option<&FilesError>,
    ) {
        let msg = FileTransferMsg {
            session_id: self.grant.session_id.clone(),
            outcome,
            name,
            size,
            upload,
            error: error.map(ToString::to_string),
        };
        let _ = self.out.send(HostToServer::FileTransfer(msg));
    }

    /// The channel closed: keep every partial file for a resume.
    async fn close(mut self) {
        let why = FilesError::Protocol("the connection was lost; sending again resumes".into());
        for (_, put) in std::mem::take(&mut self.puts) {
            let (size, shown) = (put.incoming.size, put.shown.clone());
            tracing::info!(%shown, written = put.incoming.written(), "file left to resume");
            put.incoming.pause().await;
            self.report(TransferOutcome::Failed, shown, size, true, Some(&why));
        }
        for (_, get) in std::mem::take(&mut self.gets) {
            self.report(TransferOutcome::Failed, get.sent_name, 0, false, Some(&why));
        }
    }
}
