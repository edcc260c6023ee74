//! I420 pictures to H.264 access units with OpenH264, every setting explicit.
//!
//! OpenH264's defaults suit a camera at 120 kbit/s, not a desktop (see
//! testing.md), so usage type, rate control, bitrate, frame rate, frame
//! skipping, threads and intra period are all set here. IDRs come only on
//! demand ([`H264Encoder::force_keyframe`]) and on the first frame; with the
//! constant SPS/PPS id strategy every IDR carries its SPS and PPS, so a viewer
//! can join at any IDR.

use std::time::Duration;

use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod,
    RateControlMode, SpsPpsStrategy, UsageType,
};
use openh264::formats::YUVSlices;
use openh264::{OpenH264API, Timestamp};

use crate::media::convert::I420View;
use crate::media::MediaError;

/// One encoded picture: an Annex-B access unit (NAL units with start codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPicture {
    /// The NAL units of this frame, each prefixed with `00 00 00 01`.
    pub data: Vec<u8>,
    /// An IDR frame (with SPS and PPS): a decoder can start here.
    pub keyframe: bool,
}

/// An OpenH264 encoder configured for screen content.
pub struct H264Encoder {
    /// The OpenH264 instance; it re-initialises itself when the size changes.
    encoder: Encoder,
    /// Set by [`Self::force_keyframe`], applied on the next encode.
    keyframe_requested: bool,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("keyframe_requested", &self.keyframe_requested)
            .finish_non_exhaustive()
    }
}

impl H264Encoder {
    /// An encoder targeting `bitrate_bps` at up to `max_fps` frames per second.
    pub fn new(bitrate_bps: u32, max_fps: u32) -> Result<Self, MediaError> {
        let config = EncoderConfig::new()
            .usage_type(UsageType::ScreenContentRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(max_fps as f32))
            // Never drop a frame to hold the bitrate: a skipped frame would
            // leave the viewer on a stale screen until the next change.
            .skip_frames(false)
            // One thread: the pipeline already runs capture and encode on
            // separate threads, and the machine may have only two cores.
            .num_threads(1)
            .complexity(Complexity::Medium)
            // Screen-content mode does not support these; OpenH264 turns
            // them off itself with a warning, so say so here.
            .adaptive_quantization(false)
            .background_detection(false)
            // No periodic IDR: keyframes only on request or a new viewer.
            .intra_frame_period(IntraFramePeriod::from_num_frames(0))
            .sps_pps_strategy(SpsPpsStrategy::ConstantId);
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)?;
        Ok(Self {
            encoder,
            keyframe_requested: false,
        })
    }

    /// Makes the next encoded frame an IDR.
    pub fn force_keyframe(&mut self) {
        self.keyframe_requested = true;
    }

    /// Encodes one picture. `pts` is the capture time relative to the stream's
    /// start. Returns `None` if the encoder produced no picture.
    pub fn encode(
        &mut self,
        picture: I420View<'_>,
        pts: Duration,
    ) -> Result<Option<EncodedPicture>, MediaError> {
        let (w, h) = (picture.width as usize, picture.height as usize);
        let planes_fit = w % 2 == 0
            && h % 2 == 0
            && picture.y.len() == w * h
            && picture.u.len() == w * h / 4
            && picture.v.len() == w * h / 4;
        if !planes_fit {
            // YUVSlices would panic on this; refuse it as a value instead.
            return Err(MediaError::UnsupportedSize {
                width: picture.width,
                height: picture.height,
            });
        }
        let source = YUVSlices::new((picture.y, picture.u, picture.v), (w, h), (w, w / 2, w / 2));
        if std::mem::take(&mut self.keyframe_requested) {
            self.encoder.force_intra_frame();
        }
        let millis = u64::try_from(pts.as_millis()).unwrap_or(u64::MAX);
        let stream = self
            .encoder
            .encode_at(&source, Timestamp::from_millis(millis))?;
        let keyframe = match stream.frame_type() {
            FrameType::IDR => true,
            FrameType::I | FrameType::P | FrameType::IPMixed => false,
            FrameType::Skip | FrameType::Invalid => return Ok(None),
        };
        let data = stream.to_vec();
        if data.is_empty() {
            return Ok(None);
        }
        Ok(Some(EncodedPicture { data, keyframe }))
    }
}
