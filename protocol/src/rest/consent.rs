//! Consent on the remote PC: what the person at a device must do before,
//! or know while, someone views or controls it.
//!
//! A device has two policies, one for its owner's own sessions and one for
//! the sessions of users it is shared with. The host may also set a floor
//! in its `host.toml`; the stricter of the two applies.

use serde::{Deserialize, Serialize};

/// How a session on a device is consented to, from least to most strict
/// (the derived order is that one: `unattended < notify < prompt`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentPolicy {
    /// Sessions start at once, with nothing shown on the remote PC.
    #[default]
    Unattended,
    /// Sessions start at once; while any runs, the remote PC shows who is
    /// connected, with a "Disconnect" button per session.
    Notify,
    /// The person at the remote PC must click "Allow" first; "Deny", or no
    /// answer within the host's prompt timeout (30 s), refuses.
    Prompt,
}

impl ConsentPolicy {
    /// Every policy, least strict first.
    pub const ALL: [ConsentPolicy; 3] = [
        ConsentPolicy::Unattended,
        ConsentPolicy::Notify,
        ConsentPolicy::Prompt,
    ];

    /// Stable lowercase name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentPolicy::Unattended => "unattended",
            ConsentPolicy::Notify => "notify",
            ConsentPolicy::Prompt => "prompt",
        }
    }

    /// Parse the wire name.
    pub fn parse(s: &str) -> Option<ConsentPolicy> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The stricter of two policies.
    pub fn stricter(self, other: ConsentPolicy) -> ConsentPolicy {
        self.max(other)
    }
}

/// `PATCH /devices/{id}`: every field is optional; what is absent stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateDevice {
    /// A new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: Option<String>,
    /// Consent for the owner's own sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_owner: Option<ConsentPolicy>,
    /// Consent for the sessions of users the device is shared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_shared: Option<ConsentPolicy>,
    /// Whether sessions hear the device's sound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<bool>,
    /// Whether `view` sessions may copy from the device's clipboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_may_copy: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_unattended_notify_prompt() {
        use ConsentPolicy::*;
        assert!(Unattended < Notify && Notify < Prompt);
        assert_eq!(Unattended.stricter(Prompt), Prompt);
        assert_eq!(Notify.stricter(Unattended), Notify);
        for p in ConsentPolicy::ALL {
            assert_eq!(ConsentPolicy::parse(p.as_str()), Some(p));
            let json = serde_json::to_string(&p).expect("json");
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert_eq!(ConsentPolicy::parse("always"), None);
    }

    #[test]
    fn an_update_names_the_bad_field() {
        let err = serde_json::from_str::<UpdateDevice>(r#"{"consent_shared":"always"}"#)
            .expect_err("unknown policy");
        assert!(err.to_string().contains("always"), "{err}");
        let only_name: UpdateDevice = serde_json::from_str(r#"{"name":"pc"}"#).expect("name");
        assert_eq!(only_name.consent_owner, None);
    }
}
