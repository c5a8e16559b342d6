//! Per-queue records and the global state: what each queue was registered
//! with, its deadlines, its long-running hint and the policy last set on its
//! threads, in one map under one lock ([`STATE`]).
//!
//! Separate because every other part reads or writes it: `mmcss.rs`,
//! `deadline.rs` and `hints.rs` change records, `query.rs` reads them,
//! `events.rs` drops them at the last shutdown. The rules that keep a record
//! honest live here once:
//!
//! - A record belongs to one queue of one epoch: it holds the epoch
//!   generation and a `Weak` to the queue's core, and a lookup whose queue
//!   resolves to another core or epoch (a private id reused, a platform queue
//!   after a restart) finds nothing; a change makes the record afresh.
//! - Platform ids are keyed by the platform queue they stand for (an id
//!   without private bits that names none means STANDARD).
//! - The lock is held for map work and `QueueCore::set_thread_policy` (system
//!   calls only; lock order: this lock, then the core's `threads` mutex). No
//!   user code, no `Drop` of a queue, no thread start or join runs under it:
//!   [`update_policy`] hands back a [`PolicyChange`] whose probe and report
//!   run after the lock is released ([`finish`]).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Weak};

use parking_lot::Mutex;

use super::apply::{probe, Policy};
use super::deadline::Deadline;
use super::policy::{class_level, Level, SchedPolicy, NORMAL};
use crate::class_name::ClassName;
use crate::error::Result;
use crate::ids::QueueId;
use crate::platform::PLATFORM;
use crate::sched::ThreadPolicy;
use crate::work::target::Target;
use crate::work::QueueCore;

/// A queue's MMCSS registration, as the getters return it.
#[derive(Clone, Debug)]
pub(super) struct Mmcss {
    pub(super) class: ClassName,
    pub(super) task_id: u32,
    pub(super) priority: i32,
}

pub(super) struct Record {
    /// The epoch generation the record belongs to.
    generation: u64,
    /// The machinery the record belongs to (`None`: a serial queue). Weak, so
    /// that a queue's last reference (and with it a window queue's user
    /// closure) is never dropped under this module's lock.
    core: Option<Weak<QueueCore>>,
    pub(super) mmcss: Option<Mmcss>,
    pub(super) long_running: bool,
    /// Active deadlines, oldest first; the newest one is applied.
    pub(super) deadlines: Vec<Deadline>,
    /// What was last set on the queue's threads.
    pub(super) policy: Option<Arc<Policy>>,
}

#[derive(Default)]
pub(super) struct RtState {
    records: HashMap<QueueId, Record>,
    /// Active deadline requests and the queue (record key) of each.
    pub(super) requests: HashMap<u64, QueueId>,
}

pub(super) static STATE: LazyLock<Mutex<RtState>> = LazyLock::new(|| {
    // The epoch's registrations, deadlines and hints end with it.
    crate::platform::events::on_shutdown_complete(prune_ended_epochs);
    Mutex::new(RtState::default())
});

/// A queue as this module sees it.
pub(super) struct Resolved {
    /// Platform ids are keyed by the platform queue they stand for.
    pub(super) key: QueueId,
    pub(super) core: Option<Arc<QueueCore>>,
    generation: u64,
}

/// The machinery behind a queue id: `Some(core)` for a thread-backed queue,
/// `None` for a serial queue (it has no threads of its own). A private id that
/// is not live is [`Error::InvalidWorkQueue`](crate::Error::InvalidWorkQueue);
/// with the platform not running, [`Error::Shutdown`](crate::Error::Shutdown).
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

/// Resolves a queue id (errors as [`queue_core`]); takes no lock of this module.
pub(super) fn resolve(queue: QueueId) -> Result<Resolved> {
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
    pub(super) fn record(&self, queue: &Resolved) -> Option<&Record> {
        self.records
            .get(&queue.key)
            .filter(|record| record.belongs_to(queue))
    }

    /// The queue's record, made afresh if it has none for this queue and epoch.
    pub(super) fn record_mut(&mut self, queue: &Resolved) -> &mut Record {
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

/// Drops what earlier epochs registered: at the last shutdown, the epoch's
/// registrations, deadlines and hints end with it.
fn prune_ended_epochs() {
    STATE.lock().prune(PLATFORM.epoch_generation());
    // The timekeeper's copy of the TIMER queue's policy ends too: the next
    // epoch's timekeeper starts normal.
    crate::timer::set_timekeeper_policy(None);
}

/// Runs `f` on the queue's record of this epoch (`None`: nothing recorded).
pub(super) fn with_record<R>(queue: QueueId, f: impl FnOnce(Option<&Record>) -> R) -> Result<R> {
    let resolved = resolve(queue)?;
    let state = STATE.lock();
    Ok(f(state.record(&resolved)))
}

/// A policy set under the state lock whose probe and report are still owed;
/// hand it to [`finish`] once the lock is released.
#[must_use]
pub(super) struct PolicyChange {
    policy: Arc<Policy>,
    /// The queue had no running worker to apply the policy to.
    probe: bool,
}

/// Sets what the record's registration and deadlines ask for on the queue's
/// threads (running workers at once, under the lock, so that policies reach
/// them in the order they were set); returns the change, whose probe and
/// report [`finish`] runs after the caller has released the state lock.
pub(super) fn update_policy(record: &mut Record, queue: &Resolved) -> Option<PolicyChange> {
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
    let mut needs_probe = false;
    if let Some(core) = &queue.core {
        let policy_for_core: Arc<dyn ThreadPolicy> = Arc::clone(&policy) as Arc<dyn ThreadPolicy>;
        needs_probe = core.set_thread_policy(Some(policy_for_core)) == 0;
    }
    // The timekeeper, which releases scheduled items, follows the TIMER
    // queue (`timer/keeper_policy.rs`).
    if queue.key == QueueId::TIMER {
        crate::timer::set_timekeeper_policy(Some(Arc::clone(&policy) as Arc<dyn ThreadPolicy>));
    }
    record.policy = Some(Arc::clone(&policy));
    Some(PolicyChange {
        policy,
        probe: needs_probe,
    })
}

/// The second half of [`update_policy`], with the state lock released: probes
/// a queue that has no worker yet (a thread start and join: see
/// [`probe`] for why not under the lock), then logs a fallback.
pub(super) fn finish(change: Option<PolicyChange>) {
    if let Some(change) = change {
        if change.probe {
            probe(&change.policy);
        }
        change.policy.report();
    }
}
