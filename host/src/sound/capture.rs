//! Recording what the PC plays: the monitor source of the sound server's
//! default sink, through PulseAudio's native protocol (PipeWire desktops
//! answer it through pipewire-pulse). The server converts to 48 kHz
//! stereo s16le and delivers about every 10 ms; each chunk is framed,
//! encoded and timed right in the record callback, on the client's own
//! thread, and the packets are broadcast to the sessions.

use std::sync::Arc;

use meshdesk_peer::AudioPacket;
use pulseaudio::protocol::stream::{BufferAttr, StreamFlags};
use pulseaudio::protocol::{self, ChannelMap, RecordStreamParams, SampleFormat, SampleSpec};
use pulseaudio::{Client, RecordStream};
use tokio::sync::broadcast;

use super::encoder::OpusEncoder;
use super::frames::{Framer, Talkspurts, CHANNELS, FRAME_SAMPLES, SAMPLE_RATE};
use super::SoundError;

/// The client name the sound server shows for us.
const CLIENT_NAME: &std::ffi::CStr = c"Meshdesk host";
/// What the server sends at a time: one frame's bytes (10 ms).
const FRAGMENT_BYTES: u32 = (FRAME_SAMPLES * CHANNELS * 2) as u32;

/// The length of PulseAudio's authentication cookie.
const COOKIE_LEN: usize = 256;

/// A connection to the sound server: its socket and cookie found as
/// libpulse finds them. Without a cookie file we still send a cookie's
/// worth of zeros, which a server with anonymous access (or pipewire-pulse)
/// accepts; an empty one makes the server drop the connection.
pub async fn connect() -> Result<Client, SoundError> {
    let socket = pulseaudio::socket_path_from_env().ok_or(SoundError::NoServer(
        "none at PULSE_SERVER or $XDG_RUNTIME_DIR/pulse/native".into(),
    ))?;
    let cookie = pulseaudio::cookie_path_from_env()
        .and_then(|path| std::fs::read(path).ok())
        .filter(|c| c.len() == COOKIE_LEN)
        .unwrap_or_else(|| vec![0; COOKIE_LEN]);
    let stream = std::os::unix::net::UnixStream::connect(&socket)
        .map_err(|e| SoundError::NoServer(format!("{}: {e}", socket.display())))?;
    // The handshake is a blocking exchange on the socket.
    let client =
        tokio::task::spawn_blocking(move || Client::new_unix(CLIENT_NAME, stream, Some(cookie)))
            .await
            .map_err(|e| SoundError::NoServer(e.to_string()))??;
    // Proves the server talks to us, not just that a socket exists.
    client.server_info().await?;
    Ok(client)
}

/// Start recording the default sink's monitor; packets go to `packets`
/// until the returned stream is deleted.
pub async fn record(
    client: &Client,
    packets: broadcast::Sender<Arc<AudioPacket>>,
) -> Result<RecordStream, SoundError> {
    let sink = client
        .sink_info_by_name(protocol::DEFAULT_SINK.to_owned())
        .await?;
    let monitor = sink.monitor_source_index.ok_or_else(|| {
        SoundError::Record(format!(
            "the default sink {:?} has no monitor source",
            sink.name
        ))
    })?;
    tracing::info!(sink = ?sink.name, "recording the default sink's monitor");
    let params = RecordStreamParams {
        sample_spec: SampleSpec {
            format: SampleFormat::S16Le,
            channels: CHANNELS as u8,
            sample_rate: SAMPLE_RATE,
        },
        channel_map: ChannelMap::stereo(),
        source_index: Some(monitor),
        buffer_attr: BufferAttr {
            fragment_size: FRAGMENT_BYTES,
            ..Default::default()
        },
        // The source's latency is set to what the fragment asks for,
        // rather than the server's default of about 2 s of buffering.
        flags: StreamFlags {
            adjust_latency: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut encoder = OpusEncoder::new()?;
    let mut framer = Framer::default();
    let mut spurts = Talkspurts::default();
    let mut failed = false;
    let sink = move |data: &[u8]| {
        framer.push(data, |frame| match encoder.encode(frame) {
            Ok(encoded) => {
                if let Some(packet) = spurts.frame(encoded) {
                    // No receivers for a moment is fine: the pipeline
                    // stops once none are left for a while.
                    let _ = packets.send(Arc::new(packet));
                }
            }
            Err(e) if !failed => {
                failed = true;
                tracing::warn!(error = %e, "a sound frame was not encoded");
            }
            Err(_) => {}
        });
    };
    let stream = client.create_record_stream(params, sink).await?;
    stream.started().await?;
    Ok(stream)
}
