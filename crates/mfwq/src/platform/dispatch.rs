//! Put and invoke: how a work item reaches a queue (docs/behaviour.md#queue-selection).
//!
//! Explicit-queue calls ([`put_work_item`], [`put_result`], [`spawn`]) use the
//! queue they are given; [`invoke_callback`] uses the queue the callback names.
//! Flags are checked against the queue synchronously (docs/behaviour.md#d9). Nothing is
//! ever invoked inline on the caller's thread (docs/behaviour.md#d28).

use crate::error::{Error, Result};
use crate::ids::{Band, CallbackFlags, QueueId};
use crate::object::callback::{effective_params, Callback, CallbackParams};
use crate::object::result::{AsyncResult, State};
use crate::platform::route;
use crate::platform::{ensure_started, PLATFORM};
use crate::work::{ComPut, Work};

/// `MFPutWorkItem(queue, callback, state)`: wraps `callback` and `state` in a new
/// result and queues it on `queue`; a worker of that queue then calls
/// `callback.invoke(&result)`.
///
/// Ids without private bits that name no platform queue run on STANDARD. Fails
/// with [`Error::Shutdown`] when the platform is not running, and with
/// [`Error::InvalidWorkQueue`] for a private id that is not live or when the
/// callback's flags need the IO or TIMER queue.
///
/// ```
/// use std::sync::mpsc;
/// let _platform = mfwq::Platform::start()?;
/// let (sender, receiver) = mpsc::sync_channel(1);
/// let done = mfwq::callback(move |result| sender.send(*result.state_as::<u32>().unwrap()).unwrap());
/// mfwq::put_work_item(mfwq::QueueId::MULTITHREADED, done, Some(std::sync::Arc::new(7u32)))?;
/// assert_eq!(receiver.recv().unwrap(), 7);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFPutWorkItem")]
pub fn put_work_item(queue: QueueId, callback: Callback, state: Option<State>) -> Result<()> {
    put_work_item_with_priority(queue, 0, callback, state)
}

/// `MFPutWorkItem2(queue, priority, callback, state)`: as [`put_work_item`] with a
/// priority: `> 0` runs before `0`, which runs before `< 0` (three bands, FIFO in each).
#[doc(alias = "MFPutWorkItem2")]
pub fn put_work_item_with_priority(
    queue: QueueId,
    priority: i32,
    callback: Callback,
    state: Option<State>,
) -> Result<()> {
    // Refused before the callback's code runs (its parameters), docs/behaviour.md#d34.
    if let Err(error) = ensure_started() {
        crate::observe::refused_call(queue, error.hresult().0);
        return refuse_values(error, callback, state);
    }
    let flags = effective_params(&*callback).flags;
    let result = AsyncResult::with_callback(callback, state);
    submit(
        queue,
        Band::from_priority(priority),
        Work::new(result),
        flags,
    )
}

/// `MFPutWorkItem2(queue, priority, callback, state)` with a COM callback:
/// [`put_work_item_with_priority`] for the C ABI. The callback's
/// `GetParameters` is called through the vtable read when its reference was
/// taken ([`ComCallbackPtr`](crate::com::ComCallbackPtr)), and then the stock
/// result adopts the references: nothing is read back from the new result.
/// Both reads cost the putting thread a stall (docs/performance.md, "The C
/// ABI's put").
///
/// Safe: the callback's type carries the promise that it is an
/// `IMFAsyncCallback`, the state's that it is a COM object.
// Hidden: the C ABI's form of `put_work_item_with_priority`; Rust code uses that.
#[doc(hidden)]
pub fn put_com_work_item(
    queue: QueueId,
    priority: i32,
    callback: crate::com::ComCallbackPtr,
    state: Option<crate::com::ComPtr>,
) -> Result<()> {
    if let Err(error) = ensure_started() {
        crate::observe::refused_call(queue, error.hresult().0);
        return refuse_values(error, callback, state);
    }
    let flags = callback.parameters().flags;
    let work = ComPut::work(callback, state, flags);
    submit(queue, Band::from_priority(priority), work, flags)
}

/// `MFPutWorkItemEx(queue, result)` / `RtwqPutWorkItem`: queues an existing result
/// on `queue` (docs/behaviour.md#d5); its callback is invoked there with this very result.
/// A result with no callback but an event has the event set when dispatched; with
/// neither it is [`Error::InvalidArg`].
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let done = mfwq::Event::manual_reset(false);
/// let result = mfwq::AsyncResult::new(None, None, None);
/// result.set_event(Some(done.clone()));
/// mfwq::put_result(mfwq::QueueId::STANDARD, &result)?;
/// assert!(done.wait(Some(std::time::Duration::from_secs(5))));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFPutWorkItemEx")]
#[doc(alias = "RtwqPutWorkItem")]
pub fn put_result(queue: QueueId, result: impl IntoAsyncResult) -> Result<()> {
    put_result_with_priority(queue, 0, result)
}

/// `MFPutWorkItemEx2(queue, priority, result)`: [`put_result`] with a priority.
#[doc(alias = "MFPutWorkItemEx2")]
pub fn put_result_with_priority(
    queue: QueueId,
    priority: i32,
    result: impl IntoAsyncResult,
) -> Result<()> {
    if let Err(error) = ensure_started() {
        crate::observe::refused_call(queue, error.hresult().0);
        return refuse_values(error, result, ());
    }
    let result = result.into_async_result();
    let flags = match dispatch_params(&result) {
        Ok(params) => params.flags,
        Err(error) => return refuse_values(error, result, ()),
    };
    submit(
        queue,
        Band::from_priority(priority),
        Work::new(result),
        flags,
    )
}

/// `MFInvokeCallback(result)`: invokes the result's callback on the queue the
/// callback names (STANDARD by default), from a worker thread, never inline.
/// This is how an asynchronous method reports completion, and the reply of
/// reply mode. A result with no callback but an event has its event set on
/// STANDARD (docs/behaviour.md#d6); with neither it is [`Error::InvalidArg`]. A result
/// whose callback is set never has its event set.
///
/// ```
/// use std::sync::mpsc;
/// let _platform = mfwq::Platform::start()?;
/// let (sender, receiver) = mpsc::sync_channel(1);
/// let caller = mfwq::callback_on(mfwq::QueueId::MULTITHREADED, move |result| {
///     sender.send(result.status()).unwrap();
/// });
/// let result = mfwq::AsyncResult::with_callback(caller, None);
/// result.set_status(mfwq::HResult::E_FAIL);
/// mfwq::invoke_callback(&result)?;
/// assert_eq!(receiver.recv().unwrap(), mfwq::HResult::E_FAIL);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFInvokeCallback")]
#[doc(alias = "RtwqInvokeCallback")]
pub fn invoke_callback(result: impl IntoAsyncResult) -> Result<()> {
    // docs/behaviour.md#d34: not running fails before `pCallback` (and
    // its `GetParameters`) is even read.
    if let Err(error) = ensure_started() {
        return refuse_values(error, result, ());
    }
    let result = result.into_async_result();
    let params = match dispatch_params(&result) {
        Ok(params) => params,
        Err(error) => return refuse_values(error, result, ()),
    };
    submit(params.queue, Band::Normal, Work::new(result), params.flags)
}

/// Completes a result the platform owes an invocation: an expired timer, a
/// waiting item fired or cancelled, a Begin operation finished. Like
/// [`invoke_callback`], except that a callback whose queue is no longer live
/// is invoked on STANDARD instead of being dropped: the caller was told the
/// callback would run (a cancel returned `Ok`, a Begin succeeded), and
/// Windows' invoke path falls back the same way. A callback whose flags fit
/// no queue but IO and TIMER is not moved: flags that do not fit are
/// `MF_E_INVALID_WORKQUEUE` for whoever completes the operation, and the
/// callback is not invoked (docs/behaviour.md#d9), as for a put.
///
/// While the platform shuts down, or after it is down, the result goes to
/// [`deliver_late`](crate::platform::deliver_late): invoked by the shutdown
/// itself, or refused with [`Error::Shutdown`] when nothing can run it any
/// more (the caller of the completion then knows).
pub(crate) fn complete(result: AsyncResult) -> Result<()> {
    complete_with(result, crate::platform::LastResort::Refuse)
}

/// [`complete`] for a completion nobody could be told about if it were
/// refused (a timer that expired, a waiting item fired, cancelled or stopped):
/// when no queue can take it any more it runs right here, on the thread that
/// raised it, rather than being lost; and a callback that asks for FAST_IO or
/// SIGNAL on a queue that serves neither (it answered otherwise when the
/// schedule or the wait accepted it) runs on the IO queue.
pub(crate) fn complete_owed(result: AsyncResult) -> Result<()> {
    complete_with(result, crate::platform::LastResort::RunHere)
}

fn complete_with(result: AsyncResult, last_resort: crate::platform::LastResort) -> Result<()> {
    let params = result.invoke_params().ok_or(Error::InvalidArg)?;
    // The call that accepted an owed completion (a schedule, a wait) checked
    // that the callback's flags fit its queue (`check_completion_params`); a
    // callback whose `GetParameters` now asks for FAST_IO or SIGNAL on a queue
    // that serves neither still gets the completion it was promised, on the
    // IO queue (the platform queue made for those callbacks): nobody could
    // be told of a refusal. A completion whose raiser can be told (an
    // operation's `complete`) is refused instead, as a put would be.
    let queue =
        if params.flags.fit(params.queue) || last_resort == crate::platform::LastResort::Refuse {
            params.queue
        } else {
            QueueId::IO
        };
    let work = Work::new(result);
    let outcome = match try_submit(queue, Band::Normal, work, params.flags) {
        // Without FAST_IO/SIGNAL, InvalidWorkQueue can only mean a dead queue.
        Err((Error::InvalidWorkQueue, Some(refused))) if !params.flags.needs_fast_io_queue() => {
            try_submit(QueueId::STANDARD, Band::Normal, refused, params.flags)
        }
        outcome => outcome,
    };
    match outcome {
        Ok(()) => Ok(()),
        Err((Error::Shutdown, Some(refused))) => {
            crate::platform::deliver_late(refused, last_resort)
        }
        Err(refusal) => Err(crate::panic::drop_refused(refusal)),
    }
}

/// Refuses a completion whose callback's flags fit no queue it may name
/// (FAST_IO or SIGNAL outside IO and TIMER): the call that would accept it
/// (a Begin, a schedule) fails with [`Error::InvalidWorkQueue`] at once, as a
/// put does (docs/behaviour.md#d9), instead of promising an invocation that could
/// never be dispatched.
pub(crate) fn check_completion_params(params: CallbackParams) -> Result<()> {
    if params.flags.fit(params.queue) {
        Ok(())
    } else {
        Err(Error::InvalidWorkQueue)
    }
}

/// A result as put, invoke, schedule and wait take it: `&AsyncResult` adds a
/// reference for the platform to hold; an `AsyncResult` is moved in, which
/// saves a reference-count round trip when the caller has no further use for
/// its handle (the C ABI's `MFPutWorkItem` does this).
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let result = mfwq::AsyncResult::with_callback(mfwq::callback(|_| {}), None);
/// mfwq::put_result(mfwq::QueueId::STANDARD, &result)?; // the caller keeps `result`
/// mfwq::put_result(mfwq::QueueId::STANDARD, result)?; // the platform takes it
/// # Ok::<(), mfwq::Error>(())
/// ```
pub trait IntoAsyncResult {
    /// The handle the platform keeps.
    fn into_async_result(self) -> AsyncResult;
}

impl IntoAsyncResult for AsyncResult {
    fn into_async_result(self) -> AsyncResult {
        self
    }
}

impl IntoAsyncResult for &AsyncResult {
    fn into_async_result(self) -> AsyncResult {
        self.clone()
    }
}

/// Runs a Rust closure on `queue`: the native form of a work item, with no
/// result object. Same queue rules and errors as [`put_work_item`].
///
/// ```
/// use std::sync::mpsc;
/// let _platform = mfwq::Platform::start()?;
/// let (sender, receiver) = mpsc::channel();
/// for i in 0..4 {
///     let sender = sender.clone();
///     mfwq::spawn(mfwq::QueueId::MULTITHREADED, move || sender.send(i).unwrap())?;
/// }
/// let mut got: Vec<i32> = receiver.iter().take(4).collect();
/// got.sort();
/// assert_eq!(got, [0, 1, 2, 3]);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn spawn<F>(queue: QueueId, task: F) -> Result<()>
where
    F: FnOnce() + Send + 'static,
{
    spawn_with_priority(queue, 0, task)
}

/// [`spawn`] with a priority band (`> 0`, `0`, `< 0`).
pub fn spawn_with_priority<F>(queue: QueueId, priority: i32, task: F) -> Result<()>
where
    F: FnOnce() + Send + 'static,
{
    submit_named(
        queue,
        Band::from_priority(priority),
        Work::closure(task),
        CallbackFlags::empty(),
        Some(std::any::type_name::<F>()),
    )
}

/// Queues prepared work on `queue`, in `band`, with no callback flags: the
/// executor's polls (`Work::Poll`), which need no allocation of their own.
/// Refused work is dropped (its `Drop` caught) before this returns.
pub(crate) fn submit_work(queue: QueueId, band: Band, work: Work) -> Result<()> {
    submit(queue, band, work, CallbackFlags::empty())
}

/// Runs a [`RunShared`](crate::work::RunShared) task on `queue` (the
/// idiomatic API's join handles and scoped items): [`spawn`] with the task's
/// one allocation shared with its handle. A refused task is abandoned
/// (`RunShared::abandon`) before this returns.
/// `name` is the task's Rust type, for traces.
pub(crate) fn spawn_shared(
    queue: QueueId,
    priority: i32,
    task: std::sync::Arc<dyn crate::work::RunShared>,
    name: &'static str,
) -> Result<()> {
    submit_named(
        queue,
        Band::from_priority(priority),
        Work::new(crate::work::SharedTask::new(task)),
        CallbackFlags::empty(),
        Some(name),
    )
}

/// The callback's parameters, or the defaults for a callback-less result that
/// has an event to set. A result with neither is `InvalidArg`, unless the
/// platform is down: "not running" is reported first, as for every other call.
#[inline]
fn dispatch_params(result: &AsyncResult) -> Result<CallbackParams> {
    result.invoke_params().ok_or_else(|| {
        PLATFORM
            .with_epoch(|_| Error::InvalidArg)
            .unwrap_or_else(|shutdown| shutdown)
    })
}

/// Pushes `work` to `queue` if the platform runs, the queue is live and the flags
/// fit it. Work that is refused is dropped only after every lock is released,
/// since dropping it may run user code.
#[inline]
fn submit(queue: QueueId, band: Band, work: Work, flags: CallbackFlags) -> Result<()> {
    submit_named(queue, band, work, flags, None)
}

/// [`submit`] of a Rust closure or task whose type names it in traces.
#[inline]
fn submit_named(
    queue: QueueId,
    band: Band,
    work: Work,
    flags: CallbackFlags,
    name: Option<&'static str>,
) -> Result<()> {
    match try_submit_named(queue, band, work, flags, name) {
        Ok(()) => Ok(()),
        // A refused item is dropped here, after `try_submit` released every lock.
        Err((error, refused)) => refuse_values(error, refused, ()),
    }
}

/// A refusal: the values the call was given are dropped one at a time, each
/// with its `Drop` panics caught (so that they are reported, not thrown at
/// the caller, and never nest), off the hot path.
#[cold]
#[inline(never)]
fn refuse_values<A, B>(error: Error, first: A, second: B) -> Result<()> {
    crate::panic::drop_quietly(first);
    crate::panic::drop_quietly(second);
    Err(error)
}

/// [`submit`] that hands refused work back (with no lock held), so that the
/// caller can send it elsewhere.
fn try_submit(
    queue: QueueId,
    band: Band,
    work: Work,
    flags: CallbackFlags,
) -> std::result::Result<(), (Error, Option<Work>)> {
    try_submit_named(queue, band, work, flags, None)
}

/// The one place every put reaches a queue, and so where observation
/// (`crate::observe`) wraps items: one relaxed load when it is off.
#[inline]
fn try_submit_named(
    queue: QueueId,
    band: Band,
    work: Work,
    flags: CallbackFlags,
    name: Option<&'static str>,
) -> std::result::Result<(), (Error, Option<Work>)> {
    #[cfg(feature = "observe")]
    let (work, counted) = if crate::observe::enabled() {
        crate::work::observed::Observed::wrap(work, queue, band.priority(), name)
    } else {
        (work, false)
    };
    #[cfg(not(feature = "observe"))]
    let _ = name;
    let mut pending = Some(work);
    let outcome = route::push_to(queue, flags, |target| {
        let work = pending.take().expect("pushed once");
        target.push(work, band, flags).map_err(|refused| {
            let (refusal, work) = refused.into_parts();
            pending = Some(work);
            refusal
        })
    });
    #[cfg(feature = "observe")]
    if counted && outcome.is_ok() {
        crate::observe::accepted(queue);
    }
    outcome.map_err(|error| {
        #[cfg(feature = "observe")]
        let pending = pending.map(|work| {
            crate::work::observed::Observed::unwrap_refused(work, queue, error.hresult().0)
        });
        (error, pending)
    })
}
