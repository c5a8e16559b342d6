//! Queue ids, allocation, lock and unlock (docs/behaviour.md#queue-ids and
//! #allocate: #w24 to #w29, #d3, #d7, #d11, #d13, #d31), and how each kind of
//! queue runs its items.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{busy, recv, recv_n, serial, wait_event, wait_until, Concurrency, WAIT};
use mfwq::{
    allocate_window_queue, allocate_work_queue, callback, current_queue, lock_work_queue,
    private_queue_count, put_result, put_work_item, unlock_work_queue, work_queue_type,
    AsyncResult, Error, Event, Platform, QueueId, QueueType, WorkQueue, MAX_PRIVATE_QUEUES,
};

const ALL_TYPES: [QueueType; 3] = [
    QueueType::Standard,
    QueueType::Window,
    QueueType::Multithreaded,
];

/// Puts one item on `queue`; returns the queue its callback saw itself on.
fn run_on(queue: QueueId) -> Option<QueueId> {
    let (sender, receiver) = mpsc::channel();
    put_work_item(
        queue,
        callback(move |_| sender.send(current_queue()).unwrap()),
        None,
    )
    .unwrap();
    recv(&receiver)
}

/// Puts `count` items on `queue`; each records its index while tracking how many
/// run at once. Returns (the order they ran in, the most that ran at once).
fn run_serially_checked(queue: QueueId, count: usize) -> (Vec<usize>, usize) {
    let concurrency = Arc::new(Concurrency::default());
    let order = Arc::new(Mutex::new(Vec::new()));
    let (sender, receiver) = mpsc::channel();
    for index in 0..count {
        let (concurrency, order, sender) = (concurrency.clone(), order.clone(), sender.clone());
        put_work_item(
            queue,
            callback(move |_| {
                let _inside = concurrency.enter();
                busy(Duration::from_millis(1));
                order.lock().unwrap().push(index);
                sender.send(current_queue()).unwrap();
            }),
            None,
        )
        .unwrap();
    }
    let seen = recv_n(&receiver, count);
    // UNDEFINED (and any id that names no platform queue) runs on STANDARD (docs/behaviour.md#d7).
    let expected = if queue == QueueId::UNDEFINED {
        QueueId::STANDARD
    } else {
        queue
    };
    assert!(
        seen.iter().all(|q| *q == Some(expected)),
        "{queue:?}: {seen:?}"
    );
    let order = order.lock().unwrap().clone();
    (order, concurrency.max())
}

/// Whether two items put on `queue` run at the same time: each waits (bounded)
/// for the other to have started.
fn runs_two_at_once(queue: QueueId) -> bool {
    let arrived = [Event::manual_reset(false), Event::manual_reset(false)];
    let (sender, receiver) = mpsc::channel();
    for me in 0..2 {
        let mine = arrived[me].clone();
        let other = arrived[1 - me].clone();
        let sender = sender.clone();
        put_work_item(
            queue,
            callback(move |_| {
                mine.set();
                sender.send(other.wait(Some(WAIT))).unwrap();
            }),
            None,
        )
        .unwrap();
    }
    // Each item waits at most WAIT, so two of them take at most twice that.
    let both: Vec<bool> = (0..2)
        .map(|_| receiver.recv_timeout(WAIT * 3).expect("item ran"))
        .collect();
    both.iter().all(|overlapped| *overlapped)
}

// docs/behaviour.md#w24: an allocated queue's id has at least one bit of 0xFFFF0000 set.
#[test]
fn allocated_ids_have_private_bits() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let mut ids = Vec::new();
    for kind in ALL_TYPES {
        for _ in 0..3 {
            let id = allocate_work_queue(kind).unwrap();
            assert_ne!(id.0 & QueueId::PRIVATE_MASK, 0, "{id:?}");
            assert_eq!(QueueId::PRIVATE_MASK, 0xFFFF_0000);
            assert!(id.is_private());
            ids.push(id);
        }
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "live queues have distinct ids");
    for id in ids {
        unlock_work_queue(id).unwrap();
    }
    assert!(!QueueId::STANDARD.is_private());
    assert!(!QueueId(0xFFFF).is_private());
}

// docs/behaviour.md#w29: every queue type allocates, reports its type, and runs work.
#[test]
fn every_queue_type_allocates_and_runs_work() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for kind in ALL_TYPES {
        let id = allocate_work_queue(kind).unwrap();
        assert_eq!(work_queue_type(id), Ok(kind));
        assert_eq!(run_on(id), Some(id), "{kind:?}");
        unlock_work_queue(id).unwrap();
        assert_eq!(work_queue_type(id), Err(Error::InvalidWorkQueue));
    }
    assert_eq!(QueueType::from_raw(0), Some(QueueType::Standard));
    assert_eq!(QueueType::from_raw(1), Some(QueueType::Window));
    assert_eq!(QueueType::from_raw(2), Some(QueueType::Multithreaded));
    assert_eq!(QueueType::from_raw(3), None);
    assert_eq!(QueueType::from_raw(-1), None);
}

// docs/behaviour.md#w25 / #d13: a fresh queue holds one lock; one unlock destroys it; a second
// unlock of the same id fails with MF_E_INVALID_WORKQUEUE.
#[test]
fn one_unlock_destroys_a_fresh_queue_and_a_second_fails() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let before = private_queue_count();
    let id = allocate_work_queue(QueueType::Standard).unwrap();
    assert_eq!(private_queue_count(), before + 1);
    assert_eq!(unlock_work_queue(id), Ok(()));
    assert_eq!(private_queue_count(), before);
    assert_eq!(
        put_work_item(id, callback(|_| {}), None),
        Err(Error::InvalidWorkQueue),
        "the queue is gone"
    );
    assert_eq!(unlock_work_queue(id), Err(Error::InvalidWorkQueue));
    assert_eq!(lock_work_queue(id), Err(Error::InvalidWorkQueue));
}

// docs/behaviour.md#w25: the queue allocated next gets a valid, usable id.
#[test]
fn the_next_allocation_after_an_unlock_is_usable() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let first = allocate_work_queue(QueueType::Standard).unwrap();
    unlock_work_queue(first).unwrap();
    let next = allocate_work_queue(QueueType::Standard).unwrap();
    assert!(next.is_private());
    assert_ne!(first, next);
    assert_eq!(run_on(next), Some(next));
    unlock_work_queue(next).unwrap();
}

// docs/behaviour.md#w28 / #d7: ids carry a generation: an id whose queue is gone stays invalid
// even when its slot is reused, for every call that takes an id.
#[test]
fn stale_ids_stay_invalid_when_slots_are_reused() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let mut stale = Vec::new();
    for _ in 0..50 {
        let id = allocate_work_queue(QueueType::Standard).unwrap();
        unlock_work_queue(id).unwrap();
        stale.push(id);
    }
    let live = allocate_work_queue(QueueType::Standard).unwrap();
    assert!(!stale.contains(&live));
    for id in stale {
        assert_eq!(
            put_work_item(id, callback(|_| {}), None),
            Err(Error::InvalidWorkQueue)
        );
        assert_eq!(
            put_result(id, AsyncResult::with_callback(callback(|_| {}), None)),
            Err(Error::InvalidWorkQueue)
        );
        assert_eq!(mfwq::spawn(id, || {}), Err(Error::InvalidWorkQueue));
        assert_eq!(lock_work_queue(id), Err(Error::InvalidWorkQueue));
        assert_eq!(unlock_work_queue(id), Err(Error::InvalidWorkQueue));
        assert_eq!(work_queue_type(id), Err(Error::InvalidWorkQueue));
    }
    assert_eq!(
        run_on(live),
        Some(live),
        "stale ids did not touch the live queue"
    );
    unlock_work_queue(live).unwrap();
}

// docs/behaviour.md#w26: lock and unlock of ids without private bits are no-ops returning Ok
// (STANDARD, UNDEFINED and 0x20 were tested on Windows), and such locks do not
// make shutdown wait.
#[test]
fn platform_ids_lock_and_unlock_are_noops() {
    let _serial = serial();
    mfwq::set_shutdown_timeout(Duration::from_secs(20));
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    let ids = [0u32, 1, 2, 3, 4, 5, 6, 7, 0x20, 0x4000, 0xFFFF];
    for id in ids {
        for _ in 0..3 {
            assert_eq!(unlock_work_queue(QueueId(id)), Ok(()), "{id:#x}");
        }
        assert_eq!(lock_work_queue(QueueId(id)), Ok(()), "{id:#x}");
    }
    assert_eq!(run_on(QueueId::STANDARD), Some(QueueId::STANDARD));
    assert_eq!(run_on(QueueId::MULTITHREADED), Some(QueueId::MULTITHREADED));
    let started = Instant::now();
    mfwq::shutdown().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no queue lock was taken"
    );
}

// docs/behaviour.md#w25, #allocate: each allocation and each lock needs one unlock; the queue
// lives until the last one.
#[test]
fn queue_locks_are_counted() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let id = allocate_work_queue(QueueType::Multithreaded).unwrap();
    let live = private_queue_count();
    lock_work_queue(id).unwrap();
    lock_work_queue(id).unwrap();
    for remaining in [2, 1] {
        assert_eq!(unlock_work_queue(id), Ok(()));
        assert_eq!(
            private_queue_count(),
            live,
            "{remaining} locks left: still alive"
        );
        assert_eq!(run_on(id), Some(id));
    }
    assert_eq!(unlock_work_queue(id), Ok(()));
    assert_eq!(private_queue_count(), live - 1);
    assert_eq!(
        put_work_item(id, callback(|_| {}), None),
        Err(Error::InvalidWorkQueue)
    );
    assert_eq!(unlock_work_queue(id), Err(Error::InvalidWorkQueue));
}

// docs/behaviour.md#w25: the RAII handle unlocks on drop; WorkQueue::lock takes one more lock.
#[test]
fn work_queue_handle_unlocks_on_drop() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let before = private_queue_count();
    let queue = WorkQueue::new(QueueType::Standard).unwrap();
    let id = queue.id();
    assert_eq!(private_queue_count(), before + 1);
    let extra = WorkQueue::lock(id).unwrap();
    drop(queue);
    assert_eq!(
        private_queue_count(),
        before + 1,
        "the extra lock keeps it alive"
    );
    let (sender, receiver) = mpsc::channel();
    extra
        .spawn(move || sender.send(current_queue()).unwrap())
        .unwrap();
    assert_eq!(recv(&receiver), Some(id));
    drop(extra);
    assert_eq!(private_queue_count(), before);
    assert_eq!(lock_work_queue(id), Err(Error::InvalidWorkQueue));
}

// docs/behaviour.md#w27 / #w55: work already put on a private queue still runs after the queue
// is unlocked; afterwards only the caller holds each result.
#[test]
fn unlocked_queue_still_runs_its_backlog() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for blocked in [false, true] {
        let id = allocate_work_queue(QueueType::Standard).unwrap();
        let gate = Event::manual_reset(!blocked);
        let wait_gate = gate.clone();
        put_work_item(
            id,
            callback(move |_| assert!(wait_gate.wait(Some(WAIT)))),
            None,
        )
        .unwrap();
        let (sender, receiver) = mpsc::channel();
        let results: Vec<AsyncResult> = (0..2)
            .map(|index| {
                let sender = sender.clone();
                let result = AsyncResult::with_callback(
                    callback(move |_| sender.send((index, current_queue())).unwrap()),
                    None,
                );
                put_result(id, &result).unwrap();
                result
            })
            .collect();
        assert_eq!(unlock_work_queue(id), Ok(()));
        assert_eq!(
            put_work_item(id, callback(|_| {}), None),
            Err(Error::InvalidWorkQueue)
        );
        gate.set();
        assert_eq!(recv_n(&receiver, 2), [(0, Some(id)), (1, Some(id))]);
        for result in &results {
            assert!(wait_until(Duration::from_secs(2), || result.ref_count() == 1));
        }
    }
}

// docs/behaviour.md#d11: at least 4,096 private queues (8192 today); past the limit allocation fails with
// E_FAIL, and freeing one makes room for exactly one more.
#[test]
fn queue_limit_fails_with_e_fail_and_a_free_makes_room() {
    // The floor this test holds the limit of docs/behaviour.md#d11 to, checked when the suite compiles.
    const _: () = assert!(MAX_PRIVATE_QUEUES >= 4096);
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let mut ids = Vec::with_capacity(MAX_PRIVATE_QUEUES);
    let failure = loop {
        match allocate_work_queue(QueueType::Standard) {
            Ok(id) => ids.push(id),
            Err(error) => break error,
        }
        assert!(ids.len() <= MAX_PRIVATE_QUEUES, "no limit");
    };
    assert_eq!(failure, Error::Fail);
    assert_eq!(Error::Fail.hresult().0 as u32, 0x8000_4005);
    assert_eq!(ids.len(), MAX_PRIVATE_QUEUES);
    assert_eq!(private_queue_count(), MAX_PRIVATE_QUEUES);
    assert_eq!(
        allocate_work_queue(QueueType::Multithreaded),
        Err(Error::Fail)
    );
    unlock_work_queue(ids[1234]).unwrap();
    let again = allocate_work_queue(QueueType::Multithreaded).unwrap();
    assert_eq!(allocate_work_queue(QueueType::Standard), Err(Error::Fail));
    assert_eq!(run_on(again), Some(again));
    assert_eq!(run_on(ids[0]), Some(ids[0]));
    // The platform shutdown (guard drop) takes all of them down.
}

// docs/behaviour.md#d3: a private standard queue runs one item at a time, in FIFO order.
#[test]
fn private_standard_queue_runs_one_at_a_time_in_fifo_order() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let queue = WorkQueue::new(QueueType::Standard).unwrap();
    let (order, max) = run_serially_checked(queue.id(), 30);
    assert_eq!(max, 1);
    assert_eq!(order, (0..30).collect::<Vec<_>>());
}

// docs/behaviour.md#d3 / #d31: a private window queue runs one item at a time, in FIFO order.
#[test]
fn private_window_queue_runs_one_at_a_time_in_fifo_order() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let queue = WorkQueue::new(QueueType::Window).unwrap();
    let (order, max) = run_serially_checked(queue.id(), 30);
    assert_eq!(max, 1);
    assert_eq!(order, (0..30).collect::<Vec<_>>());
}

// docs/behaviour.md#d3: STANDARD, RT and TIMER (and ids that stand for STANDARD) run one item at
// a time, in FIFO order.
#[test]
fn serial_platform_queues_run_one_at_a_time_in_fifo_order() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for queue in [
        QueueId::STANDARD,
        QueueId::RT,
        QueueId::TIMER,
        QueueId::UNDEFINED,
    ] {
        let (order, max) = run_serially_checked(queue, 20);
        assert_eq!(max, 1, "{queue:?}");
        assert_eq!(order, (0..20).collect::<Vec<_>>(), "{queue:?}");
    }
}

// docs/behaviour.md#d3 / #queue-ids: a private multithreaded queue runs items concurrently.
#[test]
fn private_multithreaded_queue_runs_items_concurrently() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let queue = WorkQueue::new(QueueType::Multithreaded).unwrap();
    assert!(runs_two_at_once(queue.id()));
    // And everything put on it runs exactly once.
    let ran = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = mpsc::channel();
    for _ in 0..200 {
        let (ran, sender) = (ran.clone(), sender.clone());
        queue
            .spawn(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                sender.send(()).unwrap();
            })
            .unwrap();
    }
    recv_n(&receiver, 200);
    assert_eq!(ran.load(Ordering::SeqCst), 200);
}

// docs/behaviour.md#d3: MULTITHREADED, IO and LONG_FUNCTION are pools that run items concurrently.
#[test]
fn pool_platform_queues_run_items_concurrently() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for queue in [QueueId::MULTITHREADED, QueueId::IO, QueueId::LONG_FUNCTION] {
        assert!(runs_two_at_once(queue), "{queue:?}");
    }
}

// docs/behaviour.md#queue-ids: callbacks run on a thread of the queue they were put on; other threads
// are on no queue.
#[test]
fn callbacks_run_on_the_queue_they_were_put_on() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    assert_eq!(current_queue(), None);
    for queue in common::PLATFORM_QUEUES {
        assert_eq!(run_on(queue), Some(queue));
    }
    for kind in ALL_TYPES {
        let queue = WorkQueue::new(kind).unwrap();
        assert_eq!(run_on(queue.id()), Some(queue.id()), "{kind:?}");
    }
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || sender.send(current_queue()).unwrap());
    assert_eq!(recv(&receiver), None);
}

// docs/behaviour.md#queue-ids: two private standard queues have their own threads: one blocked does
// not hold the other up.
#[test]
fn private_standard_queues_have_their_own_threads() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let blocked = WorkQueue::new(QueueType::Standard).unwrap();
    let free = WorkQueue::new(QueueType::Standard).unwrap();
    let gate = Event::manual_reset(false);
    let wait_gate = gate.clone();
    blocked
        .spawn(move || assert!(wait_gate.wait(Some(WAIT))))
        .unwrap();
    assert_eq!(run_on(free.id()), Some(free.id()));
    gate.set();
    assert_eq!(run_on(blocked.id()), Some(blocked.id()));
}

// docs/behaviour.md#d31: a window queue's host-loop step runs on the queue's own thread after
// every item, never while an item runs.
#[test]
fn window_queue_steps_its_host_loop_after_each_item() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let concurrency = Arc::new(Concurrency::default());
    let steps = Arc::new(Mutex::new(Vec::new()));
    let step_log = steps.clone();
    let step_concurrency = concurrency.clone();
    // An interval far beyond the test: only the after-item steps happen.
    let id = allocate_window_queue(Duration::from_secs(60), move || {
        let _inside = step_concurrency.enter();
        step_log
            .lock()
            .unwrap()
            .push((current_queue(), std::thread::current().id()));
    })
    .unwrap();
    let (sender, receiver) = mpsc::channel();
    for _ in 0..3 {
        let (sender, concurrency) = (sender.clone(), concurrency.clone());
        put_work_item(
            id,
            callback(move |_| {
                let _inside = concurrency.enter();
                busy(Duration::from_millis(1));
                sender.send(std::thread::current().id()).unwrap();
            }),
            None,
        )
        .unwrap();
    }
    let threads = recv_n(&receiver, 3);
    assert!(wait_until(WAIT, || steps.lock().unwrap().len() >= 3));
    let steps = steps.lock().unwrap().clone();
    assert_eq!(steps.len(), 3, "one step per item: {steps:?}");
    for (queue, thread) in steps {
        assert_eq!(queue, Some(id));
        assert_eq!(thread, threads[0]);
    }
    assert!(threads.iter().all(|t| *t == threads[0]), "one thread");
    assert_eq!(concurrency.max(), 1);
    assert_eq!(work_queue_type(id), Ok(QueueType::Window));
    unlock_work_queue(id).unwrap();
}

// docs/behaviour.md#d31: an idle window queue keeps stepping its host loop every interval.
#[test]
fn window_queue_steps_its_host_loop_while_idle() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let steps = Arc::new(AtomicUsize::new(0));
    let counter = steps.clone();
    let id = allocate_window_queue(Duration::from_millis(1), move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    let done = Event::manual_reset(false);
    let signal = done.clone();
    put_work_item(id, callback(move |_| signal.set()), None).unwrap();
    wait_event(&done, "the item");
    assert!(
        wait_until(WAIT, || steps.load(Ordering::SeqCst) >= 5),
        "only {} steps",
        steps.load(Ordering::SeqCst)
    );
    unlock_work_queue(id).unwrap();
}

// docs/behaviour.md#d36 / #w27: a callback may unlock its own queue to zero: the call returns,
// the rest of the backlog still runs, and new work is refused.
#[test]
fn a_callback_may_unlock_its_own_queue() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let id = allocate_work_queue(QueueType::Standard).unwrap();
    let (sender, receiver) = mpsc::channel();
    let first = sender.clone();
    mfwq::spawn(id, move || {
        first
            .send(format!("unlock: {:?}", unlock_work_queue(id)))
            .unwrap();
        let refused = put_work_item(id, callback(|_| {}), None);
        first.send(format!("put: {refused:?}")).unwrap();
    })
    .unwrap();
    mfwq::spawn(id, move || {
        sender
            .send(format!("backlog on {:?}", current_queue()))
            .unwrap()
    })
    .unwrap();
    assert_eq!(
        recv_n(&receiver, 3),
        [
            "unlock: Ok(())".to_owned(),
            "put: Err(InvalidWorkQueue)".to_owned(),
            format!("backlog on {:?}", Some(id)),
        ]
    );
    assert_eq!(unlock_work_queue(id), Err(Error::InvalidWorkQueue));
}
