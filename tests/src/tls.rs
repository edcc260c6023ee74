//! Certificates for HTTPS tests, made by the test with rcgen: a test CA
//! ([`TestCa`]) and server certificates it signs for the names a test
//! uses (`localhost`, `127.0.0.1`, a namespace's address), written as PEM
//! files the server's `[tls]` and the clients' `ca_file` take. Also a
//! self-signed certificate no CA vouches for, and the Chromium side:
//! an NSS database that trusts the test CA ([`TestCa::nss_home`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use meshdesk_tls::Fingerprint;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use crate::server::TempDir;

/// A certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// SHA-256 of the certificate, in the form the server prints.
    pub fingerprint: Fingerprint,
}

impl CertFiles {
    /// The `[tls]` table serving this certificate.
    pub fn tls_config(&self) -> String {
        format!(
            "\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            self.cert.display(),
            self.key.display()
        )
    }
}

/// A CA made for one test, in its own directory (a temporary one is
/// removed on drop).
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// Removes `dir` on drop, when it is temporary.
    _temp: Option<TempDir>,
    /// Holds `ca.pem` and the certificates issued.
    pub dir: PathBuf,
    /// The CA certificate, for `ca_file`.
    pub ca_file: PathBuf,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl TestCa {
    /// A new CA ("Meshdesk test CA") in a temporary directory, its
    /// certificate written to `ca.pem`.
    pub fn new() -> TestCa {
        let temp = TempDir::new("tls-ca");
        let mut ca = TestCa::new_in(temp.0.clone());
        ca._temp = Some(temp);
        ca
    }

    /// A new CA whose files go to `dir` and stay there.
    pub fn new_in(dir: PathBuf) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, "Meshdesk test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA certificate");
        std::fs::create_dir_all(&dir).expect("CA dir");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, issuer.pem()).expect("write ca.pem");
        TestCa {
            issuer,
            _temp: None,
            dir,
            ca_file,
        }
    }

    /// A server certificate for `names` (host names or IP addresses)
    /// signed by this CA, written as `FILE_STEM.pem` and `FILE_STEM.key`.
    pub fn issue(&self, stem: &str, names: &[&str]) -> CertFiles {
        let params = leaf_params(names);
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        write_pair(&self.dir, stem, &cert, &key)
    }

    /// A self-signed certificate for `names`: trusted by no CA.
    pub fn self_signed(&self, stem: &str, names: &[&str]) -> CertFiles {
        let key = KeyPair::generate().expect("key");
        let cert = leaf_params(names).self_signed(&key).expect("self-sign");
        write_pair(&self.dir, stem, &cert, &key)
    }

    /// A `HOME` whose NSS database (`.pki/nssdb`, where Chromium on Linux
    /// looks) trusts this CA for servers, made with `certutil`.
    pub fn nss_home(&self) -> PathBuf {
        let home = self.dir.join("home");
        let db = home.join(".pki").join("nssdb");
        std::fs::create_dir_all(&db).expect("nssdb dir");
        let db_arg = format!("sql:{}", db.display());
        certutil(&["-N", "-d", &db_arg, "--empty-password"]);
        let ca = self.ca_file.display().to_string();
        certutil(&[
            "-A",
            "-d",
            &db_arg,
            "-n",
            "meshdesk-test-ca",
            "-t",
            "C,,",
            "-i",
            &ca,
        ]);
        home
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

fn certutil(args: &[&str]) {
    let out = Command::new("certutil")
        .args(args)
        .output()
        .expect("run certutil (Debian package libnss3-tools)");
    assert!(
        out.status.success(),
        "certutil {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server certificate's parameters: its names, for TLS servers.
fn leaf_params(names: &[&str]) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names.clone()).expect("names");
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
}

fn write_pair(dir: &Path, stem: &str, cert: &rcgen::Certificate, key: &KeyPair) -> CertFiles {
    let files = CertFiles {
        cert: dir.join(format!("{stem}.pem")),
        key: dir.join(format!("{stem}.key")),
        fingerprint: Fingerprint::of(cert.der()),
    };
    std::fs::write(&files.cert, cert.pem()).expect("write cert");
    std::fs::write(&files.key, key.serialize_pem()).expect("write key");
    files
}
