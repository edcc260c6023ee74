//! The bearer token that guards `/metrics`: compared in constant time and
//! never printed.

use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// A configured metrics token. `Debug` prints `***`.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Token {
    /// Check a configured token: non-empty visible ASCII, which is what
    /// fits in an `Authorization` header unchanged.
    pub fn new(value: String) -> Result<Token> {
        if value.is_empty() {
            return Err(Error::Token("must not be empty"));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Token("must be printable ASCII without spaces"));
        }
        Ok(Token(value))
    }

    /// Whether the request carries `Authorization: Bearer <this token>`.
    /// The comparison takes the same time wherever the bytes differ.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        given.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, auth.parse().expect("header value"));
        h
    }

    #[test]
    fn only_the_exact_bearer_token_is_admitted() {
        let t = Token::new("s3cret".into()).expect("valid");
        assert!(t.admits(&with("Bearer s3cret")));
        assert!(!t.admits(&with("Bearer s3cre")));
        assert!(!t.admits(&with("Bearer s3cret2")));
        assert!(!t.admits(&with("Basic s3cret")));
        assert!(!t.admits(&HeaderMap::new()));
    }

    #[test]
    fn bad_tokens_are_refused_and_never_printed() {
        assert!(Token::new(String::new()).is_err());
        assert!(Token::new("a b".into()).is_err());
        let t = Token::new("s3cret".into()).expect("valid");
        assert!(!format!("{t:?}").contains("s3cret"));
    }
}
