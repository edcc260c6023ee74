//! What a request's credentials allow: a signed-in session may do all its
//! user may; a personal API token only what its scopes name, and never
//! manage the account (tokens, webhooks, devices' names) itself.

use meshdesk_protocol::rest::Scope;

use crate::error::{Error, Result};

/// How a request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A sign-in (web app cookie, `POST /login` token): everything the
    /// user may do.
    Session,
    /// A personal API token with these scopes.
    Token { id: i64, scopes: Vec<Scope> },
}

impl Access {
    /// Whether the credentials carry `scope` (a session carries all).
    pub fn allows(&self, scope: Scope) -> bool {
        match self {
            Access::Session => true,
            Access::Token { scopes, .. } => scopes.contains(&scope),
        }
    }

    /// `Ok` if the credentials carry `scope`, else 403 naming it.
    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.allows(scope) {
            return Ok(());
        }
        Err(Error::Forbidden(match scope {
            Scope::DevicesRead => "this API token lacks the devices:read scope",
            Scope::EventsRead => "this API token lacks the events:read scope",
            Scope::SharesWrite => "this API token lacks the shares:write scope",
            Scope::SessionsConnect => "this API token lacks the sessions:connect scope",
        }))
    }

    /// `Ok` for a sign-in; 403 for an API token (account management).
    pub fn require_session(&self) -> Result<()> {
        match self {
            Access::Session => Ok(()),
            Access::Token { .. } => Err(Error::Forbidden(
                "API tokens cannot do this; sign in with a password",
            )),
        }
    }
}

/// Scopes as stored: their wire names, space-separated.
pub fn scopes_to_column(scopes: &[Scope]) -> String {
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.join(" ")
}

/// Scopes from the stored column; unknown names (from a newer server)
/// are dropped, never widened.
pub fn scopes_from_column(column: &str) -> Vec<Scope> {
    column.split_whitespace().filter_map(Scope::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_may_do_everything_a_token_only_its_scopes() {
        let token = Access::Token {
            id: 1,
            scopes: vec![Scope::EventsRead],
        };
        assert!(Access::Session.require(Scope::SharesWrite).is_ok());
        assert!(Access::Session.require_session().is_ok());
        assert!(token.require(Scope::EventsRead).is_ok());
        let refused = token.require(Scope::DevicesRead).expect_err("refused");
        assert!(refused.to_string().contains("devices:read"), "{refused}");
        assert!(token.require_session().is_err());
    }

    #[test]
    fn scopes_survive_the_column_and_unknown_ones_are_dropped() {
        let s = vec![Scope::DevicesRead, Scope::SessionsConnect];
        assert_eq!(scopes_from_column(&scopes_to_column(&s)), s);
        assert_eq!(
            scopes_from_column("events:read admin:all"),
            [Scope::EventsRead]
        );
    }
}
