//! The viewer's video path: RTP from the remote track, put back in order
//! ([`Reorder`]: a lost packet is waited for while the host resends it),
//! through the marker-bit [`FrameAssembler`], to the application's bounded
//! channel, never waiting on a slow consumer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use tokio::sync::mpsc;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::lock;
use crate::framing::{FrameAssembler, RtpPacketRef, VideoEvent};
use crate::reorder::{Reorder, RtpPacket};
use crate::PeerError;

/// The video stream's handle and counters, shared with the viewer handle.
#[derive(Default)]
pub(crate) struct VideoState {
    /// The remote track and its SSRC, for PLI; set when the track starts.
    pub(crate) track: Mutex<Option<(Arc<dyn TrackRemote>, u32)>>,
    /// Header-extension id of playout-delay in the offer, if negotiated.
    pub(crate) playout_delay_id: OnceLock<u8>,
    /// Access units delivered to the application.
    pub(crate) frames_received: AtomicU64,
    /// Access units reported lost (including dropped for a slow consumer).
    pub(crate) frames_lost: AtomicU64,
    /// RTP packets that carried the playout-delay extension.
    pub(crate) playout_delay_packets: AtomicU64,
    /// Missing packets that a resend brought in time.
    pub(crate) packets_recovered: AtomicU64,
}

/// Read RTP from the video track, assemble frames and hand them over.
pub(crate) async fn receive_video(
    track: Arc<dyn TrackRemote>,
    state: Arc<VideoState>,
    video: mpsc::Sender<VideoEvent>,
) {
    if let Some(&ssrc) = track.ssrcs().await.first() {
        *lock(&state.track) = Some((Arc::clone(&track), ssrc));
        // webrtc drops the packets that arrive before the track is set up,
        // usually the start of the host's first keyframe: ask for another
        // now rather than when a watchdog notices there is no picture.
        if let Err(e) = send_pli(track.as_ref(), ssrc).await {
            tracing::debug!(error = %e, "no keyframe request at track start");
        }
    }
    let playout_delay_id = state.playout_delay_id.get().copied();
    let mut reorder = Reorder::new();
    let mut assembler = FrameAssembler::new();
    let mut unreported_loss: Option<u32> = None;
    loop {
        let deadline = reorder.deadline().map(tokio::time::Instant::from_std);
        let ready = tokio::select! {
            event = track.poll() => {
                let packet = match event {
                    Some(TrackRemoteEvent::OnRtpPacket(packet)) => packet,
                    Some(TrackRemoteEvent::OnEnded) | None => return,
                    Some(_) => continue,
                };
                if playout_delay_id.is_some_and(|id| packet.header.get_extension(id).is_some()) {
                    state.playout_delay_packets.fetch_add(1, Ordering::Relaxed);
                }
                reorder.push(
                    std::time::Instant::now(),
                    RtpPacket {
                        sequence_number: packet.header.sequence_number,
                        timestamp: packet.header.timestamp,
                        marker: packet.header.marker,
                        payload: packet.payload,
                    },
                )
            }
            () = meshdesk_tasks::sleep_or_never(deadline) => reorder.expire(std::time::Instant::now()),
        };
        for packet in &ready {
            assembler.push(RtpPacketRef {
                sequence_number: packet.sequence_number,
                timestamp: packet.timestamp,
                marker: packet.marker,
                payload: &packet.payload,
            });
        }
        state
            .packets_recovered
            .store(reorder.recovered(), Ordering::Relaxed);
        while let Some(out) = assembler.poll() {
            if !deliver(&video, &state, out, &mut unreported_loss) {
                return;
            }
        }
    }
}

/// Ask the sender of `media_ssrc` for a keyframe (RTCP PLI).
pub(crate) async fn send_pli(track: &dyn TrackRemote, media_ssrc: u32) -> Result<(), PeerError> {
    let pli = PictureLossIndication {
        sender_ssrc: 0,
        media_ssrc,
    };
    track
        .write_rtcp(vec![Box::new(pli) as Box<dyn rtc::rtcp::Packet>])
        .await
        .map_err(PeerError::webrtc)
}

/// Hand one result to the application without ever waiting: when its queue
/// is full the frame is dropped and a loss is reported as soon as there is
/// room. Returns false once the receiver is gone.
fn deliver(
    video: &mpsc::Sender<VideoEvent>,
    state: &VideoState,
    out: VideoEvent,
    unreported_loss: &mut Option<u32>,
) -> bool {
    use mpsc::error::TrySendError;
    if let Some(rtp_timestamp) = *unreported_loss {
        match video.try_send(VideoEvent::Lost { rtp_timestamp }) {
            Ok(()) => *unreported_loss = None,
            Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Closed(_)) => return false,
        }
    }
    let timestamp = match &out {
        VideoEvent::Frame(frame) => frame.rtp_timestamp,
        VideoEvent::Lost { rtp_timestamp } => *rtp_timestamp,
    };
    // Counted before sending, so a reader never sees a frame its stats miss.
    let counter = match out {
        VideoEvent::Frame(_) => &state.frames_received,
        VideoEvent::Lost { .. } => &state.frames_lost,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    let result = if unreported_loss.is_some() {
        Err(TrySendError::Full(out))
    } else {
        video.try_send(out)
    };
    match result {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            counter.fetch_sub(1, Ordering::Relaxed);
            state.frames_lost.fetch_add(1, Ordering::Relaxed);
            *unreported_loss = Some(timestamp);
            true
        }
        Err(TrySendError::Closed(_)) => false,
    }
}

/// The id an SDP assigns to a header extension (`a=extmap:ID[/dir] URI`).
pub(crate) fn extmap_id(sdp: &str, uri: &str) -> Option<u8> {
    sdp.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("a=extmap:")?;
        let (id, tail) = rest.split_once(' ')?;
        let id = id.split('/').next()?;
        (tail.split_whitespace().next()? == uri).then(|| id.parse().ok())?
    })
}
