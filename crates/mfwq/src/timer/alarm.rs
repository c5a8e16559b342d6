//! Alarms: the timer entries behind the futures' [`sleep`](crate::sleep) and
//! [`interval`](crate::interval). An alarm wakes a task at a deadline; it
//! has no result, no callback and no queue, so the timekeeper wakes the
//! task itself instead of dispatching a completion.
//!
//! # Why not a scheduled item
//!
//! A scheduled item (`MFScheduleWorkItem`) owes Windows' contract: a result
//! object holding a platform lock, a key that `cancel_work_item` finds in a
//! map, a callback invoked on a queue. A future needs none of that, and
//! paid for all of it on its first poll (about 400 ns, where tokio's sleep
//! registers in about 35).
//!
//! # Intrusive, pinned
//!
//! An alarm lives *inside* its future (a [`Sleep`](crate::Sleep) holds one;
//! an [`Interval`](crate::Interval) boxes one for its whole life), which is
//! pinned once polled: the timer links the alarm itself into its inbox and
//! its heap by address. Arming it allocates nothing: the owner fills the
//! alarm in and pushes it onto the timer's lock-free inbox (a Treiber stack
//! of alarms, [`Inbox`]), taking the timer's lock only to wake the
//! timekeeper when the new deadline is earlier than the one it sleeps until.
//! The timekeeper moves the inbox's alarms into a binary heap
//! ([`AlarmHeap`]) whose slots each alarm knows, so that a withdrawn alarm
//! leaves it at once. Both are written here rather than taken from a crate:
//! the heap crates that support removal (`priority-queue` and the like) keep
//! each element's position in a map of their own and own their elements,
//! where here the position lives in the alarm, which its future owns, so a
//! withdrawal needs no lookup and the timer no allocation per alarm.
//!
//! # Protocol
//!
//! `state` says where an alarm is: `IDLE` (in no timer), `QUEUED` (in the
//! inbox), `HEAPED` (in the heap), `RUNG` (its deadline came) or `ENDED`
//! (the shutdown ended it).
//!
//! - Only the owner moves an alarm *into* a timer (`IDLE`, `RUNG` or
//!   `ENDED` to `QUEUED`), with no lock: nobody else holds the alarm then.
//!   The owner's operations ([`arm_in`](Alarm::arm_in),
//!   [`withdraw`](Alarm::withdraw)) take `Pin<&mut Alarm>`, so there is one
//!   owner.
//! - Every move *out of* `QUEUED` or `HEAPED` happens under the timer's
//!   lock: moving the inbox into the heap (the timekeeper, a cancel, a
//!   withdrawal, the shutdown), ringing a due alarm, ending every alarm at
//!   the shutdown (or, for an alarm that entered after it, by the pusher
//!   itself), and the owner's withdrawal.
//!   Ringing also holds the alarm's `waker` lock, which is where a poll
//!   reads the state and leaves its waker, so a poll either sees the ring
//!   or leaves the waker the ring takes.
//! - The owner frees an alarm (drops its future) only after a
//!   [`withdraw`](Alarm::withdraw): for `QUEUED`/`HEAPED` it takes the
//!   timer's lock (and first moves the inbox into the heap, where the alarm
//!   then is), so once it holds that lock nobody else can reach the alarm;
//!   for `RUNG`/`ENDED` it takes the `waker` lock once, which waits out the
//!   end of the ring's critical section, the ring's last touch.
//! - Wakers are woken after the timer's lock is released, by whoever took
//!   them, never while an alarm can be freed under them: a ring takes the
//!   waker out of the alarm first. No waker is cloned, woken or dropped
//!   under either lock (that is the task's code: a waker's drop can drop
//!   another sleep, whose withdrawal takes the timer's lock).

use std::marker::PhantomPinned;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Poll, Waker};
use std::time::Instant;

use super::item::Owed;
use super::thread::{Shared, Timers};
use crate::error::{Error, Result};
use crate::object::result::AsyncResult;
use crate::sync::cell::UnsafeCell;
use crate::sync::{lock, Arc, AtomicPtr, AtomicU8, Mutex, Ordering};

/// High dword of an alarm's trace id (ids are never given out as keys: only
/// the trace shows them, next to the timer items' keys).
pub(crate) const ALARM_TAG: u32 = 0x8400_0000;

/// In no timer: never armed, or withdrawn.
const IDLE: u8 = 0;
/// In the timer's inbox.
const QUEUED: u8 = 1;
/// In the timer's heap.
const HEAPED: u8 = 2;
/// Its deadline came: the arming ended with `Ok`.
const RUNG: u8 = 3;
/// The shutdown ended the arming: `Err(Shutdown)`.
const ENDED: u8 = 4;

/// A deadline that wakes a task, linked into the timer by address (see the
/// module docs). `R` is the timer's payload type (`Shared<R>`); the loom
/// models use their own.
pub(crate) struct Alarm<R: Owed = AsyncResult> {
    /// Where the alarm is (the constants above).
    state: AtomicU8,
    /// The task to wake. Also the lock under which a ring sets `RUNG` or
    /// `ENDED`.
    waker: Mutex<Option<Waker>>,
    /// Written by the owner before the push (nobody else holds the alarm
    /// then); read and written by the timer under its lock afterwards.
    link: UnsafeCell<Link<R>>,
    /// The timer the alarm was last armed in: the owner's alone (read to
    /// withdraw, replaced at an arming).
    timer: UnsafeCell<Option<Arc<Shared<R>>>>,
    _pinned: PhantomPinned,
}

/// What the timer keeps in the alarm.
struct Link<R: Owed> {
    /// The deadline as the timer encodes it (`Shared::encode`).
    deadline: u64,
    /// The trace's id of this arming (0 when not tracing).
    id: u64,
    /// The next alarm in the inbox.
    next: *const Alarm<R>,
    /// Its index in the heap while `HEAPED`.
    slot: usize,
}

// SAFETY: the raw pointers in `link` are only followed under the timer's
// protocol (module docs); everything else is `Send + Sync` already.
unsafe impl<R: Owed> Send for Alarm<R> {}
// SAFETY: as for `Send`: shared access goes through atomics, the `waker`
// mutex, or `link` under the timer's lock; what only the owner touches
// (`timer`, and `link` while the alarm is in no timer) is written only
// through `Pin<&mut Alarm>`.
unsafe impl<R: Owed> Sync for Alarm<R> {}

impl<R: Owed> Alarm<R> {
    /// An alarm in no timer.
    pub(crate) fn new() -> Alarm<R> {
        Alarm {
            state: AtomicU8::new(IDLE),
            waker: Mutex::new(None),
            link: UnsafeCell::new(Link {
                deadline: 0,
                id: 0,
                next: std::ptr::null(),
                slot: 0,
            }),
            timer: UnsafeCell::new(None),
            _pinned: PhantomPinned,
        }
    }

    /// Arms the alarm in `shared` for `deadline`, to wake `waker`: `Pending`
    /// once it is in the timer's inbox; `Ready(Ok)` at once, without the
    /// timer, if the timekeeper has already seen `deadline` pass (also after
    /// the timer stopped); `Ready(Err(Shutdown))` if the timer is stopped,
    /// `Ready(Err(OutOfMemory))` if its thread cannot start. A live arming
    /// is withdrawn first.
    ///
    /// The alarm keeps `shared` (the timer it is in) for its withdrawal; an
    /// alarm armed again in the same timer drops the one passed.
    pub(crate) fn arm_in(
        mut self: Pin<&mut Self>,
        shared: Arc<Shared<R>>,
        deadline: Instant,
        waker: &Waker,
    ) -> Poll<Result<()>> {
        if self.is_in_timer() {
            self.as_mut().withdraw();
        }
        let encoded = shared.encode(deadline);
        if shared.has_seen(encoded) {
            return Poll::Ready(Ok(()));
        }
        if let Err(error) = shared.admits() {
            return Poll::Ready(Err(error));
        }
        let this = self.as_ref();
        // A ring of the last arming may still be leaving the `waker` lock:
        // taking it waits for that; from here nobody else holds the alarm.
        // The waker is cloned before the lock and the old one dropped after
        // it (see `leave_waker`).
        let clone = waker.clone();
        let old = lock(&this.waker).replace(clone);
        drop(old);
        // An id only for the trace (a shared counter costs every arming).
        let id = if crate::observe::tracing() {
            super::item::next_key(ALARM_TAG)
        } else {
            0
        };
        this.link.with_mut(|link| {
            // SAFETY: in no timer (withdrawn above): the owner's alone.
            let link = unsafe { &mut *link };
            link.deadline = encoded;
            link.id = id;
        });
        // The alarm keeps the timer it is in; the one let go of (an earlier
        // platform run's, or `shared` itself when already kept) is dropped
        // outside every lock.
        let spare = this.timer.with_mut(|timer| {
            // SAFETY: `timer` is the owner's alone.
            let timer = unsafe { &mut *timer };
            match timer {
                Some(kept) if Arc::ptr_eq(kept, &shared) => Some(shared),
                _ => timer.replace(shared),
            }
        });
        this.state.store(QUEUED, Ordering::Relaxed);
        this.timer.with_mut(|timer| {
            // SAFETY: as above.
            unsafe { &*timer }
                .as_ref()
                .expect("kept above")
                .enter_alarm(this.as_ptr(), id, encoded);
        });
        drop(spare);
        Poll::Pending
    }

    /// Leaves `waker` in the alarm to be woken at the ring, unless the
    /// arming has ended: then its outcome. The waker is cloned before, and
    /// the one it replaces dropped after, the `waker` lock, which the
    /// timekeeper takes under the timer's lock: the task's code never runs
    /// under it.
    fn leave_waker(&self, waker: &Waker) -> Option<Result<()>> {
        let clone = waker.clone();
        let (outcome, leftover) = {
            let mut kept = lock(&self.waker);
            match self.outcome() {
                Some(outcome) => (Some(outcome), Some(clone)),
                None => match &*kept {
                    Some(stored) if stored.will_wake(waker) => (None, Some(clone)),
                    _ => (None, kept.replace(clone)),
                },
            }
        };
        drop(leftover);
        outcome
    }

    /// Ready with the outcome once the arming has ended; else pending, with
    /// `waker` kept to be woken. (The state is read again under the `waker`
    /// lock, where a ring sets it, so a ring either is seen or finds the
    /// waker.)
    pub(crate) fn poll(self: Pin<&Self>, waker: &Waker) -> Poll<Result<()>> {
        if let Some(outcome) = self.outcome() {
            return Poll::Ready(outcome);
        }
        match self.leave_waker(waker) {
            Some(outcome) => Poll::Ready(outcome),
            None => Poll::Pending,
        }
    }

    /// How the last arming ended, if it has.
    pub(crate) fn outcome(&self) -> Option<Result<()>> {
        match self.state.load(Ordering::Acquire) {
            RUNG => Some(Ok(())),
            ENDED => Some(Err(Error::Shutdown)),
            _ => None,
        }
    }

    /// Whether an arming is live (in the inbox or the heap).
    pub(super) fn is_in_timer(&self) -> bool {
        matches!(self.state.load(Ordering::Acquire), QUEUED | HEAPED)
    }

    /// Takes the alarm out of its timer: `true` if a live arming was
    /// withdrawn (it never rings), `false` if there was none or it has rung.
    /// Afterwards no other thread touches the alarm until it is armed again,
    /// so it may be freed.
    pub(crate) fn withdraw(self: Pin<&mut Self>) -> bool {
        let this = self.as_ref();
        match this.state.load(Ordering::Acquire) {
            IDLE => false,
            RUNG | ENDED => {
                // The ring set the state under this lock: once we hold it,
                // the ring has let go of the alarm.
                drop(lock(&this.waker));
                false
            }
            _ => {
                let withdrew = this.timer.with_mut(|timer| {
                    // SAFETY: `timer` is the owner's alone.
                    unsafe { &*timer }
                        .as_ref()
                        .expect("an armed alarm knows its timer")
                        .withdraw_alarm(this.as_ptr())
                });
                if withdrew {
                    // Dropped outside both locks: a waker's drop is the
                    // task's code.
                    let waker = lock(&this.waker).take();
                    drop(waker);
                }
                withdrew
            }
        }
    }

    fn as_ptr(self: Pin<&Self>) -> NonNull<Alarm<R>> {
        NonNull::from(self.get_ref())
    }
}

impl Alarm<AsyncResult> {
    /// [`arm_in`](Self::arm_in) the running platform's timer (taken out of
    /// the platform's routes first: arming may run the task's code, a
    /// waker's clone or drop). Refused (no platform, or its timer stopped),
    /// a deadline already passed is still just due: `Ready(Ok)`.
    pub(crate) fn arm(self: Pin<&mut Self>, deadline: Instant, waker: &Waker) -> Poll<Result<()>> {
        let shared = crate::platform::route::with_epoch(|epoch| {
            Timers::of(epoch).map(|timers| Arc::clone(&timers.shared))
        })
        .and_then(|shared| shared);
        let outcome = match shared {
            Ok(shared) => self.arm_in(shared, deadline, waker),
            Err(error) => Poll::Ready(Err(error)),
        };
        match outcome {
            Poll::Ready(Err(_)) if deadline <= Instant::now() => Poll::Ready(Ok(())),
            outcome => outcome,
        }
    }
}

impl<R: Owed> Drop for Alarm<R> {
    fn drop(&mut self) {
        // SAFETY: an alarm is only ever armed through `Pin<&mut Self>`, so
        // one in a timer is pinned and this is the drop that ends its
        // pinning.
        unsafe { Pin::new_unchecked(self) }.withdraw();
    }
}

/// An alarm as the timer holds it (a pointer into a pinned future).
pub(super) struct AlarmRef<R: Owed>(NonNull<Alarm<R>>);

// SAFETY: the alarm is `Sync`, and the protocol (module docs) keeps it alive
// while the timer holds it.
unsafe impl<R: Owed> Send for AlarmRef<R> {}

impl<R: Owed> AlarmRef<R> {
    /// The alarm at `alarm`, which its owner is withdrawing under the timer's
    /// lock (so it is alive, and in this timer if its state says so).
    pub(super) fn withdrawing(alarm: NonNull<Alarm<R>>) -> AlarmRef<R> {
        AlarmRef(alarm)
    }

    /// In the inbox (not yet moved into the heap).
    pub(super) fn is_queued(&self) -> bool {
        self.alarm().state.load(Ordering::Acquire) == QUEUED
    }

    /// In the inbox or the heap.
    pub(super) fn is_in_timer(&self) -> bool {
        self.alarm().is_in_timer()
    }

    /// Out of the timer without ringing (the owner withdrew it).
    pub(super) fn set_withdrawn(self) {
        self.alarm().state.store(IDLE, Ordering::Release);
    }

    /// SAFETY (of every method): called under the timer's lock, on an alarm
    /// the timer holds (in its inbox or its heap), which its owner cannot
    /// free meanwhile.
    fn alarm(&self) -> &Alarm<R> {
        // SAFETY: see above.
        unsafe { self.0.as_ref() }
    }

    fn link<T>(&self, f: impl FnOnce(&mut Link<R>) -> T) -> T {
        // SAFETY: the timer's lock is held (see `alarm`).
        self.alarm().link.with_mut(|link| f(unsafe { &mut *link }))
    }

    /// Its trace id.
    pub(super) fn id(&self) -> u64 {
        self.link(|link| link.id)
    }

    /// Ends the arming with `Ok` (its deadline came) or `Err(Shutdown)`,
    /// taking it out of the timer; returns the waker to wake once the
    /// timer's lock is released. After this the timer no longer holds the
    /// alarm.
    pub(super) fn ring(self, ok: bool) -> Option<Waker> {
        let alarm = self.alarm();
        let mut waker = lock(&alarm.waker);
        alarm
            .state
            .store(if ok { RUNG } else { ENDED }, Ordering::Release);
        waker.take()
    }
}

/// The timer's inbox of alarms: a lock-free stack, pushed by the owners and
/// emptied under the timer's lock.
pub(super) struct Inbox<R: Owed> {
    head: AtomicPtr<Alarm<R>>,
}

impl<R: Owed> Inbox<R> {
    pub(super) fn new() -> Inbox<R> {
        Inbox {
            head: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Pushes an alarm its owner has just made `QUEUED` (SeqCst: one half
    /// of `Shared::enter_alarm`'s Dekker pair).
    pub(super) fn push(&self, alarm: NonNull<Alarm<R>>) {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: the owner holds the alarm alone until this push
            // succeeds.
            unsafe { alarm.as_ref() }
                .link
                .with_mut(|link| unsafe { (*link).next = head });
            match self.head.compare_exchange_weak(
                head,
                alarm.as_ptr(),
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }

    /// Whether anything waits (SeqCst: the timekeeper's half of the pair).
    pub(super) fn is_empty(&self) -> bool {
        self.head.load(Ordering::SeqCst).is_null()
    }

    /// Takes every alarm in it. Called under the timer's lock.
    /// SeqCst: the stop's half of the Dekker pair on `closed` (it sets
    /// `closed`, then takes the inbox; a pusher pushes, then reads it).
    pub(super) fn take(&self, mut each: impl FnMut(AlarmRef<R>)) {
        let mut next = self.head.swap(std::ptr::null_mut(), Ordering::SeqCst);
        while let Some(alarm) = NonNull::new(next) {
            let alarm = AlarmRef(alarm);
            next = alarm.link(|link| link.next.cast_mut());
            each(alarm);
        }
    }
}

/// The heap of alarms by deadline, each alarm knowing its slot so that a
/// withdrawal removes it in place. Under the timer's lock.
pub(super) struct AlarmHeap<R: Owed> {
    slots: Vec<(u64, AlarmRef<R>)>,
}

impl<R: Owed> AlarmHeap<R> {
    pub(super) fn with_capacity(capacity: usize) -> AlarmHeap<R> {
        AlarmHeap {
            slots: Vec::with_capacity(capacity),
        }
    }

    /// Adds an alarm from the inbox (`QUEUED` to `HEAPED`).
    pub(super) fn push(&mut self, alarm: AlarmRef<R>) {
        alarm.alarm().state.store(HEAPED, Ordering::Relaxed);
        let deadline = alarm.link(|link| link.deadline);
        self.slots.push((deadline, alarm));
        self.sift_up(self.slots.len() - 1);
    }

    /// The earliest deadline.
    pub(super) fn next_deadline(&self) -> Option<u64> {
        self.slots.first().map(|(deadline, _)| *deadline)
    }

    /// Takes the earliest alarm if it is due at `now` (encoded).
    pub(super) fn pop_due(&mut self, now: u64) -> Option<AlarmRef<R>> {
        if self.next_deadline()? > now {
            return None;
        }
        Some(self.remove_at(0))
    }

    /// Takes every alarm.
    pub(super) fn take_all(&mut self) -> Vec<AlarmRef<R>> {
        self.slots.drain(..).map(|(_, alarm)| alarm).collect()
    }

    /// Removes `alarm`, which is `HEAPED` in this heap.
    pub(super) fn remove(&mut self, alarm: AlarmRef<R>) -> AlarmRef<R> {
        let slot = alarm.link(|link| link.slot);
        assert!(self.slots[slot].1 .0 == alarm.0, "the alarm knows its slot");
        self.remove_at(slot)
    }

    fn remove_at(&mut self, slot: usize) -> AlarmRef<R> {
        let (_, alarm) = self.slots.swap_remove(slot);
        if slot < self.slots.len() {
            self.set_slot(slot);
            let moved = self.sift_up(slot);
            if moved == slot {
                self.sift_down(slot);
            }
        }
        alarm
    }

    fn set_slot(&self, slot: usize) {
        self.slots[slot].1.link(|link| link.slot = slot);
    }

    /// Moves the entry at `slot` up to its place; returns where it landed.
    fn sift_up(&mut self, mut slot: usize) -> usize {
        while slot > 0 {
            let parent = (slot - 1) / 2;
            if self.slots[parent].0 <= self.slots[slot].0 {
                break;
            }
            self.slots.swap(parent, slot);
            self.set_slot(slot);
            slot = parent;
        }
        self.set_slot(slot);
        slot
    }

    fn sift_down(&mut self, mut slot: usize) {
        let len = self.slots.len();
        loop {
            let left = 2 * slot + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && self.slots[right].0 < self.slots[left].0 {
                right
            } else {
                left
            };
            if self.slots[slot].0 <= self.slots[child].0 {
                break;
            }
            self.slots.swap(slot, child);
            self.set_slot(slot);
            slot = child;
        }
        self.set_slot(slot);
    }
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Alarms in boxes (pinned, as a `Sleep` pins its own), with their
    /// deadlines set as an arming sets them.
    fn alarms(deadlines: &[u64]) -> Vec<Pin<Box<Alarm>>> {
        deadlines
            .iter()
            .map(|&deadline| {
                let alarm = Box::pin(Alarm::new());
                alarm
                    .link
                    .with_mut(|link| unsafe { (*link).deadline = deadline });
                alarm
            })
            .collect()
    }

    fn handle(alarm: &Pin<Box<Alarm>>) -> AlarmRef<AsyncResult> {
        AlarmRef(alarm.as_ref().as_ptr())
    }

    /// The heap gives its alarms back by deadline, and a removal in place
    /// (the withdrawal's) keeps every other alarm's slot right.
    #[test]
    fn heap_pops_by_deadline_and_removes_in_place() {
        let deadlines: Vec<u64> = (0..64u64).map(|i| (i * 37) % 64 + 1).collect();
        let owned = alarms(&deadlines);
        let mut heap = AlarmHeap::with_capacity(4);
        for alarm in &owned {
            heap.push(handle(alarm));
        }
        // Withdraw every third alarm from wherever it is in the heap.
        for alarm in owned.iter().step_by(3) {
            let removed = heap.remove(handle(alarm));
            assert!(removed.0 == alarm.as_ref().as_ptr());
            removed.set_withdrawn();
        }
        let mut expected: Vec<u64> = deadlines
            .iter()
            .enumerate()
            .filter(|(index, _)| index % 3 != 0)
            .map(|(_, deadline)| *deadline)
            .collect();
        expected.sort_unstable();
        let mut popped = Vec::new();
        while let Some(alarm) = heap.pop_due(u64::MAX) {
            popped.push(alarm.link(|link| link.deadline));
            assert!(alarm.ring(true).is_none(), "no waker was left");
        }
        assert_eq!(popped, expected);
        assert!(owned
            .iter()
            .enumerate()
            .all(|(index, alarm)| (alarm.outcome() == Some(Ok(()))) == (index % 3 != 0)));
    }

    /// `pop_due` takes only what is due.
    #[test]
    fn heap_pops_only_due_alarms() {
        let owned = alarms(&[30, 10, 20]);
        let mut heap = AlarmHeap::with_capacity(4);
        for alarm in &owned {
            heap.push(handle(alarm));
        }
        assert_eq!(heap.next_deadline(), Some(10));
        assert!(heap.pop_due(9).is_none());
        let due = heap.pop_due(20).expect("10 is due");
        assert_eq!(due.link(|link| link.deadline), 10);
        due.ring(true);
        let due = heap.pop_due(20).expect("20 is due");
        due.ring(true);
        assert!(heap.pop_due(20).is_none());
        for alarm in heap.take_all() {
            alarm.ring(false);
        }
        assert_eq!(owned[0].outcome(), Some(Err(Error::Shutdown)));
    }

    struct CountingWaker(AtomicUsize);

    impl std::task::Wake for CountingWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Through a timer with its timekeeper: alarms due soon ring and wake
    /// their task once, alarms withdrawn (from the inbox or the heap) never
    /// do, and the stop ends the rest with `Shutdown`.
    #[test]
    fn a_timer_rings_due_alarms_and_never_withdrawn_ones() {
        let shared = Shared::<AsyncResult>::new();
        let count = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(std::sync::Arc::clone(&count));
        let far = Instant::now() + Duration::from_secs(3600);
        let soon = Instant::now() + Duration::from_millis(1);
        let mut owned: Vec<Pin<Box<Alarm>>> = (0..8).map(|_| Box::pin(Alarm::new())).collect();
        // The even ones due soon (or at once, if the timekeeper has seen
        // their deadline pass already: then no wake-up), the odd ones far.
        let mut pending_soon = 0;
        let mut due_at_once = [false; 8];
        for (index, alarm) in owned.iter_mut().enumerate() {
            let deadline = if index % 2 == 0 { soon } else { far };
            match alarm.as_mut().arm_in(Arc::clone(&shared), deadline, &waker) {
                Poll::Pending => pending_soon += usize::from(index % 2 == 0),
                Poll::Ready(outcome) => {
                    due_at_once[index] = true;
                    assert_eq!(outcome, Ok(()));
                    assert_eq!(index % 2, 0, "only a deadline passed is due at once");
                }
            }
        }
        // Withdrawn at once (maybe still in the inbox): never rings.
        assert!(owned[1].as_mut().withdraw());
        let deadline = Instant::now() + Duration::from_secs(10);
        while count.0.load(Ordering::SeqCst) < pending_soon {
            assert!(Instant::now() < deadline, "due alarms ring");
            std::thread::sleep(Duration::from_millis(1));
        }
        // Withdrawn from the heap.
        assert!(owned[3].as_mut().withdraw());
        // A rung alarm is not withdrawn, and can be armed again.
        if pending_soon == 4 {
            assert!(!owned[0].as_mut().withdraw());
            assert_eq!(owned[0].outcome(), Some(Ok(())));
        }
        assert!(owned[0]
            .as_mut()
            .arm_in(Arc::clone(&shared), far, &waker)
            .is_pending());
        assert_eq!(owned[0].outcome(), None);
        shared.stop(Instant::now() + Duration::from_secs(10));
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            pending_soon + 3,
            "the stop woke the far ones"
        );
        for (index, alarm) in owned.iter().enumerate() {
            let expected = match index {
                1 | 3 => None,
                // Due at once: never in the timer.
                2 | 4 | 6 if due_at_once[index] => None,
                2 | 4 | 6 => Some(Ok(())),
                _ => Some(Err(Error::Shutdown)),
            };
            assert_eq!(alarm.outcome(), expected, "alarm {index}");
        }
        // Armed after the stop: refused.
        let mut late = Box::pin(Alarm::new());
        assert_eq!(
            late.as_mut().arm_in(Arc::clone(&shared), far, &waker),
            Poll::Ready(Err(Error::Shutdown))
        );
    }
}
