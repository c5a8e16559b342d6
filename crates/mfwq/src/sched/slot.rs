//! A pool worker's own slot: where an item that a worker puts on its own
//! pool waits, so that the worker runs it next instead of handing it to a
//! sibling through the shared bands (see README.md, "A worker's own slot").
//!
//! One item per slot: a second put by the owner displaces the first into the
//! shared normal band. The owner takes from its slot before the normal band;
//! a sibling takes from it ("steals") only after its own short poll of the
//! bands has found nothing, and before it parks, so an item in a slot whose
//! owner blocks is still run.
//!
//! The slot is one state word and the item's storage. A put or a take claims
//! the slot by moving the word to `BUSY` with one compare-and-swap, moves the
//! item in or out, and releases it with one store: on the owner's path that
//! is two atomic read-modify-writes per item fewer than a mutex (whose unlock
//! is one too), and the word stays in the owner's cache unless a sibling
//! steals. Nobody waits on `BUSY`: a put that finds the slot busy (a sibling
//! taking the item) hands its job back for the band, and a take that finds
//! it busy comes back empty. Neither can lose an item: a put is made by the
//! slot's owner, a running worker that looks into its slot and the bands
//! before it can exit, and that wakes an idle sibling after the put; a take
//! in progress runs what it takes.

use std::mem::MaybeUninit;

use crate::sync::cell::UnsafeCell;
use crate::sync::{AtomicU8, Ordering};

/// No item.
const EMPTY: u8 = 0;
/// An item, published.
const FULL: u8 = 1;
/// Claimed by a put or a take in progress.
const BUSY: u8 = 2;

pub(crate) struct Slot<J> {
    /// `EMPTY`, `FULL` or `BUSY`. A claim (to `BUSY`) acquires what the last
    /// release (from `BUSY`) published; the item is touched only between.
    state: AtomicU8,
    item: UnsafeCell<MaybeUninit<J>>,
}

// SAFETY: the item is moved in and out by one thread at a time (the one that
// claimed the state word), with acquire/release on that word between them:
// a Slot hands a `J` from thread to thread, so it needs `J: Send` only.
unsafe impl<J: Send> Sync for Slot<J> {}
// SAFETY: as above.
unsafe impl<J: Send> Send for Slot<J> {}

impl<J> Slot<J> {
    pub(crate) fn new() -> Slot<J> {
        Slot {
            state: AtomicU8::new(EMPTY),
            item: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Claims the slot if its word is `from`.
    #[inline]
    fn claim(&self, from: u8) -> bool {
        self.state
            .compare_exchange(from, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Puts `job` in the slot (the owner, during a push). `Err(job)` when
    /// the slot is busy (a sibling is taking the item): the job goes to the
    /// band instead. `Ok(Some(old))` hands back the item it displaces, for
    /// the band.
    #[inline]
    pub(crate) fn put(&self, job: J) -> Result<Option<J>, J> {
        let displaced = match self.state.load(Ordering::Relaxed) {
            EMPTY if self.claim(EMPTY) => None,
            // SAFETY: claimed FULL: the item is initialised and ours to move.
            FULL if self.claim(FULL) => Some(
                self.item
                    .with_mut(|item| unsafe { (*item).assume_init_read() }),
            ),
            _ => return Err(job),
        };
        // SAFETY: claimed: nobody else touches the item until the release.
        self.item.with_mut(|item| unsafe { (*item).write(job) });
        self.state.store(FULL, Ordering::Release);
        Ok(displaced)
    }

    /// Takes the item, if there is one and nobody else is at the slot (the
    /// owner, or a sibling stealing it).
    #[inline]
    pub(crate) fn take(&self) -> Option<J> {
        if self.state.load(Ordering::Relaxed) != FULL || !self.claim(FULL) {
            return None;
        }
        // SAFETY: claimed FULL: the item is initialised and ours to move.
        let job = self
            .item
            .with_mut(|item| unsafe { (*item).assume_init_read() });
        self.state.store(EMPTY, Ordering::Release);
        Some(job)
    }
}

impl<J> Drop for Slot<J> {
    fn drop(&mut self) {
        // A slot still holding an item when its queue goes (never, once the
        // queue drained): drop the item rather than leak it.
        if self.state.load(Ordering::Acquire) == FULL {
            // SAFETY: FULL: the item is initialised, and `&mut self` is unique.
            self.item
                .with_mut(|item| unsafe { (*item).assume_init_drop() });
        }
    }
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    #[test]
    fn one_item_a_second_put_displaces_the_first() {
        let slot = Slot::new();
        assert_eq!(slot.take(), None);
        assert_eq!(slot.put(1), Ok(None));
        assert_eq!(slot.put(2), Ok(Some(1)));
        assert_eq!(slot.take(), Some(2));
        assert_eq!(slot.take(), None);
    }

    #[test]
    fn owner_and_thieves_take_each_item_once() {
        let slot = std::sync::Arc::new(Slot::new());
        let per = if cfg!(miri) { 200 } else { 20_000usize };
        let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (slot, taken) = (slot.clone(), taken.clone());
                std::thread::spawn(move || {
                    while taken.load(std::sync::atomic::Ordering::SeqCst) < per {
                        if slot.take().is_some() {
                            taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        let mut displaced = 0;
        for i in 0..per {
            // Displaced or handed back for the band: either way not in the slot.
            if !matches!(slot.put(i), Ok(None)) {
                displaced += 1;
            }
        }
        if slot.take().is_some() {
            taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        // Every item was taken once or displaced once: the thieves stop when
        // the count reaches `per`.
        taken.fetch_add(displaced, std::sync::atomic::Ordering::SeqCst);
        thieves.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(taken.load(std::sync::atomic::Ordering::SeqCst), per);
    }
}
