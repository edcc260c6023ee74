//! The viewer window: a thin winit loop. Pictures come from the decoder
//! thread through a [`FrameSlot`]; input goes to the session task through a
//! channel; everything else is decided by the pure modules (`input`,
//! `letterbox`, `scale`, `stats`).
//!
//! Keys the viewer keeps for itself: F11 toggles fullscreen, Shift+F11 shows
//! or hides fps and round-trip time in the title.
//!
//! With `--all-screens` there is one window per remote monitor, each
//! showing its [`Region`] of the one picture and sending input placed in
//! the whole picture.

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
use super::region::{crop, to_picture, Region};
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
    /// `--all-screens`: one window per monitor's region of the picture;
    /// empty: one window with the whole picture.
    pub regions: Vec<Region>,
}

/// One window and what it shows.
struct View {
    window: Rc<Window>,
    presenter: Presenter,
    mapper: InputMapper,
    /// The monitor it shows (`None`: the whole picture).
    region: Option<Region>,
    /// The region cut out of the picture.
    shown: Frame,
}

/// The window application state.
pub struct App {
    config: WindowConfig,
    views: Vec<View>,
    slot: Arc<FrameSlot>,
    /// The picture on screen (redrawn on resize).
    current: Frame,
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
            views: Vec::new(),
            slot,
            current: Frame::default(),
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
        let regions: Vec<Option<Region>> = match self.config.regions.is_empty() {
            true => vec![None],
            false => self.config.regions.iter().cloned().map(Some).collect(),
        };
        for region in regions {
            let size = match &region {
                Some(r) => fit_monitor(event_loop, r.width, r.height),
                None => fit_monitor(event_loop, DEFAULT_SIZE.0, DEFAULT_SIZE.1),
            };
            let name = self.window_name(region.as_ref());
            let attributes = Window::default_attributes()
                .with_title(title(&name, self.config.view_only, None))
                .with_inner_size(size);
            let window = event_loop
                .create_window(attributes)
                .map_err(|e| ViewerError::Window(e.to_string()))?;
            let window = Rc::new(window);
            let presenter = Presenter::new(Rc::clone(&window))?;
            // A picture may have arrived before the window existed.
            window.request_redraw();
            self.views.push(View {
                window,
                presenter,
                mapper: InputMapper::new(),
                region,
                shown: Frame::default(),
            });
        }
        Ok(())
    }

    /// The device's name, and the monitor's when a window shows one.
    fn window_name(&self, region: Option<&Region>) -> String {
        match region {
            Some(r) => format!("{}: {}", self.config.device_name, r.name),
            None => self.config.device_name.clone(),
        }
    }

    /// Which view `id` is.
    fn view(&self, id: WindowId) -> Option<usize> {
        self.views.iter().position(|v| v.window.id() == id)
    }

    /// Send a message from view `i` (placed in the whole picture).
    fn send(&self, i: usize, msg: Option<InputMsg>) {
        let Some(msg) = msg.filter(|_| !self.config.view_only) else {
            return;
        };
        let msg = match self.views.get(i).and_then(|v| v.region.as_ref()) {
            Some(r) => to_picture(msg, r, self.current.width, self.current.height),
            None => msg,
        };
        let _ = self.commands.send(SessionCommand::Input(msg));
    }

    fn release(&mut self, i: usize) {
        if let Some(view) = self.views.get_mut(i) {
            let release = view.mapper.release_all();
            self.send(i, Some(release));
        }
    }

    fn close(&mut self, event_loop: &ActiveEventLoop) {
        for i in 0..self.views.len() {
            self.release(i);
        }
        let _ = self.commands.send(SessionCommand::Close);
        event_loop.exit();
    }

    fn redraw(&mut self, event_loop: &ActiveEventLoop, i: usize) {
        if self.slot.take(&mut self.current) {
            // The other windows show parts of the same new picture.
            for (j, v) in self.views.iter().enumerate() {
                if j != i {
                    v.window.request_redraw();
                }
            }
        }
        let Some(view) = self.views.get_mut(i) else {
            return;
        };
        let drawn = match &view.region {
            Some(r) => {
                crop(&self.current, r, &mut view.shown);
                view.presenter.draw(&view.shown)
            }
            None => view.presenter.draw(&self.current),
        };
        match drawn {
            Ok(rect) => view.mapper.set_picture(rect),
            Err(e) => {
                self.error = Some(e);
                self.close(event_loop);
            }
        }
    }

    fn update_title(&self) {
        let live = self.show_stats.then_some(self.live);
        for view in &self.views {
            let name = self.window_name(view.region.as_ref());
            let t = title(&name, self.config.view_only, live);
            view.window
                .set_title(&with_safety_code(t, self.safety_code.as_deref()));
        }
    }

    /// Keys the viewer keeps; returns whether `key` was one of them.
    fn local_key(&mut self, i: usize, key: KeyCode, pressed: bool) -> bool {
        if key != KeyCode::F11 {
            return false;
        }
        if pressed && self.modifiers.shift_key() {
            self.show_stats = !self.show_stats;
            self.update_title();
        } else if pressed {
            if let Some(v) = self.views.get(i) {
                let full = v.window.fullscreen().is_some();
                v.window
                    .set_fullscreen((!full).then_some(Fullscreen::Borderless(None)));
            }
        }
        true
    }

    fn keyboard(&mut self, i: usize, event: KeyEvent) {
        let pressed = event.state == ElementState::Pressed;
        let code = match event.physical_key {
            PhysicalKey::Code(code) => Some(code),
            PhysicalKey::Unidentified(_) => None,
        };
        if code.is_some_and(|c| self.local_key(i, c, pressed)) {
            return;
        }
        let Some(view) = self.views.get_mut(i) else {
            return;
        };
        let msg = view.mapper.key(code, pressed, event.text.as_deref());
        self.send(i, msg);
    }

    /// What view `i`'s mapper makes of a pointer event.
    fn pointer(&mut self, i: usize, event: impl FnOnce(&mut InputMapper) -> Option<InputMsg>) {
        let Some(view) = self.views.get_mut(i) else {
            return;
        };
        let msg = event(&mut view.mapper);
        self.send(i, msg);
    }
}

impl ApplicationHandler<UserEvent> for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if !self.views.is_empty() {
            return;
        }
        if let Err(e) = self.open(event_loop) {
            self.error = Some(e);
            self.close(event_loop);
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, id: WindowId, event: WindowEvent) {
        tracing::trace!(?event, "window event");
        let Some(i) = self.view(id) else {
            return;
        };
        match event {
            WindowEvent::CloseRequested | WindowEvent::Destroyed => self.close(event_loop),
            WindowEvent::RedrawRequested => self.redraw(event_loop, i),
            WindowEvent::Resized(_) => self.views[i].window.request_redraw(),
            WindowEvent::Focused(false) => self.release(i),
            WindowEvent::ModifiersChanged(m) => self.modifiers = m.state(),
            WindowEvent::KeyboardInput {
                event,
                is_synthetic: false,
                ..
            } => self.keyboard(i, event),
            WindowEvent::CursorMoved { position, .. } => {
                self.pointer(i, |m| m.pointer_moved(position.x, position.y));
            }
            WindowEvent::CursorLeft { .. } => self.views[i].mapper.pointer_left(),
            WindowEvent::MouseInput { state, button, .. } => {
                self.pointer(i, |m| m.button(button, state == ElementState::Pressed));
            }
            WindowEvent::MouseWheel { delta, .. } => self.pointer(i, |m| match delta {
                MouseScrollDelta::LineDelta(x, y) => m.wheel_lines(f64::from(x), f64::from(y)),
                MouseScrollDelta::PixelDelta(p) => m.wheel_pixels(p.x, p.y),
            }),
            _ => {}
        }
    }

    fn user_event(&mut self, event_loop: &ActiveEventLoop, event: UserEvent) {
        match event {
            UserEvent::FrameReady => {
                for v in &self.views {
                    v.window.request_redraw();
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

/// `w` x `h` (1280x720 before anything is known), or its shape within
/// 90 % of a smaller monitor.
fn fit_monitor(event_loop: &ActiveEventLoop, w: u32, h: u32) -> PhysicalSize<u32> {
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
