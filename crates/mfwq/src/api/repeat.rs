//! [`Queue::every`](crate::Queue::every): a closure run on a queue at a
//! period of the caller's choosing, as a chain of scheduled items.
//!
//! `MFAddPeriodicCallback` ticks every 10 ms on the TIMER queue; a video
//! source wants 16.67 ms, an audio device 2.667 ms, and on its own queue.
//! Each run schedules the next one at the previous deadline plus the period
//! (the cadence does not drift with the closure's run time; ticks missed
//! after a stall are skipped, not bunched). The closure runs outside any
//! lock; [`Repeating::stop`] (or dropping the guard) cancels the pending item
//! and, when the closure is running, stops the chain as it returns; so does
//! unlocking the private queue it runs on. A panic in the closure is caught
//! and reported like any callback's, and the chain goes on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::ids::QueueId;
use crate::timer::{cancel_work_item, schedule_work_item, WorkItemKey};

type Task = Box<dyn FnMut() + Send>;

struct Chain {
    queue: QueueId,
    period: Duration,
    state: Mutex<State>,
}

struct State {
    /// `None` while the closure runs (or after the chain stopped).
    task: Option<Task>,
    /// The deadline of the pending item.
    next: Instant,
    /// The pending item, to cancel.
    key: Option<WorkItemKey>,
    stopped: bool,
}

/// A closure repeating on a queue ([`Queue::every`](crate::Queue::every)):
/// stops when dropped, or by [`stop`](Repeating::stop).
#[must_use = "dropping a Repeating stops it"]
pub struct Repeating {
    chain: Arc<Chain>,
}

impl std::fmt::Debug for Repeating {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repeating")
            .field("queue", &self.chain.queue)
            .field("period", &self.chain.period)
            .finish()
    }
}

/// Starts the chain: the first run one `period` from now.
pub(crate) fn start(queue: QueueId, period: Duration, task: Task) -> Result<Repeating> {
    if period.is_zero() {
        return Err(Error::InvalidArg);
    }
    let chain = Arc::new(Chain {
        queue,
        period,
        state: Mutex::new(State {
            task: Some(task),
            next: crate::platform::deadline_after(Instant::now(), period),
            key: None,
            stopped: false,
        }),
    });
    {
        let mut state = chain.state.lock();
        let key = schedule_next(&chain, state.next)?;
        state.key = Some(key);
    }
    Ok(Repeating { chain })
}

/// Schedules the run due at `deadline` (at once if it has passed).
fn schedule_next(chain: &Arc<Chain>, deadline: Instant) -> Result<WorkItemKey> {
    let fire = Arc::clone(chain);
    let callback = crate::object::callback::callback_on(chain.queue, move |_| run(&fire));
    schedule_work_item(
        callback,
        None,
        deadline.saturating_duration_since(Instant::now()),
    )
}

/// One run: the closure, then the next item unless the chain stopped. A
/// private queue that has gone ends the chain (the platform would run a
/// due item on STANDARD instead, and the chain would go on there).
fn run(chain: &Arc<Chain>) {
    let gone = chain.queue.is_private() && crate::queue::work_queue_type(chain.queue).is_err();
    let mut task = {
        let mut state = chain.state.lock();
        if gone {
            state.stopped = true;
            state.key = None;
        }
        if state.stopped {
            let task = state.task.take();
            drop(state);
            crate::panic::drop_quietly(task);
            return;
        }
        state.key = None;
        match state.task.take() {
            Some(task) => task,
            None => return,
        }
    };
    crate::panic::guard(crate::panic::PanicSite::Invoke, &mut task);
    let mut state = chain.state.lock();
    if state.stopped {
        drop(state);
        crate::panic::drop_quietly(task);
        return;
    }
    state.task = Some(task);
    let now = Instant::now();
    let mut next = state.next + chain.period;
    if next <= now {
        // Skip the ticks a stall missed; keep the phase.
        let behind = now.duration_since(next).as_nanos();
        let periods = behind / chain.period.as_nanos() + 1;
        next += chain.period * u32::try_from(periods).unwrap_or(u32::MAX);
    }
    state.next = next;
    match schedule_next(chain, next) {
        Ok(key) => state.key = Some(key),
        // The platform is shutting down: the chain ends with it.
        Err(_) => {
            state.stopped = true;
            let task = state.task.take();
            drop(state);
            crate::panic::drop_quietly(task);
        }
    }
}

impl Repeating {
    /// Stops the chain: the pending run is cancelled; a run in progress
    /// finishes and is the last. The closure is dropped (here, or where the
    /// run in progress returns).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// let _platform = mfwq::Platform::start()?;
    /// let ticks = Arc::new(AtomicUsize::new(0));
    /// let counter = ticks.clone();
    /// let repeating = mfwq::Queue::STANDARD.every(Duration::from_millis(2), move || {
    ///     counter.fetch_add(1, Ordering::SeqCst);
    /// })?;
    /// while ticks.load(Ordering::SeqCst) < 3 {
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// repeating.stop();
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn stop(self) {
        drop(self);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.chain.period
    }
}

impl Drop for Repeating {
    fn drop(&mut self) {
        let (key, task) = {
            let mut state = self.chain.state.lock();
            state.stopped = true;
            (state.key.take(), state.task.take())
        };
        if let Some(key) = key {
            // NotFound: it fired meanwhile and sees `stopped`.
            let _ = cancel_work_item(key);
        }
        crate::panic::drop_quietly(task);
    }
}
