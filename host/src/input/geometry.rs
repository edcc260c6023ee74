//! Where the captured screen is, and normalized pointer positions in it.
//!
//! Viewers send positions normalized to the captured screen (0.0 at the
//! top/left edge, 1.0 at the bottom/right edge). The host turns them into
//! absolute pixels of the X screen: the captured area may be one monitor
//! at an offset inside a larger X screen, hence the origin. X11 (and so
//! enigo) takes coordinates as `i16`, which [`ScreenRect::new`] checks once
//! so that every later conversion fits.

use super::InputError;

/// The captured area in X screen pixels, validated to fit in `i16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenRect {
    /// Left edge in X screen pixels.
    x: i32,
    /// Top edge in X screen pixels.
    y: i32,
    /// Width in pixels, at least 1.
    width: u32,
    /// Height in pixels, at least 1.
    height: u32,
}

impl ScreenRect {
    /// A captured area at `(x, y)` of `width` by `height` pixels. Every pixel
    /// of it must be addressable by X11 (0 to 32767 on both axes).
    pub fn new(x: i32, y: i32, width: u32, height: u32) -> Result<ScreenRect, InputError> {
        let fits = |origin: i32, len: u32| {
            let last = i64::from(origin) + i64::from(len) - 1;
            len > 0 && origin >= 0 && last <= i64::from(i16::MAX)
        };
        if fits(x, width) && fits(y, height) {
            Ok(ScreenRect {
                x,
                y,
                width,
                height,
            })
        } else {
            Err(InputError::ScreenGeometry {
                x,
                y,
                width,
                height,
            })
        }
    }

    /// A whole X screen of `width` by `height` pixels at the origin.
    pub fn at_origin(width: u32, height: u32) -> Result<ScreenRect, InputError> {
        ScreenRect::new(0, 0, width, height)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel under normalized `(nx, ny)`: pixel `floor(n * size)`, with
    /// 1.0 (and anything beyond, or NaN) clamped to the last pixel and
    /// negatives to the first. The result always lies inside the rect.
    pub fn to_pixel(&self, nx: f64, ny: f64) -> (i32, i32) {
        (
            self.x + scale(nx, self.width),
            self.y + scale(ny, self.height),
        )
    }
}

/// `floor(n * len)` clamped to `0..len`; NaN lands on 0.
fn scale(n: f64, len: u32) -> i32 {
    let last = f64::from(len - 1);
    // `clamp` keeps NaN, and `as` turns NaN into 0; the value is within
    // 0..=32767 (checked in `new`), so the cast is exact.
    (n * f64::from(len)).floor().clamp(0.0, last) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarter_and_half_of_720p() {
        let screen = ScreenRect::at_origin(1280, 720).unwrap();
        assert_eq!(screen.to_pixel(0.25, 0.5), (320, 360));
        assert_eq!(screen.to_pixel(0.25, 0.75), (320, 540));
    }

    #[test]
    fn edges_stay_on_screen() {
        let screen = ScreenRect::at_origin(1920, 1080).unwrap();
        assert_eq!(screen.to_pixel(0.0, 0.0), (0, 0));
        assert_eq!(screen.to_pixel(1.0, 1.0), (1919, 1079));
        assert_eq!(screen.to_pixel(-3.0, 7.0), (0, 1079));
        assert_eq!(screen.to_pixel(f64::NAN, f64::INFINITY), (0, 1079));
        assert_eq!(screen.to_pixel(f64::NEG_INFINITY, 0.9999), (0, 1079));
    }

    #[test]
    fn origin_offsets_a_second_monitor() {
        let screen = ScreenRect::new(1920, 0, 1280, 1024).unwrap();
        assert_eq!(screen.to_pixel(0.0, 0.0), (1920, 0));
        assert_eq!(screen.to_pixel(0.5, 0.5), (2560, 512));
        assert_eq!(screen.to_pixel(1.0, 1.0), (3199, 1023));
    }

    #[test]
    fn geometry_must_fit_in_i16() {
        assert!(ScreenRect::at_origin(32768, 100).is_ok());
        assert!(ScreenRect::at_origin(32769, 100).is_err());
        assert!(ScreenRect::new(32000, 0, 768, 10).is_ok());
        assert!(ScreenRect::new(32000, 0, 769, 10).is_err());
        assert!(ScreenRect::new(-1, 0, 10, 10).is_err());
        assert!(ScreenRect::at_origin(0, 10).is_err());
        assert!(ScreenRect::at_origin(10, 0).is_err());
        assert!(ScreenRect::new(i32::MAX, 0, u32::MAX, 10).is_err());
    }
}
