//! Per-queue and per-thread statistics while they are on.
//!
//! Each queue has one record, found by its id without a lock: the platform
//! queues by their number, private queues by their slot (the id's high
//! word), in a table of pointers filled on first use and never freed (a slot
//! reused by a new queue resets its record, after folding the old queue's
//! figures into [`RETIRED`] for the shutdown summary). Every layer pushes what
//! it knows into the records (items put, run, refused and cancelled, the
//! times, the worker threads, the real-time policy applied); nothing here
//! asks a higher layer, so the statistics sit below the platform they watch.

use std::cell::RefCell;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::histogram::{AtomicHistogram, Histogram};
use crate::ids::{QueueId, MAX_PRIVATE_QUEUES};

/// Platform queues have ids 0..=7.
const PLATFORM_SLOTS: usize = 8;
const SLOTS: usize = PLATFORM_SLOTS + MAX_PRIVATE_QUEUES;

/// One queue's live figures.
pub(crate) struct QueueStats {
    id: AtomicU32,
    name: Mutex<String>,
    realtime: Mutex<Option<String>>,
    pub(crate) put: AtomicU64,
    pub(crate) started: AtomicU64,
    pub(crate) finished: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) busy_ns: AtomicU64,
    pub(crate) threads: AtomicU32,
    pub(crate) queue_time: AtomicHistogram,
    pub(crate) invoke_time: AtomicHistogram,
}

static TABLE: [AtomicPtr<QueueStats>; SLOTS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

/// Queues whose slot was reused, folded into one line for the summary.
static RETIRED: Mutex<Option<QueueSnapshot>> = Mutex::new(None);

/// The slot of the queue an id stands for: private ids by slot, every other
/// id by the platform queue it runs on (unknown ids run on STANDARD).
fn slot_of(queue: QueueId) -> usize {
    if queue.is_private() && !queue.is_undefined_private() {
        let slot = (queue.0 >> 16) as usize;
        if (1..=MAX_PRIVATE_QUEUES).contains(&slot) {
            return PLATFORM_SLOTS + slot - 1;
        }
    }
    queue.platform_slot().id().0 as usize
}

/// The record of `queue`, made on first use.
#[inline]
pub(crate) fn queue(queue: QueueId) -> &'static QueueStats {
    let slot = &TABLE[slot_of(queue)];
    let current = slot.load(Ordering::Acquire);
    if current.is_null() {
        return install(slot, queue);
    }
    // SAFETY: records are leaked boxes, never freed once installed.
    unsafe { &*current }
}

#[cold]
fn install(slot: &AtomicPtr<QueueStats>, queue: QueueId) -> &'static QueueStats {
    let name = if queue.is_private() {
        format!("queue {:#010x}", queue.0)
    } else {
        queue.platform_slot().id().to_string()
    };
    let fresh = Box::into_raw(Box::new(QueueStats {
        id: AtomicU32::new(if queue.is_private() {
            queue.0
        } else {
            queue.platform_slot().id().0
        }),
        name: Mutex::new(name),
        realtime: Mutex::new(None),
        put: AtomicU64::new(0),
        started: AtomicU64::new(0),
        finished: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        cancelled: AtomicU64::new(0),
        busy_ns: AtomicU64::new(0),
        threads: AtomicU32::new(0),
        queue_time: AtomicHistogram::new(),
        invoke_time: AtomicHistogram::new(),
    }));
    match slot.compare_exchange(
        std::ptr::null_mut(),
        fresh,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        // SAFETY: just installed; never freed.
        Ok(_) => unsafe { &*fresh },
        Err(installed) => {
            // SAFETY: `fresh` was never shared; `installed` is never freed.
            unsafe {
                drop(Box::from_raw(fresh));
                &*installed
            }
        }
    }
}

impl QueueStats {
    /// A new private queue took this record's slot: the old queue's figures
    /// go to the retired total, and the record starts again under `id`.
    pub(crate) fn reset_for(&self, id: QueueId, name: &str) {
        if self.id.load(Ordering::Relaxed) != id.0 && self.put.load(Ordering::Relaxed) > 0 {
            let old = self.snapshot();
            let mut retired = RETIRED.lock();
            match retired.as_mut() {
                Some(total) => total.absorb(&old),
                None => {
                    *retired = Some(QueueSnapshot {
                        name: "(unlocked queues)".into(),
                        id: 0,
                        realtime: None,
                        ..old
                    })
                }
            }
        }
        self.id.store(id.0, Ordering::Relaxed);
        *self.name.lock() = name.to_owned();
        *self.realtime.lock() = None;
        for counter in [
            &self.put,
            &self.started,
            &self.finished,
            &self.refused,
            &self.cancelled,
            &self.busy_ns,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.queue_time.clear();
        self.invoke_time.clear();
    }

    pub(crate) fn name(&self) -> String {
        self.name.lock().clone()
    }

    pub(crate) fn set_realtime(&self, policy: String) {
        *self.realtime.lock() = Some(policy);
    }

    fn snapshot(&self) -> QueueSnapshot {
        let started = self.started.load(Ordering::Relaxed);
        let put = self.put.load(Ordering::Relaxed);
        QueueSnapshot {
            id: self.id.load(Ordering::Relaxed),
            name: self.name(),
            put,
            run: self.finished.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            depth: put.saturating_sub(started),
            running: started.saturating_sub(self.finished.load(Ordering::Relaxed)),
            threads: self.threads.load(Ordering::Relaxed),
            busy_ns: self.busy_ns.load(Ordering::Relaxed),
            realtime: self.realtime.lock().clone(),
            queue_time: self.queue_time.snapshot(),
            invoke_time: self.invoke_time.snapshot(),
        }
    }
}

/// One worker thread's figures.
pub(crate) struct ThreadStats {
    tid: i32,
    name: String,
    queue: Option<QueueId>,
    pub(crate) busy_ns: AtomicU64,
    pub(crate) items: AtomicU64,
}

static THREADS: Mutex<Vec<Arc<ThreadStats>>> = Mutex::new(Vec::new());

struct ThreadEntry(Arc<ThreadStats>);

impl Drop for ThreadEntry {
    fn drop(&mut self) {
        THREADS.lock().retain(|known| !Arc::ptr_eq(known, &self.0));
    }
}

thread_local! {
    static THREAD: RefCell<Option<ThreadEntry>> = const { RefCell::new(None) };
}

/// Adds an item's invoke time to this thread's figures.
#[inline]
pub(crate) fn thread_ran(nanos: u64) {
    let _ = THREAD.try_with(|entry| {
        let Ok(mut entry) = entry.try_borrow_mut() else {
            return;
        };
        let stats = &entry.get_or_insert_with(register_thread).0;
        stats.busy_ns.fetch_add(nanos, Ordering::Relaxed);
        stats.items.fetch_add(1, Ordering::Relaxed);
    });
}

#[cold]
fn register_thread() -> ThreadEntry {
    let stats = Arc::new(ThreadStats {
        tid: crate::sched::current_tid(),
        name: std::thread::current().name().unwrap_or("").to_owned(),
        queue: crate::sched::current_queue(),
        busy_ns: AtomicU64::new(0),
        items: AtomicU64::new(0),
    });
    THREADS.lock().push(Arc::clone(&stats));
    ThreadEntry(stats)
}

/// One queue in a [`Snapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSnapshot {
    /// The queue's id (`MFASYNC_CALLBACK_QUEUE_*` or a private id).
    pub id: u32,
    /// Its name: the platform queue's, or the kind of private queue.
    pub name: String,
    /// Items the queue accepted.
    pub put: u64,
    /// Items that ran to the end (returned or unwound).
    pub run: u64,
    /// Items refused (platform down, queue gone, flags that do not fit).
    pub refused: u64,
    /// Timers and waiting items cancelled whose callback named this queue.
    pub cancelled: u64,
    /// Items accepted and not yet started.
    pub depth: u64,
    /// Items running now.
    pub running: u64,
    /// Worker threads alive.
    pub threads: u32,
    /// Time spent in callbacks, summed over the threads, in nanoseconds.
    pub busy_ns: u64,
    /// The real-time registration: class asked for and policy applied.
    pub realtime: Option<String>,
    /// From put to the start of the callback.
    pub queue_time: Histogram,
    /// From the start of the callback to its return.
    pub invoke_time: Histogram,
}

impl QueueSnapshot {
    fn absorb(&mut self, other: &QueueSnapshot) {
        self.put += other.put;
        self.run += other.run;
        self.refused += other.refused;
        self.cancelled += other.cancelled;
        self.busy_ns += other.busy_ns;
        self.queue_time.merge(&other.queue_time);
        self.invoke_time.merge(&other.invoke_time);
    }
}

/// One worker thread in a [`Snapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadSnapshot {
    /// Its Linux thread id.
    pub tid: i32,
    /// Its name (`mfwq-<queue>-<n>`).
    pub name: String,
    /// The queue it works for, if it is a worker.
    pub queue: Option<u32>,
    /// Time spent in callbacks, in nanoseconds.
    pub busy_ns: u64,
    /// Items it ran.
    pub items: u64,
}

/// The platform's statistics at one moment: every queue that has seen work
/// since statistics were switched on, and every thread that ran some.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// mfwq::observe::enable_stats();
/// mfwq::Queue::MULTITHREADED.spawn(|| ())?.join().unwrap();
/// let stats = mfwq::observe::stats();
/// let pool = stats.queues.iter().find(|queue| queue.name == "MULTITHREADED").unwrap();
/// assert!(pool.run >= 1);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The process.
    pub pid: u32,
    /// Milliseconds since the Unix epoch when it was taken.
    pub taken_at_ms: u64,
    /// The queues, platform queues first.
    pub queues: Vec<QueueSnapshot>,
    /// Queues unlocked since statistics started, as one total (their slots
    /// went to newer queues).
    pub retired: Option<QueueSnapshot>,
    /// Threads that ran items.
    pub threads: Vec<ThreadSnapshot>,
    /// Events the tracer dropped because a thread's buffer was full.
    pub trace_dropped: u64,
}

/// Takes a snapshot.
pub(crate) fn snapshot() -> Snapshot {
    let queues = TABLE
        .iter()
        .filter_map(|slot| {
            let record = slot.load(Ordering::Acquire);
            // SAFETY: records are never freed.
            (!record.is_null()).then(|| unsafe { &*record }.snapshot())
        })
        .filter(|queue| queue.put + queue.refused + u64::from(queue.threads) > 0)
        .collect();
    let threads = THREADS
        .lock()
        .iter()
        .map(|thread| ThreadSnapshot {
            tid: thread.tid,
            name: thread.name.clone(),
            queue: thread.queue.map(|queue| queue.0),
            busy_ns: thread.busy_ns.load(Ordering::Relaxed),
            items: thread.items.load(Ordering::Relaxed),
        })
        .collect();
    Snapshot {
        pid: std::process::id(),
        taken_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64),
        queues,
        retired: RETIRED.lock().clone(),
        threads,
        trace_dropped: super::session::trace_dropped(),
    }
}

/// Every live queue record (for the trace's depth counters).
pub(crate) fn each_queue(mut f: impl FnMut(&QueueStats)) {
    for slot in &TABLE {
        let record = slot.load(Ordering::Acquire);
        if !record.is_null() {
            // SAFETY: records are never freed.
            f(unsafe { &*record });
        }
    }
}

impl QueueStats {
    pub(crate) fn id(&self) -> u32 {
        self.id.load(Ordering::Relaxed)
    }

    pub(crate) fn depth(&self) -> u64 {
        self.put
            .load(Ordering::Relaxed)
            .saturating_sub(self.started.load(Ordering::Relaxed))
    }
}

/// A snapshot as the table `MFWQ_STATS=1` prints at shutdown.
pub(crate) fn table(snapshot: &Snapshot) -> String {
    use std::fmt::Write;
    let ms = |d: std::time::Duration| format!("{:.3}", d.as_secs_f64() * 1e3);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "mfwq statistics (pid {}): times in ms, p50/p99/max",
        snapshot.pid
    );
    let _ = writeln!(
        out,
        "{:<22} {:>10} {:>10} {:>7} {:>7} {:>5} {:>4} {:>26} {:>26}  real-time",
        "queue",
        "put",
        "run",
        "refused",
        "cancel",
        "depth",
        "thr",
        "time in queue",
        "time in Invoke"
    );
    for queue in snapshot.queues.iter().chain(snapshot.retired.as_ref()) {
        let triple = |h: &Histogram| {
            format!(
                "{}/{}/{}",
                ms(h.percentile(0.5)),
                ms(h.percentile(0.99)),
                ms(std::time::Duration::from_nanos(h.max_ns))
            )
        };
        let _ = writeln!(
            out,
            "{:<22} {:>10} {:>10} {:>7} {:>7} {:>5} {:>4} {:>26} {:>26}  {}",
            queue.name,
            queue.put,
            queue.run,
            queue.refused,
            queue.cancelled,
            queue.depth,
            queue.threads,
            triple(&queue.queue_time),
            triple(&queue.invoke_time),
            queue.realtime.as_deref().unwrap_or("-")
        );
    }
    if snapshot.trace_dropped > 0 {
        let _ = writeln!(
            out,
            "trace: {} events dropped (a thread's buffer was full)",
            snapshot.trace_dropped
        );
    }
    out
}
