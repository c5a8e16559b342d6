//! The getters: what a queue was registered with (class, task id,
//! priority), what scheduling its threads asked for and got
//! ([`applied_scheduling`]), and its worker thread ids.
//!
//! Read-only views of the records in `state.rs` (and of the core's thread
//! list), kept apart from the code that changes them. The C ABI's
//! `MFGetWorkQueueMMCSSClass` buffer protocol (size query, short buffer) is
//! not here: it lives in `mfwq-ffi` (`mmcss.rs`) and is built on
//! [`work_queue_mmcss_class_name`] and `ClassName`'s UTF-16 accessors.

use super::policy::{AppliedScheduling, NORMAL};
use super::state::{resolve, with_record, STATE};
use crate::class_name::ClassName;
use crate::error::Result;
use crate::ids::QueueId;

/// The MMCSS class a queue is registered with; `""` if it is not
/// (`MFGetWorkQueueMMCSSClass` as a Rust string; see
/// [`work_queue_mmcss_class_name`] for the exact UTF-16, which the C ABI copies
/// into its buffer). Errors: [`Error::InvalidWorkQueue`](crate::Error::InvalidWorkQueue),
/// [`Error::Shutdown`](crate::Error::Shutdown).
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

/// What anticipation ([`set_realtime_anticipation`](crate::set_realtime_anticipation))
/// has done on a queue so far: how often its worker woke itself for an
/// expected item, and how many items it then caught awake. Zero for a queue
/// that is not real-time, that has no thread (serial) or that runs a pool.
/// For tuning and for benchmarks: a real-time queue fed at a steady period
/// should catch nearly every item once it has learned the period. Errors as
/// for [`work_queue_mmcss_class`].
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let anticipation = mfwq::work_queue_anticipation(mfwq::QueueId::STANDARD)?;
/// assert_eq!((anticipation.watches, anticipation.caught), (0, 0));
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn work_queue_anticipation(queue: QueueId) -> Result<Anticipation> {
    let resolved = resolve(queue)?;
    Ok(resolved
        .core
        .as_ref()
        .map_or_else(Anticipation::default, |core| Anticipation {
            watches: core.watches(),
            caught: core.anticipated_items(),
        }))
}

/// Counts of [`work_queue_anticipation`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Anticipation {
    /// Times the worker woke itself for an expected item.
    pub watches: u64,
    /// Items it found while awake for them (the rest of the watches ended
    /// without one: the item came late, and woke the worker as usual).
    pub caught: u64,
}

/// Tells the observers (`crate::observe`) what a registration asked for and
/// what its threads run under now.
pub(super) fn observe_policy(queue: QueueId, requested: impl FnOnce() -> String) {
    if !crate::observe::enabled() {
        return;
    }
    let applied = match applied_scheduling(queue) {
        Ok(AppliedScheduling {
            applied: Some(policy),
            fell_back,
            ..
        }) => format!(
            "{policy}{}",
            if fell_back {
                " (fell back: no right to raise priority)"
            } else {
                ""
            }
        ),
        Ok(scheduling) => format!("{} (no thread yet)", scheduling.requested),
        Err(error) => format!("unknown ({error})"),
    };
    crate::observe::realtime(queue, &requested(), &applied);
}
