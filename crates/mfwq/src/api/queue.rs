//! [`Queue`]: a `Copy` handle for everything that takes a queue: put,
//! spawn, execute, schedule, repeat, wait on an event. Its real-time side
//! (MMCSS, deadlines, hints) is in `realtime.rs`, the private queues it
//! makes and owns in `owned.rs`, its bands in `priority.rs`.

use std::fmt;
use std::time::Duration;

use crate::api::guards::{EventWait, Scheduled};
use crate::api::join::{self, JoinHandle};
use crate::api::priority::Priority;
use crate::error::Result;
use crate::event::Event;
use crate::ids::{QueueId, QueueType};
use crate::object::callback::Callback;
use crate::object::result::{AsyncResult, State};
use crate::platform::dispatch::{self, IntoAsyncResult};

/// A work queue: a platform queue, a private queue or a serial queue, named
/// by its id. `Copy`, and borrows no lock: a handle to a private queue that
/// has been unlocked makes calls fail with [`Error::InvalidWorkQueue`](crate::error::Error::InvalidWorkQueue); hold
/// an [`OwnedQueue`](crate::api::owned::OwnedQueue) to keep one alive.
///
/// The platform queues are associated constants ([`Queue::STANDARD`],
/// [`Queue::MULTITHREADED`], …). Every call needs a started platform
/// ([`Platform::start`](crate::Platform::start)), else [`Error::Shutdown`](crate::error::Error::Shutdown).
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
    /// Errors (the task is then dropped, never run): [`Error::Shutdown`](crate::error::Error::Shutdown),
    /// [`Error::InvalidWorkQueue`](crate::error::Error::InvalidWorkQueue) for a private queue that is not live.
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
    /// (one scheduled item each). A zero period is [`Error::InvalidArg`](crate::error::Error::InvalidArg).
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
    pub fn every<F>(&self, period: Duration, task: F) -> Result<crate::api::repeat::Repeating>
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
    /// ([`Error::InvalidWorkQueue`](crate::error::Error::InvalidWorkQueue)), as on Windows.
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

    /// The type a private queue was allocated with (a serial queue reports
    /// [`QueueType::Standard`]); platform queues are [`Error::InvalidWorkQueue`](crate::error::Error::InvalidWorkQueue).
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
