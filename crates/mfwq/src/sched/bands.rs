//! Three FIFO bands of work, one per priority (docs/behaviour.md#d4).
//!
//! Normally each band is a lock-free segmented queue from crossbeam (the
//! enqueue/dequeue path is a few atomic operations with no allocation per item
//! amortised); under loom it is a mutex-protected `VecDeque` with the same
//! interface, so the parking protocol above it is what gets model-checked.
//! This is a documented boundary of the `crate::sync` facade: `SegQueue` is
//! built on crossbeam's own std atomics, which loom cannot see or interleave,
//! so it cannot be modelled in place.

use crate::ids::Band;

#[cfg(not(mfwq_loom))]
pub(crate) struct Bands<J> {
    bands: [crossbeam_queue::SegQueue<J>; 3],
}

#[cfg(not(mfwq_loom))]
impl<J> Bands<J> {
    pub(crate) fn new() -> Bands<J> {
        Bands {
            bands: Default::default(),
        }
    }

    pub(crate) fn push(&self, band: Band, work: J) {
        self.bands[band as usize].push(work);
    }

    /// The oldest item of the highest non-empty band.
    pub(crate) fn pop(&self) -> Option<J> {
        self.bands.iter().find_map(|band| band.pop())
    }
}

#[cfg(mfwq_loom)]
pub(crate) struct Bands<J> {
    bands: [crate::sync::Mutex<std::collections::VecDeque<J>>; 3],
}

#[cfg(mfwq_loom)]
impl<J> Bands<J> {
    pub(crate) fn new() -> Bands<J> {
        Bands {
            bands: Default::default(),
        }
    }

    pub(crate) fn push(&self, band: Band, work: J) {
        crate::sync::lock(&self.bands[band as usize]).push_back(work);
    }

    pub(crate) fn pop(&self) -> Option<J> {
        self.bands
            .iter()
            .find_map(|band| crate::sync::lock(band).pop_front())
    }
}
