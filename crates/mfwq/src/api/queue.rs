//! [`Queue`]: a `Copy` handle for everything that takes a queue;
//! [`OwnedQueue`]: a private queue kept alive by a lock that its drop gives
//! back; [`Priority`]: the three bands instead of an `i32`.

use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use crate::api::guards::{DeadlineGuard, EventWait, RealtimeRegistration, Scheduled};
use crate::api::join::{self, JoinHandle};
use crate::class_name::ClassName;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::ids::{QueueId, QueueType};
use crate::object::callback::Callback;
use crate::object::result::{AsyncResult, State};
use crate::platform::dispatch::{self, IntoAsyncResult};
use crate::realtime::{AppliedScheduling, Deadline};

/// The priority of an item on its queue: three bands, FIFO within each; a
/// worker always takes the highest non-empty band first.
///
/// The C API's `LONG priority` maps to the bands by its sign (`> 0` high,
/// `0` normal, `< 0` low): [`From<i32>`](#impl-From<i32>-for-Priority) reads it,
/// [`Priority::to_raw`] gives the value the C layer passes.
///
/// ```
/// use mfwq::Priority;
/// assert_eq!(Priority::from(7), Priority::High);
/// assert_eq!(Priority::from(0), Priority::Normal);
/// assert_eq!(Priority::from(-3), Priority::Low);
/// assert_eq!(Priority::Low.to_raw(), -1);
/// assert_eq!(Priority::default(), Priority::Normal);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Runs after every normal and high item queued before it starts.
    Low,
    /// The default band.
    #[default]
    Normal,
    /// Runs before normal and low items.
    High,
}

impl Priority {
    /// The C API's value for this band: `1`, `0` or `-1`.
    ///
    /// ```
    /// assert_eq!(mfwq::Priority::High.to_raw(), 1);
    /// ```
    pub const fn to_raw(self) -> i32 {
        match self {
            Priority::High => 1,
            Priority::Normal => 0,
            Priority::Low => -1,
        }
    }
}

impl From<i32> for Priority {
    fn from(raw: i32) -> Priority {
        match raw {
            1.. => Priority::High,
            0 => Priority::Normal,
            _ => Priority::Low,
        }
    }
}

/// A work queue: a platform queue, a private queue or a serial queue, named
/// by its id. `Copy`, and borrows no lock: a handle to a private queue that
/// has been unlocked makes calls fail with [`Error::InvalidWorkQueue`]; hold
/// an [`OwnedQueue`] to keep one alive.
///
/// The platform queues are associated constants ([`Queue::STANDARD`],
/// [`Queue::MULTITHREADED`], …). Every call needs a started platform
/// ([`Platform::start`](crate::Platform::start)), else [`Error::Shutdown`].
///
/// ```
/// use mfwq::{Priority, Queue};
/// let _platform = mfwq::Platform::start()?;
/// let answer = Queue::MULTITHREADED.spawn(|| 6 * 7)?;
/// assert_eq!(answer.join(), Ok(42));
/// let urgent = Queue::STANDARD.spawn_with_priority(Priority::High, || "first")?;
/// assert_eq!(urgent.join(), Ok("first"));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Queue {
    id: QueueId,
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Queue({:?})", self.id)
    }
}

impl fmt::Display for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.id, f)
    }
}

impl From<QueueId> for Queue {
    fn from(id: QueueId) -> Queue {
        Queue { id }
    }
}

impl From<Queue> for QueueId {
    fn from(queue: Queue) -> QueueId {
        queue.id
    }
}

impl Queue {
    /// `MFASYNC_CALLBACK_QUEUE_STANDARD`: one thread, FIFO.
    pub const STANDARD: Queue = Queue::from_id(QueueId::STANDARD);
    /// `MFASYNC_CALLBACK_QUEUE_RT`: one thread, for real-time work.
    pub const RT: Queue = Queue::from_id(QueueId::RT);
    /// `MFASYNC_CALLBACK_QUEUE_IO`: a pool, for I/O completions.
    pub const IO: Queue = Queue::from_id(QueueId::IO);
    /// `MFASYNC_CALLBACK_QUEUE_TIMER`: one thread, for timer callbacks.
    pub const TIMER: Queue = Queue::from_id(QueueId::TIMER);
    /// `MFASYNC_CALLBACK_QUEUE_MULTITHREADED`: a pool of `max(2, cores)` threads.
    pub const MULTITHREADED: Queue = Queue::from_id(QueueId::MULTITHREADED);
    /// `MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION`: a pool, for long-running items.
    pub const LONG_FUNCTION: Queue = Queue::from_id(QueueId::LONG_FUNCTION);

    /// The handle of a queue id (any id: calls on an id that names no live
    /// queue fail as the free functions do).
    ///
    /// ```
    /// assert_eq!(mfwq::Queue::from_id(mfwq::QueueId::RT), mfwq::Queue::RT);
    /// ```
    pub const fn from_id(id: QueueId) -> Queue {
        Queue { id }
    }

    /// The queue's id, for the C-shaped free functions.
    ///
    /// ```
    /// assert_eq!(mfwq::Queue::STANDARD.id(), mfwq::QueueId::STANDARD);
    /// ```
    pub const fn id(&self) -> QueueId {
        self.id
    }

    /// The queue whose worker the calling thread is (`None` on other
    /// threads); for an item of a serial queue, the queue whose thread runs it.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert_eq!(mfwq::Queue::current(), None);
    /// let inside = mfwq::Queue::IO.spawn(mfwq::Queue::current)?;
    /// assert_eq!(inside.join(), Ok(Some(mfwq::Queue::IO)));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn current() -> Option<Queue> {
        crate::sched::current_queue().map(Queue::from_id)
    }

    /// Whether this is a private queue (allocated, serial or shared) rather
    /// than a platform queue.
    ///
    /// ```
    /// assert!(!mfwq::Queue::STANDARD.is_private());
    /// ```
    pub const fn is_private(&self) -> bool {
        self.id.is_private()
    }

    /// [`put_work_item`](crate::put_work_item): queues `callback`, invoked
    /// with a new result that carries `state`.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let _platform = mfwq::Platform::start()?;
    /// let (sender, receiver) = mpsc::sync_channel(1);
    /// let callback = mfwq::callback(move |result| sender.send(*result.state_as::<u8>().unwrap()).unwrap());
    /// mfwq::Queue::STANDARD.put(callback, Some(std::sync::Arc::new(9u8)))?;
    /// assert_eq!(receiver.recv().unwrap(), 9);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFPutWorkItem")]
    pub fn put(&self, callback: Callback, state: Option<State>) -> Result<()> {
        dispatch::put_work_item(self.id, callback, state)
    }

    /// [`put_work_item_with_priority`](crate::put_work_item_with_priority):
    /// [`put`](Queue::put) in a priority band.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// mfwq::Queue::STANDARD.put_with_priority(mfwq::Priority::Low, mfwq::callback(|_| {}), None)?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFPutWorkItem2")]
    pub fn put_with_priority(
        &self,
        priority: Priority,
        callback: Callback,
        state: Option<State>,
    ) -> Result<()> {
        dispatch::put_work_item_with_priority(self.id, priority.to_raw(), callback, state)
    }

    /// [`put_result`](crate::put_result): queues an existing result, whose
    /// callback is invoked with it on this queue.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let done = mfwq::Event::manual_reset(false);
    /// let result = mfwq::AsyncResult::new(None, None, None);
    /// result.set_event(Some(done.clone()));
    /// mfwq::Queue::IO.put_result(&result)?;
    /// assert!(done.wait(Some(std::time::Duration::from_secs(5))));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFPutWorkItemEx")]
    pub fn put_result(&self, result: impl IntoAsyncResult) -> Result<()> {
        dispatch::put_result(self.id, result)
    }

    /// [`put_result`](Queue::put_result) in a priority band.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let result = mfwq::AsyncResult::with_callback(mfwq::callback(|_| {}), None);
    /// mfwq::Queue::STANDARD.put_result_with_priority(mfwq::Priority::High, result)?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFPutWorkItemEx2")]
    pub fn put_result_with_priority(
        &self,
        priority: Priority,
        result: impl IntoAsyncResult,
    ) -> Result<()> {
        dispatch::put_result_with_priority(self.id, priority.to_raw(), result)
    }

    /// Runs `task` on this queue and returns a [`JoinHandle`] for its value
    /// (blocking [`join`](JoinHandle::join), or `.await`). Dropping the
    /// handle detaches the task; it still runs. A panic in `task` comes back
    /// as [`JoinError::Panicked`](crate::JoinError::Panicked) from the join;
    /// see [`JoinHandle`] for when it also reaches the panic hook.
    ///
    /// Errors (the task is then dropped, never run): [`Error::Shutdown`],
    /// [`Error::InvalidWorkQueue`] for a private queue that is not live.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let handles: Vec<_> = (0..4u64)
    ///     .map(|i| mfwq::Queue::MULTITHREADED.spawn(move || i * i))
    ///     .collect::<Result<_, _>>()?;
    /// let squares: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    /// assert_eq!(squares, [0, 1, 4, 9]);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn spawn<F, T>(&self, task: F) -> Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        join::spawn(self.id, Priority::Normal, task)
    }

    /// [`spawn`](Queue::spawn) in a priority band.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let low = mfwq::Queue::STANDARD.spawn_with_priority(mfwq::Priority::Low, || 1)?;
    /// assert_eq!(low.join(), Ok(1));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn spawn_with_priority<F, T>(&self, priority: Priority, task: F) -> Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        join::spawn(self.id, priority, task)
    }

    /// Runs `task` on this queue with no handle: the cheapest form of work,
    /// [`mfwq::spawn`](crate::spawn). A panic goes to the panic hook.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// mfwq::Queue::IO.execute(move || sender.send(1).unwrap())?;
    /// assert_eq!(receiver.recv().unwrap(), 1);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn execute<F>(&self, task: F) -> Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        dispatch::spawn(self.id, task)
    }

    /// [`execute`](Queue::execute) in a priority band.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// mfwq::Queue::IO.execute_with_priority(mfwq::Priority::High, || {})?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn execute_with_priority<F>(&self, priority: Priority, task: F) -> Result<()>
    where
        F: FnOnce() + Send + 'static,
    {
        dispatch::spawn_with_priority(self.id, priority.to_raw(), task)
    }

    /// Runs `task` on this queue once `delay` has passed
    /// ([`schedule_work_item`](crate::schedule_work_item)); the returned
    /// [`Scheduled`] cancels it when dropped, unless
    /// [`detach`](Scheduled::detach)ed. If this private queue is gone at
    /// expiry, `task` runs on STANDARD (the schedule promised one run).
    ///
    /// ```
    /// use std::time::Duration;
    /// let _platform = mfwq::Platform::start()?;
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// mfwq::Queue::MULTITHREADED
    ///     .schedule(Duration::from_millis(1), move || sender.send("fired").unwrap())?
    ///     .detach();
    /// assert_eq!(receiver.recv().unwrap(), "fired");
    /// let never = mfwq::Queue::STANDARD.schedule(Duration::from_secs(60), || unreachable!())?;
    /// drop(never); // cancelled: the closure is dropped, never run
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFScheduleWorkItem")]
    pub fn schedule<F>(&self, delay: Duration, task: F) -> Result<Scheduled>
    where
        F: FnOnce() + Send + 'static,
    {
        let callback = once_callback(self.id, move |_| task());
        crate::timer::schedule_work_item(callback, None, delay).map(Scheduled::new)
    }

    /// Runs `task` on this queue every `period`, the first time one period
    /// from now, until the returned [`Repeating`](crate::Repeating) is dropped or stopped.
    /// The cadence follows the clock, not the runs (a slow run does not push
    /// the next one back; runs a stall missed are skipped, not bunched),
    /// and a run never overlaps the previous one. Where
    /// [`add_periodic_callback`](crate::add_periodic_callback) ticks every
    /// 10 ms on TIMER, this takes any period, on any queue: a frame clock at
    /// 60 fps, an audio clock at 2.667 ms. Each run schedules the next one
    /// (one scheduled item each). A zero period is [`Error::InvalidArg`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let _platform = mfwq::Platform::start()?;
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// let mut frame = 0;
    /// let clock = mfwq::Queue::STANDARD.every(Duration::from_micros(16_667), move || {
    ///     frame += 1;
    ///     let _ = sender.send(frame);
    /// })?;
    /// assert_eq!(receiver.iter().take(3).collect::<Vec<_>>(), [1, 2, 3]);
    /// drop(clock);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn every<F>(&self, period: Duration, task: F) -> Result<crate::Repeating>
    where
        F: FnMut() + Send + 'static,
    {
        crate::api::repeat::start(self.id, period, Box::new(task))
    }

    /// Runs `task` on this queue once `event` is set
    /// ([`put_waiting_work_item`](crate::put_waiting_work_item)); the
    /// returned [`EventWait`] stops waiting when dropped (the task is then
    /// dropped, never run) unless [`detach`](EventWait::detach)ed.
    ///
    /// The RT, IO, TIMER and LONG_FUNCTION queues refuse waits
    /// ([`Error::InvalidWorkQueue`]), as on Windows.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let ready = mfwq::Event::manual_reset(false);
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// let wait = mfwq::Queue::STANDARD.on_event(&ready, move || sender.send("set").unwrap())?;
    /// ready.set();
    /// assert_eq!(receiver.recv().unwrap(), "set");
    /// drop(wait); // already fired: nothing to undo
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFPutWaitingWorkItem")]
    pub fn on_event<F>(&self, event: &Event, task: F) -> Result<EventWait>
    where
        F: FnOnce() + Send + 'static,
    {
        let callback = once_callback(self.id, move |result: &AsyncResult| {
            // A cancelled wait is invoked with MF_E_OPERATION_CANCELLED: the
            // task is then dropped, not run.
            if result.status().is_ok() {
                task();
            }
        });
        let result = AsyncResult::with_callback(callback, None);
        crate::timer::wait::put_waiting_work_item(Some(event), 0, result).map(EventWait::new)
    }

    /// A new serial queue over this one
    /// ([`allocate_serial_work_queue`](crate::allocate_serial_work_queue)):
    /// its items run one at a time, in FIFO order, on this queue's threads.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let serial = mfwq::Queue::MULTITHREADED.serial()?;
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// for i in 0..10 {
    ///     let sender = sender.clone();
    ///     serial.execute(move || sender.send(i).unwrap())?;
    /// }
    /// assert_eq!(receiver.iter().take(10).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFAllocateSerialWorkQueue")]
    pub fn serial(&self) -> Result<OwnedQueue> {
        crate::queue::allocate_serial_work_queue(self.id).map(OwnedQueue::adopt)
    }

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
        crate::realtime::register_work_queue_with_mmcss(self.id, class, task_id, base_priority)
            .map(|task_id| RealtimeRegistration::new(self.id, task_id))
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
        crate::realtime::set_deadline2(self.id, to_hns(deadline), to_hns(pre_deadline))
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
        crate::realtime::work_queue_deadline(self.id)
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
        crate::realtime::set_long_running(self.id, enable)
    }

    /// Whether the long-running hint is on.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert!(!mfwq::Queue::IO.is_long_running()?);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn is_long_running(&self) -> Result<bool> {
        crate::realtime::is_long_running(self.id)
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
        crate::realtime::work_queue_mmcss_class(self.id)
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
        crate::realtime::work_queue_mmcss_task_id(self.id)
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
        crate::realtime::work_queue_mmcss_priority(self.id)
    }

    /// The scheduling policy requested for and applied to this queue's threads.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert_eq!(mfwq::Queue::IO.applied_scheduling()?.requested, mfwq::SchedPolicy::Other { nice: 0 });
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn applied_scheduling(&self) -> Result<AppliedScheduling> {
        crate::realtime::applied_scheduling(self.id)
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
        crate::realtime::work_queue_thread_ids(self.id)
    }

    /// What anticipation of a periodic feeder has done on this queue: see
    /// [`work_queue_anticipation`](crate::work_queue_anticipation).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// assert_eq!(mfwq::Queue::RT.anticipation()?.caught, 0);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn anticipation(&self) -> Result<crate::Anticipation> {
        crate::realtime::work_queue_anticipation(self.id)
    }

    /// The type a private queue was allocated with (a serial queue reports
    /// [`QueueType::Standard`]); platform queues are [`Error::InvalidWorkQueue`].
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let pool = mfwq::OwnedQueue::new(mfwq::QueueType::Multithreaded)?;
    /// assert_eq!(pool.kind()?, mfwq::QueueType::Multithreaded);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn kind(&self) -> Result<QueueType> {
        crate::queue::work_queue_type(self.id)
    }
}

/// A duration in 100-ns units, saturating.
fn to_hns(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos() / 100).unwrap_or(i64::MAX)
}

/// A callback on `queue` that runs `invoke` at most once (the timer and wait
/// paths take an `Fn` callback; ours is `FnOnce`).
fn once_callback<F>(queue: QueueId, invoke: F) -> Callback
where
    F: FnOnce(&AsyncResult) + Send + 'static,
{
    let slot = parking_lot::Mutex::new(Some(invoke));
    crate::object::callback::callback_on(queue, move |result| {
        let taken = slot.lock().take();
        if let Some(invoke) = taken {
            invoke(result);
        }
    })
}

/// A private queue kept alive by one lock, given back when dropped
/// ([`unlock_work_queue`](crate::unlock_work_queue)); derefs to its
/// [`Queue`] handle for every method. `Clone` takes one more lock
/// ([`lock_work_queue`](crate::lock_work_queue)), so clones share the queue:
/// it goes away when the last one is dropped (items already queued still run).
///
/// Make one with [`OwnedQueue::new`], [`Queue::serial`],
/// [`OwnedQueue::shared`] or a [`QueueBuilder`](crate::QueueBuilder).
/// ([`WorkQueue`](crate::WorkQueue) is the older guard with the C API's
/// shapes; `OwnedQueue::from(work_queue)` converts.)
///
/// ```
/// use mfwq::{OwnedQueue, QueueType};
/// let _platform = mfwq::Platform::start()?;
/// let queue = OwnedQueue::new(QueueType::Standard)?;
/// let shared = queue.clone();
/// drop(queue);
/// assert_eq!(shared.spawn(|| 1)?.join(), Ok(1)); // still alive
/// let id = shared.id();
/// drop(shared);
/// assert_eq!(mfwq::Queue::from_id(id).execute(|| {}), Err(mfwq::Error::InvalidWorkQueue));
/// # Ok::<(), mfwq::Error>(())
/// ```
pub struct OwnedQueue {
    queue: Queue,
    /// Whether this value holds a lock to give back (a clone made after the
    /// platform went down holds none).
    locked: bool,
}

impl OwnedQueue {
    /// Allocates a private queue of `kind`
    /// ([`allocate_work_queue`](crate::allocate_work_queue)).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::OwnedQueue::new(mfwq::QueueType::Multithreaded)?;
    /// assert!(queue.is_private());
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFAllocateWorkQueueEx")]
    pub fn new(kind: QueueType) -> Result<OwnedQueue> {
        crate::queue::allocate_work_queue(kind).map(OwnedQueue::adopt)
    }

    /// The process-wide shared queue of an MMCSS class
    /// ([`lock_shared_work_queue`](crate::lock_shared_work_queue) with a new
    /// task id; `""` is the regular-priority shared queue).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let a = mfwq::OwnedQueue::shared("Capture")?;
    /// let b = mfwq::OwnedQueue::shared("Capture")?;
    /// assert_eq!(a.id(), b.id());
    /// assert_eq!(a.realtime_class()?, "Capture");
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFLockSharedWorkQueue")]
    pub fn shared(class: &str) -> Result<OwnedQueue> {
        let mut task_id = 0;
        let task_id = (!class.is_empty()).then_some(&mut task_id);
        crate::queue::lock_shared_work_queue(Some(class), 0, task_id).map(OwnedQueue::adopt)
    }

    /// Takes one more lock on `queue` ([`lock_work_queue`](crate::lock_work_queue));
    /// a platform queue needs none and is accepted as is.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let standard = mfwq::OwnedQueue::lock(mfwq::Queue::STANDARD)?;
    /// assert_eq!(*standard, mfwq::Queue::STANDARD);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFLockWorkQueue")]
    pub fn lock(queue: Queue) -> Result<OwnedQueue> {
        crate::queue::lock_work_queue(queue.id)?;
        Ok(OwnedQueue::adopt(queue.id))
    }

    /// Takes over a lock the caller already holds on `id` (from the C-shaped
    /// functions, e.g. [`allocate_work_queue`](crate::allocate_work_queue)):
    /// the drop gives it back.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let id = mfwq::allocate_work_queue(mfwq::QueueType::Standard)?;
    /// let owned = mfwq::OwnedQueue::from_locked_id(id);
    /// drop(owned);
    /// assert_eq!(mfwq::unlock_work_queue(id), Err(mfwq::Error::InvalidWorkQueue));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn from_locked_id(id: QueueId) -> OwnedQueue {
        OwnedQueue::adopt(id)
    }

    pub(crate) fn adopt(id: QueueId) -> OwnedQueue {
        OwnedQueue {
            queue: Queue::from_id(id),
            locked: true,
        }
    }

    /// The handle (also reachable through `Deref`).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let owned = mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?;
    /// let handle: mfwq::Queue = owned.as_queue();
    /// assert_eq!(handle.id(), owned.id());
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn as_queue(&self) -> Queue {
        self.queue
    }

    /// Gives up ownership without unlocking; returns the id, whose lock the
    /// caller now holds (for [`unlock_work_queue`](crate::unlock_work_queue)).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let id = mfwq::OwnedQueue::new(mfwq::QueueType::Standard)?.into_id();
    /// mfwq::unlock_work_queue(id)?;
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn into_id(self) -> QueueId {
        let id = self.queue.id;
        std::mem::forget(self);
        id
    }
}

impl Deref for OwnedQueue {
    type Target = Queue;
    fn deref(&self) -> &Queue {
        &self.queue
    }
}

impl AsRef<Queue> for OwnedQueue {
    fn as_ref(&self) -> &Queue {
        &self.queue
    }
}

impl fmt::Debug for OwnedQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnedQueue({:?})", self.queue.id)
    }
}

impl Clone for OwnedQueue {
    /// One more lock on the same queue. If the lock is refused (the platform
    /// was shut down meanwhile) the clone holds none, and its calls fail as
    /// the original's do; [`OwnedQueue::lock`] returns the error instead.
    fn clone(&self) -> OwnedQueue {
        OwnedQueue {
            queue: self.queue,
            locked: self.locked && crate::queue::lock_work_queue(self.queue.id).is_ok(),
        }
    }
}

impl From<crate::queue::WorkQueue> for OwnedQueue {
    fn from(queue: crate::queue::WorkQueue) -> OwnedQueue {
        OwnedQueue::adopt(queue.into_id())
    }
}

impl Drop for OwnedQueue {
    fn drop(&mut self) {
        if !self.locked {
            return;
        }
        match crate::queue::unlock_work_queue(self.queue.id) {
            Ok(()) | Err(Error::Shutdown) => {}
            Err(error) => {
                tracing::warn!(queue = %self.queue.id, %error, "unlocking an OwnedQueue failed");
            }
        }
    }
}
