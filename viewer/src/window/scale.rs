//! Draw a decoded picture into the window's pixel buffer: nearest-neighbour
//! scaling into the letterboxed rectangle, black elsewhere. The column map
//! is computed once per call and each row is a table lookup, so a 1080p
//! window costs a few milliseconds on one core.

use crate::video::frame::Frame;
use crate::window::letterbox::{fit, Rect};

/// Pixel value of the bars around the picture.
const BLACK: u32 = 0;
/// The presenter wants `0x00RRGGBB`; the converter writes opaque alpha.
const RGB_MASK: u32 = 0x00ff_ffff;

/// Reusable scratch memory of the scaler.
#[derive(Debug, Default)]
pub struct Scaler {
    /// Source column of every destination column of the picture.
    columns: Vec<usize>,
}

impl Scaler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fill `dst` (`win_w` by `win_h`, no padding) with `src` scaled to fit;
    /// returns where the picture went (empty when there is none).
    pub fn draw(&mut self, src: &Frame, dst: &mut [u32], win_w: u32, win_h: u32) -> Rect {
        let (ww, wh) = (win_w as usize, win_h as usize);
        let len = (ww * wh).min(dst.len());
        let dst = &mut dst[..len];
        let rect = if src.is_empty() || src.pixels.len() < src.width as usize * src.height as usize
        {
            Rect::default()
        } else {
            fit(src.width, src.height, win_w, win_h)
        };
        if rect.is_empty() {
            dst.fill(BLACK);
            return rect;
        }
        let (rx, ry, rw, rh) = (
            rect.x as usize,
            rect.y as usize,
            rect.width as usize,
            rect.height as usize,
        );
        let (sw, sh) = (src.width as usize, src.height as usize);
        self.columns.clear();
        // Sample at pixel centres, the same mapping as `letterbox::to_remote`.
        self.columns
            .extend((0..rw).map(|x| (2 * x + 1) * sw / (2 * rw)));

        for (y, row) in dst.chunks_exact_mut(ww).enumerate() {
            if y < ry || y >= ry + rh {
                row.fill(BLACK);
                continue;
            }
            let sy = (2 * (y - ry) + 1) * sh / (2 * rh);
            let src_row = &src.pixels[sy * sw..(sy + 1) * sw];
            let (left, rest) = row.split_at_mut(rx);
            let (middle, right) = rest.split_at_mut(rw);
            left.fill(BLACK);
            right.fill(BLACK);
            if rw == sw {
                for (d, s) in middle.iter_mut().zip(src_row) {
                    *d = s & RGB_MASK;
                }
            } else {
                for (d, &sx) in middle.iter_mut().zip(&self.columns) {
                    *d = src_row[sx] & RGB_MASK;
                }
            }
        }
        rect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4x2 picture: left half red, right half blue (with alpha set).
    fn halves() -> Frame {
        let (r, b) = (0xffff_0000, 0xff00_00ff);
        Frame {
            width: 4,
            height: 2,
            pixels: vec![r, r, b, b, r, r, b, b],
        }
    }

    #[test]
    fn scales_down_with_bars_and_clears_alpha() {
        let mut s = Scaler::new();
        let mut dst = vec![0xdead_beef; 6 * 3];
        let rect = s.draw(&halves(), &mut dst, 6, 3);
        // 2:1 into 6x3: 6x3 window is wider than 2:1? 6/3 = 2, exact fit.
        assert_eq!(
            rect,
            Rect {
                x: 0,
                y: 0,
                width: 6,
                height: 3
            }
        );
        assert_eq!(&dst[..6], &[0xff0000, 0xff0000, 0xff0000, 0xff, 0xff, 0xff]);

        let mut dst = vec![0xdead_beef; 4 * 4];
        let rect = s.draw(&halves(), &mut dst, 4, 4);
        assert_eq!((rect.y, rect.height), (1, 2));
        assert!(dst[..4].iter().all(|&p| p == BLACK), "top bar");
        assert!(dst[12..].iter().all(|&p| p == BLACK), "bottom bar");
        assert_eq!(&dst[4..8], &[0xff0000, 0xff0000, 0xff, 0xff]);
    }

    #[test]
    fn scales_up_by_repeating_pixels() {
        let mut s = Scaler::new();
        let mut dst = vec![0; 8 * 4];
        s.draw(&halves(), &mut dst, 8, 4);
        assert_eq!(
            &dst[..8],
            &[0xff0000; 4]
                .iter()
                .chain(&[0xff; 4])
                .copied()
                .collect::<Vec<_>>()[..]
        );
        assert_eq!(dst[..8], dst[24..]);
    }

    #[test]
    fn no_picture_means_black() {
        let mut s = Scaler::new();
        let mut dst = vec![7; 9];
        assert!(s.draw(&Frame::default(), &mut dst, 3, 3).is_empty());
        assert!(dst.iter().all(|&p| p == BLACK));
    }
}
