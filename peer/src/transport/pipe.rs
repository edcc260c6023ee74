//! A data channel handed to the application whole: text and binary
//! messages in, text and binary out, for the `files` and `clipboard`
//! channels, which the host and viewer serve from tasks of their own.
//!
//! Every event of the channel is read at once and queued (unread events
//! stall the whole SCTP association, every channel with it). The queue is
//! bounded: the protocols on these channels keep the other side within a
//! window well below it ([`meshdesk_protocol::files::WINDOW_BYTES`]), so
//! only a peer that ignores its window waits, and only on its own session.
//! Sending waits while more than the connection's send-buffer limit is
//! outstanding on the channel, so a sender's memory stays bounded too.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use rtc::data_channel::RTCDataChannelState;
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

use crate::PeerError;

/// Messages queued for the application: more than a window of chunks.
const QUEUE: usize = 512;

/// What happened on the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipeEvent {
    /// The channel is open: sending works from now on.
    Open,
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// The channel closed (or the connection went away).
    Closed,
}

/// The sending half; cheap to clone.
#[derive(Clone)]
pub struct Pipe {
    channel: Arc<dyn DataChannel>,
    label: &'static str,
}

impl std::fmt::Debug for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipe").field("label", &self.label).finish()
    }
}

/// A channel's sending half and its events.
#[derive(Debug)]
pub struct PipeEnd {
    pub pipe: Pipe,
    pub events: mpsc::Receiver<PipeEvent>,
}

impl Pipe {
    /// Send a text message (waits while the channel's buffer is full).
    pub async fn send_text(&self, text: &str) -> Result<(), PeerError> {
        self.check_open().await?;
        self.channel
            .send_text(text)
            .await
            .map_err(PeerError::webrtc)
    }

    /// Send a binary message (waits while the channel's buffer is full).
    pub async fn send_binary(&self, data: &[u8]) -> Result<(), PeerError> {
        self.check_open().await?;
        self.channel
            .send(BytesMut::from(data))
            .await
            .map_err(PeerError::webrtc)
    }

    /// Bytes handed to the channel that SCTP has not released yet.
    pub async fn outstanding(&self) -> usize {
        self.channel.outstanding_bytes().await.unwrap_or(0)
    }

    /// The channel's label.
    pub fn label(&self) -> &'static str {
        self.label
    }

    /// Whether the channel is open.
    pub async fn is_open(&self) -> bool {
        matches!(
            self.channel.ready_state().await,
            Ok(RTCDataChannelState::Open)
        )
    }

    async fn check_open(&self) -> Result<(), PeerError> {
        match self.is_open().await {
            true => Ok(()),
            false => Err(PeerError::ChannelNotOpen(self.label)),
        }
    }

    pub(crate) async fn close(&self) {
        let _ = self.channel.close().await;
    }
}

/// Wrap `channel`; the returned future reads it until it closes and must
/// run (it is the reader).
pub(crate) fn adopt(
    channel: Arc<dyn DataChannel>,
    label: &'static str,
    open: bool,
) -> (
    PipeEnd,
    impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (tx, events) = mpsc::channel(QUEUE);
    let pipe = Pipe {
        channel: Arc::clone(&channel),
        label,
    };
    (PipeEnd { pipe, events }, read(channel, label, tx, open))
}

async fn read(
    channel: Arc<dyn DataChannel>,
    label: &'static str,
    tx: mpsc::Sender<PipeEvent>,
    already_open: bool,
) {
    if already_open && tx.send(PipeEvent::Open).await.is_err() {
        return;
    }
    // Once the application dropped its end, events are still read (and
    // dropped): the association must never wait on this channel.
    let mut tx = Some(tx);
    while let Some(event) = channel.poll().await {
        let event = match event {
            DataChannelEvent::OnOpen if !already_open => PipeEvent::Open,
            DataChannelEvent::OnMessage(message) if message.is_string => {
                match String::from_utf8(message.data.to_vec()) {
                    Ok(text) => PipeEvent::Text(text),
                    Err(_) => {
                        tracing::debug!(channel = label, "dropped a non-UTF-8 text message");
                        continue;
                    }
                }
            }
            DataChannelEvent::OnMessage(message) => PipeEvent::Binary(message.data.freeze()),
            DataChannelEvent::OnClose => break,
            _ => continue,
        };
        if let Some(sender) = &tx {
            if sender.send(event).await.is_err() {
                tx = None;
            }
        }
    }
    tracing::debug!(channel = label, "data channel closed");
    if let Some(sender) = tx {
        let _ = sender.send(PipeEvent::Closed).await;
    }
}
