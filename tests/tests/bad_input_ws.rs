//! Bad input on both WebSocket endpoints: every bad message gets an error
//! with a stable code and the connection stays up; floods are rate-limited;
//! only a frame over the hard limit (1 MiB) closes that one connection,
//! and the server keeps serving everyone else.

use futures_util::SinkExt;
use meshdesk_protocol::signal::{
    ErrorCode, ErrorMsg, HostToServer, ServerToHost, ServerToViewer, ViewerToServer,
};
use meshdesk_tests::{Api, HostConn, Server, TestDevice, ViewerConn, WAIT};
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::Message;

/// What the tests need from either kind of connection.
enum Peer {
    Host(HostConn),
    Viewer(ViewerConn),
}

impl Peer {
    async fn frame(&mut self, m: Message) -> Result<(), String> {
        let ws = match self {
            Peer::Host(h) => &mut h.ws,
            Peer::Viewer(v) => &mut v.ws,
        };
        ws.send(m).await.map_err(|e| e.to_string())
    }

    async fn text(&mut self, t: &str) {
        self.frame(Message::text(t.to_string()))
            .await
            .expect("send");
    }

    /// The next message must be an error; returns it.
    async fn error(&mut self) -> ErrorMsg {
        match self {
            Peer::Host(h) => match h.recv().await {
                ServerToHost::Error(e) => e,
                other => panic!("host expected an error, got {other:?}"),
            },
            Peer::Viewer(v) => match v.recv().await {
                ServerToViewer::Error(e) => e,
                other => panic!("viewer expected an error, got {other:?}"),
            },
        }
    }

    /// Ping; true when the next message is the pong, false when it is `rate_limited`.
    async fn ping(&mut self) -> bool {
        match self {
            Peer::Host(h) => {
                h.send(&HostToServer::Ping).await;
                match h.recv().await {
                    ServerToHost::Pong => true,
                    ServerToHost::Error(e) if e.code == ErrorCode::RateLimited => false,
                    other => panic!("host expected pong, got {other:?}"),
                }
            }
            Peer::Viewer(v) => {
                v.send(&ViewerToServer::Ping).await;
                match v.recv().await {
                    ServerToViewer::Pong => true,
                    ServerToViewer::Error(e) if e.code == ErrorCode::RateLimited => false,
                    other => panic!("viewer expected pong, got {other:?}"),
                }
            }
        }
    }

    /// True when the server closed the connection (no message in between).
    async fn closed(&mut self) -> bool {
        match self {
            Peer::Host(h) => h.recv_or_closed().await.is_none(),
            Peer::Viewer(v) => v.recv_or_closed().await.is_none(),
        }
    }
}

/// A server, one connected host and one connected viewer (a user without devices).
struct Bench {
    server: Server,
    api: Api,
    dev: TestDevice,
    token: String,
}

impl Bench {
    async fn new(config: &str) -> Bench {
        let server = Server::start_with(config);
        let api = Api::new(&server);
        let owner = api.user("owner").await;
        let dev = TestDevice::enroll(&api, &api.code(&owner).await, "pc").await;
        let token = api.user("watcher").await;
        Bench {
            server,
            api,
            dev,
            token,
        }
    }

    async fn peers(&self) -> [Peer; 2] {
        [
            Peer::Host(HostConn::connect(&self.server, &self.dev).await),
            Peer::Viewer(ViewerConn::connect(&self.server, &self.token).await),
        ]
    }

    async fn still_serving(&self) {
        assert_eq!(
            self.api.call("GET", "/openapi.json", None, None).await.0,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn bad_messages_get_coded_errors_and_the_connection_stays_up() {
    let b = Bench::new("signup = \"open\"\n").await;
    let [host, viewer] = b.peers().await;
    let typed_wrong = [
        // Per endpoint: a known type with a wrong field type, and with a missing field.
        r#"{"type":"session_accept","session_id":5}"#,
        r#"{"type":"session_request","device_id":["dev"]}"#,
    ];
    for (i, mut p) in [host, viewer].into_iter().enumerate() {
        let cases: [(&str, ErrorCode); 11] = [
            ("hello", ErrorCode::Malformed),
            ("", ErrorCode::Malformed),
            (r#"{"type":"ping""#, ErrorCode::Malformed),
            (r#"{"type":"ping"} {"type":"ping"}"#, ErrorCode::Malformed),
            (r#"{"type":"launch_missiles"}"#, ErrorCode::UnknownType),
            (r#"{"type":"PING"}"#, ErrorCode::UnknownType),
            (typed_wrong[i], ErrorCode::Invalid),
            (
                r#"{"type":"offer","session_id":"ses_x"}"#,
                ErrorCode::Invalid,
            ),
            (r#"{"no_type":true}"#, ErrorCode::Invalid),
            (r#"{"type":7}"#, ErrorCode::Invalid),
            ("[1,2,3]", ErrorCode::Invalid),
        ];
        for (raw, code) in cases {
            p.text(raw).await;
            let e = p.error().await;
            assert_eq!(
                (e.code, e.session_id, e.request_id),
                (code, None, None),
                "{raw:?}: {}",
                e.message
            );
            assert!(!e.message.is_empty());
            assert!(p.ping().await, "connection must stay up after {raw:?}");
        }
        // 100 KiB of text: over the protocol limit, under the hard limit.
        let big = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(100 * 1024));
        p.text(&big).await;
        let e = p.error().await;
        let want = format!(
            "message of {} bytes exceeds the limit of 65536 bytes",
            big.len()
        );
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::TooLarge, want.as_str())
        );
        assert!(
            p.ping().await,
            "connection must stay up after a too large message"
        );
        // Binary frames are not protocol messages.
        p.frame(Message::binary(vec![0u8, 159, 146, 150]))
            .await
            .expect("send");
        let e = p.error().await;
        let want = "expected a JSON text message of at most 65536 bytes";
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::Malformed, want));
        assert!(
            p.ping().await,
            "connection must stay up after a binary frame"
        );
        // Unknown fields on a known type are ignored, like on the REST API.
        p.text(r#"{"type":"ping","extra":1}"#).await;
        match &mut p {
            Peer::Host(h) => assert_eq!(h.recv().await, ServerToHost::Pong),
            Peer::Viewer(v) => assert_eq!(v.recv().await, ServerToViewer::Pong),
        }
        b.still_serving().await;
    }
}

#[tokio::test]
async fn a_host_that_fails_the_handshake_is_told_why_and_closed() {
    let b = Bench::new("signup = \"open\"\n").await;
    let (mut h, _) = HostConn::open(&b.server).await;
    h.send_raw("not json").await;
    let mut p = Peer::Host(h);
    assert_eq!(p.error().await.code, ErrorCode::Malformed);
    assert!(p.closed().await);
    let (mut h, _) = HostConn::open(&b.server).await;
    h.send_raw(r#"{"type":"auth","protocol":1}"#).await;
    let mut p = Peer::Host(h);
    assert_eq!(p.error().await.code, ErrorCode::Invalid);
    assert!(p.closed().await);
    // A binary frame instead of auth: closed without a reply.
    let (h, _) = HostConn::open(&b.server).await;
    let mut p = Peer::Host(h);
    p.frame(Message::binary(vec![1u8, 2, 3]))
        .await
        .expect("send");
    assert!(p.closed().await);
    // The device itself still connects.
    let mut p = Peer::Host(HostConn::connect(&b.server, &b.dev).await);
    assert!(p.ping().await);
    b.still_serving().await;
}

#[tokio::test]
async fn floods_are_rate_limited_per_connection_and_the_connection_recovers() {
    let b = Bench::new("signup = \"open\"\nws_rate_per_sec = 1\nws_rate_burst = 5\n").await;
    let [host, viewer] = b.peers().await;
    for mut p in [host, viewer] {
        const FLOOD: usize = 20;
        for _ in 0..FLOOD {
            match &mut p {
                Peer::Host(h) => h.send(&HostToServer::Ping).await,
                Peer::Viewer(v) => v.send(&ViewerToServer::Ping).await,
            }
        }
        let mut replies = Vec::new();
        for _ in 0..FLOOD {
            replies.push(match &mut p {
                Peer::Host(h) => match h.recv().await {
                    ServerToHost::Pong => None,
                    ServerToHost::Error(e) => Some((e.code, e.message)),
                    other => panic!("unexpected {other:?}"),
                },
                Peer::Viewer(v) => match v.recv().await {
                    ServerToViewer::Pong => None,
                    ServerToViewer::Error(e) => Some((e.code, e.message)),
                    other => panic!("unexpected {other:?}"),
                },
            });
        }
        // The burst passes; then (refilling at 1/s) nearly everything is refused.
        assert!(replies[..5].iter().all(Option::is_none), "{replies:?}");
        let limited = (
            ErrorCode::RateLimited,
            "too many messages; slow down".to_string(),
        );
        assert!(
            replies.iter().flatten().all(|r| *r == limited),
            "{replies:?}"
        );
        assert!(replies.iter().flatten().count() >= 10, "{replies:?}");
        // Another connection has its own budget.
        let mut other = ViewerConn::connect(&b.server, &b.token).await;
        other.assert_quiet().await;
        b.still_serving().await;
        // The flooded connection stays up and recovers once the bucket refills.
        let deadline = tokio::time::Instant::now() + WAIT;
        while !p.ping().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no pong within {WAIT:?} after the flood"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test]
async fn a_frame_over_1_mib_closes_only_that_connection() {
    let b = Bench::new("signup = \"open\"\n").await;
    let [host, viewer] = b.peers().await;
    let mut bystander = ViewerConn::connect(&b.server, &b.token).await;
    for mut p in [host, viewer] {
        let huge = format!(
            r#"{{"type":"ping","pad":"{}"}}"#,
            "x".repeat(1024 * 1024 + 1)
        );
        // The server may reset the socket while the frame is still being
        // written, so the send itself may fail.
        let _ = p.frame(Message::text(huge)).await;
        assert!(
            p.closed().await,
            "a frame over 1 MiB must close the connection"
        );
        bystander.assert_quiet().await;
        b.still_serving().await;
    }
    // New connections of both kinds work.
    let [host, viewer] = b.peers().await;
    for mut p in [host, viewer] {
        assert!(p.ping().await);
    }
}
