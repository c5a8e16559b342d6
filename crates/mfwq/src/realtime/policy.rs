//! Class-to-policy mapping: which Linux scheduling an MMCSS class and an
//! `AVRT_PRIORITY` ask for (docs/behaviour.md#d19), and the public types that
//! name a policy ([`SchedPolicy`]) and report what was applied
//! ([`AppliedScheduling`]).
//!
//! Pure data and arithmetic: nothing here touches a thread or the per-queue
//! state, so the mapping can be read, tested and changed on its own. Applying
//! a [`Level`] (with its fallbacks) is `apply.rs`.
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
//! low), a registration still succeeds and falls back, in this order: the same
//! policy at the `RLIMIT_RTPRIO` ceiling (if that is at least 1); `SCHED_OTHER`
//! at nice −15 − 2·p (−11 ..= −19), clamped to the lowest nice `RLIMIT_NICE`
//! allows; `SCHED_OTHER` nice 0 (the chain is built in `apply.rs`).

use std::fmt;

use super::os;
use crate::class_name::ClassName;

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

    /// Whether this is a real-time policy (`SCHED_FIFO`, `SCHED_RR` or
    /// `SCHED_DEADLINE`): what an audio queue needs to know after a
    /// registration that may have fallen back (a deadline that fell back to
    /// `SCHED_FIFO` is still real-time).
    ///
    /// ```
    /// use mfwq::SchedPolicy;
    /// assert!(SchedPolicy::Fifo { priority: 30 }.is_realtime());
    /// assert!(!SchedPolicy::Other { nice: -5 }.is_realtime());
    /// ```
    pub fn is_realtime(self) -> bool {
        !matches!(self, SchedPolicy::Other { .. })
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
/// answer of [`applied_scheduling`](crate::applied_scheduling).
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

impl AppliedScheduling {
    /// Whether the queue's threads run under a real-time policy now
    /// ([`SchedPolicy::is_realtime`] of what was applied).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let scheduling = mfwq::applied_scheduling(mfwq::QueueId::STANDARD)?;
    /// assert!(!scheduling.is_realtime()); // never registered
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn is_realtime(&self) -> bool {
        self.applied.is_some_and(SchedPolicy::is_realtime)
    }
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
pub(super) struct Level {
    pub(super) policy: SchedPolicy,
    pub(super) fallback_nice: i32,
}

/// `SCHED_OTHER` nice 0: what a queue with no registration and no deadline runs.
pub(super) const NORMAL: Level = Level {
    policy: SchedPolicy::Other { nice: 0 },
    fallback_nice: 0,
};

pub(super) fn class_level(class: &ClassName, priority: i32) -> Level {
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
/// the table is in the docs of `realtime/policy.rs`): what a registration asks
/// the kernel for.
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
}
