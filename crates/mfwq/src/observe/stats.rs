//! Per-queue and per-thread statistics while they are on.
//!
//! **Where the counts live.** Every thread counts into shards of its own —
//! one per queue it puts to or works for — with plain loads and stores (no
//! read-modify-write, no cache line another writer touches), so a pool whose
//! workers all count the same queue does not bounce that queue's counters
//! between cores on every item. A snapshot adds the shards up, with what
//! exited threads left behind (folded into the queue's record as they exit).
//!
//! **Which queue.** Each queue has one record, found by its id without a
//! lock: platform queues by their number, private queues by their slot (the
//! id's high word), in a table of pointers filled on first use and never
//! freed. A slot reused by a new queue starts a new *generation*: the old
//! queue's figures go to [`RETIRED`] (one line in the shutdown summary) and
//! shards of the old generation no longer count.
//!
//! Every layer pushes what it knows (items put, started, run, refused and
//! cancelled, the times, worker threads, the real-time policy applied);
//! nothing here asks a higher layer, so the statistics sit below the
//! platform they watch.

use std::cell::RefCell;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::histogram::AtomicHistogram;
use super::snapshot::{QueueSnapshot, Snapshot, ThreadSnapshot};
use crate::ids::{QueueId, MAX_PRIVATE_QUEUES};

/// Platform queues have ids 0..=7.
const PLATFORM_SLOTS: usize = 8;
const SLOTS: usize = PLATFORM_SLOTS + MAX_PRIVATE_QUEUES;

/// The counts of one queue by one thread (a shard), or those folded in from
/// exited threads (a record's own).
struct Counts {
    put: AtomicU64,
    started: AtomicU64,
    finished: AtomicU64,
    refused: AtomicU64,
    busy_ns: AtomicU64,
    queue_time: AtomicHistogram,
    invoke_time: AtomicHistogram,
}

impl Counts {
    fn new() -> Counts {
        Counts {
            put: AtomicU64::new(0),
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            busy_ns: AtomicU64::new(0),
            queue_time: AtomicHistogram::new(),
            invoke_time: AtomicHistogram::new(),
        }
    }

    fn counters(&self) -> [&AtomicU64; 5] {
        [
            &self.put,
            &self.started,
            &self.finished,
            &self.refused,
            &self.busy_ns,
        ]
    }

    /// Adds `other` (read while its owner may still write: off by at most
    /// the items counted meanwhile).
    fn absorb(&self, other: &Counts) {
        for (mine, theirs) in self.counters().into_iter().zip(other.counters()) {
            mine.fetch_add(theirs.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.queue_time.absorb(&other.queue_time);
        self.invoke_time.absorb(&other.invoke_time);
    }

    fn clear(&self) {
        for counter in self.counters() {
            counter.store(0, Ordering::Relaxed);
        }
        self.queue_time.clear();
        self.invoke_time.clear();
    }
}

/// Adds `by` to a counter only its owner writes.
#[inline]
fn bump(counter: &AtomicU64, by: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(by),
        Ordering::Relaxed,
    );
}

/// One queue's record: its name and state, and the counts of threads that
/// have exited.
pub(crate) struct QueueStats {
    id: AtomicU32,
    generation: AtomicU32,
    name: Mutex<String>,
    realtime: Mutex<Option<String>>,
    pub(crate) cancelled: AtomicU64,
    pub(crate) threads: AtomicU32,
    folded: Counts,
}

static TABLE: [AtomicPtr<QueueStats>; SLOTS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

/// One bit per slot of `TABLE` that holds a record, so that a snapshot (every
/// 250 ms while statistics are published, every few milliseconds for the
/// trace's depth counters) visits the few records there are rather than
/// loading all 8,200 slots.
static INSTALLED: [AtomicU64; SLOTS.div_ceil(64)] =
    [const { AtomicU64::new(0) }; SLOTS.div_ceil(64)];

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

/// The record of `slot`, if statistics ever made one.
fn installed(slot: usize) -> Option<&'static QueueStats> {
    let pointer = TABLE[slot].load(Ordering::Acquire);
    // SAFETY: records are leaked boxes, never freed once installed.
    (!pointer.is_null()).then(|| unsafe { &*pointer })
}

/// Every record there is, with its slot.
fn records() -> impl Iterator<Item = (usize, &'static QueueStats)> {
    INSTALLED.iter().enumerate().flat_map(|(word_index, word)| {
        let mut bits = word.load(Ordering::Acquire);
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let slot = word_index * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(slot)
        })
        .filter_map(|slot| installed(slot).map(|record| (slot, record)))
    })
}

/// Whether `queue`'s slot has a record (statistics were on at some time
/// for a queue there).
pub(crate) fn has_record(queue: QueueId) -> bool {
    installed(slot_of(queue)).is_some()
}

/// The record of `queue`, made on first use.
#[inline]
pub(crate) fn queue(queue: QueueId) -> &'static QueueStats {
    record(slot_of(queue), queue)
}

#[inline]
fn record(slot: usize, queue: QueueId) -> &'static QueueStats {
    let current = TABLE[slot].load(Ordering::Acquire);
    if current.is_null() {
        return install(slot, queue);
    }
    // SAFETY: records are leaked boxes, never freed once installed.
    unsafe { &*current }
}

#[cold]
fn install(index: usize, queue: QueueId) -> &'static QueueStats {
    let slot = &TABLE[index];
    let (id, name) = if queue.is_private() {
        (queue.0, format!("queue {:#010x}", queue.0))
    } else {
        let platform = queue.platform_slot().id();
        (platform.0, platform.to_string())
    };
    let fresh = Box::into_raw(Box::new(QueueStats {
        id: AtomicU32::new(id),
        generation: AtomicU32::new(0),
        name: Mutex::new(name),
        realtime: Mutex::new(None),
        cancelled: AtomicU64::new(0),
        threads: AtomicU32::new(0),
        folded: Counts::new(),
    }));
    match slot.compare_exchange(
        std::ptr::null_mut(),
        fresh,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => {
            INSTALLED[index / 64].fetch_or(1 << (index % 64), Ordering::Release);
            // SAFETY: just installed; never freed.
            unsafe { &*fresh }
        }
        Err(installed) => {
            // SAFETY: `fresh` was never shared; `installed` is never freed.
            unsafe {
                drop(Box::from_raw(fresh));
                &*installed
            }
        }
    }
}

/// One thread's shards, and its own busy time.
struct Shards {
    tid: i32,
    name: String,
    queue: Option<QueueId>,
    busy_ns: AtomicU64,
    items: AtomicU64,
    /// `(slot, generation, counts)`: appended by the owner, read by snapshots.
    queues: Mutex<Vec<(usize, u32, Arc<Counts>)>>,
}

/// Every live thread's shards. Snapshots, resets and exiting threads take
/// this lock, so a thread's counts are never seen twice or not at all.
static THREADS: Mutex<Vec<Arc<Shards>>> = Mutex::new(Vec::new());

/// What a thread keeps for its hot path: its shards, and the last one used.
struct Local {
    shards: Arc<Shards>,
    last: Option<(usize, u32, Arc<Counts>)>,
}

impl Drop for Local {
    /// The thread exits: its counts move to the records they belong to.
    fn drop(&mut self) {
        let mut threads = THREADS.lock();
        for (slot, generation, counts) in self.shards.queues.lock().iter() {
            if let Some(record) = installed(*slot) {
                if record.generation.load(Ordering::Relaxed) == *generation {
                    record.folded.absorb(counts);
                }
            }
        }
        threads.retain(|known| !Arc::ptr_eq(known, &self.shards));
    }
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// Runs `count` on this thread's shard for `queue`.
#[inline]
fn with_shard(queue: QueueId, count: impl FnOnce(&Counts, &Shards)) {
    let slot = slot_of(queue);
    let generation = record(slot, queue).generation.load(Ordering::Relaxed);
    let _ = LOCAL.try_with(|local| {
        let Ok(mut local) = local.try_borrow_mut() else {
            return;
        };
        let local = local.get_or_insert_with(new_local);
        match &local.last {
            Some((last_slot, last_generation, counts))
                if *last_slot == slot && *last_generation == generation =>
            {
                count(counts, &local.shards);
            }
            _ => {
                let counts = find_or_add(&local.shards, slot, generation);
                count(&counts, &local.shards);
                local.last = Some((slot, generation, counts));
            }
        }
    });
}

#[cold]
fn new_local() -> Local {
    // Miri runs no `gettid`.
    #[cfg(not(miri))]
    let tid = crate::sched::current_tid();
    #[cfg(miri)]
    let tid = 0;
    let shards = Arc::new(Shards {
        tid,
        name: std::thread::current().name().unwrap_or("").to_owned(),
        queue: crate::sched::current_queue(),
        busy_ns: AtomicU64::new(0),
        items: AtomicU64::new(0),
        queues: Mutex::new(Vec::new()),
    });
    THREADS.lock().push(Arc::clone(&shards));
    Local { shards, last: None }
}

#[cold]
fn find_or_add(shards: &Shards, slot: usize, generation: u32) -> Arc<Counts> {
    let mut queues = shards.queues.lock();
    if let Some((_, _, counts)) = queues
        .iter()
        .find(|(known, known_generation, _)| *known == slot && *known_generation == generation)
    {
        return Arc::clone(counts);
    }
    // A shard of an older generation of this slot counts nothing any more.
    queues.retain(|(known, _, _)| *known != slot);
    let counts = Arc::new(Counts::new());
    queues.push((slot, generation, Arc::clone(&counts)));
    counts
}

/// `queue` accepted an item.
#[inline]
pub(crate) fn count_put(queue: QueueId) {
    with_shard(queue, |counts, _| bump(&counts.put, 1));
}

/// A put refused (before it became an item, or by the queue).
pub(crate) fn count_refused(queue: QueueId) {
    with_shard(queue, |counts, _| bump(&counts.refused, 1));
}

/// A worker started an item that waited `waited` ns.
#[inline]
pub(crate) fn count_start(queue: QueueId, waited: u64) {
    with_shard(queue, |counts, _| {
        bump(&counts.started, 1);
        counts.queue_time.record_owned(waited);
    });
}

/// The item's callback took `took` ns.
#[inline]
pub(crate) fn count_finish(queue: QueueId, took: u64) {
    with_shard(queue, |counts, shards| {
        bump(&counts.finished, 1);
        bump(&counts.busy_ns, took);
        counts.invoke_time.record_owned(took);
        bump(&shards.busy_ns, took);
        bump(&shards.items, 1);
    });
}

/// Totals of one record: its folded counts and every live shard of its
/// generation. Called with [`THREADS`] locked.
/// Runs `f` on every count of the record's current generation: what exited
/// threads left, then each live thread's shard. Called with [`THREADS`]
/// locked.
fn each_count(
    slot: usize,
    record: &QueueStats,
    threads: &[Arc<Shards>],
    mut f: impl FnMut(&Counts),
) {
    let generation = record.generation.load(Ordering::Relaxed);
    f(&record.folded);
    for thread in threads {
        for (known, known_generation, counts) in thread.queues.lock().iter() {
            if *known == slot && *known_generation == generation {
                f(counts);
            }
        }
    }
}

fn totals(slot: usize, record: &QueueStats, threads: &[Arc<Shards>]) -> QueueSnapshot {
    let total = Counts::new();
    each_count(slot, record, threads, |counts| total.absorb(counts));
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    let (put, started, finished) = (
        load(&total.put),
        load(&total.started),
        load(&total.finished),
    );
    QueueSnapshot {
        id: record.id.load(Ordering::Relaxed),
        name: record.name(),
        put,
        run: finished,
        refused: load(&total.refused),
        cancelled: load(&record.cancelled),
        depth: put.saturating_sub(started),
        running: started.saturating_sub(finished),
        threads: record.threads.load(Ordering::Relaxed),
        busy_ns: load(&total.busy_ns),
        realtime: record.realtime.lock().clone(),
        queue_time: total.queue_time.snapshot(),
        invoke_time: total.invoke_time.snapshot(),
    }
}

impl QueueStats {
    /// A new private queue took this record's slot: the old queue's figures
    /// go to the retired total, and the record starts a new generation under
    /// `id`.
    pub(crate) fn reset_for(&self, id: QueueId, name: &str) {
        let threads = THREADS.lock();
        let old = totals(slot_of(id), self, &threads);
        if old.put.saturating_add(old.refused) > 0 {
            let mut retired = RETIRED.lock();
            match retired.as_mut() {
                Some(total) => total.absorb(&old),
                None => {
                    *retired = Some(QueueSnapshot {
                        name: "(unlocked queues)".into(),
                        id: 0,
                        realtime: None,
                        depth: 0,
                        running: 0,
                        threads: 0,
                        ..old
                    })
                }
            }
        }
        self.generation.fetch_add(1, Ordering::Relaxed);
        self.folded.clear();
        self.cancelled.store(0, Ordering::Relaxed);
        self.threads.store(0, Ordering::Relaxed);
        self.id.store(id.0, Ordering::Relaxed);
        *self.name.lock() = name.to_owned();
        *self.realtime.lock() = None;
    }

    pub(crate) fn name(&self) -> String {
        self.name.lock().clone()
    }

    /// Whether this record stands for `queue` now (not for an earlier queue
    /// in the same slot). Platform ids always match their record.
    pub(crate) fn is_for(&self, queue: QueueId) -> bool {
        !queue.is_private()
            || queue.is_undefined_private()
            || self.id.load(Ordering::Relaxed) == queue.0
    }

    pub(crate) fn set_realtime(&self, policy: String) {
        *self.realtime.lock() = Some(policy);
    }
}

/// Takes a snapshot.
pub(crate) fn snapshot() -> Snapshot {
    let threads = THREADS.lock();
    let queues = records()
        .map(|(slot, record)| totals(slot, record, &threads))
        .filter(|queue| {
            queue.put + queue.refused + queue.cancelled + u64::from(queue.threads) > 0
                || queue.realtime.is_some()
        })
        .collect();
    let thread_list = threads
        .iter()
        .filter(|thread| thread.items.load(Ordering::Relaxed) > 0)
        .map(|thread| ThreadSnapshot {
            tid: thread.tid,
            name: thread.name.clone(),
            queue: thread.queue.map(|queue| queue.0),
            busy_ns: thread.busy_ns.load(Ordering::Relaxed),
            items: thread.items.load(Ordering::Relaxed),
        })
        .collect();
    drop(threads);
    Snapshot {
        pid: std::process::id(),
        taken_at_ms: super::snapshot::unix_millis(),
        queues,
        retired: RETIRED.lock().clone(),
        threads: thread_list,
        trace_dropped: super::record::DROPPED.load(Ordering::Relaxed),
    }
}

/// Every queue's id, name and depth now (the trace's depth counters, every
/// few milliseconds: counts only, no histograms).
pub(crate) fn depths() -> Vec<(u32, String, u64)> {
    let threads = THREADS.lock();
    records()
        .map(|(slot, record)| {
            let (mut put, mut started) = (0u64, 0u64);
            each_count(slot, record, &threads, |counts| {
                put = put.wrapping_add(counts.put.load(Ordering::Relaxed));
                started = started.wrapping_add(counts.started.load(Ordering::Relaxed));
            });
            (
                record.id.load(Ordering::Relaxed),
                record.name(),
                put.saturating_sub(started),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_add_up_across_threads_exits_and_generations() {
        // The last private slot: no other test uses it.
        let slot_id = |generation: u32| QueueId(((MAX_PRIVATE_QUEUES as u32) << 16) | generation);
        let first = slot_id(1);
        queue(first).reset_for(first, "standard first");
        let workers: Vec<_> = (0..2)
            .map(|_| {
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        count_put(first);
                        count_start(first, 100);
                        count_finish(first, 1_000);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        // Exited threads' counts were folded in; this thread's are live.
        for _ in 0..5 {
            count_put(first);
        }
        count_refused(first);
        let find = |id: QueueId| {
            snapshot()
                .queues
                .into_iter()
                .find(|queue| queue.id == id.0)
                .expect("the queue is listed")
        };
        let totals = find(first);
        assert_eq!(totals.name, "standard first");
        assert_eq!(
            (totals.put, totals.run, totals.refused, totals.depth),
            (25, 20, 1, 5)
        );
        assert_eq!(totals.queue_time.count, 20);
        assert_eq!(totals.invoke_time.percentile(0.5).as_nanos(), 1_000);
        assert_eq!(totals.busy_ns, 20_000);

        // A new queue in the slot starts from zero; the old one is retired.
        let second = slot_id(2);
        queue(second).reset_for(second, "standard second");
        count_put(second);
        let totals = find(second);
        assert_eq!(
            (totals.name.as_str(), totals.put, totals.run),
            ("standard second", 1, 0)
        );
        assert!(RETIRED
            .lock()
            .as_ref()
            .is_some_and(|retired| retired.put >= 25));
        let depths = depths();
        assert!(depths.contains(&(second.0, "standard second".into(), 1)));
    }
}
