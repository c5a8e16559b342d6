//! MMCSS-style registration, real Linux scheduling, deadlines, the long-running
//! hint, platform events and join (docs/behaviour.md#d19, #d21 to #d25).
//!
//! The scheduling tests adapt to the rights of the process: with the right to
//! use `SCHED_FIFO` they check the real-time policy, without it the fallback.
//! `scheduling_without_the_right_falls_back` re-runs them in child processes
//! that have lost the right (`RLIMIT_RTPRIO` and `RLIMIT_NICE` 0, no
//! `CAP_SYS_NICE`), so both branches run on every machine.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use common::{recv, recv_n, WAIT};
use mfwq::{
    AppliedScheduling, DeadlineRequest, Error, Event, PlatformEvents, QueueId, QueueType,
    SchedPolicy,
};

/// Set in the child processes that must not have the right to raise priority.
const NO_RIGHT_ENV: &str = "MFWQ_TEST_NO_RT_RIGHT";

const SCHED_OTHER: i32 = libc::SCHED_OTHER;
const SCHED_FIFO: i32 = libc::SCHED_FIFO;
const SCHED_RR: i32 = libc::SCHED_RR;
const SCHED_DEADLINE: i32 = 6;

fn without_right() -> bool {
    std::env::var_os(NO_RIGHT_ENV).is_some()
}

fn gettid() -> i32 {
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// The policy of thread `tid` (0: the calling thread), without `SCHED_RESET_ON_FORK`.
fn policy_of(tid: i32) -> i32 {
    let policy = unsafe { libc::sched_getscheduler(tid) };
    assert!(policy >= 0, "sched_getscheduler({tid}) failed");
    policy & !libc::SCHED_RESET_ON_FORK
}

fn rt_priority_of(tid: i32) -> i32 {
    let mut param = libc::sched_param { sched_priority: -1 };
    assert_eq!(unsafe { libc::sched_getparam(tid, &mut param) }, 0);
    param.sched_priority
}

fn nice_of(tid: i32) -> i32 {
    // getpriority may legitimately return -1; errno tells.
    unsafe {
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t);
        assert_eq!(*libc::__errno_location(), 0, "getpriority({tid}) failed");
        nice
    }
}

/// What thread `tid` runs under, as a `SchedPolicy` (deadline parameters not read).
fn observed(tid: i32) -> SchedPolicy {
    match policy_of(tid) {
        SCHED_FIFO => SchedPolicy::Fifo {
            priority: rt_priority_of(tid),
        },
        SCHED_RR => SchedPolicy::RoundRobin {
            priority: rt_priority_of(tid),
        },
        SCHED_OTHER => SchedPolicy::Other { nice: nice_of(tid) },
        other => panic!("thread {tid} runs unexpected policy {other}"),
    }
}

/// Whether this process may run a thread `SCHED_FIFO` at `priority` (tried on a throwaway thread).
fn can_use_fifo(priority: i32) -> bool {
    std::thread::spawn(move || unsafe {
        let param = libc::sched_param {
            sched_priority: priority,
        };
        libc::sched_setscheduler(0, SCHED_FIFO, &param) == 0
    })
    .join()
    .unwrap()
}

/// Whether this process may lower a thread's nice to `nice`.
fn can_lower_nice(nice: i32) -> bool {
    std::thread::spawn(move || unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) == 0 })
        .join()
        .unwrap()
}

fn pool_size() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2)
}

/// What one item saw on its worker: thread id and the policy it ran under.
#[derive(Clone, Copy, Debug)]
struct Seen {
    tid: i32,
    policy: i32,
    scheduling: SchedPolicy,
}

/// Runs `n` items on `queue` at once (each waits until all have arrived) and
/// returns what each saw about its own thread: `n` distinct workers.
fn run_on_workers(queue: QueueId, n: usize) -> Vec<Seen> {
    let release = Event::manual_reset(false);
    let (sender, receiver) = mpsc::channel();
    for _ in 0..n {
        let sender = sender.clone();
        let release = release.clone();
        mfwq::spawn(queue, move || {
            let policy = policy_of(0);
            let scheduling = if policy == SCHED_DEADLINE {
                SchedPolicy::Deadline {
                    runtime_ns: 0,
                    deadline_ns: 0,
                    period_ns: 0,
                }
            } else {
                observed(0)
            };
            sender
                .send(Seen {
                    tid: gettid(),
                    policy,
                    scheduling,
                })
                .unwrap();
            release.wait(Some(WAIT));
        })
        .unwrap();
    }
    let seen = recv_n(&receiver, n);
    release.set();
    let distinct: HashSet<_> = seen.iter().map(|s| s.tid).collect();
    assert_eq!(distinct.len(), n, "{n} items ran on {n} distinct workers");
    seen
}

/// Asserts that every thread in `tids` runs under what `applied` says.
fn assert_threads_run(tids: &[i32], applied: &AppliedScheduling) {
    let expected = applied.applied.expect("a policy was applied");
    for &tid in tids {
        match expected {
            SchedPolicy::Deadline { .. } => {
                assert_eq!(policy_of(tid), SCHED_DEADLINE, "thread {tid}")
            }
            _ => assert_eq!(observed(tid), expected, "thread {tid}"),
        }
    }
}

/// Checks `applied` against what this process may do: the requested real-time
/// policy where it can, a reported fallback where it cannot.
fn assert_fifo_or_fallback(applied: &AppliedScheduling, priority: i32) {
    assert_eq!(applied.requested, SchedPolicy::Fifo { priority });
    if can_use_fifo(priority) {
        assert!(
            !without_right(),
            "the child process must not have the right"
        );
        assert_eq!(applied.applied, Some(SchedPolicy::Fifo { priority }));
        assert!(!applied.fell_back);
    } else {
        assert!(applied.fell_back, "{applied:?}");
        let got = applied.applied.expect("the fallback is applied");
        assert_ne!(got, applied.requested);
        if without_right() {
            // RLIMIT_RTPRIO and RLIMIT_NICE are 0: nothing better than nice 0.
            assert_eq!(got, SchedPolicy::Other { nice: 0 });
        }
    }
}

fn require_no_right_in_child() {
    if without_right() {
        assert!(
            !can_use_fifo(1),
            "the child process can still use SCHED_FIFO"
        );
        assert!(
            !can_lower_nice(-1),
            "the child process can still lower nice"
        );
    }
}

#[test]
fn getters_round_trip_on_platform_and_private_queues() {
    let _serial = common::serial();
    let _platform = mfwq::Platform::start().unwrap();
    let standard = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
    let pool = mfwq::allocate_work_queue(QueueType::Multithreaded).unwrap();
    let serial = mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    for queue in [QueueId::RT, QueueId::LONG_FUNCTION, standard, pool, serial] {
        assert_eq!(mfwq::work_queue_mmcss_class(queue).unwrap(), "", "{queue}");
        assert_eq!(mfwq::work_queue_mmcss_task_id(queue).unwrap(), 0);
        assert_eq!(mfwq::work_queue_mmcss_priority(queue).unwrap(), 0);

        let task = mfwq::register_work_queue_with_mmcss(queue, "Pro Audio", 0, 1).unwrap();
        assert_ne!(task, 0, "0 asks for a new task id");
        assert_eq!(mfwq::work_queue_mmcss_class(queue).unwrap(), "Pro Audio");
        assert_eq!(mfwq::work_queue_mmcss_task_id(queue).unwrap(), task);
        assert_eq!(mfwq::work_queue_mmcss_priority(queue).unwrap(), 1);

        let again = mfwq::register_work_queue_with_mmcss(queue, "Games", 0, 0).unwrap();
        assert_ne!(again, task, "each 0 gets a new id");
        assert_eq!(
            mfwq::register_work_queue_with_mmcss(queue, "Capture", 4321, -2),
            Ok(4321),
            "a given task id is kept"
        );
        assert_eq!(mfwq::work_queue_mmcss_class(queue).unwrap(), "Capture");
        assert_eq!(mfwq::work_queue_mmcss_task_id(queue).unwrap(), 4321);
        assert_eq!(mfwq::work_queue_mmcss_priority(queue).unwrap(), -2);

        mfwq::unregister_work_queue_from_mmcss(queue).unwrap();
        assert_eq!(mfwq::work_queue_mmcss_class(queue).unwrap(), "");
        assert_eq!(mfwq::work_queue_mmcss_task_id(queue).unwrap(), 0);
        assert_eq!(mfwq::work_queue_mmcss_priority(queue).unwrap(), 0);
    }
    // Registrations are per queue.
    mfwq::register_work_queue_with_mmcss(QueueId::RT, "Audio", 5, 0).unwrap();
    assert_eq!(mfwq::work_queue_mmcss_class(QueueId::IO).unwrap(), "");
    assert_eq!(mfwq::work_queue_mmcss_class(standard).unwrap(), "");
    // Ids without private bits that name no platform queue are STANDARD (docs/behaviour.md#d7).
    mfwq::register_work_queue_with_mmcss(QueueId(0x20), "Playback", 9, 2).unwrap();
    assert_eq!(
        mfwq::work_queue_mmcss_class(QueueId::STANDARD).unwrap(),
        "Playback"
    );
    assert_eq!(mfwq::work_queue_mmcss_task_id(QueueId(0)).unwrap(), 9);
    // A serial queue has no threads: recorded, nothing applied.
    mfwq::register_work_queue_with_mmcss(serial, "Pro Audio", 0, 0).unwrap();
    let applied = mfwq::applied_scheduling(serial).unwrap();
    assert_eq!(applied.requested, SchedPolicy::Fifo { priority: 30 });
    assert_eq!((applied.applied, applied.threads), (None, 0));
    // Bad arguments.
    assert_eq!(
        mfwq::register_work_queue_with_mmcss(standard, "", 0, 0),
        Err(Error::InvalidArg)
    );
    assert_eq!(
        mfwq::register_work_queue_with_mmcss(standard, "Audio", 0, 3),
        Err(Error::InvalidArg)
    );
    assert_eq!(
        mfwq::register_work_queue_with_mmcss(standard, "Audio", 0, -3),
        Err(Error::InvalidArg)
    );
    assert_eq!(mfwq::work_queue_mmcss_class(standard).unwrap(), "");
    for queue in [serial, pool, standard] {
        mfwq::unlock_work_queue(queue).unwrap();
    }
}

#[test]
fn dead_ids_are_invalid_and_nothing_works_before_startup() {
    let _serial = common::serial();
    let callback = || mfwq::callback(|_| {});
    let all_fail_with = |queue: QueueId, error: Error| {
        assert_eq!(
            mfwq::register_work_queue_with_mmcss(queue, "Audio", 0, 0),
            Err(error)
        );
        assert_eq!(mfwq::unregister_work_queue_from_mmcss(queue), Err(error));
        assert_eq!(
            mfwq::begin_register_work_queue_with_mmcss(queue, "Audio", 0, 0, callback(), None),
            Err(error)
        );
        assert_eq!(
            mfwq::begin_unregister_work_queue_with_mmcss(queue, callback(), None),
            Err(error)
        );
        assert_eq!(mfwq::work_queue_mmcss_class(queue), Err(error));
        assert_eq!(mfwq::work_queue_mmcss_task_id(queue), Err(error));
        assert_eq!(mfwq::work_queue_mmcss_priority(queue), Err(error));
        assert_eq!(mfwq::work_queue_mmcss_class_name(queue), Err(error));
        assert_eq!(mfwq::applied_scheduling(queue), Err(error));
        assert_eq!(mfwq::work_queue_thread_ids(queue), Err(error));
        assert_eq!(mfwq::set_deadline(queue, 100_000), Err(error));
        assert_eq!(mfwq::set_deadline2(queue, 100_000, 10), Err(error));
        assert_eq!(mfwq::work_queue_deadline(queue), Err(error));
        assert_eq!(mfwq::set_long_running(queue, true), Err(error));
        assert_eq!(mfwq::is_long_running(queue), Err(error));
    };
    // Not started.
    for queue in [QueueId::STANDARD, QueueId::RT, QueueId(0x10001)] {
        all_fail_with(queue, Error::Shutdown);
    }
    assert_eq!(
        mfwq::register_platform_with_mmcss("Audio", 0, 0),
        Err(Error::Shutdown)
    );
    assert_eq!(mfwq::unregister_platform_from_mmcss(), Err(Error::Shutdown));
    assert_eq!(
        mfwq::cancel_deadline(DeadlineRequest::from_raw(1)),
        Err(Error::Shutdown)
    );

    let _platform = mfwq::Platform::start().unwrap();
    let stale = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
    mfwq::register_work_queue_with_mmcss(stale, "Audio", 0, 0).unwrap();
    let request = mfwq::set_deadline(stale, 100_000).unwrap();
    mfwq::unlock_work_queue(stale).unwrap();
    for queue in [stale, QueueId(0x10000), QueueId(0x1234_0001)] {
        all_fail_with(queue, Error::InvalidWorkQueue);
    }
    // ALL means "every platform queue" for (un)registration only.
    assert_eq!(
        mfwq::work_queue_mmcss_class(QueueId::ALL),
        Err(Error::InvalidWorkQueue)
    );
    assert_eq!(
        mfwq::cancel_deadline(request),
        Err(Error::NotFound),
        "the deadline died with its queue"
    );
    // A new queue in the same slot starts unregistered.
    let fresh = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
    assert_eq!(fresh.0 >> 16, stale.0 >> 16, "the slot is reused");
    assert_eq!(mfwq::work_queue_mmcss_class(fresh).unwrap(), "");
    assert_eq!(mfwq::work_queue_deadline(fresh).unwrap(), None);
    mfwq::unlock_work_queue(fresh).unwrap();
}

#[test]
fn begin_end_forms_complete_on_the_callbacks_queue() {
    let _serial = common::serial();
    let _platform = mfwq::Platform::start().unwrap();
    let target = mfwq::allocate_work_queue(QueueType::Multithreaded).unwrap();
    let home = mfwq::allocate_work_queue(QueueType::Standard).unwrap();

    let (sender, receiver) = mpsc::channel();
    let register_done = {
        let sender = sender.clone();
        mfwq::callback_on(home, move |result| {
            let first = mfwq::end_register_work_queue_with_mmcss(result);
            let second = mfwq::end_register_work_queue_with_mmcss(result);
            let wrong = mfwq::end_unregister_work_queue_with_mmcss(result);
            let state = result.state_as::<&str>().copied();
            sender
                .send((mfwq::current_queue(), first, second, wrong, state))
                .unwrap();
        })
    };
    mfwq::begin_register_work_queue_with_mmcss(
        target,
        "Audio",
        0,
        -1,
        register_done.clone(),
        Some(Arc::new("mine")),
    )
    .unwrap();
    let (queue, first, second, wrong, state) = recv(&receiver);
    assert_eq!(queue, Some(home), "completion runs on the callback's queue");
    let task = first.unwrap();
    assert_ne!(task, 0);
    assert_eq!(second, Err(Error::InvalidRequest), "a second End");
    assert_eq!(wrong, Err(Error::InvalidArg), "another operation's End");
    assert_eq!(state, Some("mine"));
    assert_eq!(mfwq::work_queue_mmcss_class(target).unwrap(), "Audio");
    assert_eq!(mfwq::work_queue_mmcss_task_id(target).unwrap(), task);
    assert_eq!(mfwq::work_queue_mmcss_priority(target).unwrap(), -1);

    // A given task id comes back from End; the default callback queue is STANDARD.
    let (sender2, receiver2) = mpsc::channel();
    mfwq::begin_register_work_queue_with_mmcss(
        QueueId::RT,
        "Capture",
        77,
        0,
        mfwq::callback(move |result| {
            sender2
                .send((
                    mfwq::current_queue(),
                    mfwq::end_register_work_queue_with_mmcss(result),
                ))
                .unwrap();
        }),
        None,
    )
    .unwrap();
    assert_eq!(recv(&receiver2), (Some(QueueId::STANDARD), Ok(77)));

    let (sender3, receiver3) = mpsc::channel();
    mfwq::begin_unregister_work_queue_with_mmcss(
        target,
        mfwq::callback_on(QueueId::LONG_FUNCTION, move |result| {
            sender3
                .send((
                    mfwq::current_queue(),
                    mfwq::end_unregister_work_queue_with_mmcss(result),
                    mfwq::end_register_work_queue_with_mmcss(result),
                ))
                .unwrap();
        }),
        None,
    )
    .unwrap();
    assert_eq!(
        recv(&receiver3),
        (Some(QueueId::LONG_FUNCTION), Ok(()), Err(Error::InvalidArg))
    );
    assert_eq!(mfwq::work_queue_mmcss_class(target).unwrap(), "");

    // Arguments are checked at once, too.
    assert_eq!(
        mfwq::begin_register_work_queue_with_mmcss(target, "", 0, 0, register_done.clone(), None),
        Err(Error::InvalidArg)
    );
    assert_eq!(
        mfwq::begin_register_work_queue_with_mmcss(target, "Audio", 0, 9, register_done, None),
        Err(Error::InvalidArg)
    );
    mfwq::unlock_work_queue(target).unwrap();
    mfwq::unlock_work_queue(home).unwrap();
}

/// The core's side of `MFGetWorkQueueMMCSSClass` (docs/behaviour.md#d21): the
/// exact UTF-16 name, on which the C ABI builds its buffer protocol (size
/// query, short buffer: `mfwq-ffi`, `mmcss.rs`, with its tests).
#[test]
fn class_names_come_back_as_the_exact_utf16() {
    let _serial = common::serial();
    let _platform = mfwq::Platform::start().unwrap();
    let queue = QueueId::IO;

    // Unregistered: "".
    let name = mfwq::work_queue_mmcss_class_name(queue).unwrap();
    assert!(name.is_empty());
    assert_eq!(name.as_utf16(), &[] as &[u16]);

    let class = "Äudio 𝄞"; // 7 chars, 8 UTF-16 units
    mfwq::register_work_queue_with_mmcss(queue, class, 0, 0).unwrap();
    assert_eq!(mfwq::work_queue_mmcss_class(queue).unwrap(), class);
    let name = mfwq::work_queue_mmcss_class_name(queue).unwrap();
    assert_eq!(name.as_utf16().len(), 8);
    assert_eq!(String::from_utf16(name.as_utf16()).unwrap(), class);
}

#[test]
fn pro_audio_runs_fifo_or_falls_back() {
    let _serial = common::serial();
    require_no_right_in_child();
    let _platform = mfwq::Platform::start().unwrap();

    // Threads first, then the registration: applied to the running worker.
    let started = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
    let before = run_on_workers(started, 1);
    assert_eq!(before[0].policy, SCHED_OTHER);
    mfwq::register_work_queue_with_mmcss(started, "Pro Audio", 0, 0).unwrap();
    let applied = mfwq::applied_scheduling(started).unwrap();
    assert_fifo_or_fallback(&applied, 30);
    assert_eq!(applied.threads, 1);
    assert_eq!(
        mfwq::work_queue_thread_ids(started).unwrap(),
        [before[0].tid]
    );
    assert_threads_run(&[before[0].tid], &applied);

    // Registration first, threads later: each lazily started worker applies it.
    let pool = mfwq::allocate_work_queue(QueueType::Multithreaded).unwrap();
    mfwq::register_work_queue_with_mmcss(pool, "Pro Audio", 0, 2).unwrap();
    let early = mfwq::applied_scheduling(pool).unwrap();
    assert_eq!(early.threads, 0, "no worker yet");
    assert_fifo_or_fallback(&early, 40);
    let seen = run_on_workers(pool, pool_size());
    for item in &seen {
        assert_eq!(Some(item.scheduling), early.applied, "{item:?}");
    }
    let late = mfwq::applied_scheduling(pool).unwrap();
    assert_eq!(late.threads, pool_size());
    assert_eq!(
        (late.applied, late.fell_back),
        (early.applied, early.fell_back)
    );
    let pool_tids: Vec<i32> = seen.iter().map(|s| s.tid).collect();
    assert_threads_run(&pool_tids, &late);

    // Unregistering restores SCHED_OTHER, nice 0, on every thread.
    for queue in [started, pool] {
        mfwq::unregister_work_queue_from_mmcss(queue).unwrap();
        let restored = mfwq::applied_scheduling(queue).unwrap();
        assert_eq!(restored.applied, Some(SchedPolicy::Other { nice: 0 }));
        assert!(!restored.fell_back);
    }
    for tid in pool_tids.iter().chain([&before[0].tid]) {
        assert_eq!(
            observed(*tid),
            SchedPolicy::Other { nice: 0 },
            "thread {tid}"
        );
    }
    mfwq::unlock_work_queue(started).unwrap();
    mfwq::unlock_work_queue(pool).unwrap();
}

#[test]
fn other_classes_get_a_raised_nice_and_capture_round_robin() {
    let _serial = common::serial();
    require_no_right_in_child();
    let _platform = mfwq::Platform::start().unwrap();
    let queue = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
    let tid = run_on_workers(queue, 1)[0].tid;

    mfwq::register_work_queue_with_mmcss(queue, "Games", 0, 1).unwrap();
    let applied = mfwq::applied_scheduling(queue).unwrap();
    assert_eq!(applied.requested, SchedPolicy::Other { nice: -7 });
    if can_lower_nice(-7) {
        assert_eq!(applied.applied, Some(SchedPolicy::Other { nice: -7 }));
        assert!(!applied.fell_back);
    } else {
        assert!(applied.fell_back);
        assert_eq!(applied.applied, Some(SchedPolicy::Other { nice: 0 }));
    }
    assert_threads_run(&[tid], &applied);

    mfwq::register_work_queue_with_mmcss(queue, "Capture", 0, 2).unwrap();
    let applied = mfwq::applied_scheduling(queue).unwrap();
    assert_eq!(applied.requested, SchedPolicy::RoundRobin { priority: 25 });
    if can_use_fifo(25) {
        assert_eq!(
            applied.applied,
            Some(SchedPolicy::RoundRobin { priority: 25 })
        );
        assert_eq!(policy_of(tid), SCHED_RR);
        assert_eq!(rt_priority_of(tid), 25);
    } else {
        assert!(applied.fell_back);
    }
    assert_threads_run(&[tid], &applied);

    mfwq::unregister_work_queue_from_mmcss(queue).unwrap();
    assert_eq!(observed(tid), SchedPolicy::Other { nice: 0 });
    mfwq::unlock_work_queue(queue).unwrap();
}

/// The thread id of the running timekeeper (the thread that releases
/// scheduled items), found by its name.
fn timekeeper_tid() -> Option<i32> {
    std::fs::read_dir("/proc/self/task").ok()?.find_map(|task| {
        let task = task.ok()?;
        let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
        (name.trim() == "mfwq-timekeeper")
            .then(|| task.file_name().to_str()?.parse().ok())
            .flatten()
    })
}

// The timekeeper releases scheduled items and `sleep` futures: it follows the
// TIMER queue's policy (registered with the platform, or on its own) and
// goes back to normal when the registration goes, whether it was running at
// the time or starts later.
#[test]
fn the_timekeeper_follows_the_timer_queue_policy() {
    let _serial = common::serial();
    require_no_right_in_child();
    let _platform = mfwq::Platform::start().unwrap();
    let fired = mfwq::Event::manual_reset(false);
    let schedule_one = |event: &mfwq::Event| {
        let signal = event.clone();
        mfwq::schedule_work_item(
            mfwq::callback(move |_| signal.set()),
            None,
            std::time::Duration::from_millis(1),
        )
        .unwrap();
    };
    // Registered before the timekeeper starts: it takes the policy as it starts.
    mfwq::register_platform_with_mmcss("Pro Audio", 0, 0).unwrap();
    let applied = mfwq::applied_scheduling(QueueId::TIMER).unwrap();
    schedule_one(&fired);
    assert!(fired.wait(Some(std::time::Duration::from_secs(5))));
    let keeper = timekeeper_tid().expect("the timekeeper runs");
    assert_eq!(Some(observed(keeper)), applied.applied, "{applied:?}");
    // Unregistered while it runs: back to normal at once.
    mfwq::unregister_platform_from_mmcss().unwrap();
    assert_eq!(observed(keeper), SchedPolicy::Other { nice: 0 });
    // The TIMER queue on its own, while it runs.
    mfwq::register_work_queue_with_mmcss(QueueId::TIMER, "Pro Audio", 0, 0).unwrap();
    let applied = mfwq::applied_scheduling(QueueId::TIMER).unwrap();
    assert_eq!(Some(observed(keeper)), applied.applied, "{applied:?}");
    // Another queue's registration does not touch it.
    mfwq::unregister_work_queue_from_mmcss(QueueId::TIMER).unwrap();
    mfwq::register_work_queue_with_mmcss(QueueId::STANDARD, "Pro Audio", 0, 0).unwrap();
    assert_eq!(observed(keeper), SchedPolicy::Other { nice: 0 });
    mfwq::unregister_work_queue_from_mmcss(QueueId::STANDARD).unwrap();
    // A registration does not outlive its platform: after a restart the new
    // timekeeper starts normal.
    mfwq::register_work_queue_with_mmcss(QueueId::TIMER, "Pro Audio", 0, 0).unwrap();
    drop(_platform);
    let _platform = mfwq::Platform::start().unwrap();
    fired.reset();
    schedule_one(&fired);
    assert!(fired.wait(Some(std::time::Duration::from_secs(5))));
    let keeper = timekeeper_tid().expect("the new timekeeper runs");
    assert_eq!(observed(keeper), SchedPolicy::Other { nice: 0 });
}

#[test]
fn platform_registration_covers_every_platform_queue() {
    let _serial = common::serial();
    require_no_right_in_child();
    let _platform = mfwq::Platform::start().unwrap();
    let platform_queues = common::PLATFORM_QUEUES;
    let task = mfwq::register_platform_with_mmcss("Audio", 0, -1).unwrap();
    assert_ne!(task, 0);
    let mut tids = Vec::new();
    for queue in platform_queues {
        assert_eq!(
            mfwq::work_queue_mmcss_class(queue).unwrap(),
            "Audio",
            "{queue}"
        );
        assert_eq!(mfwq::work_queue_mmcss_task_id(queue).unwrap(), task);
        assert_eq!(mfwq::work_queue_mmcss_priority(queue).unwrap(), -1);
        let applied = mfwq::applied_scheduling(queue).unwrap();
        assert_fifo_or_fallback(&applied, 15);
        let workers = if matches!(queue, QueueId::STANDARD | QueueId::RT | QueueId::TIMER) {
            1
        } else {
            pool_size()
        };
        for item in run_on_workers(queue, workers) {
            assert_eq!(Some(item.scheduling), applied.applied, "{queue}: {item:?}");
            tids.push(item.tid);
        }
    }
    // A private queue is not a platform queue.
    let private = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
    assert_eq!(mfwq::work_queue_mmcss_class(private).unwrap(), "");

    assert_eq!(mfwq::register_platform_with_mmcss("Audio", 99, 0), Ok(99));
    assert_eq!(mfwq::work_queue_mmcss_task_id(QueueId::TIMER).unwrap(), 99);

    mfwq::unregister_platform_from_mmcss().unwrap();
    for queue in platform_queues {
        assert_eq!(mfwq::work_queue_mmcss_class(queue).unwrap(), "");
        assert_eq!(mfwq::work_queue_mmcss_task_id(queue).unwrap(), 0);
    }
    for tid in tids {
        assert_eq!(
            observed(tid),
            SchedPolicy::Other { nice: 0 },
            "thread {tid}"
        );
    }
    // QueueId::ALL is the same as the platform calls.
    mfwq::register_work_queue_with_mmcss(QueueId::ALL, "Playback", 5, 0).unwrap();
    assert_eq!(
        mfwq::work_queue_mmcss_class(QueueId::IO).unwrap(),
        "Playback"
    );
    mfwq::unregister_work_queue_from_mmcss(QueueId::ALL).unwrap();
    assert_eq!(mfwq::work_queue_mmcss_class(QueueId::IO).unwrap(), "");
    mfwq::unlock_work_queue(private).unwrap();
}

#[test]
fn deadlines_are_recorded_applied_and_cancelled() {
    let _serial = common::serial();
    require_no_right_in_child();
    let _platform = mfwq::Platform::start().unwrap();
    let queue = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
    let tid = run_on_workers(queue, 1)[0].tid;
    mfwq::register_work_queue_with_mmcss(queue, "Audio", 0, 0).unwrap();
    let base = mfwq::applied_scheduling(queue).unwrap();
    assert_fifo_or_fallback(&base, 20);

    let first = mfwq::set_deadline(queue, 100_000).unwrap(); // 10 ms
    assert_ne!(first.into_raw(), 0);
    let deadline = mfwq::work_queue_deadline(queue).unwrap().unwrap();
    assert_eq!(
        (
            deadline.request,
            deadline.deadline_hns,
            deadline.pre_deadline_hns
        ),
        (first, 100_000, 0)
    );
    let applied = mfwq::applied_scheduling(queue).unwrap();
    assert_eq!(
        applied.requested,
        SchedPolicy::Deadline {
            runtime_ns: 5_000_000,
            deadline_ns: 10_000_000,
            period_ns: 10_000_000,
        }
    );
    if applied.applied == Some(applied.requested) {
        assert!(!applied.fell_back);
        assert!(!without_right(), "SCHED_DEADLINE needs CAP_SYS_NICE");
        assert_eq!(policy_of(tid), SCHED_DEADLINE);
    } else {
        // Refused: the thread keeps the MMCSS policy (or its fallback).
        assert!(applied.fell_back, "{applied:?}");
        assert_eq!(applied.applied, base.applied);
        assert_threads_run(&[tid], &applied);
    }
    // MMCSS getters are unaffected by a deadline.
    assert_eq!(mfwq::work_queue_mmcss_class(queue).unwrap(), "Audio");

    let second = mfwq::set_deadline2(queue, 200_000, 20_000).unwrap();
    assert_ne!(second, first);
    let deadline = mfwq::work_queue_deadline(queue).unwrap().unwrap();
    assert_eq!(
        (
            deadline.request,
            deadline.deadline_hns,
            deadline.pre_deadline_hns
        ),
        (second, 200_000, 20_000)
    );
    mfwq::cancel_deadline(second).unwrap();
    assert_eq!(
        mfwq::work_queue_deadline(queue).unwrap().unwrap().request,
        first
    );
    mfwq::cancel_deadline(first).unwrap();
    assert_eq!(mfwq::work_queue_deadline(queue).unwrap(), None);
    assert_eq!(mfwq::cancel_deadline(first), Err(Error::NotFound));
    assert_eq!(mfwq::cancel_deadline(second), Err(Error::NotFound));

    // Cancelling restores the previous policy: the MMCSS one.
    let restored = mfwq::applied_scheduling(queue).unwrap();
    assert_eq!(restored.requested, base.requested);
    assert_eq!(restored.applied, base.applied);
    assert_threads_run(&[tid], &restored);
    mfwq::unregister_work_queue_from_mmcss(queue).unwrap();
    assert_eq!(observed(tid), SchedPolicy::Other { nice: 0 });

    // A deadline on an unregistered queue goes back to SCHED_OTHER nice 0.
    let lone = mfwq::set_deadline(queue, 50_000).unwrap();
    mfwq::cancel_deadline(lone).unwrap();
    assert_eq!(observed(tid), SchedPolicy::Other { nice: 0 });

    // Bad arguments.
    assert_eq!(
        mfwq::cancel_deadline(DeadlineRequest::from_raw(0)),
        Err(Error::InvalidArg)
    );
    assert_eq!(mfwq::set_deadline(queue, 0), Err(Error::InvalidArg));
    assert_eq!(mfwq::set_deadline(queue, -5), Err(Error::InvalidArg));
    assert_eq!(mfwq::set_deadline2(queue, 100, -1), Err(Error::InvalidArg));
    assert_eq!(mfwq::set_deadline2(queue, 100, 101), Err(Error::InvalidArg));

    // After shutdown: MF_E_SHUTDOWN.
    let pending = mfwq::set_deadline(queue, 100_000).unwrap();
    mfwq::unlock_work_queue(queue).unwrap();
    drop(_platform);
    assert_eq!(mfwq::cancel_deadline(pending), Err(Error::Shutdown));
}

#[test]
fn registrations_end_with_the_epoch() {
    let _serial = common::serial();
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    mfwq::register_work_queue_with_mmcss(QueueId::RT, "Audio", 0, 1).unwrap();
    let request = mfwq::set_deadline(QueueId::RT, 100_000).unwrap();
    mfwq::set_long_running(QueueId::MULTITHREADED, true).unwrap();
    mfwq::shutdown().unwrap();

    mfwq::startup(mfwq::MF_VERSION).unwrap();
    assert_eq!(mfwq::work_queue_mmcss_class(QueueId::RT).unwrap(), "");
    assert_eq!(mfwq::work_queue_mmcss_task_id(QueueId::RT).unwrap(), 0);
    assert_eq!(mfwq::work_queue_mmcss_priority(QueueId::RT).unwrap(), 0);
    assert_eq!(mfwq::work_queue_deadline(QueueId::RT).unwrap(), None);
    assert_eq!(mfwq::applied_scheduling(QueueId::RT).unwrap().applied, None);
    assert!(!mfwq::is_long_running(QueueId::MULTITHREADED).unwrap());
    assert_eq!(mfwq::cancel_deadline(request), Err(Error::NotFound));
    mfwq::shutdown().unwrap();
}

#[test]
fn long_running_hint_round_trips_and_grows_pools() {
    let _serial = common::serial();
    let _platform = mfwq::Platform::start().unwrap();
    let pool = mfwq::allocate_work_queue(QueueType::Multithreaded).unwrap();
    for queue in [QueueId::STANDARD, QueueId::MULTITHREADED, pool] {
        assert!(!mfwq::is_long_running(queue).unwrap(), "off by default");
        mfwq::set_long_running(queue, true).unwrap();
        assert!(mfwq::is_long_running(queue).unwrap());
    }
    mfwq::set_long_running(QueueId::STANDARD, false).unwrap();
    assert!(!mfwq::is_long_running(QueueId::STANDARD).unwrap());
    assert!(mfwq::is_long_running(QueueId::MULTITHREADED).unwrap());

    // The pool's threads started before the hint; the next put adds more:
    // twice the threads run at once.
    let fresh = mfwq::allocate_work_queue(QueueType::Multithreaded).unwrap();
    run_on_workers(fresh, pool_size());
    assert_eq!(
        mfwq::work_queue_thread_ids(fresh).unwrap().len(),
        pool_size()
    );
    mfwq::set_long_running(fresh, true).unwrap();
    run_on_workers(fresh, 2 * pool_size());
    assert_eq!(
        mfwq::work_queue_thread_ids(fresh).unwrap().len(),
        2 * pool_size()
    );
    // Set before the first put: the pool starts at twice its size.
    run_on_workers(pool, 2 * pool_size());

    // A serial queue keeps its single thread: one item at a time.
    mfwq::set_long_running(QueueId::RT, true).unwrap();
    let running = Arc::new(common::Concurrency::default());
    let (sender, receiver) = mpsc::channel();
    for _ in 0..8 {
        let running = running.clone();
        let sender = sender.clone();
        mfwq::spawn(QueueId::RT, move || {
            let _inside = running.enter();
            common::busy(std::time::Duration::from_millis(2));
            sender.send(()).unwrap();
        })
        .unwrap();
    }
    recv_n(&receiver, 8);
    assert_eq!(running.max(), 1);
    assert_eq!(mfwq::work_queue_thread_ids(QueueId::RT).unwrap().len(), 1);
    mfwq::unlock_work_queue(pool).unwrap();
    mfwq::unlock_work_queue(fresh).unwrap();
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Happened {
    Init,
    Start,
    Complete,
}

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<(Happened, std::thread::ThreadId)>>,
}

impl Recorder {
    fn push(&self, event: Happened) {
        self.events
            .lock()
            .unwrap()
            .push((event, std::thread::current().id()));
    }

    fn take(&self) -> Vec<(Happened, std::thread::ThreadId)> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }
}

impl PlatformEvents for Recorder {
    fn initialization_complete(&self) {
        self.push(Happened::Init);
    }
    fn shutdown_start(&self) {
        self.push(Happened::Start);
    }
    fn shutdown_complete(&self) {
        self.push(Happened::Complete);
    }
}

#[test]
fn platform_events_fire_once_each_in_order_on_the_calling_thread() {
    let _serial = common::serial();
    let recorder = Arc::new(Recorder::default());
    let listener: Arc<dyn PlatformEvents> = recorder.clone();
    mfwq::register_platform_events(listener.clone()).unwrap();
    mfwq::register_platform_events(listener.clone()).unwrap(); // no second entry
    let me = std::thread::current().id();

    mfwq::startup(mfwq::MF_VERSION).unwrap();
    mfwq::rtwq_startup().unwrap();
    assert_eq!(
        recorder.take(),
        [(Happened::Init, me)],
        "only the outermost startup"
    );
    mfwq::shutdown().unwrap();
    assert_eq!(recorder.take(), [], "a nested shutdown fires nothing");
    mfwq::shutdown().unwrap();
    assert_eq!(
        recorder.take(),
        [(Happened::Start, me), (Happened::Complete, me)]
    );
    mfwq::shutdown().unwrap(); // nothing started: nothing fires
    assert_eq!(recorder.take(), []);

    // From another thread: the events run on that thread.
    let other = std::thread::spawn(|| {
        mfwq::rtwq_startup().unwrap();
        mfwq::shutdown().unwrap();
        std::thread::current().id()
    })
    .join()
    .unwrap();
    assert_eq!(
        recorder.take(),
        [
            (Happened::Init, other),
            (Happened::Start, other),
            (Happened::Complete, other)
        ]
    );

    // Registered while started: no InitializationComplete after the fact.
    mfwq::unregister_platform_events(&listener).unwrap();
    assert_eq!(
        mfwq::unregister_platform_events(&listener),
        Err(Error::NotFound)
    );
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    assert_eq!(recorder.take(), [], "unregistered listeners hear nothing");
    mfwq::register_platform_events(listener.clone()).unwrap();
    assert_eq!(recorder.take(), []);
    mfwq::shutdown().unwrap();
    assert_eq!(
        recorder.take(),
        [(Happened::Start, me), (Happened::Complete, me)]
    );
    mfwq::unregister_platform_events(&listener).unwrap();
}

struct Panicker;

impl PlatformEvents for Panicker {
    fn initialization_complete(&self) {
        panic!("listener panic");
    }
    fn shutdown_start(&self) {
        panic!("listener panic at shutdown");
    }
}

/// Registers the RT queue with MMCSS from inside the event: the platform is up
/// and no lock is held.
struct Configurer(AtomicUsize);

impl PlatformEvents for Configurer {
    fn initialization_complete(&self) {
        mfwq::register_work_queue_with_mmcss(QueueId::RT, "Audio", 31, 0).unwrap();
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn shutdown_complete(&self) {
        // The platform is down: calls fail cleanly.
        assert_eq!(
            mfwq::work_queue_mmcss_class(QueueId::RT),
            Err(Error::Shutdown)
        );
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_panicking_listener_breaks_nothing_and_listeners_may_call_the_platform() {
    let _serial = common::serial();
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = reports.clone();
    mfwq::set_panic_hook(move |report| sink.lock().unwrap().push(report.clone()));
    let panicker: Arc<dyn PlatformEvents> = Arc::new(Panicker);
    let recorder = Arc::new(Recorder::default());
    let listener: Arc<dyn PlatformEvents> = recorder.clone();
    let configurer = Arc::new(Configurer(AtomicUsize::new(0)));
    let configurer_listener: Arc<dyn PlatformEvents> = configurer.clone();
    for registered in [&panicker, &listener, &configurer_listener] {
        mfwq::register_platform_events(registered.clone()).unwrap();
    }

    mfwq::startup(mfwq::MF_VERSION).expect("startup survives a panicking listener");
    assert!(mfwq::is_started());
    assert_eq!(
        recorder.take().len(),
        1,
        "later listeners still hear the event"
    );
    assert_eq!(configurer.0.load(Ordering::SeqCst), 1);
    assert_eq!(mfwq::work_queue_mmcss_class(QueueId::RT).unwrap(), "Audio");
    assert_eq!(mfwq::work_queue_mmcss_task_id(QueueId::RT).unwrap(), 31);
    // The platform works.
    let (sender, receiver) = mpsc::channel();
    mfwq::spawn(QueueId::MULTITHREADED, move || sender.send(()).unwrap()).unwrap();
    recv(&receiver);
    mfwq::shutdown().unwrap();
    assert!(!mfwq::is_started());
    assert_eq!(recorder.take().len(), 2);
    assert_eq!(configurer.0.load(Ordering::SeqCst), 2);

    let reports = reports.lock().unwrap().clone();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[0].queue, QueueId::UNDEFINED);
    assert!(reports[0].message.contains("listener panic"));
    for registered in [&panicker, &listener, &configurer_listener] {
        mfwq::unregister_platform_events(registered).unwrap();
    }
}

#[test]
fn join_and_unjoin_are_not_implemented() {
    let _serial = common::serial();
    let _platform = mfwq::Platform::start().unwrap();
    assert_eq!(
        mfwq::join_work_queue(QueueId::IO, 5),
        Err(Error::NotImplemented)
    );
    assert_eq!(
        mfwq::unjoin_work_queue(QueueId::IO, 1),
        Err(Error::NotImplemented)
    );
    assert_eq!(Error::NotImplemented.hresult(), mfwq::HResult::E_NOTIMPL);
}

/// Re-runs the rights-dependent tests in child processes that cannot raise
/// priority: `RLIMIT_RTPRIO` and `RLIMIT_NICE` 0 and (as root) `CAP_SYS_NICE`
/// dropped from the bounding set before exec, so the new image lacks it.
#[test]
fn scheduling_without_the_right_falls_back() {
    if without_right() {
        return; // this is a child already
    }
    let _serial = common::serial();
    use std::os::unix::process::CommandExt;
    for test in [
        "pro_audio_runs_fifo_or_falls_back",
        "other_classes_get_a_raised_nice_and_capture_round_robin",
        "platform_registration_covers_every_platform_queue",
        "deadlines_are_recorded_applied_and_cancelled",
    ] {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(NO_RIGHT_ENV, "1");
        // SAFETY: only async-signal-safe system calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                let zero = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_RTPRIO, &zero);
                libc::setrlimit(libc::RLIMIT_NICE, &zero);
                const CAP_SYS_NICE: libc::c_ulong = 23;
                // Fails harmlessly where we had no capabilities to begin with.
                libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0);
                Ok(())
            });
        }
        let output = command.output().expect("run the test binary");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stdout.contains("test result: ok. 1 passed"),
            "{test} without the right failed:\n{stdout}\n{stderr}"
        );
    }
}
