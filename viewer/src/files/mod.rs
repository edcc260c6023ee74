//! `send DEVICE FILE...`, `get DEVICE PATH [DEST]` and `files DEVICE
//! [PATH]`: each opens a files-only session ([`session`]), checks the
//! host's key like `connect` does, then talks on the `files` channel
//! ([`client`]), with a progress bar on a terminal ([`progress`]).

mod client;
mod local;
mod progress;
mod session;

use std::path::{Path, PathBuf};

use meshdesk_protocol::clipboard::human_bytes;
use meshdesk_protocol::files::{Entry, EntryKind};
use tokio::runtime::Runtime;

use crate::account::{find_device, signed_in};
use crate::session::SignalTarget;
use crate::trust::expected_key;
use crate::ViewerError;

pub use client::FilesClient;
pub use session::FilesSession;

/// Open a files-only session on `device`, verified.
async fn open(path: &Path, device: &str) -> Result<(FilesSession, String), ViewerError> {
    let (mut api, login) = signed_in(path)?;
    let device = find_device(&mut api, device).await?;
    let expected = expected_key(path, &device)?;
    let key = expected.key;
    let mut on_verified = expected.on_verified();
    let target = SignalTarget::new(&login, api.list().clone())?;
    let session = FilesSession::open(target, &device, &key, move |n| on_verified(n)).await?;
    Ok((session, device.name))
}

/// `send DEVICE FILE...`: into the device's receive folder, one after the
/// other; a file already partly there resumes.
pub fn send(
    rt: &Runtime,
    login: &Path,
    device: &str,
    files: &[PathBuf],
) -> Result<(), ViewerError> {
    rt.block_on(async {
        let (mut session, name) = open(login, device).await?;
        let mut result = Ok(());
        for file in files {
            match session.client.put(file, None).await {
                Ok(sent) => println!(
                    "{}: sent to {name} as {} ({}; {} of {} bytes sent, resumed at {})",
                    file.display(),
                    sent.stored,
                    human_bytes(sent.size),
                    sent.sent,
                    sent.size,
                    sent.offset
                ),
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    result = Err(e);
                }
            }
        }
        session.close().await;
        result
    })
}

/// `get DEVICE PATH [DEST]`.
pub fn get(
    rt: &Runtime,
    login: &Path,
    device: &str,
    path: &str,
    dest: Option<&Path>,
) -> Result<(), ViewerError> {
    rt.block_on(async {
        let (mut session, name) = open(login, device).await?;
        let result = session
            .client
            .get(path, dest.unwrap_or(Path::new(".")))
            .await;
        session.close().await;
        let got = result?;
        println!(
            "{path}: received from {name} as {} ({}; {} of {} bytes received, resumed at {})",
            got.stored.display(),
            human_bytes(got.size),
            got.sent,
            got.size,
            got.offset
        );
        Ok(())
    })
}

/// `files DEVICE [PATH] [--json]`.
pub fn list(
    rt: &Runtime,
    login: &Path,
    device: &str,
    path: &str,
    json: bool,
) -> Result<(), ViewerError> {
    rt.block_on(async {
        let (mut session, _) = open(login, device).await?;
        let result = session.client.list(path).await;
        session.close().await;
        let (entries, truncated) = result?;
        if json {
            let value =
                serde_json::json!({ "path": path, "entries": entries, "truncated": truncated });
            println!("{value}");
        } else {
            print!("{}", table(&entries));
            if truncated {
                println!("(more entries not shown)");
            }
        }
        Ok(())
    })
}

/// A listing for people: kind, size, name.
fn table(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        let (kind, size) = match e.kind {
            EntryKind::Folder => ("folder", String::new()),
            EntryKind::File => ("file", human_bytes(e.size)),
        };
        out.push_str(&format!("{kind:<7} {size:>10}  {}\n", e.name));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_read_as_a_table() {
        let entries = [
            Entry {
                name: "reports".into(),
                kind: EntryKind::Folder,
                size: 0,
                modified_ms: None,
            },
            Entry {
                name: "a.pdf".into(),
                kind: EntryKind::File,
                size: 2_100_000,
                modified_ms: Some(1),
            },
        ];
        let text = table(&entries);
        assert!(
            text.contains("folder") && text.contains("reports"),
            "{text}"
        );
        assert!(text.contains("2.1 MB  a.pdf"), "{text}");
    }
}
