//! Serial queues and reply mode: docs/behaviour.md#serial (#w48 to #w50, #d10).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{serial, WAIT};
use mfwq::{
    allocate_serial_work_queue, allocate_work_queue, callback, callback_with, invoke_callback,
    put_work_item, shutdown, spawn, startup, unlock_work_queue, AsyncResult, CallbackFlags,
    CallbackParams, Error, QueueId, QueueType, MF_VERSION,
};

/// Puts `count` items from `producers` threads onto `queue`; each records its
/// (producer, sequence) and checks that no other item of the queue runs at once.
fn run_fifo_and_one_at_a_time(queue: QueueId, producers: usize, count: usize) {
    let running = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (done, finished) = mpsc::channel();
    let threads: Vec<_> = (0..producers)
        .map(|producer| {
            let (running, overlaps, log, done) =
                (running.clone(), overlaps.clone(), log.clone(), done.clone());
            std::thread::spawn(move || {
                for sequence in 0..count {
                    let (running, overlaps, log, done) =
                        (running.clone(), overlaps.clone(), log.clone(), done.clone());
                    spawn(queue, move || {
                        if running.fetch_add(1, Ordering::SeqCst) != 0 {
                            overlaps.fetch_add(1, Ordering::SeqCst);
                        }
                        log.lock().unwrap().push((producer, sequence));
                        std::hint::black_box((0..50).sum::<u64>());
                        running.fetch_sub(1, Ordering::SeqCst);
                        done.send(()).unwrap();
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    threads
        .into_iter()
        .for_each(|thread| thread.join().unwrap());
    for _ in 0..producers * count {
        finished.recv_timeout(WAIT).expect("every item runs");
    }
    assert_eq!(
        overlaps.load(Ordering::SeqCst),
        0,
        "never two items at once"
    );
    let log = log.lock().unwrap();
    for producer in 0..producers {
        let order: Vec<_> = log
            .iter()
            .filter(|(p, _)| *p == producer)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(order, (0..count).collect::<Vec<_>>(), "FIFO per producer");
    }
}

// docs/behaviour.md#w50 (the documented contract): FIFO and one at a time, even over a pool, from several producers.
#[test]
fn serial_over_the_pool_is_fifo_and_one_at_a_time() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let queue = allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    assert!(queue.is_private());
    run_fifo_and_one_at_a_time(queue, 3, 2_000);
    unlock_work_queue(queue).unwrap();
    shutdown().unwrap();
}

// docs/behaviour.md#w48: serial queues over every platform queue; unlocking each is S_OK.
#[test]
fn serial_over_every_platform_queue() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    for target in common::PLATFORM_QUEUES {
        let queue = allocate_serial_work_queue(target).unwrap();
        let (sender, receiver) = mpsc::channel();
        spawn(queue, move || sender.send(mfwq::current_queue()).unwrap()).unwrap();
        assert_eq!(
            receiver.recv_timeout(WAIT).unwrap(),
            Some(target),
            "runs on the target's threads"
        );
        unlock_work_queue(queue).unwrap();
    }
    shutdown().unwrap();
}

// docs/behaviour.md#w49: chains; unlocking the target first is allowed and the chain keeps working.
#[test]
fn chains_keep_their_targets_alive() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let pool = allocate_work_queue(QueueType::Multithreaded).unwrap();
    let first = allocate_serial_work_queue(pool).unwrap();
    let second = allocate_serial_work_queue(first).unwrap();
    let third = allocate_serial_work_queue(second).unwrap();
    unlock_work_queue(pool).unwrap();
    unlock_work_queue(first).unwrap();
    unlock_work_queue(second).unwrap();
    run_fifo_and_one_at_a_time(third, 2, 500);
    assert_eq!(
        mfwq::private_queue_count(),
        4,
        "the chain keeps its targets alive"
    );
    // Unlocking the top releases the chain link by link, down to the pool.
    unlock_work_queue(third).unwrap();
    assert!(common::wait_until(WAIT, || mfwq::private_queue_count() == 0));
    assert_eq!(mfwq::lock_work_queue(first), Err(Error::InvalidWorkQueue));
    shutdown().unwrap();
}

// Serial queues layered on one pool each stay one-at-a-time while the pool runs them side by side.
#[test]
fn serial_queues_sharing_a_pool_stay_independent() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let queues: Vec<_> = (0..4)
        .map(|_| allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap())
        .collect();
    let handles: Vec<_> = queues
        .iter()
        .map(|&queue| std::thread::spawn(move || run_fifo_and_one_at_a_time(queue, 1, 1_000)))
        .collect();
    handles
        .into_iter()
        .for_each(|handle| handle.join().unwrap());
    for queue in queues {
        unlock_work_queue(queue).unwrap();
    }
    shutdown().unwrap();
}

fn reply_mode(invoke: impl Fn(&AsyncResult) + Send + Sync + 'static) -> mfwq::Callback {
    callback_with(
        CallbackParams {
            flags: CallbackFlags::REPLY,
            queue: QueueId::STANDARD,
        },
        invoke,
    )
}

// docs/behaviour.md#w50, #d10: reply mode holds the queue until the received result is invoked,
// from another thread, later; the reply result carries the state.
#[test]
fn reply_mode_waits_for_a_late_reply_from_another_thread() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let queue = allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    let (replies, reply_results) = mpsc::channel::<AsyncResult>();
    let (events, log) = mpsc::channel();
    let first_events = events.clone();
    let first = reply_mode(move |result| {
        assert_eq!(
            result.state_as::<&str>(),
            Some(&"first"),
            "the reply result keeps the state"
        );
        first_events.send("first ran").unwrap();
        replies.send(result.clone()).unwrap();
    });
    put_work_item(queue, first, Some(Arc::new("first"))).unwrap();
    let second_events = events.clone();
    put_work_item(
        queue,
        callback(move |_| second_events.send("second ran").unwrap()),
        None,
    )
    .unwrap();
    assert_eq!(log.recv_timeout(WAIT).unwrap(), "first ran");
    let reply = reply_results.recv_timeout(WAIT).unwrap();
    assert!(
        log.recv_timeout(Duration::from_millis(100)).is_err(),
        "the second item waits for the reply"
    );
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        invoke_callback(&reply).unwrap();
        // A second reply changes nothing.
        invoke_callback(&reply).unwrap();
    });
    assert_eq!(log.recv_timeout(WAIT).unwrap(), "second ran");
    unlock_work_queue(queue).unwrap();
    shutdown().unwrap();
}

// A serial queue that never gets its reply holds only itself: the pool and
// other serial queues on it go on.
#[test]
fn a_queue_without_its_reply_blocks_only_itself() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let stuck = allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    let other = allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    let held = Arc::new(Mutex::new(None));
    let keep = held.clone();
    put_work_item(
        stuck,
        reply_mode(move |result| *keep.lock().unwrap() = Some(result.clone())),
        None,
    )
    .unwrap();
    assert!(
        common::wait_until(WAIT, || held.lock().unwrap().is_some()),
        "the reply-mode item runs"
    );
    let behind = Arc::new(AtomicUsize::new(0));
    let count = behind.clone();
    spawn(stuck, move || {
        count.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    let (sender, receiver) = mpsc::channel();
    for i in 0..10 {
        let sender = sender.clone();
        spawn(other, move || sender.send(i).unwrap()).unwrap();
    }
    assert_eq!(
        receiver.iter().take(10).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    let (pool_sender, pool_receiver) = mpsc::channel();
    spawn(QueueId::MULTITHREADED, move || {
        pool_sender.send(()).unwrap()
    })
    .unwrap();
    pool_receiver.recv_timeout(WAIT).unwrap();
    assert_eq!(
        behind.load(Ordering::SeqCst),
        0,
        "the stuck queue's next item waits"
    );
    // Now reply: the stuck queue moves on.
    let reply = held
        .lock()
        .unwrap()
        .take()
        .expect("the reply-mode item ran");
    invoke_callback(&reply).unwrap();
    assert!(common::wait_until(WAIT, || behind.load(Ordering::SeqCst) == 1));
    unlock_work_queue(stuck).unwrap();
    unlock_work_queue(other).unwrap();
    shutdown().unwrap();
}

// A panicking item does not stall its serial queue.
#[test]
fn a_panic_does_not_stall_the_queue() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let queue = allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    spawn(queue, || panic!("serial item panics")).unwrap();
    let (sender, receiver) = mpsc::channel();
    spawn(queue, move || sender.send(()).unwrap()).unwrap();
    receiver
        .recv_timeout(WAIT)
        .expect("the next item still runs");
    unlock_work_queue(queue).unwrap();
    shutdown().unwrap();
}

// Unlocking a serial queue with a backlog: the backlog runs, new puts fail,
// and the target lock goes when it is done (shutdown does not wait for it).
#[test]
fn unlocking_a_serial_queue_lets_its_backlog_run_and_releases_the_target() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let pool = allocate_work_queue(QueueType::Multithreaded).unwrap();
    let queue = allocate_serial_work_queue(pool).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..200 {
        let ran = ran.clone();
        spawn(queue, move || {
            ran.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    unlock_work_queue(queue).unwrap();
    assert_eq!(spawn(queue, || {}), Err(Error::InvalidWorkQueue));
    assert!(common::wait_until(WAIT, || ran.load(Ordering::SeqCst) == 200));
    // The serial queue's lock on the pool is gone: one unlock destroys it.
    assert!(common::wait_until(WAIT, || {
        mfwq::private_queue_count() == 1
    }));
    unlock_work_queue(pool).unwrap();
    assert_eq!(mfwq::private_queue_count(), 0);
    shutdown().unwrap();
}

// J and "nothing already queued is lost": a reply-mode queue still waiting
// for its reply at the last shutdown stops waiting (no reply can come through
// a platform that is down), and its backlog, reply-mode items included, runs
// in order before shutdown returns.
#[test]
fn shutdown_releases_a_queue_waiting_for_its_reply() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let queue = allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (received, unanswered) = mpsc::channel::<AsyncResult>();
    for label in ["waits", "reply-mode behind", "plain behind"] {
        let log = log.clone();
        let received = received.clone();
        let item = if label == "plain behind" {
            callback(move |_| log.lock().unwrap().push(label))
        } else {
            reply_mode(move |result| {
                log.lock().unwrap().push(label);
                // Kept, never answered before the shutdown.
                received.send(result.clone()).unwrap();
            })
        };
        put_work_item(queue, item, None).unwrap();
    }
    let first = unanswered.recv_timeout(WAIT).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        *log.lock().unwrap(),
        ["waits"],
        "the queue waits for the reply"
    );
    shutdown().unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        ["waits", "reply-mode behind", "plain behind"],
        "the backlog ran, in order"
    );
    assert_eq!(
        invoke_callback(&first),
        Err(Error::Shutdown),
        "a late reply is refused"
    );
}

// A reply sent from inside a callback moves the queue on while that callback
// is still returning, so on a pool the next reply-mode item starts before the
// first has returned. When the shutdown comes while both run, the first one's
// return must not end the second one's wait: the second's return releases the
// queue, and the plain item behind runs normally (status S_OK), well before
// the shutdown's deadline.
#[test]
fn shutdown_with_overlapping_reply_mode_callbacks_runs_the_backlog() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let queue = allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    let shutting = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let first_returned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (second_started, second_running) = mpsc::channel::<()>();
    let (statuses, third_status) = mpsc::channel();
    let first = {
        let (shutting, first_returned) = (shutting.clone(), first_returned.clone());
        let second_running = Mutex::new(second_running);
        reply_mode(move |result| {
            invoke_callback(result).unwrap();
            second_running.lock().unwrap().recv_timeout(WAIT).unwrap();
            assert!(common::wait_until(WAIT, || shutting.load(Ordering::SeqCst)));
            // Long enough for the shutdown to have closed the serial queue.
            std::thread::sleep(Duration::from_millis(50));
            first_returned.store(true, Ordering::SeqCst);
        })
    };
    let second = {
        let second_started = Mutex::new(second_started);
        let first_returned = first_returned.clone();
        reply_mode(move |_| {
            second_started.lock().unwrap().send(()).unwrap();
            assert!(common::wait_until(WAIT, || first_returned.load(Ordering::SeqCst)));
        })
    };
    let third = callback(move |result| statuses.send(result.status()).unwrap());
    for item in [first, second, third] {
        put_work_item(queue, item, None).unwrap();
    }
    std::thread::sleep(Duration::from_millis(20));
    shutting.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    shutdown().unwrap();
    assert!(
        started.elapsed() < mfwq::shutdown_timeout(),
        "the shutdown did not wait for its deadline ({:?})",
        started.elapsed()
    );
    assert_eq!(
        third_status.recv_timeout(WAIT),
        Ok(mfwq::HResult::S_OK),
        "the item behind ran as queued, not as work stranded by the shutdown"
    );
}

// J: items queued on a serial queue when the platform shuts down still run
// before shutdown returns, exactly once.
#[test]
fn shutdown_drains_serial_backlogs() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let queue = allocate_serial_work_queue(QueueId::STANDARD).unwrap();
    let chained = allocate_serial_work_queue(queue).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    for target in [queue, chained] {
        for _ in 0..300 {
            let ran = ran.clone();
            spawn(target, move || {
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
    }
    shutdown().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 600);
    assert_eq!(spawn(queue, || {}), Err(Error::Shutdown));
}

// Errors: dead targets, not started.
#[test]
fn bad_targets_and_not_started() {
    let _serial = serial();
    assert_eq!(
        allocate_serial_work_queue(QueueId::STANDARD),
        Err(Error::Shutdown)
    );
    startup(MF_VERSION).unwrap();
    assert_eq!(
        allocate_serial_work_queue(QueueId(0x10000)),
        Err(Error::InvalidWorkQueue)
    );
    let queue = allocate_work_queue(QueueType::Standard).unwrap();
    unlock_work_queue(queue).unwrap();
    assert_eq!(
        allocate_serial_work_queue(queue),
        Err(Error::InvalidWorkQueue)
    );
    assert_eq!(
        mfwq::private_queue_count(),
        0,
        "a failed allocation leaves nothing behind"
    );
    shutdown().unwrap();
}
