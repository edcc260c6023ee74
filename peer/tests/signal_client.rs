//! The signaling client against a tiny local WebSocket server: typed
//! messages both ways, the bearer header, bad input, heartbeats and a
//! server that goes silent.

mod common;

use std::time::Duration;

use common::{within, STEP};
use futures_util::{SinkExt, StreamExt};
use meshdesk_peer::{BearerToken, ConnectOptions, PeerError, SignalClient};
use meshdesk_protocol::signal::{ServerToViewer, ViewerToServer};
use meshdesk_protocol::{encode, PROTOCOL_VERSION};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

/// Accept one WebSocket connection, reporting the Authorization header.
#[allow(clippy::result_large_err)] // The callback's signature is tungstenite's.
async fn accept_one(
    listener: &TcpListener,
) -> (
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    Option<String>,
) {
    let (tcp, _) = listener.accept().await.expect("accept");
    let (auth_tx, auth_rx) = oneshot::channel();
    let ws = tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, resp: Response| {
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let _ = auth_tx.send(auth);
        Ok(resp)
    })
    .await
    .expect("handshake");
    (ws, auth_rx.await.expect("header seen"))
}

#[tokio::test]
async fn viewer_messages_round_trip_with_a_bearer_token() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "ws://{}/api/v1/ws/viewer",
        listener.local_addr().expect("addr")
    );
    let server = tokio::spawn(async move {
        let (mut ws, auth) = accept_one(&listener).await;
        assert_eq!(auth.as_deref(), Some("Bearer s3cret"));
        let welcome = ServerToViewer::Welcome {
            protocol: PROTOCOL_VERSION,
            username: "alice".into(),
        };
        ws.send(Message::text(encode(&welcome)))
            .await
            .expect("send");
        ws.send(Message::text("{not json")).await.expect("send");
        // Echo the viewer's ping as a pong, like the real server.
        while let Some(Ok(frame)) = ws.next().await {
            if let Message::Text(text) = frame {
                let msg: ViewerToServer = meshdesk_protocol::decode(&text).expect("typed");
                assert_eq!(msg, ViewerToServer::Ping);
                ws.send(Message::text(encode(&ServerToViewer::Pong)))
                    .await
                    .expect("pong");
            }
        }
    });

    let options = ConnectOptions::default().with_bearer(BearerToken::new("s3cret"));
    assert!(
        !format!("{options:?}").contains("s3cret"),
        "token leaks in Debug"
    );
    let (tx, mut rx) = SignalClient::<ViewerToServer, ServerToViewer>::connect(&url, options)
        .await
        .expect("connect");
    let first = within(STEP, "welcome", rx.recv()).await.expect("open");
    assert!(
        matches!(first, Ok(ServerToViewer::Welcome { ref username, .. }) if username == "alice")
    );
    let bad = within(STEP, "bad message", rx.recv()).await.expect("open");
    assert!(matches!(bad, Err(PeerError::Decode(_))), "got {bad:?}");

    tx.send(ViewerToServer::Ping).await.expect("send ping");
    let pong = within(STEP, "pong", rx.recv()).await.expect("open");
    assert_eq!(pong.expect("decodes"), ServerToViewer::Pong);

    tx.close().await;
    assert!(within(STEP, "end", rx.recv()).await.is_none());
    within(STEP, "server end", server).await.expect("server ok");
}

#[tokio::test]
async fn heartbeats_are_sent_and_a_silent_server_is_detected() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "ws://{}/api/v1/ws/host",
        listener.local_addr().expect("addr")
    );
    let (pinged_tx, pinged_rx) = oneshot::channel();
    let server = tokio::spawn(async move {
        let (mut ws, auth) = accept_one(&listener).await;
        assert_eq!(auth, None);
        // Wait for the first ping, then go silent: stop reading, so no pong
        // is ever sent, while keeping the TCP connection open.
        while let Some(Ok(frame)) = ws.next().await {
            if matches!(frame, Message::Ping(_)) {
                let _ = pinged_tx.send(());
                break;
            }
        }
        std::future::pending::<()>().await;
        drop(ws);
    });

    let options = ConnectOptions::default()
        .with_heartbeat(Duration::from_millis(100), Duration::from_millis(500));
    let (_tx, mut rx) = SignalClient::<
        meshdesk_protocol::signal::HostToServer,
        meshdesk_protocol::signal::ServerToHost,
    >::connect(&url, options)
    .await
    .expect("connect");
    within(STEP, "a ping", pinged_rx).await.expect("pinged");
    let failure = within(STEP, "heartbeat timeout", rx.recv()).await;
    assert!(
        matches!(failure, Some(Err(PeerError::WebSocket(ref reason))) if reason.contains("heartbeat")),
        "got {failure:?}"
    );
    assert!(within(STEP, "end", rx.recv()).await.is_none());
    server.abort();
}

#[tokio::test]
async fn a_refused_connection_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "ws://{}/api/v1/ws/viewer",
        listener.local_addr().expect("addr")
    );
    drop(listener);
    let result =
        SignalClient::<ViewerToServer, ServerToViewer>::connect(&url, ConnectOptions::default())
            .await;
    assert!(matches!(result, Err(PeerError::WebSocket(_))));
    let bad = SignalClient::<ViewerToServer, ServerToViewer>::connect(
        "not a url",
        ConnectOptions::default(),
    )
    .await;
    assert!(matches!(bad, Err(PeerError::InvalidRequest(_))));
}

#[tokio::test]
async fn a_refused_upgrade_says_its_status_and_no_answer_says_none() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.expect("accept");
        let mut request = [0u8; 1024];
        let _ = tcp.read(&mut request).await;
        tcp.write_all(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n")
            .await
            .expect("answer");
    });
    let url = format!("ws://{addr}/api/v1/ws/viewer");
    let refused = within(
        STEP,
        "the refusal",
        SignalClient::<ViewerToServer, ServerToViewer>::connect(&url, ConnectOptions::default()),
    )
    .await
    .expect_err("refused");
    assert_eq!(refused.status(), Some(401), "{refused}");
    assert!(refused.to_string().contains("401"), "{refused}");
    server.await.expect("server");

    // Nobody listens there any more: no answer, no status.
    let unreachable = within(
        STEP,
        "no answer",
        SignalClient::<ViewerToServer, ServerToViewer>::connect(&url, ConnectOptions::default()),
    )
    .await
    .expect_err("nobody there");
    assert_eq!(unreachable.status(), None, "{unreachable}");
}
