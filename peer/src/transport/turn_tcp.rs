//! TURN over TCP for the native peers. webrtc 0.21 only speaks TURN over
//! UDP and skips `turn:...?transport=tcp` URLs, so a peer on a network that
//! blocks UDP would get no relay candidate. For each such URL this module
//! binds a loopback UDP socket, hands webrtc `turn:127.0.0.1:PORT` instead,
//! and carries the TURN client's datagrams to the real server over one TCP
//! connection, framed as RFC 8656 §11.5 requires (see
//! `meshdesk_protocol::turn_tcp`). The server still sees a TURN-over-TCP
//! client: the allocation, its credentials and the relayed address are the
//! real ones; only the last hop inside this machine is UDP.

use std::net::Ipv4Addr;
use std::time::Duration;

use meshdesk_protocol::rest::IceServer;
use meshdesk_protocol::turn_tcp::{first_frame, stream_padding};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpStream, UdpSocket};
use tracing::Instrument;

use crate::tasks::TaskSet;

/// How long the TCP connection to the TURN server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest STUN or ChannelData frame (a 16-bit length plus headers).
const MAX_FRAME: usize = 4 + 65_535 + 3;

/// The TCP target of a `turn:` URL asking for TCP: `host:port` (3478 when
/// the URL names no port). `None` for every other URL, `turns:` included.
pub(crate) fn tcp_target(url: &str) -> Option<String> {
    let rest = url.strip_prefix("turn:")?;
    let (hostport, query) = rest.split_once('?')?;
    let tcp = query
        .split('&')
        .any(|kv| kv.eq_ignore_ascii_case("transport=tcp"));
    if !tcp || hostport.is_empty() {
        return None;
    }
    let has_port = match hostport.rsplit_once(':') {
        // An IPv6 literal is bracketed; its colons are not a port.
        Some((host, port)) => !host.ends_with(':') && !port.ends_with(']') && !port.is_empty(),
        None => false,
    };
    Some(if has_port {
        hostport.to_string()
    } else {
        format!("{hostport}:3478")
    })
}

/// The ICE servers with every TURN-over-TCP URL replaced by a loopback
/// bridge to it; the bridges run in `tasks` (so they end with the peer).
/// A bridge that cannot bind leaves its URL out, as webrtc would have.
pub(crate) async fn bridge_tcp_turn(servers: &[IceServer], tasks: &TaskSet) -> Vec<IceServer> {
    let mut out = Vec::with_capacity(servers.len());
    for server in servers {
        let mut urls = Vec::with_capacity(server.urls.len());
        for url in &server.urls {
            let Some(target) = tcp_target(url) else {
                urls.push(url.clone());
                continue;
            };
            match UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await {
                Ok(socket) => {
                    let local = socket.local_addr().map(|a| a.port()).unwrap_or(0);
                    urls.push(format!("turn:127.0.0.1:{local}?transport=udp"));
                    let span = tracing::debug_span!("turn_tcp", %target);
                    tasks.spawn(run(socket, target).instrument(span));
                }
                Err(e) => tracing::warn!(error = %e, "no TURN-over-TCP bridge"),
            }
        }
        out.push(IceServer {
            urls,
            username: server.username.clone(),
            credential: server.credential.clone(),
        });
    }
    out
}

/// One bridge: connects on the first datagram, then copies both ways until
/// either side fails.
async fn run(udp: UdpSocket, target: String) {
    match carry(&udp, &target).await {
        Ok(()) => tracing::debug!("TURN server closed the TCP connection"),
        Err(e) => tracing::info!(error = %e, "TURN-over-TCP bridge ended"),
    }
}

async fn carry(udp: &UdpSocket, target: &str) -> std::io::Result<()> {
    let mut datagram = vec![0u8; 65_536];
    let (n, mut client) = udp.recv_from(&mut datagram).await?;
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    stream.set_nodelay(true)?;
    tracing::debug!("TURN over TCP connected");
    let (mut reader, mut writer) = stream.into_split();
    send_framed(&mut writer, &datagram[..n]).await?;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            got = udp.recv_from(&mut datagram) => {
                let (n, from) = got?;
                client = from;
                send_framed(&mut writer, &datagram[..n]).await?;
            }
            read = reader.read(&mut chunk) => {
                let n = read?;
                if n == 0 {
                    return Ok(());
                }
                buf.extend_from_slice(&chunk[..n]);
                while let Some(f) = first_frame(&buf).map_err(invalid)? {
                    udp.send_to(&buf[..f.datagram_len], client).await?;
                    buf.drain(..f.stream_len);
                }
                if buf.len() > MAX_FRAME {
                    return Err(invalid("frame too long"));
                }
            }
        }
    }
}

/// Write one datagram as a stream frame (ChannelData padded to 4 bytes).
/// A datagram whose length fields disagree with its size would break the
/// stream's framing, so it ends the bridge instead.
async fn send_framed(writer: &mut OwnedWriteHalf, datagram: &[u8]) -> std::io::Result<()> {
    let mut framed = Vec::with_capacity(datagram.len() + 3);
    framed.extend_from_slice(datagram);
    framed.resize(datagram.len() + stream_padding(datagram), 0);
    match first_frame(&framed).map_err(invalid)? {
        Some(f) if f.stream_len == framed.len() => writer.write_all(&framed).await,
        _ => Err(invalid(
            "a datagram whose length field does not match its size",
        )),
    }
}

fn invalid(e: impl ToString) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

/// The loopback address of a bridge URL, for tests.
#[cfg(test)]
fn bridge_addr(url: &str) -> Option<std::net::SocketAddr> {
    url.strip_prefix("turn:")?.split('?').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_turn_over_tcp_urls_are_bridged() {
        let t = |u| tcp_target(u);
        assert_eq!(
            t("turn:198.18.0.1:3478?transport=tcp").as_deref(),
            Some("198.18.0.1:3478")
        );
        assert_eq!(
            t("turn:relay.example.org?transport=tcp").as_deref(),
            Some("relay.example.org:3478")
        );
        assert_eq!(
            t("turn:[2001:db8::1]:3479?transport=TCP").as_deref(),
            Some("[2001:db8::1]:3479")
        );
        assert_eq!(
            t("turn:[2001:db8::1]?transport=tcp").as_deref(),
            Some("[2001:db8::1]:3478")
        );
        assert_eq!(t("turn:198.18.0.1:3478?transport=udp"), None);
        assert_eq!(t("turn:198.18.0.1:3478"), None);
        assert_eq!(t("turns:198.18.0.1:5349?transport=tcp"), None);
        assert_eq!(t("stun:198.18.0.1:3478"), None);
        assert_eq!(t("turn:?transport=tcp"), None);
    }

    /// A fake TURN server that answers each frame with the same frame: a
    /// STUN message and a padded ChannelData come back to the UDP side as
    /// the datagrams that went in, and the stream saw them padded.
    #[tokio::test]
    async fn datagrams_cross_the_stream_framed_and_come_back_whole() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr().unwrap();
        let (seen_tx, seen_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = vec![0u8; 44];
            s.read_exact(&mut got).await.unwrap();
            s.write_all(&got).await.unwrap();
            let _ = seen_tx.send(got);
            // Hold the connection until the test is done.
            let _ = s.read(&mut [0u8; 1]).await;
        });
        let tasks = TaskSet::new();
        let servers = vec![IceServer {
            urls: vec![
                format!("turn:{target}?transport=tcp"),
                "stun:198.18.0.1".into(),
            ],
            username: Some("u".into()),
            credential: Some("p".into()),
        }];
        let mapped = bridge_tcp_turn(&servers, &tasks).await;
        assert_eq!(mapped[0].urls[1], "stun:198.18.0.1");
        assert_eq!(mapped[0].username.as_deref(), Some("u"));
        let bridge = bridge_addr(&mapped[0].urls[0]).expect("a loopback bridge URL");

        let mut stun = vec![0x00, 0x01, 0x00, 0x08];
        stun.resize(28, 0xAB);
        let channel = b"\x40\x01\x00\x0bhello world".to_vec();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.send_to(&stun, bridge).await.unwrap();
        client.send_to(&channel, bridge).await.unwrap();

        let on_stream = seen_rx.await.unwrap();
        assert_eq!(&on_stream[..28], &stun[..]);
        assert_eq!(&on_stream[28..43], &channel[..]);
        assert_eq!(&on_stream[43..], &[0], "ChannelData padded to 4 bytes");
        let mut back = vec![0u8; 100];
        let (n, _) = client.recv_from(&mut back).await.unwrap();
        assert_eq!(&back[..n], &stun[..]);
        let (n, _) = client.recv_from(&mut back).await.unwrap();
        assert_eq!(&back[..n], &channel[..], "padding stripped");
    }
}
