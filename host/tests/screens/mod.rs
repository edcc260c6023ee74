//! Synthetic screens for encoder tests: BGRX pictures from a function of
//! the pixel position, converted the way the pipeline converts a grab.

use meshdesk_host::media::convert::I420Picture;

/// A `width` x `height` BGRX screen from `pixel(x, y) -> [b, g, r]`, as I420.
pub fn screen(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> I420Picture {
    let bgrx: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .flat_map(|(x, y)| {
            let [b, g, r] = pixel(x, y);
            [b, g, r, 0]
        })
        .collect();
    let mut picture = I420Picture::new();
    picture
        .convert_from_bgrx(&bgrx, width, height, width * 4)
        .expect("a valid screen");
    picture
}

/// Detailed content that never repeats a row: a hash of the position.
pub fn noise(seed: u32, x: u32, y: u32) -> [u8; 3] {
    let mut h = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77) ^ seed;
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    let [a, b, c, _] = h.to_le_bytes();
    [a, b, c]
}
