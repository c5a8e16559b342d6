//! The owners of a recycled block (its memory comes from and goes back to a
//! [`Pool`], `pool.rs`, instead of the allocator): [`Recycled`], the
//! reference-counted box of results, and [`PooledBox`], a unique one.
//!
//! `std::sync::Arc` cannot give its memory back to anyone but the allocator,
//! hence the hand-written reference count; it follows `Arc`'s orderings.
//!
//! The count word also carries checked mode (`checked.rs`): a block allocated
//! in checked mode has the `CHECKED` bit set, and a freed checked block holds
//! [`POISON`](crate::object::checked::POISON) and waits in the pool's quarantine
//! instead of the free lists. A checked block is also allocated on its own,
//! not carved from a slab, and freed when it leaves the quarantine: the bit
//! says which, so a block never changes its origin. The fast paths accept
//! exactly the counts an unchecked live block can have and branch once on the
//! value their atomic operation returned, as `Arc` does for its overflow
//! check; every other word (checked, poisoned, zero, overflowing) takes the
//! slow path, which decodes it and aborts on a fault (a zero count is caught
//! even for unchecked blocks, at no cost, as long as the block was not
//! reused).

use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::object::checked::{self, Call, Fault, Report, MAX_REFS};
use crate::object::pool::{Block, Counted, HasPool, Pool};

/// A reference-counted value whose block is recycled (the `Arc` of results).
pub(crate) struct Recycled<T: HasPool> {
    ptr: NonNull<Counted<T>>,
}

// SAFETY: like Arc<T>: shared access to T from many threads, T: Send + Sync.
unsafe impl<T: HasPool> Send for Recycled<T> {}
// SAFETY: as above.
unsafe impl<T: HasPool> Sync for Recycled<T> {}

impl<T: HasPool> Recycled<T> {
    /// A new value with one reference, in a recycled block if one is free;
    /// checked if checked mode is on, in a block of its own.
    #[inline]
    pub(crate) fn new(value: T) -> Recycled<T> {
        Recycled::with_flags(value, checked::new_block_flags())
    }

    /// A new value whose count word starts with `flags` (`CHECKED` or 0).
    /// The block's origin follows the flag: a checked block is allocated on
    /// its own and freed from the quarantine, an unchecked one is recycled
    /// and carved from a slab.
    #[inline]
    fn with_flags(value: T, flags: usize) -> Recycled<T> {
        let block = if flags & checked::CHECKED == 0 {
            T::pool().take()
        } else {
            Block::solitary()
        };
        let ptr = block.0.cast::<Counted<T>>();
        let refs = AtomicUsize::new(flags | 1);
        // SAFETY: the block is valid, aligned, uninitialised memory for a Counted<T>.
        unsafe { ptr.as_ptr().write(Counted { refs, value }) };
        Recycled { ptr }
    }

    /// A new checked value (whatever the mode), for tests.
    #[cfg(test)]
    pub(crate) fn new_checked(value: T) -> Recycled<T> {
        Recycled::with_flags(value, checked::CHECKED)
    }

    /// A new unchecked value (whatever the mode), for tests.
    #[cfg(test)]
    pub(crate) fn new_unchecked(value: T) -> Recycled<T> {
        Recycled::with_flags(value, 0)
    }

    fn counted(&self) -> &Counted<T> {
        // SAFETY: the value lives while any handle does.
        unsafe { self.ptr.as_ref() }
    }

    /// The number of handles.
    pub(crate) fn ref_count(this: &Self) -> usize {
        let word = this.counted().refs.load(Ordering::Acquire);
        checked::decode(word).map_or(0, |word| word.count)
    }

    /// Whether the value's block was allocated in checked mode.
    #[cfg(test)]
    pub(crate) fn is_checked(this: &Self) -> bool {
        this.counted().refs.load(Ordering::Relaxed) & checked::CHECKED != 0
    }

    /// The raw count word of the block of the value at `value` (for tests:
    /// freed blocks in quarantine are still readable).
    ///
    /// # Safety
    /// The block is allocated (live, free in a pool, or in quarantine).
    #[cfg(test)]
    pub(crate) unsafe fn count_word(value: *const T) -> usize {
        // SAFETY: as promised; the count word is always initialised by then.
        unsafe { Self::counted_from_value(value).as_ref() }
            .refs
            .load(Ordering::Relaxed)
    }

    /// The value's address. Derived from the block pointer, not from a
    /// reference to the value, so that it may be turned back into a handle
    /// (a pointer made from `&value` may only reach the value itself).
    pub(crate) fn as_ptr(this: &Self) -> *const T {
        // SAFETY: the block is live while `this` is; no reference is created.
        unsafe { &raw const (*this.ptr.as_ptr()).value }
    }

    /// The `Counted` block around a value address from [`as_ptr`](Self::as_ptr).
    fn counted_from_value(value: *const T) -> NonNull<Counted<T>> {
        let counted = value
            .cast::<u8>()
            .wrapping_sub(std::mem::offset_of!(Counted<T>, value))
            .cast::<Counted<T>>()
            .cast_mut();
        NonNull::new(counted).expect("a value address is never near NULL")
    }

    /// Adopts one reference given away as a value address (the inverse of
    /// [`into_ptr`](Self::into_ptr)); the count does not change.
    ///
    /// # Safety
    /// `value` came from `as_ptr`/`into_ptr` of this type and the caller owns
    /// one reference to it.
    pub(crate) unsafe fn from_ptr(value: *const T) -> Recycled<T> {
        Recycled {
            ptr: Self::counted_from_value(value),
        }
    }

    /// Gives this reference away as the value's address (no count change).
    pub(crate) fn into_ptr(this: Self) -> *const T {
        let ptr = Recycled::as_ptr(&this);
        std::mem::forget(this);
        ptr
    }

    /// Adds one reference to the value at `value`; returns the new count
    /// (`AddRef`).
    ///
    /// # Safety
    /// `value` came from `as_ptr`/`into_ptr` of this type and is live.
    pub(crate) unsafe fn add_ref_ptr(value: *const T) -> usize {
        // SAFETY: the value is live, so its block holds an initialised Counted.
        let counted = unsafe { Self::counted_from_value(value).as_ref() };
        let previous = counted.refs.fetch_add(1, Ordering::Relaxed);
        // 1..=MAX_REFS: an unchecked live block (the only branch when off).
        if previous.wrapping_sub(1) < MAX_REFS {
            return previous + 1;
        }
        Self::added_slow(value, previous) + 1
    }

    /// An `AddRef` that found a word other than an unchecked live count:
    /// returns the count it found, or aborts on a fault.
    #[cold]
    #[inline(never)]
    fn added_slow(value: *const T, previous: usize) -> usize {
        match checked::decode(previous) {
            Ok(word) => word.count,
            Err((fault, checked)) => Self::fail(value, Call::AddRef, fault, checked),
        }
    }

    #[cold]
    fn fail(value: *const T, call: Call, fault: Fault, checked: bool) -> ! {
        checked::fail(Report {
            checked,
            kind: T::KIND,
            address: value as usize,
            call,
            fault,
        })
    }

    /// Drops this reference and returns how many remain (`Release`).
    pub(crate) fn release(this: Self) -> usize {
        let mut this = std::mem::ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again.
        unsafe { this.release_ref() }
    }

    /// Gives up this handle's reference; returns how many remain.
    ///
    /// # Safety
    /// The handle is not used afterwards (it is being dropped or forgotten).
    unsafe fn release_ref(&mut self) -> usize {
        let previous = self.counted().refs.fetch_sub(1, Ordering::Release);
        if previous == 1 {
            // An acquire load of the count instead of an acquire fence: the
            // same synchronisation with every earlier release, and visible to
            // ThreadSanitizer, which does not model fences (std's Arc does
            // this under sanitizers).
            self.counted().refs.load(Ordering::Acquire);
            // SAFETY: this was the last reference.
            unsafe { Recycled::release_last::<false>(self.ptr, T::pool()) };
            return 0;
        }
        // 2..=MAX_REFS: an unchecked live block keeps a reference.
        if previous.wrapping_sub(2) < MAX_REFS - 1 {
            return previous - 1;
        }
        // SAFETY: as for this function.
        unsafe { self.released_slow(previous) }
    }

    /// A `Release` that found a word other than an unchecked live count: a
    /// checked block (perhaps its last reference), or a fault, which aborts.
    ///
    /// # Safety
    /// As for [`release_ref`](Self::release_ref).
    #[cold]
    #[inline(never)]
    unsafe fn released_slow(&mut self, previous: usize) -> usize {
        let value = Recycled::as_ptr(self);
        match checked::decode(previous) {
            Ok(word) if word.count > 1 => word.count - 1,
            Ok(word) => {
                debug_assert!(word.checked, "an unchecked last release is a fast path");
                // As in `release_ref`.
                self.counted().refs.load(Ordering::Acquire);
                // SAFETY: this was the last reference.
                unsafe { Recycled::release_last::<true>(self.ptr, T::pool()) };
                0
            }
            Err((fault, checked)) => Self::fail(value, Call::Release, fault, checked),
        }
    }

    /// Drops the value and recycles its block into `pool`, the pool it came
    /// from, or, for a `CHECKED` block, poisons it and puts it in quarantine.
    /// (A constant, so that the unchecked path has no branch for it.)
    ///
    /// # Safety
    /// `ptr` is the last handle's value: no other handle exists.
    unsafe fn release_last<const CHECKED: bool>(ptr: NonNull<Counted<T>>, pool: &'static Pool<T>) {
        struct Recycle<T: HasPool, const CHECKED: bool> {
            ptr: NonNull<Counted<T>>,
            pool: &'static Pool<T>,
        }
        impl<T: HasPool, const CHECKED: bool> Drop for Recycle<T, CHECKED> {
            fn drop(&mut self) {
                if CHECKED {
                    // SAFETY: the value was dropped and no handle remains.
                    unsafe { self.pool.quarantine(self.ptr) };
                } else {
                    self.pool.give(Block(self.ptr.cast()));
                }
            }
        }
        // Even if the value's Drop panics, the block is recycled (after the
        // remaining fields are dropped by the unwinding drop glue).
        let _recycle = Recycle::<T, CHECKED> { ptr, pool };
        // SAFETY: the value is initialised and no other handle exists.
        unsafe { std::ptr::drop_in_place(&raw mut (*ptr.as_ptr()).value) };
    }
}

impl<T: HasPool> std::ops::Deref for Recycled<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.counted().value
    }
}

impl<T: HasPool> Clone for Recycled<T> {
    fn clone(&self) -> Recycled<T> {
        // Relaxed as in Arc: a new reference is made from an existing one.
        let previous = self.counted().refs.fetch_add(1, Ordering::Relaxed);
        // As in `add_ref_ptr`: one branch for an unchecked live block.
        if previous.wrapping_sub(1) >= MAX_REFS {
            Self::added_slow(Recycled::as_ptr(self), previous);
        }
        Recycled { ptr: self.ptr }
    }
}

/// A uniquely owned value in a recycled block: a `Box` for values made on
/// one thread and dropped on another (the observation wrapper of work
/// items, `work/observed.rs`), without the allocator's cross-thread free.
/// The block's count word is unused; checked mode does not apply (no caller
/// holds references to these).
#[cfg_attr(not(feature = "observe"), allow(dead_code))]
pub(crate) struct PooledBox<T: 'static> {
    ptr: NonNull<Counted<T>>,
    pool: &'static Pool<T>,
}

// SAFETY: unique ownership of a T, as Box<T>.
unsafe impl<T: Send + 'static> Send for PooledBox<T> {}

#[cfg_attr(not(feature = "observe"), allow(dead_code))]
impl<T: 'static> PooledBox<T> {
    /// `value` in a block from `pool`.
    pub(crate) fn new(value: T, pool: &'static Pool<T>) -> PooledBox<T> {
        let ptr = pool.take().0.cast::<Counted<T>>();
        let counted = Counted {
            refs: AtomicUsize::new(0),
            value,
        };
        // SAFETY: the block is valid, aligned, uninitialised memory for a Counted<T>.
        unsafe { ptr.as_ptr().write(counted) };
        PooledBox { ptr, pool }
    }

    /// Gives the box up as its value's address (for [`from_raw`](Self::from_raw)).
    pub(crate) fn into_raw(this: Self) -> *mut T {
        let this = std::mem::ManuallyDrop::new(this);
        // SAFETY: the block is live; no reference is created.
        unsafe { &raw mut (*this.ptr.as_ptr()).value }
    }

    /// The box whose value is at `value` (the inverse of [`into_raw`](Self::into_raw)).
    ///
    /// # Safety
    /// `value` came from `into_raw` of a box of `pool`, and is adopted once.
    pub(crate) unsafe fn from_raw(value: NonNull<T>, pool: &'static Pool<T>) -> PooledBox<T> {
        // SAFETY: the value lies at this offset in its block.
        let ptr = unsafe { value.byte_sub(std::mem::offset_of!(Counted<T>, value)) }.cast();
        PooledBox { ptr, pool }
    }

    /// Moves the value out and recycles the block.
    pub(crate) fn into_inner(self) -> T {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: the block holds a live value, read once; the block then
        // holds none and goes back to the pool; `this` is never dropped.
        let value = unsafe { std::ptr::addr_of!((*this.ptr.as_ptr()).value).read() };
        this.pool.give(Block(this.ptr.cast()));
        value
    }
}

impl<T: 'static> std::ops::Deref for PooledBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the block holds a live value for as long as the box exists.
        unsafe { &(*self.ptr.as_ptr()).value }
    }
}

impl<T: 'static> Drop for PooledBox<T> {
    fn drop(&mut self) {
        // Recycled even if the value's drop panics.
        struct Recycle<T: 'static>(NonNull<Counted<T>>, &'static Pool<T>);
        impl<T: 'static> Drop for Recycle<T> {
            fn drop(&mut self) {
                self.1.give(Block(self.0.cast()));
            }
        }
        let recycle = Recycle(self.ptr, self.pool);
        // SAFETY: the block holds a live value, dropped once here.
        unsafe { std::ptr::drop_in_place(std::ptr::addr_of_mut!((*recycle.0.as_ptr()).value)) };
    }
}

impl<T: HasPool> Drop for Recycled<T> {
    fn drop(&mut self) {
        // SAFETY: `self` is not used after this.
        unsafe { self.release_ref() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::checked::QUARANTINE_BLOCKS;
    use crate::object::pool::{LocalBlocks, LOCAL_BLOCKS};
    use std::cell::RefCell;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    struct Probe {
        drops: Arc<AtomicUsize>,
        panic_on_drop: bool,
    }

    impl Probe {
        fn new(drops: &Arc<AtomicUsize>) -> Probe {
            Probe {
                drops: drops.clone(),
                panic_on_drop: false,
            }
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
            if self.panic_on_drop {
                panic!("probe dropped");
            }
        }
    }

    thread_local! {
        static PROBE_BLOCKS: RefCell<LocalBlocks<Probe>> = const { RefCell::new(LocalBlocks::new()) };
    }
    static PROBE_POOL: Pool<Probe> = Pool::new(&PROBE_BLOCKS);

    /// What `Probe::poison` writes over the first word of a freed checked probe.
    const PROBE_POISON_MARK: usize = 0x5EED;

    impl HasPool for Probe {
        const KIND: &'static str = "Probe";

        fn pool() -> &'static Pool<Probe> {
            &PROBE_POOL
        }

        unsafe fn poison(value: *mut Probe) {
            // SAFETY: a Probe is at least a word long; the memory is writable.
            unsafe { value.cast::<usize>().write_unaligned(PROBE_POISON_MARK) };
        }
    }

    /// A second value type with its own pool, for the test that fills a
    /// quarantine (the probes' quarantine stays nearly empty).
    struct Bulk(#[allow(dead_code)] u64);

    thread_local! {
        static BULK_BLOCKS: RefCell<LocalBlocks<Bulk>> = const { RefCell::new(LocalBlocks::new()) };
    }
    static BULK_POOL: Pool<Bulk> = Pool::new(&BULK_BLOCKS);

    impl HasPool for Bulk {
        fn pool() -> &'static Pool<Bulk> {
            &BULK_POOL
        }
    }

    #[test]
    fn pooled_boxes_reuse_their_blocks_and_drop_their_values() {
        thread_local! {
            static BOX_BLOCKS: RefCell<LocalBlocks<Probe>> = const { RefCell::new(LocalBlocks::new()) };
        }
        static BOX_POOL: Pool<Probe> = Pool::new(&BOX_BLOCKS);
        let drops = Arc::new(AtomicUsize::new(0));
        let probe = || Probe {
            drops: Arc::clone(&drops),
            panic_on_drop: false,
        };
        let first = PooledBox::new(probe(), &BOX_POOL);
        let address = std::ptr::from_ref::<Probe>(&first);
        drop(first);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let second = PooledBox::new(probe(), &BOX_POOL);
        assert_eq!(
            std::ptr::from_ref::<Probe>(&second),
            address,
            "the block is reused"
        );
        let inner = std::thread::spawn(move || second.into_inner())
            .join()
            .unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1, "moved out, not dropped");
        drop(inner);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn last_drop_drops_the_value_once_and_reuses_the_block() {
        let drops = Arc::new(AtomicUsize::new(0));
        let first = Recycled::new(Probe::new(&drops));
        let address = Recycled::as_ptr(&first);
        let second = first.clone();
        assert_eq!(Recycled::ref_count(&first), 2);
        assert_eq!(Recycled::as_ptr(&first), Recycled::as_ptr(&second));
        drop(first);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(second);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let again = Recycled::new(Probe::new(&drops));
        assert_eq!(
            Recycled::as_ptr(&again),
            address,
            "the freed block is reused"
        );
    }

    #[test]
    fn blocks_travel_from_the_releasing_thread_back_to_the_creating_one() {
        let drops = Arc::new(AtomicUsize::new(0));
        let count = if cfg!(miri) {
            LOCAL_BLOCKS + 8
        } else {
            LOCAL_BLOCKS * 4
        };
        let values: Vec<_> = (0..count)
            .map(|_| Recycled::new(Probe::new(&drops)))
            .collect();
        let shared_before = PROBE_POOL.shared_blocks();
        std::thread::spawn(move || drop(values)).join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), count);
        assert!(
            PROBE_POOL.shared_blocks() > shared_before,
            "full batches were handed over"
        );
        let reused: Vec<_> = (0..LOCAL_BLOCKS)
            .map(|_| Recycled::new(Probe::new(&drops)))
            .collect();
        drop(reused);
        assert_eq!(drops.load(Ordering::SeqCst), count + LOCAL_BLOCKS);
    }

    #[test]
    fn a_panicking_drop_still_recycles_the_block() {
        let drops = Arc::new(AtomicUsize::new(0));
        let value = Recycled::new(Probe {
            drops: drops.clone(),
            panic_on_drop: true,
        });
        let address = Recycled::as_ptr(&value);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value)));
        assert!(outcome.is_err());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        let again = Recycled::new(Probe::new(&drops));
        assert_eq!(
            Recycled::as_ptr(&again),
            address,
            "the block went back to the pool"
        );
    }

    #[test]
    fn concurrent_clones_and_drops_release_exactly_once() {
        clones_and_drops_on_three_threads_release_once(Recycled::new);
    }

    /// Clones and drops of one value on three threads at once, many times:
    /// the value is dropped exactly once each time.
    fn clones_and_drops_on_three_threads_release_once(make: fn(Probe) -> Recycled<Probe>) {
        let drops = Arc::new(AtomicUsize::new(0));
        let rounds = if cfg!(miri) { 4 } else { 200 };
        for _ in 0..rounds {
            let value = make(Probe::new(&drops));
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    let mine = value.clone();
                    std::thread::spawn(move || drop(mine.clone()))
                })
                .collect();
            drop(value);
            handles
                .into_iter()
                .for_each(|handle| handle.join().unwrap());
        }
        assert_eq!(drops.load(Ordering::SeqCst), rounds);
    }

    #[test]
    fn checked_blocks_are_poisoned_and_quarantined_instead_of_reused() {
        let drops = Arc::new(AtomicUsize::new(0));
        let value = Recycled::new_checked(Probe::new(&drops));
        assert!(Recycled::is_checked(&value));
        let address = Recycled::as_ptr(&value);
        assert_eq!(Recycled::ref_count(&value), 1);
        let copy = value.clone();
        assert_eq!(
            Recycled::ref_count(&value),
            2,
            "the flag is not part of the count"
        );
        assert!(Recycled::is_checked(&copy));
        drop(copy);
        assert_eq!(Recycled::ref_count(&value), 1);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(value);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the value is dropped as usual"
        );
        assert!(PROBE_POOL.quarantines(address));
        // SAFETY: a quarantined block stays allocated.
        unsafe {
            assert_eq!(Recycled::count_word(address), checked::POISON);
            assert_eq!(
                address.cast::<usize>().read_unaligned(),
                PROBE_POISON_MARK,
                "the type's poison hook ran"
            );
            let bytes = address.cast::<u8>();
            for offset in size_of::<usize>()..size_of::<Probe>() {
                assert_eq!(*bytes.add(offset), checked::POISON_BYTE, "byte {offset}");
            }
        }
        let next: Vec<_> = (0..4)
            .map(|_| Recycled::new_unchecked(Probe::new(&drops)))
            .collect();
        assert!(
            next.iter().all(|v| Recycled::as_ptr(v) != address),
            "a quarantined block is not handed out again"
        );
    }

    #[test]
    fn com_style_counts_of_a_checked_block() {
        let drops = Arc::new(AtomicUsize::new(0));
        let raw = Recycled::into_ptr(Recycled::new_checked(Probe::new(&drops)));
        // SAFETY: `raw` holds one reference until the last release below.
        unsafe {
            assert_eq!(Recycled::add_ref_ptr(raw), 2);
            assert_eq!(Recycled::add_ref_ptr(raw), 3);
            assert_eq!(Recycled::release(Recycled::from_ptr(raw)), 2);
            assert_eq!(Recycled::release(Recycled::from_ptr(raw)), 1);
            assert_eq!(drops.load(Ordering::SeqCst), 0);
            assert_eq!(Recycled::release(Recycled::from_ptr(raw)), 0);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            assert!(PROBE_POOL.quarantines(raw));
            assert_eq!(Recycled::count_word(raw), checked::POISON);
        }
    }

    #[test]
    fn each_block_keeps_the_mode_it_was_allocated_with() {
        let drops = Arc::new(AtomicUsize::new(0));
        let checked = Recycled::new_checked(Probe::new(&drops));
        let unchecked = Recycled::new_unchecked(Probe::new(&drops));
        assert!(Recycled::is_checked(&checked));
        assert!(!Recycled::is_checked(&unchecked));
        let (checked_at, unchecked_at) = (Recycled::as_ptr(&checked), Recycled::as_ptr(&unchecked));
        let copies = (checked.clone(), unchecked.clone());
        drop((checked, unchecked));
        assert_eq!(Recycled::ref_count(&copies.0), 1);
        assert_eq!(Recycled::ref_count(&copies.1), 1);
        drop(copies);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert!(PROBE_POOL.quarantines(checked_at));
        assert!(!PROBE_POOL.quarantines(unchecked_at));
        // SAFETY: the unchecked block is on this thread's free list.
        assert_eq!(unsafe { Recycled::count_word(unchecked_at) }, 0);
        let again = Recycled::new_unchecked(Probe::new(&drops));
        assert_eq!(
            Recycled::as_ptr(&again),
            unchecked_at,
            "the unchecked block is recycled"
        );
    }

    #[test]
    fn a_panicking_drop_of_a_checked_value_still_quarantines_the_block() {
        let drops = Arc::new(AtomicUsize::new(0));
        let value = Recycled::new_checked(Probe {
            drops: drops.clone(),
            panic_on_drop: true,
        });
        let address = Recycled::as_ptr(&value);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value)));
        assert!(outcome.is_err());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(PROBE_POOL.quarantines(address));
        // SAFETY: quarantined, so still allocated.
        assert_eq!(unsafe { Recycled::count_word(address) }, checked::POISON);
    }

    #[test]
    fn the_quarantine_is_bounded_and_lets_the_oldest_go() {
        let count = QUARANTINE_BLOCKS + 2;
        let values: Vec<_> = (0..count as u64)
            .map(|i| Recycled::new_checked(Bulk(i)))
            .collect();
        let addresses: Vec<_> = values.iter().map(Recycled::as_ptr).collect();
        drop(values);
        assert_eq!(BULK_POOL.quarantined(), QUARANTINE_BLOCKS);
        assert!(!BULK_POOL.quarantines(addresses[0]), "the oldest went");
        assert!(!BULK_POOL.quarantines(addresses[1]));
        assert!(BULK_POOL.quarantines(addresses[2]));
        assert!(BULK_POOL.quarantines(addresses[count - 1]));
    }

    #[test]
    fn concurrent_clones_and_drops_of_checked_blocks_release_exactly_once() {
        clones_and_drops_on_three_threads_release_once(Recycled::new_checked);
    }
}
