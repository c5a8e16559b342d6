//! Hints about the work a queue will get: the long-running hint
//! (`RtwqSetLongRunning`, docs/behaviour.md#d24), which lets a pool grow, and
//! join/unjoin (`RtwqJoinWorkQueue`, `RtwqUnjoinWorkQueue`,
//! docs/behaviour.md#d23), which Linux has nothing to map to.
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
