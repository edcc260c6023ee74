//! Finding our own refusal ([`TlsError::PinMismatch`],
//! [`TlsError::Untrusted`]) inside the error a TLS connection failed with.
//! rustls carries it as `Other(...)` inside an `io::Error` inside the HTTP
//! or WebSocket library's error, whose messages would prefix it with
//! "IO error: other error: ..."; callers show the refusal itself instead.

use std::error::Error;

use crate::TlsError;

/// The refusal of the server's certificate made by this crate's
/// verifiers, if that is why `error` happened.
pub fn refusal<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a TlsError> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(ours) = in_io_layers(e) {
            return Some(ours);
        }
        current = e.source();
    }
    None
}

/// Ours, if `e` is rustls's error carrying it, or an `io::Error` (nested
/// in others, as hyper's connectors nest them) around that; an
/// `io::Error`'s `source` skips the error it wraps, so unwrap by hand.
fn in_io_layers<'a>(mut e: &'a (dyn Error + 'static)) -> Option<&'a TlsError> {
    loop {
        if let Some(rustls::Error::Other(other)) = e.downcast_ref::<rustls::Error>() {
            let inner: &(dyn Error + 'static) = &*other.0;
            return inner.downcast_ref::<TlsError>();
        }
        let io = e.downcast_ref::<std::io::Error>()?;
        e = io.get_ref()?;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::Fingerprint;

    #[derive(Debug, thiserror::Error)]
    #[error("client error")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn found_through_io_errors_and_sources() {
        let ours = TlsError::PinMismatch {
            expected: Fingerprint::of(b"a"),
            seen: Fingerprint::of(b"b"),
        };
        let text = ours.to_string();
        let rustls_error = rustls::Error::Other(rustls::OtherError(Arc::new(ours)));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls_error);
        // hyper's connectors wrap it once more.
        let outer = Outer(std::io::Error::other(io));
        let found = refusal(&outer).expect("found");
        assert_eq!(found.to_string(), text);
        let unrelated = std::io::Error::other("refused");
        assert!(refusal(&unrelated).is_none());
    }
}
