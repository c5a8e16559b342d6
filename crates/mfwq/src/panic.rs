//! What happens when user code panics: the panic is caught where the platform
//! called that code, the thread survives, the work counts as done, and the
//! panic is reported as a `tracing` error event and to an optional user hook.
//!
//! User code is more than `invoke`: `parameters()`, the `Drop` of a state, an
//! object or a callback, a window queue's pump, a platform-events listener,
//! the panic hook itself, and the `Drop` of a panic payload. The platform
//! calls each of them through [`guard`] or [`drop_quietly`], never with one of
//! its locks held, and never while another panic unwinds through its frames
//! (a second panic during unwinding aborts the process). A payload whose own
//! `Drop` panics is leaked: that is the only way to get rid of it without
//! aborting.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::ids::QueueId;

/// Where a caught panic came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PanicSite {
    /// A callback's `invoke`, or a closure given to `spawn` / `begin`.
    Invoke,
    /// A callback's `parameters()`; the item was dispatched with the defaults
    /// (flags 0, the STANDARD queue), as when `GetParameters` fails.
    Parameters,
    /// The `Drop` of a value the platform let go of: a result's state, object
    /// or callback, or a closure that never ran.
    Drop,
    /// A window queue's event-loop step.
    Pump,
    /// A platform-events listener.
    PlatformEvents,
}

impl PanicSite {
    /// The site as traces name it.
    fn name(self) -> &'static str {
        match self {
            PanicSite::Invoke => "Invoke",
            PanicSite::Parameters => "GetParameters",
            PanicSite::Drop => "Drop",
            PanicSite::Pump => "window queue step",
            PanicSite::PlatformEvents => "platform events listener",
        }
    }
}

/// A caught panic from user code.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PanicReport {
    /// The queue whose thread ran the code ([`QueueId::UNDEFINED`] on a thread
    /// that is not a queue thread, e.g. the timer thread or a caller's own).
    pub queue: QueueId,
    /// What kind of user code panicked.
    pub site: PanicSite,
    /// The panic message (`"<non-string panic payload>"` if it was not a string).
    pub message: String,
}

type Hook = Arc<dyn Fn(&PanicReport) + Send + Sync>;

static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Installs a hook called (on the thread that caught it) for every panic
/// caught in user code. Replaces any earlier hook. A hook that panics is
/// itself caught; it never takes a worker down.
///
/// ```
/// mfwq::set_panic_hook(|report| {
///     eprintln!("{:?} on {} panicked: {}", report.site, report.queue, report.message)
/// });
/// mfwq::clear_panic_hook();
/// ```
pub fn set_panic_hook<F>(hook: F)
where
    F: Fn(&PanicReport) + Send + Sync + 'static,
{
    *HOOK.write() = Some(Arc::new(hook));
}

/// Removes the panic hook; panics are then only reported through `tracing`.
///
/// ```
/// mfwq::clear_panic_hook();
/// ```
pub fn clear_panic_hook() {
    *HOOK.write() = None;
}

/// The queue to name in a report made on the calling thread.
fn here() -> QueueId {
    crate::sched::current_queue().unwrap_or(QueueId::UNDEFINED)
}

/// Runs user code `f`; a panic is caught and reported (`None` then), naming
/// the calling thread's queue.
#[inline]
pub(crate) fn guard<R>(site: PanicSite, f: impl FnOnce() -> R) -> Option<R> {
    guard_naming(here, site, f)
}

/// [`guard`] for code run on behalf of `queue` (a serial queue's item runs on
/// its target's thread, but the report names the serial queue).
#[inline]
pub(crate) fn guard_on<R>(queue: QueueId, site: PanicSite, f: impl FnOnce() -> R) -> Option<R> {
    guard_naming(|| queue, site, f)
}

/// The body of both: `queue` is only asked for when there is a panic.
#[inline]
fn guard_naming<R>(
    queue: impl FnOnce() -> QueueId,
    site: PanicSite,
    f: impl FnOnce() -> R,
) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(payload) => {
            report(queue(), site, payload);
            None
        }
    }
}

/// Drops a value whose `Drop` may run user code; a panic there is caught and
/// reported.
#[inline]
pub(crate) fn drop_quietly<T>(value: T) {
    if std::mem::needs_drop::<T>() {
        guard(PanicSite::Drop, move || drop(value));
    }
}

/// [`drop_quietly`] on behalf of `queue`.
#[inline]
pub(crate) fn drop_quietly_on<T>(queue: QueueId, value: T) {
    if std::mem::needs_drop::<T>() {
        guard_on(queue, PanicSite::Drop, move || drop(value));
    }
}

/// A refusal handed back as `(error, the values refused)`: the values are
/// dropped quietly, the error remains.
pub(crate) fn drop_refused<T>((error, refused): (crate::error::Error, T)) -> crate::error::Error {
    drop_quietly(refused);
    error
}

/// A caller's value that a call may refuse: dropped through [`drop_quietly`]
/// if the call returns before handing it on (an early `?`), so that a refused
/// value whose `Drop` panics is reported like every other, not thrown at the
/// caller. [`take`](Self::take) hands the value on. One value per guard: a
/// tuple's drop glue would drop its second field while the first one's
/// panicking `Drop` unwinds, which aborts.
pub(crate) struct Refusable<T>(Option<T>);

impl<T> Refusable<T> {
    #[inline]
    pub(crate) fn new(value: T) -> Refusable<T> {
        Refusable(Some(value))
    }

    /// The value, handed on: from here its drop is someone else's.
    #[inline]
    pub(crate) fn take(mut self) -> T {
        self.0.take().expect("taken once")
    }
}

impl<T> std::ops::Deref for Refusable<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.0.as_ref().expect("not taken yet")
    }
}

impl<T> Drop for Refusable<T> {
    fn drop(&mut self) {
        if let Some(value) = self.0.take() {
            drop_quietly(value);
        }
    }
}

/// Drops a panic payload; one whose own `Drop` panics is leaked.
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        // Dropping this one could panic again: keep it for ever instead.
        std::mem::forget(second);
    }
}

pub(crate) fn report(queue: QueueId, site: PanicSite, payload: Box<dyn Any + Send>) {
    let message = if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_owned()
    };
    drop_payload(payload);
    tracing::error!(queue = %queue, ?site, %message, "user code panicked; the thread goes on");
    crate::observe::panic(queue, site.name());
    let report = PanicReport {
        queue,
        site,
        message,
    };
    // Clone the hook out so that it may itself replace the hook without deadlocking.
    let hook = HOOK.read().clone();
    if let Some(hook) = hook {
        // A panicking hook must not take the thread down either.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| hook(&report))) {
            drop_payload(payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("drop panics");
        }
    }

    #[test]
    fn a_payload_whose_drop_panics_is_leaked_not_fatal() {
        let caught = guard(PanicSite::Invoke, || {
            std::panic::panic_any(PanicsOnDrop);
        });
        assert!(caught.is_none());
        drop_quietly(PanicsOnDrop);
    }

    #[test]
    fn guard_passes_values_through() {
        assert_eq!(guard(PanicSite::Invoke, || 7), Some(7));
    }
}
