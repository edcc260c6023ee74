//! When the host signs its session's DTLS binding (pure): once both
//! fingerprints are known (ours from the offer we made, the viewer's from
//! the answer we applied) and the `control` channel is open. After an ICE
//! restart the new answer is signed again: DTLS keeps its certificates, so
//! the payload is normally the same, but the viewer then gets it anyway.

use meshdesk_protocol::{dtls_binding_payload, sdp_fingerprint};

/// The binding of one session.
#[derive(Debug)]
pub struct Binding {
    /// The session id, the first line of the payload.
    session_id: String,
    /// Our fingerprint, from the latest offer.
    host_fp: Option<String>,
    /// The payload of the latest applied answer, to sign.
    payload: Option<Vec<u8>>,
    /// The `control` channel is open: the signature can be sent.
    channels_ready: bool,
}

impl Binding {
    pub fn new(session_id: String) -> Self {
        Self {
            session_id,
            host_fp: None,
            payload: None,
            channels_ready: false,
        }
    }

    /// We made an offer (the first, or an ICE restart's).
    pub fn offered(&mut self, sdp: &str) {
        match sdp_fingerprint(sdp) {
            Ok(fp) => self.host_fp = Some(fp),
            Err(e) => tracing::warn!(error = %e, "our own offer has no fingerprint"),
        }
    }

    /// The viewer's answer was applied: the payload to sign now, if the
    /// channel is open.
    pub fn answered(&mut self, sdp: &str) -> Option<Vec<u8>> {
        let viewer_fp = match sdp_fingerprint(sdp) {
            Ok(fp) => fp,
            Err(e) => {
                tracing::warn!(error = %e, "the viewer's answer cannot be bound");
                return None;
            }
        };
        let host_fp = self.host_fp.as_deref()?;
        self.payload = Some(dtls_binding_payload(&self.session_id, host_fp, &viewer_fp));
        self.due()
    }

    /// The `control` channel opened: the payload to sign now, if known.
    pub fn channels_ready(&mut self) -> Option<Vec<u8>> {
        self.channels_ready = true;
        self.due()
    }

    fn due(&self) -> Option<Vec<u8>> {
        if self.channels_ready {
            self.payload.clone()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\na=fingerprint:sha-256 aa:bb\r\n";
    const ANSWER: &str = "v=0\r\na=fingerprint:sha-256 CC:DD\r\n";

    #[test]
    fn signed_once_both_fingerprints_and_the_channel_are_there() {
        let mut b = Binding::new("s1".into());
        b.offered(OFFER);
        assert_eq!(b.answered(ANSWER), None);
        let payload = b.channels_ready().unwrap();
        assert_eq!(
            payload,
            b"meshdesk-dtls-binding-v1\ns1\nsha-256 AA:BB\nsha-256 CC:DD".to_vec()
        );
        // An ICE restart's answer is signed again at once.
        b.offered(OFFER);
        assert_eq!(b.answered(ANSWER), Some(payload));
    }

    #[test]
    fn channel_first_then_answer() {
        let mut b = Binding::new("s1".into());
        b.offered(OFFER);
        assert_eq!(b.channels_ready(), None);
        assert!(b.answered(ANSWER).is_some());
    }

    #[test]
    fn an_answer_without_fingerprint_is_not_signed() {
        let mut b = Binding::new("s1".into());
        b.offered(OFFER);
        b.channels_ready();
        assert_eq!(b.answered("v=0\r\n"), None);
    }
}
