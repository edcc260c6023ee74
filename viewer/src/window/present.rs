//! Putting pixels on the window with softbuffer: pure CPU, no GPU or GL
//! needed (X11 shared memory where the server offers it).

use std::num::NonZeroU32;
use std::rc::Rc;

use softbuffer::{Context, Surface};
use winit::window::Window;

use crate::video::frame::Frame;
use crate::window::letterbox::Rect;
use crate::window::scale::Scaler;
use crate::ViewerError;

/// The window's pixel surface.
pub struct Presenter {
    /// Kept alive as long as the surface.
    _context: Context<Rc<Window>>,
    surface: Surface<Rc<Window>, Rc<Window>>,
    window: Rc<Window>,
    /// The surface's current size, to resize only on change.
    size: (u32, u32),
    scaler: Scaler,
}

impl std::fmt::Debug for Presenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presenter")
            .field("size", &self.size)
            .finish()
    }
}

impl Presenter {
    pub fn new(window: Rc<Window>) -> Result<Presenter, ViewerError> {
        let context = Context::new(Rc::clone(&window)).map_err(window_error)?;
        let surface = Surface::new(&context, Rc::clone(&window)).map_err(window_error)?;
        Ok(Presenter {
            _context: context,
            surface,
            window,
            size: (0, 0),
            scaler: Scaler::new(),
        })
    }

    /// Draw `frame` letterboxed into the whole window; returns where the
    /// picture went (empty before the first picture or when minimised).
    pub fn draw(&mut self, frame: &Frame) -> Result<Rect, ViewerError> {
        let size = self.window.inner_size();
        let (Some(w), Some(h)) = (NonZeroU32::new(size.width), NonZeroU32::new(size.height)) else {
            return Ok(Rect::default());
        };
        if self.size != (size.width, size.height) {
            self.surface.resize(w, h).map_err(window_error)?;
            self.size = (size.width, size.height);
        }
        let mut buffer = self.surface.buffer_mut().map_err(window_error)?;
        let rect = self
            .scaler
            .draw(frame, &mut buffer, size.width, size.height);
        buffer.present().map_err(window_error)?;
        Ok(rect)
    }
}

fn window_error(e: softbuffer::SoftBufferError) -> ViewerError {
    ViewerError::Window(e.to_string())
}
