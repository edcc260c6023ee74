//! Personal API tokens: what a third-party program signs in with.
//!
//! A token carries scopes; a request made with it may do only what both
//! its scopes and its user allow. The secret is shown once, at creation.

use serde::{Deserialize, Serialize};

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    /// List and read devices (and their shares).
    #[serde(rename = "devices:read")]
    DevicesRead,
    /// Read the activity feed, paged and live.
    #[serde(rename = "events:read")]
    EventsRead,
    /// Grant and revoke shares of the user's devices.
    #[serde(rename = "shares:write")]
    SharesWrite,
    /// Open remote sessions (the viewer WebSocket and ICE servers).
    #[serde(rename = "sessions:connect")]
    SessionsConnect,
}

/// Every scope, in documentation order.
pub const ALL_SCOPES: [Scope; 4] = [
    Scope::DevicesRead,
    Scope::EventsRead,
    Scope::SharesWrite,
    Scope::SessionsConnect,
];

impl Scope {
    /// The wire name, e.g. `devices:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::DevicesRead => "devices:read",
            Scope::EventsRead => "events:read",
            Scope::SharesWrite => "shares:write",
            Scope::SessionsConnect => "sessions:connect",
        }
    }

    /// Parse the wire name.
    pub fn parse(s: &str) -> Option<Scope> {
        ALL_SCOPES.iter().copied().find(|k| k.as_str() == s)
    }
}

/// `POST /tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewToken {
    /// What the token is for, 1 to 64 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// At least one scope.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub scopes: Vec<Scope>,
    /// When it stops working (RFC 3339, in the future); absent: never.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// An API token as listed: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: i64,
    /// Null: never expires.
    pub expires_at: Option<i64>,
    /// The last request made with it (null: never used).
    pub last_used_at: Option<i64>,
}

/// Reply to `POST /tokens`: the token's secret, shown this once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    pub id: i64,
    /// Send as `Authorization: Bearer TOKEN`. Only its hash is stored.
    pub token: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("id", &self.id)
            .field("token", &"***")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_by_wire_name() {
        for s in ALL_SCOPES {
            let json = serde_json::to_string(&s).expect("encode");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("devices:write"), None);
    }
}
