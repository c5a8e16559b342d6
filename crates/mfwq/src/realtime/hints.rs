//! Hints about the work a queue will get: the long-running hint
//! (`RtwqSetLongRunning`, docs/behaviour.md#d24), which lets a pool grow, and
//! join/unjoin (`RtwqJoinWorkQueue`, `RtwqUnjoinWorkQueue`,
//! docs/behaviour.md#d23), which Linux has nothing to map to; and
//! anticipation, whether real-time queues wake themselves for a periodic
//! feeder's next item (docs/realtime.md, "Anticipating a periodic feeder").
//!
//! Separate from the scheduling parts: the hint changes how many threads a
//! pool may run (`QueueCore::set_long_running`, `sched/README.md`, "Pool
//! growth"), not how they are scheduled; it is recorded with the queue's
//! registration so that it ends with the epoch like the rest.

use super::state::{resolve, with_record, STATE};
use crate::error::{Error, Result};
use crate::ids::QueueId;

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
/// [`register_work_queue_with_mmcss`](crate::register_work_queue_with_mmcss).
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

/// Turns anticipation on or off for every real-time queue (on by default
/// where there is more than one CPU; the environment variable
/// `MFWQ_RT_ANTICIPATE=0` or `1` decides at the first use otherwise).
///
/// The one worker of a queue running under a real-time policy (registered
/// with an MMCSS class that maps to `SCHED_FIFO` or `SCHED_RR`) keeps the
/// rhythm at which its items arrive. Once a feeder has put items at a steady
/// period (between 0.5 and 100 ms, four intervals in a row within 6% or
/// 50 µs), the worker wakes itself 150 µs before the next item is due and
/// polls for it until 250 µs after, so that the item starts without a futex
/// wake-up of the worker: as soon as the feeder has put it. The poll costs at
/// most 400 µs of CPU per period (about 170 µs when the feeder is on time);
/// three periods in a row whose item does not come on time end it until the
/// rhythm is steady again. Items that come off the rhythm wake the worker as
/// they always do. Off, a real-time worker parks between items like any
/// other.
///
/// ```
/// mfwq::set_realtime_anticipation(false);
/// assert!(!mfwq::realtime_anticipation());
/// mfwq::set_realtime_anticipation(true);
/// assert!(mfwq::realtime_anticipation());
/// ```
pub fn set_realtime_anticipation(enable: bool) {
    crate::sched::cadence::set_enabled(enable);
}

/// Whether real-time queues anticipate their feeders
/// ([`set_realtime_anticipation`]).
///
/// ```
/// let _on_or_off: bool = mfwq::realtime_anticipation();
/// ```
pub fn realtime_anticipation() -> bool {
    crate::sched::cadence::enabled()
}

/// Whether the long-running hint is on for a queue ([`set_long_running`]).
/// Errors as for [`work_queue_mmcss_class`](crate::work_queue_mmcss_class).
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
