//! Checking the host's DTLS binding (pure): the host signs, with its
//! enrolled Ed25519 device key, the session id and both DTLS fingerprints
//! (`meshdesk_protocol::binding`). The viewer takes the host's fingerprint
//! from the offer it applied (the DTLS stack holds the host's certificate
//! to it) and its own from its answer, and checks the signature with the
//! device's pinned key. A server that swapped a fingerprint to sit in the
//! middle cannot make that signature.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use meshdesk_protocol::binding::HostControlMsg;
use meshdesk_protocol::{dtls_binding_payload, safety_code, sdp_fingerprint};

/// What the signature must cover, and with which key.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// The device's pinned key.
    key: VerifyingKey,
    /// `dtls_binding_payload` of this session.
    payload: Vec<u8>,
}

impl Verifier {
    /// The check for a session `session_id` whose `offer` (the host's) we
    /// answered with `answer`, for a device whose key is `public_key`.
    /// `Err` says why it cannot be checked at all.
    pub fn new(
        public_key: &[u8; 32],
        session_id: &str,
        offer: &str,
        answer: &str,
    ) -> Result<Self, String> {
        let key = VerifyingKey::from_bytes(public_key)
            .map_err(|_| "the device key is not a valid Ed25519 key".to_string())?;
        let host_fp = sdp_fingerprint(offer).map_err(|e| format!("the remote PC's offer: {e}"))?;
        let viewer_fp = sdp_fingerprint(answer).map_err(|e| format!("our answer: {e}"))?;
        Ok(Self {
            key,
            payload: dtls_binding_payload(session_id, &host_fp, &viewer_fp),
        })
    }

    /// The device key's safety code, to show once verified.
    pub fn safety_code(&self) -> String {
        safety_code(self.key.as_bytes())
    }

    /// Check one control message from the host. `None`: not a binding
    /// message; `Some(Err)` says why the signature is refused.
    pub fn check(&self, text: &str) -> Option<Result<(), String>> {
        let HostControlMsg::Binding { signature } = HostControlMsg::decode(text).ok()? else {
            return None;
        };
        Some(self.check_signature(&signature))
    }

    fn check_signature(&self, signature: &str) -> Result<(), String> {
        let bytes = STANDARD
            .decode(signature)
            .map_err(|_| "the binding signature is not base64".to_string())?;
        let signature = Signature::from_slice(&bytes)
            .map_err(|_| "the binding signature is not 64 bytes".to_string())?;
        self.key
            .verify_strict(&self.payload, &signature)
            .map_err(|_| {
                "the DTLS binding signature does not match the device's key (someone may be \
                 intercepting the connection)"
                    .to_string()
            })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use ed25519_dalek::{Signer, SigningKey};
    use meshdesk_protocol::encode;

    use super::*;

    pub const OFFER: &str = "v=0\r\na=fingerprint:sha-256 aa:bb\r\n";
    pub const ANSWER: &str = "v=0\r\na=fingerprint:sha-256 cc:dd\r\n";

    pub fn device_key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    /// The control message a host with `key` sends for session `sid`.
    pub fn binding(key: &SigningKey, sid: &str, offer: &str) -> String {
        let payload = dtls_binding_payload(
            sid,
            &sdp_fingerprint(offer).unwrap(),
            &sdp_fingerprint(ANSWER).unwrap(),
        );
        let signature = STANDARD.encode(key.sign(&payload).to_bytes());
        encode(&HostControlMsg::Binding { signature })
    }

    pub fn verifier(sid: &str) -> Verifier {
        Verifier::new(device_key().verifying_key().as_bytes(), sid, OFFER, ANSWER).unwrap()
    }

    #[test]
    fn the_devices_signature_verifies() {
        let v = verifier("s1");
        assert_eq!(v.check(&binding(&device_key(), "s1", OFFER)), Some(Ok(())));
        assert_eq!(v.safety_code().len(), 14);
    }

    #[test]
    fn another_key_session_or_fingerprint_is_refused() {
        let v = verifier("s1");
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(matches!(
            v.check(&binding(&other, "s1", OFFER)),
            Some(Err(_))
        ));
        assert!(matches!(
            v.check(&binding(&device_key(), "s2", OFFER)),
            Some(Err(_))
        ));
        let swapped = "v=0\r\na=fingerprint:sha-256 ee:ff\r\n";
        let e = v
            .check(&binding(&device_key(), "s1", swapped))
            .unwrap()
            .unwrap_err();
        assert!(e.contains("does not match"), "{e}");
        let garbage = encode(&HostControlMsg::Binding {
            signature: "!!".into(),
        });
        assert!(matches!(v.check(&garbage), Some(Err(_))));
    }

    #[test]
    fn other_messages_are_not_bindings() {
        assert_eq!(verifier("s1").check(r#"{"type":"cursor"}"#), None);
    }

    #[test]
    fn an_offer_without_fingerprint_cannot_be_checked() {
        let key = device_key().verifying_key().to_bytes();
        assert!(Verifier::new(&key, "s1", "v=0\r\n", ANSWER).is_err());
    }
}
