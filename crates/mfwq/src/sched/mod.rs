//! The scheduler: the threads behind a queue, how work reaches them, how they
//! park and wake, and how a queue drains and stops. The protocol is written
//! down in `README.md` beside this file; read it first.
//!
//! A [`QueueCore`] is one queue's worth of machinery: three priority bands of
//! FIFO work, a parking lot for idle workers, and one (serial) or several
//! (pool) worker threads, started on the first push so that an allocated but
//! unused queue costs no thread. Everything above this module (platform,
//! registry, put and invoke) decides *whether* work may be pushed; this module
//! only guarantees that pushed work runs exactly once.

mod bands;
pub(crate) mod cadence;
mod fifo;
mod invocation;
#[cfg(all(test, mfwq_loom))]
mod loom_tests;
mod patience;
mod sleep;
mod slot;
#[cfg(not(mfwq_loom))]
mod thread_state;
mod worker;

use std::cell::Cell;
use std::time::Duration;

use crate::ids::{Band, QueueId};
use crate::sync::{lock, thread, Arc, AtomicBool, AtomicUsize, Mutex, Ordering};

pub(crate) use bands::Bands;
use cadence::Cadence;
/// The lock-free FIFO behind the bands, also the timer's alarm inbox.
pub(crate) use fifo::Fifo;
use sleep::{Parked, Sleep};
use slot::Slot;

use invocation::WorkerSlot;
pub(crate) use invocation::{invoke_returned, step_finished, Invocation};
pub(crate) use worker::current_tid;
use worker::spawn_worker;

/// What a queue runs. The scheduler knows nothing of results, callbacks or
/// serial queues: the layer above defines its work items (`crate::work::Work`)
/// and how one runs; the scheduler only guarantees that each pushed job runs
/// exactly once, on one of the queue's workers, in band order.
pub(crate) trait Job: Send + 'static {
    /// Runs the job on a worker of `queue`. The job catches the panics of the
    /// code it runs: a worker never unwinds.
    fn run(self, queue: QueueId);

    /// What a stuck-worker report names: an address identifying the job's
    /// code or data (0 if the job has nothing to name; not necessarily unique
    /// to one job). (Not read under loom, where workers have no slot: see
    /// `crate::sync`.)
    #[cfg_attr(mfwq_loom, allow(dead_code))]
    fn address(&self) -> usize;

    /// A worker thread starts (before its first job), for per-thread state of
    /// the layer above.
    fn worker_started() {}

    /// A worker found no job and is about to poll and park.
    fn worker_idle() {}

    /// A worker thread exits (after its last job).
    fn worker_stopped() {}
}

/// A worker that had not exited when a bounded join gave up on it.
#[derive(Clone, Debug)]
pub(crate) struct StuckWorker {
    /// The thread's name (`mfwq-standard`, `mfwq-multithreaded-3`, ...).
    pub(crate) name: String,
    /// Its Linux thread id.
    pub(crate) tid: i32,
    /// The address of what it is running (see [`Job::address`]); 0 if it is
    /// between items.
    pub(crate) running: usize,
}

/// Why a queue refused a push: the one refusal type of every queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The queue is closed (unlocked to zero, or the platform shut down).
    Closed,
    /// No worker thread could be started.
    NoThread,
}

/// A refused push: why, and the job, handed back so that the caller drops it
/// after its own locks are released.
pub(crate) struct Refused<J> {
    pub(crate) why: Refusal,
    pub(crate) job: J,
}

impl<J> Refused<J> {
    /// Why, and the job to drop after the caller's locks are released.
    pub(crate) fn into_parts(self) -> (Refusal, J) {
        (self.why, self.job)
    }
}

/// Rounds a worker polls for more work before it parks. A wake across vCPUs
/// costs tens of microseconds on the machines we measured, so a short poll that catches
/// the next item of a burst pays for itself; loom gets none, to keep its state
/// space small.
#[cfg(not(mfwq_loom))]
const SPIN_ROUNDS: u32 = 64;
#[cfg(not(mfwq_loom))]
const YIELD_ROUNDS: u32 = 16;
#[cfg(mfwq_loom)]
const SPIN_ROUNDS: u32 = 0;
#[cfg(mfwq_loom)]
const YIELD_ROUNDS: u32 = 0;

/// Items a pool worker takes from its own slot in a row before it looks at
/// the shared normal band first once: a worker that keeps feeding itself
/// (a chain of items) does not starve the items others put.
const OWN_SLOT_STREAK: u32 = 32;

/// A host event-loop step run on a window queue's thread between items and
/// whenever the thread has been idle for `interval` (docs/behaviour.md#d31).
pub(crate) struct Pump {
    pub(crate) interval: Duration,
    pub(crate) step: Mutex<Box<dyn FnMut() + Send>>,
}

/// How a queue's worker threads are scheduled: made by `realtime/apply.rs` (MMCSS
/// classes, deadlines), applied by the scheduler to each worker (see README.md,
/// "Thread policy").
pub(crate) trait ThreadPolicy: Send + Sync {
    /// Applies the policy to the worker thread `tid` (a Linux thread id). Runs
    /// with the core's thread list locked: no user code, no logging.
    fn apply(&self, tid: i32);
    /// Called after [`apply`](Self::apply) with no lock held: where the policy
    /// may log what `apply` found.
    fn report(&self) {}
    /// Whether an idle worker under this policy must not `sched_yield`:
    /// under `SCHED_DEADLINE` a yield gives up the rest of the period's
    /// runtime, so the next item would wait for the next period. Such a
    /// worker spins briefly and then parks.
    fn forbids_yield(&self) -> bool {
        false
    }
    /// Whether the one worker of a queue under this policy anticipates a
    /// periodic feeder (`cadence.rs`): real-time policies whose workers may
    /// poll without losing their share of the CPU (`SCHED_FIFO`,
    /// `SCHED_RR`; not `SCHED_DEADLINE`, whose runtime the poll would eat).
    fn anticipates(&self) -> bool {
        false
    }
}

/// A queue's running workers and the policy they run under. Workers add
/// themselves when they start and remove themselves before they exit, under
/// this lock, so every id listed names a live worker.
#[derive(Default)]
struct WorkerThreads {
    workers: Vec<std::sync::Arc<crossbeam_utils::CachePadded<WorkerSlot>>>,
    policy: Option<std::sync::Arc<dyn ThreadPolicy>>,
}

/// The machinery of one queue, running jobs of type `J`. See the module docs.
pub(crate) struct QueueCore<J: Job> {
    id: QueueId,
    name: String,
    /// The thread count the queue was made with (1 for serial queues).
    base_workers: usize,
    /// How many threads `start_workers` may run: `base_workers`, or more for a
    /// pool with the long-running hint. Changed only under `workers`.
    max_workers: std::sync::atomic::AtomicUsize,
    /// Set while the thread policy forbids idle yields
    /// ([`ThreadPolicy::forbids_yield`]); read once per idle spell.
    no_yield: std::sync::atomic::AtomicBool,
    /// Set while the thread policy anticipates periodic feeders
    /// ([`ThreadPolicy::anticipates`]); read once per idle spell.
    anticipating: std::sync::atomic::AtomicBool,
    bands: Bands<J>,
    /// One slot per possible pool worker (twice the base count, for the
    /// long-running hint), indexed by the order the workers started in;
    /// empty for queues with one worker, whose order is strictly FIFO.
    slots: Box<[crossbeam_utils::CachePadded<Slot<J>>]>,
    sleep: Sleep,
    started: AtomicBool,
    /// Workers that have not exited yet.
    live_workers: AtomicUsize,
    workers: Mutex<Vec<thread::JoinHandle<()>>>,
    pump: Option<Pump>,
    threads: parking_lot::Mutex<WorkerThreads>,
    /// Items a real-time worker found while watching for them, awake, instead
    /// of being woken by their push (`cadence.rs`).
    anticipated: std::sync::atomic::AtomicU64,
    /// Watches a real-time worker began (it woke itself for an expected item).
    watches: std::sync::atomic::AtomicU64,
    /// Signalled when a worker exits, for a join with a deadline.
    exited: crate::sync::parking::Condvar,
    exited_lock: crate::sync::parking::Mutex<()>,
}

crate::sync::thread_locals! {
    /// The queue whose worker this thread is, if any.
    static CURRENT_QUEUE: Cell<Option<QueueId>> = const { Cell::new(None) };
}

// The core whose pool worker this thread is (its address, 0 for none), and
// the worker's slot index there: where its pushes to its own pool go.
crate::sync::thread_locals! {
    static CURRENT_CORE: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// The queue whose worker the calling thread is (`None` on other threads).
pub(crate) fn current_queue() -> Option<QueueId> {
    CURRENT_QUEUE.with(Cell::get)
}

impl<J: Job> QueueCore<J> {
    /// A queue with `max_workers` threads (1 for serial queues), none started yet.
    pub(crate) fn new(
        id: QueueId,
        name: String,
        max_workers: usize,
        pump: Option<Pump>,
    ) -> Arc<QueueCore<J>> {
        Arc::new(QueueCore {
            id,
            name,
            base_workers: max_workers.max(1),
            max_workers: std::sync::atomic::AtomicUsize::new(max_workers.max(1)),
            no_yield: std::sync::atomic::AtomicBool::new(false),
            anticipating: std::sync::atomic::AtomicBool::new(false),
            bands: Bands::new(),
            slots: if max_workers > 1 {
                (0..max_workers * 2)
                    .map(|_| crossbeam_utils::CachePadded::new(Slot::new()))
                    .collect()
            } else {
                Box::new([])
            },
            sleep: Sleep::new(),
            started: AtomicBool::new(false),
            live_workers: AtomicUsize::new(0),
            workers: Mutex::new(Vec::new()),
            pump,
            threads: parking_lot::Mutex::new(WorkerThreads::default()),
            anticipated: std::sync::atomic::AtomicU64::new(0),
            watches: std::sync::atomic::AtomicU64::new(0),
            exited: crate::sync::parking::Condvar::new(),
            exited_lock: crate::sync::parking::Mutex::new(()),
        })
    }

    /// Queues `work`, which then runs exactly once, even if the queue closes
    /// right after. A closed queue refuses and hands the work back, so that
    /// the caller drops it outside its own locks.
    #[inline]
    pub(crate) fn push(self: &Arc<Self>, job: J, band: Band) -> Result<(), Refused<J>> {
        // A pool worker's normal push to its own pool: into its own slot
        // (README.md, "A worker's own slot"). The pusher is a worker that
        // runs, so it drains what it put there itself.
        if band == Band::Normal {
            if let Some(slot) = self.own_slot().filter(|_| !self.sleep.is_closed()) {
                match slot.put(job) {
                    Ok(None) => {}
                    // Accepted by an earlier push: it must land, closed or
                    // not, and this worker drains it itself at worst.
                    Ok(Some(displaced)) => self.bands.push_past_close(displaced),
                    // A sibling is at the slot: an ordinary band push.
                    Err(job) => return self.push_to_band(band, job),
                }
                if self.sleep.after_own_push() {
                    // The close raced this push, and a sibling's last look
                    // may have missed the slot: take the job back (unless a
                    // sibling already took it to run) and refuse it.
                    if let Some(job) = slot.take() {
                        return Err(Refused {
                            why: Refusal::Closed,
                            job,
                        });
                    }
                }
                return Ok(());
            }
        }
        if let Err(why) = self.ensure_workers() {
            return Err(Refused { why, job });
        }
        self.push_to_band(band, job)
    }

    /// The band part of a push (the workers are started): refused if the
    /// band is closed, else landed and an idle worker woken if one is there.
    #[inline]
    fn push_to_band(&self, band: Band, job: J) -> Result<(), Refused<J>> {
        // Either the band refuses (it is closed) or the push lands before
        // any worker can see the queue closed and drained (README.md).
        match self.bands.push(band, job) {
            Ok(()) => {
                self.sleep.after_push();
                Ok(())
            }
            Err(job) => Err(Refused {
                why: Refusal::Closed,
                job,
            }),
        }
    }

    /// The calling thread's slot, if it is a worker of this pool.
    #[inline]
    fn own_slot(&self) -> Option<&Slot<J>> {
        if self.slots.is_empty() {
            return None;
        }
        let (core, index) = CURRENT_CORE.try_with(Cell::get).ok()?;
        (core == self.address()).then(|| &*self.slots[index])
    }

    /// This core's address: how a worker thread's `CURRENT_CORE` names it.
    #[inline]
    fn address(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// The next job for the worker whose slot is `own` (`None` on a serial
    /// queue): the high band, then its own slot (unless it took
    /// [`OWN_SLOT_STREAK`] from there in a row), then the normal and low bands.
    #[inline]
    fn next_job(&self, own: Option<&Slot<J>>, streak: &mut u32) -> Option<J> {
        if let Some(job) = self.bands.pop_high() {
            return Some(job);
        }
        let Some(own) = own else {
            return self.bands.pop_normal_or_low();
        };
        if *streak < OWN_SLOT_STREAK {
            if let Some(job) = own.take() {
                *streak += 1;
                return Some(job);
            }
        }
        *streak = 0;
        self.bands.pop_normal_or_low().or_else(|| own.take())
    }

    /// A job from another worker's slot (whose owner is busy with something
    /// else), if any.
    fn steal(&self, own: Option<&Slot<J>>) -> Option<J> {
        self.slots
            .iter()
            .filter(|slot| !own.is_some_and(|own| std::ptr::eq(&***slot, own)))
            .find_map(|slot| slot.take())
    }

    #[inline]
    fn ensure_workers(self: &Arc<Self>) -> Result<(), Refusal> {
        if self.started.load(Ordering::Acquire) {
            Ok(())
        } else {
            self.start_workers()
        }
    }

    #[cold]
    fn start_workers(self: &Arc<Self>) -> Result<(), Refusal> {
        let mut workers = lock(&self.workers);
        if self.started.load(Ordering::Acquire) {
            return Ok(());
        }
        // `join` takes the handles under this lock, after `close`: a queue
        // closed by now may already be joined, and threads started now would
        // run this push's work after `join` returned. Refuse it instead.
        if self.sleep.is_closed() {
            return Err(Refusal::Closed);
        }
        let max_workers = self.max_workers.load(std::sync::atomic::Ordering::Relaxed);
        while workers.len() < max_workers {
            let core = Arc::clone(self);
            let name = if self.base_workers == 1 {
                format!("mfwq-{}", self.name)
            } else {
                format!("mfwq-{}-{}", self.name, workers.len())
            };
            self.live_workers.fetch_add(1, Ordering::SeqCst);
            match spawn_worker(name, core, workers.len()) {
                Ok(handle) => workers.push(handle),
                // Some threads are better than none; with none the work could never run.
                Err(error) if workers.is_empty() => {
                    self.live_workers.fetch_sub(1, Ordering::SeqCst);
                    tracing::error!(queue = %self.id, %error, "cannot start a worker thread");
                    return Err(Refusal::NoThread);
                }
                Err(error) => {
                    self.live_workers.fetch_sub(1, Ordering::SeqCst);
                    tracing::warn!(queue = %self.id, %error, "pool runs with fewer threads");
                    break;
                }
            }
        }
        self.started.store(true, Ordering::Release);
        Ok(())
    }

    /// Stops taking work: the workers run everything already queued, then exit.
    pub(crate) fn close(&self) {
        // The bands first: a worker that sees the gate closed must see
        // pushes refused (README.md, "Close").
        self.bands.close();
        self.sleep.close();
    }

    /// Waits for the workers to exit, except the calling thread if it is one of
    /// them (it exits by itself once its current item returns).
    pub(crate) fn join(&self) {
        let handles = std::mem::take(&mut *lock(&self.workers));
        let me = thread::current().id();
        for handle in handles {
            if handle.thread().id() != me {
                // A worker never unwinds (callbacks run under catch_unwind).
                let _ = handle.join();
            }
        }
    }

    /// [`join`](Self::join) that gives up at `deadline`: `true` if every
    /// worker (but the calling thread) has exited and been joined; `false` if
    /// some are still running (a callback that does not return). Those are
    /// left to finish by themselves: their handles are dropped (detached), and
    /// whatever they have not started yet stays queued for
    /// [`take_backlog`](Self::take_backlog). (Under loom the wait is untimed:
    /// see `crate::sync`.)
    pub(crate) fn join_until(&self, deadline: std::time::Instant) -> bool {
        let me = thread::current().id();
        let mine = lock(&self.workers)
            .iter()
            .any(|handle| handle.thread().id() == me);
        // The calling worker exits only after it returns: do not wait for it.
        let allowed = usize::from(mine);
        {
            let mut guard = self.exited_lock.lock();
            while self.live_workers.load(Ordering::SeqCst) > allowed {
                if self.exited.wait_until(&mut guard, deadline).timed_out()
                    && self.live_workers.load(Ordering::SeqCst) > allowed
                {
                    drop(guard);
                    drop(std::mem::take(&mut *lock(&self.workers)));
                    return false;
                }
            }
        }
        self.join();
        true
    }

    /// Takes every item not started yet (a queue given up on at shutdown).
    /// Races the queue's own workers safely: each item is popped once.
    pub(crate) fn take_backlog(&self) -> Vec<J> {
        std::iter::from_fn(|| self.bands.pop().or_else(|| self.steal(None))).collect()
    }

    /// The workers still running, with what each of them runs.
    pub(crate) fn running_workers(&self) -> Vec<StuckWorker> {
        let me = current_tid();
        self.threads
            .lock()
            .workers
            .iter()
            .filter(|slot| slot.tid != me)
            .map(|slot| StuckWorker {
                name: slot.name.clone(),
                tid: slot.tid,
                running: slot.running.load(std::sync::atomic::Ordering::Relaxed),
            })
            .collect()
    }

    /// The queue's id.
    pub(crate) fn id(&self) -> QueueId {
        self.id
    }

    /// The queue's name, which its threads' names carry.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Whether every worker has exited (a closed queue whose drain is over).
    pub(crate) fn is_finished(&self) -> bool {
        self.live_workers.load(Ordering::SeqCst) == 0
    }

    /// Sets the policy of this queue's workers: applied now to every running
    /// worker, and by every worker started later to itself. Returns how many
    /// running workers it was applied to.
    pub(crate) fn set_thread_policy(
        &self,
        policy: Option<std::sync::Arc<dyn ThreadPolicy>>,
    ) -> usize {
        let mut threads = self.threads.lock();
        if let Some(policy) = &policy {
            for slot in &threads.workers {
                policy.apply(slot.tid);
            }
        }
        self.no_yield.store(
            policy.as_ref().is_some_and(|policy| policy.forbids_yield()),
            std::sync::atomic::Ordering::Relaxed,
        );
        self.anticipating.store(
            policy.as_ref().is_some_and(|policy| policy.anticipates()),
            std::sync::atomic::Ordering::Relaxed,
        );
        threads.policy = policy;
        threads.workers.len()
    }

    /// The Linux thread ids of the running workers.
    pub(crate) fn worker_tids(&self) -> Vec<i32> {
        self.threads
            .lock()
            .workers
            .iter()
            .map(|slot| slot.tid)
            .collect()
    }

    /// How many items a real-time worker of this queue found awake, watching
    /// for them, rather than woken by their push.
    pub(crate) fn anticipated_items(&self) -> u64 {
        self.anticipated.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many watches a real-time worker of this queue began: times it woke
    /// itself for an expected item.
    pub(crate) fn watches(&self) -> u64 {
        self.watches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the queue runs a pool (more than one thread by design).
    pub(crate) fn is_pool(&self) -> bool {
        self.base_workers > 1
    }

    /// The long-running hint: a pool may run twice its threads, the extra ones
    /// started by the next push; off again, no more are started (those running
    /// stay until the queue goes away). Serial queues keep their one thread.
    pub(crate) fn set_long_running(&self, enable: bool) {
        if !self.is_pool() {
            return;
        }
        let _workers = lock(&self.workers);
        let max = if enable {
            self.base_workers * 2
        } else {
            self.base_workers
        };
        self.max_workers
            .store(max, std::sync::atomic::Ordering::Relaxed);
        if enable {
            // The next push goes through `start_workers`, which adds the threads.
            self.started.store(false, Ordering::Release);
        }
    }
}

/// A job for the scheduler's own tests and loom models: a closure, whose
/// panics are caught (a worker never unwinds).
#[cfg(test)]
pub(crate) struct TestTask(pub(crate) Box<dyn FnOnce() + Send>);

#[cfg(test)]
impl Job for TestTask {
    fn run(self, _queue: QueueId) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(self.0));
    }

    fn address(&self) -> usize {
        std::ptr::from_ref::<dyn FnOnce() + Send>(&*self.0).cast::<()>() as usize
    }
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn task(f: impl FnOnce() + Send + 'static) -> TestTask {
        TestTask(Box::new(f))
    }

    #[test]
    fn serial_core_runs_in_fifo_order_and_drains_on_close() {
        let core = QueueCore::<TestTask>::new(QueueId(0x10001), "test".into(), 1, None);
        let order = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        for i in 0..1000 {
            let order = order.clone();
            assert!(core
                .push(task(move || order.lock().push(i)), Band::Normal)
                .is_ok());
        }
        core.close();
        core.join();
        assert_eq!(*order.lock(), (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn a_policy_that_forbids_yield_makes_idle_workers_park_without_yielding() {
        struct NoYield;
        impl ThreadPolicy for NoYield {
            fn apply(&self, _tid: i32) {}
            fn forbids_yield(&self) -> bool {
                true
            }
        }
        let core = QueueCore::<TestTask>::new(QueueId(0x10001), "test".into(), 1, None);
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        assert!(!core.no_yield.load(relaxed));
        core.set_thread_policy(Some(std::sync::Arc::new(NoYield)));
        assert!(core.no_yield.load(relaxed));
        // Work still flows: spin, then park, then woken by the push.
        let (sender, receiver) = std::sync::mpsc::channel();
        for i in 0..100 {
            let sender = sender.clone();
            assert!(core
                .push(task(move || sender.send(i).unwrap()), Band::Normal)
                .is_ok());
            if i % 10 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        assert_eq!(receiver.iter().take(100).count(), 100);
        core.set_thread_policy(None);
        assert!(!core.no_yield.load(relaxed));
        core.close();
        core.join();
    }

    /// Waits until `at`, sleeping until shortly before and spinning the rest
    /// (a test's feeder: little timer jitter of its own, little CPU).
    fn wait_until(at: std::time::Instant) {
        let spin = Duration::from_micros(300);
        if let Some(left) = at.checked_duration_since(std::time::Instant::now()) {
            if left > spin {
                std::thread::sleep(left - spin);
            }
        }
        while std::time::Instant::now() < at {
            std::hint::spin_loop();
        }
    }

    /// The anticipation tests turn the process-wide switch on and off: one
    /// at a time.
    static ANTICIPATION_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// A period long enough that a loaded test machine's wake-up jitter stays
    /// within the 6% the learning allows.
    const TEST_PERIOD: Duration = Duration::from_millis(5);

    /// Pushes one item to `core` and waits until it has run.
    fn push_and_wait(core: &Arc<QueueCore<TestTask>>) {
        let (sender, receiver) = std::sync::mpsc::channel();
        assert!(core
            .push(task(move || sender.send(()).unwrap()), Band::Normal)
            .is_ok());
        receiver.recv().unwrap();
    }

    struct RealTime;
    impl ThreadPolicy for RealTime {
        fn apply(&self, _tid: i32) {}
        fn anticipates(&self) -> bool {
            true
        }
    }

    // The one worker of a real-time queue learns a steady feeder's period,
    // then wakes itself before each expected item and picks it up awake
    // (anticipated), not woken by the push; a queue that is not real-time
    // never does, and neither does a real-time one with anticipation off.
    // The feeder pushes as soon as the worker's watch has begun, so that the
    // outcome does not depend on how late a loaded machine wakes either.
    #[test]
    fn a_real_time_worker_anticipates_a_steady_feeder() {
        let _one_at_a_time = ANTICIPATION_TESTS.lock();
        cadence::set_enabled(true);
        let period = TEST_PERIOD;
        // Feeds a steady rhythm until the worker begins a watch of its own.
        let feed = |core: &Arc<QueueCore<TestTask>>, items: u32| {
            let start = std::time::Instant::now();
            let watches = core.watches();
            for k in 0..items {
                wait_until(start + period * k);
                push_and_wait(core);
                if core.watches() > watches {
                    break;
                }
            }
        };
        let plain = QueueCore::<TestTask>::new(QueueId(0x10001), "plain".into(), 1, None);
        feed(&plain, 30);
        assert_eq!(
            (plain.watches(), plain.anticipated_items()),
            (0, 0),
            "not real-time"
        );

        let realtime = QueueCore::<TestTask>::new(QueueId(0x10002), "rt".into(), 1, None);
        realtime.set_thread_policy(Some(std::sync::Arc::new(RealTime)));
        // Rounds of learning and anticipating, until one item was caught
        // awake: on a loaded machine the feeder itself may be held off past
        // a watch now and then (here it is a normal thread).
        let give_up_at = std::time::Instant::now() + Duration::from_secs(20);
        while realtime.anticipated_items() == 0 && std::time::Instant::now() < give_up_at {
            feed(&realtime, 200);
            for _ in 0..20 {
                let watches = realtime.watches();
                let give_up = std::time::Instant::now() + period * 3;
                while realtime.watches() == watches && std::time::Instant::now() < give_up {
                    std::hint::spin_loop();
                }
                push_and_wait(&realtime);
            }
        }
        assert!(realtime.watches() > 0, "a steady feeder is learned");
        assert!(
            realtime.anticipated_items() > 0,
            "and its items are caught awake"
        );

        cadence::set_enabled(false);
        let before = (realtime.watches(), realtime.anticipated_items());
        let start = std::time::Instant::now();
        for k in 0..20 {
            wait_until(start + period * k);
            push_and_wait(&realtime);
        }
        // The worker may be in the middle of one watch when it is turned off.
        assert!(realtime.watches() <= before.0 + 1, "off: no more watches");
        assert!(realtime.anticipated_items() <= before.1 + 1);
        cadence::set_enabled(true);
        for core in [plain, realtime] {
            core.close();
            core.join();
        }
    }

    // A queue closed while its real-time worker watches for the next item:
    // the item pushed just before the close still runs, exactly once, and
    // the worker leaves its watch, drains and exits at once (not at the end
    // of the watch's window, nor ever later).
    #[test]
    fn closing_while_a_real_time_worker_watches_drains_and_exits() {
        let _one_at_a_time = ANTICIPATION_TESTS.lock();
        cadence::set_enabled(true);
        let period = TEST_PERIOD;
        for round in 0..3 {
            let core = QueueCore::<TestTask>::new(QueueId(0x10003), "rt".into(), 1, None);
            core.set_thread_policy(Some(std::sync::Arc::new(RealTime)));
            let give_up_at = std::time::Instant::now() + Duration::from_secs(20);
            let start = std::time::Instant::now();
            let mut k = 0;
            while core.watches() == 0 && std::time::Instant::now() < give_up_at {
                wait_until(start + period * k);
                push_and_wait(&core);
                k += 1;
            }
            assert!(
                core.watches() > 0,
                "round {round}: the rhythm was never learned"
            );
            // Wait for the next watch to begin, then push and close at once.
            let watches = core.watches();
            let give_up = std::time::Instant::now() + period * 3;
            while core.watches() == watches && std::time::Instant::now() < give_up {
                std::hint::spin_loop();
            }
            let ran = Arc::new(AtomicUsize::new(0));
            let last = ran.clone();
            assert!(core
                .push(
                    task(move || {
                        last.fetch_add(1, Ordering::SeqCst);
                    }),
                    Band::Normal
                )
                .is_ok());
            core.close();
            let closing = std::time::Instant::now();
            core.join();
            assert_eq!(ran.load(Ordering::SeqCst), 1, "round {round}");
            assert!(
                closing.elapsed() < Duration::from_secs(2),
                "round {round}: join took {:?}",
                closing.elapsed()
            );
        }
    }

    #[test]
    fn higher_band_goes_first() {
        let core = QueueCore::<TestTask>::new(QueueId(0x10001), "test".into(), 1, None);
        let (gate, wait) = std::sync::mpsc::channel::<()>();
        let order = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        assert!(core
            .push(
                task(move || assert!(wait.recv_timeout(Duration::from_secs(10)).is_ok())),
                Band::Normal
            )
            .is_ok());
        for (label, band) in [
            ("low", Band::Low),
            ("normal", Band::Normal),
            ("high", Band::High),
        ] {
            let order = order.clone();
            assert!(core
                .push(task(move || order.lock().push(label)), band)
                .is_ok());
        }
        gate.send(()).unwrap();
        core.close();
        core.join();
        assert_eq!(*order.lock(), ["high", "normal", "low"]);
    }

    /// A chain on a pool (each item putting the next from inside its run)
    /// stays on the worker that runs it: the next item waits in that
    /// worker's own slot instead of going to the sibling polling the bands.
    #[test]
    fn a_chain_on_a_pool_stays_on_one_worker() {
        type Core = Arc<QueueCore<TestTask>>;
        type Log = std::sync::Arc<parking_lot::Mutex<Vec<std::thread::ThreadId>>>;
        fn hop(core: Core, left: usize, log: Log, done: std::sync::mpsc::Sender<()>) -> TestTask {
            task(move || {
                log.lock().push(std::thread::current().id());
                if left == 0 {
                    done.send(()).unwrap();
                } else {
                    let next = hop(Arc::clone(&core), left - 1, log, done);
                    assert!(core.push(next, Band::Normal).is_ok());
                }
            })
        }
        const HOPS: usize = 2000;
        let core = QueueCore::<TestTask>::new(QueueId(0x10001), "pool".into(), 2, None);
        let log: Log = Default::default();
        let (done, finished) = std::sync::mpsc::channel();
        assert!(core
            .push(
                hop(Arc::clone(&core), HOPS, log.clone(), done),
                Band::Normal
            )
            .is_ok());
        finished.recv_timeout(Duration::from_secs(30)).unwrap();
        core.close();
        core.join();
        let log = log.lock();
        assert_eq!(log.len(), HOPS + 1);
        let stayed = log.windows(2).filter(|pair| pair[0] == pair[1]).count();
        // Without the slot the polling sibling takes most hops; with it the
        // chain moves only when its worker is preempted while the next item
        // waits (a busy machine), so a generous bound.
        assert!(
            stayed * 4 >= HOPS * 3,
            "{stayed} of {HOPS} hops stayed on their worker"
        );
    }

    /// Runs `step` as one item on a fresh one-thread queue, waits on the
    /// event it sets, and returns how long the wait took and whether the
    /// item had `done` its work by the time the wait returned.
    fn wait_on_a_step(
        step: impl FnOnce(&crate::Event, &std::sync::atomic::AtomicBool) + Send + 'static,
    ) -> (Duration, bool) {
        let core = QueueCore::<TestTask>::new(QueueId(0x10001), "settle".into(), 1, None);
        let event = crate::Event::auto_reset(false);
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (signal, flag) = (event.clone(), done.clone());
        let begun = std::time::Instant::now();
        assert!(core
            .push(task(move || step(&signal, &flag)), Band::Normal)
            .is_ok());
        assert!(event.wait(Some(Duration::from_secs(10))));
        let waited = begun.elapsed();
        let was_done = done.load(Ordering::SeqCst);
        core.close();
        core.join();
        (waited, was_done)
    }

    // Once `Invoke` has returned, a woken thread waits for the rest of the
    // step (the release of the result), even when that takes far longer
    // than the bound it keeps while `Invoke` runs: a worker preempted right
    // after `Invoke` returns no longer makes the woken thread find the
    // worker's reference. Without `invoke_returned` (or without the second
    // phase of `settle`) the wait returns after about 2 ms, before `done`.
    #[test]
    fn a_woken_thread_waits_for_the_release_once_invoke_has_returned() {
        let (_, released) = wait_on_a_step(|event, done| {
            event.set();
            invoke_returned();
            // A slow release: a worker preempted for 20 ms.
            std::thread::sleep(Duration::from_millis(20));
            done.store(true, Ordering::SeqCst);
        });
        assert!(
            released,
            "the wait returned before the step's release was done"
        );
    }

    // While `Invoke` still runs, the bound is short: user code may go on
    // for long, or wait for the woken thread itself.
    #[test]
    fn a_woken_thread_does_not_wait_for_user_code_after_the_set() {
        let (waited, finished) = wait_on_a_step(|event, done| {
            event.set();
            std::thread::sleep(Duration::from_millis(500));
            done.store(true, Ordering::SeqCst);
        });
        assert!(!finished, "the wait waited for the rest of Invoke");
        assert!(waited < Duration::from_millis(400), "{waited:?}");
    }

    // Nor for user code that keeps the processor busy after the set: once
    // the worker has used the short bound's worth of CPU time since the
    // wait began, it is at work, not preempted.
    #[test]
    fn a_woken_thread_does_not_wait_for_user_code_that_spins_after_the_set() {
        let (waited, finished) = wait_on_a_step(|event, done| {
            event.set();
            let begun = std::time::Instant::now();
            while begun.elapsed() < Duration::from_millis(800) {
                std::hint::spin_loop();
            }
            done.store(true, Ordering::SeqCst);
        });
        assert!(!finished, "the wait waited for the rest of Invoke");
        assert!(waited < Duration::from_millis(600), "{waited:?}");
    }

    // A step that ends inside an item (a serial queue's batch) ends the
    // wait there: the user code of the next result in the batch is not
    // waited for, even though the earlier `Invoke` had returned.
    #[test]
    fn a_woken_thread_does_not_wait_for_the_next_step_of_a_batch() {
        let (waited, finished) = wait_on_a_step(|event, done| {
            event.set();
            invoke_returned();
            step_finished();
            // The next item of the batch.
            std::thread::sleep(Duration::from_millis(500));
            done.store(true, Ordering::SeqCst);
        });
        assert!(!finished, "the wait waited for the next step");
        assert!(waited < Duration::from_millis(400), "{waited:?}");
    }

    // The release is waited for, but not for ever: a `Release` that blocks
    // (on the woken thread, say) holds the woken thread up by
    // `RELEASE_LIMIT` at most.
    #[test]
    fn the_wait_for_a_release_is_bounded() {
        let (waited, finished) = wait_on_a_step(|event, done| {
            event.set();
            invoke_returned();
            std::thread::sleep(Duration::from_millis(1500));
            done.store(true, Ordering::SeqCst);
        });
        assert!(!finished);
        assert!(waited >= Invocation::RELEASE_LIMIT, "{waited:?}");
        assert!(waited < Duration::from_millis(1200), "{waited:?}");
    }

    #[test]
    fn pool_runs_everything_exactly_once_and_survives_panics() {
        let core = QueueCore::<TestTask>::new(QueueId::MULTITHREADED, "pool".into(), 3, None);
        let ran = std::sync::Arc::new(AtomicUsize::new(0));
        for i in 0..10_000 {
            let ran = ran.clone();
            let work = task(move || {
                ran.fetch_add(1, Ordering::Relaxed);
                if i % 1000 == 0 {
                    panic!("test panic {i}");
                }
            });
            assert!(core.push(work, Band::Normal).is_ok());
        }
        core.close();
        core.join();
        assert_eq!(ran.load(Ordering::Relaxed), 10_000);
        assert!(core.is_finished());
        assert!(matches!(
            core.push(task(|| {}), Band::Normal),
            Err(Refused {
                why: Refusal::Closed,
                ..
            })
        ));
    }
}
