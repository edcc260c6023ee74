//! `login`, `logout` and `list`: the commands that only talk REST, each
//! call on the first of the login's servers that answers.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use meshdesk_client::Client;
use meshdesk_peer::{ServerList, ServerSetting};
use meshdesk_protocol::rest::Device;

use super::servers::Servers;
use super::{second_factor, table};
use crate::account::api::{self, rest_error, Call};
use crate::account::login_file::Login;
use crate::account::server_trust::TrustArgs;
use crate::ViewerError;

/// Environment variable that supplies the password without a prompt.
pub const PASSWORD_ENV: &str = "MESHDESK_PASSWORD";

/// Sign in on the first of `servers` that answers and save the token
/// with all of them, in order.
pub async fn login(
    path: &Path,
    servers: &[String],
    username: &str,
    trust_args: &TrustArgs,
) -> Result<(), ViewerError> {
    let trust = trust_args.trust()?;
    let urls = servers
        .iter()
        .map(|s| api::normalise_server(s))
        .collect::<Result<Vec<String>, ViewerError>>()?;
    let list =
        ServerList::new(urls.clone()).ok_or_else(|| ViewerError::BadUrl("(none given)".into()))?;
    let mut api = Servers::new(list, &trust, None)?;
    let password = read_password()?;
    let code = second_factor::code_from_env()?;
    let sign_in = async |api: &mut Servers, code: Option<&str>| {
        api.call(async |c: &Client| c.sign_in(username, &password, code).await)
            .await
    };
    let reply = match sign_in(&mut api, code.as_deref()).await {
        Err(meshdesk_client::Error::SecondFactor { .. }) if code.is_some() => {
            return Err(ViewerError::SecondFactor(format!(
                "wrong authentication code in {}",
                second_factor::TOTP_ENV
            )))
        }
        Err(meshdesk_client::Error::SecondFactor { methods, .. }) => {
            let code = second_factor::prompt_code(&methods)?;
            sign_in(&mut api, Some(&code)).await
        }
        other => other,
    }
    .map_err(|e| rest_error(e, Call::SignIn))?;
    let login = Login {
        server: ServerSetting::from_urls(urls),
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
        api.list().current(),
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
    let mut api = Servers::of_login(&login)?;
    if let Err(e) = api.call(async |c: &Client| c.sign_out().await).await {
        tracing::debug!(error = %e, "server logout failed; deleting the token anyway");
    }
    Login::remove(path)?;
    println!("logged out {} from {}", login.username, login.server);
    Ok(())
}

/// Print the devices as a table or JSON.
pub async fn list(path: &Path, json: bool) -> Result<(), ViewerError> {
    let (mut api, _login) = signed_in(path)?;
    let devices = api
        .call(async |c: &Client| c.devices().await)
        .await
        .map_err(|e| rest_error(e, Call::Authorized))?;
    if json {
        println!("{}", table::render_json(&devices));
    } else {
        print!("{}", table::render(&devices));
    }
    Ok(())
}

/// The stored login, checked for expiry, and clients of its servers.
pub fn signed_in(path: &Path) -> Result<(Servers, Login), ViewerError> {
    let login = Login::load(path)?;
    if login.expired(now_ms()) {
        return Err(ViewerError::LoginExpired);
    }
    Ok((Servers::of_login(&login)?, login))
}

/// Find the device to connect to and check that it can be reached.
pub async fn find_device(api: &mut Servers, wanted: &str) -> Result<Device, ViewerError> {
    let devices = api
        .call(async |c: &Client| c.devices().await)
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
