//! `/install.sh`: the embedded installer with this server's URL filled in
//! (pure: the URL comes from `public_url` or the request's `Host`).

use url::Url;

use crate::error::Error;

/// The script, with [`PLACEHOLDER`] where the server's URL goes.
const TEMPLATE: &str = include_str!("install.sh");

/// Replaced by the server's URL.
const PLACEHOLDER: &str = "@MESHDESK_SERVER@";

/// The URL the installer downloads from and enrolls with: `public_url`
/// when configured, else `http(s)://HOST` from the request (`https` when
/// `secure`, as for cookies). Refuses a Host that is not a plain
/// `name[:port]` or `[v6]:port`, so nothing odd reaches the script.
pub fn server_url(
    public_url: Option<&Url>,
    host: Option<&str>,
    secure: bool,
) -> Result<String, Error> {
    let url = match (public_url, host) {
        (Some(url), _) => url.as_str().trim_end_matches('/').to_string(),
        (None, Some(host)) if is_plain_host(host) => {
            let scheme = if secure { "https" } else { "http" };
            format!("{scheme}://{host}")
        }
        (None, Some(_)) => return Err(Error::BadRequest("bad Host header".into())),
        (None, None) => {
            return Err(Error::BadRequest(
                "a Host header is needed (or set public_url)".into(),
            ))
        }
    };
    if url.bytes().all(is_url_byte) {
        Ok(url)
    } else {
        Err(Error::Internal(
            "public_url has characters unsafe in a script".into(),
        ))
    }
}

/// The script for a server at `url` (checked by [`server_url`]). `pinned`
/// is a self-signed server's (curl pin, fingerprint): base64, hex and `:`
/// only, safe inside the script's single quotes.
pub fn script(url: &str, pinned: Option<(&str, &str)>) -> String {
    let (pin, fingerprint) = pinned.unwrap_or(("", ""));
    TEMPLATE
        .replace(PLACEHOLDER, url)
        .replace("@MESHDESK_PIN@", pin)
        .replace("@MESHDESK_FINGERPRINT@", fingerprint)
}

fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Bytes that may stand inside the script's single-quoted `SERVER='...'`.
fn is_url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/[]%@".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_comes_from_public_url_or_the_host() {
        let public = Url::parse("https://desk.example.com/").unwrap();
        assert_eq!(
            server_url(Some(&public), Some("evil"), false).unwrap(),
            "https://desk.example.com"
        );
        assert_eq!(
            server_url(None, Some("127.0.0.1:8080"), false).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            server_url(None, Some("[::1]:8443"), true).unwrap(),
            "https://[::1]:8443"
        );
    }

    #[test]
    fn odd_hosts_are_refused() {
        for host in ["", "a'b", "a b", "a/b", "$(id)", "a;b", "a\"b"] {
            assert!(server_url(None, Some(host), false).is_err(), "{host:?}");
        }
        assert!(server_url(None, None, false).is_err());
    }

    #[test]
    fn the_script_names_its_server_once_filled() {
        let s = script("http://127.0.0.1:9", None);
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains("SERVER='http://127.0.0.1:9'"));
        assert!(s.contains("PIN=''") && s.contains("FINGERPRINT=''"));
        assert!(!s.contains("@MESHDESK_"), "every placeholder filled");
        let s = script("https://lan:8443", Some(("sha256//AbC+/=", "AB:CD")));
        assert!(s.contains("PIN='sha256//AbC+/='"));
        assert!(s.contains("FINGERPRINT='AB:CD'"));
    }
}
