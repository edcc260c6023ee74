//! The `files` channel between two real peers: text and binary messages
//! cross in order, both ways, and a burst far larger than the send buffer
//! arrives whole (sending waits instead of piling up).

mod common;

use common::{connect_pair, within, STEP};
use meshdesk_peer::{PipeEvent, FILES_CHANNEL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_channel_carries_text_and_binary_both_ways_in_order() {
    let mut pair = connect_pair().await;
    let mut host = pair.host_files.take().expect("host files channel");
    let mut viewer = within(STEP, "the viewer's files channel", pair.viewer_pipes.recv())
        .await
        .expect("a channel");
    assert_eq!(viewer.pipe.label(), FILES_CHANNEL);
    assert_eq!(
        within(STEP, "open", viewer.events.recv()).await,
        Some(PipeEvent::Open)
    );
    assert_eq!(
        within(STEP, "open", host.events.recv()).await,
        Some(PipeEvent::Open)
    );

    viewer.pipe.send_text("hello").await.expect("text");
    assert_eq!(
        within(STEP, "text", host.events.recv()).await,
        Some(PipeEvent::Text("hello".into()))
    );
    // 12 MiB in 32 KiB messages: more than the send buffer holds.
    let chunk = vec![7u8; 32 * 1024];
    let sender = host.pipe.clone();
    let send = tokio::spawn(async move {
        for i in 0..384u32 {
            let mut message = chunk.clone();
            message[..4].copy_from_slice(&i.to_be_bytes());
            sender.send_binary(&message).await.expect("binary");
        }
    });
    for i in 0..384u32 {
        match within(STEP, "binary", viewer.events.recv()).await {
            Some(PipeEvent::Binary(data)) => {
                assert_eq!(data.len(), 32 * 1024);
                assert_eq!(data[..4], i.to_be_bytes(), "message {i} out of order");
            }
            other => panic!("expected binary message {i}, got {other:?}"),
        }
    }
    send.await.expect("sender");
    assert!(host.pipe.outstanding().await <= 4 * 1024 * 1024);
}
