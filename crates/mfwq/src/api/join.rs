//! [`JoinHandle`]: the result of [`Queue::spawn`](crate::Queue::spawn),
//! joined by blocking or awaited.
//!
//! One allocation per spawn: an `Arc` of a [`Task`] that holds the closure,
//! then its result, the state word and the waker slot. The queue's item is
//! that same `Arc` (`Work::Shared`); the handle is a second reference.
//!
//! The state word's bits: `COMPLETE` (the result is in the slot, published
//! with release), `WAITING` (a waker is in the slot: the completer must take
//! and wake it), `DETACHED` (the handle was dropped). `COMPLETE` and
//! `WAITING` are set by read-modify-writes on the one word, so whichever of
//! completer and joiner comes second sees the other: a joiner stores its
//! waker before setting `WAITING`, and the completer takes it only after
//! seeing `WAITING`, so no wake-up is lost.
//!
//! Every primitive comes from the loom facade (`crate::sync`), and
//! `join_loom_tests.rs` beside this file model-checks this hand-off: completion
//! racing a blocking join, an `.await` and the handle's drop.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::api::priority::Priority;
use crate::error::Result;
use crate::ids::QueueId;
use crate::sync::cell::UnsafeCell;
use crate::sync::parking::Mutex;
use crate::sync::thread::{self, Thread};
use crate::sync::{Arc, AtomicU8, Ordering};
use crate::work::RunShared;

const COMPLETE: u8 = 1;
const WAITING: u8 = 2;
const DETACHED: u8 = 4;

/// Why a [`JoinHandle`] has no value.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let handle = mfwq::Queue::STANDARD.spawn(|| -> u32 { panic!("boom") })?;
/// assert_eq!(handle.join(), Err(mfwq::JoinError::Panicked("boom".into())));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JoinError {
    /// The closure panicked; the panic's message (`"<non-string panic
    /// payload>"` for other payloads).
    Panicked(String),
    /// The closure never ran: its queue dropped it (a stuck queue at shutdown
    /// hands back the items it had not started).
    Cancelled,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(message) => write!(f, "the task panicked: {message}"),
            JoinError::Cancelled => f.write_str("the task was dropped without running"),
        }
    }
}

impl std::error::Error for JoinError {}

/// The message of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// What the slot holds, in order.
enum Stage<F, T> {
    Pending(F),
    Running,
    Done(std::result::Result<T, JoinError>),
    Taken,
}

/// A spawned closure and its result, shared by the queue's item and the handle.
struct Task<F, T> {
    state: AtomicU8,
    /// Written only by the runner before `COMPLETE`, read only by the handle
    /// after it has seen `COMPLETE` (acquire).
    stage: UnsafeCell<Stage<F, T>>,
    waker: Mutex<Option<Waker>>,
}

// SAFETY: the stage is handed from the runner to the handle through the
// state word (release/acquire on `COMPLETE`); `F` and `T` move between
// threads, hence `Send`, and are never shared by reference.
unsafe impl<F: Send, T: Send> Sync for Task<F, T> {}

impl<F, T> Task<F, T> {
    /// Publishes the result and wakes a waiting handle.
    fn complete(&self) {
        let before = self.state.fetch_or(COMPLETE, Ordering::AcqRel);
        if before & WAITING != 0 {
            let waker = self.waker.lock().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<F, T> RunShared for Task<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn run(self: Arc<Self>) {
        // SAFETY: before `COMPLETE` only the runner (this call, made once)
        // touches the stage.
        let pending = self
            .stage
            .with_mut(|stage| unsafe { std::mem::replace(&mut *stage, Stage::Running) });
        let Stage::Pending(task) = pending else {
            unreachable!("a task runs once");
        };
        let outcome = match catch_unwind(AssertUnwindSafe(task)) {
            Ok(value) => Ok(value),
            Err(payload) => {
                let message = panic_message(&*payload);
                if self.state.load(Ordering::Acquire) & DETACHED != 0 {
                    // Nobody will join: the panic hook hears of it, as for
                    // `mfwq::spawn`.
                    let queue = crate::sched::current_queue().unwrap_or(QueueId::UNDEFINED);
                    crate::panic::report(queue, crate::panic::PanicSite::Invoke, payload);
                } else {
                    crate::panic::drop_quietly(payload);
                }
                Err(JoinError::Panicked(message))
            }
        };
        // SAFETY: as above: still before `COMPLETE`.
        self.stage
            .with_mut(|stage| unsafe { *stage = Stage::Done(outcome) });
        self.complete();
    }

    fn abandon(self: Arc<Self>) {
        // SAFETY: as in `run`: the task never ran, so nobody else touches the stage.
        let unrun = self.stage.with_mut(|stage| unsafe {
            std::mem::replace(&mut *stage, Stage::Done(Err(JoinError::Cancelled)))
        });
        self.complete();
        // The closure's captures are dropped after the handle was told.
        crate::panic::drop_quietly(unrun);
    }
}

/// What the handle sees of its task, with the closure's type erased.
trait Joinable<T>: Send + Sync {
    fn state(&self) -> &AtomicU8;
    fn waker(&self) -> &Mutex<Option<Waker>>;
    /// The result; only after `COMPLETE` was seen, at most once.
    fn take(&self) -> std::result::Result<T, JoinError>;
}

impl<F, T> Joinable<T> for Task<F, T>
where
    F: Send,
    T: Send,
{
    fn state(&self) -> &AtomicU8 {
        &self.state
    }

    fn waker(&self) -> &Mutex<Option<Waker>> {
        &self.waker
    }

    fn take(&self) -> std::result::Result<T, JoinError> {
        // SAFETY: called by the one handle after it saw `COMPLETE` with
        // acquire: the runner is done with the stage.
        let stage = self
            .stage
            .with_mut(|stage| unsafe { std::mem::replace(&mut *stage, Stage::Taken) });
        match stage {
            Stage::Done(outcome) => outcome,
            _ => panic!("JoinHandle polled after it returned its result"),
        }
    }
}

/// Spawns `task` on `queue` with a handle for its result.
pub(crate) fn spawn<F, T>(queue: QueueId, priority: Priority, task: F) -> Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (shared, handle) = task_pair(task);
    crate::platform::dispatch::spawn_shared(
        queue,
        priority.to_raw(),
        shared,
        std::any::type_name::<F>(),
    )?;
    Ok(handle)
}

/// A new task for `task` and the handle to its result: what `spawn` queues
/// and returns (and what the tests and loom models run without a platform).
fn task_pair<F, T>(task: F) -> (Arc<Task<F, T>>, JoinHandle<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let shared = Arc::new(Task {
        state: AtomicU8::new(0),
        stage: UnsafeCell::new(Stage::Pending(task)),
        waker: Mutex::new(None),
    });
    let handle = JoinHandle {
        task: Arc::clone(&shared) as Arc<dyn Joinable<T>>,
    };
    (shared, handle)
}

/// The result of a closure spawned with [`Queue::spawn`](crate::Queue::spawn).
///
/// - [`join`](JoinHandle::join) blocks until the closure has returned;
///   [`join_timeout`](JoinHandle::join_timeout) gives up after a while and
///   hands the handle back.
/// - `.await` waits without blocking: the handle is a [`Future`] that needs
///   no runtime (the closure's completion wakes the task that polled it).
/// - A panic in the closure comes back as
///   `Err(`[`JoinError::Panicked`]`(message))`. It goes to the panic hook
///   ([`set_panic_hook`](crate::set_panic_hook)) only if the handle was
///   dropped before the closure panicked: a panic is reported once, to
///   whoever can still hear of it.
/// - Dropping the handle detaches the closure: it still runs; its value is
///   dropped on the queue's thread.
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let slow = mfwq::Queue::IO.spawn(|| { std::thread::sleep(Duration::from_millis(50)); "done" })?;
/// let slow = match slow.join_timeout(Duration::from_millis(1)) {
///     Ok(_) => unreachable!("too early"),
///     Err(still_running) => still_running,
/// };
/// assert_eq!(slow.join(), Ok("done"));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "dropping a JoinHandle detaches the task; its result is lost"]
pub struct JoinHandle<T> {
    task: Arc<dyn Joinable<T>>,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Wakes a thread blocked in `join`.
struct ThreadWaker(Thread);

crate::sync::thread_locals! {
    /// This thread's [`ThreadWaker`], made at its first blocking join.
    static THREAD_WAKER: Waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

impl<T> JoinHandle<T> {
    /// Whether the closure has finished (returned, panicked or been dropped).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let handle = mfwq::Queue::STANDARD.spawn(|| ())?;
    /// while !handle.is_finished() { std::thread::yield_now(); }
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.state().load(Ordering::Acquire) & COMPLETE != 0
    }

    /// Stores `waker` for the completer; returns whether the task is complete
    /// (then nobody will wake it).
    fn register(&self, waker: &Waker) -> bool {
        {
            crate::sync::store_waker(&mut self.task.waker().lock(), waker);
        }
        self.task.state().fetch_or(WAITING, Ordering::AcqRel) & COMPLETE != 0
    }

    /// Blocks until complete or `deadline`; returns whether complete. The
    /// thread's waker is made once per thread, so a blocking join allocates
    /// nothing.
    fn wait(&self, deadline: Option<Instant>) -> bool {
        if self.is_finished() {
            return true;
        }
        let registered = THREAD_WAKER
            .try_with(|waker| self.register(waker))
            .unwrap_or_else(|_| {
                // This thread's locals are being destroyed: a waker of its own.
                self.register(&Waker::from(Arc::new(ThreadWaker(thread::current()))))
            });
        if registered {
            return true;
        }
        loop {
            if self.is_finished() {
                return true;
            }
            match deadline {
                None => thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return self.is_finished();
                    }
                    thread::park_timeout(deadline - now);
                }
            }
        }
    }

    /// Blocks until the closure has finished; its value, or why there is none.
    ///
    /// Joining from a worker of the closure's own single-threaded queue
    /// would wait for ever (the worker is busy joining): spawn on another
    /// queue, `.await` instead, or use [`scope`](crate::scope).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let handle = mfwq::Queue::MULTITHREADED.spawn(|| vec![1, 2, 3])?;
    /// assert_eq!(handle.join(), Ok(vec![1, 2, 3]));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn join(self) -> std::result::Result<T, JoinError> {
        self.wait(None);
        self.task.take()
    }

    /// [`join`](JoinHandle::join) for at most `timeout`: `Ok(outcome)` if the
    /// closure finished in time, else `Err(self)` to join again later.
    ///
    /// ```
    /// use std::time::Duration;
    /// let _platform = mfwq::Platform::start()?;
    /// let handle = mfwq::Queue::STANDARD.spawn(|| 5)?;
    /// assert_eq!(handle.join_timeout(Duration::from_secs(5)).ok(), Some(Ok(5)));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn join_timeout(
        self,
        timeout: Duration,
    ) -> std::result::Result<std::result::Result<T, JoinError>, JoinHandle<T>> {
        let deadline = Instant::now().checked_add(timeout);
        if self.wait(deadline) {
            Ok(self.task.take())
        } else {
            Err(self)
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = std::result::Result<T, JoinError>;

    /// Ready once the closure has finished. Polling again after `Ready` panics.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.is_finished() || self.register(cx.waker()) {
            Poll::Ready(self.task.take())
        } else {
            Poll::Pending
        }
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.task.state().fetch_or(DETACHED, Ordering::AcqRel);
    }
}

#[cfg(all(test, mfwq_loom))]
#[path = "join_loom_tests.rs"]
mod loom_tests;

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    /// Runs the task machinery without a platform (Miri-friendly).
    fn pair<F: FnOnce() -> u32 + Send + 'static>(f: F) -> (Arc<dyn RunShared>, JoinHandle<u32>) {
        let (shared, handle) = task_pair(f);
        (shared, handle)
    }

    #[test]
    fn run_on_another_thread_then_join() {
        let (task, handle) = pair(|| 7);
        let runner = std::thread::spawn(move || task.run());
        assert_eq!(handle.join(), Ok(7));
        runner.join().unwrap();
    }

    #[test]
    fn abandoned_is_cancelled() {
        let (task, handle) = pair(|| 7);
        task.abandon();
        assert_eq!(handle.join(), Err(JoinError::Cancelled));
    }

    #[test]
    fn detached_then_run_drops_everything() {
        let (task, handle) = pair(|| 1);
        drop(handle);
        task.run();
    }
}
