//! Platform events (`IRtwqPlatformEvents`, docs/behaviour.md#d25): the
//! [`PlatformEvents`] trait, the listener list, and the `notify_*` calls the
//! platform makes at the first startup and the last shutdown.
//!
//! Part of the platform because it is about the platform's lifecycle. Layers
//! above that keep per-epoch state (the real-time records) ask to be told of
//! the end of an epoch with [`on_shutdown_complete`], so that the platform
//! imports nothing of theirs. The core
//! knows listeners only as `Arc<dyn PlatformEvents>`; the C ABI keeps its own
//! map from a COM pointer to the `Arc` it registered (`mfwq-ffi`,
//! `lifecycle.rs`), so no raw pointer crosses this API.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// A listener for the platform's lifecycle (`IRtwqPlatformEvents`), registered
/// with [`register_platform_events`] (docs/behaviour.md#d25).
///
/// Each method is called synchronously on the thread that calls the first
/// startup ([`initialization_complete`](Self::initialization_complete), after
/// the platform is up) or the last shutdown
/// ([`shutdown_start`](Self::shutdown_start) before it stops anything,
/// [`shutdown_complete`](Self::shutdown_complete) after every thread has
/// stopped), with no platform lock held, so a listener may call the platform.
/// Nested startups and shutdowns call nothing. A panic in a listener is caught
/// and reported like a callback panic (queue [`QueueId::UNDEFINED`](crate::QueueId::UNDEFINED)); the
/// startup or shutdown goes on.
///
/// A listener is known by its `Arc`: registering and unregistering compare
/// the address it points to, so the registered `Arc` or any clone of it names
/// the same listener.
pub trait PlatformEvents: Send + Sync {
    /// `InitializationComplete`: the platform has started.
    fn initialization_complete(&self) {}
    /// `ShutdownStart`: the last shutdown begins.
    fn shutdown_start(&self) {}
    /// `ShutdownComplete`: the platform has shut down.
    fn shutdown_complete(&self) {}
}

static LISTENERS: Mutex<Vec<Arc<dyn PlatformEvents>>> = Mutex::new(Vec::new());

/// Whether two `Arc`s are the same listener: the same object, compared by its
/// address alone (not by vtable, which may differ between codegen units).
fn same_listener(a: &Arc<dyn PlatformEvents>, b: &Arc<dyn PlatformEvents>) -> bool {
    std::ptr::eq(Arc::as_ptr(a).cast::<()>(), Arc::as_ptr(b).cast::<()>())
}

/// `RtwqRegisterPlatformEvents(listener)`: adds a platform-event listener.
/// Works whether or not the platform is started. A listener registered while
/// the platform is up is not told `InitializationComplete` after the fact: it
/// hears the next shutdown. Registering the same listener (the same `Arc`)
/// again changes nothing.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// struct Log(Mutex<Vec<&'static str>>);
/// impl mfwq::PlatformEvents for Log {
///     fn initialization_complete(&self) { self.0.lock().unwrap().push("init") }
///     fn shutdown_start(&self) { self.0.lock().unwrap().push("start") }
///     fn shutdown_complete(&self) { self.0.lock().unwrap().push("complete") }
/// }
/// let log = Arc::new(Log(Mutex::new(Vec::new())));
/// let listener: Arc<dyn mfwq::PlatformEvents> = log.clone();
/// mfwq::register_platform_events(listener.clone())?;
/// drop(mfwq::Platform::start()?);
/// mfwq::unregister_platform_events(&listener)?;
/// assert_eq!(*log.0.lock().unwrap(), ["init", "start", "complete"]);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "RtwqRegisterPlatformEvents")]
pub fn register_platform_events(listener: Arc<dyn PlatformEvents>) -> Result<()> {
    let mut listeners = LISTENERS.lock();
    if !listeners
        .iter()
        .any(|known| same_listener(known, &listener))
    {
        listeners.push(listener);
    }
    Ok(())
}

/// `RtwqUnregisterPlatformEvents(listener)`: removes a listener, found by
/// identity (the `Arc` that was registered, or a clone of it); one that is not
/// registered is [`Error::NotFound`].
///
/// ```
/// use std::sync::Arc;
/// struct Quiet;
/// impl mfwq::PlatformEvents for Quiet {}
/// let listener: Arc<dyn mfwq::PlatformEvents> = Arc::new(Quiet);
/// assert_eq!(mfwq::unregister_platform_events(&listener), Err(mfwq::Error::NotFound));
/// ```
#[doc(alias = "RtwqUnregisterPlatformEvents")]
pub fn unregister_platform_events(listener: &Arc<dyn PlatformEvents>) -> Result<()> {
    let removed = {
        let mut listeners = LISTENERS.lock();
        let index = listeners
            .iter()
            .position(|known| same_listener(known, listener))
            .ok_or(Error::NotFound)?;
        listeners.remove(index)
    };
    // A listener's Drop is user code: run it with no lock held.
    drop(removed);
    Ok(())
}

fn notify(event: impl Fn(&dyn PlatformEvents)) {
    let listeners = LISTENERS.lock().clone();
    for listener in listeners {
        crate::panic::guard(crate::panic::PanicSite::PlatformEvents, || {
            event(&*listener)
        });
    }
}

/// The first startup completed (`IRtwqPlatformEvents::InitializationComplete`).
pub(crate) fn notify_initialization_complete() {
    notify(|listener| listener.initialization_complete());
}

/// The last shutdown starts (`ShutdownStart`).
pub(crate) fn notify_shutdown_start() {
    notify(|listener| listener.shutdown_start());
}

/// The last shutdown completed (`ShutdownComplete`).
pub(crate) fn notify_shutdown_complete() {
    // First the platform's own layers, whose per-epoch state ends with it.
    let hooks = SHUTDOWN_HOOKS.lock().clone();
    for hook in hooks {
        hook();
    }
    notify(|listener| listener.shutdown_complete());
}

/// Internal hooks run at every last shutdown, before the listeners are told.
static SHUTDOWN_HOOKS: Mutex<Vec<fn()>> = Mutex::new(Vec::new());

/// Runs `hook` at the end of every last shutdown, before the listeners'
/// `shutdown_complete` (for a layer above the platform whose per-epoch state
/// ends with the epoch). A hook registered twice runs once. It must not
/// panic or block.
pub(crate) fn on_shutdown_complete(hook: fn()) {
    let mut hooks = SHUTDOWN_HOOKS.lock();
    if !hooks.iter().any(|known| std::ptr::fn_addr_eq(*known, hook)) {
        hooks.push(hook);
    }
}
