// Passkeys in the browser: the server's WebAuthn options (JSON, base64url
// fields) to navigator.credentials, and the credential back to JSON for
// the server. Uses the browser's own JSON helpers
// (PublicKeyCredential.parse*OptionsFromJSON, credential.toJSON()).

/** Whether this browser can use passkeys here (secure context, API). */
export function passkeysAvailable() {
  return window.isSecureContext && typeof window.PublicKeyCredential?.parseCreationOptionsFromJSON === 'function';
}

/** Create a passkey for the server's creation options. */
export async function createPasskey(publicKey) {
  const options = PublicKeyCredential.parseCreationOptionsFromJSON(publicKey);
  const cred = await navigator.credentials.create({ publicKey: options });
  return cred.toJSON();
}

/** Sign the server's challenge with a passkey. */
export async function usePasskey(publicKey) {
  const options = PublicKeyCredential.parseRequestOptionsFromJSON(publicKey);
  const cred = await navigator.credentials.get({ publicKey: options });
  return cred.toJSON();
}
