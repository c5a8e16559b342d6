//! A pool worker's own slot: where an item that a worker puts on its own
//! pool waits, so that the worker runs it next instead of handing it to a
//! sibling through the shared bands (see README.md, "A worker's own slot").
//!
//! One item per slot: a second put by the owner displaces the first into the
//! shared normal band. The owner takes from its slot before the normal band;
//! a sibling takes from it ("steals") only after its own short poll of the
//! bands has found nothing, and before it parks, so an item in a slot whose
//! owner blocks is still run. The item lives under a small mutex that only
//! the owner touches in the common case; `occupied` tells the others, without
//! the lock, whether looking is worth it.

use crate::sync::{lock, AtomicBool, Mutex, Ordering};

pub(crate) struct Slot<J> {
    /// Whether `item` holds something: written under the lock, read without
    /// it as a hint (a read that must see a put happened after it, through
    /// the gate word, so coherence of this one word is enough).
    occupied: AtomicBool,
    item: Mutex<Option<J>>,
}

impl<J> Slot<J> {
    pub(crate) fn new() -> Slot<J> {
        Slot {
            occupied: AtomicBool::new(false),
            item: Mutex::new(None),
        }
    }

    /// Puts `job` in the slot (the owner, during a push); returns the item it
    /// displaces, for the shared band.
    #[inline]
    pub(crate) fn put(&self, job: J) -> Option<J> {
        let mut item = lock(&self.item);
        let displaced = item.replace(job);
        self.occupied.store(true, Ordering::Relaxed);
        displaced
    }

    /// Takes the item, if there is one (the owner, or a sibling stealing it).
    #[inline]
    pub(crate) fn take(&self) -> Option<J> {
        if !self.occupied.load(Ordering::Relaxed) {
            return None;
        }
        let mut item = lock(&self.item);
        self.occupied.store(false, Ordering::Relaxed);
        item.take()
    }
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    #[test]
    fn one_item_a_second_put_displaces_the_first() {
        let slot = Slot::new();
        assert_eq!(slot.take(), None);
        assert_eq!(slot.put(1), None);
        assert_eq!(slot.put(2), Some(1));
        assert_eq!(slot.take(), Some(2));
        assert_eq!(slot.take(), None);
    }

    #[test]
    fn owner_and_thieves_take_each_item_once() {
        let slot = std::sync::Arc::new(Slot::new());
        let per = 20_000usize;
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
            if slot.put(i).is_some() {
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
