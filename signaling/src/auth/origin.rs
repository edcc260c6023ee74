//! Browser origin checks for WebSocket upgrades and cookie-authenticated
//! requests (cross-site request forgery protection on top of SameSite).

use axum::http::{header, HeaderMap};

/// Whether a request's `Origin` is acceptable. Requests without `Origin`
/// come from non-browser clients (hosts, the native viewer) and pass unless
/// `require` is set; browser requests must come from the server's own
/// origin (matching the `Host` header) or a configured one.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String], require: bool) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return !require || same_site_fetch(headers);
    };
    let origin = origin.trim_end_matches('/');
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

/// `Sec-Fetch-Site: same-origin` from a browser that sent no `Origin`.
fn same_site_fetch(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "same-origin")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_static(o));
        }
        h
    }

    #[test]
    fn same_origin_and_configured_pass_others_fail() {
        let allowed = vec!["https://desk.example.com".to_string()];
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
            &allowed,
            true
        ));
        assert!(origin_allowed(
            &headers(Some("https://desk.example.com"), "x:1"),
            &allowed,
            true
        ));
        assert!(!origin_allowed(
            &headers(Some("https://evil.example"), "127.0.0.1:8080"),
            &allowed,
            false
        ));
        assert!(!origin_allowed(
            &headers(Some("null"), "127.0.0.1:8080"),
            &allowed,
            false
        ));
    }

    #[test]
    fn the_https_origin_of_the_server_itself_passes() {
        // Served over HTTPS ([tls]), the page's origin is https://HOST.
        let h = headers(Some("https://192.168.1.5:8443"), "192.168.1.5:8443");
        assert!(origin_allowed(&h, &[], true));
        let other_port = headers(Some("https://192.168.1.5:9999"), "192.168.1.5:8443");
        assert!(!origin_allowed(&other_port, &[], true));
    }

    #[test]
    fn missing_origin_passes_only_when_not_required() {
        assert!(origin_allowed(&headers(None, "h"), &[], false));
        assert!(!origin_allowed(&headers(None, "h"), &[], true));
    }
}
