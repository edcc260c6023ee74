//! Which key a session must verify, and `trust DEVICE`.
//!
//! Before a session is requested, the device's key from the server is
//! compared with the one pinned in `known_devices`
//! ([`crate::account::known_devices`]): a different one stops there, before
//! any media, with a warning; a new one is pinned once the session's DTLS
//! binding verified with it. `meshdesk-viewer trust DEVICE` pins the key
//! the server now gives, after the user compared its safety code.

use std::path::{Path, PathBuf};

use meshdesk_protocol::rest::Device;

use crate::account::known_devices::{code_of, decode_key, known_devices_path, KnownDevices, Pin};
use crate::account::{find_device, signed_in};
use crate::session::Notice;
use crate::ViewerError;

/// The key a session with a device must verify, and whether to pin it.
#[derive(Debug, Clone)]
pub struct Expected {
    /// The device's public key (pinned, or new).
    pub key: [u8; 32],
    /// Pin it once verified: nothing was pinned for this device yet.
    pin_once_verified: Option<(PathBuf, Device)>,
}

/// The key `device` must prove, checked against `known_devices` beside the
/// login file `login`.
pub fn expected_key(login: &Path, device: &Device) -> Result<Expected, ViewerError> {
    let key = decode_key(&device.public_key).map_err(ViewerError::NotVerified)?;
    let path = known_devices_path(login);
    let known = KnownDevices::load(&path)?;
    let pin_once_verified = match known.check(&device.id, &device.public_key) {
        Pin::Matches => None,
        Pin::New => Some((path, device.clone())),
        Pin::Changed { pinned } => {
            return Err(ViewerError::KeyChanged {
                device: device.name.clone(),
                pinned_code: code_of(&pinned),
                new_code: code_of(&device.public_key),
            })
        }
    };
    Ok(Expected {
        key,
        pin_once_verified,
    })
}

impl Expected {
    /// What to do with a session's notices: say "Verified" with the safety
    /// code on stderr (stdout is for `--stats-json`), and pin a new key.
    pub fn on_verified(self) -> impl FnMut(&Notice) + Send {
        let mut pin = self.pin_once_verified;
        move |notice| {
            let Notice::Verified { safety_code } = notice else {
                return;
            };
            eprintln!("Verified: safety code {safety_code}");
            if let Some((path, device)) = pin.take() {
                if let Err(e) = pin_key(&path, &device) {
                    eprintln!("meshdesk-viewer: {e}");
                }
            }
        }
    }
}

fn pin_key(path: &Path, device: &Device) -> Result<(), ViewerError> {
    let mut known = KnownDevices::load(path)?;
    known.pin(&device.id, &device.public_key);
    known.save(path)
}

/// `trust DEVICE`: pin the key the server now gives for the device.
pub async fn trust(login: &Path, device: &str) -> Result<(), ViewerError> {
    let (mut api, _) = signed_in(login)?;
    let device = find_device(&mut api, device).await?;
    decode_key(&device.public_key).map_err(ViewerError::NotVerified)?;
    pin_key(&known_devices_path(login), &device)?;
    println!(
        "trusted the key of {} ({}): safety code {}",
        device.name,
        device.id,
        code_of(&device.public_key)
    );
    Ok(())
}
