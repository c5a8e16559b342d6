//! The timekeeper thread's scheduling: it follows the TIMER queue's.
//!
//! Scheduled items, periodic callbacks and `sleep` futures are released by
//! the `mfwq-timekeeper` thread. Left at normal priority, it is the weak link
//! of a real-time queue fed by a timer: under load it wakes late, and so does
//! everything it releases. Windows registers the platform's own threads with
//! `RtwqRegisterPlatformWithMMCSS`; here the timekeeper takes whatever policy
//! the TIMER platform queue has (set by registering the platform, or the
//! TIMER queue itself, with an MMCSS class), and goes back to normal when that
//! registration goes. One timekeeper runs per platform epoch, so one slot per
//! process holds the policy and the running thread's id.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::sched::ThreadPolicy;

struct Keeper {
    policy: Option<Arc<dyn ThreadPolicy>>,
    /// The running timekeeper's Linux thread id (0 when none runs).
    tid: i32,
}

static KEEPER: Mutex<Keeper> = Mutex::new(Keeper {
    policy: None,
    tid: 0,
});

/// The TIMER queue's policy changed: the timekeeper follows, now if it runs,
/// else when it starts. `None` (the platform epoch ended, and its
/// registrations with it) leaves a running thread as it is and the next one
/// normal. Called with the
/// real-time state locked: it reports nothing (the caller reports the same
/// policy once the lock is released).
pub(crate) fn set_timekeeper_policy(policy: Option<Arc<dyn ThreadPolicy>>) {
    let mut keeper = KEEPER.lock();
    if let Some(policy) = &policy {
        if keeper.tid != 0 {
            policy.apply(keeper.tid);
        }
    }
    keeper.policy = policy;
}

/// Called by the timekeeper as it starts: records itself and takes the
/// policy set so far. (Not under loom: its threads have no Linux ids.)
#[cfg_attr(mfwq_loom, allow(dead_code))]
pub(super) fn timekeeper_started() {
    let policy = {
        let mut keeper = KEEPER.lock();
        keeper.tid = crate::sched::current_tid();
        if let Some(policy) = &keeper.policy {
            policy.apply(keeper.tid);
        }
        keeper.policy.clone()
    };
    if let Some(policy) = policy {
        policy.report();
    }
}

/// Called by the timekeeper as it exits.
#[cfg_attr(mfwq_loom, allow(dead_code))]
pub(super) fn timekeeper_stopped() {
    let mut keeper = KEEPER.lock();
    if keeper.tid == crate::sched::current_tid() {
        keeper.tid = 0;
    }
}
