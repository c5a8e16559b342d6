//! The reliability rules (ARCHITECTURE.md, "Invariants"): every completion the
//! platform accepted reaches its callback exactly once, across unlock and
//! shutdown; user code may panic anywhere; shutdown is bounded. One test per
//! fault that an adversarial probe found, each of which failed before its fix.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake};
use std::time::{Duration, Instant};

use common::{
    assert_nothing_more, assert_put_runs, capture_panics, recv, recv_n, serial, wait_event,
    wait_until, WAIT,
};
use mfwq::{
    callback, callback_on, AsyncCallback, AsyncResult, CallbackFlags, CallbackParams, Event,
    HResult, PanicSite, QueueId, QueueType,
};

/// A callback whose `parameters()` panics and whose `invoke` reports the queue
/// it ran on.
struct PanickingParameters(mpsc::Sender<Option<QueueId>>);

impl AsyncCallback for PanickingParameters {
    fn parameters(&self) -> Option<CallbackParams> {
        panic!("parameters() panics");
    }
    fn invoke(&self, _result: &AsyncResult) {
        let _ = self.0.send(mfwq::current_queue());
    }
}

/// A value whose `Drop` panics.
struct PanicsOnDrop(&'static str);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

// Fault 1: an MMCSS Begin that returned Ok and a shutdown right after it: the
// completion is owed, and arrives exactly once (with the status the
// registration got), every round.
#[test]
fn mmcss_begin_completion_arrives_across_an_immediate_shutdown() {
    let _serial = serial();
    for round in 0..20 {
        mfwq::startup(mfwq::MF_VERSION).unwrap();
        let (sender, receiver) = mpsc::channel();
        let done = callback(move |result| {
            let _ = sender.send(mfwq::end_register_work_queue_with_mmcss(result));
        });
        mfwq::begin_register_work_queue_with_mmcss(QueueId::STANDARD, "Audio", 0, 0, done, None)
            .unwrap();
        mfwq::shutdown().unwrap();
        let outcome = recv(&receiver);
        // Either the registration ran before the platform stopped taking work,
        // or it found the platform down: both are a completion.
        assert!(
            matches!(outcome, Ok(task) if task != 0) || outcome == Err(mfwq::Error::Shutdown),
            "round {round}: {outcome:?}"
        );
        assert_nothing_more(&receiver, Duration::from_millis(20));
    }
}

struct Unpark(std::thread::Thread);
impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark()
    }
}

fn block_on_for<F: Future>(future: F, limit: Duration) -> Option<F::Output> {
    let waker = Arc::new(Unpark(std::thread::current())).into();
    let mut future = pin!(future);
    let deadline = Instant::now() + limit;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
            return Some(output);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::park_timeout(deadline - now);
    }
}

// Fault 5: the platform guard dropped on another thread while the work of a
// `begin_async` runs: the future resolves (here with the work's output, since
// the work was accepted and runs in the drain).
#[test]
fn begin_async_resolves_when_the_platform_shuts_down_meanwhile() {
    let _serial = serial();
    for _ in 0..20 {
        let platform = mfwq::Platform::start().unwrap();
        let started = Event::manual_reset(false);
        let signal = started.clone();
        let future = mfwq::begin_async(QueueId::MULTITHREADED, move || {
            signal.set();
            std::thread::sleep(Duration::from_millis(2));
            Ok(42u32)
        })
        .unwrap();
        wait_event(&started, "the work");
        std::thread::spawn(move || drop(platform)).join().unwrap();
        let output = block_on_for(future, WAIT).expect("the future resolves");
        assert_eq!(output, Ok(42));
    }
}

/// A reply-mode callback that never replies; counts its invocations.
struct NeverReplies(Arc<AtomicUsize>, QueueId);

impl AsyncCallback for NeverReplies {
    fn parameters(&self) -> Option<CallbackParams> {
        Some(CallbackParams {
            flags: CallbackFlags::REPLY,
            queue: self.1,
        })
    }
    fn invoke(&self, _result: &AsyncResult) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// Fault 2: a reply-mode serial queue whose first item never replies, unlocked,
// then shut down: the item behind it still runs (the shutdown stops waiting
// for a reply that can no longer come), and the callback's references come
// back.
#[test]
fn unlocked_reply_mode_serial_queue_drains_at_shutdown() {
    let _serial = serial();
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    let serial_queue = mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    let invoked = Arc::new(AtomicUsize::new(0));
    let cb: mfwq::Callback = Arc::new(NeverReplies(invoked.clone(), serial_queue));
    mfwq::put_work_item(serial_queue, cb.clone(), None).unwrap();
    mfwq::put_work_item(serial_queue, cb.clone(), None).unwrap();
    assert!(wait_until(WAIT, || invoked.load(Ordering::SeqCst) == 1));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(invoked.load(Ordering::SeqCst), 1, "waits for the reply");
    mfwq::unlock_work_queue(serial_queue).unwrap();
    mfwq::shutdown().unwrap();
    assert_eq!(invoked.load(Ordering::SeqCst), 2, "the backlog drained");
    assert!(
        wait_until(WAIT, || Arc::strong_count(&cb) == 1),
        "every reference the platform held came back ({})",
        Arc::strong_count(&cb)
    );
}

/// Captures `tracing` events (their fields, formatted) on the thread that
/// installs it.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={:?} ", field.name(), value));
            }
        }
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

// Fault 3: a STANDARD callback that blocks far past the shutdown timeout. The
// shutdown returns within the timeout plus the grace; it reports the stuck
// thread and the callback's address; the item stranded behind it is invoked
// with MF_E_SHUTDOWN; a new startup works while the old thread still blocks.
#[test]
fn shutdown_is_bounded_when_a_callback_does_not_return() {
    let _serial = serial();
    let timeout = Duration::from_millis(100);
    mfwq::set_shutdown_timeout(timeout);
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    let release = Event::manual_reset(false);
    let entered = Event::manual_reset(false);
    let (gate, signal) = (release.clone(), entered.clone());
    let (returned_sender, returned) = mpsc::channel();
    let blocker = callback(move |_| {
        signal.set();
        gate.wait(Some(Duration::from_secs(30)));
        let _ = returned_sender.send(());
    });
    let blocker_address = Arc::as_ptr(&blocker).cast::<()>() as usize;
    mfwq::put_work_item(QueueId::STANDARD, blocker, None).unwrap();
    let (stranded_sender, stranded) = mpsc::channel();
    mfwq::put_work_item(
        QueueId::STANDARD,
        callback(move |result| {
            let _ = stranded_sender.send(result.status());
        }),
        None,
    )
    .unwrap();
    let (task_sender, task_ran) = mpsc::channel();
    mfwq::spawn(QueueId::STANDARD, move || {
        let _ = task_sender.send(());
    })
    .unwrap();
    wait_event(&entered, "the blocking callback");

    let capture = Capture::default();
    let started = Instant::now();
    tracing::subscriber::with_default(capture.clone(), || mfwq::shutdown().unwrap());
    let took = started.elapsed();
    assert!(
        took < timeout + mfwq::SHUTDOWN_GRACE + Duration::from_millis(400),
        "shutdown took {took:?}"
    );
    assert!(!mfwq::is_started());
    assert_eq!(recv(&stranded), HResult::MF_E_SHUTDOWN);
    recv(&task_ran);
    let events = capture.0.lock().unwrap().clone();
    let report = events
        .iter()
        .find(|event| event.contains("has not returned"))
        .unwrap_or_else(|| panic!("no stuck-queue report in {events:?}"));
    assert!(report.contains("mfwq-standard"), "{report}");
    assert!(
        report.contains(&format!("{blocker_address:#x}")),
        "{report} names the callback {blocker_address:#x}"
    );

    // The old thread still blocks; a new platform works meanwhile.
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    assert_put_runs(QueueId::STANDARD);
    mfwq::shutdown().unwrap();
    release.set();
    recv(&returned);
}

// Fault 6: a scheduled item whose `parameters()` panics when it fires: the
// panic is reported, the item is still invoked (on the default queue), the
// other item due in the same batch runs, and later timers and periodic
// callbacks still fire (the timer thread lives).
#[test]
fn panicking_parameters_on_the_timer_thread() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let reports = capture_panics();
    let (sender, invoked) = mpsc::channel();
    let bad: mfwq::Callback = Arc::new(PanickingParameters(sender.clone()));
    let good_sender = sender.clone();
    let good = callback_on(QueueId::MULTITHREADED, move |_| {
        let _ = good_sender.send(Some(QueueId::MULTITHREADED));
    });
    mfwq::schedule_work_item(bad, None, Duration::from_millis(5)).unwrap();
    mfwq::schedule_work_item(good, None, Duration::from_millis(5)).unwrap();
    let mut got = recv_n(&invoked, 2);
    got.sort_by_key(|queue| queue.map(|q| q.0));
    assert_eq!(
        got,
        [Some(QueueId::STANDARD), Some(QueueId::MULTITHREADED)],
        "the panicking one ran with the defaults"
    );
    let report = recv(&reports);
    assert_eq!(report.site, PanicSite::Parameters);
    // Later timers still fire.
    let later = sender.clone();
    mfwq::schedule_work_item(
        callback(move |_| {
            let _ = later.send(None);
        }),
        None,
        Duration::from_millis(1),
    )
    .unwrap();
    assert_eq!(recv(&invoked), None);
    let ticks = Arc::new(AtomicUsize::new(0));
    let counter = ticks.clone();
    let key = mfwq::add_periodic_callback(
        move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        },
        None,
    )
    .unwrap();
    assert!(wait_until(WAIT, || ticks.load(Ordering::SeqCst) >= 2));
    mfwq::remove_periodic_callback(key).unwrap();
}

// Fault 7: a manual-reset event with eleven waiting items, one of whose
// callbacks panics in `parameters()`: `set()` returns normally and all eleven
// are invoked (the panicking one with the defaults).
#[test]
fn panicking_parameters_inside_event_set() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let reports = capture_panics();
    let event = Event::manual_reset(false);
    let (sender, invoked) = mpsc::channel();
    for i in 0..11 {
        let cb: mfwq::Callback = if i == 5 {
            Arc::new(PanickingParameters(sender.clone()))
        } else {
            let sender = sender.clone();
            callback_on(QueueId::MULTITHREADED, move |_| {
                let _ = sender.send(Some(QueueId::MULTITHREADED));
            })
        };
        mfwq::put_waiting_work_item(Some(&event), 0, AsyncResult::with_callback(cb, None)).unwrap();
    }
    event.set();
    let got = recv_n(&invoked, 11);
    assert_eq!(
        got.iter()
            .filter(|queue| **queue == Some(QueueId::MULTITHREADED))
            .count(),
        10
    );
    assert!(got.contains(&Some(QueueId::STANDARD)));
    assert_eq!(recv(&reports).site, PanicSite::Parameters);
    assert_nothing_more(&invoked, Duration::from_millis(20));
}

// Fault 8: a callback that panics while its state's `Drop` panics too: no
// abort; both panics are reported; the worker goes on.
#[test]
fn callback_panic_with_a_state_whose_drop_panics() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let reports = capture_panics();
    for queue in [QueueId::STANDARD, QueueId::MULTITHREADED] {
        let state: mfwq::State = Arc::new(PanicsOnDrop("state drop panics"));
        mfwq::put_work_item(queue, callback(|_| panic!("invoke panics")), Some(state)).unwrap();
        let mut sites = vec![recv(&reports).site, recv(&reports).site];
        sites.sort_by_key(|site| format!("{site:?}"));
        assert_eq!(sites, [PanicSite::Drop, PanicSite::Invoke]);
        assert_put_runs(queue);
    }
    // The same through a serial queue (its own invoke path).
    let serial_queue = mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    let state: mfwq::State = Arc::new(PanicsOnDrop("state drop panics"));
    mfwq::put_work_item(
        serial_queue,
        callback(|_| panic!("invoke panics")),
        Some(state),
    )
    .unwrap();
    assert_eq!(recv_n(&reports, 2).len(), 2);
    mfwq::unlock_work_queue(serial_queue).unwrap();
}

// Fault 9: a panic hook that panics with a payload whose `Drop` panics, and a
// callback whose panic payload's `Drop` panics: no abort, and the STANDARD
// worker keeps running items.
#[test]
fn panicking_hook_and_payloads_whose_drop_panics() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let hook_calls = Arc::new(AtomicUsize::new(0));
    let calls = hook_calls.clone();
    mfwq::set_panic_hook(move |_| {
        calls.fetch_add(1, Ordering::SeqCst);
        std::panic::panic_any(PanicsOnDrop("hook payload drop panics"));
    });
    for _ in 0..3 {
        mfwq::put_work_item(
            QueueId::STANDARD,
            callback(|_| std::panic::panic_any(PanicsOnDrop("callback payload drop panics"))),
            None,
        )
        .unwrap();
        assert_put_runs(QueueId::STANDARD);
    }
    assert!(hook_calls.load(Ordering::SeqCst) >= 3);
    mfwq::clear_panic_hook();
}

// The async bridge across an unlock and a shutdown: work accepted on a private
// queue that is then unlocked and shut down still runs in the drain, and its
// future resolves with the output.
#[test]
fn begin_async_on_an_unlocked_private_queue_resolves() {
    let _serial = serial();
    let platform = mfwq::Platform::start().unwrap();
    let queue = mfwq::WorkQueue::new(QueueType::Standard).unwrap();
    let future = mfwq::begin_async(queue.id(), || Ok(7u8)).unwrap();
    drop(queue);
    drop(platform);
    assert_eq!(block_on_for(future, WAIT), Some(Ok(7)));
}

// The soak's finding for the shutdown bound: items waiting in a serial queue
// whose running item blocks (on the serial queue's target) are stranded too:
// delivered by the shutdown with MF_E_SHUTDOWN, not left to run later with
// S_OK on the old thread.
#[test]
fn items_behind_a_blocked_serial_queue_are_delivered_at_shutdown() {
    let _serial = serial();
    mfwq::set_shutdown_timeout(Duration::from_millis(100));
    for target in [QueueId::MULTITHREADED, QueueId::STANDARD] {
        mfwq::startup(mfwq::MF_VERSION).unwrap();
        let serial_queue = mfwq::allocate_serial_work_queue(target).unwrap();
        let release = Event::manual_reset(false);
        let entered = Event::manual_reset(false);
        let (gate, signal) = (release.clone(), entered.clone());
        mfwq::spawn(serial_queue, move || {
            signal.set();
            gate.wait(Some(Duration::from_secs(30)));
        })
        .unwrap();
        let (sender, statuses) = mpsc::channel();
        for _ in 0..3 {
            let sender = sender.clone();
            mfwq::put_work_item(
                serial_queue,
                callback(move |result| {
                    let _ = sender.send(result.status());
                }),
                None,
            )
            .unwrap();
        }
        wait_event(&entered, "the blocking item");
        let started = Instant::now();
        mfwq::shutdown().unwrap();
        assert!(started.elapsed() < Duration::from_secs(1), "{target:?}");
        for status in recv_n(&statuses, 3) {
            assert_eq!(status, HResult::MF_E_SHUTDOWN, "{target:?}");
        }
        release.set();
        assert_nothing_more(&statuses, Duration::from_millis(50));
    }
}

// A call refused before the platform takes its values drops them without
// throwing their `Drop` panics at the caller: reported like every other.
#[test]
fn refused_values_whose_drop_panics_are_dropped_quietly() {
    let _serial = serial();
    let reports = capture_panics();
    let boom = || -> Option<mfwq::State> { Some(Arc::new(PanicsOnDrop("refused state"))) };
    type Call = Box<dyn Fn() -> mfwq::Result<()>>;
    let calls: Vec<(&str, Call)> = vec![
        (
            "put_work_item",
            Box::new(move || mfwq::put_work_item(QueueId::STANDARD, callback(|_| {}), boom())),
        ),
        (
            "put_result",
            Box::new(move || {
                mfwq::put_result(
                    QueueId::STANDARD,
                    AsyncResult::with_callback(callback(|_| {}), boom()),
                )
            }),
        ),
        (
            "invoke_callback",
            Box::new(move || {
                mfwq::invoke_callback(AsyncResult::with_callback(callback(|_| {}), boom()))
            }),
        ),
        (
            "schedule_work_item",
            Box::new(move || {
                mfwq::schedule_work_item(callback(|_| {}), boom(), Duration::ZERO).map(drop)
            }),
        ),
        (
            "put_waiting_work_item",
            Box::new(move || {
                mfwq::put_waiting_work_item(
                    None,
                    0,
                    AsyncResult::with_callback(callback(|_| {}), boom()),
                )
                .map(drop)
            }),
        ),
        (
            "begin_register_work_queue_with_mmcss",
            Box::new(move || {
                mfwq::begin_register_work_queue_with_mmcss(
                    QueueId::RT,
                    "Audio",
                    0,
                    0,
                    callback(|_| {}),
                    boom(),
                )
            }),
        ),
    ];
    for (name, call) in &calls {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call));
        assert_eq!(outcome.ok(), Some(Err(mfwq::Error::Shutdown)), "{name}");
        assert_eq!(recv(&reports).site, PanicSite::Drop, "{name}");
    }
    // Refused while running: a waiting item whose callback names RT.
    let _platform = mfwq::Platform::start().unwrap();
    let outcome = std::panic::catch_unwind(|| {
        mfwq::put_waiting_work_item(
            None,
            0,
            AsyncResult::with_callback(callback_on(QueueId::RT, |_| {}), boom()),
        )
    });
    assert_eq!(
        outcome.ok().map(|r| r.err()),
        Some(Some(mfwq::Error::InvalidWorkQueue))
    );
    assert_eq!(recv(&reports).site, PanicSite::Drop);
}

/// A callback whose `Drop` panics.
struct PanickingDropCallback;

impl AsyncCallback for PanickingDropCallback {
    fn invoke(&self, _result: &AsyncResult) {}
}

impl Drop for PanickingDropCallback {
    fn drop(&mut self) {
        panic!("callback drop panics");
    }
}

// A result whose callback and state both panic in `Drop`: each is dropped on
// its own, so the second panic never happens during the first's unwinding
// (which would abort the process).
#[test]
fn a_result_whose_callback_and_state_both_panic_in_drop() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let reports = capture_panics();
    mfwq::put_work_item(
        QueueId::STANDARD,
        Arc::new(PanickingDropCallback),
        Some(Arc::new(PanicsOnDrop("state drop panics"))),
    )
    .unwrap();
    let sites = [recv(&reports).site, recv(&reports).site];
    assert_eq!(sites, [PanicSite::Drop, PanicSite::Drop]);
    assert_put_runs(QueueId::STANDARD);
}

/// Records whether its `Drop` ran while the thread was unwinding.
struct DropWitness(mpsc::Sender<bool>);

impl Drop for DropWitness {
    fn drop(&mut self) {
        let _ = self.0.send(std::thread::panicking());
    }
}

// A periodic callback removed while it runs, which then panics: the run held
// the last reference to the context, and the context is dropped after the
// panic was caught, never while it unwinds (where a panicking Drop aborts).
#[test]
fn periodic_context_is_not_dropped_during_the_callbacks_unwinding() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let reports = capture_panics();
    let (witness, dropped) = mpsc::channel();
    let entered = Event::manual_reset(false);
    let release = Event::manual_reset(false);
    let (signal, gate) = (entered.clone(), release.clone());
    let key = mfwq::add_periodic_callback(
        move |_| {
            signal.set();
            gate.wait(Some(WAIT));
            panic!("periodic callback panics");
        },
        Some(Arc::new(DropWitness(witness))),
    )
    .unwrap();
    wait_event(&entered, "the periodic callback");
    mfwq::remove_periodic_callback(key).unwrap();
    release.set();
    assert_eq!(recv(&reports).site, PanicSite::Invoke);
    assert!(
        !recv(&dropped),
        "the context was dropped during the unwinding"
    );
}

// A completion whose callback's flags fit no queue it may name (FAST_IO on
// STANDARD) could never be dispatched: the Begin or schedule that would
// promise it is refused at once instead, and nothing is invoked.
#[test]
fn completions_that_could_never_be_dispatched_are_refused_up_front() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let (sender, invoked) = mpsc::channel();
    let fast_io = mfwq::callback_with(
        CallbackParams {
            flags: CallbackFlags::FAST_IO_PROCESSING,
            queue: QueueId::STANDARD,
        },
        move |_| {
            let _ = sender.send(());
        },
    );
    assert_eq!(
        mfwq::begin(QueueId::MULTITHREADED, fast_io.clone(), None, || Ok(1u8)),
        Err(mfwq::Error::InvalidWorkQueue)
    );
    assert_eq!(
        mfwq::begin_unregister_work_queue_with_mmcss(QueueId::MULTITHREADED, fast_io.clone(), None),
        Err(mfwq::Error::InvalidWorkQueue)
    );
    assert_eq!(
        mfwq::schedule_work_item(fast_io.clone(), None, Duration::ZERO).err(),
        Some(mfwq::Error::InvalidWorkQueue)
    );
    assert_eq!(
        mfwq::schedule_result(
            AsyncResult::with_callback(fast_io.clone(), None),
            Duration::ZERO
        )
        .err(),
        Some(mfwq::Error::InvalidWorkQueue)
    );
    assert_nothing_more(&invoked, Duration::from_millis(50));
    assert_eq!(Arc::strong_count(&fast_io), 1, "nothing kept");
    // On the IO queue the same flags are fine.
    let (sender, invoked) = mpsc::channel();
    let on_io = mfwq::callback_with(
        CallbackParams {
            flags: CallbackFlags::FAST_IO_PROCESSING,
            queue: QueueId::IO,
        },
        move |_| sender.send(mfwq::current_queue()).unwrap(),
    );
    mfwq::schedule_work_item(on_io, None, Duration::ZERO).unwrap();
    assert_eq!(recv(&invoked), Some(QueueId::IO));
}

/// A callback whose `parameters()` is slow.
struct SlowParameters(mpsc::Sender<()>);

impl AsyncCallback for SlowParameters {
    fn parameters(&self) -> Option<CallbackParams> {
        std::thread::sleep(Duration::from_millis(30));
        None
    }
    fn invoke(&self, _result: &AsyncResult) {
        let _ = self.0.send(());
    }
}

// A timer that expired just before a shutdown whose deadline passes while the
// timer thread still asks the callback for its parameters: the shutdown
// returns at its deadline, and the timer thread, left behind, still delivers
// the item (on itself) instead of dropping it.
#[test]
fn a_timer_expiring_as_the_shutdown_gives_up_is_still_delivered() {
    let _serial = serial();
    mfwq::set_shutdown_timeout(Duration::from_millis(10));
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    let (sender, invoked) = mpsc::channel();
    let cb: mfwq::Callback = Arc::new(SlowParameters(sender));
    mfwq::lock_platform();
    mfwq::schedule_work_item(cb.clone(), None, Duration::ZERO).unwrap();
    std::thread::sleep(Duration::from_millis(1));
    mfwq::shutdown().unwrap();
    recv(&invoked);
    assert_nothing_more(&invoked, Duration::from_millis(50));
    assert!(wait_until(WAIT, || Arc::strong_count(&cb) == 1));
    mfwq::unlock_platform();
}

/// A callback that asks for the STANDARD queue until `switch` is set, then for
/// FAST_IO processing on the same queue (which STANDARD does not serve); its
/// `invoke` reports the queue it ran on.
struct FlagsChangeLater {
    switch: Arc<std::sync::atomic::AtomicBool>,
    ran_on: mpsc::Sender<Option<QueueId>>,
}

impl AsyncCallback for FlagsChangeLater {
    fn parameters(&self) -> Option<CallbackParams> {
        let flags = if self.switch.load(Ordering::SeqCst) {
            CallbackFlags::FAST_IO_PROCESSING
        } else {
            CallbackFlags::empty()
        };
        Some(CallbackParams {
            flags,
            queue: QueueId::STANDARD,
        })
    }
    fn invoke(&self, _result: &AsyncResult) {
        let _ = self.ran_on.send(mfwq::current_queue());
    }
}

// A scheduled item's callback accepted with parameters that fit its queue, whose
// `GetParameters` asks for FAST_IO on STANDARD by the time the item is due: the
// completion still arrives, once, on the IO queue (it used to be dropped with
// a warning).
#[test]
fn a_completion_whose_flags_no_longer_fit_its_queue_runs_on_the_io_queue() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let switch = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (sender, ran_on) = mpsc::channel();
    let callback: mfwq::Callback = Arc::new(FlagsChangeLater {
        switch: switch.clone(),
        ran_on: sender,
    });
    mfwq::schedule_work_item(callback, None, Duration::from_millis(50)).unwrap();
    switch.store(true, Ordering::SeqCst);
    assert_eq!(recv(&ran_on), Some(QueueId::IO));
    assert_nothing_more(&ran_on, Duration::from_millis(100));
}

// A result's object whose `Drop` panics, released by the worker after the
// callback (which panics too): both panics are reported, nothing aborts, and
// the queue goes on. The object is released through the same path as the
// state; this pins it down for the object as well.
#[test]
fn a_result_object_whose_drop_panics_is_reported_and_the_queue_goes_on() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let reports = capture_panics();
    for queue in [QueueId::STANDARD, QueueId::MULTITHREADED] {
        let object: mfwq::State = Arc::new(PanicsOnDrop("object drop panics"));
        let result = AsyncResult::new(
            Some(object),
            Some(callback(|_| panic!("invoke panics"))),
            None,
        );
        mfwq::put_result(queue, result).unwrap();
        let mut sites = vec![recv(&reports).site, recv(&reports).site];
        sites.sort_by_key(|site| format!("{site:?}"));
        assert_eq!(sites, [PanicSite::Drop, PanicSite::Invoke]);
        assert_put_runs(queue);
    }
}
