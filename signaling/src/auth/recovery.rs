//! Recovery codes: ten single-use codes handed out when TOTP is turned
//! on, each accepted once in place of a TOTP code. Stored as SHA-256
//! hashes of their normal form (they are random, 50 bits each, so a slow
//! hash adds nothing); shown once.

use rand::Rng;
use sha2::{Digest, Sha256};

/// How many codes an enrollment hands out.
pub const COUNT: usize = 10;

/// Letters and digits that cannot be mistaken for one another.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Ten new codes, `xxxxx-xxxxx`.
pub fn generate() -> Vec<String> {
    let mut rng = rand::thread_rng();
    (0..COUNT)
        .map(|_| {
            let mut s: String = (0..10)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            s.insert(5, '-');
            s
        })
        .collect()
}

/// A code as typed (any case, spaces or dashes anywhere) in the form that
/// is hashed; `None` when it cannot be a recovery code.
pub fn normalise(code: &str) -> Option<String> {
    let s: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (s.len() == 10 && s.bytes().all(|b| ALPHABET.contains(&b))).then_some(s)
}

/// The stored hash of a code.
pub fn hash(code: &str) -> Option<[u8; 32]> {
    normalise(code).map(|n| Sha256::digest(n.as_bytes()).into())
}

/// Which of the unused `stored` hashes `code` matches, if any.
pub fn matching(stored: &[[u8; 32]], code: &str) -> Option<usize> {
    let h = hash(code)?;
    stored.iter().position(|s| *s == h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_that_read_back() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut d = codes.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), COUNT);
        for c in &codes {
            assert_eq!(c.len(), 11);
            assert!(hash(c).is_some(), "{c}");
        }
    }

    #[test]
    fn typing_variants_match_and_others_do_not() {
        let codes = generate();
        let stored: Vec<[u8; 32]> = codes.iter().filter_map(|c| hash(c)).collect();
        let typed = format!(" {} ", codes[3].to_uppercase().replace('-', " "));
        assert_eq!(matching(&stored, &typed), Some(3));
        assert_eq!(matching(&stored, "123456"), None);
        assert_eq!(matching(&stored, "aaaaa-aaaaa"), None);
        assert_eq!(
            matching(&stored[..3], &codes[3]),
            None,
            "used codes are gone"
        );
    }
}
