//! The table of private queues: id allocation with generations, lock counts,
//! and the gate every put to a private id goes through.
//!
//! A private id is `(slot + 1) << 16 | generation`. The generation comes from
//! one global counter that runs 1..=0xFFFE, so the low word of a live id is
//! never 0 (`0x10000` is never valid, as on Windows) and an id that outlived its
//! queue no longer matches the slot's current generation.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::ids::{QueueId, QueueType, MAX_PRIVATE_QUEUES};
use crate::work::target::Target;

/// A live private queue.
pub(crate) struct Entry {
    pub(crate) target: Target,
    /// What `work_queue_type` reports (a serial queue reports `Standard`: it
    /// runs one item at a time).
    pub(crate) kind: QueueType,
    /// The allocation's lock, every `lock_work_queue`, and the locks serial
    /// queues hold on their target.
    locks: u32,
    /// The `lock_work_queue` locks not yet released: what makes shutdown wait.
    explicit: u32,
}

#[derive(Default)]
struct SlotState {
    generation: u16,
    entry: Option<Entry>,
}

/// One slot of the table. `live` mirrors the state for lock-free readers: the
/// generation of the live queue, or 0. It is set after the entry is installed
/// and cleared before it is removed, both under the mutex.
#[derive(Default)]
struct Slot {
    live: AtomicU32,
    state: Mutex<SlotState>,
}

struct FreeSlots {
    /// Freed slots, reused last-freed first.
    stack: Vec<usize>,
    /// Slots at and above this index were never used.
    next_unused: usize,
}

pub(crate) struct Registry {
    slots: Box<[Slot]>,
    free: Mutex<FreeSlots>,
    next_generation: AtomicU32,
    /// Locks taken by `lock_work_queue` and not yet released, over all queues:
    /// what makes shutdown wait (docs/behaviour.md#d1).
    extra_locks: AtomicI64,
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            slots: (0..MAX_PRIVATE_QUEUES).map(|_| Slot::default()).collect(),
            free: Mutex::new(FreeSlots {
                stack: Vec::new(),
                next_unused: 0,
            }),
            next_generation: AtomicU32::new(0),
            extra_locks: AtomicI64::new(0),
        }
    }

    fn generation(&self) -> u16 {
        let n = self.next_generation.fetch_add(1, Ordering::Relaxed);
        (n % 0xFFFE + 1) as u16
    }

    fn decode(id: QueueId) -> Option<(usize, u16)> {
        let slot = (id.0 >> 16).checked_sub(1)? as usize;
        let generation = (id.0 & 0xFFFF) as u16;
        (slot < MAX_PRIVATE_QUEUES && generation != 0).then_some((slot, generation))
    }

    /// Reserves a slot and installs the queue `make` builds for the new id.
    pub(crate) fn allocate(
        &self,
        kind: QueueType,
        make: impl FnOnce(QueueId) -> Target,
    ) -> Result<QueueId> {
        let slot = {
            let mut free = self.free.lock();
            match free.stack.pop() {
                Some(slot) => slot,
                None if free.next_unused < MAX_PRIVATE_QUEUES => {
                    free.next_unused += 1;
                    free.next_unused - 1
                }
                None => return Err(Error::Fail),
            }
        };
        let generation = self.generation();
        let id = QueueId(((slot as u32 + 1) << 16) | u32::from(generation));
        let target = make(id);
        if crate::observe::wants_queue_created(id) {
            let name = match (&target, kind) {
                (Target::Serial(_), _) => format!("serial q{:x}", id.0),
                (Target::Core(core), QueueType::Standard) => format!("standard {}", core.name()),
                (Target::Core(core), QueueType::Window) => format!("window {}", core.name()),
                (Target::Core(core), QueueType::Multithreaded) => {
                    format!("multithreaded {}", core.name())
                }
            };
            crate::observe::queue_created(id, &name);
        }
        let mut state = self.slots[slot].state.lock();
        state.generation = generation;
        state.entry = Some(Entry {
            target,
            kind,
            locks: 1,
            explicit: 0,
        });
        self.slots[slot]
            .live
            .store(u32::from(generation), Ordering::Release);
        Ok(id)
    }

    /// Runs `f` on the live queue `id`, with the slot locked so that the queue
    /// cannot be unlocked meanwhile. `f` must not call user code.
    pub(crate) fn with_queue<R>(&self, id: QueueId, f: impl FnOnce(&Entry) -> R) -> Result<R> {
        let (slot, generation) = Self::decode(id).ok_or(Error::InvalidWorkQueue)?;
        let slot = self.slots[slot].state.lock();
        match &slot.entry {
            Some(entry) if slot.generation == generation => Ok(f(entry)),
            _ => Err(Error::InvalidWorkQueue),
        }
    }

    /// Whether `id` names a live queue now, without taking a lock: what a
    /// cached route re-checks before every use.
    #[inline]
    pub(crate) fn is_live(&self, id: QueueId) -> bool {
        Self::decode(id).is_some_and(|(slot, generation)| {
            self.slots[slot].live.load(Ordering::Acquire) == u32::from(generation)
        })
    }

    /// One more lock on a private id: `MFLockWorkQueue` (`explicit`), or a
    /// serial queue's lock on its target.
    pub(crate) fn lock(&self, id: QueueId, explicit: bool) -> Result<()> {
        let (slot, generation) = Self::decode(id).ok_or(Error::InvalidWorkQueue)?;
        let mut slot = self.slots[slot].state.lock();
        if slot.generation != generation {
            return Err(Error::InvalidWorkQueue);
        }
        let entry = slot.entry.as_mut().ok_or(Error::InvalidWorkQueue)?;
        entry.locks = entry.locks.checked_add(1).ok_or(Error::Fail)?;
        if explicit {
            entry.explicit += 1;
            self.extra_locks.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    /// `MFUnlockWorkQueue` on a private id. Returns the queue when this was its
    /// last lock: the caller closes it (its backlog still runs).
    /// An explicit unlock releases an explicit lock first, if any is held.
    pub(crate) fn unlock(&self, id: QueueId, explicit: bool) -> Result<Option<Target>> {
        let (index, generation) = Self::decode(id).ok_or(Error::InvalidWorkQueue)?;
        let mut slot = self.slots[index].state.lock();
        if slot.generation != generation {
            return Err(Error::InvalidWorkQueue);
        }
        let entry = slot.entry.as_mut().ok_or(Error::InvalidWorkQueue)?;
        if explicit && entry.explicit > 0 {
            entry.explicit -= 1;
            self.extra_locks.fetch_sub(1, Ordering::SeqCst);
        }
        if entry.locks > 1 {
            entry.locks -= 1;
            return Ok(None);
        }
        self.slots[index].live.store(0, Ordering::Release);
        let entry = slot.entry.take().expect("checked above");
        drop(slot);
        self.free.lock().stack.push(index);
        crate::observe::queue_unlocked(id);
        Ok(Some(entry.target))
    }

    /// Locks beyond each queue's allocation lock, over all live queues.
    pub(crate) fn extra_locks(&self) -> i64 {
        self.extra_locks.load(Ordering::SeqCst)
    }

    /// The number of live private queues.
    pub(crate) fn live_count(&self) -> usize {
        let free = self.free.lock();
        free.next_unused - free.stack.len()
    }

    /// Removes every queue (platform shutdown) and returns them to be closed.
    pub(crate) fn drain(&self) -> Vec<Target> {
        let mut free = self.free.lock();
        let mut cores = Vec::new();
        for slot in &self.slots[..free.next_unused] {
            let mut state = slot.state.lock();
            slot.live.store(0, Ordering::Release);
            if let Some(entry) = state.entry.take() {
                self.extra_locks
                    .fetch_sub(i64::from(entry.explicit), Ordering::SeqCst);
                cores.push(entry.target);
            }
        }
        free.stack = (0..free.next_unused).rev().collect();
        cores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(id: QueueId) -> Target {
        Target::Core(crate::work::QueueCore::new(id, "test".into(), 1, None))
    }

    #[test]
    fn ids_are_private_and_stale_ids_fail() {
        let registry = Registry::new();
        let first = registry.allocate(QueueType::Standard, core).unwrap();
        assert!(first.is_private());
        assert!(registry.unlock(first, true).unwrap().is_some());
        assert_eq!(
            registry.unlock(first, true).err(),
            Some(Error::InvalidWorkQueue)
        );
        let second = registry.allocate(QueueType::Standard, core).unwrap();
        assert_ne!(first, second, "a reused slot gets a new generation");
        assert_eq!(first.0 >> 16, second.0 >> 16, "the freed slot is reused");
        assert_eq!(
            registry.with_queue(first, |_| ()).err(),
            Some(Error::InvalidWorkQueue)
        );
        assert!(registry.with_queue(second, |_| ()).is_ok());
    }

    #[test]
    fn never_allocated_ids_are_invalid() {
        let registry = Registry::new();
        for id in [0x10000, 0xFFFF_FFFF, 0x1234_0001, 0x0002_0000] {
            assert_eq!(
                registry.with_queue(QueueId(id), |_| ()).err(),
                Some(Error::InvalidWorkQueue),
                "{id:#x}"
            );
            assert_eq!(
                registry.lock(QueueId(id), true).err(),
                Some(Error::InvalidWorkQueue)
            );
            assert_eq!(
                registry.unlock(QueueId(id), true).err(),
                Some(Error::InvalidWorkQueue)
            );
        }
    }

    #[test]
    fn lock_counting() {
        let registry = Registry::new();
        let id = registry.allocate(QueueType::Multithreaded, core).unwrap();
        registry.lock(id, true).unwrap();
        registry.lock(id, true).unwrap();
        assert_eq!(registry.extra_locks(), 2);
        assert!(registry.unlock(id, true).unwrap().is_none());
        assert!(registry.unlock(id, true).unwrap().is_none());
        assert_eq!(registry.extra_locks(), 0);
        assert!(registry.unlock(id, true).unwrap().is_some());
        assert_eq!(registry.live_count(), 0);
    }

    #[test]
    fn limit_gives_e_fail_and_frees_make_room() {
        let registry = Registry::new();
        let ids: Vec<_> = (0..MAX_PRIVATE_QUEUES)
            .map(|_| registry.allocate(QueueType::Standard, core).unwrap())
            .collect();
        assert_eq!(
            registry.allocate(QueueType::Standard, core).err(),
            Some(Error::Fail)
        );
        registry.unlock(ids[17], true).unwrap();
        assert!(registry.allocate(QueueType::Standard, core).is_ok());
        assert_eq!(registry.drain().len(), MAX_PRIVATE_QUEUES);
        assert_eq!(registry.live_count(), 0);
    }
}
