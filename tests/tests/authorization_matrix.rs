//! The REST authorization matrix: every route under `/api/v1` against every
//! kind of caller, each cell asserting the exact status and error body.
//!
//! Callers: the device's owner, a user with a `control` share, a user with a
//! `view` share, a signed-in stranger, an anonymous caller, a made-up token
//! and a token that was signed out. Share holders may look but not manage;
//! strangers cannot tell the device exists (404); no token means 401.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use meshdesk_tests::clients::{assert_error, ws_upgrade};
use meshdesk_tests::{Api, Server, TestDevice};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Owner,
    Control,
    View,
    Stranger,
    Anonymous,
    BadToken,
    SignedOut,
}

/// Column order of the `want` arrays below.
const COLUMNS: [Actor; 7] = [
    Actor::Owner,
    Actor::Control,
    Actor::View,
    Actor::Stranger,
    Actor::Anonymous,
    Actor::BadToken,
    Actor::SignedOut,
];

/// Order in which a row is run: the owner last, so that its destructive
/// success (delete, revoke) does not change what the others see.
const RUN_ORDER: [Actor; 7] = [
    Actor::Anonymous,
    Actor::BadToken,
    Actor::SignedOut,
    Actor::Stranger,
    Actor::View,
    Actor::Control,
    Actor::Owner,
];

/// What one cell expects.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// This success status.
    Ok(u16),
    /// This status with exactly `{"error": message}`.
    Err(u16, &'static str),
}

const NO_TOKEN: Want = Want::Err(401, "sign in first");
const BAD_TOKEN: Want = Want::Err(401, "session expired or invalid; sign in again");
const NOT_OWNER: Want = Want::Err(403, "only the device's owner may do this");
const HIDDEN: Want = Want::Err(404, "device not found");
const OK: Want = Want::Ok(200);

/// One route, the body it is sent with, and the outcome per column.
struct Row {
    method: &'static str,
    /// `{dev}` is the shared device, `{doomed}` a shared device the owner
    /// deletes, `{nodev}` an id that never existed.
    path: &'static str,
    body: Option<fn(Actor) -> Value>,
    /// Use a fresh sign-in of the actor (for sign-out, which ends it).
    fresh_token: bool,
    want: [Want; 7],
}

fn signed_in(ok: Want) -> [Want; 7] {
    [ok, ok, ok, ok, NO_TOKEN, BAD_TOKEN, BAD_TOKEN]
}

fn owner_only(ok: Want) -> [Want; 7] {
    [
        ok, NOT_OWNER, NOT_OWNER, HIDDEN, NO_TOKEN, BAD_TOKEN, BAD_TOKEN,
    ]
}

fn viewable(ok: Want) -> [Want; 7] {
    [ok, ok, ok, HIDDEN, NO_TOKEN, BAD_TOKEN, BAD_TOKEN]
}

fn no_such_device() -> [Want; 7] {
    [
        HIDDEN, HIDDEN, HIDDEN, HIDDEN, NO_TOKEN, BAD_TOKEN, BAD_TOKEN,
    ]
}

fn rows() -> Vec<Row> {
    let row = |method, path, body, want| Row {
        method,
        path,
        body,
        fresh_token: false,
        want,
    };
    let new_account: fn(Actor) -> Value =
        |a| json!({"username": format!("new-{a:?}").to_lowercase(), "password": "password-123"});
    let rename: fn(Actor) -> Value = |_| json!({"name": "renamed pc"});
    let share: fn(Actor) -> Value = |_| json!({"username": "extra", "permission": "view"});
    let login: fn(Actor) -> Value = |_| json!({"username": "owner", "password": "password-123"});
    let bad_code: fn(Actor) -> Value = |_| {
        let key = STANDARD.encode(TestDevice::key().verifying_key().to_bytes());
        json!({"code": "AAAA-BBBB-CCCC-DDDD", "public_key": key, "name": "pc", "os": "TestOS"})
    };
    let anyone = |w| [w; 7];
    vec![
        // Routes that need no sign-in behave the same for every caller.
        row(
            "POST",
            "/accounts",
            Some(new_account),
            anyone(Want::Ok(201)),
        ),
        row("POST", "/login", Some(login), anyone(OK)),
        row(
            "POST",
            "/enroll",
            Some(bad_code),
            anyone(Want::Err(401, "enrollment code is not valid")),
        ),
        row("GET", "/openapi.json", None, anyone(OK)),
        // Signed-in routes not tied to a device.
        row("GET", "/me", None, signed_in(OK)),
        row("POST", "/enrollment-codes", None, signed_in(Want::Ok(201))),
        row("GET", "/devices", None, signed_in(OK)),
        row("GET", "/events", None, signed_in(OK)),
        row("GET", "/events/stream", None, signed_in(OK)),
        row("GET", "/ice-servers", None, signed_in(OK)),
        row("GET", "/account/factors", None, signed_in(OK)),
        // Starting TOTP enrollment changes nothing until it is confirmed.
        row("POST", "/account/totp", None, signed_in(OK)),
        Row {
            fresh_token: true,
            ..row("POST", "/logout", None, signed_in(Want::Ok(204)))
        },
        // A device's routes.
        row("GET", "/devices/{dev}", None, viewable(OK)),
        row("PATCH", "/devices/{dev}", Some(rename), owner_only(OK)),
        row("GET", "/devices/{dev}/shares", None, owner_only(OK)),
        row(
            "POST",
            "/devices/{dev}/shares",
            Some(share),
            owner_only(Want::Ok(201)),
        ),
        row(
            "DELETE",
            "/devices/{dev}/shares/extra",
            None,
            owner_only(Want::Ok(204)),
        ),
        row(
            "DELETE",
            "/devices/{doomed}",
            None,
            owner_only(Want::Ok(204)),
        ),
        // A device id that does not exist is indistinguishable from a hidden one.
        row("GET", "/devices/{nodev}", None, no_such_device()),
        row("PATCH", "/devices/{nodev}", Some(rename), no_such_device()),
        row("DELETE", "/devices/{nodev}", None, no_such_device()),
        row("GET", "/devices/{nodev}/shares", None, no_such_device()),
        row(
            "POST",
            "/devices/{nodev}/shares",
            Some(share),
            no_such_device(),
        ),
        row(
            "DELETE",
            "/devices/{nodev}/shares/extra",
            None,
            no_such_device(),
        ),
    ]
}

/// A server with the cast of callers and two devices shared with both share holders.
struct World {
    server: Server,
    api: Api,
    owner: String,
    control: String,
    view: String,
    stranger: String,
    signed_out: String,
    dev: TestDevice,
    doomed: TestDevice,
}

impl World {
    async fn new() -> World {
        let server = Server::start();
        let api = Api::new(&server);
        let owner = api.user("owner").await;
        let control = api.user("ctl").await;
        let view = api.user("looker").await;
        let stranger = api.user("stranger").await;
        api.user("extra").await;
        let signed_out = api.login("stranger").await;
        assert_eq!(
            api.call("POST", "/logout", Some(&signed_out), None).await.0,
            StatusCode::NO_CONTENT
        );
        let dev = TestDevice::enroll(&api, &api.code(&owner).await, "pc").await;
        let doomed = TestDevice::enroll(&api, &api.code(&owner).await, "old pc").await;
        for d in [&dev, &doomed] {
            api.share(&owner, &d.id, "ctl", "control").await;
            api.share(&owner, &d.id, "looker", "view").await;
        }
        World {
            server,
            api,
            owner,
            control,
            view,
            stranger,
            signed_out,
            dev,
            doomed,
        }
    }

    fn username(a: Actor) -> Option<&'static str> {
        match a {
            Actor::Owner => Some("owner"),
            Actor::Control => Some("ctl"),
            Actor::View => Some("looker"),
            Actor::Stranger => Some("stranger"),
            _ => None,
        }
    }

    async fn token(&self, a: Actor, fresh: bool) -> Option<String> {
        if fresh {
            if let Some(name) = World::username(a) {
                return Some(self.api.login(name).await);
            }
        }
        match a {
            Actor::Owner => Some(self.owner.clone()),
            Actor::Control => Some(self.control.clone()),
            Actor::View => Some(self.view.clone()),
            Actor::Stranger => Some(self.stranger.clone()),
            Actor::Anonymous => None,
            Actor::BadToken => Some("mdt_thisTokenWasNeverIssuedByTheServer0000000".into()),
            Actor::SignedOut => Some(self.signed_out.clone()),
        }
    }

    /// Send a request; an event stream's body is not read (it never ends).
    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.api.raw(method, path);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if ctype.starts_with("text/event-stream") {
            return (status, Value::String(ctype));
        }
        let text = resp.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        (status, value)
    }
}

#[tokio::test]
async fn every_rest_route_against_every_caller() {
    let w = World::new().await;
    let mut failures = Vec::new();
    for row in rows() {
        let path = row
            .path
            .replace("{dev}", &w.dev.id)
            .replace("{doomed}", &w.doomed.id)
            .replace("{nodev}", "dev_000000000000");
        for actor in RUN_ORDER {
            let col = COLUMNS.iter().position(|a| *a == actor).expect("column");
            let token = w.token(actor, row.fresh_token).await;
            let body = row.body.map(|f| f(actor));
            let (status, got) = w.send(row.method, &path, token.as_deref(), body).await;
            let ok = match row.want[col] {
                Want::Ok(s) => status.as_u16() == s && got.get("error").is_none(),
                Want::Err(s, msg) => status.as_u16() == s && got == json!({ "error": msg }),
            };
            if !ok {
                failures.push(format!(
                    "{} {} as {actor:?}: want {:?}, got {status} {got}",
                    row.method, row.path, row.want[col]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn each_caller_sees_exactly_its_devices_and_right() {
    let w = World::new().await;
    let expect = [
        (Actor::Owner, Some("owner")),
        (Actor::Control, Some("control")),
        (Actor::View, Some("view")),
        (Actor::Stranger, None),
    ];
    for (actor, perm) in expect {
        let token = w.token(actor, false).await;
        let (s, list) = w.send("GET", "/devices", token.as_deref(), None).await;
        assert_eq!(s, StatusCode::OK);
        let mut seen: Vec<(String, String)> = list
            .as_array()
            .expect("array")
            .iter()
            .map(|d| {
                (
                    d["id"].as_str().expect("id").into(),
                    d["permission"].as_str().expect("perm").into(),
                )
            })
            .collect();
        seen.sort();
        let mut want: Vec<(String, String)> = match perm {
            Some(p) => vec![
                (w.dev.id.clone(), p.into()),
                (w.doomed.id.clone(), p.into()),
            ],
            None => vec![],
        };
        want.sort();
        assert_eq!(seen, want, "{actor:?}");
        let (s, one) = w
            .send(
                "GET",
                &format!("/devices/{}", w.dev.id),
                token.as_deref(),
                None,
            )
            .await;
        match perm {
            Some(p) => {
                assert_eq!(s, StatusCode::OK, "{actor:?}");
                assert_eq!(
                    (one["permission"].as_str(), one["owner"].as_str()),
                    (Some(p), Some("owner"))
                );
            }
            None => assert_error((s, one), 404, "device not found"),
        }
    }
    // Only the owner reads the share list, and it names both holders.
    let (s, shares) = w
        .send(
            "GET",
            &format!("/devices/{}/shares", w.dev.id),
            Some(&w.owner),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut names: Vec<&str> = shares
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|s| s["username"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["ctl", "looker"]);
}

#[tokio::test]
async fn share_holders_cannot_escalate() {
    let w = World::new().await;
    let shares = format!("/devices/{}/shares", w.dev.id);
    for token in [&w.control, &w.view] {
        // Not to themselves, not to others, not by revoking someone else.
        for (user, perm) in [
            ("ctl", "control"),
            ("looker", "control"),
            ("stranger", "view"),
        ] {
            let body = json!({"username": user, "permission": perm});
            assert_error(
                w.send("POST", &shares, Some(token), Some(body)).await,
                403,
                "only the device's owner may do this",
            );
        }
        let revoke = format!("{shares}/looker");
        assert_error(
            w.send("DELETE", &revoke, Some(token), None).await,
            403,
            "only the device's owner may do this",
        );
    }
    // `owner` is not a permission that can be granted.
    let body = json!({"username": "stranger", "permission": "owner"});
    let (s, b) = w.send("POST", &shares, Some(&w.owner), Some(body)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown variant `owner`")),
        "{b}"
    );
    // Nothing changed: the view holder still has view.
    let (_, one) = w
        .send(
            "GET",
            &format!("/devices/{}", w.dev.id),
            Some(&w.view),
            None,
        )
        .await;
    assert_eq!(one["permission"], "view");
}

#[tokio::test]
async fn websocket_upgrades_need_a_valid_token_for_viewers_only() {
    let w = World::new().await;
    for actor in COLUMNS {
        let token = w.token(actor, false).await;
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let viewer = ws_upgrade(&w.server, "viewer", &headers).await.map(|_| ());
        let want = match actor {
            Actor::Anonymous | Actor::BadToken | Actor::SignedOut => Err(401),
            _ => Ok(()),
        };
        assert_eq!(viewer, want, "viewer upgrade as {actor:?}");
        // Hosts authenticate in-band with their key, so the upgrade itself is open.
        assert_eq!(
            ws_upgrade(&w.server, "host", &headers).await.map(|_| ()),
            Ok(()),
            "host upgrade as {actor:?}"
        );
    }
}
