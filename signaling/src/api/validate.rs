//! Checks on user-supplied names and strings, each returning a message that
//! says what is wrong.

use crate::auth::password::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};
use crate::error::{Error, Result};

/// Usernames: 1 to 32 of letters, digits, `.`, `_`, `-`.
pub fn username(u: &str) -> Result<()> {
    if u.is_empty() || u.len() > 32 {
        return Err(Error::BadRequest(
            "username must be 1 to 32 characters".into(),
        ));
    }
    if !u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(Error::BadRequest(
            "username may contain only letters, digits, '.', '_' and '-'".into(),
        ));
    }
    Ok(())
}

/// Passwords: 8 to 1024 characters.
pub fn password(p: &str) -> Result<()> {
    let chars = p.chars().count();
    if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&chars) {
        return Err(Error::BadRequest(format!(
            "password must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"
        )));
    }
    Ok(())
}

/// Free text from a device or user (names, OS strings): trimmed, 1 to `max`
/// characters, no control characters.
pub fn text(field: &str, v: &str, max: usize) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(Error::BadRequest(format!(
            "{field} must be 1 to {max} characters"
        )));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::BadRequest(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(v.to_string())
}

/// An optional end time: absent means never; a time must be after `now`.
pub fn future_time(field: &str, asked: Option<&str>, now: i64) -> Result<Option<i64>> {
    let Some(v) = asked else { return Ok(None) };
    let at = rfc3339_ms(field, v)?;
    if at <= now {
        return Err(Error::BadRequest(format!("{field} must be in the future")));
    }
    Ok(Some(at))
}

/// An RFC 3339 time (`2026-12-31T23:00:00Z`) as Unix milliseconds.
pub fn rfc3339_ms(field: &str, v: &str) -> Result<i64> {
    use time::format_description::well_known::Rfc3339;
    let t = time::OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
        Error::BadRequest(format!(
            "{field} must be an RFC 3339 time such as 2026-12-31T23:00:00Z"
        ))
    })?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| Error::BadRequest(format!("{field} is out of range")))
}

/// Longest webhook URL.
pub const MAX_URL_LEN: usize = 2048;

/// A webhook URL: `http` or `https`, a host, no user name or password,
/// at most [`MAX_URL_LEN`] bytes. Returns it as parsed (normalised).
pub fn webhook_url(u: &str) -> Result<String> {
    if u.len() > MAX_URL_LEN {
        return Err(Error::BadRequest(format!(
            "url must be at most {MAX_URL_LEN} characters"
        )));
    }
    let url = url::Url::parse(u.trim())
        .map_err(|e| Error::BadRequest(format!("url: not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::BadRequest(
            "url must start with http:// or https://".into(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::BadRequest(
            "url must not contain a user name or password".into(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::BadRequest("url must name a host".into()));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_text() {
        assert!(username("alice.b-2_").is_ok());
        assert!(username("").is_err());
        assert!(username("a b").is_err());
        assert!(username("<script>").is_err());
        assert!(password("short").is_err());
        assert_eq!(text("name", "  pc  ", 64).expect("ok"), "pc");
        assert!(text("name", "a\u{7}b", 64).is_err());
        assert!(text("name", &"x".repeat(65), 64).is_err());
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339_ms("t", "1970-01-01T00:00:01.5Z").expect("ok"), 1500);
        assert_eq!(
            rfc3339_ms("t", "2026-12-07T01:00:00+01:00").expect("ok"),
            rfc3339_ms("t", "2026-12-07T00:00:00Z").expect("ok")
        );
        let e = rfc3339_ms("expires_at", "tomorrow").expect_err("bad");
        assert!(e.to_string().contains("expires_at"), "{e}");
    }

    #[test]
    fn webhook_urls() {
        assert_eq!(
            webhook_url("https://hooks.example.com/in?k=1").expect("ok"),
            "https://hooks.example.com/in?k=1"
        );
        assert_eq!(
            webhook_url("http://127.0.0.1:9000").expect("ok"),
            "http://127.0.0.1:9000/"
        );
        for (bad, why) in [
            ("hooks.example.com", "not a valid URL"),
            ("ftp://example.com/", "http:// or https://"),
            ("https://user:pw@example.com/", "user name or password"),
            ("file:///etc/passwd", "http:// or https://"),
        ] {
            let e = webhook_url(bad).expect_err(bad).to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(webhook_url(&format!("https://e.com/{}", "a".repeat(2048))).is_err());
    }

    #[test]
    fn an_end_time_is_optional_but_never_past() {
        let end = |v| future_time("expires_at", v, 5);
        assert_eq!(end(None).expect("ok"), None);
        assert_eq!(end(Some("1970-01-01T00:00:01Z")).expect("ok"), Some(1000));
        assert!(future_time("expires_at", Some("1970-01-01T00:00:01Z"), 1000).is_err());
        assert!(end(Some("soon")).is_err());
    }
}
