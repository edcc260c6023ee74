//! The `clipboard` channel of one session: local changes are offered to
//! the other side, what it offers is taken into the local clipboard, as
//! [`ClipSync`] allows. Runs as a task of its own beside the session.

use std::sync::Arc;

use meshdesk_peer::{Pipe, PipeEnd, PipeEvent};
use meshdesk_protocol::clipboard::{decode_clip, ClipKind, ClipMsg, CLIP_CHUNK_BYTES};
use meshdesk_protocol::encode;
use tokio::sync::broadcast::error::RecvError;

use crate::sync::{Offered, Outgoing};
use crate::{ClipSync, Content, X11Clipboard};

/// An offer whose data is arriving.
struct Arriving {
    kind: ClipKind,
    size: usize,
    data: Vec<u8>,
    /// Refused: the data is read and dropped.
    keep: bool,
}

/// Serve the channel until it closes. `offer_current`: offer what the
/// clipboard holds once the channel opens (the host does, so a viewer can
/// paste what was copied before it connected; the viewer does not, or
/// the two would swap). `trusted` resolves `true` once the other side is
/// known to be who it should be (the viewer: the host's DTLS binding
/// verified): until then the channel is read, but nothing is offered and
/// what arrives waits (the latest only) instead of reaching the clipboard.
pub async fn serve(
    end: PipeEnd,
    mut sync: ClipSync,
    clipboard: Arc<X11Clipboard>,
    offer_current: bool,
    trusted: impl std::future::Future<Output = bool>,
) {
    let PipeEnd { pipe, mut events } = end;
    let mut changes = clipboard.subscribe();
    let mut open = false;
    let mut arriving: Option<Arriving> = None;
    let mut refused = 0u64;
    let mut gate = Gate {
        trusted: false,
        held: None,
    };
    tokio::pin!(trusted);
    loop {
        tokio::select! {
            ok = &mut trusted, if !gate.trusted => {
                if !ok {
                    return;
                }
                gate.trusted = true;
                if let Some(content) = gate.held.take() {
                    clipboard.set(content);
                }
                if open && offer_current {
                    if let Some(content) = clipboard.current() {
                        offer(&pipe, &mut sync, &content).await;
                    }
                }
            }
            event = events.recv() => match event {
                Some(PipeEvent::Open) => {
                    open = true;
                    if offer_current && gate.trusted {
                        if let Some(content) = clipboard.current() {
                            offer(&pipe, &mut sync, &content).await;
                        }
                    }
                }
                Some(PipeEvent::Text(text)) => match decode_clip(&text) {
                    Ok(ClipMsg::Offer { mime, size }) => {
                        let keep = match sync.offer(mime, size) {
                            Offered::Accept => true,
                            Offered::Refuse(notice) => {
                                if let Some(message) = notice {
                                    tracing::info!(%message, "clipboard offer refused");
                                    send(&pipe, &ClipMsg::Notice { message }).await;
                                }
                                false
                            }
                        };
                        let size = usize::try_from(size).unwrap_or(usize::MAX);
                        let data = Vec::with_capacity(if keep { size } else { 0 });
                        arriving = Some(Arriving { kind: mime, size, data, keep });
                        finish(&mut arriving, &mut sync, &clipboard, &mut gate);
                    }
                    Ok(ClipMsg::Notice { message }) => {
                        tracing::info!(%message, "the other side does not share its clipboard");
                    }
                    Err(e) => refuse(&pipe, &mut refused, &format!("bad clipboard message: {e}")).await,
                },
                Some(PipeEvent::Binary(data)) => match arriving.as_mut() {
                    Some(a) if a.data.len() + data.len() <= a.size || !a.keep => {
                        if a.keep {
                            a.data.extend_from_slice(&data);
                        } else {
                            a.size = a.size.saturating_sub(data.len());
                        }
                        finish(&mut arriving, &mut sync, &clipboard, &mut gate);
                    }
                    Some(_) => {
                        arriving = None;
                        refuse(&pipe, &mut refused, "more clipboard data than offered").await;
                    }
                    None => refuse(&pipe, &mut refused, "clipboard data without an offer").await,
                },
                Some(PipeEvent::Closed) | None => return,
            },
            change = changes.recv(), if open && gate.trusted => match change {
                Ok(content) => offer(&pipe, &mut sync, &content).await,
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => {
                    tracing::warn!("the clipboard stopped; not shared any more");
                    open = false;
                }
            },
        }
    }
}

/// Whether the other side is trusted yet, and what it sent meanwhile.
struct Gate {
    trusted: bool,
    held: Option<Content>,
}

/// The arriving content is complete: into the clipboard, if new (held
/// until the other side is trusted).
fn finish(
    arriving: &mut Option<Arriving>,
    sync: &mut ClipSync,
    clipboard: &X11Clipboard,
    gate: &mut Gate,
) {
    let done = arriving.as_ref().is_some_and(|a| {
        if a.keep {
            a.data.len() == a.size
        } else {
            a.size == 0
        }
    });
    if !done {
        return;
    }
    let Some(a) = arriving.take() else {
        return;
    };
    if !a.keep {
        return;
    }
    let content = Content {
        kind: a.kind,
        data: a.data,
    };
    if a.kind == ClipKind::Text && std::str::from_utf8(&content.data).is_err() {
        tracing::warn!("clipboard text that is not UTF-8 refused");
        return;
    }
    if sync.received(&content) {
        tracing::debug!(?content, "clipboard from the other side");
        match gate.trusted {
            true => clipboard.set(content),
            false => gate.held = Some(content),
        }
    }
}

/// Offer local content, if [`ClipSync`] lets it cross.
async fn offer(pipe: &Pipe, sync: &mut ClipSync, content: &Content) {
    match sync.local(content) {
        Outgoing::Send => {}
        Outgoing::Notice(message) => {
            tracing::info!(%message, "clipboard not shared");
            send(pipe, &ClipMsg::Notice { message }).await;
            return;
        }
        Outgoing::Skip => return,
    }
    let msg = ClipMsg::Offer {
        mime: content.kind,
        size: content.data.len() as u64,
    };
    send(pipe, &msg).await;
    for piece in content.data.chunks(CLIP_CHUNK_BYTES) {
        if let Err(e) = pipe.send_binary(piece).await {
            tracing::debug!(error = %e, "clipboard data not sent");
            return;
        }
    }
}

async fn send(pipe: &Pipe, msg: &ClipMsg) {
    if let Err(e) = pipe.send_text(&encode(msg)).await {
        tracing::debug!(error = %e, "clipboard message not sent");
    }
}

/// Tell the sender why (a notice), and log it: the first few, then every
/// hundredth, so a flood costs neither side much.
async fn refuse(pipe: &Pipe, count: &mut u64, why: &str) {
    *count += 1;
    if *count <= 5 || (*count).is_multiple_of(100) {
        tracing::warn!(refused = *count, "{why}");
        let message = format!("refused: {why}");
        send(pipe, &ClipMsg::Notice { message }).await;
    }
}
