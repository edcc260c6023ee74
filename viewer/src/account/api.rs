//! The viewer's use of the REST API, through `meshdesk-client`: the
//! mapping of failed calls to [`ViewerError`], and finding a device by name
//! or id. The clients of the login's servers are in
//! [`crate::account::servers`].

use meshdesk_peer::server_url;
use meshdesk_protocol::rest::Device;

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

/// Which kind of call failed: a 401 means different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `POST /login`: a 401 is a wrong username or password.
    SignIn,
    /// Any call with the stored token: a 401 is an expired login.
    Authorized,
}

/// The viewer's error for a failed REST call.
pub fn rest_error(e: meshdesk_client::Error, call: Call) -> ViewerError {
    use meshdesk_client::Error as E;
    match e {
        E::BadUrl(url) => ViewerError::BadUrl(url),
        E::Unreachable { url, reason } => ViewerError::Unreachable { url, reason },
        E::Tls(reason) => ViewerError::Tls(reason),
        E::BadReply(reason) => ViewerError::Server(format!("unexpected reply: {reason}")),
        E::TooManyAttempts { retry_after_secs } => ViewerError::TooManyAttempts(retry_after_secs),
        E::SecondFactor { .. } => ViewerError::SecondFactor("wrong authentication code".into()),
        E::Api { status: 401, .. } if call == Call::SignIn => ViewerError::WrongCredentials,
        E::Api { status: 401, .. } => ViewerError::LoginExpired,
        E::Api { status, message } => ViewerError::Server(format!("{status} ({message})")),
        other => ViewerError::Server(other.to_string()),
    }
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
            consent_owner: Default::default(),
            consent_shared: Default::default(),
            public_key: String::new(),
            screens: Vec::new(),
            sound: true,
            view_may_copy: false,
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
    fn a_401_means_wrong_credentials_or_an_expired_login() {
        let refused = || meshdesk_client::Error::Api {
            status: 401,
            message: "wrong username or password".into(),
        };
        assert!(matches!(
            rest_error(refused(), Call::SignIn),
            ViewerError::WrongCredentials
        ));
        assert!(matches!(
            rest_error(refused(), Call::Authorized),
            ViewerError::LoginExpired
        ));
        let other = meshdesk_client::Error::Api {
            status: 404,
            message: "no such device".into(),
        };
        assert_eq!(
            rest_error(other, Call::Authorized).to_string(),
            "server error: 404 (no such device)"
        );
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
