//! From webrtc's callbacks to our own values.
//!
//! webrtc calls [`PeerConnectionEventHandler`] methods on its driver task;
//! [`Handler`] does nothing there but forward each callback as a
//! [`RawEvent`] to the session's own task, which may then call back into the
//! peer connection without re-entering the driver. This module also converts
//! ICE candidates between the protocol's shape and webrtc's.

use std::sync::Arc;

use meshdesk_protocol::signal::IceCandidate;
use tokio::sync::mpsc;

use super::stats::selected_pair_type;
use super::{Link, Pc};
use tokio::task::JoinSet;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceCandidate, RTCIceCandidateInit, RTCIceGatheringState,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState,
};

/// A webrtc callback, forwarded.
pub(crate) enum RawEvent {
    /// A local candidate was gathered.
    Candidate(RTCIceCandidate),
    /// Gathering finished: send the end-of-candidates marker.
    GatheringComplete,
    /// The aggregate connection state changed.
    State(RTCPeerConnectionState),
    /// The remote side opened a data channel (viewer side).
    DataChannel(Arc<dyn DataChannel>),
    /// The remote side's track started (viewer side).
    Track(Arc<dyn TrackRemote>),
}

/// Forwards webrtc callbacks to the session task; never blocks the driver.
pub(crate) struct Handler {
    /// Unbounded so the driver never waits on us; these events are rare.
    tx: mpsc::UnboundedSender<RawEvent>,
}

impl Handler {
    pub(crate) fn new(tx: mpsc::UnboundedSender<RawEvent>) -> Self {
        Self { tx }
    }

    fn forward(&self, event: RawEvent) {
        // The session task is gone only when the session is being dropped.
        let _ = self.tx.send(event);
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        self.forward(RawEvent::Candidate(event.candidate));
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.forward(RawEvent::GatheringComplete);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.forward(RawEvent::State(state));
    }

    async fn on_data_channel(&self, data_channel: Arc<dyn DataChannel>) {
        self.forward(RawEvent::DataChannel(data_channel));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.forward(RawEvent::Track(track));
    }
}

/// A gathered candidate in the browser's `RTCIceCandidateInit` shape.
pub(crate) fn local_candidate(candidate: &RTCIceCandidate) -> Option<IceCandidate> {
    let init = candidate.to_json().ok()?;
    Some(IceCandidate {
        candidate: init.candidate,
        sdp_mid: init.sdp_mid,
        sdp_mline_index: init.sdp_mline_index,
        username_fragment: init.username_fragment,
    })
}

/// The end-of-candidates marker of the protocol.
pub(crate) fn end_of_candidates() -> IceCandidate {
    IceCandidate {
        candidate: String::new(),
        sdp_mid: None,
        sdp_mline_index: None,
        username_fragment: None,
    }
}

/// A remote candidate for webrtc, or `None` for the end-of-candidates marker.
pub(crate) fn remote_candidate(candidate: IceCandidate) -> Option<RTCIceCandidateInit> {
    if candidate.candidate.trim().is_empty() {
        return None;
    }
    Some(RTCIceCandidateInit {
        candidate: candidate.candidate,
        sdp_mid: candidate.sdp_mid,
        sdp_mline_index: candidate.sdp_mline_index,
        username_fragment: candidate.username_fragment,
        url: None,
    })
}

/// The application-visible change for a connection state, if any. For
/// `Connected` the selected candidate pair's type is looked up in the stats.
pub(crate) async fn link_change(pc: &Pc, state: RTCPeerConnectionState) -> Option<Link> {
    match state {
        RTCPeerConnectionState::Connected => Some(Link::Connected(selected_pair_type(pc).await)),
        RTCPeerConnectionState::Disconnected => Some(Link::Disconnected),
        RTCPeerConnectionState::Failed => Some(Link::Failed),
        RTCPeerConnectionState::Closed => Some(Link::Closed),
        _ => None,
    }
}

/// The session task shared by both roles: trickles local candidates,
/// reports connection changes as `E`, and hands data channels and tracks to
/// `other`, which may spawn readers into `children`. Those readers are owned
/// by this task and aborted with it.
pub(crate) async fn drive<E: From<Link>>(
    pc: Pc,
    mut raw: mpsc::UnboundedReceiver<RawEvent>,
    candidates: mpsc::UnboundedSender<IceCandidate>,
    events: mpsc::Sender<E>,
    mut other: impl FnMut(RawEvent, &mut JoinSet<()>),
) {
    let mut children = JoinSet::new();
    while let Some(event) = raw.recv().await {
        match event {
            RawEvent::Candidate(candidate) => {
                if let Some(candidate) = local_candidate(&candidate) {
                    let _ = candidates.send(candidate);
                }
            }
            RawEvent::GatheringComplete => {
                let _ = candidates.send(end_of_candidates());
            }
            RawEvent::State(state) => {
                tracing::debug!(?state, "peer connection state");
                if let Some(link) = link_change(&pc, state).await {
                    let _ = events.send(E::from(link)).await;
                }
            }
            other_event => other(other_event, &mut children),
        }
        while children.try_join_next().is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_candidates_is_not_passed_to_webrtc() {
        assert!(remote_candidate(end_of_candidates()).is_none());
        let c = IceCandidate {
            candidate: "candidate:1 1 udp 2130706431 192.0.2.2 50000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
            username_fragment: None,
        };
        let init = remote_candidate(c.clone()).expect("a candidate");
        assert_eq!(init.candidate, c.candidate);
        assert_eq!(init.sdp_mid.as_deref(), Some("0"));
    }
}
