//! Scheduled items, periodic callbacks and cancellation (`MFScheduleWorkItem`,
//! `MFAddPeriodicCallback`, `MFCancelWorkItem`; docs/behaviour.md#scheduled and
//! docs/behaviour.md#periodic). Waiting items are in
//! `wait.rs` beside this file; they share the key space, the cancel entry point and the
//! shutdown path with the items here.
//!
//! # Design
//!
//! Each epoch has one [`Timers`]: a mutex-protected state with two
//! [`Deadlines`] sets (scheduled items and periodic callbacks: a binary heap of
//! `(deadline, key)` plus a hash map `key -> (deadline, item)`) and the map of
//! pending waiting items, and one thread, `mfwq-timekeeper`, started on first use,
//! that sleeps on a condition variable until the earliest deadline. The
//! thread's timer slack is set to 1 ns so that a 1 ms timer is not woken tens
//! of microseconds late.
//!
//! - **Schedule** pushes the item into a lock-free inbox and takes the lock
//!   only to wake the thread, when the new deadline is earlier than the one
//!   it sleeps until; whoever takes the lock next (the thread, a cancel, the
//!   shutdown) moves the inbox's entries into the sets (see
//!   `Shared::enter` in `entry.rs`).
//! - **Fire**: the thread takes every due item out of the map under the lock,
//!   then, with the lock released, completes each result through
//!   [`complete_owed`](crate::platform::dispatch::complete_owed): the callback
//!   runs on the queue its parameters name, never on the timer thread; a
//!   queue that is gone by then hands it to STANDARD, and while the platform
//!   shuts down it goes to [`deliver_late`](crate::platform::deliver_late)
//!   (the rescue queue, or, as a last resort, right there on the timer
//!   thread: the expiry was promised and nobody could be told of a refusal).
//! - **Cancel** moves the inbox in and removes the key from the map under
//!   the same lock: whoever removes the entry (the firing thread, cancel, or
//!   shutdown) owns the item, so exactly one of them wins and the other sees
//!   it gone. Cancel drops the result before it returns, which releases the
//!   callback (docs/behaviour.md#w37). The heap entry stays behind and is
//!   skipped when it comes up (lazy deletion; the heap is compacted when
//!   stale entries outnumber live ones).
//! - **Shutdown** ([`Timers::stop`]) empties everything under the lock, so that
//!   nothing pending fires any more, and *leaks* the pending scheduled
//!   results (`mem::forget`), as Windows does: they keep their platform lock
//!   (docs/behaviour.md#w15, #w56). Waiting items' results and periodic callbacks'
//!   contexts are released.
//!
//! Waiting items are decided by an atomic [`Claim`] instead, because a set
//! event fires them without the timer lock (see `wait.rs`).
//!
//! The futures' alarms (`sleep`, `interval`: `alarm.rs`) are a third kind of
//! entry, in a heap of their own: they enter through a lock-free inbox and
//! the timekeeper rings them by waking the task itself.

//!
//! # Map
//!
//! - this file: the API (schedule, cancel, periodic callbacks);
//! - `item.rs`: what the timer holds for an item: its key, what it owes its
//!   callback (`Owed`), a periodic callback's entry;
//! - `deadlines.rs`: the heap-plus-map set of pending items by deadline;
//! - `alarm.rs`: the futures' alarms (a sleep, an interval's tick), woken
//!   by the timekeeper itself;
//! - `claim.rs`: the atomic one-time decision of a waiting item;
//! - `thread.rs`: one epoch's timer state and the thread that fires it;
//! - `entry.rs`: how items enter and leave it from the callers' side
//!   (schedule, cancel, waiting items' keys, alarms, the lock-free inbox);
//! - `wait.rs`: waiting items (`MFPutWaitingWorkItem`).

pub(crate) mod alarm;
mod claim;
mod deadlines;
mod entry;
mod item;
mod keeper_policy;
#[cfg(all(test, mfwq_loom))]
mod loom_tests;
mod thread;
pub(crate) mod wait;

pub(crate) use keeper_policy::set_timekeeper_policy;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::object::callback::Callback;
use crate::object::result::{AsyncResult, State};
use crate::panic::Refusable;
use crate::platform::dispatch::IntoAsyncResult;
use crate::platform::PLATFORM;

pub(crate) use alarm::Alarm;
pub use item::{PeriodicKey, WorkItemKey};
pub(crate) use thread::Timers;

use item::{Periodic, PERIOD, SCHEDULED_TAG, WAITING_TAG};

pub(crate) use crate::platform::deadline_after;

/// The delay a C timeout in milliseconds stands for (`MFScheduleWorkItem`'s
/// `Timeout`, `INT64`): a negative value is a relative delay of that many
/// milliseconds (`-5000` is 5 s); zero or a positive value means "as soon as
/// possible" (docs/behaviour.md#d16: Windows reads a positive value as an absolute time
/// that lies in the past).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(mfwq::delay_from_mf_timeout(-5000), Duration::from_secs(5));
/// assert_eq!(mfwq::delay_from_mf_timeout(0), Duration::ZERO);
/// assert_eq!(mfwq::delay_from_mf_timeout(250), Duration::ZERO);
/// ```
pub fn delay_from_mf_timeout(timeout_ms: i64) -> Duration {
    if timeout_ms < 0 {
        Duration::from_millis(timeout_ms.unsigned_abs())
    } else {
        Duration::ZERO
    }
}

/// The interval at which periodic callbacks run: 10 ms (`MFGetTimerPeriodicity`,
/// docs/behaviour.md#w44).
///
/// ```
/// assert_eq!(mfwq::timer_periodicity(), std::time::Duration::from_millis(10));
/// ```
#[doc(alias = "MFGetTimerPeriodicity")]
pub fn timer_periodicity() -> Duration {
    PERIOD
}

/// `MFScheduleWorkItem(callback, state, timeout, &key)`: wraps `callback` and
/// `state` in a new result, as [`put_work_item`](crate::put_work_item) does,
/// and invokes it once `delay` has passed; returns the key that cancels it.
///
/// On expiry the result is dispatched as [`invoke_callback`](crate::invoke_callback)
/// dispatches it, so the callback runs on the queue its parameters name
/// (STANDARD by default), never on the timer's own thread while the platform
/// runs. It never runs before `delay` has passed
/// and, on an idle machine, a fraction of a millisecond after. `Duration::ZERO`
/// runs it as soon as possible; from a C timeout use [`delay_from_mf_timeout`].
/// If the callback's queue cannot take it at expiry (a private queue unlocked
/// meanwhile), it runs on STANDARD: the schedule promised one invocation.
/// One that expires while the last shutdown is under way is handed to the
/// shutdown's rescue queue, or, once nothing can run it any more, run on the
/// timer's thread itself. A
/// callback whose flags fit no queue it may name (FAST_IO or SIGNAL outside
/// IO and TIMER) could never be dispatched, so the call refuses it at once
/// with [`Error::InvalidWorkQueue`].
///
/// The internal result is an ordinary result and holds a platform lock while it
/// lives (docs/behaviour.md#w14). An item still pending at the last shutdown
/// never runs, and its result is never released (docs/behaviour.md#w15: the lock count
/// after the next startup is 2). Errors: [`Error::Shutdown`] when the platform
/// is not running.
///
/// ```
/// use std::time::{Duration, Instant};
/// let _platform = mfwq::Platform::start()?;
/// let (sender, receiver) = std::sync::mpsc::channel();
/// let start = Instant::now();
/// mfwq::schedule_work_item(
///     mfwq::callback(move |_| sender.send(Instant::now()).unwrap()),
///     None,
///     Duration::from_millis(5),
/// )?;
/// let fired = receiver.recv_timeout(Duration::from_secs(5)).unwrap();
/// assert!(fired - start >= Duration::from_millis(5));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFScheduleWorkItem")]
pub fn schedule_work_item(
    callback: Callback,
    state: Option<State>,
    delay: Duration,
) -> Result<WorkItemKey> {
    let (callback, state) = (Refusable::new(callback), Refusable::new(state));
    // Refuse before creating a result, so that a refused call leaves no lock.
    crate::platform::ensure_started()?;
    crate::platform::dispatch::check_completion_params(crate::object::callback::effective_params(
        &**callback,
    ))?;
    let (callback, state) = (callback.take(), state.take());
    schedule(AsyncResult::with_callback(callback, state), delay)
}

/// `MFScheduleWorkItem(callback, state, timeout, &key)` with a COM callback:
/// [`schedule_work_item`] for the C ABI. The callback's `GetParameters` is
/// asked through the vtable read when its reference was taken, before the
/// stock result is made (which adopts the references), as
/// [`schedule_work_item`] asks a Rust callback: nothing is read back from
/// the new result.
///
/// Safe: the callback's type carries the promise that it is an
/// `IMFAsyncCallback`, the state's that it is a COM object.
// Hidden: the C ABI's form of `schedule_work_item`; Rust code uses that.
#[doc(hidden)]
pub fn schedule_com_work_item(
    callback: crate::com::ComCallbackPtr,
    state: Option<crate::com::ComPtr>,
    delay: Duration,
) -> Result<WorkItemKey> {
    let (callback, state) = (Refusable::new(callback), Refusable::new(state));
    crate::platform::ensure_started()?;
    crate::platform::dispatch::check_completion_params(callback.parameters())?;
    let callback = callback.take().into_com_ptr();
    // SAFETY: an IMFAsyncCallback, as its type said.
    let result = unsafe { AsyncResult::from_com(None, Some(callback), state.take()) };
    schedule(result, delay)
}

/// `MFScheduleWorkItemEx(result, timeout, &key)` / `RtwqScheduleWorkItem`:
/// as [`schedule_work_item`] with the caller's own result; on expiry this very
/// result is dispatched, as [`schedule_work_item`] describes. The platform
/// holds one reference to it until then (or for ever, if the item is still
/// pending at the last shutdown: docs/behaviour.md#w15).
///
/// A result with neither a callback nor an event is [`Error::InvalidArg`].
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let done = mfwq::Event::manual_reset(false);
/// let signal = done.clone();
/// let result = mfwq::AsyncResult::with_callback(mfwq::callback(move |_| signal.set()), None);
/// mfwq::schedule_result(&result, mfwq::delay_from_mf_timeout(-1))?;
/// assert!(done.wait(Some(Duration::from_secs(5))));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFScheduleWorkItemEx")]
#[doc(alias = "RtwqScheduleWorkItem")]
pub fn schedule_result(result: impl IntoAsyncResult, delay: Duration) -> Result<WorkItemKey> {
    let result = Refusable::new(result.into_async_result());
    if !result.has_callback() && result.event().is_none() {
        // "Not running" is reported first, as for every call.
        return Err(PLATFORM
            .with_epoch(|_| Error::InvalidArg)
            .unwrap_or_else(|shutdown| shutdown));
    }
    // "Not running" first, before the callback's code runs (its parameters);
    // then flags that fit no queue.
    crate::platform::ensure_started()?;
    if let Some(params) = result.dispatch_params() {
        crate::platform::dispatch::check_completion_params(params)?;
    }
    // `schedule` refuses when the platform is down.
    schedule(result.take(), delay)
}

fn schedule(result: AsyncResult, delay: Duration) -> Result<WorkItemKey> {
    let deadline = deadline_after(Instant::now(), delay);
    let outcome = crate::platform::route::with_epoch(|epoch| match Timers::of(epoch) {
        Ok(timers) => timers.shared.schedule(result, deadline),
        Err(error) => Err((error, Some(result))),
    })
    .unwrap_or_else(|error| Err((error, None)));
    // A refused result is dropped here, with no lock held.
    outcome.map_err(crate::panic::drop_refused)
}

/// `MFCancelWorkItem(key)` / `RtwqCancelWorkItem`: cancels a scheduled or a
/// waiting item (docs/behaviour.md#d15).
///
/// - A **scheduled** item: `Ok` means its callback is never invoked, and its
///   result (with the result's reference to the callback) has been released
///   before this returns (docs/behaviour.md#w37).
/// - A **waiting** item: `Ok` means it no longer waits; its callback is then
///   invoked once, on its queue, with the status
///   [`MF_E_OPERATION_CANCELLED`](crate::HResult::MF_E_OPERATION_CANCELLED)
///   (docs/behaviour.md#w40).
///
/// Cancel and expiry race fairly: exactly one of them wins. If the item has
/// already fired (or was cancelled before), this is [`Error::NotFound`]
/// (docs/behaviour.md#w38), as it is for a key this platform never issued or one from
/// before the last restart. While the platform is not running it is
/// [`Error::Shutdown`] (docs/behaviour.md#w41, #w56).
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let key = mfwq::schedule_work_item(mfwq::callback(|_| unreachable!()), None, Duration::from_secs(5))?;
/// assert_eq!(mfwq::cancel_work_item(key), Ok(()));
/// assert_eq!(mfwq::cancel_work_item(key), Err(mfwq::Error::NotFound));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFCancelWorkItem")]
#[doc(alias = "RtwqCancelWorkItem")]
pub fn cancel_work_item(key: WorkItemKey) -> Result<()> {
    match (key.0 >> 32) as u32 {
        SCHEDULED_TAG => {
            let removed = crate::platform::route::with_epoch(|epoch| {
                Timers::of(epoch)?.shared.take_scheduled(key.0)
            })??;
            if let Some(params) = removed.invoke_params() {
                crate::observe::cancelled(params.queue);
            }
            // The result, and with it the callback, is released here, before
            // cancel returns, with no lock held (its drop may run user code).
            crate::panic::drop_quietly(removed);
            Ok(())
        }
        WAITING_TAG => {
            let item = crate::platform::route::with_epoch(|epoch| {
                Timers::of(epoch)?.shared.take_wait(key.0)
            })??;
            wait::cancel(item)
        }
        // Not a key this platform issues.
        _ => PLATFORM.with_epoch(|_| Err(Error::NotFound))?,
    }
}

/// `MFAddPeriodicCallback(fn, context, &key)`: calls `callback(context)` every
/// [`timer_periodicity`] (10 ms) on the TIMER queue until
/// [`remove_periodic_callback`] (docs/behaviour.md#d18).
///
/// - The first call comes one period after this returns; later ones keep a
///   10 ms cadence. A run never overlaps the previous run of the same
///   callback: a tick that finds it still running is skipped.
/// - `context` is held while the callback is registered and released after its
///   removal (possibly a moment after, once a run in progress has finished:
///   docs/behaviour.md#w46). It is also released at the last shutdown, which ends every
///   periodic callback.
/// - A panic inside `callback` is caught and reported like any callback panic
///   (see [`set_panic_hook`](crate::set_panic_hook)); the next tick runs it again.
///
/// Errors: [`Error::Shutdown`] when the platform is not running.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let ticks = Arc::new(AtomicUsize::new(0));
/// let context: mfwq::State = ticks.clone();
/// let key = mfwq::add_periodic_callback(
///     |context| {
///         let ticks = context.unwrap().downcast_ref::<AtomicUsize>().unwrap();
///         ticks.fetch_add(1, Ordering::SeqCst);
///     },
///     Some(context),
/// )?;
/// std::thread::sleep(10 * mfwq::timer_periodicity());
/// mfwq::remove_periodic_callback(key)?;
/// assert!(ticks.load(Ordering::SeqCst) >= 1);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFAddPeriodicCallback")]
#[doc(alias = "RtwqAddPeriodicCallback")]
pub fn add_periodic_callback<F>(callback: F, context: Option<State>) -> Result<PeriodicKey>
where
    F: Fn(Option<&State>) + Send + Sync + 'static,
{
    let (callback, context) = (Refusable::new(callback), Refusable::new(context));
    crate::platform::ensure_started()?;
    let (callback, context) = (callback.take(), context.take());
    let entry = Arc::new(Periodic {
        callback: Box::new(callback),
        context,
        running: AtomicBool::new(false),
    });
    let key = item::next_periodic_key();
    let first = deadline_after(Instant::now(), PERIOD);
    let outcome = crate::platform::route::with_epoch(|epoch| match Timers::of(epoch) {
        Ok(timers) => timers.shared.add_periodic(key, first, entry),
        Err(error) => Err((error, Some(entry))),
    })
    .unwrap_or_else(|error| Err((error, None)));
    outcome.map(|()| key).map_err(crate::panic::drop_refused)
}

/// `MFRemovePeriodicCallback(key)` / `RtwqRemovePeriodicCallback`: stops a
/// periodic callback. A run already in progress finishes; no new one starts.
/// The context is released once no run holds it any more.
///
/// Errors: [`Error::NotFound`] for a key that is not registered (never was,
/// or already removed); [`Error::Shutdown`] when the platform is not running.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let key = mfwq::add_periodic_callback(|_| {}, None)?;
/// assert_eq!(mfwq::remove_periodic_callback(key), Ok(()));
/// assert_eq!(mfwq::remove_periodic_callback(key), Err(mfwq::Error::NotFound));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFRemovePeriodicCallback")]
#[doc(alias = "RtwqRemovePeriodicCallback")]
pub fn remove_periodic_callback(key: PeriodicKey) -> Result<()> {
    let removed = crate::platform::route::with_epoch(|epoch| {
        Timers::of(epoch)?.shared.remove_periodic(key)
    })??;
    // The context goes with the last reference, here or after a run in progress.
    crate::panic::drop_quietly(removed);
    Ok(())
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    #[test]
    fn huge_delays_do_not_overflow() {
        let now = Instant::now();
        assert!(deadline_after(now, Duration::MAX) > now + Duration::from_secs(1_000_000));
        assert_eq!(deadline_after(now, Duration::ZERO), now);
    }
}
