//! The stored login: server URL (or several, tried in order), username and
//! bearer token, in
//! `$XDG_CONFIG_HOME/meshdesk/viewer.toml` (or `~/.config/...`), written
//! with mode 0600 in a 0700 directory because the token is a secret.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use meshdesk_peer::{BearerToken, ServerSetting};
use serde::{Deserialize, Serialize};

use crate::ViewerError;

/// The login file as stored (TOML).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080`, or a list of
    /// them (the nodes of a cluster) tried in order. One URL is kept as a
    /// string, exactly as before there could be more.
    pub server: ServerSetting,
    /// The CA file an `https://` server is verified with (`--ca-file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The server certificate's pinned fingerprint (`--server-fingerprint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_fingerprint: Option<String>,
    /// Who signed in.
    pub username: String,
    /// Bearer token from `POST /api/v1/login`. Secret.
    pub token: String,
    /// When the token expires (Unix epoch milliseconds).
    pub expires_at: i64,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("server", &self.server)
            .field("ca_file", &self.ca_file)
            .field("server_fingerprint", &self.server_fingerprint)
            .field("username", &self.username)
            .field("token", &"***")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Login {
    /// The token, wrapped so that it never reaches a log.
    pub fn bearer(&self) -> BearerToken {
        BearerToken::new(self.token.clone())
    }

    /// Whether the token has expired at `now_ms` (Unix epoch milliseconds).
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_at <= now_ms
    }

    /// Read the file; a missing file means "not logged in".
    pub fn load(path: &Path) -> Result<Login, ViewerError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ViewerError::NotLoggedIn)
            }
            Err(e) => return Err(file_error(path, e)),
        };
        let invalid = |reason: String| ViewerError::LoginFile {
            path: path.to_path_buf(),
            reason,
        };
        let login: Login = toml::from_str(&text).map_err(|e| invalid(e.message().to_string()))?;
        login.server.list().map_err(|e| invalid(e.to_string()))?;
        Ok(login)
    }

    /// Write the file readable by its owner only (0600), creating parent
    /// directories (0700). Replaces an older file atomically.
    pub fn save(&self, path: &Path) -> Result<(), ViewerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| file_error(path, e))?;
        }
        // toml cannot fail on this struct of strings and an integer.
        let text = toml::to_string(self).map_err(|e| ViewerError::LoginFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let tmp = path.with_extension("toml.tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| file_error(path, e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)))
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| file_error(path, e))
    }

    /// Delete the file; returns whether there was one.
    pub fn remove(path: &Path) -> Result<bool, ViewerError> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(file_error(path, e)),
        }
    }
}

fn file_error(path: &Path, e: std::io::Error) -> ViewerError {
    ViewerError::LoginFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// `$XDG_CONFIG_HOME/meshdesk/viewer.toml`, or `~/.config/meshdesk/viewer.toml`.
pub fn default_path() -> PathBuf {
    meshdesk_peer::server_url::config_path("viewer.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Login {
        Login {
            server: ServerSetting::One("http://127.0.0.1:8080".into()),
            ca_file: None,
            server_fingerprint: None,
            username: "alice".into(),
            token: "mdt_secret".into(),
            expires_at: 2_000,
        }
    }

    #[test]
    fn saves_private_and_loads_back() {
        let dir = std::env::temp_dir().join(format!("mdv-login-{}", std::process::id()));
        let path = dir.join("sub").join("viewer.toml");
        sample().save(&path).expect("save");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().expect("dir"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(Login::load(&path).expect("load"), sample());
        assert!(Login::remove(&path).expect("remove"));
        assert!(!Login::remove(&path).expect("remove again"));
        assert!(matches!(Login::load(&path), Err(ViewerError::NotLoggedIn)));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn debug_hides_the_token_and_expiry_is_checked() {
        let login = sample();
        assert!(!format!("{login:?}").contains("mdt_secret"));
        assert!(!login.expired(1_999));
        assert!(login.expired(2_000));
    }

    #[test]
    fn a_file_with_one_server_reads_and_writes_byte_for_byte() {
        let dir = std::env::temp_dir().join(format!("mdv-login-one-{}", std::process::id()));
        let path = dir.join("viewer.toml");
        let before = "server = \"http://127.0.0.1:8080\"\nusername = \"alice\"\n\
                      token = \"mdt_secret\"\nexpires_at = 2000\n";
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(&path, before).expect("write");
        let login = Login::load(&path).expect("load");
        assert_eq!(login, sample());
        login.save(&path).expect("save");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), before);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn several_servers_read_back_and_a_bad_one_is_named() {
        let dir = std::env::temp_dir().join(format!("mdv-login-many-{}", std::process::id()));
        let path = dir.join("viewer.toml");
        let mut login = sample();
        login.server = ServerSetting::Several(vec!["http://a:1".into(), "http://b:2".into()]);
        login.save(&path).expect("save");
        assert_eq!(Login::load(&path).expect("load"), login);
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replace("http://b:2", "b:2")).expect("write");
        let e = Login::load(&path)
            .expect_err("bad second server")
            .to_string();
        assert!(e.contains("server[1]: `b:2`"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
