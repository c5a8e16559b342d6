//! The atomic one-time decision of a waiting item: set, cancel and the last
//! shutdown race for it, and exactly one wins its payload.

use crate::sync::cell::UnsafeCell;
use crate::sync::{AtomicU8, Ordering};

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

/// A pending item's payload and the decision of who gets it: firing, cancel or
/// shutdown. The state moves once, from pending to an [`Outcome`], by
/// compare-and-swap; only the winner takes the payload, so it is released (or
/// dispatched, or leaked) exactly once and the losers never touch it.
pub(crate) struct Claim<T> {
    state: AtomicU8,
    payload: UnsafeCell<Option<T>>,
}

// SAFETY: the payload is written only at construction, before the claim is
// shared, and afterwards touched only by the single thread whose
// compare-and-swap moved the state away from PENDING (it never moves back), or
// through `&mut self`. The AcqRel swap orders that thread after construction.
unsafe impl<T: Send> Sync for Claim<T> {}

impl<T> Claim<T> {
    pub(crate) fn new(payload: T) -> Claim<T> {
        Claim {
            state: AtomicU8::new(PENDING),
            payload: UnsafeCell::new(Some(payload)),
        }
    }

    /// Decides the item for `outcome` if it is still pending, and hands the
    /// payload to the caller; `None` if someone else decided it first.
    pub(crate) fn try_take(&self, outcome: Outcome) -> Option<T> {
        if self.swap_from_pending(outcome) {
            let payload = self.payload.with_mut(|payload| {
                // SAFETY: this thread won the only transition away from PENDING.
                unsafe { (*payload).take() }
            });
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
        self.swap_from_pending(outcome)
    }

    /// The one transition: PENDING to `outcome`, `AcqRel` so that the winner
    /// is ordered after the construction (and the losers after the winner).
    #[inline]
    fn swap_from_pending(&self, outcome: Outcome) -> bool {
        self.state
            .compare_exchange(PENDING, outcome as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The payload of an item this thread decided with [`decide`](Self::decide).
    ///
    /// # Safety
    /// Only the thread whose `decide` returned `true` may call this, once.
    pub(crate) unsafe fn take_decided(&self) -> T {
        let payload = self.payload.with_mut(|payload| {
            // SAFETY: the caller won the only transition away from PENDING
            // (which never moves back), so no other thread touches the payload.
            unsafe { (*payload).take() }
        });
        payload.expect("a decided claim is taken once")
    }

    /// Whether nobody has decided the item yet.
    pub(crate) fn is_pending(&self) -> bool {
        self.state.load(Ordering::Acquire) == PENDING
    }

    /// Who decided the item, if anyone did.
    #[cfg(all(test, not(mfwq_loom)))]
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        match self.state.load(Ordering::Acquire) {
            1 => Some(Outcome::Fired),
            2 => Some(Outcome::Cancelled),
            3 => Some(Outcome::Stopped),
            _ => None,
        }
    }
}

#[cfg(all(test, not(mfwq_loom)))]
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
