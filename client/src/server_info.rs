//! What the server tells about itself: `GET /ice-servers` and the OpenAPI
//! document `GET /openapi.json`.

use meshdesk_protocol::rest::IceServers;
use reqwest::Method;

use crate::client::NO_BODY;
use crate::{Client, Result};

impl Client {
    /// `GET /ice-servers`: STUN and TURN servers (with time-limited TURN
    /// credentials) for a WebRTC session.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// for s in client.ice_servers().await?.ice_servers {
    ///     println!("{:?}", s.urls);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ice_servers(&self) -> Result<IceServers> {
        self.call(Method::GET, &["ice-servers"], NO_BODY).await
    }

    /// `GET /openapi.json`: the OpenAPI 3 document of the REST API, as JSON.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// let doc = client.openapi().await?;
    /// println!("{} paths", doc["paths"].as_object().map_or(0, |p| p.len()));
    /// # Ok(()) }
    /// ```
    pub async fn openapi(&self) -> Result<serde_json::Value> {
        self.call(Method::GET, &["openapi.json"], NO_BODY).await
    }
}
