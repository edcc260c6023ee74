//! Property tests of every decoder in `meshdesk-protocol`: the signaling
//! messages of both roles and directions, the data-channel input and
//! control messages, the REST bodies and the TURN-over-TCP framing.
//!
//! For each: arbitrary text or bytes, and JSON that is well formed but
//! wrong (wrong types, huge numbers, number-like words, long strings), never
//! panic and are rejected with the right [`DecodeError`]; every valid
//! message of every variant round-trips; the documented limits hold.
//!
//! Case counts are fixed in code ([`config`]) so that `cargo test` stays
//! bounded. The seed is random per run; a failure prints the shrunk input,
//! and `PROPTEST_RNG_SEED=N` replays a run. Keep a case a property found as
//! a plain unit test next to the decoder it broke.
//!
//! [`DecodeError`]: meshdesk_protocol::DecodeError

mod input;
mod json;
mod messages;
mod rest;
mod signal;
mod turn_tcp;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};

/// `cases` cases per property, and no regression files in the source tree.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Asserts that `strategy` yields all `count` variants of an enum within a
/// few thousand draws; `variant` numbers them with an exhaustive `match`,
/// so a new variant fails to compile until its strategy and number exist.
pub fn assert_every_variant<S: Strategy>(
    strategy: S,
    count: usize,
    variant: impl Fn(&S::Value) -> usize,
) {
    let mut runner = TestRunner::deterministic();
    let mut seen = vec![false; count];
    for _ in 0..4000 {
        let value = strategy
            .new_tree(&mut runner)
            .expect("the strategy generates values")
            .current();
        seen[variant(&value)] = true;
    }
    let missing: Vec<usize> = (0..count).filter(|&i| !seen[i]).collect();
    assert!(missing.is_empty(), "variants never generated: {missing:?}");
}
