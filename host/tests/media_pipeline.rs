//! The media pipeline against a real X server (Xvfb), real shared-memory capture,
//! real OpenH264 encoding and decoding.
//!
//! Each test starts its own 1280x720 Xvfb, paints the root window a known
//! colour and checks what the pipeline emits: an IDR first, nothing while
//! the screen is static, a new frame soon after a change, the right colour
//! after decoding, one shared encoder for several subscribers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use meshdesk_host::media::frame::{nal_types, NAL_IDR, NAL_PPS, NAL_SPS};
use meshdesk_host::media::{EncodedFrame, MediaConfig, MediaPipeline, Subscription};
use meshdesk_xtest::Xvfb;
use openh264::decoder::Decoder;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
/// Generous bound for "promptly" on a loaded 2-core CI machine.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

const BLUE: u32 = 0x0000ff;
const RED: u32 = 0xff0000;
const GREEN: u32 = 0x00ff00;

fn start(xvfb: &Xvfb) -> MediaPipeline {
    MediaPipeline::start(MediaConfig::for_display(xvfb.display())).expect("pipeline starts")
}

async fn next_frame(sub: &mut Subscription) -> Arc<EncodedFrame> {
    tokio::time::timeout(FRAME_TIMEOUT, sub.recv())
        .await
        .expect("a frame within the timeout")
        .expect("pipeline running")
}

/// No frame arrives for `period`.
async fn assert_silent(sub: &mut Subscription, period: Duration) {
    if let Ok(frame) = tokio::time::timeout(period, sub.recv()).await {
        panic!(
            "unexpected frame on a static screen: {:?}",
            frame.map(|f| f.sequence)
        );
    }
}

/// Decodes `frame` and returns the RGB colour at the centre of the picture.
fn centre_colour(decoder: &mut Decoder, frame: &EncodedFrame) -> [u8; 3] {
    let yuv = decoder
        .decode(&frame.data)
        .expect("decodes")
        .expect("a picture per access unit");
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut rgb = vec![0; w * h * 3];
    yuv.write_rgb8(&mut rgb);
    let at = ((h / 2) * w + w / 2) * 3;
    [rgb[at], rgb[at + 1], rgb[at + 2]]
}

fn assert_colour(got: [u8; 3], rgb: u32) {
    let want = [(rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8];
    let close = got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 16);
    assert!(close, "decoded colour {got:?}, expected about {want:?}");
}

fn assert_idr(frame: &EncodedFrame) {
    assert!(frame.keyframe, "expected an IDR");
    let types = nal_types(&frame.data);
    for wanted in [NAL_SPS, NAL_PPS, NAL_IDR] {
        assert!(types.contains(&wanted), "NAL types {types:?} lack {wanted}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_frame_is_an_idr_showing_the_screen() {
    let xvfb = Xvfb::start(WIDTH, HEIGHT);
    xvfb.paint(BLUE);
    let pipeline = start(&xvfb);
    assert_eq!(pipeline.screen_size(), (WIDTH, HEIGHT));
    let mut sub = pipeline.subscribe().unwrap();

    let first = next_frame(&mut sub).await;
    assert_idr(&first);
    assert_eq!((first.width, first.height), (WIDTH, HEIGHT));
    assert_colour(centre_colour(&mut Decoder::new().unwrap(), &first), BLUE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_screen_sends_nothing_and_a_change_arrives_promptly() {
    let xvfb = Xvfb::start(WIDTH, HEIGHT);
    xvfb.paint(BLUE);
    let pipeline = start(&xvfb);
    let mut sub = pipeline.subscribe().unwrap();
    let mut decoder = Decoder::new().unwrap();
    let first = next_frame(&mut sub).await;
    assert_colour(centre_colour(&mut decoder, &first), BLUE);

    // Static screen: no frame, no grab, for a while.
    let before = pipeline.stats();
    assert_silent(&mut sub, Duration::from_millis(1200)).await;
    let after = pipeline.stats();
    assert_eq!(
        after.frames_captured, before.frames_captured,
        "grabbed a static screen"
    );

    // A change: a frame shows up quickly and decodes to the new colour.
    let painted = Instant::now();
    xvfb.paint(RED);
    let mut changed = next_frame(&mut sub).await;
    let latency = painted.elapsed();
    // The change may be split over two frames if the grab raced the paint.
    while let Ok(Ok(more)) = tokio::time::timeout(Duration::from_millis(300), sub.recv()).await {
        assert_colour(centre_colour(&mut decoder, &changed), RED);
        changed = more;
    }
    assert_colour(centre_colour(&mut decoder, &changed), RED);
    assert!(
        latency < Duration::from_secs(1),
        "change took {latency:?} to arrive"
    );
    assert!(changed.sequence > first.sequence);
    // Every stage was timed, and none waited long on this idle machine.
    let t = changed.timings;
    assert!(
        t.capture > Duration::ZERO && t.encode > Duration::ZERO,
        "{t:?}"
    );
    let waits = t.waited + t.queued;
    assert!(waits < Duration::from_secs(1), "{t:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_subscriber_shares_the_encoder_and_starts_on_an_idr() {
    let xvfb = Xvfb::start(WIDTH, HEIGHT);
    xvfb.paint(GREEN);
    let pipeline = start(&xvfb);
    let mut one = pipeline.subscribe().unwrap();
    let first = next_frame(&mut one).await;
    assert_idr(&first);
    assert_silent(&mut one, Duration::from_millis(300)).await;

    let mut two = pipeline.subscribe().unwrap();
    assert_eq!(pipeline.subscriber_count(), 2);
    let joined = next_frame(&mut two).await;
    assert_idr(&joined);
    assert_colour(centre_colour(&mut Decoder::new().unwrap(), &joined), GREEN);
    // The existing viewer receives the very same encoded frame: one encode.
    let seen_by_one = next_frame(&mut one).await;
    assert!(
        Arc::ptr_eq(&seen_by_one, &joined),
        "frames were encoded twice"
    );
    let stats = pipeline.stats();
    assert_eq!(
        stats.frames_encoded, 2,
        "one frame per event, not per viewer"
    );
    assert_eq!(stats.keyframes, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyframe_request_on_a_static_screen_yields_an_idr() {
    let xvfb = Xvfb::start(WIDTH, HEIGHT);
    let pipeline = start(&xvfb);
    let mut sub = pipeline.subscribe().unwrap();
    next_frame(&mut sub).await;
    assert_silent(&mut sub, Duration::from_millis(300)).await;

    sub.request_keyframe();
    let idr = next_frame(&mut sub).await;
    assert_idr(&idr);
    assert_eq!(pipeline.stats().keyframes, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_subscribed_means_nothing_grabbed_and_drop_joins_threads() {
    let xvfb = Xvfb::start(WIDTH, HEIGHT);
    let pipeline = start(&xvfb);
    // Nobody watching: a changing screen is not grabbed.
    for colour in [RED, GREEN] {
        xvfb.paint(colour);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pipeline.stats().frames_captured, 0);

    // A subscriber gets the current screen; once it leaves, grabbing stops.
    let mut sub = pipeline.subscribe().unwrap();
    let frame = next_frame(&mut sub).await;
    assert_colour(centre_colour(&mut Decoder::new().unwrap(), &frame), GREEN);
    drop(sub);
    assert_eq!(pipeline.subscriber_count(), 0);
    let before = pipeline.stats();
    xvfb.paint(BLUE);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pipeline.stats().frames_captured, before.frames_captured);

    // A late subscriber still gets a picture of the current screen.
    let mut late = pipeline.subscribe().unwrap();
    let frame = next_frame(&mut late).await;
    assert_colour(centre_colour(&mut Decoder::new().unwrap(), &frame), BLUE);

    let stopping = Instant::now();
    drop(pipeline);
    assert!(stopping.elapsed() < Duration::from_secs(2));
    let closed = tokio::time::timeout(FRAME_TIMEOUT, late.recv())
        .await
        .unwrap();
    assert!(closed.is_err(), "subscription must end with the pipeline");
}

#[test]
fn unreachable_display_is_a_clear_error() {
    let error = MediaPipeline::start(MediaConfig::for_display(":4999")).unwrap_err();
    assert!(error.to_string().contains(":4999"), "{error}");
}
