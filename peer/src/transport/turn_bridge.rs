//! Loopback bridges between webrtc's TURN client and the real TURN servers.
//! Every `turn:` URL is handed to webrtc as `turn:127.0.0.1:PORT`, and a
//! task carries the client's datagrams to the real server, for two reasons:
//!
//! - **TURN over TCP.** webrtc 0.21 only speaks TURN over UDP and skips
//!   `?transport=tcp` URLs, so a peer on a network without UDP would get no
//!   relay candidate. For such URLs the bridge talks to the server over one
//!   TCP connection, framed as RFC 8656 §11.5 requires (see
//!   `meshdesk_protocol::turn_tcp`).
//! - **Relayed packets wait for the next wake-up.** webrtc's driver hands
//!   the core's packets to the TURN client *after* it has drained the TURN
//!   client's queue, so a relayed packet sits there until something else
//!   wakes the driver: its ICE timer fires every 200 ms once connected, so
//!   a DTLS handshake through a relay took ~1.2 s and a frame on an
//!   otherwise still screen could wait as long. So while a bridge relays
//!   media (DTLS, RTP or RTCP inside ChannelData, Send or Data
//!   indications), it sends webrtc a STUN Binding Indication every
//!   [`KICK_INTERVAL`]; the TURN client ignores it (it is neither a
//!   response nor a Data indication), but its arrival runs the driver
//!   loop, which sends what was queued. ICE's connectivity checks over the
//!   relay are STUN and do not count: they need no kicks (ICE's own timer
//!   runs every few milliseconds while checking), and webrtc sends media
//!   only on the selected pair, so sessions on a direct path never kick.
//!
//! The server sees an ordinary TURN client: allocations, credentials and
//! relayed addresses are the real ones; only the hop inside this machine is
//! added.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use meshdesk_protocol::rest::IceServer;
use meshdesk_protocol::turn_tcp::{first_frame, stream_padding};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, UdpSocket};
use tracing::Instrument;

use meshdesk_tasks::TaskSet;

/// How long connecting to the TURN server may take (TCP).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest STUN or ChannelData frame on a stream (16-bit length, headers,
/// padding).
const MAX_FRAME: usize = 4 + 65_535 + 3;
/// Largest datagram either way: a STUN header plus a 16-bit length.
const MAX_DATAGRAM: usize = 20 + 65_535;
/// How often webrtc's driver is woken to send relayed packets it queued:
/// the most a relayed packet waits, against 200 ms without the kicks.
pub(crate) const KICK_INTERVAL: Duration = Duration::from_millis(5);
/// Kicks go on for this long after the last relayed data in either
/// direction: longer than the gap between consent checks, so an idle but
/// relayed session keeps answering at once.
const KICK_AFTER_DATA: Duration = Duration::from_secs(10);
/// The wake-up: a STUN Binding Indication (type 0x0011, no attributes,
/// magic cookie, fixed transaction id), which webrtc's TURN client drops
/// without a word.
const KICK: [u8; 20] = [
    0x00, 0x11, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, b'm', b'e', b's', b'h', b'd', b'e', b's', b'k',
    b'k', b'i', b'c', b'k',
];

/// How a bridge reaches its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `host:port` (3478 when the URL names no port).
    pub(crate) addr: String,
    /// TURN over TCP rather than UDP.
    pub(crate) tcp: bool,
}

/// Where a `turn:` URL points. `None` for every other URL (`turns:` is
/// left to webrtc, which skips it).
pub(crate) fn target(url: &str) -> Option<Target> {
    let rest = url.strip_prefix("turn:")?;
    let (hostport, query) = rest.split_once('?').unwrap_or((rest, ""));
    let tcp = query
        .split('&')
        .any(|kv| kv.eq_ignore_ascii_case("transport=tcp"));
    if hostport.is_empty() {
        return None;
    }
    let has_port = match hostport.rsplit_once(':') {
        // An IPv6 literal is bracketed; its colons are not a port.
        Some((host, port)) => !host.ends_with(':') && !port.ends_with(']') && !port.is_empty(),
        None => false,
    };
    let addr = if has_port {
        hostport.to_string()
    } else {
        format!("{hostport}:3478")
    };
    Some(Target { addr, tcp })
}

/// The ICE servers with every `turn:` URL replaced by a loopback bridge to
/// it; the bridges run in `tasks` (so they end with the peer). A bridge
/// that cannot bind leaves the URL as it was.
pub(crate) async fn bridge_turn_servers(servers: &[IceServer], tasks: &TaskSet) -> Vec<IceServer> {
    let mut out = Vec::with_capacity(servers.len());
    for server in servers {
        let mut urls = Vec::with_capacity(server.urls.len());
        for url in &server.urls {
            let Some(target) = target(url) else {
                urls.push(url.clone());
                continue;
            };
            match UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await {
                Ok(socket) => {
                    let local = socket.local_addr().map(|a| a.port()).unwrap_or(0);
                    urls.push(format!("turn:127.0.0.1:{local}?transport=udp"));
                    let span = tracing::debug_span!("turn_bridge", target = %target.addr, tcp = target.tcp);
                    tasks.spawn(run(socket, target).instrument(span));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no TURN bridge; using the URL as it is");
                    urls.push(url.clone());
                }
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

/// One bridge: connects on the client's first datagram, then copies both
/// ways and kicks the client. When the way to the server fails (its socket
/// went with a network change, or the server closed the stream), the
/// bridge waits for the client's next datagram and connects afresh: after
/// an ICE restart webrtc allocates again through the same URL.
async fn run(local: UdpSocket, target: Target) {
    let mut datagram = vec![0u8; 65_536];
    loop {
        let (n, client) = match local.recv_from(&mut datagram).await {
            Ok(got) => got,
            Err(e) => {
                tracing::info!(error = %e, "TURN bridge ended");
                return;
            }
        };
        match carry(&local, &target, &datagram[..n], client).await {
            Ok(()) => tracing::debug!("TURN server closed the connection"),
            Err(Failure::Upstream(e)) => tracing::info!(error = %e, "lost the TURN server"),
            Err(Failure::Local(e)) => {
                tracing::info!(error = %e, "TURN bridge ended");
                return;
            }
        }
    }
}

/// Which side of a bridge failed.
enum Failure {
    /// The way to the server: try again on the next datagram.
    Upstream(std::io::Error),
    /// The loopback socket to webrtc: the bridge is done.
    Local(std::io::Error),
}

/// Copy both ways, starting with `first` from `client`, until a side fails.
async fn carry(
    local: &UdpSocket,
    target: &Target,
    first: &[u8],
    mut client: std::net::SocketAddr,
) -> Result<(), Failure> {
    let mut upstream = tokio::time::timeout(CONNECT_TIMEOUT, Upstream::connect(target))
        .await
        .map_err(|_| Failure::Upstream(std::io::ErrorKind::TimedOut.into()))?
        .map_err(Failure::Upstream)?;
    tracing::debug!("TURN bridge connected");
    upstream.send(first).await.map_err(Failure::Upstream)?;
    let mut last_data = None;
    if carries_media(first) {
        media_through(&mut last_data);
    }
    let mut datagram = vec![0u8; 65_536];
    let mut kick = tokio::time::interval(KICK_INTERVAL);
    kick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut kicks = KickCount(0);
    loop {
        tokio::select! {
            got = local.recv_from(&mut datagram) => {
                let (n, from) = got.map_err(Failure::Local)?;
                client = from;
                if carries_media(&datagram[..n]) {
                    media_through(&mut last_data);
                }
                upstream.send(&datagram[..n]).await.map_err(Failure::Upstream)?;
            }
            back = upstream.recv() => {
                if !back.map_err(Failure::Upstream)? {
                    return Ok(());
                }
                let d = upstream.datagram();
                if carries_media(d) {
                    media_through(&mut last_data);
                }
                local.send_to(d, client).await.map_err(Failure::Local)?;
            }
            _ = kick.tick(), if last_data.is_some_and(|t| t.elapsed() < KICK_AFTER_DATA) => {
                local.send_to(&KICK, client).await.map_err(Failure::Local)?;
                kicks.0 += 1;
            }
        }
    }
}

/// The kicks one connection of a bridge sent, logged when it ends (also
/// when its session drops it): tests count them, and a direct session
/// must have none.
struct KickCount(u64);

impl Drop for KickCount {
    fn drop(&mut self) {
        tracing::info!(kicks = self.0, "TURN bridge connection done");
    }
}

/// Media passed the bridge now: kicks go on for [`KICK_AFTER_DATA`].
/// Their start is logged (tests count it: a direct session has none).
fn media_through(last_data: &mut Option<Instant>) {
    if !last_data.is_some_and(|t| t.elapsed() < KICK_AFTER_DATA) {
        tracing::info!("media relayed through this bridge: waking webrtc's driver");
    }
    *last_data = Some(Instant::now());
}

/// Whether a datagram relays media: what it carries starts like DTLS
/// (20..=63) or RTP and RTCP (128..=191), as RFC 7983 tells them apart.
/// TURN's own requests and ICE's checks over the relay (STUN, 0..=3) do
/// not count.
pub(crate) fn carries_media(datagram: &[u8]) -> bool {
    relayed(datagram)
        .and_then(|payload| payload.first())
        .is_some_and(|b| matches!(b, 20..=63 | 128..=191))
}

/// What a datagram relays: ChannelData's data, or the DATA attribute
/// (0x0013) of a Send (0x0016) or Data (0x0017) indication.
fn relayed(datagram: &[u8]) -> Option<&[u8]> {
    match datagram {
        [b0, _, l0, l1, data @ ..] if b0 & 0xC0 == 0x40 => {
            data.get(..usize::from(u16::from_be_bytes([*l0, *l1])))
        }
        [b0, b1, l0, l1, ..] if matches!(u16::from_be_bytes([*b0, *b1]), 0x0016 | 0x0017) => {
            let len = usize::from(u16::from_be_bytes([*l0, *l1]));
            data_attribute(datagram.get(20..20 + len)?)
        }
        _ => None,
    }
}

/// The value of the DATA attribute among STUN `attributes` (each a type,
/// a length and a value padded to 4 bytes).
fn data_attribute(mut attributes: &[u8]) -> Option<&[u8]> {
    while let [t0, t1, l0, l1, rest @ ..] = attributes {
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let value = rest.get(..len)?;
        if u16::from_be_bytes([*t0, *t1]) == 0x0013 {
            return Some(value);
        }
        attributes = rest.get(len.next_multiple_of(4)..)?;
    }
    None
}

/// The bridge's side towards the real server, with buffers allocated once
/// per connection (relayed media passes here packet by packet).
struct Upstream {
    link: Link,
    /// The last datagram from the server: `received[..received_len]`.
    received: Box<[u8]>,
    received_len: usize,
    /// A datagram being framed for the stream (TCP only).
    framed: Vec<u8>,
}

enum Link {
    Udp(UdpSocket),
    Tcp {
        reader: OwnedReadHalf,
        writer: OwnedWriteHalf,
        /// Bytes read but not yet a whole frame.
        buf: Vec<u8>,
        chunk: Box<[u8]>,
    },
}

impl Upstream {
    async fn connect(target: &Target) -> std::io::Result<Upstream> {
        let link = if target.tcp {
            let stream = TcpStream::connect(&target.addr).await?;
            stream.set_nodelay(true)?;
            let (reader, writer) = stream.into_split();
            Link::Tcp {
                reader,
                writer,
                buf: Vec::with_capacity(4096),
                chunk: vec![0u8; 16 * 1024].into_boxed_slice(),
            }
        } else {
            let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?;
            socket.connect(&target.addr).await?;
            Link::Udp(socket)
        };
        Ok(Upstream {
            link,
            received: vec![0u8; MAX_DATAGRAM].into_boxed_slice(),
            received_len: 0,
            framed: Vec::new(),
        })
    }

    async fn send(&mut self, datagram: &[u8]) -> std::io::Result<()> {
        match &mut self.link {
            Link::Udp(socket) => socket.send(datagram).await.map(drop),
            Link::Tcp { writer, .. } => send_framed(writer, &mut self.framed, datagram).await,
        }
    }

    /// Wait for the next datagram from the server and keep it for
    /// [`Upstream::datagram`]; `false` when a stream ends. Cancel-safe: a
    /// partial frame stays in `buf`.
    async fn recv(&mut self) -> std::io::Result<bool> {
        match &mut self.link {
            Link::Udp(socket) => {
                self.received_len = socket.recv(&mut self.received).await?;
                Ok(true)
            }
            Link::Tcp {
                reader, buf, chunk, ..
            } => loop {
                if let Some(f) = first_frame(buf).map_err(invalid)? {
                    self.received[..f.datagram_len].copy_from_slice(&buf[..f.datagram_len]);
                    self.received_len = f.datagram_len;
                    buf.drain(..f.stream_len);
                    return Ok(true);
                }
                if buf.len() > MAX_FRAME {
                    return Err(invalid("frame too long"));
                }
                let n = reader.read(chunk).await?;
                if n == 0 {
                    return Ok(false);
                }
                buf.extend_from_slice(&chunk[..n]);
            },
        }
    }

    /// The datagram the last [`Upstream::recv`] kept.
    fn datagram(&self) -> &[u8] {
        &self.received[..self.received_len]
    }
}

/// Write one datagram as a stream frame (ChannelData padded to 4 bytes),
/// assembled in `framed`. A datagram whose length fields disagree with its
/// size would break the stream's framing, so it ends the bridge instead.
async fn send_framed(
    writer: &mut OwnedWriteHalf,
    framed: &mut Vec<u8>,
    datagram: &[u8],
) -> std::io::Result<()> {
    framed.clear();
    framed.extend_from_slice(datagram);
    framed.resize(datagram.len() + stream_padding(datagram), 0);
    match first_frame(framed).map_err(invalid)? {
        Some(f) if f.stream_len == framed.len() => writer.write_all(framed).await,
        _ => Err(invalid(
            "a datagram whose length field does not match its size",
        )),
    }
}

fn invalid(e: impl ToString) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

#[cfg(test)]
#[path = "turn_bridge_tests.rs"]
mod tests;
