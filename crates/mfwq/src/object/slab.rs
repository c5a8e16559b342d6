//! Slabs: the memory that recycled blocks (`recycle.rs`) are carved from.
//!
//! A pool keeps freed blocks for the next value, but a block it has never had
//! used to come from `malloc`, one call per block. Two things made that worth
//! replacing:
//!
//! - **Size.** `malloc` adds its own header (8 bytes, rounded to 16) to every
//!   block, and serves blocks of up to 120 bytes from glibc's fastbins, whose
//!   cross-thread frees and scattered reuse made a burst of fresh results (a
//!   producer running ahead of a held queue) markedly slower than 128-byte
//!   blocks (docs/performance.md, "Result objects from slabs"). Carved from a
//!   slab, a block costs exactly its size and a fresh one is a pointer bump.
//! - **Locality.** Blocks carved one after another lie one after another, so
//!   a burst of puts walks memory in order.
//!
//! # The protocol
//!
//! A slab is [`SLAB_BYTES`] long and aligned to [`SLAB_BYTES`], so the slab of
//! any block is the block's address rounded down; its first bytes are a
//! [`Header`]. A slab starts with `outstanding` equal to its capacity: every
//! block counts as handed out from the start, carved or not.
//!
//! - A thread carves blocks from its own current slab (a [`Carver`], one per
//!   thread and value type) with no atomic operation. When the slab is used up
//!   it forgets it and maps a new one.
//! - A block that leaves the pools for good (its pool's lists are full, or
//!   the thread holding it exits) is given back to its slab: `outstanding`
//!   minus one.
//! - A carver that stops (its thread exits) gives back the blocks it never
//!   carved, all at once.
//! - Whoever takes `outstanding` to zero frees the slab. Nobody can still
//!   hold one of its blocks: each block was given back exactly once.
//!
//! Every live slab is also on one list (the registry), so each is reachable
//! from a static for as long as it lives. Leak checkers (valgrind, LeakSanitizer)
//! therefore never report a slab, and cannot report a leaked block inside one
//! either; checked mode (`checked.rs`) gives each block its own allocation,
//! which is what makes a leaked result object visible to them.

use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Bytes per slab, and its alignment. 16 KiB holds 185 result blocks (88.6
/// bytes each with the header and the tail), and an idle thread that made one
/// result keeps at most one partly used slab per value type.
pub(crate) const SLAB_BYTES: usize = 16 * 1024;

/// The start of every slab.
#[repr(C)]
struct Header {
    /// Blocks handed out and not given back (uncarved ones included until
    /// their carver stops).
    outstanding: AtomicUsize,
    /// The registry's links; read and written only under [`REGISTRY`]'s lock.
    previous: *mut Header,
    next: *mut Header,
}

/// The list of live slabs.
struct Registry {
    first: *mut Header,
}

// SAFETY: the pointers are only followed under the registry's lock.
unsafe impl Send for Registry {}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    first: ptr::null_mut(),
});

fn slab_layout() -> Layout {
    Layout::from_size_align(SLAB_BYTES, SLAB_BYTES).expect("a power of two")
}

/// A new slab with all `capacity` blocks outstanding, on the registry.
fn map_slab(capacity: usize) -> NonNull<Header> {
    let layout = slab_layout();
    // SAFETY: the layout has a non-zero size.
    let memory = unsafe { alloc::alloc(layout) };
    let Some(memory) = NonNull::new(memory) else {
        alloc::handle_alloc_error(layout)
    };
    let header = memory.cast::<Header>();
    let mut registry = REGISTRY.lock();
    // SAFETY: fresh memory, large and aligned enough for a header; the
    // registry's links are changed under its lock, through raw places only
    // (never a `&mut Header`: other threads may be counting down the
    // neighbour's `outstanding` meanwhile).
    unsafe {
        header.as_ptr().write(Header {
            outstanding: AtomicUsize::new(capacity),
            previous: ptr::null_mut(),
            next: registry.first,
        });
        if !registry.first.is_null() {
            (*registry.first).previous = header.as_ptr();
        }
    }
    registry.first = header.as_ptr();
    header
}

/// Gives `blocks` blocks back to `slab`; frees it if they were the last.
///
/// # Safety
/// `slab` is live and the caller owns `blocks` of its outstanding blocks,
/// which nobody uses afterwards.
unsafe fn give_back_to(slab: NonNull<Header>, blocks: usize) {
    // SAFETY: the slab is live while any of its blocks is outstanding.
    let outstanding = unsafe { &(*slab.as_ptr()).outstanding };
    // Release: this thread's writes to its blocks happen before the free.
    let before = outstanding.fetch_sub(blocks, Ordering::Release);
    debug_assert!(before >= blocks, "a slab got back more than it gave");
    if before != blocks {
        return;
    }
    // Acquire, as in `Arc`'s drop: every other thread's use of its blocks
    // happens before the memory goes.
    outstanding.load(Ordering::Acquire);
    let mut registry = REGISTRY.lock();
    // SAFETY: the links are read and changed under the registry's lock,
    // through raw places only (as in `map_slab`); the slab is on the list
    // until here.
    unsafe {
        let (previous, next) = ((*slab.as_ptr()).previous, (*slab.as_ptr()).next);
        if previous.is_null() {
            registry.first = next;
        } else {
            (*previous).next = next;
        }
        if !next.is_null() {
            (*next).previous = previous;
        }
    }
    drop(registry);
    // SAFETY: allocated in `map_slab` with this layout; nothing is outstanding.
    unsafe { alloc::dealloc(slab.as_ptr().cast(), slab_layout()) };
    #[cfg(test)]
    tests::FREED_HERE.with(|freed| freed.set(freed.get() + 1));
}

/// Gives one block back to the slab it was carved from.
///
/// # Safety
/// `block` came from [`Carver::carve`], holds no value, and is not used again.
pub(crate) unsafe fn give_back<B>(block: NonNull<B>) {
    let slab = block
        .as_ptr()
        .cast::<u8>()
        .map_addr(|address| address & !(SLAB_BYTES - 1));
    // SAFETY: as promised: the slab's address is the block's rounded down.
    unsafe { give_back_to(NonNull::new_unchecked(slab).cast(), 1) };
}

/// One thread's current slab for blocks of type `B`: carves blocks from it in
/// address order.
pub(crate) struct Carver<B> {
    slab: Option<NonNull<Header>>,
    /// The index of the next block to carve.
    next: usize,
    _blocks: PhantomData<B>,
}

// SAFETY: a carver owns its uncarved blocks; the slab header is shared
// through atomics only.
unsafe impl<B> Send for Carver<B> {}

impl<B> Carver<B> {
    /// The first block's offset in a slab: after the header, aligned for `B`.
    const FIRST: usize = size_of::<Header>().next_multiple_of(align_of::<B>());
    /// Blocks per slab.
    pub(crate) const CAPACITY: usize = (SLAB_BYTES - Self::FIRST) / size_of::<B>();

    /// A carver with no slab yet (maps one on its first block).
    pub(crate) const fn new() -> Carver<B> {
        Carver {
            slab: None,
            next: 0,
            _blocks: PhantomData,
        }
    }

    /// The next block: uninitialised memory for a `B`, given back with [`give_back`].
    pub(crate) fn carve(&mut self) -> NonNull<B> {
        const {
            assert!(align_of::<B>() <= align_of::<Header>());
            assert!(size_of::<B>() > 0);
            assert!(Self::CAPACITY >= 16, "a block type too large for a slab");
        }
        let slab = match self.slab {
            Some(slab) => slab,
            None => {
                let slab = map_slab(Self::CAPACITY);
                self.slab = Some(slab);
                self.next = 0;
                slab
            }
        };
        let offset = Self::FIRST + self.next * size_of::<B>();
        // SAFETY: `next < CAPACITY`, so the block lies inside the slab.
        let block = unsafe { slab.cast::<u8>().add(offset) }.cast::<B>();
        self.next += 1;
        if self.next == Self::CAPACITY {
            self.slab = None;
        }
        block
    }
}

impl<B> Drop for Carver<B> {
    fn drop(&mut self) {
        if let Some(slab) = self.slab.take() {
            // SAFETY: the uncarved blocks are this carver's and nobody's else.
            unsafe { give_back_to(slab, Self::CAPACITY - self.next) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Slabs freed by this thread (other tests map and free slabs of
        /// their own at the same time, on other threads).
        pub(super) static FREED_HERE: Cell<usize> = const { Cell::new(0) };
    }

    fn freed_here() -> usize {
        FREED_HERE.with(Cell::get)
    }

    type Block = [u64; 12];

    /// Blocks handed to another thread.
    struct Blocks(Vec<NonNull<Block>>);
    // SAFETY: free blocks are plain memory owned by whoever holds them.
    unsafe impl Send for Blocks {}

    impl Blocks {
        /// (A method, so that a closure captures the whole `Blocks`.)
        fn into_vec(self) -> Vec<NonNull<Block>> {
            self.0
        }
    }

    #[test]
    fn blocks_are_distinct_aligned_and_inside_one_slab_until_it_is_used_up() {
        let mut carver = Carver::<Block>::new();
        let capacity = Carver::<Block>::CAPACITY;
        assert_eq!(capacity, (SLAB_BYTES - 24) / 96);
        let blocks: Vec<_> = (0..capacity + 1).map(|_| carver.carve()).collect();
        let slab_of = |block: &NonNull<Block>| block.as_ptr() as usize & !(SLAB_BYTES - 1);
        for pair in blocks[..capacity].windows(2) {
            assert_eq!(pair[1].as_ptr() as usize - pair[0].as_ptr() as usize, 96);
            assert_eq!(slab_of(&pair[0]), slab_of(&pair[1]));
        }
        assert_eq!(blocks[0].as_ptr() as usize - slab_of(&blocks[0]), 24);
        assert_ne!(
            slab_of(&blocks[capacity]),
            slab_of(&blocks[0]),
            "a new slab"
        );
        let before = freed_here();
        for block in blocks {
            // SAFETY: carved above, given back once.
            unsafe { give_back(block) };
        }
        assert_eq!(freed_here(), before + 1, "the used-up slab went");
        drop(carver);
        assert_eq!(freed_here(), before + 2, "and the carver's current one");
    }

    #[test]
    fn a_slab_is_freed_when_its_last_block_comes_back_from_any_thread() {
        let mut carver = Carver::<Block>::new();
        let mut blocks: Vec<_> = (0..Carver::<Block>::CAPACITY)
            .map(|_| carver.carve())
            .collect();
        let last = blocks.pop().unwrap();
        let others = Blocks(blocks);
        let freed_there = std::thread::spawn(move || {
            for block in others.into_vec() {
                // SAFETY: each block is given back once.
                unsafe { give_back(block) };
            }
            freed_here()
        })
        .join()
        .unwrap();
        assert_eq!(freed_there, 0, "one block is still out");
        let before = freed_here();
        // SAFETY: the last block, given back once.
        unsafe { give_back(last) };
        assert_eq!(freed_here(), before + 1, "freed with its last block");
    }

    #[test]
    fn a_stopping_carver_gives_back_what_it_never_carved() {
        let before = freed_here();
        let mut carver = Carver::<Block>::new();
        let block = carver.carve();
        drop(carver);
        assert_eq!(freed_here(), before, "the carved block is still out");
        // SAFETY: carved above, given back once.
        unsafe { give_back(block) };
        assert_eq!(freed_here(), before + 1);
        drop(Carver::<Block>::new());
        assert_eq!(
            freed_here(),
            before + 1,
            "a carver that never carved maps nothing"
        );
    }
}
