//! Private queues: allocate, lock, unlock, and the RAII [`WorkQueue`] handle.

use std::time::Duration;

use crate::class_name::ClassName;
use crate::error::{Error, Result};
use crate::ids::{QueueId, QueueType};
use crate::object::callback::Callback;
use crate::object::result::{AsyncResult, State};
use crate::platform::PLATFORM;
use crate::sched::Pump;
use crate::work::serial::SerialQueue;
use crate::work::target::Target;
use crate::work::QueueCore;
use std::sync::Arc;

/// `MFAllocateWorkQueueEx(type)` / `RtwqAllocateWorkQueue`: a new private queue,
/// locked once by the caller.
///
/// - [`QueueType::Standard`]: one dedicated thread, FIFO, one item at a time.
/// - [`QueueType::Window`]: the same (use [`allocate_window_queue`] to step a host event loop on it).
/// - [`QueueType::Multithreaded`]: a pool; items start in FIFO order and run concurrently.
///
/// The thread (or threads) start on the first put, so an unused queue costs none.
/// Fails with [`Error::Shutdown`] unless the platform is started and its lock
/// count is above zero, and with [`Error::Fail`] past
/// [`MAX_PRIVATE_QUEUES`](crate::MAX_PRIVATE_QUEUES).
///
/// ```
/// use mfwq::{QueueType, Platform};
/// let _platform = Platform::start()?;
/// let queue = mfwq::allocate_work_queue(QueueType::Standard)?;
/// assert!(queue.is_private());
/// mfwq::unlock_work_queue(queue)?;
/// assert_eq!(mfwq::unlock_work_queue(queue), Err(mfwq::Error::InvalidWorkQueue));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFAllocateWorkQueue")]
#[doc(alias = "MFAllocateWorkQueueEx")]
#[doc(alias = "RtwqAllocateWorkQueue")]
pub fn allocate_work_queue(kind: QueueType) -> Result<QueueId> {
    allocate(kind, None, None)
}

/// A window queue (docs/behaviour.md#d31) whose thread calls `step` after every item and
/// whenever it has been idle for `interval`: the place to run one step of a host
/// event loop that must live on the queue's thread.
///
/// ```
/// use std::sync::{atomic::{AtomicUsize, Ordering}, Arc};
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let steps = Arc::new(AtomicUsize::new(0));
/// let counter = steps.clone();
/// let queue = mfwq::allocate_window_queue(Duration::from_millis(1), move || {
///     counter.fetch_add(1, Ordering::Relaxed);
/// })?;
/// mfwq::put_work_item(queue, mfwq::callback(|_| {}), None)?;
/// while steps.load(Ordering::Relaxed) == 0 { std::thread::yield_now(); }
/// mfwq::unlock_work_queue(queue)?;
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn allocate_window_queue<F>(interval: Duration, step: F) -> Result<QueueId>
where
    F: FnMut() + Send + 'static,
{
    allocate_window_queue_named(interval, step, None)
}

/// [`allocate_window_queue`] whose thread is named `mfwq-<prefix>-q<id>`
/// (the builder's thread-name prefix).
pub(crate) fn allocate_window_queue_named<F>(
    interval: Duration,
    step: F,
    prefix: Option<&str>,
) -> Result<QueueId>
where
    F: FnMut() + Send + 'static,
{
    let mut step = step;
    let pump = Pump {
        interval,
        // A panicking step is caught and reported like a callback's.
        step: crate::sync::Mutex::new(Box::new(move || {
            crate::panic::guard(crate::panic::PanicSite::Pump, &mut step);
        })),
    };
    allocate(QueueType::Window, Some(pump), prefix)
}

/// [`allocate_work_queue`] whose threads are named `mfwq-<prefix>-q<id>`
/// (and `-<n>` for the n-th thread of a pool) instead of `mfwq-q<id>`.
pub(crate) fn allocate_work_queue_named(kind: QueueType, prefix: Option<&str>) -> Result<QueueId> {
    allocate(kind, None, prefix)
}

fn allocate(kind: QueueType, pump: Option<Pump>, prefix: Option<&str>) -> Result<QueueId> {
    let platform = &*PLATFORM;
    let workers = match kind {
        QueueType::Multithreaded => std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2),
        QueueType::Standard | QueueType::Window => 1,
    };
    platform.allocate_if_running(|| {
        platform.registry.allocate(kind, |id| {
            let name = match prefix {
                Some(prefix) => format!("{prefix}-q{:x}", id.0),
                None => format!("q{:x}", id.0),
            };
            Target::Core(QueueCore::new(id, name, workers, pump))
        })
    })
}

/// `MFLockWorkQueue`: one more lock on a queue. Platform ids (no private bits)
/// are accepted and change nothing. A private id that is not live is
/// [`Error::InvalidWorkQueue`]; before startup or after shutdown, [`Error::Shutdown`].
#[doc(alias = "MFLockWorkQueue")]
#[doc(alias = "RtwqLockWorkQueue")]
pub fn lock_work_queue(queue: QueueId) -> Result<()> {
    if !queue.is_private() {
        return Ok(());
    }
    PLATFORM.with_epoch(|_| PLATFORM.registry.lock(queue, true))?
}

/// `MFUnlockWorkQueue`: one lock less; at zero the queue goes away. Items already
/// queued on it still run (its thread drains them, then exits); the call does not
/// wait for them. Platform ids are a no-op `Ok`. Unlocking a queue that is gone
/// is [`Error::InvalidWorkQueue`].
#[doc(alias = "MFUnlockWorkQueue")]
#[doc(alias = "RtwqUnlockWorkQueue")]
pub fn unlock_work_queue(queue: QueueId) -> Result<()> {
    unlock(queue, true)
}

/// Releases a lock: an application's (`explicit`) or a serial queue's on its target.
fn unlock(queue: QueueId, explicit: bool) -> Result<()> {
    if !queue.is_private() {
        return Ok(());
    }
    let platform = &*PLATFORM;
    let before = platform.registry.extra_locks();
    let last = platform.teardown(|retired| {
        Ok(match platform.registry.unlock(queue, explicit)? {
            Some(Target::Core(core)) => {
                core.close();
                retired.push(Target::Core(core));
                None
            }
            Some(Target::Serial(serial)) => {
                // Kept until it has drained, so that a shutdown meanwhile still
                // finds it (a reply-mode item may hold it: see `close_at_shutdown`).
                retired.push(Target::Serial(Arc::clone(&serial)));
                Some(serial)
            }
            None => None,
        })
    })?;
    // Outside the teardown lock: a serial queue that is already idle releases
    // its target right away, which unlocks that queue.
    if let Some(serial) = last {
        serial.close();
    }
    if before > 0 && platform.registry.extra_locks() < before {
        platform.notify_lock_released();
    }
    Ok(())
}

/// `MFAllocateSerialWorkQueue(target)` / `RtwqAllocateSerialWorkQueue`: a
/// serial queue over `target` — any platform queue, a private queue, or
/// another serial queue (chains of any depth).
///
/// Items run strictly in FIFO order, never two at once, even over a pool;
/// priorities order a serial queue's steps on its target, not its own items.
/// A callback that reports [`CallbackFlags::REPLY`](crate::CallbackFlags::REPLY)
/// is invoked with a *reply result* (the same state and object, an internal
/// callback): the queue moves on only when that result is passed to
/// [`invoke_callback`](crate::invoke_callback), from any thread, at any time.
///
/// The serial queue holds a lock on a private target, so unlocking the target
/// first is fine. Unlocking the serial queue to zero lets its backlog run, then
/// releases the target. Errors: [`Error::Shutdown`], [`Error::InvalidWorkQueue`]
/// for a target that is not live, [`Error::Fail`] past the queue limit.
///
/// ```
/// use std::sync::mpsc;
/// use mfwq::QueueId;
/// let _platform = mfwq::Platform::start()?;
/// let serial = mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED)?;
/// let (sender, receiver) = mpsc::channel();
/// for i in 0..100 {
///     let sender = sender.clone();
///     mfwq::spawn(serial, move || sender.send(i).unwrap())?;
/// }
/// assert_eq!(receiver.iter().take(100).collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
/// mfwq::unlock_work_queue(serial)?;
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFAllocateSerialWorkQueue")]
#[doc(alias = "RtwqAllocateSerialWorkQueue")]
pub fn allocate_serial_work_queue(target: QueueId) -> Result<QueueId> {
    let platform = &*PLATFORM;
    let resolved = if target.is_private() {
        platform.with_epoch(|_| platform.registry.lock(target, false))??;
        match platform
            .registry
            .with_queue(target, |entry| entry.target.clone())
        {
            Ok(resolved) => resolved,
            Err(error) => {
                let _ = unlock(target, false);
                return Err(error);
            }
        }
    } else {
        Target::Core(platform.with_epoch(|epoch| Arc::clone(epoch.queue(target.platform_slot())))?)
    };
    let release_target: Box<dyn FnOnce() + Send> = Box::new(move || {
        // Shutdown error after a full shutdown: the target is gone anyway.
        let _ = unlock(target, false);
    });
    let allocated = platform.allocate_if_running(|| {
        platform.registry.allocate(QueueType::Standard, |id| {
            Target::Serial(SerialQueue::new(id, resolved, release_target))
        })
    });
    if allocated.is_err() {
        let _ = unlock(target, false);
    }
    allocated
}

/// `MFLockSharedWorkQueue(class, base_priority, &task_id, &id)` /
/// `RtwqLockSharedWorkQueue`: the process-wide multithreaded queue of an MMCSS
/// class, created on first use, with one more lock per call.
///
/// One shared queue per distinct class name (docs/behaviour.md#d20); `""` is the
/// regular-priority shared queue. `class: None` (a NULL name in C) is
/// [`Error::Pointer`], as on Windows. For `""` the task id must be `None`: a
/// task id with `""` is [`Error::InvalidArg`], as Windows answers; for
/// another class the
/// queue is registered with that class and the task id is read (0 asks for a
/// new one) and written back; `base_priority` is its AVRT priority, clamped to
/// -2..=2. Each call must be matched by one
/// [`unlock_work_queue`]; like allocation locks, these do not make shutdown
/// wait. A shared queue unlocked to zero is made anew by the next call.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let first = mfwq::lock_shared_work_queue(Some(""), 0, None)?;
/// let again = mfwq::lock_shared_work_queue(Some(""), 0, None)?;
/// assert_eq!(first, again);
/// mfwq::unlock_work_queue(first)?;
/// mfwq::unlock_work_queue(again)?;
/// assert_eq!(mfwq::lock_shared_work_queue(None, 0, None), Err(mfwq::Error::Pointer));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFLockSharedWorkQueue")]
#[doc(alias = "RtwqLockSharedWorkQueue")]
pub fn lock_shared_work_queue(
    class: Option<&str>,
    base_priority: i32,
    task_id: Option<&mut u32>,
) -> Result<QueueId> {
    lock_shared_work_queue_named(class.map(ClassName::from).as_ref(), base_priority, task_id)
}

/// [`lock_shared_work_queue`] with the class as a [`ClassName`]: classes are
/// told apart by their exact UTF-16 units, as on Windows (two names that
/// differ only in unpaired surrogates are two queues).
///
/// ```
/// use mfwq::ClassName;
/// let _platform = mfwq::Platform::start()?;
/// let a = mfwq::lock_shared_work_queue_named(Some(&ClassName::from_utf16(&[0xD800])), 0, None)?;
/// let b = mfwq::lock_shared_work_queue_named(Some(&ClassName::from_utf16(&[0xDC00])), 0, None)?;
/// assert_ne!(a, b);
/// mfwq::unlock_work_queue(a)?;
/// mfwq::unlock_work_queue(b)?;
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn lock_shared_work_queue_named(
    class: Option<&ClassName>,
    base_priority: i32,
    task_id: Option<&mut u32>,
) -> Result<QueueId> {
    // Not running is reported first, as for every call (docs/behaviour.md#d34).
    let platform = &*PLATFORM;
    let epoch = platform.load_epoch().ok_or(Error::Shutdown)?;
    let class = class.ok_or(Error::Pointer)?;
    if class.is_empty() && task_id.is_some() {
        return Err(Error::InvalidArg);
    }
    let mut shared = epoch.shared_queues.lock();
    if let Some(&queue) = shared.get(class) {
        // The epoch loaded above is held, so the platform is up: lock directly.
        if platform.registry.lock(queue, false).is_ok() {
            if let Some(task_id) = task_id {
                match shared_task_id(queue, class) {
                    Ok(granted) => *task_id = granted,
                    Err(error) => {
                        // Give back the lock just taken.
                        drop(shared);
                        let _ = unlock_work_queue(queue);
                        return Err(error);
                    }
                }
            }
            return Ok(queue);
        }
    }
    let queue = allocate_work_queue(QueueType::Multithreaded)?;
    let granted = if class.is_empty() {
        0
    } else {
        let requested = task_id.as_deref().copied().unwrap_or(0);
        match register_shared_queue(queue, class, requested, base_priority.clamp(-2, 2)) {
            Ok(granted) => granted,
            Err(error) => {
                let _ = unlock_work_queue(queue);
                return Err(error);
            }
        }
    };
    shared.insert(class.clone(), queue);
    if let Some(task_id) = task_id {
        *task_id = granted;
    }
    Ok(queue)
}

/// The task id a shared queue was registered with (0 for the `""` queue).
fn shared_task_id(queue: QueueId, class: &ClassName) -> Result<u32> {
    if class.is_empty() {
        Ok(0)
    } else {
        shared_queue_task_id(queue)
    }
}

/// Registers a new shared queue with its class (MMCSS emulation).
fn register_shared_queue(
    queue: QueueId,
    class: &ClassName,
    task_id: u32,
    base_priority: i32,
) -> Result<u32> {
    crate::realtime::register_work_queue_with_mmcss(queue, class, task_id, base_priority)
}

fn shared_queue_task_id(queue: QueueId) -> Result<u32> {
    crate::realtime::work_queue_mmcss_task_id(queue)
}

/// How many private queues are alive (allocated and not unlocked to zero).
pub fn private_queue_count() -> usize {
    PLATFORM.registry.live_count()
}

/// The queue a live serial queue forwards its steps to; `None` for any other
/// id (a platform queue, a private thread-backed queue, a dead id).
pub(crate) fn serial_target(queue: QueueId) -> Option<QueueId> {
    if !queue.is_private() {
        return None;
    }
    PLATFORM
        .registry
        .with_queue(queue, |entry| match &entry.target {
            Target::Serial(serial) => Some(serial.target_id()),
            Target::Core(_) => None,
        })
        .ok()
        .flatten()
}

/// The type of a live private queue.
pub fn work_queue_type(queue: QueueId) -> Result<QueueType> {
    PLATFORM.with_epoch(|_| PLATFORM.registry.with_queue(queue, |entry| entry.kind))?
}

/// An owned lock on a private queue: allocated by [`WorkQueue::new`], unlocked on drop.
///
/// ```
/// use mfwq::{Platform, QueueType, WorkQueue};
/// use std::sync::mpsc;
/// let _platform = Platform::start()?;
/// let queue = WorkQueue::new(QueueType::Standard)?;
/// let (sender, receiver) = mpsc::channel();
/// queue.spawn(move || sender.send(std::thread::current().name().map(String::from)).unwrap())?;
/// let thread_name = receiver.recv().unwrap().unwrap();
/// assert!(thread_name.starts_with("mfwq-"));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[derive(Debug)]
pub struct WorkQueue {
    id: QueueId,
}

impl WorkQueue {
    /// Allocates a private queue of `kind`.
    pub fn new(kind: QueueType) -> Result<WorkQueue> {
        Ok(WorkQueue {
            id: allocate_work_queue(kind)?,
        })
    }

    /// Takes one more lock on an existing queue (any id; platform ids too).
    pub fn lock(id: QueueId) -> Result<WorkQueue> {
        lock_work_queue(id)?;
        Ok(WorkQueue { id })
    }

    /// The queue's id.
    pub fn id(&self) -> QueueId {
        self.id
    }

    /// [`put_work_item`](crate::put_work_item) on this queue.
    pub fn put(&self, callback: Callback, state: Option<State>) -> Result<()> {
        crate::platform::dispatch::put_work_item(self.id, callback, state)
    }

    /// [`put_result`](crate::put_result) on this queue.
    pub fn put_result(&self, result: &AsyncResult) -> Result<()> {
        crate::platform::dispatch::put_result(self.id, result)
    }

    /// [`spawn`](crate::spawn) on this queue.
    pub fn spawn<F>(&self, task: F) -> Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        crate::platform::dispatch::spawn(self.id, task)
    }

    /// Gives up ownership without unlocking; returns the id.
    pub fn into_id(self) -> QueueId {
        let id = self.id;
        std::mem::forget(self);
        id
    }
}

impl Drop for WorkQueue {
    fn drop(&mut self) {
        if let Err(error) = unlock_work_queue(self.id) {
            if error != Error::Shutdown {
                tracing::warn!(queue = %self.id, %error, "unlocking a WorkQueue failed");
            }
        }
    }
}
