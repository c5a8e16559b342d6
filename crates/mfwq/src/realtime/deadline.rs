//! Deadlines (`RtwqSetDeadline`, `RtwqSetDeadline2`, `RtwqCancelDeadline`;
//! docs/behaviour.md#d22): the [`Deadline`] and [`DeadlineRequest`] types, the
//! calls that set and cancel one, and [`work_queue_deadline`].
//!
//! A queue keeps its active deadlines in its record (`state.rs`), oldest
//! first; the newest is applied as `SCHED_DEADLINE` over the MMCSS policy
//! (`state::update_policy`), which is what it falls back to when the kernel
//! refuses. Separate from MMCSS registration because a deadline is a second,
//! stackable request on the same threads, with handles of its own
//! (`requests`: request number to queue) that outlive a lookup by queue.

use std::sync::atomic::{AtomicU64, Ordering};

use super::state::{finish, resolve, update_policy, with_record, STATE};
use crate::error::{Error, Result};
use crate::ids::QueueId;

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

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
/// 0, so that the C ABI can pass it as a `HANDLE` and back. Only the platform
/// makes them: a request cannot be forged from a number in Rust (the C
/// layer, which receives numbers, goes through [`from_raw`](Self::from_raw)).
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let request = mfwq::set_deadline(mfwq::QueueId::STANDARD, 20_000)?;
/// assert_ne!(request.into_raw(), 0);
/// mfwq::cancel_deadline(request)?;
/// # Ok::<(), mfwq::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeadlineRequest(pub(crate) u64);

impl DeadlineRequest {
    /// The number behind the handle (what the C ABI's `HANDLE` carries).
    pub fn into_raw(self) -> u64 {
        self.0
    }

    /// The request a number from the C ABI names (0 for a NULL handle); a
    /// number that names no live request is refused by the calls that take
    /// it ([`Error::NotFound`], or [`Error::InvalidArg`] for 0).
    #[doc(hidden)]
    pub fn from_raw(raw: u64) -> DeadlineRequest {
        DeadlineRequest(raw)
    }
}

/// `RtwqSetDeadline(queue, deadline, &request)`: [`set_deadline2`] with no
/// pre-deadline.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let request = mfwq::set_deadline(mfwq::QueueId::STANDARD, 100_000)?; // 10 ms
/// assert_ne!(request.into_raw(), 0);
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
/// [`applied_scheduling`](crate::applied_scheduling) (`fell_back`) say so. Setting a new deadline while
/// one is active applies the new one ("to change a deadline, set a new one and
/// release the old"); cancelling the newest goes back to the one before, and
/// cancelling the last restores the MMCSS policy or `SCHED_OTHER`. The
/// pre-deadline is recorded only: Linux has nothing it maps to. A
/// `SCHED_DEADLINE` thread that yields gives up the rest of its period, so an
/// idle worker takes a few periods longer to park.
///
/// Errors: `deadline_hns <= 0`, `pre_deadline_hns < 0` or greater than the
/// deadline: [`Error::InvalidArg`]; queue errors as for
/// [`register_work_queue_with_mmcss`](crate::register_work_queue_with_mmcss). On a serial queue the deadline is
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
    crate::platform::ensure_started()?;
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
    finish(changed);
    super::query::observe_policy(queue, || {
        format!(
            "deadline {} µs (pre-deadline {} µs)",
            deadline_hns / 10,
            pre_deadline_hns / 10
        )
    });
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
/// assert_eq!(mfwq::cancel_deadline(mfwq::DeadlineRequest::from_raw(0)), Err(mfwq::Error::InvalidArg));
/// assert_eq!(mfwq::cancel_deadline(mfwq::DeadlineRequest::from_raw(u64::MAX)), Err(mfwq::Error::NotFound));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "RtwqCancelDeadline")]
pub fn cancel_deadline(request: DeadlineRequest) -> Result<()> {
    // Not running is reported first, as for every call (docs/behaviour.md#d34).
    crate::platform::ensure_started()?;
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
    finish(changed);
    Ok(())
}

/// The deadline in force on a queue: the newest active one, or `None`. Errors
/// as for [`work_queue_mmcss_class`](crate::work_queue_mmcss_class).
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
