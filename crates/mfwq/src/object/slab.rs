//! Slabs: the memory that recycled blocks (`pool.rs`) are carved from and
//! go back to.
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
//! Each pool has one [`Slabs`], kept under the pool's mutex with its shared
//! stack of batches: nothing here is atomic, and the pool calls in only once
//! per batch of blocks (when a thread's own list runs empty or over), so the
//! lock is as rare as it was for the batches alone.
//!
//! A slab is [`SLAB_BYTES`] long and aligned to [`SLAB_BYTES`], so the slab of
//! any block is the block's address rounded down; its first bytes are a
//! [`Header`]. A slab's blocks are, each, handed out (`outstanding` counts
//! them), on the slab's own free list, or not yet carved (only in the slab
//! being carved, `current`).
//!
//! - **Taking** a batch: blocks from the free lists of slabs that have some
//!   (the `partial` list) first, so that a slab that got blocks back is
//!   reused before a new one is mapped; then blocks carved from `current`;
//!   then a new slab becomes `current`.
//! - **Giving back** a block: onto its slab's free list; the slab joins
//!   `partial` if it was not there. A slab whose blocks are all back (and
//!   that is not `current`) goes back to the allocator at once.
//!
//! Every live slab is also on the pool's list of all slabs, so each is
//! reachable from a static for as long as it lives: leak checkers (valgrind,
//! LeakSanitizer) never report a slab, and cannot report a leaked block inside
//! one either; checked mode (`checked.rs`) gives each block its own
//! allocation, which is what makes a leaked result object visible to them.
//!
//! What a slab costs beyond its blocks: a live block keeps its whole slab.
//! Blocks that the pools keep idle (`pool.rs`: 64 per thread and a bounded
//! shared stack) are such live blocks; after a burst released in random
//! order, they hold one slab each at worst. `docs/performance.md` measures it.

use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// Bytes per slab, and its alignment. 16 KiB holds 185 result blocks (88.6
/// bytes each with the header and the tail).
pub(crate) const SLAB_BYTES: usize = 16 * 1024;

/// The start of every slab. Read and written only under the owning pool's
/// mutex, through raw places (the blocks beside it are in use meanwhile).
#[repr(C)]
struct Header {
    /// [`MAGIC`]: a debug build checks it when a block comes back, so that a
    /// block that was never carved from a slab (an allocation of its own, a
    /// pointer an overrun corrupted) stops there.
    magic: usize,
    /// Blocks handed out and not given back.
    outstanding: usize,
    /// Given-back blocks, linked through their first word.
    free: *mut FreeBlock,
    /// Whether the slab is on the `partial` list.
    partial: bool,
    /// The `partial` list's links.
    partial_previous: *mut Header,
    partial_next: *mut Header,
    /// The list of all slabs' links.
    all_previous: *mut Header,
    all_next: *mut Header,
}

/// What every slab header starts with.
const MAGIC: usize = 0x51AB_51AB_51AB_51AB_u64 as usize;

/// A given-back block: its first word links to the next one.
struct FreeBlock {
    next: *mut FreeBlock,
}

/// A doubly linked list of slab headers through one pair of link fields.
#[derive(Clone, Copy)]
enum Links {
    Partial,
    All,
}

impl Links {
    /// The (previous, next) fields of `slab` for this list.
    ///
    /// # Safety
    /// `slab` is a live header.
    unsafe fn of(self, slab: *mut Header) -> (*mut *mut Header, *mut *mut Header) {
        // SAFETY: as promised; raw places, no reference to the header.
        unsafe {
            match self {
                Links::Partial => (
                    &raw mut (*slab).partial_previous,
                    &raw mut (*slab).partial_next,
                ),
                Links::All => (&raw mut (*slab).all_previous, &raw mut (*slab).all_next),
            }
        }
    }

    /// Puts `slab` first on the list whose first element is `*first`.
    ///
    /// # Safety
    /// `slab` is a live header not on this list; the list's headers are live.
    unsafe fn push(self, first: &mut *mut Header, slab: *mut Header) {
        // SAFETY: as promised.
        unsafe {
            let (previous, next) = self.of(slab);
            *previous = ptr::null_mut();
            *next = *first;
            if !first.is_null() {
                *self.of(*first).0 = slab;
            }
        }
        *first = slab;
    }

    /// Takes `slab` off the list whose first element is `*first`.
    ///
    /// # Safety
    /// `slab` is on this list; the list's headers are live.
    unsafe fn unlink(self, first: &mut *mut Header, slab: *mut Header) {
        // SAFETY: as promised.
        unsafe {
            let (previous, next) = self.of(slab);
            let (previous, next) = (*previous, *next);
            if previous.is_null() {
                *first = next;
            } else {
                *self.of(previous).1 = next;
            }
            if !next.is_null() {
                *self.of(next).0 = previous;
            }
        }
    }
}

fn slab_layout() -> Layout {
    Layout::from_size_align(SLAB_BYTES, SLAB_BYTES).expect("a power of two")
}

/// The slab a block lies in.
fn slab_of<B>(block: NonNull<B>) -> *mut Header {
    block
        .as_ptr()
        .cast::<u8>()
        .map_addr(|address| address & !(SLAB_BYTES - 1))
        .cast()
}

/// One pool's slabs of blocks of type `B` (see the module docs). Lives
/// under the pool's mutex.
pub(crate) struct Slabs<B> {
    /// The slab being carved, and the index of its next uncarved block.
    current: *mut Header,
    next: usize,
    /// Slabs with given-back blocks.
    partial: *mut Header,
    /// Every live slab.
    all: *mut Header,
    _blocks: PhantomData<B>,
}

// SAFETY: the slabs are plain memory owned by the pool; every access is
// under its mutex.
unsafe impl<B> Send for Slabs<B> {}

impl<B> Slabs<B> {
    /// The first block's offset in a slab: after the header, aligned for `B`.
    const FIRST: usize = size_of::<Header>().next_multiple_of(align_of::<B>());
    /// Blocks per slab.
    pub(crate) const CAPACITY: usize = (SLAB_BYTES - Self::FIRST) / size_of::<B>();

    /// No slab yet (one is mapped for the first block).
    pub(crate) const fn new() -> Slabs<B> {
        Slabs {
            current: ptr::null_mut(),
            next: 0,
            partial: ptr::null_mut(),
            all: ptr::null_mut(),
            _blocks: PhantomData,
        }
    }

    /// `count` blocks (at least one): uninitialised memory for a `B` each,
    /// handed to `out` one by one, to be given back with
    /// [`give_back`](Self::give_back).
    pub(crate) fn take(&mut self, count: usize, mut out: impl FnMut(NonNull<B>)) {
        const {
            assert!(align_of::<B>() <= align_of::<Header>());
            assert!(size_of::<B>() >= size_of::<FreeBlock>());
            assert!(Self::CAPACITY >= 16, "a block type too large for a slab");
        }
        debug_assert!(count > 0, "a take of no blocks");
        let mut taken = 0;
        // Given-back blocks first.
        while taken < count && !self.partial.is_null() {
            let slab = self.partial;
            // SAFETY: slabs on `partial` are live and have a free block; the
            // header is only touched under the pool's mutex.
            unsafe {
                while taken < count && !(*slab).free.is_null() {
                    let block = (*slab).free;
                    (*slab).free = (*block).next;
                    (*slab).outstanding += 1;
                    out(NonNull::new_unchecked(block).cast());
                    taken += 1;
                }
                if (*slab).free.is_null() {
                    Links::Partial.unlink(&mut self.partial, slab);
                    (*slab).partial = false;
                }
            }
        }
        // Then fresh ones.
        while taken < count {
            if self.current.is_null() || self.next == Self::CAPACITY {
                self.start_slab();
            }
            let carve = (count - taken).min(Self::CAPACITY - self.next);
            let base = self.current.cast::<u8>();
            for index in self.next..self.next + carve {
                // SAFETY: `index < CAPACITY`, so the block lies inside the slab.
                let block = unsafe { base.add(Self::FIRST + index * size_of::<B>()) };
                // SAFETY: inside a live allocation, so not null.
                out(unsafe { NonNull::new_unchecked(block) }.cast());
            }
            self.next += carve;
            // SAFETY: `current` is live; under the pool's mutex.
            unsafe { (*self.current).outstanding += carve };
            taken += carve;
        }
    }

    /// Gives a block back to its slab; frees the slab if it was the last
    /// block out (unless it is still being carved).
    ///
    /// # Safety
    /// `block` came from [`take`](Self::take) of this `Slabs`, holds no value,
    /// and is not used again.
    pub(crate) unsafe fn give_back(&mut self, block: NonNull<B>) {
        let slab = slab_of(block);
        let block = block.as_ptr().cast::<FreeBlock>();
        // SAFETY: the block's slab is live while the block is out; the block
        // is ours to write; the header is only touched under the pool's mutex.
        unsafe {
            debug_assert_eq!((*slab).magic, MAGIC, "a block given back to no slab");
            (*slab).outstanding -= 1;
            if (*slab).outstanding == 0 && slab != self.current {
                self.free_slab(slab);
                return;
            }
            block.write(FreeBlock { next: (*slab).free });
            (*slab).free = block;
            if !(*slab).partial {
                (*slab).partial = true;
                Links::Partial.push(&mut self.partial, slab);
            }
        }
    }

    /// A new slab to carve from: on the list of all slabs, and `current`.
    /// The slab carved until now is freed if every block it handed out is
    /// already back (they are all on its free list, then).
    fn start_slab(&mut self) {
        let new = self.map_slab();
        let old = std::mem::replace(&mut self.current, new);
        self.next = 0;
        // SAFETY: `old`, if any, is live; under the pool's mutex.
        if !old.is_null() && unsafe { (*old).outstanding } == 0 {
            // SAFETY: nothing of it is out.
            unsafe { self.free_slab(old) };
        }
    }

    /// A new slab, on the list of all slabs.
    fn map_slab(&mut self) -> *mut Header {
        let layout = slab_layout();
        // SAFETY: the layout has a non-zero size.
        let memory = unsafe { alloc::alloc(layout) };
        if memory.is_null() {
            alloc::handle_alloc_error(layout)
        }
        let slab = memory.cast::<Header>();
        // SAFETY: fresh memory, large and aligned enough for a header.
        unsafe {
            slab.write(Header {
                magic: MAGIC,
                outstanding: 0,
                free: ptr::null_mut(),
                partial: false,
                partial_previous: ptr::null_mut(),
                partial_next: ptr::null_mut(),
                all_previous: ptr::null_mut(),
                all_next: ptr::null_mut(),
            });
            Links::All.push(&mut self.all, slab);
        }
        slab
    }

    /// Takes `slab` off the lists and gives it back to the allocator.
    ///
    /// # Safety
    /// `slab` is one of these slabs and none of its blocks is out.
    unsafe fn free_slab(&mut self, slab: *mut Header) {
        // SAFETY: as promised: it is on `all`, and on `partial` if it says so.
        unsafe {
            if (*slab).partial {
                Links::Partial.unlink(&mut self.partial, slab);
            }
            Links::All.unlink(&mut self.all, slab);
            alloc::dealloc(slab.cast(), slab_layout());
        }
        #[cfg(test)]
        tests::FREED_HERE.with(|freed| freed.set(freed.get() + 1));
    }

    /// Live slabs (for tests).
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        let mut count = 0;
        let mut slab = self.all;
        while !slab.is_null() {
            count += 1;
            // SAFETY: slabs on `all` are live.
            slab = unsafe { (*slab).all_next };
        }
        count
    }
}

/// Frees every slab none of whose blocks is out (a pool's `Slabs` is a
/// static and never dropped; this is for owners that end, such as tests).
/// A slab with a block still out is left alone: that block is still in use.
impl<B> Drop for Slabs<B> {
    fn drop(&mut self) {
        let mut slab = self.all;
        while !slab.is_null() {
            // SAFETY: slabs on `all` are live; `self` is being dropped, so
            // nobody takes or gives back blocks meanwhile.
            unsafe {
                let next = (*slab).all_next;
                if (*slab).outstanding == 0 {
                    alloc::dealloc(slab.cast(), slab_layout());
                }
                slab = next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Slabs freed by this thread.
        pub(super) static FREED_HERE: Cell<usize> = const { Cell::new(0) };
    }

    fn freed_here() -> usize {
        FREED_HERE.with(Cell::get)
    }

    type Block = [u64; 11];

    fn take(slabs: &mut Slabs<Block>, count: usize) -> Vec<NonNull<Block>> {
        let mut out = Vec::new();
        slabs.take(count, |block| out.push(block));
        out
    }

    #[test]
    fn blocks_are_carved_in_address_order_inside_one_slab_until_it_is_used_up() {
        let mut slabs = Slabs::<Block>::new();
        let capacity = Slabs::<Block>::CAPACITY;
        assert_eq!(capacity, (SLAB_BYTES - 64) / 88);
        let blocks = take(&mut slabs, capacity + 1);
        assert_eq!(blocks.len(), capacity + 1);
        for pair in blocks[..capacity].windows(2) {
            assert_eq!(pair[1].as_ptr() as usize - pair[0].as_ptr() as usize, 88);
            assert_eq!(slab_of(pair[0]), slab_of(pair[1]));
        }
        assert_eq!(
            blocks[0].as_ptr() as usize - slab_of(blocks[0]) as usize,
            64
        );
        assert_ne!(slab_of(blocks[capacity]), slab_of(blocks[0]), "a new slab");
        assert_eq!(slabs.count(), 2);
        let before = freed_here();
        for block in blocks {
            // SAFETY: taken above, given back once.
            unsafe { slabs.give_back(block) };
        }
        assert_eq!(freed_here(), before + 1, "the used-up slab went");
        assert_eq!(slabs.count(), 1, "the slab being carved stays");
    }

    #[test]
    fn given_back_blocks_are_taken_again_before_anything_is_carved() {
        let mut slabs = Slabs::<Block>::new();
        let blocks = take(&mut slabs, 10);
        let returned: Vec<_> = blocks[2..6].to_vec();
        for &block in &returned {
            // SAFETY: taken above, given back once.
            unsafe { slabs.give_back(block) };
        }
        let again = take(&mut slabs, 6);
        let mut reused: Vec<_> = again[..4].to_vec();
        reused.sort();
        let mut expected = returned.clone();
        expected.sort();
        assert_eq!(reused, expected, "the given-back blocks first");
        assert_eq!(
            again[4].as_ptr() as usize,
            blocks[9].as_ptr() as usize + 88,
            "then carving goes on where it stopped"
        );
        assert_eq!(slabs.count(), 1);
        for block in blocks[..2].iter().chain(&blocks[6..]).chain(&again) {
            // SAFETY: each block is out once and given back once.
            unsafe { slabs.give_back(*block) };
        }
    }

    #[test]
    fn a_slab_is_freed_with_its_last_block_once_it_is_no_longer_carved() {
        let mut slabs = Slabs::<Block>::new();
        let capacity = Slabs::<Block>::CAPACITY;
        let first = take(&mut slabs, capacity);
        let before = freed_here();
        for &block in &first[1..] {
            // SAFETY: taken above, given back once.
            unsafe { slabs.give_back(block) };
        }
        assert_eq!(freed_here(), before, "one block is still out");
        // SAFETY: the last one.
        unsafe { slabs.give_back(first[0]) };
        assert_eq!(freed_here(), before, "still the slab being carved");
        let next = take(&mut slabs, capacity + 1);
        let mut reused = next[..capacity].to_vec();
        reused.sort();
        let mut all = first.clone();
        all.sort();
        assert_eq!(reused, all, "its free list served the next blocks");
        for block in next {
            // SAFETY: each given back once.
            unsafe { slabs.give_back(block) };
        }
        assert_eq!(
            freed_here(),
            before + 1,
            "freed: all back, no longer carved"
        );
        assert_eq!(slabs.count(), 1);
    }
}
