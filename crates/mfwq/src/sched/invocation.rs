//! What a worker is running, as other threads see it: the worker's slot
//! (thread id, name, the address of the item it runs, how many steps it has
//! finished), the calling worker's own slot, and an [`Invocation`] — the step
//! an event set from inside remembers, so that a thread woken by that event
//! can wait until the worker has let go of the step's result (see
//! [`Invocation::settle`]).

#[cfg(not(mfwq_loom))]
use std::cell::Cell;

#[cfg(not(mfwq_loom))]
use super::patience::Patience;
#[cfg(not(mfwq_loom))]
use super::thread_state;

/// A running worker as others may see it: for thread policies (its id) and
/// for a shutdown that gives up on it (what it is running).
pub(super) struct WorkerSlot {
    pub(super) tid: i32,
    pub(super) name: String,
    /// The address of the item being run ([`Job::address`]), 0 between
    /// items: what a stuck-worker report names. Addresses need not be unique
    /// (two closures of one type kept inline name the same code), so items
    /// are told apart by `finished`.
    pub(super) running: std::sync::atomic::AtomicUsize,
    /// How many steps this worker has finished: a step is an item, or one
    /// result of a serial queue's batch ([`step_finished`]). Written only by
    /// the worker, to a line it owns, after the step's result (and with it the
    /// worker's reference) was dropped, with release: an [`Invocation`]
    /// acquires it to know that the drop happened. (Not read under loom,
    /// where `Invocation` has no slot: see `crate::sync`.)
    #[cfg_attr(mfwq_loom, allow(dead_code))]
    pub(super) finished: std::sync::atomic::AtomicUsize,
    /// The number of the last step whose `Invoke` has returned
    /// ([`invoke_returned`]): while it equals the step after `finished`, the
    /// worker runs no more user code of that step but the release of its
    /// result. Only a hint for how long a woken thread waits
    /// ([`Invocation::settle`]); nothing is read through it, so it is relaxed.
    #[cfg_attr(mfwq_loom, allow(dead_code))]
    pub(super) returned: std::sync::atomic::AtomicUsize,
}

impl WorkerSlot {
    /// The number of the step the worker runs now: the one after those it
    /// finished. Relaxed: only the worker itself writes `finished`, and
    /// only the worker calls this.
    #[cfg_attr(mfwq_loom, allow(dead_code))]
    #[inline]
    fn running_step(&self) -> usize {
        self.finished
            .load(std::sync::atomic::Ordering::Relaxed)
            .wrapping_add(1)
    }

    /// Counts one more finished step; called by the worker only.
    #[cfg_attr(mfwq_loom, allow(dead_code))]
    #[inline]
    pub(super) fn finish_step(&self) {
        // Release: the step's result, and the worker's reference to it, are
        // dropped before a woken thread's `Invocation::settle` sees the count.
        self.finished
            .store(self.running_step(), std::sync::atomic::Ordering::Release);
    }
}

thread_local! {
    /// This worker's slot, for [`Invocation::current`], [`invoke_returned`]
    /// and [`step_finished`]; null on other threads (and not used under loom:
    /// see `WorkerSlot`). A raw pointer, so that the thread-local needs no
    /// destructor and each access is a plain load: the worker keeps the
    /// slot's `Arc` alive for as long as the pointer is set, and only the
    /// worker itself sets, clears and reads it.
    #[cfg(not(mfwq_loom))]
    pub(super) static CURRENT_SLOT: Cell<*const crossbeam_utils::CachePadded<WorkerSlot>> =
        const { Cell::new(std::ptr::null()) };
}

/// Runs `f` on the calling worker's slot; `None` on other threads.
#[cfg(not(mfwq_loom))]
#[inline]
fn with_current_slot<R>(f: impl FnOnce(&WorkerSlot) -> R) -> Option<R> {
    let slot = CURRENT_SLOT.with(Cell::get);
    // SAFETY: a non-null pointer was set by this very thread, the worker,
    // from the slot's `Arc`, which `worker_main` holds until after it has
    // cleared the pointer again; nothing else writes it, and the borrow
    // ends with this call.
    unsafe { slot.as_ref() }.map(|slot| f(slot))
}

/// The calling worker's user code for its current step has returned: only
/// the release of the step's result is left (see [`Invocation::settle`]).
/// Called by the work item between its `Invoke` and the drop of its result;
/// does nothing on other threads. One relaxed store to the worker's own line.
#[inline]
pub(crate) fn invoke_returned() {
    #[cfg(not(mfwq_loom))]
    with_current_slot(|slot| {
        slot.returned
            .store(slot.running_step(), std::sync::atomic::Ordering::Relaxed);
    });
}

/// The calling worker's current step is over, its result released, though
/// the item goes on with other user code (a serial queue runs several of its
/// items in one step of its target): a thread woken by an event that step
/// set stops waiting here, and what runs next is a new step. Does nothing on
/// other threads.
#[inline]
pub(crate) fn step_finished() {
    #[cfg(not(mfwq_loom))]
    with_current_slot(WorkerSlot::finish_step);
}

/// The step a worker is running, as an event set from inside it remembers:
/// a thread woken by that event can wait until the worker has finished the
/// step, which includes dropping its reference to the step's result. See
/// `docs/porting.md` ("Who holds the result after Invoke"): on Windows a
/// thread woken by an event that `Invoke` sets gets 0 from its `Release` of
/// the result, because the worker's own release is already done.
#[derive(Clone)]
pub(crate) struct Invocation {
    #[cfg(not(mfwq_loom))]
    slot: std::sync::Arc<crossbeam_utils::CachePadded<WorkerSlot>>,
    /// The worker's `finished` count once this step is done.
    #[cfg(not(mfwq_loom))]
    step: usize,
}

impl Invocation {
    /// How long a woken thread waits while the step's `Invoke` is still
    /// running: the rest of `Invoke` after the set takes well under this,
    /// unless `Invoke` goes on with other work or waits for the woken thread,
    /// in which case the woken thread goes on after this rather than wait for
    /// user code. Past it the waiter goes on waiting only for a worker that
    /// is preempted (see [`settle`](Self::settle)).
    #[cfg_attr(mfwq_loom, allow(dead_code))]
    pub(crate) const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_millis(2);

    /// The fewest times a woken thread gives the processor away before the
    /// [`SETTLE_LIMIT`](Self::SETTLE_LIMIT) may end its wait: under a tool
    /// that runs one thread at a time (valgrind) 2 ms can pass before the
    /// worker gets a turn at all; natively 2 ms is far more yields than this.
    #[cfg(not(mfwq_loom))]
    const SETTLE_MIN_YIELDS: u32 = 32;

    /// How long a woken thread waits at most once the step's `Invoke` has
    /// returned ([`invoke_returned`]), and at most for a worker preempted
    /// inside `Invoke`: all that is left is the release of the result, which
    /// runs no user code but a custom result's or callback's `Release`, or
    /// the few instructions of `Invoke` after the set. Only a worker that
    /// does not get a processor, or such a `Release` that blocks, takes
    /// longer than microseconds.
    #[cfg_attr(mfwq_loom, allow(dead_code))]
    pub(crate) const RELEASE_LIMIT: std::time::Duration = std::time::Duration::from_millis(100);

    /// How long the wait for a release yields before it sleeps between looks.
    #[cfg(not(mfwq_loom))]
    const RELEASE_YIELDING: std::time::Duration = std::time::Duration::from_micros(50);

    /// The first and the longest sleep between looks at a worker that does
    /// not get on: a few microseconds first, each sleep twice the last.
    #[cfg(not(mfwq_loom))]
    const FIRST_NAP: std::time::Duration = std::time::Duration::from_micros(10);
    #[cfg(not(mfwq_loom))]
    const LONGEST_NAP: std::time::Duration = std::time::Duration::from_millis(1);

    /// The step the calling thread runs, if it is a worker running one.
    #[inline]
    pub(crate) fn current() -> Option<Invocation> {
        #[cfg(not(mfwq_loom))]
        {
            let slot = CURRENT_SLOT.with(Cell::get);
            if slot.is_null() {
                return None;
            }
            // SAFETY: set by this thread, the worker, from the `Arc` that
            // `worker_main` holds until after it clears the pointer (see
            // `CURRENT_SLOT`): the count can be raised.
            let slot = unsafe {
                std::sync::Arc::increment_strong_count(slot);
                std::sync::Arc::from_raw(slot)
            };
            let running = slot.running.load(std::sync::atomic::Ordering::Relaxed);
            // This thread is the worker.
            let step = slot.running_step();
            (running != 0).then_some(Invocation { slot, step })
        }
        #[cfg(mfwq_loom)]
        None
    }

    /// Whether the worker has moved past the step.
    pub(crate) fn is_finished(&self) -> bool {
        #[cfg(not(mfwq_loom))]
        {
            let finished = self
                .slot
                .finished
                .load(std::sync::atomic::Ordering::Acquire);
            // Wrapping distance: the count may wrap on a long-lived worker.
            finished.wrapping_sub(self.step) < usize::MAX / 2
        }
        #[cfg(mfwq_loom)]
        true
    }

    /// Whether the step's `Invoke` has returned (its result may still be
    /// being released).
    #[cfg(not(mfwq_loom))]
    fn has_returned(&self) -> bool {
        let returned = self
            .slot
            .returned
            .load(std::sync::atomic::Ordering::Relaxed);
        returned.wrapping_sub(self.step) < usize::MAX / 2
    }

    /// Waits until the worker has finished the step (its drop of the result
    /// then happened before this returns). Returns whether the step
    /// finished. Never waits on the worker itself, and never long for user
    /// code:
    ///
    /// - while the step's `Invoke` is still running, the waiter spins and
    ///   yields for [`SETTLE_LIMIT`](Self::SETTLE_LIMIT) (and at least
    ///   `SETTLE_MIN_YIELDS` yields). Past that it asks the kernel about the
    ///   worker ([`thread_state`]): a worker that is blocked (user code
    ///   waiting for something, perhaps this very thread), or that has used
    ///   `SETTLE_LIMIT` of CPU time since the wait began (user code still at
    ///   work), is not waited for; one that could run but has not had a
    ///   processor (preempted right after the set, most often by the thread
    ///   its set woke) is, up to [`RELEASE_LIMIT`](Self::RELEASE_LIMIT), with
    ///   the waiter sleeping between looks so that the worker gets the
    ///   processor. Where the kernel does not say, the waiter goes on after
    ///   `SETTLE_LIMIT`;
    /// - once `Invoke` has returned ([`invoke_returned`]), only the release
    ///   of the result is left, and the waiter waits for it up to
    ///   `RELEASE_LIMIT`.
    pub(crate) fn settle(&self) -> bool {
        if self.is_finished() {
            return true;
        }
        #[cfg(not(mfwq_loom))]
        {
            if CURRENT_SLOT.with(Cell::get) == std::sync::Arc::as_ptr(&self.slot) {
                // The worker waits on an event it set itself: nothing to wait for.
                return false;
            }
            // A real-time waiter sleeps between looks after a short while
            // (`patience.rs`): the worker may be of lower priority, or
            // preempted by this very waiter.
            let mut patience = Patience::new();
            let mut yields = 0u32;
            // The worker's CPU time when the waiter first yields.
            let mut cpu_at_first_yield = None;
            loop {
                if self.has_returned() {
                    return self.await_release();
                }
                let waited = patience.wait();
                if self.is_finished() {
                    return true;
                }
                if waited == std::time::Duration::ZERO {
                    continue; // still spinning
                }
                let cpu_before = *cpu_at_first_yield
                    .get_or_insert_with(|| thread_state::cpu_time(self.slot.tid));
                yields = yields.saturating_add(1);
                if waited >= Self::SETTLE_LIMIT && yields >= Self::SETTLE_MIN_YIELDS {
                    return self.await_preempted(cpu_before, waited);
                }
            }
        }
        #[cfg(mfwq_loom)]
        false
    }

    /// The rest of [`settle`](Self::settle) once `SETTLE_LIMIT` has passed
    /// with `Invoke` still running (`waited` so far, the worker's CPU time
    /// `cpu_before` at the start): waits while the worker is preempted, not
    /// while it runs or is blocked.
    #[cfg(not(mfwq_loom))]
    fn await_preempted(
        &self,
        cpu_before: Option<std::time::Duration>,
        waited: std::time::Duration,
    ) -> bool {
        let Some(cpu_before) = cpu_before else {
            return false; // the kernel does not say: the short bound it is
        };
        let since = std::time::Instant::now();
        let mut nap = Self::FIRST_NAP;
        loop {
            if self.has_returned() {
                return self.await_release();
            }
            if self.is_finished() {
                return true;
            }
            let running_user_code = thread_state::cpu_time(self.slot.tid)
                .is_none_or(|cpu| cpu.saturating_sub(cpu_before) >= Self::SETTLE_LIMIT);
            if running_user_code
                || thread_state::is_blocked(self.slot.tid) != Some(false)
                || waited + since.elapsed() >= Self::RELEASE_LIMIT
            {
                return self.is_finished();
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Self::LONGEST_NAP);
        }
    }

    /// The second phase of [`settle`](Self::settle): `Invoke` has returned,
    /// the worker is releasing the result. Yields briefly (the release takes
    /// microseconds), then sleeps between looks, each sleep twice the last
    /// up to `LONGEST_NAP`, so that a worker preempted there gets the
    /// processor and the waiter burns none.
    #[cfg(not(mfwq_loom))]
    fn await_release(&self) -> bool {
        let since = std::time::Instant::now();
        let mut patience = Patience::new();
        let mut nap = Self::FIRST_NAP;
        loop {
            if self.is_finished() {
                return true;
            }
            let waited = since.elapsed();
            if waited >= Self::RELEASE_LIMIT {
                return self.is_finished();
            }
            if waited < Self::RELEASE_YIELDING {
                patience.wait();
            } else {
                std::thread::sleep(nap);
                nap = (nap * 2).min(Self::LONGEST_NAP);
            }
        }
    }

    /// Whether two invocations name the same step of the same worker.
    pub(crate) fn same(&self, other: &Invocation) -> bool {
        #[cfg(not(mfwq_loom))]
        {
            std::sync::Arc::ptr_eq(&self.slot, &other.slot) && self.step == other.step
        }
        #[cfg(mfwq_loom)]
        {
            let _ = other;
            true
        }
    }
}
