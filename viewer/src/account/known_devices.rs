//! Device keys pinned at first use, as SSH's `known_hosts`: the file
//! `known_devices` beside the login file, one line per device,
//! `DEVICE_ID PUBLIC_KEY` (the key in standard base64, as
//! `GET /api/v1/devices` gives it); `#` starts a comment.
//!
//! `connect` pins a device's key once its first session is verified; a
//! key that differs from the pinned one stops the connection before any
//! media, until `meshdesk-viewer trust DEVICE` pins the new one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use meshdesk_protocol::safety_code;

use crate::ViewerError;

/// What the pinned key says about a device's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// Nothing pinned for this device yet.
    New,
    /// The key is the pinned one.
    Matches,
    /// Another key is pinned: someone may be in the middle.
    Changed { pinned: String },
}

/// The pinned keys, by device id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownDevices {
    keys: BTreeMap<String, String>,
}

/// `known_devices` beside the login file `login`.
pub fn known_devices_path(login: &Path) -> PathBuf {
    login.with_file_name("known_devices")
}

/// A device's public key from its base64 text.
pub fn decode_key(text: &str) -> Result<[u8; 32], String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| "the device key is not base64".to_string())?;
    bytes
        .try_into()
        .map_err(|_| "the device key is not 32 bytes (Ed25519)".to_string())
}

/// The safety code of a key in base64, or a dash if it is not a key.
pub fn code_of(text: &str) -> String {
    decode_key(text).map_or_else(|_| "-".to_string(), |k| safety_code(&k))
}

impl KnownDevices {
    /// Parse the file's text; a line that is not `ID KEY` is an error
    /// naming its line number.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(id), Some(key), None) = (fields.next(), fields.next(), fields.next()) else {
                return Err(format!("line {}: expected `DEVICE_ID PUBLIC_KEY`", n + 1));
            };
            decode_key(key).map_err(|e| format!("line {}: {e}", n + 1))?;
            keys.insert(id.to_string(), key.to_string());
        }
        Ok(Self { keys })
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut out =
            String::from("# Meshdesk device keys, pinned at first use: DEVICE_ID PUBLIC_KEY\n");
        for (id, key) in &self.keys {
            out.push_str(&format!("{id} {key}\n"));
        }
        out
    }

    /// How `key` compares with what is pinned for `device_id`.
    pub fn check(&self, device_id: &str, key: &str) -> Pin {
        match self.keys.get(device_id) {
            None => Pin::New,
            Some(pinned) if pinned == key => Pin::Matches,
            Some(pinned) => Pin::Changed {
                pinned: pinned.clone(),
            },
        }
    }

    /// Pin `key` for `device_id`, replacing any other.
    pub fn pin(&mut self, device_id: &str, key: &str) {
        self.keys.insert(device_id.to_string(), key.to_string());
    }

    /// Read the file; a missing one pins nothing.
    pub fn load(path: &Path) -> Result<Self, ViewerError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|reason| file_error(path, reason)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(file_error(path, e.to_string())),
        }
    }

    /// Write the file (through a temporary file, so it is never half
    /// written).
    pub fn save(&self, path: &Path) -> Result<(), ViewerError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| file_error(path, e.to_string()))?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.render()).map_err(|e| file_error(path, e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| file_error(path, e.to_string()))
    }
}

fn file_error(path: &Path, reason: String) -> ViewerError {
    ViewerError::KnownDevices {
        path: path.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const KEY_B: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    #[test]
    fn parses_what_it_renders() {
        let mut known = KnownDevices::default();
        known.pin("dev-1", KEY_A);
        known.pin("dev-2", KEY_B);
        let text = known.render();
        assert_eq!(KnownDevices::parse(&text).unwrap(), known);
        assert!(text.contains(&format!("dev-1 {KEY_A}\n")));
    }

    #[test]
    fn comments_and_blank_lines_are_skipped_and_bad_lines_named() {
        let known = KnownDevices::parse(&format!("# c\n\n  dev-1 {KEY_A}  \n")).unwrap();
        assert_eq!(known.check("dev-1", KEY_A), Pin::Matches);
        assert_eq!(
            KnownDevices::parse("dev-1\n").unwrap_err(),
            "line 1: expected `DEVICE_ID PUBLIC_KEY`"
        );
        assert!(KnownDevices::parse(&format!("# c\ndev-1 {KEY_A} x\n"))
            .unwrap_err()
            .starts_with("line 2:"));
        assert!(KnownDevices::parse("dev-1 AAAA\n")
            .unwrap_err()
            .contains("32 bytes"));
    }

    #[test]
    fn a_changed_key_is_told_apart() {
        let mut known = KnownDevices::default();
        assert_eq!(known.check("dev-1", KEY_A), Pin::New);
        known.pin("dev-1", KEY_A);
        assert_eq!(
            known.check("dev-1", KEY_B),
            Pin::Changed {
                pinned: KEY_A.into()
            }
        );
        known.pin("dev-1", KEY_B);
        assert_eq!(known.check("dev-1", KEY_B), Pin::Matches);
    }

    #[test]
    fn the_file_sits_beside_the_login_file() {
        assert_eq!(
            known_devices_path(Path::new("/x/meshdesk/viewer.toml")),
            Path::new("/x/meshdesk/known_devices")
        );
        assert_eq!(code_of(KEY_A), "8770 6170 9175");
    }
}
