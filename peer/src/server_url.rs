//! Where a host or viewer finds its server and its own files: the server
//! URL as users type it, the WebSocket URL derived from it, and the
//! per-user config path.

use std::path::PathBuf;

/// `http(s)://HOST[:PORT]` as typed (spaces and trailing slashes trimmed),
/// or `None` for anything else.
pub fn normalise_server(url: &str) -> Option<String> {
    let u = url.trim().trim_end_matches('/');
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"))?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return None;
    }
    Some(u.to_string())
}

/// The WebSocket URL of `path` (e.g. `/api/v1/ws/host`) on a normalised
/// server URL: `https` becomes `wss`, `http` becomes `ws`.
pub fn websocket_url(server: &str, path: &str) -> String {
    let base = if let Some(rest) = server.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        format!("ws://{}", server.trim_start_matches("http://"))
    };
    format!("{base}{path}")
}

/// `$XDG_CONFIG_HOME/meshdesk/FILE`, else `~/.config/meshdesk/FILE`, else
/// `./meshdesk/FILE`.
pub fn config_path(file: &str) -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("meshdesk").join(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked_and_normalised() {
        assert_eq!(
            normalise_server(" http://127.0.0.1:8080/ ").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            normalise_server("https://mesh.example").as_deref(),
            Some("https://mesh.example")
        );
        for bad in ["127.0.0.1:8080", "ftp://x", "http://", "http://a b"] {
            assert_eq!(normalise_server(bad), None, "{bad}");
        }
    }

    #[test]
    fn websocket_urls_follow_the_scheme() {
        assert_eq!(
            websocket_url("http://127.0.0.1:8080", "/api/v1/ws/host"),
            "ws://127.0.0.1:8080/api/v1/ws/host"
        );
        assert_eq!(
            websocket_url("https://mesh.example", "/api/v1/ws/viewer"),
            "wss://mesh.example/api/v1/ws/viewer"
        );
    }

    #[test]
    fn the_config_path_ends_in_the_file() {
        assert!(config_path("host.toml").ends_with("meshdesk/host.toml"));
    }
}
