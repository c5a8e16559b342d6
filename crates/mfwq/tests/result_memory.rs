//! Stress on the memory behind result objects: blocks carved from slabs by
//! threads that exit while their results live on, released on other threads,
//! and checked mode switched on and off while results of both kinds are
//! alive (a checked block is an allocation of its own, an unchecked one lives
//! in a slab; each must go back the way it came).
//!
//! What is checked: every result's callback, state and object are dropped
//! exactly once, every platform lock the results took is given back, and the
//! process neither crashes nor trips the allocator (a block freed the wrong
//! way, or a slab freed while a block in it lives, does under the system
//! allocator's own checks, and valgrind and Miri report it). `ci/c-abi.sh`
//! runs the C side of the same code under valgrind.
//!
//! Checked mode and the platform lock count are process-wide, so the tests
//! take `SERIAL`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use mfwq::{AsyncResult, State};

static SERIAL: Mutex<()> = Mutex::new(());

/// Counts drops of the values attached to results.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A result of one of the attachment shapes: a callback alone, a callback
/// and a state, a state and an object, or nothing (each lands differently in
/// the object's two words, and the last three use a recycled side block).
fn shaped_result(shape: usize, drops: &Arc<AtomicUsize>) -> AsyncResult {
    let tracked = || -> State { Arc::new(Tracked(drops.clone())) };
    let callback = || {
        let tracked = Tracked(drops.clone());
        mfwq::callback(move |_| {
            let _ = &tracked;
        })
    };
    match shape % 4 {
        0 => AsyncResult::new(None, Some(callback()), None),
        1 => AsyncResult::new(None, Some(callback()), Some(tracked())),
        2 => AsyncResult::new(Some(tracked()), None, Some(tracked())),
        _ => AsyncResult::new(None, None, None),
    }
}

/// Tracked values `shaped_result(shape, ..)` attaches.
fn attached_values(shape: usize) -> usize {
    match shape % 4 {
        0 => 1,
        1 | 2 => 2,
        _ => 0,
    }
}

/// Producers make results and exit at once, with the blocks they took still
/// out; the results are then released on two threads at once, after all
/// producers are gone. Takes `SERIAL`.
fn churn(rounds: usize, producers: usize, per_producer: usize, toggle_checked: bool) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let drops = Arc::new(AtomicUsize::new(0));
    let locks_before = mfwq::platform_lock_count();
    let mut expected = 0;
    for round in 0..rounds {
        let (sender, receiver) = mpsc::channel::<Vec<AsyncResult>>();
        let threads: Vec<_> = (0..producers)
            .map(|producer| {
                let sender = sender.clone();
                let drops = drops.clone();
                thread::spawn(move || {
                    let mut batch = Vec::with_capacity(per_producer);
                    for i in 0..per_producer {
                        if toggle_checked && i % 97 == 0 {
                            mfwq::set_checked_mode((round + producer + i) % 2 == 0);
                        }
                        let result = shaped_result(i, &drops);
                        // Some results travel as clones: two references each.
                        if i % 3 == 0 {
                            batch.push(result.clone());
                        }
                        batch.push(result);
                    }
                    sender.send(batch).unwrap();
                })
            })
            .collect();
        drop(sender);
        expected += producers * (0..per_producer).map(attached_values).sum::<usize>();
        let batches: Vec<_> = receiver.iter().collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // Release on two threads at once, interleaving the producers' blocks.
        let (even, odd): (Vec<_>, Vec<_>) = batches
            .into_iter()
            .flatten()
            .enumerate()
            .partition(|(index, _)| index % 2 == 0);
        let releaser = thread::spawn(move || drop(odd));
        drop(even);
        releaser.join().unwrap();
    }
    mfwq::set_checked_mode(false);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        expected,
        "each value dropped exactly once"
    );
    assert_eq!(
        mfwq::platform_lock_count(),
        locks_before,
        "every result's lock given back"
    );
}

#[test]
fn results_outlive_the_threads_that_carved_them() {
    churn(40, 4, 4_000, false);
}

#[test]
fn checked_mode_switched_while_results_of_both_kinds_live() {
    churn(20, 4, 4_000, true);
}
