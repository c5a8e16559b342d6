//! How items enter and leave one epoch's timer (`thread.rs`) from the
//! callers' side: a schedule and its cancel, periodic callbacks, the key map
//! of waiting items, the futures' alarms armed and withdrawn, and the inbox
//! through which schedules and alarms enter without the lock.

use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::alarm::{Alarm, AlarmRef};
use super::item::{next_key, Owed, Periodic, PeriodicKey, WorkItemKey, SCHEDULED_TAG};
use super::thread::{Inbound, Refused, Shared};
use super::wait::WaitItem;
use crate::error::{Error, Result};
use crate::observe::{
    self,
    event::{KeyStep, Keyed},
};
use crate::sync::{fence, Arc};

impl<R: Owed> Shared<R> {
    /// Schedules `result` for `deadline` through the inbox (see
    /// [`enter`](Self::enter)): no lock unless the timekeeper must wake.
    pub(crate) fn schedule(
        self: &Arc<Self>,
        result: R,
        deadline: Instant,
    ) -> std::result::Result<WorkItemKey, Refused<R>> {
        if let Err(error) = self.admits() {
            return Err((error, Some(result)));
        }
        let key = next_key(SCHEDULED_TAG);
        observe::key(Keyed::Timer, key, KeyStep::Registered);
        self.enter(
            Inbound {
                key,
                deadline,
                result,
            },
            deadline,
        );
        Ok(WorkItemKey(key))
    }

    pub(crate) fn take_scheduled(&self, key: u64) -> Result<R> {
        let mut state = self.state.lock();
        if state.stopped {
            return Err(Error::Shutdown);
        }
        // An item still in the inbox is pending too: it comes straight out
        // of it (keys are never reused, so it cannot also be in the map).
        let removed = match self.take_inbox_withholding(&mut state, Some(key)) {
            Some(result) => result,
            None => state.scheduled.remove(key).ok_or(Error::NotFound)?,
        };
        observe::key(Keyed::Timer, key, KeyStep::Cancelled);
        Ok(removed)
    }

    pub(super) fn add_periodic(
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
        observe::key(Keyed::Timer, u64::from(key.0), KeyStep::Registered);
        Ok(())
    }

    pub(super) fn remove_periodic(&self, key: PeriodicKey) -> Result<Arc<Periodic>> {
        let mut state = self.state.lock();
        if state.stopped {
            return Err(Error::Shutdown);
        }
        let removed = state
            .periodic
            .remove(u64::from(key.0))
            .ok_or(Error::NotFound)?;
        observe::key(Keyed::Timer, u64::from(key.0), KeyStep::Cancelled);
        Ok(removed)
    }

    /// Registers a waiting item for cancellation; `Shutdown` once stopped.
    pub(crate) fn insert_wait(&self, item: Arc<WaitItem<R>>) -> Result<()> {
        let mut state = self.state.lock();
        if state.stopped {
            return Err(Error::Shutdown);
        }
        let key = item.key();
        let previous = state.waits.insert(key, item);
        debug_assert!(previous.is_none(), "item keys are unique");
        observe::key(Keyed::Wait, key, KeyStep::Registered);
        Ok(())
    }

    /// A waiting item fired: it can no longer be cancelled.
    pub(crate) fn forget_wait(&self, key: u64) -> Option<Arc<WaitItem<R>>> {
        self.state.lock().waits.remove(&key)
    }

    pub(crate) fn take_wait(&self, key: u64) -> Result<Arc<WaitItem<R>>> {
        let mut state = self.state.lock();
        if state.stopped {
            return Err(Error::Shutdown);
        }
        state.waits.remove(&key).ok_or(Error::NotFound)
    }

    /// Enters `alarm` (armed by its owner as `id`, due at `deadline` as
    /// [`encode`](Self::encode) writes it) through the alarm inbox: as
    /// [`enter`](Self::enter) does a scheduled item.
    pub(super) fn enter_alarm(&self, alarm: NonNull<Alarm<R>>, id: u64, deadline: u64) {
        observe::key(Keyed::Timer, id, KeyStep::Registered);
        self.alarm_inbox.push(alarm);
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::SeqCst) {
            self.end_inbox();
        } else if deadline < self.keeper_until.load(Ordering::SeqCst) {
            let mut state = self.state.lock();
            self.wake_for_encoded(&mut state, deadline);
        }
    }

    /// Takes `alarm` out of this timer if it is still in it (its owner's
    /// withdrawal; see `alarm.rs`): `true` if it was.
    pub(super) fn withdraw_alarm(&self, alarm: NonNull<Alarm<R>>) -> bool {
        let mut state = self.state.lock();
        let alarm = AlarmRef::withdrawing(alarm);
        if !alarm.is_in_timer() {
            return false; // rung meanwhile
        }
        if alarm.is_queued() {
            // Still in the inbox: move the inbox in, where it then is.
            self.admit_alarms(&mut state);
        }
        let removed = state.alarms.remove(alarm);
        observe::key(Keyed::Timer, removed.id(), KeyStep::Cancelled);
        removed.set_withdrawn();
        true
    }

    /// Whether the timekeeper has already seen the time `deadline` (as
    /// [`encode`](Self::encode) writes it) pass.
    pub(super) fn has_seen(&self, deadline: u64) -> bool {
        deadline <= self.keeper_now.load(Ordering::Relaxed)
    }

    /// Whether an entry may enter: `Shutdown` once stopped; the timekeeper
    /// is started on first use.
    #[inline]
    pub(super) fn admits(self: &Arc<Self>) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        if !self.started.load(Ordering::Acquire) {
            let mut state = self.state.lock();
            if state.stopped {
                return Err(Error::Shutdown);
            }
            self.ensure_thread(&mut state)?;
        }
        Ok(())
    }

    /// # The inbox
    ///
    /// A schedule or an alarm's arming enters without the lock: the entry
    /// goes into the inbox, and only a deadline earlier than the one the
    /// timekeeper sleeps until takes the lock, to wake it. The timekeeper
    /// (and a cancel, and the shutdown, under the lock) move the inbox's
    /// entries into the pending sets. The two sides are a Dekker pair: this
    /// side pushes (a SeqCst claim) and then reads `keeper_until`; the
    /// timekeeper writes `keeper_until` and then looks into the inbox, both
    /// SeqCst, so either it finds the entry before it sleeps or this side
    /// sees the deadline it will sleep until. (A periodic callback added
    /// under the lock wakes it through the same word.) Likewise with
    /// `closed`: `stop` sets it and then empties the inbox; this side pushes
    /// and then reads it, and if it is set, empties the inbox itself, so no
    /// entry is stranded (an item that entered racing the stop ends as a
    /// pending one does: a scheduled item is leaked, an alarm ends with
    /// `Shutdown`).
    fn enter(&self, entry: Inbound<R>, deadline: Instant) {
        // The inbox is never closed (`closed` below is this side's word).
        self.inbox.push_past_close(entry);
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::SeqCst) {
            self.end_inbox();
        } else if self.encode(deadline) < self.keeper_until.load(Ordering::SeqCst) {
            let mut state = self.state.lock();
            self.wake_for(&mut state, deadline);
        }
    }
}
