//! Decoded pictures and their hand-over from the decoder thread to the
//! window: a slot that always holds the newest picture. Buffers are swapped,
//! never copied or reallocated, so three buffers circulate for the whole
//! session (the decoder's, the slot's, the window's).

use std::sync::Mutex;

/// One decoded picture as `0x00RRGGBB` pixels, row after row, no padding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    /// `width * height` pixels.
    pub pixels: Vec<u32>,
}

impl Frame {
    /// Resize for a `width` by `height` picture, reusing the allocation.
    pub fn reshape(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.pixels.resize(width as usize * height as usize, 0);
    }

    /// Whether there is no picture yet.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }
}

/// The newest decoded picture, waiting for the window. A picture that is
/// replaced before the window took it is skipped: the window always shows
/// the latest screen and never falls behind the decoder.
#[derive(Debug, Default)]
pub struct FrameSlot {
    state: Mutex<SlotState>,
}

#[derive(Debug, Default)]
struct SlotState {
    /// The picture in the slot (or a spare buffer when `fresh` is false).
    frame: Frame,
    /// The slot holds a picture the window has not taken yet.
    fresh: bool,
}

impl FrameSlot {
    pub fn new() -> Self {
        Self::default()
    }

    /// Put `frame` in the slot; `frame` gets the slot's old buffer back to
    /// decode into. Returns whether an untaken picture was skipped.
    pub fn publish(&self, frame: &mut Frame) -> bool {
        let mut state = self.lock();
        std::mem::swap(&mut state.frame, frame);
        std::mem::replace(&mut state.fresh, true)
    }

    /// Swap the newest picture into `frame` if there is one; the slot keeps
    /// `frame`'s old buffer. Returns whether `frame` changed.
    pub fn take(&self, frame: &mut Frame) -> bool {
        let mut state = self.lock();
        if !state.fresh {
            return false;
        }
        std::mem::swap(&mut state.frame, frame);
        state.fresh = false;
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        // The lock is held for a swap only; nothing can panic inside it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(tag: u32) -> Frame {
        Frame {
            width: 1,
            height: 1,
            pixels: vec![tag],
        }
    }

    #[test]
    fn the_window_gets_the_newest_picture_once() {
        let slot = FrameSlot::new();
        let mut shown = Frame::default();
        assert!(!slot.take(&mut shown), "nothing published yet");

        let mut decoding = frame(1);
        assert!(!slot.publish(&mut decoding));
        let mut second = frame(2);
        assert!(slot.publish(&mut second), "picture 1 was skipped");

        assert!(slot.take(&mut shown));
        assert_eq!(shown, frame(2));
        assert!(!slot.take(&mut shown), "taken already");
        assert_eq!(shown, frame(2), "a failed take leaves the picture alone");
    }

    #[test]
    fn buffers_circulate_without_copies() {
        let slot = FrameSlot::new();
        let mut decoding = frame(7);
        let ptr = decoding.pixels.as_ptr();
        slot.publish(&mut decoding);
        let mut shown = Frame::default();
        slot.take(&mut shown);
        assert_eq!(shown.pixels.as_ptr(), ptr, "same allocation, moved");
    }

    #[test]
    fn reshape_reuses_and_resizes() {
        let mut f = Frame::default();
        assert!(f.is_empty());
        f.reshape(4, 2);
        assert_eq!(f.pixels.len(), 8);
        f.reshape(2, 2);
        assert_eq!(f.pixels.len(), 4);
    }
}
