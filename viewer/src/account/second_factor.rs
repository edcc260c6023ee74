//! The second factor at `login`: the code from `MESHDESK_TOTP`, or asked
//! for on the terminal when the server says the account needs one. A
//! recovery code works in its place.

use std::io::{BufRead, IsTerminal, Write};

use crate::ViewerError;

/// Environment variable that supplies the authentication code.
pub const TOTP_ENV: &str = "MESHDESK_TOTP";

/// The code from `MESHDESK_TOTP`, if set.
pub fn code_from_env() -> Result<Option<String>, ViewerError> {
    match std::env::var_os(TOTP_ENV) {
        None => Ok(None),
        Some(v) => v
            .into_string()
            .map(|s| Some(s.trim().to_string()))
            .map_err(|_| ViewerError::SecondFactor(format!("{TOTP_ENV} is not UTF-8"))),
    }
}

/// Ask for the code on the terminal; without one, say how to give it.
pub fn prompt_code(methods: &[String]) -> Result<String, ViewerError> {
    if !methods.iter().any(|m| m == "totp") {
        return Err(ViewerError::SecondFactor(format!(
            "this account signs in with {} only, which the native viewer cannot use; \
             add an authenticator app in the web app's settings",
            methods.join(", ")
        )));
    }
    if !std::io::stdin().is_terminal() {
        return Err(ViewerError::SecondFactor(format!(
            "this account needs an authentication code and there is no terminal to ask on; \
             set {TOTP_ENV}"
        )));
    }
    eprint!("Authentication code (or a recovery code): ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| ViewerError::SecondFactor(format!("cannot read the code: {e}")))?;
    Ok(line.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passkey_only_account_is_told_what_the_viewer_cannot_do() {
        let e = prompt_code(&["webauthn".into()]).expect_err("no code to ask for");
        let text = e.to_string();
        assert!(
            text.contains("webauthn") && text.contains("authenticator app"),
            "{text}"
        );
    }
}
