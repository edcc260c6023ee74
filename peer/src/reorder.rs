//! Puts RTP packets back in order for the frame assembler, waiting a
//! little for a missing one to be resent (NACK) before giving up on it.
//!
//! Packets that arrive in order pass at once: no playout delay. After a
//! gap the packets behind it are held until the missing one comes (the
//! viewer's NACK asked for it; the host resends from its history) or
//! [`RESEND_WAIT`] passes; then the held packets go on and the assembler
//! sees the gap, reports the frame lost, and the viewer asks for a
//! keyframe as before. A packet older than what was passed on (a resend
//! that came too late, a duplicate) is dropped. Pure: every instant is a
//! parameter.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// How long a gap may hold the packets behind it: a NACK (sent within
/// 20 ms of the gap) and the resend's round trip on a slow link.
pub const RESEND_WAIT: Duration = Duration::from_millis(200);

/// Packets held at most; beyond, the gap is given up at once.
const MAX_HELD: usize = 1024;

/// An RTP packet of the video stream, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    pub sequence_number: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Bytes,
}

/// The reorder stage. See the module's documentation.
#[derive(Debug, Default)]
pub struct Reorder {
    /// The sequence number expected next; `None` before the first packet.
    next: Option<u16>,
    /// Packets behind a gap, by their distance from `next`.
    held: BTreeMap<u16, RtpPacket>,
    /// When the current gap opened.
    gap_since: Option<Instant>,
    /// Packets that came back in time after a gap, for the counters.
    recovered: u64,
}

impl Reorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Missing packets that arrived before [`RESEND_WAIT`] ran out.
    pub fn recovered(&self) -> u64 {
        self.recovered
    }

    /// One packet from the network at `now`: what may go on, in order.
    pub fn push(&mut self, now: Instant, packet: RtpPacket) -> Vec<RtpPacket> {
        let Some(next) = self.next else {
            self.next = Some(packet.sequence_number.wrapping_add(1));
            return vec![packet];
        };
        let ahead = packet.sequence_number.wrapping_sub(next);
        if ahead >= 0x8000 {
            // Behind what went on already: too late, or a duplicate.
            return Vec::new();
        }
        if ahead > 0 {
            self.held.insert(ahead, packet);
            self.gap_since.get_or_insert(now);
            if self.held.len() > MAX_HELD {
                return self.give_up(now);
            }
            return Vec::new();
        }
        if self.gap_since.is_some() {
            self.recovered += 1;
        }
        let mut out = vec![packet];
        self.advance(1);
        self.drain(&mut out);
        out
    }

    /// When a gap must be given up, if one is open.
    pub fn deadline(&self) -> Option<Instant> {
        self.gap_since.map(|at| at + RESEND_WAIT)
    }

    /// Give up a gap whose wait ran out by `now`: the packets behind it go
    /// on (the assembler then sees the gap).
    pub fn expire(&mut self, now: Instant) -> Vec<RtpPacket> {
        match self.deadline() {
            Some(due) if now >= due => self.give_up(now),
            _ => Vec::new(),
        }
    }

    fn give_up(&mut self, now: Instant) -> Vec<RtpPacket> {
        let mut out = Vec::new();
        if let Some((&skip, _)) = self.held.iter().next() {
            self.advance(skip);
        }
        self.drain(&mut out);
        // A second gap further on gets its own wait.
        if !self.held.is_empty() {
            self.gap_since = Some(now);
        }
        out
    }

    /// Move `next` on by `by`, re-keying what is held.
    fn advance(&mut self, by: u16) {
        let Some(next) = self.next else {
            return;
        };
        self.next = Some(next.wrapping_add(by));
        let held = std::mem::take(&mut self.held);
        self.held = held
            .into_iter()
            .filter(|&(ahead, _)| ahead >= by)
            .map(|(ahead, p)| (ahead - by, p))
            .collect();
    }

    /// Pass on every held packet that is now in order.
    fn drain(&mut self, out: &mut Vec<RtpPacket>) {
        while let Some(packet) = self.held.remove(&0) {
            out.push(packet);
            self.advance(1);
        }
        if self.held.is_empty() {
            self.gap_since = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(seq: u16) -> RtpPacket {
        RtpPacket {
            sequence_number: seq,
            timestamp: 0,
            marker: false,
            payload: Bytes::new(),
        }
    }

    fn seqs(out: &[RtpPacket]) -> Vec<u16> {
        out.iter().map(|p| p.sequence_number).collect()
    }

    #[test]
    fn in_order_packets_pass_at_once() {
        let mut r = Reorder::new();
        let t = Instant::now();
        assert_eq!(seqs(&r.push(t, p(65534))), [65534]);
        assert_eq!(seqs(&r.push(t, p(65535))), [65535]);
        assert_eq!(seqs(&r.push(t, p(0))), [0], "across the wrap");
        assert_eq!(r.deadline(), None);
    }

    #[test]
    fn a_resent_packet_closes_the_gap_and_releases_what_waited() {
        let mut r = Reorder::new();
        let t = Instant::now();
        r.push(t, p(10));
        assert!(r.push(t, p(12)).is_empty(), "11 is missing");
        assert!(r.push(t, p(13)).is_empty());
        assert_eq!(r.deadline(), Some(t + RESEND_WAIT));
        let later = t + Duration::from_millis(80);
        assert!(r.expire(later).is_empty(), "still waiting");
        assert_eq!(seqs(&r.push(later, p(11))), [11, 12, 13]);
        assert_eq!(r.recovered(), 1);
        assert_eq!(r.deadline(), None);
        assert!(r.push(later, p(11)).is_empty(), "a duplicate is dropped");
    }

    #[test]
    fn a_gap_is_given_up_after_the_wait_and_a_late_resend_is_dropped() {
        let mut r = Reorder::new();
        let t = Instant::now();
        r.push(t, p(1));
        r.push(t, p(3));
        r.push(t, p(4));
        r.push(t, p(7));
        let due = t + RESEND_WAIT;
        assert_eq!(seqs(&r.expire(due)), [3, 4], "2 given up");
        assert_eq!(r.deadline(), Some(due + RESEND_WAIT), "5 and 6 wait anew");
        assert!(r.push(due, p(2)).is_empty(), "too late");
        assert_eq!(seqs(&r.push(due, p(5))), [5]);
        assert_eq!(seqs(&r.push(due, p(6))), [6, 7]);
        assert_eq!(r.deadline(), None);
    }
}
