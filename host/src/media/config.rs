//! What a media pipeline is asked to do: which display, how fast, how many bits.
//!
//! Validated once in [`MediaConfig::validate`] before any thread starts.

use crate::media::grab::GrabArea;
use crate::media::MediaError;

/// Default cap on frames per second (issue 3: 30 by default).
pub const DEFAULT_MAX_FPS: u32 = 30;

/// Default target bitrate: 4 Mbit/s, enough for a 1080p desktop with text.
pub const DEFAULT_BITRATE_BPS: u32 = 4_000_000;

/// Settings for one capture and encode pipeline (one per X display).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// X display to capture, e.g. `":0"`. `None` (the default) means `$DISPLAY`.
    pub display: Option<String>,
    /// Upper bound on captured and encoded frames per second. Default 30.
    /// Frames are only produced when the screen changes or a keyframe is
    /// requested, so this is a ceiling, not a rate.
    pub max_fps: u32,
    /// Target bitrate of the H.264 stream in bits per second. Default 4 Mbit/s.
    pub bitrate_bps: u32,
    /// H.264's deblocking filter. Default off (see `encode.rs`).
    pub deblocking: bool,
    /// The part of the screen to capture: one monitor. `None` (the
    /// default): the whole screen, following its size.
    pub area: Option<GrabArea>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            display: None,
            max_fps: DEFAULT_MAX_FPS,
            bitrate_bps: DEFAULT_BITRATE_BPS,
            deblocking: false,
            area: None,
        }
    }
}

impl MediaConfig {
    /// A default configuration for the named display.
    pub fn for_display(display: impl Into<String>) -> Self {
        Self {
            display: Some(display.into()),
            ..Self::default()
        }
    }

    /// Checks the values once, before a pipeline starts.
    pub fn validate(&self) -> Result<(), MediaError> {
        if !(1..=240).contains(&self.max_fps) {
            return Err(MediaError::InvalidConfig(format!(
                "max_fps must be 1..=240, got {}",
                self.max_fps
            )));
        }
        if !(100_000..=100_000_000).contains(&self.bitrate_bps) {
            return Err(MediaError::InvalidConfig(format!(
                "bitrate_bps must be 100000..=100000000, got {}",
                self.bitrate_bps
            )));
        }
        if self.display.as_deref().is_some_and(|d| d.contains('\0')) {
            return Err(MediaError::InvalidConfig(
                "display name contains a NUL byte".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        MediaConfig::default().validate().unwrap();
        assert_eq!(MediaConfig::default().max_fps, 30);
    }

    #[test]
    fn rejects_out_of_range_values() {
        let zero_fps = MediaConfig {
            max_fps: 0,
            ..MediaConfig::default()
        };
        assert!(zero_fps.validate().is_err());
        let tiny_bitrate = MediaConfig {
            bitrate_bps: 10,
            ..MediaConfig::default()
        };
        assert!(tiny_bitrate.validate().is_err());
        assert!(MediaConfig::for_display(":1\0").validate().is_err());
    }
}
