//! A TURN client for tests: webrtc-rs's sans-I/O `rtc-turn` client driven
//! over a real UDP socket or TCP stream, with helpers for Binding,
//! Allocate and CreatePermission that return the server's answer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::sansio::Protocol;
use rtc::shared::{TransportContext, TransportMessage, TransportProtocol};
use rtc::turn::client::{Client, ClientConfig, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::WAIT;

/// How the test client reaches the relay.
#[derive(Debug)]
pub enum Link {
    Udp(UdpSocket),
    /// A TCP stream and the bytes read but not yet framed.
    Tcp(TcpStream, Vec<u8>),
}

/// An `rtc-turn` client driven over a real socket.
pub struct TurnClient {
    /// The sans-I/O client, for requests the helpers below do not wrap.
    pub client: Client,
    /// The socket to the server.
    link: Link,
    /// Our address as the server sees it (inside a namespace: before NAT).
    pub local: SocketAddr,
    /// The TURN server.
    pub server: SocketAddr,
}

impl std::fmt::Debug for TurnClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnClient")
            .field("link", &self.link)
            .field("local", &self.local)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl TurnClient {
    pub async fn connect(
        server: SocketAddr,
        tcp: bool,
        username: &str,
        password: &str,
    ) -> TurnClient {
        let (link, local) = if tcp {
            let s = TcpStream::connect(server)
                .await
                .expect("TCP connect to the relay");
            let local = s.local_addr().expect("local addr");
            (Link::Tcp(s, Vec::new()), local)
        } else {
            // Connected, so the local address is the one the route to the
            // server uses (loopback, or an address inside a namespace).
            let s = UdpSocket::bind("0.0.0.0:0").await.expect("bind");
            s.connect(server).await.expect("UDP connect");
            let local = s.local_addr().expect("local addr");
            (Link::Udp(s), local)
        };
        let config = ClientConfig {
            stun_serv_addr: server.to_string(),
            turn_serv_addr: server.to_string(),
            local_addr: local,
            transport_protocol: if tcp {
                TransportProtocol::TCP
            } else {
                TransportProtocol::UDP
            },
            username: username.into(),
            password: password.into(),
            realm: String::new(),
            software: String::new(),
            rto_in_ms: 0,
            allocation_refresh_interval_cap: None,
        };
        let provider = rtc::crypto::default_provider().expect("crypto provider");
        TurnClient {
            client: Client::new(config, provider).expect("TURN client"),
            link,
            local,
            server,
        }
    }

    pub async fn flush(&mut self) {
        while let Some(t) = self.client.poll_write() {
            match &mut self.link {
                Link::Udp(s) => {
                    s.send(&t.message).await.expect("UDP send");
                }
                Link::Tcp(s, _) => s.write_all(&t.message).await.expect("TCP send"),
            }
        }
    }

    /// One datagram or one framed message from the relay.
    pub async fn recv(&mut self) -> Vec<u8> {
        match &mut self.link {
            Link::Udp(s) => {
                let mut buf = vec![0u8; 65_536];
                let n = s.recv(&mut buf).await.expect("UDP recv");
                buf.truncate(n);
                buf
            }
            Link::Tcp(s, pending) => loop {
                if let Some(n) = tcp_frame_len(pending) {
                    return pending.drain(..n).collect();
                }
                let mut chunk = [0u8; 4096];
                let n = s.read(&mut chunk).await.expect("TCP recv");
                assert!(n > 0, "relay closed the TCP connection");
                pending.extend_from_slice(&chunk[..n]);
            },
        }
    }

    /// Drive the client until it has an event, or fail after [`WAIT`].
    pub async fn next_event(&mut self) -> Event {
        let deadline = Instant::now() + WAIT;
        loop {
            self.flush().await;
            if let Some(e) = self.client.poll_event() {
                return e;
            }
            assert!(Instant::now() < deadline, "no TURN event within {WAIT:?}");
            let wake = self.client.poll_timeout().unwrap_or(deadline).min(deadline);
            tokio::select! {
                bytes = self.recv() => {
                    let msg = TransportMessage {
                        now: Instant::now(),
                        transport: TransportContext {
                            local_addr: self.local,
                            peer_addr: self.server,
                            transport_protocol: self.transport(),
                            ecn: None,
                        },
                        message: BytesMut::from(&bytes[..]),
                    };
                    let _ = self.client.handle_read(msg);
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    let _ = self.client.handle_timeout(Instant::now());
                }
            }
        }
    }

    fn transport(&self) -> TransportProtocol {
        match self.link {
            Link::Udp(_) => TransportProtocol::UDP,
            Link::Tcp(..) => TransportProtocol::TCP,
        }
    }

    pub async fn allocate(&mut self) -> Result<SocketAddr, String> {
        self.client
            .allocate(Instant::now())
            .expect("allocate request");
        loop {
            match self.next_event().await {
                Event::AllocateResponse(_, relayed) => return Ok(relayed),
                Event::AllocateError(_, e) => return Err(e.to_string()),
                Event::TransactionTimeout(_) => return Err("timeout".into()),
                _ => {}
            }
        }
    }

    pub async fn create_permission(
        &mut self,
        relayed: SocketAddr,
        peer: SocketAddr,
    ) -> Result<(), String> {
        self.client
            .relay(relayed)
            .expect("allocation")
            .create_permission(Instant::now(), peer)
            .expect("permission request");
        loop {
            match self.next_event().await {
                Event::CreatePermissionResponse(..) => return Ok(()),
                Event::CreatePermissionError(_, e) => return Err(e.to_string()),
                Event::TransactionTimeout(_) => return Err("timeout".into()),
                _ => {}
            }
        }
    }

    pub async fn binding(&mut self) -> SocketAddr {
        self.client
            .send_binding_request(Instant::now())
            .expect("binding request");
        loop {
            match self.next_event().await {
                Event::BindingResponse(_, reflexive) => return reflexive,
                Event::BindingError(_, e) => panic!("binding failed: {e}"),
                Event::TransactionTimeout(_) => panic!("binding timed out"),
                _ => {}
            }
        }
    }
}

/// Length of the first STUN message or padded ChannelData in `buf`.
pub fn tcp_frame_len(buf: &[u8]) -> Option<usize> {
    if buf.len() < 4 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let total = if buf[0] & 0xC0 == 0x40 {
        4 + len.div_ceil(4) * 4
    } else {
        20 + len
    };
    (buf.len() >= total).then_some(total)
}

/// The password coturn's `use-auth-secret` scheme gives `username`:
/// base64(HMAC-SHA1(secret, username)).
pub fn coturn_password(secret: &str, username: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha1::Sha1>>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl TurnClient {
    /// Send pings through `relayed` to `peer`, an echo server, until an
    /// echo comes back over a bound channel (the client binds one after
    /// its first sends). Fails after [`WAIT`].
    pub async fn echo_through_channel(
        &mut self,
        relayed: SocketAddr,
        peer: SocketAddr,
    ) -> Result<(), String> {
        self.create_permission(relayed, peer).await?;
        let deadline = Instant::now() + WAIT;
        for i in 0.. {
            if Instant::now() > deadline {
                return Err(format!("no echo over a channel within {WAIT:?}"));
            }
            let ping = format!("ping {i}");
            self.client
                .relay(relayed)
                .map_err(|e| e.to_string())?
                .send_to(Instant::now(), ping.as_bytes(), peer)
                .map_err(|e| e.to_string())?;
            self.flush().await;
            let wait = tokio::time::timeout(Duration::from_millis(500), async {
                loop {
                    if let Event::DataIndicationOrChannelData(channel, from, data) =
                        self.next_event().await
                    {
                        if from == peer && data[..] == *ping.as_bytes() {
                            return channel.is_some();
                        }
                    }
                }
            });
            if let Ok(true) = wait.await {
                return Ok(());
            }
        }
        unreachable!("the loop returns")
    }
}

/// Echo every datagram on `socket` back to its sender until `stop` says so.
pub async fn udp_echo(socket: UdpSocket, stop: tokio::sync::oneshot::Receiver<()>) {
    let mut buf = vec![0u8; 2048];
    tokio::select! {
        _ = stop => {}
        _ = async {
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let _ = socket.send_to(&buf[..n], from).await;
            }
        } => {}
    }
}
