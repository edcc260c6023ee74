//! The host's own OpenH264 encoder binding against the `openh264` crate's
//! encoder: with the same settings (deblocking on) the streams are the
//! same byte for byte, so the binding passes every parameter and reads
//! every NAL unit right; with deblocking off, as the pipeline runs, the
//! stream differs and still decodes to the picture.

use std::time::Duration;

mod screens;

use meshdesk_host::media::convert::I420Picture;
use meshdesk_host::media::encode::{EncoderTuning, H264Encoder};
use openh264::decoder::Decoder;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
    SpsPpsStrategy, UsageType,
};
use openh264::formats::{YUVSlices, YUVSource};
use openh264::{OpenH264API, Timestamp};
use screens::noise;

const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;
const BITRATE: u32 = 2_000_000;
const FPS: u32 = 30;

/// A test screen of this file's size.
fn screen(pixel: impl Fn(u32, u32) -> [u8; 3]) -> I420Picture {
    screens::screen(WIDTH, HEIGHT, pixel)
}

/// Text-like content: dark strokes on white, moved down by `shift` rows.
fn text(shift: u32) -> impl Fn(u32, u32) -> [u8; 3] {
    move |x, y| {
        let (x, y) = (x, y + shift);
        if y % 12 < 8 && (x * 7 + y * 3) % 5 < 2 {
            [20, 20, 20]
        } else {
            [250, 250, 250]
        }
    }
}

/// Pictures to encode, and whether a keyframe is asked for before each.
fn sequence() -> Vec<(I420Picture, bool)> {
    vec![
        (screen(text(0)), false),
        (screen(text(3)), false),
        (screen(|x, y| noise(1, x, y)), false),
        (
            screen(|x, y| if x < 160 { noise(1, x, y) } else { [0, 0, 255] }),
            false,
        ),
        (screen(text(6)), true),
        (screen(text(9)), false),
        (screen(|_, _| [0, 0, 255]), false),
    ]
}

/// The `openh264` crate's encoder, set up as the host's was before it
/// had its own binding.
fn crate_encoder(tuning: EncoderTuning) -> Encoder {
    let mut config = EncoderConfig::new()
        .usage_type(UsageType::ScreenContentRealTime)
        .rate_control_mode(RateControlMode::Bitrate)
        .bitrate(BitRate::from_bps(BITRATE))
        .max_frame_rate(FrameRate::from_hz(FPS as f32))
        .skip_frames(false)
        .num_threads(tuning.threads)
        .adaptive_quantization(false)
        .background_detection(false)
        .intra_frame_period(IntraFramePeriod::from_num_frames(0))
        .sps_pps_strategy(SpsPpsStrategy::ConstantId);
    if let Some(bytes) = tuning.max_slice_bytes {
        config = config.max_slice_len(bytes);
    }
    Encoder::with_api_config(OpenH264API::from_source(), config).expect("crate encoder")
}

fn tunings(deblocking: bool) -> [EncoderTuning; 2] {
    let single = EncoderTuning {
        deblocking,
        ..EncoderTuning::SINGLE_THREAD
    };
    let sliced = EncoderTuning {
        threads: 2,
        max_slice_bytes: Some(2_000),
        ..single
    };
    [single, sliced]
}

#[test]
fn with_deblocking_the_stream_is_the_crates_byte_for_byte() {
    for tuning in tunings(true) {
        let mut ours = H264Encoder::with_tuning(BITRATE, FPS, tuning).expect("encoder");
        let mut theirs = crate_encoder(tuning);
        for (i, (picture, keyframe)) in sequence().iter().enumerate() {
            let pts = Duration::from_millis(33 * i as u64);
            if *keyframe {
                ours.force_keyframe();
                theirs.force_intra_frame();
            }
            let view = picture.view();
            let (w, h) = (view.width as usize, view.height as usize);
            let source = YUVSlices::new((view.y, view.u, view.v), (w, h), (w, w / 2, w / 2));
            let expected = theirs
                .encode_at(&source, Timestamp::from_millis(pts.as_millis() as u64))
                .expect("crate encodes");
            let expected_idr = expected.frame_type() == FrameType::IDR;
            let expected = expected.to_vec();
            let got = ours.encode(view, pts).expect("encodes").expect("a picture");
            assert_eq!(got.data, expected, "picture {i} with {tuning:?}");
            assert_eq!(got.keyframe, expected_idr, "picture {i}");
            if i == 0 || *keyframe {
                assert!(got.keyframe, "picture {i} is not an IDR");
            }
        }
    }
}

#[test]
fn without_deblocking_the_stream_differs_and_decodes() {
    for tuning in tunings(false) {
        let mut ours = H264Encoder::with_tuning(BITRATE, FPS, tuning).expect("encoder");
        let mut with = H264Encoder::with_tuning(
            BITRATE,
            FPS,
            EncoderTuning {
                deblocking: true,
                ..tuning
            },
        )
        .expect("encoder");
        let mut decoder = Decoder::new().expect("decoder");
        let mut differs = false;
        for (i, (picture, _)) in sequence().iter().enumerate() {
            let pts = Duration::from_millis(33 * i as u64);
            let got = ours.encode(picture.view(), pts).unwrap().unwrap();
            let other = with.encode(picture.view(), pts).unwrap().unwrap();
            differs |= got.data != other.data;
            let decoded = decoder.decode(&got.data).unwrap().expect("decodes");
            assert_eq!(decoded.dimensions(), (WIDTH as usize, HEIGHT as usize));
            // Close to the source: luma PSNR over 30 dB.
            let (stride, _, _) = decoded.strides();
            let source = picture.view();
            let squared: u64 = (0..HEIGHT as usize)
                .flat_map(|row| (0..WIDTH as usize).map(move |col| (row, col)))
                .map(|(row, col)| {
                    let a = source.y[row * WIDTH as usize + col];
                    let b = decoded.y()[row * stride + col];
                    u64::from(a.abs_diff(b)).pow(2)
                })
                .sum();
            let mse = (squared as f64 / f64::from(WIDTH * HEIGHT)).max(1e-3);
            let psnr = 10.0 * (255.0f64 * 255.0 / mse).log10();
            assert!(psnr > 30.0, "picture {i}: luma PSNR {psnr:.1} dB");
        }
        assert!(differs, "turning deblocking off changed nothing");
    }
}

#[test]
fn a_new_picture_size_starts_over_with_an_idr_that_decodes() {
    let mut encoder =
        H264Encoder::with_tuning(BITRATE, FPS, EncoderTuning::for_this_machine()).unwrap();
    let mut decoder = Decoder::new().expect("decoder");
    let sizes = [
        (WIDTH, HEIGHT),
        (WIDTH, HEIGHT),
        (640, 360),
        (640, 360),
        (WIDTH, HEIGHT),
    ];
    for (i, (w, h)) in sizes.into_iter().enumerate() {
        let picture = screens::screen(w, h, move |x, y| noise(i as u32 / 2, x, y));
        let pts = Duration::from_millis(33 * i as u64);
        let encoded = encoder
            .encode(picture.view(), pts)
            .unwrap()
            .expect("a picture");
        let new_size = i == 0 || sizes[i - 1] != (w, h);
        if new_size {
            assert!(encoded.keyframe, "picture {i} at a new size is not an IDR");
        }
        let decoded = decoder.decode(&encoded.data).unwrap().expect("decodes");
        assert_eq!(
            decoded.dimensions(),
            (w as usize, h as usize),
            "picture {i}"
        );
    }
}
