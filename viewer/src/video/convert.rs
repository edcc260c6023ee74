//! I420 (what openh264 decodes to) to `0x00RRGGBB` pixels, with
//! yuvutils-rs's SIMD converter: BT.601 limited range, the matrix the host
//! encodes with.

use yuvutils_rs::{yuv420_to_bgra, YuvPlanarImage, YuvRange, YuvStandardMatrix};

use crate::video::frame::Frame;
use crate::ViewerError;

/// The three planes of a decoded picture and their row strides in bytes.
#[derive(Debug, Clone, Copy)]
pub struct I420<'a> {
    pub width: u32,
    pub height: u32,
    pub y: &'a [u8],
    pub u: &'a [u8],
    pub v: &'a [u8],
    pub y_stride: u32,
    pub uv_stride: u32,
}

/// Convert `yuv` into `frame`, reshaping it to the picture's size. On
/// little-endian machines BGRA bytes read as `0xAARRGGBB` words.
pub fn i420_to_frame(yuv: &I420<'_>, frame: &mut Frame) -> Result<(), ViewerError> {
    frame.reshape(yuv.width, yuv.height);
    let image = YuvPlanarImage {
        y_plane: yuv.y,
        y_stride: yuv.y_stride,
        u_plane: yuv.u,
        u_stride: yuv.uv_stride,
        v_plane: yuv.v,
        v_stride: yuv.uv_stride,
        width: yuv.width,
        height: yuv.height,
    };
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut frame.pixels);
    yuv420_to_bgra(
        &image,
        bytes,
        yuv.width * 4,
        YuvRange::Limited,
        YuvStandardMatrix::Bt601,
    )
    .map_err(|e| ViewerError::Decoder(format!("colour conversion: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat picture of one limited-range BT.601 colour.
    fn flat(w: u32, h: u32, y: u8, u: u8, v: u8) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        (
            vec![y; (w * h) as usize],
            vec![u; (cw * ch) as usize],
            vec![v; (cw * ch) as usize],
        )
    }

    fn convert(w: u32, h: u32, yuv: (u8, u8, u8)) -> Frame {
        let (y, u, v) = flat(w, h, yuv.0, yuv.1, yuv.2);
        let image = I420 {
            width: w,
            height: h,
            y: &y,
            u: &u,
            v: &v,
            y_stride: w,
            uv_stride: w.div_ceil(2),
        };
        let mut frame = Frame::default();
        i420_to_frame(&image, &mut frame).expect("convert");
        frame
    }

    fn close(pixel: u32, rgb: u32) -> bool {
        (0..3).all(|k| {
            let a = (pixel >> (8 * k)) & 0xff;
            let b = (rgb >> (8 * k)) & 0xff;
            a.abs_diff(b) <= 3
        })
    }

    #[test]
    fn limited_range_primaries_come_out_right() {
        // BT.601 limited: red = (81, 90, 240), blue = (41, 240, 110).
        let red = convert(64, 32, (81, 90, 240));
        assert_eq!((red.width, red.height, red.pixels.len()), (64, 32, 2048));
        assert!(
            red.pixels.iter().all(|&p| close(p, 0xff0000)),
            "{:08x}",
            red.pixels[0]
        );
        let blue = convert(64, 32, (41, 240, 110));
        assert!(
            blue.pixels.iter().all(|&p| close(p, 0x0000ff)),
            "{:08x}",
            blue.pixels[0]
        );
        let white = convert(16, 16, (235, 128, 128));
        assert!(close(white.pixels[0], 0xffffff));
    }

    #[test]
    fn odd_sizes_and_short_planes() {
        let odd = convert(15, 9, (16, 128, 128));
        assert!(odd.pixels.iter().all(|&p| close(p, 0)));
        let image = I420 {
            width: 16,
            height: 16,
            y: &[0; 10],
            u: &[0; 64],
            v: &[0; 64],
            y_stride: 16,
            uv_stride: 8,
        };
        assert!(i420_to_frame(&image, &mut Frame::default()).is_err());
    }
}
