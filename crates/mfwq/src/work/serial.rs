//! Serial queues (`MFAllocateSerialWorkQueue`): a FIFO that runs one item at a
//! time on top of another queue — a pool, a single-thread queue, or another
//! serial queue — with reply mode.
//!
//! A serial queue has no thread. It keeps its items and forwards one *step* at
//! a time to its target: `Work::Serial(queue)`, "run this queue's current
//! item". When the step has run the item it takes the next one and forwards
//! the next step (normal mode). In reply mode (the callback reports
//! `MFASYNC_REPLY_CALLBACK`) the callback is invoked with a *reply result* —
//! the same state and object, and an internal callback — and the queue moves
//! on only when that reply result is passed to `invoke_callback`, from any
//! thread, at any later time (docs/behaviour.md#d10).
//!
//! A step that finds more items waiting runs up to [`STEP_BATCH`] of them back
//! to back before it forwards the next step, as libdispatch drains a serial
//! queue in batches: a backlog costs one hand-off per batch, not per item.
//!
//! The state is under a `parking_lot` mutex: the putting thread and the
//! step's thread take it once per item each, and std's mutex, which sleeps
//! in the kernel soon after it finds the lock taken, made every put of a
//! one-producer fan-out 2.5x slower (290 ns an item against 103-163 with
//! `parking_lot`, whose waiters spin a little longer first).
//!
//! The state lock is held while a step is pushed to the target, so the
//! decision "someone must forward the next step" and the forward itself are
//! one step for every other thread: nobody can queue an item behind a forward
//! that then fails. Lock order: a serial queue before its target (targets
//! form chains, never cycles). A push to a target that has closed (the platform
//! is shutting down and drains) fails only for a step forwarded by a step: that
//! happens on a worker of the chain's bottom queue, while that queue drains,
//! so the next item runs right there instead, still one at a time.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::ids::{Band, CallbackFlags, QueueId};
use crate::object::callback::{AsyncCallback, CallbackParams};
use crate::object::result::AsyncResult;
use crate::panic::{drop_quietly_on, guard_on, PanicSite};
use crate::sched::Refusal;
use crate::sync::cell::UnsafeCell;
use crate::sync::parking::Mutex;
use crate::work::item::{Refused, Work};
use crate::work::target::Target;

/// Items one step may run back to back before it hands the queue back to its
/// target (a push of the next step). A backlog then costs one push per batch
/// instead of one per item, and the pool's other work waits at most a batch.
const STEP_BATCH: usize = 32;

struct Item {
    work: Work,
    band: Band,
    reply: bool,
}

struct SerialState {
    /// Items behind the current one, oldest first.
    pending: VecDeque<Item>,
    /// A step is forwarded, running, or waiting for its reply.
    busy: bool,
    closed: bool,
    /// Identifies the reply the queue waits for; a stale or second reply is
    /// ignored. Whoever moves the queue on takes it (`Option::take` under the
    /// lock), so two replies racing each other advance the queue once.
    reply_seq: u64,
    awaiting_reply: Option<u64>,
    /// The reply-mode item whose callback is running, by its reply
    /// sequence number (its reply may still come from inside it). Only the
    /// newest such item counts: a reply sent from inside a callback moves the
    /// queue on while that callback is still returning, so the next item's
    /// callback can start before the previous one has returned, and the older
    /// one's return must not clear the newer one's mark.
    invoking: Option<u64>,
    /// The platform is shutting down: no reply can come through it any more,
    /// so reply-mode items no longer hold the queue (see `close_at_shutdown`).
    ignore_replies: bool,
    /// Called once when the queue is closed and idle (releases its target lock).
    on_finished: Option<Box<dyn FnOnce() + Send>>,
}

pub(crate) struct SerialQueue {
    id: QueueId,
    target: Target,
    state: Mutex<SerialState>,
    /// The item the forwarded step will run. Outside the lock: only the
    /// queue's *turn* touches it, and the turn has one holder at a time.
    /// The thread that sets `busy` (under the lock) takes the turn; it
    /// stores the item here and then pushes the step to the target, and
    /// the step's thread, which popped the step, holds the turn from then
    /// on (the target's push and pop order the store before the take). The
    /// turn ends when `advance`, under the lock, finds nothing pending and
    /// clears `busy`. A step therefore takes its item without the lock: one
    /// lock cycle less per hand-off (a queue that a single item at a time
    /// passes through, such as a future woken on it, took three).
    current: UnsafeCell<Option<Item>>,
}

// SAFETY: `current` is reached only by the holder of the queue's turn (see
// its comment), one thread at a time, with the hand-over between threads
// ordered by the lock or by the target queue; everything else is `Sync`.
unsafe impl Sync for SerialQueue {}

impl SerialQueue {
    /// A serial queue over `target`. `on_finished` runs once when the queue has
    /// been closed and has nothing left to run.
    pub(crate) fn new(
        id: QueueId,
        target: Target,
        on_finished: Box<dyn FnOnce() + Send>,
    ) -> Arc<SerialQueue> {
        Arc::new(SerialQueue {
            id,
            target,
            current: UnsafeCell::new(None),
            state: Mutex::new(SerialState {
                pending: VecDeque::new(),
                busy: false,
                closed: false,
                reply_seq: 0,
                awaiting_reply: None,
                invoking: None,
                ignore_replies: false,
                on_finished: Some(on_finished),
            }),
        })
    }

    pub(super) fn push(
        self: &Arc<Self>,
        work: Work,
        band: Band,
        flags: CallbackFlags,
    ) -> Result<(), Refused> {
        let mut state = self.state.lock();
        if state.closed {
            return Err(Refused {
                why: Refusal::Closed,
                job: work,
            });
        }
        let item = Item {
            work,
            band,
            reply: flags.contains(CallbackFlags::REPLY),
        };
        if state.busy {
            state.pending.push_back(item);
            return Ok(());
        }
        state.busy = true;
        // SAFETY: setting `busy` gave this thread the turn.
        unsafe { self.set_current(item) };
        match self
            .target
            .push(Work::new(Arc::clone(self)), band, CallbackFlags::empty())
        {
            Ok(()) => Ok(()),
            Err(refused) => {
                // The target is closing: this item was never accepted.
                state.busy = false;
                // SAFETY: the turn is still this thread's (the step was
                // never pushed); it ends with `busy` cleared above, under
                // the lock this thread still holds.
                let item = unsafe { self.take_current() }.expect("stored above");
                drop(state);
                drop(refused.into_parts().1);
                Err(Refused {
                    why: Refusal::Closed,
                    job: item.work,
                })
            }
        }
    }

    /// Runs the current item (the step forwarded to the target), then moves on
    /// unless the item waits for its reply.
    pub(crate) fn run_step(self: &Arc<Self>) {
        // SAFETY: running the step gives this thread the turn.
        let first = unsafe { self.take_current() };
        self.run_from(first, STEP_BATCH);
    }

    /// Runs `first` and then, while `batch` allows, the items behind it on this
    /// thread; stops early when an item waits for its reply. Past the batch the
    /// next item goes back to the target as a step (or runs here anyway when
    /// the target no longer takes steps).
    fn run_from(self: &Arc<Self>, first: Option<Item>, batch: usize) {
        let mut next = first;
        let mut ran = 0;
        while let Some(item) = next.take() {
            if ran > 0 {
                // The previous item's result is released: a thread woken
                // from its `Invoke` stops waiting for this step of the target
                // here, before this item's user code runs
                // (`sched::Invocation::settle`).
                crate::sched::step_finished();
            }
            ran += 1;
            let awaiting = if item.reply {
                self.run_in_reply_mode(item)
            } else {
                self.run_item(item.work)
            };
            if awaiting {
                return;
            }
            next = self.advance(ran < batch);
        }
    }

    /// Returns `true` if the queue now waits for a reply.
    fn run_in_reply_mode(self: &Arc<Self>, item: Item) -> bool {
        debug_assert_ne!(
            item.work.kind(),
            crate::work::Kind::ComResult,
            "a reply-mode put queues the bare result (put_com_work_item)"
        );
        // An item wrapped for observation is recorded around the same run.
        #[cfg(feature = "observe")]
        let item = match item
            .work
            .downcast::<crate::object::recycle::PooledBox<crate::work::observed::Observed>>()
        {
            Ok(observed) => {
                return crate::work::observed::Observed::run_with(observed, self.id, |work| {
                    self.run_in_reply_mode(Item { work, ..item })
                });
            }
            Err(work) => Item { work, ..item },
        };
        let result = match item.work.downcast::<AsyncResult>() {
            Ok(result) => result,
            Err(work) => return self.run_item(work),
        };
        if !result.has_callback() {
            return self.run_item(Work::new(result));
        }
        let seq = {
            let mut state = self.state.lock();
            state.reply_seq += 1;
            state.awaiting_reply = Some(state.reply_seq);
            state.invoking = Some(state.reply_seq);
            state.reply_seq
        };
        let token: crate::object::callback::Callback = Arc::new(ReplyToken {
            queue: Arc::clone(self),
            seq,
        });
        let reply = result.reply_result(token);
        guard_on(self.id, PanicSite::Invoke, || result.invoke_as(&reply));
        crate::sched::invoke_returned();
        // Dropped outside the unwinding (a panicking Drop would abort there).
        drop_quietly_on(self.id, reply);
        drop_quietly_on(self.id, result);
        let mut state = self.state.lock();
        if state.invoking == Some(seq) {
            state.invoking = None;
        }
        // At shutdown nobody can reply any more: the queue moves on by itself,
        // unless a reply already moved it (then the queue may already wait
        // for a later item, whose wait is not this one's to end).
        let release = state.ignore_replies && state.awaiting_reply == Some(seq);
        if release {
            state.awaiting_reply = None;
        }
        !release
    }

    /// Stores the item the next step runs.
    ///
    /// # Safety
    /// The calling thread holds the queue's turn (see `current`).
    unsafe fn set_current(&self, item: Item) {
        // SAFETY: the turn makes this the only access.
        self.current
            .with_mut(|current| unsafe { *current = Some(item) });
    }

    /// Takes the item the step runs.
    ///
    /// # Safety
    /// As [`set_current`](Self::set_current).
    unsafe fn take_current(&self) -> Option<Item> {
        // SAFETY: the turn makes this the only access.
        self.current
            .with_mut(|current| unsafe { (*current).take() })
    }

    fn run_item(&self, work: Work) -> bool {
        work.run(self.id);
        false
    }

    /// The current item is done: forward the next step, or go idle. Returns
    /// an item to run right here when the target no longer takes steps (it is
    /// draining, and this thread is one of its workers).
    /// With `run_here`, the next item is handed back to run on this thread,
    /// inside the current step (the queue stays busy, so still one at a time).
    fn advance(self: &Arc<Self>, run_here: bool) -> Option<Item> {
        let mut state = self.state.lock();
        state.awaiting_reply = None;
        let Some(item) = state.pending.pop_front() else {
            state.busy = false;
            let finished = if state.closed {
                state.on_finished.take()
            } else {
                None
            };
            drop(state);
            if let Some(finished) = finished {
                finished();
            }
            return None;
        };
        if run_here {
            return Some(item);
        }
        let band = item.band;
        // SAFETY: this thread holds the turn (it runs the step, or took it
        // from a reply or the shutdown's release, under the lock).
        unsafe { self.set_current(item) };
        crate::observe::serial_hand_off(self.id, self.target.id());
        match self
            .target
            .push(Work::new(Arc::clone(self)), band, CallbackFlags::empty())
        {
            Ok(()) => None,
            Err(refused) => {
                // SAFETY: the step was not pushed: the turn is still ours.
                let item = unsafe { self.take_current() };
                drop(state);
                drop(refused.into_parts().1);
                item
            }
        }
    }

    /// The reply for `seq` arrived.
    fn reply(self: &Arc<Self>, seq: u64) {
        {
            let mut state = self.state.lock();
            if state.awaiting_reply != Some(seq) {
                return;
            }
            // Taken, so that a racing second reply (or the shutdown release)
            // finds nothing to do.
            state.awaiting_reply = None;
        }
        crate::observe::reply(self.id);
        // The reply comes on a pool worker. If the target no longer takes
        // steps, this worker runs the rest of the backlog.
        let next = self.advance(false);
        self.run_from(next, 0);
    }

    /// Takes the items waiting behind the current one (a queue given up on
    /// at shutdown: its current item, or the queue below it, does not
    /// return). The current item, if any, stays: it is running or forwarded.
    pub(crate) fn take_backlog(&self) -> Vec<Work> {
        self.state
            .lock()
            .pending
            .drain(..)
            .map(|item| item.work)
            .collect()
    }

    /// The queue's id.
    pub(crate) fn id(&self) -> QueueId {
        self.id
    }

    /// The id of the queue this one forwards its steps to.
    pub(crate) fn target_id(&self) -> QueueId {
        match &self.target {
            Target::Core(core) => core.id(),
            Target::Serial(serial) => serial.id(),
        }
    }

    /// Whether the queue is closed and has nothing left to run.
    pub(crate) fn is_finished(&self) -> bool {
        let state = self.state.lock();
        state.closed && !state.busy
    }

    /// Stops taking items. What is queued still runs; when the queue is idle,
    /// `on_finished` runs (now, if it already is).
    pub(crate) fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        let finished = if state.busy {
            None
        } else {
            state.on_finished.take()
        };
        drop(state);
        if let Some(finished) = finished {
            finished();
        }
    }

    /// [`close`](Self::close) for the platform's last shutdown, called while
    /// the queues below still run. A reply can no longer reach the queue (the
    /// callee's `invoke_callback` is refused once the platform is down), so a
    /// queue waiting for one would strand its backlog: it stops waiting, now
    /// if the waiting item's callback has returned, else as soon as it does,
    /// and reply-mode items behind it no longer wait either. The backlog
    /// drains in order, one item at a time, through the target.
    pub(crate) fn close_at_shutdown(self: &Arc<Self>) {
        let released = {
            let mut state = self.state.lock();
            state.ignore_replies = true;
            if state.invoking.is_some() {
                None
            } else {
                state.awaiting_reply.take()
            }
        };
        self.close();
        if released.is_some() {
            let next = self.advance(false);
            self.run_from(next, 0);
        }
    }
}

/// The callback of a reply result: invoking the reply result moves its serial
/// queue on. It runs on MULTITHREADED, like any completion.
struct ReplyToken {
    queue: Arc<SerialQueue>,
    seq: u64,
}

impl AsyncCallback for ReplyToken {
    fn parameters(&self) -> Option<CallbackParams> {
        Some(CallbackParams::on(QueueId::MULTITHREADED))
    }

    fn invoke(&self, _result: &AsyncResult) {
        self.queue.reply(self.seq);
    }
}

#[cfg(all(test, mfwq_loom))]
#[path = "serial_loom_tests.rs"]
mod loom_tests;
