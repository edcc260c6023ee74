//! The consent windows, drawn with x11rb on the host's own display: the
//! prompt ("NAME wants to control this PC", "Allow", "Deny") and the
//! notice (who is connected, a "Disconnect" per session). One thread owns
//! the X connection; [`ConsentUi`] sends it commands and stops it on drop.
//!
//! The windows are override-redirect (no window manager moves or hides
//! them), raised above everything every second, and each button is its own
//! child window named after its label, so it can be found by name (tests
//! do so with `xdotool search --name`). Decisions come from the pure
//! [`PromptCore`]; this file only turns X events into its inputs. Remote
//! input cannot reach these windows: see [`super::shield`].

use std::collections::VecDeque;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ConfigureWindowAux, ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask,
    Font, Gcontext, InputFocus, PropMode, StackMode, Window, WindowClass,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;
use x11rb::{COPY_DEPTH_FROM_PARENT, COPY_FROM_PARENT, CURRENT_TIME};

use super::prompt::{Button, Decision, Input, Key, PromptCore};
use super::shield::Shield;

/// What the sessions ask of the windows.
#[derive(Debug)]
pub enum UiCmd {
    /// Ask the person at the PC; the answer goes to `reply`.
    Ask {
        id: String,
        text: String,
        timeout: Duration,
        reply: oneshot::Sender<Decision>,
    },
    /// The session went away before an answer: take its prompt down.
    Cancel { id: String },
    /// List a running session in the notice; "Disconnect" fires `disconnect`.
    Show {
        id: String,
        line: String,
        disconnect: oneshot::Sender<()>,
    },
    /// The session ended: take it off the notice.
    Hide { id: String },
}

/// The consent windows' thread, stopped when this is dropped.
#[derive(Debug)]
pub struct ConsentUi {
    tx: Option<mpsc::Sender<UiCmd>>,
    thread: Option<JoinHandle<()>>,
}

impl ConsentUi {
    /// Connect to `display` (`$DISPLAY` when `None`) and start the thread.
    pub fn start(display: Option<&str>, shield: Arc<Shield>) -> Result<ConsentUi, String> {
        let (conn, screen) = x11rb::connect(display).map_err(|e| e.to_string())?;
        let ui = Ui::new(conn, screen, shield).map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("consent-ui".into())
            .spawn(move || ui.run(&rx))
            .map_err(|e| e.to_string())?;
        Ok(ConsentUi {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Hand a command to the thread (lost only if the thread died).
    pub fn send(&self, cmd: UiCmd) {
        if let Some(tx) = &self.tx {
            if tx.send(cmd).is_err() {
                tracing::warn!("the consent window thread is gone");
            }
        }
    }
}

impl Drop for ConsentUi {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type XResult<T> = Result<T, Box<dyn std::error::Error>>;

/// A prompt waiting its turn.
struct Pending {
    id: String,
    text: String,
    timeout: Duration,
    reply: oneshot::Sender<Decision>,
}

/// The prompt on the screen.
struct Shown {
    id: String,
    text: String,
    reply: oneshot::Sender<Decision>,
    core: PromptCore,
    win: Window,
    allow: Window,
    deny: Window,
}

/// One line of the notice.
struct Entry {
    id: String,
    line: String,
    disconnect: Option<oneshot::Sender<()>>,
}

/// The notice on the screen: its window and a button per entry.
struct Notice {
    win: Window,
    buttons: Vec<Window>,
}

struct Ui {
    conn: RustConnection,
    root: Window,
    screen_size: (u16, u16),
    white: u32,
    black: u32,
    font: Font,
    gc: Gcontext,
    /// Keycode to keysym (first column), from the server's mapping.
    keysyms: (u8, u8, Vec<u32>),
    shield: Arc<Shield>,
    queue: VecDeque<Pending>,
    shown: Option<Shown>,
    entries: Vec<Entry>,
    notice: Option<Notice>,
    raised_at: Instant,
}

const PROMPT_W: u16 = 440;
const PROMPT_H: u16 = 130;
const BUTTON_W: u16 = 100;
const BUTTON_H: u16 = 30;
const NOTICE_W: u16 = 320;
const ROW_H: u16 = 30;

impl Ui {
    fn new(conn: RustConnection, screen: usize, shield: Arc<Shield>) -> XResult<Ui> {
        let s = &conn.setup().roots[screen];
        let (root, white, black) = (s.root, s.white_pixel, s.black_pixel);
        let screen_size = (s.width_in_pixels, s.height_in_pixels);
        let (min, max) = (conn.setup().min_keycode, conn.setup().max_keycode);
        let map = conn.get_keyboard_mapping(min, max - min + 1)?.reply()?;
        let font = conn.generate_id()?;
        conn.open_font(font, b"fixed")?;
        let gc = conn.generate_id()?;
        let aux = CreateGCAux::new()
            .foreground(black)
            .background(white)
            .font(font);
        conn.create_gc(gc, root, &aux)?;
        conn.flush()?;
        let per = map.keysyms_per_keycode;
        Ok(Ui {
            conn,
            root,
            screen_size,
            white,
            black,
            font,
            gc,
            keysyms: (min, per, map.keysyms),
            shield,
            queue: VecDeque::new(),
            shown: None,
            entries: Vec::new(),
            notice: None,
            raised_at: Instant::now(),
        })
    }

    fn run(mut self, rx: &mpsc::Receiver<UiCmd>) {
        loop {
            match rx.recv_timeout(Duration::from_millis(40)) {
                Ok(cmd) => self.command(cmd),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if let Err(e) = self.turn() {
                tracing::error!(error = %e, "consent windows failed");
                break;
            }
        }
        // Whoever waits for an answer gets a deny (the reply is dropped);
        // the shield comes down with the windows.
        if self.shown.take().is_some() {
            self.shield.prompt_lowered();
        }
        self.shield.set_notice(None);
        let _ = self.conn.close_font(self.font);
    }

    /// X events, the prompt's clock, the next prompt, the stacking order.
    fn turn(&mut self) -> XResult<()> {
        while let Some(ev) = self.conn.poll_for_event()? {
            self.event(ev)?;
        }
        self.input(Input::Tick)?;
        if self.shown.is_none() {
            if let Some(p) = self.queue.pop_front() {
                self.show_prompt(p)?;
            }
        }
        if self.raised_at.elapsed() > Duration::from_secs(1) {
            self.raise_all()?;
        }
        self.conn.flush()?;
        Ok(())
    }

    fn command(&mut self, cmd: UiCmd) {
        let result = match cmd {
            UiCmd::Ask {
                id,
                text,
                timeout,
                reply,
            } => {
                self.queue.push_back(Pending {
                    id,
                    text,
                    timeout,
                    reply,
                });
                Ok(())
            }
            UiCmd::Cancel { id } => {
                self.queue.retain(|p| p.id != id);
                match self.shown.as_ref().is_some_and(|s| s.id == id) {
                    true => self.close_prompt(None),
                    false => Ok(()),
                }
            }
            UiCmd::Show {
                id,
                line,
                disconnect,
            } => {
                self.entries.push(Entry {
                    id,
                    line,
                    disconnect: Some(disconnect),
                });
                self.rebuild_notice()
            }
            UiCmd::Hide { id } => {
                self.entries.retain(|e| e.id != id);
                self.rebuild_notice()
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "consent window command failed");
        }
    }

    fn event(&mut self, ev: Event) -> XResult<()> {
        match ev {
            Event::Expose(e) if e.count == 0 => self.draw(e.window),
            Event::ButtonPress(e) => {
                if let Some(s) = &self.shown {
                    if e.event == s.allow {
                        return self.input(Input::Click(Button::Allow));
                    }
                    if e.event == s.deny {
                        return self.input(Input::Click(Button::Deny));
                    }
                }
                self.disconnect_clicked(e.event);
                Ok(())
            }
            Event::KeyPress(e) => {
                let key = self.key(e.detail);
                self.input(Input::Key(key))
            }
            _ => Ok(()),
        }
    }

    fn key(&self, keycode: u8) -> Key {
        let (min, per, syms) = &self.keysyms;
        let i = usize::from(keycode.saturating_sub(*min)) * usize::from(*per);
        match syms.get(i).copied().unwrap_or(0) {
            0xff09 | 0xfe20 => Key::Tab,
            0xff0d | 0xff8d | 0x20 => Key::Enter,
            0xff1b => Key::Escape,
            _ => Key::Other,
        }
    }

    /// Feed the shown prompt; close it once decided.
    fn input(&mut self, input: Input) -> XResult<()> {
        let Some(s) = self.shown.as_mut() else {
            return Ok(());
        };
        let before = s.core.focus();
        match s.core.handle(Instant::now(), input) {
            Some(decision) => self.close_prompt(Some(decision)),
            None if s.core.focus() != before => {
                let (allow, deny) = (s.allow, s.deny);
                self.focus_border(allow, deny)
            }
            None => Ok(()),
        }
    }

    fn disconnect_clicked(&mut self, window: Window) {
        let Some(notice) = &self.notice else { return };
        let Some(i) = notice.buttons.iter().position(|b| *b == window) else {
            return;
        };
        if let Some(tx) = self.entries.get_mut(i).and_then(|e| e.disconnect.take()) {
            tracing::info!("Disconnect clicked on the consent notice");
            let _ = tx.send(());
        }
    }
}

/// Latin-1 for the core font: other characters become `?`.
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .take(60)
        .map(|c| match u8::try_from(u32::from(c)) {
            Ok(b) if !c.is_control() => b,
            _ => b'?',
        })
        .collect()
}

mod windows;
