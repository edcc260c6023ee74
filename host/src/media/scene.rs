//! Scene cuts: telling OpenH264 up front that a picture is a new scene.
//!
//! In screen mode OpenH264 compares every picture with the previous one
//! before encoding it: scroll detection, then scene-change detection, and a
//! picture where most 8x8 luma blocks changed becomes an IDR. That check
//! runs on one thread before the slice threads start, and on flat content
//! it is slow: scroll detection looks for a line with detail to follow and,
//! finding none, walks every line of the screen. An IDR asked for before
//! the encode skips both. For the full-screen colour flip of the latency
//! bench that takes 14 to 28 % off the encode (`encode_bench`, paired per
//! frame) and 6 to 8 ms off click-to-decoder at 1920x1080 (native viewer,
//! old and new host alternated).
//!
//! [`scene_cut`] applies OpenH264's own rule to the two pictures and says
//! yes only where OpenH264 would have made the picture an IDR anyway, so
//! the stream is the same and only the time changes:
//! - at least 80 % of the 8x8 luma blocks have a sum of absolute
//!   differences above 320 against the same block of the previous picture
//!   (`SCENE_CHANGE_MOTION_RATIO_LARGE_SCREEN`, `HIGH_MOTION_BLOCK_THRESHOLD`);
//! - and the change cannot be a vertical scroll, which OpenH264 follows
//!   and codes as motion: no piece of a few test rows appears unchanged
//!   anywhere within OpenH264's scroll range in the previous picture. This
//!   side is conservative: any match, even of a blank piece, leaves the
//!   decision to OpenH264.
//!
//! Most pictures change a small part of the screen; a sparse sample of the
//! blocks turns them away after reading a sixteenth of the screen. On a
//! cut a changed block is known after its first rows: the whole check of
//! the flip takes 0.29 ms at 1280x720 and 0.45 ms at 1920x1080 in the
//! pipeline (`scene_check` in the host's debug log).

use crate::media::convert::I420View;

/// Block SAD above which a block counts as changed (OpenH264's
/// `HIGH_MOTION_BLOCK_THRESHOLD`).
const MOTION_SAD: u32 = 320;
/// Share of changed blocks that makes a scene change, as a fraction
/// (OpenH264's `SCENE_CHANGE_MOTION_RATIO_LARGE_SCREEN`, 0.80).
const LARGE_CHANGE: (usize, usize) = (4, 5);
/// The sample looks at every `SAMPLE_STEP`-th block across and down.
const SAMPLE_STEP: usize = 4;
/// Share of sampled blocks that must have changed before all are counted:
/// under the real threshold, so a true scene change is not turned away by
/// an unlucky sample (3/4 against 4/5).
const SAMPLE_CHANGE: (usize, usize) = (3, 4);
/// Farthest vertical scroll OpenH264 looks for, in rows (`MAX_SCROLL_MV_Y`).
const MAX_SCROLL_ROWS: usize = 511;
/// Rows of the new picture tested for a scroll, spread over its height.
const SCROLL_TEST_ROWS: usize = 8;
/// Each test row is compared in this many pieces, so a scroll that does
/// not span the whole width (a page beside a fixed side bar) is found too.
const SCROLL_PIECES: usize = 8;

/// Whether `current` is a new scene after `previous`: a picture OpenH264's
/// screen mode would encode as an IDR. False for pictures of different
/// sizes (the encoder starts over with an IDR on its own).
pub fn scene_cut(previous: I420View<'_>, current: I420View<'_>) -> bool {
    if (previous.width, previous.height) != (current.width, current.height) {
        return false;
    }
    let blocks = Blocks::of(current);
    if blocks.across == 0 || blocks.down == 0 {
        return false;
    }
    mostly_changed(&blocks, previous.y, current.y, SAMPLE_STEP, SAMPLE_CHANGE)
        && mostly_changed(&blocks, previous.y, current.y, 1, LARGE_CHANGE)
        && !may_be_scroll(previous, current)
}

/// The 8x8 luma blocks of a picture, as OpenH264 counts them (a partial
/// block at the right or bottom edge is left out).
struct Blocks {
    /// Luma row length in bytes.
    stride: usize,
    /// Whole blocks per row.
    across: usize,
    /// Whole block rows.
    down: usize,
}

impl Blocks {
    fn of(picture: I420View<'_>) -> Self {
        let (width, height) = (picture.width as usize, picture.height as usize);
        Self {
            stride: width,
            across: width / 8,
            down: height / 8,
        }
    }

    /// Whether block (`bx`, `by`) differs between two planes by a sum of
    /// absolute differences over [`MOTION_SAD`]. Stops at the row where
    /// the sum gets there: a changed block is usually known after two.
    fn changed(&self, a: &[u8], b: &[u8], bx: usize, by: usize) -> bool {
        let mut sad = 0;
        for row in 0..8 {
            let start = (by * 8 + row) * self.stride + bx * 8;
            sad += a[start..start + 8]
                .iter()
                .zip(&b[start..start + 8])
                .map(|(&x, &y)| u32::from(x.abs_diff(y)))
                .sum::<u32>();
            if sad > MOTION_SAD {
                return true;
            }
        }
        false
    }
}

/// Whether at least `share` of the blocks on a grid of every `step`-th
/// block changed. Stops as soon as the answer is known either way.
fn mostly_changed(
    blocks: &Blocks,
    previous: &[u8],
    current: &[u8],
    step: usize,
    (num, den): (usize, usize),
) -> bool {
    let counted = blocks.across.div_ceil(step) * blocks.down.div_ceil(step);
    // Rounded as OpenH264 rounds its threshold (ratio x blocks + 0.5).
    let mut changed_needed = (counted * num * 2 + den) / (den * 2);
    let mut unchanged_allowed = counted - changed_needed;
    for by in (0..blocks.down).step_by(step) {
        for bx in (0..blocks.across).step_by(step) {
            if blocks.changed(previous, current, bx, by) {
                changed_needed = changed_needed.saturating_sub(1);
                if changed_needed == 0 {
                    return true;
                }
            } else if unchanged_allowed == 0 {
                return false;
            } else {
                unchanged_allowed -= 1;
            }
        }
    }
    // Not reached: the last block settles the count one way or the other.
    false
}

/// Whether a piece of some test row of `current` is found unchanged in
/// `previous` at most [`MAX_SCROLL_ROWS`] rows away (or in place).
fn may_be_scroll(previous: I420View<'_>, current: I420View<'_>) -> bool {
    let (width, height) = (current.width as usize, current.height as usize);
    let piece = (width / SCROLL_PIECES).max(8).min(width);
    (1..=SCROLL_TEST_ROWS)
        .map(|k| height * k / (SCROLL_TEST_ROWS + 1))
        .any(|row| {
            let first = row.saturating_sub(MAX_SCROLL_ROWS);
            let last = (row + MAX_SCROLL_ROWS).min(height - 1);
            (0..width / piece).any(|p| {
                let x = p * piece;
                let wanted = &current.y[row * width + x..][..piece];
                (first..=last).any(|other| {
                    let candidate = &previous.y[other * width + x..][..piece];
                    // The first 8 bytes turn most candidates away cheaply.
                    candidate[..8] == wanted[..8] && candidate == wanted
                })
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A luma-only test picture (chroma planes are not looked at).
    struct Luma {
        y: Vec<u8>,
        width: u32,
        height: u32,
    }

    impl Luma {
        fn new(width: u32, height: u32, pixel: impl Fn(usize, usize) -> u8) -> Self {
            let y = (0..height as usize)
                .flat_map(|row| (0..width as usize).map(move |col| (row, col)))
                .map(|(row, col)| pixel(col, row))
                .collect();
            Self { y, width, height }
        }

        fn flat(width: u32, height: u32, value: u8) -> Self {
            Self::new(width, height, |_, _| value)
        }

        fn view(&self) -> I420View<'_> {
            I420View {
                y: &self.y,
                u: &[],
                v: &[],
                width: self.width,
                height: self.height,
            }
        }
    }

    /// Detailed content that never repeats a row: a hash of the position.
    fn noise(seed: u32, x: usize, y: usize) -> u8 {
        let mut h = (x as u32).wrapping_mul(0x9E37_79B1) ^ (y as u32).wrapping_mul(0x85EB_CA77);
        h ^= seed.wrapping_mul(0xC2B2_AE3D);
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        (h >> 24) as u8
    }

    #[test]
    fn a_full_screen_colour_change_is_a_cut() {
        let red = Luma::flat(1280, 720, 81);
        let blue = Luma::flat(1280, 720, 41);
        assert!(scene_cut(red.view(), blue.view()));
        assert!(scene_cut(blue.view(), red.view()));
    }

    #[test]
    fn new_detailed_content_is_a_cut() {
        let before = Luma::new(640, 360, |x, y| noise(1, x, y));
        let after = Luma::new(640, 360, |x, y| noise(2, x, y));
        assert!(scene_cut(before.view(), after.view()));
    }

    #[test]
    fn the_same_picture_and_small_changes_are_not() {
        let before = Luma::flat(640, 360, 81);
        assert!(!scene_cut(before.view(), before.view()));
        // A window over a quarter of the screen.
        let window = Luma::new(640, 360, |x, y| if x < 320 && y < 180 { 200 } else { 81 });
        assert!(!scene_cut(before.view(), window.view()));
    }

    #[test]
    fn changes_just_under_and_over_the_threshold() {
        let before = Luma::flat(640, 360, 81);
        // 80 block columns: 63 changed is 78.75 %, 64 is 80 %. The rest
        // changes too little to count (SAD 192), so nothing is found again
        // unchanged either.
        let changed_columns =
            |n: usize| Luma::new(640, 360, move |x, _| if x / 8 < n { 41 } else { 84 });
        assert!(!scene_cut(before.view(), changed_columns(63).view()));
        assert!(scene_cut(before.view(), changed_columns(64).view()));
    }

    #[test]
    fn a_faint_change_is_not_a_cut() {
        // Every pixel changes by 5: SAD 320 per block, not above it.
        let before = Luma::flat(640, 360, 81);
        let after = Luma::flat(640, 360, 86);
        assert!(!scene_cut(before.view(), after.view()));
    }

    #[test]
    fn a_vertical_scroll_is_left_to_the_encoder() {
        // Every block changes in place, but the content moved up 37 rows.
        let before = Luma::new(640, 360, |x, y| noise(7, x, y));
        let after = Luma::new(640, 360, |x, y| noise(7, x, y + 37));
        assert!(mostly_changed(
            &Blocks::of(after.view()),
            &before.y,
            &after.y,
            1,
            LARGE_CHANGE
        ));
        assert!(!scene_cut(before.view(), after.view()));
    }

    #[test]
    fn a_scroll_beside_a_changing_side_bar_is_left_to_the_encoder() {
        // The right 85 % scrolls by 100 rows; the left 15 % changes in
        // place, so no whole row is found again, only pieces of rows.
        let at = |scroll: usize, bar: u32| {
            Luma::new(1280, 720, move |x, y| {
                if x < 192 {
                    noise(bar, x, y)
                } else {
                    noise(9, x, y + scroll)
                }
            })
        };
        assert!(!scene_cut(at(0, 10).view(), at(100, 11).view()));
        // The same bar change with new content instead of the scroll is a cut.
        let replaced = Luma::new(1280, 720, |x, y| {
            if x < 192 {
                noise(11, x, y)
            } else {
                noise(12, x, y)
            }
        });
        assert!(scene_cut(at(0, 10).view(), replaced.view()));
    }

    #[test]
    fn pictures_of_other_sizes_or_tiny_ones_are_not_compared() {
        let small = Luma::flat(640, 360, 81);
        let large = Luma::flat(1280, 720, 41);
        assert!(!scene_cut(small.view(), large.view()));
        let tiny_a = Luma::flat(6, 4, 81);
        let tiny_b = Luma::flat(6, 4, 41);
        assert!(!scene_cut(tiny_a.view(), tiny_b.view()));
    }
}
