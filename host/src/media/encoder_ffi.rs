//! OpenH264's encoder through its C interface (`openh264-sys2`), so that
//! every parameter is ours to set. The `openh264` crate's encoder fixes
//! some of them, the loop filter among them, and OpenH264 applies a new
//! loop filter setting only when it is initialised. This is the media
//! pipeline's only unsafe code; each block says why it is sound.

#![allow(unsafe_code)]

use std::os::raw::{c_int, c_void};
use std::ptr;

use openh264_sys2::{
    videoFormatI420, DynamicAPI, ISVCEncoder, ISVCEncoderVtbl, SBitrateInfo, SEncParamExt,
    SFrameBSInfo, SSourcePicture, API, ENCODER_OPTION, ENCODER_OPTION_BITRATE,
    ENCODER_OPTION_FRAME_RATE, ENCODER_OPTION_MAX_BITRATE, ENCODER_OPTION_TRACE_LEVEL,
    SPATIAL_LAYER_0, WELS_LOG_ERROR,
};

use crate::media::convert::I420View;
use crate::media::MediaError;

/// What kind of picture OpenH264 made (`EVideoFrameType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    /// An IDR: a decoder can start here.
    Idr,
    /// Any other coded picture (I, P or mixed).
    Other,
    /// Nothing was coded (a skipped or invalid frame).
    Nothing,
}

/// One OpenH264 encoder instance.
pub(crate) struct RawEncoder {
    /// Where the library's entry points come from (built from source).
    api: DynamicAPI,
    /// The instance; valid from `new` until `drop`.
    instance: *mut ISVCEncoder,
    /// The instance's function table, checked complete in `new`.
    calls: ISVCEncoderVtbl,
    /// `InitializeExt` succeeded and `Uninitialize` is owed.
    initialized: bool,
    /// Where `EncodeFrame` describes its output (large: kept, not on the stack).
    output: Box<SFrameBSInfo>,
}

// SAFETY: the instance is only used through `&mut self`, so by one thread
// at a time; OpenH264 keeps no state tied to the thread that created it
// (its own worker threads are started and joined inside the calls).
unsafe impl Send for RawEncoder {}

impl std::fmt::Debug for RawEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawEncoder")
            .field("initialized", &self.initialized)
            .finish_non_exhaustive()
    }
}

/// An OpenH264 return code as a result.
fn check(call: &'static str, code: c_int) -> Result<(), MediaError> {
    if code == 0 {
        Ok(())
    } else {
        Err(MediaError::EncoderCall { call, code })
    }
}

impl RawEncoder {
    /// A new, uninitialised encoder.
    pub(crate) fn new() -> Result<Self, MediaError> {
        let api = DynamicAPI::from_source();
        let mut instance: *mut ISVCEncoder = ptr::null_mut();
        // SAFETY: `instance` is a valid place for the out-pointer.
        check("WelsCreateSVCEncoder", unsafe {
            api.WelsCreateSVCEncoder(&mut instance)
        })?;
        // SAFETY: on success OpenH264 stores a pointer to an instance whose
        // first field points to its function table; both live until
        // `WelsDestroySVCEncoder`.
        let calls = unsafe {
            match instance.as_ref().and_then(|table| table.as_ref()) {
                Some(table) => *table,
                None => {
                    return Err(MediaError::EncoderCall {
                        call: "WelsCreateSVCEncoder (no instance)",
                        code: -1,
                    })
                }
            }
        };
        let encoder = Self {
            api,
            instance,
            calls,
            initialized: false,
            output: Box::default(),
        };
        let complete = [
            encoder.calls.InitializeExt.is_some(),
            encoder.calls.GetDefaultParams.is_some(),
            encoder.calls.Uninitialize.is_some(),
            encoder.calls.EncodeFrame.is_some(),
            encoder.calls.ForceIntraFrame.is_some(),
            encoder.calls.SetOption.is_some(),
        ];
        if complete.contains(&false) {
            return Err(MediaError::EncoderCall {
                call: "WelsCreateSVCEncoder (incomplete function table)",
                code: -1,
            });
        }
        Ok(encoder)
    }

    /// OpenH264's defaults, to start a parameter set from.
    pub(crate) fn default_params(&mut self) -> Result<SEncParamExt, MediaError> {
        let mut params = SEncParamExt::default();
        let call = self.calls.GetDefaultParams.expect("checked in new");
        // SAFETY: a live instance and a valid, writable parameter struct.
        check("GetDefaultParams", unsafe {
            call(self.instance, &mut params)
        })?;
        Ok(params)
    }

    /// (Re)starts the encoder with `params`; the next picture is an IDR.
    pub(crate) fn initialize(&mut self, params: &SEncParamExt) -> Result<(), MediaError> {
        self.uninitialize();
        // Only errors are worth OpenH264's own console output.
        let mut level: c_int = WELS_LOG_ERROR as c_int;
        let set_option = self.calls.SetOption.expect("checked in new");
        // SAFETY: a live instance; the option reads one c_int, which lives
        // across the call. A failure only leaves the default level.
        let _ = unsafe {
            set_option(
                self.instance,
                ENCODER_OPTION_TRACE_LEVEL,
                (&mut level as *mut c_int).cast::<c_void>(),
            )
        };
        let call = self.calls.InitializeExt.expect("checked in new");
        // SAFETY: a live instance and a parameter struct valid for the call.
        check("InitializeExt", unsafe { call(self.instance, params) })?;
        self.initialized = true;
        Ok(())
    }

    /// Changes the target bitrate (bit/s) of the one spatial layer, and
    /// its ceiling with it, and the frame rate the rate control plans for,
    /// without starting over (no IDR). OpenH264 refuses a target above
    /// the layer's ceiling, so a higher rate (`raising`) moves the ceiling
    /// first and a lower one moves it after.
    pub(crate) fn set_rate(
        &mut self,
        bitrate_bps: c_int,
        fps: f32,
        raising: bool,
    ) -> Result<(), MediaError> {
        let mut target = SBitrateInfo {
            iLayer: SPATIAL_LAYER_0,
            iBitrate: bitrate_bps,
        };
        let mut ceiling = target;
        let mut set_ceiling = |this: &mut Self| {
            this.set_option(
                "SetOption(ENCODER_OPTION_MAX_BITRATE)",
                ENCODER_OPTION_MAX_BITRATE,
                (&mut ceiling as *mut SBitrateInfo).cast(),
            )
        };
        if raising {
            set_ceiling(self)?;
        }
        self.set_option(
            "SetOption(ENCODER_OPTION_BITRATE)",
            ENCODER_OPTION_BITRATE,
            (&mut target as *mut SBitrateInfo).cast(),
        )?;
        if !raising {
            set_ceiling(self)?;
        }
        let mut fps = fps;
        self.set_option(
            "SetOption(ENCODER_OPTION_FRAME_RATE)",
            ENCODER_OPTION_FRAME_RATE,
            (&mut fps as *mut f32).cast(),
        )
    }

    /// One `SetOption` call on an initialised instance.
    fn set_option(
        &mut self,
        call: &'static str,
        option: ENCODER_OPTION,
        value: *mut c_void,
    ) -> Result<(), MediaError> {
        let set_option = self.calls.SetOption.expect("checked in new");
        // SAFETY: a live, initialised instance (callers initialise first);
        // `value` points at the type `option` reads (SBitrateInfo for the
        // bitrates, f32 for the frame rate), alive across the call.
        check(call, unsafe { set_option(self.instance, option, value) })
    }

    /// Makes the next picture an IDR.
    pub(crate) fn force_idr(&mut self) -> Result<(), MediaError> {
        let call = self.calls.ForceIntraFrame.expect("checked in new");
        // SAFETY: a live, initialised instance (callers initialise first).
        check("ForceIntraFrame", unsafe { call(self.instance, true) })
    }

    /// Encodes `picture` (planes `width` and `width / 2` bytes per row),
    /// appending the access unit's NAL units, with start codes, to `out`.
    pub(crate) fn encode(
        &mut self,
        picture: I420View<'_>,
        timestamp_ms: i64,
        out: &mut Vec<u8>,
    ) -> Result<FrameKind, MediaError> {
        let (width, height) = (picture.width as c_int, picture.height as c_int);
        let source = SSourcePicture {
            iColorFormat: videoFormatI420 as c_int,
            iStride: [width, width / 2, width / 2, 0],
            // OpenH264 only reads the source planes; the pointers are
            // `*mut` in its C declaration alone.
            pData: [
                picture.y.as_ptr().cast_mut(),
                picture.u.as_ptr().cast_mut(),
                picture.v.as_ptr().cast_mut(),
                ptr::null_mut(),
            ],
            iPicWidth: width,
            iPicHeight: height,
            uiTimeStamp: timestamp_ms,
            bPsnrY: false,
            bPsnrU: false,
            bPsnrV: false,
        };
        let call = self.calls.EncodeFrame.expect("checked in new");
        // SAFETY: a live, initialised instance; the planes hold `height`
        // rows of the given strides (checked by the caller) and outlive
        // the call; `output` is valid and writable.
        check("EncodeFrame", unsafe {
            call(self.instance, &source, &mut *self.output)
        })?;
        let info = &*self.output;
        let layers = usize::try_from(info.iLayerNum).unwrap_or(0);
        for layer in info.sLayerInfo.iter().take(layers) {
            let nals = usize::try_from(layer.iNalCount).unwrap_or(0);
            if nals == 0 || layer.pNalLengthInByte.is_null() || layer.pBsBuf.is_null() {
                continue;
            }
            // SAFETY: after a successful EncodeFrame, a layer's
            // `pNalLengthInByte` holds `iNalCount` lengths and its NAL
            // units lie back to back in `pBsBuf`; both stay valid until
            // the next call on this instance, and `self` is borrowed
            // mutably until we are done.
            let bytes = unsafe {
                let lengths = std::slice::from_raw_parts(layer.pNalLengthInByte, nals);
                let total: usize = lengths
                    .iter()
                    .map(|&n| usize::try_from(n).unwrap_or(0))
                    .sum();
                std::slice::from_raw_parts(layer.pBsBuf, total)
            };
            out.extend_from_slice(bytes);
        }
        Ok(match info.eFrameType {
            openh264_sys2::videoFrameTypeIDR => FrameKind::Idr,
            openh264_sys2::videoFrameTypeI
            | openh264_sys2::videoFrameTypeP
            | openh264_sys2::videoFrameTypeIPMixed => FrameKind::Other,
            _ => FrameKind::Nothing,
        })
    }

    fn uninitialize(&mut self) {
        if std::mem::take(&mut self.initialized) {
            let call = self.calls.Uninitialize.expect("checked in new");
            // SAFETY: a live instance that was initialised.
            unsafe { call(self.instance) };
        }
    }
}

impl Drop for RawEncoder {
    fn drop(&mut self) {
        self.uninitialize();
        // SAFETY: the instance came from WelsCreateSVCEncoder and is not
        // used after this.
        unsafe { self.api.WelsDestroySVCEncoder(self.instance) };
    }
}
