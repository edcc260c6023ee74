//! A host's reports for the activity feed: its sessions' finished file
//! transfers and the changes in its shared folders. The host is not
//! trusted: a transfer must name a session of this host's device (live,
//! or ended within a minute), names and paths are checked
//! ([`crate::feed::files`]), and shared-folder changes are rate-limited
//! per connection so a host cannot flood the feed. A report about another
//! device's session is ignored without an answer (which would tell the
//! host the session exists elsewhere); bad input gets an `invalid` error.
//! Neither closes the connection. What is left goes to the feed as
//! `file_sent`, `file_received`, `file_failed` or `shared_file_changed`.

use std::time::{Duration, Instant};

use meshdesk_protocol::rest::EventKind;
use meshdesk_protocol::signal::{ErrorCode, ErrorMsg, FileChange, FileTransferMsg};

use super::ratelimit::{LogEvery, TokenBucket};
use crate::broker::{error, session_event};
use crate::clock::now_ms;
use crate::feed;
use crate::feed::files::{self, BadReport, FileEntry, FileEventKind};
use crate::state::AppState;
use crate::store::NewEvent;

/// Shared-folder changes a host may report per second, on average.
pub const CHANGES_PER_SEC: u32 = 20;
/// Shared-folder changes a host may report at once.
pub const CHANGES_BURST: u32 = 100;
/// At most one log line per this about dropped or stray reports.
pub const REPORT_LOG_EVERY: Duration = Duration::from_secs(10);

/// One host connection's report limits.
#[derive(Debug)]
pub struct Reports {
    /// Shared-folder changes allowed.
    changes: TokenBucket,
    /// The log of changes dropped over the rate.
    dropped: LogEvery,
    /// The log of transfers that name no session of this device.
    stray: LogEvery,
}

impl Reports {
    pub fn new(now: Instant) -> Reports {
        Reports {
            changes: TokenBucket::new(CHANGES_PER_SEC, CHANGES_BURST, now),
            dropped: LogEvery::new(REPORT_LOG_EVERY),
            stray: LogEvery::new(REPORT_LOG_EVERY),
        }
    }

    /// A finished transfer of one of the device's sessions.
    pub async fn transfer(
        &mut self,
        st: &AppState,
        device_id: &str,
        m: &FileTransferMsg,
        now: Instant,
    ) -> Result<(), ErrorMsg> {
        let at = now_ms();
        let session = st
            .hub
            .with_sessions(|t| t.reported_by(&m.session_id, device_id, at).cloned());
        let Some(s) = session else {
            if let Some(quiet) = self.stray.tick(now) {
                tracing::warn!(
                    session = %m.session_id,
                    quiet,
                    "ignored a file transfer report: no such session of this device"
                );
            }
            return Ok(());
        };
        let entry = files::transfer(&s.viewer_username, &s.device_name, m)
            .map_err(|e| refused(e, Some(&m.session_id)))?;
        tracing::info!(session = %s.id, kind = ?entry.kind, size = m.size, "file transfer reported");
        record(st, entry, session_event(&s)).await;
        Ok(())
    }

    /// A change in one of the device's shared folders.
    pub async fn shared_changed(
        &mut self,
        st: &AppState,
        device_id: &str,
        path: &str,
        change: FileChange,
        now: Instant,
    ) -> Result<(), ErrorMsg> {
        files::check_reported("path", path).map_err(|e| refused(e, None))?;
        if !self.changes.allow(now) {
            if let Some(quiet) = self.dropped.tick(now) {
                tracing::warn!(
                    quiet,
                    per_sec = CHANGES_PER_SEC,
                    burst = CHANGES_BURST,
                    "dropped shared-folder changes over the host's rate"
                );
            }
            return Ok(());
        }
        let device = match st.store.device(device_id).await {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "could not read the device for a shared-folder change");
                return Err(error(ErrorCode::Internal, "internal error", None));
            }
        };
        let entry =
            files::shared_change(&device.name, path, change).map_err(|e| refused(e, None))?;
        let base = NewEvent {
            user_id: Some(device.owner_id),
            device_id: Some(device.id.clone()),
            device_name: Some(device.name.clone()),
            ..NewEvent::default()
        };
        record(st, entry, base).await;
        Ok(())
    }
}

fn refused(e: BadReport, session_id: Option<&str>) -> ErrorMsg {
    error(ErrorCode::Invalid, e.0, session_id)
}

/// Put the entry in the feed, on top of the fields of `base` (whose device,
/// which session).
async fn record(st: &AppState, entry: FileEntry, base: NewEvent) {
    let kind = match entry.kind {
        FileEventKind::Sent => EventKind::FileSent,
        FileEventKind::Received => EventKind::FileReceived,
        FileEventKind::Failed => EventKind::FileFailed,
        FileEventKind::SharedChanged => EventKind::SharedFileChanged,
    };
    let e = NewEvent {
        detail: Some(entry.detail),
        path: Some(entry.path),
        size: entry.size,
        upload: entry.upload,
        change: entry.change,
        ..base
    };
    feed::record(st, kind, e).await;
}
