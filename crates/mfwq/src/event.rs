//! A portable event object (manual- or auto-reset), the Linux stand-in for a
//! Win32 event `HANDLE`: it is what a result's `hEvent` holds (docs/behaviour.md#d17).
//!
//! Besides threads blocked in [`Event::wait`], an event keeps a list of the
//! waiting items put on it ([`put_waiting_work_item`](crate::put_waiting_work_item)):
//! [`Event::set`] claims them under the event's lock and dispatches them after
//! releasing it (see `wait.rs`).

#[cfg(all(test, mfwq_loom))]
mod loom_tests;

use std::collections::VecDeque;
use std::sync::Weak;
use std::time::{Duration, Instant};

use crate::sched::Invocation;
use crate::sync::parking::{Condvar, Mutex, MutexGuard};
use crate::sync::thread::{self, Thread};
use crate::sync::{Arc, AtomicU64, Ordering};

/// A Win32-style event: set, reset, wait with a timeout.
///
/// A manual-reset event stays set until [`Event::reset`]; an auto-reset event
/// releases one waiter and clears itself. Clones share the same event.
///
/// ```
/// use mfwq::Event;
/// use std::time::Duration;
/// let done = Event::manual_reset(false);
/// let signal = done.clone();
/// std::thread::spawn(move || signal.set());
/// assert!(done.wait(Some(Duration::from_secs(5))));
/// assert!(done.is_set());
/// ```
#[derive(Clone)]
pub struct Event(Arc<EventInner>);

/// Something registered on an event that a [`set`](Event::set) releases
/// without a thread waiting: a waiting work item (`wait.rs`). The event
/// decides under its lock which waiters a set releases ([`claim`](Self::claim),
/// which must run no user code), and fires them after releasing it.
pub(crate) trait EventWaiter: Send + Sync {
    /// Claims the waiter for this set if it is still pending; whether it was.
    fn claim(&self) -> bool;
    /// Whether the waiter is still pending (not fired, cancelled or stopped).
    fn is_pending(&self) -> bool;
    /// Dispatches a waiter this thread claimed; no lock is held.
    fn fire(self: Arc<Self>);
}

/// A handle that does not keep the event alive (held by waiting items).
#[derive(Clone)]
pub(crate) struct WeakEvent(Weak<EventInner>);

impl WeakEvent {
    pub(crate) fn upgrade(&self) -> Option<Event> {
        self.0.upgrade().map(Event)
    }
}

struct EventInner {
    manual_reset: bool,
    state: Mutex<EventState>,
    changed: Condvar,
}

struct EventState {
    signalled: bool,
    /// Waiting items registered on this event, oldest first. An entry may be
    /// already decided (cancelled, or stopped at shutdown, racing with its
    /// removal): `set` skips those.
    waits: VecDeque<Arc<dyn EventWaiter>>,
    /// Threads blocked in [`Event::wait_any`] / [`Event::wait_all`] with this
    /// event among theirs; every `set` that leaves the event signalled wakes
    /// them all, and each re-checks its own condition.
    multi_waiters: Vec<Arc<MultiWaiter>>,
    /// The work item that set the event from inside its `Invoke`, if the last
    /// set came from a worker: a thread that a successful wait wakes waits
    /// for that item to finish first (see [`Event::settle_setter`]).
    setter: Option<Invocation>,
}

impl Event {
    /// A new event; `manual_reset` chooses the kind, `initially_set` the first state.
    pub fn new(manual_reset: bool, initially_set: bool) -> Event {
        Event(Arc::new(EventInner {
            manual_reset,
            state: Mutex::new(EventState {
                signalled: initially_set,
                waits: VecDeque::new(),
                multi_waiters: Vec::new(),
                setter: None,
            }),
            changed: Condvar::new(),
        }))
    }

    /// A manual-reset event.
    pub fn manual_reset(initially_set: bool) -> Event {
        Event::new(true, initially_set)
    }

    /// An auto-reset event.
    pub fn auto_reset(initially_set: bool) -> Event {
        Event::new(false, initially_set)
    }

    /// Sets the event, waking every waiter (manual reset) or one (auto reset).
    ///
    /// Waiting items put on the event count as waiters: a manual-reset event
    /// releases all of them and stays set; an auto-reset event releases the
    /// oldest one, which consumes the signal, and wakes a blocked thread only
    /// when no item was waiting. Released items are dispatched from this
    /// thread, after the event's lock is released.
    pub fn set(&self) {
        let mut released_one = None;
        let mut released_many = Vec::new();
        let setter = Invocation::current();
        {
            let mut state = self.0.state.lock();
            state.signalled = true;
            state.setter = setter;
            if self.0.manual_reset {
                for item in state.waits.drain(..) {
                    if item.claim() {
                        released_many.push(item);
                    }
                }
                self.0.changed.notify_all();
            } else {
                while let Some(item) = state.waits.pop_front() {
                    if item.claim() {
                        released_one = Some(item);
                        state.signalled = false;
                        break;
                    }
                }
                if state.signalled {
                    self.0.changed.notify_one();
                }
            }
            if state.signalled {
                state.wake_multi_waiters();
            }
        }
        for item in released_one.into_iter().chain(released_many) {
            item.fire();
        }
    }

    /// Clears the event.
    pub fn reset(&self) {
        self.0.state.lock().signalled = false;
    }

    /// Whether this is a manual-reset event (it stays set until
    /// [`reset`](Self::reset)); `false` for an auto-reset event (a successful
    /// wait clears it). Fixed when the event is made.
    ///
    /// ```
    /// use mfwq::Event;
    /// assert!(Event::manual_reset(false).is_manual_reset());
    /// assert!(!Event::auto_reset(true).is_manual_reset());
    /// assert!(Event::new(true, false).is_manual_reset());
    /// ```
    pub fn is_manual_reset(&self) -> bool {
        self.0.manual_reset
    }

    /// Whether the event is set now (does not consume an auto-reset signal).
    pub fn is_set(&self) -> bool {
        self.0.state.lock().signalled
    }

    /// Waits until the event is set, or the timeout passes (`None` waits forever).
    /// Returns whether the event was set; an auto-reset event is cleared by a
    /// successful wait.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut state = self.0.state.lock();
        while !state.signalled {
            match deadline {
                // No timeout, or one too large to represent: wait for ever.
                None => self.0.changed.wait(&mut state),
                Some(deadline) => {
                    if self.0.changed.wait_until(&mut state, deadline).timed_out()
                        && !state.signalled
                    {
                        return false;
                    }
                }
            }
        }
        if !self.0.manual_reset {
            state.signalled = false;
        }
        let setter = state.setter.clone();
        drop(state);
        self.settle(setter);
        true
    }

    /// After a successful wait: if the set that woke it came from inside a
    /// work item's `Invoke`, waits until the worker has finished that item,
    /// so that the worker's reference to the item's result is gone, as on
    /// Windows, where the woken thread's `Release` of the result then returns
    /// 0. The wait is bounded: by [`Invocation::SETTLE_LIMIT`] while `Invoke`
    /// still runs (it may wait for this very thread), by
    /// [`Invocation::RELEASE_LIMIT`] once it has returned and only the
    /// worker's release is left. The woken thread never touches the result
    /// here; it only waits.
    fn settle(&self, setter: Option<Invocation>) {
        let Some(setter) = setter else { return };
        if !setter.settle() {
            // The item goes on (or this is its own worker): later waits on
            // this event need not wait for it again.
            let mut state = self.0.state.lock();
            if state
                .setter
                .as_ref()
                .is_some_and(|current| current.same(&setter))
            {
                state.setter = None;
            }
        }
    }

    /// [`settle`](Self::settle) for an event a multiple-object wait took.
    fn settle_setter(&self) {
        let setter = self.0.state.lock().setter.clone();
        self.settle(setter);
    }

    /// Whether two handles name the same event.
    pub fn ptr_eq(&self, other: &Event) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    pub(crate) fn downgrade(&self) -> WeakEvent {
        WeakEvent(Arc::downgrade(&self.0))
    }

    /// Registers a waiter. If the event is already set, the waiter is
    /// claimed at once (an auto-reset event's signal is consumed) and fired
    /// after the lock is released; otherwise it waits for [`set`](Self::set).
    pub(crate) fn register_wait(&self, item: Arc<dyn EventWaiter>) {
        let claimed = {
            let mut state = self.0.state.lock();
            if state.signalled {
                let claimed = item.claim();
                if claimed && !self.0.manual_reset {
                    state.signalled = false;
                }
                claimed.then_some(item)
            } else {
                if item.is_pending() {
                    state.waits.push_back(item);
                }
                None
            }
        };
        if let Some(item) = claimed {
            item.fire();
        }
    }

    /// Removes a decided waiter from the list (cancel, shutdown).
    pub(crate) fn unregister_wait(&self, item: &Arc<dyn EventWaiter>) {
        let removed = {
            let mut state = self.0.state.lock();
            let position = state
                .waits
                .iter()
                .position(|w| std::ptr::addr_eq(Arc::as_ptr(w), Arc::as_ptr(item)));
            position.and_then(|position| state.waits.remove(position))
        };
        drop(removed);
    }
}

/// A thread blocked in [`Event::wait_any`] or [`Event::wait_all`]. It is
/// registered on each of its events; [`Event::set`] bumps `epoch` under the
/// event's lock and unparks the thread, which then re-checks its condition.
///
/// No wake-up is lost: the waiter reads `epoch` before it checks the events
/// (each under its lock), and it is registered before that check, so a `set`
/// that comes after the check has moved `epoch` by the time the waiter parks.
struct MultiWaiter {
    thread: Thread,
    epoch: AtomicU64,
}

impl MultiWaiter {
    fn notify(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Parks the calling thread (the waiter's own) until `epoch` moves past
    /// `seen`; `false` once `deadline` has passed first.
    fn park_past(&self, seen: u64, deadline: Option<Instant>) -> bool {
        loop {
            if self.epoch() != seen {
                return true;
            }
            match deadline {
                None => thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    thread::park_timeout(deadline - now);
                }
            }
        }
    }
}

impl EventState {
    fn wake_multi_waiters(&self) {
        for waiter in &self.multi_waiters {
            waiter.notify();
        }
    }
}

/// The registration of one [`MultiWaiter`] on a set of events, undone on drop
/// (return, timeout or panic alike).
struct Registration<'a> {
    waiter: Arc<MultiWaiter>,
    events: Vec<&'a Event>,
}

impl<'a> Registration<'a> {
    /// Registers a waiter for the calling thread on each of `events`.
    fn new(events: impl IntoIterator<Item = &'a Event>) -> Registration<'a> {
        let waiter = Arc::new(MultiWaiter {
            thread: thread::current(),
            epoch: AtomicU64::new(0),
        });
        let events: Vec<&Event> = events.into_iter().collect();
        for event in &events {
            event.0.state.lock().multi_waiters.push(Arc::clone(&waiter));
        }
        Registration { waiter, events }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        for event in &self.events {
            event
                .0
                .state
                .lock()
                .multi_waiters
                .retain(|waiter| !Arc::ptr_eq(waiter, &self.waiter));
        }
    }
}

/// Waiting on several events at once, as `WaitForMultipleObjects` does.
impl Event {
    /// Consumes the event if it is set (clears an auto-reset one); whether it was.
    fn try_consume(&self) -> bool {
        let mut state = self.0.state.lock();
        if !state.signalled {
            return false;
        }
        if !self.0.manual_reset {
            state.signalled = false;
        }
        true
    }

    /// The lowest index whose event is set, consuming that one event only.
    fn try_consume_any(events: &[Event]) -> Option<usize> {
        events.iter().position(Event::try_consume)
    }

    /// Whether every event is set, checked under all of their locks at once;
    /// if so, consumes every auto-reset one, else changes nothing. `events`
    /// must be sorted by address with no duplicates: that global order is
    /// what keeps two such calls from deadlocking. (Nothing else holds two
    /// event locks at a time.)
    fn try_consume_all(events: &[&Event]) -> bool {
        let mut states: Vec<MutexGuard<'_, EventState>> =
            events.iter().map(|event| event.0.state.lock()).collect();
        if !states.iter().all(|state| state.signalled) {
            return false;
        }
        for (event, state) in events.iter().zip(states.iter_mut()) {
            if !event.0.manual_reset {
                state.signalled = false;
            }
        }
        true
    }

    /// Waits until at least one of `events` is set, or the timeout passes
    /// (`None` waits for ever). Returns the index of the event the wait took:
    /// the lowest-index one that was set, of which only that one is consumed
    /// (an auto-reset event is cleared; the others are left alone). `None`
    /// when the timeout passed, and at once for an empty slice.
    ///
    /// The same event may appear more than once. A [`set`](Self::set) wakes
    /// this wait whatever the event's kind; for an auto-reset event, a waiting
    /// work item put on it still comes first, and a thread blocked in
    /// [`wait`](Self::wait) competes with this one for the signal (one of them
    /// gets it, never both).
    ///
    /// ```
    /// use mfwq::Event;
    /// use std::time::Duration;
    /// let events = [Event::auto_reset(false), Event::auto_reset(true), Event::auto_reset(true)];
    /// // The lowest signalled index; only that event is consumed.
    /// assert_eq!(Event::wait_any(&events, Some(Duration::ZERO)), Some(1));
    /// assert!(!events[1].is_set());
    /// assert!(events[2].is_set());
    ///
    /// let first = events[0].clone();
    /// std::thread::spawn(move || first.set());
    /// events[2].reset();
    /// assert_eq!(Event::wait_any(&events, Some(Duration::from_secs(10))), Some(0));
    /// assert_eq!(Event::wait_any(&events, Some(Duration::from_millis(1))), None);
    /// ```
    pub fn wait_any(events: &[Event], timeout: Option<Duration>) -> Option<usize> {
        let taken = Event::wait_any_unsettled(events, timeout);
        if let Some(index) = taken {
            events[index].settle_setter();
        }
        taken
    }

    fn wait_any_unsettled(events: &[Event], timeout: Option<Duration>) -> Option<usize> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        if let Some(index) = Event::try_consume_any(events) {
            return Some(index);
        }
        if events.is_empty() || timeout == Some(Duration::ZERO) {
            return None;
        }
        let registration = Registration::new(events);
        loop {
            let seen = registration.waiter.epoch();
            if let Some(index) = Event::try_consume_any(events) {
                return Some(index);
            }
            if !registration.waiter.park_past(seen, deadline) {
                // A set that raced with the deadline still counts.
                return Event::try_consume_any(events);
            }
        }
    }

    /// Waits until every one of `events` is set at the same moment, or the
    /// timeout passes (`None` waits for ever). On success every auto-reset
    /// event among them is consumed, all together under their locks: the wait
    /// never takes some signals and leaves others. On a timeout nothing is
    /// consumed. An empty slice is `true` at once; an event that appears more
    /// than once counts once.
    ///
    /// While the wait is not satisfied, the signals stay where they are: other
    /// threads (and waiting work items) may consume them meanwhile, in which
    /// case this wait goes on waiting, as on Windows.
    ///
    /// ```
    /// use mfwq::Event;
    /// use std::time::Duration;
    /// let a = Event::auto_reset(true);
    /// let b = Event::manual_reset(false);
    /// let events = [a.clone(), b.clone()];
    /// // Not all set: nothing is consumed.
    /// assert!(!Event::wait_all(&events, Some(Duration::from_millis(1))));
    /// assert!(a.is_set());
    ///
    /// std::thread::spawn(move || b.set());
    /// assert!(Event::wait_all(&events, Some(Duration::from_secs(10))));
    /// assert!(!a.is_set(), "the auto-reset event was consumed");
    /// assert!(events[1].is_set(), "the manual-reset event stays set");
    /// ```
    pub fn wait_all(events: &[Event], timeout: Option<Duration>) -> bool {
        let taken = Event::wait_all_unsettled(events, timeout);
        if taken {
            for event in events {
                event.settle_setter();
            }
        }
        taken
    }

    fn wait_all_unsettled(events: &[Event], timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut sorted: Vec<&Event> = events.iter().collect();
        sorted.sort_by_key(|event| Arc::as_ptr(&event.0) as usize);
        sorted.dedup_by(|a, b| a.ptr_eq(b));
        if Event::try_consume_all(&sorted) {
            return true;
        }
        if timeout == Some(Duration::ZERO) {
            return false;
        }
        let registration = Registration::new(sorted.iter().copied());
        loop {
            let seen = registration.waiter.epoch();
            if Event::try_consume_all(&sorted) {
                return true;
            }
            if !registration.waiter.park_past(seen, deadline) {
                return Event::try_consume_all(&sorted);
            }
        }
    }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("manual_reset", &self.0.manual_reset)
            .field("set", &self.is_set())
            .finish()
    }
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    #[test]
    fn auto_reset_releases_one_wait() {
        let event = Event::auto_reset(true);
        assert!(event.wait(Some(Duration::ZERO)));
        assert!(!event.wait(Some(Duration::from_millis(1))));
    }

    #[test]
    fn manual_reset_stays_set_until_reset() {
        let event = Event::manual_reset(false);
        assert!(!event.wait(Some(Duration::from_millis(1))));
        event.set();
        assert!(event.wait(Some(Duration::ZERO)));
        assert!(event.wait(None));
        event.reset();
        assert!(!event.is_set());
    }

    #[test]
    fn set_from_another_thread_wakes_waiter() {
        let event = Event::auto_reset(false);
        let setter = event.clone();
        let handle = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            setter.set();
        });
        assert!(event.wait(Some(Duration::from_secs(10))));
        handle.join().unwrap();
    }

    #[test]
    fn wait_any_takes_the_lowest_set_index_and_consumes_only_it() {
        let events = [
            Event::manual_reset(false),
            Event::auto_reset(true),
            Event::auto_reset(true),
        ];
        assert_eq!(Event::wait_any(&events, Some(Duration::ZERO)), Some(1));
        assert!(!events[1].is_set());
        assert!(events[2].is_set());
        assert_eq!(Event::wait_any(&events, None), Some(2));
        assert_eq!(
            Event::wait_any(&events, Some(Duration::from_millis(5))),
            None
        );
        events[0].set();
        // A manual-reset event stays set through any number of waits.
        assert_eq!(Event::wait_any(&events, None), Some(0));
        assert_eq!(Event::wait_any(&events, None), Some(0));
        assert_eq!(Event::wait_any(&[], None), None);
        // Duplicates are allowed.
        let dup = Event::auto_reset(true);
        assert_eq!(Event::wait_any(&[dup.clone(), dup.clone()], None), Some(0));
        assert!(!dup.is_set());
    }

    #[test]
    fn wait_any_is_woken_by_a_set_on_another_thread() {
        for manual in [false, true] {
            let events = [Event::new(manual, false), Event::new(manual, false)];
            let second = events[1].clone();
            let setter = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                second.set();
            });
            assert_eq!(Event::wait_any(&events, None), Some(1));
            assert_eq!(events[1].is_set(), manual);
            setter.join().unwrap();
        }
    }

    #[test]
    fn wait_any_times_out_after_its_timeout() {
        let events = [Event::auto_reset(false)];
        let started = Instant::now();
        assert_eq!(
            Event::wait_any(&events, Some(Duration::from_millis(40))),
            None
        );
        assert!(started.elapsed() >= Duration::from_millis(40));
    }

    #[test]
    fn wait_all_consumes_all_or_nothing() {
        let a = Event::auto_reset(true);
        let b = Event::auto_reset(false);
        let m = Event::manual_reset(true);
        let events = [a.clone(), b.clone(), m.clone()];
        assert!(!Event::wait_all(&events, Some(Duration::ZERO)));
        assert!(!Event::wait_all(&events, Some(Duration::from_millis(5))));
        assert!(a.is_set(), "a wait-all that fails consumes nothing");
        b.set();
        assert!(Event::wait_all(&events, Some(Duration::ZERO)));
        assert!(
            !a.is_set() && !b.is_set(),
            "both auto-reset events consumed"
        );
        assert!(m.is_set(), "the manual-reset event stays set");
        assert!(Event::wait_all(&[], Some(Duration::ZERO)));
        // A duplicate counts once.
        a.set();
        assert!(Event::wait_all(
            &[a.clone(), a.clone()],
            Some(Duration::ZERO)
        ));
        assert!(!a.is_set());
    }

    #[test]
    fn wait_all_is_woken_when_the_last_event_is_set() {
        let a = Event::auto_reset(false);
        let b = Event::manual_reset(false);
        let events = [a.clone(), b.clone()];
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            a.set();
            std::thread::sleep(Duration::from_millis(10));
            b.set();
        });
        assert!(Event::wait_all(&events, None));
        assert!(!events[0].is_set());
        assert!(events[1].is_set());
        setter.join().unwrap();
    }

    #[test]
    fn a_waiter_unregisters_when_it_returns() {
        let event = Event::auto_reset(false);
        assert_eq!(
            Event::wait_any(std::slice::from_ref(&event), Some(Duration::from_millis(1))),
            None
        );
        assert!(!Event::wait_all(
            std::slice::from_ref(&event),
            Some(Duration::from_millis(1))
        ));
        assert!(event.0.state.lock().multi_waiters.is_empty());
    }

    #[test]
    fn one_auto_reset_signal_goes_to_one_of_wait_and_wait_any() {
        let event = Event::auto_reset(false);
        let plain = {
            let event = event.clone();
            std::thread::spawn(move || event.wait(Some(Duration::from_millis(300))))
        };
        let multi = {
            let event = event.clone();
            std::thread::spawn(move || {
                Event::wait_any(&[event], Some(Duration::from_millis(300))).is_some()
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        event.set();
        let woken = usize::from(plain.join().unwrap()) + usize::from(multi.join().unwrap());
        assert_eq!(woken, 1, "one signal, one waiter released");
        assert!(!event.is_set());
    }
}
