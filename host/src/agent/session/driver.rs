//! The task around one session's [`Controller`]: it turns the server's
//! messages, the peer connection's events, local candidates, encoded
//! frames and deadlines into [`Event`]s, and carries out the [`Action`]s
//! that come back on the peer, the input session and the pipeline.

use std::collections::VecDeque;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use meshdesk_clipboard::{ClipSync, Rights};
use meshdesk_peer::{AudioSender, Estimate, HostEvent, HostOptions, HostPeer, HostStreams};
use meshdesk_protocol::binding::HostControlMsg;
use meshdesk_protocol::encode;
use meshdesk_protocol::signal::{EndReason, HostToServer};
use meshdesk_tasks::sleep_or_never;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

use super::controller::{Action, Controller, Counters, Event};
use super::{Finished, Grant, SessionEnv, SessionIn};
use crate::agent::metrics::HostMetrics;
use crate::agent::screens::{self, SharedScreens};
use crate::agent::AgentError;
use crate::consent::{Shield, ShieldedSink};
use crate::files::FilesGrant;
use crate::input::{EnigoSink, InputSession, ScreenRect};
use crate::media::grab::GrabArea;
use crate::media::{EncodedFrame, MediaError, MediaPipeline, Subscription};
use crate::sound::{SoundPackets, SoundService};

/// What the viewer is told when the owner turned the device's sound off.
const SOUND_OFF_BY_OWNER: &str = "the owner turned sound off for this device";

/// Whether this session gets sound, and why not: the owner's switch, then
/// the sound server.
async fn sound_for(grant: &Grant, service: &SoundService) -> Result<(), String> {
    if !grant.sound {
        return Err(SOUND_OFF_BY_OWNER.to_string());
    }
    service.check().await.map_err(|e| e.to_string())
}

/// What a session may do with the clipboard: a `control` session both
/// ways; a `view` session only reads it, and only when the owner allows.
fn clipboard_rights(grant: &Grant) -> Rights {
    let control = grant.permission.may_control();
    Rights {
        send: control || grant.view_may_copy,
        receive: control,
    }
}

/// The screen a session starts on: the one the viewer asked for, or the
/// primary (also when the one asked for does not exist).
fn first_screen(
    screens: &SharedScreens,
    wanted: Option<&str>,
) -> Result<(String, Arc<MediaPipeline>), AgentError> {
    let mut all = screens::lock(screens);
    if let Some(id) = wanted {
        match all.pipeline(Some(id)) {
            Ok(media) => return Ok((id.to_string(), media)),
            Err(e) => tracing::warn!(error = %e, "showing the primary screen instead"),
        }
    }
    let primary = all.primary_id();
    let media = all
        .pipeline(Some(&primary))
        .map_err(|e| AgentError::CaptureUnavailable(e.to_string()))?;
    Ok((primary, media))
}

/// Where input lands: the captured area of the X screen.
fn screen_rect(area: GrabArea) -> Result<ScreenRect, crate::input::InputError> {
    ScreenRect::new(
        area.x.into(),
        area.y.into(),
        area.width.into(),
        area.height.into(),
    )
}

/// Run a session until it ends. `out` carries messages for the server;
/// `path_lost` tells the agent that this session lost connectivity;
/// `shield` keeps its input off the consent windows.
pub async fn run(
    grant: Grant,
    env: SessionEnv,
    mut inbox: mpsc::Receiver<SessionIn>,
    shield: Arc<Shield>,
) -> Finished {
    let reason = match serve(&grant, env, shield, &mut inbox).await {
        Ok(reason) => reason,
        Err(e) => {
            tracing::warn!(error = %e, "session failed");
            Some(EndReason::ConnectionFailed)
        }
    };
    tracing::info!(?reason, "session ended");
    Finished {
        session_id: grant.session_id,
        reason,
    }
}

/// What the session's actions are carried out on.
struct Io {
    peer: HostPeer,
    /// Injects what the grant admits (never onto a consent window);
    /// dropping it releases what is held.
    input: InputSession<ShieldedSink<EnigoSink>>,
    /// The monitors, to switch between.
    screens: SharedScreens,
    /// The shown monitor's id and pipeline.
    current: String,
    media: Arc<MediaPipeline>,
    /// The pipeline's frames, once the viewer first connected.
    frames: Option<Subscription>,
    /// The peer's bandwidth estimates (none in a files-only session).
    estimates: Option<watch::Receiver<Option<Estimate>>>,
    /// The PC's sound: whether this session has it (why not), the shared
    /// pipeline, and once subscribed the task that writes its packets to
    /// the track (apart from this loop, so that writing a big frame never
    /// holds the sound back).
    sound: Result<(), String>,
    sound_service: Arc<SoundService>,
    audio: Option<meshdesk_tasks::AbortOnDrop<()>>,
    out: mpsc::UnboundedSender<HostToServer>,
    path_lost: Arc<Notify>,
    /// The device key, which signs the DTLS binding.
    key: Arc<SigningKey>,
    /// Counts frames sent.
    metrics: Arc<HostMetrics>,
    /// The `files` and `clipboard` channels' tasks.
    _files: meshdesk_tasks::AbortOnDrop<()>,
    _clipboard: Option<meshdesk_tasks::AbortOnDrop<()>>,
}

/// What carrying out one action led to.
enum Applied {
    Done,
    /// Feed this back to the controller.
    Then(Event),
    /// The session is over.
    End(Option<EndReason>),
}

async fn serve(
    grant: &Grant,
    env: SessionEnv,
    shield: Arc<Shield>,
    inbox: &mut mpsc::Receiver<SessionIn>,
) -> Result<Option<EndReason>, AgentError> {
    let SessionEnv {
        key,
        screens,
        display,
        out,
        path_lost,
        metrics,
        sound: sound_service,
        files,
        clipboard,
        clipboard_max,
        video_rate,
    } = env;
    let (current, media) = first_screen(&screens, grant.screen.as_deref())?;
    let area = media.area();
    let sink = ShieldedSink::new(EnigoSink::connect(display.as_deref())?, shield);
    let input = InputSession::new(grant.permission, screen_rect(area)?, sink);
    let sound = match grant.files_only {
        true => Err("a files-only session has no sound".to_string()),
        false => sound_for(grant, &sound_service).await,
    };
    let rights = clipboard_rights(grant);
    let clipboard = clipboard.filter(|_| !grant.files_only && (rights.send || rights.receive));
    let options = HostOptions {
        video: !grant.files_only,
        sound: sound.is_ok(),
        clipboard: clipboard.is_some(),
        max_bitrate_bps: video_rate.max_bitrate_bps,
    };
    let (peer, mut streams) = HostPeer::new(&grant.ice_servers, options).await?;
    let mut core = Controller::new(grant.session_id.clone(), grant.permission, area)
        .adaptive(video_rate.adaptive);
    if grant.files_only {
        core = core.files_only();
    }
    let span = tracing::Span::current();
    let files_grant = FilesGrant {
        session_id: grant.session_id.clone(),
        permission: grant.permission,
    };
    let files_end = streams
        .files
        .take()
        .ok_or(AgentError::Protocol("the peer has no files channel".into()))?;
    let files_task = meshdesk_tasks::AbortOnDrop::spawn(tracing::Instrument::instrument(
        crate::files::serve(files_end, files_grant, files, out.clone()),
        span.clone(),
    ));
    let clipboard_task = match (clipboard, streams.clipboard.take()) {
        (Some(board), Some(end)) => {
            let sync = ClipSync::new(rights, clipboard_max);
            Some(meshdesk_tasks::AbortOnDrop::spawn(
                tracing::Instrument::instrument(
                    meshdesk_clipboard::serve(end, sync, board, true, std::future::ready(true)),
                    span,
                ),
            ))
        }
        _ => None,
    };
    let estimates = peer.estimates();
    let mut io = Io {
        estimates,
        peer,
        input,
        screens,
        current,
        media,
        frames: None,
        sound,
        sound_service,
        audio: None,
        out,
        path_lost,
        key,
        metrics,
        _files: files_task,
        _clipboard: clipboard_task,
    };
    for action in core.start() {
        io.apply(action).await;
    }
    let offer = io.peer.create_offer().await?;
    let mut event = Event::Offered(offer);
    let reason = loop {
        if let Some(reason) = step(&mut core, &mut io, event).await {
            break reason;
        }
        event = next_event(inbox, &mut streams, &mut io, core.deadline()).await;
    };
    io.close(core.counters()).await;
    Ok(reason)
}

/// Hand `event` and what follows from it to the controller; `Some` once
/// the session is over.
async fn step(core: &mut Controller, io: &mut Io, event: Event) -> Option<Option<EndReason>> {
    let mut queue = VecDeque::from([event]);
    while let Some(event) = queue.pop_front() {
        for action in core.handle(Instant::now(), event) {
            match io.apply(action).await {
                Applied::Done => {}
                Applied::Then(next) => queue.push_back(next),
                Applied::End(reason) => return Some(reason),
            }
        }
    }
    None
}

/// Wait for the next thing to happen, the server's messages first.
async fn next_event(
    inbox: &mut mpsc::Receiver<SessionIn>,
    streams: &mut HostStreams,
    io: &mut Io,
    deadline: Option<Instant>,
) -> Event {
    tokio::select! {
        biased;
        msg = inbox.recv() => Event::Signal(msg.unwrap_or(SessionIn::End)),
        ev = streams.events.recv() => Event::Peer(ev.unwrap_or(HostEvent::Closed)),
        Some(candidate) = streams.candidates.recv() => Event::LocalCandidate(candidate),
        frame = next_frame(&mut io.frames) => match frame {
            Ok(frame) => Event::Frame { frame, screen: io.media.area() },
            Err(e) => Event::MediaStopped(e.to_string()),
        },
        estimate = next_estimate(&mut io.estimates) => Event::Estimate(estimate),
        () = sleep_or_never(deadline) => Event::Tick,
    }
}

/// The next changed bandwidth estimate; never, once the peer is gone.
async fn next_estimate(estimates: &mut Option<watch::Receiver<Option<Estimate>>>) -> Estimate {
    loop {
        let Some(rx) = estimates else {
            return std::future::pending().await;
        };
        if rx.changed().await.is_err() {
            *estimates = None;
            continue;
        }
        if let Some(estimate) = *rx.borrow_and_update() {
            return estimate;
        }
    }
}

async fn next_frame(frames: &mut Option<Subscription>) -> Result<Arc<EncodedFrame>, MediaError> {
    match frames {
        Some(f) => f.recv().await,
        None => std::future::pending().await,
    }
}

/// Write the sound's packets to the track until the pipeline stops (the
/// session goes on without sound). A session that fell behind skips ahead.
async fn forward_sound(mut packets: SoundPackets, track: AudioSender) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match packets.recv().await {
            Ok(packet) => {
                if let Err(e) = track.write(&packet).await {
                    tracing::trace!(error = %e, "sound packet not sent");
                }
            }
            Err(RecvError::Lagged(n)) => tracing::debug!(skipped = n, "sound fell behind"),
            Err(RecvError::Closed) => {
                tracing::info!("the sound pipeline stopped");
                return;
            }
        }
    }
}

impl Io {
    async fn apply(&mut self, action: Action) -> Applied {
        match action {
            Action::Send(msg) => {
                // Gone only when the agent itself is stopping.
                let _ = self.out.send(msg);
            }
            Action::ApplyAnswer(sdp) => {
                return match self.peer.set_remote_answer(sdp.clone()).await {
                    Ok(()) => Applied::Then(Event::AnswerApplied(sdp)),
                    Err(e) => Applied::Then(Event::AnswerRefused(e.to_string())),
                };
            }
            Action::SendBinding(payload) => {
                let signature = STANDARD.encode(self.key.sign(&payload).to_bytes());
                let msg = encode(&HostControlMsg::Binding { signature });
                match self.peer.send_control(&msg).await {
                    Ok(()) => tracing::info!("DTLS binding signed and sent"),
                    Err(e) => tracing::warn!(error = %e, "DTLS binding not sent"),
                }
            }
            Action::AddCandidate(c) => {
                if let Err(e) = self.peer.add_remote_candidate(c).await {
                    tracing::debug!(error = %e, "ignored remote candidate");
                }
            }
            Action::Inject(text) => {
                if let Err(e) = self.input.handle_text(&text) {
                    tracing::warn!(error = %e, "input injection failed");
                }
            }
            Action::ReleaseInput => {
                if let Err(e) = self.input.release_all() {
                    tracing::warn!(error = %e, "releasing held input failed");
                }
            }
            Action::SetScreen(area) => match screen_rect(area) {
                Ok(screen) => self.input.set_screen(screen),
                Err(e) => tracing::warn!(error = %e, "input keeps the old screen size"),
            },
            Action::SwitchScreen(id) => {
                self.switch_screen(&id);
                self.send_screens().await;
            }
            Action::SendScreens => {
                if self.screens_gone() {
                    let primary = screens::lock(&self.screens).primary_id();
                    self.switch_screen(&primary);
                }
                self.send_screens().await;
            }
            Action::RequestKeyframe => self.media.request_keyframe(),
            Action::Subscribe => {
                self.subscribe_sound().await;
                match self.media.subscribe() {
                    Ok(frames) => self.frames = Some(frames),
                    Err(e) => return Applied::Then(Event::MediaStopped(e.to_string())),
                }
            }
            Action::SendSound => self.send_sound().await,
            Action::AskBitrate(bps) => {
                if let Some(frames) = &self.frames {
                    frames.ask_bitrate(bps);
                }
            }
            Action::SendQuality(quality) => {
                let msg = encode(&HostControlMsg::Quality(quality));
                if let Err(e) = self.peer.send_control(&msg).await {
                    tracing::debug!(error = %e, "quality not sent");
                }
            }
            Action::SoundChannel(on) => {
                if let Some(sound) = self.peer.audio_sender() {
                    tracing::info!(on, "sound on the sound channel");
                    sound.use_channel(on);
                }
            }
            Action::WriteFrame { frame, duration } => {
                let sent = match self.peer.write_frame(&frame.data, duration).await {
                    Ok(()) => {
                        self.metrics.frame_sent(frame.data.len());
                        true
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "frame not sent");
                        false
                    }
                };
                let keyframe = frame.keyframe;
                return Applied::Then(Event::FrameWritten { keyframe, sent });
            }
            Action::RestartIce { attempt } => match self.peer.restart_ice().await {
                Ok(sdp) => {
                    tracing::info!(attempt, "ICE restart offered");
                    return Applied::Then(Event::Offered(sdp));
                }
                Err(e) => tracing::warn!(attempt, error = %e, "ICE restart failed"),
            },
            Action::PathLost => self.path_lost.notify_one(),
            Action::End(reason) => return Applied::End(reason),
        }
        Applied::Done
    }

    /// Shows monitor `id` from now on: the frames of its pipeline (the
    /// first an IDR at its size); input follows with that first frame.
    /// An unknown id or a pipeline that cannot start keeps the current one.
    fn switch_screen(&mut self, id: &str) {
        if id == self.current && self.frames.is_some() {
            return;
        }
        let media = match screens::lock(&self.screens).pipeline(Some(id)) {
            Ok(media) => media,
            Err(e) => {
                tracing::warn!(screen = %id, error = %e, "screen not switched");
                return;
            }
        };
        if self.frames.is_some() {
            match media.subscribe() {
                Ok(frames) => self.frames = Some(frames),
                Err(e) => {
                    tracing::warn!(screen = %id, error = %e, "screen not switched");
                    return;
                }
            }
        }
        tracing::info!(screen = %id, "showing another screen");
        self.current = id.to_string();
        self.media = media;
    }

    /// Start hearing the PC, when this session has sound. If the pipeline
    /// cannot start after all, the viewer learns why.
    async fn subscribe_sound(&mut self) {
        if self.sound.is_err() || self.audio.is_some() {
            return;
        }
        let Some(track) = self.peer.audio_sender() else {
            return;
        };
        match self.sound_service.subscribe().await {
            Ok(packets) => {
                let span = tracing::Span::current();
                self.audio = Some(meshdesk_tasks::AbortOnDrop::spawn(
                    tracing::Instrument::instrument(forward_sound(packets, track), span),
                ));
            }
            Err(e) => {
                self.sound = Err(e.to_string());
                self.send_sound().await;
            }
        }
    }

    /// Tells the viewer whether it hears the PC.
    async fn send_sound(&self) {
        let msg = encode(&HostControlMsg::Sound {
            available: self.sound.is_ok(),
            reason: self.sound.as_ref().err().cloned(),
        });
        if let Err(e) = self.peer.send_control(&msg).await {
            tracing::debug!(error = %e, "sound state not sent");
        }
    }

    /// Whether the shown monitor is no longer on the display.
    fn screens_gone(&self) -> bool {
        !screens::lock(&self.screens).has(&self.current)
    }

    /// Tells the viewer the screens and the one it sees.
    async fn send_screens(&self) {
        let screens = screens::lock(&self.screens).list();
        let msg = encode(&HostControlMsg::Screens {
            screens,
            current: self.current.clone(),
        });
        if let Err(e) = self.peer.send_control(&msg).await {
            tracing::debug!(error = %e, "screens not sent");
        }
    }

    /// Release everything held before the peer goes away, then close it.
    async fn close(self, counters: Counters) {
        let stats = self.input.stats();
        tracing::info!(
            injected = stats.injected,
            dropped_view_only = counters.dropped_view_only,
            rejected = stats.rejected,
            rejected_control = counters.rejected_control,
            "input summary"
        );
        drop(self.input);
        drop(self.frames);
        drop(self.audio);
        let _ = self.peer.close().await;
    }
}
