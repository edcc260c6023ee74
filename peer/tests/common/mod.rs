//! Shared harness for the peer tests: a connected host/viewer pair over real
//! WebRTC on this machine, real H.264 from openh264, and waiting helpers.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use meshdesk_peer::{CandidateReceiver, HostEvent, HostPeer, VideoEvent, ViewerEvent, ViewerPeer};
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, RateControlMode, UsageType};
use openh264::formats::YUVBuffer;
use openh264::OpenH264API;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Generous bound for anything that should take well under a second here.
pub const STEP: Duration = Duration::from_secs(10);

/// Await `future` or fail the test after `limit`.
pub async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// Read events until one matches; fail on timeout or end of stream.
pub async fn wait_for<E: std::fmt::Debug>(
    rx: &mut mpsc::Receiver<E>,
    what: &str,
    limit: Duration,
    mut matches: impl FnMut(&E) -> bool,
) -> E {
    within(limit, what, async {
        loop {
            match rx.recv().await {
                Some(event) if matches(&event) => return event,
                Some(_) => {}
                None => panic!("event stream ended while waiting for {what}"),
            }
        }
    })
    .await
}

/// A task aborted when dropped, so a failing test leaves nothing behind.
pub struct Guard(Option<JoinHandle<()>>);

impl Guard {
    pub fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Self {
        Self(Some(tokio::spawn(task)))
    }

    /// Abort the task and wait until it is gone (and dropped what it held).
    pub async fn stop(mut self) {
        if let Some(handle) = self.0.take() {
            handle.abort();
            let _ = handle.await;
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(handle) = &self.0 {
            handle.abort();
        }
    }
}

/// A host and a viewer connected to each other, as the server would
/// connect them: SDP one way, candidates trickled both ways.
pub struct Pair {
    pub host: Arc<HostPeer>,
    pub viewer: Arc<ViewerPeer>,
    pub host_events: mpsc::Receiver<HostEvent>,
    pub viewer_events: mpsc::Receiver<ViewerEvent>,
    pub video: mpsc::Receiver<VideoEvent>,
    /// When the host was created.
    pub started: Instant,
    /// Candidate forwarders; they hold a reference to each peer.
    pub trickle: Vec<Guard>,
    /// The host's `files` channel, and the channels the viewer adopted.
    pub host_files: Option<meshdesk_peer::PipeEnd>,
    pub viewer_pipes: mpsc::UnboundedReceiver<meshdesk_peer::PipeEnd>,
}

fn forward_to_viewer(mut rx: CandidateReceiver, viewer: Arc<ViewerPeer>) -> Guard {
    Guard::spawn(async move {
        while let Some(candidate) = rx.recv().await {
            viewer
                .add_remote_candidate(candidate)
                .await
                .expect("viewer takes candidate");
        }
    })
}

fn forward_to_host(mut rx: CandidateReceiver, host: Arc<HostPeer>) -> Guard {
    Guard::spawn(async move {
        while let Some(candidate) = rx.recv().await {
            host.add_remote_candidate(candidate)
                .await
                .expect("host takes candidate");
        }
    })
}

/// Create both sides, negotiate, and wait until both report `Connected`.
pub async fn connect_pair() -> Pair {
    let started = Instant::now();
    let (host, host_streams) = HostPeer::new(
        &[],
        meshdesk_peer::HostOptions {
            video: true,
            sound: false,
            clipboard: false,
            max_bitrate_bps: 4_000_000,
        },
    )
    .await
    .expect("host peer");
    let mut host_streams = host_streams;
    let (viewer, viewer_streams) = ViewerPeer::new(&[]).await.expect("viewer peer");
    let (host, viewer) = (Arc::new(host), Arc::new(viewer));

    let offer = host.create_offer().await.expect("offer");
    assert!(offer.contains("profile-level-id=42e01f"), "offer: {offer}");
    assert!(
        offer.contains("playout-delay"),
        "offer lacks playout-delay: {offer}"
    );
    let answer = viewer.accept_offer(offer).await.expect("answer");
    assert!(
        answer.contains("playout-delay"),
        "answer lacks playout-delay: {answer}"
    );
    host.set_remote_answer(answer).await.expect("apply answer");

    let trickle = vec![
        forward_to_viewer(host_streams.candidates, Arc::clone(&viewer)),
        forward_to_host(viewer_streams.candidates, Arc::clone(&host)),
    ];
    let mut pair = Pair {
        host,
        viewer,
        host_events: host_streams.events,
        viewer_events: viewer_streams.events,
        video: viewer_streams.video,
        started,
        trickle,
        host_files: host_streams.files.take(),
        viewer_pipes: viewer_streams.pipes,
    };
    wait_for(&mut pair.host_events, "host connected", STEP, |e| {
        matches!(e, HostEvent::Connected { .. })
    })
    .await;
    wait_for(&mut pair.viewer_events, "viewer connected", STEP, |e| {
        matches!(e, ViewerEvent::Connected { .. })
    })
    .await;
    pair
}

/// `count` real H.264 access units (320x180, first one an IDR with SPS and
/// PPS): a block moving over fixed noisy content, so the keyframe needs FU-A
/// fragmentation and the following frames are small, like a desktop.
pub fn encode_frames(count: usize) -> Vec<Vec<u8>> {
    let (width, height) = (320usize, 180usize);
    let config = EncoderConfig::new()
        .usage_type(UsageType::ScreenContentRealTime)
        .rate_control_mode(RateControlMode::Bitrate)
        .bitrate(BitRate::from_bps(4_000_000))
        .max_frame_rate(FrameRate::from_hz(30.0))
        .skip_frames(false);
    let mut encoder =
        Encoder::with_api_config(OpenH264API::from_source(), config).expect("encoder");
    let mut frames = Vec::with_capacity(count);
    for n in 0..count {
        let mut seed = 0x1234_5678u32;
        let mut yuv = vec![128u8; width * height * 3 / 2];
        for (i, px) in yuv[..width * height].iter_mut().enumerate() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let (x, y) = (i % width, i / width);
            // A moving 32x32 block (a dragged window) over static content.
            let block = (x >= n * 8 && x < n * 8 + 32) && (40..72).contains(&y);
            *px = if block {
                235
            } else if (seed >> 24) & 15 == 0 {
                (seed >> 16) as u8
            } else {
                ((x + y) % 256) as u8
            };
        }
        let source = YUVBuffer::from_vec(yuv, width, height);
        let bitstream = encoder.encode(&source).expect("encode");
        let data = bitstream.to_vec();
        assert!(!data.is_empty(), "encoder skipped frame {n}");
        frames.push(data);
    }
    frames
}
