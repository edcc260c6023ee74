//! The X CLIPBOARD selection. One thread waits for XFixes' owner-change
//! events (no polling); another owns arboard, which reads the selection
//! when it changed and serves what we set to the programs that paste. A
//! change is broadcast only when the content differs from what the
//! clipboard held before, so what we set ourselves is not reported back.

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use meshdesk_protocol::clipboard::ClipKind;
use tokio::sync::broadcast;
use x11rb::connection::Connection;
use x11rb::protocol::xfixes::{self, ConnectionExt as _, SelectionEventMask};
use x11rb::protocol::xproto::{ConnectionExt as _, CreateWindowAux, WindowClass};
use x11rb::protocol::Event;

use crate::{ClipboardError, Content};

/// Changes queued for slow sessions (content is small in number).
const CHANGES: usize = 8;

enum Command {
    /// The selection's owner changed: read it.
    Changed,
    /// Put this in the clipboard.
    Set(Content),
}

/// The display's clipboard, shared by every session of a process.
pub struct X11Clipboard {
    commands: Mutex<std_mpsc::Sender<Command>>,
    changes: broadcast::Sender<Content>,
    current: Arc<Mutex<Option<Content>>>,
}

impl std::fmt::Debug for X11Clipboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X11Clipboard").finish_non_exhaustive()
    }
}

impl X11Clipboard {
    /// Watch and serve the clipboard of the display in `$DISPLAY`.
    pub fn start() -> Result<Arc<Self>, ClipboardError> {
        let unavailable = |e: &dyn std::fmt::Display| ClipboardError::Unavailable(e.to_string());
        let (conn, screen) = x11rb::connect(None).map_err(|e| unavailable(&e))?;
        conn.xfixes_query_version(5, 0)
            .map_err(|e| unavailable(&e))?
            .reply()
            .map_err(|e| unavailable(&e))?;
        let root = conn.setup().roots[screen].root;
        let window = conn.generate_id().map_err(|e| unavailable(&e))?;
        conn.create_window(
            0,
            window,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            0,
            &CreateWindowAux::new(),
        )
        .map_err(|e| unavailable(&e))?;
        let clipboard = conn
            .intern_atom(false, b"CLIPBOARD")
            .map_err(|e| unavailable(&e))?
            .reply()
            .map_err(|e| unavailable(&e))?
            .atom;
        let mask = SelectionEventMask::SET_SELECTION_OWNER
            | SelectionEventMask::SELECTION_WINDOW_DESTROY
            | SelectionEventMask::SELECTION_CLIENT_CLOSE;
        conn.xfixes_select_selection_input(window, clipboard, mask)
            .map_err(|e| unavailable(&e))?;
        conn.flush().map_err(|e| unavailable(&e))?;
        let board = arboard::Clipboard::new().map_err(|e| unavailable(&e))?;

        let (commands, queue) = std_mpsc::channel();
        let (changes, _) = broadcast::channel(CHANGES);
        let current = Arc::new(Mutex::new(None));
        let watcher = commands.clone();
        std::thread::Builder::new()
            .name("clipboard-watch".into())
            .spawn(move || {
                let _ = watcher.send(Command::Changed);
                loop {
                    match conn.wait_for_event() {
                        Ok(Event::XfixesSelectionNotify(_)) => {
                            if watcher.send(Command::Changed).is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "the clipboard watch lost the display");
                            return;
                        }
                    }
                }
            })
            .map_err(|e| unavailable(&e))?;
        let worker = Worker {
            board,
            changes: changes.clone(),
            current: Arc::clone(&current),
            last: None,
        };
        std::thread::Builder::new()
            .name("clipboard".into())
            .spawn(move || worker.run(queue))
            .map_err(|e| unavailable(&e))?;
        // `xfixes` is only named for its events.
        let _ = xfixes::X11_EXTENSION_NAME;
        Ok(Arc::new(Self {
            commands: Mutex::new(commands),
            changes,
            current,
        }))
    }

    /// Changes of the clipboard from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Content> {
        self.changes.subscribe()
    }

    /// What the clipboard holds (as last read or set).
    pub fn current(&self) -> Option<Content> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Put `content` in the clipboard (served until something else is
    /// copied).
    pub fn set(&self, content: Content) {
        let commands = self.commands.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = commands.send(Command::Set(content));
    }
}

struct Worker {
    board: arboard::Clipboard,
    changes: broadcast::Sender<Content>,
    current: Arc<Mutex<Option<Content>>>,
    /// The fingerprint of what the clipboard holds.
    last: Option<[u8; 32]>,
}

impl Worker {
    fn run(mut self, queue: std_mpsc::Receiver<Command>) {
        while let Ok(command) = queue.recv() {
            match command {
                Command::Changed => {
                    let Some(content) = self.read() else {
                        continue;
                    };
                    let fingerprint = content.fingerprint();
                    if self.last == Some(fingerprint) {
                        continue;
                    }
                    tracing::debug!(?content, "the clipboard changed");
                    self.last = Some(fingerprint);
                    self.remember(&content);
                    let _ = self.changes.send(content);
                }
                Command::Set(content) => match self.write(&content) {
                    Ok(()) => {
                        tracing::debug!(?content, "clipboard set");
                        self.last = Some(content.fingerprint());
                        self.remember(&content);
                    }
                    Err(e) => tracing::warn!(error = %e, "the clipboard was not set"),
                },
            }
        }
    }

    fn remember(&self, content: &Content) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(content.clone());
    }

    /// Text first, else an image; nothing we can share: `None`.
    fn read(&mut self) -> Option<Content> {
        if let Ok(text) = self.board.get_text() {
            return Some(Content::text(text));
        }
        let image = self.board.get_image().ok()?;
        let (width, height) = (image.width as u32, image.height as u32);
        match Content::png_from_rgba(width, height, image.bytes.into_owned()) {
            Ok(content) => Some(content),
            Err(e) => {
                tracing::debug!(error = %e, "clipboard image not shared");
                None
            }
        }
    }

    fn write(&mut self, content: &Content) -> Result<(), ClipboardError> {
        let access = |e: arboard::Error| ClipboardError::Access(e.to_string());
        match content.kind {
            ClipKind::Text => {
                let text = String::from_utf8_lossy(&content.data).into_owned();
                self.board.set_text(text).map_err(access)
            }
            ClipKind::Png => {
                let (width, height, pixels) = content.rgba()?;
                let image = arboard::ImageData {
                    width: width as usize,
                    height: height as usize,
                    bytes: pixels.into(),
                };
                self.board.set_image(image).map_err(access)
            }
        }
    }
}
