//! A queue's real-time side: MMCSS registration, deadlines, the
//! long-running hint and what was applied (the methods of [`Queue`] that
//! reach `realtime/`), and the guards that undo a registration and a
//! deadline ([`RealtimeRegistration`], [`DeadlineGuard`]), each with the
//! same rules as the other guards (`guards.rs`).

use std::time::Duration;

use crate::api::guards::report_undo;
use crate::api::queue::Queue;
use crate::class_name::ClassName;
use crate::error::{Error, Result};
use crate::ids::QueueId;
use crate::realtime::{AppliedScheduling, Deadline, DeadlineRequest};

impl Queue {
    /// Registers this queue with an MMCSS class (`"Audio"`, `"Pro Audio"`,
    /// `"Playback"`, …) at normal AVRT priority with a new task id: its
    /// threads run under the class's Linux policy (SCHED_FIFO where allowed,
    /// else a fallback that [`applied_scheduling`](Queue::applied_scheduling)
    /// reports). The [`RealtimeRegistration`] unregisters it when dropped.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?;
    /// let registration = queue.register_realtime("Audio")?;
    /// assert_eq!(queue.realtime_class()?, "Audio");
    /// assert_ne!(registration.task_id(), 0);
    /// drop(registration);
    /// assert_eq!(queue.realtime_class()?, "");
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFRegisterWorkQueueWithMMCSS")]
    pub fn register_realtime(&self, class: impl Into<ClassName>) -> Result<RealtimeRegistration> {
        self.register_realtime_with(class, 0, 0)
    }

    /// [`register_realtime`](Queue::register_realtime) with a task id (0
    /// asks for a new one) and a base AVRT priority (-2..=2).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::OwnedQueue::new(mfwq::QueueType::Multithreaded)?;
    /// let registration = queue.register_realtime_with("Pro Audio", 77, 1)?;
    /// assert_eq!((registration.task_id(), queue.realtime_task_id()?, queue.realtime_priority()?), (77, 77, 1));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn register_realtime_with(
        &self,
        class: impl Into<ClassName>,
        task_id: u32,
        base_priority: i32,
    ) -> Result<RealtimeRegistration> {
        crate::realtime::register_work_queue_with_mmcss(self.id(), class, task_id, base_priority)
            .map(|task_id| RealtimeRegistration::new(self.id(), task_id))
    }

    /// Declares that this queue's work must be done within `deadline`
    /// ([`set_deadline`](crate::set_deadline): `SCHED_DEADLINE` where the
    /// kernel allows). The [`DeadlineGuard`] cancels it when dropped.
    /// Durations are rounded down to 100 ns; zero is [`Error::InvalidArg`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let _platform = mfwq::Platform::start()?;
    /// let guard = mfwq::Queue::RT.set_deadline(Duration::from_millis(10))?;
    /// assert_eq!(mfwq::Queue::RT.deadline()?.unwrap().deadline_hns, 100_000);
    /// drop(guard);
    /// assert_eq!(mfwq::Queue::RT.deadline()?, None);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "RtwqSetDeadline")]
    pub fn set_deadline(&self, deadline: Duration) -> Result<DeadlineGuard> {
        self.set_deadline_with_pre(deadline, Duration::ZERO)
    }

    /// [`set_deadline`](Queue::set_deadline) with a pre-deadline (recorded
    /// only: Linux has nothing it maps to).
    ///
    /// ```
    /// use std::time::Duration;
    /// let _platform = mfwq::Platform::start()?;
    /// let _guard = mfwq::Queue::RT.set_deadline_with_pre(Duration::from_millis(4), Duration::from_millis(1))?;
    /// assert_eq!(mfwq::Queue::RT.deadline()?.unwrap().pre_deadline_hns, 10_000);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "RtwqSetDeadline2")]
    pub fn set_deadline_with_pre(
        &self,
        deadline: Duration,
        pre_deadline: Duration,
    ) -> Result<DeadlineGuard> {
        crate::realtime::set_deadline2(self.id(), to_hns(deadline), to_hns(pre_deadline))
            .map(DeadlineGuard::new)
    }

    /// The newest active deadline of this queue, if any.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert_eq!(mfwq::Queue::IO.deadline()?, None);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn deadline(&self) -> Result<Option<Deadline>> {
        crate::realtime::work_queue_deadline(self.id())
    }

    /// The long-running hint ([`set_long_running`](crate::set_long_running)):
    /// a pool grows so that long items do not starve short ones.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let pool = mfwq::OwnedQueue::new(mfwq::QueueType::Multithreaded)?;
    /// pool.set_long_running(true)?;
    /// assert!(pool.is_long_running()?);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "RtwqSetLongRunning")]
    pub fn set_long_running(&self, enable: bool) -> Result<()> {
        crate::realtime::set_long_running(self.id(), enable)
    }

    /// Whether the long-running hint is on.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert!(!mfwq::Queue::IO.is_long_running()?);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn is_long_running(&self) -> Result<bool> {
        crate::realtime::is_long_running(self.id())
    }

    /// The MMCSS class this queue is registered with (`""` if none).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert_eq!(mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?.realtime_class()?, "");
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFGetWorkQueueMMCSSClass")]
    pub fn realtime_class(&self) -> Result<String> {
        crate::realtime::work_queue_mmcss_class(self.id())
    }

    /// The MMCSS task id (0 if not registered).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert_eq!(mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?.realtime_task_id()?, 0);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFGetWorkQueueMMCSSTaskId")]
    pub fn realtime_task_id(&self) -> Result<u32> {
        crate::realtime::work_queue_mmcss_task_id(self.id())
    }

    /// The base AVRT priority (0 if not registered).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert_eq!(mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?.realtime_priority()?, 0);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFGetWorkQueueMMCSSPriority")]
    pub fn realtime_priority(&self) -> Result<i32> {
        crate::realtime::work_queue_mmcss_priority(self.id())
    }

    /// The scheduling policy requested for and applied to this queue's threads.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert_eq!(mfwq::Queue::IO.applied_scheduling()?.requested, mfwq::SchedPolicy::Other { nice: 0 });
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn applied_scheduling(&self) -> Result<AppliedScheduling> {
        crate::realtime::applied_scheduling(self.id())
    }

    /// The Linux thread ids of this queue's running workers (none before
    /// its first item; a serial queue has none of its own).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?;
    /// queue.spawn(|| ())?.join().unwrap();
    /// assert_eq!(queue.thread_ids()?.len(), 1);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn thread_ids(&self) -> Result<Vec<i32>> {
        crate::realtime::work_queue_thread_ids(self.id())
    }

    /// What anticipation of a periodic feeder has done on this queue: see
    /// [`work_queue_anticipation`](crate::work_queue_anticipation).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert_eq!(mfwq::Queue::RT.anticipation()?.caught, 0);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn anticipation(&self) -> Result<crate::realtime::Anticipation> {
        crate::realtime::work_queue_anticipation(self.id())
    }
}

/// A duration in 100-ns units, saturating.
fn to_hns(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos() / 100).unwrap_or(i64::MAX)
}

/// A queue's MMCSS registration, from
/// [`Queue::register_realtime`](crate::Queue::register_realtime).
///
/// **Drop** unregisters the queue
/// ([`unregister_work_queue_from_mmcss`](crate::unregister_work_queue_from_mmcss)):
/// its threads go back to `SCHED_OTHER` (or to its active deadline). That
/// ends the queue's registration whoever made it: a queue has one. Use
/// [`forget`](RealtimeRegistration::forget) to keep it registered.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let queue = mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?;
/// let registration = queue.register_realtime("Playback")?;
/// assert_eq!(registration.queue(), *queue);
/// registration.unregister()?;
/// assert_eq!(queue.realtime_task_id()?, 0);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "dropping a RealtimeRegistration unregisters the queue"]
#[derive(Debug)]
pub struct RealtimeRegistration {
    queue: QueueId,
    task_id: u32,
}

impl RealtimeRegistration {
    pub(crate) fn new(queue: QueueId, task_id: u32) -> RealtimeRegistration {
        RealtimeRegistration { queue, task_id }
    }

    /// The MMCSS task id the queue was registered with.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?;
    /// assert_eq!(queue.register_realtime_with("Audio", 5, 0)?.task_id(), 5);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn task_id(&self) -> u32 {
        self.task_id
    }

    /// The registered queue.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?;
    /// assert_eq!(queue.register_realtime("Audio")?.queue(), queue.as_queue());
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn queue(&self) -> Queue {
        Queue::from_id(self.queue)
    }

    /// Unregisters now, with the error.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?;
    /// queue.register_realtime("Audio")?.unregister()?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn unregister(self) -> Result<()> {
        let queue = self.forget();
        crate::realtime::unregister_work_queue_from_mmcss(queue)
    }

    /// Keeps the queue registered; returns the queue's id.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?;
    /// queue.register_realtime("Audio")?.forget();
    /// assert_eq!(queue.realtime_class()?, "Audio");
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn forget(self) -> QueueId {
        let queue = self.queue;
        std::mem::forget(self);
        queue
    }
}

impl Drop for RealtimeRegistration {
    fn drop(&mut self) {
        match crate::realtime::unregister_work_queue_from_mmcss(self.queue) {
            // The queue went away first: so did its registration.
            Err(Error::InvalidWorkQueue) => {}
            outcome => report_undo("real-time registration", outcome),
        }
    }
}

/// A deadline on a queue, from [`Queue::set_deadline`](crate::Queue::set_deadline).
///
/// **Drop** cancels it ([`cancel_deadline`](crate::cancel_deadline)): the
/// queue's threads go back to the deadline before it, or to their MMCSS
/// policy. [`forget`](DeadlineGuard::forget) keeps it.
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let guard = mfwq::Queue::STANDARD.set_deadline(Duration::from_millis(5))?;
/// assert_eq!(mfwq::Queue::STANDARD.deadline()?.unwrap().request, guard.request());
/// guard.cancel()?;
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "dropping a DeadlineGuard cancels the deadline"]
#[derive(Debug)]
pub struct DeadlineGuard {
    request: DeadlineRequest,
}

impl DeadlineGuard {
    pub(crate) fn new(request: DeadlineRequest) -> DeadlineGuard {
        DeadlineGuard { request }
    }

    /// The request, for [`cancel_deadline`](crate::cancel_deadline).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let guard = mfwq::Queue::RT.set_deadline(std::time::Duration::from_millis(5))?;
    /// assert_ne!(guard.request().into_raw(), 0);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn request(&self) -> DeadlineRequest {
        self.request
    }

    /// Cancels it now, with the error.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// mfwq::Queue::RT.set_deadline(std::time::Duration::from_millis(5))?.cancel()?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn cancel(self) -> Result<()> {
        let request = self.forget();
        crate::realtime::cancel_deadline(request)
    }

    /// Keeps the deadline; returns its request.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let request = mfwq::Queue::RT.set_deadline(std::time::Duration::from_millis(5))?.forget();
    /// mfwq::cancel_deadline(request)?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn forget(self) -> DeadlineRequest {
        let request = self.request;
        std::mem::forget(self);
        request
    }
}

impl Drop for DeadlineGuard {
    fn drop(&mut self) {
        report_undo("deadline", crate::realtime::cancel_deadline(self.request));
    }
}
