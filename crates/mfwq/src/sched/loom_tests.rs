//! Loom models of the scheduler: the push / park / wake / close protocol of
//! `README.md` beside this file, checked over every interleaving loom reaches
//! within its preemption bound.
//!
//! ```text
//! RUSTFLAGS="--cfg mfwq_loom" LOOM_MAX_PREEMPTIONS=2 \
//!     CARGO_TARGET_DIR=target/loom cargo test -p mfwq --lib --release loom
//! ```
//!
//! (or `ci/loom.sh`). Without `LOOM_MAX_PREEMPTIONS` the models use a bound of
//! 2, so that a bare `cargo test` still finishes.
//!
//! Here the bands are mutex-protected `VecDeque`s (the lock-free band queue
//! has models of its own, `fifo_loom_tests.rs`) and workers never spin
//! before parking, so what is checked is the protocol around them: the
//! push/close handshake (a closed band refuses, the gate's closed bit is set
//! after the bands'), the idle count and wake-up permits, the drain on
//! close, and the lazy start of the workers against `join`.
//! Every model counts how often each task runs with a loom atomic and asserts
//! on the main thread: a task runs under `catch_unwind`, so an assertion inside
//! it would only be reported, not fail the model.
//!
//! Each scenario is its own `#[test]` and stays within loom's 5 threads (main
//! included).
//!
//! Sensitivity: each of these protocol mutations makes at least one model
//! fail (deadlock, lost task, or `join` returning early) — `after_push`
//! waking only when two workers are idle; `close` setting the gate's closed
//! bit before closing the bands; a closed band that still takes pushes; a
//! permit granted
//! without signalling the condvar; `close` without `notify_all`; `park`
//! skipping its re-check after announcing itself idle; `start_workers` not
//! refusing a first push into a closed queue; `take_backlog` dropping what it
//! takes instead of handing it over; a pool worker's park that does not
//! look into the other workers' slots; a refused high or low push that
//! does not lower the urgent count again; a slot push that sees the close
//! without taking its item back; a closing worker's last look without the
//! fence before it. Not covered here: the ordering of a
//! push into the lock-free band against a parking worker's re-check, and a
//! close racing the band's own claims. The band's models check both on the
//! band itself (`fifo_loom_tests.rs`: the push-fence-read handshake against
//! a parker's count-fence-pop, and close racing pushes across a block's
//! boundary); `README.md`, "The band queue", gives the argument.

use crate::ids::{Band, QueueId};
use crate::sched::{Job, QueueCore, Refusal, Refused, TestTask};
use crate::sync::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

/// Whatever handle `QueueCore::new` returns (`crate::sync::Arc`).
type Core = crate::sync::Arc<QueueCore<TestTask>>;

const PRIVATE_ID: QueueId = QueueId(0x10001);

/// A fresh core with `workers` workers (none started yet).
fn core(workers: usize) -> Core {
    QueueCore::new(PRIVATE_ID, "loom".into(), workers, None)
}

/// Per-task run counters.
#[derive(Clone)]
struct Runs(Arc<Vec<AtomicUsize>>);

impl Runs {
    fn new(tasks: usize) -> Runs {
        Runs(Arc::new((0..tasks).map(|_| AtomicUsize::new(0)).collect()))
    }

    /// A task that records one run of task `index`.
    fn task(&self, index: usize) -> TestTask {
        let runs = self.clone();
        TestTask(Box::new(move || {
            runs.0[index].fetch_add(1, Ordering::SeqCst);
        }))
    }

    /// As `task`, and counts `latch` up once it has run.
    fn task_with_latch(&self, index: usize, latch: &Latch) -> TestTask {
        let runs = self.clone();
        let latch = latch.clone();
        TestTask(Box::new(move || {
            runs.0[index].fetch_add(1, Ordering::SeqCst);
            latch.count_up();
        }))
    }

    fn get(&self, index: usize) -> usize {
        self.0[index].load(Ordering::SeqCst)
    }
}

/// A blocking counter: waiting on it is a real block (not a spin), so if the
/// awaited task never runs because its worker missed a wake-up, every thread
/// ends up blocked and loom reports a deadlock.
#[derive(Clone)]
struct Latch(Arc<(Mutex<usize>, Condvar)>);

impl Latch {
    fn new() -> Latch {
        Latch(Arc::new((Mutex::new(0), Condvar::new())))
    }

    fn count_up(&self) {
        let (count, changed) = &*self.0;
        *count.lock().unwrap() += 1;
        changed.notify_all();
    }

    fn wait_for(&self, target: usize) {
        let (count, changed) = &*self.0;
        let mut count = count.lock().unwrap();
        while *count < target {
            count = changed.wait(count).unwrap();
        }
    }
}

/// What a push came to: accepted, or refused as closed with the work handed back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pushed {
    Accepted,
    Closed,
}

/// Pushes `work` to the normal band and classifies the outcome.
fn push(core: &Core, work: TestTask) -> Pushed {
    push_in(core, work, Band::Normal)
}

/// Pushes `work` to `band` and classifies the outcome. A refused push must
/// hand back the very work it was given, unrun; it is dropped here.
fn push_in(core: &Core, work: TestTask, band: Band) -> Pushed {
    let pushed = std::ptr::from_ref::<dyn FnOnce() + Send>(&*work.0).cast::<()>();
    match core.push(work, band) {
        Ok(()) => Pushed::Accepted,
        Err(Refused {
            why: Refusal::Closed,
            job,
        }) => {
            let back = std::ptr::from_ref::<dyn FnOnce() + Send>(&*job.0).cast::<()>();
            assert!(
                std::ptr::eq(back, pushed),
                "a different work item came back"
            );
            Pushed::Closed
        }
        Err(Refused {
            why: Refusal::NoThread,
            ..
        }) => panic!("loom threads cannot fail to start"),
    }
}

/// Runs `produce` on a thread of its own while this thread closes `core`,
/// then joins that thread and the core's workers; what `produce` returned.
fn race_close<T: Send + 'static>(
    core: &Core,
    produce: impl FnOnce(&Core) -> T + Send + 'static,
) -> T {
    let producer = {
        let core = core.clone();
        thread::spawn(move || produce(&core))
    };
    core.close();
    let produced = producer.join().unwrap();
    core.join();
    produced
}

/// Asserts that task `task` ran once if its push was accepted and never if
/// it was refused.
fn assert_ran_as_pushed(runs: &Runs, task: usize, pushed: Pushed) {
    let expected = usize::from(pushed == Pushed::Accepted);
    assert_eq!(runs.get(task), expected, "task {task}, push {pushed:?}");
}

/// An outer task (task 0) that pushes an inner one (task 1) to its own
/// queue and records the outcome in `inner`. With a `latch`, the inner task
/// counts it up when it runs, and the outer one, if its push was accepted,
/// blocks until then.
fn outer_pushing_inner(
    core: &Core,
    runs: &Runs,
    inner: &Arc<Mutex<Option<Pushed>>>,
    latch: Option<&Latch>,
) -> TestTask {
    let (core, runs, inner) = (core.clone(), runs.clone(), inner.clone());
    let latch = latch.cloned();
    TestTask(Box::new(move || {
        runs.0[0].fetch_add(1, Ordering::SeqCst);
        let task = match &latch {
            Some(latch) => runs.task_with_latch(1, latch),
            None => runs.task(1),
        };
        let pushed = push(&core, task);
        *inner.lock().unwrap() = Some(pushed);
        if let (Some(latch), Pushed::Accepted) = (&latch, pushed) {
            // In this worker's slot (a pool): only another worker can run
            // it now.
            latch.wait_for(1);
        }
    }))
}

/// (1) One producer, two tasks, a serial core, then close and join: both run
/// exactly once, in order of no importance here, and the workers are gone.
#[test]
fn loom_serial_push_two_then_close_runs_each_once() {
    model(|| {
        let core = core(1);
        let runs = Runs::new(2);
        assert_eq!(push(&core, runs.task(0)), Pushed::Accepted);
        assert_eq!(push(&core, runs.task(1)), Pushed::Accepted);
        core.close();
        core.join();
        assert_eq!(runs.get(0), 1, "task 0");
        assert_eq!(runs.get(1), 1, "task 1");
        assert!(core.is_finished());
        // Closed for good: a later push is refused and its work handed back.
        let late = Runs::new(1);
        assert_eq!(push(&core, late.task(0)), Pushed::Closed);
        assert_eq!(late.get(0), 0);
    });
}

/// (2) Two producers push concurrently to a two-worker pool (the first push
/// starts both workers, racing the other producer), then close and join:
/// each task runs exactly once.
#[test]
fn loom_pool_two_producers_then_close_runs_each_once() {
    model(|| {
        let core = core(2);
        let runs = Runs::new(2);
        let producer = {
            let core = core.clone();
            let runs = runs.clone();
            thread::spawn(move || push(&core, runs.task(1)))
        };
        assert_eq!(push(&core, runs.task(0)), Pushed::Accepted);
        assert_eq!(producer.join().unwrap(), Pushed::Accepted);
        core.close();
        core.join();
        assert_eq!(runs.get(0), 1, "task 0");
        assert_eq!(runs.get(1), 1, "task 1");
        assert!(core.is_finished());
    });
}

/// (3a) A push racing `close` on a queue whose worker is already running
/// (parked, or finishing a first task): the push is either refused with its
/// work handed back, or its task runs exactly once — never accepted and lost.
#[test]
fn loom_push_racing_close_on_started_core_is_refused_or_runs_once() {
    model(|| {
        let core = core(1);
        let runs = Runs::new(2);
        assert_eq!(push(&core, runs.task(0)), Pushed::Accepted);
        let producing = runs.clone();
        let pushed = race_close(&core, move |core| push(core, producing.task(1)));
        assert_eq!(runs.get(0), 1, "the task queued before close");
        assert_ran_as_pushed(&runs, 1, pushed);
        assert!(core.is_finished());
    });
}

/// (3a') The same race with a high and a low push, which also raise and
/// lower the count of urgent items (`bands.rs`): each runs once or is
/// refused, and the count is back to zero at the end, so a refused push
/// undid its raise and a run one was counted out.
#[test]
fn loom_urgent_pushes_racing_close_keep_the_urgent_count_true() {
    model(|| {
        let core = core(1);
        let runs = Runs::new(3);
        assert_eq!(push(&core, runs.task(0)), Pushed::Accepted);
        let producing = runs.clone();
        let pushed = race_close(&core, move |core| {
            [
                push_in(core, producing.task(1), Band::High),
                push_in(core, producing.task(2), Band::Low),
            ]
        });
        assert_ran_as_pushed(&runs, 1, pushed[0]);
        assert_ran_as_pushed(&runs, 2, pushed[1]);
        assert_eq!(core.bands.urgent_count(), 0);
        assert!(core.is_finished());
    });
}

/// (3b) The same race on a two-worker pool with both workers parked: a worker
/// that sees the queue closed must still find a push that its band took.
#[test]
fn loom_push_racing_close_on_parked_pool_is_refused_or_runs_once() {
    model(|| {
        let core = core(2);
        let runs = Runs::new(2);
        let warm = Latch::new();
        // Starts both workers; once the task has run, both head for park.
        assert_eq!(
            push(&core, runs.task_with_latch(0, &warm)),
            Pushed::Accepted
        );
        warm.wait_for(1);
        let producing = runs.clone();
        let pushed = race_close(&core, move |core| push(core, producing.task(1)));
        assert_ran_as_pushed(&runs, 1, pushed);
        assert!(core.is_finished());
    });
}

/// (3c) The first push — the one that starts the workers — racing `close` on a
/// fresh core. The producer thread is joined before the core, so `join` sees
/// every worker that push started.
#[test]
fn loom_first_push_racing_close_is_refused_or_runs_once() {
    model(|| {
        let core = core(1);
        let runs = Runs::new(1);
        let producing = runs.clone();
        let pushed = race_close(&core, move |core| push(core, producing.task(0)));
        assert_ran_as_pushed(&runs, 0, pushed);
        assert!(core.is_finished());
    });
}

/// (3d) As (3c), but the closing thread joins the core *while* the first push
/// may still be starting the workers: once `close()` and `join()` have
/// returned and the push has returned `Ok`, the task has run and the core is
/// finished.
///
/// Regression model: `join` takes the handles in `workers` once, and a push
/// that passed its closed check before `close` but reached `start_workers`
/// after `join` took the (still empty) list used to start a worker nobody
/// joined, so `join` returned (and `is_finished()` said true) before the
/// accepted task ran. Fixed in fdb0227: `start_workers` refuses the push if
/// the queue is closed by the time it holds the `workers` lock.
#[test]
fn loom_join_waits_for_workers_started_by_a_push_racing_close() {
    model(|| {
        let core = core(1);
        let runs = Runs::new(1);
        let producer = {
            let core = core.clone();
            let runs = runs.clone();
            thread::spawn(move || push(&core, runs.task(0)))
        };
        let closer = {
            let core = core.clone();
            thread::spawn(move || {
                core.close();
                core.join();
                core.is_finished()
            })
        };
        let pushed = producer.join().unwrap();
        let finished_after_join = closer.join().unwrap();
        // Both `push` and `close(); join()` have returned.
        let ran = runs.get(0);
        // Let a stray worker finish before the model ends.
        core.join();
        assert!(
            finished_after_join,
            "join returned with a worker still live"
        );
        match pushed {
            Pushed::Accepted => assert_eq!(ran, 1, "join returned before the accepted task ran"),
            Pushed::Closed => assert_eq!(ran, 0, "refused but run"),
        }
    });
}

/// (4a) No lost wake-up: a serial worker that has gone idle (or is on its way
/// to park) is woken by a push alone. The queue is not closed until the task
/// has run, so `close`'s `notify_all` cannot hide a lost wake-up: if the
/// worker slept through the push, every thread would block and loom would
/// report a deadlock.
#[test]
fn loom_parked_worker_is_woken_by_a_push() {
    model(|| {
        let core = core(1);
        let runs = Runs::new(2);
        let done = Latch::new();
        assert_eq!(
            push(&core, runs.task_with_latch(0, &done)),
            Pushed::Accepted
        );
        done.wait_for(1);
        assert_eq!(
            push(&core, runs.task_with_latch(1, &done)),
            Pushed::Accepted
        );
        done.wait_for(2);
        core.close();
        core.join();
        assert_eq!(runs.get(0), 1);
        assert_eq!(runs.get(1), 1);
    });
}

/// (4b) No lost wake-up with two sleepers and two concurrent pushers: permits
/// and the gate's idle count must wake a worker for each task (or leave each task
/// to a worker that is still awake). Again nothing closes the queue until both
/// tasks have run.
#[test]
fn loom_two_pushes_wake_two_parked_pool_workers() {
    model(|| {
        let core = core(2);
        let runs = Runs::new(3);
        let done = Latch::new();
        assert_eq!(
            push(&core, runs.task_with_latch(0, &done)),
            Pushed::Accepted
        );
        done.wait_for(1);
        let producer = {
            let core = core.clone();
            let runs = runs.clone();
            let done = done.clone();
            thread::spawn(move || push(&core, runs.task_with_latch(2, &done)))
        };
        assert_eq!(
            push(&core, runs.task_with_latch(1, &done)),
            Pushed::Accepted
        );
        assert_eq!(producer.join().unwrap(), Pushed::Accepted);
        done.wait_for(3);
        core.close();
        core.join();
        for task in 0..3 {
            assert_eq!(runs.get(task), 1, "task {task}");
        }
    });
}

/// (5a) A task that pushes another task to its own (serial) queue while the
/// queue is being closed: the inner push is refused (work handed back) or the
/// inner task runs exactly once, before `join` returns.
#[test]
fn loom_task_pushing_to_its_own_queue_during_close() {
    model(|| {
        let core = core(1);
        let runs = Runs::new(2);
        let inner = Arc::new(Mutex::new(None));
        let outer = outer_pushing_inner(&core, &runs, &inner, None);
        assert_eq!(push(&core, outer), Pushed::Accepted);
        core.close();
        core.join();
        assert_eq!(runs.get(0), 1, "outer task");
        let pushed = inner.lock().unwrap().expect("the outer task ran");
        assert_ran_as_pushed(&runs, 1, pushed);
        assert!(core.is_finished());
    });
}

/// (5b) As (5a) on a two-worker pool whose other worker may already have seen
/// the queue closed and be deciding whether to exit: the inner push goes to
/// the pushing worker's own slot, which that worker drains itself (or takes
/// back and refuses, if it sees the close), and between them the two workers
/// run the inner task exactly once. `close` races the outer task from another thread.
#[test]
fn loom_pool_task_pushing_to_its_own_queue_while_another_thread_closes() {
    model(|| {
        let core = core(2);
        let runs = Runs::new(2);
        let inner = Arc::new(Mutex::new(None));
        let outer = outer_pushing_inner(&core, &runs, &inner, None);
        assert_eq!(push(&core, outer), Pushed::Accepted);
        let closer = {
            let core = core.clone();
            thread::spawn(move || core.close())
        };
        closer.join().unwrap();
        core.join();
        assert_eq!(runs.get(0), 1, "outer task");
        let pushed = inner.lock().unwrap().expect("the outer task ran");
        assert_ran_as_pushed(&runs, 1, pushed);
        assert!(core.is_finished());
    });
}

/// Bands: with a serial worker held inside a first task, items pushed to the
/// low, normal and high bands run high first, however the worker's return to
/// the bands interleaves with the pushes' wake-ups.
#[test]
fn loom_serial_worker_takes_higher_band_first() {
    model(|| {
        let core = core(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let gate = Latch::new();
        let started = Latch::new();
        let first = {
            let gate = gate.clone();
            let started = started.clone();
            TestTask(Box::new(move || {
                started.count_up();
                gate.wait_for(1);
            }))
        };
        assert!(core.push(first, Band::Normal).is_ok());
        started.wait_for(1);
        for (label, band) in [(0u8, Band::Low), (1, Band::Normal), (2, Band::High)] {
            let order = order.clone();
            let work = TestTask(Box::new(move || order.lock().unwrap().push(label)));
            assert!(core.push(work, band).is_ok());
        }
        gate.count_up();
        core.close();
        core.join();
        assert_eq!(*order.lock().unwrap(), [2, 1, 0]);
    });
}

/// (12) A shutdown that gives up on a queue takes its backlog while the
/// queue's worker is still draining it (`take_backlog`, then the taker runs
/// what it took, as the rescue queue does): every item runs exactly once,
/// either on the worker or by the taker, never both, never neither.
#[test]
fn loom_take_backlog_racing_the_worker_runs_each_once() {
    model(|| {
        let core = core(1);
        let runs = Runs::new(3);
        for index in 0..3 {
            assert_eq!(push(&core, runs.task(index)), Pushed::Accepted);
        }
        core.close();
        let taker = {
            let core = crate::sync::Arc::clone(&core);
            thread::spawn(move || {
                for work in core.take_backlog() {
                    work.run(PRIVATE_ID);
                }
            })
        };
        taker.join().unwrap();
        core.join();
        for index in 0..3 {
            assert_eq!(runs.get(index), 1, "task {index}");
        }
        assert!(core.is_finished());
    });
}

/// (8) A pool task puts a task on its own pool (which lands in its worker's
/// own slot) and then blocks until that task has run: the other worker,
/// parked or about to park, must take the task from the slot. A wake-up not
/// granted for a slot push, or a park that does not look into the other
/// workers' slots, leaves both workers blocked (a deadlock loom reports);
/// so does either fence of the slot push's Dekker pair left out (the
/// pusher's in `Sleep::after_own_push`, the parking worker's after it counts
/// itself idle).
#[test]
fn loom_pool_task_blocking_on_what_it_put_in_its_own_slot() {
    model(|| {
        let core = core(2);
        let runs = Runs::new(2);
        let latch = Latch::new();
        let outer = {
            let core = core.clone();
            let runs = runs.clone();
            let latch = latch.clone();
            TestTask(Box::new(move || {
                runs.0[0].fetch_add(1, Ordering::SeqCst);
                assert_eq!(
                    push(&core, runs.task_with_latch(1, &latch)),
                    Pushed::Accepted
                );
                // The inner task is in this worker's slot: only the other
                // worker can run it now.
                latch.wait_for(1);
            }))
        };
        assert_eq!(push(&core, outer), Pushed::Accepted);
        latch.wait_for(1);
        core.close();
        core.join();
        assert_eq!(runs.get(0), 1, "outer task");
        assert_eq!(runs.get(1), 1, "inner task");
    });
}

/// (8b) As (8), with `close` racing the slot push: the outer task blocks on
/// the inner one only if its push was accepted. An accepted inner task must
/// run even if the other worker has already made its last look and exited,
/// so a slot push that reads the queue closed after its put takes its item
/// back and is refused. Without that take-back (or without the fence before
/// a closing worker's last look) loom finds the outer task blocked forever.
#[test]
fn loom_pool_task_blocking_on_its_slot_push_while_the_queue_closes() {
    model(|| {
        let core = core(2);
        let runs = Runs::new(2);
        let latch = Latch::new();
        let inner = Arc::new(Mutex::new(None));
        let outer = outer_pushing_inner(&core, &runs, &inner, Some(&latch));
        assert_eq!(push(&core, outer), Pushed::Accepted);
        core.close();
        core.join();
        assert_eq!(runs.get(0), 1, "outer task");
        let pushed = inner.lock().unwrap().expect("the outer task ran");
        assert_ran_as_pushed(&runs, 1, pushed);
        assert!(core.is_finished());
    });
}
