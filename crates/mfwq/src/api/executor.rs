//! Futures on any queue: [`spawn_future`] makes a queue an executor, with no
//! runtime of its own.
//!
//! A task is one allocation (an [`async_task`] task: the future, its output
//! slot, a state word and the schedule function), so spawning allocates once
//! and a wake allocates nothing: the task's `Runnable` (one pointer) is itself
//! the queued item (`Work::Poll`), stored in the band's block like any other.
//! Each poll runs as a work item on the task's queue: the task's `Waker`
//! re-submits it there. The state
//! machine of `async-task` (idle, scheduled, running, woken while running,
//! completed, closed) makes a wake while the task is queued a no-op, and a
//! wake while it runs re-queues it once, after the poll returns, at the back
//! of the queue: so a serial queue (a private standard queue, a serial queue)
//! runs its tasks' polls one at a time in the order they were woken, and a
//! real-time queue polls on its real-time thread.
//!
//! Why `async-task` rather than a hand-written task: it is exactly this (a
//! runnable plus a waker sharing one allocation, with the scheduled/running/
//! notified states, cancellation and a join handle), it has no dependencies
//! and no runtime, and its state machine is the one smol runs on and has been
//! checked for years; a hand-written copy would be the same code with fewer
//! eyes on it.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU8;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use async_task::{Builder, FallibleTask, Runnable};

use crate::api::priority::Priority;
use crate::api::queue::Queue;
use crate::error::{Error, Result};
use crate::ids::{Band, QueueId};
use crate::panic::PanicSite;
use crate::work::poll::{Meta, PollStep};
use crate::work::Work;

/// The output of a future spawned on a queue with [`spawn_future`], as a
/// future: it resolves when the task completes.
///
/// - `Ok(output)`: the future returned `output`.
/// - `Err(Error::Unexpected)`: a poll panicked. The panic was caught on the
///   queue's thread and reported like any work item's (`tracing` and the
///   [panic hook](crate::set_panic_hook)), and the future was dropped there.
/// - `Err(Error::Shutdown)`: the task was woken after the platform shut down
///   (or while it shut down, once its queue closed), so its queue refused it.
///   Such a task is dropped, never polled on another thread.
/// - `Err(Error::InvalidWorkQueue)`: its private queue was unlocked for the
///   last time while the task waited; likewise dropped.
///
/// **Dropping the handle detaches the task**: it keeps running to completion
/// and its output is dropped, as with tokio's `JoinHandle` and `std::thread`
/// (and as with [`OperationFuture`](crate::OperationFuture) and
/// [`spawn`](crate::spawn), which are fire-and-forget too). To stop a task,
/// call [`cancel`](TaskHandle::cancel).
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let handle = mfwq::spawn_future(mfwq::QueueId::MULTITHREADED, async { 6 * 7 })?;
/// assert_eq!(mfwq::block_on(handle)?, 42);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "dropping a TaskHandle detaches the task; await it, or call detach() or cancel()"]
pub struct TaskHandle<T> {
    task: Option<FallibleTask<Result<T>, Meta>>,
    /// The task's metadata: it lives in the task's allocation, which `task`
    /// keeps alive while it is `Some`.
    meta: NonNull<Meta>,
    output: PhantomData<fn() -> T>,
}

// SAFETY: `meta` points into the task's allocation, which the `FallibleTask`
// keeps alive; `Meta` is only read through atomics, so sharing it is fine.
// The rest is the `FallibleTask`, which is `Send`/`Sync` for `T: Send`.
unsafe impl<T: Send> Send for TaskHandle<T> {}
// SAFETY: as above; `&TaskHandle` exposes only `is_finished` and the metadata.
unsafe impl<T: Send> Sync for TaskHandle<T> {}

impl<T> std::fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> TaskHandle<T> {
    /// Whether the task has completed (its output is ready, or it was dropped).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let handle = mfwq::spawn_future(mfwq::QueueId::STANDARD, async {})?;
    /// while !handle.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(FallibleTask::is_finished)
    }

    /// Waits on this thread for the task's output ([`block_on`] of the
    /// handle): the blocking form of `.await`, with the same errors.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let handle = mfwq::spawn_future(mfwq::QueueId::MULTITHREADED, async { 6 * 7 })?;
    /// assert_eq!(handle.join(), Ok(42));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn join(self) -> Result<T> {
        block_on(self)
    }

    /// [`join`](TaskHandle::join) for at most `timeout`: `Ok(output)` if the
    /// task finished in time, else `Err(self)` to wait again (or cancel)
    /// later.
    ///
    /// ```
    /// use std::time::Duration;
    /// let _platform = mfwq::Platform::start()?;
    /// let never = mfwq::spawn_future(mfwq::QueueId::MULTITHREADED, std::future::pending::<()>())?;
    /// let never = never.join_timeout(Duration::from_millis(10)).unwrap_err();
    /// never.cancel();
    /// let soon = mfwq::spawn_future(mfwq::QueueId::MULTITHREADED, async { 1 })?;
    /// assert_eq!(soon.join_timeout(Duration::from_secs(5)).ok(), Some(Ok(1)));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn join_timeout(
        mut self,
        timeout: std::time::Duration,
    ) -> std::result::Result<Result<T>, TaskHandle<T>> {
        let deadline = std::time::Instant::now().checked_add(timeout);
        match poll_parked(Pin::new(&mut self), deadline) {
            Some(output) => Ok(output),
            None => Err(self),
        }
    }

    /// Lets the task run to completion on its own; its output is dropped.
    /// The same as dropping the handle, said explicitly.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// mfwq::spawn_future(mfwq::QueueId::MULTITHREADED, async move { sender.send(1).unwrap() })?
    ///     .detach();
    /// assert_eq!(receiver.recv().unwrap(), 1);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn detach(mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }

    /// Cancels the task: it is never polled again, and its future is dropped
    /// (on its queue if it is waiting, or right after the poll in progress
    /// returns, on the thread that ran it). A task that already completed has
    /// its output dropped. Harmless at any time, including after shutdown.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let handle = mfwq::spawn_future(mfwq::QueueId::MULTITHREADED, std::future::pending::<()>())?;
    /// handle.cancel(); // the pending future is dropped on MULTITHREADED
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn cancel(mut self) {
        // Dropping an async-task `Task` closes it: an idle task is scheduled
        // once more so that its queue drops the future, a running one drops
        // it when the poll returns, and a completed one drops its output.
        drop(self.task.take());
    }

    fn meta(&self) -> &Meta {
        // SAFETY: called only while `self.task` is `Some`, which keeps the
        // task's allocation, and with it the metadata, alive.
        unsafe { self.meta.as_ref() }
    }
}

impl<T> Drop for TaskHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> Future for TaskHandle<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Result<T>> {
        let Some(task) = self.task.as_mut() else {
            return Poll::Ready(Err(Error::InvalidRequest));
        };
        match Pin::new(task).poll(context) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(output)) => {
                self.task = None;
                Poll::Ready(output)
            }
            Poll::Ready(None) => {
                let error = self.meta().error();
                self.task = None;
                Poll::Ready(Err(error))
            }
        }
    }
}

impl Queue {
    /// [`spawn_future`] on this queue: runs `future` here, one poll per work
    /// item, and returns a handle to its output.
    ///
    /// ```
    /// use mfwq::Queue;
    /// let _platform = mfwq::Platform::start()?;
    /// let serial = Queue::MULTITHREADED.serial()?; // polls never overlap, FIFO
    /// let task = serial.spawn_future(async { "polled on the serial queue" })?;
    /// assert_eq!(mfwq::block_on(task)?, "polled on the serial queue");
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn spawn_future<F>(&self, future: F) -> Result<TaskHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_future_with_priority(self.id(), 0, future)
    }

    /// [`spawn_future_with_priority`] on this queue: every poll of the task
    /// runs in `priority`'s band.
    ///
    /// ```
    /// use mfwq::{Priority, Queue};
    /// let _platform = mfwq::Platform::start()?;
    /// let task = Queue::STANDARD.spawn_future_with_priority(Priority::High, async { 1 })?;
    /// assert_eq!(mfwq::block_on(task)?, 1);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn spawn_future_with_priority<F>(
        &self,
        priority: Priority,
        future: F,
    ) -> Result<TaskHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_future_with_priority(self.id(), priority.to_raw(), future)
    }
}

/// Runs `future` on `queue`, one poll per work item, and returns a handle to
/// its output.
///
/// The first poll is queued at once (normal priority); afterwards the task is
/// queued again each time it is woken, however many times it is woken before
/// it runs. On a queue with one thread (STANDARD, RT, a private standard
/// queue, a serial queue) the polls of all its tasks never overlap and run in
/// the order of their wake-ups; on MULTITHREADED consecutive polls of one
/// task may run on different threads (never at the same time). Works with
/// every future, whatever it awaits: the futures of this crate
/// ([`sleep`](crate::sleep), [`Event::wait_async`](crate::Event::wait_async),
/// [`begin_async`](crate::begin_async)) and those of other libraries whose
/// wakers do not need a runtime of their own.
///
/// Fails at once, and drops `future` (unpolled), with [`Error::Shutdown`]
/// when the platform is not running and [`Error::InvalidWorkQueue`] for a
/// private queue that is not live. See [`TaskHandle`] for what the handle
/// resolves to, panics and shutdown.
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let ready = mfwq::Event::auto_reset(false);
/// let signal = ready.clone();
/// let task = mfwq::spawn_future(mfwq::QueueId::STANDARD, async move {
///     ready.wait_async().await?;
///     mfwq::sleep(Duration::from_millis(1)).await?;
///     Ok::<_, mfwq::Error>("done")
/// })?;
/// signal.set();
/// assert_eq!(mfwq::block_on(task)??, "done");
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn spawn_future<F>(queue: impl Into<QueueId>, future: F) -> Result<TaskHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_future_with_priority(queue, 0, future)
}

/// [`spawn_future`] with a priority band for every poll of the task (`> 0`
/// runs before `0`, which runs before `< 0`; FIFO within a band).
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let urgent = mfwq::spawn_future_with_priority(mfwq::QueueId::RT, 1, async { "first" })?;
/// assert_eq!(mfwq::block_on(urgent)?, "first");
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn spawn_future_with_priority<F>(
    queue: impl Into<QueueId>,
    priority: i32,
    future: F,
) -> Result<TaskHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let queue = queue.into();
    let band = Band::from_priority(priority);
    let schedule = move |runnable: Runnable<Meta>| submit(queue, band, runnable);
    let (runnable, task) = Builder::new()
        .metadata(Meta {
            refusal: AtomicU8::new(Meta::NOT_REFUSED),
        })
        .spawn(
            move |_| Guarded {
                inner: Some(future),
            },
            schedule,
        );
    let meta = NonNull::from(task.metadata());
    let task = task.fallible();
    // The first poll: a refusal here is the caller's error, and drops the
    // future (through the runnable) before this returns.
    if let Err(error) =
        crate::platform::dispatch::submit_work(queue, band, Work::new(PollStep::new(runnable)))
    {
        drop(task);
        return Err(error);
    }
    Ok(TaskHandle {
        task: Some(task),
        meta,
        output: PhantomData,
    })
}

/// The task's schedule function: queues one poll, with no allocation (the
/// runnable is the queued item). A refusal drops the runnable, which drops
/// the future (its `Drop` caught and reported) and completes the handle with
/// the reason.
fn submit(queue: QueueId, band: Band, runnable: Runnable<Meta>) {
    // The error is recorded by `PollStep`'s drop; nothing else to do here.
    let _ = crate::platform::dispatch::submit_work(queue, band, Work::new(PollStep::new(runnable)));
}

/// The spawned future, with every panic of its `poll` and `Drop` caught: a
/// panicking poll completes the task with [`Error::Unexpected`], and the
/// future is dropped right there, on its queue (its own `Drop` caught too).
struct Guarded<F> {
    inner: Option<F>,
}

impl<F> Guarded<F> {
    /// Drops the inner future in place, catching a panic of its `Drop`.
    fn drop_inner(self: Pin<&mut Self>) {
        // SAFETY: `inner` is structurally pinned; it is dropped in place
        // (`Pin::set`) and never moved.
        let mut inner = unsafe { self.map_unchecked_mut(|this| &mut this.inner) };
        if inner.is_some() {
            // A panicking `Drop` still leaves `None` behind (assignment
            // writes the new value when the old one's drop unwinds).
            crate::panic::guard(PanicSite::Drop, || inner.set(None));
        }
    }
}

impl<F: Future> Future for Guarded<F> {
    type Output = Result<F::Output>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of `inner`, as in `drop_inner`.
        let inner = unsafe { self.as_mut().map_unchecked_mut(|this| &mut this.inner) };
        let Some(future) = inner.as_pin_mut() else {
            return Poll::Ready(Err(Error::InvalidRequest));
        };
        let output = match crate::panic::guard(PanicSite::Invoke, || future.poll(context)) {
            Some(Poll::Pending) => return Poll::Pending,
            Some(Poll::Ready(output)) => Ok(output),
            None => Err(Error::Unexpected),
        };
        self.drop_inner();
        Poll::Ready(output)
    }
}

impl<F> Drop for Guarded<F> {
    fn drop(&mut self) {
        // SAFETY: `self` is pinned from creation to drop (it lives in the
        // task); this is the drop of that pinned value.
        unsafe { Pin::new_unchecked(self) }.drop_inner();
    }
}

/// Runs `future` to completion on the calling thread, parking it between
/// polls: the smallest executor, for code that is not async itself (tests,
/// `main`, the examples of this crate). Needs no platform and no runtime.
///
/// Do not call it from a queue's worker thread for a future that waits on
/// that same queue: the worker would wait for itself.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let value = mfwq::block_on(async {
///     mfwq::sleep(std::time::Duration::from_millis(1)).await?;
///     mfwq::spawn_future(mfwq::QueueId::MULTITHREADED, async { 7 })?.await
/// })?;
/// assert_eq!(value, 7);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    poll_parked(future.as_mut(), None).expect("no deadline")
}

/// Polls `future` on this thread, parking between polls, until it is ready
/// (`Some`) or `deadline` passes (`None`; the future stays where it was).
fn poll_parked<F: Future>(
    mut future: Pin<&mut F>,
    deadline: Option<std::time::Instant>,
) -> Option<F::Output> {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return Some(output);
        }
        match deadline {
            None => std::thread::park(),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return None;
                }
                std::thread::park_timeout(left);
            }
        }
    }
}
