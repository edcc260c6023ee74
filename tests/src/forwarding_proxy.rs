//! A small HTTP reverse proxy that does what nginx's
//! `proxy_add_x_forwarded_for` does: it adds an `X-Forwarded-For` line
//! naming the address the client connected from, after whatever the client
//! sent, and forwards to the server from 127.0.0.1. One request per
//! connection (clients send `Connection: close`): it reads the request
//! head, adds the line, and then copies bytes both ways.
//!
//! Runs as a task on the test's runtime, aborted on drop.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running proxy.
#[derive(Debug)]
pub struct ForwardingProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ForwardingProxy {
    /// Listen on 127.0.0.1 (port 0) and forward to `upstream`.
    pub async fn start(upstream: SocketAddr) -> ForwardingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((client, peer)) = listener.accept().await {
                conns.spawn(forward(client, peer, upstream));
                while conns.try_join_next().is_some() {}
            }
        });
        ForwardingProxy { addr, task }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ForwardingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client connection: the head with the added line, then a copy.
async fn forward(mut client: TcpStream, peer: SocketAddr, upstream: SocketAddr) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 2;
        }
        if head.len() > 64 * 1024 {
            return;
        }
    };
    let line = format!("X-Forwarded-For: {}\r\n", peer.ip());
    head.splice(end..end, line.into_bytes());
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    if server.write_all(&head).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
