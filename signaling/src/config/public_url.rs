//! `public_url`: the URL users open the web app at, behind a proxy or a
//! name. Passkeys belong to its host (the WebAuthn relying party id) and
//! are accepted from its origin only.

use url::Url;

use crate::error::{Error, Result};

/// Check `public_url`: http or https, a domain name, nothing after the
/// origin.
pub fn check(text: Option<String>) -> Result<Option<Url>> {
    let Some(text) = text else { return Ok(None) };
    let bad = |why: &str| Error::Config(format!("public_url: `{text}` {why}"));
    let url = Url::parse(&text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must start with http:// or https://"));
    }
    match url.host() {
        Some(url::Host::Domain(_)) => {}
        _ => {
            return Err(bad(
                "must name a domain (passkeys cannot use an IP address)",
            ))
        }
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must be an origin only, without a path"));
    }
    Ok(Some(url))
}

/// When the server serves HTTPS itself, users open it over https: an
/// `http://` public URL would make passkeys (and the origin checks) name
/// an origin no page has.
pub fn check_with_tls(url: Option<&Url>, tls: &super::TlsSettings) -> Result<()> {
    match url {
        Some(u) if tls.enabled() && u.scheme() != "https" => Err(Error::Config(format!(
            "public_url: `{u}` must be https:// when the server serves HTTPS ([tls])"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_tls_it_must_be_https() {
        let tls = |self_signed| {
            super::super::TlsSettings::from_file(Default::default(), self_signed).expect("ok")
        };
        let http = check(Some("http://desk.lan".into())).expect("ok");
        let https = check(Some("https://desk.lan".into())).expect("ok");
        assert!(check_with_tls(http.as_ref(), &tls(false)).is_ok());
        let e = check_with_tls(http.as_ref(), &tls(true)).expect_err("http under TLS");
        assert!(e.to_string().contains("public_url"), "{e}");
        assert!(check_with_tls(https.as_ref(), &tls(true)).is_ok());
        assert!(check_with_tls(None, &tls(true)).is_ok());
    }

    #[test]
    fn origins_with_a_domain_pass() {
        let u = check(Some("https://desk.example.com".into())).expect("ok");
        assert_eq!(u.expect("some").host_str(), Some("desk.example.com"));
        assert!(check(None).expect("none").is_none());
    }

    #[test]
    fn others_are_refused_naming_the_field() {
        for bad in [
            "ftp://a.b",
            "http://127.0.0.1:8080",
            "https://a.b/app",
            "nonsense",
        ] {
            let e = check(Some(bad.into())).expect_err(bad).to_string();
            assert!(e.contains("public_url"), "{e}");
        }
    }
}
