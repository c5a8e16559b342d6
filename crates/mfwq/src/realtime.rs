//! MMCSS-style real-time queues, deadlines, the long-running hint and platform
//! events (docs/behaviour.md, sections "Shared queues, MMCSS and real-time
//! scheduling", "Deadlines, long-running hint, join and unjoin" and
//! "Platform events").
//!
//! Windows attaches a queue's threads to a Multimedia Class Scheduler Service
//! task. Linux has no MMCSS, so a registration here is bookkeeping (class, task
//! id, priority: the getters round-trip them) plus real Linux scheduling for
//! the queue's worker threads (docs/behaviour.md#d19):
//!
//! | MMCSS class (any case) | policy | level for `AVRT_PRIORITY` p (-2..=2) | if not allowed |
//! | --- | --- | --- | --- |
//! | `"Pro Audio"` | `SCHED_FIFO` | priority 30 + 5·p | see below |
//! | `"Audio"` | `SCHED_FIFO` | priority 20 + 5·p | see below |
//! | `"Capture"` | `SCHED_RR` | priority 15 + 5·p | see below |
//! | `"Playback"` | `SCHED_RR` | priority 10 + 5·p | see below |
//! | any other | `SCHED_OTHER` | nice −5 − 2·p (−1 ..= −9) | nice clamped to `RLIMIT_NICE`, else 0 |
//!
//! Real-time priorities are clamped to `sched_get_priority_min/max` (1..=99).
//! Where the process lacks the right (no `CAP_SYS_NICE`, `RLIMIT_RTPRIO` too
//! low), registration still succeeds and falls back, in this order: the same
//! policy at the `RLIMIT_RTPRIO` ceiling (if that is at least 1); `SCHED_OTHER`
//! at nice −15 − 2·p (−11 ..= −19), clamped to the lowest nice `RLIMIT_NICE`
//! allows; `SCHED_OTHER` nice 0. A `tracing` warning and [`applied_scheduling`]
//! say what was actually applied. Unregistering puts the threads back to
//! `SCHED_OTHER`, nice 0.
//!
//! Every setting carries `SCHED_FLAG_RESET_ON_FORK`, so threads that a
//! callback starts do not inherit a real-time policy (on Linux
//! `sched_getscheduler` then reports the policy or'ed with
//! `SCHED_RESET_ON_FORK`).
//!
//! Registrations, deadlines and the long-running hint belong to one
//! startup-to-shutdown period: after the last shutdown and a new startup every
//! queue starts unregistered.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Weak};

use parking_lot::Mutex;

use crate::begin_end::{begin, AsyncOperation};
use crate::callback::Callback;
use crate::class_name::ClassName;
use crate::error::{Error, Result};
use crate::ids::{PlatformQueue, QueueId};
use crate::panic::Refusable;
use crate::platform::PLATFORM;
use crate::result::{AsyncResult, State};
use crate::sched::{QueueCore, ThreadPolicy};
use crate::serial::Target;

// ---------------------------------------------------------------------------
// Scheduling policies and the class mapping
// ---------------------------------------------------------------------------

/// A Linux scheduling policy with its level, as set on a queue's threads.
///
/// ```
/// use mfwq::SchedPolicy;
/// assert_eq!(SchedPolicy::Fifo { priority: 30 }.linux_policy(), 1); // SCHED_FIFO
/// assert_eq!(SchedPolicy::Other { nice: 0 }.linux_policy(), 0);     // SCHED_OTHER
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchedPolicy {
    /// `SCHED_OTHER` (the normal time-sharing policy) with a nice value
    /// (−20 ..= 19; lower runs first).
    Other {
        /// The nice value.
        nice: i32,
    },
    /// `SCHED_FIFO` at a static priority (1 ..= 99).
    Fifo {
        /// The real-time priority.
        priority: i32,
    },
    /// `SCHED_RR` at a static priority (1 ..= 99).
    RoundRobin {
        /// The real-time priority.
        priority: i32,
    },
    /// `SCHED_DEADLINE`: `runtime_ns` of CPU time in every `period_ns`, done
    /// within `deadline_ns` of the period's start.
    Deadline {
        /// CPU time per period, in nanoseconds.
        runtime_ns: u64,
        /// Relative deadline, in nanoseconds.
        deadline_ns: u64,
        /// Period, in nanoseconds.
        period_ns: u64,
    },
}

impl SchedPolicy {
    /// The Linux policy number (`SCHED_OTHER` 0, `SCHED_FIFO` 1, `SCHED_RR` 2,
    /// `SCHED_DEADLINE` 6), as `sched_getscheduler` reports it (without
    /// `SCHED_RESET_ON_FORK`).
    pub fn linux_policy(self) -> i32 {
        match self {
            SchedPolicy::Other { .. } => 0,
            SchedPolicy::Fifo { .. } => 1,
            SchedPolicy::RoundRobin { .. } => 2,
            SchedPolicy::Deadline { .. } => 6,
        }
    }
}

impl fmt::Display for SchedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SchedPolicy::Other { nice } => write!(f, "SCHED_OTHER nice {nice}"),
            SchedPolicy::Fifo { priority } => write!(f, "SCHED_FIFO {priority}"),
            SchedPolicy::RoundRobin { priority } => write!(f, "SCHED_RR {priority}"),
            SchedPolicy::Deadline {
                runtime_ns,
                deadline_ns,
                period_ns,
            } => write!(
                f,
                "SCHED_DEADLINE runtime {runtime_ns} ns, deadline {deadline_ns} ns, period {period_ns} ns"
            ),
        }
    }
}

/// What a queue's threads were asked to run under and what they got: the
/// answer of [`applied_scheduling`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppliedScheduling {
    /// What the MMCSS registration or deadline asks for; `SCHED_OTHER` nice 0
    /// for a queue with neither.
    pub requested: SchedPolicy,
    /// What the queue's threads run under, as far as this module set it:
    /// `None` when nothing was ever applied (a queue never registered, or a
    /// serial queue, which has no threads of its own). Before a queue's first
    /// thread starts, what a short-lived probe thread got when the policy was
    /// set; the workers apply the same policy when they start.
    pub applied: Option<SchedPolicy>,
    /// Whether `applied` is not what was requested because the kernel refused
    /// (missing right, deadline admission control). With several threads:
    /// whether any of them fell back.
    pub fell_back: bool,
    /// How many worker threads the queue runs now (all of them run under the
    /// policy).
    pub threads: usize,
}

/// The real-time priority step per `AVRT_PRIORITY` step.
const RT_STEP: i32 = 5;
/// The nice of a non-real-time class at `AVRT_PRIORITY_NORMAL`, and its step.
const NICE_BASE: i32 = -5;
const NICE_STEP: i32 = 2;
/// The nice a real-time class falls back to at `AVRT_PRIORITY_NORMAL`.
const RT_FALLBACK_NICE: i32 = -15;

/// A policy and the nice value to fall back to when its real-time form is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Level {
    policy: SchedPolicy,
    fallback_nice: i32,
}

const NORMAL: Level = Level {
    policy: SchedPolicy::Other { nice: 0 },
    fallback_nice: 0,
};

fn class_level(class: &ClassName, priority: i32) -> Level {
    let p = priority.clamp(-2, 2);
    let rt = |fifo: bool, base: i32| {
        let kind = if fifo { 1 } else { 2 };
        let (min, max) = os::priority_range(kind);
        let level = (base + RT_STEP * p).clamp(min, max);
        Level {
            policy: if fifo {
                SchedPolicy::Fifo { priority: level }
            } else {
                SchedPolicy::RoundRobin { priority: level }
            },
            fallback_nice: (RT_FALLBACK_NICE - NICE_STEP * p).clamp(-20, -1),
        }
    };
    // Only the well-known (ASCII) names map to real-time policies; a name that
    // is not valid UTF-16 matches none of them.
    let text = class.to_string_lossy();
    let is = |name: &str| text.trim().eq_ignore_ascii_case(name);
    if is("Pro Audio") {
        rt(true, 30)
    } else if is("Audio") {
        rt(true, 20)
    } else if is("Capture") {
        rt(false, 15)
    } else if is("Playback") {
        rt(false, 10)
    } else {
        let nice = (NICE_BASE - NICE_STEP * p).clamp(-20, -1);
        Level {
            policy: SchedPolicy::Other { nice },
            fallback_nice: nice,
        }
    }
}

/// The scheduling an MMCSS class and `AVRT_PRIORITY` map to (docs/behaviour.md#d19;
/// the table is in the module docs): what a registration asks the kernel for.
///
/// ```
/// use mfwq::{scheduling_for_class, SchedPolicy};
/// assert_eq!(scheduling_for_class("Pro Audio", 0), SchedPolicy::Fifo { priority: 30 });
/// assert_eq!(scheduling_for_class("audio", 2), SchedPolicy::Fifo { priority: 30 });
/// assert_eq!(scheduling_for_class("Capture", -1), SchedPolicy::RoundRobin { priority: 10 });
/// assert_eq!(scheduling_for_class("Playback", 0), SchedPolicy::RoundRobin { priority: 10 });
/// assert_eq!(scheduling_for_class("Games", 1), SchedPolicy::Other { nice: -7 });
/// ```
pub fn scheduling_for_class(class: impl Into<ClassName>, priority: i32) -> SchedPolicy {
    class_level(&class.into(), priority).policy
}

// ---------------------------------------------------------------------------
// The thread policy the scheduler applies
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Outcome {
    applied: SchedPolicy,
    fell_back: bool,
    /// The first refusal, if any.
    error: Option<String>,
}

/// One requested setting of a queue's threads; the scheduler applies it to
/// every worker (`sched::ThreadPolicy`).
struct Policy {
    queue: QueueId,
    requested: Level,
    /// For a deadline: what to fall back to when the kernel refuses it.
    base: Option<Level>,
    outcome: Mutex<Option<Outcome>>,
    pending_report: AtomicBool,
    reported: AtomicBool,
}

impl Policy {
    fn new(queue: QueueId, requested: Level, base: Option<Level>) -> Arc<Policy> {
        Arc::new(Policy {
            queue,
            requested,
            base,
            outcome: Mutex::new(None),
            pending_report: AtomicBool::new(false),
            reported: AtomicBool::new(false),
        })
    }

    /// The settings to try, best first.
    fn candidates(&self) -> Vec<SchedPolicy> {
        let mut list = Vec::new();
        if let SchedPolicy::Deadline { .. } = self.requested.policy {
            list.push(self.requested.policy);
            level_candidates(self.base.unwrap_or(NORMAL), &mut list);
        } else {
            level_candidates(self.requested, &mut list);
        }
        let mut unique = Vec::with_capacity(list.len());
        for candidate in list {
            if !unique.contains(&candidate) {
                unique.push(candidate);
            }
        }
        unique
    }

    fn outcome(&self) -> Option<Outcome> {
        self.outcome.lock().clone()
    }
}

/// The fallback chain of one level (module docs).
fn level_candidates(level: Level, list: &mut Vec<SchedPolicy>) {
    match level.policy {
        SchedPolicy::Fifo { priority } | SchedPolicy::RoundRobin { priority } => {
            list.push(level.policy);
            let (min, _) = os::priority_range(level.policy.linux_policy());
            let ceiling = os::rt_priority_limit();
            if ceiling >= i64::from(min) && ceiling < i64::from(priority) {
                let priority = ceiling as i32;
                list.push(match level.policy {
                    SchedPolicy::Fifo { .. } => SchedPolicy::Fifo { priority },
                    _ => SchedPolicy::RoundRobin { priority },
                });
            }
            nice_candidates(level.fallback_nice, list);
        }
        SchedPolicy::Other { nice } => nice_candidates(nice, list),
        SchedPolicy::Deadline { .. } => {
            list.push(level.policy);
            list.push(NORMAL.policy);
        }
    }
}

fn nice_candidates(nice: i32, list: &mut Vec<SchedPolicy>) {
    list.push(SchedPolicy::Other { nice });
    if nice < 0 {
        let floor = os::nice_floor();
        if floor > nice && floor < 0 {
            list.push(SchedPolicy::Other { nice: floor });
        }
        list.push(NORMAL.policy);
    }
}

impl ThreadPolicy for Policy {
    fn apply(&self, tid: i32) {
        let mut error = None;
        let mut applied = None;
        for candidate in self.candidates() {
            match os::set(tid, candidate) {
                Ok(()) => {
                    applied = Some(candidate);
                    break;
                }
                Err(refused) => {
                    error.get_or_insert_with(|| format!("{candidate}: {refused}"));
                }
            }
        }
        let outcome = match applied {
            Some(applied) => Outcome {
                applied,
                fell_back: applied != self.requested.policy,
                error,
            },
            // Nothing could be set: say what the thread runs under now.
            None => Outcome {
                applied: os::get(tid).unwrap_or(NORMAL.policy),
                fell_back: true,
                error,
            },
        };
        if outcome.fell_back {
            self.pending_report.store(true, Ordering::Release);
        }
        let mut slot = self.outcome.lock();
        // A fallback on one thread is not hidden by a success on another.
        if !slot.as_ref().is_some_and(|known| known.fell_back) {
            *slot = Some(outcome);
        }
    }

    fn report(&self) {
        if !self.pending_report.swap(false, Ordering::AcqRel)
            || self.reported.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let Some(outcome) = self.outcome() else {
            return;
        };
        let requested = self.requested.policy;
        let applied = outcome.applied;
        let reason = outcome.error.unwrap_or_default();
        if let SchedPolicy::Deadline { .. } = requested {
            tracing::info!(queue = %self.queue, %requested, %applied, %reason,
                "SCHED_DEADLINE refused for the queue's threads; using the previous policy");
        } else {
            tracing::warn!(queue = %self.queue, %requested, %applied, %reason,
                "real-time scheduling for the queue's threads not allowed; fell back");
        }
    }
}

/// Applies `policy` on a short-lived thread, so that a queue whose workers have
/// not started yet can already say what its threads will get.
fn probe(policy: &Arc<Policy>) {
    let policy = Arc::clone(policy);
    let spawned = std::thread::Builder::new()
        .name("mfwq-rt-probe".into())
        .spawn(move || policy.apply(crate::sched::current_tid()));
    match spawned {
        Ok(handle) => {
            let _ = handle.join();
        }
        Err(error) => tracing::debug!(%error, "cannot start a scheduling probe thread"),
    }
}

// ---------------------------------------------------------------------------
// Per-queue records
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Mmcss {
    class: ClassName,
    task_id: u32,
    priority: i32,
}

/// A deadline set on a queue (docs/behaviour.md#d22), as [`work_queue_deadline`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Deadline {
    /// The request that set it.
    pub request: DeadlineRequest,
    /// The deadline, in 100-ns units.
    pub deadline_hns: i64,
    /// The pre-deadline, in 100-ns units (0 from [`set_deadline`]).
    pub pre_deadline_hns: i64,
}

/// The handle of a deadline set by [`set_deadline`] or [`set_deadline2`]; never
/// 0, so that the C ABI can pass it as a `HANDLE` and back.
///
/// ```
/// let request = mfwq::DeadlineRequest(7);
/// assert_eq!(request.0, 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeadlineRequest(pub u64);

struct Record {
    /// The epoch generation the record belongs to.
    generation: u64,
    /// The machinery the record belongs to (`None`: a serial queue). Weak, so
    /// that a queue's last reference (and with it a window queue's user
    /// closure) is never dropped under this module's lock.
    core: Option<Weak<QueueCore>>,
    mmcss: Option<Mmcss>,
    long_running: bool,
    /// Active deadlines, oldest first; the newest one is applied.
    deadlines: Vec<Deadline>,
    /// What was last set on the queue's threads.
    policy: Option<Arc<Policy>>,
}

#[derive(Default)]
struct RtState {
    records: HashMap<QueueId, Record>,
    /// Active deadline requests and the queue (record key) of each.
    requests: HashMap<u64, QueueId>,
}

static STATE: LazyLock<Mutex<RtState>> = LazyLock::new(|| Mutex::new(RtState::default()));
static NEXT_TASK_ID: AtomicU32 = AtomicU32::new(1);
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// A queue as this module sees it.
struct Resolved {
    /// Platform ids are keyed by the platform queue they stand for.
    key: QueueId,
    core: Option<Arc<QueueCore>>,
    generation: u64,
}

/// The machinery behind a queue id: `Some(core)` for a thread-backed queue,
/// `None` for a serial queue (it has no threads of its own). A private id that
/// is not live is [`Error::InvalidWorkQueue`]; with the platform not running,
/// [`Error::Shutdown`].
fn queue_core(queue: QueueId) -> Result<Option<Arc<QueueCore>>> {
    if queue.is_private() {
        PLATFORM.with_epoch(|_| {
            PLATFORM
                .registry
                .with_queue(queue, |entry| match &entry.target {
                    Target::Core(core) => Some(Arc::clone(core)),
                    Target::Serial(_) => None,
                })
        })?
    } else {
        PLATFORM.with_epoch(|epoch| Some(Arc::clone(epoch.queue(queue.platform_slot()))))
    }
}

fn resolve(queue: QueueId) -> Result<Resolved> {
    let generation = PLATFORM.epoch_generation();
    let core = queue_core(queue)?;
    let key = if queue.is_private() {
        queue
    } else {
        queue.platform_slot().id()
    };
    Ok(Resolved {
        key,
        core,
        generation,
    })
}

impl Record {
    fn belongs_to(&self, queue: &Resolved) -> bool {
        self.generation == queue.generation
            && match (&self.core, &queue.core) {
                (Some(mine), Some(theirs)) => std::ptr::eq(mine.as_ptr(), Arc::as_ptr(theirs)),
                (None, None) => true,
                _ => false,
            }
    }
}

impl RtState {
    fn record(&self, queue: &Resolved) -> Option<&Record> {
        self.records
            .get(&queue.key)
            .filter(|record| record.belongs_to(queue))
    }

    /// The queue's record, made afresh if it has none for this queue and epoch.
    fn record_mut(&mut self, queue: &Resolved) -> &mut Record {
        self.prune(queue.generation);
        let fresh = !self
            .records
            .get(&queue.key)
            .is_some_and(|record| record.belongs_to(queue));
        if fresh {
            if let Some(old) = self.records.remove(&queue.key) {
                for deadline in old.deadlines {
                    self.requests.remove(&deadline.request.0);
                }
            }
            self.records.insert(
                queue.key,
                Record {
                    generation: queue.generation,
                    core: queue.core.as_ref().map(Arc::downgrade),
                    mmcss: None,
                    long_running: false,
                    deadlines: Vec::new(),
                    policy: None,
                },
            );
        }
        self.records.get_mut(&queue.key).expect("inserted above")
    }

    /// Drops the records of earlier epochs and of private queues that are gone.
    fn prune(&mut self, generation: u64) {
        self.records.retain(|id, record| {
            record.generation == generation && (!id.is_private() || PLATFORM.registry.is_live(*id))
        });
        let records = &self.records;
        self.requests.retain(|request, key| {
            records
                .get(key)
                .is_some_and(|record| record.deadlines.iter().any(|d| d.request.0 == *request))
        });
    }
}

/// Sets what the record's registration and deadlines ask for on the queue's
/// threads; returns the new policy, to be reported once the state lock is
/// released.
fn update_policy(record: &mut Record, queue: &Resolved) -> Option<Arc<Policy>> {
    let base = record
        .mmcss
        .as_ref()
        .map(|mmcss| class_level(&mmcss.class, mmcss.priority));
    let policy = match record.deadlines.last() {
        Some(deadline) => {
            let deadline_ns = u64::try_from(deadline.deadline_hns)
                .unwrap_or(0)
                .saturating_mul(100);
            let requested = Level {
                policy: SchedPolicy::Deadline {
                    runtime_ns: deadline_ns / 2,
                    deadline_ns,
                    period_ns: deadline_ns,
                },
                fallback_nice: 0,
            };
            Policy::new(queue.key, requested, Some(base.unwrap_or(NORMAL)))
        }
        None => match base {
            Some(level) => Policy::new(queue.key, level, None),
            // Nothing asked for: restore the threads if we ever changed them.
            None if record.policy.is_some() => Policy::new(queue.key, NORMAL, None),
            None => return None,
        },
    };
    if let Some(core) = &queue.core {
        let policy_for_core: Arc<dyn ThreadPolicy> = Arc::clone(&policy) as Arc<dyn ThreadPolicy>;
        if core.set_thread_policy(Some(policy_for_core)) == 0 {
            probe(&policy);
        }
    }
    record.policy = Some(Arc::clone(&policy));
    Some(policy)
}

fn report(policies: Vec<Arc<Policy>>) {
    for policy in policies {
        policy.report();
    }
}

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

// ---------------------------------------------------------------------------
// MMCSS registration
// ---------------------------------------------------------------------------

/// Registers a queue with an MMCSS class, synchronously: the work of
/// `MFBeginRegisterWorkQueueWithMMCSSEx` + `MFEndRegisterWorkQueueWithMMCSS`
/// (`AvSetMmThreadCharacteristics` + `AvSetMmThreadPriority` on every thread
/// of the queue). Returns the task id: `task_id` if non-zero, else a new
/// non-zero one.
///
/// The queue's worker threads, running and started later, get the Linux
/// scheduling of the class (module docs, docs/behaviour.md#d19); where the process may
/// not raise them that far the registration still succeeds and falls back (see
/// [`applied_scheduling`]). Registering again replaces the registration.
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
    PLATFORM.with_epoch(|_| ())?;
    let class = class.into();
    check_class(&class)?;
    check_priority(priority)?;
    if queue == QueueId::ALL {
        return register_platform_with_mmcss(class, task_id, priority);
    }
    let resolved = resolve(queue)?;
    let task_id = if task_id == 0 { new_task_id() } else { task_id };
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
    report(changed.into_iter().collect());
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
    PLATFORM.with_epoch(|_| ())?;
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
    report(changed.into_iter().collect());
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
        PLATFORM.with_epoch(|_| ())?;
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
    PLATFORM.with_epoch(|_| ())?;
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
    PLATFORM.with_epoch(|_| ())?;
    for queue in PlatformQueue::ALL {
        unregister_work_queue_from_mmcss(queue.id())?;
    }
    Ok(())
}

fn with_record<R>(queue: QueueId, f: impl FnOnce(Option<&Record>) -> R) -> Result<R> {
    let resolved = resolve(queue)?;
    let state = STATE.lock();
    Ok(f(state.record(&resolved)))
}

/// The MMCSS class a queue is registered with; `""` if it is not
/// (`MFGetWorkQueueMMCSSClass` as a Rust string; see
/// [`work_queue_mmcss_class_into`] for the C buffer form). Errors:
/// [`Error::InvalidWorkQueue`], [`Error::Shutdown`].
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// assert_eq!(mfwq::work_queue_mmcss_class(mfwq::QueueId::STANDARD)?, "");
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFGetWorkQueueMMCSSClass")]
#[doc(alias = "RtwqGetWorkQueueMMCSSClass")]
pub fn work_queue_mmcss_class(queue: QueueId) -> Result<String> {
    work_queue_mmcss_class_name(queue).map(|class| class.to_string_lossy())
}

/// The MMCSS class a queue is registered with, exactly as it was given (as
/// UTF-16, unpaired surrogates included); empty if it is not registered.
/// [`work_queue_mmcss_class`] gives it as text. Errors as for that function.
///
/// ```
/// use mfwq::{ClassName, QueueId};
/// let _platform = mfwq::Platform::start()?;
/// let odd = ClassName::from_utf16(&[0xD800, 0x41]);
/// mfwq::register_work_queue_with_mmcss(QueueId::RT, &odd, 0, 0)?;
/// assert_eq!(mfwq::work_queue_mmcss_class_name(QueueId::RT)?, odd);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn work_queue_mmcss_class_name(queue: QueueId) -> Result<ClassName> {
    with_record(queue, |record| {
        record
            .and_then(|record| record.mmcss.as_ref())
            .map(|mmcss| mmcss.class.clone())
            .unwrap_or_default()
    })
}

/// The MMCSS task id of a queue; 0 if it is not registered
/// (`MFGetWorkQueueMMCSSTaskId`). Errors as for [`work_queue_mmcss_class`].
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// assert_eq!(mfwq::work_queue_mmcss_task_id(mfwq::QueueId::RT)?, 0);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFGetWorkQueueMMCSSTaskId")]
#[doc(alias = "RtwqGetWorkQueueMMCSSTaskId")]
pub fn work_queue_mmcss_task_id(queue: QueueId) -> Result<u32> {
    with_record(queue, |record| {
        record
            .and_then(|record| record.mmcss.as_ref())
            .map_or(0, |mmcss| mmcss.task_id)
    })
}

/// The `AVRT_PRIORITY` a queue was registered with; 0 if it is not registered
/// (`MFGetWorkQueueMMCSSPriority`). Errors as for [`work_queue_mmcss_class`].
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// mfwq::register_work_queue_with_mmcss(mfwq::QueueId::RT, "Games", 7, -2)?;
/// assert_eq!(mfwq::work_queue_mmcss_priority(mfwq::QueueId::RT)?, -2);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFGetWorkQueueMMCSSPriority")]
#[doc(alias = "RtwqGetWorkQueueMMCSSPriority")]
pub fn work_queue_mmcss_priority(queue: QueueId) -> Result<i32> {
    with_record(queue, |record| {
        record
            .and_then(|record| record.mmcss.as_ref())
            .map_or(0, |mmcss| mmcss.priority)
    })
}

/// How many UTF-16 units a class name needs in a C buffer, with its NUL.
///
/// ```
/// assert_eq!(mfwq::class_utf16_len("Audio"), 6);
/// assert_eq!(mfwq::class_utf16_len(""), 1);
/// ```
pub fn class_utf16_len(class: &str) -> usize {
    ClassName::from(class).len_with_nul()
}

/// Copies a class name into a C buffer as UTF-16 with a terminating NUL
/// (docs/behaviour.md#d21): returns the units written, NUL included. A missing buffer
/// (`NULL`, a size query) or one shorter than [`class_utf16_len`] is
/// [`Error::BufferTooSmall`], and nothing is written.
///
/// ```
/// let mut buffer = [0u16; 8];
/// assert_eq!(mfwq::copy_class_utf16("Audio", Some(&mut buffer)), Ok(6));
/// assert_eq!(String::from_utf16(&buffer[..5]).unwrap(), "Audio");
/// assert_eq!(buffer[5], 0);
/// assert_eq!(mfwq::copy_class_utf16("Audio", None), Err(mfwq::Error::BufferTooSmall));
/// assert_eq!(mfwq::copy_class_utf16("Audio", Some(&mut [0u16; 5])), Err(mfwq::Error::BufferTooSmall));
/// ```
pub fn copy_class_utf16(class: &str, buffer: Option<&mut [u16]>) -> Result<usize> {
    ClassName::from(class).copy_with_nul(buffer)
}

/// `MFGetWorkQueueMMCSSClass(queue, buffer, &length)` with its C contract:
/// `length` is set to the size needed (UTF-16 units, NUL included) whether or
/// not the name fits; a missing or short buffer is [`Error::BufferTooSmall`]
/// (docs/behaviour.md#d21), otherwise the name and a NUL are copied. An unregistered
/// queue's class is `""` (length 1). Queue errors as for
/// [`work_queue_mmcss_class`]; `length` is then left alone.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// mfwq::register_work_queue_with_mmcss(mfwq::QueueId::STANDARD, "Pro Audio", 0, 0)?;
/// let mut length = 0;
/// assert_eq!(
///     mfwq::work_queue_mmcss_class_into(mfwq::QueueId::STANDARD, None, &mut length),
///     Err(mfwq::Error::BufferTooSmall)
/// );
/// assert_eq!(length, 10);
/// let mut buffer = vec![0u16; length];
/// mfwq::work_queue_mmcss_class_into(mfwq::QueueId::STANDARD, Some(&mut buffer), &mut length)?;
/// assert_eq!(String::from_utf16(&buffer[..length - 1]).unwrap(), "Pro Audio");
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFGetWorkQueueMMCSSClass")]
#[doc(alias = "RtwqGetWorkQueueMMCSSClass")]
pub fn work_queue_mmcss_class_into(
    queue: QueueId,
    buffer: Option<&mut [u16]>,
    length: &mut usize,
) -> Result<()> {
    let class = work_queue_mmcss_class_name(queue)?;
    *length = class.len_with_nul();
    class.copy_with_nul(buffer).map(|_| ())
}

/// What scheduling a queue's threads were asked for and actually got: the
/// fallback of docs/behaviour.md#d19 shows here and in a log line. Errors as
/// for [`work_queue_mmcss_class`].
///
/// ```
/// use mfwq::{QueueId, SchedPolicy};
/// let _platform = mfwq::Platform::start()?;
/// let plain = mfwq::applied_scheduling(QueueId::STANDARD)?;
/// assert_eq!(plain.requested, SchedPolicy::Other { nice: 0 });
/// assert_eq!(plain.applied, None); // never changed
/// mfwq::register_work_queue_with_mmcss(QueueId::STANDARD, "Pro Audio", 0, 0)?;
/// let audio = mfwq::applied_scheduling(QueueId::STANDARD)?;
/// assert_eq!(audio.requested, SchedPolicy::Fifo { priority: 30 });
/// match audio.applied {
///     Some(SchedPolicy::Fifo { priority: 30 }) => assert!(!audio.fell_back),
///     _ => assert!(audio.fell_back), // no right to SCHED_FIFO here
/// }
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn applied_scheduling(queue: QueueId) -> Result<AppliedScheduling> {
    let resolved = resolve(queue)?;
    let threads = resolved
        .core
        .as_ref()
        .map_or(0, |core| core.worker_tids().len());
    let policy = {
        let state = STATE.lock();
        state
            .record(&resolved)
            .and_then(|record| record.policy.clone())
    };
    Ok(match policy {
        None => AppliedScheduling {
            requested: NORMAL.policy,
            applied: None,
            fell_back: false,
            threads,
        },
        Some(policy) => {
            let outcome = policy.outcome();
            AppliedScheduling {
                requested: policy.requested.policy,
                applied: outcome.as_ref().map(|outcome| outcome.applied),
                fell_back: outcome.is_some_and(|outcome| outcome.fell_back),
                threads,
            }
        }
    })
}

/// The Linux thread ids (`gettid`) of a queue's running worker threads; empty
/// before its first item started them, and for a serial queue. For tools that
/// want to inspect or tune the threads themselves. Errors as for
/// [`work_queue_mmcss_class`].
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let (sender, receiver) = std::sync::mpsc::channel();
/// mfwq::spawn(mfwq::QueueId::RT, move || sender.send(()).unwrap())?;
/// receiver.recv().unwrap();
/// assert_eq!(mfwq::work_queue_thread_ids(mfwq::QueueId::RT)?.len(), 1);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn work_queue_thread_ids(queue: QueueId) -> Result<Vec<i32>> {
    let resolved = resolve(queue)?;
    Ok(resolved
        .core
        .as_ref()
        .map_or_else(Vec::new, |core| core.worker_tids()))
}

// ---------------------------------------------------------------------------
// Deadlines
// ---------------------------------------------------------------------------

/// `RtwqSetDeadline(queue, deadline, &request)`: [`set_deadline2`] with no
/// pre-deadline.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let request = mfwq::set_deadline(mfwq::QueueId::STANDARD, 100_000)?; // 10 ms
/// assert_ne!(request.0, 0);
/// assert_eq!(mfwq::work_queue_deadline(mfwq::QueueId::STANDARD)?.unwrap().deadline_hns, 100_000);
/// mfwq::cancel_deadline(request)?;
/// assert_eq!(mfwq::cancel_deadline(request), Err(mfwq::Error::NotFound));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "RtwqSetDeadline")]
pub fn set_deadline(queue: QueueId, deadline_hns: i64) -> Result<DeadlineRequest> {
    set_deadline2(queue, deadline_hns, 0)
}

/// `RtwqSetDeadline2(queue, deadline, pre_deadline, &request)`: declares that
/// the queue's work must be done within `deadline_hns` (100-ns units, as
/// docs/behaviour.md#d22 explains); returns the request, to be passed to [`cancel_deadline`].
///
/// Where the kernel allows, the queue's threads run `SCHED_DEADLINE` with
/// period and relative deadline `deadline_hns · 100` ns and a runtime of half
/// of it (the kernel accepts periods of 100 µs to 4 s by default, and admits
/// only as much deadline bandwidth as the CPUs have). Where it refuses (no
/// right, admission control, kernel limits) the deadline is still recorded and
/// the threads keep their previous policy; a `tracing` line and
/// [`applied_scheduling`] (`fell_back`) say so. Setting a new deadline while
/// one is active applies the new one ("to change a deadline, set a new one and
/// release the old"); cancelling the newest goes back to the one before, and
/// cancelling the last restores the MMCSS policy or `SCHED_OTHER`. The
/// pre-deadline is recorded only: Linux has nothing it maps to. A
/// `SCHED_DEADLINE` thread that yields gives up the rest of its period, so an
/// idle worker takes a few periods longer to park.
///
/// Errors: `deadline_hns <= 0`, `pre_deadline_hns < 0` or greater than the
/// deadline: [`Error::InvalidArg`]; queue errors as for
/// [`register_work_queue_with_mmcss`]. On a serial queue the deadline is
/// recorded and nothing is applied.
///
/// ```
/// use mfwq::{QueueId, SchedPolicy};
/// let _platform = mfwq::Platform::start()?;
/// let request = mfwq::set_deadline2(QueueId::RT, 200_000, 50_000)?;
/// let deadline = mfwq::work_queue_deadline(QueueId::RT)?.unwrap();
/// assert_eq!((deadline.request, deadline.deadline_hns, deadline.pre_deadline_hns), (request, 200_000, 50_000));
/// let applied = mfwq::applied_scheduling(QueueId::RT)?;
/// assert_eq!(applied.requested, SchedPolicy::Deadline {
///     runtime_ns: 10_000_000, deadline_ns: 20_000_000, period_ns: 20_000_000,
/// });
/// assert!(applied.fell_back || applied.applied == Some(applied.requested));
/// mfwq::cancel_deadline(request)?;
/// assert_eq!(mfwq::set_deadline2(QueueId::RT, 100, 200), Err(mfwq::Error::InvalidArg));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "RtwqSetDeadline2")]
pub fn set_deadline2(
    queue: QueueId,
    deadline_hns: i64,
    pre_deadline_hns: i64,
) -> Result<DeadlineRequest> {
    // Not running is reported first, as for every call (docs/behaviour.md#d34).
    PLATFORM.with_epoch(|_| ())?;
    if deadline_hns <= 0 || pre_deadline_hns < 0 || pre_deadline_hns > deadline_hns {
        return Err(Error::InvalidArg);
    }
    let resolved = resolve(queue)?;
    let request = DeadlineRequest(NEXT_REQUEST.fetch_add(1, Ordering::Relaxed).max(1));
    let changed = {
        let mut state = STATE.lock();
        let record = state.record_mut(&resolved);
        record.deadlines.push(Deadline {
            request,
            deadline_hns,
            pre_deadline_hns,
        });
        let changed = update_policy(record, &resolved);
        state.requests.insert(request.0, resolved.key);
        changed
    };
    report(changed.into_iter().collect());
    Ok(request)
}

/// `RtwqCancelDeadline(request)`: ends a deadline set by [`set_deadline`] or
/// [`set_deadline2`]; the queue's threads go back to the policy they had
/// before it (see [`set_deadline2`]).
///
/// Errors: `DeadlineRequest(0)` (a NULL handle): [`Error::InvalidArg`]; the
/// platform not running: [`Error::Shutdown`]; a request that was cancelled
/// already, never existed, or whose queue is gone: [`Error::NotFound`].
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// assert_eq!(mfwq::cancel_deadline(mfwq::DeadlineRequest(0)), Err(mfwq::Error::InvalidArg));
/// assert_eq!(mfwq::cancel_deadline(mfwq::DeadlineRequest(u64::MAX)), Err(mfwq::Error::NotFound));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "RtwqCancelDeadline")]
pub fn cancel_deadline(request: DeadlineRequest) -> Result<()> {
    // Not running is reported first, as for every call (docs/behaviour.md#d34).
    PLATFORM.with_epoch(|_| ())?;
    if request.0 == 0 {
        return Err(Error::InvalidArg);
    }
    let key = STATE
        .lock()
        .requests
        .get(&request.0)
        .copied()
        .ok_or(Error::NotFound)?;
    let resolved = resolve(key).map_err(|error| match error {
        Error::InvalidWorkQueue => Error::NotFound,
        other => other,
    })?;
    let changed = {
        let mut state = STATE.lock();
        if state.requests.remove(&request.0).is_none() {
            return Err(Error::NotFound);
        }
        let live = state
            .record(&resolved)
            .is_some_and(|record| record.deadlines.iter().any(|d| d.request == request));
        if !live {
            return Err(Error::NotFound);
        }
        let record = state.record_mut(&resolved);
        record
            .deadlines
            .retain(|deadline| deadline.request != request);
        update_policy(record, &resolved)
    };
    report(changed.into_iter().collect());
    Ok(())
}

/// The deadline in force on a queue: the newest active one, or `None`. Errors
/// as for [`work_queue_mmcss_class`].
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// assert_eq!(mfwq::work_queue_deadline(mfwq::QueueId::IO)?, None);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn work_queue_deadline(queue: QueueId) -> Result<Option<Deadline>> {
    with_record(queue, |record| {
        record.and_then(|record| record.deadlines.last().copied())
    })
}

// ---------------------------------------------------------------------------
// Long-running hint
// ---------------------------------------------------------------------------

/// `RtwqSetLongRunning(queue, enable)`: hints that long-running work will be
/// put on the queue (docs/behaviour.md#d24; off by default).
///
/// On a pool (MULTITHREADED, IO, LONG_FUNCTION, private multithreaded and
/// shared queues) the hint lets the pool grow to twice its threads, so that
/// long items do not starve short ones; the extra threads start with the next
/// put. Turning the hint off starts no more threads; those already running
/// stay until the queue goes away. On a queue that runs one item at a time
/// (STANDARD, RT, TIMER, private standard, window and serial queues) the hint
/// is recorded only: more threads would break its order. Errors as for
/// [`register_work_queue_with_mmcss`].
///
/// ```
/// use mfwq::QueueId;
/// let _platform = mfwq::Platform::start()?;
/// mfwq::set_long_running(QueueId::MULTITHREADED, true)?;
/// assert!(mfwq::is_long_running(QueueId::MULTITHREADED)?);
/// mfwq::set_long_running(QueueId::MULTITHREADED, false)?;
/// assert!(!mfwq::is_long_running(QueueId::MULTITHREADED)?);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "RtwqSetLongRunning")]
pub fn set_long_running(queue: QueueId, enable: bool) -> Result<()> {
    let resolved = resolve(queue)?;
    let mut state = STATE.lock();
    let record = state.record_mut(&resolved);
    record.long_running = enable;
    if let Some(core) = &resolved.core {
        core.set_long_running(enable);
    }
    Ok(())
}

/// Whether the long-running hint is on for a queue ([`set_long_running`]).
/// Errors as for [`work_queue_mmcss_class`].
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// assert!(!mfwq::is_long_running(mfwq::QueueId::IO)?);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn is_long_running(queue: QueueId) -> Result<bool> {
    with_record(queue, |record| {
        record.is_some_and(|record| record.long_running)
    })
}

// ---------------------------------------------------------------------------
// Join / unjoin
// ---------------------------------------------------------------------------

/// `RtwqJoinWorkQueue(queue, handle, &cookie)`: always [`Error::NotImplemented`]
/// (`E_NOTIMPL`, as docs/behaviour.md#d23 allows and as Wine does).
///
/// On Windows this binds a file or socket handle to the queue's I/O completion
/// port, so that its overlapped I/O completes on the queue's threads. Linux has
/// no completion ports and no `HANDLE`s to bind; a port that needs this should
/// wait for readiness itself (its own epoll loop, or an [`Event`](crate::Event)
/// it sets) and put the completion on the queue.
///
/// ```
/// assert_eq!(mfwq::join_work_queue(mfwq::QueueId::IO, 3), Err(mfwq::Error::NotImplemented));
/// ```
#[doc(alias = "RtwqJoinWorkQueue")]
pub fn join_work_queue(queue: QueueId, handle: usize) -> Result<usize> {
    let _ = (queue, handle);
    Err(Error::NotImplemented)
}

/// `RtwqUnjoinWorkQueue(queue, cookie)`: always [`Error::NotImplemented`]; see
/// [`join_work_queue`].
///
/// ```
/// assert_eq!(mfwq::unjoin_work_queue(mfwq::QueueId::IO, 1), Err(mfwq::Error::NotImplemented));
/// ```
#[doc(alias = "RtwqUnjoinWorkQueue")]
pub fn unjoin_work_queue(queue: QueueId, cookie: usize) -> Result<()> {
    let _ = (queue, cookie);
    Err(Error::NotImplemented)
}

// ---------------------------------------------------------------------------
// Platform events
// ---------------------------------------------------------------------------

/// A listener for the platform's lifecycle (`IRtwqPlatformEvents`), registered
/// with [`register_platform_events`] (docs/behaviour.md#d25).
///
/// Each method is called synchronously on the thread that calls the first
/// startup ([`initialization_complete`](Self::initialization_complete), after
/// the platform is up) or the last shutdown
/// ([`shutdown_start`](Self::shutdown_start) before it stops anything,
/// [`shutdown_complete`](Self::shutdown_complete) after every thread has
/// stopped), with no platform lock held, so a listener may call the platform.
/// Nested startups and shutdowns call nothing. A panic in a listener is caught
/// and reported like a callback panic (queue [`QueueId::UNDEFINED`]); the
/// startup or shutdown goes on.
pub trait PlatformEvents: Send + Sync {
    /// `InitializationComplete`: the platform has started.
    fn initialization_complete(&self) {}
    /// `ShutdownStart`: the last shutdown begins.
    fn shutdown_start(&self) {}
    /// `ShutdownComplete`: the platform has shut down.
    fn shutdown_complete(&self) {}
    /// What makes two listeners the same one for registering and
    /// unregistering: by default the listener's address; a wrapper of a COM
    /// listener gives the COM pointer, so the same object is one listener.
    fn identity(&self) -> *const () {
        self as *const Self as *const ()
    }
}

static LISTENERS: Mutex<Vec<Arc<dyn PlatformEvents>>> = Mutex::new(Vec::new());

fn same_listener(a: &Arc<dyn PlatformEvents>, b: &Arc<dyn PlatformEvents>) -> bool {
    std::ptr::eq(a.identity(), b.identity())
}

/// `RtwqRegisterPlatformEvents(listener)`: adds a platform-event listener.
/// Works whether or not the platform is started. A listener registered while
/// the platform is up is not told `InitializationComplete` after the fact: it
/// hears the next shutdown. Registering the same listener (the same `Arc`)
/// again changes nothing.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// struct Log(Mutex<Vec<&'static str>>);
/// impl mfwq::PlatformEvents for Log {
///     fn initialization_complete(&self) { self.0.lock().unwrap().push("init") }
///     fn shutdown_start(&self) { self.0.lock().unwrap().push("start") }
///     fn shutdown_complete(&self) { self.0.lock().unwrap().push("complete") }
/// }
/// let log = Arc::new(Log(Mutex::new(Vec::new())));
/// let listener: Arc<dyn mfwq::PlatformEvents> = log.clone();
/// mfwq::register_platform_events(listener.clone())?;
/// drop(mfwq::Platform::start()?);
/// mfwq::unregister_platform_events(&listener)?;
/// assert_eq!(*log.0.lock().unwrap(), ["init", "start", "complete"]);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "RtwqRegisterPlatformEvents")]
pub fn register_platform_events(listener: Arc<dyn PlatformEvents>) -> Result<()> {
    let mut listeners = LISTENERS.lock();
    if !listeners
        .iter()
        .any(|known| same_listener(known, &listener))
    {
        listeners.push(listener);
    }
    Ok(())
}

/// `RtwqUnregisterPlatformEvents(listener)`: removes a listener, found by
/// identity (the `Arc` that was registered, or a clone of it); one that is not
/// registered is [`Error::NotFound`].
///
/// ```
/// use std::sync::Arc;
/// struct Quiet;
/// impl mfwq::PlatformEvents for Quiet {}
/// let listener: Arc<dyn mfwq::PlatformEvents> = Arc::new(Quiet);
/// assert_eq!(mfwq::unregister_platform_events(&listener), Err(mfwq::Error::NotFound));
/// ```
#[doc(alias = "RtwqUnregisterPlatformEvents")]
pub fn unregister_platform_events(listener: &Arc<dyn PlatformEvents>) -> Result<()> {
    let removed = {
        let mut listeners = LISTENERS.lock();
        let index = listeners
            .iter()
            .position(|known| same_listener(known, listener))
            .ok_or(Error::NotFound)?;
        listeners.remove(index)
    };
    // A listener's Drop is user code: run it with no lock held.
    drop(removed);
    Ok(())
}

fn notify(event: impl Fn(&dyn PlatformEvents)) {
    let listeners = LISTENERS.lock().clone();
    for listener in listeners {
        crate::panic::guard(crate::panic::PanicSite::PlatformEvents, || {
            event(&*listener)
        });
    }
}

/// The first startup completed (`IRtwqPlatformEvents::InitializationComplete`).
pub(crate) fn notify_initialization_complete() {
    notify(|listener| listener.initialization_complete());
}

/// The last shutdown starts (`ShutdownStart`).
pub(crate) fn notify_shutdown_start() {
    notify(|listener| listener.shutdown_start());
}

/// The last shutdown completed (`ShutdownComplete`).
pub(crate) fn notify_shutdown_complete() {
    // The epoch's registrations, deadlines and hints end with it.
    STATE.lock().prune(PLATFORM.epoch_generation());
    notify(|listener| listener.shutdown_complete());
}

// ---------------------------------------------------------------------------
// The system calls
// ---------------------------------------------------------------------------

#[cfg(target_os = "linux")]
mod os {
    use super::SchedPolicy;
    use std::io;

    /// `struct sched_attr` (`SCHED_ATTR_SIZE_VER0`, 48 bytes).
    #[repr(C)]
    #[derive(Default)]
    struct SchedAttr {
        size: u32,
        sched_policy: u32,
        sched_flags: u64,
        sched_nice: i32,
        sched_priority: u32,
        sched_runtime: u64,
        sched_deadline: u64,
        sched_period: u64,
    }

    const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;

    /// Sets the scheduling of thread `tid`, with reset-on-fork.
    pub(super) fn set(tid: i32, policy: SchedPolicy) -> io::Result<()> {
        let mut attr = SchedAttr {
            size: std::mem::size_of::<SchedAttr>() as u32,
            sched_policy: policy.linux_policy() as u32,
            sched_flags: SCHED_FLAG_RESET_ON_FORK,
            ..SchedAttr::default()
        };
        match policy {
            SchedPolicy::Other { nice } => attr.sched_nice = nice,
            SchedPolicy::Fifo { priority } | SchedPolicy::RoundRobin { priority } => {
                attr.sched_priority = priority as u32;
            }
            SchedPolicy::Deadline {
                runtime_ns,
                deadline_ns,
                period_ns,
            } => {
                attr.sched_runtime = runtime_ns;
                attr.sched_deadline = deadline_ns;
                attr.sched_period = period_ns;
            }
        }
        // SAFETY: `attr` is a valid, initialised sched_attr of the size it states.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_sched_setattr,
                tid as libc::c_long,
                &attr as *const SchedAttr,
                0 as libc::c_uint,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::ENOSYS) {
            return set_legacy(tid, policy);
        }
        Err(error)
    }

    /// Kernels before 3.14 have no sched_setattr (and no SCHED_DEADLINE).
    fn set_legacy(tid: i32, policy: SchedPolicy) -> io::Result<()> {
        let (kind, priority, nice) = match policy {
            SchedPolicy::Other { nice } => (libc::SCHED_OTHER, 0, Some(nice)),
            SchedPolicy::Fifo { priority } => (libc::SCHED_FIFO, priority, None),
            SchedPolicy::RoundRobin { priority } => (libc::SCHED_RR, priority, None),
            SchedPolicy::Deadline { .. } => return Err(io::Error::from_raw_os_error(libc::ENOSYS)),
        };
        let param = libc::sched_param {
            sched_priority: priority,
        };
        // SAFETY: plain system calls on a thread id with a valid parameter block.
        unsafe {
            if libc::sched_setscheduler(tid, kind | libc::SCHED_RESET_ON_FORK, &param) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(nice) = nice {
                if libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }

    /// The scheduling thread `tid` runs under now.
    pub(super) fn get(tid: i32) -> io::Result<SchedPolicy> {
        let mut attr = SchedAttr::default();
        // SAFETY: `attr` is writable and as large as the size passed.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_sched_getattr,
                tid as libc::c_long,
                &mut attr as *mut SchedAttr,
                std::mem::size_of::<SchedAttr>() as libc::c_uint,
                0 as libc::c_uint,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(match attr.sched_policy as i32 {
            libc::SCHED_FIFO => SchedPolicy::Fifo {
                priority: attr.sched_priority as i32,
            },
            libc::SCHED_RR => SchedPolicy::RoundRobin {
                priority: attr.sched_priority as i32,
            },
            6 => SchedPolicy::Deadline {
                runtime_ns: attr.sched_runtime,
                deadline_ns: attr.sched_deadline,
                period_ns: attr.sched_period,
            },
            _ => SchedPolicy::Other {
                nice: attr.sched_nice,
            },
        })
    }

    /// `sched_get_priority_min/max` of a real-time policy.
    pub(super) fn priority_range(kind: i32) -> (i32, i32) {
        // SAFETY: pure queries.
        let (min, max) = unsafe {
            (
                libc::sched_get_priority_min(kind),
                libc::sched_get_priority_max(kind),
            )
        };
        if min < 0 || max < min {
            (1, 99)
        } else {
            (min, max)
        }
    }

    fn soft_limit(resource: libc::__rlimit_resource_t) -> Option<u64> {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is writable.
        if unsafe { libc::getrlimit(resource, &mut limit) } != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
        Some(limit.rlim_cur as u64)
    }

    /// The highest real-time priority `RLIMIT_RTPRIO` allows without privilege.
    pub(super) fn rt_priority_limit() -> i64 {
        soft_limit(libc::RLIMIT_RTPRIO).map_or(0, |limit| limit.min(i64::MAX as u64) as i64)
    }

    /// The lowest nice `RLIMIT_NICE` allows without privilege (`20 - limit`).
    pub(super) fn nice_floor() -> i32 {
        match soft_limit(libc::RLIMIT_NICE) {
            Some(limit) => 20 - limit.min(40) as i32,
            None => 20,
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    //! No Linux scheduling here: registrations are recorded, nothing is applied.
    use super::SchedPolicy;
    use std::io;

    pub(super) fn set(_tid: i32, _policy: SchedPolicy) -> io::Result<()> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    pub(super) fn get(_tid: i32) -> io::Result<SchedPolicy> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    pub(super) fn priority_range(_kind: i32) -> (i32, i32) {
        (1, 99)
    }

    pub(super) fn rt_priority_limit() -> i64 {
        0
    }

    pub(super) fn nice_floor() -> i32 {
        20
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_mapping_follows_the_table() {
        assert_eq!(
            scheduling_for_class("Pro Audio", 0),
            SchedPolicy::Fifo { priority: 30 }
        );
        assert_eq!(
            scheduling_for_class("PRO AUDIO", -2),
            SchedPolicy::Fifo { priority: 20 }
        );
        assert_eq!(
            scheduling_for_class("Audio", -2),
            SchedPolicy::Fifo { priority: 10 }
        );
        assert_eq!(
            scheduling_for_class("Capture", 2),
            SchedPolicy::RoundRobin { priority: 25 }
        );
        assert_eq!(
            scheduling_for_class("Playback", -2),
            SchedPolicy::RoundRobin { priority: 1 }
        );
        assert_eq!(
            scheduling_for_class("Games", 0),
            SchedPolicy::Other { nice: -5 }
        );
        assert_eq!(
            scheduling_for_class("Games", 2),
            SchedPolicy::Other { nice: -9 }
        );
        assert_eq!(
            scheduling_for_class("Games", -2),
            SchedPolicy::Other { nice: -1 }
        );
        assert_eq!(class_level(&ClassName::from("Audio"), 1).fallback_nice, -17);
    }

    #[test]
    fn candidates_end_in_normal_and_repeat_nothing() {
        let fifo = Policy::new(
            QueueId::RT,
            class_level(&ClassName::from("Pro Audio"), 2),
            None,
        );
        let list = fifo.candidates();
        assert_eq!(list[0], SchedPolicy::Fifo { priority: 40 });
        assert_eq!(list.last(), Some(&SchedPolicy::Other { nice: 0 }));
        let deadline = Level {
            policy: SchedPolicy::Deadline {
                runtime_ns: 1,
                deadline_ns: 2,
                period_ns: 2,
            },
            fallback_nice: 0,
        };
        let list = Policy::new(
            QueueId::RT,
            deadline,
            Some(class_level(&ClassName::from("Games"), 0)),
        )
        .candidates();
        assert_eq!(list[0], deadline.policy);
        assert_eq!(list[1], SchedPolicy::Other { nice: -5 });
        for (i, a) in list.iter().enumerate() {
            assert!(!list[i + 1..].contains(a), "{list:?}");
        }
        assert_eq!(
            Policy::new(QueueId::RT, NORMAL, None).candidates(),
            [NORMAL.policy]
        );
    }

    #[test]
    fn utf16_copy() {
        let mut buffer = [0xFFFFu16; 4];
        assert_eq!(copy_class_utf16("", Some(&mut buffer)), Ok(1));
        assert_eq!(buffer[0], 0);
        assert_eq!(
            copy_class_utf16("abc", Some(&mut buffer[..3])),
            Err(Error::BufferTooSmall)
        );
        assert_eq!(copy_class_utf16("abc", Some(&mut buffer)), Ok(4));
        assert_eq!(buffer, [97, 98, 99, 0]);
        assert_eq!(class_utf16_len("é𝄞"), 4);
    }
}
