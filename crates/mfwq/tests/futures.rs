//! Futures on queues (`spawn_future`, `sleep`, `Event::wait_async`), and the
//! same futures under other executors: tokio, smol and a plain `block_on`.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::{serial, wait_until, WAIT};
use mfwq::{block_on, sleep, spawn_future, Error, Event, Queue, QueueId, QueueType, TaskHandle};

/// Awaits `handle` on this thread, failing the test after `WAIT`.
fn join<T: Send + 'static>(handle: TaskHandle<T>) -> mfwq::Result<T> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(block_on(handle));
    });
    receiver
        .recv_timeout(WAIT)
        .expect("the task never completed")
}

/// A future that is ready after it has been woken `n` times, waking itself
/// each time: `n` polls, `n` wake-ups, no timer.
struct Wakes {
    left: usize,
}

impl Future for Wakes {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Pending until `slot` is given a value; stores its waker there.
struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

type Shared<T> = Arc<Mutex<Slot<T>>>;

fn channel<T>() -> Shared<T> {
    Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
    }))
}

fn send<T>(slot: &Shared<T>, value: T) {
    let waker = {
        let mut slot = slot.lock().unwrap();
        slot.value = Some(value);
        slot.waker.take()
    };
    if let Some(waker) = waker {
        waker.wake();
    }
}

fn recv<T>(slot: &Shared<T>) -> impl Future<Output = T> + '_ {
    std::future::poll_fn(move |context| {
        let mut slot = slot.lock().unwrap();
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waker = Some(context.waker().clone());
                Poll::Pending
            }
        }
    })
}

// --- spawning -------------------------------------------------------------

#[test]
fn spawned_futures_await_sleeps_and_events_on_each_kind_of_queue() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let private = mfwq::OwnedQueue::new(QueueType::Standard).unwrap();
    let serial_queue = Queue::MULTITHREADED.serial().unwrap();
    for queue in [
        QueueId::MULTITHREADED,
        QueueId::STANDARD,
        QueueId::RT,
        private.id(),
        serial_queue.id(),
    ] {
        let ready = Event::auto_reset(false);
        let waiting = ready.clone();
        let start = Instant::now();
        let task = spawn_future(queue, async move {
            sleep(Duration::from_millis(2)).await?;
            let slept = start.elapsed();
            waiting.wait_async().await?;
            let on = mfwq::current_queue();
            Ok::<_, Error>((slept, on))
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        ready.set();
        let (slept, on) = join(task).unwrap().unwrap();
        assert!(
            slept >= Duration::from_millis(2),
            "{queue}: slept {slept:?}"
        );
        if queue != serial_queue.id() {
            assert_eq!(on, Some(queue));
        }
        assert!(!ready.is_set(), "the auto-reset signal went to the future");
    }
}

#[test]
fn a_serial_queue_never_overlaps_polls_and_keeps_wake_order() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    for owned in [
        Queue::MULTITHREADED.serial().unwrap(),
        mfwq::OwnedQueue::new(QueueType::Standard).unwrap(),
    ] {
        let busy = Arc::new(AtomicBool::new(false));
        let overlaps = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));
        // Nothing is polled until all eight tasks are queued: a first item
        // holds the queue until then. Without it a slow spawn (under
        // ThreadSanitizer) let task 0 be polled and wake itself before task 6
        // was spawned, so it was rightly queued ahead of 6 and 7, and the
        // round robin below started one task late.
        let (release, hold) = mpsc::channel::<()>();
        let holder = owned
            .spawn(move || {
                let _ = hold.recv();
            })
            .unwrap();
        let mut handles = Vec::new();
        for task in 0..8usize {
            let (busy, overlaps, order) = (busy.clone(), overlaps.clone(), order.clone());
            let polled = std::future::poll_fn(move |context| {
                if busy.swap(true, Ordering::SeqCst) {
                    overlaps.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_micros(50));
                let mut order = order.lock().unwrap();
                order.push(task);
                let rounds = order.iter().filter(|&&t| t == task).count();
                drop(order);
                busy.store(false, Ordering::SeqCst);
                if rounds == 20 {
                    Poll::Ready(())
                } else {
                    context.waker().wake_by_ref();
                    Poll::Pending
                }
            });
            handles.push(owned.spawn_future(polled).unwrap());
        }
        drop(release);
        holder.join().unwrap();
        for handle in handles {
            join(handle).unwrap();
        }
        assert_eq!(overlaps.load(Ordering::SeqCst), 0, "polls overlapped");
        // FIFO of wakes: each task re-queues itself behind the other seven,
        // so the polls go round robin.
        let order = order.lock().unwrap();
        for (i, task) in order.iter().enumerate() {
            assert_eq!(*task, i % 8, "poll {i} out of wake order: {order:?}");
        }
    }
}

#[test]
fn a_million_wake_ups_chain_on_a_serial_queue() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let queue = mfwq::OwnedQueue::new(QueueType::Standard).unwrap();
    let wakes = if cfg!(debug_assertions) {
        200_000
    } else {
        1_000_000
    };
    let start = Instant::now();
    let task = queue.spawn_future(Wakes { left: wakes }).unwrap();
    join(task).unwrap();
    eprintln!("{wakes} wake-ups in {:?}", start.elapsed());
}

#[test]
fn a_wake_while_queued_or_running_queues_the_task_once() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = polls.clone();
    let task = spawn_future(
        QueueId::STANDARD,
        std::future::poll_fn(move |context| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            if n == 1 {
                return Poll::Ready(());
            }
            // Ten wakes in one poll: one more poll.
            for _ in 0..10 {
                context.waker().wake_by_ref();
            }
            Poll::Pending
        }),
    )
    .unwrap();
    join(task).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(polls.load(Ordering::SeqCst), 2);
}

#[test]
fn two_futures_ping_pong_on_two_queues() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let a = mfwq::OwnedQueue::new(QueueType::Standard).unwrap();
    let b = mfwq::OwnedQueue::new(QueueType::Standard).unwrap();
    let rounds = if cfg!(debug_assertions) {
        20_000
    } else {
        100_000
    };
    let (ping, pong) = (channel::<usize>(), channel::<usize>());
    let (ping2, pong2) = (ping.clone(), pong.clone());
    let (a_id, b_id) = (a.id(), b.id());
    let left = a
        .spawn_future(async move {
            for i in 0..rounds {
                send(&ping, i);
                assert_eq!(recv(&pong).await, i);
                assert_eq!(mfwq::current_queue(), Some(a_id));
            }
        })
        .unwrap();
    let right = b
        .spawn_future(async move {
            for _ in 0..rounds {
                let i = recv(&ping2).await;
                assert_eq!(mfwq::current_queue(), Some(b_id));
                send(&pong2, i);
            }
        })
        .unwrap();
    join(left).unwrap();
    join(right).unwrap();
}

#[test]
fn begin_async_composes_inside_a_task() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let task = Queue::STANDARD
        .spawn_future(async {
            let sum =
                mfwq::begin_async(QueueId::MULTITHREADED, || Ok((1..=10u32).sum::<u32>()))?.await?;
            Ok::<_, Error>((sum, mfwq::current_queue()))
        })
        .unwrap();
    assert_eq!(join(task).unwrap(), Ok((55, Some(QueueId::STANDARD))));
}

#[test]
fn spawning_on_a_dead_queue_or_platform_fails_at_once() {
    let _serial = serial();
    assert_eq!(
        spawn_future(QueueId::STANDARD, async {}).err(),
        Some(Error::Shutdown)
    );
    let _platform = mfwq::Platform::start().unwrap();
    let queue = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
    mfwq::unlock_work_queue(queue).unwrap();
    assert_eq!(
        spawn_future(queue, async {}).err(),
        Some(Error::InvalidWorkQueue)
    );
}

// --- drop and cancel ------------------------------------------------------

#[test]
fn dropping_a_handle_detaches_and_cancel_drops_the_future() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    // Detached: runs to the end.
    let (sender, receiver) = mpsc::channel();
    drop(
        spawn_future(QueueId::MULTITHREADED, async move {
            sleep(Duration::from_millis(2)).await.unwrap();
            sender.send("ran").unwrap();
        })
        .unwrap(),
    );
    assert_eq!(receiver.recv_timeout(WAIT), Ok("ran"));

    // Cancelled while it waits: its future is dropped, on its queue.
    struct OnDrop(mpsc::Sender<Option<QueueId>>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(mfwq::current_queue());
        }
    }
    let (sender, receiver) = mpsc::channel();
    let guard = OnDrop(sender);
    let handle = spawn_future(QueueId::STANDARD, async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    handle.cancel();
    assert_eq!(receiver.recv_timeout(WAIT), Ok(Some(QueueId::STANDARD)));
}

#[test]
fn dropping_a_sleep_cancels_its_timer() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let fired = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let mut sleep = Box::pin(sleep(Duration::from_millis(20)));
        let seen = fired.clone();
        let waker = Waker::from(Arc::new(CountingWaker(seen)));
        assert!(sleep
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        drop(sleep);
    }
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(
        fired.load(Ordering::SeqCst),
        0,
        "a dropped sleep woke its task"
    );

    // A sleep that fired, then dropped: harmless.
    let done = block_on(async {
        let mut sleep = Box::pin(sleep(Duration::from_millis(1)));
        sleep.as_mut().await.unwrap();
        drop(sleep);
        "ok"
    });
    assert_eq!(done, "ok");
    // A deadline that has just passed goes through the timer, which rings
    // it on its next look; one never polled does nothing.
    assert_eq!(block_on(mfwq::sleep_until(Instant::now())), Ok(()));
    drop(mfwq::sleep(Duration::from_millis(1)));
    // A deadline the timekeeper has already seen pass (it has run since)
    // is due at the first poll, without the timer.
    let past = Instant::now();
    block_on(sleep(Duration::from_millis(1))).unwrap();
    let mut stale = Box::pin(mfwq::sleep_until(past));
    let mut context = Context::from_waker(Waker::noop());
    assert_eq!(stale.as_mut().poll(&mut context), Poll::Ready(Ok(())));
    assert!(stale.is_elapsed());
}

struct CountingWaker(Arc<AtomicUsize>);
impl std::task::Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_an_event_wait_cancels_it_and_takes_no_signal() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let event = Event::auto_reset(false);
    let woken = Arc::new(AtomicUsize::new(0));
    let waker = Waker::from(Arc::new(CountingWaker(woken.clone())));
    let mut wait = Box::pin(event.wait_async());
    assert!(wait
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(wait);
    event.set();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(woken.load(Ordering::SeqCst), 0);
    assert!(event.is_set(), "a cancelled wait takes no signal");
}

#[test]
fn a_wait_dropped_after_its_release_hands_the_signal_back() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let event = Event::auto_reset(false);
    let woken = Arc::new(AtomicUsize::new(0));
    let waker = Waker::from(Arc::new(CountingWaker(woken.clone())));
    let mut wait = Box::pin(event.wait_async());
    assert!(wait
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    event.set();
    assert!(wait_until(WAIT, || woken.load(Ordering::SeqCst) == 1));
    assert!(!event.is_set(), "the wait took the signal");
    drop(wait); // released, never returned Ready
    assert!(event.is_set(), "the signal was handed back");

    // Manual-reset: nothing to hand back, the event stays as it is.
    let manual = Event::manual_reset(false);
    let mut wait = Box::pin(manual.wait_async());
    assert!(wait
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    manual.set();
    assert!(wait_until(WAIT, || woken.load(Ordering::SeqCst) == 2));
    manual.reset();
    drop(wait);
    assert!(!manual.is_set());
}

#[test]
fn one_auto_reset_signal_releases_one_future() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let event = Event::auto_reset(false);
    let released = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (event, released) = (event.clone(), released.clone());
        handles.push(
            spawn_future(QueueId::MULTITHREADED, async move {
                event.wait_async().await.unwrap();
                released.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap(),
        );
    }
    std::thread::sleep(Duration::from_millis(20));
    for expected in 1..=4 {
        event.set();
        assert!(wait_until(WAIT, || released.load(Ordering::SeqCst) == expected));
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(released.load(Ordering::SeqCst), expected);
    }
    for handle in handles {
        join(handle).unwrap();
    }
}

// --- panics ---------------------------------------------------------------

#[test]
fn a_panicking_poll_resolves_the_handle_to_an_error() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    mfwq::set_panic_hook(move |report| seen.lock().unwrap().push(report.message.clone()));
    let (sender, receiver) = mpsc::channel();
    struct OnDrop(mpsc::Sender<&'static str>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            let _ = self.0.send("dropped");
        }
    }
    let guard = OnDrop(sender);
    let task = spawn_future(QueueId::STANDARD, async move {
        let _guard = guard;
        sleep(Duration::from_millis(1)).await.unwrap();
        panic!("boom in a poll");
    })
    .unwrap();
    assert_eq!(join(task), Err(Error::Unexpected));
    assert_eq!(receiver.recv_timeout(WAIT), Ok("dropped"));
    assert!(reports
        .lock()
        .unwrap()
        .iter()
        .any(|m| m.contains("boom in a poll")));
    // The queue still works.
    assert_eq!(
        join(spawn_future(QueueId::STANDARD, async { 5 }).unwrap()),
        Ok(5)
    );
    mfwq::clear_panic_hook();
}

// --- shutdown -------------------------------------------------------------

#[test]
fn shutdown_with_tasks_pending_resolves_their_handles() {
    let _serial = serial();
    let platform = mfwq::Platform::start().unwrap();
    let private = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
    let polls_after = Arc::new(AtomicUsize::new(0));
    let down = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    let event = Event::auto_reset(false);
    for queue in [QueueId::STANDARD, QueueId::MULTITHREADED, private] {
        // Waits on a long sleep.
        handles.push(spawn_future(queue, async { sleep(Duration::from_secs(60)).await }).unwrap());
        // Waits on an event that is never set.
        let event = event.clone();
        handles.push(spawn_future(queue, async move { event.wait_async().await }).unwrap());
        // Waits on nothing that the platform knows about: polled again only
        // if someone wakes it, which happens after shutdown.
        let (polls_after, down) = (polls_after.clone(), down.clone());
        let waker_slot = channel::<()>();
        let slot = waker_slot.clone();
        handles.push(
            spawn_future(queue, async move {
                recv(&slot).await;
                if down.load(Ordering::SeqCst) {
                    polls_after.fetch_add(1, Ordering::SeqCst);
                }
                Ok(())
            })
            .unwrap(),
        );
        LATE.lock().unwrap().push(waker_slot);
    }
    std::thread::sleep(Duration::from_millis(20));
    let start = Instant::now();
    drop(platform);
    assert!(!mfwq::is_started());
    down.store(true, Ordering::SeqCst);
    assert!(start.elapsed() < Duration::from_secs(2), "shutdown hung");
    // Wake the tasks the platform knew nothing of: their queues refuse them.
    for slot in LATE.lock().unwrap().drain(..) {
        send(&slot, ());
    }
    for (i, handle) in handles.into_iter().enumerate() {
        let outcome = join(handle);
        match i % 3 {
            // The sleep and the wait end with Shutdown inside the task,
            // which returns it (or, woken after its queue closed, the task
            // is dropped unpolled).
            0 | 1 => assert!(
                matches!(outcome, Ok(Err(Error::Shutdown)) | Err(Error::Shutdown)),
                "task {i}: {outcome:?}"
            ),
            _ => assert_eq!(outcome, Err(Error::Shutdown), "task {i}"),
        }
    }
    assert_eq!(
        polls_after.load(Ordering::SeqCst),
        0,
        "polled after shutdown"
    );
    // After shutdown: the futures fail at once, and a failed sleep keeps
    // its outcome (it did not elapse).
    let mut failed = Box::pin(sleep(Duration::from_millis(1)));
    assert_eq!(block_on(failed.as_mut()), Err(Error::Shutdown));
    assert!(!failed.is_elapsed());
    let mut context = Context::from_waker(Waker::noop());
    assert_eq!(
        failed.as_mut().poll(&mut context),
        Poll::Ready(Err(Error::Shutdown))
    );
    assert_eq!(block_on(event.wait_async()), Err(Error::Shutdown));
}

static LATE: Mutex<Vec<Shared<()>>> = Mutex::new(Vec::new());

// --- other executors ------------------------------------------------------

async fn sleeps_and_events() -> mfwq::Result<u32> {
    let event = Event::auto_reset(false);
    let setter = event.clone();
    let start = Instant::now();
    mfwq::spawn(QueueId::MULTITHREADED, move || {
        std::thread::sleep(Duration::from_millis(3));
        setter.set();
    })?;
    sleep(Duration::from_millis(2)).await?;
    assert!(start.elapsed() >= Duration::from_millis(2));
    let mut ticks = mfwq::interval(Duration::from_millis(1));
    let first = ticks.tick().await?;
    let second = ticks.tick().await?;
    assert!(second >= first + Duration::from_millis(1) && Instant::now() >= second);
    event.wait_async().await?;
    let on_queue = spawn_future(QueueId::STANDARD, async { 40 })?.await?;
    let begun = mfwq::begin_async(QueueId::MULTITHREADED, || Ok(2u32))?.await?;
    Ok(on_queue + begun)
}

// The suite's lock is held across awaits on purpose: it serialises the
// tests of this binary, and nothing in these tasks takes it.
#[allow(clippy::await_holding_lock)]
#[tokio::test]
async fn under_tokio_current_thread() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    assert_eq!(sleeps_and_events().await, Ok(42));
}

#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_tokio_multi_thread() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let task = tokio::spawn(sleeps_and_events());
    assert_eq!(task.await.unwrap(), Ok(42));
    // tokio::select! drops the losing branch: a cancelled mfwq sleep.
    tokio::select! {
        _ = sleep(Duration::from_secs(60)) => panic!("the long sleep won"),
        _ = tokio::time::sleep(Duration::from_millis(2)) => {}
    }
}

#[test]
fn under_smol() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    assert_eq!(smol::block_on(sleeps_and_events()), Ok(42));
    let executor = smol::Executor::new();
    let task = executor.spawn(sleeps_and_events());
    assert_eq!(smol::block_on(executor.run(task)), Ok(42));
}

#[test]
fn under_plain_block_on() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    assert_eq!(block_on(sleeps_and_events()), Ok(42));
}

#[test]
fn an_interval_ticks_on_its_cadence_never_early() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let period = Duration::from_millis(3);
    let start = Instant::now() + Duration::from_millis(2);
    let ticks = block_on(async {
        let mut interval = mfwq::interval_at(start, period);
        let mut ticks = Vec::new();
        for _ in 0..5 {
            let tick = interval.tick().await.unwrap();
            // Never before its tick.
            assert!(Instant::now() >= tick);
            ticks.push(tick);
        }
        ticks
    });
    // The ticks are the cadence itself (start + k x period), not when they
    // were noticed; on a loaded machine a tick may have been skipped.
    assert_eq!(ticks[0], start);
    for pair in ticks.windows(2) {
        assert!(pair[1] >= pair[0] + period, "{ticks:?}");
    }
    for tick in &ticks {
        assert_eq!(
            (*tick - start).as_nanos() % period.as_nanos(),
            0,
            "{ticks:?}"
        );
    }
}

#[test]
fn an_interval_that_fell_behind_skips_the_missed_ticks() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let period = Duration::from_millis(2);
    block_on(async {
        let mut interval = mfwq::interval(period);
        let first = interval.tick().await.unwrap();
        // Busy for three and a half periods: ticks 1-3 are missed.
        std::thread::sleep(period * 7 / 2);
        let late = interval.tick().await.unwrap();
        assert_eq!(late, first + period, "the first missed tick comes at once");
        let next = interval.tick().await.unwrap();
        // Ticks 2 and 3 were missed too and are skipped: the cadence goes
        // on from the first tick after the moment the late one was taken
        // (tick 4, or later on a loaded machine), keeping its phase.
        assert!(next >= first + period * 4, "{first:?} {next:?}");
        assert_eq!((next - first).as_nanos() % period.as_nanos(), 0);
    });
}

#[test]
fn dropping_an_armed_interval_cancels_its_timer() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let fired = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let mut interval = mfwq::interval_at(
            Instant::now() + Duration::from_millis(20),
            Duration::from_millis(20),
        );
        let waker = Waker::from(Arc::new(CountingWaker(fired.clone())));
        let mut context = Context::from_waker(&waker);
        assert!(interval.poll_tick(&mut context).is_pending());
        drop(interval);
    }
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(
        fired.load(Ordering::SeqCst),
        0,
        "a dropped interval woke its task"
    );
}

#[test]
fn shutdown_ends_an_awaited_interval_and_a_later_arming_fails() {
    let _serial = serial();
    let platform = mfwq::Platform::start().unwrap();
    let mut interval = mfwq::interval_at(
        Instant::now() + Duration::from_secs(60),
        Duration::from_secs(60),
    );
    let woken = Arc::new(AtomicUsize::new(0));
    let waker = Waker::from(Arc::new(CountingWaker(woken.clone())));
    let mut context = Context::from_waker(&waker);
    assert!(interval.poll_tick(&mut context).is_pending());
    drop(platform);
    assert!(!mfwq::is_started());
    assert_eq!(
        woken.load(Ordering::SeqCst),
        1,
        "the shutdown wakes the task"
    );
    assert!(matches!(
        interval.poll_tick(&mut context),
        Poll::Ready(Err(Error::Shutdown))
    ));
    // Not running: the next arming is refused at once.
    assert!(matches!(
        interval.poll_tick(&mut context),
        Poll::Ready(Err(Error::Shutdown))
    ));
    // After a restart the same interval works again.
    let _platform = mfwq::Platform::start().unwrap();
    let mut interval = interval;
    assert!(interval.poll_tick(&mut context).is_pending());
}
