//! One band's queue: an unbounded multi-producer, multi-consumer FIFO of
//! blocks of slots, lock-free, that keeps one emptied block to reuse.
//!
//! # Why our own
//!
//! The bands used crossbeam's `SegQueue`, and this is the same kind of queue
//! (the classic one of linked blocks with a claimed-index per end). Two things
//! made a queue of our own worth its 300 lines:
//!
//! - **Waiting under a real-time policy.** In a queue of this kind a pop that
//!   claimed a slot whose pusher has not written it yet must wait for that
//!   pusher, and so must a push or pop that finds the next block being
//!   linked in. `SegQueue` waits by spinning and then calling `sched_yield`
//!   for as long as it takes. Under `SCHED_FIFO`/`SCHED_RR` that yield gives
//!   the processor only to threads of the same priority: a real-time worker
//!   that preempted a normal-priority pusher in the middle of a push waits
//!   for a thread that cannot run on that processor, and with such a worker
//!   on every processor nothing moves until the kernel's real-time
//!   throttling (about a second). Here every such wait is a
//!   [`Patience`](super::patience::Patience): a real-time waiter yields only
//!   briefly and then sleeps between looks, so the pusher runs.
//! - **No allocation in the steady state.** `SegQueue` allocates a block on
//!   the pushing thread every 31 pushes and frees it on the popping thread.
//!   This queue keeps the last block it emptied (`spare`) and takes it for
//!   the next one it needs, so a queue whose depth stays under a block's
//!   worth (an audio queue fed one block per period) allocates nothing once
//!   it runs. A deeper queue allocates once per block beyond that.
//!
//! It is also built on the `crate::sync` facade, so the loom models check it
//! (with blocks of [`CAP`] = 2 slots there, so that the models cross block
//! boundaries), and Miri runs its tests.
//!
//! # The protocol
//!
//! An end (`head`, `tail`) is an index and the block it is in. The index
//! counts positions, shifted left by one; every block has [`CAP`] slots and
//! one more position, [`CAP`] itself, which stands for "this block is full
//! (or emptied) and the next one is being linked in". So a position's block
//! is `position / LAP` and its slot `position % LAP`.
//!
//! - **Push** claims the tail's position with a compare-and-swap of the
//!   tail index. The pusher that claims a block's last slot has a new block
//!   ready (taken before the claim) and links it: it stores it as the tail
//!   block, moves the tail index past the extra position, and sets the old
//!   block's `next`. Then it writes its slot and sets the slot's `WRITTEN`
//!   bit. A pusher that finds the tail index on the extra position waits for
//!   that linking.
//! - **Pop** compares the head with the tail (after a full fence, so a push
//!   whose claim precedes that fence in the SeqCst order, directly or
//!   through a fence of the pusher's after it, is seen); equal means empty.
//!   The low bit of the head index, `HAS_NEXT`, records that the tail is
//!   known to be in a later block, which spares the comparison, and the
//!   head end keeps the tail index a pop last read (`seen_tail`): the tail
//!   only grows, so while the head is below that value there is an item,
//!   and the pop claims it without the fence and without reading the
//!   pushers' line, which then stays in the pushing core's cache while the
//!   popper works through a backlog. Otherwise it claims the
//!   head's position with a compare-and-swap; the popper that claims a
//!   block's last slot waits for the block's `next` and moves the head
//!   there. Then it waits for the slot's `WRITTEN` bit and takes the value.
//! - **Close** sets the tail index's low bit, `CLOSED` (unused there: the
//!   head's low bit is `HAS_NEXT`), with a read-modify-write. A push reads the
//!   bit with the index it is about to claim and refuses if it is set; its
//!   claim is a compare-and-swap of that index, so it fails if the bit was
//!   set in between. So the claims and the close have one order, on one
//!   word: a claim before it lands (a pop waits for its write, as for any
//!   claimed slot), a claim after it is impossible. The linking pusher moves
//!   the index past the extra position with an add, not a store, so that a
//!   close during the linking is kept. Pops ignore the bit (they compare
//!   positions). This is what lets the scheduler count no pushes in progress
//!   (`README.md`, "Push"): once a worker has seen the queue closed, the
//!   pushes still to land are exactly the claimed slots, and a pop finds
//!   them.
//! - **Freeing a block** without anyone still inside: the popper of the last
//!   slot walks the other slots; a slot whose reader has not finished
//!   (`READ` not set) gets `RELEASING`, and that reader, when it sets `READ`
//!   and sees `RELEASING`, carries on the walk from the next slot. Whoever
//!   ends the walk owns the block: it becomes the spare (a spare already
//!   there is freed). No thread looks at a block after its walk has passed:
//!   a pusher only uses a block after a successful claim in it, a popper
//!   likewise, and every claimed slot is read before the walk passes it.
//!
//! Every wait above is for a step of a few instructions on a thread that has
//! already won its claim; it is long only when that thread is preempted.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;

use crossbeam_utils::CachePadded;

use super::patience::Patience;
use crate::sync::cell::UnsafeCell;
use crate::sync::{fence, AtomicPtr, AtomicUsize, Ordering};

/// Slots per block. Under loom two, so that short models cross blocks.
#[cfg(not(mfwq_loom))]
const CAP: usize = 31;
#[cfg(mfwq_loom)]
const CAP: usize = 2;
/// Positions per block: the slots and the "next block being linked" one.
const LAP: usize = CAP + 1;
/// The index holds the position shifted by this; the bit below is `HAS_NEXT`.
const SHIFT: usize = 1;
/// In the head index: the tail is in a later block.
const HAS_NEXT: usize = 1;
/// In the tail index: the queue is closed, pushes are refused.
const CLOSED: usize = 1;

/// A slot's state bits.
const WRITTEN: usize = 1;
const READ: usize = 2;
const RELEASING: usize = 4;

struct Slot<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    state: AtomicUsize,
}

struct Block<T> {
    /// The block after this one, set by the pusher of this block's last slot.
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; CAP],
}

impl<T> Block<T> {
    fn new() -> Box<Block<T>> {
        Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: std::array::from_fn(|_| Slot {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                state: AtomicUsize::new(0),
            }),
        })
    }

    /// Makes an emptied block (owned by the caller alone) new again.
    fn reset(&self) {
        self.next.store(ptr::null_mut(), Ordering::Relaxed);
        for slot in &self.slots {
            slot.state.store(0, Ordering::Relaxed);
        }
    }

    /// The next block, once the pusher of this block's last slot has linked it.
    fn wait_next(&self) -> *mut Block<T> {
        let mut patience = Patience::new();
        loop {
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            patience.wait();
        }
    }
}

/// One end of the queue.
struct End<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
}

/// The head end, and the tail index a popper last read there: a lower
/// bound of the tail (which only grows), so while the head is below it a
/// pop knows there is an item without reading the pushers' line again.
struct Head<T> {
    end: End<T>,
    seen_tail: AtomicUsize,
}

/// The queue (see the module docs).
pub(crate) struct Fifo<T> {
    head: CachePadded<Head<T>>,
    tail: CachePadded<End<T>>,
    /// The last emptied block, kept for the next block needed (null: none).
    spare: AtomicPtr<Block<T>>,
    _owns: PhantomData<T>,
}

// SAFETY: values move between threads through the queue (hence `T: Send`);
// every access to a slot's value is ordered by the slot's state bits, and
// blocks are freed only by the one thread that ends their release walk.
unsafe impl<T: Send> Send for Fifo<T> {}
// SAFETY: as above; a shared queue only hands out owned values.
unsafe impl<T: Send> Sync for Fifo<T> {}

impl<T> Fifo<T> {
    pub(crate) fn new() -> Fifo<T> {
        // The first block up front: no end is ever without a block.
        let first = Box::into_raw(Block::new());
        Fifo {
            head: CachePadded::new(Head {
                end: End {
                    index: AtomicUsize::new(0),
                    block: AtomicPtr::new(first),
                },
                seen_tail: AtomicUsize::new(0),
            }),
            tail: CachePadded::new(End {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(first),
            }),
            spare: AtomicPtr::new(ptr::null_mut()),
            _owns: PhantomData,
        }
    }

    /// Adds `value` at the tail; hands it back if the queue is closed
    /// ([`close`](Self::close)).
    #[inline]
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        self.push_with(value, CLOSED)
    }

    /// Adds `value` at the tail whether or not the queue is closed: for a
    /// queue nobody closes (the timer's inbox), and for a pusher that pops
    /// the queue itself before it stops (a pool worker moving an item out of
    /// its own slot), so that the value cannot be stranded.
    #[inline]
    pub(crate) fn push_past_close(&self, value: T) {
        let pushed = self.push_with(value, 0);
        debug_assert!(pushed.is_ok(), "a push that ignores the close lands");
    }

    /// `push`, refusing if the tail index has any of the bits of `refuse`
    /// (`CLOSED` or nothing).
    #[inline]
    fn push_with(&self, value: T, refuse: usize) -> Result<(), T> {
        let mut patience = Patience::new();
        let mut tail = self.tail.index.load(Ordering::Acquire);
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut next_block = None;
        loop {
            if tail & refuse != 0 {
                if let Some(unused) = next_block {
                    self.keep_spare(unused);
                }
                return Err(value);
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == CAP {
                // The pusher of the block's last slot is linking the next one.
                patience.wait();
                tail = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            // About to claim the last slot: have the next block at hand
            // first, so that the linking after the claim is three stores.
            if offset + 1 == CAP && next_block.is_none() {
                next_block = Some(self.fresh_block());
            }
            let new_tail = tail + (1 << SHIFT);
            match self.tail.index.compare_exchange_weak(
                tail,
                new_tail,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: the claim succeeded, so `block` is the block of
                    // position `tail` (it was stored before the index reached
                    // that position, and the index has not moved since we read
                    // it), and it is not freed before this slot is read.
                    unsafe {
                        if offset + 1 == CAP {
                            let next = Box::into_raw(
                                next_block
                                    .take()
                                    .expect("taken before the last slot's claim"),
                            );
                            self.tail.block.store(next, Ordering::Release);
                            // An add, not a store of the new index: `close`
                            // may have set `CLOSED` since the claim, and the
                            // bit must stay.
                            self.tail.index.fetch_add(1 << SHIFT, Ordering::Release);
                            (*block).next.store(next, Ordering::Release);
                        }
                        let slot = (*block).slots.get_unchecked(offset);
                        slot.value
                            .with_mut(|cell| cell.write(MaybeUninit::new(value)));
                        slot.state.fetch_or(WRITTEN, Ordering::Release);
                    }
                    if let Some(unused) = next_block {
                        self.keep_spare(unused);
                    }
                    return Ok(());
                }
                Err(current) => {
                    tail = current;
                    block = self.tail.block.load(Ordering::Acquire);
                    patience.after_contention();
                }
            }
        }
    }

    /// Refuses every push from now on. A push that claimed its slot before
    /// still lands, and pops take it: the values in the queue are exactly
    /// those whose push returned `Ok`.
    pub(crate) fn close(&self) {
        self.tail.index.fetch_or(CLOSED, Ordering::SeqCst);
    }

    /// Takes the value at the head, if there is one.
    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        // An idle worker polls an empty queue over and over: answer that
        // without the call to the claiming path (and its register saves).
        let head = self.head.end.index.load(Ordering::Acquire);
        let mut tail = None;
        if head & HAS_NEXT == 0 {
            // A tail read before that is still ahead of the head: there is
            // an item (its slot is claimed), and the pushers' line stays
            // with them. No fence is needed to know what is already known.
            let seen = self.head.seen_tail.load(Ordering::Relaxed);
            if head >> SHIFT < seen >> SHIFT {
                tail = Some(seen);
            } else {
                // As in `claim_head`.
                fence(Ordering::SeqCst);
                let seen = self.tail.index.load(Ordering::Relaxed);
                if head >> SHIFT == seen >> SHIFT {
                    return None;
                }
                self.head.seen_tail.store(seen, Ordering::Relaxed);
                tail = Some(seen);
            }
        }
        self.claim_head(head, tail)
    }

    /// `pop` once the queue did not look empty: claims the head's position.
    /// `tail`: the tail index `pop` read (after its fence) for this `head`.
    #[inline(never)]
    fn claim_head(&self, mut head: usize, mut tail: Option<usize>) -> Option<T> {
        let mut patience = Patience::new();
        let mut block = self.head.end.block.load(Ordering::Acquire);
        loop {
            let offset = (head >> SHIFT) % LAP;
            if offset == CAP {
                // The popper of the block's last slot is moving to the next one.
                patience.wait();
                head = self.head.end.index.load(Ordering::Acquire);
                block = self.head.end.block.load(Ordering::Acquire);
                tail = None;
                continue;
            }
            let mut new_head = head + (1 << SHIFT);
            if new_head & HAS_NEXT == 0 {
                // Pairs with the pushers' SeqCst claim (or a pusher's fence
                // after it): a claim ordered before this fence is seen here.
                // (`pop` has done it for the first look.)
                let tail = tail.take().unwrap_or_else(|| {
                    fence(Ordering::SeqCst);
                    self.tail.index.load(Ordering::Relaxed)
                });
                if head >> SHIFT == tail >> SHIFT {
                    return None;
                }
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= HAS_NEXT;
                }
            }
            match self.head.end.index.compare_exchange_weak(
                head,
                new_head,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: the claim succeeded, so `block` is the block of
                    // position `head` (as in `push`), and the slot was claimed
                    // by a pusher (the tail is past it); the block is not freed
                    // before this slot is read.
                    unsafe {
                        if offset + 1 == CAP {
                            let next = (*block).wait_next();
                            let mut next_index = (new_head & !HAS_NEXT).wrapping_add(1 << SHIFT);
                            if !(*next).next.load(Ordering::Relaxed).is_null() {
                                next_index |= HAS_NEXT;
                            }
                            self.head.end.block.store(next, Ordering::Release);
                            self.head.end.index.store(next_index, Ordering::Release);
                        }
                        let slot = (*block).slots.get_unchecked(offset);
                        let mut writing = Patience::new();
                        while slot.state.load(Ordering::Acquire) & WRITTEN == 0 {
                            writing.wait();
                        }
                        let value = slot.value.with_mut(|cell| cell.read().assume_init());
                        if offset + 1 == CAP {
                            self.release(block, 0);
                        } else if slot.state.fetch_or(READ, Ordering::AcqRel) & RELEASING != 0 {
                            self.release(block, offset + 1);
                        }
                        return Some(value);
                    }
                }
                Err(current) => {
                    head = current;
                    block = self.head.end.block.load(Ordering::Acquire);
                    patience.after_contention();
                }
            }
        }
    }

    /// The release walk over `block` from slot `start` (see the module docs).
    ///
    /// # Safety
    ///
    /// The caller has read the block's last slot (`start == 0`) or has just
    /// set `READ` on slot `start - 1` and found `RELEASING` there.
    unsafe fn release(&self, block: *mut Block<T>, start: usize) {
        // The last slot is not walked: its reader started the walk.
        for index in start..CAP - 1 {
            // SAFETY: the walk has not passed this block, so it is live.
            let slot = unsafe { (*block).slots.get_unchecked(index) };
            if slot.state.load(Ordering::Acquire) & READ == 0
                && slot.state.fetch_or(RELEASING, Ordering::AcqRel) & READ == 0
            {
                // Its reader carries on from here.
                return;
            }
        }
        // SAFETY: every slot is read and the walk ends here: this thread owns
        // the block (it came from `Box::into_raw`).
        self.keep_spare(unsafe { Box::from_raw(block) });
    }

    /// An empty block for the tail: the spare if there is one, else a new one.
    fn fresh_block(&self) -> Box<Block<T>> {
        let spare = self.spare.swap(ptr::null_mut(), Ordering::AcqRel);
        if spare.is_null() {
            return Block::new();
        }
        // SAFETY: the swap handed this thread the only pointer to it.
        let block = unsafe { Box::from_raw(spare) };
        block.reset();
        block
    }

    /// Keeps `block` as the spare; frees the spare it replaces.
    fn keep_spare(&self, block: Box<Block<T>>) {
        let old = self.spare.swap(Box::into_raw(block), Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: the swap handed this thread the only pointer to it.
            drop(unsafe { Box::from_raw(old) });
        }
    }
}

impl<T> Drop for Fifo<T> {
    fn drop(&mut self) {
        // No other thread is inside: every claimed slot is written, and the
        // positions from head to tail are exactly the values left.
        let mut head = self.head.end.index.load(Ordering::Relaxed) & !HAS_NEXT;
        let tail = self.tail.index.load(Ordering::Relaxed) & !CLOSED;
        let mut block = self.head.end.block.load(Ordering::Relaxed);
        // SAFETY: blocks from the head's on are live and owned by the queue.
        unsafe {
            while head != tail {
                let offset = (head >> SHIFT) % LAP;
                if offset < CAP {
                    let slot = (*block).slots.get_unchecked(offset);
                    slot.value.with_mut(|cell| (*cell).assume_init_drop());
                } else {
                    let next = (*block).next.load(Ordering::Relaxed);
                    drop(Box::from_raw(block));
                    block = next;
                }
                head = head.wrapping_add(1 << SHIFT);
            }
            drop(Box::from_raw(block));
            let spare = self.spare.load(Ordering::Relaxed);
            if !spare.is_null() {
                drop(Box::from_raw(spare));
            }
        }
    }
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::Arc;

    /// Fewer items under Miri, which is slow.
    fn scaled(n: usize) -> usize {
        if cfg!(miri) {
            n / 50
        } else {
            n
        }
    }

    #[test]
    fn fifo_order_across_blocks_and_empty_in_between() {
        let fifo = Fifo::new();
        assert_eq!(fifo.pop(), None);
        for round in 0..3 {
            for i in 0..5 * CAP + 3 {
                fifo.push((round, i)).unwrap();
            }
            for i in 0..5 * CAP + 3 {
                assert_eq!(fifo.pop(), Some((round, i)));
            }
            assert_eq!(fifo.pop(), None);
        }
    }

    #[test]
    fn an_emptied_block_is_kept_and_reused() {
        let fifo = Fifo::new();
        // Depth one, as an audio queue is fed: once the first block is
        // emptied it becomes the spare, and the block after the next is it.
        let mut seen = std::collections::HashSet::new();
        for i in 0..10 * CAP {
            fifo.push(i).unwrap();
            assert_eq!(fifo.pop(), Some(i));
            seen.insert(fifo.tail.block.load(Ordering::Relaxed) as usize);
        }
        assert_eq!(seen.len(), 2, "two blocks take turns");
        assert!(!fifo.spare.load(Ordering::Relaxed).is_null());
    }

    #[test]
    fn dropping_a_queue_drops_what_is_left_once() {
        let live = Arc::new(StdAtomicUsize::new(0));
        struct Counted(Arc<StdAtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let fifo = Fifo::new();
        for _ in 0..3 * CAP + 7 {
            live.fetch_add(1, Ordering::Relaxed);
            assert!(fifo.push(Counted(live.clone())).is_ok());
        }
        for _ in 0..CAP + 2 {
            drop(fifo.pop());
        }
        assert_eq!(live.load(Ordering::Relaxed), 2 * CAP + 5);
        drop(fifo);
        assert_eq!(live.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn concurrent_pushers_and_poppers_keep_each_pushers_order() {
        const PUSHERS: usize = 3;
        let per = scaled(20_000);
        let fifo = Arc::new(Fifo::new());
        let taken = Arc::new(StdAtomicUsize::new(0));
        let pushers: Vec<_> = (0..PUSHERS)
            .map(|p| {
                let fifo = fifo.clone();
                std::thread::spawn(move || (0..per).for_each(|i| fifo.push((p, i)).unwrap()))
            })
            .collect();
        let poppers: Vec<_> = (0..2)
            .map(|_| {
                let (fifo, taken) = (fifo.clone(), taken.clone());
                std::thread::spawn(move || {
                    let mut last = [None::<usize>; PUSHERS];
                    let mut mine = 0;
                    while taken.load(Ordering::Relaxed) < PUSHERS * per {
                        if let Some((p, i)) = fifo.pop() {
                            // One popper sees each pusher's items in order.
                            assert!(last[p].is_none_or(|before| before < i));
                            last[p] = Some(i);
                            mine += 1;
                            taken.fetch_add(1, Ordering::Relaxed);
                        } else {
                            std::thread::yield_now();
                        }
                    }
                    mine
                })
            })
            .collect();
        pushers.into_iter().for_each(|p| p.join().unwrap());
        let total: usize = poppers.into_iter().map(|p| p.join().unwrap()).sum();
        assert_eq!(total, PUSHERS * per);
        assert_eq!(fifo.pop(), None);
    }

    #[test]
    fn a_closed_queue_refuses_pushes_and_keeps_what_it_took() {
        let fifo = Fifo::new();
        for i in 0..CAP + 3 {
            fifo.push(i).unwrap();
        }
        fifo.close();
        assert_eq!(fifo.push(99), Err(99), "refused, and handed back");
        for i in 0..CAP + 3 {
            assert_eq!(fifo.pop(), Some(i));
        }
        assert_eq!(fifo.pop(), None);
        assert_eq!(fifo.push(100), Err(100), "still refused once empty");
        fifo.close();
        assert_eq!(fifo.pop(), None, "a second close changes nothing");
    }

    #[test]
    fn pushers_racing_close_each_land_once_or_are_refused() {
        const PUSHERS: usize = 3;
        let per = scaled(20_000);
        let fifo = Arc::new(Fifo::new());
        let pushers: Vec<_> = (0..PUSHERS)
            .map(|p| {
                let fifo = fifo.clone();
                std::thread::spawn(move || {
                    let mut landed = Vec::new();
                    for i in 0..per {
                        match fifo.push((p, i)) {
                            Ok(()) => landed.push(i),
                            Err(back) => {
                                assert_eq!(back, (p, i));
                                // Refused once, refused ever after.
                                assert!((i + 1..per).all(|j| fifo.push((p, j)).is_err()));
                                break;
                            }
                        }
                    }
                    landed
                })
            })
            .collect();
        let popper = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut taken = Vec::new();
                for _ in 0..per {
                    taken.extend(fifo.pop());
                }
                fifo.close();
                taken.extend(std::iter::from_fn(|| fifo.pop()));
                taken
            })
        };
        let landed: Vec<Vec<usize>> = pushers.into_iter().map(|p| p.join().unwrap()).collect();
        let mut taken = popper.join().unwrap();
        // Popped after every pusher stopped: what landed late.
        taken.extend(std::iter::from_fn(|| fifo.pop()));
        let mut expected: Vec<(usize, usize)> = landed
            .iter()
            .enumerate()
            .flat_map(|(p, is)| is.iter().map(move |&i| (p, i)))
            .collect();
        expected.sort_unstable();
        taken.sort_unstable();
        assert_eq!(taken, expected, "every accepted push comes out once");
    }
}

#[cfg(all(test, mfwq_loom))]
#[path = "fifo_loom_tests.rs"]
mod loom_tests;
