//! Where the remote screen goes in the window: scaled to fit, aspect ratio
//! kept, centred, with black bars; and window positions back to the
//! normalized remote coordinates the host expects (0.0 to 1.0).

/// A rectangle of window pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    /// Whether the rectangle covers no pixel.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }
}

/// The largest rectangle of `src_w:src_h` aspect that fits in a window of
/// `win_w` by `win_h`, centred. Empty when either size is zero.
pub fn fit(src_w: u32, src_h: u32, win_w: u32, win_h: u32) -> Rect {
    if src_w == 0 || src_h == 0 || win_w == 0 || win_h == 0 {
        return Rect::default();
    }
    let (sw, sh, ww, wh) = (
        u64::from(src_w),
        u64::from(src_h),
        u64::from(win_w),
        u64::from(win_h),
    );
    // Compare the aspect ratios exactly: ww/wh >= sw/sh means the window is
    // wider than the picture, so the height is the limit.
    let (w, h) = if ww * sh >= sw * wh {
        ((sw * wh + sh / 2) / sh, wh)
    } else {
        (ww, (sh * ww + sw / 2) / sw)
    };
    // Both are at most the window's size, which fits in u32.
    let (w, h) = (w.clamp(1, ww) as u32, h.clamp(1, wh) as u32);
    Rect {
        x: (win_w - w) / 2,
        y: (win_h - h) / 2,
        width: w,
        height: h,
    }
}

/// The normalized remote position under window position `(px, py)`
/// (physical pixels, as winit reports them), or `None` outside the picture.
/// A pixel maps through its centre, so the host's `floor(n * size)` lands on
/// the remote pixel drawn there.
pub fn to_remote(rect: Rect, px: f64, py: f64) -> Option<(f64, f64)> {
    if rect.is_empty() || !px.is_finite() || !py.is_finite() {
        return None;
    }
    let nx = (px.floor() - f64::from(rect.x) + 0.5) / f64::from(rect.width);
    let ny = (py.floor() - f64::from(rect.y) + 0.5) / f64::from(rect.height);
    let inside = (0.0..=1.0).contains(&nx) && (0.0..=1.0).contains(&ny);
    inside.then_some((nx, ny))
}

/// Like [`to_remote`], but a position outside the picture is pulled to its
/// nearest edge (while a button is held, a drag may leave the picture).
pub fn to_remote_clamped(rect: Rect, px: f64, py: f64) -> Option<(f64, f64)> {
    if rect.is_empty() || !px.is_finite() || !py.is_finite() {
        return None;
    }
    let nx = (px.floor() - f64::from(rect.x) + 0.5) / f64::from(rect.width);
    let ny = (py.floor() - f64::from(rect.y) + 0.5) / f64::from(rect.height);
    Some((nx.clamp(0.0, 1.0), ny.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_window_gets_side_bars() {
        let r = fit(1280, 720, 1000, 360);
        assert_eq!(
            r,
            Rect {
                x: 180,
                y: 0,
                width: 640,
                height: 360
            }
        );
    }

    #[test]
    fn tall_window_gets_top_and_bottom_bars() {
        let r = fit(1280, 720, 640, 600);
        assert_eq!(
            r,
            Rect {
                x: 0,
                y: 120,
                width: 640,
                height: 360
            }
        );
    }

    #[test]
    fn same_aspect_fills_and_degenerate_sizes_are_empty() {
        assert_eq!(fit(1920, 1080, 960, 540).width, 960);
        assert_eq!(fit(1920, 1080, 960, 540).height, 540);
        assert!(fit(0, 1080, 960, 540).is_empty());
        assert!(fit(1920, 1080, 0, 540).is_empty());
        // A sliver of a window still shows at least one pixel.
        assert_eq!(fit(1920, 1080, 1, 1000).width, 1);
        assert_eq!(fit(1920, 1080, 1, 1000).height, 1);
    }

    #[test]
    fn window_pixels_map_to_the_remote_pixel_drawn_there() {
        // 1280x720 shown at half size with 120 px bars above and below:
        // window pixel 160 covers remote pixels 320 and 321, and shows (and
        // maps to) the one under its centre.
        let r = fit(1280, 720, 640, 600);
        let (nx, ny) = to_remote(r, 160.0, 120.0 + 90.0).expect("inside");
        assert_eq!(
            ((nx * 1280.0).floor(), (ny * 720.0).floor()),
            (321.0, 181.0)
        );
        let (nx, _) = to_remote(fit(1280, 720, 1280, 720), 320.0, 0.0).expect("1:1");
        assert_eq!((nx * 1280.0).floor(), 320.0);
        let (nx, ny) = to_remote(r, 0.0, 120.0).expect("corner");
        assert!(nx > 0.0 && ny > 0.0);
        let (nx, ny) = to_remote(r, 639.9, 479.9).expect("far corner");
        assert!(nx < 1.0 && ny < 1.0);
        assert_eq!(to_remote(r, 100.0, 50.0), None, "in the top bar");
        assert_eq!(to_remote(r, f64::NAN, 200.0), None);
    }

    #[test]
    fn clamped_mapping_pins_to_the_edges() {
        let r = fit(1280, 720, 640, 600);
        assert_eq!(to_remote_clamped(r, 100.0, 50.0).map(|p| p.1), Some(0.0));
        assert_eq!(
            to_remote_clamped(r, 5000.0, 5000.0),
            Some((1.0, 1.0)),
            "beyond the bottom right"
        );
        assert_eq!(to_remote_clamped(Rect::default(), 1.0, 1.0), None);
    }
}
