//! Loom models of the cancel-versus-fire protocol:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p mfwq --lib --release loom_timer
//! ```
//!
//! A waiting item's [`Claim`] is raced by the thread that sets its event, a
//! cancel and the last shutdown; a scheduled item's [`Deadlines`] entry by the
//! timer thread, a cancel and shutdown, each under the lock (a loom mutex
//! here). In every interleaving exactly one contender wins and the payload
//! (the result) is released exactly once. Payloads count their drops with a
//! loom atomic; assertions run on the main thread after the joins.

use super::claim::StateWord;
use super::deadlines::Deadlines;
use super::{Claim, Outcome};
use loom::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

impl StateWord for AtomicU8 {
    fn with_value(value: u8) -> Self {
        AtomicU8::new(value)
    }

    fn swap_from(&self, from: u8, to: u8) -> bool {
        self.compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn value(&self) -> u8 {
        self.load(Ordering::Acquire)
    }
}

/// Stands for the item's result: counts its releases.
struct Payload(Arc<AtomicUsize>);

impl Drop for Payload {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

type LoomClaim = Claim<Payload, AtomicU8>;

fn contender(claim: &Arc<LoomClaim>, outcome: Outcome) -> thread::JoinHandle<bool> {
    let claim = Arc::clone(claim);
    // The winner releases (drops) the payload on its own thread.
    thread::spawn(move || claim.try_take(outcome).is_some())
}

#[test]
fn loom_timer_wait_fire_races_cancel() {
    loom::model(|| {
        let released = Arc::new(AtomicUsize::new(0));
        let claim = Arc::new(LoomClaim::new(Payload(Arc::clone(&released))));
        let firing = contender(&claim, Outcome::Fired);
        let cancelled = claim.try_take(Outcome::Cancelled).is_some();
        let fired = firing.join().unwrap();
        assert!(fired != cancelled, "exactly one of fire and cancel wins");
        let expected = if fired {
            Outcome::Fired
        } else {
            Outcome::Cancelled
        };
        assert_eq!(claim.outcome(), Some(expected));
        assert_eq!(released.load(Ordering::SeqCst), 1, "released exactly once");
        drop(claim);
        assert_eq!(
            released.load(Ordering::SeqCst),
            1,
            "and not again with the item"
        );
    });
}

#[test]
fn loom_timer_wait_fire_cancel_and_stop_race() {
    loom::model(|| {
        let released = Arc::new(AtomicUsize::new(0));
        let claim = Arc::new(LoomClaim::new(Payload(Arc::clone(&released))));
        let firing = contender(&claim, Outcome::Fired);
        let stopping = contender(&claim, Outcome::Stopped);
        let cancelled = claim.try_take(Outcome::Cancelled).is_some();
        let fired = firing.join().unwrap();
        let stopped = stopping.join().unwrap();
        let winners = [fired, cancelled, stopped].iter().filter(|w| **w).count();
        assert_eq!(winners, 1, "exactly one contender wins");
        let expected = if fired {
            Outcome::Fired
        } else if cancelled {
            Outcome::Cancelled
        } else {
            Outcome::Stopped
        };
        assert_eq!(
            claim.outcome(),
            Some(expected),
            "the winner's outcome is recorded"
        );
        assert_eq!(released.load(Ordering::SeqCst), 1);
        drop(claim);
        assert_eq!(released.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn loom_timer_scheduled_fire_races_cancel_and_stop() {
    loom::model(|| {
        let released = Arc::new(AtomicUsize::new(0));
        let now = std::time::Instant::now();
        let pending = Arc::new(Mutex::new(Deadlines::new()));
        pending
            .lock()
            .unwrap()
            .insert(7, now, Payload(Arc::clone(&released)));
        // The timer thread: everything due goes to dispatch (here: dropped).
        let timer = {
            let pending = Arc::clone(&pending);
            thread::spawn(move || {
                let mut due = Vec::new();
                pending.lock().unwrap().pop_due(now, &mut due);
                !due.is_empty()
            })
        };
        // Shutdown: takes everything that is still pending.
        let stop = {
            let pending = Arc::clone(&pending);
            thread::spawn(move || !pending.lock().unwrap().drain().is_empty())
        };
        let cancelled = {
            let removed = pending.lock().unwrap().remove(7);
            removed.is_some()
        };
        let fired = timer.join().unwrap();
        let stopped = stop.join().unwrap();
        let winners = [fired, cancelled, stopped].iter().filter(|w| **w).count();
        assert_eq!(
            winners, 1,
            "exactly one of fire, cancel and stop owns the item"
        );
        assert_eq!(released.load(Ordering::SeqCst), 1, "released exactly once");
        drop(pending);
        assert_eq!(released.load(Ordering::SeqCst), 1);
    });
}
