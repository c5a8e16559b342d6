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
use crate::sync::{lock, Mutex};
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
    /// The item the forwarded step will run.
    current: Option<Item>,
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
}

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
            state: Mutex::new(SerialState {
                pending: VecDeque::new(),
                current: None,
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
        let mut state = lock(&self.state);
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
        state.current = Some(item);
        match self
            .target
            .push(Work::new(Arc::clone(self)), band, CallbackFlags::empty())
        {
            Ok(()) => Ok(()),
            Err(refused) => {
                // The target is closing: this item was never accepted.
                state.busy = false;
                let item = state.current.take().expect("stored above");
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
        let first = lock(&self.state).current.take();
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
            let mut state = lock(&self.state);
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
        // Dropped outside the unwinding (a panicking Drop would abort there).
        drop_quietly_on(self.id, reply);
        drop_quietly_on(self.id, result);
        let mut state = lock(&self.state);
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
        let mut state = lock(&self.state);
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
        state.current = Some(item);
        crate::observe::serial_hand_off(self.id, self.target.id());
        match self
            .target
            .push(Work::new(Arc::clone(self)), band, CallbackFlags::empty())
        {
            Ok(()) => None,
            Err(refused) => {
                let item = state.current.take();
                drop(state);
                drop(refused.into_parts().1);
                item
            }
        }
    }

    /// The reply for `seq` arrived.
    fn reply(self: &Arc<Self>, seq: u64) {
        {
            let mut state = lock(&self.state);
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
        lock(&self.state)
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
        let state = lock(&self.state);
        state.closed && !state.busy
    }

    /// Stops taking items. What is queued still runs; when the queue is idle,
    /// `on_finished` runs (now, if it already is).
    pub(crate) fn close(&self) {
        let mut state = lock(&self.state);
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
            let mut state = lock(&self.state);
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

/// Loom models of the serial hand-off: `RUSTFLAGS="--cfg mfwq_loom" cargo test -p mfwq --lib --release loom_serial`.
#[cfg(all(test, mfwq_loom))]
mod loom_tests {
    use super::*;
    use crate::sync::model;
    use crate::work::item::QueueCore;
    use loom::sync::atomic::{AtomicUsize, Ordering};

    /// Pushes a task that records its label and fails the model if another
    /// item of the queue runs at the same time.
    fn push_probe(
        serial: &Target,
        label: usize,
        running: &Arc<AtomicUsize>,
        log: &Arc<Mutex<Vec<usize>>>,
    ) {
        let (running, log) = (Arc::clone(running), Arc::clone(log));
        let task = Work::closure(move || {
            assert_eq!(
                running.fetch_add(1, Ordering::SeqCst),
                0,
                "two items of a serial queue at once"
            );
            lock(&log).push(label);
            running.fetch_sub(1, Ordering::SeqCst);
        });
        assert!(serial
            .push(task, Band::Normal, CallbackFlags::empty())
            .is_ok());
    }

    /// A serial queue over a one-thread core, and the count of its
    /// `on_finished` calls.
    fn serial_over_one_thread() -> (Arc<QueueCore>, Arc<SerialQueue>, Arc<AtomicUsize>) {
        let core = QueueCore::new(QueueId(0x10001), "one".into(), 1, None);
        let finished = Arc::new(AtomicUsize::new(0));
        let serial = {
            let finished = Arc::clone(&finished);
            SerialQueue::new(
                QueueId(0x20001),
                Target::Core(Arc::clone(&core)),
                Box::new(move || {
                    finished.fetch_add(1, Ordering::SeqCst);
                }),
            )
        };
        (core, serial, finished)
    }

    /// Two producers race on a serial queue over a core: every item runs once,
    /// one at a time, in each producer's order; closing after the pushes loses
    /// nothing and the queue reports itself finished once.
    #[test]
    fn loom_serial_two_producers() {
        model(|| {
            let core = QueueCore::new(QueueId(0x10001), "pool".into(), 2, None);
            let finished = Arc::new(AtomicUsize::new(0));
            let on_finished = {
                let finished = Arc::clone(&finished);
                Box::new(move || {
                    finished.fetch_add(1, Ordering::SeqCst);
                })
            };
            let serial = Target::Serial(SerialQueue::new(
                QueueId(0x20001),
                Target::Core(Arc::clone(&core)),
                on_finished,
            ));
            let running = Arc::new(AtomicUsize::new(0));
            let log = Arc::new(Mutex::new(Vec::new()));
            let producer = {
                let (serial, running, log) =
                    (serial.clone(), Arc::clone(&running), Arc::clone(&log));
                loom::thread::spawn(move || {
                    push_probe(&serial, 10, &running, &log);
                    push_probe(&serial, 11, &running, &log);
                })
            };
            push_probe(&serial, 20, &running, &log);
            producer.join().unwrap();
            if let Target::Serial(serial) = &serial {
                serial.close();
            }
            core.close();
            core.join();
            let log = lock(&log).clone();
            assert_eq!(log.len(), 3, "every item ran exactly once: {log:?}");
            let first: Vec<_> = log
                .iter()
                .filter(|&&label| label >= 10 && label < 20)
                .collect();
            assert_eq!(first, [&10, &11], "FIFO per producer");
            assert_eq!(finished.load(Ordering::SeqCst), 1, "finished exactly once");
        });
    }

    /// Reply mode: the next item waits for the reply, which comes from another
    /// thread while the first step may still be returning.
    #[test]
    fn loom_serial_reply_from_another_thread() {
        model(|| {
            let core = QueueCore::new(QueueId(0x10001), "one".into(), 1, None);
            let serial = SerialQueue::new(
                QueueId(0x20001),
                Target::Core(Arc::clone(&core)),
                Box::new(|| {}),
            );
            let reply_seq = Arc::new(AtomicUsize::new(0));
            let second_ran = Arc::new(AtomicUsize::new(0));
            // Stand-in for a reply-mode item: mark the queue as waiting for reply 1.
            {
                let mut state = lock(&serial.state);
                state.busy = true;
                state.reply_seq = 1;
                state.awaiting_reply = Some(1);
            }
            reply_seq.store(1, Ordering::SeqCst);
            let second = {
                let second_ran = Arc::clone(&second_ran);
                Work::closure(move || {
                    second_ran.fetch_add(1, Ordering::SeqCst);
                })
            };
            assert!(serial
                .push(second, Band::Normal, CallbackFlags::empty())
                .is_ok());
            assert_eq!(second_ran.load(Ordering::SeqCst), 0);
            let replier = {
                let serial = Arc::clone(&serial);
                loom::thread::spawn(move || {
                    serial.reply(1);
                    serial.reply(1); // a second reply changes nothing
                })
            };
            replier.join().unwrap();
            serial.close();
            core.close();
            core.join();
            assert_eq!(second_ran.load(Ordering::SeqCst), 1);
        });
    }

    /// Shutdown releasing a reply wait races the real reply: the queue moves
    /// on exactly once, and the item behind runs exactly once.
    #[test]
    fn loom_serial_shutdown_release_races_the_reply() {
        model(|| {
            let (core, serial, finished) = serial_over_one_thread();
            {
                let mut state = lock(&serial.state);
                state.busy = true;
                state.reply_seq = 1;
                state.awaiting_reply = Some(1);
            }
            let second_ran = Arc::new(AtomicUsize::new(0));
            let second = {
                let second_ran = Arc::clone(&second_ran);
                Work::closure(move || {
                    second_ran.fetch_add(1, Ordering::SeqCst);
                })
            };
            assert!(serial
                .push(second, Band::Normal, CallbackFlags::empty())
                .is_ok());
            let replier = {
                let serial = Arc::clone(&serial);
                loom::thread::spawn(move || serial.reply(1))
            };
            serial.close_at_shutdown();
            replier.join().unwrap();
            core.close();
            core.join();
            assert_eq!(second_ran.load(Ordering::SeqCst), 1, "ran exactly once");
            assert_eq!(finished.load(Ordering::SeqCst), 1, "finished exactly once");
        });
    }

    /// A reply sent while its item's callback is still running moves the
    /// queue on at once, so the next reply-mode item's callback can start on
    /// another thread before the first one has returned (here: the reply's
    /// step is refused by the closing target and runs on the replying
    /// thread). The first callback's return must not end the second item's
    /// wait: at shutdown every item still runs, exactly once, and the queue
    /// finishes. (Fails if the end of an invocation clears whatever wait is
    /// current instead of its own.)
    #[test]
    fn loom_serial_overlapping_reply_mode_callbacks_at_shutdown() {
        model(|| {
            let (core, serial, finished) = serial_over_one_thread();
            let ran = Arc::new([(); 3].map(|()| AtomicUsize::new(0)));
            for index in 0..2 {
                let ran = Arc::clone(&ran);
                let callback = crate::object::callback::callback(move |_| {
                    ran[index].fetch_add(1, Ordering::SeqCst);
                });
                let result = AsyncResult::with_callback(callback, None);
                assert!(serial
                    .push(Work::new(result), Band::Normal, CallbackFlags::REPLY)
                    .is_ok());
            }
            {
                let ran = Arc::clone(&ran);
                let third = Work::closure(move || {
                    ran[2].fetch_add(1, Ordering::SeqCst);
                });
                assert!(serial
                    .push(third, Band::Normal, CallbackFlags::empty())
                    .is_ok());
            }
            // The first item's reply, from another thread: it counts only
            // while the first item waits for it.
            let replier = {
                let serial = Arc::clone(&serial);
                loom::thread::spawn(move || serial.reply(1))
            };
            serial.close_at_shutdown();
            core.close();
            replier.join().unwrap();
            core.join();
            let counts: Vec<_> = ran
                .iter()
                .map(|count| count.load(Ordering::SeqCst))
                .collect();
            assert_eq!(counts, [1, 1, 1], "every item ran exactly once");
            assert_eq!(finished.load(Ordering::SeqCst), 1, "finished exactly once");
        });
    }
}
