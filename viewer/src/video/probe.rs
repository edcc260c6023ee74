//! What a decoded picture tells someone watching the video (the latency
//! measurement): when it arrived and was decoded, and the colour at its
//! centre, read straight from the I420 planes.

use std::time::Instant;

use super::convert::I420;

/// Summed absolute Y, U and V difference that counts as a new colour. Two
/// flip colours differ by hundreds; encoder noise on a flat area by a few.
const CHANGE_THRESHOLD: u32 = 48;

/// The limited-range Y, U and V of one pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yuv(pub [u8; 3]);

impl Yuv {
    /// The pixel at the centre of a decoded picture, read from the planes
    /// directly (no conversion of the picture). `None` when the planes are
    /// too short for the stated size.
    pub fn at_centre(picture: &I420<'_>) -> Option<Yuv> {
        let (x, y) = (picture.width as usize / 2, picture.height as usize / 2);
        let luma = *picture.y.get(y * picture.y_stride as usize + x)?;
        let chroma = (y / 2) * picture.uv_stride as usize + x / 2;
        Some(Yuv([
            luma,
            *picture.u.get(chroma)?,
            *picture.v.get(chroma)?,
        ]))
    }

    /// Whether `other` is a different colour, not encoder noise.
    pub fn differs_from(self, other: Yuv) -> bool {
        let distance: u32 = self
            .0
            .iter()
            .zip(other.0)
            .map(|(&a, b)| u32::from(a.abs_diff(b)))
            .sum();
        distance >= CHANGE_THRESHOLD
    }
}

/// One decoded picture, as the measurement sees it.
#[derive(Debug, Clone, Copy)]
pub struct Picture {
    /// When the decoder thread took its access unit off the network side's
    /// queue (the frame had fully arrived).
    pub received: Instant,
    /// When decoding it completed.
    pub decoded: Instant,
    /// The colour at the centre.
    pub colour: Yuv,
}

#[cfg(test)]
mod tests {
    use super::*;

    const RED: Yuv = Yuv([81, 90, 240]);
    const BLUE: Yuv = Yuv([41, 240, 110]);

    #[test]
    fn centre_colour_reads_the_planes() {
        // 8x4 picture, strides wider than the picture: the centre is (4, 2),
        // its chroma sample (2, 1).
        let mut y = vec![0u8; 16 * 4];
        y[2 * 16 + 4] = 200;
        let mut u = vec![0u8; 8 * 2];
        u[8 + 2] = 100;
        let mut v = vec![0u8; 8 * 2];
        v[8 + 2] = 50;
        let picture = I420 {
            width: 8,
            height: 4,
            y: &y,
            u: &u,
            v: &v,
            y_stride: 16,
            uv_stride: 8,
        };
        assert_eq!(Yuv::at_centre(&picture), Some(Yuv([200, 100, 50])));
        let short = I420 {
            u: &u[..4],
            ..picture
        };
        assert_eq!(Yuv::at_centre(&short), None);
    }

    #[test]
    fn only_a_real_colour_change_counts() {
        assert!(RED.differs_from(BLUE));
        assert!(!RED.differs_from(RED));
        assert!(!RED.differs_from(Yuv([85, 94, 236])), "encoder noise");
    }
}
