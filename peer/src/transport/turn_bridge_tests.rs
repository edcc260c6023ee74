use std::net::SocketAddr;

use super::*;

fn tcp(addr: &str) -> Option<Target> {
    Some(Target {
        addr: addr.into(),
        tcp: true,
    })
}

fn udp(addr: &str) -> Option<Target> {
    Some(Target {
        addr: addr.into(),
        tcp: false,
    })
}

#[test]
fn turn_urls_are_bridged_and_others_are_not() {
    assert_eq!(
        target("turn:198.18.0.1:3478?transport=tcp"),
        tcp("198.18.0.1:3478")
    );
    assert_eq!(
        target("turn:relay.example.org?transport=tcp"),
        tcp("relay.example.org:3478")
    );
    assert_eq!(
        target("turn:[2001:db8::1]:3479?transport=TCP"),
        tcp("[2001:db8::1]:3479")
    );
    assert_eq!(
        target("turn:[2001:db8::1]?transport=tcp"),
        tcp("[2001:db8::1]:3478")
    );
    assert_eq!(
        target("turn:198.18.0.1:3478?transport=udp"),
        udp("198.18.0.1:3478")
    );
    assert_eq!(target("turn:198.18.0.1:3478"), udp("198.18.0.1:3478"));
    assert_eq!(target("turns:198.18.0.1:5349?transport=tcp"), None);
    assert_eq!(target("stun:198.18.0.1:3478"), None);
    assert_eq!(target("turn:?transport=tcp"), None);
}

/// The loopback address of a bridge URL.
fn bridge_addr(url: &str) -> SocketAddr {
    url.strip_prefix("turn:")
        .and_then(|u| u.split('?').next())
        .and_then(|a| a.parse().ok())
        .expect("a loopback bridge URL")
}

fn server(url: String) -> Vec<IceServer> {
    vec![IceServer {
        urls: vec![url, "stun:198.18.0.1".into()],
        username: Some("u".into()),
        credential: Some("p".into()),
    }]
}

/// Receive the next datagram that is not a kick.
async fn recv_data(client: &UdpSocket) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    loop {
        let (n, _) = client.recv_from(&mut buf).await.unwrap();
        if buf[..n] != KICK {
            return buf[..n].to_vec();
        }
    }
}

fn stun_request() -> Vec<u8> {
    let mut stun = vec![0x00, 0x01, 0x00, 0x08];
    stun.resize(28, 0xAB);
    stun
}

/// A fake TURN server over TCP that answers with what it got: a STUN
/// message and a ChannelData come back to the UDP side as the datagrams
/// that went in, and the stream saw the ChannelData padded.
#[tokio::test]
async fn tcp_bridges_frame_the_stream_and_return_whole_datagrams() {
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
    let mapped = bridge_turn_servers(&server(format!("turn:{target}?transport=tcp")), &tasks).await;
    assert_eq!(mapped[0].urls[1], "stun:198.18.0.1");
    assert_eq!(mapped[0].username.as_deref(), Some("u"));
    let bridge = bridge_addr(&mapped[0].urls[0]);

    let stun = stun_request();
    let channel = b"\x40\x01\x00\x0bhello world".to_vec();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(&stun, bridge).await.unwrap();
    client.send_to(&channel, bridge).await.unwrap();

    let on_stream = seen_rx.await.unwrap();
    assert_eq!(&on_stream[..28], &stun[..]);
    assert_eq!(&on_stream[28..43], &channel[..]);
    assert_eq!(&on_stream[43..], &[0], "ChannelData padded to 4 bytes");
    assert_eq!(recv_data(&client).await, stun);
    assert_eq!(recv_data(&client).await, channel, "padding stripped");
}

/// A Send (0x0016) or Data (0x0017) indication: the magic cookie, a
/// transaction id, an XOR-PEER-ADDRESS (IPv4) and DATA carrying `payload`.
fn indication(kind: u16, payload: &[u8]) -> Vec<u8> {
    let mut attributes = vec![0x00, 0x12, 0x00, 0x08, 0x00, 0x01, 0x12, 0x34, 1, 2, 3, 4];
    attributes.extend_from_slice(&0x0013u16.to_be_bytes());
    attributes.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    attributes.extend_from_slice(payload);
    attributes.resize(attributes.len().next_multiple_of(4), 0);
    let mut m = kind.to_be_bytes().to_vec();
    m.extend_from_slice(&(attributes.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    m.extend_from_slice(&[7; 12]);
    m.extend_from_slice(&attributes);
    m
}

/// ChannelData on channel 0x4001 carrying `payload`.
fn channel_data(payload: &[u8]) -> Vec<u8> {
    let mut m = vec![0x40, 0x01];
    m.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    m.extend_from_slice(payload);
    m
}

#[test]
fn only_relayed_media_counts() {
    let dtls = [22, 0xFE, 0xFD, 0, 0];
    let rtp = [0x80, 0x60, 0, 1];
    assert!(carries_media(&channel_data(&dtls)), "DTLS in ChannelData");
    assert!(carries_media(&channel_data(&rtp)), "RTP in ChannelData");
    assert!(carries_media(&indication(0x0016, &rtp)), "Send indication");
    assert!(carries_media(&indication(0x0017, &dtls)), "Data indication");
    // ICE's checks over the relay: STUN inside, not media.
    assert!(!carries_media(&channel_data(&stun_request())));
    assert!(!carries_media(&indication(0x0016, &stun_request())));
    assert!(!carries_media(&indication(0x0017, &stun_request())));
    // TURN's own business, the kick and nonsense.
    assert!(!carries_media(&stun_request()), "Binding request");
    assert!(!carries_media(&[0x00, 0x03, 0, 0]), "Allocate request");
    assert!(!carries_media(&[0x01, 0x04, 0, 0]), "Refresh response");
    assert!(!carries_media(&KICK));
    assert!(!carries_media(&[]));
    assert!(!carries_media(&[0x40, 0x01, 0x00, 0x09, 22]), "cut short");
    assert!(!carries_media(&[0x00, 0x16, 0x00, 0x40]), "no attributes");
}

/// Over UDP the datagrams pass unchanged; no kicks while only TURN's own
/// requests and ICE's checks pass, then a Binding Indication about every
/// KICK_INTERVAL once relayed media has.
#[tokio::test]
async fn udp_bridges_pass_datagrams_and_kick_the_client() {
    let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = echo.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            let (n, from) = echo.recv_from(&mut buf).await.unwrap();
            echo.send_to(&buf[..n], from).await.unwrap();
        }
    });
    let tasks = TaskSet::new();
    let mapped = bridge_turn_servers(&server(format!("turn:{target}")), &tasks).await;
    let bridge = bridge_addr(&mapped[0].urls[0]);
    assert!(mapped[0].urls[0].ends_with("?transport=udp"));

    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let stun = stun_request();
    client.send_to(&stun, bridge).await.unwrap();
    assert_eq!(recv_data(&client).await, stun);

    let mut buf = vec![0u8; 64];
    let quiet = tokio::time::timeout(KICK_INTERVAL * 10, client.recv_from(&mut buf)).await;
    assert!(quiet.is_err(), "no kicks before relayed data");

    let check = channel_data(&stun_request());
    client.send_to(&check, bridge).await.unwrap();
    assert_eq!(recv_data(&client).await, check);
    let quiet = tokio::time::timeout(KICK_INTERVAL * 10, client.recv_from(&mut buf)).await;
    assert!(quiet.is_err(), "no kicks for ICE checks over the relay");

    let data = channel_data(&[22, 0xFE, 0xFD, 0, 0]);
    client.send_to(&data, bridge).await.unwrap();
    assert_eq!(recv_data(&client).await, data);
    let started = tokio::time::Instant::now();
    for _ in 0..10 {
        let (n, from) = client.recv_from(&mut buf).await.unwrap();
        assert_eq!(from, bridge);
        assert_eq!(&buf[..n], &KICK[..]);
    }
    // Ten kicks take about 10 intervals; allow for a busy machine.
    assert!(
        started.elapsed() < KICK_INTERVAL * 100,
        "{:?}",
        started.elapsed()
    );
    // A kick is a STUN indication with the magic cookie and no attributes.
    assert_eq!(KICK[0] & 0xC0, 0, "first bits of STUN");
    assert_eq!(
        u16::from_be_bytes([KICK[0], KICK[1]]),
        0x0011,
        "Binding Indication"
    );
    assert_eq!(&KICK[2..4], &[0, 0], "no attributes");
    assert_eq!(&KICK[4..8], &[0x21, 0x12, 0xA4, 0x42], "magic cookie");
}

/// When the server side goes away, the next datagram connects afresh (as
/// webrtc allocates again after an ICE restart).
#[tokio::test]
async fn a_lost_server_connection_is_made_again_on_the_next_datagram() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    tokio::spawn(async move {
        // The first connection reads one frame and is closed.
        let (mut first, _) = listener.accept().await.unwrap();
        first.read_exact(&mut [0u8; 28]).await.unwrap();
        drop(first);
        // The second echoes.
        let (mut second, _) = listener.accept().await.unwrap();
        let mut got = [0u8; 28];
        second.read_exact(&mut got).await.unwrap();
        second.write_all(&got).await.unwrap();
        let _ = second.read(&mut [0u8; 1]).await;
    });
    let tasks = TaskSet::new();
    let mapped = bridge_turn_servers(&server(format!("turn:{target}?transport=tcp")), &tasks).await;
    let bridge = bridge_addr(&mapped[0].urls[0]);
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let stun = stun_request();
    client.send_to(&stun, bridge).await.unwrap();
    let mut again = stun.clone();
    again[27] = 0xCD;
    // Resend until the bridge has noticed the close and reconnected.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        client.send_to(&again, bridge).await.unwrap();
        let got =
            tokio::time::timeout(std::time::Duration::from_millis(200), recv_data(&client)).await;
        if let Ok(got) = got {
            assert_eq!(got, again);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no reconnect");
    }
}
