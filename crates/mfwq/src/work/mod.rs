//! The platform's work items: what its queues run. The scheduler (`sched/`)
//! is generic over its jobs and knows nothing of results, callbacks or
//! serial queues; this module says what a job is here, how it runs (with
//! every panic of user code caught and reported), and what a worker does for
//! the result accounting when it starts, idles and stops. Serial queues
//! (`serial.rs`) are a kind of work too: a serial queue runs on its target
//! as a stream of steps.

#[cfg(all(test, mfwq_loom))]
mod loom_tests;
#[cfg(feature = "observe")]
pub(crate) mod observed;
pub(crate) mod poll;
pub(crate) mod serial;

use std::sync::Arc;

use crate::ids::QueueId;
use crate::object::result::AsyncResult;
use crate::panic::{drop_quietly_on, guard_on, PanicSite};
use crate::sched::Job;

/// The scheduler's machinery for one of the platform's queues.
pub(crate) type QueueCore = crate::sched::QueueCore<Work>;

/// A push a queue refused, with the work handed back.
pub(crate) type Refused = crate::sched::Refused<Work>;

/// One unit of queued work.
pub(crate) enum Work {
    /// Invoke the result's callback with the result itself, or set its event when
    /// it has no callback (docs/behaviour.md#d6).
    Result(AsyncResult),
    /// A Rust closure put through the native API (`spawn`).
    Task(Box<dyn FnOnce() + Send>),
    /// A serial queue's step: run its current item, then forward the next.
    Serial(Arc<crate::work::serial::SerialQueue>),
    /// A Rust task that shares its one allocation with a handle (the
    /// idiomatic API's join handles and scoped items, `api/`).
    Shared(SharedTask),
    /// One poll of a future spawned on a queue (`api/executor.rs`): the
    /// task's `async_task::Runnable`, queued by its waker with no allocation.
    Poll(poll::PollStep),
    /// Any of the above, with its put time, while observation is on
    /// (`observed.rs`).
    #[cfg(feature = "observe")]
    Observed(crate::object::recycle::PooledBox<observed::Observed>),
}

// Every queued item is a `Work` in its band's block: a new variant must not
// grow it.
const _: () = assert!(std::mem::size_of::<Work>() <= 24);

/// A task that lives in an `Arc` it shares with whoever waits for it: run
/// once, or told that it was dropped unrun (refused by its queue, or taken
/// from a stuck queue at shutdown).
pub(crate) trait RunShared: Send + Sync {
    /// Runs the task; called at most once.
    fn run(self: Arc<Self>);
    /// The task will never run; called instead of `run`.
    fn abandon(self: Arc<Self>);
}

/// A queued [`RunShared`]: runs it, or abandons it when dropped unrun.
pub(crate) struct SharedTask(Option<Arc<dyn RunShared>>);

impl SharedTask {
    pub(crate) fn new(task: Arc<dyn RunShared>) -> SharedTask {
        SharedTask(Some(task))
    }

    fn run(mut self) {
        if let Some(task) = self.0.take() {
            task.run();
        }
    }
}

impl Drop for SharedTask {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abandon();
        }
    }
}

impl Work {
    /// The result this work invokes, if it is one (seen through the
    /// observation wrapper).
    pub(crate) fn result(&self) -> Option<&AsyncResult> {
        match self {
            Work::Result(result) => Some(result),
            #[cfg(feature = "observe")]
            Work::Observed(item) => item.result(),
            _ => None,
        }
    }
}

impl Job for Work {
    /// Runs the work with every panic of user code caught and reported. The
    /// item is dropped only after its callback has returned or unwound, outside
    /// the unwinding: a `Drop` that panics while the callback's own panic
    /// unwinds would abort the process.
    /// `queue` is the queue the work was put on, for panic reports.
    #[inline]
    fn run(self, queue: QueueId) {
        match self {
            Work::Result(result) => {
                guard_on(queue, PanicSite::Invoke, || result.run());
                drop_quietly_on(queue, result);
            }
            // The closure owns its captures: they are dropped where it returns
            // or unwinds, which is the closure's own frame.
            Work::Task(task) => {
                guard_on(queue, PanicSite::Invoke, task);
            }
            Work::Serial(queue) => queue.run_step(),
            Work::Shared(task) => {
                guard_on(queue, PanicSite::Invoke, || task.run());
            }
            // A refused or rescued poll drops the runnable in `PollStep`'s
            // `Drop`, which catches its panics itself.
            Work::Poll(step) => {
                guard_on(queue, PanicSite::Invoke, || step.run());
            }
            #[cfg(feature = "observe")]
            Work::Observed(item) => observed::Observed::run(item, queue),
        }
    }

    /// What a stuck-worker report names: the callback's address (a COM
    /// callback's `IMFAsyncCallback*`, or a Rust callback's data pointer),
    /// the closure's, the serial queue's, or a future's task.
    #[inline]
    fn address(&self) -> usize {
        match self {
            Work::Result(result) => result.callback_address(),
            Work::Task(task) => {
                std::ptr::from_ref::<dyn FnOnce() + Send>(&**task).cast::<()>() as usize
            }
            Work::Serial(queue) => Arc::as_ptr(queue) as usize,
            Work::Shared(task) => task
                .0
                .as_ref()
                .map_or(0, |task| Arc::as_ptr(task).cast::<()>() as usize),
            Work::Poll(step) => step.address(),
            #[cfg(feature = "observe")]
            Work::Observed(item) => item.address(),
        }
    }

    fn worker_started() {
        crate::object::accounting::enter_worker();
        if let Some(queue) = crate::sched::current_queue() {
            crate::observe::worker(queue, true);
        }
    }

    /// Idle: make the released results' locks reusable now.
    fn worker_idle() {
        crate::object::accounting::flush_worker_releases();
    }

    fn worker_stopped() {
        crate::object::accounting::leave_worker();
        if let Some(queue) = crate::sched::current_queue() {
            crate::observe::worker(queue, false);
        }
    }
}
