//! The platform's work items: what its queues run. The scheduler (`sched/`)
//! is generic over its jobs and knows nothing of results, callbacks or
//! serial queues; this module says what a job is here, how it runs (with
//! every panic of user code caught and reported), and what a worker does for
//! the result accounting when it starts, idles and stops. Serial queues
//! (`serial.rs`) are a kind of work too: a serial queue runs on its target
//! as a stream of steps. Where a queue id's work goes, a thread-backed
//! queue or a serial queue, is `target.rs`.
//!
//! This file holds the kinds of work and the worker's hooks; the files
//! beside it take nothing from it (`item.rs` is the item itself and the
//! scheduler's types over it).

pub(crate) mod item;
#[cfg(all(test, mfwq_loom))]
mod loom_tests;
#[cfg(feature = "observe")]
pub(crate) mod observed;
pub(crate) mod poll;
pub(crate) mod serial;
pub(crate) mod target;

pub(crate) use item::{Kind, Payload, QueueCore, Work};

use std::sync::Arc;

use crate::ids::{CallbackFlags, QueueId};
use crate::object::com::CallbackVtbl;
use crate::object::result::AsyncResult;
use crate::panic::{drop_quietly_on, guard_on, PanicSite};
use crate::sched::Job;

// The kinds of work (`item::Kind`) and how each runs. A closure put through
// `spawn` is `Work::closure` (item.rs).

/// Invoke the result's callback with the result itself, or set its event
/// when it has no callback (docs/behaviour.md#d6). The result is dropped
/// after its callback has returned or unwound, outside the unwinding: a
/// `Drop` that panics while the callback's own panic unwinds would abort the
/// process. In between, the worker says that `Invoke` has returned, so that
/// a thread woken by an event `Invoke` set waits for the release that
/// follows (`sched::Invocation::settle`, docs/porting.md, "Who holds the
/// result after Invoke").
impl Payload for AsyncResult {
    const KIND: Kind = Kind::Result;

    #[inline]
    fn run(self, queue: QueueId) {
        guard_on(queue, PanicSite::Invoke, || AsyncResult::run(&self));
        crate::sched::invoke_returned();
        drop_quietly_on(queue, self);
    }

    /// The callback's address (a COM callback's `IMFAsyncCallback*`, or a
    /// Rust callback's data pointer).
    fn address(&self) -> usize {
        self.callback_address()
    }
}

/// A result the C ABI's put made (`put_com_work_item`), with its COM
/// callback's vtable as the putting thread read it, so that the worker
/// calls `Invoke` without reading the callback's first cache line, and
/// `Release` too when it drops the result's last reference and nothing but
/// the callback is attached (a put with a state releases the ordinary way):
/// in a C or C++ COM object that line holds the reference count too, which
/// the putting thread is writing for the next item (docs/performance.md,
/// "The C ABI's remaining gap"). Runs as the result does otherwise. Never
/// made for a reply-mode callback: a serial queue's reply mode takes the
/// result itself.
pub(crate) struct ComPut {
    result: AsyncResult,
    vtbl: CallbackVtbl,
}

impl ComPut {
    /// What `MFPutWorkItem` queues: a new stock result holding `callback`
    /// and `state`, carried with the callback's vtable, or bare when
    /// `flags` (the callback's, asked already) ask for reply mode.
    #[inline]
    pub(crate) fn work(
        callback: crate::com::ComCallbackPtr,
        state: Option<crate::com::ComPtr>,
        flags: CallbackFlags,
    ) -> Work {
        let vtbl = callback.vtbl();
        // SAFETY: an IMFAsyncCallback, as its type says.
        let result = unsafe { AsyncResult::from_com(None, Some(callback.into_com_ptr()), state) };
        if flags.contains(CallbackFlags::REPLY) {
            // A serial queue's reply mode takes the result itself.
            Work::new(result)
        } else {
            // The result was just made around the callback `vtbl` was read
            // from, and nobody else has it.
            Work::new(ComPut { result, vtbl })
        }
    }

    pub(crate) fn result(&self) -> &AsyncResult {
        &self.result
    }
}

impl Payload for ComPut {
    const KIND: Kind = Kind::ComResult;

    #[inline]
    fn run(self, queue: QueueId) {
        let ComPut { result, vtbl } = self;
        // SAFETY: `ComPut::new`'s contract.
        let invoked = guard_on(queue, PanicSite::Invoke, || unsafe {
            result.run_com_through(vtbl)
        });
        crate::sched::invoke_returned();
        // `Invoke` itself cannot unwind (an `extern "system"` function
        // aborts instead); a panic caught here came from the ordinary run
        // `run_com_through` falls back to, and the result is then released
        // the ordinary way.
        let callback = invoked.unwrap_or(std::ptr::null_mut());
        // SAFETY: as above, with the callback `run_com_through` invoked.
        guard_on(queue, PanicSite::Drop, || unsafe {
            result.release_through(callback, vtbl)
        });
    }

    fn address(&self) -> usize {
        self.result.callback_address()
    }
}

/// A serial queue's step: run its current item, then forward the next.
impl Payload for Arc<crate::work::serial::SerialQueue> {
    const KIND: Kind = Kind::Serial;

    #[inline]
    fn run(self, _queue: QueueId) {
        self.run_step();
    }

    fn address(&self) -> usize {
        Arc::as_ptr(self) as usize
    }
}

/// A Rust task that shares its one allocation with a handle (the idiomatic
/// API's join handles and scoped items, `api/`).
impl Payload for SharedTask {
    const KIND: Kind = Kind::Shared;

    #[inline]
    fn run(self, queue: QueueId) {
        guard_on(queue, PanicSite::Invoke, || SharedTask::run(self));
    }

    fn address(&self) -> usize {
        self.0
            .as_ref()
            .map_or(0, |task| Arc::as_ptr(task).cast::<()>() as usize)
    }
}

/// One poll of a future spawned on a queue (`api/executor.rs`): the task's
/// `async_task::Runnable`, queued by its waker with no allocation. A refused
/// or rescued poll drops the runnable in `PollStep`'s `Drop`, which catches
/// its panics itself.
impl Payload for poll::PollStep {
    const KIND: Kind = Kind::Poll;

    #[inline]
    fn run(self, queue: QueueId) {
        guard_on(queue, PanicSite::Invoke, || poll::PollStep::run(self));
    }

    fn address(&self) -> usize {
        poll::PollStep::address(self)
    }
}

/// Any of the above, with its put time, while observation is on
/// (`observed.rs`).
#[cfg(feature = "observe")]
impl Payload for crate::object::recycle::PooledBox<observed::Observed> {
    const KIND: Kind = Kind::Observed;

    #[inline]
    fn run(self, queue: QueueId) {
        observed::Observed::run(self, queue);
    }

    fn address(&self) -> usize {
        observed::Observed::address(self)
    }
}

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
        #[cfg(feature = "observe")]
        if let Some(item) =
            self.downcast_ref::<crate::object::recycle::PooledBox<observed::Observed>>()
        {
            return item.result();
        }
        self.downcast_ref::<AsyncResult>()
            .or_else(|| self.downcast_ref::<ComPut>().map(ComPut::result))
    }
}

impl Job for Work {
    /// Runs the work with every panic of user code caught and reported (each
    /// kind's [`Payload::run`]). `queue` is the queue the work was put on,
    /// for panic reports.
    #[inline]
    fn run(self, queue: QueueId) {
        Work::run(self, queue);
    }

    /// What a stuck-worker report names: the callback's address, the
    /// closure's, the serial queue's, or a future's task.
    #[inline]
    fn address(&self) -> usize {
        Work::address(self)
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

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;
    use crate::error::HResult;
    use crate::object::com::test_objects::{TestCallback, TestUnknown};
    use crate::object::com::{ComCallbackPtr, ComPtr};
    use crate::object::result::released_through_count;

    /// What `put_com_work_item` queues for `callback` (and `state`).
    fn com_put(callback: &TestCallback, state: Option<&TestUnknown>) -> Work {
        // SAFETY: live test objects, which outlive the test's references.
        let callback = unsafe { ComCallbackPtr::from_raw_add_ref(callback.as_raw()) }.unwrap();
        let state = state.map(|state| unsafe { ComPtr::from_raw_add_ref(state.as_raw()) }.unwrap());
        ComPut::work(callback, state, CallbackFlags::empty())
    }

    #[test]
    fn a_c_put_invokes_once_then_releases_its_callback_once() {
        let _serial = crate::object::accounting::test_serial();
        let callback = TestCallback::new(HResult::E_NOTIMPL, 0, 0);
        let work = com_put(&callback, None);
        let short_ways = released_through_count();
        assert_eq!(work.kind(), Kind::ComResult);
        assert_eq!(work.address(), callback.as_raw() as usize);
        assert!(
            work.result().is_some(),
            "shutdown and tracing see the result"
        );
        assert_eq!(callback.count(), 2, "the result holds one reference");
        work.run(QueueId::MULTITHREADED);
        assert_eq!(
            callback.invoked.load(std::sync::atomic::Ordering::SeqCst),
            1
        );
        assert_eq!(callback.count(), 1, "released once, with the result");
        assert_eq!(
            released_through_count(),
            short_ways + 1,
            "through the carried vtable"
        );
    }

    #[test]
    fn a_result_that_invoke_keeps_keeps_its_callback() {
        let _serial = crate::object::accounting::test_serial();
        let callback = TestCallback::new(HResult::E_NOTIMPL, 0, 0);
        callback.keep_results();
        let short_ways = released_through_count();
        com_put(&callback, None).run(QueueId::MULTITHREADED);
        assert_eq!(
            released_through_count(),
            short_ways,
            "not while Invoke's reference lives"
        );
        assert_eq!(
            callback.invoked.load(std::sync::atomic::Ordering::SeqCst),
            1
        );
        assert_eq!(
            callback.count(),
            2,
            "a result someone still holds still holds its callback"
        );
        let kept = callback.take_kept();
        // SAFETY: the reference Invoke took.
        drop(unsafe { ComPtr::from_raw_owned(kept) });
        assert_eq!(
            callback.count(),
            1,
            "released with the result's last reference"
        );
    }

    #[test]
    fn a_c_put_with_a_state_releases_both() {
        let _serial = crate::object::accounting::test_serial();
        let callback = TestCallback::new(HResult::E_NOTIMPL, 0, 0);
        let state = TestUnknown::new();
        let short_ways = released_through_count();
        com_put(&callback, Some(&state)).run(QueueId::MULTITHREADED);
        assert_eq!(
            released_through_count(),
            short_ways,
            "the ordinary way: the state goes before the callback"
        );
        assert_eq!(
            callback.invoked.load(std::sync::atomic::Ordering::SeqCst),
            1
        );
        assert_eq!(callback.count(), 1);
        assert_eq!(state.count(), 1);
    }

    #[test]
    fn a_c_put_dropped_unrun_releases_without_invoking() {
        let _serial = crate::object::accounting::test_serial();
        let callback = TestCallback::new(HResult::E_NOTIMPL, 0, 0);
        drop(com_put(&callback, None));
        assert_eq!(
            callback.invoked.load(std::sync::atomic::Ordering::SeqCst),
            0
        );
        assert_eq!(callback.count(), 1);
    }
}
