//! Three FIFO bands of work, one per priority (docs/behaviour.md#d4).
//!
//! Each band is a [`Fifo`] (`fifo.rs`): lock-free, a few atomic operations
//! per item, no allocation once a queue runs at a steady depth, and waits
//! that a real-time thread can afford. It is built on the `crate::sync`
//! facade and has loom models of its own. The scheduler's models (parking,
//! close, drain) see a band as a locked deque instead (`Locked` below):
//! with the queue's own interleavings added, the pool models with two
//! producers or two workers did not finish in five minutes. What those
//! models need of a band is what the queue's models check: a push whose
//! claim is ordered before a pop's fence (it happened before the pop, or
//! the pusher fenced after it and its fence came first) is seen by the pop;
//! every value comes out once; and a closed band refuses pushes.
//!
//! Most work is in the normal band, and looking into an empty segmented
//! queue is not free (a full fence and a read of the pushers' tail line). So
//! a word counts the items in the high and low bands (`urgent`): a pop looks
//! into those bands only when the count says they may hold something. Pushes
//! to the normal band never write that word, so when no one uses priorities
//! it stays in every core's cache, read-only. The counting is the same code
//! under loom (the facade's atomic), so the models check it.
//!
//! Why a pop never misses an item the count hides: an item's count is raised
//! before the item is pushed and lowered only after it is popped, both as
//! read-modify-writes of one word. A pop that must see an item reads the
//! word at or after the raise: either the push happened before the pop, or
//! (a parking worker's look) the raise is sequenced before the pusher's
//! fence, which comes before the parker's in the SeqCst order, and a load
//! after the later fence sees what was written before the earlier one; every
//! lowering before that point belongs to another item whose raise is also
//! before it, so the value read is at least one. A push that the band
//! refuses (closed) lowers the count again: that lowering, too, follows its
//! own raise, so the argument holds.

#[cfg(not(mfwq_loom))]
use super::fifo::Fifo;
use crate::ids::Band;
use crate::sync::{AtomicU64, Ordering};
#[cfg(mfwq_loom)]
use locked::Locked as Fifo;

/// One item in the high band, in `urgent`.
const HIGH: u64 = 1;
/// One item in the low band, in `urgent`.
const LOW: u64 = 1 << 32;
const HIGH_MASK: u64 = LOW - 1;

pub(crate) struct Bands<J> {
    high: Fifo<J>,
    normal: Fifo<J>,
    low: Fifo<J>,
    /// Items in the high band (low 32 bits) and in the low band (high 32
    /// bits), raised before a push and lowered after a pop: see the module
    /// docs. Its own cache line: pushers to those bands write it.
    urgent: crossbeam_utils::CachePadded<AtomicU64>,
}

impl<J> Bands<J> {
    pub(crate) fn new() -> Bands<J> {
        Bands {
            high: Fifo::new(),
            normal: Fifo::new(),
            low: Fifo::new(),
            urgent: crossbeam_utils::CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// Queues `work` in `band`; hands it back if the bands are closed.
    #[inline]
    pub(crate) fn push(&self, band: Band, work: J) -> Result<(), J> {
        let (fifo, count) = match band {
            Band::Normal => return self.normal.push(work),
            Band::High => (&self.high, HIGH),
            Band::Low => (&self.low, LOW),
        };
        self.urgent.fetch_add(count, Ordering::Relaxed);
        fifo.push(work).inspect_err(|_| {
            // Refused: the raise belongs to no item. A pop that saw it
            // only looked into an empty band.
            self.urgent.fetch_sub(count, Ordering::Relaxed);
        })
    }

    /// Queues `work` in the normal band even if the bands are closed (slots
    /// hold normal-band items only): for a
    /// pool worker moving an item out of its own slot, which it drains
    /// itself (`Fifo::push_past_close`).
    #[inline]
    pub(crate) fn push_past_close(&self, work: J) {
        self.normal.push_past_close(work);
    }

    /// The count of high and low items (`urgent`), for tests: 0 once every
    /// item pushed was popped and every refused push undid its raise. (The
    /// unit tests below read the field itself.)
    #[cfg(all(test, mfwq_loom))]
    pub(crate) fn urgent_count(&self) -> u64 {
        self.urgent.load(Ordering::Relaxed)
    }

    /// Refuses every push from now on (`Fifo::close` on each band, high
    /// first); what was pushed before is still popped.
    pub(crate) fn close(&self) {
        self.high.close();
        self.normal.close();
        self.low.close();
    }

    /// The oldest item of the highest non-empty band.
    #[inline]
    pub(crate) fn pop(&self) -> Option<J> {
        self.pop_high().or_else(|| self.pop_normal_or_low())
    }

    /// The oldest item of the high band.
    #[inline]
    pub(crate) fn pop_high(&self) -> Option<J> {
        // Relaxed is enough: the raise of a push that must be seen is ordered
        // before this load as its claim is (module docs).
        if self.urgent.load(Ordering::Relaxed) & HIGH_MASK != 0 {
            if let Some(work) = self.high.pop() {
                self.urgent.fetch_sub(HIGH, Ordering::Relaxed);
                return Some(work);
            }
        }
        None
    }

    /// The oldest item of the normal band, else of the low band.
    #[inline]
    pub(crate) fn pop_normal_or_low(&self) -> Option<J> {
        if let Some(work) = self.normal.pop() {
            return Some(work);
        }
        // Read again: a low item pushed after the first read is as good as
        // one pushed before it, and the normal band is empty now.
        if self.urgent.load(Ordering::Relaxed) >= LOW {
            if let Some(work) = self.low.pop() {
                self.urgent.fetch_sub(LOW, Ordering::Relaxed);
                return Some(work);
            }
        }
        None
    }
}

/// The band as the scheduler's loom models see it (see the module docs).
#[cfg(mfwq_loom)]
mod locked {
    /// The deque, and whether the band is closed.
    pub(crate) struct Locked<J>(crate::sync::Mutex<(std::collections::VecDeque<J>, bool)>);

    impl<J> Locked<J> {
        pub(crate) fn new() -> Self {
            Locked(crate::sync::Mutex::new((
                std::collections::VecDeque::new(),
                false,
            )))
        }

        /// As `Fifo::push`: refused once closed.
        pub(crate) fn push(&self, work: J) -> Result<(), J> {
            let mut band = crate::sync::lock(&self.0);
            if band.1 {
                return Err(work);
            }
            band.0.push_back(work);
            Ok(())
        }

        pub(crate) fn push_past_close(&self, work: J) {
            crate::sync::lock(&self.0).0.push_back(work);
        }

        pub(crate) fn close(&self) {
            crate::sync::lock(&self.0).1 = true;
        }

        pub(crate) fn pop(&self) -> Option<J> {
            crate::sync::lock(&self.0).0.pop_front()
        }
    }
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    #[test]
    fn highest_band_first_fifo_within_each_and_counts_return_to_zero() {
        let bands = Bands::new();
        for i in 0..5 {
            bands.push(Band::Low, ("low", i)).unwrap();
            bands.push(Band::Normal, ("normal", i)).unwrap();
            bands.push(Band::High, ("high", i)).unwrap();
        }
        assert_eq!(bands.urgent.load(Ordering::Relaxed), 5 * HIGH + 5 * LOW);
        let order: Vec<_> = std::iter::from_fn(|| bands.pop()).collect();
        let expected: Vec<_> = ["high", "normal", "low"]
            .into_iter()
            .flat_map(|band| (0..5).map(move |i| (band, i)))
            .collect();
        assert_eq!(order, expected);
        assert_eq!(bands.urgent.load(Ordering::Relaxed), 0);
        assert!(bands.pop().is_none());
    }

    #[test]
    fn closed_bands_refuse_every_band_and_keep_the_count_true() {
        let bands = Bands::new();
        bands.push(Band::High, 1).unwrap();
        bands.push(Band::Low, 2).unwrap();
        bands.close();
        assert_eq!(bands.push(Band::High, 3), Err(3));
        assert_eq!(bands.push(Band::Normal, 4), Err(4));
        assert_eq!(bands.push(Band::Low, 5), Err(5));
        assert_eq!(bands.urgent.load(Ordering::Relaxed), HIGH + LOW);
        assert_eq!(bands.pop(), Some(1));
        assert_eq!(bands.pop(), Some(2));
        assert_eq!(bands.pop(), None);
        assert_eq!(bands.urgent.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_low_item_pushed_while_normal_drains_is_found() {
        let bands = Bands::new();
        bands.push(Band::Normal, 1).unwrap();
        assert_eq!(bands.pop(), Some(1));
        bands.push(Band::Low, 2).unwrap();
        bands.push(Band::High, 3).unwrap();
        assert_eq!(bands.pop(), Some(3));
        assert_eq!(bands.pop(), Some(2));
        assert_eq!(bands.pop(), None);
    }

    #[test]
    fn concurrent_pushers_and_poppers_lose_nothing() {
        let bands = std::sync::Arc::new(Bands::new());
        // Fewer under Miri, which is slow.
        let per = if cfg!(miri) { 200 } else { 20_000usize };
        let pushers: Vec<_> = [Band::High, Band::Normal, Band::Low]
            .into_iter()
            .map(|band| {
                let bands = bands.clone();
                std::thread::spawn(move || (0..per).for_each(|i| bands.push(band, i).unwrap()))
            })
            .collect();
        let popped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let poppers: Vec<_> = (0..2)
            .map(|_| {
                let (bands, popped) = (bands.clone(), popped.clone());
                std::thread::spawn(move || {
                    while popped.load(Ordering::Relaxed) < 3 * per {
                        if bands.pop().is_some() {
                            popped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        pushers.into_iter().for_each(|p| p.join().unwrap());
        poppers.into_iter().for_each(|p| p.join().unwrap());
        assert_eq!(popped.load(Ordering::Relaxed), 3 * per);
        assert_eq!(bands.urgent.load(Ordering::Relaxed), 0);
    }
}
