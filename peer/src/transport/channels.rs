//! Reading, writing and closing the `input` and `control` data channels.

use std::sync::Arc;

use rtc::data_channel::RTCDataChannelState;
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

use crate::PeerError;

/// Which events a channel reader produces.
pub(crate) struct ChannelEvents<E> {
    /// Turns a text message into an event; `None` drops messages.
    pub(crate) message: Option<fn(String) -> E>,
    /// Sent when the channel opens.
    pub(crate) open: Option<E>,
    /// Sent when the channel closes (or the connection goes away).
    pub(crate) close: Option<E>,
}

/// Read a data channel until it closes, turning what happens into events.
/// Binary messages are accepted if they are UTF-8 (some clients send text as
/// binary); anything else is dropped with a log line.
pub(crate) async fn pump_text<E>(
    channel: Arc<dyn DataChannel>,
    label: &'static str,
    events: mpsc::Sender<E>,
    mut produce: ChannelEvents<E>,
) {
    while let Some(event) = channel.poll().await {
        match event {
            DataChannelEvent::OnMessage(message) => {
                let Some(wrap) = produce.message else {
                    continue;
                };
                match String::from_utf8(message.data.to_vec()) {
                    Ok(text) => {
                        if events.send(wrap(text)).await.is_err() {
                            return;
                        }
                    }
                    Err(_) => tracing::debug!(channel = label, "dropped a non-UTF-8 message"),
                }
            }
            DataChannelEvent::OnOpen => {
                tracing::debug!(channel = label, "data channel open");
                if let Some(event) = produce.open.take() {
                    if events.send(event).await.is_err() {
                        return;
                    }
                }
            }
            DataChannelEvent::OnClose => {
                tracing::debug!(channel = label, "data channel closed");
                break;
            }
            _ => {}
        }
    }
    if let Some(event) = produce.close {
        let _ = events.send(event).await;
    }
}

/// Send text on an open channel.
pub(crate) async fn send_text(
    channel: &Arc<dyn DataChannel>,
    label: &'static str,
    text: &str,
) -> Result<(), PeerError> {
    match channel.ready_state().await {
        Ok(RTCDataChannelState::Open) => {}
        _ => return Err(PeerError::ChannelNotOpen(label)),
    }
    channel.send_text(text).await.map_err(PeerError::webrtc)
}

/// Close data channels, ignoring those already closed.
pub(crate) async fn close_channels(channels: &[&Arc<dyn DataChannel>]) {
    for channel in channels {
        let _ = channel.close().await;
    }
}
