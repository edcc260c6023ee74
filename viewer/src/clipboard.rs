//! The session's clipboard on this side: this display's X clipboard and
//! the host's, kept in step over the `clipboard` channel once the host
//! proved its key. A `view` session takes the host's clipboard (when the
//! owner allows it, the host sends it) and never sends its own.

use meshdesk_clipboard::{ClipSync, Rights, X11Clipboard};
use meshdesk_peer::{PipeEnd, CLIPBOARD_CHANNEL};
use meshdesk_protocol::clipboard::DEFAULT_MAX_CLIP_BYTES;
use tokio::sync::{mpsc, oneshot};

/// Share the clipboard for the session whose channels arrive on `pipes`;
/// `verified` fires when the host proved its key.
pub async fn share(
    mut pipes: mpsc::UnboundedReceiver<PipeEnd>,
    verified: oneshot::Receiver<()>,
    control: bool,
) {
    let end = loop {
        match pipes.recv().await {
            Some(end) if end.pipe.label() == CLIPBOARD_CHANNEL => break end,
            Some(_) => continue,
            None => return,
        }
    };
    let board = match X11Clipboard::start() {
        Ok(board) => board,
        Err(e) => {
            tracing::info!(error = %e, "the clipboard is not shared");
            return;
        }
    };
    let rights = Rights {
        send: control,
        receive: true,
    };
    let sync = ClipSync::new(rights, DEFAULT_MAX_CLIP_BYTES);
    let trusted = async { verified.await.is_ok() };
    meshdesk_clipboard::serve(end, sync, board, false, trusted).await;
}
