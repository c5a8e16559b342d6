//! The idiomatic API (crates/mfwq/src/api/): guards' drop behaviour and
//! detach, keys, join handles, scopes (including the deadlock cases), the
//! builder's options.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use mfwq::{
    Error, Event, JoinError, OwnedQueue, PeriodicKey, Platform, Priority, Queue, QueueBuilder,
    QueueKind, QueueType, WorkItemKey,
};

const LONG: Duration = Duration::from_secs(10);

/// Sets a flag when dropped: tells whether a closure was released.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn flag() -> (Arc<AtomicBool>, DropFlag) {
    let dropped = Arc::new(AtomicBool::new(false));
    (dropped.clone(), DropFlag(dropped))
}

/// The panic hook is process-wide: tests that install one take turns.
static HOOK_LOCK: Mutex<()> = Mutex::new(());

/// A minimal executor: polls on this thread, parks between wake-ups.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::park();
    }
}

// ---- Queue, OwnedQueue, Priority ----

#[test]
fn platform_queues_are_constants_and_copy() {
    let _platform = Platform::start().unwrap();
    let queue = Queue::MULTITHREADED;
    let copy = queue;
    assert_eq!(queue.id(), mfwq::QueueId::MULTITHREADED);
    assert_eq!(copy.spawn(|| 1).unwrap().join(), Ok(1));
    assert_eq!(Queue::from(mfwq::QueueId::RT), Queue::RT);
    assert_eq!(mfwq::QueueId::from(Queue::IO), mfwq::QueueId::IO);
}

#[test]
fn owned_queue_unlocks_on_drop_and_clone_shares() {
    let _platform = Platform::start().unwrap();
    let owned = OwnedQueue::new(QueueType::Standard).unwrap();
    let handle = *owned;
    let clone = owned.clone();
    drop(owned);
    assert_eq!(handle.spawn(|| 2).unwrap().join(), Ok(2));
    drop(clone);
    assert_eq!(handle.execute(|| {}), Err(Error::InvalidWorkQueue));
    let legacy = mfwq::WorkQueue::new(QueueType::Standard).unwrap();
    let converted = OwnedQueue::from(legacy);
    assert!(converted.is_private());
}

#[test]
fn priorities_order_a_busy_queue() {
    let _platform = Platform::start().unwrap();
    let queue = OwnedQueue::new(QueueType::Standard).unwrap();
    let gate = Arc::new(Event::manual_reset(false));
    let blocker = gate.clone();
    queue
        .execute(move || {
            blocker.wait(Some(LONG));
        })
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for (priority, name) in [
        (Priority::Low, "low"),
        (Priority::Normal, "normal"),
        (Priority::High, "high"),
    ] {
        let order = order.clone();
        handles.push(
            queue
                .spawn_with_priority(priority, move || order.lock().unwrap().push(name))
                .unwrap(),
        );
    }
    gate.set();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), ["high", "normal", "low"]);
    assert_eq!(Priority::from(Priority::High.to_raw()), Priority::High);
    assert_eq!(Priority::from(i32::MIN), Priority::Low);
}

// ---- keys ----

#[test]
fn keys_round_trip_through_raw() {
    let _platform = Platform::start().unwrap();
    let scheduled = Queue::STANDARD.schedule(LONG, || {}).unwrap();
    let key = scheduled.key();
    assert_eq!(WorkItemKey::from_raw(key.into_raw()), key);
    assert_eq!(key.into_raw() >> 32, 0x8000_0000);
    let detached = scheduled.detach();
    assert_eq!(
        mfwq::cancel_work_item(WorkItemKey::from_raw(detached.into_raw())),
        Ok(())
    );
    let periodic = mfwq::Periodic::start(|| {}).unwrap();
    let raw = periodic.key().into_raw();
    assert_eq!(PeriodicKey::from_raw(raw), periodic.key());
    drop(periodic);
    assert_eq!(
        mfwq::remove_periodic_callback(PeriodicKey::from_raw(raw)),
        Err(Error::NotFound)
    );
}

// ---- guards ----

#[test]
fn scheduled_drop_cancels_and_releases_the_closure() {
    let _platform = Platform::start().unwrap();
    let (dropped, guard) = flag();
    let ran = Arc::new(AtomicBool::new(false));
    let seen = ran.clone();
    let scheduled = Queue::STANDARD
        .schedule(Duration::from_millis(100), move || {
            let _guard = &guard;
            seen.store(true, Ordering::SeqCst);
        })
        .unwrap();
    drop(scheduled);
    assert!(
        dropped.load(Ordering::SeqCst),
        "released before drop returned"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn scheduled_detach_fires_on_its_queue() {
    let _platform = Platform::start().unwrap();
    let (sender, receiver) = mpsc::channel();
    Queue::IO
        .schedule(Duration::from_millis(1), move || {
            sender.send(Queue::current()).unwrap()
        })
        .unwrap()
        .detach();
    assert_eq!(receiver.recv_timeout(LONG).unwrap(), Some(Queue::IO));
}

#[test]
fn event_wait_drop_stops_waiting_and_detach_keeps_it() {
    let _platform = Platform::start().unwrap();
    let event = Event::manual_reset(false);
    let (dropped, guard) = flag();
    let ran = Arc::new(AtomicBool::new(false));
    let seen = ran.clone();
    let wait = Queue::STANDARD
        .on_event(&event, move || {
            let _guard = &guard;
            seen.store(true, Ordering::SeqCst);
        })
        .unwrap();
    drop(wait);
    let (sender, receiver) = mpsc::channel();
    Queue::MULTITHREADED
        .on_event(&event, move || sender.send("kept").unwrap())
        .unwrap()
        .detach();
    event.set();
    assert_eq!(receiver.recv_timeout(LONG).unwrap(), "kept");
    // The cancelled wait's callback ran with the cancelled status: the task
    // was dropped, not run.
    let deadline = std::time::Instant::now() + LONG;
    while !dropped.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn periodic_drop_stops_the_ticks() {
    let _platform = Platform::start().unwrap();
    let ticks = Arc::new(AtomicUsize::new(0));
    let counter = ticks.clone();
    let periodic = mfwq::Periodic::start(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    while ticks.load(Ordering::SeqCst) < 2 {
        std::thread::sleep(mfwq::timer_periodicity());
    }
    drop(periodic);
    std::thread::sleep(3 * mfwq::timer_periodicity());
    let after = ticks.load(Ordering::SeqCst);
    std::thread::sleep(5 * mfwq::timer_periodicity());
    assert_eq!(ticks.load(Ordering::SeqCst), after);
}

#[test]
fn realtime_registration_drop_unregisters_and_forget_keeps() {
    let _platform = Platform::start().unwrap();
    let queue = OwnedQueue::new(QueueType::Standard).unwrap();
    let registration = queue.register_realtime_with("Audio", 12, 1).unwrap();
    assert_eq!(registration.task_id(), 12);
    assert_eq!(queue.realtime_class().unwrap(), "Audio");
    assert_eq!(queue.realtime_priority().unwrap(), 1);
    drop(registration);
    assert_eq!(queue.realtime_class().unwrap(), "");
    assert_eq!(queue.realtime_task_id().unwrap(), 0);
    queue.register_realtime("Playback").unwrap().forget();
    assert_eq!(queue.realtime_class().unwrap(), "Playback");
    // A registration that outlives its queue drops quietly.
    let other = OwnedQueue::new(QueueType::Standard).unwrap();
    let registration = other.register_realtime("Audio").unwrap();
    drop(other);
    drop(registration);
}

#[test]
fn deadline_guard_drop_cancels_and_forget_keeps() {
    let _platform = Platform::start().unwrap();
    let queue = OwnedQueue::new(QueueType::Standard).unwrap();
    let guard = queue.set_deadline(Duration::from_millis(3)).unwrap();
    assert_eq!(queue.deadline().unwrap().unwrap().request, guard.request());
    drop(guard);
    assert_eq!(queue.deadline().unwrap(), None);
    let request = queue
        .set_deadline(Duration::from_millis(3))
        .unwrap()
        .forget();
    assert_eq!(queue.deadline().unwrap().unwrap().request, request);
    mfwq::cancel_deadline(request).unwrap();
    assert_eq!(
        queue.set_deadline(Duration::ZERO).unwrap_err(),
        Error::InvalidArg
    );
}

// ---- join ----

#[test]
fn join_returns_the_value() {
    let _platform = Platform::start().unwrap();
    let text = String::from("moved");
    let handle = Queue::MULTITHREADED.spawn(move || text.len()).unwrap();
    assert_eq!(handle.join(), Ok(5));
}

#[test]
fn join_reports_a_panic_and_not_to_the_hook() {
    let _lock = HOOK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _platform = Platform::start().unwrap();
    let reported = Arc::new(AtomicUsize::new(0));
    let counter = reported.clone();
    mfwq::set_panic_hook(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let handle = Queue::STANDARD
        .spawn(|| -> u8 { panic!("joined panic") })
        .unwrap();
    assert_eq!(
        handle.join(),
        Err(JoinError::Panicked("joined panic".into()))
    );
    assert_eq!(reported.load(Ordering::SeqCst), 0);

    // Detached: the hook hears of it.
    let gate = Event::manual_reset(false);
    let opener = gate.clone();
    let handle = Queue::STANDARD
        .spawn(move || {
            opener.wait(Some(LONG));
            panic!("detached panic")
        })
        .unwrap();
    drop::<mfwq::JoinHandle<()>>(handle);
    gate.set();
    let deadline = std::time::Instant::now() + LONG;
    while reported.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    mfwq::clear_panic_hook();
    assert_eq!(reported.load(Ordering::SeqCst), 1);
}

#[test]
fn join_timeout_hands_the_handle_back() {
    let _platform = Platform::start().unwrap();
    let gate = Event::manual_reset(false);
    let opener = gate.clone();
    let handle = Queue::IO
        .spawn(move || {
            opener.wait(Some(LONG));
            "late"
        })
        .unwrap();
    let handle = handle
        .join_timeout(Duration::from_millis(20))
        .expect_err("not finished yet");
    assert!(!handle.is_finished());
    gate.set();
    assert_eq!(handle.join_timeout(LONG).ok(), Some(Ok("late")));
}

#[test]
fn join_handle_is_a_future_under_a_plain_block_on() {
    let _platform = Platform::start().unwrap();
    let handle = Queue::MULTITHREADED
        .spawn(|| {
            std::thread::sleep(Duration::from_millis(20));
            vec![1, 2]
        })
        .unwrap();
    assert_eq!(block_on(handle), Ok(vec![1, 2]));
    let ready = Queue::STANDARD.spawn(|| 3).unwrap();
    while !ready.is_finished() {
        std::thread::yield_now();
    }
    assert_eq!(block_on(ready), Ok(3));
}

#[test]
fn dropping_the_handle_detaches_the_task() {
    let _platform = Platform::start().unwrap();
    let (sender, receiver) = mpsc::channel();
    drop(
        Queue::MULTITHREADED
            .spawn(move || sender.send("still ran").unwrap())
            .unwrap(),
    );
    assert_eq!(receiver.recv_timeout(LONG).unwrap(), "still ran");
}

#[test]
fn a_refused_spawn_drops_the_closure() {
    let _platform = Platform::start().unwrap();
    let dead = OwnedQueue::new(QueueType::Standard).unwrap().as_queue();
    let (dropped, guard) = flag();
    let refused = dead.spawn(move || drop(guard));
    assert_eq!(refused.unwrap_err(), Error::InvalidWorkQueue);
    assert!(dropped.load(Ordering::SeqCst));
}

// ---- scope ----

#[test]
fn scope_borrows_from_the_stack() {
    let _platform = Platform::start().unwrap();
    let input: Vec<u32> = (0..64).collect();
    let mut output = vec![0u32; 64];
    mfwq::scope(|s| {
        for (inp, out) in input.chunks(8).zip(output.chunks_mut(8)) {
            s.spawn(&Queue::MULTITHREADED, move || {
                for (i, o) in inp.iter().zip(out.iter_mut()) {
                    *o = i * 2;
                }
            })
            .unwrap();
        }
    });
    assert_eq!(output, input.iter().map(|i| i * 2).collect::<Vec<_>>());
}

#[test]
fn scope_propagates_a_panic_after_all_finished() {
    let _platform = Platform::start().unwrap();
    let finished = AtomicUsize::new(0);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        mfwq::scope(|s| {
            s.spawn(&Queue::MULTITHREADED, || panic!("scoped boom"))
                .unwrap();
            for _ in 0..8 {
                s.spawn(&Queue::MULTITHREADED, || {
                    std::thread::sleep(Duration::from_millis(5));
                    finished.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
            }
        })
    }));
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"scoped boom"));
    assert_eq!(finished.load(Ordering::SeqCst), 8);
}

#[test]
fn scope_nests() {
    let _platform = Platform::start().unwrap();
    let count = AtomicUsize::new(0);
    mfwq::scope(|outer| {
        outer
            .spawn(&Queue::MULTITHREADED, || {
                mfwq::scope(|inner| {
                    for _ in 0..4 {
                        inner
                            .spawn(&Queue::IO, || {
                                count.fetch_add(1, Ordering::SeqCst);
                            })
                            .unwrap();
                    }
                });
                // Spawning on the outer scope from inside it.
                outer
                    .spawn(&Queue::STANDARD, || {
                        count.fetch_add(10, Ordering::SeqCst);
                    })
                    .unwrap();
            })
            .unwrap();
    });
    assert_eq!(count.load(Ordering::SeqCst), 14);
}

#[test]
fn scope_refusal_returns_the_error_and_drops_the_closure() {
    let _platform = Platform::start().unwrap();
    let dead = OwnedQueue::new(QueueType::Standard).unwrap().as_queue();
    let (dropped, guard) = flag();
    let mut ran = false;
    let outcome = mfwq::scope(|s| {
        s.spawn(&dead, || {
            let _guard = guard;
            ran = true;
        })
    });
    assert_eq!(outcome, Err(Error::InvalidWorkQueue));
    assert!(dropped.load(Ordering::SeqCst));
    assert!(!ran);
}

/// A scope on STANDARD, waited for inside a STANDARD callback: the closures
/// run on the waiting thread instead of deadlocking.
#[test]
fn scope_on_standard_from_standard_does_not_deadlock() {
    let _platform = Platform::start().unwrap();
    let outcome = Queue::STANDARD
        .spawn(|| {
            let mut seen = Vec::new();
            mfwq::scope(|s| {
                s.spawn(&Queue::STANDARD, || seen.push(Queue::current()))
                    .unwrap();
            });
            seen
        })
        .unwrap()
        .join_timeout(LONG)
        .expect("no deadlock");
    assert_eq!(outcome, Ok(vec![Some(Queue::STANDARD)]));
}

#[test]
fn scope_on_a_serial_queue_from_its_own_item_does_not_deadlock() {
    let _platform = Platform::start().unwrap();
    for target in [Queue::MULTITHREADED, Queue::STANDARD] {
        let serial = target.serial().unwrap();
        let inner = serial.as_queue();
        let sum = serial
            .spawn(move || {
                let mut sum = 0;
                mfwq::scope(|s| {
                    s.spawn(&inner, || sum += 1).unwrap();
                });
                // A serial queue over a serial queue over the target.
                let nested = inner.serial().unwrap();
                mfwq::scope(|s| {
                    s.spawn(&nested, || sum += 10).unwrap();
                });
                sum
            })
            .unwrap()
            .join_timeout(LONG)
            .expect("no deadlock");
        assert_eq!(sum, Ok(11));
    }
}

#[test]
fn scope_on_a_pool_from_every_worker_of_it_does_not_deadlock() {
    let _platform = Platform::start().unwrap();
    let pool = OwnedQueue::new(QueueType::Multithreaded).unwrap();
    let inner = pool.as_queue();
    let handles: Vec<_> = (0..16)
        .map(|_| {
            pool.spawn(move || {
                let mut hits = 0;
                mfwq::scope(|s| {
                    let hits = &mut hits;
                    s.spawn(&inner, move || *hits += 1).unwrap();
                });
                hits
            })
            .unwrap()
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join_timeout(LONG).expect("no deadlock"), Ok(1));
    }
}

#[test]
fn scope_on_a_realtime_queue() {
    let _platform = Platform::start().unwrap();
    let queue = QueueBuilder::new().realtime("Audio").build().unwrap();
    let mut block = [0.0f32; 32];
    mfwq::scope(|s| {
        s.spawn(&queue, || block.iter_mut().for_each(|x| *x = 0.5))
            .unwrap();
    });
    assert!(block.iter().all(|&x| x == 0.5));
}

// ---- builder ----

#[test]
fn builder_options_are_observable() {
    let _platform = Platform::start().unwrap();
    let pool = QueueBuilder::new()
        .kind(QueueKind::Multithreaded)
        .realtime("Pro Audio")
        .base_priority(2)
        .task_id(321)
        .deadline_with_pre(Duration::from_millis(4), Duration::from_millis(1))
        .long_running(true)
        .thread_name("bld")
        .build()
        .unwrap();
    assert_eq!(pool.kind().unwrap(), QueueType::Multithreaded);
    assert_eq!(pool.realtime_class().unwrap(), "Pro Audio");
    assert_eq!(pool.realtime_task_id().unwrap(), 321);
    assert_eq!(pool.realtime_priority().unwrap(), 2);
    let deadline = pool.deadline().unwrap().unwrap();
    assert_eq!(
        (deadline.deadline_hns, deadline.pre_deadline_hns),
        (40_000, 10_000)
    );
    assert!(pool.is_long_running().unwrap());
    let name = pool
        .spawn(|| std::thread::current().name().unwrap().to_owned())
        .unwrap()
        .join()
        .unwrap();
    assert!(name.starts_with("mfwq-bld-q"), "{name}");

    let plain = QueueBuilder::new().build().unwrap();
    let name = plain
        .spawn(|| std::thread::current().name().unwrap().to_owned())
        .unwrap()
        .join()
        .unwrap();
    assert!(name.starts_with("mfwq-q"), "{name}");
    assert_eq!(plain.kind().unwrap(), QueueType::Standard);
    assert!(!plain.is_long_running().unwrap());

    let serial = QueueBuilder::new()
        .kind(QueueKind::Serial(*pool))
        .build()
        .unwrap();
    let (sender, receiver) = mpsc::channel();
    for i in 0..20 {
        let sender = sender.clone();
        serial.execute(move || sender.send(i).unwrap()).unwrap();
    }
    assert_eq!(
        receiver.iter().take(20).collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );

    let window = QueueBuilder::new()
        .window(Duration::from_millis(1), || {})
        .build()
        .unwrap();
    assert_eq!(window.kind().unwrap(), QueueType::Window);
}

#[test]
fn builder_failure_is_reported() {
    let _platform = Platform::start().unwrap();
    let refused = QueueBuilder::new()
        .realtime("Audio")
        .base_priority(9)
        .build();
    assert_eq!(refused.unwrap_err(), Error::InvalidArg);
}
