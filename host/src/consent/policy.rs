//! Which consent a session needs: the stricter of what the server says for
//! it (the device's `consent_owner` or `consent_shared`) and the floor this
//! PC's `host.toml` sets, so a server (or whoever controls it) can never
//! lower what the person at this PC asked for.

use meshdesk_protocol::rest::{ConsentPolicy, Permission};
use serde::{Deserialize, Serialize};

/// Default seconds the prompt waits for an answer before it denies.
pub const DEFAULT_PROMPT_TIMEOUT_SECS: u64 = 30;
/// Most seconds the prompt may wait (the server waits about that long).
pub const MAX_PROMPT_TIMEOUT_SECS: u64 = 600;

/// `[consent]` in `host.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentFloor {
    /// Least consent for the owner's own sessions (default `unattended`).
    #[serde(default)]
    pub owner: ConsentPolicy,
    /// Least consent for shared users' sessions (default `unattended`).
    #[serde(default)]
    pub shared: ConsentPolicy,
    /// Seconds the prompt waits before it denies (default 30, 1 to 600).
    #[serde(default = "default_timeout")]
    pub prompt_timeout_secs: u64,
}

fn default_timeout() -> u64 {
    DEFAULT_PROMPT_TIMEOUT_SECS
}

impl Default for ConsentFloor {
    fn default() -> Self {
        ConsentFloor {
            owner: ConsentPolicy::Unattended,
            shared: ConsentPolicy::Unattended,
            prompt_timeout_secs: DEFAULT_PROMPT_TIMEOUT_SECS,
        }
    }
}

impl ConsentFloor {
    /// Whether the file may leave the section out.
    pub fn is_default(&self) -> bool {
        *self == ConsentFloor::default()
    }

    /// The floor for a session with this grant.
    pub fn for_permission(&self, permission: Permission) -> ConsentPolicy {
        match permission {
            Permission::Owner => self.owner,
            Permission::View | Permission::Control => self.shared,
        }
    }
}

/// The consent a session needs: the server's policy for it, raised to the
/// host's floor.
pub fn effective(
    server: ConsentPolicy,
    floor: &ConsentFloor,
    permission: Permission,
) -> ConsentPolicy {
    server.stricter(floor.for_permission(permission))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsentPolicy::*;

    #[test]
    fn the_stricter_of_server_and_floor_wins() {
        let floor = ConsentFloor {
            owner: Notify,
            shared: Prompt,
            ..ConsentFloor::default()
        };
        assert_eq!(effective(Unattended, &floor, Permission::Owner), Notify);
        assert_eq!(effective(Prompt, &floor, Permission::Owner), Prompt);
        assert_eq!(effective(Unattended, &floor, Permission::View), Prompt);
        assert_eq!(effective(Notify, &floor, Permission::Control), Prompt);
        let none = ConsentFloor::default();
        for p in ConsentPolicy::ALL {
            assert_eq!(effective(p, &none, Permission::Control), p);
        }
    }

    #[test]
    fn the_section_reads_with_defaults_and_names_a_bad_value() {
        let f: ConsentFloor = toml::from_str("shared = \"prompt\"").expect("toml");
        assert_eq!(
            (f.owner, f.shared, f.prompt_timeout_secs),
            (Unattended, Prompt, 30)
        );
        let err = toml::from_str::<ConsentFloor>("owner = \"always\"").expect_err("bad");
        assert!(err.to_string().contains("always"), "{err}");
    }
}
