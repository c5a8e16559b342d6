//! Loom models of the band queue (`fifo.rs`), with blocks of two slots so
//! that every model crosses a block boundary: the linking of the next block
//! by the pusher of a block's last slot, the head's move by the popper of
//! that slot, the release walk handed between poppers, and the spare block
//! taken again by a pusher. Loom checks every access to a slot's value
//! against the happens-before edges the state bits and ends provide.
//!
//! Sensitivity: each of these mutations makes at least one model fail — the
//! pusher of a last slot publishing the new tail index before the new tail
//! block (a later pusher writes into the old block); a reader setting `READ`
//! with `Relaxed` (the block's next user writes a slot while the read may
//! still be in flight: loom reports the racing cell access); the release
//! walk not handing over to a slot's unfinished reader (the block is reused
//! under that reader: the same report).

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

#[test]
fn loom_fifo_one_pusher_one_popper_across_two_blocks() {
    model(|| {
        let fifo = Arc::new(Fifo::new());
        let pusher = {
            let fifo = fifo.clone();
            thread::spawn(move || (0..3).for_each(|i| fifo.push(i)))
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
        fifo.push(0);
        let pushers: Vec<_> = [1, 2]
            .into_iter()
            .map(|value| {
                let fifo = fifo.clone();
                thread::spawn(move || fifo.push(value))
            })
            .collect();
        let first = fifo.pop();
        pushers.into_iter().for_each(|p| p.join().unwrap());
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
        fifo.push(0);
        fifo.push(1);
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
            fifo.push(value);
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
            thread::spawn(move || (0..5).for_each(|i| fifo.push(i)))
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
        (0..3).for_each(|i| fifo.push(i));
        let poppers: Vec<_> = (0..2)
            .map(|_| {
                let fifo = fifo.clone();
                thread::spawn(move || fifo.pop())
            })
            .collect();
        // The last slot of the second block: the block after it is the
        // first one again when both poppers are done with it by then, and
        // the value after that is written into its first slot.
        fifo.push(3);
        fifo.push(4);
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
/// finished before a pop began (here through a flag, there through the gate
/// word) is seen by that pop.
#[test]
fn loom_fifo_a_push_that_finished_first_is_seen() {
    use loom::sync::atomic::{AtomicBool, Ordering};
    model(|| {
        let fifo = Arc::new(Fifo::new());
        let pushed = Arc::new(AtomicBool::new(false));
        // One value already there, so the second crosses into a new block.
        fifo.push(0);
        let pusher = {
            let (fifo, pushed) = (fifo.clone(), pushed.clone());
            thread::spawn(move || {
                fifo.push(1);
                fifo.push(2);
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
