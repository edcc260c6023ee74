//! The session's sound: one Opus track from the host. The host hands over
//! packets it already encoded and timed ([`AudioPacket`]); the track writes
//! them as RTP as they are, because Opus DTX leaves gaps in the timestamps
//! that a sample packetizer would close up (or mark as loss). The viewer
//! gets each packet's payload with its RTP timestamp and sequence number.

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::{BufMut, Bytes, BytesMut};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::rtp_transceiver::RtpSender;

use crate::PeerError;

/// RTP clock of Opus (RFC 7587: always 48 kHz).
pub const OPUS_CLOCK_RATE: u32 = 48_000;
/// fmtp of our Opus: 10 ms packets are fine, and the stream is stereo.
pub(crate) const OPUS_FMTP: &str = "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1";

/// The Opus codec both roles register and the host's track uses.
pub(crate) fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: OPUS_CLOCK_RATE,
        channels: 2,
        sdp_fmtp_line: OPUS_FMTP.to_owned(),
        rtcp_feedback: Vec::new(),
    }
}

/// One encoded Opus packet as the host's sound pipeline times it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPacket {
    /// The Opus packet.
    pub data: Bytes,
    /// Its first sample, on the 48 kHz clock from the start of capture
    /// (silence skipped by DTX leaves a gap here, not in sequence numbers).
    pub rtp_timestamp: u32,
    /// The first packet after a gap (the start of a talk spurt).
    pub marker: bool,
}

/// One packet of the host's sound as the viewer receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAudio {
    /// The Opus packet.
    pub data: Bytes,
    pub rtp_timestamp: u32,
    pub sequence_number: u16,
}

/// Where a host writes the sound, apart from the session's other work (a
/// big video frame being sent never holds a sound packet back): the audio
/// track, or once the viewer asks for it, the `sound` data channel
/// (unordered, never retransmitted). On the channel each message is the
/// packet's RTP timestamp (4 bytes, big-endian) and the Opus packet.
#[derive(Clone)]
pub struct AudioSender {
    pub(crate) track: Arc<AudioTrack>,
    pub(crate) channel: Arc<dyn DataChannel>,
    pub(crate) on_channel: Arc<AtomicBool>,
}

impl std::fmt::Debug for AudioSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioSender")
            .field("ssrc", &self.track.ssrc)
            .field("on_channel", &self.on_channel.load(Ordering::Relaxed))
            .finish()
    }
}

impl AudioSender {
    /// Send one Opus packet.
    pub async fn write(&self, packet: &AudioPacket) -> Result<(), PeerError> {
        if !self.on_channel.load(Ordering::Relaxed) {
            return self.track.write(packet).await;
        }
        let mut message = BytesMut::with_capacity(4 + packet.data.len());
        message.put_u32(packet.rtp_timestamp);
        message.put_slice(&packet.data);
        self.channel.send(message).await.map_err(PeerError::webrtc)
    }

    /// Send on the `sound` channel from now on (`false`: on the track).
    pub fn use_channel(&self, on: bool) {
        self.on_channel.store(on, Ordering::Relaxed);
    }
}

/// The host's sending end of the sound track.
pub(crate) struct AudioTrack {
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    /// A random start, as RFC 3550 asks for both.
    timestamp_offset: u32,
    next_sequence: AtomicU16,
    /// Negotiated Opus payload type; set when the answer is applied.
    payload_type: OnceLock<u8>,
}

impl AudioTrack {
    /// The track, added to `pc`.
    pub(crate) async fn add(pc: &super::Pc) -> Result<Self, PeerError> {
        let ssrc: u32 = rand::random();
        let encoding = RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: opus_codec(),
            ..Default::default()
        };
        // A stream of its own: in the screen's stream a browser would
        // hold the sound back to lip-sync it with the picture by the
        // sender reports, which here only adds delay (scripts/bench sound,
        // Chromium: 175 ms behind the sound card, against 54 ms on its
        // own).
        let stream = MediaStreamTrack::new(
            "meshdesk-sound".to_owned(),
            "sound".to_owned(),
            "sound".to_owned(),
            RtpCodecKind::Audio,
            vec![encoding],
        );
        let track = Arc::new(TrackLocalStaticRTP::new(stream));
        let sender = pc
            .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
            .await
            .map_err(PeerError::webrtc)?;
        Ok(Self {
            track,
            sender,
            ssrc,
            timestamp_offset: rand::random(),
            next_sequence: AtomicU16::new(rand::random()),
            payload_type: OnceLock::new(),
        })
    }

    /// Read the negotiated payload type back once the answer is applied.
    /// An answer that refuses Opus leaves the session without sound.
    pub(crate) async fn answered(&self) {
        match self.sender.get_parameters().await {
            Ok(parameters) => match parameters.rtp_parameters.codecs.first() {
                Some(codec) => {
                    let _ = self.payload_type.set(codec.payload_type);
                }
                None => tracing::info!("the answer accepts no Opus: no sound"),
            },
            Err(e) => tracing::warn!(error = %e, "no sound: the audio sender has no parameters"),
        }
    }

    /// Write one packet.
    pub(crate) async fn write(&self, packet: &AudioPacket) -> Result<(), PeerError> {
        let payload_type = *self
            .payload_type
            .get()
            .ok_or(PeerError::NotReady("no Opus in the answer"))?;
        let rtp = rtp::Packet {
            header: rtp::Header {
                version: 2,
                marker: packet.marker,
                payload_type,
                sequence_number: self.next_sequence.fetch_add(1, Ordering::Relaxed),
                timestamp: packet.rtp_timestamp.wrapping_add(self.timestamp_offset),
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload: packet.data.clone(),
        };
        self.track.write_rtp(rtp).await.map_err(PeerError::webrtc)
    }
}

/// Read the host's sound track and hand each packet over, dropping (and
/// counting) what a slow consumer has no room for.
pub(crate) async fn receive_audio(
    track: Arc<dyn TrackRemote>,
    packets: mpsc::Sender<ReceivedAudio>,
    received: Arc<AtomicU64>,
) {
    while let Some(event) = track.poll().await {
        let packet = match event {
            TrackRemoteEvent::OnRtpPacket(packet) => packet,
            TrackRemoteEvent::OnEnded => return,
            _ => continue,
        };
        received.fetch_add(1, Ordering::Relaxed);
        let audio = ReceivedAudio {
            data: packet.payload.clone(),
            rtp_timestamp: packet.header.timestamp,
            sequence_number: packet.header.sequence_number,
        };
        match packets.try_send(audio) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}
