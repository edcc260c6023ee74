//! Session statistics: a small, stable summary of webrtc's stats report.

use std::fmt;
use std::time::{Duration, Instant};

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::statistics::stats::ice_candidate_pair::RTCIceCandidatePairStats;
use serde::Serialize;
use webrtc::peer_connection::StatsSelector;
use webrtc::peer_connection::{RTCIceCandidateType, RTCStatsReport, RTCStatsReportEntry};

use super::Pc;

/// How the selected ICE candidate pair reaches the other side, named after
/// the local candidate's type (`relay` when our side goes through TURN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CandidatePairType {
    /// A direct path between interface addresses.
    Host,
    /// Through a NAT, address learnt from STUN.
    Srflx,
    /// Through a NAT, address learnt from the other side's checks.
    Prflx,
    /// Through a TURN relay.
    Relay,
    /// No pair selected yet, or the stack did not say.
    Unknown,
}

impl CandidatePairType {
    /// The W3C name: `host`, `srflx`, `prflx`, `relay` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidatePairType::Host => "host",
            CandidatePairType::Srflx => "srflx",
            CandidatePairType::Prflx => "prflx",
            CandidatePairType::Relay => "relay",
            CandidatePairType::Unknown => "unknown",
        }
    }

    fn from_webrtc(typ: RTCIceCandidateType) -> Self {
        match typ {
            RTCIceCandidateType::Host => CandidatePairType::Host,
            RTCIceCandidateType::Srflx => CandidatePairType::Srflx,
            RTCIceCandidateType::Prflx => CandidatePairType::Prflx,
            RTCIceCandidateType::Relay => CandidatePairType::Relay,
            _ => CandidatePairType::Unknown,
        }
    }
}

impl fmt::Display for CandidatePairType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot of a session's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PeerStats {
    /// Bytes received on the selected transport (media, data, control).
    pub bytes_received: u64,
    /// Bytes sent on the selected transport.
    pub bytes_sent: u64,
    /// RTP packets received on the video stream (viewer).
    pub packets_received: u64,
    /// RTP packets lost on the video stream, from sequence numbers (viewer).
    pub packets_lost: i64,
    /// Latest ICE round-trip time on the selected pair, if measured.
    pub round_trip_time: Option<Duration>,
    /// Type of the selected candidate pair (its local candidate), once
    /// connected.
    pub candidate_pair_type: Option<CandidatePairType>,
    /// Type of the selected pair's remote candidate: `relay` when the other
    /// side goes through TURN although this side does not.
    pub remote_candidate_type: Option<CandidatePairType>,
    /// Whole access units handed to the application (viewer).
    pub frames_received: u64,
    /// Access units reported lost (viewer).
    pub frames_lost: u64,
    /// Received RTP packets that carried the playout-delay extension (viewer).
    pub packets_with_playout_delay: u64,
    /// Missing video packets that a resend (NACK) brought in time (viewer).
    pub packets_recovered: u64,
    /// RTP packets received on the sound stream (viewer).
    pub audio_packets_received: u64,
}

/// Read webrtc's report into [`PeerStats`]; role-specific counters are
/// filled in by the caller.
pub(crate) async fn collect(pc: &Pc) -> PeerStats {
    let report = pc.get_stats(Instant::now(), StatsSelector::None).await;
    let mut stats = PeerStats::default();
    if let Some(transport) = report.transport() {
        stats.bytes_received = transport.bytes_received;
        stats.bytes_sent = transport.bytes_sent;
    }
    for inbound in report.inbound_rtp_streams() {
        let received = &inbound.received_rtp_stream_stats;
        if received.rtp_stream_stats.kind == RtpCodecKind::Audio {
            stats.audio_packets_received += received.packets_received;
            continue;
        }
        stats.packets_received += received.packets_received;
        stats.packets_lost += received.packets_lost;
    }
    if let Some(pair) = selected_pair(&report) {
        if pair.current_round_trip_time > 0.0 {
            stats.round_trip_time = Some(Duration::from_secs_f64(pair.current_round_trip_time));
        }
        stats.candidate_pair_type = Some(candidate_type(&report, &pair.local_candidate_id, false));
        stats.remote_candidate_type =
            Some(candidate_type(&report, &pair.remote_candidate_id, true));
    }
    stats
}

impl PeerStats {
    /// Whether media goes through a TURN relay on either side.
    pub fn relayed(&self) -> bool {
        [self.candidate_pair_type, self.remote_candidate_type]
            .contains(&Some(CandidatePairType::Relay))
    }
}

/// Type of the selected pair, `Unknown` when none is selected yet.
pub(crate) async fn selected_pair_type(pc: &Pc) -> CandidatePairType {
    let report = pc.get_stats(Instant::now(), StatsSelector::None).await;
    selected_pair(&report)
        .map(|pair| candidate_type(&report, &pair.local_candidate_id, false))
        .unwrap_or(CandidatePairType::Unknown)
}

fn selected_pair(report: &RTCStatsReport) -> Option<&RTCIceCandidatePairStats> {
    let id = &report.transport()?.selected_candidate_pair_id;
    report
        .candidate_pairs()
        .find(|pair| &pair.stats.id == id)
        .or_else(|| report.candidate_pairs().find(|pair| pair.nominated))
}

/// The type of the pair's local (`remote` false) or remote candidate. The
/// pair names the candidate by its own id; the report keys the candidate's
/// entry with a type prefix before that id.
fn candidate_type(report: &RTCStatsReport, candidate_id: &str, remote: bool) -> CandidatePairType {
    report
        .iter()
        .find_map(|entry| match entry {
            RTCStatsReportEntry::LocalCandidate(c) | RTCStatsReportEntry::RemoteCandidate(c)
                if matches!(entry, RTCStatsReportEntry::RemoteCandidate(_)) == remote
                    && entry.id().ends_with(candidate_id) =>
            {
                Some(CandidatePairType::from_webrtc(c.candidate_type))
            }
            _ => None,
        })
        .unwrap_or(CandidatePairType::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_types_use_w3c_names() {
        assert_eq!(CandidatePairType::Relay.to_string(), "relay");
        assert_eq!(
            CandidatePairType::from_webrtc(RTCIceCandidateType::Prflx),
            CandidatePairType::Prflx
        );
        let json = serde_json::to_string(&CandidatePairType::Srflx).expect("serializes");
        assert_eq!(json, "\"srflx\"");
    }

    #[test]
    fn relayed_if_either_side_uses_turn() {
        let mut s = PeerStats {
            candidate_pair_type: Some(CandidatePairType::Host),
            remote_candidate_type: Some(CandidatePairType::Srflx),
            ..PeerStats::default()
        };
        assert!(!s.relayed());
        s.remote_candidate_type = Some(CandidatePairType::Relay);
        assert!(s.relayed());
    }
}
