//! The atomic one-time decision of a waiting item: set, cancel and the last
//! shutdown race for it, and exactly one wins its payload.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU8, Ordering};

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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

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
}
