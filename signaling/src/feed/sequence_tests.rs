use meshdesk_protocol::rest::EventKind;

use super::*;
use crate::feed::test_event;

const HOLD: i64 = 50;

fn ev(id: i64) -> Addressed {
    Addressed {
        event: test_event(id, EventKind::DeviceRenamed, Some("d1")),
        audience: vec![1],
    }
}

/// Everything the sequencer asks for now: the ids to publish, and the
/// read (its `after`) if it asks for one.
fn drain(s: &mut Sequencer) -> (Vec<i64>, Option<i64>) {
    let mut ids = Vec::new();
    let mut read = None;
    while let Some(out) = s.poll_output() {
        match out {
            Output::Publish(a) => {
                assert!(read.is_none(), "nothing is published past a read");
                ids.push(a.event.id);
            }
            Output::Read { after } => read = Some(after),
        }
    }
    (ids, read)
}

fn page(ids: &[i64]) -> Vec<Addressed> {
    ids.iter().copied().map(ev).collect()
}

#[test]
fn events_in_order_are_published_at_once_without_reading() {
    for mut s in [Sequencer::solo(100), Sequencer::clustered(100, HOLD)] {
        for id in 101..=103 {
            s.handle_event(0, ev(id));
        }
        assert_eq!(drain(&mut s), (vec![101, 102, 103], None));
        assert_eq!(s.poll_timeout(), None);
        assert_eq!(s.last(), 103);
    }
}

#[test]
fn duplicates_and_late_copies_are_dropped() {
    let mut s = Sequencer::clustered(100, HOLD);
    for id in [101, 101, 100, 102, 101, 7] {
        s.handle_event(0, ev(id));
    }
    assert_eq!(drain(&mut s), (vec![101, 102], None));
}

#[test]
fn an_event_overtaking_another_waits_for_it_within_the_hold() {
    let mut s = Sequencer::clustered(103, HOLD);
    s.handle_event(1_000, ev(105));
    assert_eq!(drain(&mut s), (vec![], None), "105 waits for 104");
    assert_eq!(s.poll_timeout(), Some(1_000 + HOLD));
    s.handle_event(1_010, ev(106));
    assert_eq!(
        s.poll_timeout(),
        Some(1_000 + HOLD),
        "the gap's wait goes on"
    );
    s.handle_event(1_020, ev(104));
    assert_eq!(drain(&mut s), (vec![104, 105, 106], None));
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(2_000);
    assert_eq!(drain(&mut s), (vec![], None), "no read once filled");
}

#[test]
fn a_gap_the_bus_does_not_fill_is_read_from_the_store() {
    let mut s = Sequencer::clustered(103, HOLD);
    s.handle_event(0, ev(105));
    s.handle_timeout(HOLD - 1);
    assert_eq!(drain(&mut s), (vec![], None), "not yet");
    s.handle_timeout(HOLD);
    assert_eq!(drain(&mut s), (vec![], Some(103)));
    s.handle_read(HOLD + 2, page(&[104, 105]), false);
    assert_eq!(drain(&mut s), (vec![104, 105], None));
    s.handle_event(HOLD + 3, ev(104));
    s.handle_event(HOLD + 3, ev(106));
    assert_eq!(
        drain(&mut s),
        (vec![106], None),
        "the bus's late 104 dropped"
    );
}

#[test]
fn the_missing_event_arriving_during_the_read_goes_out_at_once() {
    let mut s = Sequencer::clustered(103, HOLD);
    s.handle_event(0, ev(105));
    s.handle_timeout(HOLD);
    assert_eq!(drain(&mut s), (vec![], Some(103)));
    s.handle_event(HOLD, ev(104));
    assert_eq!(drain(&mut s), (vec![104, 105], None));
    s.handle_read(HOLD, page(&[104, 105]), false);
    assert_eq!(drain(&mut s), (vec![], None), "no second copies");
    assert_eq!(s.last(), 105);
}

#[test]
fn an_id_never_used_is_skipped_once_the_store_says_so() {
    let mut s = Sequencer::clustered(10, HOLD);
    s.handle_event(0, ev(12));
    s.handle_timeout(HOLD);
    assert_eq!(drain(&mut s), (vec![], Some(10)));
    // 11 was taken by a transaction that rolled back: the store has 12.
    s.handle_read(HOLD, page(&[12]), false);
    assert_eq!(drain(&mut s), (vec![12], None));
    assert_eq!(s.last(), 12);
}

#[test]
fn a_short_page_vouches_for_what_was_held_when_it_was_asked_only() {
    let mut s = Sequencer::clustered(10, HOLD);
    s.handle_event(0, ev(13));
    s.handle_timeout(HOLD);
    assert_eq!(drain(&mut s), (vec![], Some(10)));
    // 16 arrives during the read, which may not have seen 14 and 15.
    s.handle_event(HOLD, ev(16));
    s.handle_read(HOLD, page(&[11, 13]), false);
    assert_eq!(drain(&mut s), (vec![11, 13], None), "12 never used");
    assert_eq!(s.poll_timeout(), Some(2 * HOLD), "16 waits for 14 and 15");
    s.handle_event(HOLD + 1, ev(14));
    s.handle_event(HOLD + 1, ev(15));
    assert_eq!(drain(&mut s), (vec![14, 15, 16], None));
}

#[test]
fn a_long_gap_is_read_page_by_page() {
    let mut s = Sequencer::clustered(0, HOLD);
    s.handle_event(0, ev(6));
    s.handle_timeout(HOLD);
    assert_eq!(drain(&mut s), (vec![], Some(0)));
    s.handle_read(HOLD, page(&[1, 2, 3]), true);
    assert_eq!(
        drain(&mut s),
        (vec![1, 2, 3], Some(3)),
        "the next page at once"
    );
    s.handle_read(HOLD, page(&[4, 6]), false);
    assert_eq!(drain(&mut s), (vec![4, 6], None));
}

#[test]
fn a_failed_read_is_tried_again_later_and_events_keep_waiting() {
    let mut s = Sequencer::clustered(0, HOLD);
    s.handle_event(0, ev(2));
    s.handle_timeout(HOLD);
    assert_eq!(drain(&mut s), (vec![], Some(0)));
    s.handle_read_failed(HOLD);
    assert_eq!(s.poll_timeout(), Some(HOLD + RETRY_MS));
    s.handle_event(HOLD + 1, ev(3));
    s.handle_timeout(HOLD + RETRY_MS - 1);
    assert_eq!(drain(&mut s), (vec![], None));
    s.handle_timeout(HOLD + RETRY_MS);
    assert_eq!(drain(&mut s), (vec![], Some(0)));
    s.handle_read(HOLD + RETRY_MS, page(&[1, 2, 3]), false);
    assert_eq!(drain(&mut s), (vec![1, 2, 3], None));
}

#[test]
fn a_catch_up_finds_events_the_bus_lost() {
    let mut s = Sequencer::clustered(5, HOLD);
    s.catch_up();
    assert_eq!(drain(&mut s), (vec![], Some(5)));
    s.handle_read(0, page(&[]), false);
    assert_eq!(s.last(), 5, "nothing new");
    s.catch_up();
    assert_eq!(drain(&mut s), (vec![], Some(5)));
    s.handle_read(0, page(&[6, 7]), false);
    assert_eq!(drain(&mut s), (vec![6, 7], None));
    s.handle_event(1, ev(7));
    assert_eq!(drain(&mut s), (vec![], None), "the bus's copy came late");
}

#[test]
fn alone_a_gap_is_an_id_never_used_and_nothing_waits() {
    let mut s = Sequencer::solo(10);
    s.handle_event(0, ev(12));
    s.handle_event(0, ev(11));
    assert_eq!(drain(&mut s), (vec![12], None));
    s.catch_up();
    assert_eq!(drain(&mut s), (vec![], None));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn beyond_the_bound_events_are_dropped_and_read_with_the_gap() {
    let mut s = Sequencer::clustered(0, HOLD);
    let n = MAX_HELD as i64 + 5;
    for id in 2..=n + 1 {
        s.handle_event(0, ev(id));
    }
    s.handle_timeout(HOLD);
    assert_eq!(drain(&mut s), (vec![], Some(0)));
    let all: Vec<i64> = (1..=n + 1).collect();
    s.handle_read(HOLD, page(&all), false);
    assert_eq!(drain(&mut s).0, all);
}

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Ids committed in order with holes, each delivered after a random
/// delay, some twice, some never; reads see what was committed by then,
/// a page at a time. Whatever happens, the published ids increase and,
/// when one is published, every stored id below it already was; in the
/// end every stored id is published.
#[test]
fn any_arrival_order_publishes_every_stored_id_once_in_order() {
    for seed in 1..=200u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut s = Sequencer::clustered(0, HOLD);
        let mut stored: Vec<i64> = Vec::new();
        let mut next_id = 1;
        // (arrival time, id) of copies in flight.
        let mut flight: Vec<(i64, i64)> = Vec::new();
        let mut published: Vec<i64> = Vec::new();
        let page_size = 1 + rng.below(4) as usize;
        let mut now = 0;
        let check = |published: &[i64], stored: &[i64], id: i64| {
            let below = stored.iter().filter(|&&x| x < id).count();
            let done = published.iter().filter(|&&x| x < id).count();
            assert_eq!(below, done, "seed {seed}: {id} before a lower stored id");
        };
        while now < 3_000 {
            now += 1 + rng.below(5) as i64;
            if now < 2_000 && rng.below(3) == 0 {
                if rng.below(5) == 0 {
                    next_id += 1; // rolled back: never stored
                }
                stored.push(next_id);
                match rng.below(10) {
                    0 => {}                                                     // lost
                    1 => flight.extend([(now, next_id), (now + 300, next_id)]), // twice
                    _ => flight.push((now + rng.below(80) as i64, next_id)),
                }
                next_id += 1;
            }
            if rng.below(200) == 0 {
                s.catch_up();
            }
            flight.sort();
            while flight.first().is_some_and(|&(at, _)| at <= now) {
                let (_, id) = flight.remove(0);
                s.handle_event(now, ev(id));
            }
            s.handle_timeout(now);
            while let Some(out) = s.poll_output() {
                match out {
                    Output::Publish(a) => {
                        let id = a.event.id;
                        assert!(published.last().is_none_or(|&p| p < id), "seed {seed}");
                        check(&published, &stored, id);
                        published.push(id);
                    }
                    Output::Read { after } => {
                        let page: Vec<i64> = stored
                            .iter()
                            .copied()
                            .filter(|&x| x > after)
                            .take(page_size)
                            .collect();
                        let full = page.len() == page_size;
                        s.handle_read(now, page.iter().copied().map(ev).collect(), full);
                    }
                }
            }
        }
        // Lost copies with nothing after them surface at the next catch-up.
        s.catch_up();
        while let Some(out) = s.poll_output() {
            match out {
                Output::Publish(a) => published.push(a.event.id),
                Output::Read { after } => {
                    let page: Vec<i64> = stored.iter().copied().filter(|&x| x > after).collect();
                    s.handle_read(now, page.iter().copied().map(ev).collect(), false);
                }
            }
        }
        assert_eq!(published, stored, "seed {seed}");
    }
}
