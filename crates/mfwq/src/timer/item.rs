//! What the timer holds for each item: its key (one process-wide counter
//! under a tag per kind), what it owes its callback ([`Owed`]), and a
//! periodic callback's entry. The API that makes them is `mod.rs`; the
//! machinery that holds them is `thread.rs`, `entry.rs` and `wait.rs`.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::HResult;
use crate::object::result::{AsyncResult, State};

/// What a scheduled or waiting item owes its callback, as the timer machinery
/// (`Shared` in `thread.rs`, `wait.rs`) holds it and hands it on once the item is decided:
/// in the platform, the item's [`AsyncResult`]. The loom models
/// (`loom_tests.rs`) run the same machinery with a payload that records what
/// happened to it instead of dispatching it: this trait is that seam, and
/// nothing else varies.
pub(crate) trait Owed: Send + 'static {
    /// The item's one completion (expired, fired, cancelled, or stopped at
    /// shutdown): sets `status` if given, then dispatches through
    /// [`complete_owed`](crate::platform::dispatch::complete_owed) (its
    /// queue, else STANDARD, else late delivery while the platform shuts
    /// down). `key` and `what` name the item in the warning logged if it
    /// cannot be dispatched.
    fn complete(self, status: Option<HResult>, key: u64, what: &'static str);

    /// A scheduled item still pending at the last shutdown: it never runs and
    /// is never released (docs/behaviour.md#w15).
    fn leak(self);
}

impl Owed for AsyncResult {
    fn complete(self, status: Option<HResult>, key: u64, what: &'static str) {
        if let Some(status) = status {
            if status == HResult::MF_E_OPERATION_CANCELLED {
                if let Some(params) = self.invoke_params() {
                    crate::observe::cancelled(params.queue);
                }
            }
            self.set_status(status);
        }
        if let Err(error) = crate::platform::dispatch::complete_owed(self) {
            tracing::warn!(key = format_args!("{key:#x}"), %error,
                "{what} but cannot be dispatched; dropped");
        }
    }

    fn leak(self) {
        std::mem::forget(self);
    }
}

/// The key of a scheduled or waiting item (`MFWORKITEM_KEY`, a 64-bit value),
/// for [`cancel_work_item`](super::cancel_work_item).
///
/// The high 32 bits say what kind of item it is (`0x8000_0000` scheduled,
/// `0x8200_0000` waiting); the low 32 bits come from one process-wide counter
/// that starts at 1, so a key is never reused while an item could still use it.
///
/// ```
/// use std::time::Duration;
/// let _platform = mfwq::Platform::start()?;
/// let key = mfwq::schedule_work_item(mfwq::callback(|_| {}), None, Duration::from_secs(60))?;
/// assert_eq!(key.into_raw() >> 32, 0x8000_0000);
/// mfwq::cancel_work_item(key)?;
/// # Ok::<(), mfwq::Error>(())
/// ```
///
/// Only the platform makes keys; [`WorkItemKey::from_raw`] rebuilds one from
/// the C ABI's 64-bit value.
#[doc(alias = "MFWORKITEM_KEY")]
#[doc(alias = "RTWQWORKITEM_KEY")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkItemKey(pub(crate) u64);

impl WorkItemKey {
    /// The key as the C ABI passes it (`MFWORKITEM_KEY`).
    ///
    /// ```
    /// let key = mfwq::WorkItemKey::from_raw(0x8000_0000_0000_0001);
    /// assert_eq!(key.into_raw(), 0x8000_0000_0000_0001);
    /// ```
    pub const fn into_raw(self) -> u64 {
        self.0
    }

    /// A key from the C ABI's value, for C interop only (`MFCancelWorkItem`'s
    /// argument): Rust code keeps the key the platform returned (or a guard
    /// such as [`Scheduled`](crate::Scheduled)). Any value is accepted; one
    /// the platform did not issue is [`Error::NotFound`](crate::error::Error::NotFound) when cancelled.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let forged = mfwq::WorkItemKey::from_raw(0x8000_0000_FFFF_FFF0);
    /// assert_eq!(mfwq::cancel_work_item(forged), Err(mfwq::Error::NotFound));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub const fn from_raw(raw: u64) -> WorkItemKey {
        WorkItemKey(raw)
    }
}

/// The key of a periodic callback, for [`remove_periodic_callback`](super::remove_periodic_callback); never 0
/// (docs/behaviour.md#w45).
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let key = mfwq::add_periodic_callback(|_| {}, None)?;
/// assert_ne!(key.into_raw(), 0);
/// mfwq::remove_periodic_callback(key)?;
/// # Ok::<(), mfwq::Error>(())
/// ```
///
/// Only the platform makes keys; [`PeriodicKey::from_raw`] rebuilds one from
/// the C ABI's `DWORD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeriodicKey(pub(crate) u32);

impl PeriodicKey {
    /// The key as the C ABI passes it (`DWORD`).
    ///
    /// ```
    /// assert_eq!(mfwq::PeriodicKey::from_raw(3).into_raw(), 3);
    /// ```
    pub const fn into_raw(self) -> u32 {
        self.0
    }

    /// A key from the C ABI's value, for C interop only
    /// (`MFRemovePeriodicCallback`'s argument): Rust code keeps the key the
    /// platform returned (or a [`Periodic`](crate::Periodic) guard). One the
    /// platform did not issue is [`Error::NotFound`](crate::error::Error::NotFound) when removed.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let forged = mfwq::PeriodicKey::from_raw(0xFFFF_FFF0);
    /// assert_eq!(mfwq::remove_periodic_callback(forged), Err(mfwq::Error::NotFound));
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub const fn from_raw(raw: u32) -> PeriodicKey {
        PeriodicKey(raw)
    }
}

/// High dword of a scheduled item's key (as in Wine).
pub(crate) const SCHEDULED_TAG: u32 = 0x8000_0000;
/// High dword of a waiting item's key.
pub(crate) const WAITING_TAG: u32 = 0x8200_0000;

/// The interval of periodic callbacks (`MFGetTimerPeriodicity`: 10 ms).
pub(super) const PERIOD: Duration = Duration::from_millis(10);

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

/// A fresh periodic callback key.
pub(super) fn next_periodic_key() -> PeriodicKey {
    PeriodicKey(next_counter(&NEXT_PERIODIC_KEY))
}

/// A fresh item key with the given high dword.
pub(crate) fn next_key(tag: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(next_counter(&NEXT_KEY))
}

/// The function of a periodic callback (`MFPERIODICCALLBACK`).
pub(super) type PeriodicFn = Box<dyn Fn(Option<&State>) + Send + Sync>;

/// A registered periodic callback.
pub(super) struct Periodic {
    pub(super) callback: PeriodicFn,
    pub(super) context: Option<State>,
    /// A run is queued or in progress: the next tick is skipped.
    pub(super) running: AtomicBool,
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
pub(super) struct RunGuard(pub(super) Arc<Periodic>);

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
    }
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_their_tag_and_never_repeat() {
        let a = next_key(SCHEDULED_TAG);
        let b = next_key(WAITING_TAG);
        assert_eq!((a >> 32) as u32, SCHEDULED_TAG);
        assert_eq!((b >> 32) as u32, WAITING_TAG);
        assert_ne!(a as u32, b as u32);
        assert_ne!(a as u32, 0);
    }
}
