//! What the statistics look like from outside: the [`Snapshot`] of every
//! queue and thread at one moment (public, and the JSON that `mfwq top`
//! reads, so its fields only ever grow), and the table `MFWQ_STATS=1`
//! prints. The counting behind them is `stats.rs`.

use serde::{Deserialize, Serialize};

use super::histogram::Histogram;

/// One queue in a [`Snapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
// Fields missing from a file written by another version read as empty.
#[serde(default)]
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
    /// Adds `other`'s counts and histograms to these (a retired queue's
    /// into the retired total).
    pub(super) fn absorb(&mut self, other: &QueueSnapshot) {
        self.put = self.put.saturating_add(other.put);
        self.run = self.run.saturating_add(other.run);
        self.refused = self.refused.saturating_add(other.refused);
        self.cancelled = self.cancelled.saturating_add(other.cancelled);
        self.busy_ns = self.busy_ns.saturating_add(other.busy_ns);
        self.queue_time.merge(&other.queue_time);
        self.invoke_time.merge(&other.invoke_time);
    }
}

/// One worker thread in a [`Snapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
// Fields missing from a file written by another version read as empty.
#[serde(default)]
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
/// assert!(pool.put >= 1); // `run` counts it a moment after `join` returns
/// # Ok::<(), mfwq::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
// Fields missing from a file written by another version read as empty.
#[serde(default)]
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

/// Milliseconds since the Unix epoch (0 under Miri, which has no wall clock).
pub(super) fn unix_millis() -> u64 {
    #[cfg(not(miri))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as u64)
    }
    #[cfg(miri)]
    {
        0
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
