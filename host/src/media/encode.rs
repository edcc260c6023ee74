//! I420 pictures to H.264 access units with OpenH264, every setting explicit.
//!
//! OpenH264's defaults suit a camera at 120 kbit/s, not a desktop (see
//! testing.md), so usage type, rate control, bitrate, frame rate, frame
//! skipping, threads, intra period and loop filter are all set here. IDRs
//! come on demand ([`H264Encoder::force_keyframe`]), on the first frame,
//! and when OpenH264's scene-change detection sees most of the screen
//! change (it forces that detection on in screen mode: a full-screen colour
//! flip is always an IDR). The pipeline finds those scene cuts itself first
//! and asks for the IDR, which spares OpenH264 its slower check (`scene.rs`).
//! With the constant SPS/PPS id strategy every IDR carries its SPS and PPS,
//! so a viewer can join at any IDR.
//!
//! ## Speed settings (measured 2026-11-26, 2 cores, quiet machine)
//!
//! `host/examples/encode_bench.rs` encodes recorded desktop changes with
//! each [`EncoderTuning`], frame by frame in turn; medians of the time per
//! changed frame at 1280x720 / 1920x1080:
//!
//! | tuning | colour flip (IDR) | xterm scrolling | animated quarter |
//! |---|---|---|---|
//! | medium, 1 thread (before) | 10.9 / 25.2 ms | 8.8 / 20.3 ms | 7.1 / 14.7 ms |
//! | low, 1 thread | 11.3 / 24.7 ms | 9.1 / 19.8 ms | 7.1 / 14.5 ms |
//! | medium, 2 threads, 64 kB slices (now) | 10.1 / 19.7 ms | 9.2 / 18.4 ms | 7.4 / 14.4 ms |
//!
//! - Complexity low is no faster in screen mode: paired per frame it is
//!   0.93 to 1.01 times medium over two runs, inside the noise. Most of the
//!   time goes where complexity does not reach: scroll and scene-change
//!   detection (a fifth of a flip's encode), screen-content motion hashing,
//!   intra mode decision and deblocking. Medium stays.
//! - Two threads need size-limited slices (OpenH264 threads per slice
//!   region). In the bench they save up to 20 % at 1080p and little at
//!   720p; end to end, where the encoder runs with the rest of the pipeline,
//!   they cut the encode of the flip from 12.1 to 13.1 ms to 8.6 to 10.1 ms
//!   (720p) and from 28 to 30 ms to 19 to 21 ms (1080p), three runs each,
//!   and input-to-photon p50 by about 4 ms (720p) and 10 ms (1080p).
//!   Cost: bytes per changed frame +2 to +18 % (flip 2772 to 2836 B, xterm
//!   930 to 988 B, animation 639 to 701 B at 720p), IDRs +0.1 %, text
//!   quality unchanged (xterm luma PSNR 40.4 to 40.5 dB median at 720p,
//!   45.1 to 45.3 dB at 1080p). MTU-sized slices (1,100 B) were no faster
//!   and cost up to 20 % more bytes at 1080p.
//! - More than two threads could not be measured on this 2-core machine,
//!   so the pipeline asks for at most two; with one core it keeps one
//!   thread and one slice.
//! - Camera mode stays out: faster, but far worse on text (testing.md).
//!
//! ## Deblocking off (measured 2026-11-26, same bench, paired per frame)
//!
//! H.264's in-loop deblocking filter smooths block edges. On screen
//! content it mostly blurs the edges of text, and both the encoder and
//! every decoder (the native viewer's OpenH264, Chromium's) spend time on
//! it. OpenH264 takes the setting only when it is initialised, which the
//! `openh264` crate's encoder does with the filter on, so the host drives
//! OpenH264 through its C interface (`encoder_ffi.rs`; with the filter on
//! the stream is the crate's byte for byte, `host/tests/encoder_params.rs`).
//! With the filter off, at 1280x720 / 1920x1080:
//!
//! | content | encode | decode | bytes per frame | luma PSNR (median) |
//! |---|---|---|---|---|
//! | colour flip (IDR) | 0.78 / 0.88x | 3.3 → 1.8 / 8.7 → 4.7 ms | same | same |
//! | xterm scrolling | 0.96 / 0.95x | 2.2 → 1.7 / 4.8 → 3.9 ms | −16 / −16 % | 40.4 → 43.7 / 45.2 → 45.1 dB |
//! | animated picture | 0.92 / 0.96x | 2.1 → 1.8 / 4.7 → 3.8 ms | +5 / +5 % | 42.0 → 41.9 / 41.7 → 41.6 dB |
//!
//! Text comes out sharper for fewer bytes; a detailed moving picture costs
//! 5 % more bytes for the same quality. [`EncoderTuning::deblocking`]
//! keeps the filter available to the benchmarks.

use std::time::Duration;

use openh264_sys2::{
    SEncParamExt, CONSTANT_ID, DEBLOCKING_IDC_0, DEBLOCKING_IDC_1, HIGH_COMPLEXITY, LOW_COMPLEXITY,
    MEDIUM_COMPLEXITY, RC_BITRATE_MODE, SCREEN_CONTENT_REAL_TIME, SM_SINGLE_SLICE,
    SM_SIZELIMITED_SLICE,
};

use crate::media::convert::I420View;
use crate::media::encoder_ffi::{FrameKind, RawEncoder};
use crate::media::MediaError;

/// One encoded picture: an Annex-B access unit (NAL units with start codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPicture {
    /// The NAL units of this frame, each prefixed with `00 00 00 01`.
    pub data: Vec<u8>,
    /// An IDR frame (with SPS and PPS): a decoder can start here.
    pub keyframe: bool,
}

/// The speed-related OpenH264 settings, so that benchmarks compare them
/// through the code path the pipeline uses. The pipeline runs with
/// [`EncoderTuning::for_this_machine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderTuning {
    /// Encoder complexity (mode decision effort).
    pub complexity: EncoderComplexity,
    /// OpenH264 worker threads (1 to 4). OpenH264 parallelises by slice: more
    /// than one needs [`Self::max_slice_bytes`], or it runs on one anyway.
    pub threads: u16,
    /// Size-limited slices of at most about this many bytes (at least
    /// [`MIN_SLICE_BYTES`]), the picture split into one region per thread;
    /// `None`: one slice per picture.
    pub max_slice_bytes: Option<u32>,
    /// H.264's in-loop deblocking filter. Off in the pipeline: on screen
    /// content it blurs text and costs the encoder and every decoder time
    /// (see the module doc).
    pub deblocking: bool,
}

/// OpenH264's complexity levels (`ECOMPLEXITY_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderComplexity {
    /// Fastest: SAD instead of SATD in mode decision.
    Low,
    /// OpenH264's default.
    Medium,
    /// Slowest.
    High,
}

/// Most threads OpenH264 uses (`MAX_THREADS_NUM`), and the most we ask for.
const MAX_THREADS: u16 = 4;

/// Threads the pipeline uses at most: two is what was measured (2 cores).
const PIPELINE_THREADS: u16 = 2;

/// Smallest slice limit accepted: OpenH264 refuses limits under the largest
/// possible macroblock plus headers (about 450 bytes).
pub const MIN_SLICE_BYTES: u32 = 1_000;

/// The pipeline's slice limit with several threads: large enough that a
/// thread's region is usually one slice, so slicing costs few bytes.
const PIPELINE_SLICE_BYTES: u32 = 64_000;

impl EncoderTuning {
    /// One thread, one slice per picture, medium complexity, no deblocking.
    pub const SINGLE_THREAD: Self = Self {
        complexity: EncoderComplexity::Medium,
        threads: 1,
        max_slice_bytes: None,
        deblocking: false,
    };

    /// The pipeline's settings on a machine with `cores` logical cores:
    /// medium complexity (low was no faster, see the module doc), and with
    /// two or more cores two threads on size-limited slices.
    pub fn for_cores(cores: usize) -> Self {
        let threads = u16::try_from(cores)
            .unwrap_or(u16::MAX)
            .clamp(1, PIPELINE_THREADS);
        Self {
            threads,
            max_slice_bytes: (threads > 1).then_some(PIPELINE_SLICE_BYTES),
            ..Self::SINGLE_THREAD
        }
    }

    /// [`Self::for_cores`] for the cores this process may use.
    pub fn for_this_machine() -> Self {
        Self::for_cores(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// Refuses settings OpenH264 would reject at the first frame.
    fn validate(&self) -> Result<(), MediaError> {
        if !(1..=MAX_THREADS).contains(&self.threads) {
            return Err(MediaError::InvalidConfig(format!(
                "encoder threads must be 1..={MAX_THREADS}, got {}",
                self.threads
            )));
        }
        if self.max_slice_bytes.is_some_and(|b| b < MIN_SLICE_BYTES) {
            return Err(MediaError::InvalidConfig(format!(
                "slices must allow at least {MIN_SLICE_BYTES} bytes, got {:?}",
                self.max_slice_bytes
            )));
        }
        Ok(())
    }
}

/// An OpenH264 encoder configured for screen content.
pub struct H264Encoder {
    /// The OpenH264 instance.
    raw: RawEncoder,
    /// Target bitrate in bits per second.
    bitrate_bps: u32,
    /// Highest frame rate the rate control plans for.
    max_fps: u32,
    /// Speed and quality settings.
    tuning: EncoderTuning,
    /// The picture size the encoder is initialised for, once it is.
    size: Option<(u32, u32)>,
    /// Set by [`Self::force_keyframe`], applied on the next encode.
    keyframe_requested: bool,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("tuning", &self.tuning)
            .field("size", &self.size)
            .field("keyframe_requested", &self.keyframe_requested)
            .finish_non_exhaustive()
    }
}

impl H264Encoder {
    /// An encoder targeting `bitrate_bps` at up to `max_fps` frames per
    /// second, tuned for this machine ([`EncoderTuning::for_this_machine`]).
    pub fn new(bitrate_bps: u32, max_fps: u32) -> Result<Self, MediaError> {
        Self::with_tuning(bitrate_bps, max_fps, EncoderTuning::for_this_machine())
    }

    /// [`Self::new`] with explicit speed settings (benchmarks, tests).
    pub fn with_tuning(
        bitrate_bps: u32,
        max_fps: u32,
        tuning: EncoderTuning,
    ) -> Result<Self, MediaError> {
        tuning.validate()?;
        if i32::try_from(bitrate_bps).is_err() {
            return Err(MediaError::InvalidConfig(format!(
                "bitrate must be at most {} bit/s, got {bitrate_bps}",
                i32::MAX
            )));
        }
        Ok(Self {
            raw: RawEncoder::new()?,
            bitrate_bps,
            max_fps,
            tuning,
            size: None,
            keyframe_requested: false,
        })
    }

    /// Aims at `bitrate_bps` and plans for `fps` frames a second from the
    /// next picture on, without an IDR (the congestion controller's
    /// choice; see `rate.rs`).
    pub fn set_rate(&mut self, bitrate_bps: u32, fps: u32) -> Result<(), MediaError> {
        let bitrate = i32::try_from(bitrate_bps).unwrap_or(i32::MAX);
        let raising = bitrate as u32 > self.bitrate_bps;
        self.bitrate_bps = bitrate as u32;
        self.max_fps = fps.max(1);
        if self.size.is_some() {
            self.raw.set_rate(bitrate, self.max_fps as f32, raising)?;
        }
        Ok(())
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
        let planes_fit = w >= 2
            && h >= 2
            && w % 2 == 0
            && h % 2 == 0
            && picture.y.len() == w * h
            && picture.u.len() == w * h / 4
            && picture.v.len() == w * h / 4;
        if !planes_fit {
            // OpenH264 would read past the planes: refuse it as a value.
            return Err(MediaError::UnsupportedSize {
                width: picture.width,
                height: picture.height,
            });
        }
        let size = (picture.width, picture.height);
        let keyframe_requested = std::mem::take(&mut self.keyframe_requested);
        if self.size != Some(size) {
            // A new size starts the encoder over: its first picture is an IDR.
            self.size = None;
            let params = self.params(size)?;
            self.raw.initialize(&params)?;
            self.size = Some(size);
        } else if keyframe_requested {
            self.raw.force_idr()?;
        }
        let millis = i64::try_from(pts.as_millis()).unwrap_or(i64::MAX);
        let mut data = Vec::new();
        let keyframe = match self.raw.encode(picture, millis, &mut data)? {
            FrameKind::Idr => true,
            FrameKind::Other => false,
            FrameKind::Nothing => return Ok(None),
        };
        if data.is_empty() {
            return Ok(None);
        }
        Ok(Some(EncodedPicture { data, keyframe }))
    }

    /// Every OpenH264 parameter for a `width` x `height` screen.
    fn params(&mut self, (width, height): (u32, u32)) -> Result<SEncParamExt, MediaError> {
        let mut p = self.raw.default_params()?;
        let (w, h) = (width as i32, height as i32);
        let bitrate = self.bitrate_bps as i32;
        let fps = self.max_fps as f32;
        p.iUsageType = SCREEN_CONTENT_REAL_TIME;
        p.iPicWidth = w;
        p.iPicHeight = h;
        p.iRCMode = RC_BITRATE_MODE;
        p.iTargetBitrate = bitrate;
        p.fMaxFrameRate = fps;
        // Never drop a frame to hold the bitrate: a skipped frame would
        // leave the viewer on a stale screen until the next change.
        p.bEnableFrameSkip = false;
        p.bEnableDenoise = false;
        // Screen-content mode does not support these (OpenH264 would turn
        // them off itself with a warning); scene-change detection it forces on.
        p.bEnableAdaptiveQuant = false;
        p.bEnableBackgroundDetection = false;
        p.bEnableSceneChangeDetect = true;
        p.bEnableLongTermReference = false;
        p.iLtrMarkPeriod = 30;
        // No periodic IDR: keyframes only on request or a new viewer; every
        // IDR carries its SPS and PPS (constant ids).
        p.uiIntraPeriod = 0;
        p.eSpsPpsIdStrategy = CONSTANT_ID;
        p.iMultipleThreadIdc = self.tuning.threads;
        p.iComplexityMode = match self.tuning.complexity {
            EncoderComplexity::Low => LOW_COMPLEXITY,
            EncoderComplexity::Medium => MEDIUM_COMPLEXITY,
            EncoderComplexity::High => HIGH_COMPLEXITY,
        };
        p.iLoopFilterDisableIdc = if self.tuning.deblocking {
            DEBLOCKING_IDC_0
        } else {
            DEBLOCKING_IDC_1
        };
        p.iMinQp = 0;
        p.iMaxQp = 51;
        p.iSpatialLayerNum = 1;
        p.iTemporalLayerNum = 1;
        let layer = &mut p.sSpatialLayers[0];
        layer.iVideoWidth = w;
        layer.iVideoHeight = h;
        layer.fFrameRate = fps;
        layer.iSpatialBitrate = bitrate;
        layer.iMaxSpatialBitrate = bitrate;
        match self.tuning.max_slice_bytes {
            Some(bytes) => {
                p.uiMaxNalSize = bytes;
                layer.sSliceArgument.uiSliceMode = SM_SIZELIMITED_SLICE;
                layer.sSliceArgument.uiSliceSizeConstraint = bytes;
            }
            None => {
                layer.sSliceArgument.uiSliceMode = SM_SINGLE_SLICE;
                layer.sSliceArgument.uiSliceNum = 1;
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::convert::I420Picture;
    use crate::media::frame::{nal_types, NAL_IDR};

    #[test]
    fn pipeline_tuning_uses_two_threads_on_sliced_pictures_when_it_can() {
        assert_eq!(EncoderTuning::for_cores(1), EncoderTuning::SINGLE_THREAD);
        for cores in [2, 16] {
            let tuning = EncoderTuning::for_cores(cores);
            assert_eq!(tuning.threads, 2);
            assert_eq!(tuning.max_slice_bytes, Some(PIPELINE_SLICE_BYTES));
            assert_eq!(tuning.complexity, EncoderComplexity::Medium);
        }
        EncoderTuning::for_this_machine().validate().unwrap();
    }

    #[test]
    fn settings_openh264_would_refuse_are_errors() {
        let bad = [
            EncoderTuning {
                threads: 0,
                ..EncoderTuning::SINGLE_THREAD
            },
            EncoderTuning {
                threads: MAX_THREADS + 1,
                ..EncoderTuning::SINGLE_THREAD
            },
            EncoderTuning {
                max_slice_bytes: Some(0),
                ..EncoderTuning::SINGLE_THREAD
            },
        ];
        for tuning in bad {
            let result = H264Encoder::with_tuning(1_000_000, 30, tuning);
            assert!(
                matches!(result, Err(MediaError::InvalidConfig(_))),
                "{tuning:?}"
            );
        }
    }

    #[test]
    fn sliced_two_thread_pictures_decode() {
        // Detailed content, so that small slices really split the picture.
        let (w, h) = (320u32, 240u32);
        let bgrx: Vec<u8> = (0..w * h * 4)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut picture = I420Picture::new();
        picture.convert_from_bgrx(&bgrx, w, h, w * 4).unwrap();
        let tuning = EncoderTuning {
            threads: 2,
            max_slice_bytes: Some(MIN_SLICE_BYTES),
            ..EncoderTuning::SINGLE_THREAD
        };
        let mut encoder = H264Encoder::with_tuning(4_000_000, 30, tuning).unwrap();
        let idr = encoder
            .encode(picture.view(), Duration::ZERO)
            .unwrap()
            .expect("a picture");
        assert!(idr.keyframe);
        let slices = nal_types(&idr.data)
            .into_iter()
            .filter(|&t| t == NAL_IDR)
            .count();
        assert!(slices > 1, "{slices} slice(s)");
        let mut decoder = openh264::decoder::Decoder::new().unwrap();
        let decoded = decoder.decode(&idr.data).unwrap().expect("decodes");
        use openh264::formats::YUVSource;
        assert_eq!(decoded.dimensions(), (w as usize, h as usize));
    }

    #[test]
    fn the_rate_changes_both_ways_without_an_idr_and_after_a_new_size() {
        // Detailed content whose first rows change with `seed`: a small
        // change, which is no new scene.
        let picture = |w: u32, h: u32, seed: u32| {
            let bgrx: Vec<u8> = (0..w * h * 4)
                .map(|i| {
                    let i = if i < w * 16 { i.wrapping_add(seed) } else { i };
                    (i.wrapping_mul(2_654_435_761) >> 13) as u8
                })
                .collect();
            let mut p = I420Picture::new();
            p.convert_from_bgrx(&bgrx, w, h, w * 4).unwrap();
            p
        };
        let mut encoder =
            H264Encoder::with_tuning(1_000_000, 30, EncoderTuning::SINGLE_THREAD).unwrap();
        let mut pts = Duration::ZERO;
        let mut encode = |encoder: &mut H264Encoder, p: &I420Picture| {
            pts += Duration::from_millis(33);
            encoder.encode(p.view(), pts).unwrap().expect("a picture")
        };
        assert!(encode(&mut encoder, &picture(320, 240, 0)).keyframe);
        // Down, then up past where it started: OpenH264 refuses a target
        // above the layer's ceiling unless the ceiling moves first.
        encoder.set_rate(400_000, 15).expect("lower");
        assert!(!encode(&mut encoder, &picture(320, 240, 1)).keyframe);
        encoder.set_rate(2_000_000, 30).expect("higher");
        assert!(!encode(&mut encoder, &picture(320, 240, 2)).keyframe);
        // A new size starts over at the rate last set; raising still works.
        encoder.set_rate(500_000, 30).expect("lower");
        assert!(encode(&mut encoder, &picture(160, 120, 3)).keyframe);
        encoder
            .set_rate(900_000, 30)
            .expect("higher after a new size");
        assert!(!encode(&mut encoder, &picture(160, 120, 4)).keyframe);
    }

    #[test]
    fn planes_that_do_not_fit_the_size_are_refused_not_read() {
        let mut encoder =
            H264Encoder::with_tuning(1_000_000, 30, EncoderTuning::SINGLE_THREAD).expect("encoder");
        let (y, u, v) = (vec![0u8; 64 * 64], vec![0u8; 32 * 32], vec![0u8; 32 * 32]);
        let view = |y, u, v, width, height| I420View {
            y,
            u,
            v,
            width,
            height,
        };
        for bad in [
            view(&y[..10], &u, &v, 64, 64), // luma shorter than the size
            view(&y, &[], &[], 64, 64),     // no chroma
            view(&y, &u, &v, 63, 64),       // odd width
            view(&[], &[], &[], 0, 0),      // empty
        ] {
            let result = encoder.encode(bad, Duration::ZERO);
            assert!(
                matches!(result, Err(MediaError::UnsupportedSize { .. })),
                "{}x{}: {result:?}",
                bad.width,
                bad.height
            );
        }
        // The encoder still works afterwards.
        let good = view(&y, &u, &v, 64, 64);
        assert!(encoder.encode(good, Duration::ZERO).unwrap().is_some());
    }
}
