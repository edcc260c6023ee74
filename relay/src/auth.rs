//! Long-term credential checks (RFC 5389 §10.2.2) with coturn-style
//! time-limited usernames: challenge with REALM and NONCE, 438 for a
//! stale nonce, 401 for expired, malformed or wrong credentials.

use super::core::{error_reply, ClientKey, Now, RelayCore};
use super::credentials::{self, IntegrityKey, Refusal};
use super::wire::{attr, Builder, Class, Message};

/// A request whose credentials checked out.
#[derive(Debug)]
pub(super) struct Authed {
    /// The USERNAME (`EXPIRY:ID`).
    pub username: String,
    /// The credential id, for quotas and logs.
    pub user: String,
    /// MESSAGE-INTEGRITY key for the reply.
    pub key: IntegrityKey,
}

impl<S: Clone> RelayCore<S> {
    /// Check a request's credentials: `Ok` with who it is, or `Err` with
    /// the reply that refuses it.
    pub(super) fn authenticate(
        &self,
        now: Now,
        client: ClientKey,
        msg: &Message<'_>,
    ) -> Result<Authed, Vec<u8>> {
        if !msg.has_integrity() {
            return Err(self.challenge(now, msg, 401, "Unauthorized"));
        }
        let (Some(username), Some(_realm), Some(nonce)) = (
            msg.get(attr::USERNAME),
            msg.get(attr::REALM),
            msg.get(attr::NONCE),
        ) else {
            return Err(error_reply(msg, 400, "Bad Request", None));
        };
        if !self.nonces.is_fresh(nonce, now.unix) {
            return Err(self.challenge(now, msg, 438, "Stale Nonce"));
        }
        let refuse = |why: &str| {
            tracing::debug!(client = %client.addr(), reason = why, "TURN credentials refused");
            self.challenge(now, msg, 401, "Unauthorized")
        };
        let Ok(username) = std::str::from_utf8(username) else {
            return Err(refuse("username is not UTF-8"));
        };
        let (key, user) =
            match credentials::key_for(&self.cfg.secret, &self.cfg.realm, username, now.unix) {
                Ok(k) => k,
                Err(Refusal::Malformed) => return Err(refuse("username is not EXPIRY:ID")),
                Err(Refusal::Expired) => return Err(refuse("credentials expired")),
            };
        if !msg.verify_integrity(key.as_ref()) {
            return Err(refuse("wrong password or realm"));
        }
        let unknown: Vec<u8> = msg
            .attr_types()
            .filter(|t| !attr::understood(*t))
            .flat_map(u16::to_be_bytes)
            .collect();
        if !unknown.is_empty() {
            let mut b = Builder::new(msg.method, Class::Error, msg.transaction_id);
            b.error(420, "Unknown Attribute")
                .attr(attr::UNKNOWN_ATTRIBUTES, &unknown);
            return Err(b.finish(Some(key.as_ref()), msg.has_fingerprint));
        }
        Ok(Authed {
            username: username.to_string(),
            user: user.to_string(),
            key,
        })
    }

    /// An error carrying REALM and a fresh NONCE, so the client can
    /// (re)compute its credentials.
    fn challenge(&self, now: Now, msg: &Message<'_>, code: u16, reason: &str) -> Vec<u8> {
        let mut b = Builder::new(msg.method, Class::Error, msg.transaction_id);
        b.error(code, reason)
            .attr(attr::REALM, self.cfg.realm.as_bytes())
            .attr(attr::NONCE, self.nonces.issue(now.unix).as_bytes());
        b.finish(None, msg.has_fingerprint)
    }
}
