//! The passkey relying party: its id (a domain) and the one origin
//! assertions are accepted from. From `public_url` when configured;
//! otherwise the page's own origin (its `Origin` header, which must match
//! `Host`).

use axum::http::{header, HeaderMap};
use url::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::error::{Error, Result};

/// Name shown by authenticators.
const RP_NAME: &str = "Meshdesk";

/// Where passkeys of this request belong.
pub fn webauthn(public_url: Option<&Url>, headers: &HeaderMap) -> Result<Webauthn> {
    let origin = match public_url {
        Some(u) => u.clone(),
        None => page_origin(headers)?,
    };
    let Some(id) = origin
        .host_str()
        .filter(|h| h.parse::<std::net::IpAddr>().is_err() && !h.starts_with('['))
    else {
        return Err(Error::BadRequest(
            "passkeys need a domain name, not an IP address: open the web app by name \
             (e.g. http://localhost:PORT) or set public_url"
                .into(),
        ));
    };
    WebauthnBuilder::new(id, &origin)
        .and_then(|b| b.rp_name(RP_NAME).build())
        .map_err(|e| Error::BadRequest(format!("passkeys: relying party {origin}: {e}")))
}

/// The request's `Origin`, when it is the server's own (`Host`).
fn page_origin(headers: &HeaderMap) -> Result<Url> {
    let get = |h| headers.get(h).and_then(|v| v.to_str().ok());
    let (Some(origin), Some(host)) = (get(header::ORIGIN), get(header::HOST)) else {
        return Err(Error::BadRequest(
            "passkeys are used from the web app (no Origin header)".into(),
        ));
    };
    let origin = origin.trim_end_matches('/');
    if origin != format!("http://{host}") && origin != format!("https://{host}") {
        return Err(Error::Forbidden(
            "passkeys need the server's own origin; set public_url behind a proxy",
        ));
    }
    Url::parse(origin).map_err(|_| Error::BadRequest("bad Origin header".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: &'static str, host: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_static(origin));
        h.insert(header::HOST, HeaderValue::from_static(host));
        h
    }

    #[test]
    fn the_page_origin_is_the_relying_party_without_public_url() {
        let w = webauthn(None, &headers("http://localhost:8080", "localhost:8080"));
        assert!(w.is_ok());
        assert!(webauthn(None, &headers("http://evil.example", "localhost:8080")).is_err());
        assert!(webauthn(None, &headers("http://127.0.0.1:8080", "127.0.0.1:8080")).is_err());
    }

    #[test]
    fn public_url_wins() {
        let u = Url::parse("https://desk.example.com").expect("url");
        assert!(webauthn(Some(&u), &HeaderMap::new()).is_ok());
    }
}
