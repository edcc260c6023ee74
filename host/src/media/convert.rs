//! BGRX screen pixels to I420 (YUV 4:2:0 planar), the encoder's input.
//!
//! Uses yuvutils-rs (SIMD, about 0.4 ms per 1080p frame here) with BT.601
//! limited range, what OpenH264's output is signalled as by default. H.264
//! 4:2:0 needs even dimensions: an odd last column or row is cropped off.
//! The planes are owned by an [`I420Picture`] and reused frame after frame.

use yuvutils_rs::{
    bgra_to_yuv420, BufferStoreMut, YuvConversionMode, YuvPlanarImageMut, YuvRange,
    YuvStandardMatrix,
};

use crate::media::MediaError;

/// Largest picture OpenH264 encodes (level 5.2), in either orientation.
const MAX_LONG_SIDE: u32 = 3840;
const MAX_SHORT_SIDE: u32 = 2160;

/// The size a `width` x `height` screen is encoded at: cropped to even
/// dimensions and checked against what OpenH264 accepts.
pub fn encoded_size(width: u32, height: u32) -> Result<(u32, u32), MediaError> {
    let (w, h) = (width & !1, height & !1);
    let too_small = w < 2 || h < 2;
    let too_large = w.max(h) > MAX_LONG_SIDE || w.min(h) > MAX_SHORT_SIDE;
    if too_small || too_large {
        return Err(MediaError::UnsupportedSize { width, height });
    }
    Ok((w, h))
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
    /// are `stride` bytes apart. Odd dimensions are cropped to even.
    pub fn convert_from_bgrx(
        &mut self,
        bgrx: &[u8],
        width: u32,
        height: u32,
        stride: u32,
    ) -> Result<(), MediaError> {
        let (w, h) = encoded_size(width, height)?;
        let luma = (w * h) as usize;
        let chroma = luma / 4;
        self.y.resize(luma, 0);
        self.u.resize(chroma, 0);
        self.v.resize(chroma, 0);
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
        assert!(encoded_size(4096, 2160).is_err());
        assert_eq!(encoded_size(2160, 3840).unwrap(), (2160, 3840));
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
