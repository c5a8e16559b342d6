//! A work item while observation is on: the item with its put time, so that
//! the worker can record its time in queue and in the callback
//! (`crate::observe`). Wrapping takes a block from a recycler (the item is
//! made on the putting thread and freed on a worker: the system allocator's
//! cross-thread free would cost more than the rest of the observation), and
//! only while something observes; otherwise items are queued as they are.

use std::cell::RefCell;

use crate::ids::QueueId;
use crate::object::pool::{LocalBlocks, Pool};
use crate::object::recycle::PooledBox;
use crate::observe::event::Label;
use crate::work::item::{Kind, Work};

/// An item wrapped for observation.
pub(crate) struct Observed {
    work: Work,
    item: u64,
    put_ticks: u64,
    label: Label,
    /// Statistics count this item (decided at its put).
    counted: bool,
}

thread_local! {
    static OBSERVED_BLOCKS: RefCell<LocalBlocks<Observed>> = const { RefCell::new(LocalBlocks::new()) };
}
static OBSERVED_POOL: Pool<Observed> = Pool::new(&OBSERVED_BLOCKS);

thread_local! {
    /// This thread's next item id: a thread number in the high bits, a
    /// count in the low 40, so ids are unique for the whole process without
    /// a shared counter on the put path.
    static NEXT_ITEM: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A process-unique item id for a trace's flows.
fn next_item() -> u64 {
    static THREADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT_ITEM
        .try_with(|next| {
            let mut id = next.get();
            if id & ((1 << 40) - 1) == 0 {
                id = THREADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) << 40;
            }
            next.set(id + 1);
            id + 1
        })
        .unwrap_or(0)
}

impl Observed {
    /// Wraps `work`, offered to `queue` with `priority`, and records the put.
    /// `name` is the Rust type of a closure or future, when there is one.
    /// Also says whether statistics count the item: the caller reports its
    /// acceptance (`observe::accepted`) once the queue took it.
    pub(crate) fn wrap(
        work: Work,
        queue: QueueId,
        priority: i8,
        name: Option<&'static str>,
    ) -> (Work, bool) {
        let label = match (work.kind(), name) {
            (_, Some(name)) => Label::Rust(name),
            (Kind::Serial, None) => Label::Serial,
            (Kind::Poll, None) => Label::Rust("poll of a future"),
            // A result's callback address, or whatever else the item names.
            (_, None) => Label::Callback(work.address()),
        };
        let item = next_item();
        let (put_ticks, counted) = crate::observe::put(queue, item, priority);
        let observed = Observed {
            work,
            item,
            put_ticks,
            label,
            counted,
        };
        (Work::new(PooledBox::new(observed, &OBSERVED_POOL)), counted)
    }

    /// A refused item: recorded as refused, and handed back unwrapped so
    /// that whoever sends it elsewhere observes it afresh.
    pub(crate) fn unwrap_refused(work: Work, queue: QueueId, hresult: i32) -> Work {
        match work.downcast::<PooledBox<Observed>>() {
            Ok(observed) => {
                crate::observe::refused(queue, observed.item, hresult, observed.counted);
                observed.into_inner().work
            }
            Err(work) => work,
        }
    }

    /// Runs the item, recording its start and end.
    pub(crate) fn run(this: PooledBox<Self>, queue: QueueId) {
        Self::run_with(this, queue, |work| work.run(queue));
    }

    /// Hands the item to `run` (a serial queue's reply mode runs results its
    /// own way), recording its start and end around it.
    pub(crate) fn run_with<R>(
        this: PooledBox<Self>,
        queue: QueueId,
        run: impl FnOnce(Work) -> R,
    ) -> R {
        let Observed {
            work,
            item,
            put_ticks,
            label,
            counted,
        } = this.into_inner();
        let status = work.result().map_or(0, |result| result.status().0);
        let begin = crate::observe::begin(queue, item, put_ticks, status, label, counted);
        let outcome = run(work);
        crate::observe::end(queue, begin, counted);
        outcome
    }

    /// The result the item carries, if it is one.
    pub(crate) fn result(&self) -> Option<&crate::object::result::AsyncResult> {
        self.work.result()
    }

    /// What the wrapped item reports as its address.
    pub(crate) fn address(&self) -> usize {
        self.work.address()
    }
}
