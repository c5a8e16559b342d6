//! Loom models of a serial queue's hand-off (`serial.rs`): steps forwarded
//! one at a time to a real scheduler core, replies from other threads, and
//! the shutdown's release of a reply wait, each checked over every
//! interleaving loom reaches within its preemption bound.
//!
//! ```text
//! RUSTFLAGS="--cfg mfwq_loom -C debug-assertions" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p mfwq --lib --release loom_serial
//! ```

use super::*;
use crate::sync::model;
use crate::work::item::QueueCore;
use loom::sync::atomic::{AtomicUsize, Ordering};

/// Pushes a task that records its label. One that finds another item of the
/// queue running panics before it records it: the panic is caught and
/// reported (a task runs under `catch_unwind`), and the model fails on the
/// missing label.
fn push_probe(
    serial: &Target,
    label: usize,
    running: &Arc<AtomicUsize>,
    log: &Arc<Mutex<Vec<usize>>>,
) {
    let (running, log) = (Arc::clone(running), Arc::clone(log));
    let task = Work::closure(move || {
        assert_eq!(
            running.fetch_add(1, Ordering::SeqCst),
            0,
            "two items of a serial queue at once"
        );
        log.lock().push(label);
        running.fetch_sub(1, Ordering::SeqCst);
    });
    assert!(serial
        .push(task, Band::Normal, CallbackFlags::empty())
        .is_ok());
}

/// A serial queue over a one-thread core, and the count of its
/// `on_finished` calls.
fn serial_over_one_thread() -> (Arc<QueueCore>, Arc<SerialQueue>, Arc<AtomicUsize>) {
    let core = QueueCore::new(QueueId(0x10001), "one".into(), 1, None);
    let finished = Arc::new(AtomicUsize::new(0));
    let serial = {
        let finished = Arc::clone(&finished);
        SerialQueue::new(
            QueueId(0x20001),
            Target::Core(Arc::clone(&core)),
            Box::new(move || {
                finished.fetch_add(1, Ordering::SeqCst);
            }),
        )
    };
    (core, serial, finished)
}

/// Two producers race on a serial queue over a core: every item runs once,
/// one at a time, in each producer's order; closing after the pushes loses
/// nothing and the queue reports itself finished once.
///
/// Catches: `push` taking "a step is in flight" from `current` instead of
/// `busy` (a push while the step runs, its item already taken, forwards a
/// second step: two items run at once); `advance` taking the newest pending
/// item instead of the oldest (a producer's items run out of order); `push`
/// storing the step's item in `current` after pushing the step instead of
/// before (the step's thread takes it unordered with the store: loom reports
/// the causality violation on the cell).
#[test]
fn loom_serial_two_producers() {
    model(|| {
        let core = QueueCore::new(QueueId(0x10001), "pool".into(), 2, None);
        let finished = Arc::new(AtomicUsize::new(0));
        let on_finished = {
            let finished = Arc::clone(&finished);
            Box::new(move || {
                finished.fetch_add(1, Ordering::SeqCst);
            })
        };
        let serial = Target::Serial(SerialQueue::new(
            QueueId(0x20001),
            Target::Core(Arc::clone(&core)),
            on_finished,
        ));
        let running = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let producer = {
            let (serial, running, log) = (serial.clone(), Arc::clone(&running), Arc::clone(&log));
            loom::thread::spawn(move || {
                push_probe(&serial, 10, &running, &log);
                push_probe(&serial, 11, &running, &log);
            })
        };
        push_probe(&serial, 20, &running, &log);
        producer.join().unwrap();
        if let Target::Serial(serial) = &serial {
            serial.close();
        }
        core.close();
        core.join();
        let log = log.lock().clone();
        assert_eq!(log.len(), 3, "every item ran exactly once: {log:?}");
        let first: Vec<_> = log
            .iter()
            .filter(|&&label| label >= 10 && label < 20)
            .collect();
        assert_eq!(first, [&10, &11], "FIFO per producer");
        assert_eq!(finished.load(Ordering::SeqCst), 1, "finished exactly once");
    });
}

/// A queue waiting for reply 1 (set up as a reply-mode item leaves it),
/// with an item behind it: the reply and a duplicate of it arrive on two
/// threads at once, then another item is pushed. Every item runs exactly
/// once: the queue moves on once for reply 1, whoever's it is.
///
/// Catches: `reply` checking the awaited reply without taking it (both
/// replies move the queue on: the second finds nothing pending and marks the
/// queue idle while the first one's step is still queued, so the next push
/// forwards a step of its own over the item that step was to run: that item
/// never runs).
#[test]
fn loom_serial_duplicate_replies_race() {
    model(|| {
        let (core, serial, _finished) = serial_over_one_thread();
        {
            let mut state = serial.state.lock();
            state.busy = true;
            state.reply_seq = 1;
            state.awaiting_reply = Some(1);
        }
        let ran = Arc::new([(); 2].map(|()| AtomicUsize::new(0)));
        let probe = |index: usize| {
            let ran = Arc::clone(&ran);
            Work::closure(move || {
                ran[index].fetch_add(1, Ordering::SeqCst);
            })
        };
        assert!(serial
            .push(probe(0), Band::Normal, CallbackFlags::empty())
            .is_ok());
        let repliers = [(); 2].map(|()| {
            let serial = Arc::clone(&serial);
            loom::thread::spawn(move || serial.reply(1))
        });
        for replier in repliers {
            replier.join().unwrap();
        }
        assert!(serial
            .push(probe(1), Band::Normal, CallbackFlags::empty())
            .is_ok());
        serial.close();
        core.close();
        core.join();
        let counts: Vec<_> = ran
            .iter()
            .map(|count| count.load(Ordering::SeqCst))
            .collect();
        assert_eq!(counts, [1, 1], "every item ran exactly once");
    });
}

/// Shutdown releasing a reply wait races the real reply: the queue moves
/// on exactly once, the item behind runs exactly once, and the queue
/// finishes once, after that item has run.
///
/// Catches: `close_at_shutdown` reading the awaited reply without taking it
/// (it and the reply both move the queue on: the second finds nothing
/// pending and finishes the queue while the step for the item behind is
/// still queued).
#[test]
fn loom_serial_shutdown_release_races_the_reply() {
    model(|| {
        let core = QueueCore::new(QueueId(0x10001), "one".into(), 1, None);
        let second_ran = Arc::new(AtomicUsize::new(0));
        // What `second_ran` read when the queue finished, plus one per call.
        let finished = Arc::new(AtomicUsize::new(0));
        let serial = {
            let (second_ran, finished) = (Arc::clone(&second_ran), Arc::clone(&finished));
            SerialQueue::new(
                QueueId(0x20001),
                Target::Core(Arc::clone(&core)),
                Box::new(move || {
                    let seen = second_ran.load(Ordering::SeqCst);
                    finished.fetch_add(1 + 10 * seen, Ordering::SeqCst);
                }),
            )
        };
        {
            let mut state = serial.state.lock();
            state.busy = true;
            state.reply_seq = 1;
            state.awaiting_reply = Some(1);
        }
        let second = {
            let second_ran = Arc::clone(&second_ran);
            Work::closure(move || {
                second_ran.fetch_add(1, Ordering::SeqCst);
            })
        };
        assert!(serial
            .push(second, Band::Normal, CallbackFlags::empty())
            .is_ok());
        let replier = {
            let serial = Arc::clone(&serial);
            loom::thread::spawn(move || serial.reply(1))
        };
        serial.close_at_shutdown();
        replier.join().unwrap();
        core.close();
        core.join();
        assert_eq!(second_ran.load(Ordering::SeqCst), 1, "ran exactly once");
        assert_eq!(
            finished.load(Ordering::SeqCst),
            11,
            "finished exactly once, after the item behind ran"
        );
    });
}

/// A reply sent while its item's callback is still running moves the
/// queue on at once, so the next reply-mode item's callback can start on
/// another thread before the first one has returned (here: the reply's
/// step is refused by the closing target and runs on the replying
/// thread). The first callback's return must not end the second item's
/// wait: at shutdown every item still runs, exactly once, and the queue
/// finishes.
///
/// Catches: `close_at_shutdown` reading the awaited reply without taking it
/// (the items' run counts come out wrong); `push` taking "a step
/// is in flight" from `current` instead of `busy`. Not seen to fail (bounds
/// 2 and 3) when a callback's return releases any wait rather than its own
/// (`awaiting_reply.is_some()` for `== Some(seq)`), nor when it clears
/// `invoking` unconditionally: both only let two items' callbacks overlap,
/// which this model does not watch for.
#[test]
fn loom_serial_overlapping_reply_mode_callbacks_at_shutdown() {
    model(|| {
        let (core, serial, finished) = serial_over_one_thread();
        let ran = Arc::new([(); 3].map(|()| AtomicUsize::new(0)));
        for index in 0..2 {
            let ran = Arc::clone(&ran);
            let callback = crate::object::callback::callback(move |_| {
                ran[index].fetch_add(1, Ordering::SeqCst);
            });
            let result = AsyncResult::with_callback(callback, None);
            assert!(serial
                .push(Work::new(result), Band::Normal, CallbackFlags::REPLY)
                .is_ok());
        }
        {
            let ran = Arc::clone(&ran);
            let third = Work::closure(move || {
                ran[2].fetch_add(1, Ordering::SeqCst);
            });
            assert!(serial
                .push(third, Band::Normal, CallbackFlags::empty())
                .is_ok());
        }
        // The first item's reply, from another thread: it counts only
        // while the first item waits for it.
        let replier = {
            let serial = Arc::clone(&serial);
            loom::thread::spawn(move || serial.reply(1))
        };
        serial.close_at_shutdown();
        core.close();
        replier.join().unwrap();
        core.join();
        let counts: Vec<_> = ran
            .iter()
            .map(|count| count.load(Ordering::SeqCst))
            .collect();
        assert_eq!(counts, [1, 1, 1], "every item ran exactly once");
        assert_eq!(finished.load(Ordering::SeqCst), 1, "finished exactly once");
    });
}
