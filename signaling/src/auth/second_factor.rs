//! The sign-in decision once the password is right: a pure function of
//! what the account has and what the request carries.
//!
//! The driver ([`crate::api::accounts::login`]) loads the account's
//! factors, asks [`decide`], and carries out the answer: record the
//! accepted step or spend the recovery code (both race-safe in the store),
//! verify a passkey, or refuse.

use meshdesk_protocol::rest::SecondFactor;

use super::{recovery, totp};

/// The second factors of one account, as stored.
#[derive(Clone, Default)]
pub struct AccountFactors {
    /// The TOTP secret (base32) and the last step accepted, when TOTP is on.
    pub totp: Option<(String, Option<u64>)>,
    /// Hashes of the unused recovery codes.
    pub recovery: Vec<[u8; 32]>,
    /// How many passkeys the account has.
    pub passkeys: usize,
}

impl std::fmt::Debug for AccountFactors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountFactors")
            .field("totp", &self.totp.is_some())
            .field("recovery", &self.recovery.len())
            .field("passkeys", &self.passkeys)
            .finish()
    }
}

impl AccountFactors {
    /// What the account can sign in with besides its password, in the
    /// order the 401 lists them.
    pub fn names(&self) -> Vec<SecondFactor> {
        let mut v = Vec::new();
        if self.totp.is_some() {
            v.push(SecondFactor::Totp);
        }
        if self.passkeys > 0 {
            v.push(SecondFactor::Webauthn);
        }
        v
    }
}

/// What a sign-in request carries besides the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered<'a> {
    Nothing,
    /// `totp`: a TOTP code or a recovery code.
    Code(&'a str),
    /// `webauthn`: a passkey assertion.
    Passkey,
}

/// What to do with the sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No second factor on the account: sign in.
    SignIn,
    /// A right TOTP code: record `step` as used, then sign in.
    TotpStep(u64),
    /// A right recovery code: spend the one with this hash, then sign in.
    Recovery([u8; 32]),
    /// Check the passkey assertion; sign in if it holds.
    VerifyPasskey,
    /// Nothing offered: 401 naming the factors (not a failure).
    Ask(Vec<SecondFactor>),
    /// A wrong factor: a failure, and 401 naming the factors.
    Wrong(Vec<SecondFactor>),
}

/// Decide a sign-in whose password was right, at `unix_secs`.
pub fn decide(f: &AccountFactors, offered: Offered<'_>, unix_secs: u64) -> Decision {
    let names = f.names();
    if names.is_empty() {
        return Decision::SignIn;
    }
    match offered {
        Offered::Nothing => Decision::Ask(names),
        Offered::Passkey if f.passkeys > 0 => Decision::VerifyPasskey,
        Offered::Passkey => Decision::Wrong(names),
        Offered::Code(code) => {
            let Some((secret, last)) = &f.totp else {
                return Decision::Wrong(names);
            };
            if let Some(step) = totp::check(secret, code, unix_secs, *last) {
                return Decision::TotpStep(step);
            }
            match recovery::matching(&f.recovery, code) {
                Some(i) => Decision::Recovery(f.recovery[i]),
                None => Decision::Wrong(names),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use totp_rs::{Builder, Secret};

    const NOW: u64 = 1_800_000_015;

    fn code(secret: &str, at: u64) -> String {
        Builder::new()
            .with_secret(Secret::try_from_base32(secret).expect("b32"))
            .build()
            .expect("totp")
            .generate(at)
            .to_string()
    }

    fn with_totp() -> (AccountFactors, Vec<String>) {
        let codes = recovery::generate();
        let f = AccountFactors {
            totp: Some((totp::new_secret(), None)),
            recovery: codes.iter().filter_map(|c| recovery::hash(c)).collect(),
            passkeys: 0,
        };
        (f, codes)
    }

    #[test]
    fn without_factors_the_password_is_enough() {
        let f = AccountFactors::default();
        assert_eq!(decide(&f, Offered::Nothing, NOW), Decision::SignIn);
        assert_eq!(decide(&f, Offered::Code("1"), NOW), Decision::SignIn);
    }

    #[test]
    fn totp_asks_then_takes_a_code_or_a_recovery_code() {
        let (f, codes) = with_totp();
        let names = vec![SecondFactor::Totp];
        assert_eq!(
            decide(&f, Offered::Nothing, NOW),
            Decision::Ask(names.clone())
        );
        let secret = &f.totp.as_ref().expect("on").0;
        assert_eq!(
            decide(&f, Offered::Code(&code(secret, NOW)), NOW),
            Decision::TotpStep(NOW / 30)
        );
        assert_eq!(
            decide(&f, Offered::Code(&codes[0]), NOW),
            Decision::Recovery(recovery::hash(&codes[0]).expect("hash"))
        );
        assert_eq!(
            decide(&f, Offered::Code("000000"), NOW),
            Decision::Wrong(names.clone())
        );
        assert_eq!(decide(&f, Offered::Passkey, NOW), Decision::Wrong(names));
    }

    #[test]
    fn a_used_step_is_wrong_the_second_time() {
        let (mut f, _) = with_totp();
        let secret = f.totp.as_ref().expect("on").0.clone();
        let c = code(&secret, NOW);
        f.totp = Some((secret, Some(NOW / 30)));
        assert!(matches!(
            decide(&f, Offered::Code(&c), NOW),
            Decision::Wrong(_)
        ));
    }

    #[test]
    fn passkeys_are_listed_and_verified() {
        let (mut f, _) = with_totp();
        f.passkeys = 1;
        assert_eq!(
            decide(&f, Offered::Nothing, NOW),
            Decision::Ask(vec![SecondFactor::Totp, SecondFactor::Webauthn])
        );
        assert_eq!(decide(&f, Offered::Passkey, NOW), Decision::VerifyPasskey);
        f.totp = None;
        assert!(matches!(
            decide(&f, Offered::Code("123456"), NOW),
            Decision::Wrong(_)
        ));
    }
}
