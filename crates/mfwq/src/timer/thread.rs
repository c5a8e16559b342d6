//! One epoch's timer state and the thread that fires it (see the module
//! docs of `timer`): scheduled items, periodic callbacks, the futures'
//! alarms (`alarm.rs`) and the key map of waiting items under one mutex,
//! the `mfwq-timekeeper` thread that sleeps until the earliest deadline,
//! and the stop at the last shutdown. How items enter and leave from the
//! callers' side (schedule, cancel, the inbox) is `entry.rs`.

use crate::observe::{
    self,
    event::{KeyStep, Keyed},
};
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::alarm::{AlarmHeap, Inbox};
use super::deadlines::{Deadlines, KeyMap};
use super::item::{Owed, Periodic, RunGuard, PERIOD};
use super::wait::WaitItem;
use crate::error::{Error, Result};
use crate::ids::QueueId;
use crate::object::result::AsyncResult;
use crate::sched::Fifo;
use crate::sync::pi::{Condvar, Mutex, MutexGuard};
use crate::sync::thread::{self, JoinHandle};
use crate::sync::{fence, Arc, AtomicBool, AtomicU64};
use std::task::Waker;

/// The timer machinery of one epoch (see the module docs).
pub(crate) struct Timers {
    pub(crate) shared: Arc<Shared>,
}

/// What the timer thread and the API calls share. `R` is what an item owes
/// its callback ([`Owed`]): the item's result; the loom models
/// (`loom_tests.rs`) run this very code with a payload that records its fate.
pub(crate) struct Shared<R: Owed = AsyncResult> {
    /// Priority-inheriting (`crate::sync::pi`): any thread of the process
    /// schedules, and the timekeeper may be real-time.
    pub(super) state: Mutex<TimerState<R>>,
    wake: Condvar,
    /// New scheduled items, pushed without the lock; whoever takes the lock
    /// next moves them into the pending sets (see "The inbox" at
    /// [`Shared::enter`]).
    pub(super) inbox: Fifo<Inbound<R>>,
    /// New alarm armings, the same way (`alarm.rs`).
    pub(super) alarm_inbox: Inbox<R>,
    /// The time the timekeeper last read, as [`Shared::encode`] writes it:
    /// an alarm due by then is due without the timer.
    pub(super) keeper_now: AtomicU64,
    /// Until when the timekeeper sleeps, as [`Shared::encode`] writes it: 0
    /// while it is busy (it looks into the inbox before it sleeps again),
    /// `u64::MAX` while it sleeps until woken. Written by the timekeeper and
    /// by a wake-up, both under the lock; read without it by `enter` and
    /// `enter_alarm`.
    pub(super) keeper_until: AtomicU64,
    /// The origin of `keeper_until`'s time.
    origin: Instant,
    /// The timekeeper was started (the lock-free path skips `ensure_thread`).
    pub(super) started: AtomicBool,
    /// Set by `stop`: an alarm entered after it must end itself.
    pub(super) closed: AtomicBool,
}

pub(super) struct TimerState<R: Owed> {
    pub(super) stopped: bool,
    pub(super) scheduled: Deadlines<R>,
    pub(super) periodic: Deadlines<Arc<Periodic>>,
    /// The futures' alarms by deadline (`alarm.rs`).
    pub(super) alarms: AlarmHeap<R>,
    /// Pending waiting items by key (the event holds them too; see `wait.rs`).
    pub(super) waits: KeyMap<Arc<WaitItem<R>>>,
    thread: ThreadState,
}

/// The timekeeper thread. Whether it is busy or sleeping, and until when,
/// is `Shared::keeper_until`.
enum ThreadState {
    NotStarted,
    Running(JoinHandle<()>),
    /// Taken by `stop`.
    Gone,
}

/// A scheduled item entering the timer through its inbox.
pub(super) struct Inbound<R> {
    pub(super) key: u64,
    pub(super) deadline: Instant,
    pub(super) result: R,
}

/// What a refused call hands back, to be dropped after the lock is released.
pub(crate) type Refused<T> = (Error, Option<T>);

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            shared: Shared::new(),
        }
    }

    /// The last shutdown: see [`Shared::stop`].
    pub(crate) fn stop(&self, deadline: Instant) {
        self.shared.stop(deadline);
    }
}

impl Timers {
    /// The timers of `epoch`, made on first use.
    #[inline]
    pub(crate) fn of(epoch: &crate::platform::Epoch) -> Result<&Timers> {
        epoch.service(Timers::new)
    }
}

impl crate::platform::EpochService for Timers {
    fn shutdown_started(&self) {
        self.shared.end_alarms();
    }

    fn stop(&self, deadline: Instant) {
        Timers::stop(self, deadline);
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Drop for Timers {
    fn drop(&mut self) {
        self.stop(Instant::now());
    }
}

impl<R: Owed> Shared<R> {
    pub(crate) fn new() -> Arc<Shared<R>> {
        Arc::new(Shared {
            state: Mutex::new(TimerState {
                stopped: false,
                scheduled: Deadlines::new(),
                periodic: Deadlines::new(),
                alarms: AlarmHeap::with_capacity(super::deadlines::ROOM),
                waits: KeyMap::with_capacity_and_hasher(super::deadlines::ROOM, Default::default()),
                thread: ThreadState::NotStarted,
            }),
            wake: Condvar::new(),
            inbox: Fifo::new(),
            alarm_inbox: Inbox::new(),
            keeper_now: AtomicU64::new(0),
            keeper_until: AtomicU64::new(0),
            origin: Instant::now(),
            started: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        })
    }

    /// The last shutdown: pending timers never fire (their results leak, as
    /// observed); pending waits are invoked with `MF_E_SHUTDOWN`.
    ///
    /// Empties every pending set under the lock (so nothing pending can fire
    /// any more, and a racing cancel sees `Shutdown`), leaks the results of
    /// scheduled items, completes waiting items with `MF_E_SHUTDOWN`, releases
    /// the periodic contexts, and stops the timer thread, waiting for it
    /// (until `deadline`) unless this is that thread.
    pub(crate) fn stop(&self, deadline: Instant) {
        let (scheduled, periodic, waits, alarms, thread) = {
            let mut state = self.state.lock();
            if state.stopped {
                return;
            }
            state.stopped = true;
            self.closed.store(true, Ordering::SeqCst);
            // What entered before `closed` is pending like the rest.
            self.take_inbox(&mut state);
            let thread = match std::mem::replace(&mut state.thread, ThreadState::Gone) {
                ThreadState::Running(handle) => Some(handle),
                ThreadState::NotStarted | ThreadState::Gone => None,
            };
            self.wake.notify_all();
            let waits: Vec<_> = state.waits.drain().map(|(_, item)| item).collect();
            let alarms = end_all(&mut state.alarms);
            (
                state.scheduled.drain(),
                state.periodic.drain(),
                waits,
                alarms,
                thread,
            )
        };
        wake_all(alarms, KeyStep::Cancelled);
        // After `closed`: what enters later is ended by whoever pushed it
        // (`enter`); this catches what entered between.
        self.end_inbox();
        let leaked = scheduled.len();
        for result in scheduled {
            // docs/behaviour.md#w15 / #w56: the pending item keeps its result, and with it
            // a platform lock, for ever.
            result.leak();
        }
        for item in waits {
            super::wait::stop(item);
        }
        crate::panic::drop_quietly(periodic);
        if leaked > 0 {
            tracing::debug!(leaked, "pending scheduled items never fire (shut down)");
        }
        if let Some(handle) = thread {
            if handle.thread().id() != thread::current().id() {
                // The thread runs user code (a firing item's `parameters()`, the
                // `Drop` of a refused result): wait for it only until the deadline.
                if thread::join_until(handle, deadline).is_err() {
                    tracing::error!(
                        "shutdown stopped waiting for the timer thread; it is left running"
                    );
                }
            }
        }
    }

    /// `deadline` as `keeper_until` holds it: nanoseconds since `origin`,
    /// plus one (0 means busy), below `u64::MAX` (sleeping until woken).
    pub(super) fn encode(&self, deadline: Instant) -> u64 {
        let nanos = deadline.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(nanos)
            .unwrap_or(u64::MAX - 2)
            .min(u64::MAX - 2)
            + 1
    }

    /// `encode`'s inverse.
    fn decode(&self, deadline: u64) -> Instant {
        self.origin + std::time::Duration::from_nanos(deadline.saturating_sub(1))
    }

    /// Ends what waits in the inboxes after the stop: as the stop ends the
    /// pending sets (alarms under the lock, as every ring is).
    pub(super) fn end_inbox(&self) {
        while let Some(entry) = self.inbox.pop() {
            entry.result.leak();
        }
        let mut wakers = Vec::new();
        {
            let _state = self.state.lock();
            self.alarm_inbox.take(|alarm| {
                wakers.push((alarm.id(), alarm.ring(false)));
            });
        }
        wake_all(wakers, KeyStep::Cancelled);
    }

    /// The shutdown is starting: every armed alarm ends with
    /// `Err(Shutdown)` now, while its task's queue still runs the task's
    /// last poll. (One armed later ends when the timers stop.)
    pub(crate) fn end_alarms(&self) {
        let alarms = {
            let mut state = self.state.lock();
            self.take_inbox(&mut state);
            end_all(&mut state.alarms)
        };
        wake_all(alarms, KeyStep::Cancelled);
    }

    /// Starts the timer thread on first use.
    pub(super) fn ensure_thread(self: &Arc<Self>, state: &mut TimerState<R>) -> Result<()> {
        if !matches!(state.thread, ThreadState::NotStarted) {
            return Ok(());
        }
        let shared = Arc::clone(self);
        match thread::Builder::new()
            .name("mfwq-timekeeper".into())
            .spawn(move || shared.run())
        {
            Ok(handle) => {
                state.thread = ThreadState::Running(handle);
                self.started.store(true, Ordering::Release);
                Ok(())
            }
            Err(error) => {
                tracing::error!(%error, "cannot start the timer thread");
                Err(Error::OutOfMemory)
            }
        }
    }

    /// Wakes the timer thread if it sleeps past `deadline`. Called with the
    /// lock held (`held`): the thread decides to sleep and waits under it,
    /// so the notification cannot fall between the two.
    pub(super) fn wake_for(&self, held: &mut TimerState<R>, deadline: Instant) {
        self.wake_for_encoded(held, self.encode(deadline));
    }

    /// [`wake_for`](Self::wake_for) a deadline as `encode` writes it.
    pub(super) fn wake_for_encoded(&self, _held: &mut TimerState<R>, deadline: u64) {
        if deadline < self.keeper_until.load(Ordering::SeqCst) {
            // Busy from here: a second schedule does not notify again.
            self.keeper_until.store(0, Ordering::SeqCst);
            self.wake.notify_one();
        }
    }

    /// The timer thread.
    fn run(self: Arc<Self>) {
        set_timer_slack();
        // The TIMER queue's real-time policy, if it has one (not modelled
        // under loom: no thread ids there).
        #[cfg(not(mfwq_loom))]
        super::keeper_policy::timekeeper_started();
        self.run_loop();
        #[cfg(not(mfwq_loom))]
        super::keeper_policy::timekeeper_stopped();
    }

    fn run_loop(self: &Arc<Self>) {
        let mut due: Vec<(u64, Instant, R)> = Vec::new();
        let mut ticks: Vec<(u64, Instant, Arc<Periodic>)> = Vec::new();
        let mut runs: Vec<(u64, RunGuard)> = Vec::new();
        let mut rings: Vec<(u64, Option<Waker>)> = Vec::new();
        let mut state = self.state.lock();
        loop {
            if state.stopped {
                break;
            }
            self.take_inbox(&mut state);
            let now = Instant::now();
            let encoded_now = self.encode(now);
            self.keeper_now.store(encoded_now, Ordering::Relaxed);
            state.scheduled.pop_due(now, &mut due);
            state.periodic.pop_due(now, &mut ticks);
            while let Some(alarm) = state.alarms.pop_due(encoded_now) {
                rings.push((alarm.id(), alarm.ring(true)));
            }
            for (key, deadline, entry) in ticks.drain(..) {
                // Keep the cadence; after a stall, skip the missed ticks.
                let mut next = deadline + PERIOD;
                if next <= now {
                    next = now + PERIOD;
                }
                if entry
                    .running
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    runs.push((key, RunGuard(Arc::clone(&entry))));
                }
                state.periodic.insert(key, next, entry);
            }
            if !due.is_empty() || !runs.is_empty() || !rings.is_empty() {
                MutexGuard::unlocked(&mut state, || {
                    for (id, waker) in rings.drain(..) {
                        observe::key(Keyed::Timer, id, KeyStep::Fired);
                        wake(waker);
                    }
                    for (key, _, result) in due.drain(..) {
                        observe::key(Keyed::Timer, key, KeyStep::Fired);
                        result.complete(None, key, "scheduled item expired");
                    }
                    for (key, run) in runs.drain(..) {
                        observe::key(Keyed::Timer, key, KeyStep::Fired);
                        let spawned = crate::platform::dispatch::spawn(QueueId::TIMER, move || {
                            let run = run;
                            // Caught here, so that `run` (maybe the last
                            // reference to the context) is dropped after the
                            // unwinding, not during it.
                            crate::panic::guard(crate::panic::PanicSite::Invoke, || {
                                (run.0.callback)(run.0.context.as_ref())
                            });
                            crate::panic::drop_quietly(run);
                        });
                        if let Err(error) = spawned {
                            tracing::debug!(%error, "periodic tick not dispatched");
                        }
                    }
                });
                continue;
            }
            let next = [
                state.scheduled.next_deadline(),
                state.periodic.next_deadline(),
                state.alarms.next_deadline().map(|next| self.decode(next)),
            ]
            .into_iter()
            .flatten()
            .min();
            self.keeper_until.store(
                next.map_or(u64::MAX, |next| self.encode(next)),
                Ordering::SeqCst,
            );
            // The other half of `enter`'s Dekker pair.
            fence(Ordering::SeqCst);
            if let Some(entry) = self.inbox.pop() {
                admit(&mut state, entry);
                self.keeper_until.store(0, Ordering::SeqCst);
                continue;
            }
            if !self.alarm_inbox.is_empty() {
                self.keeper_until.store(0, Ordering::SeqCst);
                continue;
            }
            match next {
                Some(deadline) => {
                    self.wake.wait_until(&mut state, deadline);
                }
                None => self.wake.wait(&mut state),
            }
            self.keeper_until.store(0, Ordering::SeqCst);
        }
    }

    /// Moves the inboxes' entries into the pending sets.
    pub(super) fn take_inbox(&self, state: &mut TimerState<R>) {
        let withheld = self.take_inbox_withholding(state, None);
        debug_assert!(withheld.is_none());
    }

    /// Moves the inboxes' entries into the pending sets, except the scheduled
    /// item `key` if it is among them, which it returns instead. A cancel
    /// that follows its schedule closely finds its item still in the inbox;
    /// taken out here, the item costs no insert into the heap and the map and
    /// no removal from them (and leaves no stale heap entry to skip).
    pub(super) fn take_inbox_withholding(
        &self,
        state: &mut TimerState<R>,
        key: Option<u64>,
    ) -> Option<R> {
        let mut withheld = None;
        while let Some(entry) = self.inbox.pop() {
            if Some(entry.key) == key {
                withheld = Some(entry.result);
            } else {
                admit(state, entry);
            }
        }
        self.admit_alarms(state);
        withheld
    }

    /// Moves the alarm inbox's alarms into the heap.
    pub(super) fn admit_alarms(&self, state: &mut TimerState<R>) {
        let alarms = &mut state.alarms;
        self.alarm_inbox.take(|alarm| alarms.push(alarm));
    }
}

/// Puts a scheduled item from the inbox into its pending set.
fn admit<R: Owed>(state: &mut TimerState<R>, entry: Inbound<R>) {
    state
        .scheduled
        .insert(entry.key, entry.deadline, entry.result);
}

/// Ends every alarm in `alarms` with `Err(Shutdown)`, under the timer's
/// lock; returns their wakers, to wake once it is released.
fn end_all<R: Owed>(alarms: &mut AlarmHeap<R>) -> Vec<(u64, Option<Waker>)> {
    alarms
        .take_all()
        .into_iter()
        .map(|alarm| (alarm.id(), alarm.ring(false)))
        .collect()
}

/// Wakes what rings took, with no lock held; `step` is the trace's for
/// each alarm.
fn wake_all(wakers: Vec<(u64, Option<Waker>)>, step: KeyStep) {
    for (id, waker) in wakers {
        observe::key(Keyed::Timer, id, step);
        wake(waker);
    }
}

/// Wakes a task; a panicking waker is caught and reported.
fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        crate::panic::guard(crate::panic::PanicSite::Invoke, || waker.wake());
    }
}

/// Asks the kernel to wake the timer thread within 1 ns of its deadline
/// rather than the default 50 us slack.
/// (Not under Miri, which has no `prctl`.)
fn set_timer_slack() {
    #[cfg(all(target_os = "linux", not(miri)))]
    // SAFETY: PR_SET_TIMERSLACK takes an integer and affects only this thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}
