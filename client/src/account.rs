//! Accounts and sign-in: `POST /accounts`, `/login`, `/logout`, `GET /me`.

use meshdesk_protocol::rest::{Account, Credentials, LoginResponse, Me};
use reqwest::Method;
use serde::Serialize;

use crate::client::NO_BODY;
use crate::{Client, Result};

/// The body of `POST /login`; `totp` only when given.
#[derive(Serialize)]
struct SignIn<'a> {
    username: &'a str,
    password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    totp: Option<&'a str>,
}

impl Client {
    /// `POST /login`: signs in with a password (and a TOTP code when the
    /// account has one). Use the returned token with
    /// [`Client::with_token`].
    ///
    /// A 401 that asks for a second factor is
    /// [`Error::SecondFactor`](crate::Error::SecondFactor); sign in again
    /// with `totp`. Too many failures are
    /// [`Error::TooManyAttempts`](crate::Error::TooManyAttempts).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), meshdesk_client::Error> {
    /// let client = meshdesk_client::Client::new("http://127.0.0.1:8080")?;
    /// let login = client.sign_in("alice", "a long password", None).await?;
    /// let client = client.with_token(login.token);
    /// println!("signed in as {}", client.me().await?.username);
    /// # Ok(()) }
    /// ```
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        totp: Option<&str>,
    ) -> Result<LoginResponse> {
        let body = SignIn {
            username,
            password,
            totp,
        };
        self.call(Method::POST, &["login"], Some(&body)).await
    }

    /// `POST /accounts`: creates an account (whether anyone may depends on
    /// the server's `signup` setting). It does not sign in.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// let account = client.sign_up("alice", "a long password").await?;
    /// assert_eq!(account.username, "alice");
    /// # Ok(()) }
    /// ```
    pub async fn sign_up(&self, username: &str, password: &str) -> Result<Account> {
        let body = Credentials {
            username: username.into(),
            password: password.into(),
        };
        self.call(Method::POST, &["accounts"], Some(&body)).await
    }

    /// `POST /logout`: ends this client's sign-in on the server (its token
    /// stops working, its feed streams end).
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// client.sign_out().await?;
    /// # Ok(()) }
    /// ```
    pub async fn sign_out(&self) -> Result<()> {
        self.call_empty(Method::POST, &["logout"], NO_BODY).await
    }

    /// `GET /me`: who this client's token belongs to.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// let me = client.me().await?;
    /// println!("{} (admin: {})", me.username, me.is_admin);
    /// # Ok(()) }
    /// ```
    pub async fn me(&self) -> Result<Me> {
        self.call(Method::GET, &["me"], NO_BODY).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_is_sent_only_when_given() {
        let without = SignIn {
            username: "a",
            password: "p",
            totp: None,
        };
        assert_eq!(
            serde_json::to_string(&without).expect("json"),
            r#"{"username":"a","password":"p"}"#
        );
        let with = SignIn {
            totp: Some("123456"),
            ..without
        };
        assert_eq!(
            serde_json::to_string(&with).expect("json"),
            r#"{"username":"a","password":"p","totp":"123456"}"#
        );
    }
}
