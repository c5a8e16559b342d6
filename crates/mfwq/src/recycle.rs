//! The memory behind result objects: a reference-counted box whose memory is
//! kept for reuse instead of going back to the allocator.
//!
//! Windows keeps freed result objects in a cache (observed behaviour 13), and
//! for the same reason: a result is created on one thread and released on a
//! worker, so with the system allocator every put pays for a cross-thread free
//! and a slow-path malloc (measured: about a quarter of a put's time). Here each
//! thread keeps up to [`LOCAL_BLOCKS`] free blocks; a worker that fills its list
//! hands the whole batch to a shared stack of batches, where a creating thread
//! whose list is empty takes it back: one lock per batch instead of two
//! allocator calls per item. The shared stack holds at most [`SHARED_BATCHES`]
//! batches; beyond that, and when a thread exits, blocks go back to the
//! allocator. So at most `LOCAL_BLOCKS` per thread plus
//! `LOCAL_BLOCKS * SHARED_BATCHES` blocks are kept idle.
//!
//! `std::sync::Arc` cannot give its memory back to anyone but the allocator,
//! hence the hand-written reference count; it follows `Arc`'s orderings.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Free blocks a thread keeps for itself.
pub(crate) const LOCAL_BLOCKS: usize = 64;
/// Full batches kept in the shared stack.
pub(crate) const SHARED_BATCHES: usize = 64;

/// A reference-counted value whose block is recycled (the `Arc` of results).
pub(crate) struct Recycled<T: HasPool> {
    ptr: NonNull<Counted<T>>,
}

#[repr(C)]
struct Counted<T> {
    refs: AtomicUsize,
    value: T,
}

// SAFETY: like Arc<T>: shared access to T from many threads, T: Send + Sync.
unsafe impl<T: HasPool> Send for Recycled<T> {}
// SAFETY: as above.
unsafe impl<T: HasPool> Sync for Recycled<T> {}

/// Free blocks for values of `T`, per thread and shared.
pub(crate) struct Pool<T: 'static> {
    shared: Mutex<Vec<Vec<Block<T>>>>,
    local: &'static std::thread::LocalKey<RefCell<LocalBlocks<T>>>,
}

/// A block of memory for one `Counted<T>`, not initialised.
pub(crate) struct Block<T>(NonNull<MaybeUninit<Counted<T>>>);

// SAFETY: a free block is plain memory owned by whoever holds the Block.
unsafe impl<T> Send for Block<T> {}

impl<T> Block<T> {
    fn allocate() -> Block<T> {
        Block(NonNull::from(Box::leak(Box::new(MaybeUninit::uninit()))))
    }

    fn free(self) {
        // SAFETY: the block came from Box::new in `allocate` and holds no value.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// A thread's free blocks; returned to the allocator when the thread exits.
pub(crate) struct LocalBlocks<T>(Vec<Block<T>>);

impl<T> LocalBlocks<T> {
    pub(crate) const fn new() -> LocalBlocks<T> {
        LocalBlocks(Vec::new())
    }
}

impl<T> Drop for LocalBlocks<T> {
    fn drop(&mut self) {
        for block in self.0.drain(..) {
            block.free();
        }
    }
}

impl<T: Send + Sync + 'static> Pool<T> {
    pub(crate) const fn new(
        local: &'static std::thread::LocalKey<RefCell<LocalBlocks<T>>>,
    ) -> Pool<T> {
        Pool {
            shared: Mutex::new(Vec::new()),
            local,
        }
    }

    fn take(&'static self) -> Block<T> {
        let reused = self.local.try_with(|local| {
            let mut local = local.try_borrow_mut().ok()?;
            if local.0.is_empty() {
                local.0 = self.shared.lock().pop()?;
            }
            local.0.pop()
        });
        reused.ok().flatten().unwrap_or_else(Block::allocate)
    }

    fn give(&'static self, block: Block<T>) {
        let mut block = Some(block);
        let _ = self.local.try_with(|local| {
            let Ok(mut local) = local.try_borrow_mut() else {
                return;
            };
            if local.0.len() == LOCAL_BLOCKS {
                let full = std::mem::replace(&mut local.0, Vec::with_capacity(LOCAL_BLOCKS));
                let mut shared = self.shared.lock();
                if shared.len() < SHARED_BATCHES {
                    shared.push(full);
                } else {
                    drop(shared);
                    full.into_iter().for_each(Block::free);
                }
            }
            local.0.extend(block.take());
        });
        // The thread's locals are being destroyed (it is exiting): allocator.
        if let Some(block) = block {
            block.free();
        }
    }

    /// Blocks in the shared stack (for tests).
    #[cfg(test)]
    pub(crate) fn shared_blocks(&self) -> usize {
        self.shared.lock().iter().map(Vec::len).sum()
    }
}

impl<T: HasPool> Recycled<T> {
    /// A new value with one reference, in a recycled block if one is free.
    pub(crate) fn new(value: T) -> Recycled<T> {
        let block = T::pool().take();
        let ptr = block.0.cast::<Counted<T>>();
        // SAFETY: the block is valid, aligned, uninitialised memory for a Counted<T>.
        unsafe {
            ptr.as_ptr().write(Counted {
                refs: AtomicUsize::new(1),
                value,
            })
        };
        Recycled { ptr }
    }

    fn counted(&self) -> &Counted<T> {
        // SAFETY: the value lives while any handle does.
        unsafe { self.ptr.as_ref() }
    }

    /// The number of handles.
    pub(crate) fn ref_count(this: &Self) -> usize {
        this.counted().refs.load(Ordering::Acquire)
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
        if previous > isize::MAX as usize {
            std::process::abort();
        }
        previous + 1
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
            unsafe { Recycled::release_last(self.ptr, T::pool()) };
        }
        previous - 1
    }

    /// Drops the value and recycles its block into `pool`, the pool it came from.
    ///
    /// # Safety
    /// `ptr` is the last handle's value: no other handle exists.
    unsafe fn release_last(ptr: NonNull<Counted<T>>, pool: &'static Pool<T>) {
        struct Recycle<T: Send + Sync + 'static>(NonNull<Counted<T>>, &'static Pool<T>);
        impl<T: Send + Sync + 'static> Drop for Recycle<T> {
            fn drop(&mut self) {
                self.1.give(Block(self.0.cast()));
            }
        }
        // Even if the value's Drop panics, the block is recycled (after the
        // remaining fields are dropped by the unwinding drop glue).
        let _recycle = Recycle(ptr, pool);
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
        if self.counted().refs.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            std::process::abort();
        }
        Recycled { ptr: self.ptr }
    }
}

/// Dropping needs the pool, which the type knows: implemented per value type.
pub(crate) trait HasPool: Send + Sync + Sized + 'static {
    fn pool() -> &'static Pool<Self>;
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

    impl HasPool for Probe {
        fn pool() -> &'static Pool<Probe> {
            &PROBE_POOL
        }
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
        let drops = Arc::new(AtomicUsize::new(0));
        let rounds = if cfg!(miri) { 4 } else { 200 };
        for _ in 0..rounds {
            let value = Recycled::new(Probe::new(&drops));
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
}
