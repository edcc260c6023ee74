//! Properties of Annex-B splitting and NAL classification
//! (`meshdesk_peer::h264`).

use meshdesk_peer::h264::*;
use proptest::collection::vec;
use proptest::prelude::*;

use crate::config;
use crate::stream::access_unit;

fn types(nals: &[Vec<u8>]) -> Vec<u8> {
    nals.iter().map(|n| n[0] & 0x1f).collect()
}

/// `nals` as an encoder may write them: any bytes but a start code first,
/// three- or four-byte start codes, and trailing zero bytes after a NAL.
fn annexb_stream() -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<u8>)> {
    let framing = vec((any::<bool>(), 0usize..3), 6);
    (access_unit(), vec(1u8..=255, 0..8), framing).prop_map(|(nals, junk, framing)| {
        let mut stream = junk;
        for (nal, (long, zeros)) in nals.iter().zip(framing) {
            stream.extend_from_slice(if long { &[0, 0, 0, 1] } else { &[0, 0, 1] });
            stream.extend_from_slice(nal);
            stream.extend(std::iter::repeat_n(0, zeros));
        }
        (nals, stream)
    })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_bytes_split_into_non_empty_units_without_start_codes(
        data in prop_oneof![vec(any::<u8>(), 0..200), vec(prop_oneof![Just(0u8), Just(1), any::<u8>()], 0..200)],
    ) {
        let nals = split_annexb(&data);
        let range = data.as_ptr_range();
        prop_assert!(nals.iter().map(|n| n.len()).sum::<usize>() <= data.len());
        for nal in &nals {
            prop_assert!(!nal.is_empty());
            prop_assert!(range.start <= nal.as_ptr() && nal.as_ptr_range().end <= range.end);
            prop_assert!(!nal.windows(3).any(|w| w == [0, 0, 1]), "{:?}", nal);
        }
        // The classifiers and the frame number read any bytes.
        let _ = (is_keyframe(&data), has_parameter_sets(&data), has_picture(&data));
        let _ = frame_number(&data);
        prop_assert_eq!(frame_number(&with_frame_number(&data, 9)).is_some(), true);
    }

    #[test]
    fn what_an_encoder_writes_splits_back_into_its_units((nals, stream) in annexb_stream()) {
        let got: Vec<Vec<u8>> = split_annexb(&stream).into_iter().map(<[u8]>::to_vec).collect();
        prop_assert_eq!(&got, &nals);
        let joined = join_annexb(nals.iter().map(Vec::as_slice));
        prop_assert_eq!(split_annexb(&joined), got.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }

    #[test]
    fn classification_follows_the_nal_types(nals in access_unit()) {
        let au = join_annexb(nals.iter().map(Vec::as_slice));
        let t = types(&nals);
        prop_assert_eq!(is_keyframe(&au), t.contains(&NAL_IDR));
        prop_assert_eq!(has_parameter_sets(&au), t.iter().any(|&t| t == NAL_SPS || t == NAL_PPS));
        prop_assert_eq!(has_picture(&au), t.iter().any(|&t| (NAL_SLICE..=NAL_IDR).contains(&t)));
        for nal in &nals {
            prop_assert_eq!(nal_type(nal), Some(nal[0] & 0x1f));
        }
    }

    #[test]
    fn a_frame_number_goes_before_the_first_slice_and_reads_back(
        nals in access_unit(), number in any::<u32>(),
    ) {
        let au = join_annexb(nals.iter().map(Vec::as_slice));
        let numbered = with_frame_number(&au, number);
        prop_assert_eq!(frame_number(&numbered), Some(number));
        let mut want = nals.clone();
        let first_slice = types(&nals).iter().position(|t| (NAL_SLICE..=NAL_IDR).contains(t));
        want.insert(first_slice.unwrap_or(nals.len()), frame_number_sei(number));
        let got: Vec<Vec<u8>> = split_annexb(&numbered).into_iter().map(<[u8]>::to_vec).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(is_keyframe(&numbered), is_keyframe(&au));
        prop_assert_eq!(has_picture(&numbered), has_picture(&au));
    }

    /// What comes out is every byte that went in, in order, up to the last
    /// unit with a picture, and each output has one.
    #[test]
    fn the_joiner_hands_out_whole_pictures_and_loses_nothing(units in vec(access_unit(), 0..8)) {
        let mut joiner = ParamSetJoiner::new();
        let mut out = Vec::new();
        let mut taken = Vec::new();
        let mut input = Vec::new();
        for unit in &units {
            let au = join_annexb(unit.iter().map(Vec::as_slice));
            input.extend_from_slice(&au);
            if let Some(frame) = joiner.push(&au) {
                prop_assert!(has_picture(&frame));
                out.extend(frame);
                taken = input.clone();
            }
        }
        prop_assert_eq!(out, taken);
    }
}
