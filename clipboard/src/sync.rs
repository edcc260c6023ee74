//! What crosses, decided without I/O: the session's rights, the size
//! limit (told once), and no echo: content that came from the other side
//! is not offered back when the local clipboard reports it.

use meshdesk_protocol::clipboard::{too_large, ClipKind};

use crate::Content;

/// What this side of a session may do with the other's clipboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rights {
    /// Offer local changes to the other side.
    pub send: bool,
    /// Take the other side's content into the local clipboard.
    pub receive: bool,
}

/// One session's clipboard state.
#[derive(Debug)]
pub struct ClipSync {
    rights: Rights,
    max_bytes: u64,
    /// What both sides hold now (last sent or received).
    shared: Option<[u8; 32]>,
    /// The size notice was given (once per session).
    told_too_large: bool,
    /// The refusal notice was given.
    told_refused: bool,
}

/// What to do with a local change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Send,
    /// Not sent; tell the other side this, once.
    Notice(String),
    Skip,
}

/// What to do with the other side's offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offered {
    Accept,
    /// Refused; tell the other side this (when `Some`, once).
    Refuse(Option<String>),
}

impl ClipSync {
    pub fn new(rights: Rights, max_bytes: u64) -> Self {
        Self {
            rights,
            max_bytes,
            shared: None,
            told_too_large: false,
            told_refused: false,
        }
    }

    /// The local clipboard now holds `content`.
    pub fn local(&mut self, content: &Content) -> Outgoing {
        if !self.rights.send {
            return Outgoing::Skip;
        }
        let fingerprint = content.fingerprint();
        if self.shared == Some(fingerprint) {
            return Outgoing::Skip;
        }
        if let Some(why) = too_large(content.data.len() as u64, self.max_bytes) {
            return match std::mem::replace(&mut self.told_too_large, true) {
                false => Outgoing::Notice(why),
                true => Outgoing::Skip,
            };
        }
        self.shared = Some(fingerprint);
        Outgoing::Send
    }

    /// The other side offers `size` bytes of `kind`.
    pub fn offer(&mut self, _kind: ClipKind, size: u64) -> Offered {
        if !self.rights.receive {
            let first = !std::mem::replace(&mut self.told_refused, true);
            return Offered::Refuse(
                first.then(|| "this session may not change the clipboard here".to_string()),
            );
        }
        if let Some(why) = too_large(size, self.max_bytes) {
            return Offered::Refuse(Some(why));
        }
        Offered::Accept
    }

    /// The other side's content arrived (after [`Self::offer`] accepted
    /// it): whether to put it in the local clipboard.
    pub fn received(&mut self, content: &Content) -> bool {
        let fingerprint = content.fingerprint();
        let new = self.shared != Some(fingerprint);
        self.shared = Some(fingerprint);
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Rights = Rights {
        send: true,
        receive: true,
    };

    #[test]
    fn what_came_from_the_other_side_is_not_echoed() {
        let mut sync = ClipSync::new(BOTH, 100);
        let hello = Content::text("hello");
        assert_eq!(sync.offer(ClipKind::Text, 5), Offered::Accept);
        assert!(sync.received(&hello));
        // The local clipboard reports the content just set: no echo.
        assert_eq!(sync.local(&hello), Outgoing::Skip);
        assert_eq!(sync.local(&Content::text("world")), Outgoing::Send);
        assert_eq!(sync.local(&Content::text("world")), Outgoing::Skip);
    }

    #[test]
    fn content_over_the_limit_is_not_sent_and_told_once() {
        let mut sync = ClipSync::new(BOTH, 4);
        assert!(matches!(
            sync.local(&Content::text("too long")),
            Outgoing::Notice(_)
        ));
        assert_eq!(sync.local(&Content::text("still too long")), Outgoing::Skip);
        assert!(matches!(
            sync.offer(ClipKind::Text, 5),
            Offered::Refuse(Some(_))
        ));
        assert_eq!(sync.local(&Content::text("ok")), Outgoing::Send);
    }

    #[test]
    fn a_view_session_only_reads() {
        let view = Rights {
            send: true,
            receive: false,
        };
        let mut sync = ClipSync::new(view, 100);
        assert!(matches!(
            sync.offer(ClipKind::Text, 1),
            Offered::Refuse(Some(_))
        ));
        assert_eq!(sync.offer(ClipKind::Text, 1), Offered::Refuse(None));
        assert_eq!(sync.local(&Content::text("x")), Outgoing::Send);
        let none = Rights {
            send: false,
            receive: false,
        };
        assert_eq!(
            ClipSync::new(none, 100).local(&Content::text("x")),
            Outgoing::Skip
        );
    }
}
