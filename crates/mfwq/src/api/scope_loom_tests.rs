//! Loom models of a scope (`scope.rs`) with its closures on plain threads
//! (`Sink::Threads`: the queue between a spawn and its run is the
//! scheduler's, which has models of its own): the claim that runs or drops
//! each closure once, the pending count, and the owner's park against the
//! last closure's unpark. What is checked: `scope` returns only after every
//! closure has finished, and what a closure wrote is visible to the owner
//! afterwards (it writes into a loom `UnsafeCell`, which fails the model on
//! an access without a happens-before edge); no wake-up of the owner is lost
//! (it would park for ever: loom reports a deadlock).
//!
//! ```text
//! RUSTFLAGS="--cfg mfwq_loom -C debug-assertions" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p mfwq --lib --release loom_scope
//! ```

use super::{scope_with, Sink};
use crate::api::queue::Queue;
use crate::sync::cell::UnsafeCell;
use crate::sync::model;

/// A value a closure writes and the owner reads after the scope.
struct Slot(UnsafeCell<u32>);

// SAFETY: the model's closures each write their own slot, and the owner
// reads it only after `scope` returned: the protocol under test orders them.
unsafe impl Sync for Slot {}

impl Slot {
    fn new() -> Slot {
        Slot(UnsafeCell::new(0))
    }

    fn set(&self, value: u32) {
        // SAFETY: one writer per slot (see `Sync` above).
        self.0.with_mut(|slot| unsafe { *slot = value });
    }

    fn get(&self) -> u32 {
        // SAFETY: read by the owner once the scope has returned.
        self.0.with_mut(|slot| unsafe { *slot })
    }
}

/// Catches: `ScopeData::finish_one` decrementing `pending` with `Relaxed`,
/// or `Scope::wait` loading it `Relaxed` (the owner sees zero with no
/// happens-before edge to the closure's write: a race on the cell);
/// `finish_one` unparking the owner before its decrement (the owner wakes,
/// still sees one pending, and parks for ever: a deadlock).
#[test]
fn loom_scope_returns_after_its_closures_and_sees_their_writes() {
    model(|| {
        let (first, second) = (Slot::new(), Slot::new());
        scope_with(Sink::Threads, |s| {
            s.spawn(&Queue::STANDARD, || first.set(1)).unwrap();
            s.spawn(&Queue::STANDARD, || second.set(2)).unwrap();
        });
        assert_eq!((first.get(), second.get()), (1, 2));
    });
}

/// A closure that spawns another into the same scope and then goes on: the
/// nested closure is counted before it can run, so its end cannot bring the
/// count to zero while the spawning closure still runs.
///
/// Catches: `Scope::spawn` counting the item up after putting it (the nested
/// closure can finish first and take the count from one to zero: `scope`
/// returns while the spawning closure still runs, and the owner finds that
/// closure's later write missing).
#[test]
fn loom_scope_waits_for_a_nested_spawn() {
    model(|| {
        let (outer, nested) = (Slot::new(), Slot::new());
        scope_with(Sink::Threads, |s| {
            s.spawn(&Queue::STANDARD, || {
                s.spawn(&Queue::STANDARD, || nested.set(3)).unwrap();
                outer.set(4);
            })
            .unwrap();
        });
        assert_eq!((outer.get(), nested.get()), (4, 3));
    });
}
