//! Putting work items and invoking callbacks: which queue and thread run the
//! callback (docs/behaviour.md#put-invoke and #callback-flags: #w30 to #w35,
//! #d4, #d5, #d6, #d7, #d9, #d28, #d36).

mod common;

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    assert_nothing_more, recv, recv_n, serial, wait_event, wait_until, PLATFORM_QUEUES, WAIT,
};
use mfwq::{
    callback, callback_on, callback_with, current_queue, invoke_callback, put_result,
    put_result_with_priority, put_work_item, put_work_item_with_priority, spawn,
    spawn_with_priority, AsyncCallback, AsyncResult, Callback, CallbackFlags, CallbackParams,
    Error, Event, HResult, Platform, QueueId, QueueType, WorkQueue,
};

thread_local! {
    /// Set while a test callback's body runs on this thread: a callback that
    /// finds it set was invoked inline, nested inside another one.
    static IN_INVOKE: Cell<bool> = const { Cell::new(false) };
}

/// A callback (with `params`, or the defaults) that reports the queue it ran on.
fn reporting(
    params: Option<CallbackParams>,
) -> (Callback, mpsc::Receiver<(Option<QueueId>, AsyncResult)>) {
    let (sender, receiver) = mpsc::channel();
    let sender = Mutex::new(sender);
    let report = move |result: &AsyncResult| {
        sender
            .lock()
            .unwrap()
            .send((current_queue(), result.clone()))
            .unwrap();
    };
    let cb = match params {
        Some(params) => callback_with(params, report),
        None => callback(report),
    };
    (cb, receiver)
}

// docs/behaviour.md#w30 / #d7: put to an id with no private bits that names no platform queue
// (0, 0xFFFF, 0x4000; also 6 and 0x20) works and runs the callback, as STANDARD.
#[test]
fn put_to_ids_without_private_bits_runs() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for id in [0u32, 0xFFFF, 0x4000, 6, 0x20] {
        let queue = QueueId(id);
        let (cb, receiver) = reporting(None);
        put_work_item(queue, cb.clone(), None).unwrap();
        assert_eq!(recv(&receiver).0, Some(QueueId::STANDARD), "{id:#x}");
        let result = AsyncResult::with_callback(cb, None);
        put_result(queue, &result).unwrap();
        let (ran_on, received) = recv(&receiver);
        assert_eq!(ran_on, Some(QueueId::STANDARD), "{id:#x}");
        assert!(received.ptr_eq(&result), "{id:#x}: the very same result");
    }
}

// docs/behaviour.md#w30: id 0x10000 is MF_E_INVALID_WORKQUEUE (0xC00D36FF); nothing is invoked
// and nothing is kept.
#[test]
fn put_to_0x10000_fails_with_invalid_workqueue() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    assert_eq!(Error::InvalidWorkQueue.hresult().0 as u32, 0xC00D_36FF);
    let queue = QueueId(0x10000);
    let (cb, receiver) = reporting(None);
    let result = AsyncResult::with_callback(cb.clone(), None);
    assert_eq!(
        put_work_item(queue, cb.clone(), None),
        Err(Error::InvalidWorkQueue)
    );
    assert_eq!(
        put_work_item_with_priority(queue, 1, cb.clone(), None),
        Err(Error::InvalidWorkQueue)
    );
    assert_eq!(put_result(queue, &result), Err(Error::InvalidWorkQueue));
    assert_eq!(
        put_result_with_priority(queue, -1, &result),
        Err(Error::InvalidWorkQueue)
    );
    assert_eq!(
        spawn(queue, || panic!("must not run")),
        Err(Error::InvalidWorkQueue)
    );
    assert_eq!(result.ref_count(), 1, "the refused result is not kept");
    drop(result);
    assert_eq!(
        Arc::strong_count(&cb),
        1,
        "the refused callback is released"
    );
    assert_nothing_more(&receiver, Duration::from_millis(50));
}

// docs/behaviour.md#w30: the callback receives the very result that was put, on every queue
// and through every entry point that takes a result.
#[test]
fn callback_receives_the_very_same_result() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let private = WorkQueue::new(QueueType::Multithreaded).unwrap();
    let state: mfwq::State = Arc::new(String::from("state"));
    for queue in PLATFORM_QUEUES.into_iter().chain([private.id()]) {
        let (cb, receiver) = reporting(None);
        let result = AsyncResult::with_callback(cb, Some(state.clone()));
        put_result(queue, &result).unwrap();
        let (ran_on, received) = recv(&receiver);
        assert_eq!(ran_on, Some(queue));
        assert!(received.ptr_eq(&result), "{queue:?}");
        assert!(Arc::ptr_eq(&received.state().unwrap(), &state));
    }
    let (cb, receiver) = reporting(Some(CallbackParams::on(QueueId::RT)));
    let result = AsyncResult::with_callback(cb, None);
    invoke_callback(&result).unwrap();
    assert!(recv(&receiver).1.ptr_eq(&result));
    // put_work_item passes its state and callback through its own result.
    let (cb, receiver) = reporting(None);
    put_work_item(QueueId::MULTITHREADED, cb.clone(), Some(state.clone())).unwrap();
    let (_, received) = recv(&receiver);
    assert!(Arc::ptr_eq(received.callback().unwrap(), &cb));
    assert!(Arc::ptr_eq(&received.state().unwrap(), &state));
    assert_eq!(received.object().err(), Some(Error::Pointer));
    assert_eq!(received.status(), HResult::S_OK);
}

/// A callback that does not implement `parameters` (GetParameters = E_NOTIMPL).
struct NoParameters(mpsc::Sender<Option<QueueId>>);

impl AsyncCallback for NoParameters {
    fn invoke(&self, _result: &AsyncResult) {
        self.0.send(current_queue()).unwrap();
    }
}

// docs/behaviour.md#w31: a callback whose GetParameters is E_NOTIMPL is still
// dispatched, with the defaults: flags 0 and the STANDARD queue.
#[test]
fn callbacks_without_parameters_use_the_defaults() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let defaults = CallbackParams::default();
    assert_eq!(defaults.flags, CallbackFlags::empty());
    assert_eq!(defaults.queue, QueueId::STANDARD);
    let (sender, receiver) = mpsc::channel();
    let cb: Callback = Arc::new(NoParameters(sender));
    assert_eq!(cb.parameters(), None);
    assert_eq!(callback(|_| {}).parameters(), None);
    invoke_callback(AsyncResult::with_callback(cb.clone(), None)).unwrap();
    assert_eq!(recv(&receiver), Some(QueueId::STANDARD));
    // With an explicit queue, no parameters are needed at all.
    put_work_item(QueueId::IO, cb, None).unwrap();
    assert_eq!(recv(&receiver), Some(QueueId::IO));
}

// docs/behaviour.md#d28: a callback never runs inline on the thread that put or invoked it.
#[test]
fn callbacks_never_run_on_the_callers_thread() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let me = std::thread::current().id();
    let private = WorkQueue::new(QueueType::Standard).unwrap();
    for queue in PLATFORM_QUEUES.into_iter().chain([private.id()]) {
        let (sender, receiver) = mpsc::channel();
        let report = {
            let sender = Mutex::new(sender.clone());
            move |_: &AsyncResult| {
                sender
                    .lock()
                    .unwrap()
                    .send(std::thread::current().id())
                    .unwrap()
            }
        };
        let cb = callback_on(queue, report);
        put_work_item(queue, cb.clone(), None).unwrap();
        put_result(queue, AsyncResult::with_callback(cb.clone(), None)).unwrap();
        invoke_callback(AsyncResult::with_callback(cb, None)).unwrap();
        spawn(queue, move || {
            sender.send(std::thread::current().id()).unwrap()
        })
        .unwrap();
        for thread in recv_n(&receiver, 4) {
            assert_ne!(thread, me, "{queue:?}: invoked inline");
        }
    }
}

// docs/behaviour.md#d28: put and invoke called from inside invoke do not run the new callback
// inline either; on the caller's own serial queue it runs after the caller returns.
#[test]
fn callbacks_never_run_inline_inside_invoke() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for target in [QueueId::STANDARD, QueueId::MULTITHREADED] {
        let outer_done = Arc::new(AtomicBool::new(false));
        // (entry point, ran nested inside the outer invoke, outer had returned)
        let (sender, receiver) = mpsc::channel::<(&'static str, bool, bool)>();
        let inner = |name: &'static str| {
            let sender = Mutex::new(sender.clone());
            let outer_done = outer_done.clone();
            callback_on(target, move |_| {
                let nested = IN_INVOKE.with(Cell::get);
                let after = outer_done.load(Ordering::SeqCst);
                sender.lock().unwrap().send((name, nested, after)).unwrap();
            })
        };
        let (put_cb, result_cb, invoke_cb) = (inner("put"), inner("put_result"), inner("invoke"));
        let spawn_sender = sender.clone();
        let spawn_done = outer_done.clone();
        let done = outer_done.clone();
        let outer_sender = Mutex::new(sender.clone());
        put_work_item(
            QueueId::STANDARD,
            callback(move |_| {
                IN_INVOKE.with(|flag| flag.set(true));
                put_work_item(target, put_cb.clone(), None).unwrap();
                put_result(target, AsyncResult::with_callback(result_cb.clone(), None)).unwrap();
                invoke_callback(AsyncResult::with_callback(invoke_cb.clone(), None)).unwrap();
                let (spawn_sender, spawn_done) = (spawn_sender.clone(), spawn_done.clone());
                spawn(target, move || {
                    let nested = IN_INVOKE.with(Cell::get);
                    let after = spawn_done.load(Ordering::SeqCst);
                    spawn_sender.send(("spawn", nested, after)).unwrap();
                })
                .unwrap();
                outer_sender
                    .lock()
                    .unwrap()
                    .send(("outer", false, true))
                    .unwrap();
                done.store(true, Ordering::SeqCst);
                IN_INVOKE.with(|flag| flag.set(false));
            }),
            None,
        )
        .unwrap();
        let got = recv_n(&receiver, 5);
        let outer_at = got.iter().position(|(name, ..)| *name == "outer").unwrap();
        for (position, (name, nested, after)) in got.iter().enumerate() {
            assert!(!nested, "{target:?}: {name} ran inline inside invoke");
            if target == QueueId::STANDARD && *name != "outer" {
                // Same serial queue: the new item can only start after the outer returns.
                assert!(after, "{name} started before the outer invoke returned");
                assert!(
                    position > outer_at,
                    "{name} ran before the outer item: {got:?}"
                );
            }
        }
    }
}

// docs/behaviour.md#queue-selection: invoke_callback runs the callback on the queue its parameters name.
#[test]
fn invoke_callback_routes_to_the_callbacks_queue() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let private: Vec<WorkQueue> = [
        QueueType::Standard,
        QueueType::Window,
        QueueType::Multithreaded,
    ]
    .into_iter()
    .map(|kind| WorkQueue::new(kind).unwrap())
    .collect();
    let queues = PLATFORM_QUEUES
        .into_iter()
        .chain(private.iter().map(WorkQueue::id));
    for queue in queues {
        let (cb, receiver) = reporting(Some(CallbackParams::on(queue)));
        let result = AsyncResult::with_callback(cb, None);
        invoke_callback(&result).unwrap();
        let (ran_on, received) = recv(&receiver);
        assert_eq!(ran_on, Some(queue));
        assert!(received.ptr_eq(&result));
    }
    // UNDEFINED stands for STANDARD.
    let (cb, receiver) = reporting(Some(CallbackParams::on(QueueId::UNDEFINED)));
    invoke_callback(AsyncResult::with_callback(cb, None)).unwrap();
    assert_eq!(recv(&receiver).0, Some(QueueId::STANDARD));
}

// docs/behaviour.md#d5: put_result runs on the queue it is given; the callback's queue is only
// consulted by invoke_callback.
#[test]
fn put_result_uses_the_explicit_queue_not_the_callbacks() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, receiver) = reporting(Some(CallbackParams::on(QueueId::MULTITHREADED)));
    let result = AsyncResult::with_callback(cb.clone(), None);
    put_result(QueueId::RT, &result).unwrap();
    assert_eq!(recv(&receiver).0, Some(QueueId::RT));
    put_work_item(QueueId::LONG_FUNCTION, cb, None).unwrap();
    assert_eq!(recv(&receiver).0, Some(QueueId::LONG_FUNCTION));
    invoke_callback(&result).unwrap();
    assert_eq!(recv(&receiver).0, Some(QueueId::MULTITHREADED));
}

// docs/behaviour.md#callback-flags / #d9: FAST_IO_PROCESSING and SIGNAL callbacks may only be dispatched
// from IO or TIMER; anywhere else the put or invoke fails at once with
// MF_E_INVALID_WORKQUEUE and nothing runs.
#[test]
fn fast_io_and_signal_callbacks_need_the_io_or_timer_queue() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let private_standard = WorkQueue::new(QueueType::Standard).unwrap();
    let private_pool = WorkQueue::new(QueueType::Multithreaded).unwrap();
    let refused = [
        QueueId::STANDARD,
        QueueId::RT,
        QueueId::MULTITHREADED,
        QueueId::LONG_FUNCTION,
        QueueId::UNDEFINED,
        QueueId(0x4000),
        private_standard.id(),
        private_pool.id(),
    ];
    for flags in [
        CallbackFlags::FAST_IO_PROCESSING,
        CallbackFlags::SIGNAL,
        CallbackFlags::FAST_IO_PROCESSING | CallbackFlags::SIGNAL,
        CallbackFlags::SIGNAL | CallbackFlags::BLOCKING,
    ] {
        for queue in refused {
            let (cb, receiver) = reporting(Some(CallbackParams { flags, queue }));
            let result = AsyncResult::with_callback(cb.clone(), None);
            let what = format!("{flags:?} on {queue:?}");
            assert_eq!(
                put_work_item(queue, cb.clone(), None),
                Err(Error::InvalidWorkQueue),
                "{what}"
            );
            assert_eq!(
                put_work_item_with_priority(queue, 1, cb.clone(), None),
                Err(Error::InvalidWorkQueue),
                "{what}"
            );
            assert_eq!(
                put_result(queue, &result),
                Err(Error::InvalidWorkQueue),
                "{what}"
            );
            assert_eq!(
                invoke_callback(&result),
                Err(Error::InvalidWorkQueue),
                "{what}"
            );
            assert_eq!(result.ref_count(), 1, "{what}: nothing kept");
            assert!(receiver.try_recv().is_err(), "{what}: invoked");
        }
        for queue in [QueueId::IO, QueueId::TIMER] {
            let (cb, receiver) = reporting(Some(CallbackParams { flags, queue }));
            put_work_item(queue, cb.clone(), None).unwrap();
            assert_eq!(recv(&receiver).0, Some(queue));
            let result = AsyncResult::with_callback(cb, None);
            put_result(queue, &result).unwrap();
            assert_eq!(recv(&receiver).0, Some(queue));
            invoke_callback(&result).unwrap();
            assert_eq!(recv(&receiver).0, Some(queue), "invoke routes to {queue:?}");
        }
    }
}

// docs/behaviour.md#callback-flags: BLOCKING, LOCALIZE_REMOTE and unknown flag bits carry no queue
// restriction.
#[test]
fn other_callback_flags_are_accepted_on_any_queue() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let private = WorkQueue::new(QueueType::Standard).unwrap();
    for flags in [
        CallbackFlags::BLOCKING,
        CallbackFlags::LOCALIZE_REMOTE,
        CallbackFlags::from_bits_retain(0x100),
    ] {
        for queue in [
            QueueId::STANDARD,
            QueueId::MULTITHREADED,
            QueueId::LONG_FUNCTION,
            private.id(),
        ] {
            let (cb, receiver) = reporting(Some(CallbackParams { flags, queue }));
            put_work_item(queue, cb.clone(), None).unwrap();
            assert_eq!(recv(&receiver).0, Some(queue), "{flags:?}");
            invoke_callback(AsyncResult::with_callback(cb, None)).unwrap();
            assert_eq!(recv(&receiver).0, Some(queue), "{flags:?}");
        }
    }
}

// docs/behaviour.md#d6: a result with no callback but an event has the event set when dispatched,
// through put_result and through invoke_callback, and is then released.
#[test]
fn callbackless_result_with_an_event_sets_the_event() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let private = WorkQueue::new(QueueType::Standard).unwrap();
    for queue in [QueueId::STANDARD, QueueId::MULTITHREADED, private.id()] {
        for auto in [false, true] {
            let event = if auto {
                Event::auto_reset(false)
            } else {
                Event::manual_reset(false)
            };
            let result = AsyncResult::new(None, None, None);
            result.set_event(Some(event.clone()));
            put_result(queue, &result).unwrap();
            wait_event(&event, "the event of a put result");
            assert!(wait_until(Duration::from_secs(2), || result.ref_count() == 1));
        }
    }
    let event = Event::manual_reset(false);
    let result = AsyncResult::new(None, None, None);
    result.set_event(Some(event.clone()));
    invoke_callback(&result).unwrap();
    wait_event(&event, "the event of an invoked result");
    assert!(wait_until(Duration::from_secs(2), || result.ref_count() == 1));
}

// docs/behaviour.md#w35: invoke_callback on a result with a callback and an event invokes the
// callback and does not set the event; the caller's reference is the last.
#[test]
fn result_with_a_callback_never_sets_its_event() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let event = Event::manual_reset(false);
    let (cb, receiver) = reporting(None);
    let result = AsyncResult::with_callback(cb.clone(), None);
    result.set_event(Some(event.clone()));
    assert_eq!(invoke_callback(&result), Ok(()));
    assert!(recv(&receiver).1.ptr_eq(&result), "the callback is invoked");
    assert!(wait_until(Duration::from_secs(2), || result.ref_count() == 1));
    assert!(!event.is_set(), "the event was set");
    // The same through put_result.
    put_result(QueueId::MULTITHREADED, &result).unwrap();
    recv(&receiver);
    assert!(wait_until(Duration::from_secs(2), || result.ref_count() == 1));
    assert!(
        !event.wait(Some(Duration::from_millis(100))),
        "the event was set"
    );
}

// docs/behaviour.md#d6: a result with neither a callback nor an event is E_INVALIDARG, and is not kept.
#[test]
fn result_with_neither_callback_nor_event_is_invalid_arg() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let result = AsyncResult::new(None, None, None);
    assert_eq!(
        put_result(QueueId::STANDARD, &result),
        Err(Error::InvalidArg)
    );
    assert_eq!(
        put_result_with_priority(QueueId::IO, 1, &result),
        Err(Error::InvalidArg)
    );
    assert_eq!(invoke_callback(&result), Err(Error::InvalidArg));
    assert_eq!(Error::InvalidArg.hresult().0 as u32, 0x8007_0057);
    assert_eq!(result.ref_count(), 1);
}

/// Blocks the serial `queue`, queues `items` (label, priority) with a mix of the
/// three priority entry points, releases it, and returns the order they ran in.
fn priority_order(queue: QueueId, items: &[(&'static str, i32)]) -> Vec<&'static str> {
    let gate = Event::manual_reset(false);
    let started = Event::manual_reset(false);
    let (wait_gate, signal) = (gate.clone(), started.clone());
    put_work_item(
        queue,
        callback(move |_| {
            signal.set();
            assert!(wait_gate.wait(Some(WAIT)));
        }),
        None,
    )
    .unwrap();
    wait_event(&started, "the blocking item");
    let order = Arc::new(Mutex::new(Vec::new()));
    let (sender, receiver) = mpsc::channel();
    for (index, &(label, priority)) in items.iter().enumerate() {
        let (order, sender) = (order.clone(), sender.clone());
        let record = move || {
            order.lock().unwrap().push(label);
            sender.send(()).unwrap();
        };
        match index % 3 {
            0 => {
                let record = Mutex::new(Some(record));
                let cb = callback(move |_| (record.lock().unwrap().take().unwrap())());
                put_work_item_with_priority(queue, priority, cb, None).unwrap();
            }
            1 => {
                let record = Mutex::new(Some(record));
                let cb = callback(move |_| (record.lock().unwrap().take().unwrap())());
                put_result_with_priority(queue, priority, AsyncResult::with_callback(cb, None))
                    .unwrap();
            }
            _ => spawn_with_priority(queue, priority, record).unwrap(),
        }
    }
    gate.set();
    recv_n(&receiver, items.len());
    order.lock().unwrap().clone()
}

// docs/behaviour.md#d4 / #priorities: three bands (> 0, 0, < 0): a higher band runs first, FIFO within a
// band; the plain put functions use 0.
#[test]
fn priorities_run_high_then_normal_then_low_fifo_within_a_band() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let private = WorkQueue::new(QueueType::Standard).unwrap();
    let items = [
        ("low-1", -1),
        ("normal-1", 0),
        ("high-1", 1),
        ("low-2", i32::MIN),
        ("high-2", i32::MAX),
        ("normal-2", 0),
        ("high-3", 5),
        ("low-3", -7),
        ("normal-3", 0),
    ];
    let expected = [
        "high-1", "high-2", "high-3", "normal-1", "normal-2", "normal-3", "low-1", "low-2", "low-3",
    ];
    for queue in [QueueId::STANDARD, private.id()] {
        assert_eq!(priority_order(queue, &items), expected, "{queue:?}");
    }
    // put_work_item is priority 0: it runs after high items and before low ones.
    let gate = Event::manual_reset(false);
    let started = Event::manual_reset(false);
    let (wait_gate, signal) = (gate.clone(), started.clone());
    put_work_item(
        QueueId::RT,
        callback(move |_| {
            signal.set();
            assert!(wait_gate.wait(Some(WAIT)));
        }),
        None,
    )
    .unwrap();
    wait_event(&started, "the blocking item");
    let (sender, receiver) = mpsc::channel();
    let labelled = |label: &'static str| {
        let sender = Mutex::new(sender.clone());
        callback(move |_| sender.lock().unwrap().send(label).unwrap())
    };
    put_work_item_with_priority(QueueId::RT, -1, labelled("low"), None).unwrap();
    put_work_item(QueueId::RT, labelled("plain"), None).unwrap();
    put_work_item_with_priority(QueueId::RT, 1, labelled("high"), None).unwrap();
    gate.set();
    assert_eq!(recv_n(&receiver, 3), ["high", "plain", "low"]);
}

// docs/behaviour.md#begin-end: the status set before invoke_callback is what the callback sees.
#[test]
fn invoke_callback_delivers_the_status() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (sender, receiver) = mpsc::channel();
    let sender = Mutex::new(sender);
    let cb = callback_on(QueueId::MULTITHREADED, move |result| {
        sender.lock().unwrap().send(result.status()).unwrap()
    });
    for status in [
        HResult::S_OK,
        HResult::E_FAIL,
        HResult::MF_E_OPERATION_CANCELLED,
    ] {
        let result = AsyncResult::with_callback(cb.clone(), None);
        result.set_status(status);
        invoke_callback(&result).unwrap();
        assert_eq!(recv(&receiver), status);
    }
}

// docs/behaviour.md#queue-ids: every item put runs exactly once, also in a burst from several threads.
#[test]
fn every_item_runs_exactly_once() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..2000).map(|_| AtomicUsize::new(0)).collect());
    let (sender, receiver) = mpsc::channel();
    let putters: Vec<_> = (0..4)
        .map(|putter| {
            let (counts, sender) = (counts.clone(), sender.clone());
            std::thread::spawn(move || {
                for index in (putter * 500)..(putter * 500 + 500) {
                    let (counts, sender) = (counts.clone(), sender.clone());
                    let queue = [QueueId::MULTITHREADED, QueueId::STANDARD, QueueId::IO][index % 3];
                    put_work_item(
                        queue,
                        callback(move |_| {
                            counts[index].fetch_add(1, Ordering::SeqCst);
                            sender.send(()).unwrap();
                        }),
                        None,
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for putter in putters {
        putter.join().unwrap();
    }
    recv_n(&receiver, 2000);
    assert_nothing_more(&receiver, Duration::from_millis(20));
    assert!(counts.iter().all(|count| count.load(Ordering::SeqCst) == 1));
}

// docs/behaviour.md#d36: every platform call works from inside invoke.
#[test]
fn every_call_works_from_inside_invoke() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (sender, receiver) = mpsc::channel();
    let own_queue_ran = Event::manual_reset(false);
    let own_signal = own_queue_ran.clone();
    put_work_item(
        QueueId::STANDARD,
        callback(move |_| {
            let mut checks: Vec<(&'static str, bool)> = Vec::new();
            checks.push(("current_queue", current_queue() == Some(QueueId::STANDARD)));
            checks.push(("nested startup", mfwq::startup(mfwq::MF_VERSION).is_ok()));
            checks.push((
                "nested shutdown",
                mfwq::shutdown().is_ok() && mfwq::is_started(),
            ));
            let count = mfwq::platform_lock_count();
            mfwq::lock_platform();
            checks.push(("lock_platform", mfwq::platform_lock_count() == count + 1));
            mfwq::unlock_platform();
            checks.push(("unlock_platform", mfwq::platform_lock_count() == count));
            let made = AsyncResult::new(None, None, None);
            checks.push(("create result", made.ref_count() == 1));
            // A private queue: allocate, lock, put and wait, unlock.
            let queue = mfwq::allocate_work_queue(QueueType::Standard);
            checks.push(("allocate", queue.is_ok()));
            if let Ok(queue) = queue {
                checks.push(("lock queue", mfwq::lock_work_queue(queue).is_ok()));
                checks.push(("unlock queue", mfwq::unlock_work_queue(queue).is_ok()));
                checks.push((
                    "queue type",
                    mfwq::work_queue_type(queue) == Ok(QueueType::Standard),
                ));
                checks.push(("queue count", mfwq::private_queue_count() >= 1));
                let done = Event::manual_reset(false);
                let signal = done.clone();
                let put = mfwq::put_work_item(queue, callback(move |_| signal.set()), None);
                checks.push(("put on private", put.is_ok() && done.wait(Some(WAIT))));
                checks.push(("unlock to zero", mfwq::unlock_work_queue(queue).is_ok()));
            }
            // Put on our own (serial) queue: runs after we return.
            let own = own_signal.clone();
            checks.push((
                "put on own queue",
                put_work_item(QueueId::STANDARD, callback(move |_| own.set()), None).is_ok(),
            ));
            // Results and invoke, waited for on other queues.
            let done = Event::manual_reset(false);
            let signal = done.clone();
            let result = AsyncResult::with_callback(callback(move |_| signal.set()), None);
            let put = put_result(QueueId::MULTITHREADED, &result);
            checks.push(("put_result", put.is_ok() && done.wait(Some(WAIT))));
            let done = Event::manual_reset(false);
            let signal = done.clone();
            let result =
                AsyncResult::with_callback(callback_on(QueueId::IO, move |_| signal.set()), None);
            let invoked = invoke_callback(&result);
            checks.push(("invoke_callback", invoked.is_ok() && done.wait(Some(WAIT))));
            let done = Event::manual_reset(false);
            let signal = done.clone();
            let spawned = mfwq::spawn_with_priority(QueueId::RT, 1, move || signal.set());
            checks.push(("spawn", spawned.is_ok() && done.wait(Some(WAIT))));
            let event = Event::manual_reset(false);
            let eventful = AsyncResult::new(None, None, None);
            eventful.set_event(Some(event.clone()));
            let put = put_result(QueueId::LONG_FUNCTION, &eventful);
            checks.push(("event result", put.is_ok() && event.wait(Some(WAIT))));
            let (end_sender, end) = mpsc::channel();
            let end_sender = Mutex::new(end_sender);
            let begun = mfwq::begin(
                QueueId::MULTITHREADED,
                callback_on(QueueId::MULTITHREADED, move |result| {
                    let output = mfwq::AsyncOperation::<u32>::end(result);
                    end_sender.lock().unwrap().send(output).unwrap();
                }),
                None,
                || Ok(42u32),
            );
            checks.push((
                "begin/end",
                begun.is_ok() && end.recv_timeout(WAIT) == Ok(Ok(42)),
            ));
            sender.send(checks).unwrap();
        }),
        None,
    )
    .unwrap();
    let checks = recv(&receiver);
    let failed: Vec<_> = checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(name, _)| *name)
        .collect();
    assert!(failed.is_empty(), "failed inside invoke: {failed:?}");
    assert_eq!(checks.len(), 19, "every check ran: {checks:?}");
    wait_event(&own_queue_ran, "the item put on the callback's own queue");
    assert!(mfwq::is_started());
    assert!(mfwq::platform_lock_count() >= 1);
}

// Who holds the result after Invoke: a thread woken by an event the callback
// sets finds the platform's reference already gone, every time (the wait
// settles the worker's item first; docs/porting.md, "Who holds the result
// after Invoke"). The woken thread waits for a worker preempted in the few
// instructions of Invoke after the set, and once Invoke has returned for the
// worker's release, however long the worker is preempted (up to 100 ms), so
// no trial may miss. With the settling taken out, MULTITHREADED missed 35 of
// 600 in a run here, so the check catches its loss.
#[test]
fn a_thread_woken_from_invoke_holds_the_only_reference() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for queue in [QueueId::STANDARD, QueueId::MULTITHREADED] {
        let done = mfwq::Event::auto_reset(false);
        let signal = done.clone();
        let cb = mfwq::callback(move |_| signal.set());
        let mut only = 0;
        for _ in 0..200 {
            let result = AsyncResult::with_callback(cb.clone(), None);
            put_result(queue, &result).unwrap();
            assert!(done.wait(Some(Duration::from_secs(10))));
            only += usize::from(result.ref_count() == 1);
        }
        let other = mfwq::Event::auto_reset(false);
        let events = [other, done.clone()];
        for _ in 0..200 {
            let result = AsyncResult::with_callback(cb.clone(), None);
            put_result(queue, &result).unwrap();
            assert_eq!(
                mfwq::Event::wait_any(&events, Some(Duration::from_secs(10))),
                Some(1)
            );
            only += usize::from(result.ref_count() == 1);
        }
        let always = mfwq::Event::manual_reset(true);
        let both = [always, done.clone()];
        for _ in 0..200 {
            let result = AsyncResult::with_callback(cb.clone(), None);
            put_result(queue, &result).unwrap();
            assert!(mfwq::Event::wait_all(&both, Some(Duration::from_secs(10))));
            only += usize::from(result.ref_count() == 1);
        }
        assert_eq!(
            only,
            600,
            "{queue:?}: the worker still held the result in {} of 600 trials",
            600 - only
        );
    }
}

// The settling is bounded: an Invoke that sets an event and then waits for
// the woken thread does not deadlock with it.
#[test]
fn a_woken_thread_does_not_wait_for_an_invoke_that_waits_for_it() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (started, answer) = (
        mfwq::Event::auto_reset(false),
        mfwq::Event::auto_reset(false),
    );
    let (signal, wait_for) = (started.clone(), answer.clone());
    let cb = mfwq::callback(move |_| {
        signal.set();
        assert!(wait_for.wait(Some(Duration::from_secs(10))));
    });
    for _ in 0..20 {
        let begun = std::time::Instant::now();
        put_work_item(QueueId::STANDARD, cb.clone(), None).unwrap();
        assert!(started.wait(Some(Duration::from_secs(10))));
        answer.set();
        assert!(begun.elapsed() < Duration::from_secs(1));
    }
}
