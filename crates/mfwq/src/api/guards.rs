//! Guards for everything that must be undone: a scheduled item, a wait on an
//! event, a periodic callback, a platform-events listener (a queue's MMCSS
//! registration and deadline are in `realtime.rs`, with the methods that
//! make them). Each undoes its registration when dropped,
//! ignoring the errors that only say there is nothing left to undo (the item
//! already fired, the platform is down); each has an explicit form that
//! returns the error, and `detach`/`forget` to keep the registration.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::object::result::State;
use crate::platform::events::PlatformEvents;
use crate::timer::{PeriodicKey, WorkItemKey};

/// Logs an undo that failed for a reason other than "nothing left to undo".
pub(crate) fn report_undo(what: &str, outcome: Result<()>) {
    match outcome {
        Ok(()) | Err(Error::NotFound | Error::Shutdown) => {}
        Err(error) => tracing::debug!(%error, "undoing a {what} on drop failed"),
    }
}

/// A closure scheduled by [`Queue::schedule`](crate::Queue::schedule).
///
/// **Drop** cancels it: if it has not fired yet, it never runs, and the
/// closure is dropped before the drop returns. [`detach`](Scheduled::detach)
/// lets it fire; [`cancel`](Scheduled::cancel) says whether it was still
/// pending.
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let pending = mfwq::Queue::STANDARD.schedule(Duration::from_secs(60), || unreachable!())?;
/// assert_eq!(pending.cancel(), Ok(()));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "dropping a Scheduled cancels it; call detach() to let it fire"]
#[derive(Debug)]
pub struct Scheduled {
    key: WorkItemKey,
}

impl Scheduled {
    pub(crate) fn new(key: WorkItemKey) -> Scheduled {
        Scheduled { key }
    }

    /// The key, for [`cancel_work_item`](crate::cancel_work_item).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let pending = mfwq::Queue::STANDARD.schedule(std::time::Duration::from_secs(60), || {})?;
    /// assert_eq!(pending.key().into_raw() >> 32, 0x8000_0000);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn key(&self) -> WorkItemKey {
        self.key
    }

    /// Cancels it now: `Ok` means it never runs;
    /// [`Error::NotFound`] that it has fired already.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let fired = mfwq::Queue::STANDARD.schedule(std::time::Duration::ZERO, || {})?;
    /// std::thread::sleep(std::time::Duration::from_millis(50));
    /// assert_eq!(fired.cancel(), Err(mfwq::Error::NotFound));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn cancel(self) -> Result<()> {
        let key = self.detach();
        crate::timer::cancel_work_item(key)
    }

    /// Lets it fire; returns its key (cancel it later with
    /// [`cancel_work_item`](crate::cancel_work_item)).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// mfwq::Queue::STANDARD.schedule(std::time::Duration::ZERO, move || sender.send(()).unwrap())?.detach();
    /// receiver.recv().unwrap();
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn detach(self) -> WorkItemKey {
        let key = self.key;
        std::mem::forget(self);
        key
    }
}

impl Drop for Scheduled {
    fn drop(&mut self) {
        report_undo("schedule", crate::timer::cancel_work_item(self.key));
    }
}

/// A closure waiting for an event, from [`Queue::on_event`](crate::Queue::on_event).
///
/// **Drop** stops the wait if the event has not fired it yet: the closure
/// is then dropped, never run. [`detach`](EventWait::detach) keeps waiting.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let never = mfwq::Event::manual_reset(false);
/// let wait = mfwq::Queue::STANDARD.on_event(&never, || unreachable!())?;
/// assert_eq!(wait.cancel(), Ok(()));
/// never.set(); // nothing runs
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "dropping an EventWait stops the wait; call detach() to keep it"]
#[derive(Debug)]
pub struct EventWait {
    key: WorkItemKey,
}

impl EventWait {
    pub(crate) fn new(key: WorkItemKey) -> EventWait {
        EventWait { key }
    }

    /// The key, for [`cancel_work_item`](crate::cancel_work_item).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let event = mfwq::Event::manual_reset(false);
    /// let wait = mfwq::Queue::STANDARD.on_event(&event, || {})?;
    /// assert_eq!(wait.key().into_raw() >> 32, 0x8200_0000);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn key(&self) -> WorkItemKey {
        self.key
    }

    /// Stops waiting now: `Ok` means the closure never runs;
    /// [`Error::NotFound`] that the event fired it already.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let event = mfwq::Event::manual_reset(true);
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// let wait = mfwq::Queue::STANDARD.on_event(&event, move || sender.send(()).unwrap())?;
    /// receiver.recv().unwrap();
    /// assert_eq!(wait.cancel(), Err(mfwq::Error::NotFound));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn cancel(self) -> Result<()> {
        let key = self.detach();
        crate::timer::cancel_work_item(key)
    }

    /// Keeps waiting; returns the key.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let event = mfwq::Event::manual_reset(false);
    /// let key = mfwq::Queue::STANDARD.on_event(&event, || {})?.detach();
    /// mfwq::cancel_work_item(key)?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn detach(self) -> WorkItemKey {
        let key = self.key;
        std::mem::forget(self);
        key
    }
}

impl Drop for EventWait {
    fn drop(&mut self) {
        report_undo("wait", crate::timer::cancel_work_item(self.key));
    }
}

/// A periodic callback ([`add_periodic_callback`](crate::add_periodic_callback)):
/// `callback` runs every [`timer_periodicity`](crate::timer_periodicity)
/// (10 ms) on the TIMER queue.
///
/// **Drop** removes it: no new run starts (one in progress finishes), and
/// the closure is released once no run holds it. [`detach`](Periodic::detach)
/// keeps it running until [`remove_periodic_callback`](crate::remove_periodic_callback)
/// or the last shutdown.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// let _platform = mfwq::Platform::start()?;
/// let ticks = Arc::new(AtomicUsize::new(0));
/// let counter = ticks.clone();
/// let periodic = mfwq::Periodic::start(move || { counter.fetch_add(1, Ordering::Relaxed); })?;
/// while ticks.load(Ordering::Relaxed) < 2 { std::thread::sleep(mfwq::timer_periodicity()); }
/// drop(periodic);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "dropping a Periodic removes it; call detach() to keep it running"]
#[derive(Debug)]
pub struct Periodic {
    key: PeriodicKey,
}

impl Periodic {
    /// Starts calling `callback` every period; the first call comes one
    /// period from now. A panic is caught and reported to the panic hook;
    /// the next tick runs it again.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let periodic = mfwq::Periodic::start(|| {})?;
    /// periodic.remove()?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFAddPeriodicCallback")]
    pub fn start<F>(callback: F) -> Result<Periodic>
    where
        F: Fn() + Send + Sync + 'static,
    {
        crate::timer::add_periodic_callback(move |_: Option<&State>| callback(), None)
            .map(|key| Periodic { key })
    }

    /// The key, for [`remove_periodic_callback`](crate::remove_periodic_callback).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let periodic = mfwq::Periodic::start(|| {})?;
    /// assert_ne!(periodic.key().into_raw(), 0);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn key(&self) -> PeriodicKey {
        self.key
    }

    /// Removes it now, with the error ([`Error::NotFound`] if it was removed
    /// by its key meanwhile, [`Error::Shutdown`] after the last shutdown).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert_eq!(mfwq::Periodic::start(|| {})?.remove(), Ok(()));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn remove(self) -> Result<()> {
        let key = self.detach();
        crate::timer::remove_periodic_callback(key)
    }

    /// Keeps it running; returns its key.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let key = mfwq::Periodic::start(|| {})?.detach();
    /// mfwq::remove_periodic_callback(key)?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn detach(self) -> PeriodicKey {
        let key = self.key;
        std::mem::forget(self);
        key
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        report_undo(
            "periodic callback",
            crate::timer::remove_periodic_callback(self.key),
        );
    }
}

/// A platform-events listener
/// ([`register_platform_events`](crate::register_platform_events)).
///
/// **Drop** unregisters it. [`forget`](PlatformEventsRegistration::forget)
/// keeps it registered.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// struct Count(AtomicUsize);
/// impl mfwq::PlatformEvents for Count {
///     fn initialization_complete(&self) { self.0.fetch_add(1, Ordering::Relaxed); }
/// }
/// let count = Arc::new(Count(AtomicUsize::new(0)));
/// let registration = mfwq::PlatformEventsRegistration::register(count.clone())?;
/// drop(mfwq::Platform::start()?);
/// drop(registration);
/// drop(mfwq::Platform::start()?);
/// assert_eq!(count.0.load(Ordering::Relaxed), 1);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "dropping a PlatformEventsRegistration unregisters the listener"]
pub struct PlatformEventsRegistration {
    /// `None` once forgotten.
    listener: Option<Arc<dyn PlatformEvents>>,
}

impl std::fmt::Debug for PlatformEventsRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformEventsRegistration")
            .finish_non_exhaustive()
    }
}

impl PlatformEventsRegistration {
    /// Registers `listener` (once: registering the same `Arc` again is a
    /// no-op, and the first guard dropped unregisters it).
    ///
    /// ```
    /// struct Quiet;
    /// impl mfwq::PlatformEvents for Quiet {}
    /// let _registration = mfwq::PlatformEventsRegistration::register(std::sync::Arc::new(Quiet))?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "RtwqRegisterPlatformEvents")]
    pub fn register(listener: Arc<dyn PlatformEvents>) -> Result<PlatformEventsRegistration> {
        crate::platform::events::register_platform_events(Arc::clone(&listener))?;
        Ok(PlatformEventsRegistration {
            listener: Some(listener),
        })
    }

    /// Keeps it registered; returns the listener (for
    /// [`unregister_platform_events`](crate::unregister_platform_events)).
    ///
    /// ```
    /// struct Quiet;
    /// impl mfwq::PlatformEvents for Quiet {}
    /// let listener = mfwq::PlatformEventsRegistration::register(std::sync::Arc::new(Quiet))?.forget();
    /// mfwq::unregister_platform_events(&listener)?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn forget(mut self) -> Arc<dyn PlatformEvents> {
        self.listener.take().expect("registered until forgotten")
    }
}

impl Drop for PlatformEventsRegistration {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.take() {
            report_undo(
                "platform-events registration",
                crate::platform::events::unregister_platform_events(&listener),
            );
        }
    }
}
