//! The floor of `scripts/bench files`: how fast the `files` data channel
//! itself carries data between two real peers on this machine, with file
//! chunks of the real size and nothing else (no disk, no hashing, no
//! acknowledgements). Prints one JSON object.
//!
//! Usage: channel_floor [MIB]   (default 1024)

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use meshdesk_peer::PipeEvent;
use meshdesk_protocol::files::{Chunk, CHUNK_BYTES};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mib: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1024);
    let total = mib << 20;
    let mut pair = common::connect_pair().await;
    let host = pair.host_files.take().expect("host files channel");
    let mut viewer = pair
        .viewer_pipes
        .recv()
        .await
        .expect("viewer files channel");
    let mut host_events = host.events;
    while !matches!(host_events.recv().await, Some(PipeEvent::Open)) {}
    let data = vec![0x5au8; CHUNK_BYTES];
    let pipe = host.pipe.clone();
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        let mut offset = 0u64;
        while offset < total {
            let chunk = Chunk {
                id: 1,
                offset,
                data: &data,
            };
            pipe.send_binary(&chunk.encode()).await.expect("send");
            offset += CHUNK_BYTES as u64;
        }
    });
    let mut received = 0u64;
    while received < total {
        match viewer.events.recv().await {
            Some(PipeEvent::Binary(message)) => {
                received += Chunk::decode(&message).expect("chunk").data.len() as u64
            }
            Some(PipeEvent::Closed) | None => panic!("the channel closed"),
            _ => {}
        }
    }
    let secs = started.elapsed().as_secs_f64();
    sender.await.expect("sender");
    let out = serde_json::json!({
        "floor": {
            "file_mib": mib,
            "mb_s": (received as f64 / 1e6 / secs * 10.0).round() / 10.0,
            "seconds": (secs * 100.0).round() / 100.0,
        }
    });
    println!("{out}");
}
