//! MMCSS registration: register and unregister a queue (synchronously and as
//! Begin/End operations), and the platform-wide forms that do it for every
//! platform queue (docs/behaviour.md#shared, #d19).
//!
//! Windows attaches a queue's threads to a Multimedia Class Scheduler Service
//! task. Linux has no MMCSS, so a registration here is bookkeeping (class,
//! task id, priority in the queue's record, `state.rs`; the getters in
//! `query.rs` round-trip them) plus the Linux scheduling its class maps to
//! (`policy.rs`), set on the queue's threads (`apply.rs`). This file owns the
//! entry points and their argument checks; unregistering puts the threads
//! back to `SCHED_OTHER`, nice 0, or to the queue's active deadline.

use std::sync::atomic::{AtomicU32, Ordering};

use super::state::{finish, resolve, update_policy, Mmcss, STATE};
use crate::begin_end::{begin, AsyncOperation};
use crate::class_name::ClassName;
use crate::error::{Error, Result};
use crate::ids::{PlatformQueue, QueueId};
use crate::object::callback::Callback;
use crate::object::result::{AsyncResult, State};
use crate::panic::Refusable;

static NEXT_TASK_ID: AtomicU32 = AtomicU32::new(1);

fn check_class(class: &ClassName) -> Result<()> {
    if class.is_empty() || class.contains_nul() {
        Err(Error::InvalidArg)
    } else {
        Ok(())
    }
}

fn check_priority(priority: i32) -> Result<()> {
    if (-2..=2).contains(&priority) {
        Ok(())
    } else {
        Err(Error::InvalidArg)
    }
}

fn new_task_id() -> u32 {
    loop {
        let id = NEXT_TASK_ID.fetch_add(1, Ordering::Relaxed);
        if id != 0 {
            return id;
        }
    }
}

/// Registers a queue with an MMCSS class, synchronously: the work of
/// `MFBeginRegisterWorkQueueWithMMCSSEx` + `MFEndRegisterWorkQueueWithMMCSS`
/// (`AvSetMmThreadCharacteristics` + `AvSetMmThreadPriority` on every thread
/// of the queue). Returns the task id: `task_id` if non-zero, else a new
/// non-zero one.
///
/// The queue's worker threads, running and started later, get the Linux
/// scheduling of the class (docs/behaviour.md#d19); where the process may
/// not raise them that far the registration still succeeds and falls back (see
/// [`applied_scheduling`](crate::applied_scheduling)). Registering again replaces the registration.
///
/// - `queue`: a platform queue (ids without private bits that name none mean
///   STANDARD), a live private queue, or [`QueueId::ALL`] (all platform
///   queues, as [`register_platform_with_mmcss`]). A serial queue has no
///   threads of its own: its registration is recorded (the getters return it)
///   and nothing is applied; register the queue it runs on instead.
/// - `class`: the MMCSS task name ("Pro Audio", "Audio", "Capture",
///   "Playback", ...). Empty: [`Error::InvalidArg`].
/// - `priority`: `AVRT_PRIORITY`, −2 (very low) ..= 2 (critical); outside:
///   [`Error::InvalidArg`].
///
/// Errors: [`Error::InvalidWorkQueue`] for a private id that is not live,
/// [`Error::Shutdown`] when the platform is not running.
///
/// ```
/// use mfwq::{QueueId, QueueType};
/// let _platform = mfwq::Platform::start()?;
/// let queue = mfwq::allocate_work_queue(QueueType::Standard)?;
/// let task = mfwq::register_work_queue_with_mmcss(queue, "Audio", 0, 1)?;
/// assert_ne!(task, 0);
/// assert_eq!(mfwq::work_queue_mmcss_class(queue)?, "Audio");
/// assert_eq!(mfwq::work_queue_mmcss_task_id(queue)?, task);
/// assert_eq!(mfwq::work_queue_mmcss_priority(queue)?, 1);
/// // SCHED_FIFO 25 where allowed, else a fallback that says so.
/// let applied = mfwq::applied_scheduling(queue)?;
/// assert!(applied.fell_back || applied.applied == Some(mfwq::SchedPolicy::Fifo { priority: 25 }));
/// mfwq::unregister_work_queue_from_mmcss(queue)?;
/// assert_eq!(mfwq::work_queue_mmcss_class(queue)?, "");
/// mfwq::unlock_work_queue(queue)?;
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "AvSetMmThreadCharacteristics")]
#[doc(alias = "AvSetMmThreadPriority")]
pub fn register_work_queue_with_mmcss(
    queue: QueueId,
    class: impl Into<ClassName>,
    task_id: u32,
    priority: i32,
) -> Result<u32> {
    // Not running is reported first, as for every call (docs/behaviour.md#d34).
    crate::platform::ensure_started()?;
    let class = class.into();
    check_class(&class)?;
    check_priority(priority)?;
    if queue == QueueId::ALL {
        return register_platform_with_mmcss(class, task_id, priority);
    }
    let resolved = resolve(queue)?;
    let task_id = if task_id == 0 { new_task_id() } else { task_id };
    let requested = crate::observe::enabled().then(|| format!("\"{class}\" priority {priority}"));
    let changed = {
        let mut state = STATE.lock();
        let record = state.record_mut(&resolved);
        record.mmcss = Some(Mmcss {
            class,
            task_id,
            priority,
        });
        update_policy(record, &resolved)
    };
    finish(changed);
    if let Some(requested) = requested {
        super::query::observe_policy(queue, || requested);
    }
    Ok(task_id)
}

/// The output of a register operation (a type of its own, so that End calls
/// refuse other operations' results).
struct Registered(u32);
/// The output of an unregister operation.
struct Unregistered;

/// `MFBeginRegisterWorkQueueWithMMCSSEx(queue, class, task_id, priority,
/// callback, state)`: starts [`register_work_queue_with_mmcss`]; `callback` is
/// invoked on the queue it names (its own queue) when it is done and calls
/// [`end_register_work_queue_with_mmcss`] for the task id.
///
/// The arguments, the platform and the queue are checked at once (errors as
/// for the synchronous form); the registration itself runs on the
/// MULTITHREADED queue, and a failure there (the queue went away meanwhile)
/// comes back as the result's status, which End returns. `MFBeginRegisterWorkQueueWithMMCSS`
/// (no priority) is this with priority 0.
///
/// ```
/// use std::sync::mpsc;
/// use mfwq::QueueId;
/// let _platform = mfwq::Platform::start()?;
/// let (sender, receiver) = mpsc::sync_channel(1);
/// let done = mfwq::callback(move |result| {
///     sender.send(mfwq::end_register_work_queue_with_mmcss(result)).unwrap();
/// });
/// mfwq::begin_register_work_queue_with_mmcss(QueueId::RT, "Playback", 42, 0, done, None)?;
/// assert_eq!(receiver.recv().unwrap()?, 42);
/// assert_eq!(mfwq::work_queue_mmcss_class(QueueId::RT)?, "Playback");
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFBeginRegisterWorkQueueWithMMCSS")]
#[doc(alias = "MFBeginRegisterWorkQueueWithMMCSSEx")]
#[doc(alias = "RtwqBeginRegisterWorkQueueWithMMCSS")]
pub fn begin_register_work_queue_with_mmcss(
    queue: QueueId,
    class: impl Into<ClassName>,
    task_id: u32,
    priority: i32,
    callback: Callback,
    state: Option<State>,
) -> Result<()> {
    let (callback, state) = (Refusable::new(callback), Refusable::new(state));
    // Not running is reported first, as for every call (docs/behaviour.md#d34).
    crate::platform::ensure_started()?;
    let class = class.into();
    check_class(&class)?;
    check_priority(priority)?;
    if queue != QueueId::ALL {
        resolve(queue)?;
    }
    let (callback, state) = (callback.take(), state.take());
    begin(QueueId::MULTITHREADED, callback, state, move || {
        register_work_queue_with_mmcss(queue, &class, task_id, priority).map(Registered)
    })
}

/// `MFEndRegisterWorkQueueWithMMCSS(result, &task_id)`: the task id of a
/// registration started by [`begin_register_work_queue_with_mmcss`]; pass the
/// result the callback received. A failed registration gives its error; a
/// result from another operation, [`Error::InvalidArg`]; a second End,
/// [`Error::InvalidRequest`].
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let foreign = mfwq::AsyncResult::new(None, None, None);
/// assert_eq!(mfwq::end_register_work_queue_with_mmcss(&foreign), Err(mfwq::Error::InvalidArg));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFEndRegisterWorkQueueWithMMCSS")]
#[doc(alias = "RtwqEndRegisterWorkQueueWithMMCSS")]
pub fn end_register_work_queue_with_mmcss(result: &AsyncResult) -> Result<u32> {
    AsyncOperation::<Registered>::end(result).map(|registered| registered.0)
}

/// Unregisters a queue from its MMCSS class, synchronously
/// (`AvRevertMmThreadCharacteristics` on its threads): the getters go back to
/// `""`, 0, 0 and the threads to `SCHED_OTHER`, nice 0 (or to the queue's
/// active deadline, if it has one). A queue that is not registered is left as
/// it is. [`QueueId::ALL`] unregisters every platform queue. Errors as for
/// [`register_work_queue_with_mmcss`].
///
/// ```
/// use mfwq::QueueId;
/// let _platform = mfwq::Platform::start()?;
/// mfwq::register_work_queue_with_mmcss(QueueId::IO, "Capture", 0, 0)?;
/// mfwq::unregister_work_queue_from_mmcss(QueueId::IO)?;
/// assert_eq!(mfwq::work_queue_mmcss_task_id(QueueId::IO)?, 0);
/// assert_eq!(mfwq::applied_scheduling(QueueId::IO)?.applied, Some(mfwq::SchedPolicy::Other { nice: 0 }));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "AvRevertMmThreadCharacteristics")]
pub fn unregister_work_queue_from_mmcss(queue: QueueId) -> Result<()> {
    if queue == QueueId::ALL {
        return unregister_platform_from_mmcss();
    }
    let resolved = resolve(queue)?;
    let changed = {
        let mut state = STATE.lock();
        let registered = state
            .record(&resolved)
            .is_some_and(|record| record.mmcss.is_some());
        if registered {
            let record = state.record_mut(&resolved);
            record.mmcss = None;
            update_policy(record, &resolved)
        } else {
            None
        }
    };
    finish(changed);
    super::query::observe_policy(queue, || "MMCSS unregistered".into());
    Ok(())
}

/// `MFBeginUnregisterWorkQueueWithMMCSS(queue, callback, state)`: starts
/// [`unregister_work_queue_from_mmcss`]; `callback` is invoked on its own
/// queue and calls [`end_unregister_work_queue_with_mmcss`]. The platform and
/// the queue are checked at once.
///
/// ```
/// use std::sync::mpsc;
/// use mfwq::QueueId;
/// let _platform = mfwq::Platform::start()?;
/// mfwq::register_work_queue_with_mmcss(QueueId::TIMER, "Games", 0, 0)?;
/// let (sender, receiver) = mpsc::sync_channel(1);
/// let done = mfwq::callback(move |result| {
///     sender.send(mfwq::end_unregister_work_queue_with_mmcss(result)).unwrap();
/// });
/// mfwq::begin_unregister_work_queue_with_mmcss(QueueId::TIMER, done, None)?;
/// receiver.recv().unwrap()?;
/// assert_eq!(mfwq::work_queue_mmcss_class(QueueId::TIMER)?, "");
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFBeginUnregisterWorkQueueWithMMCSS")]
#[doc(alias = "RtwqBeginUnregisterWorkQueueWithMMCSS")]
pub fn begin_unregister_work_queue_with_mmcss(
    queue: QueueId,
    callback: Callback,
    state: Option<State>,
) -> Result<()> {
    let (callback, state) = (Refusable::new(callback), Refusable::new(state));
    if queue == QueueId::ALL {
        crate::platform::ensure_started()?;
    } else {
        resolve(queue)?;
    }
    let (callback, state) = (callback.take(), state.take());
    begin(QueueId::MULTITHREADED, callback, state, move || {
        unregister_work_queue_from_mmcss(queue).map(|()| Unregistered)
    })
}

/// `MFEndUnregisterWorkQueueWithMMCSS(result)`: completes
/// [`begin_unregister_work_queue_with_mmcss`] (its error, if it failed).
///
/// ```
/// let foreign = mfwq::AsyncResult::new(None, None, None);
/// assert_eq!(mfwq::end_unregister_work_queue_with_mmcss(&foreign), Err(mfwq::Error::InvalidArg));
/// ```
#[doc(alias = "MFEndUnregisterWorkQueueWithMMCSS")]
#[doc(alias = "RtwqEndUnregisterWorkQueueWithMMCSS")]
pub fn end_unregister_work_queue_with_mmcss(result: &AsyncResult) -> Result<()> {
    AsyncOperation::<Unregistered>::end(result).map(|Unregistered| ())
}

/// `MFRegisterPlatformWithMMCSS(class, &task_id, priority)`: registers every
/// platform queue (STANDARD, RT, IO, TIMER, MULTITHREADED, LONG_FUNCTION) with
/// one MMCSS task, synchronously. Returns the task id (`task_id`, or a new one
/// for 0). Arguments and errors as for [`register_work_queue_with_mmcss`].
///
/// ```
/// use mfwq::QueueId;
/// let _platform = mfwq::Platform::start()?;
/// let task = mfwq::register_platform_with_mmcss("Audio", 0, 0)?;
/// assert_eq!(mfwq::work_queue_mmcss_task_id(QueueId::MULTITHREADED)?, task);
/// mfwq::unregister_platform_from_mmcss()?;
/// assert_eq!(mfwq::work_queue_mmcss_class(QueueId::MULTITHREADED)?, "");
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFRegisterPlatformWithMMCSS")]
#[doc(alias = "RtwqRegisterPlatformWithMMCSS")]
pub fn register_platform_with_mmcss(
    class: impl Into<ClassName>,
    task_id: u32,
    priority: i32,
) -> Result<u32> {
    crate::platform::ensure_started()?;
    let class = class.into();
    check_class(&class)?;
    check_priority(priority)?;
    let task_id = if task_id == 0 { new_task_id() } else { task_id };
    for queue in PlatformQueue::ALL {
        register_work_queue_with_mmcss(queue.id(), &class, task_id, priority)?;
    }
    Ok(task_id)
}

/// `MFUnregisterPlatformFromMMCSS()`: unregisters every platform queue
/// (as [`unregister_work_queue_from_mmcss`] on each). [`Error::Shutdown`] when
/// the platform is not running.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// mfwq::unregister_platform_from_mmcss()?; // nothing registered: nothing to do
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFUnregisterPlatformFromMMCSS")]
#[doc(alias = "RtwqUnregisterPlatformFromMMCSS")]
pub fn unregister_platform_from_mmcss() -> Result<()> {
    crate::platform::ensure_started()?;
    for queue in PlatformQueue::ALL {
        unregister_work_queue_from_mmcss(queue.id())?;
    }
    Ok(())
}
