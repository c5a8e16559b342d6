//! Waiting items (`MFPutWaitingWorkItem` / `RtwqPutWaitingWorkItem`): a result
//! dispatched when an [`Event`] is set (docs/behaviour.md#waiting).
//!
//! No thread waits. The item is registered twice: in the event's list of
//! waits, which [`Event::set`] walks, and in the epoch's timer state under its
//! key, which cancel and shutdown look up. Set, cancel and shutdown race for
//! the item through its [`Claim`]: whoever moves it out of "pending" first
//! takes its result and the others find nothing. The event makes its decision
//! under its own lock (so an auto-reset event hands one signal to exactly one
//! item) but dispatches only after releasing it.

use std::sync::Weak;

use super::claim::{Claim, Outcome};
use super::item::{next_key, Owed, WorkItemKey, WAITING_TAG};
use super::thread::{Shared, Timers};
use crate::error::{Error, HResult, Result};
use crate::event::{Event, EventWaiter, WeakEvent};
use crate::ids::QueueId;
use crate::object::result::AsyncResult;
use crate::panic::Refusable;
use crate::platform::dispatch::IntoAsyncResult;
use crate::sync::Arc;

/// One waiting item; `R` is its result ([`Owed`]: a test payload in the loom
/// models).
pub(crate) struct WaitItem<R: Owed = AsyncResult> {
    key: u64,
    claim: Claim<R>,
    /// Where it is registered (`None`: a null event, which never signals).
    event: Option<WeakEvent>,
    timers: Weak<Shared<R>>,
}

impl<R: Owed> WaitItem<R> {
    pub(crate) fn key(&self) -> u64 {
        self.key
    }
}

impl<R: Owed> EventWaiter for WaitItem<R> {
    /// The event was set: claims the item for firing. Called under the
    /// event's lock; runs no user code.
    fn claim(&self) -> bool {
        self.claim.decide(Outcome::Fired)
    }

    /// Whether the item still waits.
    fn is_pending(&self) -> bool {
        self.claim.is_pending()
    }

    /// Dispatches the claimed item; no lock is held.
    fn fire(self: Arc<Self>) {
        // SAFETY: `Event` calls `fire` only on the thread whose `claim` won,
        // once.
        let result = unsafe { self.claim.take_decided() };
        if let Some(timers) = self.timers.upgrade() {
            drop(timers.forget_wait(self.key));
        }
        crate::observe::key(
            crate::observe::event::Keyed::Wait,
            self.key,
            crate::observe::event::KeyStep::Fired,
        );
        result.complete(None, self.key, "waiting item fired");
    }
}

/// `MFPutWaitingWorkItem(event, priority, result, &key)` /
/// `RtwqPutWaitingWorkItem`: dispatches `result` once `event` is set, without
/// a thread waiting for it; returns the key that cancels it.
///
/// - When the event is set, the result is dispatched as
///   [`invoke_callback`](crate::invoke_callback) dispatches it: the callback
///   runs on the queue its parameters name, with this very result; if that
///   queue is gone by then it runs on STANDARD (the item was promised one
///   invocation), and while the last shutdown is under way it goes to the
///   shutdown's rescue queue (or, once nothing can run it, runs on the thread
///   that set the event).
/// - An **auto-reset** event releases one waiting item per set (the oldest
///   first, ahead of threads blocked in [`Event::wait`]) and the item consumes
///   the signal; a **manual-reset** event releases every item waiting on it and
///   stays set. An event that is already set when the item is put releases it
///   at once (consuming an auto-reset signal).
/// - `None` stands for a null handle: the item never fires, but can be
///   cancelled (docs/behaviour.md#d17).
/// - The same result may be waiting several times under different keys
///   (docs/behaviour.md#w39), and an item may be put again from inside its own `invoke`.
/// - Cancelling it ([`cancel_work_item`](crate::cancel_work_item)) invokes the
///   callback once with the status
///   [`MF_E_OPERATION_CANCELLED`](crate::HResult::MF_E_OPERATION_CANCELLED).
///   An item still waiting at the last shutdown never fires: its callback is
///   invoked once with the status
///   [`MF_E_SHUTDOWN`](crate::HResult::MF_E_SHUTDOWN) instead (unlike a
///   pending scheduled item, which never runs and leaks, as on Windows).
/// - `priority` is accepted and not used (the item is dispatched at normal
///   priority, as `invoke_callback` dispatches), as on Windows' twin in Wine.
///
/// Errors: [`Error::Shutdown`] when the platform is not running (checked
/// first); [`Error::InvalidArg`] for a result with neither a callback nor an
/// event; [`Error::InvalidWorkQueue`] when the callback names the IO,
/// LONG_FUNCTION, RT or TIMER queue, where waiting items may not be dispatched.
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let (sender, receiver) = std::sync::mpsc::channel();
/// let callback = mfwq::callback_on(mfwq::QueueId::MULTITHREADED, move |result| {
///     sender.send(result.status()).unwrap();
/// });
/// let result = mfwq::AsyncResult::with_callback(callback, None);
/// let ready = mfwq::Event::auto_reset(false);
/// mfwq::put_waiting_work_item(Some(&ready), 0, &result)?;
/// ready.set();
/// assert_eq!(receiver.recv_timeout(Duration::from_secs(5)).unwrap(), mfwq::HResult::S_OK);
///
/// // A null event never fires; cancelling invokes the callback with OPERATION_CANCELLED.
/// let key = mfwq::put_waiting_work_item(None, 0, &result)?;
/// mfwq::cancel_work_item(key)?;
/// assert_eq!(
///     receiver.recv_timeout(Duration::from_secs(5)).unwrap(),
///     mfwq::HResult::MF_E_OPERATION_CANCELLED
/// );
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFPutWaitingWorkItem")]
#[doc(alias = "RtwqPutWaitingWorkItem")]
pub fn put_waiting_work_item(
    event: Option<&Event>,
    priority: i32,
    result: impl IntoAsyncResult,
) -> Result<WorkItemKey> {
    let _ = priority;
    let result = Refusable::new(result.into_async_result());
    let timers =
        crate::platform::route::with_epoch(|epoch| Ok(Arc::clone(&Timers::of(epoch)?.shared)))??;
    // With no lock held: `parameters` is user code.
    let params = result.invoke_params().ok_or(Error::InvalidArg)?;
    if matches!(
        params.queue,
        QueueId::IO | QueueId::LONG_FUNCTION | QueueId::RT | QueueId::TIMER
    ) {
        return Err(Error::InvalidWorkQueue);
    }
    // Flags that fit no queue it may name: it could never be dispatched.
    crate::platform::dispatch::check_completion_params(params)?;
    register(&timers, event, result.take())
}

/// Puts `result` on `event` as a waiting item of `timers` (the part of
/// [`put_waiting_work_item`] after its checks, which the loom models call):
/// in the key map first, so that a firing item always finds its key, then on
/// the event, which fires it at once if it is already set.
pub(crate) fn register<R: Owed>(
    timers: &Arc<Shared<R>>,
    event: Option<&Event>,
    result: R,
) -> Result<WorkItemKey> {
    let key = next_key(WAITING_TAG);
    let item = Arc::new(WaitItem {
        key,
        claim: Claim::new(result),
        event: event.map(Event::downgrade),
        timers: Arc::downgrade(timers),
    });
    if let Err(error) = timers.insert_wait(Arc::clone(&item)) {
        crate::panic::drop_quietly(item);
        return Err(error);
    }
    if let Some(event) = event {
        event.register_wait(item);
    }
    Ok(WorkItemKey(key))
}

/// Cancels an item that the caller has taken out of the key map: if it still
/// waits, it stops waiting and its callback is invoked with
/// `MF_E_OPERATION_CANCELLED` (docs/behaviour.md#d15); if it fired meanwhile,
/// `NotFound`.
pub(crate) fn cancel<R: Owed>(item: Arc<WaitItem<R>>) -> Result<()> {
    let result = item
        .claim
        .try_take(Outcome::Cancelled)
        .ok_or(Error::NotFound)?;
    unregister(&item);
    crate::observe::key(
        crate::observe::event::Keyed::Wait,
        item.key,
        crate::observe::event::KeyStep::Cancelled,
    );
    result.complete(
        Some(HResult::MF_E_OPERATION_CANCELLED),
        item.key,
        "cancelled waiting item",
    );
    Ok(())
}

/// The last shutdown: the item will never fire, so its callback is invoked
/// once with `MF_E_SHUTDOWN` (delivered by the shutdown, see
/// `platform::deliver_late`): a put that returned `Ok` promised one
/// invocation. Only pending *timers* are left without one, as Windows does.
pub(crate) fn stop<R: Owed>(item: Arc<WaitItem<R>>) {
    let result = item.claim.try_take(Outcome::Stopped);
    unregister(&item);
    if let Some(result) = result {
        result.complete(
            Some(HResult::MF_E_SHUTDOWN),
            item.key,
            "waiting item stopped at shutdown",
        );
    }
}

fn unregister<R: Owed>(item: &Arc<WaitItem<R>>) {
    if let Some(event) = item.event.as_ref().and_then(WeakEvent::upgrade) {
        let item: Arc<dyn EventWaiter> = Arc::clone(item) as Arc<dyn EventWaiter>;
        event.unregister_wait(&item);
    }
}
