//! [`QueueBuilder`]: a private queue with its options set before it runs
//! anything, as tokio's `runtime::Builder` and rayon's `ThreadPoolBuilder`.

use std::fmt;
use std::time::Duration;

use crate::api::owned::OwnedQueue;
use crate::api::queue::Queue;
use crate::class_name::ClassName;
use crate::error::Result;
use crate::ids::QueueType;

/// What kind of private queue a [`QueueBuilder`] makes.
///
/// ```
/// assert_eq!(mfwq::QueueKind::default(), mfwq::QueueKind::Standard);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QueueKind {
    /// One thread, FIFO, one item at a time.
    #[default]
    Standard,
    /// A pool of `max(2, cores)` threads; items start in FIFO order.
    Multithreaded,
    /// A serial queue over `target`: FIFO, one at a time, on the target's threads.
    Serial(Queue),
}

/// The step of a window queue's host event loop.
type Step = Box<dyn FnMut() + Send>;

/// Builds a private queue: its kind, real-time class, deadline,
/// long-running hint and thread names.
///
/// The options are applied in that order once the queue is allocated and
/// before it runs anything; if one fails, the queue is unlocked again and
/// `build` returns the error. The real-time registration and the deadline
/// last as long as the queue (they end with it; use
/// [`Queue::register_realtime`] for a registration with a guard).
///
/// ```
/// use std::time::Duration;
/// use mfwq::{QueueBuilder, QueueKind};
/// let _platform = mfwq::Platform::start()?;
/// let audio = QueueBuilder::new()
///     .kind(QueueKind::Standard)
///     .realtime("Pro Audio")
///     .base_priority(1)
///     .deadline(Duration::from_millis(2))
///     .thread_name("audio")
///     .build()?;
/// assert_eq!(audio.realtime_class()?, "Pro Audio");
/// assert_eq!(audio.deadline()?.unwrap().deadline_hns, 20_000);
/// let name = audio.spawn(|| std::thread::current().name().unwrap().to_owned())?.join().unwrap();
/// assert!(name.starts_with("mfwq-audio-q"));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "a QueueBuilder does nothing until build()"]
#[derive(Default)]
pub struct QueueBuilder {
    kind: QueueKind,
    window: Option<(Duration, Step)>,
    class: Option<ClassName>,
    base_priority: i32,
    task_id: u32,
    deadline: Option<(Duration, Duration)>,
    long_running: Option<bool>,
    thread_name: Option<String>,
}

impl fmt::Debug for QueueBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueBuilder")
            .field("kind", &self.kind)
            .field(
                "window",
                &self.window.as_ref().map(|(interval, _)| interval),
            )
            .field("class", &self.class)
            .field("base_priority", &self.base_priority)
            .field("task_id", &self.task_id)
            .field("deadline", &self.deadline)
            .field("long_running", &self.long_running)
            .field("thread_name", &self.thread_name)
            .finish()
    }
}

impl QueueBuilder {
    /// A builder for a standard queue with no options.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::QueueBuilder::new().build()?;
    /// assert_eq!(queue.kind()?, mfwq::QueueType::Standard);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn new() -> QueueBuilder {
        QueueBuilder::default()
    }

    /// The kind of queue.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let pool = mfwq::QueueBuilder::new().kind(mfwq::QueueKind::Multithreaded).build()?;
    /// assert_eq!(pool.kind()?, mfwq::QueueType::Multithreaded);
    /// let serial = mfwq::QueueBuilder::new().kind(mfwq::QueueKind::Serial(*pool)).build()?;
    /// assert!(serial.is_private());
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn kind(mut self, kind: QueueKind) -> QueueBuilder {
        self.kind = kind;
        self
    }

    /// A window queue ([`allocate_window_queue`](crate::allocate_window_queue)):
    /// one thread that calls `step` after every item and whenever it has been
    /// idle for `interval`. Overrides [`kind`](QueueBuilder::kind).
    ///
    /// ```
    /// use std::time::Duration;
    /// let _platform = mfwq::Platform::start()?;
    /// let window = mfwq::QueueBuilder::new().window(Duration::from_millis(5), || {}).build()?;
    /// assert_eq!(window.kind()?, mfwq::QueueType::Window);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn window<F>(mut self, interval: Duration, step: F) -> QueueBuilder
    where
        F: FnMut() + Send + 'static,
    {
        self.window = Some((interval, Box::new(step)));
        self
    }

    /// Registers the queue with an MMCSS class
    /// ([`Queue::register_realtime_with`]).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::QueueBuilder::new().realtime("Audio").task_id(9).build()?;
    /// assert_eq!((queue.realtime_class()?, queue.realtime_task_id()?), ("Audio".to_owned(), 9));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn realtime(mut self, class: impl Into<ClassName>) -> QueueBuilder {
        self.class = Some(class.into());
        self
    }

    /// The base AVRT priority of the real-time class (-2..=2; default 0).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::QueueBuilder::new().realtime("Audio").base_priority(-1).build()?;
    /// assert_eq!(queue.realtime_priority()?, -1);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn base_priority(mut self, priority: i32) -> QueueBuilder {
        self.base_priority = priority;
        self
    }

    /// The MMCSS task id (default 0: a new one).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::QueueBuilder::new().realtime("Games").task_id(31).build()?;
    /// assert_eq!(queue.realtime_task_id()?, 31);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn task_id(mut self, task_id: u32) -> QueueBuilder {
        self.task_id = task_id;
        self
    }

    /// A deadline for the queue's work ([`Queue::set_deadline`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::QueueBuilder::new().deadline(Duration::from_millis(1)).build()?;
    /// assert_eq!(queue.deadline()?.unwrap().deadline_hns, 10_000);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> QueueBuilder {
        self.deadline = Some((deadline, Duration::ZERO));
        self
    }

    /// A deadline with a pre-deadline ([`Queue::set_deadline_with_pre`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::QueueBuilder::new()
    ///     .deadline_with_pre(Duration::from_millis(2), Duration::from_millis(1))
    ///     .build()?;
    /// assert_eq!(queue.deadline()?.unwrap().pre_deadline_hns, 10_000);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn deadline_with_pre(mut self, deadline: Duration, pre_deadline: Duration) -> QueueBuilder {
        self.deadline = Some((deadline, pre_deadline));
        self
    }

    /// The long-running hint ([`Queue::set_long_running`]).
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let pool = mfwq::QueueBuilder::new()
    ///     .kind(mfwq::QueueKind::Multithreaded)
    ///     .long_running(true)
    ///     .build()?;
    /// assert!(pool.is_long_running()?);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn long_running(mut self, enable: bool) -> QueueBuilder {
        self.long_running = Some(enable);
        self
    }

    /// Names the queue's threads `mfwq-<prefix>-q<id>` (a pool's later
    /// threads add `-<n>`) instead of `mfwq-q<id>`. Linux shows the first
    /// 15 bytes in `/proc`; `std::thread::current().name()` has all of it.
    /// A serial queue has no threads of its own: ignored there.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let queue = mfwq::QueueBuilder::new().thread_name("decode").build()?;
    /// let name = queue.spawn(|| std::thread::current().name().map(str::to_owned))?.join().unwrap();
    /// assert!(name.unwrap().starts_with("mfwq-decode-q"));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> QueueBuilder {
        self.thread_name = Some(prefix.into());
        self
    }

    /// Allocates the queue and applies the options.
    ///
    /// Errors: those of allocation ([`Error::Shutdown`](crate::Error::Shutdown),
    /// [`Error::Fail`](crate::Error::Fail) past the queue limit,
    /// [`Error::InvalidWorkQueue`](crate::Error::InvalidWorkQueue) for a
    /// serial target that is not live) and of each option (an unknown class,
    /// a priority out of range, a zero deadline:
    /// [`Error::InvalidArg`](crate::Error::InvalidArg)); the queue is then
    /// unlocked.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let refused = mfwq::QueueBuilder::new().deadline(std::time::Duration::ZERO).build();
    /// assert_eq!(refused.unwrap_err(), mfwq::Error::InvalidArg);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn build(self) -> Result<OwnedQueue> {
        let prefix = self.thread_name.as_deref();
        let id = match (self.window, self.kind) {
            (Some((interval, step)), _) => {
                crate::queue::allocate_window_queue_named(interval, step, prefix)?
            }
            (None, QueueKind::Standard) => {
                crate::queue::allocate_work_queue_named(QueueType::Standard, prefix)?
            }
            (None, QueueKind::Multithreaded) => {
                crate::queue::allocate_work_queue_named(QueueType::Multithreaded, prefix)?
            }
            (None, QueueKind::Serial(target)) => {
                crate::queue::allocate_serial_work_queue(target.id())?
            }
        };
        // Unlocked on every early return below.
        let queue = OwnedQueue::adopt(id);
        if let Some(enable) = self.long_running {
            queue.set_long_running(enable)?;
        }
        if let Some(class) = self.class {
            queue
                .register_realtime_with(class, self.task_id, self.base_priority)?
                .forget();
        }
        if let Some((deadline, pre_deadline)) = self.deadline {
            queue
                .set_deadline_with_pre(deadline, pre_deadline)?
                .forget();
        }
        Ok(queue)
    }
}
