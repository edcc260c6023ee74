//! The viewer window: a thin winit loop. Pictures come from the decoder
//! thread through a [`FrameSlot`]; input goes to the session task through a
//! channel; everything else is decided by the pure modules (`input`,
//! `letterbox`, `scale`, `stats`).
//!
//! Keys the viewer keeps for itself: F11 toggles fullscreen, Shift+F11 shows
//! or hides fps and round-trip time in the title.

use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use meshdesk_protocol::input::InputMsg;
use tokio::sync::mpsc::UnboundedSender;
use winit::application::ApplicationHandler;
use winit::dpi::PhysicalSize;
use winit::event::{ElementState, KeyEvent, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow};
use winit::keyboard::{KeyCode, ModifiersState, PhysicalKey};
use winit::window::{Fullscreen, Window, WindowId};

use super::input::InputMapper;
use super::present::Presenter;
use super::title::{title, with_safety_code, RateMeter};
use crate::session::{Notice, SessionCommand};
use crate::video::decode::DecodeStats;
use crate::video::frame::{Frame, FrameSlot};
use crate::ViewerError;

/// Window size before anything is known about the remote screen.
const DEFAULT_SIZE: (u32, u32) = (1280, 720);
/// Share of the monitor a new window may cover at most.
const MAX_MONITOR_SHARE: f64 = 0.9;

/// Events other threads send into the window loop.
#[derive(Debug)]
pub enum UserEvent {
    /// The decoder put a new picture in the slot.
    FrameReady,
    /// Something the session reported.
    Session(Notice),
    /// The session task finished (remote end, failure, or our close).
    SessionEnded,
}

/// What the window needs from the rest of the viewer.
#[derive(Debug)]
pub struct WindowConfig {
    pub device_name: String,
    /// A view-only session: no input is sent.
    pub view_only: bool,
    /// Close by itself after this long (`--duration`).
    pub duration: Option<Duration>,
}

/// The window application state.
pub struct App {
    config: WindowConfig,
    window: Option<Rc<Window>>,
    presenter: Option<Presenter>,
    slot: Arc<FrameSlot>,
    /// The picture on screen (redrawn on resize).
    current: Frame,
    mapper: InputMapper,
    commands: UnboundedSender<SessionCommand>,
    decode_stats: Arc<DecodeStats>,
    modifiers: ModifiersState,
    /// fps and RTT in the title (Shift+F11).
    show_stats: bool,
    /// The device key's safety code, once the session verified.
    safety_code: Option<String>,
    meter: RateMeter,
    /// Latest live figures for the title.
    live: (f64, Option<Duration>),
    close_at: Option<Instant>,
    /// Why the window could not be used, if it could not.
    pub error: Option<ViewerError>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("device", &self.config.device_name)
            .finish_non_exhaustive()
    }
}

impl App {
    pub fn new(
        config: WindowConfig,
        slot: Arc<FrameSlot>,
        commands: UnboundedSender<SessionCommand>,
        decode_stats: Arc<DecodeStats>,
    ) -> App {
        let close_at = config.duration.map(|d| Instant::now() + d);
        App {
            config,
            window: None,
            presenter: None,
            slot,
            current: Frame::default(),
            mapper: InputMapper::new(),
            commands,
            decode_stats,
            modifiers: ModifiersState::empty(),
            show_stats: false,
            safety_code: None,
            meter: RateMeter::default(),
            live: (0.0, None),
            close_at,
            error: None,
        }
    }

    fn open(&mut self, event_loop: &ActiveEventLoop) -> Result<(), ViewerError> {
        let size = initial_size(event_loop);
        let attributes = Window::default_attributes()
            .with_title(title(&self.config.device_name, self.config.view_only, None))
            .with_inner_size(size);
        let window = event_loop
            .create_window(attributes)
            .map_err(|e| ViewerError::Window(e.to_string()))?;
        let window = Rc::new(window);
        self.presenter = Some(Presenter::new(Rc::clone(&window))?);
        // A picture may have arrived before the window existed.
        window.request_redraw();
        self.window = Some(window);
        Ok(())
    }

    fn send(&self, msg: Option<InputMsg>) {
        if let Some(msg) = msg.filter(|_| !self.config.view_only) {
            let _ = self.commands.send(SessionCommand::Input(msg));
        }
    }

    fn close(&mut self, event_loop: &ActiveEventLoop) {
        let release = self.mapper.release_all();
        self.send(Some(release));
        let _ = self.commands.send(SessionCommand::Close);
        event_loop.exit();
    }

    fn redraw(&mut self, event_loop: &ActiveEventLoop) {
        self.slot.take(&mut self.current);
        let Some(presenter) = self.presenter.as_mut() else {
            return;
        };
        match presenter.draw(&self.current) {
            Ok(rect) => self.mapper.set_picture(rect),
            Err(e) => {
                self.error = Some(e);
                self.close(event_loop);
            }
        }
    }

    fn update_title(&self) {
        let live = self.show_stats.then_some(self.live);
        if let Some(w) = &self.window {
            let t = title(&self.config.device_name, self.config.view_only, live);
            w.set_title(&with_safety_code(t, self.safety_code.as_deref()));
        }
    }

    /// Keys the viewer keeps; returns whether `key` was one of them.
    fn local_key(&mut self, key: KeyCode, pressed: bool) -> bool {
        if key != KeyCode::F11 {
            return false;
        }
        if pressed && self.modifiers.shift_key() {
            self.show_stats = !self.show_stats;
            self.update_title();
        } else if pressed {
            if let Some(w) = &self.window {
                let full = w.fullscreen().is_some();
                w.set_fullscreen((!full).then_some(Fullscreen::Borderless(None)));
            }
        }
        true
    }

    fn keyboard(&mut self, event: KeyEvent) {
        let pressed = event.state == ElementState::Pressed;
        let code = match event.physical_key {
            PhysicalKey::Code(code) => Some(code),
            PhysicalKey::Unidentified(_) => None,
        };
        if code.is_some_and(|c| self.local_key(c, pressed)) {
            return;
        }
        let msg = self.mapper.key(code, pressed, event.text.as_deref());
        self.send(msg);
    }
}

impl ApplicationHandler<UserEvent> for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.window.is_some() {
            return;
        }
        if let Err(e) = self.open(event_loop) {
            self.error = Some(e);
            self.close(event_loop);
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        tracing::trace!(?event, "window event");
        match event {
            WindowEvent::CloseRequested | WindowEvent::Destroyed => self.close(event_loop),
            WindowEvent::RedrawRequested => self.redraw(event_loop),
            WindowEvent::Resized(_) => {
                if let Some(w) = &self.window {
                    w.request_redraw();
                }
            }
            WindowEvent::Focused(false) => {
                let release = self.mapper.release_all();
                self.send(Some(release));
            }
            WindowEvent::ModifiersChanged(m) => self.modifiers = m.state(),
            WindowEvent::KeyboardInput {
                event,
                is_synthetic: false,
                ..
            } => self.keyboard(event),
            WindowEvent::CursorMoved { position, .. } => {
                let msg = self.mapper.pointer_moved(position.x, position.y);
                self.send(msg);
            }
            WindowEvent::CursorLeft { .. } => self.mapper.pointer_left(),
            WindowEvent::MouseInput { state, button, .. } => {
                let msg = self.mapper.button(button, state == ElementState::Pressed);
                self.send(msg);
            }
            WindowEvent::MouseWheel { delta, .. } => {
                let msg = match delta {
                    MouseScrollDelta::LineDelta(x, y) => {
                        self.mapper.wheel_lines(f64::from(x), f64::from(y))
                    }
                    MouseScrollDelta::PixelDelta(p) => self.mapper.wheel_pixels(p.x, p.y),
                };
                self.send(msg);
            }
            _ => {}
        }
    }

    fn user_event(&mut self, event_loop: &ActiveEventLoop, event: UserEvent) {
        match event {
            UserEvent::FrameReady => {
                if let Some(w) = &self.window {
                    w.request_redraw();
                }
            }
            UserEvent::Session(Notice::Stats(stats)) => {
                let frames = self.decode_stats.frames_decoded.load(Ordering::Relaxed);
                let fps = self.meter.sample(frames, Instant::now()).unwrap_or(0.0);
                self.live = (fps, stats.round_trip_time);
                if self.show_stats {
                    self.update_title();
                }
            }
            UserEvent::Session(Notice::Verified { safety_code }) => {
                self.safety_code = Some(safety_code);
                self.update_title();
            }
            UserEvent::Session(_) => {}
            UserEvent::SessionEnded => event_loop.exit(),
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        match self.close_at {
            Some(at) if Instant::now() >= at => self.close(event_loop),
            Some(at) => event_loop.set_control_flow(ControlFlow::WaitUntil(at)),
            None => event_loop.set_control_flow(ControlFlow::Wait),
        }
    }
}

/// 1280x720, or 16:9 within 90 % of a smaller monitor.
fn initial_size(event_loop: &ActiveEventLoop) -> PhysicalSize<u32> {
    let (w, h) = DEFAULT_SIZE;
    let Some(monitor) = event_loop
        .primary_monitor()
        .or_else(|| event_loop.available_monitors().next())
    else {
        return PhysicalSize::new(w, h);
    };
    let m = monitor.size();
    let max_w = (f64::from(m.width) * MAX_MONITOR_SHARE) as u32;
    let max_h = (f64::from(m.height) * MAX_MONITOR_SHARE) as u32;
    let fit = super::letterbox::fit(w, h, max_w.min(w), max_h.min(h));
    if fit.is_empty() {
        PhysicalSize::new(w, h)
    } else {
        PhysicalSize::new(fit.width, fit.height)
    }
}
