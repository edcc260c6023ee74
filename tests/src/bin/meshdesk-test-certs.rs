//! Certificates for the browser tests (tests/web), which cannot make
//! X.509 certificates themselves: `meshdesk-test-certs DIR NAME...` makes
//! a test CA in DIR, a server certificate it signs for the NAMEs (host
//! names or IP addresses), and a `HOME` whose NSS database trusts the CA
//! (Chromium on Linux reads `$HOME/.pki/nssdb`). Prints one JSON line:
//! `ca_file`, `cert`, `key`, `fingerprint`, `nss_home`. The files stay in
//! DIR (the test removes it).

use meshdesk_tests::tls::TestCa;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: meshdesk-test-certs DIR NAME...");
        std::process::exit(2);
    };
    let names: Vec<String> = args.collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let ca = TestCa::new_in(dir.into());
    let cert = ca.issue("server", &names);
    println!(
        "{}",
        serde_json::json!({
            "ca_file": ca.ca_file,
            "cert": cert.cert,
            "key": cert.key,
            "fingerprint": cert.fingerprint.to_string(),
            "nss_home": ca.nss_home(),
        })
    );
}
