//! One poll of a future's task as a work item (`Work::Poll`): the task's
//! `async_task` runnable and the metadata that says why a task ended without
//! an output. Here, in the work layer, because a queue runs it like any other
//! work item; the executor (`api/executor.rs`) makes the tasks.

use std::sync::atomic::{AtomicU8, Ordering};

use async_task::Runnable;

use crate::error::Error;
use crate::ids::QueueId;

/// What a task knows about itself: why it ended without an output, when it
/// did (the error its handle resolves to).
pub(crate) struct Meta {
    pub(crate) refusal: AtomicU8,
}

const REFUSED_SHUTDOWN: u8 = 1;
const REFUSED_QUEUE_GONE: u8 = 2;

impl Meta {
    /// The value of `refusal` while the task was not refused.
    pub(crate) const NOT_REFUSED: u8 = 0;

    /// The error a refused task's handle resolves to.
    pub(crate) fn error(&self) -> Error {
        match self.refusal.load(Ordering::Acquire) {
            REFUSED_QUEUE_GONE => Error::InvalidWorkQueue,
            _ => Error::Shutdown,
        }
    }
}

/// One queued poll of a task (`Work::Poll`): one pointer, the task's
/// runnable. Dropped without running (its queue refused it, at the put or
/// later), it records why in the task's metadata and then drops the
/// runnable, which closes the task and drops its future.
pub(crate) struct PollStep(Option<Runnable<Meta>>);

impl PollStep {
    pub(crate) fn new(runnable: Runnable<Meta>) -> PollStep {
        PollStep(Some(runnable))
    }

    /// Polls the task once. `Work::run` calls this under the panic guard
    /// (the future's own poll and `Drop` are caught inside, by `Guarded`).
    pub(crate) fn run(mut self) {
        // The shutdown's rescue queue (UNDEFINED) runs what a stuck queue
        // left behind: a task is not polled there, off its own queue; it is
        // dropped as refused (`Drop` below).
        if crate::sched::current_queue() == Some(QueueId::UNDEFINED) {
            return;
        }
        if let Some(runnable) = self.0.take() {
            runnable.run();
        }
    }

    /// What a stuck-worker report names: the task's allocation (its
    /// metadata lives there).
    pub(crate) fn address(&self) -> usize {
        self.0.as_ref().map_or(0, |runnable| {
            std::ptr::from_ref(runnable.metadata()) as usize
        })
    }
}

impl Drop for PollStep {
    fn drop(&mut self) {
        if let Some(runnable) = self.0.take() {
            // Refused: the private queue is gone, unless the platform is
            // down (or going down), which wins: the one order of errors
            // (`object::accounting::shutdown_first`, behind
            // `platform::shutdown_first`).
            let why = match crate::object::accounting::shutdown_first(Error::InvalidWorkQueue) {
                Error::Shutdown => REFUSED_SHUTDOWN,
                _ => REFUSED_QUEUE_GONE,
            };
            runnable.metadata().refusal.store(why, Ordering::Release);
            crate::panic::drop_quietly(runnable);
        }
    }
}
