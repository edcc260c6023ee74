//! WebSocket endpoints: `/api/v1/ws/host` for devices and
//! `/api/v1/ws/viewer` for signed-in users. One task per connection, each
//! with its own tracing span, owned by the server's
//! [`Shutdown`](crate::shutdown::Shutdown), which tells it to close when the
//! server stops; malformed messages get an error reply and the connection
//! stays up.

pub mod host;
pub mod host_reports;
pub mod ratelimit;
pub mod viewer;

use std::future::Future;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use meshdesk_protocol::signal::{ErrorCode, ErrorMsg};
use meshdesk_protocol::{DecodeError, MAX_MESSAGE_BYTES};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::shutdown::{CLOSE_CODE, CLOSE_REASON, CLOSE_REPLY_WAIT};
use crate::state::AppState;

/// Frames above this close the connection; between the protocol
/// limit and this, the message is refused with an error and the connection
/// stays up.
const HARD_FRAME_LIMIT: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ws/host", get(host::upgrade))
        .route("/ws/viewer", get(viewer::upgrade))
}

/// Buffer sizes chosen for many idle connections: a small read buffer that
/// grows only for large messages. `write_buffer` is how much the socket
/// collects before writing: 0 writes every message at once (hosts); viewer
/// connections collect the parts of one fan-out and flush them together.
/// The buffer only grows to what is actually queued.
pub fn configure(ws: WebSocketUpgrade, write_buffer: usize) -> WebSocketUpgrade {
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(write_buffer)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(HARD_FRAME_LIMIT)
        .max_frame_size(HARD_FRAME_LIMIT)
}

/// Complete the upgrade and run `task` on the socket as a connection task
/// owned by the server's shutdown (see [`crate::shutdown`]). Refused with
/// 503 once shutdown has begun.
pub fn accept<F, Fut>(st: &AppState, ws: WebSocketUpgrade, task: F) -> Result<Response>
where
    F: FnOnce(WebSocket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    if st.shutdown.is_stopping() {
        return Err(Error::Unavailable(CLOSE_REASON));
    }
    let owner = st.shutdown.clone();
    Ok(ws.on_upgrade(move |socket| {
        // axum's own task for the upgrade ends here; ours is owned.
        owner.spawn(task(socket));
        std::future::ready(())
    }))
}

/// The server is stopping: send a close frame with [`CLOSE_CODE`] and
/// [`CLOSE_REASON`], then wait (at most [`CLOSE_REPLY_WAIT`]) for the
/// peer's close reply or the end of the connection.
pub async fn close_for_shutdown(socket: &mut WebSocket) {
    let frame = CloseFrame {
        code: CLOSE_CODE,
        reason: CLOSE_REASON.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let peer_gone = async {
        while let Some(Ok(msg)) = socket.recv().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_REPLY_WAIT, peer_gone).await;
}

/// Send one message as JSON text.
pub async fn send<T: Serialize>(
    socket: &mut WebSocket,
    msg: &T,
) -> std::result::Result<(), axum::Error> {
    socket
        .send(Message::text(meshdesk_protocol::encode(msg)))
        .await
}

/// Turn a decode failure into the error reply the peer gets.
pub fn decode_error(e: &DecodeError) -> ErrorMsg {
    let code = match e {
        DecodeError::TooLarge { .. } => ErrorCode::TooLarge,
        DecodeError::Malformed(_) => ErrorCode::Malformed,
        DecodeError::UnknownType(_) => ErrorCode::UnknownType,
        _ => ErrorCode::Invalid,
    };
    ErrorMsg {
        code,
        message: e.to_string(),
        session_id: None,
        request_id: None,
    }
}

/// What one received frame amounts to.
#[derive(Debug)]
pub enum Incoming {
    /// A text message to decode.
    Text(String),
    /// A frame that is not a protocol message (binary).
    NotText,
    /// Ping/pong frames: liveness only.
    Control,
    /// The peer sent a close frame: it is leaving on purpose.
    CloseFrame,
    /// The socket failed or ended without a close frame.
    Closed,
}

/// Classify a received frame.
pub fn classify(frame: Option<std::result::Result<Message, axum::Error>>) -> Incoming {
    match frame {
        Some(Ok(Message::Text(t))) => Incoming::Text(t.to_string()),
        Some(Ok(Message::Binary(_))) => Incoming::NotText,
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Incoming::Control,
        Some(Ok(Message::Close(_))) => Incoming::CloseFrame,
        Some(Err(_)) | None => Incoming::Closed,
    }
}

/// What the connection loop should do with one received frame.
#[derive(Debug)]
pub enum Admit<In> {
    /// A well-formed message within the rate limit.
    Message(In),
    /// Refused: send this error back and keep the connection.
    Refuse(ErrorMsg),
    /// Nothing to do (ping/pong frames).
    Skip,
    /// The peer closed (`said_so`: with a close frame) or the socket failed.
    Closed { said_so: bool },
}

/// Classify, rate-limit and decode one received frame. Every frame that
/// is not a WebSocket ping/pong counts against the rate limit, binary ones
/// included.
pub fn admit<In: serde::de::DeserializeOwned>(
    frame: Option<std::result::Result<Message, axum::Error>>,
    bucket: &mut ratelimit::TokenBucket,
) -> Admit<In> {
    let text = match classify(frame) {
        Incoming::CloseFrame => return Admit::Closed { said_so: true },
        Incoming::Closed => return Admit::Closed { said_so: false },
        Incoming::Control => return Admit::Skip,
        Incoming::Text(t) => Some(t),
        Incoming::NotText => None,
    };
    if !bucket.allow(std::time::Instant::now()) {
        return Admit::Refuse(ErrorMsg {
            code: ErrorCode::RateLimited,
            message: "too many messages; slow down".into(),
            session_id: None,
            request_id: None,
        });
    }
    let Some(text) = text else {
        return Admit::Refuse(binary_error());
    };
    match meshdesk_protocol::decode::<In>(&text) {
        Ok(msg) => Admit::Message(msg),
        Err(e) => {
            tracing::warn!(error = %e, "rejected message");
            Admit::Refuse(decode_error(&e))
        }
    }
}

/// The error for a binary frame.
pub fn binary_error() -> ErrorMsg {
    ErrorMsg {
        code: ErrorCode::Malformed,
        message: format!("expected a JSON text message of at most {MAX_MESSAGE_BYTES} bytes"),
        session_id: None,
        request_id: None,
    }
}
