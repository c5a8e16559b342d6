//! Bad input and misbehaving callbacks: unknown, stale and never-allocated ids,
//! double unlocks, calls while shut down, unbalanced platform unlocks, and
//! panicking callbacks (docs/behaviour.md#bad-input: #d7, #d13, #d34, #d35,
//! #w3, #w4, #w9, #w25, #w30; panics: docs/reliability.md). Nothing may crash or hang: every wait has a timeout.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{capture_panics, recv, recv_n, serial, wait_event, wait_until, DropSignal, WAIT};
use mfwq::{
    allocate_work_queue, callback, callback_on, current_queue, invoke_callback, lock_platform,
    lock_work_queue, private_queue_count, put_result, put_work_item, shutdown, spawn, startup,
    unlock_platform, unlock_work_queue, work_queue_type, AsyncResult, Error, Event, HResult,
    Platform, QueueId, QueueType, WorkQueue, MF_VERSION,
};

/// Every call that takes a queue id, on `id`, must fail with `expected` (for a
/// platform id: every call that puts work).
fn assert_every_id_call_fails(id: QueueId, expected: Error) {
    let cb = callback(|_| panic!("must not run"));
    let what = format!("{id:?}");
    assert_eq!(
        put_work_item(id, cb.clone(), None),
        Err(expected),
        "{what} put"
    );
    assert_eq!(
        mfwq::put_work_item_with_priority(id, -1, cb.clone(), None),
        Err(expected),
        "{what} put2"
    );
    let result = AsyncResult::with_callback(cb.clone(), None);
    assert_eq!(put_result(id, &result), Err(expected), "{what} put_result");
    assert_eq!(
        invoke_callback(AsyncResult::with_callback(
            callback_on(id, |_| panic!("must not run")),
            None
        )),
        Err(expected),
        "{what} invoke_callback"
    );
    assert_eq!(
        spawn(id, || panic!("must not run")),
        Err(expected),
        "{what} spawn"
    );
    // Lock and unlock of platform ids are no-ops (docs/behaviour.md#w26); only private ids are checked.
    if id.is_private() {
        assert_eq!(lock_work_queue(id), Err(expected), "{what} lock");
        assert_eq!(unlock_work_queue(id), Err(expected), "{what} unlock");
        assert_eq!(work_queue_type(id), Err(expected), "{what} type");
    }
    assert_eq!(
        result.ref_count(),
        1,
        "{what}: the refused result was not kept"
    );
    drop(result);
    assert_eq!(
        Arc::strong_count(&cb),
        1,
        "{what}: the refused callback was released"
    );
}

// docs/behaviour.md#d7 / #w30: private ids that were never allocated are MF_E_INVALID_WORKQUEUE
// for every call, including ids far beyond any slot and MFASYNC_CALLBACK_QUEUE_ALL.
#[test]
fn never_allocated_private_ids_are_invalid() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    assert_eq!(private_queue_count(), 0);
    for id in [
        0x0001_0000,
        0x0001_0001,
        0x1234_0001,
        0x8000_0001,
        0xFFFF_0001,
        0xFFFF_FFFF,
    ] {
        assert_every_id_call_fails(QueueId(id), Error::InvalidWorkQueue);
    }
    assert_eq!(QueueId::ALL.0, 0xFFFF_FFFF);
    // The platform is unharmed.
    let (sender, receiver) = mpsc::channel();
    spawn(QueueId::STANDARD, move || sender.send(()).unwrap()).unwrap();
    recv(&receiver);
}

// docs/behaviour.md#d7 / #w28: ids of destroyed queues stay invalid for every call, and do not
// reach the live queue that reuses their slot.
#[test]
fn stale_ids_are_invalid_for_every_call() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let stale = allocate_work_queue(QueueType::Multithreaded).unwrap();
    unlock_work_queue(stale).unwrap();
    let live = WorkQueue::new(QueueType::Standard).unwrap();
    assert_ne!(stale, live.id());
    assert_every_id_call_fails(stale, Error::InvalidWorkQueue);
    let (sender, receiver) = mpsc::channel();
    live.spawn(move || sender.send(current_queue()).unwrap())
        .unwrap();
    assert_eq!(recv(&receiver), Some(live.id()));
    assert_eq!(work_queue_type(live.id()), Ok(QueueType::Standard));
}

// docs/behaviour.md#d13 / #w25: a double unlock fails with MF_E_INVALID_WORKQUEUE and harms nothing.
#[test]
fn double_unlock_fails_and_harms_nothing() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let other = WorkQueue::new(QueueType::Standard).unwrap();
    let id = allocate_work_queue(QueueType::Standard).unwrap();
    let live = private_queue_count();
    assert_eq!(unlock_work_queue(id), Ok(()));
    for _ in 0..3 {
        assert_eq!(unlock_work_queue(id), Err(Error::InvalidWorkQueue));
    }
    assert_eq!(private_queue_count(), live - 1);
    let (sender, receiver) = mpsc::channel();
    other.spawn(move || sender.send(()).unwrap()).unwrap();
    recv(&receiver);
}

// docs/behaviour.md#d1: a failed lock of a dead id takes no lock: shutdown does not wait for it.
#[test]
fn failed_queue_lock_takes_no_lock() {
    let _serial = serial();
    mfwq::set_shutdown_timeout(Duration::from_secs(20));
    startup(MF_VERSION).unwrap();
    let id = allocate_work_queue(QueueType::Standard).unwrap();
    unlock_work_queue(id).unwrap();
    assert_eq!(lock_work_queue(id), Err(Error::InvalidWorkQueue));
    assert_eq!(
        lock_work_queue(QueueId(0x4321_0001)),
        Err(Error::InvalidWorkQueue)
    );
    let started = Instant::now();
    shutdown().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown waited for a lock"
    );
}

// docs/behaviour.md#d34 / #w3, #w8: before startup every queue call is MF_E_SHUTDOWN, whatever the id.
#[test]
fn calls_before_startup_fail_with_shutdown() {
    let _serial = serial();
    assert!(!mfwq::is_started());
    assert_eq!(
        allocate_work_queue(QueueType::Standard),
        Err(Error::Shutdown)
    );
    for id in [
        QueueId::STANDARD,
        QueueId::MULTITHREADED,
        QueueId(0x4000),
        QueueId(0x0003_0001),
    ] {
        let cb = callback(|_| panic!("must not run"));
        assert_eq!(
            put_work_item(id, cb.clone(), None),
            Err(Error::Shutdown),
            "{id:?}"
        );
        let result = AsyncResult::with_callback(cb.clone(), None);
        assert_eq!(put_result(id, &result), Err(Error::Shutdown), "{id:?}");
        assert_eq!(
            spawn(id, || panic!("must not run")),
            Err(Error::Shutdown),
            "{id:?}"
        );
        let routed = AsyncResult::with_callback(callback_on(id, |_| panic!("must not run")), None);
        assert_eq!(invoke_callback(&routed), Err(Error::Shutdown), "{id:?}");
        assert_eq!(result.ref_count(), 1);
        drop(result);
        assert_eq!(Arc::strong_count(&cb), 1);
    }
    let private = QueueId(0x0003_0001);
    assert_eq!(lock_work_queue(private), Err(Error::Shutdown));
    assert_eq!(unlock_work_queue(private), Err(Error::Shutdown));
    assert_eq!(work_queue_type(private), Err(Error::Shutdown));
    // A callback-less result with an event is refused too, and its event stays clear.
    let event = Event::manual_reset(false);
    let result = AsyncResult::new(None, None, None);
    result.set_event(Some(event.clone()));
    assert_eq!(put_result(QueueId::STANDARD, &result), Err(Error::Shutdown));
    assert_eq!(invoke_callback(&result), Err(Error::Shutdown));
    assert!(!event.is_set());
    // Flag checks do not run before the shutdown check.
    let fast = mfwq::callback_with(
        mfwq::CallbackParams {
            flags: mfwq::CallbackFlags::SIGNAL,
            queue: QueueId::STANDARD,
        },
        |_| {},
    );
    assert_eq!(
        put_work_item(QueueId::STANDARD, fast, None),
        Err(Error::Shutdown)
    );
}

// docs/behaviour.md#d34: invoke_callback checks that the platform is running
// before it looks at the result (a callback-less result needs an event, #d6):
// not running is MF_E_SHUTDOWN, whatever the result.
#[test]
fn invoke_callback_reports_shutdown_before_a_missing_callback_and_event() {
    let _serial = serial();
    let empty = AsyncResult::new(None, None, None);
    assert_eq!(invoke_callback(&empty), Err(Error::Shutdown));
}

// docs/behaviour.md#d34: after shutdown, the same calls are MF_E_SHUTDOWN again; ids of queues that
// were live at shutdown are gone.
#[test]
fn calls_after_shutdown_fail_with_shutdown() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let id = allocate_work_queue(QueueType::Standard).unwrap();
    shutdown().unwrap();
    assert_every_id_call_fails(id, Error::Shutdown);
    assert_every_id_call_fails(QueueId::MULTITHREADED, Error::Shutdown);
    assert_eq!(allocate_work_queue(QueueType::Window), Err(Error::Shutdown));
}

// docs/behaviour.md#d34: platform ids are no-ops for lock/unlock; every other call on them works.
// (Kept apart from assert_every_id_call_fails, which expects failures.)
#[test]
fn lock_and_unlock_of_platform_ids_never_fail_while_started() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for id in [0u32, 1, 5, 6, 7, 0x20, 0xFFFF] {
        assert_eq!(unlock_work_queue(QueueId(id)), Ok(()));
        assert_eq!(unlock_work_queue(QueueId(id)), Ok(()));
        assert_eq!(lock_work_queue(QueueId(id)), Ok(()));
    }
}

// docs/behaviour.md#w9 and #w10: unbalanced unlock_platform calls make allocation fail with
// MF_E_SHUTDOWN until the same number of locks are taken again.
#[test]
fn unbalanced_unlock_platform_blocks_allocation_until_relocked() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    for _ in 0..3 {
        unlock_platform();
    }
    assert_eq!(mfwq::platform_lock_count(), -2);
    for relocked in 0..3 {
        assert_eq!(
            allocate_work_queue(QueueType::Standard),
            Err(Error::Shutdown),
            "after {relocked} relocks"
        );
        lock_platform();
    }
    let id = allocate_work_queue(QueueType::Standard).unwrap();
    unlock_work_queue(id).unwrap();
    assert_eq!(mfwq::platform_lock_count(), 1);
    shutdown().unwrap();
}

// docs/behaviour.md#w4: shutdown without startup is Ok, however often, and leaves the next
// startup a normal one.
#[test]
fn shutdown_without_startup_is_ok() {
    let _serial = serial();
    for _ in 0..5 {
        assert_eq!(shutdown(), Ok(()));
    }
    assert!(!mfwq::is_started());
    startup(MF_VERSION).unwrap();
    assert_eq!(mfwq::platform_lock_count(), 1);
    shutdown().unwrap();
    assert!(!mfwq::is_started());
}

// docs/behaviour.md#d35: the errors are the documented HRESULTs, both ways.
#[test]
fn errors_are_the_documented_hresults() {
    let _serial = serial();
    let expected = [
        (Error::Shutdown, 0xC00D_3E85u32),
        (Error::InvalidWorkQueue, 0xC00D_36FF),
        (Error::BadStartupVersion, 0xC00D_36E3),
        (Error::NotFound, 0xC00D_36D5),
        (Error::OperationCancelled, 0xC00D_36ED),
        (Error::InvalidArg, 0x8007_0057),
        (Error::Pointer, 0x8000_4003),
        (Error::Fail, 0x8000_4005),
        (Error::OutOfMemory, 0x8007_000E),
        (Error::NotImplemented, 0x8000_4001),
    ];
    for (error, value) in expected {
        assert_eq!(error.hresult().0 as u32, value, "{error:?}");
        assert_eq!(Error::from_hresult(HResult(value as i32)), Some(error));
    }
    assert_eq!(Error::from_hresult(HResult::S_OK), None);
    assert_eq!(HResult::MF_E_SHUTDOWN, Error::Shutdown.hresult());
}

// docs/behaviour.md#d36, docs/reliability.md#2-user-code-may-panic-anywhere: a panicking callback on a serial queue is caught: the worker (the
// same thread) goes on with the next item, the hook gets the queue and the
// message, and the panicking item's result and state are released.
#[test]
fn panicking_callback_does_not_kill_the_worker() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let reports = capture_panics();
    let private = WorkQueue::new(QueueType::Standard).unwrap();
    for queue in [private.id(), QueueId::STANDARD] {
        let (sender, threads) = mpsc::channel();
        let (dropped_sender, dropped) = mpsc::channel();
        let panicking_sender = Mutex::new(sender.clone());
        let result = AsyncResult::with_callback(
            callback(move |_| {
                panicking_sender
                    .lock()
                    .unwrap()
                    .send(std::thread::current().id())
                    .unwrap();
                panic!("boom on {}", current_queue().unwrap().0);
            }),
            Some(Arc::new(DropSignal(dropped_sender))),
        );
        put_result(queue, &result).unwrap();
        let next_sender = Mutex::new(sender);
        put_work_item(
            queue,
            callback(move |_| {
                next_sender
                    .lock()
                    .unwrap()
                    .send(std::thread::current().id())
                    .unwrap()
            }),
            None,
        )
        .unwrap();
        let ran = recv_n(&threads, 2);
        assert_eq!(
            ran[0], ran[1],
            "{queue:?}: the same worker ran the next item"
        );
        let report = recv(&reports);
        assert_eq!(report.queue, queue);
        assert_eq!(report.message, format!("boom on {}", queue.0));
        assert!(
            wait_until(Duration::from_secs(2), || result.ref_count() == 1),
            "{queue:?}: the panicking item's result was not released"
        );
        drop(result);
        assert_eq!(dropped.recv_timeout(WAIT), Ok(()), "state released");
    }
}

// docs/reliability.md#2-user-code-may-panic-anywhere: the hook reports non-string payloads too; a spawned task that panics is
// caught the same way.
#[test]
fn panics_with_any_payload_are_reported() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let reports = capture_panics();
    put_work_item(QueueId::RT, callback(|_| std::panic::panic_any(42u8)), None).unwrap();
    let report = recv(&reports);
    assert_eq!(report.queue, QueueId::RT);
    assert_eq!(report.message, "<non-string panic payload>");
    spawn(QueueId::LONG_FUNCTION, || panic!("static message")).unwrap();
    let report = recv(&reports);
    assert_eq!(report.queue, QueueId::LONG_FUNCTION);
    assert_eq!(report.message, "static message");
}

// docs/reliability.md#2-user-code-may-panic-anywhere: a hook that panics itself does not take the worker down.
#[test]
fn panicking_hook_does_not_kill_the_worker() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    mfwq::set_panic_hook(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        panic!("the hook panics too");
    });
    let queue = WorkQueue::new(QueueType::Standard).unwrap();
    for _ in 0..3 {
        queue.spawn(|| panic!("callback panic")).unwrap();
    }
    let done = Event::manual_reset(false);
    let signal = done.clone();
    queue.spawn(move || signal.set()).unwrap();
    wait_event(&done, "the item after the panics");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    mfwq::clear_panic_hook();
}

// docs/reliability.md#2-user-code-may-panic-anywhere: with no hook, panics are still caught; a pool keeps running everything
// else, and every item that does not panic runs exactly once.
#[test]
fn panics_on_a_pool_without_a_hook_lose_no_other_work() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    mfwq::clear_panic_hook();
    let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..100).map(|_| AtomicUsize::new(0)).collect());
    let (sender, receiver) = mpsc::channel();
    for index in 0..100 {
        let (counts, sender) = (counts.clone(), sender.clone());
        spawn(QueueId::MULTITHREADED, move || {
            counts[index].fetch_add(1, Ordering::SeqCst);
            sender.send(()).unwrap();
            if index % 10 == 0 {
                panic!("item {index}");
            }
        })
        .unwrap();
    }
    recv_n(&receiver, 100);
    assert!(counts.iter().all(|count| count.load(Ordering::SeqCst) == 1));
    // The pool still has its workers: two items can still run side by side.
    let arrived = [Event::manual_reset(false), Event::manual_reset(false)];
    let (both_sender, both) = mpsc::channel();
    for me in 0..2 {
        let (mine, other, sender) = (
            arrived[me].clone(),
            arrived[1 - me].clone(),
            both_sender.clone(),
        );
        spawn(QueueId::MULTITHREADED, move || {
            mine.set();
            sender.send(other.wait(Some(WAIT))).unwrap();
        })
        .unwrap();
    }
    let overlapped: Vec<bool> = (0..2)
        .map(|_| both.recv_timeout(WAIT * 3).expect("item ran"))
        .collect();
    assert_eq!(overlapped, [true, true], "a pool worker died");
}

// docs/behaviour.md#d6 / #d35: nothing crashes on a result without callback or event, even from
// inside a callback, and a callback naming a dead queue is refused up front.
#[test]
fn bad_results_are_refused_without_harm() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let dead = allocate_work_queue(QueueType::Standard).unwrap();
    unlock_work_queue(dead).unwrap();
    let (sender, receiver) = mpsc::channel();
    let sender = Mutex::new(sender);
    put_work_item(
        QueueId::STANDARD,
        callback(move |_| {
            let empty = AsyncResult::new(None, None, None);
            let routed_to_dead =
                AsyncResult::with_callback(callback_on(dead, |_| panic!("must not run")), None);
            sender
                .lock()
                .unwrap()
                .send((
                    invoke_callback(&empty),
                    put_result(QueueId::MULTITHREADED, &empty),
                    invoke_callback(&routed_to_dead),
                    routed_to_dead.ref_count(),
                ))
                .unwrap();
        }),
        None,
    )
    .unwrap();
    assert_eq!(
        recv(&receiver),
        (
            Err(Error::InvalidArg),
            Err(Error::InvalidArg),
            Err(Error::InvalidWorkQueue),
            1
        )
    );
}

// docs/behaviour.md#d31, docs/reliability.md#2-user-code-may-panic-anywhere: a window queue's host-loop step that panics is caught and
// reported like a callback panic; the queue goes on running items.
#[test]
fn panicking_window_step_is_reported_and_the_queue_goes_on() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let reports = capture_panics();
    let steps = Arc::new(AtomicUsize::new(0));
    let counter = steps.clone();
    let id = mfwq::allocate_window_queue(Duration::from_secs(60), move || {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("first step fails");
        }
    })
    .unwrap();
    let (sender, receiver) = mpsc::channel();
    for index in 0..2 {
        let sender = sender.clone();
        mfwq::spawn(id, move || sender.send(index).unwrap()).unwrap();
    }
    assert_eq!(recv_n(&receiver, 2), [0, 1]);
    let report = recv(&reports);
    assert_eq!(report.queue, id);
    assert_eq!(report.message, "first step fails");
    assert!(wait_until(WAIT, || steps.load(Ordering::SeqCst) == 2));
    unlock_work_queue(id).unwrap();
}

// docs/reliability.md#2-user-code-may-panic-anywhere: a panic hook may replace or clear the hook from inside itself without
// deadlocking; later panics then follow the new setting.
#[test]
fn panic_hook_may_clear_itself() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    mfwq::set_panic_hook(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        mfwq::clear_panic_hook();
    });
    let queue = WorkQueue::new(QueueType::Standard).unwrap();
    queue.spawn(|| panic!("first")).unwrap();
    queue.spawn(|| panic!("second")).unwrap();
    let done = Event::manual_reset(false);
    let signal = done.clone();
    queue.spawn(move || signal.set()).unwrap();
    wait_event(&done, "the item after the panics");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the hook was cleared by itself"
    );
}

// docs/behaviour.md#d34: a call refused because the platform is
// not running runs none of the callback's code (not even its parameters).
#[test]
fn refused_calls_do_not_ask_the_callback_for_its_parameters() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    struct Counting(Arc<AtomicUsize>);
    impl mfwq::AsyncCallback for Counting {
        fn parameters(&self) -> Option<mfwq::CallbackParams> {
            self.0.fetch_add(1, Ordering::SeqCst);
            None
        }
        fn invoke(&self, _: &AsyncResult) {}
    }
    let _serial = serial();
    let asked = Arc::new(AtomicUsize::new(0));
    let cb: mfwq::Callback = Arc::new(Counting(asked.clone()));
    let result = AsyncResult::with_callback(cb.clone(), None);
    assert_eq!(
        mfwq::put_work_item(QueueId::STANDARD, cb, None),
        Err(Error::Shutdown)
    );
    assert_eq!(
        mfwq::put_result(QueueId::STANDARD, &result),
        Err(Error::Shutdown)
    );
    assert_eq!(mfwq::invoke_callback(&result), Err(Error::Shutdown));
    assert_eq!(asked.load(Ordering::SeqCst), 0);
}
