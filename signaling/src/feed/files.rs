//! What a host's file reports become in the feed: a finished transfer
//! (`file_sent`, `file_received`, `file_failed`) or a change in a shared
//! folder (`shared_file_changed`), with a sentence for people and the
//! details as fields. Plain functions, no I/O: the host is not trusted,
//! so every name and path is checked here before it reaches the feed.

use meshdesk_protocol::clipboard::human_bytes;
use meshdesk_protocol::signal::{FileChange, FileTransferMsg, TransferOutcome};

/// Longest file name or path a host may report, in bytes.
pub const MAX_REPORTED_PATH_BYTES: usize = 1024;
/// Most characters of a failed transfer's error kept for the feed.
pub const MAX_ERROR_CHARS: usize = 200;

/// Which feed kind a report becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileEventKind {
    /// `file_sent`: the viewer sent a file to the device.
    Sent,
    /// `file_received`: the viewer fetched a file from the device.
    Received,
    /// `file_failed`: a transfer failed or was cancelled.
    Failed,
    /// `shared_file_changed`: a file in a shared folder changed.
    SharedChanged,
}

/// A report made fit for the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub kind: FileEventKind,
    /// The sentence for people: "bob sent report.pdf (2.1 MB) to office-pc".
    pub detail: String,
    /// The file's name (a transfer) or its path as viewers name it (a change).
    pub path: String,
    /// A transfer's size in bytes.
    pub size: Option<u64>,
    /// A transfer's direction: whether the viewer sent the file.
    pub upload: Option<bool>,
    /// A change's kind.
    pub change: Option<FileChange>,
}

/// Why a report is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadReport(pub String);

/// A reported name or path (`what` names it in the error): not empty, at
/// most [`MAX_REPORTED_PATH_BYTES`], no control characters.
pub fn check_reported(what: &str, text: &str) -> Result<(), BadReport> {
    if text.is_empty() {
        return Err(BadReport(format!("{what} is empty")));
    }
    if text.len() > MAX_REPORTED_PATH_BYTES {
        return Err(BadReport(format!(
            "{what} is longer than {MAX_REPORTED_PATH_BYTES} bytes"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(BadReport(format!("{what} contains a control character")));
    }
    Ok(())
}

/// The feed entry for a finished transfer of `user`'s session on `device`
/// (its name). A sent file is an upload and a received one is not; a
/// report that says otherwise is refused.
pub fn transfer(user: &str, device: &str, m: &FileTransferMsg) -> Result<FileEntry, BadReport> {
    check_reported("name", &m.name)?;
    let (name, size) = (&m.name, human_bytes(m.size));
    let (kind, detail) = match (m.outcome, m.upload) {
        (TransferOutcome::Sent, true) => (
            FileEventKind::Sent,
            format!("{user} sent {name} ({size}) to {device}"),
        ),
        (TransferOutcome::Received, false) => (
            FileEventKind::Received,
            format!("{user} received {name} ({size}) from {device}"),
        ),
        (TransferOutcome::Failed, upload) => {
            let way = if upload { "to" } else { "from" };
            let failed = format!("{user}'s transfer of {name} {way} {device} failed");
            let detail = match m.error.as_deref().and_then(for_a_person) {
                Some(why) => format!("{failed}: {why}"),
                None => failed,
            };
            (FileEventKind::Failed, detail)
        }
        (TransferOutcome::Sent, false) | (TransferOutcome::Received, true) => {
            return Err(BadReport(
                "a sent file is an upload and a received one is not".into(),
            ))
        }
    };
    Ok(FileEntry {
        kind,
        detail,
        path: m.name.clone(),
        size: Some(m.size),
        upload: Some(m.upload),
        change: None,
    })
}

/// The feed entry for a change of `path` in a shared folder of `device`
/// (its name).
pub fn shared_change(device: &str, path: &str, change: FileChange) -> Result<FileEntry, BadReport> {
    check_reported("path", path)?;
    let detail = match change {
        FileChange::Created => format!("{path} was created on {device}"),
        FileChange::Modified => format!("{path} changed on {device}"),
        FileChange::Deleted => format!("{path} was deleted on {device}"),
    };
    Ok(FileEntry {
        kind: FileEventKind::SharedChanged,
        detail,
        path: path.to_string(),
        size: None,
        upload: None,
        change: Some(change),
    })
}

/// A host's error text made fit to show: control characters dropped,
/// trimmed, at most [`MAX_ERROR_CHARS`]; `None` if nothing is left.
fn for_a_person(text: &str) -> Option<String> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ERROR_CHARS)
        .collect();
    let clean = clean.trim();
    (!clean.is_empty()).then(|| clean.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(outcome: TransferOutcome, upload: bool, error: Option<&str>) -> FileTransferMsg {
        FileTransferMsg {
            session_id: "ses_1".into(),
            outcome,
            name: "report.pdf".into(),
            size: 2_100_000,
            upload,
            error: error.map(str::to_string),
        }
    }

    fn detail(m: &FileTransferMsg) -> String {
        transfer("bob", "office-pc", m).expect("valid").detail
    }

    #[test]
    fn transfers_read_as_sentences_with_their_size() {
        let sent = transfer("bob", "office-pc", &msg(TransferOutcome::Sent, true, None));
        let sent = sent.expect("valid");
        assert_eq!(sent.kind, FileEventKind::Sent);
        assert_eq!(sent.detail, "bob sent report.pdf (2.1 MB) to office-pc");
        assert_eq!(
            (sent.path.as_str(), sent.size, sent.upload, sent.change),
            ("report.pdf", Some(2_100_000), Some(true), None)
        );
        assert_eq!(
            detail(&msg(TransferOutcome::Received, false, None)),
            "bob received report.pdf (2.1 MB) from office-pc"
        );
    }

    #[test]
    fn a_failure_says_which_way_and_why_in_clean_words() {
        let up = msg(TransferOutcome::Failed, true, Some("disk full"));
        assert_eq!(
            detail(&up),
            "bob's transfer of report.pdf to office-pc failed: disk full"
        );
        let down = msg(
            TransferOutcome::Failed,
            false,
            Some(" cancelled\r\n\u{1b}[2J "),
        );
        assert_eq!(
            detail(&down),
            "bob's transfer of report.pdf from office-pc failed: cancelled[2J"
        );
        assert_eq!(
            detail(&msg(TransferOutcome::Failed, false, Some("\n"))),
            "bob's transfer of report.pdf from office-pc failed"
        );
        let long = "x".repeat(MAX_ERROR_CHARS + 50);
        let d = detail(&msg(TransferOutcome::Failed, true, Some(&long)));
        assert!(
            d.ends_with(&format!(": {}", "x".repeat(MAX_ERROR_CHARS))),
            "{d}"
        );
    }

    #[test]
    fn a_direction_that_contradicts_the_outcome_is_refused() {
        for (outcome, upload) in [
            (TransferOutcome::Sent, false),
            (TransferOutcome::Received, true),
        ] {
            assert!(transfer("bob", "pc", &msg(outcome, upload, None)).is_err());
        }
    }

    #[test]
    fn names_and_paths_are_bounded_and_free_of_control_characters() {
        let longest = "a".repeat(MAX_REPORTED_PATH_BYTES);
        assert_eq!(check_reported("path", &longest), Ok(()));
        assert_eq!(check_reported("path", "Documents/naïve report.pdf"), Ok(()));
        for bad in [
            String::new(),
            format!("{longest}a"),
            "a\nb".into(),
            "a\u{7f}".into(),
            "\u{1b}[31mred".into(),
            "a\0".into(),
        ] {
            assert!(check_reported("path", &bad).is_err(), "{bad:?}");
        }
        let mut m = msg(TransferOutcome::Sent, true, None);
        m.name = "evil\r\nname".into();
        assert_eq!(
            transfer("bob", "pc", &m),
            Err(BadReport("name contains a control character".into()))
        );
    }

    #[test]
    fn shared_changes_say_what_happened_where() {
        let said = |change| {
            shared_change("office-pc", "Documents/report.pdf", change)
                .expect("valid")
                .detail
        };
        assert_eq!(
            said(FileChange::Modified),
            "Documents/report.pdf changed on office-pc"
        );
        assert_eq!(
            said(FileChange::Created),
            "Documents/report.pdf was created on office-pc"
        );
        assert_eq!(
            said(FileChange::Deleted),
            "Documents/report.pdf was deleted on office-pc"
        );
        let e = shared_change("pc", "Documents/a.txt", FileChange::Deleted).expect("valid");
        assert_eq!(e.kind, FileEventKind::SharedChanged);
        assert_eq!(
            (e.size, e.upload, e.change),
            (None, None, Some(FileChange::Deleted))
        );
        assert!(shared_change("pc", "a\tb", FileChange::Created).is_err());
    }
}
