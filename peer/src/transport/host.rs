//! The sending side of a session (meshdesk-host): one H.264 video track
//! (none in a files-only session), an Opus track when the session has
//! sound, the `input`, `control` and `files` data channels and, when the
//! session shares the clipboard, `clipboard`, created here; the host
//! offers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use meshdesk_protocol::rest::IceServer;
use meshdesk_protocol::signal::IceCandidate;
use rtc::data_channel::RTCDataChannelInit;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp::extension::playout_delay_extension::PlayoutDelayExtension;
use rtc::rtp::extension::HeaderExtension;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{mpsc, watch};
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::peer_connection::RTCSessionDescription;
use webrtc::rtp_transceiver::RtpSender;

use super::audio::{AudioSender, AudioTrack};
use super::bandwidth::{Estimate, PublishingEstimator};
use super::channels::{close_channels, pump_text, send_text, ChannelEvents};
use super::config::{build_peer_connection, h264_codec};
use super::events::{drive, remote_candidate};
use super::keyframe::is_keyframe_request;
use super::pipe::{self, Pipe, PipeEnd};
use super::stats::{collect, CandidatePairType, PeerStats};
use super::{
    close_on_drop, CandidateReceiver, Pc, CLIPBOARD_CHANNEL, CONTROL_CHANNEL, FILES_CHANNEL,
    INPUT_CHANNEL, SOUND_CHANNEL,
};
use crate::PeerError;
use meshdesk_tasks::TaskSet;

/// Capacity of the host's event channel; input beyond it waits in SCTP.
const EVENT_CAPACITY: usize = 1024;

/// What a host session reports to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostEvent {
    /// The `control` channel is open (`input` opens with it): `send_control`
    /// works from now on.
    ChannelsReady,
    /// A text message on the `input` channel (an `InputMsg`, undecoded).
    InputMessage(String),
    /// The `input` channel closed (the viewer closed it, or the connection
    /// went away): release what it held.
    InputClosed,
    /// A text message on the `control` channel (a `ControlMsg`, undecoded).
    ControlMessage(String),
    /// The viewer sent a PLI or FIR: encode an IDR soon.
    KeyframeRequested,
    /// ICE and DTLS are up.
    Connected {
        candidate_pair_type: CandidatePairType,
    },
    /// Connectivity is interrupted; it may come back.
    Disconnected,
    /// Connectivity is lost for good (ICE failed, consent expired).
    Failed,
    /// The connection was closed.
    Closed,
}

link_events!(HostEvent);

/// The receiving ends a host session hands out once, at creation.
#[derive(Debug)]
pub struct HostStreams {
    /// Session events, in order.
    pub events: mpsc::Receiver<HostEvent>,
    /// Local ICE candidates to send to the viewer.
    pub candidates: CandidateReceiver,
    /// The `files` channel, for the session's file service (to take).
    pub files: Option<PipeEnd>,
    /// The `clipboard` channel, when the session shares the clipboard.
    pub clipboard: Option<PipeEnd>,
}

/// What a host session carries besides `input`, `control` and `files`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostOptions {
    /// The screen (a files-only session has none).
    pub video: bool,
    /// The PC's sound.
    pub sound: bool,
    /// The `clipboard` channel.
    pub clipboard: bool,
    /// The most the video may use, in bit/s: where the bandwidth estimate
    /// starts and its ceiling.
    pub max_bitrate_bps: u32,
}

/// A host's WebRTC session. Dropping it closes the connection and aborts
/// every task it started.
pub struct HostPeer {
    /// The connection.
    pc: Pc,
    /// The video track frames are written to, and its sender (for the
    /// negotiated payload type); none in a files-only session.
    video: Option<(Arc<TrackLocalStaticSample>, Arc<dyn RtpSender>)>,
    /// Our SSRC for the video stream.
    ssrc: u32,
    /// Negotiated H.264 payload type; set when the answer is applied.
    payload_type: OnceLock<u8>,
    /// The sound's writer (its track and channel), when the session
    /// carries sound.
    audio: Option<AudioSender>,
    /// Host-created `input` channel, kept to close it on `close`.
    input: Arc<dyn DataChannel>,
    /// Host-created `control` channel (the host may send on it too).
    control: Arc<dyn DataChannel>,
    /// The `files` and `clipboard` channels' senders, to close them.
    pipes: Vec<Pipe>,
    /// The bandwidth estimate to the viewer (video sessions only).
    estimate: Option<watch::Receiver<Option<Estimate>>>,
    /// Set once `close` ran, so drop does not close twice.
    closed: AtomicBool,
    /// The session task, channel readers and the RTCP reader.
    tasks: TaskSet,
}

impl std::fmt::Debug for HostPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostPeer")
            .field("ssrc", &self.ssrc)
            .field("payload_type", &self.payload_type.get())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The H.264 screen track, sent with our SSRC.
fn video_track(ssrc: u32) -> Result<Arc<TrackLocalStaticSample>, PeerError> {
    let encoding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec: h264_codec(),
        ..Default::default()
    };
    let stream = MediaStreamTrack::new(
        "meshdesk".to_owned(),
        "screen".to_owned(),
        "screen".to_owned(),
        RtpCodecKind::Video,
        vec![encoding],
    );
    let track = TrackLocalStaticSample::new(Instant::now(), stream).map_err(PeerError::webrtc)?;
    Ok(Arc::new(track))
}

impl HostPeer {
    /// Create the connection, its tracks and data channels.
    pub async fn new(
        ice_servers: &[IceServer],
        options: HostOptions,
    ) -> Result<(Self, HostStreams), PeerError> {
        let tasks = TaskSet::new();
        let (estimator, estimate) = match options.video {
            true => {
                let (gcc, rx) = PublishingEstimator::new(options.max_bitrate_bps);
                (Some(gcc), Some(rx))
            }
            false => (None, None),
        };
        let (pc, raw) = build_peer_connection(ice_servers, false, estimator, &tasks).await?;
        let ssrc: u32 = rand::random();
        let video = match options.video {
            true => {
                let track = video_track(ssrc)?;
                let sender = pc
                    .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
                    .await
                    .map_err(PeerError::webrtc)?;
                Some((track, sender))
            }
            false => None,
        };
        let audio = match options.sound && options.video {
            true => Some(AudioSender {
                track: Arc::new(AudioTrack::add(&pc).await?),
                channel: pc
                    .create_data_channel(
                        SOUND_CHANNEL,
                        Some(RTCDataChannelInit {
                            ordered: false,
                            max_retransmits: Some(0),
                            ..Default::default()
                        }),
                    )
                    .await
                    .map_err(PeerError::webrtc)?,
                on_channel: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            }),
            false => None,
        };
        // Both channels: ordered and reliable (the W3C defaults).
        let input = create_channel(&pc, INPUT_CHANNEL).await?;
        let control = create_channel(&pc, CONTROL_CHANNEL).await?;
        let (files, files_reader) = pipe::adopt(
            create_channel(&pc, FILES_CHANNEL).await?,
            FILES_CHANNEL,
            false,
        );
        tasks.spawn(files_reader);
        let mut pipes = vec![files.pipe.clone()];
        let clipboard = match options.clipboard {
            true => {
                let channel = create_channel(&pc, CLIPBOARD_CHANNEL).await?;
                let (end, reader) = pipe::adopt(channel, CLIPBOARD_CHANNEL, false);
                tasks.spawn(reader);
                pipes.push(end.pipe.clone());
                Some(end)
            }
            false => None,
        };

        let (events_tx, events) = mpsc::channel(EVENT_CAPACITY);
        let (candidates_tx, candidates) = mpsc::unbounded_channel();
        tasks.spawn(drive(
            Arc::clone(&pc),
            raw,
            candidates_tx,
            events_tx.clone(),
            |_, _| {}, // A host expects no remote channels or tracks.
        ));
        tasks.spawn(pump_text(
            Arc::clone(&input),
            INPUT_CHANNEL,
            events_tx.clone(),
            ChannelEvents {
                message: Some(HostEvent::InputMessage),
                open: None,
                close: Some(HostEvent::InputClosed),
            },
        ));
        // The viewer closing `control` ends the session at once, well before
        // ICE would notice the silence (about 5 s).
        tasks.spawn(pump_text(
            Arc::clone(&control),
            CONTROL_CHANNEL,
            events_tx.clone(),
            ChannelEvents {
                message: Some(HostEvent::ControlMessage),
                open: Some(HostEvent::ChannelsReady),
                close: Some(HostEvent::Closed),
            },
        ));
        // Nothing comes on `sound`, but its events must be read: a channel
        // whose events nobody reads fills its queue and stalls the whole
        // SCTP association (every channel: input stopped after some 80
        // sound packets).
        if let Some(audio) = &audio {
            tasks.spawn(pump_text(
                Arc::clone(&audio.channel),
                SOUND_CHANNEL,
                events_tx.clone(),
                ChannelEvents {
                    message: None,
                    open: None,
                    close: None,
                },
            ));
        }
        if let Some((track, _)) = &video {
            tasks.spawn(keyframe_requests(Arc::clone(track), events_tx));
        }

        let peer = HostPeer {
            pc,
            video,
            ssrc,
            payload_type: OnceLock::new(),
            audio,
            input,
            control,
            pipes,
            estimate,
            closed: AtomicBool::new(false),
            tasks,
        };
        let streams = HostStreams {
            events,
            candidates,
            files: Some(files),
            clipboard,
        };
        Ok((peer, streams))
    }

    /// Create the offer, apply it locally (starting ICE gathering) and
    /// return its SDP for the viewer.
    pub async fn create_offer(&self) -> Result<String, PeerError> {
        let offer = self
            .pc
            .create_offer(None)
            .await
            .map_err(PeerError::webrtc)?;
        let sdp = offer.sdp.clone();
        self.pc
            .set_local_description(offer)
            .await
            .map_err(PeerError::webrtc)?;
        Ok(sdp)
    }

    /// Restart ICE (after connectivity was lost, for example because a
    /// network changed): fresh credentials and sockets, and a new offer for
    /// the viewer, which answers it like the first. The media, channels and
    /// DTLS session carry on once the new path is found.
    pub async fn restart_ice(&self) -> Result<String, PeerError> {
        self.pc.restart_ice().await.map_err(PeerError::webrtc)?;
        self.create_offer().await
    }

    /// Apply the viewer's answer.
    pub async fn set_remote_answer(&self, sdp: String) -> Result<(), PeerError> {
        let answer = RTCSessionDescription::answer(sdp)
            .map_err(|e| PeerError::InvalidRemote(e.to_string()))?;
        self.pc
            .set_remote_description(answer)
            .await
            .map_err(|e| PeerError::InvalidRemote(e.to_string()))?;
        let Some((_, sender)) = &self.video else {
            return Ok(());
        };
        let parameters = sender.get_parameters().await.map_err(PeerError::webrtc)?;
        let codec = parameters
            .rtp_parameters
            .codecs
            .first()
            .ok_or(PeerError::InvalidRemote(
                "the answer accepts no H.264".into(),
            ))?;
        let _ = self.payload_type.set(codec.payload_type);
        if let Some(audio) = &self.audio {
            audio.track.answered().await;
        }
        Ok(())
    }

    /// Add a candidate trickled by the viewer. The end-of-candidates marker
    /// (an empty candidate) is accepted and ignored.
    pub async fn add_remote_candidate(&self, candidate: IceCandidate) -> Result<(), PeerError> {
        let Some(init) = remote_candidate(candidate) else {
            return Ok(());
        };
        self.pc
            .add_ice_candidate(init)
            .await
            .map_err(|e| PeerError::InvalidRemote(e.to_string()))
    }

    /// Send one H.264 access unit (Annex-B, all NAL units of one picture,
    /// SPS/PPS included for keyframes). `duration` advances the RTP clock.
    ///
    /// Every packet carries the playout-delay extension with min = max = 0.
    /// AUD and filler NAL units are dropped by the packetizer.
    pub async fn write_frame(&self, annexb: &[u8], duration: Duration) -> Result<(), PeerError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(PeerError::Closed);
        }
        let Some((track, _)) = &self.video else {
            return Err(PeerError::NotReady("a files-only session has no video"));
        };
        let payload_type = *self
            .payload_type
            .get()
            .ok_or(PeerError::NotReady("no answer applied yet"))?;
        let sample = Sample {
            data: Bytes::copy_from_slice(annexb),
            duration,
            ..Sample::new(Instant::now())
        };
        track
            .sample_writer(self.ssrc, payload_type)
            .with_extension(HeaderExtension::PlayoutDelay(PlayoutDelayExtension {
                min_delay: 0,
                max_delay: 0,
            }))
            .write_sample(&sample)
            .await
            .map_err(PeerError::webrtc)
    }

    /// The bandwidth estimate to the viewer, updated with each feedback
    /// report that changes it (`None` until the first); none in a
    /// files-only session.
    pub fn estimates(&self) -> Option<watch::Receiver<Option<Estimate>>> {
        self.estimate.clone()
    }

    /// The sound track's writer, when the session carries sound.
    pub fn audio_sender(&self) -> Option<AudioSender> {
        self.audio.clone()
    }

    /// Send a text message on the `control` channel.
    pub async fn send_control(&self, text: &str) -> Result<(), PeerError> {
        send_text(&self.control, CONTROL_CHANNEL, text).await
    }

    /// Counters of this session (bytes, round-trip time, pair type).
    pub async fn stats(&self) -> PeerStats {
        collect(&self.pc).await
    }

    /// Close the connection: the data channels first, so the viewer learns
    /// at once (its `control` channel closes), then the connection.
    pub async fn close(&self) -> Result<(), PeerError> {
        if self.closed.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        close_channels(&[&self.input, &self.control]).await;
        for pipe in &self.pipes {
            pipe.close().await;
        }
        if let Some(audio) = &self.audio {
            close_channels(&[&audio.channel]).await;
        }
        self.pc.close().await.map_err(PeerError::webrtc)
    }
}

impl Drop for HostPeer {
    fn drop(&mut self) {
        self.tasks.abort_all();
        close_on_drop(&self.pc, &self.closed);
    }
}

async fn create_channel(pc: &Pc, label: &str) -> Result<Arc<dyn DataChannel>, PeerError> {
    pc.create_data_channel(label, Some(RTCDataChannelInit::default()))
        .await
        .map_err(PeerError::webrtc)
}

/// Turn PLI/FIR delivered by the keyframe interceptor into events.
async fn keyframe_requests(track: Arc<TrackLocalStaticSample>, events: mpsc::Sender<HostEvent>) {
    while let Some(event) = track.poll().await {
        let TrackLocalEvent::OnRtcpPacket(packets) = event else {
            continue;
        };
        if packets.iter().any(|p| is_keyframe_request(p.as_ref()))
            && events.send(HostEvent::KeyframeRequested).await.is_err()
        {
            return;
        }
    }
}
