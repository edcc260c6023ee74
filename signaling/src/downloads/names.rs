//! Which file names `/downloads/{name}` may ask for (pure).
//!
//! Only plain names of files directly in the downloads directory: letters,
//! digits, `.`, `-`, `_` and `+`, not starting with a dot, at most 128
//! bytes. So no `/`, no `..`, no hidden files, nothing a shell or a URL
//! would treat specially.

/// The longest name served.
pub const MAX_NAME: usize = 128;

/// Why a name is refused, for the 400's message.
pub const RULE: &str =
    "bad file name: use letters, digits, '.', '-', '_' or '+' (not starting with '.', at most 128)";

/// Whether `name` may be served (or listed).
pub fn is_servable(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_pass() {
        for name in [
            "meshdesk-host_0.1.0-1_amd64.deb",
            "meshdesk-host-0.1.0-amd64-linux.tar.gz",
            "SHA256SUMS",
            "a+b",
        ] {
            assert!(is_servable(name), "{name}");
        }
    }

    #[test]
    fn traversal_and_oddities_are_refused() {
        for name in [
            "",
            "..",
            "../etc/passwd",
            "a/b",
            "a\\b",
            ".hidden",
            "a b",
            "a\0b",
            "é.deb",
            "$(id)",
            &"x".repeat(MAX_NAME + 1),
        ] {
            assert!(!is_servable(name), "{name:?}");
        }
    }
}
