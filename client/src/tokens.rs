//! Personal API tokens: `POST`/`GET /tokens`, `DELETE /tokens/{id}`.

use meshdesk_protocol::rest::{CreatedToken, NewToken, TokenInfo};
use reqwest::Method;

use crate::client::NO_BODY;
use crate::{Client, Result};

impl Client {
    /// `POST /tokens`: a new API token with `scopes`; its secret is in the
    /// reply only, once.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// use meshdesk_client::rest::{NewToken, Scope};
    /// let created = client
    ///     .create_token(&NewToken {
    ///         name: "alerts".into(),
    ///         scopes: vec![Scope::DevicesRead, Scope::EventsRead],
    ///         expires_at: None,
    ///     })
    ///     .await?;
    /// let alerts = meshdesk_client::Client::new(client.server())?.with_token(created.token);
    /// # drop(alerts); Ok(()) }
    /// ```
    pub async fn create_token(&self, token: &NewToken) -> Result<CreatedToken> {
        self.call(Method::POST, &["tokens"], Some(token)).await
    }

    /// `GET /tokens`: this user's API tokens, without their secrets.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// for t in client.tokens().await? {
    ///     println!("{} {} last used {:?}", t.id, t.name, t.last_used_at);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.call(Method::GET, &["tokens"], NO_BODY).await
    }

    /// `DELETE /tokens/{id}`: revokes a token at once (its open streams
    /// end too).
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// client.revoke_token(7).await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke_token(&self, id: i64) -> Result<()> {
        let id = id.to_string();
        self.call_empty(Method::DELETE, &["tokens", &id], NO_BODY)
            .await
    }
}
