//! [`Work`]: one queued item in three words, and Rust closures without an
//! allocation.
//!
//! Every item a queue holds sits in its band's block, so its size is the
//! queue's memory per item. An enum of the item kinds would need a word for
//! its tag beside the largest kind, and a closure would have to be a
//! `Box<dyn FnOnce()>`: a `malloc` on the putting thread and a `free` on the
//! worker, which on a fan-out is a cross-thread free per item, the system
//! allocator's most expensive path (its arena lock and fastbin
//! consolidation) and more than the rest of the put.
//!
//! So an item is two words of payload and a pointer to a table made at
//! compile time for the payload's type, like a trait object's vtable: how to
//! run it, drop it, name it in a report, and which [`Kind`] it is. The
//! platform's own kinds (a result, a serial queue's step, a shared task, a
//! future's poll, an observed item) are one or two words and always fit; a
//! closure fits when it captures at most two words (an `Arc` and an index,
//! a channel's sender, ...) and is boxed otherwise. Whether a payload is
//! inline or boxed is a property of its type, so each table knows it
//! statically and nothing is tested at run time.

use std::mem::{align_of, size_of, ManuallyDrop, MaybeUninit};

use crate::ids::QueueId;

/// The scheduler's machinery for one of the platform's queues.
pub(crate) type QueueCore = crate::sched::QueueCore<Work>;

/// A push a queue refused, with the work handed back.
pub(crate) type Refused = crate::sched::Refused<Work>;

/// A payload's storage: pointer-typed words, so that pointers stored in
/// them keep their provenance.
type Slot = [MaybeUninit<*mut ()>; 2];

/// What an item is, for the few places that treat kinds differently (reply
/// mode, observation, shutdown reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An `AsyncResult` to invoke (or whose event to set).
    Result,
    /// An `AsyncResult` the C ABI put, with its COM callback's vtable
    /// (`ComPut`).
    ComResult,
    /// A Rust closure (`spawn`).
    Closure,
    /// A serial queue's step.
    Serial,
    /// A task sharing its allocation with a handle (`SharedTask`).
    Shared,
    /// One poll of a future (`PollStep`).
    Poll,
    /// Any of the above wrapped for observation.
    #[cfg_attr(not(feature = "observe"), allow(dead_code))]
    Observed,
}

/// What a queue needs to do with one payload type.
struct Table {
    kind: Kind,
    /// Runs the payload on a worker of `queue`, consuming it.
    run: unsafe fn(Slot, QueueId),
    /// Drops the payload unrun.
    drop: unsafe fn(Slot),
    /// What a stuck-worker report names.
    address: unsafe fn(&Slot) -> usize,
}

/// A type a [`Work`] can carry, with how it runs. Implementations catch the
/// panics of the user code they run: a worker never unwinds.
pub(crate) trait Payload: Send + Sized + 'static {
    /// Which kind of item this is.
    const KIND: Kind;
    /// Runs the item on a worker of `queue`.
    fn run(self, queue: QueueId);
    /// What a stuck-worker report names (0 for nothing).
    fn address(&self) -> usize;
}

/// Whether values of type `T` are stored in the item itself.
const fn fits<T>() -> bool {
    size_of::<T>() <= size_of::<Slot>() && align_of::<T>() <= align_of::<Slot>()
}

/// One queued item: a [`Payload`], inline. Dropped unrun, it drops the
/// payload (a refused or abandoned item).
pub(crate) struct Work {
    slot: Slot,
    table: &'static Table,
}

// SAFETY: a Work owns one `P: Payload`, and payloads are `Send`.
unsafe impl Send for Work {}

// Every queued item is a `Work` in its band's block: three words.
const _: () = assert!(size_of::<Work>() == 3 * size_of::<usize>());

/// The table of one payload type (an associated const, so that
/// `&Tables::<P>::TABLE` is promoted to a `'static` made at compile time).
struct Tables<P>(std::marker::PhantomData<P>);

impl<P: Payload> Tables<P> {
    const TABLE: Table = Table {
        kind: P::KIND,
        run: run_payload::<P>,
        drop: drop_payload::<P>,
        address: payload_address::<P>,
    };
}

/// SAFETY (these three): `slot` holds an initialised `P`, written by
/// [`Work::new`], and is consumed at most once.
unsafe fn run_payload<P: Payload>(slot: Slot, queue: QueueId) {
    // SAFETY: see above.
    let payload = unsafe { slot.as_ptr().cast::<P>().read() };
    payload.run(queue);
}

unsafe fn drop_payload<P>(mut slot: Slot) {
    // SAFETY: see above.
    unsafe { slot.as_mut_ptr().cast::<P>().drop_in_place() };
}

unsafe fn payload_address<P: Payload>(slot: &Slot) -> usize {
    // SAFETY: see above (borrowed, not consumed).
    unsafe { &*slot.as_ptr().cast::<P>() }.address()
}

impl Work {
    /// `payload` as a queued item.
    #[inline]
    pub(crate) fn new<P: Payload>(payload: P) -> Work {
        const { assert!(fits::<P>(), "a payload must fit in two words") };
        // SAFETY: asserted just above, at compile time.
        unsafe { Work::new_unchecked(payload) }
    }

    /// # Safety
    /// `P` fits the slot (`fits::<P>()`).
    #[inline]
    unsafe fn new_unchecked<P: Payload>(payload: P) -> Work {
        let mut slot: Slot = [MaybeUninit::uninit(); 2];
        // SAFETY: the caller promises that a `P` fits the slot's size and
        // alignment.
        unsafe { slot.as_mut_ptr().cast::<P>().write(payload) };
        Work {
            slot,
            table: &Tables::<P>::TABLE,
        }
    }

    /// A Rust closure as an item: inline when it captures at most two
    /// words, boxed otherwise.
    #[inline]
    pub(crate) fn closure<F: FnOnce() + Send + 'static>(task: F) -> Work {
        if fits::<F>() {
            // SAFETY: tested just above (a constant: the other branch is
            // compiled out for this `F`).
            unsafe { Work::new_unchecked(Closure(task)) }
        } else {
            // A box is one word, and a boxed closure a closure like another.
            Work::new(Closure(Box::new(task)))
        }
    }

    /// Which kind of item this is.
    #[inline]
    pub(crate) fn kind(&self) -> Kind {
        self.table.kind
    }

    /// The payload, if it is a `P`.
    #[inline]
    pub(crate) fn downcast_ref<P: Payload>(&self) -> Option<&P> {
        // Kinds name payload types one to one, but closures: those are
        // never looked into.
        debug_assert_ne!(P::KIND, Kind::Closure);
        // SAFETY: the kind says the slot holds a `P`.
        (self.kind() == P::KIND).then(|| unsafe { &*self.slot.as_ptr().cast::<P>() })
    }

    /// The payload, if it is a `P`; the item back otherwise.
    #[inline]
    pub(crate) fn downcast<P: Payload>(self) -> Result<P, Work> {
        debug_assert_ne!(P::KIND, Kind::Closure);
        if self.kind() != P::KIND {
            return Err(self);
        }
        let this = ManuallyDrop::new(self);
        // SAFETY: the kind says the slot holds a `P`; `this` is never dropped,
        // so the payload is moved out once.
        Ok(unsafe { this.slot.as_ptr().cast::<P>().read() })
    }

    /// Runs the item on a worker of `queue`.
    #[inline]
    pub(crate) fn run(self, queue: QueueId) {
        let this = ManuallyDrop::new(self);
        // SAFETY: the slot holds the table's payload, consumed once: `this`
        // is never dropped.
        unsafe { (this.table.run)(this.slot, queue) }
    }

    /// What a stuck-worker report names for this item.
    #[inline]
    pub(crate) fn address(&self) -> usize {
        // SAFETY: the slot holds the table's payload.
        unsafe { (self.table.address)(&self.slot) }
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        // SAFETY: the slot holds the table's payload; `run` and `downcast`
        // never drop their `Work`.
        unsafe { (self.table.drop)(self.slot) }
    }
}

/// A closure in the item (or, for one too large, its box). Its captures
/// (and the box) are dropped where it returns or unwinds, in its own frame.
struct Closure<F>(F);

impl<F: FnOnce() + Send + 'static> Payload for Closure<F> {
    const KIND: Kind = Kind::Closure;

    #[inline]
    fn run(self, queue: QueueId) {
        crate::panic::guard_on(queue, crate::panic::PanicSite::Invoke, self.0);
    }

    /// The closure's code (one function per closure type): what a report
    /// can name for a closure, boxed or not.
    fn address(&self) -> usize {
        <Self as Payload>::run as fn(Self, QueueId) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    const QUEUE: QueueId = QueueId(0x10001);

    /// Counts its drops.
    struct Probe(Arc<AtomicUsize>);
    impl Drop for Probe {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A platform-kind payload for the tests: counts its runs.
    struct Counted(Arc<AtomicUsize>, usize);
    impl Payload for Counted {
        const KIND: Kind = Kind::Serial;
        fn run(self, _queue: QueueId) {
            self.0.fetch_add(self.1, Ordering::SeqCst);
        }
        fn address(&self) -> usize {
            Arc::as_ptr(&self.0) as usize
        }
    }

    fn fits_of<F>(_: &F) -> bool {
        fits::<F>()
    }

    #[test]
    fn closures_of_up_to_two_words_are_inline_and_larger_ones_boxed() {
        let (arc, index) = (Arc::new(AtomicUsize::new(0)), 7usize);
        assert!(fits_of(&move || arc.fetch_add(index, Ordering::SeqCst)));
        assert!(fits::<()>());
        let big = [1u64, 2, 3];
        assert!(!fits_of(&move || big.len()));
        // 16-byte alignment does not fit a word-aligned slot even when small.
        #[repr(align(16))]
        struct Aligned(#[allow(dead_code)] u8);
        let aligned = Aligned(1);
        assert!(!fits_of(&move || std::mem::size_of_val(&aligned)));
    }

    #[test]
    fn closures_run_once_with_their_captures_inline_boxed_and_zero_sized() {
        let ran = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        // Inline: two words.
        let (probe, counter) = (Probe(drops.clone()), ran.clone());
        Work::closure(move || {
            let _probe = probe;
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .run(QUEUE);
        // Boxed: three words of captures.
        let (probe, counter, add) = (Probe(drops.clone()), ran.clone(), 10usize);
        Work::closure(move || {
            let _probe = probe;
            counter.fetch_add(add, Ordering::SeqCst);
        })
        .run(QUEUE);
        // Zero-sized.
        static ZST_RAN: AtomicUsize = AtomicUsize::new(0);
        Work::closure(|| {
            ZST_RAN.fetch_add(1, Ordering::SeqCst);
        })
        .run(QUEUE);
        assert_eq!(ran.load(Ordering::SeqCst), 11);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert!(ZST_RAN.load(Ordering::SeqCst) >= 1);
    }

    #[test]
    fn dropped_unrun_drops_the_payload_without_running_it() {
        let drops = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let (probe, counter) = (Probe(drops.clone()), ran.clone());
        drop(Work::closure(move || {
            let _probe = probe;
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        let (probe, counter, pad) = (Probe(drops.clone()), ran.clone(), [0u64; 4]);
        drop(Work::closure(move || {
            let _probe = probe;
            counter.fetch_add(pad.len(), Ordering::SeqCst);
        }));
        drop(Work::new(Counted(ran.clone(), 1)));
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert_eq!(Arc::strong_count(&ran), 1, "every capture was dropped");
    }

    #[test]
    fn a_panicking_closure_is_caught_and_drops_its_captures_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        for boxed in [false, true] {
            let probe = Probe(drops.clone());
            let work = if boxed {
                let pad = [0u64; 3];
                Work::closure(move || {
                    let _probe = probe;
                    std::hint::black_box(pad);
                    panic!("boxed closure panics");
                })
            } else {
                Work::closure(move || {
                    let _probe = probe;
                    panic!("inline closure panics");
                })
            };
            // The item catches the panic itself: a worker never unwinds.
            work.run(QUEUE);
        }
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn kinds_downcast_to_their_payload_only() {
        let ran = Arc::new(AtomicUsize::new(0));
        let work = Work::new(Counted(ran.clone(), 5));
        assert_eq!(work.kind(), Kind::Serial);
        assert_eq!(work.downcast_ref::<Counted>().map(|c| c.1), Some(5));
        assert_eq!(work.address(), Arc::as_ptr(&ran) as usize);
        let counted = work.downcast::<Counted>().ok().expect("a Counted");
        Work::new(counted).run(QUEUE);
        assert_eq!(ran.load(Ordering::SeqCst), 5);
        let closure = Work::closure(|| {});
        assert_eq!(closure.kind(), Kind::Closure);
        assert_ne!(closure.address(), 0);
    }

    #[test]
    fn items_move_between_threads() {
        let ran = Arc::new(AtomicUsize::new(0));
        let items: Vec<Work> = (0..8)
            .map(|i| {
                let ran = ran.clone();
                if i % 2 == 0 {
                    Work::closure(move || {
                        ran.fetch_add(1, Ordering::SeqCst);
                    })
                } else {
                    let pad = [i as u64; 2];
                    Work::closure(move || {
                        ran.fetch_add(1 + pad[0] as usize - i, Ordering::SeqCst);
                    })
                }
            })
            .collect();
        std::thread::spawn(move || items.into_iter().for_each(|work| work.run(QUEUE)))
            .join()
            .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 8);
    }
}
