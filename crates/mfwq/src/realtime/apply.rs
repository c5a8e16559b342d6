//! Applying a policy with fallback: [`Policy`] is one requested setting of a
//! queue's threads, the [`ThreadPolicy`] the scheduler applies to every worker
//! (`sched/README.md`, "Thread policy"). It tries the candidates best first
//! (the requested level, the `RLIMIT_RTPRIO` ceiling, the fallback nice, the
//! `RLIMIT_NICE` floor, nice 0), keeps what the kernel accepted, and logs a
//! fallback once.
//!
//! Separate from the mapping (`policy.rs`, what to ask for) and from the
//! per-queue state (`state.rs`, when to ask): this is the only part that
//! calls the kernel, through `os`, and it never takes the state lock. That is
//! what lets [`probe`] run with no lock of this module held.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::os;
use super::policy::{Level, SchedPolicy, NORMAL};
use crate::ids::QueueId;
use crate::sched::ThreadPolicy;

/// What one application of a [`Policy`] got.
#[derive(Clone, Debug)]
pub(super) struct Outcome {
    pub(super) applied: SchedPolicy,
    pub(super) fell_back: bool,
    /// The first refusal, if any.
    pub(super) error: Option<String>,
}

/// One requested setting of a queue's threads; the scheduler applies it to
/// every worker (`sched::ThreadPolicy`).
pub(super) struct Policy {
    queue: QueueId,
    pub(super) requested: Level,
    /// For a deadline: what to fall back to when the kernel refuses it.
    base: Option<Level>,
    outcome: Mutex<Option<Outcome>>,
    pending_report: AtomicBool,
    reported: AtomicBool,
}

impl Policy {
    pub(super) fn new(queue: QueueId, requested: Level, base: Option<Level>) -> Arc<Policy> {
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
    pub(super) fn candidates(&self) -> Vec<SchedPolicy> {
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

    pub(super) fn outcome(&self) -> Option<Outcome> {
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
    /// A deadline policy's workers never yield when idle (a yield ends
    /// their runtime for the period); see `sched::ThreadPolicy`.
    fn forbids_yield(&self) -> bool {
        matches!(self.requested.policy, SchedPolicy::Deadline { .. })
    }

    /// `SCHED_FIFO` and `SCHED_RR` workers anticipate periodic feeders
    /// (`sched/cadence.rs`); a deadline worker's poll would eat its runtime,
    /// and a worker that fell back to `SCHED_OTHER` has no real-time start to
    /// protect. What was applied decides, once a worker has applied it (the
    /// scheduler asks again after every `apply`); the request until then.
    fn anticipates(&self) -> bool {
        let policy = self
            .outcome()
            .map_or(self.requested.policy, |outcome| outcome.applied);
        matches!(
            policy,
            SchedPolicy::Fifo { .. } | SchedPolicy::RoundRobin { .. }
        )
    }

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
///
/// Call it with no lock held, in particular not the state lock
/// (`state::STATE`): it starts a thread and waits for it, which may take
/// milliseconds and, under memory pressure, much longer, and every
/// registration, deadline and getter of every queue would wait behind it. It
/// needs no lock: it writes only `policy`'s own outcome slot, which has its
/// own mutex, and a newer policy set meanwhile has a slot of its own, so a
/// late probe cannot overwrite what the newer one reports.
pub(super) fn probe(policy: &Arc<Policy>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class_name::ClassName;
    use crate::realtime::policy::class_level;

    /// A small `SCHED_DEADLINE` request.
    fn deadline_level() -> Level {
        Level {
            policy: SchedPolicy::Deadline {
                runtime_ns: 1,
                deadline_ns: 2,
                period_ns: 2,
            },
            fallback_nice: 0,
        }
    }

    // Anticipation (sched/cadence.rs) is for the classes that map to
    // SCHED_FIFO or SCHED_RR; a deadline worker's poll would eat its
    // runtime, and a normal worker has no real-time start to protect. (No
    // worker has applied these policies yet: the request decides.)
    #[test]
    fn only_fifo_and_round_robin_policies_anticipate() {
        use crate::sched::ThreadPolicy;
        let level = |class: &str| class_level(&ClassName::from(class), 0);
        for (class, anticipates) in [
            ("Pro Audio", true),
            ("Audio", true),
            ("Capture", true),
            ("Playback", true),
            ("Games", false),
        ] {
            let policy = Policy::new(QueueId::RT, level(class), None);
            assert_eq!(
                policy.anticipates(),
                anticipates,
                "{class}: {:?}",
                policy.requested.policy
            );
        }
        let deadline = deadline_level();
        assert!(!Policy::new(QueueId::RT, deadline, None).anticipates());
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
        let deadline = deadline_level();
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
}
