//! The ledger's invariants, as text-generation-inference tests its queue and block allocator:
//! every sequence id in exactly one place, reservations within capacity, a sequence admitted
//! only when its whole need fits, each claim given back exactly, jobs started oldest first;
//! the scenarios one by one, then random admit/retire sequences against the same invariants.

use std::collections::{HashMap, VecDeque};

use proptest::prelude::*;

use super::{Capacity, Ledger, Reservation, Wait};

fn ledger(sequences: u32, kv_tokens: u32, cache_slots: u32, cache_tokens: u32) -> Ledger {
    Ledger::new(Capacity { sequences, kv_tokens, cache_slots, cache_tokens })
}

/// `n` tokens of prompt family `family`: two prompts of one family share their prefix.
fn prompt(family: i32, n: usize) -> Vec<i32> {
    (0..n as i32).map(|i| family * 1000 + i).collect()
}

/// Every id is in exactly one place, and the counts agree with the reservations `held`.
fn check(ledger: &Ledger, held: &[Reservation]) {
    let ids = (ledger.capacity.sequences + ledger.capacity.cache_slots) as i32;
    let mut place_of = HashMap::new();
    let places = held
        .iter()
        .map(|r| (r.slot(), "running"))
        .chain(ledger.free.iter().map(|&id| (id, "free")))
        .chain(ledger.parked.slots().iter().map(|&id| (id, "parked")))
        .chain(ledger.cache.slots().map(|id| (id, "cached")));
    for (id, place) in places {
        assert!((0..ids).contains(&id), "id {id} is out of range");
        if let Some(first) = place_of.insert(id, place) {
            panic!("id {id} is both {first} and {place}");
        }
    }
    assert_eq!(place_of.len(), ids as usize, "an id is lost");
    assert_eq!(ledger.running() as usize, held.len());
    assert_eq!(ledger.reserved(), held.iter().map(Reservation::cells).sum::<u32>());
    assert!(ledger.reserved() <= ledger.capacity.kv_tokens, "reserved beyond capacity");
    assert!(ledger.running() <= ledger.capacity.sequences, "running beyond the limit");
}

#[test]
fn ids_start_at_zero_and_are_never_handed_out_twice() {
    let mut l = ledger(3, 100, 2, 100);
    let held: Vec<_> = (0..3).map(|_| l.admit(10, |_| {}).unwrap()).collect();
    assert_eq!(held.iter().map(Reservation::slot).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(l.admit(10, |_| {}), Err(Wait::Sequences), "the sequence limit holds");
    check(&l, &held);
}

#[test]
fn a_sequence_is_admitted_only_when_its_whole_need_fits() {
    let mut l = ledger(4, 100, 0, 0);
    let a = l.admit(60, |_| {}).unwrap();
    assert_eq!(l.admit(41, |_| {}), Err(Wait::KvCells), "41 of the 40 left");
    let b = l.admit(40, |_| {}).unwrap();
    assert_eq!(l.reserved(), 100);
    assert_eq!(l.admit(1, |_| {}), Err(Wait::KvCells));
    check(&l, &[a, b]);
}

#[test]
fn giving_back_returns_exactly_what_was_reserved() {
    let mut l = ledger(4, 100, 0, 0);
    let (a, b, c) = (l.admit(30, |_| {}).unwrap(), l.admit(50, |_| {}).unwrap(), l.admit(5, |_| {}).unwrap());
    let mut cleared = Vec::new();
    l.free_now(a, |id| cleared.push(id));
    assert_eq!((l.reserved(), cleared), (55, vec![0]), "a failed sequence is cleared at once");
    l.park(b, 7);
    assert_eq!((l.reserved(), l.parked.cells()), (5, 7), "a cancelled one parks what it filled");
    l.offer_to_cache(c, prompt(1, 3), |_| 3);
    assert_eq!((l.reserved(), l.running()), (0, 0));
    check(&l, &[]);
}

#[test]
fn parked_cells_are_freed_only_when_the_space_is_needed() {
    let mut l = ledger(4, 100, 0, 0);
    let a = l.admit(50, |_| {}).unwrap();
    l.park(a, 50);
    let mut cleared = Vec::new();
    let b = l.admit(50, |id| cleared.push(id)).unwrap();
    assert!(cleared.is_empty(), "50 reserved + 50 parked fit in 100: nothing is freed");
    assert_eq!(l.admit(51, |id| cleared.push(id)), Err(Wait::KvCells), "51 of the 50 left");
    assert_eq!(cleared, [0], "the parked cells were in the way, so they went all the same");
    let c = l.admit(50, |_| panic!("nothing is parked any more")).unwrap();
    check(&l, &[b, c]);
}

#[test]
fn parked_ids_are_freed_when_no_other_is_free() {
    let mut l = ledger(1, 100, 0, 0);
    let a = l.admit(10, |_| {}).unwrap();
    l.park(a, 10);
    let mut cleared = Vec::new();
    let b = l.admit(10, |id| cleared.push(id)).unwrap();
    assert_eq!((cleared, b.slot()), (vec![0], 0), "the only id was parked");
    check(&l, &[b]);
}

#[test]
fn a_cached_prefix_keeps_its_id_until_the_cache_lets_it_go() {
    let mut l = ledger(1, 100, 1, 100);
    let a = l.admit(30, |_| {}).unwrap();
    l.offer_to_cache(a, prompt(1, 20), |_| panic!("kept: nothing is parked"));
    let b = l.admit(30, |_| {}).unwrap();
    assert_eq!(b.slot(), 1, "id 0 holds the cached prefix");
    assert_eq!(l.lookup(&prompt(1, 40), |_, _| true).map(|hit| (hit.slot, hit.len)), Some((0, 20)));
    l.offer_to_cache(b, prompt(2, 20), |id| if id == 0 { 20 } else { panic!("id {id} is kept") });
    assert_eq!(l.parked.slots(), [0], "the one-entry cache evicted the older prefix");
    let c = l.admit(30, |_| {}).unwrap();
    assert_eq!(c.slot(), 0, "no id was free, so the parked one was freed");
    check(&l, &[c]);
}

#[test]
fn jobs_start_oldest_first_and_a_large_one_is_not_overtaken() {
    let mut l = ledger(8, 100, 0, 0);
    let mut waiting = VecDeque::from([60, 50, 10]);
    let (first, a) = l.admit_oldest(&mut waiting, |&cells| cells, |_| {}).unwrap();
    assert_eq!(first, 60);
    assert!(l.admit_oldest(&mut waiting, |&cells| cells, |_| {}).is_none(), "50 does not fit");
    assert_eq!(waiting, [50, 10], "and the 10 behind it, which would fit, waits too");
    l.free_now(a, |_| {});
    let started: Vec<_> = std::iter::from_fn(|| l.admit_oldest(&mut waiting, |&c| c, |_| {})).collect();
    assert_eq!(started.iter().map(|(job, _)| *job).collect::<Vec<_>>(), [50, 10]);
    assert!(l.admit_oldest(&mut waiting, |&c| c, |_| {}).is_none(), "an empty queue admits nothing");
    check(&l, &started.into_iter().map(|(_, r)| r).collect::<Vec<_>>());
}

/// One step of a random run of the engine.
#[derive(Debug, Clone)]
enum Op {
    Admit(u32),
    /// The `usize`s pick a running sequence (modulo how many run).
    Fail(usize),
    /// With the cells it had filled (modulo its reservation).
    Cancel(usize, u32),
    /// With the prompt family and length of the KV it holds.
    Finish(usize, i32, usize),
    /// No sequence runs: the scheduler frees the parked cells.
    Idle,
    Lookup(i32, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (1..160u32).prop_map(Op::Admit),
        1 => any::<usize>().prop_map(Op::Fail),
        2 => (any::<usize>(), any::<u32>()).prop_map(|(i, cells)| Op::Cancel(i, cells)),
        3 => (any::<usize>(), 0..3i32, 0..64usize).prop_map(|(i, f, n)| Op::Finish(i, f, n)),
        1 => Just(Op::Idle),
        1 => (0..3i32, 0..64usize).prop_map(|(f, n)| Op::Lookup(f, n)),
    ]
}

fn capacities() -> impl Strategy<Value = Capacity> {
    (1..=4u32, 16..=256u32, 0..=3u32, 0..=160u32).prop_map(|(sequences, kv_tokens, cache_slots, tokens)| {
        // As the engine configures it: no cache tokens, no cache ids (llama/mod.rs).
        let cache_tokens = if cache_slots == 0 { 0 } else { tokens };
        Capacity { sequences, kv_tokens, cache_slots, cache_tokens }
    })
}

/// Admits under `op`'s rules and checks the decision against what the ledger held before.
fn admit(l: &mut Ledger, held: &mut Vec<Reservation>, cells: u32) {
    let (running, reserved, free) = (l.running(), l.reserved(), l.free.len());
    let (parked, parked_cells, cached) = (l.parked.slots().to_vec(), l.parked.cells(), l.cache.len());
    let mut cleared = Vec::new();
    let decision = l.admit(cells, |id| cleared.push(id));
    let under_limit = running < l.capacity.sequences;
    let in_the_way = reserved + parked_cells + cells > l.capacity.kv_tokens || free == 0;
    let expect_cleared = if under_limit && in_the_way { parked } else { Vec::new() };
    assert_eq!(cleared, expect_cleared, "parked cells are freed exactly when in the way");
    assert_eq!(l.cache.len(), cached, "admission never needs a cached prefix's id");
    match decision {
        Ok(r) => {
            assert!(under_limit && reserved + cells <= l.capacity.kv_tokens, "admitted beyond room");
            assert_eq!(r.cells(), cells, "the whole need is reserved");
            held.push(r);
        }
        Err(Wait::Sequences) => assert!(!under_limit),
        Err(Wait::KvCells) => assert!(under_limit && reserved + cells > l.capacity.kv_tokens),
        Err(Wait::SlotIds) => panic!("a sequence under the limit found no free id"),
    }
}

/// Runs `ops` on a fresh ledger, checking every decision and the invariants after each step.
fn replay(capacity: Capacity, ops: Vec<Op>) {
    let mut l = Ledger::new(capacity);
    let mut held: Vec<Reservation> = Vec::new();
    // The cells each id's KV spans, as llama.cpp would count them.
    let mut filled: HashMap<i32, u32> = HashMap::new();
    let pick = |held: &mut Vec<Reservation>, i: usize| (!held.is_empty()).then(|| held.swap_remove(i % held.len()));
    for op in ops {
        let (reserved, running) = (l.reserved(), l.running());
        let mut given_back = None;
        match op {
            Op::Admit(cells) => admit(&mut l, &mut held, cells),
            Op::Fail(i) => {
                if let Some(r) = pick(&mut held, i) {
                    let (id, cells) = (r.slot(), r.cells());
                    let mut cleared = Vec::new();
                    l.free_now(r, |id| cleared.push(id));
                    assert_eq!(cleared, [id], "a failed sequence's cells are freed at once");
                    given_back = Some(cells);
                }
            }
            Op::Cancel(i, cells_filled) => {
                if let Some(r) = pick(&mut held, i) {
                    let (id, cells, parked) = (r.slot(), r.cells(), l.parked.cells());
                    filled.insert(id, cells_filled % (cells + 1));
                    l.park(r, filled[&id]);
                    assert_eq!(l.parked.cells(), parked + filled[&id]);
                    given_back = Some(cells);
                }
            }
            Op::Finish(i, family, n) => {
                if let Some(r) = pick(&mut held, i) {
                    let cells = r.cells();
                    filled.insert(r.slot(), n as u32);
                    l.offer_to_cache(r, prompt(family, n), |id| filled[&id]);
                    given_back = Some(cells);
                }
            }
            Op::Idle if held.is_empty() => {
                let parked = l.parked.slots().to_vec();
                let mut cleared = Vec::new();
                l.release_parked(|id| cleared.push(id));
                assert_eq!(cleared, parked, "every parked id is freed, in order");
                assert_eq!(l.parked.cells(), 0);
            }
            Op::Idle => {}
            Op::Lookup(family, n) => {
                if let Some(hit) = l.lookup(&prompt(family, n), |_, _| true) {
                    assert!(l.cache.slots().any(|id| id == hit.slot), "a hit names a cached id");
                    assert!(hit.len < n, "a prompt token is always left to prefill");
                }
            }
        }
        if let Some(cells) = given_back {
            assert_eq!(l.reserved(), reserved - cells, "exactly the reservation comes back");
            assert_eq!(l.running(), running - 1);
        }
        check(&l, &held);
    }
    // Everything given back: no cell stays reserved, and every id is free or cached again.
    for r in held.drain(..) {
        l.park(r, 0);
    }
    l.release_parked(|_| {});
    assert_eq!(l.reserved(), 0);
    let ids = (capacity.sequences + capacity.cache_slots) as usize;
    assert_eq!(l.free.len() + l.cache.len(), ids);
}

proptest! {
    #[test]
    fn random_admit_and_retire_keep_the_invariants(
        capacity in capacities(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        replay(capacity, ops);
    }
}
