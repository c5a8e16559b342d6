//! A portable event object (manual- or auto-reset), the Linux stand-in for a
//! Win32 event `HANDLE`: it is what a result's `hEvent` holds (decision Q17).
//!
//! Besides threads blocked in [`Event::wait`], an event keeps a list of the
//! waiting items put on it ([`put_waiting_work_item`](crate::put_waiting_work_item)):
//! [`Event::set`] claims them under the event's lock and dispatches them after
//! releasing it (see `wait.rs`).

use std::collections::VecDeque;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::result::AsyncResult;
use crate::wait::WaitItem;

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
    waits: VecDeque<Arc<WaitItem>>,
}

impl Event {
    /// A new event; `manual_reset` chooses the kind, `initially_set` the first state.
    pub fn new(manual_reset: bool, initially_set: bool) -> Event {
        Event(Arc::new(EventInner {
            manual_reset,
            state: Mutex::new(EventState {
                signalled: initially_set,
                waits: VecDeque::new(),
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
        {
            let mut state = self.0.state.lock();
            state.signalled = true;
            if self.0.manual_reset {
                for item in state.waits.drain(..) {
                    if let Some(result) = item.claim_fire() {
                        released_many.push((item, result));
                    }
                }
                self.0.changed.notify_all();
            } else {
                while let Some(item) = state.waits.pop_front() {
                    if let Some(result) = item.claim_fire() {
                        released_one = Some((item, result));
                        state.signalled = false;
                        break;
                    }
                }
                if state.signalled {
                    self.0.changed.notify_one();
                }
            }
        }
        for (item, result) in released_one.into_iter().chain(released_many) {
            crate::wait::dispatch_fired(item, result);
        }
    }

    /// Clears the event.
    pub fn reset(&self) {
        self.0.state.lock().signalled = false;
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
        true
    }

    /// Whether two handles name the same event.
    pub fn ptr_eq(&self, other: &Event) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    pub(crate) fn downgrade(&self) -> WeakEvent {
        WeakEvent(Arc::downgrade(&self.0))
    }

    /// Registers a waiting item. If the event is already set, the item is
    /// claimed at once (an auto-reset event's signal is consumed) and its
    /// result handed back for the caller to dispatch; otherwise it waits for
    /// [`set`](Self::set).
    pub(crate) fn register_wait(&self, item: &Arc<WaitItem>) -> Option<AsyncResult> {
        let mut state = self.0.state.lock();
        if state.signalled {
            let result = item.claim_fire();
            if result.is_some() && !self.0.manual_reset {
                state.signalled = false;
            }
            return result;
        }
        if item.is_pending() {
            state.waits.push_back(Arc::clone(item));
        }
        None
    }

    /// Removes a decided item from the list (cancel, shutdown).
    pub(crate) fn unregister_wait(&self, item: &Arc<WaitItem>) {
        let removed = {
            let mut state = self.0.state.lock();
            let position = state.waits.iter().position(|w| Arc::ptr_eq(w, item));
            position.and_then(|position| state.waits.remove(position))
        };
        drop(removed);
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

#[cfg(test)]
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
}
