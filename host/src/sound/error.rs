//! The one error type of the sound pipeline.

/// Why the host cannot send its sound.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SoundError {
    /// No PulseAudio (or pipewire-pulse) server to ask: none named by
    /// `PULSE_SERVER`, none at `$XDG_RUNTIME_DIR/pulse/native`, or it
    /// refused us.
    #[error("no sound server: {0}")]
    NoServer(String),

    /// The server answered, but recording its output failed.
    #[error("recording the sound failed: {0}")]
    Record(String),

    /// The Opus encoder refused its settings or a frame.
    #[error("Opus encoder: {0}")]
    Encoder(#[from] opus::Error),
}

impl From<pulseaudio::ClientError> for SoundError {
    fn from(e: pulseaudio::ClientError) -> Self {
        match e {
            pulseaudio::ClientError::ServerUnavailable => {
                SoundError::NoServer("none at PULSE_SERVER or $XDG_RUNTIME_DIR/pulse/native".into())
            }
            pulseaudio::ClientError::Io(e) => SoundError::NoServer(e.to_string()),
            other => SoundError::Record(other.to_string()),
        }
    }
}
