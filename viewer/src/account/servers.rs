//! The login's servers for REST calls: one `meshdesk-client` [`Client`]
//! per URL, tried in order ([`ServerList`]). A call goes to the server that
//! last answered; when nobody answers there (or a gateway in front says its
//! node is gone) it goes to the next, until one answers or every one
//! failed. An answer, a 4xx above all, is final: another node of the same
//! service would say the same.

use meshdesk_client::{Client, Error, Trust};
use meshdesk_peer::server_list::{worth_another, Next};
use meshdesk_peer::ServerList;

use crate::account::api::{rest_error, Call};
use crate::account::login_file::Login;
use crate::ViewerError;

/// REST clients of the login's servers, and where the rotation stands.
#[derive(Debug)]
pub struct Servers {
    /// One per URL of `list`, in its order.
    clients: Vec<Client>,
    /// The URLs; the current one is where the next call goes first.
    list: ServerList,
}

impl Servers {
    /// Clients of `list`, verifying `https://` servers as `trust` says,
    /// sending `token` when given.
    pub fn new(list: ServerList, trust: &Trust, token: Option<&str>) -> Result<Self, ViewerError> {
        let clients = list
            .urls()
            .iter()
            .map(|url| {
                let client =
                    Client::with_trust(url, trust).map_err(|e| rest_error(e, Call::Authorized))?;
                Ok(match token {
                    Some(t) => client.with_token(t),
                    None => client,
                })
            })
            .collect::<Result<Vec<Client>, ViewerError>>()?;
        Ok(Servers { clients, list })
    }

    /// Clients of the stored login's servers, with its token.
    pub fn of_login(login: &Login) -> Result<Self, ViewerError> {
        // Checked when the file was loaded.
        let list = login
            .server
            .list()
            .map_err(|e| ViewerError::BadUrl(e.to_string()))?;
        let trust = crate::account::server_trust::of_login(login)?;
        Servers::new(list, &trust, Some(&login.token))
    }

    /// The URLs, the one that last answered current: where the viewer
    /// WebSocket goes first.
    pub fn list(&self) -> &ServerList {
        &self.list
    }

    /// Make a call, on the next server whenever one cannot be reached.
    /// When every server failed: that error for one server, else an
    /// [`Error::Unreachable`] naming each with its reason.
    pub async fn call<T>(
        &mut self,
        mut call: impl AsyncFnMut(&Client) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut failures = Vec::new();
        loop {
            let client = &self.clients[self.list.index()];
            match call(client).await {
                Err(e) if moves_on(&e) => {
                    failures.push((client.server().to_string(), e));
                    if self.list.failed() == Next::RoundOver {
                        return Err(every_one_failed(failures));
                    }
                    if let Some((server, e)) = failures.last() {
                        tracing::debug!(%server, error = %e, next = self.list.current(), "no answer; trying the next server");
                    }
                }
                answered => {
                    self.list.connected();
                    return answered;
                }
            }
        }
    }
}

/// Whether a failed call is worth making on the next server: nobody
/// answered, or a gateway said its node is gone.
fn moves_on(e: &Error) -> bool {
    match e {
        Error::Unreachable { .. } => worth_another(None),
        Error::Api { status, .. } => worth_another(Some(*status)),
        _ => false,
    }
}

/// The error once every server failed: as it was for one server, else
/// each server with what went wrong there.
fn every_one_failed(mut failures: Vec<(String, Error)>) -> Error {
    if failures.len() == 1 {
        return failures.remove(0).1;
    }
    let urls: Vec<&str> = failures.iter().map(|(url, _)| url.as_str()).collect();
    let reasons: Vec<String> = failures
        .iter()
        .map(|(url, e)| match e {
            Error::Unreachable { reason, .. } => format!("{url}: {reason}"),
            other => format!("{url}: {other}"),
        })
        .collect();
    Error::Unreachable {
        url: format!("any of {}", urls.join(", ")),
        reason: reasons.join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable(url: &str) -> Error {
        Error::Unreachable {
            url: url.into(),
            reason: "Connection refused".into(),
        }
    }

    fn servers(urls: &[&str]) -> Servers {
        let list = ServerList::new(urls.iter().map(|u| u.to_string()).collect()).expect("some");
        Servers::new(list, &Trust::System, Some("t")).expect("clients")
    }

    #[test]
    fn only_no_answer_or_a_gateway_moves_on() {
        assert!(moves_on(&unreachable("http://a")));
        let answered = |status| Error::Api {
            status,
            message: "m".into(),
        };
        assert!(moves_on(&answered(502)) && moves_on(&answered(503)));
        assert!(!moves_on(&answered(401)) && !moves_on(&answered(404)));
        assert!(!moves_on(&Error::TooManyAttempts {
            retry_after_secs: 1
        }));
        assert!(!moves_on(&Error::BadReply("cut short".into())));
    }

    #[test]
    fn one_server_fails_as_before_and_several_are_each_named() {
        let one = every_one_failed(vec![("http://a".into(), unreachable("http://a"))]);
        assert_eq!(
            one.to_string(),
            "cannot reach the server at http://a: Connection refused"
        );
        let two = every_one_failed(vec![
            ("http://a".into(), unreachable("http://a")),
            (
                "http://b".into(),
                Error::Api {
                    status: 502,
                    message: "no error message".into(),
                },
            ),
        ]);
        assert_eq!(
            two.to_string(),
            "cannot reach the server at any of http://a, http://b: \
             http://a: Connection refused; http://b: server answered 502: no error message"
        );
    }

    #[tokio::test]
    async fn a_call_goes_on_to_the_next_server_and_stays_on_the_one_that_answered() {
        let mut s = servers(&["http://a:1", "http://b:2", "http://c:3"]);
        let mut asked = Vec::new();
        let got = s
            .call(async |c: &Client| {
                asked.push(c.server().to_string());
                match c.server() {
                    "http://b:2" => Ok("b answered"),
                    other => Err(unreachable(other)),
                }
            })
            .await;
        assert_eq!(got.expect("b"), "b answered");
        assert_eq!(asked, ["http://a:1", "http://b:2"]);
        assert_eq!(
            s.list().current(),
            "http://b:2",
            "the next call starts there"
        );

        // A refusal is final: C is not asked.
        let refused = s
            .call(async |_c: &Client| -> Result<(), Error> {
                Err(Error::Api {
                    status: 401,
                    message: "expired".into(),
                })
            })
            .await;
        assert!(matches!(refused, Err(Error::Api { status: 401, .. })));
        assert_eq!(s.list().current(), "http://b:2");

        // Nobody answers: each is asked once, and named.
        let mut asked = Vec::new();
        let e = s
            .call(async |c: &Client| -> Result<(), Error> {
                asked.push(c.server().to_string());
                Err(unreachable(c.server()))
            })
            .await
            .expect_err("none answers");
        assert_eq!(asked, ["http://b:2", "http://c:3", "http://a:1"]);
        assert!(
            e.to_string()
                .starts_with("cannot reach the server at any of"),
            "{e}"
        );
    }
}
