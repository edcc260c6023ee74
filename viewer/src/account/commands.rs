//! `login`, `logout` and `list`: the commands that only talk REST.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use meshdesk_client::Client;
use meshdesk_protocol::rest::Device;

use super::{second_factor, table};
use crate::account::api::{self, rest_error, Call};
use crate::account::login_file::Login;
use crate::account::server_trust::TrustArgs;
use crate::ViewerError;

/// Environment variable that supplies the password without a prompt.
pub const PASSWORD_ENV: &str = "MESHDESK_PASSWORD";

/// Sign in and save the token.
pub async fn login(
    path: &Path,
    server: &str,
    username: &str,
    trust_args: &TrustArgs,
) -> Result<(), ViewerError> {
    let trust = trust_args.trust()?;
    let api = Client::with_trust(&api::normalise_server(server)?, &trust)
        .map_err(|e| rest_error(e, Call::SignIn))?;
    let password = read_password()?;
    let code = second_factor::code_from_env()?;
    let reply = match api.sign_in(username, &password, code.as_deref()).await {
        Err(meshdesk_client::Error::SecondFactor { .. }) if code.is_some() => {
            return Err(ViewerError::SecondFactor(format!(
                "wrong authentication code in {}",
                second_factor::TOTP_ENV
            )))
        }
        Err(meshdesk_client::Error::SecondFactor { methods, .. }) => {
            let code = second_factor::prompt_code(&methods)?;
            api.sign_in(username, &password, Some(&code)).await
        }
        other => other,
    }
    .map_err(|e| rest_error(e, Call::SignIn))?;
    let login = Login {
        server: api.server().to_string(),
        ca_file: trust.ca_file().cloned(),
        server_fingerprint: trust.fingerprint().map(|f| f.to_string()),
        username: reply.username.clone(),
        token: reply.token,
        expires_at: reply.expires_at,
    };
    login.save(path)?;
    println!(
        "logged in as {} on {}; token saved to {}",
        login.username,
        login.server,
        path.display()
    );
    Ok(())
}

/// Sign out on the server (best effort) and delete the login file.
pub async fn logout(path: &Path) -> Result<(), ViewerError> {
    let login = match Login::load(path) {
        Ok(l) => l,
        Err(ViewerError::NotLoggedIn) => {
            println!("not logged in");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if let Err(e) = api::client(&login)?.sign_out().await {
        tracing::debug!(error = %e, "server logout failed; deleting the token anyway");
    }
    Login::remove(path)?;
    println!("logged out {} from {}", login.username, login.server);
    Ok(())
}

/// Print the devices as a table or JSON.
pub async fn list(path: &Path, json: bool) -> Result<(), ViewerError> {
    let (api, _login) = signed_in(path)?;
    let devices = api
        .devices()
        .await
        .map_err(|e| rest_error(e, Call::Authorized))?;
    if json {
        println!("{}", table::render_json(&devices));
    } else {
        print!("{}", table::render(&devices));
    }
    Ok(())
}

/// The stored login, checked for expiry, and a client for its server.
pub fn signed_in(path: &Path) -> Result<(Client, Login), ViewerError> {
    let login = Login::load(path)?;
    if login.expired(now_ms()) {
        return Err(ViewerError::LoginExpired);
    }
    Ok((api::client(&login)?, login))
}

/// Find the device to connect to and check that it can be reached.
pub async fn find_device(api: &Client, wanted: &str) -> Result<Device, ViewerError> {
    let devices = api
        .devices()
        .await
        .map_err(|e| rest_error(e, Call::Authorized))?;
    let device = crate::account::api::resolve(&devices, wanted)?;
    if !device.online {
        return Err(ViewerError::Offline(device.name.clone()));
    }
    Ok(device.clone())
}

fn read_password() -> Result<String, ViewerError> {
    if let Some(p) = std::env::var_os(PASSWORD_ENV) {
        return p
            .into_string()
            .map_err(|_| ViewerError::Password(format!("{PASSWORD_ENV} is not UTF-8")));
    }
    rpassword::prompt_password("Password: ").map_err(|e| ViewerError::Password(e.to_string()))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
