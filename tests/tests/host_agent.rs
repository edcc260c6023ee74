//! The real `meshdesk-host` on an Xvfb display: enroll, come online, stream
//! the screen over real WebRTC to a viewer (decoded and checked), inject
//! the viewer's input, enforce view-only, keep a session running while the
//! server is away, and follow a change of the screen's resolution.

use std::process::Command;
use std::time::{Duration, Instant};

use meshdesk_peer::{VideoEvent, ViewerEvent, ViewerPeer, ViewerStreams};
use meshdesk_protocol::encode;
use meshdesk_protocol::input::InputMsg;
use meshdesk_protocol::signal::*;
use meshdesk_tests::server::{binary, TempDir};
use meshdesk_tests::{Api, Host, Server, ViewerConn, Xvfb, WAIT};
use openh264::decoder::Decoder;

fn is_online(m: &ServerToViewer, id: &str, want: bool) -> bool {
    matches!(m, ServerToViewer::Presence { device_id, online, .. } if device_id == id && *online == want)
}

/// A connected viewer session: the peer, its streams, and the session id.
struct Session {
    peer: ViewerPeer,
    streams: ViewerStreams,
    sid: String,
}

/// Ask for a session and complete the WebRTC handshake through signaling.
async fn connect(viewer: &mut ViewerConn, device_id: &str) -> Session {
    viewer
        .send(&ViewerToServer::SessionRequest {
            device_id: device_id.into(),
            request_id: None,
            screen: None,
            files_only: false,
        })
        .await;
    let created = viewer
        .wait_for("session_created", |m| {
            matches!(
                m,
                ServerToViewer::SessionCreated { .. } | ServerToViewer::Error(_)
            )
        })
        .await;
    let ServerToViewer::SessionCreated {
        session_id: sid,
        ice_servers,
        ..
    } = created
    else {
        panic!("{created:?}")
    };
    let offer = viewer
        .wait_for("offer", |m| {
            matches!(m, ServerToViewer::Offer(_) | ServerToViewer::SessionEnd(_))
        })
        .await;
    let ServerToViewer::Offer(offer) = offer else {
        panic!("no offer: {offer:?}")
    };
    let (peer, mut streams) = ViewerPeer::new(&ice_servers).await.expect("viewer peer");
    let answer = peer.accept_offer(offer.sdp).await.expect("answer");
    viewer
        .send(&ViewerToServer::Answer(SdpMsg {
            session_id: sid.clone(),
            sdp: answer,
        }))
        .await;
    // Trickle both ways until connected.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        tokio::select! {
            c = streams.candidates.recv() => {
                if let Some(candidate) = c {
                    viewer.send(&ViewerToServer::Ice(IceMsg { session_id: sid.clone(), candidate })).await;
                }
            }
            m = viewer.recv() => {
                if let ServerToViewer::Ice(ice) = m {
                    let _ = peer.add_remote_candidate(ice.candidate).await;
                }
            }
            e = streams.events.recv() => match e {
                Some(ViewerEvent::ChannelsReady) => break,
                Some(ViewerEvent::Failed | ViewerEvent::Closed) | None => panic!("session failed"),
                _ => {}
            },
            _ = tokio::time::sleep_until(deadline) => panic!("not connected within {WAIT:?}"),
        }
    }
    Session { peer, streams, sid }
}

/// Centre pixel of a decoded frame as RGB, and the picture's size.
fn centre_rgb(decoder: &mut Decoder, data: &[u8]) -> Option<([u8; 3], (usize, usize))> {
    let yuv = decoder.decode(data).ok()??;
    let (w, h) = openh264::formats::YUVSource::dimensions(&yuv);
    let mut rgb = vec![0; w * h * 3];
    yuv.write_rgb8(&mut rgb);
    let at = ((h / 2) * w + w / 2) * 3;
    Some(([rgb[at], rgb[at + 1], rgb[at + 2]], (w, h)))
}

/// Wait for a decoded frame whose centre is close to `want`.
async fn wait_for_colour(s: &mut Session, decoder: &mut Decoder, want: [u8; 3]) -> Duration {
    wait_for_picture(s, decoder, want, None).await
}

/// Wait for a decoded frame whose centre is close to `want` and, if given,
/// whose size is `size`.
async fn wait_for_picture(
    s: &mut Session,
    decoder: &mut Decoder,
    want: [u8; 3],
    size: Option<(usize, usize)>,
) -> Duration {
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = None;
    loop {
        let ev = tokio::time::timeout_at(deadline, s.streams.video.recv())
            .await
            .unwrap_or_else(|_| {
                panic!("no frame of colour {want:?} and size {size:?}; last {last:?}")
            });
        match ev.expect("video ended") {
            VideoEvent::Frame(au) => {
                if let Some((rgb, got)) = centre_rgb(decoder, &au.data) {
                    last = Some((rgb, got));
                    let colour = rgb.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 40);
                    if colour && size.is_none_or(|size| size == got) {
                        return start.elapsed();
                    }
                }
            }
            VideoEvent::Lost { .. } => {
                let _ = s.peer.request_keyframe().await;
            }
        }
    }
}

async fn wait_pointer(x: &Xvfb, want: (i32, i32)) {
    let deadline = Instant::now() + WAIT;
    loop {
        let p = x.pointer();
        if (p.0 - want.0).abs() <= 1 && (p.1 - want.1).abs() <= 1 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pointer at {p:?}, expected {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn host_streams_the_screen_and_obeys_the_grant() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    api.user("bob").await;
    let bob = api.login("bob").await;
    let x = Xvfb::start(1280, 720);
    x.paint(0xff0000);
    let mut viewer = ViewerConn::connect(&server, &alice).await;
    let host = Host::start(&server, &api, &alice, &x, "xvfb-pc").await;
    let device_id = host.device_id.clone();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&host.config)
            .expect("config")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "identity readable by its owner only");
    viewer
        .wait_for("host online", |m| is_online(m, &device_id, true))
        .await;
    let (_, d) = api
        .call("GET", &format!("/devices/{device_id}"), Some(&alice), None)
        .await;
    assert_eq!(
        (d["name"].as_str(), d["online"].as_bool()),
        (Some("xvfb-pc"), Some(true))
    );

    // Video: the red screen arrives and decodes; a change follows.
    let mut s = connect(&mut viewer, &device_id).await;
    let mut decoder = Decoder::new().expect("decoder");
    wait_for_colour(&mut s, &mut decoder, [255, 0, 0]).await;
    x.paint(0x0000ff);
    wait_for_colour(&mut s, &mut decoder, [0, 0, 255]).await;

    // Input: a normalized move lands on the matching pixel.
    let mv = InputMsg::PointerMove { x: 0.25, y: 0.5 };
    s.peer.send_input(&encode(&mv)).await.expect("send input");
    wait_pointer(&x, (320, 360)).await;

    // A view-only session injects nothing.
    api.share(&alice, &device_id, "bob", "view").await;
    let mut bob_viewer = ViewerConn::connect(&server, &bob).await;
    let b = connect(&mut bob_viewer, &device_id).await;
    for _ in 0..5 {
        b.peer
            .send_input(&encode(&InputMsg::PointerMove { x: 0.75, y: 0.75 }))
            .await
            .expect("send");
    }
    // The owner's next move proves the host has processed input since.
    s.peer
        .send_input(&encode(&InputMsg::PointerMove { x: 0.5, y: 0.5 }))
        .await
        .expect("send");
    wait_pointer(&x, (640, 360)).await;
    let until = Instant::now() + Duration::from_millis(500);
    while Instant::now() < until {
        assert_ne!(x.pointer(), (960, 540), "view-only input was injected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Ending the session from the viewer reaches the host, which logs it.
    viewer
        .send(&ViewerToServer::SessionEnd(SessionEndMsg::new(
            s.sid.clone(),
            EndReason::ViewerClosed,
        )))
        .await;
    let deadline = Instant::now() + WAIT;
    while !host.log_text().contains("session ended") {
        assert!(Instant::now() < deadline, "host did not end the session");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(host);
    viewer
        .wait_for("host offline", |m| is_online(m, &device_id, false))
        .await;
}

/// A server, alice's host on `x` online, and a session of hers on it.
struct Running {
    server: Server,
    alice: String,
    /// Kept for the session's signaling.
    _viewer: ViewerConn,
    host: Host,
    device_id: String,
    s: Session,
    decoder: Decoder,
}

async fn running_session(x: &Xvfb) -> Running {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let mut viewer = ViewerConn::connect(&server, &alice).await;
    let host = Host::start(&server, &api, &alice, x, "xvfb-pc").await;
    let device_id = host.device_id.clone();
    viewer
        .wait_for("host online", |m| is_online(m, &device_id, true))
        .await;
    let s = connect(&mut viewer, &device_id).await;
    Running {
        server,
        alice,
        _viewer: viewer,
        host,
        device_id,
        s,
        decoder: Decoder::new().expect("decoder"),
    }
}

#[tokio::test]
async fn sessions_survive_the_server_going_away_and_the_host_reconnects() {
    let x = Xvfb::start(640, 480);
    x.paint(0x00ff00);
    let Running {
        mut server,
        alice,
        _viewer,
        host,
        device_id,
        mut s,
        mut decoder,
    } = running_session(&x).await;
    wait_for_colour(&mut s, &mut decoder, [0, 255, 0]).await;

    // The server stops; media is peer to peer, so the session goes on.
    assert!(server.stop());
    x.paint(0xffffff);
    wait_for_colour(&mut s, &mut decoder, [255, 255, 255]).await;

    // Back on the same address, the host reconnects by itself.
    server.restart_same_address();
    let api = Api::new(&server);
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let (_, d) = api
            .call("GET", &format!("/devices/{device_id}"), Some(&alice), None)
            .await;
        if d["online"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "host did not reconnect; log:\n{}",
            host.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Run `meshdesk-host enroll` and return (success, stderr).
fn enroll_cli(server: &str, code: &str, config: &std::path::Path) -> (bool, String) {
    let out = Command::new(binary("meshdesk-host"))
        .args(["enroll", "--server", server, "--code", code, "--config"])
        .arg(config)
        .output()
        .expect("run enroll");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn enroll_gives_clear_errors() {
    let server = Server::start();
    let api = Api::new(&server);
    let alice = api.user("alice").await;
    let dir = TempDir::new("enroll");
    let cfg = dir.0.join("host.toml");

    let (ok, err) = enroll_cli(&server.base, "WRNG-CODE-WRNG-CODE", &cfg);
    assert!(!ok && err.contains("enrollment code is not valid"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
    assert!(!cfg.exists(), "nothing written on failure");

    let code = api.code(&alice).await;
    let (ok, err) = enroll_cli(&server.base, &code, &cfg);
    assert!(ok, "{err}");
    let (ok, err) = enroll_cli(&server.base, &code, &dir.0.join("second.toml"));
    assert!(!ok && err.contains("already used"), "{err}");

    // A config path that cannot be written is reported before the code is spent.
    let code = api.code(&alice).await;
    let blocked = dir.0.join("file-not-dir");
    std::fs::write(&blocked, b"").expect("file");
    let (ok, err) = enroll_cli(&server.base, &code, &blocked.join("host.toml"));
    assert!(!ok && err.contains("cannot write config"), "{err}");
    let (ok, err) = enroll_cli(&server.base, &code, &dir.0.join("third.toml"));
    assert!(ok, "code still usable: {err}");

    // An unreachable server and a malformed URL.
    let (ok, err) = enroll_cli("http://127.0.0.1:9", "X", &dir.0.join("x.toml"));
    assert!(!ok && err.contains("cannot reach the server"), "{err}");
    let (ok, err) = enroll_cli("127.0.0.1:8080", "X", &dir.0.join("x.toml"));
    assert!(!ok && err.contains("invalid server URL"), "{err}");

    // `run` without an identity says how to get one.
    let out = Command::new(binary("meshdesk-host"))
        .args(["run", "--config"])
        .arg(dir.0.join("missing.toml"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("enroll first"));
}

/// A user changes the remote PC's resolution during a session: the picture
/// arrives at the new size and input lands where the viewer points on it.
/// On Xvnc the screen is RandR's monitor `VNC-0`, so this is also a running
/// session following its monitor to a new size (the agent's monitor watch
/// moves the monitor's pipeline; `agent/screens.rs`).
#[tokio::test]
async fn host_follows_a_change_of_resolution() {
    let x = Xvfb::start_xvnc(1280, 720);
    x.paint(0xff0000);
    // Bound whole: the server and the host live as long as it.
    let mut r = running_session(&x).await;
    wait_for_picture(&mut r.s, &mut r.decoder, [255, 0, 0], Some((1280, 720))).await;

    for (width, height, rgb) in [(800, 600, 0x0000ff), (1920, 1080, 0x00ff00)] {
        x.resize(width, height);
        x.paint(rgb);
        let want = [(rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8];
        let size = (width as usize, height as usize);
        wait_for_picture(&mut r.s, &mut r.decoder, want, Some(size)).await;
        // Input maps the viewer's picture onto the new screen.
        let mv = InputMsg::PointerMove { x: 0.25, y: 0.5 };
        r.s.peer.send_input(&encode(&mv)).await.expect("send input");
        wait_pointer(&x, (width as i32 / 4, height as i32 / 2)).await;
    }
}

/// Screens side by side can be larger than H.264 at level 5.2 takes: the
/// host sends them at half size, and input still lands on the full screen.
#[tokio::test]
async fn a_screen_too_large_to_encode_arrives_scaled_down() {
    let x = Xvfb::start(5120, 1440);
    x.paint(0x0000ff);
    let mut r = running_session(&x).await;
    wait_for_picture(&mut r.s, &mut r.decoder, [0, 0, 255], Some((2560, 720))).await;
    let mv = InputMsg::PointerMove { x: 0.25, y: 0.5 };
    r.s.peer.send_input(&encode(&mv)).await.expect("send input");
    wait_pointer(&x, (1280, 720)).await;
}
