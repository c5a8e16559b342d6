//! [`OwnedQueue`]: a private queue kept alive by a lock that its drop gives
//! back, and what makes one (a new private queue, a shared class queue, one
//! more lock on a queue, [`Queue::serial`]).

use std::fmt;
use std::ops::Deref;

use crate::api::queue::Queue;
use crate::error::{Error, Result};
use crate::ids::{QueueId, QueueType};

impl Queue {
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
        crate::queue::allocate_serial_work_queue(self.id()).map(OwnedQueue::adopt)
    }
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
        crate::queue::lock_work_queue(queue.id())?;
        Ok(OwnedQueue::adopt(queue.id()))
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
        let id = self.queue.id();
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
        write!(f, "OwnedQueue({:?})", self.queue.id())
    }
}

impl Clone for OwnedQueue {
    /// One more lock on the same queue. If the lock is refused (the platform
    /// was shut down meanwhile) the clone holds none, and its calls fail as
    /// the original's do; [`OwnedQueue::lock`] returns the error instead.
    fn clone(&self) -> OwnedQueue {
        OwnedQueue {
            queue: self.queue,
            locked: self.locked && crate::queue::lock_work_queue(self.queue.id()).is_ok(),
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
        match crate::queue::unlock_work_queue(self.queue.id()) {
            Ok(()) | Err(Error::Shutdown) => {}
            Err(error) => {
                tracing::warn!(queue = %self.queue.id(), %error, "unlocking an OwnedQueue failed");
            }
        }
    }
}
