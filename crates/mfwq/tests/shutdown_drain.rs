//! What happens to pending work at shutdown and at unlock
//! (docs/behaviour.md#shutdown-under-load: #w54 and #w55, with #w27; #d1): queued work is never
//! discarded, runs exactly once, and is released.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{busy, recv_n, serial, wait_event, wait_until, DropSignal, WAIT};
use mfwq::{
    allocate_work_queue, callback, is_started, put_result, put_work_item,
    put_work_item_with_priority, shutdown, startup, unlock_work_queue, AsyncResult, Error, Event,
    QueueId, QueueType, MF_VERSION,
};

/// Counts how often each of `n` items ran.
fn counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

fn all_ran_once(counts: &[AtomicUsize]) -> bool {
    counts.iter().all(|count| count.load(Ordering::SeqCst) == 1)
}

/// Puts an item on `queue` that blocks it until the returned gate is set.
fn block(queue: QueueId) -> Event {
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
    gate
}

/// Opens `gates` once shutdown has begun (the platform no longer counts as
/// started), so that the queued work provably runs after the shutdown call.
fn open_when_shutdown_begins(gates: Vec<Event>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        assert!(wait_until(WAIT, || !is_started()), "shutdown did not begin");
        for gate in gates {
            gate.set();
        }
    })
}

// docs/behaviour.md#w54: items put on STANDARD (each taking 10 ms) and then shutdown: all of
// them still run, exactly once, after the shutdown call and before it returns;
// afterwards each result is held only by its caller.
#[test]
fn queued_items_run_exactly_once_before_shutdown_returns() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let gate = block(QueueId::STANDARD);
    let counts = counters(6);
    let (dropped_sender, dropped) = mpsc::channel();
    let mut results = Vec::new();
    for index in 0..6 {
        let counts = counts.clone();
        let cb = callback(move |_| {
            busy(Duration::from_millis(10));
            counts[index].fetch_add(1, Ordering::SeqCst);
        });
        if index % 2 == 0 {
            let result = AsyncResult::with_callback(cb, None);
            put_result(QueueId::STANDARD, &result).unwrap();
            results.push(result);
        } else {
            let state: mfwq::State = Arc::new(DropSignal(dropped_sender.clone()));
            put_work_item(QueueId::STANDARD, cb, Some(state)).unwrap();
        }
    }
    let opener = open_when_shutdown_begins(vec![gate]);
    shutdown().unwrap();
    assert!(all_ran_once(&counts), "{counts:?}");
    for result in &results {
        assert_eq!(result.ref_count(), 1, "the platform let go of every result");
    }
    for _ in 0..3 {
        assert!(
            dropped.try_recv().is_ok(),
            "an internal result was not released"
        );
    }
    opener.join().unwrap();
    assert!(!is_started());
}

// docs/behaviour.md#w54 / #d1: the backlog of every kind of queue, in every priority band,
// drains at shutdown.
#[test]
fn every_queue_kind_drains_its_backlog_at_shutdown() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let private: Vec<QueueId> = [
        QueueType::Standard,
        QueueType::Window,
        QueueType::Multithreaded,
    ]
    .into_iter()
    .map(|kind| allocate_work_queue(kind).unwrap())
    .collect();
    let queues: Vec<QueueId> = common::PLATFORM_QUEUES
        .into_iter()
        .chain(private.iter().copied())
        .collect();
    // Block the serial ones so that a real backlog builds up behind them.
    let gates: Vec<Event> = [
        QueueId::STANDARD,
        QueueId::RT,
        QueueId::TIMER,
        private[0],
        private[1],
    ]
    .into_iter()
    .map(block)
    .collect();
    let per_queue = 30;
    let counts = counters(queues.len() * per_queue);
    for (q, &queue) in queues.iter().enumerate() {
        for i in 0..per_queue {
            let index = q * per_queue + i;
            let counts = counts.clone();
            let priority = [1, 0, -1][i % 3];
            put_work_item_with_priority(
                queue,
                priority,
                callback(move |_| {
                    counts[index].fetch_add(1, Ordering::SeqCst);
                }),
                None,
            )
            .unwrap();
        }
    }
    let opener = open_when_shutdown_begins(gates);
    shutdown().unwrap();
    let missing: Vec<usize> = (0..counts.len())
        .filter(|&i| counts[i].load(Ordering::SeqCst) != 1)
        .collect();
    assert!(
        missing.is_empty(),
        "items not run exactly once: {missing:?}"
    );
    opener.join().unwrap();
    // The private queues went with the platform.
    startup(MF_VERSION).unwrap();
    for id in private {
        assert_eq!(unlock_work_queue(id), Err(Error::InvalidWorkQueue));
    }
    shutdown().unwrap();
}

// docs/behaviour.md#w27 / #w55: a private queue unlocked (destroyed) with a backlog still runs
// all of it, in order, without any shutdown.
#[test]
fn unlocked_private_queue_still_runs_its_backlog() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    for kind in [QueueType::Standard, QueueType::Multithreaded] {
        let id = allocate_work_queue(kind).unwrap();
        let gate = block(id);
        let order = Arc::new(Mutex::new(Vec::new()));
        let (sender, receiver) = mpsc::channel();
        for index in 0..100 {
            let (order, sender) = (order.clone(), sender.clone());
            put_work_item(
                id,
                callback(move |_| {
                    order.lock().unwrap().push(index);
                    sender.send(()).unwrap();
                }),
                None,
            )
            .unwrap();
        }
        unlock_work_queue(id).unwrap();
        assert_eq!(
            put_work_item(id, callback(|_| {}), None),
            Err(Error::InvalidWorkQueue)
        );
        gate.set();
        recv_n(&receiver, 100);
        let mut order = order.lock().unwrap().clone();
        if kind == QueueType::Standard {
            assert_eq!(order, (0..100).collect::<Vec<_>>(), "FIFO");
        }
        order.sort_unstable();
        assert_eq!(order, (0..100).collect::<Vec<_>>(), "each ran exactly once");
    }
    shutdown().unwrap();
}

// docs/behaviour.md#w27 / #w55 / #d1: the backlog of a private queue unlocked just before
// shutdown runs before shutdown returns.
#[test]
fn unlocked_private_queue_backlog_finishes_before_shutdown_returns() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let id = allocate_work_queue(QueueType::Standard).unwrap();
    let gate = block(id);
    let counts = counters(20);
    let results: Vec<AsyncResult> = (0..20)
        .map(|index| {
            let counts = counts.clone();
            let result = AsyncResult::with_callback(
                callback(move |_| {
                    counts[index].fetch_add(1, Ordering::SeqCst);
                }),
                None,
            );
            put_result(id, &result).unwrap();
            result
        })
        .collect();
    unlock_work_queue(id).unwrap();
    let opener = open_when_shutdown_begins(vec![gate]);
    shutdown().unwrap();
    assert!(all_ran_once(&counts), "{counts:?}");
    assert!(results.iter().all(|result| result.ref_count() == 1));
    opener.join().unwrap();
}

// docs/behaviour.md#d1: work put while the platform shuts down is either refused with
// MF_E_SHUTDOWN or runs exactly once before shutdown returns; never lost.
#[test]
fn work_put_during_shutdown_is_refused_or_run() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let gate = block(QueueId::STANDARD);
    let n = 40;
    let follow_ups = counters(n);
    let outcomes = Arc::new(Mutex::new(vec![None; n]));
    for index in 0..n {
        let (follow_ups, outcomes) = (follow_ups.clone(), outcomes.clone());
        let queue = [QueueId::STANDARD, QueueId::MULTITHREADED][index % 2];
        put_work_item(
            queue,
            callback(move |_| {
                let follow_ups = follow_ups.clone();
                let outcome = put_work_item(
                    QueueId::MULTITHREADED,
                    callback(move |_| {
                        follow_ups[index].fetch_add(1, Ordering::SeqCst);
                    }),
                    None,
                );
                outcomes.lock().unwrap()[index] = Some(outcome);
            }),
            None,
        )
        .unwrap();
    }
    let opener = open_when_shutdown_begins(vec![gate]);
    shutdown().unwrap();
    let outcomes = outcomes.lock().unwrap().clone();
    for (index, outcome) in outcomes.into_iter().enumerate() {
        let ran = follow_ups[index].load(Ordering::SeqCst);
        match outcome {
            Some(Ok(())) => assert_eq!(ran, 1, "item {index} was accepted but ran {ran} times"),
            Some(Err(error)) => {
                assert_eq!(error, Error::Shutdown, "item {index}");
                assert_eq!(ran, 0, "item {index} was refused but ran");
            }
            None => panic!("item {index} never ran"),
        }
    }
    opener.join().unwrap();
}

// docs/behaviour.md#d1 / #w3: once shutdown has returned, work is refused and whatever came
// with it is released at once.
#[test]
fn work_is_refused_and_released_after_shutdown() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    shutdown().unwrap();
    let (sender, dropped) = mpsc::channel();
    let cb = callback(|_| panic!("must not run"));
    let state: mfwq::State = Arc::new(DropSignal(sender));
    assert_eq!(
        put_work_item(QueueId::MULTITHREADED, cb.clone(), Some(state)),
        Err(Error::Shutdown)
    );
    assert!(dropped.try_recv().is_ok(), "the refused state was released");
    assert_eq!(
        Arc::strong_count(&cb),
        1,
        "the refused callback was released"
    );
    let result = AsyncResult::with_callback(cb.clone(), None);
    assert_eq!(put_result(QueueId::STANDARD, &result), Err(Error::Shutdown));
    assert_eq!(mfwq::invoke_callback(&result), Err(Error::Shutdown));
    assert_eq!(result.ref_count(), 1);
    let (task_sender, task_dropped) = mpsc::channel();
    let guard = DropSignal(task_sender);
    assert_eq!(
        mfwq::spawn(QueueId::IO, move || drop(guard)),
        Err(Error::Shutdown)
    );
    assert!(
        task_dropped.try_recv().is_ok(),
        "the refused closure was dropped"
    );
}
