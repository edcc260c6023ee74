//! BGRX screen pixels to I420 (YUV 4:2:0 planar), the encoder's input.
//!
//! Uses yuvutils-rs (SIMD, about 0.4 ms per 1080p frame here) with BT.601
//! limited range, what OpenH264's output is signalled as by default. H.264
//! 4:2:0 needs even dimensions: an odd last column or row is cropped off.
//! The planes are owned by an [`I420Picture`] and reused frame after frame.
//!
//! A screen larger than the encoder takes (several monitors side by side,
//! 5120x1440, 7680x2160) is sent at half its size, or a quarter, and so
//! on: converted at full size, then each plane averaged over 2x2 (4x4, ...)
//! blocks. The viewer points in fractions of the picture, so input still
//! lands on the right pixel of the full screen. The same path halves a
//! screen whose link is too slow for it (adaptive quality, `rate.rs`). For 5120x1440 in the
//! pipeline (release build, 30 Hz motion) that is 8.7 ms a frame to
//! convert and halve (a per-pixel loop over any factor took 27.7 ms; the
//! 2x2 loop vectorises), next to 5.1 ms to grab and 11 ms to encode.

use yuvutils_rs::{
    bgra_to_yuv420, BufferStoreMut, YuvConversionMode, YuvPlanarImageMut, YuvRange,
    YuvStandardMatrix,
};

use crate::media::MediaError;

/// Largest picture encoded (OpenH264 at level 5.2), in either orientation;
/// a larger screen is scaled down to fit.
const MAX_LONG_SIDE: u32 = 3840;
const MAX_SHORT_SIDE: u32 = 2160;

/// The size a `width` x `height` screen is encoded at: scaled down by 2,
/// 4, ... until it fits what OpenH264 accepts, then cropped to even
/// dimensions. Errors only for a screen under 2x2.
pub fn encoded_size(width: u32, height: u32) -> Result<(u32, u32), MediaError> {
    scaling(width, height, 1).map(|s| (s.width, s.height))
}

/// How a screen is turned into the encoder's picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scaling {
    /// The picture's width and height (even).
    width: u32,
    height: u32,
    /// Screen pixels per picture pixel, across and down: 1, 2, 4, ...
    factor: u32,
}

/// `at_least`: the smallest factor wanted (1, 2, 4, ...).
fn scaling(width: u32, height: u32, at_least: u32) -> Result<Scaling, MediaError> {
    let size = |factor: u32| ((width / factor) & !1, (height / factor) & !1);
    let fits = |(w, h): (u32, u32)| w.max(h) <= MAX_LONG_SIDE && w.min(h) <= MAX_SHORT_SIDE;
    let mut factor = at_least.max(1).next_power_of_two();
    if size(factor).0 < 2 || size(factor).1 < 2 {
        factor = 1;
    }
    while !fits(size(factor)) {
        factor *= 2;
    }
    let (w, h) = size(factor);
    if w < 2 || h < 2 {
        return Err(MediaError::UnsupportedSize { width, height });
    }
    Ok(Scaling {
        width: w,
        height: h,
        factor,
    })
}

/// Averages `src` (`width` pixels a row, tightly packed) over `factor` x
/// `factor` blocks into `dst` (`dst_width` = `width / factor` a row), by
/// halving `factor`'s power of two times.
fn shrink_plane(src: &[u8], width: usize, factor: usize, dst: &mut [u8], dst_width: usize) {
    if factor == 2 {
        return halve_plane(src, width, dst, dst_width);
    }
    let half_width = width / 2;
    let mut half = vec![0; half_width * (src.len() / width / 2)];
    halve_plane(src, width, &mut half, half_width);
    shrink_plane(&half, half_width, factor / 2, dst, dst_width);
}

/// Averages `src` over 2x2 blocks into `dst`: a tight loop over two rows
/// at a time, which the compiler vectorises.
fn halve_plane(src: &[u8], width: usize, dst: &mut [u8], dst_width: usize) {
    for (row, out) in dst.chunks_exact_mut(dst_width).enumerate() {
        let top = &src[2 * row * width..][..2 * dst_width];
        let bottom = &src[(2 * row + 1) * width..][..2 * dst_width];
        for ((px, t), b) in out
            .iter_mut()
            .zip(top.chunks_exact(2))
            .zip(bottom.chunks_exact(2))
        {
            let sum = u16::from(t[0]) + u16::from(t[1]) + u16::from(b[0]) + u16::from(b[1]);
            *px = ((sum + 2) / 4) as u8;
        }
    }
}

/// A borrowed I420 picture: tightly packed planes (stride = width, width / 2).
#[derive(Debug, Clone, Copy)]
pub struct I420View<'a> {
    /// Luma plane, `width * height` bytes.
    pub y: &'a [u8],
    /// Cb plane, `width/2 * height/2` bytes.
    pub u: &'a [u8],
    /// Cr plane, `width/2 * height/2` bytes.
    pub v: &'a [u8],
    /// Picture width in pixels (even).
    pub width: u32,
    /// Picture height in pixels (even).
    pub height: u32,
}

/// An owned I420 picture whose planes are reused frame after frame: the
/// capture thread converts each grab into one and the encoder reads it.
#[derive(Debug, Default)]
pub struct I420Picture {
    /// The screen at full size, for a screen that is scaled down (empty
    /// otherwise): converted here first, then averaged into the planes.
    full: Option<Box<I420Picture>>,
    /// Luma plane, `width * height` bytes.
    y: Vec<u8>,
    /// Cb plane, `width/2 * height/2` bytes.
    u: Vec<u8>,
    /// Cr plane, `width/2 * height/2` bytes.
    v: Vec<u8>,
    /// Picture width in pixels (even; 0 before the first conversion).
    width: u32,
    /// Picture height in pixels (even; 0 before the first conversion).
    height: u32,
}

impl I420Picture {
    /// An empty picture; the planes grow on the first conversion.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the picture with a `width` x `height` BGRX image whose rows
    /// are `stride` bytes apart. Odd dimensions are cropped to even; a
    /// screen too large to encode is scaled down ([`encoded_size`]).
    pub fn convert_from_bgrx(
        &mut self,
        bgrx: &[u8],
        width: u32,
        height: u32,
        stride: u32,
    ) -> Result<(), MediaError> {
        self.convert_scaled(bgrx, (width, height, stride), 1)
    }

    /// [`Self::convert_from_bgrx`], scaled down by at least `shrink` (1,
    /// 2, 4, ...) across and down.
    pub fn convert_scaled(
        &mut self,
        bgrx: &[u8],
        (width, height, stride): (u32, u32, u32),
        shrink: u32,
    ) -> Result<(), MediaError> {
        let Scaling {
            width: w,
            height: h,
            factor,
        } = scaling(width, height, shrink)?;
        if factor == 1 {
            // A screen that was larger before no longer needs its buffer.
            self.full = None;
            return self.convert_even(bgrx, w, h, stride);
        }
        // The part of the screen the picture shows, at full size.
        let mut full = self.full.take().unwrap_or_default();
        let converted = full.convert_even(bgrx, w * factor, h * factor, stride);
        if converted.is_ok() {
            self.size_planes(w, h);
            let (fw, f) = ((w * factor) as usize, factor as usize);
            let (w_, half) = (w as usize, (w / 2) as usize);
            shrink_plane(&full.y, fw, f, &mut self.y, w_);
            shrink_plane(&full.u, fw / 2, f, &mut self.u, half);
            shrink_plane(&full.v, fw / 2, f, &mut self.v, half);
        }
        self.full = Some(full);
        // On failure the planes hold nothing usable: say so through the size.
        (self.width, self.height) = if converted.is_ok() { (w, h) } else { (0, 0) };
        converted
    }

    /// [`Self::convert_from_bgrx`] for the top-left `w` x `h` (even) of the
    /// image, at full size.
    fn convert_even(&mut self, bgrx: &[u8], w: u32, h: u32, stride: u32) -> Result<(), MediaError> {
        self.size_planes(w, h);
        let mut planar = YuvPlanarImageMut {
            y_plane: BufferStoreMut::Borrowed(&mut self.y),
            y_stride: w,
            u_plane: BufferStoreMut::Borrowed(&mut self.u),
            u_stride: w / 2,
            v_plane: BufferStoreMut::Borrowed(&mut self.v),
            v_stride: w / 2,
            width: w,
            height: h,
        };
        let converted = bgra_to_yuv420(
            &mut planar,
            bgrx,
            stride,
            YuvRange::Limited,
            YuvStandardMatrix::Bt601,
            YuvConversionMode::Balanced,
        );
        // On failure the planes hold nothing usable: say so through the size.
        (self.width, self.height) = if converted.is_ok() { (w, h) } else { (0, 0) };
        converted?;
        Ok(())
    }

    /// Sizes the planes for a `w` x `h` (even) picture, reusing them.
    fn size_planes(&mut self, w: u32, h: u32) {
        let luma = (w * h) as usize;
        self.y.resize(luma, 0);
        self.u.resize(luma / 4, 0);
        self.v.resize(luma / 4, 0);
    }

    /// The picture as borrowed planes.
    pub fn view(&self) -> I420View<'_> {
        I420View {
            y: &self.y,
            u: &self.u,
            v: &self.v,
            width: self.width,
            height: self.height,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid_bgrx(width: u32, height: u32, bgr: [u8; 3]) -> Vec<u8> {
        let px = [bgr[0], bgr[1], bgr[2], 0];
        px.repeat((width * height) as usize)
    }

    #[test]
    fn odd_sizes_are_cropped_to_even() {
        assert_eq!(encoded_size(1281, 721).unwrap(), (1280, 720));
        assert_eq!(encoded_size(1920, 1080).unwrap(), (1920, 1080));
        assert!(encoded_size(1, 100).is_err());
        assert_eq!(encoded_size(3840, 2160).unwrap(), (3840, 2160));
        assert_eq!(encoded_size(2160, 3840).unwrap(), (2160, 3840));
    }

    #[test]
    fn screens_too_large_to_encode_are_halved_until_they_fit() {
        assert_eq!(encoded_size(4096, 2160).unwrap(), (2048, 1080));
        assert_eq!(encoded_size(5120, 1440).unwrap(), (2560, 720));
        assert_eq!(encoded_size(7680, 2160).unwrap(), (3840, 1080));
        assert_eq!(encoded_size(1440, 5120).unwrap(), (720, 2560));
        assert_eq!(encoded_size(15360, 4320).unwrap(), (3840, 1080));
        assert_eq!(encoded_size(7683, 2163).unwrap(), (3840, 1080));
    }

    #[test]
    fn a_scaled_screen_averages_its_pixels() {
        // 7680x8: left half red, right half blue, and one column of white
        // and black pixels alternating down the middle of the red half.
        let (w, h) = (7680u32, 8u32);
        let mut bgrx = Vec::with_capacity((w * h * 4) as usize);
        for _row in 0..h {
            for x in 0..w {
                bgrx.extend(if x < w / 2 {
                    [0, 0, 255, 0]
                } else {
                    [255, 0, 0, 0]
                });
            }
        }
        for row in 0..h as usize {
            let at = (row * w as usize + 1000) * 4;
            let v = if row % 2 == 0 { 255 } else { 0 };
            bgrx[at..at + 3].copy_from_slice(&[v, v, v]);
        }
        let mut pic = I420Picture::new();
        pic.convert_from_bgrx(&bgrx, w, h, w * 4).unwrap();
        let view = pic.view();
        assert_eq!((view.width, view.height), (3840, 4));
        assert_eq!(view.y.len(), 3840 * 4);
        assert_eq!(view.u.len(), 1920 * 2);
        // Red (Y 81, V 240) on the left, blue (Y 41, U 240) on the right.
        assert!(view.y[10].abs_diff(81) <= 2 && view.v[10].abs_diff(240) <= 2);
        assert!(view.y[3000].abs_diff(41) <= 2 && view.u[1500].abs_diff(240) <= 2);
        // Each 2x2 block over the mixed column holds one white, one black
        // and two red pixels: Y (235 + 16 + 2 * 81) / 4, about 103.
        assert!(view.y[500].abs_diff(103) <= 2, "{}", view.y[500]);

        // Four screens' width: a quarter across and down, still red.
        let red = solid_bgrx(15360, 8, [0, 0, 255]);
        pic.convert_from_bgrx(&red, 15360, 8, 15360 * 4).unwrap();
        let view = pic.view();
        assert_eq!((view.width, view.height, view.y.len()), (3840, 2, 3840 * 2));
        assert!(view.y.iter().all(|y| y.abs_diff(81) <= 2));
        assert!(view.v.iter().all(|v| v.abs_diff(240) <= 2));
    }

    #[test]
    fn converts_solid_colours_to_bt601_limited_range() {
        let mut pic = I420Picture::new();
        // Pure red in BGRX: Y 81, U 90, V 240 in BT.601 limited range.
        let red = solid_bgrx(33, 17, [0, 0, 255]);
        pic.convert_from_bgrx(&red, 33, 17, 33 * 4).unwrap();
        let view = pic.view();
        assert_eq!((view.width, view.height), (32, 16));
        assert_eq!(view.y.len(), 32 * 16);
        assert_eq!(view.u.len(), 16 * 8);
        for (got, want) in [(view.y[0], 81), (view.u[0], 90), (view.v[0], 240)] {
            assert!(got.abs_diff(want) <= 2, "got {got}, want {want}");
        }
        // White and black hit the limited-range ends.
        let white = solid_bgrx(4, 4, [255, 255, 255]);
        pic.convert_from_bgrx(&white, 4, 4, 16).unwrap();
        assert!(pic.view().y[0].abs_diff(235) <= 1);
        let black = solid_bgrx(4, 4, [0, 0, 0]);
        pic.convert_from_bgrx(&black, 4, 4, 16).unwrap();
        assert!(pic.view().y[0].abs_diff(16) <= 1);
    }

    #[test]
    fn short_input_is_an_error_not_a_panic() {
        let mut pic = I420Picture::new();
        assert!(pic.convert_from_bgrx(&[0; 10], 4, 4, 16).is_err());
        assert_eq!((pic.view().width, pic.view().height), (0, 0));
    }
}
