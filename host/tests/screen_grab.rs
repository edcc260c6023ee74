//! The grabber against a real X server (Xvfb): one grab shows the screen as
//! it is at the time of the call.
//!
//! The pipeline grabs once per change and relies on `grab` copying the
//! screen as it is at the call (see `host/src/media/grab.rs`). If a grab
//! returned an image taken earlier (a request queued ahead, a stale
//! segment), this test would see the previous colour. Also: a grab of one
//! rectangle holds that rectangle's pixels only.

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
        let image = grabber.grab().expect("grab");
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

#[test]
fn a_grab_of_one_area_holds_that_area_only() {
    use meshdesk_host::media::grab::GrabArea;
    use x11rb::protocol::xproto::{ChangeGCAux, ConnectionExt as _, CreateGCAux, Rectangle};

    let xvfb = Xvfb::start(WIDTH.into(), HEIGHT.into());
    let (conn, screen) = x11rb::connect(Some(xvfb.display())).expect("connect");
    let root = conn.setup().roots[screen].root;
    xvfb.paint(0xff0000);
    // The right half blue, drawn straight on the root window.
    let gc = conn.generate_id().expect("id");
    conn.create_gc(
        gc,
        root,
        &CreateGCAux::new()
            .subwindow_mode(x11rb::protocol::xproto::SubwindowMode::INCLUDE_INFERIORS),
    )
    .expect("create gc");
    conn.change_gc(gc, &ChangeGCAux::new().foreground(0x0000ff))
        .expect("gc colour");
    let half = WIDTH / 2;
    conn.poly_fill_rectangle(
        root,
        gc,
        &[Rectangle {
            x: half as i16,
            y: 0,
            width: half,
            height: HEIGHT,
        }],
    )
    .expect("fill");
    conn.get_input_focus()
        .expect("sync")
        .reply()
        .expect("sync reply");

    let right = GrabArea {
        x: half as i16,
        y: 0,
        width: half,
        height: HEIGHT,
    };
    let mut grabber =
        ScreenGrabber::open_area(Some(xvfb.display()), root, right).expect("grabber opens");
    assert_eq!(
        (grabber.width(), grabber.height()),
        (half.into(), HEIGHT.into())
    );
    let image = grabber.grab().expect("grab");
    assert_eq!(image.len(), usize::from(half) * usize::from(HEIGHT) * 4);
    assert_eq!(first_pixel(image), 0x0000ff, "the area's top-left pixel");
    assert_eq!(
        first_pixel(&image[image.len() - 4..]),
        0x0000ff,
        "the area's bottom-right pixel"
    );

    let left = GrabArea {
        x: 0,
        y: 0,
        width: half,
        height: HEIGHT,
    };
    let mut grabber =
        ScreenGrabber::open_area(Some(xvfb.display()), root, left).expect("grabber opens");
    let image = grabber.grab().expect("grab");
    assert_eq!(
        first_pixel(&image[image.len() - 4..]),
        0xff0000,
        "the left area ends before the blue"
    );
}

#[test]
fn a_grab_after_the_screen_shrank_says_so() {
    use meshdesk_host::media::MediaError;

    let xvnc = Xvfb::start_xvnc(1024, 768);
    let (conn, screen) = x11rb::connect(Some(xvnc.display())).expect("connect");
    let root = conn.setup().roots[screen].root;
    let mut grabber = ScreenGrabber::open(Some(xvnc.display()), root, 1024, 768).expect("opens");
    grabber.grab().expect("a grab of the whole screen");
    xvnc.resize(800, 600);
    // Not a failure of the connection: the capture thread follows the
    // resize and grabs again.
    assert!(
        matches!(grabber.grab(), Err(MediaError::OffScreen)),
        "a grab larger than the screen is refused as off-screen"
    );
    let mut grabber = ScreenGrabber::open(Some(xvnc.display()), root, 800, 600).expect("opens");
    grabber.grab().expect("a grab at the new size");
}
