//! The REST calls the viewer makes (`POST /login`, `GET /devices`) and the
//! mapping of their failures to [`ViewerError`].

use meshdesk_peer::server_url;
use meshdesk_protocol::rest::{Credentials, Device, ErrorBody, LoginResponse};
use reqwest::StatusCode;

use crate::account::login_file::Login;
use crate::ViewerError;

/// Check and normalise a server base URL (`http(s)://host[:port]`, no
/// trailing slash).
pub fn normalise_server(url: &str) -> Result<String, ViewerError> {
    server_url::normalise_server(url).ok_or_else(|| ViewerError::BadUrl(url.to_string()))
}

/// The viewer WebSocket URL of a normalised server URL.
pub fn viewer_ws_url(server: &str) -> String {
    server_url::websocket_url(server, "/api/v1/ws/viewer")
}

/// A REST client bound to one server.
#[derive(Debug, Clone)]
pub struct Api {
    /// Normalised base URL.
    server: String,
    /// Connection pool.
    http: reqwest::Client,
}

impl Api {
    pub fn new(server: &str) -> Result<Api, ViewerError> {
        Ok(Api {
            server: normalise_server(server)?,
            http: reqwest::Client::new(),
        })
    }

    /// The normalised server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// `POST /login`.
    pub async fn login(&self, credentials: &Credentials) -> Result<LoginResponse, ViewerError> {
        let resp = self
            .http
            .post(self.url("/login"))
            .json(credentials)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        match resp.status() {
            StatusCode::OK => resp.json().await.map_err(|e| self.bad_reply(&e)),
            StatusCode::UNAUTHORIZED => Err(ViewerError::WrongCredentials),
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                Err(ViewerError::TooManyAttempts(wait))
            }
            status => Err(error_reply(status, resp).await),
        }
    }

    /// `GET /devices`: every device this user may see, sorted by name.
    pub async fn devices(&self, login: &Login) -> Result<Vec<Device>, ViewerError> {
        let resp = self
            .authorized(self.http.get(self.url("/devices")), login)
            .await?;
        resp.json().await.map_err(|e| self.bad_reply(&e))
    }

    /// `POST /logout`: invalidate the token on the server.
    pub async fn logout(&self, login: &Login) -> Result<(), ViewerError> {
        self.authorized(self.http.post(self.url("/logout")), login)
            .await
            .map(drop)
    }

    /// Send a request with the login's bearer token; 401 means the login expired.
    async fn authorized(
        &self,
        request: reqwest::RequestBuilder,
        login: &Login,
    ) -> Result<reqwest::Response, ViewerError> {
        let resp = request
            .bearer_auth(&login.token)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        match resp.status() {
            s if s.is_success() => Ok(resp),
            StatusCode::UNAUTHORIZED => Err(ViewerError::LoginExpired),
            status => Err(error_reply(status, resp).await),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.server)
    }

    fn unreachable(&self, e: &reqwest::Error) -> ViewerError {
        ViewerError::Unreachable {
            url: self.server.clone(),
            reason: root_cause(e),
        }
    }

    fn bad_reply(&self, e: &reqwest::Error) -> ViewerError {
        ViewerError::Server(format!("unexpected reply: {}", root_cause(e)))
    }
}

/// The `{"error": ...}` text of a failed reply, with its status.
async fn error_reply(status: StatusCode, resp: reqwest::Response) -> ViewerError {
    let message = resp
        .json::<ErrorBody>()
        .await
        .map(|b| b.error)
        .unwrap_or_else(|_| "no error message".into());
    ViewerError::Server(format!("{} ({message})", status.as_u16()))
}

/// The innermost error text (reqwest's outer text is "error sending request").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Find a device by id, or else by exact name, or else by name ignoring case.
pub fn resolve<'a>(devices: &'a [Device], wanted: &str) -> Result<&'a Device, ViewerError> {
    if let Some(d) = devices.iter().find(|d| d.id == wanted) {
        return Ok(d);
    }
    let exact: Vec<&Device> = devices.iter().filter(|d| d.name == wanted).collect();
    let matches = if exact.is_empty() {
        devices
            .iter()
            .filter(|d| d.name.eq_ignore_ascii_case(wanted))
            .collect()
    } else {
        exact
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(ViewerError::UnknownDevice(wanted.to_string())),
        many => Err(ViewerError::AmbiguousDevice {
            name: wanted.to_string(),
            count: many.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use meshdesk_protocol::rest::Permission;

    use super::*;

    fn device(id: &str, name: &str) -> Device {
        Device {
            id: id.into(),
            name: name.into(),
            os: "Linux".into(),
            owner: "alice".into(),
            online: true,
            permission: Permission::Owner,
            created_at: 0,
            last_seen: None,
        }
    }

    #[test]
    fn urls_are_checked_and_normalised() {
        assert_eq!(
            normalise_server(" http://127.0.0.1:8080/ ").expect("ok"),
            "http://127.0.0.1:8080"
        );
        assert!(matches!(
            normalise_server("127.0.0.1:8080"),
            Err(ViewerError::BadUrl(_))
        ));
        assert!(normalise_server("http://").is_err());
        assert_eq!(
            viewer_ws_url("http://h:1"),
            "ws://h:1/api/v1/ws/viewer".to_string()
        );
        assert_eq!(viewer_ws_url("https://h"), "wss://h/api/v1/ws/viewer");
    }

    #[test]
    fn resolves_by_id_then_name_then_any_case() {
        let devices = [
            device("dev_1", "office"),
            device("dev_2", "Laptop"),
            device("dev_3", "twin"),
            device("dev_4", "twin"),
        ];
        assert_eq!(resolve(&devices, "dev_2").expect("id").name, "Laptop");
        assert_eq!(resolve(&devices, "office").expect("name").id, "dev_1");
        assert_eq!(resolve(&devices, "laptop").expect("case").id, "dev_2");
        assert!(matches!(
            resolve(&devices, "nope"),
            Err(ViewerError::UnknownDevice(_))
        ));
        assert!(matches!(
            resolve(&devices, "twin"),
            Err(ViewerError::AmbiguousDevice { count: 2, .. })
        ));
    }
}
