//! An RTCP interceptor that hands keyframe requests (PLI and FIR) to the
//! application.
//!
//! With webrtc's default interceptor chain inbound RTCP stops inside the
//! chain (reports feed statistics, NACKs are answered by the responder), so a
//! viewer's PLI never reaches the sending track. This interceptor sits last
//! in the chain, keeps only PLI and FIR from each inbound RTCP compound
//! packet, and marks them for delivery; the host reads them from its video
//! track and turns them into [`super::HostEvent::KeyframeRequested`].
//! Other RTCP passes on unchanged, with whatever the interceptors before
//! attached to it (the congestion controller's new target, which webrtc's
//! statistics read at the end of the chain).

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;

/// Slot of the interceptor in the chain: after every built-in one, so they
/// all see the full RTCP before this one narrows it.
pub(crate) const KEYFRAME_SLOT: usize = 14_000;

/// Whether one RTCP packet asks for a keyframe.
pub(crate) fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

/// Marks PLI/FIR for the application; other inbound RTCP passes on to
/// the end of the chain (where it stops). Outbound traffic is untouched.
#[derive(Default)]
pub(crate) struct KeyframeRequestInterceptor {
    /// Inbound packets ready for the next stage.
    read_queue: VecDeque<TaggedPacket>,
    /// Outbound packets ready for the previous stage.
    write_queue: VecDeque<TaggedPacket>,
}

impl std::fmt::Debug for KeyframeRequestInterceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyframeRequestInterceptor")
            .field("read_queue", &self.read_queue.len())
            .field("write_queue", &self.write_queue.len())
            .finish()
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestInterceptor {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<_> = packets
                .iter()
                .filter(|p| is_keyframe_request(p.as_ref()))
                .cloned()
                .collect();
            if requests.is_empty() {
                self.read_queue.push_back(msg);
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for KeyframeRequestInterceptor {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_pli_and_fir_only() {
        let pli = PictureLossIndication {
            sender_ssrc: 1,
            media_ssrc: 2,
        };
        assert!(is_keyframe_request(&pli));
        let fir = FullIntraRequest::default();
        assert!(is_keyframe_request(&fir));
        let rr = rtc::rtcp::receiver_report::ReceiverReport::default();
        assert!(!is_keyframe_request(&rr));
    }
}
