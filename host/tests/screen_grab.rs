//! The grabber against a real X server (Xvfb): one grab shows the screen as
//! it is at the time of the call.
//!
//! The pipeline grabs once per change and relies on scrap's queued
//! `ShmGetImage` reaching the X server only when `grab` is called (see
//! `host/src/media/grab.rs`). If a scrap or libxcb update sent it earlier,
//! a grab would return the screen as it was after the previous one, and
//! this test would see the previous colour.

use std::time::Duration;

use meshdesk_host::media::grab::ScreenGrabber;
use meshdesk_xtest::Xvfb;
use x11rb::connection::Connection;

const WIDTH: u16 = 320;
const HEIGHT: u16 = 240;

/// The colour of the top-left pixel of a BGRX image, as 0xRRGGBB.
fn first_pixel(image: &[u8]) -> u32 {
    u32::from_le_bytes([image[0], image[1], image[2], 0])
}

#[test]
fn each_grab_shows_the_change_made_just_before_it() {
    let xvfb = Xvfb::start(WIDTH.into(), HEIGHT.into());
    let (conn, screen) = x11rb::connect(Some(xvfb.display())).expect("connect");
    let root = conn.setup().roots[screen].root;
    let mut grabber =
        ScreenGrabber::open(Some(xvfb.display()), root, WIDTH, HEIGHT).expect("grabber opens");
    assert_eq!(grabber.stride(), u32::from(WIDTH) * 4);
    let colours = [0xff0000, 0x00ff00, 0x0000ff, 0xffffff];
    for round in 0..12 {
        let colour = colours[round % colours.len()];
        // `paint` returns once the X server has drawn the colour.
        xvfb.paint(colour);
        if round % 3 == 0 {
            // Idle between changes, as between two clicks.
            std::thread::sleep(Duration::from_millis(50));
        }
        let image = grabber.grab();
        assert_eq!(
            image.len(),
            usize::from(WIDTH) * usize::from(HEIGHT) * 4,
            "BGRX, no padding"
        );
        assert_eq!(
            first_pixel(image),
            colour,
            "round {round}: the grab shows an older screen"
        );
    }
}
