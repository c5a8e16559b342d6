//! Scheduled items, cancellation and periodic callbacks (docs/behaviour.md#scheduled
//! and #periodic: #w36 to #w38, #w41, #w44 to #w46, #w56, and the accounting of
//! #w14 and #w15; decisions #d15, #d16, #d18).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    assert_nothing_more, probe_lock_count, recv, recv_n, serial, wait_until, Concurrency, Rng, WAIT,
};
use mfwq::{
    add_periodic_callback, callback, callback_on, cancel_work_item, delay_from_mf_timeout,
    remove_periodic_callback, schedule_result, schedule_work_item, timer_periodicity, AsyncResult,
    Callback, Error, PeriodicKey, Platform, QueueId, QueueType, State, WorkItemKey, WorkQueue,
};

/// A callback that counts its invocations.
fn counting() -> (Callback, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let cb = callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    (cb, count)
}

// docs/behaviour.md#w36: a negative timeout is a relative delay in milliseconds; the call
// succeeds and returns a key.
#[test]
fn negative_timeout_is_a_relative_delay() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    assert_eq!(delay_from_mf_timeout(-5000), Duration::from_millis(5000));
    let (cb, count) = counting();
    let key = schedule_work_item(cb, None, delay_from_mf_timeout(-5000)).unwrap();
    assert_eq!(
        key.into_raw() >> 32,
        0x8000_0000,
        "scheduled-item key layout"
    );
    assert_ne!(key.into_raw() & 0xFFFF_FFFF, 0);
    // A short one really waits its delay, then fires once.
    let (sender, receiver) = mpsc::channel();
    let start = Instant::now();
    schedule_work_item(
        callback(move |_| sender.send(Instant::now()).unwrap()),
        None,
        delay_from_mf_timeout(-30),
    )
    .unwrap();
    let fired = recv(&receiver);
    assert!(fired - start >= Duration::from_millis(30));
    assert_nothing_more(&receiver, Duration::from_millis(20));
    assert_eq!(cancel_work_item(key), Ok(()));
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

// docs/behaviour.md#d16 (and docs/behaviour.md#w43): zero and positive timeouts fire as soon as possible.
#[test]
fn zero_and_positive_timeouts_fire_promptly() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    assert_eq!(delay_from_mf_timeout(0), Duration::ZERO);
    assert_eq!(delay_from_mf_timeout(1000), Duration::ZERO);
    assert_eq!(delay_from_mf_timeout(i64::MAX), Duration::ZERO);
    for timeout in [0, 1, 1000, i64::MAX] {
        let (sender, receiver) = mpsc::channel();
        let start = Instant::now();
        schedule_work_item(
            callback(move |_| sender.send(Instant::now()).unwrap()),
            None,
            delay_from_mf_timeout(timeout),
        )
        .unwrap();
        let fired = recv(&receiver);
        assert!(
            fired - start < Duration::from_millis(250),
            "timeout {timeout} took {:?}",
            fired - start
        );
    }
}

// docs/behaviour.md#w37: cancel returns Ok, the callback has been released completely by the
// time it returns, and it is never invoked.
#[test]
fn cancel_releases_the_callback_before_returning_and_it_never_runs() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, count) = counting();
    let state: State = Arc::new(5u32);
    let key =
        schedule_work_item(cb.clone(), Some(state.clone()), Duration::from_millis(30)).unwrap();
    assert_eq!(
        Arc::strong_count(&cb),
        2,
        "the pending item holds the callback"
    );
    assert_eq!(Arc::strong_count(&state), 2, "and the state");
    assert_eq!(cancel_work_item(key), Ok(()));
    assert_eq!(Arc::strong_count(&cb), 1, "released before cancel returned");
    assert_eq!(Arc::strong_count(&state), 1);
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "a cancelled item never runs"
    );
}

// The same with the caller's own result (MFScheduleWorkItemEx): the platform's
// reference is gone when cancel returns.
#[test]
fn cancel_releases_the_platforms_reference_to_a_callers_result() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, count) = counting();
    let result = AsyncResult::with_callback(cb, None);
    let key = schedule_result(&result, Duration::from_secs(5)).unwrap();
    assert_eq!(result.ref_count(), 2);
    assert_eq!(cancel_work_item(key), Ok(()));
    assert_eq!(result.ref_count(), 1);
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

// docs/behaviour.md#w38: a second cancel of the same key is NotFound; so are keys never issued.
#[test]
fn second_cancel_and_unknown_keys_are_not_found() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, _count) = counting();
    let key = schedule_work_item(cb, None, Duration::from_secs(5)).unwrap();
    assert_eq!(cancel_work_item(key), Ok(()));
    assert_eq!(cancel_work_item(key), Err(Error::NotFound));
    assert_eq!(
        cancel_work_item(WorkItemKey::from_raw(0)),
        Err(Error::NotFound)
    );
    assert_eq!(
        cancel_work_item(WorkItemKey::from_raw(0x8000_0000_FFFF_FFF0)),
        Err(Error::NotFound)
    );
    assert_eq!(
        cancel_work_item(WorkItemKey::from_raw(0x1234_0000_0000_0001)),
        Err(Error::NotFound)
    );
}

// A cancel right after its schedule takes its item out of the timer's inbox
// (where schedules wait for the timekeeper, without its lock); the items
// scheduled beside it stay pending and fire, each once.
#[test]
fn cancel_beside_other_fresh_schedules_takes_only_its_own_item() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (sender, receiver) = mpsc::channel();
    let mut keys = Vec::new();
    for index in 0..5 {
        let sender = sender.clone();
        let cb = callback(move |_| sender.send(index).unwrap());
        keys.push(schedule_work_item(cb, None, Duration::from_millis(20)).unwrap());
    }
    assert_eq!(cancel_work_item(keys[1]), Ok(()));
    assert_eq!(cancel_work_item(keys[3]), Ok(()));
    assert_eq!(cancel_work_item(keys[3]), Err(Error::NotFound));
    let mut fired: Vec<i32> = recv_n(&receiver, 3);
    fired.sort();
    assert_eq!(fired, vec![0, 2, 4]);
    assert_nothing_more(&receiver, Duration::from_millis(50));
    for index in [0, 2, 4] {
        assert_eq!(cancel_work_item(keys[index]), Err(Error::NotFound));
    }
}

// A fired item can no longer be cancelled.
#[test]
fn cancel_after_firing_is_not_found() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (sender, receiver) = mpsc::channel();
    let key = schedule_work_item(
        callback(move |_| sender.send(()).unwrap()),
        None,
        Duration::from_millis(1),
    )
    .unwrap();
    recv(&receiver);
    assert_eq!(cancel_work_item(key), Err(Error::NotFound));
}

// docs/behaviour.md#w41 and #w56: a timer not yet due at shutdown never fires; cancelling it
// afterwards is Shutdown; after a restart its key is simply unknown.
#[test]
fn pending_timer_never_fires_after_shutdown() {
    let _serial = serial();
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    let (cb, count) = counting();
    let key = schedule_work_item(cb.clone(), None, Duration::from_millis(40)).unwrap();
    mfwq::shutdown().unwrap();
    assert_eq!(cancel_work_item(key), Err(Error::Shutdown));
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(count.load(Ordering::SeqCst), 0, "never fires");
    assert_eq!(cancel_work_item(key), Err(Error::Shutdown));
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    assert_eq!(cancel_work_item(key), Err(Error::NotFound));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "not after the restart either"
    );
    assert_eq!(
        Arc::strong_count(&cb),
        2,
        "the leaked item still holds the callback"
    );
    mfwq::shutdown().unwrap();
}

// docs/behaviour.md#d34: nothing works while the platform is not started.
#[test]
fn calls_before_startup_are_shutdown() {
    let _serial = serial();
    let (cb, _count) = counting();
    let before = mfwq::platform_lock_count();
    assert_eq!(
        schedule_work_item(cb.clone(), None, Duration::ZERO),
        Err(Error::Shutdown)
    );
    let result = AsyncResult::with_callback(cb, None);
    assert_eq!(
        schedule_result(&result, Duration::ZERO),
        Err(Error::Shutdown)
    );
    assert_eq!(result.ref_count(), 1, "a refused schedule keeps nothing");
    drop(result);
    assert_eq!(mfwq::platform_lock_count(), before, "and leaves no lock");
    assert_eq!(
        cancel_work_item(WorkItemKey::from_raw(0x8000_0000_0000_0001)),
        Err(Error::Shutdown)
    );
    assert_eq!(add_periodic_callback(|_| {}, None), Err(Error::Shutdown));
    assert_eq!(
        remove_periodic_callback(PeriodicKey::from_raw(1)),
        Err(Error::Shutdown)
    );
}

// A result with neither a callback nor an event can never be dispatched.
#[test]
fn result_without_callback_or_event_is_invalid() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let result = AsyncResult::new(None, None, None);
    assert_eq!(
        schedule_result(&result, Duration::ZERO),
        Err(Error::InvalidArg)
    );
    // With an event instead, the event is set when it expires.
    let done = mfwq::Event::manual_reset(false);
    result.set_event(Some(done.clone()));
    schedule_result(&result, Duration::from_millis(1)).unwrap();
    common::wait_event(&done, "the scheduled result's event");
}

// docs/behaviour.md#w14: the internal results of scheduled items are ordinary results.
#[test]
fn scheduled_items_results_count_as_platform_locks() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    assert_eq!(probe_lock_count(), 1);
    let (cb, _count) = counting();
    let first = schedule_work_item(cb.clone(), None, Duration::from_secs(10)).unwrap();
    assert_eq!(probe_lock_count(), 2);
    let second = schedule_work_item(cb.clone(), None, Duration::from_secs(10)).unwrap();
    assert_eq!(probe_lock_count(), 3, "two schedules: 2 -> 3");
    assert_eq!(cancel_work_item(first), Ok(()));
    assert_eq!(cancel_work_item(second), Ok(()));
    assert_eq!(probe_lock_count(), 3, "cancelling does not lower it");
    let third = schedule_work_item(cb, None, Duration::from_secs(10)).unwrap();
    assert_eq!(
        probe_lock_count(),
        3,
        "a third schedule reuses a cached lock"
    );
    assert_eq!(cancel_work_item(third), Ok(()));
}

// docs/behaviour.md#w15: a scheduled item pending at shutdown leaks its internal result and
// with it one platform lock: after the next startup the count is 2.
#[test]
fn pending_timer_at_shutdown_leaks_its_lock() {
    let _serial = serial();
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    assert_eq!(probe_lock_count(), 1);
    let (cb, count) = counting();
    schedule_work_item(cb, None, Duration::from_secs(5)).unwrap();
    mfwq::shutdown().unwrap();
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    assert_eq!(probe_lock_count(), 2, "the leaked result keeps its lock");
    assert_eq!(count.load(Ordering::SeqCst), 0);
    mfwq::shutdown().unwrap();
}

// docs/behaviour.md#w15, Rtwq form: with the caller's own result, the platform keeps one
// reference for ever, so the caller's release would leave the count at 1.
#[test]
fn pending_timer_at_shutdown_keeps_a_reference_to_the_callers_result() {
    let _serial = serial();
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    let (cb, count) = counting();
    let result = AsyncResult::with_callback(cb, None);
    schedule_result(&result, Duration::from_millis(20)).unwrap();
    assert_eq!(result.ref_count(), 2);
    mfwq::shutdown().unwrap();
    std::thread::sleep(Duration::from_millis(40));
    assert_eq!(
        result.ref_count(),
        2,
        "the platform's reference is never given back"
    );
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

// Expiry goes through invoke_callback: the callback runs on the queue its
// parameters name (STANDARD by default), never on the timer's thread.
#[test]
fn timers_fire_on_the_callbacks_own_queue() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let private = WorkQueue::new(QueueType::Standard).unwrap();
    for queue in [
        QueueId::STANDARD,
        QueueId::MULTITHREADED,
        QueueId::RT,
        private.id(),
    ] {
        let (sender, receiver) = mpsc::channel();
        let cb = callback_on(queue, move |_| sender.send(mfwq::current_queue()).unwrap());
        schedule_work_item(cb, None, Duration::from_millis(2)).unwrap();
        assert_eq!(recv(&receiver), Some(queue));
    }
    let (sender, receiver) = mpsc::channel();
    let plain = callback(move |result| {
        sender
            .send((mfwq::current_queue(), result.state_as::<u8>().copied()))
            .unwrap()
    });
    schedule_work_item(plain, Some(Arc::new(9u8)), Duration::ZERO).unwrap();
    assert_eq!(
        recv(&receiver),
        (Some(QueueId::STANDARD), Some(9)),
        "default queue, with the state"
    );
}

// The callback receives the very result that was scheduled.
#[test]
fn schedule_result_invokes_with_the_same_result() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (sender, receiver) = mpsc::channel();
    let cb = callback_on(QueueId::MULTITHREADED, move |result: &AsyncResult| {
        sender.send(result.clone()).unwrap()
    });
    let result = AsyncResult::with_callback(cb, None);
    schedule_result(&result, Duration::from_millis(1)).unwrap();
    let got = recv(&receiver);
    assert!(got.ptr_eq(&result));
}

// Never early; in order of deadline whatever the order of scheduling.
#[test]
fn timers_never_fire_early() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (sender, receiver) = mpsc::channel();
    let n = 200;
    let mut expected = Vec::new();
    for i in 0..n {
        let delay = Duration::from_micros(rng.below(20_000));
        let sender = sender.clone();
        let start = Instant::now();
        let cb = callback_on(QueueId::MULTITHREADED, move |_| {
            sender.send((i, Instant::now())).unwrap()
        });
        schedule_work_item(cb, None, delay).unwrap();
        expected.push(start + delay);
    }
    for (i, fired) in recv_n(&receiver, n) {
        assert!(
            fired >= expected[i],
            "item {i} fired {:?} early",
            expected[i] - fired
        );
    }
    assert_nothing_more(&receiver, Duration::from_millis(10));
}

// Cancel racing with expiry: each item either ran exactly once (cancel said
// NotFound) or was cancelled (cancel said Ok) and never ran.
#[test]
fn cancel_racing_with_expiry_has_exactly_one_winner() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    const ITEMS: usize = 2000;
    const BATCH: usize = 200;
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..ITEMS).map(|_| AtomicUsize::new(0)).collect());
    let counter = runs.clone();
    let cb = callback_on(QueueId::MULTITHREADED, move |result| {
        let index = *result.state_as::<usize>().unwrap();
        counter[index].fetch_add(1, Ordering::SeqCst);
    });
    let mut rng = Rng(0xDEAD_BEEF_1234_5678);
    let mut outcomes = vec![None; ITEMS];
    for batch in 0..ITEMS / BATCH {
        let mut keys: Vec<(usize, WorkItemKey)> = (0..BATCH)
            .map(|j| {
                let index = batch * BATCH + j;
                let delay = Duration::from_micros(rng.below(2_001));
                let key = schedule_work_item(cb.clone(), Some(Arc::new(index)), delay).unwrap();
                (index, key)
            })
            .collect();
        // Cancel in a random order, spread over about 2 ms.
        for i in (1..keys.len()).rev() {
            keys.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for (index, key) in keys {
            let spin = Instant::now() + Duration::from_micros(rng.below(20));
            while Instant::now() < spin {
                std::hint::spin_loop();
            }
            outcomes[index] = Some(cancel_work_item(key));
        }
    }
    let ran = |index: usize| runs[index].load(Ordering::SeqCst);
    let fired: Vec<usize> = (0..ITEMS)
        .filter(|&i| outcomes[i] == Some(Err(Error::NotFound)))
        .collect();
    let cancelled: Vec<usize> = (0..ITEMS)
        .filter(|&i| outcomes[i] == Some(Ok(())))
        .collect();
    assert_eq!(fired.len() + cancelled.len(), ITEMS, "only Ok or NotFound");
    // Those that fired before their cancel all run (perhaps still queued now).
    assert!(
        wait_until(WAIT, || fired.iter().all(|&i| ran(i) >= 1)),
        "every item whose cancel lost has run"
    );
    std::thread::sleep(Duration::from_millis(20));
    for &i in &fired {
        assert_eq!(ran(i), 1, "item {i} ran exactly once");
    }
    for &i in &cancelled {
        assert_eq!(ran(i), 0, "cancelled item {i} never ran");
    }
    // The race was really exercised both ways (typically hundreds each; a
    // slow run, as under ThreadSanitizer, tips the balance towards firing,
    // so only "some of each" is required).
    assert!(!fired.is_empty(), "none fired");
    assert!(!cancelled.is_empty(), "none cancelled");
    assert_eq!(Arc::strong_count(&cb), 1, "every item was released");
}

// Cancelling from inside a callback, and scheduling from inside one, work (docs/behaviour.md#d36).
#[test]
fn schedule_and_cancel_from_inside_invoke() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (sender, receiver) = mpsc::channel();
    let cb = callback_on(QueueId::MULTITHREADED, move |_| {
        let (victim, count) = counting();
        let key = schedule_work_item(victim, None, Duration::from_millis(20)).unwrap();
        let cancelled = cancel_work_item(key);
        let inner = sender.clone();
        let follow = schedule_work_item(
            callback(move |_| inner.send(None).unwrap()),
            None,
            Duration::from_millis(1),
        );
        sender
            .send(Some((cancelled, follow.is_ok(), count)))
            .unwrap();
    });
    schedule_work_item(cb, None, Duration::ZERO).unwrap();
    let (cancelled, follow_ok, count) = recv(&receiver).unwrap();
    assert_eq!(cancelled, Ok(()));
    assert!(follow_ok);
    assert!(
        recv(&receiver).is_none(),
        "the item scheduled from invoke ran"
    );
    std::thread::sleep(Duration::from_millis(40));
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

// docs/behaviour.md#w44: the periodic interval is 10 ms.
#[test]
fn timer_periodicity_is_ten_milliseconds() {
    assert_eq!(timer_periodicity(), Duration::from_millis(10));
}

// docs/behaviour.md#w45: a non-zero key; the function has run at least once within 10
// periods; removal is Ok.
#[test]
fn periodic_callback_runs_and_is_removed() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let key = add_periodic_callback(
        move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        },
        None,
    )
    .unwrap();
    assert_ne!(key.into_raw(), 0);
    std::thread::sleep(10 * timer_periodicity());
    assert!(count.load(Ordering::SeqCst) >= 1, "ran within 10 periods");
    assert_eq!(remove_periodic_callback(key), Ok(()));
    std::thread::sleep(Duration::from_millis(20));
    let after = count.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(40));
    assert_eq!(count.load(Ordering::SeqCst), after, "no runs after removal");
}

// docs/behaviour.md#d18: periodic callbacks keep ticking, run on the TIMER queue, and
// pass the context.
#[test]
fn periodic_callback_ticks_on_the_timer_queue_with_its_context() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (sender, receiver) = mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let registered = Instant::now();
    let key = add_periodic_callback(
        move |context| {
            let value = context.and_then(|c| c.downcast_ref::<&str>().copied());
            let _ = sender
                .lock()
                .unwrap()
                .send((mfwq::current_queue(), value, Instant::now()));
        },
        Some(Arc::new("ctx")),
    )
    .unwrap();
    let ticks = recv_n(&receiver, 5);
    remove_periodic_callback(key).unwrap();
    for (queue, value, _) in &ticks {
        assert_eq!(*queue, Some(QueueId::TIMER));
        assert_eq!(*value, Some("ctx"));
    }
    // The k-th tick is due k periods after the registration at the
    // earliest (the cadence is kept, and a tick is never early), and its run
    // comes at or after it: so the fifth run comes five periods after the
    // registration at the earliest, however late the runs before it were
    // (a delayed first run narrows the span between runs; it cannot make a
    // run early).
    let fifth = ticks[4].2 - registered;
    assert!(
        fifth >= 5 * timer_periodicity(),
        "the fifth tick ran {fifth:?} after the registration"
    );
}

// docs/behaviour.md#d18: a run never overlaps the previous run of the same callback.
#[test]
fn periodic_callback_never_overlaps_itself() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let concurrency = Arc::new(Concurrency::default());
    let runs = Arc::new(AtomicUsize::new(0));
    let (c, r) = (concurrency.clone(), runs.clone());
    let key = add_periodic_callback(
        move |_| {
            let _inside = c.enter();
            r.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(25));
        },
        None,
    )
    .unwrap();
    assert!(wait_until(WAIT, || runs.load(Ordering::SeqCst) >= 6));
    remove_periodic_callback(key).unwrap();
    let at_removal = runs.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(concurrency.max(), 1, "runs overlapped");
    // Ticks that came while a run was in progress were skipped, not queued up
    // behind it: after removal at most the run already started finishes.
    let late = runs.load(Ordering::SeqCst) - at_removal;
    assert!(late <= 1, "{late} queued-up runs after removal");
}

// docs/behaviour.md#w46: the context is held while registered and released after removal.
#[test]
fn periodic_context_is_held_until_removal() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let context = Arc::new(String::from("context"));
    let key = add_periodic_callback(|_| {}, Some(context.clone())).unwrap();
    assert_eq!(Arc::strong_count(&context), 2, "held while registered");
    std::thread::sleep(Duration::from_millis(30));
    assert!(Arc::strong_count(&context) >= 2, "still held after ticks");
    assert_eq!(remove_periodic_callback(key), Ok(()));
    assert!(
        wait_until(Duration::from_millis(500), || Arc::strong_count(&context)
            == 1),
        "released within 500 ms of removal"
    );
}

// The last shutdown ends every periodic callback and releases its context.
#[test]
fn shutdown_ends_periodic_callbacks() {
    let _serial = serial();
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    let context = Arc::new(1u64);
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let key = add_periodic_callback(
        move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        },
        Some(context.clone()),
    )
    .unwrap();
    assert!(wait_until(WAIT, || count.load(Ordering::SeqCst) >= 1));
    mfwq::shutdown().unwrap();
    assert!(wait_until(
        Duration::from_millis(500),
        || Arc::strong_count(&context) == 1
    ));
    let after = count.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(count.load(Ordering::SeqCst), after);
    assert_eq!(remove_periodic_callback(key), Err(Error::Shutdown));
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    assert_eq!(remove_periodic_callback(key), Err(Error::NotFound));
    mfwq::shutdown().unwrap();
}

// Removing an unknown key, or the same key twice, is NotFound.
#[test]
fn removing_an_unknown_periodic_callback_is_not_found() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    assert_eq!(
        remove_periodic_callback(PeriodicKey::from_raw(0xFFFF_FFF0)),
        Err(Error::NotFound)
    );
    assert_eq!(
        remove_periodic_callback(PeriodicKey::from_raw(0)),
        Err(Error::NotFound)
    );
    let a = add_periodic_callback(|_| {}, None).unwrap();
    let b = add_periodic_callback(|_| {}, None).unwrap();
    assert_ne!(a, b);
    assert_eq!(remove_periodic_callback(a), Ok(()));
    assert_eq!(remove_periodic_callback(a), Err(Error::NotFound));
    assert_eq!(remove_periodic_callback(b), Ok(()));
}

// A panicking periodic callback is reported and keeps ticking.
#[test]
fn periodic_callback_survives_a_panic() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (panics, panic_rx) = mpsc::channel();
    let panics = std::sync::Mutex::new(panics);
    mfwq::set_panic_hook(move |report| {
        let _ = panics.lock().unwrap().send(report.queue);
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let key = add_periodic_callback(
        move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            panic!("periodic panic (expected by the test)");
        },
        None,
    )
    .unwrap();
    assert_eq!(recv(&panic_rx), QueueId::TIMER);
    assert!(
        wait_until(WAIT, || runs.load(Ordering::SeqCst) >= 3),
        "a panic does not stop later ticks"
    );
    remove_periodic_callback(key).unwrap();
    mfwq::clear_panic_hook();
}

// Queue::every: a closure at a period of the caller's choosing, on the
// queue's thread, never overlapping itself, on a cadence that does not drift,
// surviving its own panics, and never run again once stopped.
#[test]
fn every_repeats_on_its_queue_at_its_period_until_stopped() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let _serial = common::serial();
    let _platform = mfwq::Platform::start().unwrap();
    assert_eq!(
        mfwq::Queue::STANDARD.every(Duration::ZERO, || ()).err(),
        Some(mfwq::Error::InvalidArg)
    );
    let queue = mfwq::QueueBuilder::new()
        .thread_name("ticker")
        .build()
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(AtomicBool::new(false));
    let panics = common::capture_panics();
    let (counter, busy) = (runs.clone(), running.clone());
    let started = Instant::now();
    let repeating = queue
        .every(Duration::from_millis(5), move || {
            assert!(!busy.swap(true, Ordering::SeqCst), "runs overlap");
            let name = std::thread::current().name().unwrap_or("").to_owned();
            assert!(name.starts_with("mfwq-ticker"), "ran on {name}");
            let run = counter.fetch_add(1, Ordering::SeqCst) + 1;
            // A slow run does not delay the cadence, a panic does not end it.
            if run == 3 {
                std::thread::sleep(Duration::from_millis(12));
            }
            busy.store(false, Ordering::SeqCst);
            if run == 5 {
                panic!("tick 5");
            }
        })
        .unwrap();
    assert_eq!(repeating.period(), Duration::from_millis(5));
    assert!(common::wait_until(common::WAIT, || runs
        .load(Ordering::SeqCst)
        >= 20));
    let elapsed = started.elapsed();
    // 20 runs at 5 ms take about 100 ms (plus the missed ticks skipped after
    // the slow one); never less than 19 periods.
    assert!(elapsed >= Duration::from_millis(95), "{elapsed:?}");
    assert!(panics
        .try_iter()
        .any(|report| report.message.contains("tick 5")));
    repeating.stop();
    std::thread::sleep(Duration::from_millis(10)); // a run in progress ends
    let after_stop = runs.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(runs.load(Ordering::SeqCst), after_stop, "ran after stop");

    // A chain on a private queue ends when the queue goes (it does not move
    // to STANDARD).
    let runs_before_unlock = runs.load(Ordering::SeqCst);
    let counter = runs.clone();
    let orphan = queue
        .every(Duration::from_millis(2), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    assert!(common::wait_until(common::WAIT, || runs
        .load(Ordering::SeqCst)
        > runs_before_unlock));
    drop(queue);
    std::thread::sleep(Duration::from_millis(20));
    let after_unlock = runs.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(
        runs.load(Ordering::SeqCst),
        after_unlock,
        "ran after its queue went"
    );
    drop(orphan);

    // A chain left running ends with the platform, without a crash.
    let left = mfwq::Queue::MULTITHREADED
        .every(Duration::from_millis(1), || ())
        .unwrap();
    std::mem::forget(left);
}
