//! The receiving side of a session (meshdesk-viewer): answers the host's
//! offer, receives H.264 as whole access units assembled on the marker bit
//! (and the host's Opus sound packet by packet),
//! sends input and control messages, and asks for keyframes with PLI.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use meshdesk_protocol::rest::IceServer;
use meshdesk_protocol::signal::IceCandidate;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use webrtc::data_channel::DataChannel;
use webrtc::peer_connection::RTCSessionDescription;

use super::audio::{receive_audio, ReceivedAudio};
use super::channels::{close_channels, pump_text, send_text, ChannelEvents};
use super::config::{build_peer_connection, PLAYOUT_DELAY_URI};
use super::events::{drive, remote_candidate, RawEvent};
use super::pipe::{self, PipeEnd};
use super::stats::{collect, CandidatePairType, PeerStats};
use super::video::{self, receive_video, VideoState};
use super::{
    close_on_drop, lock, CandidateReceiver, Pc, CLIPBOARD_CHANNEL, CONTROL_CHANNEL, FILES_CHANNEL,
    INPUT_CHANNEL,
};
pub use crate::framing::VideoEvent;
use crate::PeerError;
use meshdesk_tasks::TaskSet;

/// Capacity of the event channel (control messages, state changes).
const EVENT_CAPACITY: usize = 256;
/// Frames buffered for the decoder; beyond this frames are dropped and a
/// loss is reported, so a slow decoder never stalls the network side.
const VIDEO_CAPACITY: usize = 32;
/// Sound packets buffered for the player (10 ms each): more than its own
/// buffer holds, so only a stalled player loses any.
const AUDIO_CAPACITY: usize = 64;

/// What a viewer session reports to the application (besides video).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViewerEvent {
    /// Both of the host's data channels arrived: input can be sent.
    ChannelsReady,
    /// A text message from the host on the `control` channel.
    ControlMessage(String),
    /// ICE and DTLS are up.
    Connected {
        candidate_pair_type: CandidatePairType,
    },
    /// Connectivity is interrupted; it may come back.
    Disconnected,
    /// Connectivity is lost for good.
    Failed,
    /// The connection was closed.
    Closed,
}

link_events!(ViewerEvent);

/// The receiving ends a viewer session hands out once, at creation.
#[derive(Debug)]
pub struct ViewerStreams {
    /// Session events, in order.
    pub events: mpsc::Receiver<ViewerEvent>,
    /// Local ICE candidates to send to the host.
    pub candidates: CandidateReceiver,
    /// Received access units and loss reports, in RTP order.
    pub video: mpsc::Receiver<VideoEvent>,
    /// The host's sound, packet by packet, when the session has it.
    pub audio: mpsc::Receiver<ReceivedAudio>,
    /// The host's `files` and `clipboard` channels as they arrive (tell
    /// them apart by [`crate::Pipe::label`]).
    pub pipes: mpsc::UnboundedReceiver<PipeEnd>,
}

/// State shared between the viewer handle and its reader tasks.
#[derive(Default)]
struct Shared {
    /// The host's `input` channel, once announced.
    input: Mutex<Option<Arc<dyn DataChannel>>>,
    /// The host's `control` channel, once announced.
    control: Mutex<Option<Arc<dyn DataChannel>>>,
    /// The video track, its SSRC and counters.
    video: Arc<VideoState>,
    /// `ChannelsReady` was reported (once per session).
    channels_ready: AtomicBool,
    /// Sound packets received.
    audio_packets: Arc<AtomicU64>,
}

/// A viewer's WebRTC session. Dropping it closes the connection and aborts
/// every task it started.
pub struct ViewerPeer {
    /// The connection.
    pc: Pc,
    /// Channels, track and counters filled in by the reader tasks.
    shared: Arc<Shared>,
    /// Set once `close` ran, so drop does not close twice.
    closed: AtomicBool,
    /// The session task; channel and track readers are its children.
    tasks: TaskSet,
}

impl std::fmt::Debug for ViewerPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerPeer")
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl ViewerPeer {
    /// Create the connection; it waits for the host's offer.
    pub async fn new(ice_servers: &[IceServer]) -> Result<(Self, ViewerStreams), PeerError> {
        Self::with_policy(ice_servers, false).await
    }

    /// Like [`Self::new`]; with `relay_only`, only relayed candidates are
    /// used (this machine's addresses are never offered to the host).
    pub async fn with_policy(
        ice_servers: &[IceServer],
        relay_only: bool,
    ) -> Result<(Self, ViewerStreams), PeerError> {
        let tasks = TaskSet::new();
        let (pc, raw) = build_peer_connection(ice_servers, relay_only, None, &tasks).await?;
        let shared = Arc::new(Shared::default());
        let (events_tx, events) = mpsc::channel(EVENT_CAPACITY);
        let (candidates_tx, candidates) = mpsc::unbounded_channel();
        let (video_tx, video) = mpsc::channel(VIDEO_CAPACITY);
        let (audio_tx, audio) = mpsc::channel(AUDIO_CAPACITY);
        let (pipes_tx, pipes) = mpsc::unbounded_channel();

        let on_remote = {
            let shared = Arc::clone(&shared);
            let events = events_tx.clone();
            move |event: RawEvent, children: &mut JoinSet<()>| match event {
                RawEvent::DataChannel(channel) => {
                    children.spawn(adopt_channel(
                        channel,
                        Arc::clone(&shared),
                        events.clone(),
                        pipes_tx.clone(),
                    ));
                }
                RawEvent::Track(track) => {
                    children.spawn(receive_track(
                        track,
                        Arc::clone(&shared),
                        video_tx.clone(),
                        audio_tx.clone(),
                    ));
                }
                _ => {}
            }
        };
        tasks.spawn(drive(
            Arc::clone(&pc),
            raw,
            candidates_tx,
            events_tx,
            on_remote,
        ));

        let peer = ViewerPeer {
            pc,
            shared,
            closed: AtomicBool::new(false),
            tasks,
        };
        let streams = ViewerStreams {
            events,
            candidates,
            video,
            audio,
            pipes,
        };
        Ok((peer, streams))
    }

    /// Apply the host's offer and return our answer's SDP. ICE gathering
    /// starts here; candidates follow on the candidate channel.
    pub async fn accept_offer(&self, sdp: String) -> Result<String, PeerError> {
        if let Some(id) = video::extmap_id(&sdp, PLAYOUT_DELAY_URI) {
            let _ = self.shared.video.playout_delay_id.set(id);
        }
        let offer = RTCSessionDescription::offer(sdp)
            .map_err(|e| PeerError::InvalidRemote(e.to_string()))?;
        self.pc
            .set_remote_description(offer)
            .await
            .map_err(|e| PeerError::InvalidRemote(e.to_string()))?;
        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(PeerError::webrtc)?;
        let sdp = answer.sdp.clone();
        self.pc
            .set_local_description(answer)
            .await
            .map_err(PeerError::webrtc)?;
        Ok(sdp)
    }

    /// Answer a new offer during a running session (the host restarted
    /// ICE). Our own ICE restarts too, on fresh sockets, since the reason
    /// is usually that one side's network changed: sockets bound to an
    /// address that went away would never work again.
    pub async fn accept_restart_offer(&self, sdp: String) -> Result<String, PeerError> {
        self.pc.restart_ice().await.map_err(PeerError::webrtc)?;
        self.accept_offer(sdp).await
    }

    /// Add a candidate trickled by the host; the end marker is ignored.
    pub async fn add_remote_candidate(&self, candidate: IceCandidate) -> Result<(), PeerError> {
        let Some(init) = remote_candidate(candidate) else {
            return Ok(());
        };
        self.pc
            .add_ice_candidate(init)
            .await
            .map_err(|e| PeerError::InvalidRemote(e.to_string()))
    }

    /// Send a text message (an encoded `InputMsg`) on the `input` channel.
    pub async fn send_input(&self, text: &str) -> Result<(), PeerError> {
        let channel = lock(&self.shared.input).clone();
        let channel = channel.ok_or(PeerError::ChannelNotOpen(INPUT_CHANNEL))?;
        send_text(&channel, INPUT_CHANNEL, text).await
    }

    /// Send a text message (an encoded `ControlMsg`) on the `control` channel.
    pub async fn send_control(&self, text: &str) -> Result<(), PeerError> {
        let channel = lock(&self.shared.control).clone();
        let channel = channel.ok_or(PeerError::ChannelNotOpen(CONTROL_CHANNEL))?;
        send_text(&channel, CONTROL_CHANNEL, text).await
    }

    /// Ask the host for a keyframe (RTCP PLI on the video stream).
    pub async fn request_keyframe(&self) -> Result<(), PeerError> {
        let video = lock(&self.shared.video.track).clone();
        let (track, media_ssrc) = video.ok_or(PeerError::NotReady("no video track yet"))?;
        video::send_pli(track.as_ref(), media_ssrc).await
    }

    /// Counters of this session: bytes, loss, round-trip time, pair type,
    /// frames delivered and lost.
    pub async fn stats(&self) -> PeerStats {
        let mut stats = collect(&self.pc).await;
        stats.frames_received = self.shared.video.frames_received.load(Ordering::Relaxed);
        stats.frames_lost = self.shared.video.frames_lost.load(Ordering::Relaxed);
        stats.packets_with_playout_delay = self
            .shared
            .video
            .playout_delay_packets
            .load(Ordering::Relaxed);
        stats.packets_recovered = self.shared.video.packets_recovered.load(Ordering::Relaxed);
        stats
    }

    /// Close the connection: the data channels first, so the host learns
    /// at once (its `control` channel closes), then the connection.
    pub async fn close(&self) -> Result<(), PeerError> {
        if self.closed.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        let input = lock(&self.shared.input).clone();
        let control = lock(&self.shared.control).clone();
        close_channels(
            &[input.as_ref(), control.as_ref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>(),
        )
        .await;
        self.pc.close().await.map_err(PeerError::webrtc)
    }
}

impl Drop for ViewerPeer {
    fn drop(&mut self) {
        self.tasks.abort_all();
        close_on_drop(&self.pc, &self.closed);
    }
}

/// Read a track of the host's: the screen or the sound.
async fn receive_track(
    track: Arc<dyn webrtc::media_stream::track_remote::TrackRemote>,
    shared: Arc<Shared>,
    video: mpsc::Sender<VideoEvent>,
    audio: mpsc::Sender<ReceivedAudio>,
) {
    use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
    if track.kind().await == RtpCodecKind::Audio {
        receive_audio(track, audio, Arc::clone(&shared.audio_packets)).await;
    } else {
        receive_video(track, Arc::clone(&shared.video), video).await;
    }
}

/// Remember a channel the host opened and read it until it closes.
async fn adopt_channel(
    channel: Arc<dyn DataChannel>,
    shared: Arc<Shared>,
    events: mpsc::Sender<ViewerEvent>,
    pipes: mpsc::UnboundedSender<PipeEnd>,
) {
    let label = channel.label().await.unwrap_or_default();
    let label = match label.as_str() {
        FILES_CHANNEL | CLIPBOARD_CHANNEL => {
            let label = if label == FILES_CHANNEL {
                FILES_CHANNEL
            } else {
                CLIPBOARD_CHANNEL
            };
            // Announced open: it is read from here on.
            let (end, reader) = pipe::adopt(channel, label, true);
            let _ = pipes.send(end);
            reader.await;
            return;
        }
        INPUT_CHANNEL => {
            *lock(&shared.input) = Some(Arc::clone(&channel));
            INPUT_CHANNEL
        }
        CONTROL_CHANNEL => {
            *lock(&shared.control) = Some(Arc::clone(&channel));
            CONTROL_CHANNEL
        }
        other => {
            // Read, never used: the events of a channel nobody reads pile
            // up and stall the whole SCTP association (the host's `sound`
            // channel, which this viewer does not ask for, is one).
            tracing::debug!(label = other, "ignoring a data channel");
            let ignore = ChannelEvents {
                message: None,
                open: None,
                close: None,
            };
            pump_text(channel, "other", events, ignore).await;
            return;
        }
    };
    let both = lock(&shared.input).is_some() && lock(&shared.control).is_some();
    if both
        && !shared.channels_ready.swap(true, Ordering::Relaxed)
        && events.send(ViewerEvent::ChannelsReady).await.is_err()
    {
        return;
    }
    // Nothing is expected from the host on `input`: it is read only to
    // notice its closing. The host closing `control` ends the session.
    let produce = if label == CONTROL_CHANNEL {
        ChannelEvents {
            message: Some(ViewerEvent::ControlMessage),
            open: None,
            close: Some(ViewerEvent::Closed),
        }
    } else {
        ChannelEvents {
            message: None,
            open: None,
            close: None,
        }
    };
    pump_text(channel, label, events, produce).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::video::extmap_id;

    #[test]
    fn finds_extmap_ids() {
        let sdp = "v=0\r\na=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
                   a=extmap:7/sendonly http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r\n";
        assert_eq!(extmap_id(sdp, PLAYOUT_DELAY_URI), Some(7));
        assert_eq!(extmap_id(sdp, "urn:nothing"), None);
    }
}
