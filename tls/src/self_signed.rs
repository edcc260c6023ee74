//! A self-signed certificate for a LAN (`--tls-self-signed`): made once
//! in the data directory, then kept, so that its fingerprint (which hosts
//! and viewers pin) stays the same across restarts.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::{pem, server, ServerTls, TlsError};

/// The certificate's file in the data directory.
pub const CERT_FILE: &str = "tls-self-signed.pem";
/// Its private key's file (mode 0600).
pub const KEY_FILE: &str = "tls-self-signed.key";

/// The names a LAN certificate covers: this machine's host name,
/// `localhost`, loopback, the address listened on (unless it is a
/// wildcard) and the public URL's host, each once.
pub fn names(hostname: &str, listen: IpAddr, public_host: Option<&str>) -> Vec<String> {
    let mut names = Vec::new();
    let mut add = |n: String| {
        if !n.is_empty() && !names.contains(&n) {
            names.push(n);
        }
    };
    add(hostname.trim().to_string());
    add("localhost".into());
    add("127.0.0.1".into());
    add("::1".into());
    if !listen.is_unspecified() {
        add(listen.to_string());
    }
    if let Some(h) = public_host {
        add(h.trim_start_matches('[').trim_end_matches(']').to_string());
    }
    names
}

/// What [`load_or_create`] found.
#[derive(Debug)]
pub struct Loaded {
    /// The server's TLS config with the kept certificate.
    pub tls: ServerTls,
    /// Whether it was made just now.
    pub created: bool,
    /// Where the certificate is (to hand to clients as a CA file).
    pub cert_path: PathBuf,
}

/// The certificate kept in `dir`, or a new one for `names` if there is
/// none yet.
pub fn load_or_create(dir: &Path, names: &[String]) -> Result<Loaded, TlsError> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    let created = !(cert_path.exists() && key_path.exists());
    if created {
        create(&cert_path, &key_path, names)?;
    }
    let mut tls = server::from_der(pem::certificates(&cert_path)?, pem::private_key(&key_path)?)?;
    tls.spki_pin = Some(spki_pin(&key_path)?);
    Ok(Loaded {
        tls,
        created,
        cert_path,
    })
}

/// curl's `--pinnedpubkey` form of the kept key's public half:
/// `sha256//` and the standard base64 of the SHA-256 of its
/// SubjectPublicKeyInfo (DER).
fn spki_pin(key_path: &Path) -> Result<String, TlsError> {
    use base64::Engine as _;
    use rcgen::PublicKeyData as _;
    use sha2::Digest as _;
    let pem = std::fs::read_to_string(key_path).map_err(|e| TlsError::File {
        path: key_path.to_path_buf(),
        reason: format!("cannot read: {e}"),
    })?;
    let key = rcgen::KeyPair::from_pem(&pem).map_err(|e| TlsError::File {
        path: key_path.to_path_buf(),
        reason: format!("not a private key: {e}"),
    })?;
    let digest = sha2::Sha256::digest(key.subject_public_key_info());
    Ok(format!(
        "sha256//{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    ))
}

/// Make the key pair and certificate and write them (the key first,
/// readable by the owner only).
fn create(cert_path: &Path, key_path: &Path, names: &[String]) -> Result<(), TlsError> {
    let made = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| TlsError::Generate(e.to_string()))?;
    write_private(key_path, made.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, made.cert.pem()).map_err(|e| TlsError::File {
        path: cert_path.to_path_buf(),
        reason: format!("cannot write: {e}"),
    })
}

/// Write a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let bad = |e: std::io::Error| TlsError::File {
        path: path.to_path_buf(),
        reason: format!("cannot write: {e}"),
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(bad)?;
    file.write_all(bytes).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_the_machine_loopback_and_public_host_once() {
        let n = names("office", "0.0.0.0".parse().expect("ip"), Some("desk.lan"));
        assert_eq!(n, ["office", "localhost", "127.0.0.1", "::1", "desk.lan"]);
        let n = names("localhost", "192.168.1.5".parse().expect("ip"), None);
        assert_eq!(n, ["localhost", "127.0.0.1", "::1", "192.168.1.5"]);
    }

    #[test]
    fn made_once_then_kept() {
        let dir = std::env::temp_dir().join(format!("meshdesk-tls-self-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let names = names("test-host", "127.0.0.1".parse().expect("ip"), None);
        let first = load_or_create(&dir, &names).expect("made");
        assert!(first.created);
        let again = load_or_create(&dir, &names).expect("kept");
        assert!(!again.created);
        assert_eq!(first.tls.fingerprint, again.tls.fingerprint);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .expect("key")
                .permissions();
            assert_eq!(mode.mode() & 0o077, 0, "the key is the owner's only");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
