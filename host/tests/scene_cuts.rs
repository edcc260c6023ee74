//! The host's scene-cut check against the real OpenH264: it must find
//! exactly the pictures OpenH264's screen mode makes IDRs of on its own,
//! and asking for those IDRs up front must not change the stream.

use std::time::Duration;

mod screens;

use meshdesk_host::media::convert::I420Picture;
use meshdesk_host::media::encode::{EncoderTuning, H264Encoder};
use meshdesk_host::media::scene::scene_cut;
use screens::noise;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;

/// A test screen of this file's size.
fn screen(pixel: impl Fn(u32, u32) -> [u8; 3]) -> I420Picture {
    screens::screen(WIDTH, HEIGHT, pixel)
}

/// A desktop's worth of changes: colour flips, new content, a scroll and
/// a window opening; each with whether it is a scene cut.
fn changes() -> Vec<(&'static str, I420Picture, bool)> {
    let flat = |bgr: [u8; 3]| screen(move |_, _| bgr);
    vec![
        ("red", flat([0, 0, 255]), false),
        ("blue", flat([255, 0, 0]), true),
        ("new content", screen(|x, y| noise(1, x, y)), true),
        (
            "scrolled 40 rows",
            screen(|x, y| noise(1, x, y + 40)),
            false,
        ),
        (
            "a window opens",
            screen(|x, y| {
                if x < 320 && y < 180 {
                    [230, 230, 230]
                } else {
                    noise(1, x, y + 40)
                }
            }),
            false,
        ),
        ("other content", screen(|x, y| noise(2, x, y)), true),
        ("red again", flat([0, 0, 255]), true),
        ("the same", flat([0, 0, 255]), false),
    ]
}

#[test]
fn scene_cuts_are_the_pictures_openh264_makes_idrs_of() {
    let tuning = EncoderTuning::SINGLE_THREAD;
    let mut own = H264Encoder::with_tuning(2_000_000, 30, tuning).expect("encoder");
    let mut told = H264Encoder::with_tuning(2_000_000, 30, tuning).expect("encoder");
    let changes = changes();
    for (i, (name, picture, cut)) in changes.iter().enumerate() {
        let pts = Duration::from_millis(33 * i as u64);
        if i > 0 {
            let found = scene_cut(changes[i - 1].1.view(), picture.view());
            assert_eq!(found, *cut, "{name}: scene_cut said {found}");
            if found {
                told.force_keyframe();
            }
        }
        let by_itself = own.encode(picture.view(), pts).expect("encodes");
        let when_told = told.encode(picture.view(), pts).expect("encodes");
        let (by_itself, when_told) = match (by_itself, when_told) {
            (Some(a), Some(b)) => (a, b),
            (None, None) => continue,
            other => panic!("{name}: only one encoder produced a picture: {other:?}"),
        };
        if i > 0 {
            assert_eq!(
                by_itself.keyframe,
                *cut,
                "{name}: OpenH264 made {} by itself",
                if by_itself.keyframe {
                    "an IDR"
                } else {
                    "no IDR"
                }
            );
        }
        assert_eq!(by_itself.keyframe, when_told.keyframe, "{name}");
        assert_eq!(by_itself.data, when_told.data, "{name}: the streams differ");
    }
}
