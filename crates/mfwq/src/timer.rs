//! Scheduled items, periodic callbacks and cancellation (`MFScheduleWorkItem`,
//! `MFAddPeriodicCallback`, `MFCancelWorkItem`; docs/behaviour.md#scheduled and
//! docs/behaviour.md#periodic). Waiting items are in
//! `wait.rs`; they share the key space, the cancel entry point and the
//! shutdown path with the items here.
//!
//! # Design
//!
//! Each epoch has one [`Timers`]: a mutex-protected state with two
//! [`Deadlines`] sets (scheduled items and periodic callbacks: a binary heap of
//! `(deadline, key)` plus a hash map `key -> (deadline, item)`) and the map of
//! pending waiting items, and one thread, `mfwq-timekeeper`, started on first use,
//! that sleeps on a condition variable until the earliest deadline. The
//! thread's timer slack is set to 1 ns so that a 1 ms timer is not woken tens
//! of microseconds late.
//!
//! - **Schedule** takes the lock, inserts, and wakes the thread only when the
//!   new deadline is earlier than the one it sleeps until.
//! - **Fire**: the thread takes every due item out of the map under the lock,
//!   then, with the lock released, hands each result to
//!   [`invoke_callback`](crate::invoke_callback), so the callback runs on the
//!   queue its parameters name, never on the timer thread.
//! - **Cancel** removes the key from the map under the same lock: whoever
//!   removes the entry (the firing thread, cancel, or shutdown) owns the item,
//!   so exactly one of them wins and the other sees it gone. Cancel drops the
//!   result before it returns, which releases the callback (docs/behaviour.md#w37). The
//!   heap entry stays behind and is skipped when it comes up (lazy deletion;
//!   the heap is compacted when stale entries outnumber live ones).
//! - **Shutdown** ([`Timers::stop`]) empties everything under the lock, so that
//!   nothing pending fires any more, and *leaks* the pending scheduled
//!   results (`mem::forget`), as Windows does: they keep their platform lock
//!   (docs/behaviour.md#w15, #w56). Waiting items' results and periodic callbacks'
//!   contexts are released.
//!
//! Waiting items are decided by an atomic [`Claim`] instead, because a set
//! event fires them without the timer lock (see `wait.rs`).

use std::cell::UnsafeCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::dispatch::IntoAsyncResult;
use crate::error::{Error, Result};
use crate::ids::QueueId;
use crate::panic::Refusable;
use crate::platform::PLATFORM;
use crate::result::{AsyncResult, State};
use crate::wait::WaitItem;
use crate::Callback;

/// The key of a scheduled or waiting item (`MFWORKITEM_KEY`, a 64-bit value),
/// for [`cancel_work_item`].
///
/// The high 32 bits say what kind of item it is (`0x8000_0000` scheduled,
/// `0x8200_0000` waiting); the low 32 bits come from one process-wide counter
/// that starts at 1, so a key is never reused while an item could still use it.
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let key = mfwq::schedule_work_item(mfwq::callback(|_| {}), None, Duration::from_secs(60))?;
/// assert_eq!(key.0 >> 32, 0x8000_0000);
/// mfwq::cancel_work_item(key)?;
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFWORKITEM_KEY")]
#[doc(alias = "RTWQWORKITEM_KEY")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkItemKey(pub u64);

/// The key of a periodic callback, for [`remove_periodic_callback`]; never 0
/// (docs/behaviour.md#w45).
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let key = mfwq::add_periodic_callback(|_| {}, None)?;
/// assert_ne!(key.0, 0);
/// mfwq::remove_periodic_callback(key)?;
/// # Ok::<(), mfwq::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeriodicKey(pub u32);

/// High dword of a scheduled item's key (as in Wine).
pub(crate) const SCHEDULED_TAG: u32 = 0x8000_0000;
/// High dword of a waiting item's key.
pub(crate) const WAITING_TAG: u32 = 0x8200_0000;

/// The interval of periodic callbacks (`MFGetTimerPeriodicity`: 10 ms).
const PERIOD: Duration = Duration::from_millis(10);

static NEXT_KEY: AtomicU32 = AtomicU32::new(1);
static NEXT_PERIODIC_KEY: AtomicU32 = AtomicU32::new(1);

/// The next value of a process-wide 32-bit counter that starts at 1 and skips 0
/// when it wraps.
fn next_counter(counter: &AtomicU32) -> u32 {
    loop {
        let value = counter.fetch_add(1, Ordering::Relaxed);
        if value != 0 {
            return value;
        }
    }
}

/// A fresh item key with the given high dword.
pub(crate) fn next_key(tag: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(next_counter(&NEXT_KEY))
}

pub(crate) use crate::platform::deadline_after;

/// The delay a C timeout in milliseconds stands for (`MFScheduleWorkItem`'s
/// `Timeout`, `INT64`): a negative value is a relative delay of that many
/// milliseconds (`-5000` is 5 s); zero or a positive value means "as soon as
/// possible" (docs/behaviour.md#d16: Windows reads a positive value as an absolute time
/// that lies in the past).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(mfwq::delay_from_mf_timeout(-5000), Duration::from_secs(5));
/// assert_eq!(mfwq::delay_from_mf_timeout(0), Duration::ZERO);
/// assert_eq!(mfwq::delay_from_mf_timeout(250), Duration::ZERO);
/// ```
pub fn delay_from_mf_timeout(timeout_ms: i64) -> Duration {
    if timeout_ms < 0 {
        Duration::from_millis(timeout_ms.unsigned_abs())
    } else {
        Duration::ZERO
    }
}

/// The interval at which periodic callbacks run: 10 ms (`MFGetTimerPeriodicity`,
/// docs/behaviour.md#w44).
///
/// ```
/// assert_eq!(mfwq::timer_periodicity(), std::time::Duration::from_millis(10));
/// ```
#[doc(alias = "MFGetTimerPeriodicity")]
pub fn timer_periodicity() -> Duration {
    PERIOD
}

/// `MFScheduleWorkItem(callback, state, timeout, &key)`: wraps `callback` and
/// `state` in a new result, as [`put_work_item`](crate::put_work_item) does,
/// and invokes it once `delay` has passed; returns the key that cancels it.
///
/// On expiry the result goes through [`invoke_callback`](crate::invoke_callback),
/// so the callback runs on the queue its parameters name (STANDARD by default),
/// never on the timer's own thread. It never runs before `delay` has passed
/// and, on an idle machine, a fraction of a millisecond after. `Duration::ZERO`
/// runs it as soon as possible; from a C timeout use [`delay_from_mf_timeout`].
/// If the callback's queue cannot take it at expiry (a private queue unlocked
/// meanwhile), it runs on STANDARD: the schedule promised one invocation. A
/// callback whose flags fit no queue it may name (FAST_IO or SIGNAL outside
/// IO and TIMER) could never be dispatched, so the call refuses it at once
/// with [`Error::InvalidWorkQueue`].
///
/// The internal result is an ordinary result and holds a platform lock while it
/// lives (docs/behaviour.md#w14). An item still pending at the last shutdown
/// never runs, and its result is never released (docs/behaviour.md#w15: the lock count
/// after the next startup is 2). Errors: [`Error::Shutdown`] when the platform
/// is not running.
///
/// ```
/// use std::time::{Duration, Instant};
/// let _platform = mfwq::Platform::start()?;
/// let (sender, receiver) = std::sync::mpsc::channel();
/// let start = Instant::now();
/// mfwq::schedule_work_item(
///     mfwq::callback(move |_| sender.send(Instant::now()).unwrap()),
///     None,
///     Duration::from_millis(5),
/// )?;
/// let fired = receiver.recv_timeout(Duration::from_secs(5)).unwrap();
/// assert!(fired - start >= Duration::from_millis(5));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFScheduleWorkItem")]
pub fn schedule_work_item(
    callback: Callback,
    state: Option<State>,
    delay: Duration,
) -> Result<WorkItemKey> {
    let (callback, state) = (Refusable::new(callback), Refusable::new(state));
    // Refuse before creating a result, so that a refused call leaves no lock.
    crate::platform::ensure_started()?;
    crate::dispatch::check_completion_params(crate::callback::effective_params(&**callback))?;
    let (callback, state) = (callback.take(), state.take());
    schedule(AsyncResult::with_callback(callback, state), delay)
}

/// `MFScheduleWorkItemEx(result, timeout, &key)` / `RtwqScheduleWorkItem`:
/// as [`schedule_work_item`] with the caller's own result; on expiry this very
/// result goes to [`invoke_callback`](crate::invoke_callback). The platform
/// holds one reference to it until then (or for ever, if the item is still
/// pending at the last shutdown: docs/behaviour.md#w15).
///
/// A result with neither a callback nor an event is [`Error::InvalidArg`].
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let done = mfwq::Event::manual_reset(false);
/// let signal = done.clone();
/// let result = mfwq::AsyncResult::with_callback(mfwq::callback(move |_| signal.set()), None);
/// mfwq::schedule_result(&result, mfwq::delay_from_mf_timeout(-1))?;
/// assert!(done.wait(Some(Duration::from_secs(5))));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFScheduleWorkItemEx")]
#[doc(alias = "RtwqScheduleWorkItem")]
pub fn schedule_result(result: impl IntoAsyncResult, delay: Duration) -> Result<WorkItemKey> {
    let result = Refusable::new(result.into_async_result());
    if !result.has_callback() && result.event().is_none() {
        // "Not running" is reported first, as for every call.
        return Err(PLATFORM
            .with_epoch(|_| Error::InvalidArg)
            .unwrap_or_else(|shutdown| shutdown));
    }
    // "Not running" first, before the callback's code runs (its parameters);
    // then flags that fit no queue.
    crate::platform::ensure_started()?;
    if let Some(params) = result.dispatch_params() {
        crate::dispatch::check_completion_params(params)?;
    }
    // `schedule` refuses when the platform is down.
    schedule(result.take(), delay)
}

fn schedule(result: AsyncResult, delay: Duration) -> Result<WorkItemKey> {
    let deadline = deadline_after(Instant::now(), delay);
    let outcome = PLATFORM
        .with_epoch(|epoch| match Timers::of(epoch) {
            Ok(timers) => timers.shared.schedule(result, deadline),
            Err(error) => Err((error, Some(result))),
        })
        .unwrap_or_else(|error| Err((error, None)));
    // A refused result is dropped here, with no lock held.
    outcome.map_err(crate::panic::drop_refused)
}

/// `MFCancelWorkItem(key)` / `RtwqCancelWorkItem`: cancels a scheduled or a
/// waiting item (docs/behaviour.md#d15).
///
/// - A **scheduled** item: `Ok` means its callback is never invoked, and its
///   result (with the result's reference to the callback) has been released
///   before this returns (docs/behaviour.md#w37).
/// - A **waiting** item: `Ok` means it no longer waits; its callback is then
///   invoked once, on its queue, with the status
///   [`MF_E_OPERATION_CANCELLED`](crate::HResult::MF_E_OPERATION_CANCELLED)
///   (docs/behaviour.md#w40).
///
/// Cancel and expiry race fairly: exactly one of them wins. If the item has
/// already fired (or was cancelled before), this is [`Error::NotFound`]
/// (docs/behaviour.md#w38), as it is for a key this platform never issued or one from
/// before the last restart. While the platform is not running it is
/// [`Error::Shutdown`] (docs/behaviour.md#w41, #w56).
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let key = mfwq::schedule_work_item(mfwq::callback(|_| unreachable!()), None, Duration::from_secs(5))?;
/// assert_eq!(mfwq::cancel_work_item(key), Ok(()));
/// assert_eq!(mfwq::cancel_work_item(key), Err(mfwq::Error::NotFound));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFCancelWorkItem")]
#[doc(alias = "RtwqCancelWorkItem")]
pub fn cancel_work_item(key: WorkItemKey) -> Result<()> {
    match (key.0 >> 32) as u32 {
        SCHEDULED_TAG => {
            let removed =
                PLATFORM.with_epoch(|epoch| Timers::of(epoch)?.shared.take_scheduled(key.0))??;
            // The result, and with it the callback, is released here, before
            // cancel returns, with no lock held (its drop may run user code).
            crate::panic::drop_quietly(removed);
            Ok(())
        }
        WAITING_TAG => {
            let item =
                PLATFORM.with_epoch(|epoch| Timers::of(epoch)?.shared.take_wait(key.0))??;
            crate::wait::cancel(item)
        }
        // Not a key this platform issues.
        _ => PLATFORM.with_epoch(|_| Err(Error::NotFound))?,
    }
}

/// `MFAddPeriodicCallback(fn, context, &key)`: calls `callback(context)` every
/// [`timer_periodicity`] (10 ms) on the TIMER queue until
/// [`remove_periodic_callback`] (docs/behaviour.md#d18).
///
/// - The first call comes one period after this returns; later ones keep a
///   10 ms cadence. A run never overlaps the previous run of the same
///   callback: a tick that finds it still running is skipped.
/// - `context` is held while the callback is registered and released after its
///   removal (possibly a moment after, once a run in progress has finished:
///   docs/behaviour.md#w46). It is also released at the last shutdown, which ends every
///   periodic callback.
/// - A panic inside `callback` is caught and reported like any callback panic
///   (see [`set_panic_hook`](crate::set_panic_hook)); the next tick runs it again.
///
/// Errors: [`Error::Shutdown`] when the platform is not running.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let ticks = Arc::new(AtomicUsize::new(0));
/// let context: mfwq::State = ticks.clone();
/// let key = mfwq::add_periodic_callback(
///     |context| {
///         let ticks = context.unwrap().downcast_ref::<AtomicUsize>().unwrap();
///         ticks.fetch_add(1, Ordering::SeqCst);
///     },
///     Some(context),
/// )?;
/// std::thread::sleep(10 * mfwq::timer_periodicity());
/// mfwq::remove_periodic_callback(key)?;
/// assert!(ticks.load(Ordering::SeqCst) >= 1);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFAddPeriodicCallback")]
#[doc(alias = "RtwqAddPeriodicCallback")]
pub fn add_periodic_callback<F>(callback: F, context: Option<State>) -> Result<PeriodicKey>
where
    F: Fn(Option<&State>) + Send + Sync + 'static,
{
    let (callback, context) = (Refusable::new(callback), Refusable::new(context));
    crate::platform::ensure_started()?;
    let (callback, context) = (callback.take(), context.take());
    let entry = Arc::new(Periodic {
        callback: Box::new(callback),
        context,
        running: AtomicBool::new(false),
    });
    let key = PeriodicKey(next_counter(&NEXT_PERIODIC_KEY));
    let first = deadline_after(Instant::now(), PERIOD);
    let outcome = PLATFORM
        .with_epoch(|epoch| match Timers::of(epoch) {
            Ok(timers) => timers.shared.add_periodic(key, first, entry),
            Err(error) => Err((error, Some(entry))),
        })
        .unwrap_or_else(|error| Err((error, None)));
    outcome.map(|()| key).map_err(crate::panic::drop_refused)
}

/// `MFRemovePeriodicCallback(key)` / `RtwqRemovePeriodicCallback`: stops a
/// periodic callback. A run already in progress finishes; no new one starts.
/// The context is released once no run holds it any more.
///
/// Errors: [`Error::NotFound`] for a key that is not registered (never was,
/// or already removed); [`Error::Shutdown`] when the platform is not running.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let key = mfwq::add_periodic_callback(|_| {}, None)?;
/// assert_eq!(mfwq::remove_periodic_callback(key), Ok(()));
/// assert_eq!(mfwq::remove_periodic_callback(key), Err(mfwq::Error::NotFound));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[doc(alias = "MFRemovePeriodicCallback")]
#[doc(alias = "RtwqRemovePeriodicCallback")]
pub fn remove_periodic_callback(key: PeriodicKey) -> Result<()> {
    let removed = PLATFORM.with_epoch(|epoch| Timers::of(epoch)?.shared.remove_periodic(key))??;
    // The context goes with the last reference, here or after a run in progress.
    crate::panic::drop_quietly(removed);
    Ok(())
}

/// The function of a periodic callback (`MFPERIODICCALLBACK`).
type PeriodicFn = Box<dyn Fn(Option<&State>) + Send + Sync>;

/// A registered periodic callback.
struct Periodic {
    callback: PeriodicFn,
    context: Option<State>,
    /// A run is queued or in progress: the next tick is skipped.
    running: AtomicBool,
}

impl Drop for Periodic {
    fn drop(&mut self) {
        // The context on its own: were the callback's Drop to panic, the drop
        // glue would drop the context while that unwinds.
        crate::panic::drop_quietly(self.context.take());
    }
}

/// Clears `running` when a run ends, by returning, by unwinding, or by being
/// dropped unrun (the TIMER queue refused it).
struct RunGuard(Arc<Periodic>);

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

// ---------------------------------------------------------------------------
// Deadlines: the heap plus map behind scheduled items and periodic callbacks.

/// A fast hasher for item keys: the low dword is a counter, so one multiply
/// spreads them well enough.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (value ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by item keys.
pub(crate) type KeyMap<T> = HashMap<u64, T, BuildHasherDefault<KeyHasher>>;

/// Items ordered by deadline, removable by key.
///
/// Whoever removes an item from here owns it: the firing thread
/// ([`pop_due`](Self::pop_due)), a cancel ([`remove`](Self::remove)) or
/// shutdown ([`drain`](Self::drain)), all under the one lock that guards it.
/// Removal by key leaves the heap entry behind; an entry is live only while the
/// map holds its key with the same deadline.
pub(crate) struct Deadlines<T> {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    items: KeyMap<(Instant, T)>,
}

impl<T> Deadlines<T> {
    pub(crate) fn new() -> Deadlines<T> {
        Deadlines {
            heap: BinaryHeap::new(),
            items: KeyMap::default(),
        }
    }

    /// Adds `item` under a key not in use.
    pub(crate) fn insert(&mut self, key: u64, deadline: Instant, item: T) {
        self.compact_if_sparse();
        let previous = self.items.insert(key, (deadline, item));
        debug_assert!(previous.is_none(), "item keys are unique");
        self.heap.push(Reverse((deadline, key)));
    }

    /// Takes the item out, if it is still pending.
    pub(crate) fn remove(&mut self, key: u64) -> Option<T> {
        self.items.remove(&key).map(|(_, item)| item)
    }

    /// Takes out every item due at `now`, earliest first, with its key and deadline.
    pub(crate) fn pop_due(&mut self, now: Instant, out: &mut Vec<(u64, Instant, T)>) {
        while let Some(&Reverse((deadline, key))) = self.heap.peek() {
            if deadline > now {
                break;
            }
            self.heap.pop();
            if self.is_live(deadline, key) {
                let (_, item) = self
                    .items
                    .remove(&key)
                    .expect("live entries are in the map");
                out.push((key, deadline, item));
            }
        }
    }

    /// The earliest pending deadline (stale heap entries are dropped on the way).
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((deadline, key))) = self.heap.peek() {
            if self.is_live(deadline, key) {
                return Some(deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// Takes out everything.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        self.heap.clear();
        self.items.drain().map(|(_, (_, item))| item).collect()
    }

    fn is_live(&self, deadline: Instant, key: u64) -> bool {
        matches!(self.items.get(&key), Some((live, _)) if *live == deadline)
    }

    /// Drops stale heap entries once they outnumber the live ones (amortised O(1)).
    fn compact_if_sparse(&mut self) {
        if self.heap.len() > 2 * self.items.len() + 1024 {
            let items = &self.items;
            self.heap.retain(
                |&Reverse((deadline, key))| matches!(items.get(&key), Some((live, _)) if *live == deadline),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Claim: the atomic decision of a waiting item.

/// What decided a [`Claim`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Outcome {
    /// The event was set (or the timer expired).
    Fired = 1,
    /// `cancel_work_item` won.
    Cancelled = 2,
    /// The last shutdown won.
    Stopped = 3,
}

const PENDING: u8 = 0;

/// The one-byte state a [`Claim`] decides on: `AtomicU8` normally, loom's in the
/// loom model.
pub(crate) trait StateWord: Send + Sync {
    fn with_value(value: u8) -> Self;
    /// Compare-and-swap, `AcqRel` on success.
    fn swap_from(&self, from: u8, to: u8) -> bool;
    fn value(&self) -> u8;
}

impl StateWord for AtomicU8 {
    fn with_value(value: u8) -> Self {
        AtomicU8::new(value)
    }

    fn swap_from(&self, from: u8, to: u8) -> bool {
        self.compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn value(&self) -> u8 {
        self.load(Ordering::Acquire)
    }
}

/// A pending item's payload and the decision of who gets it: firing, cancel or
/// shutdown. The state moves once, from pending to an [`Outcome`], by
/// compare-and-swap; only the winner takes the payload, so it is released (or
/// dispatched, or leaked) exactly once and the losers never touch it.
pub(crate) struct Claim<T, W: StateWord = AtomicU8> {
    state: W,
    payload: UnsafeCell<Option<T>>,
}

// SAFETY: the payload is written only at construction, before the claim is
// shared, and afterwards touched only by the single thread whose
// compare-and-swap moved the state away from PENDING (it never moves back), or
// through `&mut self`. The AcqRel swap orders that thread after construction.
unsafe impl<T: Send, W: StateWord> Sync for Claim<T, W> {}

impl<T, W: StateWord> Claim<T, W> {
    pub(crate) fn new(payload: T) -> Claim<T, W> {
        Claim {
            state: W::with_value(PENDING),
            payload: UnsafeCell::new(Some(payload)),
        }
    }

    /// Decides the item for `outcome` if it is still pending, and hands the
    /// payload to the caller; `None` if someone else decided it first.
    pub(crate) fn try_take(&self, outcome: Outcome) -> Option<T> {
        if self.state.swap_from(PENDING, outcome as u8) {
            // SAFETY: this thread won the only transition away from PENDING.
            let payload = unsafe { (*self.payload.get()).take() };
            assert!(payload.is_some(), "a claim is won only once");
            payload
        } else {
            None
        }
    }

    /// Decides the item for `outcome` if it is still pending, leaving the
    /// payload in place for [`take_decided`](Self::take_decided): for a
    /// decision made under a lock whose follow-up must wait until the lock
    /// is released. Whether this call won.
    pub(crate) fn decide(&self, outcome: Outcome) -> bool {
        self.state.swap_from(PENDING, outcome as u8)
    }

    /// The payload of an item this thread decided with [`decide`](Self::decide).
    ///
    /// # Safety
    /// Only the thread whose `decide` returned `true` may call this, once.
    pub(crate) unsafe fn take_decided(&self) -> T {
        // SAFETY: the caller won the only transition away from PENDING
        // (which never moves back), so no other thread touches the payload.
        let payload = unsafe { (*self.payload.get()).take() };
        payload.expect("a decided claim is taken once")
    }

    /// Whether nobody has decided the item yet.
    pub(crate) fn is_pending(&self) -> bool {
        self.state.value() == PENDING
    }

    /// Who decided the item, if anyone did.
    #[cfg_attr(not(all(test, loom)), allow(dead_code))]
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        match self.state.value() {
            1 => Some(Outcome::Fired),
            2 => Some(Outcome::Cancelled),
            3 => Some(Outcome::Stopped),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Timers: one epoch's timer state and thread.

/// The timer machinery of one epoch (see the module docs).
pub(crate) struct Timers {
    pub(crate) shared: Arc<Shared>,
}

/// What the timer thread and the API calls share.
pub(crate) struct Shared {
    state: Mutex<TimerState>,
    wake: Condvar,
}

struct TimerState {
    stopped: bool,
    scheduled: Deadlines<AsyncResult>,
    periodic: Deadlines<Arc<Periodic>>,
    /// Pending waiting items by key (the event holds them too; see `wait.rs`).
    waits: KeyMap<Arc<WaitItem>>,
    thread: ThreadState,
}

enum ThreadState {
    NotStarted,
    /// Working, or about to re-check the deadlines: needs no wake-up.
    Busy(JoinHandle<()>),
    /// Blocked on the condition variable until this deadline (`None`: until woken).
    Sleeping(JoinHandle<()>, Option<Instant>),
    /// Taken by `stop`.
    Gone,
}

/// What a refused call hands back, to be dropped after the lock is released.
type Refused<T> = (Error, Option<T>);

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            shared: Arc::new(Shared {
                state: Mutex::new(TimerState {
                    stopped: false,
                    scheduled: Deadlines::new(),
                    periodic: Deadlines::new(),
                    waits: KeyMap::default(),
                    thread: ThreadState::NotStarted,
                }),
                wake: Condvar::new(),
            }),
        }
    }

    /// The last shutdown: pending timers never fire (their results leak, as
    /// observed); pending waits are invoked with `MF_E_SHUTDOWN`.
    ///
    /// Empties every pending set under the lock (so nothing pending can fire
    /// any more, and a racing cancel sees `Shutdown`), leaks the results of
    /// scheduled items, completes waiting items with `MF_E_SHUTDOWN`, releases
    /// the periodic contexts, and stops the
    /// timer thread, waiting for it unless this is that thread.
    pub(crate) fn stop(&self, deadline: Instant) {
        let (scheduled, periodic, waits, thread) = {
            let mut state = self.shared.state.lock();
            if state.stopped {
                return;
            }
            state.stopped = true;
            let thread = match std::mem::replace(&mut state.thread, ThreadState::Gone) {
                ThreadState::Busy(handle) | ThreadState::Sleeping(handle, _) => Some(handle),
                ThreadState::NotStarted | ThreadState::Gone => None,
            };
            self.shared.wake.notify_all();
            let waits: Vec<_> = state.waits.drain().map(|(_, item)| item).collect();
            (
                state.scheduled.drain(),
                state.periodic.drain(),
                waits,
                thread,
            )
        };
        let leaked = scheduled.len();
        for result in scheduled {
            // docs/behaviour.md#w15 / #w56: the pending item keeps its result, and with it
            // a platform lock, for ever.
            std::mem::forget(result);
        }
        for item in waits {
            crate::wait::stop(item);
        }
        crate::panic::drop_quietly(periodic);
        if leaked > 0 {
            tracing::debug!(leaked, "pending scheduled items never fire (shut down)");
        }
        if let Some(handle) = thread {
            if handle.thread().id() != std::thread::current().id() {
                // The thread runs user code (a firing item's `parameters()`, the
                // `Drop` of a refused result): wait for it only until the deadline.
                while !handle.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_micros(200));
                }
                if handle.is_finished() {
                    let _ = handle.join();
                } else {
                    tracing::error!(
                        "shutdown stopped waiting for the timer thread; it is left running"
                    );
                }
            }
        }
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

impl Shared {
    fn schedule(
        self: &Arc<Self>,
        result: AsyncResult,
        deadline: Instant,
    ) -> std::result::Result<WorkItemKey, Refused<AsyncResult>> {
        let key = next_key(SCHEDULED_TAG);
        let mut state = self.state.lock();
        if state.stopped {
            return Err((Error::Shutdown, Some(result)));
        }
        if let Err(error) = self.ensure_thread(&mut state) {
            return Err((error, Some(result)));
        }
        state.scheduled.insert(key, deadline, result);
        self.wake_for(&mut state, deadline);
        Ok(WorkItemKey(key))
    }

    fn take_scheduled(&self, key: u64) -> Result<AsyncResult> {
        let mut state = self.state.lock();
        if state.stopped {
            return Err(Error::Shutdown);
        }
        state.scheduled.remove(key).ok_or(Error::NotFound)
    }

    fn add_periodic(
        self: &Arc<Self>,
        key: PeriodicKey,
        first: Instant,
        entry: Arc<Periodic>,
    ) -> std::result::Result<(), Refused<Arc<Periodic>>> {
        let mut state = self.state.lock();
        if state.stopped {
            return Err((Error::Shutdown, Some(entry)));
        }
        if let Err(error) = self.ensure_thread(&mut state) {
            return Err((error, Some(entry)));
        }
        state.periodic.insert(u64::from(key.0), first, entry);
        self.wake_for(&mut state, first);
        Ok(())
    }

    fn remove_periodic(&self, key: PeriodicKey) -> Result<Arc<Periodic>> {
        let mut state = self.state.lock();
        if state.stopped {
            return Err(Error::Shutdown);
        }
        state
            .periodic
            .remove(u64::from(key.0))
            .ok_or(Error::NotFound)
    }

    /// Registers a waiting item for cancellation; `Shutdown` once stopped.
    pub(crate) fn insert_wait(&self, item: Arc<WaitItem>) -> Result<()> {
        let mut state = self.state.lock();
        if state.stopped {
            return Err(Error::Shutdown);
        }
        let previous = state.waits.insert(item.key(), item);
        debug_assert!(previous.is_none(), "item keys are unique");
        Ok(())
    }

    /// A waiting item fired: it can no longer be cancelled.
    pub(crate) fn forget_wait(&self, key: u64) -> Option<Arc<WaitItem>> {
        self.state.lock().waits.remove(&key)
    }

    fn take_wait(&self, key: u64) -> Result<Arc<WaitItem>> {
        let mut state = self.state.lock();
        if state.stopped {
            return Err(Error::Shutdown);
        }
        state.waits.remove(&key).ok_or(Error::NotFound)
    }

    /// Starts the timer thread on first use.
    fn ensure_thread(self: &Arc<Self>, state: &mut TimerState) -> Result<()> {
        if !matches!(state.thread, ThreadState::NotStarted) {
            return Ok(());
        }
        let shared = Arc::clone(self);
        match std::thread::Builder::new()
            .name("mfwq-timekeeper".into())
            .spawn(move || shared.run())
        {
            Ok(handle) => {
                state.thread = ThreadState::Busy(handle);
                Ok(())
            }
            Err(error) => {
                tracing::error!(%error, "cannot start the timer thread");
                Err(Error::OutOfMemory)
            }
        }
    }

    /// Wakes the timer thread if it sleeps past `deadline`.
    fn wake_for(&self, state: &mut TimerState, deadline: Instant) {
        let wake = match &state.thread {
            ThreadState::Sleeping(_, None) => true,
            ThreadState::Sleeping(_, Some(until)) => deadline < *until,
            _ => false,
        };
        if wake {
            state.set_busy();
            self.wake.notify_one();
        }
    }

    /// The timer thread.
    fn run(self: Arc<Self>) {
        set_timer_slack();
        let mut due: Vec<(u64, Instant, AsyncResult)> = Vec::new();
        let mut ticks: Vec<(u64, Instant, Arc<Periodic>)> = Vec::new();
        let mut runs: Vec<RunGuard> = Vec::new();
        let mut state = self.state.lock();
        loop {
            if state.stopped {
                break;
            }
            let now = Instant::now();
            state.scheduled.pop_due(now, &mut due);
            state.periodic.pop_due(now, &mut ticks);
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
                    runs.push(RunGuard(Arc::clone(&entry)));
                }
                state.periodic.insert(key, next, entry);
            }
            if !due.is_empty() || !runs.is_empty() {
                MutexGuard::unlocked(&mut state, || {
                    for (key, _, result) in due.drain(..) {
                        if let Err(error) = crate::dispatch::complete_owed(result) {
                            tracing::warn!(key = format_args!("{key:#x}"), %error,
                                "scheduled item expired but cannot be dispatched; dropped");
                        }
                    }
                    for run in runs.drain(..) {
                        let spawned = crate::spawn(QueueId::TIMER, move || {
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
            let next = match (
                state.scheduled.next_deadline(),
                state.periodic.next_deadline(),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            state.set_sleeping(next);
            match next {
                Some(deadline) => {
                    self.wake.wait_until(&mut state, deadline);
                }
                None => self.wake.wait(&mut state),
            }
            state.set_busy();
        }
    }
}

impl TimerState {
    fn set_busy(&mut self) {
        self.thread = match std::mem::replace(&mut self.thread, ThreadState::Gone) {
            ThreadState::Sleeping(handle, _) | ThreadState::Busy(handle) => {
                ThreadState::Busy(handle)
            }
            other => other,
        };
    }

    fn set_sleeping(&mut self, until: Option<Instant>) {
        self.thread = match std::mem::replace(&mut self.thread, ThreadState::Gone) {
            ThreadState::Sleeping(handle, _) | ThreadState::Busy(handle) => {
                ThreadState::Sleeping(handle, until)
            }
            other => other,
        };
    }
}

/// Asks the kernel to wake the timer thread within 1 ns of its deadline
/// rather than the default 50 us slack.
fn set_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes an integer and affects only this thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn deadlines_pop_due_items_in_deadline_order_and_skip_removed_ones() {
        let base = Instant::now();
        let mut set = Deadlines::new();
        set.insert(1, at(base, 30), "c");
        set.insert(2, at(base, 10), "a");
        set.insert(3, at(base, 20), "b");
        set.insert(4, at(base, 40), "d");
        assert_eq!(set.remove(3), Some("b"));
        assert_eq!(set.remove(3), None, "a second removal finds nothing");
        assert_eq!(set.next_deadline(), Some(at(base, 10)));
        let mut due = Vec::new();
        set.pop_due(at(base, 35), &mut due);
        let keys: Vec<_> = due.iter().map(|(key, _, item)| (*key, *item)).collect();
        assert_eq!(keys, [(2, "a"), (1, "c")]);
        assert_eq!(set.remove(2), None, "a fired item cannot be removed");
        assert_eq!(set.next_deadline(), Some(at(base, 40)));
        assert_eq!(set.drain(), ["d"]);
        assert_eq!(set.next_deadline(), None);
    }

    #[test]
    fn next_deadline_skips_stale_heap_entries() {
        let base = Instant::now();
        let mut set = Deadlines::new();
        set.insert(1, at(base, 1), ());
        set.insert(2, at(base, 5), ());
        set.remove(1);
        assert_eq!(set.next_deadline(), Some(at(base, 5)));
        // A re-inserted key with a new deadline: only the new entry is live.
        set.remove(2);
        set.insert(2, at(base, 9), ());
        assert_eq!(set.next_deadline(), Some(at(base, 9)));
        let mut due = Vec::new();
        set.pop_due(at(base, 8), &mut due);
        assert!(
            due.is_empty(),
            "the stale 5 ms entry does not fire the item"
        );
        set.pop_due(at(base, 9), &mut due);
        assert_eq!(due.len(), 1);
    }

    #[test]
    fn heap_is_compacted_when_stale_entries_pile_up() {
        let base = Instant::now();
        let mut set = Deadlines::new();
        for key in 0..100_000u64 {
            set.insert(key, at(base, 1000 + key % 50), ());
            set.remove(key);
        }
        assert!(
            set.heap.len() <= 2048,
            "stale entries are dropped: {}",
            set.heap.len()
        );
    }

    #[test]
    fn claim_is_decided_once() {
        let claim: Claim<String> = Claim::new("payload".into());
        assert!(claim.is_pending());
        assert_eq!(
            claim.try_take(Outcome::Cancelled).as_deref(),
            Some("payload")
        );
        assert_eq!(claim.try_take(Outcome::Fired), None);
        assert_eq!(claim.try_take(Outcome::Stopped), None);
        assert_eq!(claim.outcome(), Some(Outcome::Cancelled));
        assert!(!claim.is_pending());
    }

    #[test]
    fn keys_carry_their_tag_and_never_repeat() {
        let a = next_key(SCHEDULED_TAG);
        let b = next_key(WAITING_TAG);
        assert_eq!((a >> 32) as u32, SCHEDULED_TAG);
        assert_eq!((b >> 32) as u32, WAITING_TAG);
        assert_ne!(a as u32, b as u32);
        assert_ne!(a as u32, 0);
    }

    #[test]
    fn huge_delays_do_not_overflow() {
        let now = Instant::now();
        assert!(deadline_after(now, Duration::MAX) > now + Duration::from_secs(1_000_000));
        assert_eq!(deadline_after(now, Duration::ZERO), now);
    }
}

/// Loom models of the cancel-versus-fire protocol:
///
/// ```text
/// RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
///     cargo test -p mfwq --lib --release loom_timer
/// ```
///
/// A waiting item's [`Claim`] is raced by the thread that sets its event, a
/// cancel and the last shutdown; a scheduled item's [`Deadlines`] entry by the
/// timer thread, a cancel and shutdown, each under the lock (a loom mutex
/// here). In every interleaving exactly one contender wins and the payload
/// (the result) is released exactly once. Payloads count their drops with a
/// loom atomic; assertions run on the main thread after the joins.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::{Claim, Deadlines, Outcome, StateWord};
    use loom::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
    use loom::sync::{Arc, Mutex};
    use loom::thread;

    impl StateWord for AtomicU8 {
        fn with_value(value: u8) -> Self {
            AtomicU8::new(value)
        }

        fn swap_from(&self, from: u8, to: u8) -> bool {
            self.compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        }

        fn value(&self) -> u8 {
            self.load(Ordering::Acquire)
        }
    }

    /// Stands for the item's result: counts its releases.
    struct Payload(Arc<AtomicUsize>);

    impl Drop for Payload {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    type LoomClaim = Claim<Payload, AtomicU8>;

    fn contender(claim: &Arc<LoomClaim>, outcome: Outcome) -> thread::JoinHandle<bool> {
        let claim = Arc::clone(claim);
        // The winner releases (drops) the payload on its own thread.
        thread::spawn(move || claim.try_take(outcome).is_some())
    }

    #[test]
    fn loom_timer_wait_fire_races_cancel() {
        loom::model(|| {
            let released = Arc::new(AtomicUsize::new(0));
            let claim = Arc::new(LoomClaim::new(Payload(Arc::clone(&released))));
            let firing = contender(&claim, Outcome::Fired);
            let cancelled = claim.try_take(Outcome::Cancelled).is_some();
            let fired = firing.join().unwrap();
            assert!(fired != cancelled, "exactly one of fire and cancel wins");
            let expected = if fired {
                Outcome::Fired
            } else {
                Outcome::Cancelled
            };
            assert_eq!(claim.outcome(), Some(expected));
            assert_eq!(released.load(Ordering::SeqCst), 1, "released exactly once");
            drop(claim);
            assert_eq!(
                released.load(Ordering::SeqCst),
                1,
                "and not again with the item"
            );
        });
    }

    #[test]
    fn loom_timer_wait_fire_cancel_and_stop_race() {
        loom::model(|| {
            let released = Arc::new(AtomicUsize::new(0));
            let claim = Arc::new(LoomClaim::new(Payload(Arc::clone(&released))));
            let firing = contender(&claim, Outcome::Fired);
            let stopping = contender(&claim, Outcome::Stopped);
            let cancelled = claim.try_take(Outcome::Cancelled).is_some();
            let fired = firing.join().unwrap();
            let stopped = stopping.join().unwrap();
            let winners = [fired, cancelled, stopped].iter().filter(|w| **w).count();
            assert_eq!(winners, 1, "exactly one contender wins");
            let expected = if fired {
                Outcome::Fired
            } else if cancelled {
                Outcome::Cancelled
            } else {
                Outcome::Stopped
            };
            assert_eq!(
                claim.outcome(),
                Some(expected),
                "the winner's outcome is recorded"
            );
            assert_eq!(released.load(Ordering::SeqCst), 1);
            drop(claim);
            assert_eq!(released.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn loom_timer_scheduled_fire_races_cancel_and_stop() {
        loom::model(|| {
            let released = Arc::new(AtomicUsize::new(0));
            let now = std::time::Instant::now();
            let pending = Arc::new(Mutex::new(Deadlines::new()));
            pending
                .lock()
                .unwrap()
                .insert(7, now, Payload(Arc::clone(&released)));
            // The timer thread: everything due goes to dispatch (here: dropped).
            let timer = {
                let pending = Arc::clone(&pending);
                thread::spawn(move || {
                    let mut due = Vec::new();
                    pending.lock().unwrap().pop_due(now, &mut due);
                    !due.is_empty()
                })
            };
            // Shutdown: takes everything that is still pending.
            let stop = {
                let pending = Arc::clone(&pending);
                thread::spawn(move || !pending.lock().unwrap().drain().is_empty())
            };
            let cancelled = {
                let removed = pending.lock().unwrap().remove(7);
                removed.is_some()
            };
            let fired = timer.join().unwrap();
            let stopped = stop.join().unwrap();
            let winners = [fired, cancelled, stopped].iter().filter(|w| **w).count();
            assert_eq!(
                winners, 1,
                "exactly one of fire, cancel and stop owns the item"
            );
            assert_eq!(released.load(Ordering::SeqCst), 1, "released exactly once");
            drop(pending);
            assert_eq!(released.load(Ordering::SeqCst), 1);
        });
    }
}
