//! Playing the host's sound on this machine: each Opus packet is decoded
//! as it arrives and queued ([`SoundQueue`]); the local sound system's
//! callback (cpal: PulseAudio or pipewire-pulse when there is one, else
//! ALSA) takes from the queue. The output opens with the first packet, so a
//! session without sound never touches the sound system.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use meshdesk_peer::ReceivedAudio;
use opus::{Channels, Decoder};
use tokio::sync::mpsc;

use super::queue::{SoundQueue, CHANNELS, FRAME};

/// Sample rate of the stream and of our output.
const SAMPLE_RATE: u32 = 48_000;
/// Largest Opus frame (120 ms), per channel.
const MAX_FRAME: usize = 5760;

/// What the player did, for the stats report.
#[derive(Debug, Default)]
pub struct SoundStats {
    /// Packets decoded and queued.
    pub packets: AtomicU64,
    /// Packets that did not decode.
    pub undecodable: AtomicU64,
}

/// Play `packets` until the stream ends. Errors opening the output are
/// logged once; the session goes on without sound.
pub async fn play(mut packets: mpsc::Receiver<ReceivedAudio>, stats: Arc<SoundStats>) {
    let Some(first) = packets.recv().await else {
        return;
    };
    let queue = Arc::new(Mutex::new(SoundQueue::default()));
    // cpal's stream is not Send: it lives on its own thread.
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let output = {
        let queue = Arc::clone(&queue);
        std::thread::Builder::new()
            .name("sound-out".into())
            .spawn(move || match open_output(queue) {
                Ok(stream) => {
                    let _ = stop_rx.recv();
                    drop(stream);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no sound output; the session goes on without")
                }
            })
    };
    if let Err(e) = output {
        tracing::warn!(error = %e, "no sound output thread");
        return;
    }
    let mut decoder = match Decoder::new(SAMPLE_RATE, Channels::Stereo) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "no Opus decoder");
            return;
        }
    };
    let mut pcm = vec![0f32; MAX_FRAME * CHANNELS];
    let mut next = Some(first);
    while let Some(packet) = next {
        match decoder.decode_float(&packet.data, &mut pcm, false) {
            Ok(n) => {
                lock(&queue).push(&pcm[..n * CHANNELS]);
                stats.packets.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                if stats.undecodable.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(error = %e, "a sound packet did not decode");
                }
            }
        }
        next = packets.recv().await;
    }
    let _ = stop_tx.send(());
}

fn lock(queue: &Mutex<SoundQueue>) -> std::sync::MutexGuard<'_, SoundQueue> {
    queue.lock().unwrap_or_else(|p| p.into_inner())
}

/// The default output device, at 48 kHz stereo with a 10 ms buffer.
fn open_output(queue: Arc<Mutex<SoundQueue>>) -> Result<cpal::Stream, String> {
    let host = cpal::default_host();
    let device = host
        .default_output_device()
        .ok_or_else(|| format!("{} has no output device", host.id().name()))?;
    let config = cpal::StreamConfig {
        channels: CHANNELS as u16,
        sample_rate: SAMPLE_RATE,
        buffer_size: cpal::BufferSize::Fixed(FRAME as u32),
    };
    let stream = device
        .build_output_stream::<f32, _, _>(
            config,
            move |out: &mut [f32], _| lock(&queue).pull(out),
            |e| tracing::debug!(error = %e, "sound output"),
            None,
        )
        .map_err(|e| e.to_string())?;
    stream.play().map_err(|e| e.to_string())?;
    tracing::info!(host = host.id().name(), "playing the remote PC's sound");
    Ok(stream)
}
