//! A HostPeer and a ViewerPeer in one process, connected over real WebRTC
//! on this machine's interfaces: video, data channels, keyframe requests
//! and teardown behave as the host and viewer binaries rely on.

mod common;

use std::time::{Duration, Instant};

use common::{connect_pair, encode_frames, wait_for, within, STEP};
use meshdesk_peer::h264::is_keyframe;
use meshdesk_peer::{CandidatePairType, HostEvent, VideoEvent, ViewerEvent};

const FRAME: Duration = Duration::from_millis(33);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_access_units_arrive_byte_for_byte_in_order() {
    let frames = encode_frames(12);
    let sizes: Vec<usize> = frames.iter().map(Vec::len).collect();
    eprintln!("access unit sizes: {sizes:?}");
    assert!(is_keyframe(&frames[0]));
    assert!(frames[0].len() > 1200, "keyframe should need FU-A");

    let mut pair = connect_pair().await;
    let connected = pair.started.elapsed();

    // Paced like the host's encoder (30 fps); each frame must arrive before
    // the next is written. A burst of hundreds of kilobytes would overflow
    // the receiver's UDP buffer: real loss, which the viewer reports as such.
    let mut pace = tokio::time::interval(FRAME);
    let mut first_frame = None;
    let mut worst = Duration::ZERO;
    for (i, sent) in frames.iter().enumerate() {
        pace.tick().await;
        let written = Instant::now();
        pair.host
            .write_frame(sent, FRAME)
            .await
            .expect("write frame");
        let event = within(STEP, "video frame", pair.video.recv()).await;
        worst = worst.max(written.elapsed());
        first_frame.get_or_insert_with(|| pair.started.elapsed());
        match event {
            Some(VideoEvent::Frame(unit)) => {
                assert_eq!(
                    unit.keyframe,
                    is_keyframe(sent),
                    "keyframe flag of frame {i}"
                );
                assert!(
                    unit.data[..] == sent[..],
                    "frame {i} differs: sent {} bytes, received {}",
                    sent.len(),
                    unit.data.len()
                );
            }
            other => panic!("expected frame {i}, got {other:?}"),
        }
    }
    eprintln!(
        "loopback: connected {connected:?} after start, first frame {:?} after start, \
         worst write-to-receive {worst:?}",
        first_frame.expect("frames arrived")
    );

    let stats = pair.viewer.stats().await;
    eprintln!("viewer stats: {stats:?}");
    assert_eq!(stats.frames_received, frames.len() as u64);
    assert_eq!(stats.frames_lost, 0);
    assert!(stats.bytes_received > 0);
    assert_eq!(stats.candidate_pair_type, Some(CandidatePairType::Host));
    assert!(
        stats.packets_with_playout_delay > 0,
        "no packet carried the playout-delay extension"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_and_control_messages_cross_the_data_channels() {
    let mut pair = connect_pair().await;
    wait_for(
        &mut pair.viewer_events,
        "viewer channels ready",
        STEP,
        |e| matches!(e, ViewerEvent::ChannelsReady),
    )
    .await;
    wait_for(&mut pair.host_events, "host channels ready", STEP, |e| {
        *e == HostEvent::ChannelsReady
    })
    .await;

    let input = r#"{"type":"pointer_move","x":0.25,"y":0.75}"#;
    pair.viewer.send_input(input).await.expect("send input");
    let got = wait_for(&mut pair.host_events, "input message", STEP, |e| {
        matches!(e, HostEvent::InputMessage(_))
    })
    .await;
    assert_eq!(got, HostEvent::InputMessage(input.to_owned()));

    let control = r#"{"type":"request_keyframe"}"#;
    pair.viewer
        .send_control(control)
        .await
        .expect("send control");
    let got = wait_for(&mut pair.host_events, "control message", STEP, |e| {
        matches!(e, HostEvent::ControlMessage(_))
    })
    .await;
    assert_eq!(got, HostEvent::ControlMessage(control.to_owned()));

    pair.host
        .send_control("cursor")
        .await
        .expect("host control");
    let got = wait_for(&mut pair.viewer_events, "control from host", STEP, |e| {
        matches!(e, ViewerEvent::ControlMessage(_))
    })
    .await;
    assert_eq!(got, ViewerEvent::ControlMessage("cursor".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pli_from_the_viewer_reaches_the_host_as_a_keyframe_request() {
    let mut pair = connect_pair().await;
    let frames = encode_frames(2);
    for frame in &frames {
        pair.host
            .write_frame(frame, FRAME)
            .await
            .expect("write frame");
    }
    // The viewer knows the video stream once its first packet arrived.
    within(STEP, "first frame", pair.video.recv()).await;

    pair.viewer.request_keyframe().await.expect("send PLI");
    wait_for(&mut pair.host_events, "keyframe request", STEP, |e| {
        *e == HostEvent::KeyframeRequested
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_host_ends_the_session_on_the_viewer() {
    let mut pair = connect_pair().await;
    wait_for(&mut pair.viewer_events, "channels ready", STEP, |e| {
        matches!(e, ViewerEvent::ChannelsReady)
    })
    .await;
    let closed_at = Instant::now();
    pair.host.close().await.expect("close");
    let event = wait_for(&mut pair.viewer_events, "viewer sees the end", STEP, |e| {
        matches!(
            e,
            ViewerEvent::Closed | ViewerEvent::Disconnected | ViewerEvent::Failed
        )
    })
    .await;
    eprintln!(
        "viewer saw {event:?} {:?} after the host closed",
        closed_at.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_viewer_ends_the_session_on_the_host() {
    let mut pair = connect_pair().await;
    wait_for(&mut pair.viewer_events, "channels ready", STEP, |e| {
        matches!(e, ViewerEvent::ChannelsReady)
    })
    .await;
    let closed_at = Instant::now();
    for guard in pair.trickle {
        guard.stop().await;
    }
    let viewer = std::sync::Arc::try_unwrap(pair.viewer).expect("the test owns the viewer");
    drop(viewer);
    let event = wait_for(&mut pair.host_events, "host sees the end", STEP, |e| {
        matches!(
            e,
            HostEvent::Closed | HostEvent::Disconnected | HostEvent::Failed
        )
    })
    .await;
    eprintln!(
        "host saw {event:?} {:?} after the viewer was dropped",
        closed_at.elapsed()
    );
}
