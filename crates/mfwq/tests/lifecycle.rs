//! Platform lifecycle: startup, shutdown, startup counting (docs/behaviour.md#w1
//! to #w6), the platform lock and its accounting (docs/behaviour.md#w8 to #w16),
//! and the shutdown protocol of docs/behaviour.md#d1 and #d36.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{assert_put_runs, probe_lock_count, recv, serial, wait_event, wait_until, WAIT};
use mfwq::{
    allocate_work_queue, callback, is_started, lock_platform, lock_work_queue, platform_lock_count,
    put_work_item, rtwq_startup, shutdown, startup, unlock_platform, unlock_work_queue,
    AsyncResult, Error, Event, Platform, QueueId, QueueType, MF_VERSION,
};

/// Whether a private queue can be allocated now (the test's view of "started").
fn can_allocate() -> bool {
    match allocate_work_queue(QueueType::Standard) {
        Ok(queue) => {
            unlock_work_queue(queue).unwrap();
            true
        }
        Err(Error::Shutdown) => false,
        Err(other) => panic!("unexpected allocation error {other:?}"),
    }
}

// docs/behaviour.md#w1: a version with garbage in the high word is MF_E_BAD_STARTUP_VERSION,
// and a failed startup does not start the platform.
#[test]
fn bad_startup_version_is_refused_and_starts_nothing() {
    let _serial = serial();
    // MAKELONG(MF_API_VERSION, 0xdead), as the Windows test uses.
    assert_eq!(startup(0xDEAD_0070), Err(Error::BadStartupVersion));
    assert!(!is_started());
    assert_eq!(platform_lock_count(), 0);
    assert_eq!(
        allocate_work_queue(QueueType::Standard),
        Err(Error::Shutdown)
    );
    for version in [0, 0x70, 0x0003_0070, 0x0002_0071, 0x0001_0000, u32::MAX] {
        assert_eq!(
            startup(version),
            Err(Error::BadStartupVersion),
            "{version:#x}"
        );
        assert!(!is_started(), "{version:#x}");
    }
    assert_eq!(
        Error::BadStartupVersion.hresult().0 as u32,
        0xC00D_36E3,
        "MF_E_BAD_STARTUP_VERSION"
    );
    // The refused startups were not counted: one startup, one shutdown, down.
    startup(MF_VERSION).unwrap();
    shutdown().unwrap();
    assert!(!is_started());
}

// docs/behaviour.md#w1, #d2: exactly 0x00010070 and 0x00020070 (MF_VERSION) are accepted.
#[test]
fn both_supported_versions_start_the_platform() {
    let _serial = serial();
    assert_eq!(MF_VERSION, 0x0002_0070);
    for version in [0x0001_0070, 0x0002_0070] {
        assert!(mfwq::is_supported_version(version));
        assert_eq!(startup(version), Ok(()), "{version:#x}");
        assert!(is_started());
        assert!(can_allocate());
        shutdown().unwrap();
        assert!(!is_started());
    }
    assert!(!mfwq::is_supported_version(0xDEAD_0070));
}

// docs/behaviour.md#w2: startup returns Ok and the lock count right after is exactly 1, both
// as platform_lock_count reports it and as Windows' probe measures it.
#[test]
fn startup_holds_exactly_one_platform_lock() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    assert_eq!(platform_lock_count(), 1);
    assert_eq!(probe_lock_count(), 1);
    assert_eq!(
        platform_lock_count(),
        1,
        "the probe leaves the count as it was"
    );
    shutdown().unwrap();
    assert_eq!(platform_lock_count(), 0);
}

// docs/behaviour.md#w3: after shutdown, allocation (and every other queue call) is MF_E_SHUTDOWN.
#[test]
fn calls_after_shutdown_fail_with_shutdown() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    assert!(can_allocate());
    shutdown().unwrap();
    assert_eq!(
        allocate_work_queue(QueueType::Standard),
        Err(Error::Shutdown)
    );
    assert_eq!(
        put_work_item(QueueId::STANDARD, callback(|_| {}), None),
        Err(Error::Shutdown)
    );
    assert_eq!(Error::Shutdown.hresult().0 as u32, 0xC00D_3E85);
}

// docs/behaviour.md#w4: shutdown when never started, or when already shut down, is Ok and does
// nothing (in particular it does not push the startup count below zero).
#[test]
fn extra_shutdowns_are_ok_and_do_nothing() {
    let _serial = serial();
    assert_eq!(shutdown(), Ok(()));
    assert_eq!(shutdown(), Ok(()));
    assert!(!is_started());
    assert_eq!(platform_lock_count(), 0);
    startup(MF_VERSION).unwrap();
    assert!(
        is_started(),
        "one startup after extra shutdowns starts the platform"
    );
    assert!(can_allocate());
    shutdown().unwrap();
    assert_eq!(shutdown(), Ok(()));
    assert!(!is_started());
    startup(MF_VERSION).unwrap();
    assert!(is_started());
    assert_eq!(platform_lock_count(), 1);
    shutdown().unwrap();
}

// docs/behaviour.md#w5: startups nest; a second startup adds no platform lock, and only the
// shutdown matching the first startup shuts down.
#[test]
fn startups_nest_without_adding_locks() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    startup(MF_VERSION).unwrap();
    assert_eq!(platform_lock_count(), 1);
    assert_eq!(probe_lock_count(), 1);
    shutdown().unwrap();
    assert!(is_started());
    assert!(can_allocate());
    assert_eq!(platform_lock_count(), 1);
    assert_put_runs(QueueId::STANDARD);
    shutdown().unwrap();
    assert!(!is_started());
    assert!(!can_allocate());
}

// docs/behaviour.md#w6: MF and RTWQ share one startup counter and one lock counter.
#[test]
fn mf_and_rtwq_share_one_startup_counter() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    rtwq_startup().unwrap();
    assert_eq!(platform_lock_count(), 1);
    shutdown().unwrap(); // RtwqShutdown
    assert!(is_started());
    assert_eq!(platform_lock_count(), 1);
    assert_eq!(probe_lock_count(), 1);
    shutdown().unwrap(); // the one matching MFStartup
    assert!(!is_started());
    assert_eq!(
        allocate_work_queue(QueueType::Standard),
        Err(Error::Shutdown)
    );
    assert_eq!(shutdown(), Ok(()));
}

// docs/behaviour.md#w6: RtwqStartup alone makes the MF functions usable, with lock count 1.
#[test]
fn rtwq_startup_alone_makes_the_platform_usable() {
    let _serial = serial();
    rtwq_startup().unwrap();
    assert!(is_started());
    assert_eq!(platform_lock_count(), 1);
    assert_eq!(probe_lock_count(), 1);
    assert_put_runs(QueueId::MULTITHREADED);
    shutdown().unwrap();
    assert!(!is_started());
}

// docs/behaviour.md#startup: the RAII guard is startup + shutdown.
#[test]
fn platform_guard_shuts_down_on_drop() {
    let _serial = serial();
    let platform = Platform::start().unwrap();
    assert!(is_started());
    assert_put_runs(QueueId::STANDARD);
    drop(platform);
    assert!(!is_started());
    assert_eq!(platform_lock_count(), 0);
}

// docs/behaviour.md#w8: a platform lock alone does not start the platform.
#[test]
fn lock_platform_alone_does_not_start_the_platform() {
    let _serial = serial();
    lock_platform();
    assert!(!is_started());
    assert_eq!(platform_lock_count(), 1);
    assert_eq!(
        allocate_work_queue(QueueType::Standard),
        Err(Error::Shutdown)
    );
    assert_eq!(
        put_work_item(QueueId::STANDARD, callback(|_| {}), None),
        Err(Error::Shutdown)
    );
    unlock_platform();
    assert_eq!(platform_lock_count(), 0);
}

// docs/behaviour.md#w9: after startup (count 1) one unlock makes the platform look shut down;
// a lock revives it.
#[test]
fn unbalanced_unlock_looks_shut_down_until_relocked() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    unlock_platform();
    assert_eq!(platform_lock_count(), 0);
    assert_eq!(
        allocate_work_queue(QueueType::Standard),
        Err(Error::Shutdown)
    );
    lock_platform();
    assert_eq!(platform_lock_count(), 1);
    assert!(can_allocate());
    assert_eq!(probe_lock_count(), 1);
    shutdown().unwrap();
}

// docs/behaviour.md#w10: the count may go negative; lock/unlock always succeed; allocation
// fails while the count is <= 0.
#[test]
fn lock_count_may_go_negative() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    unlock_platform();
    unlock_platform();
    assert_eq!(platform_lock_count(), -1);
    assert!(!can_allocate());
    lock_platform();
    assert_eq!(platform_lock_count(), 0);
    assert!(!can_allocate());
    lock_platform();
    assert_eq!(platform_lock_count(), 1);
    assert!(can_allocate());
    assert_eq!(probe_lock_count(), 1);
    shutdown().unwrap();
}

// docs/behaviour.md#w11: explicit locks survive shutdown and restart; the result-object locks
// do not. Start, two results (count 3), lock twice (count 5), shut down, unlock
// once while down: after restart the count is 2.
#[test]
fn explicit_locks_survive_shutdown_and_restart() {
    let _serial = serial();
    mfwq::set_shutdown_timeout(Duration::from_millis(50));
    startup(MF_VERSION).unwrap();
    drop((
        AsyncResult::new(None, None, None),
        AsyncResult::new(None, None, None),
    ));
    assert_eq!(platform_lock_count(), 3);
    lock_platform();
    lock_platform();
    assert_eq!(platform_lock_count(), 5);
    assert_eq!(probe_lock_count(), 5);
    shutdown().unwrap(); // waits (bounded) for the explicit locks
    assert!(!is_started());
    assert_eq!(platform_lock_count(), 2, "only the explicit locks are left");
    unlock_platform(); // returns nothing, always succeeds, also while down
    startup(MF_VERSION).unwrap();
    assert_eq!(platform_lock_count(), 2);
    assert_eq!(probe_lock_count(), 2);
    unlock_platform();
    assert_eq!(platform_lock_count(), 1);
    shutdown().unwrap();
    assert_eq!(platform_lock_count(), 0);
}

// docs/behaviour.md#w12: with the count at 0 (allocation fails), creating a result is an
// ordinary platform lock that brings the count to 1; a lock then makes it 2.
#[test]
fn creating_a_result_is_an_ordinary_platform_lock() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    unlock_platform();
    assert_eq!(platform_lock_count(), 0);
    assert!(!can_allocate());
    let result = AsyncResult::new(None, None, None);
    assert_eq!(platform_lock_count(), 1);
    assert!(can_allocate(), "the result's lock revives the platform");
    lock_platform();
    assert_eq!(platform_lock_count(), 2);
    assert_eq!(probe_lock_count(), 2);
    drop(result);
    assert_eq!(
        platform_lock_count(),
        2,
        "the released result's lock is cached"
    );
    shutdown().unwrap();
    assert_eq!(platform_lock_count(), 0);
}

// docs/behaviour.md#w13: the count tracks the most results alive at once since startup, plus
// one for startup; internal results of put-work-item reuse cached objects.
#[test]
fn result_locks_track_the_most_results_alive_since_startup() {
    let _serial = serial();
    // Results created and released before startup leave no lock behind.
    drop(AsyncResult::new(None, None, None));
    let early = AsyncResult::new(None, None, None);
    assert_eq!(platform_lock_count(), 1);
    drop(early);
    assert_eq!(platform_lock_count(), 0);

    startup(MF_VERSION).unwrap();
    assert_eq!(platform_lock_count(), 1);
    let first = AsyncResult::new(None, None, None);
    assert_eq!(platform_lock_count(), 2);
    let second = AsyncResult::new(None, None, None);
    assert_eq!(platform_lock_count(), 3);
    assert_eq!(probe_lock_count(), 3);
    drop(first);
    drop(second);
    assert_eq!(
        platform_lock_count(),
        3,
        "the count does not drop while started"
    );
    let third = AsyncResult::new(None, None, None);
    assert_eq!(platform_lock_count(), 3, "a cached object is reused");
    // put_work_item's internal result reuses the other cached object.
    let (sender, receiver) = mpsc::channel();
    put_work_item(
        QueueId::STANDARD,
        callback(move |_| sender.send(mfwq::platform_lock_count()).unwrap()),
        None,
    )
    .unwrap();
    assert_eq!(recv(&receiver), 3, "count seen inside the callback");
    assert_eq!(platform_lock_count(), 3);
    assert_eq!(probe_lock_count(), 3);
    drop(third);
    assert_eq!(platform_lock_count(), 3);
    shutdown().unwrap();
    assert_eq!(
        platform_lock_count(),
        0,
        "cached locks go at the last shutdown"
    );
}

// docs/behaviour.md#w13: a result alive at shutdown keeps its lock until released; released
// while shut down, the count drops at once (next startup: 1).
#[test]
fn result_alive_at_shutdown_keeps_its_lock_until_released() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let result = AsyncResult::new(None, None, None);
    assert_eq!(platform_lock_count(), 2);
    shutdown().unwrap();
    assert_eq!(platform_lock_count(), 1, "the live result keeps its lock");
    drop(result);
    assert_eq!(
        platform_lock_count(),
        0,
        "released while down: dropped at once"
    );
    startup(MF_VERSION).unwrap();
    assert_eq!(platform_lock_count(), 1);
    assert_eq!(probe_lock_count(), 1);
    shutdown().unwrap();
}

// docs/behaviour.md#w13: a result created, then shutdown, then startup: the count is 2; released
// after the restart it returns to the cache, so the count stays 2.
#[test]
fn result_released_after_restart_returns_to_the_cache() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let result = AsyncResult::new(None, None, None);
    shutdown().unwrap();
    startup(MF_VERSION).unwrap();
    assert_eq!(platform_lock_count(), 2);
    assert_eq!(probe_lock_count(), 2);
    drop(result);
    assert_eq!(platform_lock_count(), 2);
    assert_eq!(probe_lock_count(), 2);
    // Reused by the next result: still 2.
    let again = AsyncResult::new(None, None, None);
    assert_eq!(platform_lock_count(), 2);
    drop(again);
    shutdown().unwrap();
    assert_eq!(platform_lock_count(), 0);
}

// docs/behaviour.md#lock-count, #w2 to #w13: platform_lock_count and Windows' probe agree in every state.
#[test]
fn probe_and_platform_lock_count_agree() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let mut seen = Vec::new();
    let mut check = |label: &str| {
        let reported = platform_lock_count();
        let probed = probe_lock_count();
        assert_eq!(reported, probed, "{label}");
        assert_eq!(platform_lock_count(), reported, "{label}: probe is neutral");
        seen.push(reported);
    };
    check("fresh");
    let one = AsyncResult::new(None, None, None);
    check("one result");
    lock_platform();
    check("one result, one lock");
    let two = AsyncResult::new(None, None, None);
    check("two results, one lock");
    drop((one, two));
    check("both released");
    unlock_platform();
    check("lock released");
    startup(MF_VERSION).unwrap(); // nested: no new lock
    check("nested startup");
    shutdown().unwrap();
    assert_eq!(seen, [1, 2, 3, 4, 4, 3, 3]);
    shutdown().unwrap();
}

// docs/behaviour.md#d1 / #w16: the last shutdown waits while an explicit platform lock is held,
// for at most the shutdown timeout, then shuts down anyway.
#[test]
fn shutdown_waits_for_a_platform_lock_bounded_by_the_timeout() {
    let _serial = serial();
    let timeout = Duration::from_millis(300);
    mfwq::set_shutdown_timeout(timeout);
    assert_eq!(mfwq::shutdown_timeout(), timeout);
    startup(MF_VERSION).unwrap();
    lock_platform();
    let started = Instant::now();
    shutdown().unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= timeout, "shutdown returned after {elapsed:?}");
    assert!(
        elapsed < timeout + Duration::from_secs(2),
        "took {elapsed:?}"
    );
    assert!(!is_started());
    assert_eq!(
        allocate_work_queue(QueueType::Standard),
        Err(Error::Shutdown)
    );
    assert_eq!(platform_lock_count(), 1, "the explicit lock survives");
    unlock_platform();
}

// docs/behaviour.md#d1 / #w16: the same for an extra queue lock (lock_work_queue).
#[test]
fn shutdown_waits_for_a_queue_lock_bounded_by_the_timeout() {
    let _serial = serial();
    let timeout = Duration::from_millis(300);
    mfwq::set_shutdown_timeout(timeout);
    startup(MF_VERSION).unwrap();
    let queue = allocate_work_queue(QueueType::Standard).unwrap();
    lock_work_queue(queue).unwrap();
    let started = Instant::now();
    shutdown().unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= timeout, "shutdown returned after {elapsed:?}");
    assert!(
        elapsed < timeout + Duration::from_secs(2),
        "took {elapsed:?}"
    );
    assert!(!is_started());
    assert_eq!(unlock_work_queue(queue), Err(Error::Shutdown));
    assert_eq!(platform_lock_count(), 0);
}

// docs/behaviour.md#d1: shutdown waiting for a platform lock returns as soon as the lock is
// released, long before the timeout.
#[test]
fn shutdown_returns_once_the_platform_lock_is_released() {
    let _serial = serial();
    mfwq::set_shutdown_timeout(Duration::from_secs(20));
    startup(MF_VERSION).unwrap();
    lock_platform();
    let released = Arc::new(AtomicBool::new(false));
    let helper = {
        let released = released.clone();
        std::thread::spawn(move || {
            // Shutdown has begun once the platform no longer counts as started.
            assert!(wait_until(WAIT, || !is_started()));
            released.store(true, Ordering::SeqCst);
            unlock_platform();
        })
    };
    let started = Instant::now();
    shutdown().unwrap();
    let elapsed = started.elapsed();
    assert!(
        released.load(Ordering::SeqCst),
        "shutdown returned before the lock was released"
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    helper.join().unwrap();
    assert!(!is_started());
    assert_eq!(platform_lock_count(), 0);
}

// docs/behaviour.md#d1: the same when the lock that holds shutdown up is a queue lock.
#[test]
fn shutdown_returns_once_the_queue_lock_is_released() {
    let _serial = serial();
    mfwq::set_shutdown_timeout(Duration::from_secs(20));
    startup(MF_VERSION).unwrap();
    let queue = allocate_work_queue(QueueType::Multithreaded).unwrap();
    lock_work_queue(queue).unwrap();
    let released = Arc::new(AtomicBool::new(false));
    let helper = {
        let released = released.clone();
        std::thread::spawn(move || {
            assert!(wait_until(WAIT, || !is_started()));
            released.store(true, Ordering::SeqCst);
            unlock_work_queue(queue).unwrap();
        })
    };
    let started = Instant::now();
    shutdown().unwrap();
    let elapsed = started.elapsed();
    assert!(released.load(Ordering::SeqCst));
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    helper.join().unwrap();
    assert!(!is_started());
}

// docs/behaviour.md#d1: live result objects and the allocation lock of a queue do not make
// shutdown wait.
#[test]
fn shutdown_does_not_wait_for_live_results_or_allocated_queues() {
    let _serial = serial();
    mfwq::set_shutdown_timeout(Duration::from_secs(20));
    startup(MF_VERSION).unwrap();
    let result = AsyncResult::new(None, None, None);
    let _queue = allocate_work_queue(QueueType::Standard).unwrap();
    let started = Instant::now();
    shutdown().unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert!(!is_started());
    assert_eq!(platform_lock_count(), 1);
    drop(result);
    assert_eq!(platform_lock_count(), 0);
}

// docs/behaviour.md#d1: a startup while the last shutdown waits for locks keeps the platform up.
#[test]
fn startup_during_the_shutdown_lock_wait_keeps_the_platform_up() {
    let _serial = serial();
    mfwq::set_shutdown_timeout(Duration::from_secs(20));
    startup(MF_VERSION).unwrap();
    lock_platform();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || sender.send(shutdown()).unwrap());
    assert!(wait_until(WAIT, || !is_started()));
    startup(MF_VERSION).unwrap();
    unlock_platform();
    assert_eq!(recv(&receiver), Ok(()));
    assert!(is_started());
    assert_eq!(platform_lock_count(), 1);
    assert!(can_allocate());
    assert_put_runs(QueueId::STANDARD);
    shutdown().unwrap();
    assert!(!is_started());
}

// docs/behaviour.md#startup / #d1: the platform restarts after a full shutdown, with new threads.
#[test]
fn restart_after_full_shutdown_works() {
    let _serial = serial();
    let thread_of = |queue: QueueId| {
        let (sender, receiver) = mpsc::channel();
        put_work_item(
            queue,
            callback(move |_| sender.send(std::thread::current().id()).unwrap()),
            None,
        )
        .unwrap();
        recv(&receiver)
    };
    startup(MF_VERSION).unwrap();
    let before = thread_of(QueueId::STANDARD);
    shutdown().unwrap();
    startup(MF_VERSION).unwrap();
    assert_eq!(platform_lock_count(), 1);
    let after = thread_of(QueueId::STANDARD);
    assert_ne!(before, after, "shutdown stopped the old threads");
    assert!(can_allocate());
    shutdown().unwrap();
}

// docs/behaviour.md#d7 / #d1: private queues do not survive a shutdown; their ids stay dead after restart.
#[test]
fn private_queue_ids_do_not_survive_a_restart() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let old = allocate_work_queue(QueueType::Standard).unwrap();
    shutdown().unwrap();
    startup(MF_VERSION).unwrap();
    assert_eq!(
        put_work_item(old, callback(|_| {}), None),
        Err(Error::InvalidWorkQueue)
    );
    assert_eq!(lock_work_queue(old), Err(Error::InvalidWorkQueue));
    assert_eq!(unlock_work_queue(old), Err(Error::InvalidWorkQueue));
    let new = allocate_work_queue(QueueType::Standard).unwrap();
    assert_ne!(old, new);
    assert_put_runs(new);
    assert_eq!(
        put_work_item(old, callback(|_| {}), None),
        Err(Error::InvalidWorkQueue),
        "a new queue in the same slot does not revive the old id"
    );
    unlock_work_queue(new).unwrap();
    shutdown().unwrap();
}

// docs/behaviour.md#startup / #w54: work queued before shutdown still runs, before shutdown returns.
#[test]
fn items_queued_before_shutdown_still_run() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    for queue in [QueueId::STANDARD, QueueId::MULTITHREADED, QueueId::RT] {
        for _ in 0..3 {
            let ran = ran.clone();
            put_work_item(
                queue,
                callback(move |_| {
                    common::busy(Duration::from_millis(2));
                    ran.fetch_add(1, Ordering::SeqCst);
                }),
                None,
            )
            .unwrap();
        }
    }
    shutdown().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 9);
}

// docs/behaviour.md#d36 / #d1: shutdown called from inside a callback (on a queue thread) does not
// deadlock, does not wait for locks, shuts the platform down, and the backlog of
// its own queue still runs afterwards.
#[test]
fn shutdown_from_inside_a_callback_does_not_deadlock() {
    let _serial = serial();
    for case in ["standard", "multithreaded", "private"] {
        mfwq::set_shutdown_timeout(Duration::from_secs(20));
        startup(MF_VERSION).unwrap();
        let queue = match case {
            "standard" => QueueId::STANDARD,
            "multithreaded" => QueueId::MULTITHREADED,
            _ => allocate_work_queue(QueueType::Standard).unwrap(),
        };
        lock_platform(); // would hold a shutdown from an application thread up
        let gate = Event::manual_reset(false);
        let (sender, receiver) = mpsc::channel();
        let wait_gate = gate.clone();
        put_work_item(
            queue,
            callback(move |_| {
                assert!(wait_gate.wait(Some(WAIT)));
                let started = Instant::now();
                let outcome = shutdown();
                sender
                    .send((outcome, started.elapsed(), is_started()))
                    .unwrap();
            }),
            None,
        )
        .unwrap();
        let (backlog_sender, backlog) = mpsc::channel();
        put_work_item(
            queue,
            callback(move |_| backlog_sender.send(mfwq::current_queue()).unwrap()),
            None,
        )
        .unwrap();
        gate.set();
        let (outcome, elapsed, still_started) = recv(&receiver);
        assert_eq!(outcome, Ok(()), "{queue:?}");
        assert!(
            elapsed < Duration::from_secs(10),
            "{queue:?}: took {elapsed:?}"
        );
        assert!(!still_started, "{queue:?}");
        assert_eq!(recv(&backlog), Some(queue), "the backlog still ran");
        assert!(!is_started());
        assert_eq!(
            put_work_item(QueueId::STANDARD, callback(|_| {}), None),
            Err(Error::Shutdown)
        );
        unlock_platform();
        // The worker that shut down releases its result once it returns.
        assert!(wait_until(WAIT, || platform_lock_count() == 0));
    }
}

// docs/behaviour.md#w5 / #d36: a shutdown from inside a callback that is not the last one
// just undoes that startup.
#[test]
fn nested_shutdown_from_inside_a_callback_keeps_the_platform_up() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    startup(MF_VERSION).unwrap();
    let done = Event::manual_reset(false);
    let (sender, receiver) = mpsc::channel();
    let signal = done.clone();
    put_work_item(
        QueueId::STANDARD,
        callback(move |_| {
            sender.send((shutdown(), is_started())).unwrap();
            signal.set();
        }),
        None,
    )
    .unwrap();
    wait_event(&done, "the callback");
    assert_eq!(recv(&receiver), (Ok(()), true));
    assert!(is_started());
    assert_put_runs(QueueId::STANDARD);
    shutdown().unwrap();
    assert!(!is_started());
}

// docs/behaviour.md#d1: the shutdown timeout is configurable, 5 s by default.
#[test]
fn shutdown_timeout_is_configurable() {
    let _serial = serial();
    assert_eq!(mfwq::DEFAULT_SHUTDOWN_TIMEOUT, Duration::from_secs(5));
    mfwq::set_shutdown_timeout(Duration::from_millis(250));
    assert_eq!(mfwq::shutdown_timeout(), Duration::from_millis(250));
    mfwq::set_shutdown_timeout(Duration::from_millis(0));
    assert_eq!(mfwq::shutdown_timeout(), Duration::ZERO);
    // A zero timeout: shutdown with a lock held does not wait at all.
    startup(MF_VERSION).unwrap();
    lock_platform();
    let started = Instant::now();
    shutdown().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    unlock_platform();
}
