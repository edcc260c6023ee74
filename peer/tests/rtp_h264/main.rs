//! Property tests of the H.264 code that reads what the network brings:
//! the RTP frame assembler with its loss detection (`framing`) and the
//! Annex-B splitting and NAL classification (`h264`).
//!
//! Arbitrary packets and bytes never panic; access units packetized the
//! way a sender does (single NAL units, STAP-A, FU-A, sequence numbers
//! that wrap) come out byte for byte; after loss, duplication or
//! reordering no damaged frame is handed out, and the frames that lost
//! nothing still are.
//!
//! Case counts are fixed in code ([`config`]) so that `cargo test` stays
//! bounded; `PROPTEST_RNG_SEED=N` replays a run.

mod annexb;
mod framing;
mod stream;

use proptest::test_runner::Config;

/// `cases` cases per property, and no regression files in the source tree.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}
