//! `--all-screens`: the host sends one picture of the rectangle around all
//! its monitors, and the viewer shows each monitor in a window of its own.
//! Pure: where each monitor is in that picture, cutting it out, and turning
//! a position in a monitor's window into one in the whole picture.

use meshdesk_protocol::input::InputMsg;
use meshdesk_protocol::signal::{bounding_box, Screen};

use crate::video::frame::Frame;

/// One monitor's place in the all-screens picture, in its pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The monitor's name, for its window's title.
    pub name: String,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Each monitor's region, in the order given (primary first).
pub fn regions(screens: &[Screen]) -> Vec<Region> {
    let Some((left, top, _, _)) = bounding_box(screens) else {
        return Vec::new();
    };
    screens
        .iter()
        .map(|s| Region {
            name: s.name.clone(),
            x: (s.x - left) as u32,
            y: (s.y - top) as u32,
            width: s.width,
            height: s.height,
        })
        .collect()
}

/// Copy `region` of `picture` into `out` (clipped to the picture; empty
/// when they do not meet).
pub fn crop(picture: &Frame, region: &Region, out: &mut Frame) {
    let x0 = region.x.min(picture.width);
    let y0 = region.y.min(picture.height);
    let x1 = (region.x + region.width).min(picture.width);
    let y1 = (region.y + region.height).min(picture.height);
    out.reshape(x1 - x0, y1 - y0);
    if out.is_empty() {
        return;
    }
    let (w, pw) = ((x1 - x0) as usize, picture.width as usize);
    for (row, dst) in out.pixels.chunks_exact_mut(w).enumerate() {
        let start = (y0 as usize + row) * pw + x0 as usize;
        dst.copy_from_slice(&picture.pixels[start..start + w]);
    }
}

/// A message from the window of `region` as the host must get it: pointer
/// positions normalized to the whole picture (`width` x `height`) instead
/// of the monitor. Other messages are unchanged.
pub fn to_picture(msg: InputMsg, region: &Region, width: u32, height: u32) -> InputMsg {
    if width == 0 || height == 0 {
        return msg;
    }
    let map = |x: f64, y: f64| {
        let px = (f64::from(region.x) + x * f64::from(region.width)) / f64::from(width);
        let py = (f64::from(region.y) + y * f64::from(region.height)) / f64::from(height);
        (px.clamp(0.0, 1.0), py.clamp(0.0, 1.0))
    };
    match msg {
        InputMsg::PointerMove { x, y } => {
            let (x, y) = map(x, y);
            InputMsg::PointerMove { x, y }
        }
        InputMsg::PointerButton { button, down, x, y } => {
            let (x, y) = map(x, y);
            InputMsg::PointerButton { button, down, x, y }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(id: &str, x: i32, y: i32, width: u32, height: u32) -> Screen {
        Screen {
            id: id.into(),
            name: id.into(),
            width,
            height,
            primary: id == "A",
            x,
            y,
        }
    }

    /// The test display's monitors: A 1280x720 at the left, B 1024x768
    /// beside it.
    fn two() -> Vec<Region> {
        regions(&[
            screen("A", 0, 0, 1280, 720),
            screen("B", 1280, 0, 1024, 768),
        ])
    }

    #[test]
    fn regions_are_placed_in_the_rectangle_around_them() {
        let r = two();
        assert_eq!((r[0].x, r[0].y, r[0].width, r[0].height), (0, 0, 1280, 720));
        assert_eq!(
            (r[1].x, r[1].y, r[1].width, r[1].height),
            (1280, 0, 1024, 768)
        );
        // Monitors left of or above the screen's origin still start at 0.
        let shifted = regions(&[
            screen("A", -1920, 100, 1920, 1080),
            screen("B", 0, 0, 800, 600),
        ]);
        assert_eq!((shifted[0].x, shifted[0].y), (0, 100));
        assert_eq!((shifted[1].x, shifted[1].y), (1920, 0));
    }

    #[test]
    fn crop_cuts_out_the_monitor_and_clips() {
        let mut picture = Frame::default();
        picture.reshape(4, 3);
        for (i, p) in picture.pixels.iter_mut().enumerate() {
            *p = i as u32;
        }
        let mut out = Frame::default();
        let r = Region {
            name: "B".into(),
            x: 2,
            y: 1,
            width: 5,
            height: 5,
        };
        crop(&picture, &r, &mut out);
        assert_eq!((out.width, out.height), (2, 2));
        assert_eq!(out.pixels, vec![6, 7, 10, 11]);
    }

    #[test]
    fn a_click_in_b_lands_in_b_of_the_whole_picture() {
        let r = two();
        let msg = InputMsg::PointerMove { x: 0.5, y: 0.5 };
        let InputMsg::PointerMove { x, y } = to_picture(msg, &r[1], 2304, 768) else {
            panic!("a move stays a move");
        };
        assert!((x * 2304.0 - (1280.0 + 512.0)).abs() < 1e-6, "{x}");
        assert!((y * 768.0 - 384.0).abs() < 1e-6, "{y}");
        let key = InputMsg::Wheel { dx: 0.0, dy: 1.0 };
        assert_eq!(to_picture(key.clone(), &r[1], 2304, 768), key);
    }
}
