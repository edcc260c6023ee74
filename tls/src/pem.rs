//! Reading certificates and keys from PEM files, with errors that name
//! the file and say what is missing.

use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::TlsError;

/// Every certificate in a PEM file, in order (a chain: leaf first).
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |reason: String| TlsError::File {
        path: path.to_path_buf(),
        reason,
    };
    readable(path)?;
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate (BEGIN CERTIFICATE)".into()));
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    readable(path)?;
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::File {
        path: path.to_path_buf(),
        reason: format!("holds no PEM private key ({e})"),
    })
}

/// A clear error for a file that is missing or unreadable, before the
/// PEM parser's vaguer one.
fn readable(path: &Path) -> Result<(), TlsError> {
    std::fs::metadata(path)
        .map(|_| ())
        .map_err(|e| TlsError::File {
            path: path.to_path_buf(),
            reason: format!("cannot read: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_wrong_files_say_which_and_why() {
        let dir = std::env::temp_dir().join(format!("meshdesk-tls-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let missing = dir.join("missing.pem");
        let e = certificates(&missing).expect_err("missing").to_string();
        assert!(
            e.contains("missing.pem") && e.contains("cannot read"),
            "{e}"
        );
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "hello\n").expect("write");
        let e = certificates(&junk).expect_err("junk").to_string();
        assert!(
            e.contains("junk.pem") && e.contains("no PEM certificate"),
            "{e}"
        );
        let e = private_key(&junk).expect_err("junk").to_string();
        assert!(e.contains("no PEM private key"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
