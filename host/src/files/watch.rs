//! Changes inside the shared folders, for the feed: inotify through
//! `notify`, debounced (a file written in many steps is one change), each
//! reported as `shared_file_changed` with the path as viewers name it.
//! The `.part` files of transfers are not news.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use meshdesk_protocol::signal::{FileChange, HostToServer};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{
    new_debouncer, DebounceEventResult, DebouncedEvent, Debouncer, RecommendedCache,
};
use tokio::sync::mpsc;

use super::names::is_part;
use super::Roots;

/// How long a file must be quiet before its change is reported.
const QUIET: Duration = Duration::from_millis(400);

/// Watching; dropping it stops.
pub struct SharedWatch {
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
}

impl std::fmt::Debug for SharedWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedWatch").finish_non_exhaustive()
    }
}

/// Watch every shared folder; changes go to `out` as
/// [`HostToServer::SharedFileChanged`]. `None` when there is nothing to
/// watch or inotify is unavailable (logged).
pub fn start(roots: &Roots, out: mpsc::UnboundedSender<HostToServer>) -> Option<SharedWatch> {
    if roots.is_empty() {
        return None;
    }
    let names = roots.clone();
    let handler = move |result: DebounceEventResult| match result {
        Ok(events) => {
            for (path, change) in summarize(&events, &names) {
                tracing::debug!(%path, ?change, "shared folder changed");
                let _ = out.send(HostToServer::SharedFileChanged { path, change });
            }
        }
        Err(errors) => {
            for e in errors {
                tracing::warn!(error = %e, "watching the shared folders");
            }
        }
    };
    let mut debouncer = match new_debouncer(QUIET, None, handler) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "shared folders are not watched");
            return None;
        }
    };
    for root in roots.iter() {
        if let Err(e) = debouncer.watch(&root.dir, RecursiveMode::Recursive) {
            tracing::warn!(dir = %root.dir.display(), error = %e, "shared folder not watched");
        }
    }
    Some(SharedWatch {
        _debouncer: debouncer,
    })
}

/// One change per path of a batch, by viewer name: created (then maybe
/// written) is created, removed is deleted, anything else modified.
fn summarize(events: &[DebouncedEvent], roots: &Roots) -> Vec<(String, FileChange)> {
    let mut changes: BTreeMap<String, FileChange> = BTreeMap::new();
    for event in events {
        let change = match event.kind {
            EventKind::Create(_) => FileChange::Created,
            EventKind::Remove(_) => FileChange::Deleted,
            EventKind::Modify(_) => FileChange::Modified,
            _ => continue,
        };
        for path in &event.paths {
            if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_part)
            {
                continue;
            }
            let Some(name) = name_in(roots, path) else {
                continue;
            };
            let merged = match (changes.get(&name), change) {
                (Some(FileChange::Created), FileChange::Modified) => FileChange::Created,
                (Some(FileChange::Deleted), FileChange::Created) => FileChange::Modified,
                (_, c) => c,
            };
            changes.insert(name, merged);
        }
    }
    changes.into_iter().collect()
}

/// The viewer's name for a path inside a shared folder.
fn name_in(roots: &Roots, path: &Path) -> Option<String> {
    roots.name_of(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_debouncer_full::notify::event::{CreateKind, ModifyKind, RemoveKind};
    use notify_debouncer_full::notify::Event;

    fn event(kind: EventKind, path: &Path) -> DebouncedEvent {
        DebouncedEvent::new(
            Event::new(kind).add_path(path.to_path_buf()),
            std::time::Instant::now(),
        )
    }

    #[test]
    fn a_batch_becomes_one_change_per_file() {
        let tmp = tempfile::tempdir().unwrap();
        let docs = tmp.path().join("Documents");
        std::fs::create_dir(&docs).unwrap();
        let roots = Roots::new(std::slice::from_ref(&docs));
        let docs = docs.canonicalize().unwrap();
        let events = [
            event(EventKind::Create(CreateKind::File), &docs.join("a.txt")),
            event(EventKind::Modify(ModifyKind::Any), &docs.join("a.txt")),
            event(EventKind::Modify(ModifyKind::Any), &docs.join("b.txt")),
            event(EventKind::Remove(RemoveKind::File), &docs.join("c.txt")),
            event(
                EventKind::Create(CreateKind::File),
                &docs.join(".x.bin.0123.part"),
            ),
            event(
                EventKind::Create(CreateKind::File),
                &tmp.path().join("outside.txt"),
            ),
        ];
        assert_eq!(
            summarize(&events, &roots),
            [
                ("Documents/a.txt".to_string(), FileChange::Created),
                ("Documents/b.txt".to_string(), FileChange::Modified),
                ("Documents/c.txt".to_string(), FileChange::Deleted),
            ]
        );
    }
}
