//! `connect DEVICE`: find the device, open the session, then either run the
//! window (winit on this, the main, thread) or, with `--headless`, decode
//! and discard for `--duration` (or measure input-to-photon with
//! `--measure-latency`, [`crate::measure`]). Prints the stats report with
//! `--stats-json`.

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use meshdesk_protocol::rest::Device;
use meshdesk_protocol::signal::ALL_SCREENS;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use winit::event_loop::EventLoop;

use crate::account::{find_device, signed_in};
use crate::cli::ConnectArgs;
use crate::measure::{self, LatencyReport, QualitySample, Report, Timeline};
use crate::session::{
    drive, establish, Established, Notice, Outcome, SessionCommand, SignalTarget,
};
use crate::sound::{self, SoundStats};
use crate::trust::expected_key;
use crate::video::{self, DecodeStats, DecoderNeeds, FrameSlot, Need, Output};
use crate::window::region::{self, Region};
use crate::window::{App, UserEvent, WindowConfig};
use crate::ViewerError;

/// How long closing may take before we stop waiting for it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Run `connect`.
pub fn connect(rt: &Runtime, path: &Path, args: &ConnectArgs) -> Result<(), ViewerError> {
    let (mut api, login) = signed_in(path)?;
    let device = rt.block_on(find_device(&mut api, &args.device))?;
    // A key that is not the pinned one stops here, before any media.
    let expected = expected_key(path, &device)?;
    // Open the display before the session, so a missing one fails cleanly.
    let event_loop = if args.headless {
        None
    } else {
        Some(
            EventLoop::<UserEvent>::with_user_event()
                .build()
                .map_err(|e| ViewerError::Window(format!("cannot open the display: {e}")))?,
        )
    };
    let requested = Instant::now();
    if let Some(id) = &args.screen {
        check_screen(&device, id)?;
    }
    // `--all-screens`: the host's picture of every monitor, cut into one
    // window per monitor.
    let (screen, regions) = match args.all_screens {
        true => {
            if device.screens.is_empty() {
                return Err(ViewerError::UnknownScreen {
                    device: device.name.clone(),
                    id: ALL_SCREENS.into(),
                    known: "none reported yet".into(),
                });
            }
            (Some(ALL_SCREENS), region::regions(&device.screens))
        }
        false => (args.screen.as_deref(), Vec::new()),
    };
    let target = SignalTarget::new(&login, api.list().clone())?;
    let session = rt.block_on(establish(
        target,
        &device,
        &expected.key,
        args.relay_only,
        screen,
    ))?;
    let mut on_verified = expected.on_verified();
    let name = device.name.clone();
    let (verified_tx, verified) = tokio::sync::oneshot::channel();
    let mut verified_tx = Some(verified_tx);
    let qualities = Arc::new(std::sync::Mutex::new(Vec::new()));
    let heard = Arc::clone(&qualities);
    let on_notice = move |n: &Notice| {
        on_verified(n);
        if let Notice::Quality(quality) = n {
            let sample = QualitySample::new(requested, Instant::now(), *quality);
            heard
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(sample);
        }
        if matches!(n, Notice::Verified { .. }) {
            if let Some(tx) = verified_tx.take() {
                let _ = tx.send(());
            }
        }
        if let Notice::Sound {
            available: false,
            reason,
        } = n
        {
            let why = reason.as_deref().unwrap_or("the remote PC sends none");
            eprintln!("{name}: no sound ({why})");
        }
    };
    let mut session = session;
    let pipes = std::mem::replace(&mut session.streams.pipes, mpsc::unbounded_channel().1);
    let _clipboard = {
        let _runtime = rt.enter();
        let control = session.permission.may_control();
        meshdesk_tasks::AbortOnDrop::spawn(crate::clipboard::share(pipes, verified, control))
    };
    let sound_stats = Arc::new(SoundStats::default());
    let audio = std::mem::replace(&mut session.streams.audio, mpsc::channel(1).1);
    let _player = match args.no_sound {
        true => None,
        false => {
            let _runtime = rt.enter();
            Some(meshdesk_tasks::AbortOnDrop::spawn(sound::play(
                audio,
                Arc::clone(&sound_stats),
            )))
        }
    };
    let established = Instant::now();
    tracing::info!(device = %device.name, "session established");

    let Finished {
        outcome,
        decode_stats,
        latency,
    } = match event_loop {
        Some(event_loop) => run_window(
            rt,
            event_loop,
            &device,
            session,
            (args.duration, regions),
            on_notice,
        )?,
        None => rt.block_on(run_headless(
            session,
            args.duration,
            (args.measure_latency, requested),
            on_notice,
        ))?,
    };
    let timeline = Timeline {
        requested,
        established,
        connected: outcome.connected_at,
        ended: Instant::now(),
    };
    let mut report = Report::build(
        (&device.name, &device.id),
        timeline,
        &outcome.stats,
        &decode_stats,
    );
    report.input_to_photon_ms = latency;
    report.quality = std::mem::take(
        &mut *qualities
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
    );
    report.audio_packets_played = sound_stats
        .packets
        .load(std::sync::atomic::Ordering::Relaxed);
    if args.stats_json {
        println!("{}", report.to_json());
    } else if args.headless {
        println!(
            "{}: {} frames in {:.1} s ({:.1} fps), first frame after {} ms",
            device.name,
            report.frames_decoded,
            report.duration_s,
            report.fps,
            report
                .first_frame_ms
                .map_or("-".to_string(), |ms| format!("{ms:.0}")),
        );
        if let Some(l) = &report.input_to_photon_ms {
            let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
            println!(
                "input to photon: p50 {} ms, p95 {} ms, min {} ms, max {} ms ({} samples, {} lost)",
                ms(l.summary.p50),
                ms(l.summary.p95),
                ms(l.summary.min),
                ms(l.summary.max),
                l.summary.n,
                l.summary.lost,
            );
        }
    }
    outcome.result
}

/// `--screen ID` names one of the device's screens (as it last reported
/// them), or the error lists the ones it has.
fn check_screen(device: &Device, id: &str) -> Result<(), ViewerError> {
    if device.screens.is_empty() || device.screens.iter().any(|s| s.id == id) {
        return Ok(());
    }
    let known: Vec<&str> = device.screens.iter().map(|s| s.id.as_str()).collect();
    Err(ViewerError::UnknownScreen {
        device: device.name.clone(),
        id: id.to_string(),
        known: known.join(", "),
    })
}

/// What a session leaves for the report.
struct Finished {
    outcome: Outcome,
    decode_stats: Arc<DecodeStats>,
    /// With `--measure-latency`.
    latency: Option<LatencyReport>,
}

/// The session with a window; returns when the window closes or the session
/// ends.
fn run_window(
    rt: &Runtime,
    event_loop: EventLoop<UserEvent>,
    device: &Device,
    mut session: Established,
    (duration, regions): (Option<Duration>, Vec<Region>),
    mut on_verified: impl FnMut(&Notice) + Send + 'static,
) -> Result<Finished, ViewerError> {
    let view_only = !session.permission.may_control();
    let slot = Arc::new(FrameSlot::new());
    let stats = Arc::new(DecodeStats::default());
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let video = take_video(&mut session);

    let wake = event_loop.create_proxy();
    let output = Output::Window {
        slot: Arc::clone(&slot),
        wake: Box::new(move || {
            let _ = wake.send_event(UserEvent::FrameReady);
        }),
    };
    let decoder = video::spawn(video, output, needs(&commands), Arc::clone(&stats))?;

    let notices = event_loop.create_proxy();
    let ended = event_loop.create_proxy();
    let task = rt.spawn(async move {
        let outcome = drive(session, commands_rx, move |n| {
            on_verified(&n);
            let _ = notices.send_event(UserEvent::Session(n));
        })
        .await;
        let _ = ended.send_event(UserEvent::SessionEnded);
        outcome
    });

    let config = WindowConfig {
        device_name: device.name.clone(),
        view_only,
        duration,
        regions,
    };
    let mut app = App::new(config, slot, commands.clone(), Arc::clone(&stats));
    let run = event_loop.run_app(&mut app);
    // However the loop ended, end the session (a no-op if it already has).
    let _ = commands.send(SessionCommand::Close);
    let outcome = rt.block_on(finish(task));
    join_decoder(decoder);
    run.map_err(|e| ViewerError::Window(e.to_string()))?;
    if let Some(e) = app.error.take() {
        return Err(e);
    }
    Ok(Finished {
        outcome: outcome?,
        decode_stats: stats,
        latency: None,
    })
}

/// The session without a window: decode and discard until `duration` has
/// passed, Ctrl-C, or the session ends; or, with `measure` samples, until
/// the latency measurement is done.
async fn run_headless(
    mut session: Established,
    duration: Option<Duration>,
    (measure, since): (Option<u32>, Instant),
    mut on_verified: impl FnMut(&Notice) + Send + 'static,
) -> Result<Finished, ViewerError> {
    let stats = Arc::new(DecodeStats::default());
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let video = take_video(&mut session);
    let (pictures_tx, mut pictures) = mpsc::unbounded_channel();
    let output = match measure {
        Some(_) => Output::Probe(pictures_tx),
        None => Output::Discard,
    };
    let decoder = video::spawn(video, output, needs(&commands), Arc::clone(&stats))?;
    let mut task = tokio::spawn(drive(session, commands_rx, move |n| on_verified(&n)));
    let mut sampler = measure.map(measure::clicks::sampler);
    let measuring = async {
        match sampler.as_mut() {
            Some(sampler) => measure::clicks::run(sampler, &mut pictures, &commands).await,
            None => std::future::pending().await,
        }
    };

    let timer = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        joined = &mut task => joined.map_err(|e| ViewerError::ConnectionFailed(e.to_string())),
        _ = timer => {
            let _ = commands.send(SessionCommand::Close);
            finish(task).await
        }
        _ = measuring => {
            let _ = commands.send(SessionCommand::Close);
            finish(task).await
        }
        _ = tokio::signal::ctrl_c() => {
            let _ = commands.send(SessionCommand::Close);
            finish(task).await
        }
    };
    tokio::task::spawn_blocking(move || join_decoder(decoder))
        .await
        .ok();
    Ok(Finished {
        outcome: outcome?,
        decode_stats: stats,
        latency: sampler.map(|s| LatencyReport::build(s.samples()).clicked(s.clicks(), since)),
    })
}

/// Wait for the session task to close, within [`CLOSE_TIMEOUT`].
async fn finish(task: tokio::task::JoinHandle<Outcome>) -> Result<Outcome, ViewerError> {
    let abort = task.abort_handle();
    match tokio::time::timeout(CLOSE_TIMEOUT, task).await {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(e)) => Err(ViewerError::ConnectionFailed(format!("session task: {e}"))),
        Err(_) => {
            abort.abort();
            Err(ViewerError::ConnectionFailed(
                "closing the session timed out".into(),
            ))
        }
    }
}

/// The decoder's needs, as commands to the session.
fn needs(commands: &mpsc::UnboundedSender<SessionCommand>) -> DecoderNeeds {
    let commands = commands.clone();
    Box::new(move |need| {
        let command = match need {
            Need::Keyframe => SessionCommand::RequestKeyframe,
            Need::FirstPicture => SessionCommand::FirstPicture,
        };
        // A closed channel means the session is over.
        let _ = commands.send(command);
    })
}

/// Hand the video stream to the decoder; the session keeps the rest.
fn take_video(session: &mut Established) -> mpsc::Receiver<meshdesk_peer::VideoEvent> {
    let (_, closed) = mpsc::channel(1);
    std::mem::replace(&mut session.streams.video, closed)
}

/// The decoder stops once the session's video stream closes; wait for that
/// a short while, and never hang the exit on it.
fn join_decoder(decoder: JoinHandle<()>) {
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    while !decoder.is_finished() {
        if Instant::now() >= deadline {
            tracing::warn!("decoder thread did not stop");
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = decoder.join();
}
