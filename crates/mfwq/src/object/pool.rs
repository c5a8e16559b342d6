//! The free blocks behind result objects: where a recycled block
//! (`recycle.rs`) comes from and goes back to, instead of the allocator.
//!
//! Windows keeps freed result objects in a cache (docs/behaviour.md#w13), and
//! for the same reason: a result is created on one thread and released on a
//! worker, so with the system allocator every put pays for a cross-thread free
//! and a slow-path malloc (measured: about a quarter of a put's time). Here each
//! thread keeps up to [`LOCAL_BLOCKS`] free blocks; a worker that fills its list
//! hands the whole batch to a shared stack of batches, where a creating thread
//! whose list is empty takes it back: one lock per batch instead of two
//! allocator calls per item. The shared stack holds at most [`SHARED_BATCHES`]
//! batches; beyond that, and when a thread exits, blocks go back to the slabs
//! they were carved from (`slab.rs`, under the same lock), whose free lists
//! serve the next blocks a thread needs before anything new is carved; a slab
//! goes back to the allocator once all its blocks are back. So at most
//! `LOCAL_BLOCKS` per thread plus `LOCAL_BLOCKS * SHARED_BATCHES` blocks are
//! kept idle in the lists (and the slabs they lie in).
//!
//! The batches' own lists travel too: a thread that takes a full batch leaves
//! its emptied list (with its capacity) in the shared stack's `empty` lists,
//! and a worker that hands a batch on takes one of those as its new list. So
//! once a producer and a worker are in step, neither allocates or frees a
//! list (a real-time worker allocates nothing: docs/realtime.md).
//!
//! A block holds one [`Counted`] value: the count word that `recycle.rs`'s
//! owners use, then the value.
//!
//! A checked block (checked mode, `checked.rs`) is allocated on its own, not
//! carved from a slab, and freed when it leaves the pool's quarantine
//! ([`Pool::quarantine`]).

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::object::checked::{self, Quarantine, QUARANTINE_BLOCKS};
use crate::object::slab::Slabs;

/// Free blocks a thread keeps for itself.
pub(crate) const LOCAL_BLOCKS: usize = 64;
/// Full batches kept in the shared stack. Few: enough for producers and
/// workers to trade batches in step; beyond that a block goes back to its
/// slab, where it is reused too, and the fewer blocks the lists keep, the
/// fewer slabs they keep from going back to the allocator after a burst.
pub(crate) const SHARED_BATCHES: usize = 16;

/// What a block holds: its owner's count word (`recycle.rs`; unused by a
/// `PooledBox`), then the value. `repr(C)`, so that the value's offset is
/// fixed and a value's block is found from its address.
#[repr(C)]
pub(crate) struct Counted<T> {
    /// The reference count and checked mode's flags (`recycle.rs`).
    pub(crate) refs: AtomicUsize,
    /// The value.
    pub(crate) value: T,
}

/// Free blocks for values of `T`, per thread and shared; freed checked blocks
/// in quarantine.
pub(crate) struct Pool<T: 'static> {
    shared: Mutex<Shared<T>>,
    local: &'static std::thread::LocalKey<RefCell<LocalBlocks<T>>>,
    quarantine: Quarantine<Block<T>>,
}

/// What threads hand each other: full batches of free blocks, and the empty
/// lists batches came in (each at most [`SHARED_BATCHES`]); and the slabs all
/// blocks are carved from and go back to.
struct Shared<T> {
    full: Vec<Vec<Block<T>>>,
    empty: Vec<Vec<Block<T>>>,
    slabs: Slabs<MaybeUninit<Counted<T>>>,
}

/// A block of memory for one `Counted<T>`, not initialised: carved from a slab
/// of its pool (`slab.rs`), or, for a checked value, an allocation of its own.
pub(crate) struct Block<T>(pub(crate) NonNull<MaybeUninit<Counted<T>>>);

// SAFETY: a free block is plain memory owned by whoever holds the Block.
unsafe impl<T> Send for Block<T> {}

impl<T> Block<T> {
    /// A block allocated on its own (checked mode: so that leak checkers and
    /// AddressSanitizer see each checked value as one allocation).
    pub(crate) fn solitary() -> Block<T> {
        Block(NonNull::from(Box::leak(Box::new(MaybeUninit::uninit()))))
    }

    /// Frees a block made by [`solitary`](Self::solitary).
    pub(crate) fn free_solitary(self) {
        // SAFETY: the block came from Box::new in `solitary` and holds no value.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// A thread's free blocks, given back to their slabs when the thread exits.
pub(crate) struct LocalBlocks<T: 'static> {
    free: Vec<Block<T>>,
    /// The pool the blocks belong to (set when the first one arrives).
    pool: Option<&'static Pool<T>>,
}

impl<T> LocalBlocks<T> {
    pub(crate) const fn new() -> LocalBlocks<T> {
        LocalBlocks {
            free: Vec::new(),
            pool: None,
        }
    }
}

impl<T> Drop for LocalBlocks<T> {
    fn drop(&mut self) {
        if let Some(pool) = self.pool {
            pool.shared.lock().give_back(self.free.drain(..));
        }
    }
}

impl<T> Shared<T> {
    /// Gives free blocks back to their slabs.
    fn give_back(&mut self, blocks: impl IntoIterator<Item = Block<T>>) {
        for block in blocks {
            // SAFETY: a pool's unchecked blocks come from its slabs; a free
            // block holds no value.
            unsafe { self.slabs.give_back(block.0) };
        }
    }
}

/// Blocks a thread whose list ran empty takes from the slabs at once.
const REFILL_BLOCKS: usize = LOCAL_BLOCKS / 2;

impl<T: 'static> Pool<T> {
    pub(crate) const fn new(
        local: &'static std::thread::LocalKey<RefCell<LocalBlocks<T>>>,
    ) -> Pool<T> {
        Pool {
            shared: Mutex::new(Shared {
                full: Vec::new(),
                empty: Vec::new(),
                slabs: Slabs::new(),
            }),
            local,
            quarantine: Quarantine::new(QUARANTINE_BLOCKS),
        }
    }

    /// A free block: this thread's last freed one, else a batch other threads
    /// freed, else blocks from the slabs (given back ones first, then new).
    pub(crate) fn take(&'static self) -> Block<T> {
        let local = self.local.try_with(|local| {
            let mut local = local.try_borrow_mut().ok()?;
            if local.free.is_empty() {
                local.pool = Some(self);
                let mut shared = self.shared.lock();
                match shared.full.pop() {
                    Some(full) => {
                        let emptied = std::mem::replace(&mut local.free, full);
                        if shared.empty.len() < SHARED_BATCHES {
                            shared.empty.push(emptied);
                        }
                    }
                    None => shared
                        .slabs
                        .take(REFILL_BLOCKS, |block| local.free.push(Block(block))),
                }
            }
            local.free.pop()
        });
        // The thread's locals are gone (it is exiting; `try_borrow_mut` only
        // guards against a reentrant call, which no path makes): one block.
        local.ok().flatten().unwrap_or_else(|| {
            let mut taken = None;
            self.shared
                .lock()
                .slabs
                .take(1, |block| taken = Some(Block(block)));
            taken.expect("the slabs hand out at least one block")
        })
    }

    pub(crate) fn give(&'static self, block: Block<T>) {
        let mut block = Some(block);
        let _ = self.local.try_with(|local| {
            let Ok(mut local) = local.try_borrow_mut() else {
                return;
            };
            if local.free.len() == LOCAL_BLOCKS {
                let mut shared = self.shared.lock();
                let list = shared.empty.pop();
                let mut full = std::mem::replace(
                    &mut local.free,
                    list.unwrap_or_else(|| Vec::with_capacity(LOCAL_BLOCKS)),
                );
                if shared.full.len() < SHARED_BATCHES {
                    shared.full.push(full);
                } else {
                    shared.give_back(full.drain(..));
                    if shared.empty.len() < SHARED_BATCHES {
                        shared.empty.push(full);
                    }
                }
            }
            local.pool = Some(self);
            local.free.extend(block.take());
        });
        // The thread's locals are being destroyed (it is exiting): the slab.
        if let Some(block) = block {
            self.shared.lock().give_back([block]);
        }
    }

    /// Poisons a freed checked block (its value already dropped) and keeps it
    /// in quarantine; the oldest quarantined block goes to the allocator.
    ///
    /// # Safety
    /// `ptr` is a checked block whose value was dropped; nobody may use it
    /// (a caller's bug that does is what the poison reports).
    pub(crate) unsafe fn quarantine(&'static self, ptr: NonNull<Counted<T>>)
    where
        T: HasPool,
    {
        let counted = ptr.as_ptr();
        // SAFETY: the block is valid memory for a Counted<T>; the value's bytes
        // are dead, so they may be overwritten; the count word is only ever
        // accessed atomically.
        unsafe {
            let value = &raw mut (*counted).value;
            value
                .cast::<u8>()
                .write_bytes(checked::POISON_BYTE, size_of::<T>());
            T::poison(value);
            (*counted).refs.store(checked::POISON, Ordering::Release);
        }
        if let Some(oldest) = self.quarantine.admit(Block(ptr.cast())) {
            oldest.free_solitary();
        }
    }

    /// Blocks in the shared stack (for tests).
    #[cfg(test)]
    pub(crate) fn shared_blocks(&self) -> usize {
        self.shared.lock().full.iter().map(Vec::len).sum()
    }

    /// Blocks in quarantine (for tests).
    #[cfg(test)]
    pub(crate) fn quarantined(&self) -> usize {
        self.quarantine.len()
    }

    /// Whether the block of the value at `value` is in quarantine (for tests).
    #[cfg(test)]
    pub(crate) fn quarantines(&self, value: *const T) -> bool {
        let block = value
            .cast::<u8>()
            .wrapping_sub(std::mem::offset_of!(Counted<T>, value));
        self.quarantine
            .holds(|held| held.0.as_ptr().cast::<u8>().cast_const() == block)
    }
}

/// Dropping needs the pool, which the type knows: implemented per value type.
pub(crate) trait HasPool: Send + Sync + Sized + 'static {
    /// What checked mode's messages call a value of this type.
    const KIND: &'static str = "object";

    fn pool() -> &'static Pool<Self>;

    /// Marks a freed checked value's memory, already filled with
    /// [`POISON_BYTE`](checked::POISON_BYTE)s, for whoever still calls it: a
    /// COM object writes its poisoned vtable here. Nothing by default.
    ///
    /// # Safety
    /// `value` is the memory of a dropped value: writable, not a live `Self`.
    unsafe fn poison(value: *mut Self) {
        let _ = value;
    }
}
