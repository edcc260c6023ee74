//! Strategies for valid messages of every variant: the signaling messages
//! of [`meshdesk_protocol::signal`] and the REST types they carry.

use meshdesk_protocol::rest::{Event, EventFile, IceServer, Permission, ALL_EVENT_KINDS};
use meshdesk_protocol::signal::*;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;

/// Any text a field may hold: short names, any Unicode (control
/// characters, quotes, backslashes, NUL), and now and then a long string.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_.:-]{0,16}",
        3 => vec(any::<char>(), 0..24).prop_map(String::from_iter),
        1 => (any::<char>(), 1000..6000usize).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

pub fn permission() -> impl Strategy<Value = Permission> {
    select(vec![
        Permission::View,
        Permission::Control,
        Permission::Owner,
    ])
}

fn end_reason() -> impl Strategy<Value = EndReason> {
    use EndReason::*;
    select(vec![
        ViewerClosed,
        HostClosed,
        Rejected,
        ConnectionFailed,
        PeerGone,
        Revoked,
        ShareExpired,
        DeviceRemoved,
        ServerShutdown,
        Declined,
        RemoteUserEnded,
    ])
}

fn consent_msg() -> impl Strategy<Value = ConsentMsg> {
    use ConsentState::*;
    let state = select(vec![Waiting, Allowed, Denied, TimedOut, Disconnected]);
    (text(), state).prop_map(|(session_id, state)| ConsentMsg { session_id, state })
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    use ErrorCode::*;
    select(vec![
        Malformed,
        TooLarge,
        UnknownType,
        Invalid,
        Unauthorized,
        Forbidden,
        NotFound,
        Offline,
        RateLimited,
        UnsupportedVersion,
        Internal,
    ])
}

fn device_info() -> impl Strategy<Value = DeviceInfo> {
    let screen = (
        text(),
        any::<u32>(),
        any::<u32>(),
        any::<bool>(),
        any::<i32>(),
    )
        .prop_map(|(id, width, height, primary, x)| Screen {
            name: id.clone(),
            id,
            width,
            height,
            primary,
            x,
            y: x / 2,
        });
    (text(), vec(screen, 0..4), text()).prop_map(|(os, screens, agent_version)| DeviceInfo {
        os,
        screens,
        agent_version,
    })
}

fn sdp() -> impl Strategy<Value = SdpMsg> {
    (text(), text()).prop_map(|(session_id, sdp)| SdpMsg { session_id, sdp })
}

fn ice() -> impl Strategy<Value = IceMsg> {
    let candidate = (text(), of(text()), of(any::<u16>()), of(text())).prop_map(
        |(candidate, sdp_mid, sdp_mline_index, username_fragment)| IceCandidate {
            candidate,
            sdp_mid,
            sdp_mline_index,
            username_fragment,
        },
    );
    (text(), candidate).prop_map(|(session_id, candidate)| IceMsg {
        session_id,
        candidate,
    })
}

fn session_end() -> impl Strategy<Value = SessionEndMsg> {
    (text(), end_reason(), of(text())).prop_map(|(session_id, reason, detail)| SessionEndMsg {
        session_id,
        reason,
        detail,
    })
}

fn error_msg() -> impl Strategy<Value = ErrorMsg> {
    (error_code(), text(), of(text()), of(text())).prop_map(
        |(code, message, session_id, request_id)| ErrorMsg {
            code,
            message,
            session_id,
            request_id,
        },
    )
}

pub fn ice_server() -> impl Strategy<Value = IceServer> {
    (vec(text(), 0..3), of(text()), of(text())).prop_map(|(urls, username, credential)| IceServer {
        urls,
        username,
        credential,
    })
}

pub fn event() -> impl Strategy<Value = Event> {
    let kind = select(ALL_EVENT_KINDS.to_vec());
    let who = (of(text()), of(text()), of(text()), of(text()));
    let what = (of(permission()), of(text()), of(any::<i64>()), of(text()));
    let changes = vec![
        FileChange::Created,
        FileChange::Modified,
        FileChange::Deleted,
    ];
    let file = of((
        text(),
        of(any::<u64>()),
        of(any::<bool>()),
        of(select(changes)),
    ));
    (any::<i64>(), any::<i64>(), kind, who, what, file).prop_map(
        |(id, at, kind, (actor, device_id, device_name, target_user), what, file)| Event {
            id,
            at,
            kind,
            actor,
            device_id,
            device_name,
            target_user,
            permission: what.0,
            session_id: what.1,
            duration_ms: what.2,
            detail: what.3,
            file: file.map(|(path, size, upload, change)| {
                Box::new(EventFile {
                    path,
                    size,
                    upload,
                    change,
                })
            }),
        },
    )
}

/// Every [`HostToServer`]; see [`host_to_server_variant`].
pub fn host_to_server() -> BoxedStrategy<HostToServer> {
    use HostToServer as M;
    let auth = (any::<u32>(), text(), text(), device_info()).prop_map(
        |(protocol, device_id, signature, info)| M::Auth {
            protocol,
            device_id,
            signature,
            info,
        },
    );
    prop_oneof![
        auth,
        device_info().prop_map(|info| M::Info { info }),
        Just(M::Ping),
        text().prop_map(|session_id| M::SessionAccept { session_id }),
        (text(), text()).prop_map(|(session_id, reason)| M::SessionReject { session_id, reason }),
        sdp().prop_map(M::Offer),
        sdp().prop_map(M::Answer),
        ice().prop_map(M::Ice),
        session_end().prop_map(M::SessionEnd),
        consent_msg().prop_map(M::Consent),
        (text(), text(), any::<u64>(), any::<bool>(), of(text())).prop_map(
            |(session_id, name, size, upload, error)| {
                M::FileTransfer(meshdesk_protocol::signal::FileTransferMsg {
                    session_id,
                    outcome: match size % 3 {
                        0 => meshdesk_protocol::signal::TransferOutcome::Sent,
                        1 => meshdesk_protocol::signal::TransferOutcome::Received,
                        _ => meshdesk_protocol::signal::TransferOutcome::Failed,
                    },
                    name,
                    size,
                    upload,
                    error,
                })
            }
        ),
        (text(), any::<bool>()).prop_map(|(path, new)| M::SharedFileChanged {
            path,
            change: match new {
                true => meshdesk_protocol::signal::FileChange::Created,
                false => meshdesk_protocol::signal::FileChange::Deleted,
            },
        }),
    ]
    .boxed()
}

pub fn host_to_server_variant(m: &HostToServer) -> usize {
    use HostToServer as M;
    match m {
        M::Auth { .. } => 0,
        M::Info { .. } => 1,
        M::Ping => 2,
        M::SessionAccept { .. } => 3,
        M::SessionReject { .. } => 4,
        M::Offer(_) => 5,
        M::Answer(_) => 6,
        M::Ice(_) => 7,
        M::SessionEnd(_) => 8,
        M::Consent(_) => 9,
        M::FileTransfer(_) => 10,
        M::SharedFileChanged { .. } => 11,
    }
}
pub const HOST_TO_SERVER_VARIANTS: usize = 12;

/// Every [`ServerToHost`]; see [`server_to_host_variant`].
pub fn server_to_host() -> BoxedStrategy<ServerToHost> {
    use ServerToHost as M;
    let welcome =
        (text(), text(), any::<u32>()).prop_map(|(device_id, name, heartbeat_secs)| M::Welcome {
            device_id,
            name,
            heartbeat_secs,
        });
    let grant = (text(), text(), permission(), vec(ice_server(), 0..3)).prop_map(
        |(session_id, user, permission, ice_servers)| M::SessionGrant {
            session_id,
            user,
            permission,
            ice_servers,
            consent: Default::default(),
            display_name: None,
            screen: None,
            sound: permission == meshdesk_protocol::rest::Permission::Owner,
            files_only: permission == meshdesk_protocol::rest::Permission::View,
            view_may_copy: permission == meshdesk_protocol::rest::Permission::Control,
        },
    );
    prop_oneof![
        (any::<u32>(), text()).prop_map(|(protocol, nonce)| M::Challenge { protocol, nonce }),
        welcome,
        Just(M::Pong),
        grant,
        text().prop_map(|name| M::Renamed { name }),
        sdp().prop_map(M::Offer),
        sdp().prop_map(M::Answer),
        ice().prop_map(M::Ice),
        session_end().prop_map(M::SessionEnd),
        text().prop_map(|session_id| M::RestartIce { session_id }),
        error_msg().prop_map(M::Error),
    ]
    .boxed()
}

pub fn server_to_host_variant(m: &ServerToHost) -> usize {
    use ServerToHost as M;
    match m {
        M::Challenge { .. } => 0,
        M::Welcome { .. } => 1,
        M::Pong => 2,
        M::SessionGrant { .. } => 3,
        M::Renamed { .. } => 4,
        M::Offer(_) => 5,
        M::Answer(_) => 6,
        M::Ice(_) => 7,
        M::SessionEnd(_) => 8,
        M::RestartIce { .. } => 9,
        M::Error(_) => 10,
    }
}
pub const SERVER_TO_HOST_VARIANTS: usize = 11;

/// Every [`ViewerToServer`]; see [`viewer_to_server_variant`].
pub fn viewer_to_server() -> BoxedStrategy<ViewerToServer> {
    use ViewerToServer as M;
    prop_oneof![
        Just(M::Ping),
        (text(), of(text()), of(text())).prop_map(|(device_id, request_id, screen)| {
            M::SessionRequest {
                device_id,
                request_id,
                screen,
                files_only: false,
            }
        }),
        sdp().prop_map(M::Offer),
        sdp().prop_map(M::Answer),
        ice().prop_map(M::Ice),
        session_end().prop_map(M::SessionEnd),
        (text(), of(text())).prop_map(|(session_id, resume_secret)| M::SessionResume {
            session_id,
            resume_secret
        }),
        text().prop_map(|session_id| M::RestartIce { session_id }),
    ]
    .boxed()
}

pub fn viewer_to_server_variant(m: &ViewerToServer) -> usize {
    use ViewerToServer as M;
    match m {
        M::Ping => 0,
        M::SessionRequest { .. } => 1,
        M::Offer(_) => 2,
        M::Answer(_) => 3,
        M::Ice(_) => 4,
        M::SessionEnd(_) => 5,
        M::SessionResume { .. } => 6,
        M::RestartIce { .. } => 7,
    }
}
pub const VIEWER_TO_SERVER_VARIANTS: usize = 8;

/// Every [`ServerToViewer`]; see [`server_to_viewer_variant`].
pub fn server_to_viewer() -> BoxedStrategy<ServerToViewer> {
    use ServerToViewer as M;
    let created = (
        (text(), text(), permission(), vec(ice_server(), 0..3)),
        (
            of(text()),
            of(text()),
            of(any::<u64>()),
            of(text()),
            of(text()),
        ),
    )
        .prop_map(|((session_id, device_id, permission, ice_servers), rest)| {
            M::SessionCreated {
                session_id,
                device_id,
                permission,
                ice_servers,
                request_id: rest.0,
                resume_secret: rest.1,
                resume_grace_secs: rest.2,
                device_name: rest.3,
                device_public_key: rest.4,
            }
        });
    let presence =
        (text(), text(), any::<bool>()).prop_map(|(device_id, name, online)| M::Presence {
            device_id,
            name,
            online,
        });
    let resumed = (text(), text(), permission()).prop_map(|(session_id, device_id, permission)| {
        M::SessionResumed {
            session_id,
            device_id,
            permission,
        }
    });
    prop_oneof![
        (any::<u32>(), text()).prop_map(|(protocol, username)| M::Welcome { protocol, username }),
        Just(M::Pong),
        presence,
        event().prop_map(|event| M::Event { event }),
        created,
        text().prop_map(|session_id| M::SessionAccepted { session_id }),
        resumed,
        sdp().prop_map(M::Offer),
        sdp().prop_map(M::Answer),
        ice().prop_map(M::Ice),
        session_end().prop_map(M::SessionEnd),
        error_msg().prop_map(M::Error),
        consent_msg().prop_map(M::Consent),
    ]
    .boxed()
}

pub fn server_to_viewer_variant(m: &ServerToViewer) -> usize {
    use ServerToViewer as M;
    match m {
        M::Welcome { .. } => 0,
        M::Pong => 1,
        M::Presence { .. } => 2,
        M::Event { .. } => 3,
        M::SessionCreated { .. } => 4,
        M::SessionAccepted { .. } => 5,
        M::SessionResumed { .. } => 6,
        M::Offer(_) => 7,
        M::Answer(_) => 8,
        M::Ice(_) => 9,
        M::SessionEnd(_) => 10,
        M::Error(_) => 11,
        M::Consent(_) => 12,
    }
}
pub const SERVER_TO_VIEWER_VARIANTS: usize = 13;
