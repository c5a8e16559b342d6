//! Loom models of the timer machinery as it runs: the real [`Shared`] (its
//! state mutex, condition variable and `mfwq-timekeeper` thread, through the
//! `crate::sync` facade), the real waiting items (`wait.rs`: [`register`],
//! [`cancel`], [`Shared::stop`]) and the real [`Event`] (`ci/loom.sh`, or
//! `RUSTFLAGS="--cfg mfwq_loom" cargo test -p mfwq --lib --release loom_timer`).
//!
//! The one seam is the payload: instead of an `AsyncResult` dispatched through
//! the platform, items carry a [`Probe`] ([`Owed`]) that records its fate —
//! fired, cancelled, stopped, leaked, or dropped unrun — in a log the model
//! reads after the joins. Every model asserts that each item has exactly one
//! fate. Timed waits are untimed under loom (see `crate::sync`): a deadline in
//! the future is one only a notification can end, so a lost wake-up of the
//! timer thread deadlocks the model.
//!
//! Each model names the mutation it catches; each was checked by applying it.

use crate::sync::model;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::alarm::Alarm;
use super::item::Owed;
use super::thread::Shared;
use super::wait::{cancel, register};
use crate::error::{Error, HResult};
use crate::event::Event;
use crate::sync::{lock, thread, Arc, Condvar, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Completed with its own status (expired, or its event was set).
    Fired,
    /// Completed with `MF_E_OPERATION_CANCELLED` (a waiting item's cancel).
    CancelledWait,
    /// Taken back by a scheduled item's cancel (which releases it).
    CancelledScheduled,
    /// Completed with `MF_E_SHUTDOWN` (a waiting item stopped at shutdown).
    Stopped,
    /// Leaked at shutdown (a pending scheduled item).
    Leaked,
    /// Handed back by a refused call.
    Refused,
    /// Dropped without any of the above: lost.
    Dropped,
}

/// The fates recorded so far, and a condition variable to wait for one.
#[derive(Clone)]
struct Log(Arc<(Mutex<Vec<(usize, Fate)>>, Condvar)>);

impl Log {
    fn new() -> Log {
        Log(Arc::new((Mutex::new(Vec::new()), Condvar::new())))
    }

    fn record(&self, index: usize, fate: Fate) {
        lock(&self.0 .0).push((index, fate));
        self.0 .1.notify_all();
    }

    /// Blocks until item `index` has a fate (a real block: if it never comes,
    /// loom reports a deadlock).
    fn wait_for(&self, index: usize) {
        let mut log = lock(&self.0 .0);
        while !log.iter().any(|(item, _)| *item == index) {
            log = self.0 .1.wait(log).unwrap();
        }
    }

    /// Item `index`'s one fate; fails the model if it has none or several.
    fn fate(&self, index: usize) -> Fate {
        let log = lock(&self.0 .0);
        let fates: Vec<Fate> = log
            .iter()
            .filter(|(item, _)| *item == index)
            .map(|(_, fate)| *fate)
            .collect();
        assert_eq!(
            fates.len(),
            1,
            "item {index} has exactly one fate: {fates:?}"
        );
        fates[0]
    }

    fn probe(&self, index: usize) -> Probe {
        Probe {
            index,
            log: self.clone(),
            done: false,
        }
    }
}

/// An item's result, as the models see it: records what happened to it.
struct Probe {
    index: usize,
    log: Log,
    done: bool,
}

impl Probe {
    fn settle(mut self, fate: Fate) {
        self.done = true;
        self.log.record(self.index, fate);
    }
}

impl Owed for Probe {
    fn complete(self, status: Option<HResult>, _key: u64, _what: &'static str) {
        let fate = match status {
            None => Fate::Fired,
            Some(HResult::MF_E_OPERATION_CANCELLED) => Fate::CancelledWait,
            Some(HResult::MF_E_SHUTDOWN) => Fate::Stopped,
            Some(other) => panic!("unexpected status {other:?}"),
        };
        self.settle(fate);
    }

    fn leak(self) {
        self.settle(Fate::Leaked);
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if !self.done {
            self.log.record(self.index, Fate::Dropped);
        }
    }
}

/// A deadline no model reaches: only a notification ends a wait for it.
fn far() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

/// A due scheduled item raced by the timer thread (firing), a cancel on
/// another thread, and `stop` on the main thread: exactly one of them owns
/// it — fired, cancelled (and `cancel` said `Ok`), or leaked — and `stop`
/// returns with the timer thread joined.
///
/// Catches: `stop` not notifying the condition variable (the timer thread,
/// asleep with nothing pending, never sees `stopped`: the join deadlocks);
/// `take_scheduled` ignoring `stopped` is harmless here (the map is drained),
/// so it is not claimed.
#[test]
fn loom_timer_scheduled_fire_cancel_and_stop_race() {
    model(|| {
        let log = Log::new();
        let shared = Shared::<Probe>::new();
        let key = match shared.schedule(log.probe(0), Instant::now()) {
            Ok(key) => key,
            Err(_) => panic!("a running timer takes the item"),
        };
        let canceller = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || match shared.take_scheduled(key.0) {
                Ok(probe) => {
                    probe.settle(Fate::CancelledScheduled);
                    true
                }
                Err(error) => {
                    assert!(matches!(error, Error::NotFound | Error::Shutdown));
                    false
                }
            })
        };
        shared.stop(far());
        let cancelled = canceller.join().unwrap();
        let fate = log.fate(0);
        assert!(
            matches!(fate, Fate::Fired | Fate::CancelledScheduled | Fate::Leaked),
            "{fate:?}"
        );
        assert_eq!(cancelled, fate == Fate::CancelledScheduled);
    });
}

/// The timer thread asleep until a far deadline (item 0) must be woken by a
/// schedule with an earlier one (item 1, due now), which then fires before
/// the model stops the timers; item 0 is leaked at the stop.
///
/// Catches: `wake_for` not notifying for an earlier deadline (or comparing
/// the wrong way), and the timer thread not publishing `keeper_until`
/// before it waits (a schedule then sees it busy and does not wake it):
/// either way item 1 never fires and the model deadlocks.
#[test]
fn loom_timer_earlier_deadline_wakes_the_sleeping_thread() {
    model(|| {
        let log = Log::new();
        let shared = Shared::<Probe>::new();
        assert!(shared.schedule(log.probe(0), far()).is_ok());
        assert!(shared.schedule(log.probe(1), Instant::now()).is_ok());
        log.wait_for(1);
        shared.stop(far());
        assert_eq!(log.fate(0), Fate::Leaked);
        assert_eq!(log.fate(1), Fate::Fired);
    });
}

/// A schedule on another thread racing `stop`: the item is refused (handed
/// back), fired, or leaked — never taken after the drain and lost — and no
/// timer thread is started after `stop` (it would never be joined).
///
/// Catches: `schedule` not checking `stopped` (the item lands in the drained
/// map and is dropped with it, or its thread outlives `stop`).
#[test]
fn loom_timer_schedule_racing_stop_is_refused_fired_or_leaked() {
    model(|| {
        let log = Log::new();
        let shared = Shared::<Probe>::new();
        let scheduler = {
            let shared = Arc::clone(&shared);
            let log = log.clone();
            thread::spawn(
                move || match shared.schedule(log.probe(0), Instant::now()) {
                    Ok(_) => true,
                    Err((error, probe)) => {
                        assert_eq!(error, Error::Shutdown);
                        probe.expect("handed back").settle(Fate::Refused);
                        false
                    }
                },
            )
        };
        shared.stop(far());
        let accepted = scheduler.join().unwrap();
        // A thread started by a schedule that won the race was joined by
        // `stop`; what is left of `shared` goes now.
        drop(shared);
        let fate = log.fate(0);
        if accepted {
            assert!(matches!(fate, Fate::Fired | Fate::Leaked), "{fate:?}");
        } else {
            assert_eq!(fate, Fate::Refused);
        }
    });
}

/// A waiting item on an auto-reset event, raced by `set` (another thread), a
/// cancel by key (another thread: `take_wait` then `wait::cancel`, as
/// `cancel_work_item` does) and `stop` (the main thread): exactly one wins —
/// fired, cancelled (and only then does cancel say `Ok`), or stopped — and the
/// event's one signal is consumed only by the item firing.
///
/// Catches: `Event::set` keeping an auto-reset event signalled after it
/// released an item (the signal is consumed twice: the item fires and the
/// event stays set), and `Claim` deciding by a load and a store instead of
/// one compare-and-swap (two winners).
#[test]
fn loom_timer_wait_set_cancel_and_stop_race() {
    model(|| {
        let log = Log::new();
        let shared = Shared::<Probe>::new();
        let event = Event::auto_reset(false);
        let key = register(&shared, Some(&event), log.probe(0)).unwrap();
        let setter = {
            let event = event.clone();
            thread::spawn(move || event.set())
        };
        let canceller = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || shared.take_wait(key.0).and_then(cancel).is_ok())
        };
        shared.stop(far());
        setter.join().unwrap();
        let cancelled = canceller.join().unwrap();
        let fate = log.fate(0);
        assert!(
            matches!(fate, Fate::Fired | Fate::CancelledWait | Fate::Stopped),
            "{fate:?}"
        );
        assert_eq!(cancelled, fate == Fate::CancelledWait);
        assert_eq!(
            event.is_set(),
            fate != Fate::Fired,
            "the signal is consumed by the item that fired, and only by it"
        );
    });
}

/// A waker that records item `index` as fired each time it is woken.
struct RecordingWaker {
    index: usize,
    log: Log,
}

impl std::task::Wake for RecordingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.log.record(self.index, Fate::Fired);
    }
}

fn recording_waker(log: &Log, index: usize) -> std::task::Waker {
    std::task::Waker::from(std::sync::Arc::new(RecordingWaker {
        index,
        log: log.clone(),
    }))
}

/// An alarm, pinned in a box that its one owner may hand to another thread.
type OwnedAlarm = Pin<Box<Alarm<Probe>>>;

/// Arms a new alarm for item `index`, due at `deadline`, through the
/// lock-free inbox; `None` if refused.
fn enter_alarm(
    shared: &Arc<Shared<Probe>>,
    log: &Log,
    index: usize,
    deadline: Instant,
) -> Option<OwnedAlarm> {
    arm_alarm(shared, log, index, deadline).map(|(alarm, armed)| {
        assert!(armed, "the timekeeper cannot have seen a far deadline pass");
        alarm
    })
}

/// [`enter_alarm`] for any deadline: with whether it was armed (`false`:
/// due at once, the timekeeper having seen the deadline pass).
fn arm_alarm(
    shared: &Arc<Shared<Probe>>,
    log: &Log,
    index: usize,
    deadline: Instant,
) -> Option<(OwnedAlarm, bool)> {
    let mut alarm = Box::pin(Alarm::new());
    match alarm
        .as_mut()
        .arm_in(Arc::clone(shared), deadline, &recording_waker(log, index))
    {
        Poll::Pending => Some((alarm, true)),
        Poll::Ready(Ok(())) => Some((alarm, false)),
        Poll::Ready(Err(error)) => {
            assert_eq!(error, Error::Shutdown);
            None
        }
    }
}

/// The timekeeper asleep until far away (alarm 0) must be woken by an alarm
/// entered through the inbox with an earlier deadline (alarm 1, due now),
/// whichever way the entry and the timekeeper's going to sleep interleave;
/// the stop then ends alarm 0 with `Shutdown`.
///
/// Catches: the timekeeper not looking into the alarm inbox again after it
/// published `keeper_until` (the entry lands just after its last look,
/// while `enter_alarm` still reads it busy), and `enter_alarm` not reading
/// `keeper_until` (or comparing the wrong way): either way alarm 1 never
/// rings and the model deadlocks.
#[test]
fn loom_timer_alarm_through_the_inbox_wakes_the_timekeeper() {
    model(|| {
        let log = Log::new();
        let shared = Shared::<Probe>::new();
        let far_alarm = enter_alarm(&shared, &log, 0, far()).expect("running");
        let (due, armed) = arm_alarm(&shared, &log, 1, Instant::now()).expect("running");
        if armed {
            log.wait_for(1);
            assert_eq!(due.outcome(), Some(Ok(())));
        }
        shared.stop(far());
        assert_eq!(far_alarm.outcome(), Some(Err(Error::Shutdown)));
        assert_eq!(log.fate(0), Fate::Fired, "woken once, by the stop");
    });
}

/// An alarm entered on another thread racing `stop`: refused, or accepted
/// and then ended (rung at its deadline or by the stop): never left in the
/// inbox with its task waiting for ever.
///
/// Catches: `enter_alarm` not reading `closed` again after its push (the
/// alarm lands after `stop` emptied the inbox: no outcome, never woken).
#[test]
fn loom_timer_alarm_racing_stop_is_never_stranded() {
    model(|| {
        let log = Log::new();
        let shared = Shared::<Probe>::new();
        // The timekeeper runs before the race (so that the stop joins it).
        let _first = enter_alarm(&shared, &log, 0, far()).expect("running");
        let enterer = {
            let shared = Arc::clone(&shared);
            let log = log.clone();
            thread::spawn(move || enter_alarm(&shared, &log, 1, far()))
        };
        shared.stop(far());
        if let Some(alarm) = enterer.join().unwrap() {
            assert_eq!(alarm.outcome(), Some(Err(Error::Shutdown)));
            assert_eq!(log.fate(1), Fate::Fired, "woken once");
        }
    });
}

/// A due alarm withdrawn by its owner on another thread while the timekeeper
/// rings it: exactly one wins. If the withdrawal found it armed, the task is
/// never woken and no outcome is set; otherwise it rang once with `Ok`.
///
/// Catches: `withdraw_alarm` not re-checking the state under the timer's
/// lock (an alarm rung meanwhile is looked for in a heap it has left: the
/// heap's slot check fails).
#[test]
fn loom_timer_alarm_withdrawal_races_the_ring() {
    model(|| {
        let log = Log::new();
        let shared = Shared::<Probe>::new();
        let (alarm, armed) = arm_alarm(&shared, &log, 0, Instant::now()).expect("running");
        if !armed {
            return; // due at once: nothing to race
        }
        // The owner withdraws on another thread (the alarm moves there).
        let withdrawer = thread::spawn(move || {
            let mut alarm = alarm;
            let withdrew = alarm.as_mut().withdraw();
            (alarm, withdrew)
        });
        let (alarm, withdrew) = withdrawer.join().unwrap();
        if !withdrew {
            log.wait_for(0);
        }
        shared.stop(far());
        let woken = lock(&log.0 .0).len();
        if withdrew {
            assert_eq!(woken, 0, "a withdrawn alarm wakes no one");
            assert_eq!(alarm.outcome(), None);
        } else {
            assert_eq!(woken, 1);
            assert_eq!(alarm.outcome(), Some(Ok(())));
        }
    });
}

/// An alarm withdrawn right after its arming, while it may still be in the
/// inbox (the timekeeper moving the inbox into the heap meanwhile, or not):
/// the withdrawal finds it either way, it never rings, and the stop finds
/// nothing of it.
///
/// Catches: a withdrawal that looks only in the heap (an alarm still in the
/// inbox is not in its slot there: the heap's slot check fails; without
/// the check it would stay linked in the inbox after its owner freed it).
#[test]
fn loom_timer_alarm_withdrawn_from_the_inbox() {
    model(|| {
        let log = Log::new();
        let shared = Shared::<Probe>::new();
        let _first = enter_alarm(&shared, &log, 0, far()).expect("running");
        let mut alarm = enter_alarm(&shared, &log, 1, far()).expect("running");
        assert!(alarm.as_mut().withdraw(), "a live arming is withdrawn");
        shared.stop(far());
        assert_eq!(alarm.outcome(), None);
        assert_eq!(log.fate(0), Fate::Fired, "the stop woke the other alarm");
        assert!(
            !lock(&log.0 .0).iter().any(|(index, _)| *index == 1),
            "a withdrawn alarm wakes no one"
        );
    });
}

/// The owner polling again with a new waker while the timekeeper rings the
/// alarm: the poll either sees the ring (`Ready`) or leaves the waker that
/// the ring then takes and wakes.
///
/// Catches: a ring that sets `RUNG` after leaving the alarm's `waker` lock
/// (the poll stores its waker after the ring took the old one and still
/// reads the alarm armed: nobody wakes the new waker, and the model
/// deadlocks).
#[test]
fn loom_timer_alarm_poll_races_the_ring() {
    model(|| {
        let log = Log::new();
        let shared = Shared::<Probe>::new();
        let Some((alarm, true)) = arm_alarm(&shared, &log, 0, Instant::now()) else {
            return; // due at once: nothing to race
        };
        match alarm.as_ref().poll(&recording_waker(&log, 1)) {
            Poll::Ready(outcome) => assert_eq!(outcome, Ok(())),
            Poll::Pending => log.wait_for(1),
        }
        shared.stop(far());
    });
}

/// The owner re-arming an alarm as soon as it sees it rung (what an
/// interval does for its next tick), while the ring may still be inside
/// the alarm's `waker` lock: the new arming is not lost (the stop ends it
/// and wakes its waker), and the old ring does not wake the new waker.
///
/// Catches: the timekeeper reading the alarm's `link` (its trace id) after
/// the ring set `RUNG` rather than before (the owner's rewrite of the
/// deadline and id for the new arming races that read: loom's cell check
/// fails).
#[test]
fn loom_timer_alarm_rearmed_as_soon_as_rung() {
    model(|| {
        let log = Log::new();
        let shared = Shared::<Probe>::new();
        let Some((mut alarm, true)) = arm_alarm(&shared, &log, 0, Instant::now()) else {
            return; // due at once: nothing to race
        };
        while alarm.outcome().is_none() {
            thread::yield_now();
        }
        let rearmed = alarm
            .as_mut()
            .arm_in(Arc::clone(&shared), far(), &recording_waker(&log, 1));
        assert!(rearmed.is_pending());
        shared.stop(far());
        log.wait_for(0);
        assert_eq!(alarm.outcome(), Some(Err(Error::Shutdown)));
        assert_eq!(log.fate(1), Fate::Fired, "the stop woke the new waker once");
        assert_eq!(log.fate(0), Fate::Fired, "the ring woke the old waker once");
    });
}

/// A scheduled item is pending from the moment `schedule` returns, wherever
/// it is (still in the inbox, or moved into the heap by the timekeeper
/// meanwhile): a cancel right after finds it, the other item scheduled with
/// it stays pending, and the stop then leaks that one and nothing else.
///
/// Catches: a cancel that looks only in the map (an item the timekeeper has
/// not moved yet is `NotFound`, and later fires although cancel was asked
/// first); a cancel that takes its own item out of the inbox but drops the
/// entries beside it instead of moving them into the pending sets (item 0
/// is `Dropped`, not `Leaked`).
#[test]
fn loom_timer_cancel_finds_an_item_still_in_the_inbox() {
    model(|| {
        let log = Log::new();
        let shared = Shared::<Probe>::new();
        let schedule = |index| match shared.schedule(log.probe(index), far()) {
            Ok(key) => key,
            Err(_) => panic!("a running timer takes the item"),
        };
        schedule(0);
        schedule(1);
        let key = schedule(2);
        let probe = shared.take_scheduled(key.0).expect("pending");
        probe.settle(Fate::CancelledScheduled);
        assert_eq!(
            shared.take_scheduled(key.0).err(),
            Some(Error::NotFound),
            "a second cancel finds nothing"
        );
        shared.stop(far());
        assert_eq!(log.fate(2), Fate::CancelledScheduled);
        assert_eq!(log.fate(0), Fate::Leaked);
        assert_eq!(log.fate(1), Fate::Leaked);
    });
}
