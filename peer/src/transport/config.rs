//! Building a `webrtc` peer connection with Meshdesk's settings: codecs,
//! header extensions, interceptors, ICE servers and timing knobs.

use std::sync::Arc;
use std::time::Duration;

use meshdesk_protocol::rest::IceServer;
use rtc::interceptor::{CongestionControlBuilder, NackGeneratorBuilder, Slot, TwccSenderBuilder};
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_H264;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceServer, RTCIceTransportPolicy, Registry, SettingEngineBuilder,
};

use super::audio::opus_codec;
use super::bandwidth::PublishingEstimator;
use super::events::{Handler, RawEvent};
use super::keyframe::{KeyframeRequestInterceptor, KEYFRAME_SLOT};
use super::turn_bridge::bridge_turn_servers;
use super::Pc;
use crate::PeerError;
use meshdesk_tasks::TaskSet;

/// RTP payload type we offer for Opus (the one browsers use).
const OPUS_PAYLOAD_TYPE: u8 = 111;
/// RTP payload type we offer for H.264. Any dynamic type works; the
/// negotiated one is read back from the sender.
const H264_PAYLOAD_TYPE: u8 = 102;
/// fmtp of our H.264: Constrained Baseline 3.1 in non-interleaved mode,
/// which Chromium accepts (it offers 42e01f with packetization-mode 1).
pub(crate) const H264_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
/// The playout-delay RTP header extension (min/max in 10 ms units).
pub(crate) const PLAYOUT_DELAY_URI: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
/// Local UDP address: every interface, any port. Binding 127.0.0.1 breaks
/// Chromium, whose replies come from another source address.
const UDP_BIND: &str = "0.0.0.0:0";

/// The H.264 codec both roles register and the host's track uses.
pub(crate) fn h264_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: H264_FMTP.to_owned(),
        // nack and nack pli are added by the default interceptors.
        rtcp_feedback: vec![RTCPFeedback {
            typ: "ccm".to_owned(),
            parameter: "fir".to_owned(),
        }],
    }
}

/// Map Meshdesk ICE servers (the browser's `RTCIceServer` shape) to webrtc's.
/// STUN entries carry no credentials; TURN entries need both.
pub(crate) fn map_ice_servers(servers: &[IceServer]) -> Vec<RTCIceServer> {
    servers
        .iter()
        .filter(|s| !s.urls.is_empty())
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone().unwrap_or_default(),
            credential: s.credential.clone().unwrap_or_default(),
        })
        .collect()
}

/// The interceptors a sender adds to estimate its path: the TWCC sender
/// numbers every outgoing RTP packet transport-wide (the offer already
/// negotiates transport-cc, whose feedback needs those numbers), and the
/// congestion-control interceptor, nearest the wire, joins the viewer's
/// feedback with the send times for the estimator.
fn with_congestion_control(registry: Registry, estimator: PublishingEstimator) -> Registry {
    registry
        .with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(estimator).build(),
        )
        .with(Slot::TwccSender, TwccSenderBuilder::new().build())
}

fn media_engine(
    estimator: Option<PublishingEstimator>,
) -> Result<(MediaEngine, Registry), PeerError> {
    let mut engine = MediaEngine::default();
    engine
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: h264_codec(),
                payload_type: H264_PAYLOAD_TYPE,
            },
            RtpCodecKind::Video,
        )
        .map_err(PeerError::webrtc)?;
    engine
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: opus_codec(),
                payload_type: OPUS_PAYLOAD_TYPE,
            },
            RtpCodecKind::Audio,
        )
        .map_err(PeerError::webrtc)?;
    engine
        .register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: PLAYOUT_DELAY_URI.to_owned(),
            },
            RtpCodecKind::Video,
            None,
        )
        .map_err(PeerError::webrtc)?;
    let registry =
        register_default_interceptors(Registry::new(), &mut engine).map_err(PeerError::webrtc)?;
    // The default generator asks for a missing packet every 100 ms until
    // it comes: behind a deep queue (measured behind a 2 Mbit/s link with
    // 2 s of buffer) twenty copies of every lost packet were asked for and
    // sent, and they kept the link full at any video bitrate. Once is
    // enough for a packet lost on the way, asked for within 20 ms: the
    // native viewer holds the packets behind a gap for the resend
    // (`reorder.rs`), and each millisecond of asking late is one more
    // they wait.
    let registry = registry.with(
        Slot::NackGenerator,
        NackGeneratorBuilder::new()
            .with_max_nacks_per_packet(1)
            .with_interval(Duration::from_millis(20))
            .build(),
    );
    let registry = registry.with(
        Slot::from(KEYFRAME_SLOT),
        KeyframeRequestInterceptor::default(),
    );
    let registry = match estimator {
        Some(estimator) => with_congestion_control(registry, estimator),
        None => registry,
    };
    Ok((engine, registry))
}

/// How long a relayed candidate pair waits before it may be selected.
const RELAY_WAIT: Duration = Duration::from_millis(250);

/// How often the ICE agent runs its checks while connecting: RFC 8445's
/// smallest pacing (Ta, section 14.2). A browser hides its host addresses
/// behind mDNS names, so the host learns the browser's address only from
/// the browser's own checks (a peer-reflexive candidate) and then needs two
/// rounds of its own (check, then nominate) before its side counts as
/// connected and DTLS can start: two ticks of this.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(5);

/// Unanswered checks on one pair before it is given up: one second's worth.
const ICE_CHECK_ATTEMPTS: u16 = 200;

/// Build a peer connection whose events arrive on the returned channel.
/// TURN servers are reached through loopback bridges owned by `tasks`
/// (see `turn_bridge`). A sender passes its `estimator`.
pub(crate) async fn build_peer_connection(
    ice_servers: &[IceServer],
    relay_only: bool,
    estimator: Option<PublishingEstimator>,
    tasks: &TaskSet,
) -> Result<(Pc, mpsc::UnboundedReceiver<RawEvent>), PeerError> {
    let ice_servers = bridge_turn_servers(ice_servers, tasks).await;
    let (engine, registry) = media_engine(estimator)?;
    let settings = SettingEngineBuilder::new()
        // `None` would mean "the default 1 s", not "immediately".
        .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
        // Direct paths first: a pair through a NAT is taken at once (the
        // default waits 500 ms), a relayed one only after RELAY_WAIT, by
        // which time a direct path between reachable peers has been found
        // (checks run every 5 ms). The default relay wait is seconds.
        .with_srflx_acceptance_min_wait(Some(Duration::ZERO))
        .with_relay_acceptance_min_wait(Some(RELAY_WAIT))
        // Connectivity checks every 5 ms instead of 200 ms while
        // connecting: the first check no longer waits for the agent's next
        // tick after the remote candidates arrive, nor does the nomination.
        // A pair is given up after a second without answers, as before.
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_CHECK_ATTEMPTS))
        // An ICE restart binds new sockets on the interfaces that exist
        // then, so a restart after a network change gathers the new
        // addresses instead of the ones that went away.
        .with_discard_local_candidates_during_ice_restart(true)
        .build();
    let policy = if relay_only {
        RTCIceTransportPolicy::Relay
    } else {
        RTCIceTransportPolicy::All
    };
    let config = RTCConfigurationBuilder::new()
        .with_ice_servers(map_ice_servers(&ice_servers))
        .with_ice_transport_policy(policy)
        .build();
    let (tx, rx) = mpsc::unbounded_channel();
    let handler: Arc<dyn PeerConnectionEventHandler> = Arc::new(Handler::new(tx));
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_media_engine(engine)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(vec![UDP_BIND])
        .with_data_channel_send_buffer_limit(super::SEND_BUFFER_LIMIT)
        .build()
        .await
        .map_err(PeerError::webrtc)?;
    Ok((Arc::new(pc), rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_stun_and_turn_servers() {
        let servers = vec![
            IceServer {
                urls: vec!["stun:stun.example.org:3478".into()],
                username: None,
                credential: None,
            },
            IceServer {
                urls: vec![
                    "turn:turn.example.org:3478?transport=udp".into(),
                    "turns:turn.example.org:5349".into(),
                ],
                username: Some("1700000000:alice".into()),
                credential: Some("c2VjcmV0".into()),
            },
            IceServer {
                urls: vec![],
                username: None,
                credential: None,
            },
        ];
        let mapped = map_ice_servers(&servers);
        assert_eq!(mapped.len(), 2);
        assert_eq!(mapped[0].urls, servers[0].urls);
        assert!(mapped[0].username.is_empty() && mapped[0].credential.is_empty());
        assert_eq!(mapped[1].username, "1700000000:alice");
        assert_eq!(mapped[1].credential, "c2VjcmV0");
        assert_eq!(mapped[1].urls.len(), 2);
    }
}
