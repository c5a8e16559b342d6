//! Loom models of the band queue (`fifo.rs`), with blocks of two slots so
//! that every model crosses a block boundary: the linking of the next block
//! by the pusher of a block's last slot, the head's move by the popper of
//! that slot, the release walk handed between poppers, and the spare block
//! taken again by a pusher; and closing, which pushes race. Loom checks
//! every access to a slot's value against the happens-before edges the
//! state bits and ends provide.
//!
//! Sensitivity: each of these mutations makes at least one model fail — the
//! pusher of a last slot publishing the new tail index before the new tail
//! block (a later pusher writes into the old block); a reader setting `READ`
//! with `Relaxed` (the block's next user writes a slot while the read may
//! still be in flight: loom reports the racing cell access); the release
//! walk not handing over to a slot's unfinished reader (the block is reused
//! under that reader: the same report); the linking pusher storing the next
//! block's tail index instead of adding to it (a close in between is lost
//! and a push lands after it); a pusher that does not fence between its
//! push and its read of the idle count (a wake-up is lost).

use super::Fifo;
use crate::sync::model;
use loom::sync::Arc;
use loom::thread;

/// Pops until `count` values came out, yielding to the model between tries.
fn pop_n(fifo: &Fifo<usize>, count: usize) -> Vec<usize> {
    let mut out = Vec::new();
    while out.len() < count {
        match fifo.pop() {
            Some(value) => out.push(value),
            None => thread::yield_now(),
        }
    }
    out
}

/// One thread per value, each pushing it; each handle's result is the value
/// if its push landed, `None` if the queue refused it.
fn spawn_pushes<const N: usize>(
    fifo: &Arc<Fifo<usize>>,
    values: [usize; N],
) -> Vec<thread::JoinHandle<Option<usize>>> {
    values
        .into_iter()
        .map(|value| {
            let fifo = fifo.clone();
            thread::spawn(move || fifo.push(value).is_ok().then_some(value))
        })
        .collect()
}

#[test]
fn loom_fifo_one_pusher_one_popper_across_two_blocks() {
    model(|| {
        let fifo = Arc::new(Fifo::new());
        let pusher = {
            let fifo = fifo.clone();
            thread::spawn(move || (0..3).for_each(|i| fifo.push(i).unwrap()))
        };
        assert_eq!(pop_n(&fifo, 3), [0, 1, 2]);
        pusher.join().unwrap();
        assert_eq!(fifo.pop(), None);
    });
}

#[test]
fn loom_fifo_two_pushers_race_for_the_last_slot() {
    model(|| {
        let fifo = Arc::new(Fifo::new());
        fifo.push(0).unwrap();
        let pushers = spawn_pushes(&fifo, [1, 2]);
        let first = fifo.pop();
        for pusher in pushers {
            assert!(pusher.join().unwrap().is_some(), "an open queue took it");
        }
        let mut rest = pop_n(&fifo, if first.is_some() { 2 } else { 3 });
        if let Some(first) = first {
            rest.insert(0, first);
        }
        assert_eq!(rest[0], 0);
        rest.sort_unstable();
        assert_eq!(rest, [0, 1, 2]);
        assert_eq!(fifo.pop(), None);
    });
}

#[test]
fn loom_fifo_two_poppers_hand_the_release_walk_over_and_the_block_is_reused() {
    model(|| {
        let fifo = Arc::new(Fifo::new());
        fifo.push(0).unwrap();
        fifo.push(1).unwrap();
        let poppers: Vec<_> = (0..2)
            .map(|_| {
                let fifo = fifo.clone();
                thread::spawn(move || fifo.pop())
            })
            .collect();
        let mut taken: Vec<_> = poppers
            .into_iter()
            .map(|p| p.join().unwrap().expect("two values for two pops"))
            .collect();
        taken.sort_unstable();
        assert_eq!(taken, [0, 1]);
        // The emptied first block is the spare now; the next block the tail
        // needs (after two more pushes) is that one, made new again.
        for value in 2..6 {
            fifo.push(value).unwrap();
        }
        assert_eq!(pop_n(&fifo, 4), [2, 3, 4, 5]);
    });
}

#[test]
fn loom_fifo_pusher_takes_the_spare_while_the_popper_releases() {
    model(|| {
        let fifo = Arc::new(Fifo::new());
        let pusher = {
            let fifo = fifo.clone();
            thread::spawn(move || (0..5).for_each(|i| fifo.push(i).unwrap()))
        };
        assert_eq!(pop_n(&fifo, 5), [0, 1, 2, 3, 4]);
        pusher.join().unwrap();
    });
}

#[test]
fn loom_fifo_a_block_is_reused_only_after_its_last_reader() {
    model(|| {
        let fifo = Arc::new(Fifo::new());
        // The first block full (the next one linked), one value in the next.
        (0..3).for_each(|i| fifo.push(i).unwrap());
        let poppers: Vec<_> = (0..2)
            .map(|_| {
                let fifo = fifo.clone();
                thread::spawn(move || fifo.pop())
            })
            .collect();
        // The last slot of the second block: the block after it is the
        // first one again when both poppers are done with it by then, and
        // the value after that is written into its first slot.
        fifo.push(3).unwrap();
        fifo.push(4).unwrap();
        let mut taken: Vec<_> = poppers
            .into_iter()
            .map(|p| p.join().unwrap().expect("two values for two pops"))
            .collect();
        taken.sort_unstable();
        assert_eq!(taken, [0, 1]);
        assert_eq!(pop_n(&fifo, 3), [2, 3, 4]);
    });
}

/// What the scheduler's parking protocol needs of a band: a push that
/// finished before a pop began (here through a flag, there through the
/// close's write of the gate, or the fence pair of the last model) is seen
/// by that pop.
#[test]
fn loom_fifo_a_push_that_finished_first_is_seen() {
    use loom::sync::atomic::{AtomicBool, Ordering};
    model(|| {
        let fifo = Arc::new(Fifo::new());
        let pushed = Arc::new(AtomicBool::new(false));
        // One value already there, so the second crosses into a new block.
        fifo.push(0).unwrap();
        let pusher = {
            let (fifo, pushed) = (fifo.clone(), pushed.clone());
            thread::spawn(move || {
                fifo.push(1).unwrap();
                fifo.push(2).unwrap();
                pushed.store(true, Ordering::SeqCst);
            })
        };
        assert_eq!(fifo.pop(), Some(0));
        if pushed.load(Ordering::SeqCst) {
            assert_eq!(fifo.pop(), Some(1));
            assert_eq!(fifo.pop(), Some(2));
        }
        pusher.join().unwrap();
    });
}

/// Close racing two pushers, one of which claims the block's last slot and
/// links the next block (the other pushes into that one, or waits for the
/// linking): every push either lands or is handed back, and the pops made
/// after the close find every push that landed, so nothing lands later. A
/// close set between the last slot's claim and the linking must survive the
/// linking (the index moves on by an add).
#[test]
fn loom_fifo_close_racing_pushes_across_a_block_boundary() {
    model(|| {
        let fifo = Arc::new(Fifo::new());
        fifo.push(0).unwrap();
        let pushers = spawn_pushes(&fifo, [1, 2]);
        fifo.close();
        let mut taken: Vec<usize> = std::iter::from_fn(|| fifo.pop()).collect();
        let mut landed: Vec<usize> = pushers
            .into_iter()
            .filter_map(|p| p.join().unwrap())
            .collect();
        assert_eq!(fifo.pop(), None, "a push landed after the close's drain");
        assert_eq!(taken.first(), Some(&0));
        landed.push(0);
        landed.sort_unstable();
        taken.sort_unstable();
        assert_eq!(taken, landed, "every accepted push, once");
        assert_eq!(fifo.push(3), Err(3));
    });
}

/// The close seen from another thread, as a worker sees it through the
/// gate: a drainer that reads the closer's flag (written after the close)
/// finds every push the band accepted. A push past the close (a worker
/// moving an item out of its own slot) always lands, here into the block
/// that the first push's linking made, and the drainer or a later pop finds
/// it.
#[test]
fn loom_fifo_a_drainer_that_saw_the_close_finds_every_accepted_push() {
    use loom::sync::atomic::{AtomicBool, Ordering};
    model(|| {
        let fifo = Arc::new(Fifo::new());
        let closed = Arc::new(AtomicBool::new(false));
        fifo.push(0).unwrap();
        let pusher = {
            let fifo = fifo.clone();
            thread::spawn(move || {
                // 1 claims the block's last slot and links the next block.
                let landed = fifo.push(1).is_ok();
                fifo.push_past_close(2);
                landed
            })
        };
        let closer = {
            let (fifo, closed) = (fifo.clone(), closed.clone());
            thread::spawn(move || {
                fifo.close();
                closed.store(true, Ordering::SeqCst);
            })
        };
        while !closed.load(Ordering::SeqCst) {
            thread::yield_now();
        }
        let drained: Vec<usize> = std::iter::from_fn(|| fifo.pop()).collect();
        let landed = pusher.join().unwrap();
        closer.join().unwrap();
        assert_eq!(drained.first(), Some(&0));
        assert_eq!(
            drained.contains(&1),
            landed,
            "an accepted push the drain missed"
        );
        let mut all = drained;
        all.extend(std::iter::from_fn(|| fifo.pop()));
        let expected: Vec<usize> = [0, 1, 2]
            .into_iter()
            .filter(|&value| value != 1 || landed)
            .collect();
        assert_eq!(all, expected, "in order, the push past the close once");
    });
}

/// The scheduler's wake-up handshake with the real band queue (its own
/// models see a locked deque): a pusher pushes, fences, and reads an idle
/// count; a parker raises the count, fences, and pops. Either the pusher
/// sees the parker or the parker finds the value, across a block boundary
/// too. Leaving out the pusher's fence fails the model (the parker's side
/// has a second one: `pop` fences before it reads the tail).
#[test]
fn loom_fifo_push_then_fence_pairs_with_a_parkers_fence() {
    use loom::sync::atomic::{fence, AtomicUsize, Ordering};
    model(|| {
        let fifo = Arc::new(Fifo::new());
        let idle = Arc::new(AtomicUsize::new(0));
        // One value pushed and popped, so the next push claims the
        // block's last slot and links the next block.
        fifo.push(0).unwrap();
        assert_eq!(fifo.pop(), Some(0));
        let pusher = {
            let (fifo, idle) = (fifo.clone(), idle.clone());
            thread::spawn(move || {
                fifo.push(1).unwrap();
                fence(Ordering::SeqCst);
                idle.load(Ordering::Relaxed) != 0
            })
        };
        idle.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let found = fifo.pop();
        let saw_parker = pusher.join().unwrap();
        assert!(saw_parker || found == Some(1), "a lost wake-up");
        if found.is_none() {
            assert_eq!(fifo.pop(), Some(1));
        }
    });
}
