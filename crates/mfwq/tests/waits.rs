//! Waiting items: `put_waiting_work_item` and their cancellation
//! (docs/behaviour.md#waiting: #w39 to #w41, #d15 and #d17, and the queues
//! they may use).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::{assert_nothing_more, recv, recv_n, serial, wait_event, wait_until, WAIT};
use mfwq::{
    callback, callback_on, cancel_work_item, put_waiting_work_item, AsyncResult, Callback, Error,
    Event, HResult, Platform, QueueId, QueueType, WorkItemKey, WorkQueue,
};

type Invocation = (Option<QueueId>, HResult, usize);

/// A callback on `queue` that reports (queue, status, state) for every invocation.
fn reporting(queue: QueueId) -> (Callback, mpsc::Receiver<Invocation>) {
    let (sender, receiver) = mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let cb = callback_on(queue, move |result: &AsyncResult| {
        let tag = result.state_as::<usize>().copied().unwrap_or(0);
        let _ = sender
            .lock()
            .unwrap()
            .send((mfwq::current_queue(), result.status(), tag));
    });
    (cb, receiver)
}

fn result_for(cb: &Callback, tag: usize) -> AsyncResult {
    AsyncResult::with_callback(cb.clone(), Some(Arc::new(tag)))
}

const QUIET: Duration = Duration::from_millis(40);

// docs/behaviour.md#w39 and #w40: a null event, priority 0, a result: Ok. The same result can
// be put again under a second key. Cancelling each key is Ok and invokes the
// callback once with MF_E_OPERATION_CANCELLED.
#[test]
fn null_event_waits_can_be_put_twice_and_cancelled() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, invoked) = reporting(QueueId::MULTITHREADED);
    let result = result_for(&cb, 1);
    let first = put_waiting_work_item(None, 0, &result).unwrap();
    let second = put_waiting_work_item(None, 0, &result).unwrap();
    assert_ne!(first, second);
    assert_eq!(
        first.into_raw() >> 32,
        0x8200_0000,
        "waiting-item key layout"
    );
    assert_eq!(second.into_raw() >> 32, 0x8200_0000);
    assert_eq!(result.ref_count(), 3, "each pending wait holds the result");
    // docs/behaviour.md#d17: a null handle never signals.
    assert_nothing_more(&invoked, QUIET);
    assert_eq!(cancel_work_item(first), Ok(()));
    assert_eq!(
        recv(&invoked),
        (
            Some(QueueId::MULTITHREADED),
            HResult::MF_E_OPERATION_CANCELLED,
            1
        )
    );
    assert_eq!(cancel_work_item(second), Ok(()));
    assert_eq!(recv(&invoked).1, HResult::MF_E_OPERATION_CANCELLED);
    assert_nothing_more(&invoked, QUIET);
    assert!(
        wait_until(WAIT, || result.ref_count() == 1),
        "the platform releases the result after the cancelled invocations"
    );
}

// docs/behaviour.md#w38 for waits: a second cancel is NotFound, and so is a cancel after
// the item fired.
#[test]
fn second_cancel_and_cancel_after_firing_are_not_found() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, invoked) = reporting(QueueId::STANDARD);
    let key = put_waiting_work_item(None, 0, result_for(&cb, 0)).unwrap();
    assert_eq!(cancel_work_item(key), Ok(()));
    assert_eq!(cancel_work_item(key), Err(Error::NotFound));
    assert_eq!(recv(&invoked).1, HResult::MF_E_OPERATION_CANCELLED);
    let event = Event::auto_reset(false);
    let key = put_waiting_work_item(Some(&event), 0, result_for(&cb, 0)).unwrap();
    event.set();
    assert_eq!(recv(&invoked).1, HResult::S_OK);
    assert_eq!(cancel_work_item(key), Err(Error::NotFound));
    assert_nothing_more(&invoked, QUIET);
    assert_eq!(
        cancel_work_item(WorkItemKey::from_raw(0x8200_0000_FFFF_FFF0)),
        Err(Error::NotFound)
    );
}

// Setting the event dispatches the result through invoke-callback: on the
// callback's queue, with the same result, status untouched.
#[test]
fn set_event_fires_the_item_on_its_callbacks_queue() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let private = WorkQueue::new(QueueType::Standard).unwrap();
    for queue in [QueueId::STANDARD, QueueId::MULTITHREADED, private.id()] {
        let (cb, invoked) = reporting(queue);
        let event = Event::auto_reset(false);
        put_waiting_work_item(Some(&event), 0, result_for(&cb, 7)).unwrap();
        assert_nothing_more(&invoked, Duration::from_millis(10));
        event.set();
        assert_eq!(recv(&invoked), (Some(queue), HResult::S_OK, 7));
    }
    // The very result that was put.
    let (sender, receiver) = mpsc::channel();
    let cb = callback_on(QueueId::MULTITHREADED, move |result: &AsyncResult| {
        sender.send(result.clone()).unwrap()
    });
    let result = AsyncResult::with_callback(cb, None);
    let event = Event::manual_reset(false);
    put_waiting_work_item(Some(&event), 0, &result).unwrap();
    event.set();
    assert!(recv(&receiver).ptr_eq(&result));
}

// An auto-reset event releases one waiting item per set, and the item consumes
// the signal.
#[test]
fn auto_reset_event_releases_one_item_per_set() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, invoked) = reporting(QueueId::MULTITHREADED);
    let event = Event::auto_reset(false);
    for tag in 1..=3 {
        put_waiting_work_item(Some(&event), 0, result_for(&cb, tag)).unwrap();
    }
    event.set();
    assert_eq!(recv(&invoked).2, 1, "the oldest item first");
    assert_nothing_more(&invoked, QUIET);
    assert!(!event.is_set(), "the item consumed the signal");
    event.set();
    event.set();
    let mut tags: Vec<usize> = recv_n(&invoked, 2).into_iter().map(|i| i.2).collect();
    tags.sort();
    assert_eq!(tags, [2, 3]);
    assert!(!event.is_set());
    assert_nothing_more(&invoked, QUIET);
    // With no item waiting, a set stays for the next waiter (thread or item).
    event.set();
    assert!(event.is_set());
    assert!(event.wait(Some(Duration::ZERO)));
    assert!(!event.is_set());
}

// A manual-reset event releases every item waiting on it and stays set, so an
// item put afterwards fires at once.
#[test]
fn manual_reset_event_releases_all_items_and_stays_set() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, invoked) = reporting(QueueId::MULTITHREADED);
    let event = Event::manual_reset(false);
    for tag in 1..=3 {
        put_waiting_work_item(Some(&event), 0, result_for(&cb, tag)).unwrap();
    }
    assert_nothing_more(&invoked, Duration::from_millis(10));
    event.set();
    let mut tags: Vec<usize> = recv_n(&invoked, 3).into_iter().map(|i| i.2).collect();
    tags.sort();
    assert_eq!(tags, [1, 2, 3]);
    assert!(event.is_set(), "a manual-reset event stays set");
    let key = put_waiting_work_item(Some(&event), 0, result_for(&cb, 4)).unwrap();
    assert_eq!(recv(&invoked).2, 4, "fires at once on a set event");
    assert_eq!(cancel_work_item(key), Err(Error::NotFound));
    event.reset();
    put_waiting_work_item(Some(&event), 0, result_for(&cb, 5)).unwrap();
    assert_nothing_more(&invoked, QUIET);
    event.set();
    assert_eq!(recv(&invoked).2, 5);
}

// An auto-reset event that is already set releases an item put on it at once,
// and the signal is consumed.
#[test]
fn item_put_on_a_set_auto_reset_event_fires_at_once() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, invoked) = reporting(QueueId::STANDARD);
    let event = Event::auto_reset(true);
    let key = put_waiting_work_item(Some(&event), 0, result_for(&cb, 1)).unwrap();
    assert_eq!(recv(&invoked), (Some(QueueId::STANDARD), HResult::S_OK, 1));
    assert!(!event.is_set(), "the signal was consumed");
    assert_eq!(cancel_work_item(key), Err(Error::NotFound));
    put_waiting_work_item(Some(&event), 0, result_for(&cb, 2)).unwrap();
    assert_nothing_more(&invoked, QUIET);
    event.set();
    assert_eq!(recv(&invoked).2, 2);
}

// docs/behaviour.md#d17: waits may be re-armed from inside invoke.
#[test]
fn wait_rearmed_from_inside_invoke() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    const ROUNDS: usize = 50;
    let event = Event::auto_reset(false);
    let (sender, receiver) = mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let rearm_event = event.clone();
    let cb = callback_on(QueueId::MULTITHREADED, move |result: &AsyncResult| {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let rearmed = if n < ROUNDS {
            // The same result waits again.
            Some(put_waiting_work_item(Some(&rearm_event), 0, result).is_ok())
        } else {
            None
        };
        let _ = sender.lock().unwrap().send((n, rearmed));
    });
    let result = AsyncResult::with_callback(cb, None);
    put_waiting_work_item(Some(&event), 0, &result).unwrap();
    for round in 1..=ROUNDS {
        event.set();
        let (n, rearmed) = recv(&receiver);
        assert_eq!(n, round);
        assert_eq!(rearmed, if round < ROUNDS { Some(true) } else { None });
    }
    event.set();
    assert_nothing_more(&receiver, QUIET);
    assert_eq!(count.load(Ordering::SeqCst), ROUNDS);
    assert!(wait_until(WAIT, || result.ref_count() == 1));
}

// A result with no callback but an event: that event is set when the item fires.
#[test]
fn callback_less_result_sets_its_own_event() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let trigger = Event::auto_reset(false);
    let done = Event::manual_reset(false);
    let result = AsyncResult::new(None, None, None);
    assert_eq!(
        put_waiting_work_item(Some(&trigger), 0, &result),
        Err(Error::InvalidArg),
        "neither a callback nor an event"
    );
    result.set_event(Some(done.clone()));
    put_waiting_work_item(Some(&trigger), 0, &result).unwrap();
    assert!(!done.wait(Some(Duration::from_millis(10))));
    trigger.set();
    wait_event(&done, "the result's own event");
}

// docs/behaviour.md#waiting: IO, LONG_FUNCTION, RT and TIMER may not be used; refused
// synchronously. STANDARD, MULTITHREADED and private queues may.
#[test]
fn forbidden_queues_are_refused() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let event = Event::manual_reset(false);
    for queue in [
        QueueId::IO,
        QueueId::LONG_FUNCTION,
        QueueId::RT,
        QueueId::TIMER,
    ] {
        let (cb, invoked) = reporting(queue);
        let result = result_for(&cb, 0);
        assert_eq!(
            put_waiting_work_item(Some(&event), 0, &result),
            Err(Error::InvalidWorkQueue),
            "{queue:?}"
        );
        assert_eq!(
            put_waiting_work_item(None, 0, &result),
            Err(Error::InvalidWorkQueue)
        );
        assert_eq!(result.ref_count(), 1, "a refused item keeps nothing");
        event.set();
        assert_nothing_more(&invoked, Duration::from_millis(5));
        event.reset();
    }
    let private = WorkQueue::new(QueueType::Multithreaded).unwrap();
    for queue in [
        QueueId::STANDARD,
        QueueId::MULTITHREADED,
        QueueId::UNDEFINED,
        private.id(),
    ] {
        let (cb, _invoked) = reporting(queue);
        let key = put_waiting_work_item(Some(&event), 0, result_for(&cb, 0)).unwrap();
        assert_eq!(cancel_work_item(key), Ok(()), "{queue:?}");
    }
    // Priority is accepted, whatever its value.
    let (cb, invoked) = reporting(QueueId::STANDARD);
    for priority in [-1, 0, 1, i32::MIN, i32::MAX] {
        put_waiting_work_item(Some(&event), priority, result_for(&cb, 0)).unwrap();
    }
    event.set();
    assert_eq!(recv_n(&invoked, 5).len(), 5);
}

// Not started is Shutdown; an item still waiting at the last shutdown never
// fires, but its callback is invoked once with MF_E_SHUTDOWN before the
// shutdown returns (a put that returned Ok promised one invocation), and its
// result is then released (only pending timers leak); cancelling it is
// Shutdown, and after a restart its key is unknown.
#[test]
fn waits_and_shutdown() {
    let _serial = serial();
    let (cb, invoked) = reporting(QueueId::STANDARD);
    let result = result_for(&cb, 3);
    let event = Event::manual_reset(false);
    assert_eq!(
        put_waiting_work_item(Some(&event), 0, &result),
        Err(Error::Shutdown)
    );
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    let key = put_waiting_work_item(Some(&event), 0, &result).unwrap();
    let null_key = put_waiting_work_item(None, 0, &result).unwrap();
    mfwq::shutdown().unwrap();
    let stopped = recv_n(&invoked, 2);
    for (queue, status, tag) in stopped {
        assert_eq!(status, HResult::MF_E_SHUTDOWN);
        assert_eq!(tag, 3);
        // Delivered by the shutdown's own thread: no platform queue runs any more.
        assert_eq!(queue, Some(QueueId::UNDEFINED));
    }
    assert_eq!(cancel_work_item(key), Err(Error::Shutdown));
    assert_eq!(cancel_work_item(null_key), Err(Error::Shutdown));
    event.set();
    assert_nothing_more(&invoked, QUIET);
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    assert_eq!(cancel_work_item(key), Err(Error::NotFound));
    event.reset();
    event.set();
    assert_nothing_more(&invoked, QUIET);
    assert_eq!(
        result.ref_count(),
        1,
        "the pending waits' references were released at shutdown (only timers leak)"
    );
    mfwq::shutdown().unwrap();
}

// Set racing with cancel: each item is invoked exactly once, with S_OK if the
// set won (cancel said NotFound) or OPERATION_CANCELLED if the cancel won.
#[test]
fn set_racing_with_cancel_has_exactly_one_winner() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    const ITEMS: usize = 1000;
    let statuses: Arc<Vec<std::sync::Mutex<Vec<HResult>>>> = Arc::new(
        (0..ITEMS)
            .map(|_| std::sync::Mutex::new(Vec::new()))
            .collect(),
    );
    let record = statuses.clone();
    let cb = callback_on(QueueId::MULTITHREADED, move |result: &AsyncResult| {
        let index = *result.state_as::<usize>().unwrap();
        record[index].lock().unwrap().push(result.status());
    });
    let mut outcomes = Vec::with_capacity(ITEMS);
    for index in 0..ITEMS {
        let event = Event::auto_reset(false);
        let key = put_waiting_work_item(Some(&event), 0, result_for(&cb, index)).unwrap();
        let setter = std::thread::spawn(move || event.set());
        if index % 2 == 0 {
            std::thread::yield_now();
        }
        outcomes.push(cancel_work_item(key));
        setter.join().unwrap();
    }
    assert!(wait_until(WAIT, || statuses
        .iter()
        .all(|s| !s.lock().unwrap().is_empty())));
    std::thread::sleep(Duration::from_millis(20));
    let (mut fired, mut cancelled) = (0, 0);
    for (index, outcome) in outcomes.iter().enumerate() {
        let got = statuses[index].lock().unwrap().clone();
        match outcome {
            Ok(()) => {
                cancelled += 1;
                assert_eq!(got, [HResult::MF_E_OPERATION_CANCELLED], "item {index}");
            }
            Err(Error::NotFound) => {
                fired += 1;
                assert_eq!(got, [HResult::S_OK], "item {index}");
            }
            Err(other) => panic!("item {index}: unexpected {other:?}"),
        }
    }
    assert_eq!(fired + cancelled, ITEMS);
    assert!(
        wait_until(WAIT, || Arc::strong_count(&cb) == 1),
        "all released"
    );
}

// Many items on one manual-reset event, some cancelled: the rest all fire once.
#[test]
fn cancelled_items_are_skipped_when_the_event_is_set() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, invoked) = reporting(QueueId::MULTITHREADED);
    let event = Event::auto_reset(false);
    let keys: Vec<WorkItemKey> = (0..10)
        .map(|tag| put_waiting_work_item(Some(&event), 0, result_for(&cb, tag)).unwrap())
        .collect();
    for key in keys.iter().step_by(2) {
        cancel_work_item(*key).unwrap();
    }
    let mut cancelled: Vec<usize> = recv_n(&invoked, 5)
        .into_iter()
        .map(|(_, status, tag)| {
            assert_eq!(status, HResult::MF_E_OPERATION_CANCELLED);
            tag
        })
        .collect();
    cancelled.sort();
    assert_eq!(cancelled, [0, 2, 4, 6, 8]);
    // Auto-reset: five sets for the five that still wait, oldest first.
    for expected in [1, 3, 5, 7, 9] {
        event.set();
        assert_eq!(
            recv(&invoked),
            (Some(QueueId::MULTITHREADED), HResult::S_OK, expected)
        );
    }
    event.set();
    assert_nothing_more(&invoked, QUIET);
    assert!(
        event.is_set(),
        "no item was left to consume the last signal"
    );
}

// Dropping every handle to an event with items waiting on it does not fire
// them; they can still be cancelled.
#[test]
fn waits_on_a_dropped_event_can_still_be_cancelled() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, invoked) = reporting(QueueId::STANDARD);
    let event = Event::manual_reset(false);
    let key = put_waiting_work_item(Some(&event), 0, result_for(&cb, 1)).unwrap();
    drop(event);
    assert_nothing_more(&invoked, Duration::from_millis(10));
    assert_eq!(cancel_work_item(key), Ok(()));
    assert_eq!(recv(&invoked).1, HResult::MF_E_OPERATION_CANCELLED);
}

// A plain callback (no parameters) is dispatched on STANDARD.
#[test]
fn default_parameters_dispatch_on_standard() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (sender, receiver) = mpsc::channel();
    let cb = callback(move |_| sender.send(mfwq::current_queue()).unwrap());
    let event = Event::auto_reset(false);
    put_waiting_work_item(Some(&event), 0, AsyncResult::with_callback(cb, None)).unwrap();
    event.set();
    assert_eq!(recv(&receiver), Some(QueueId::STANDARD));
}

// docs/behaviour.md#d15 and 40 when the callback's queue is gone: a waiting item whose cancel
// returned Ok is still invoked exactly once (with MF_E_OPERATION_CANCELLED),
// on STANDARD, as are a fired wait and an expired timer; nothing the
// platform owes is dropped.
#[test]
fn completions_fall_back_to_standard_when_the_callbacks_queue_is_gone() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let queue = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
    let (cb, invoked) = reporting(queue);
    let cancelled = put_waiting_work_item(None, 0, result_for(&cb, 1)).unwrap();
    let event = Event::manual_reset(false);
    put_waiting_work_item(Some(&event), 0, result_for(&cb, 2)).unwrap();
    mfwq::schedule_result(result_for(&cb, 3), Duration::from_millis(5)).unwrap();
    mfwq::unlock_work_queue(queue).unwrap();
    assert_eq!(cancel_work_item(cancelled), Ok(()));
    event.set();
    let mut got = recv_n(&invoked, 3);
    got.sort_by_key(|&(_, _, tag)| tag);
    assert_eq!(
        got,
        [
            (
                Some(QueueId::STANDARD),
                HResult::MF_E_OPERATION_CANCELLED,
                1
            ),
            (Some(QueueId::STANDARD), HResult::S_OK, 2),
            (Some(QueueId::STANDARD), HResult::S_OK, 3),
        ]
    );
    assert_nothing_more(&invoked, QUIET);
}
