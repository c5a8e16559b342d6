//! What happens when a callback panics: the panic is caught on the worker, the
//! worker survives, the item counts as done (its result is released), and the
//! panic is reported as a `tracing` error event and to an optional user hook.

use std::any::Any;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::ids::QueueId;

/// A caught panic from a callback.
#[derive(Clone, Debug)]
pub struct PanicReport {
    /// The queue whose worker ran the callback.
    pub queue: QueueId,
    /// The panic message (`"<non-string panic payload>"` if it was not a string).
    pub message: String,
}

type Hook = Arc<dyn Fn(&PanicReport) + Send + Sync>;

static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Installs a hook called (on the worker thread) for every panic caught in a callback.
/// Replaces any earlier hook.
///
/// ```
/// mfwq::set_panic_hook(|report| eprintln!("callback on {} panicked: {}", report.queue, report.message));
/// mfwq::clear_panic_hook();
/// ```
pub fn set_panic_hook<F>(hook: F)
where
    F: Fn(&PanicReport) + Send + Sync + 'static,
{
    *HOOK.write() = Some(Arc::new(hook));
}

/// Removes the panic hook; panics are then only reported through `tracing`.
pub fn clear_panic_hook() {
    *HOOK.write() = None;
}

pub(crate) fn report(queue: QueueId, payload: Box<dyn Any + Send>) {
    let message = if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_owned()
    };
    tracing::error!(queue = %queue, %message, "callback panicked; the worker goes on");
    let report = PanicReport { queue, message };
    // Clone the hook out so that it may itself replace the hook without deadlocking.
    let hook = HOOK.read().clone();
    if let Some(hook) = hook {
        // A panicking hook must not take the worker down either.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&report)));
    }
    // A payload whose Drop panics must not take the worker down either.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)));
}
