//! Extractors: the authenticated user (sign-in token, API token or session
//! cookie) and the client's address (honouring `X-Forwarded-For` only from trusted
//! proxies).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{header, request::Parts, HeaderMap, Method};

use crate::auth::origin::origin_allowed;
use crate::auth::{Access, Secret};
use crate::clock::now_ms;
use crate::error::Error;
use crate::state::AppState;
use crate::store::User;

/// Name of the web UI's session cookie.
pub const SESSION_COOKIE: &str = "meshdesk_session";

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    /// The token that authenticated the request (for sign-out).
    pub token: Secret,
    /// What the token may do: everything for a sign-in, its scopes for
    /// an API token.
    pub access: Access,
}

impl AuthUser {
    /// `Ok` if the request may use `scope` (403 naming it otherwise).
    pub fn require(&self, scope: meshdesk_protocol::rest::Scope) -> Result<(), Error> {
        self.access.require(scope)
    }

    /// `Ok` for a signed-in session; API tokens get 403 (account
    /// management is for the account's owner in person).
    pub fn require_session(&self) -> Result<(), Error> {
        self.access.require_session()
    }
}

/// Find the token in `Authorization: Bearer` or, failing that, the cookie.
/// Returns the token and whether it came from the cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<(Secret, bool)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let t = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))?;
        return Some((Secret::new(t.trim().to_string()), false));
    }
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if k == SESSION_COOKIE && !val.is_empty() {
                    return Some((Secret::new(val.to_string()), true));
                }
            }
        }
    }
    None
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (token, via_cookie) =
            token_from_headers(&parts.headers).ok_or(Error::Unauthorized("sign in first"))?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if via_cookie
            && !safe
            && !origin_allowed(&parts.headers, &state.config.allowed_origins, true)
        {
            return Err(Error::Forbidden("cross-site request refused"));
        }
        let (user, access) = state
            .store
            .authenticate(&token.hash(), now_ms())
            .await?
            .ok_or(Error::Unauthorized(
                "session expired or invalid; sign in again",
            ))?;
        Ok(AuthUser {
            user,
            token,
            access,
        })
    }
}

/// The address a request came from.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        )))
    }
}

/// The client address: the socket peer, unless the peer is a trusted proxy,
/// in which case the right-most untrusted `X-Forwarded-For` entry.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(s) = v.to_str() else { return peer };
        for part in s.split(',') {
            match part.trim().parse() {
                Ok(ip) => hops.push(ip),
                Err(_) => return peer,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn forwarded_for_is_trusted_only_from_proxies() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 10.0.0.9"),
        );
        let proxy: IpAddr = "10.0.0.9".parse().expect("ip");
        let stranger: IpAddr = "5.6.7.8".parse().expect("ip");
        assert_eq!(client_ip(stranger, &h, &[proxy]), stranger);
        assert_eq!(
            client_ip(proxy, &h, &[proxy]),
            "1.2.3.4".parse::<IpAddr>().expect("ip")
        );
        h.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(proxy, &h, &[proxy]), proxy);
    }
}
