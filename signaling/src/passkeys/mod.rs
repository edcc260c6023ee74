//! Passkeys (WebAuthn, through webauthn-rs): the relying party and the
//! challenges between a `start` and its `finish`. Registration states and
//! sign-in states live in memory only (webauthn-rs keeps them
//! unserialisable on purpose): a restart drops them, and the user starts
//! again.

pub mod pending;
pub mod relying_party;

use std::sync::{Mutex, MutexGuard};

use webauthn_rs::prelude::{PasskeyAuthentication, PasskeyRegistration};

use crate::error::{Error, Result};
use pending::Pending;

/// Challenges in flight.
#[derive(Default)]
pub struct Passkeys {
    /// `register/start` answered, `register/finish` not yet.
    pub registrations: Mutex<Pending<PasskeyRegistration>>,
    /// `login/start` answered, `POST /login` with `webauthn` not yet.
    pub sign_ins: Mutex<Pending<PasskeyAuthentication>>,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passkeys { .. }")
    }
}

/// Lock one of the tables.
pub fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::Internal("passkey table mutex poisoned".into()))
}
