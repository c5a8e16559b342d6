//! A portable event object (manual- or auto-reset), the Linux stand-in for a
//! Win32 event `HANDLE`: it is what a result's `hEvent` holds (decision Q17).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

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

struct EventInner {
    manual_reset: bool,
    signalled: Mutex<bool>,
    changed: Condvar,
}

impl Event {
    /// A new event; `manual_reset` chooses the kind, `initially_set` the first state.
    pub fn new(manual_reset: bool, initially_set: bool) -> Event {
        Event(Arc::new(EventInner {
            manual_reset,
            signalled: Mutex::new(initially_set),
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
    pub fn set(&self) {
        let mut signalled = self.0.signalled.lock();
        *signalled = true;
        if self.0.manual_reset {
            self.0.changed.notify_all();
        } else {
            self.0.changed.notify_one();
        }
    }

    /// Clears the event.
    pub fn reset(&self) {
        *self.0.signalled.lock() = false;
    }

    /// Whether the event is set now (does not consume an auto-reset signal).
    pub fn is_set(&self) -> bool {
        *self.0.signalled.lock()
    }

    /// Waits until the event is set, or the timeout passes (`None` waits forever).
    /// Returns whether the event was set; an auto-reset event is cleared by a
    /// successful wait.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut signalled = self.0.signalled.lock();
        while !*signalled {
            match deadline {
                // No timeout, or one too large to represent: wait for ever.
                None => self.0.changed.wait(&mut signalled),
                Some(deadline) => {
                    if self
                        .0
                        .changed
                        .wait_until(&mut signalled, deadline)
                        .timed_out()
                        && !*signalled
                    {
                        return false;
                    }
                }
            }
        }
        if !self.0.manual_reset {
            *signalled = false;
        }
        true
    }

    /// Whether two handles name the same event.
    pub fn ptr_eq(&self, other: &Event) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
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
