//! Loom model of the worker loop with the platform's own hooks: a
//! `QueueCore<Work>` runs `Work` items, so its workers call the real
//! `worker_started` / `worker_idle` / `worker_stopped` hooks and batch their
//! result-lock releases in the real accounting (`object/accounting.rs`, whose
//! statics and thread-local batch come from the `crate::sync` facade and are
//! fresh for every execution). `ci/loom.sh`, or
//! `RUSTFLAGS="--cfg mfwq_loom" cargo test -p mfwq --lib --release loom_work`.
//!
//! The scheduler's own models (`sched/loom_tests.rs`) check push, park, wake
//! and close with a test job; the serial queues' models (`serial.rs`) run
//! `Work` too, so they go through these hooks as well.

use crate::ids::{Band, QueueId};
use crate::object::accounting::{lock_count, on_shutdown, on_startup, ResultLock};
use crate::sync::model;
use crate::sync::{lock, Arc, Condvar, Mutex};
use crate::work::{QueueCore, Work};

/// A worker releases a result's lock (batched on the worker), then the
/// platform shuts down and starts again while the worker goes idle and hands
/// its batch over (`worker_idle`), or exits (`worker_stopped`): the lock,
/// released before the shutdown, is gone after it — either cached and dropped
/// by the shutdown, or handed over late and recognised by its epoch — so the
/// count after the restart is the startup lock alone, and 0 after the next
/// shutdown.
///
/// Catches: `give_back` caching a batch without comparing its epoch with the
/// cache word's (a batch from before the restart is cached after it: the
/// count stays one too high).
#[test]
fn loom_work_worker_batch_racing_a_restart_is_counted_once() {
    model(|| {
        on_startup();
        let core = QueueCore::new(QueueId(0x10001), "loom".into(), 1, None);
        let released = Arc::new((Mutex::new(false), Condvar::new()));
        let result_lock = ResultLock::acquire();
        assert_eq!(lock_count(), 2, "startup + one result");
        let task = {
            let released = Arc::clone(&released);
            Work::closure(move || {
                drop(result_lock);
                *lock(&released.0) = true;
                released.1.notify_all();
            })
        };
        assert!(core.push(task, Band::Normal).is_ok());
        {
            let mut done = lock(&released.0);
            while !*done {
                done = released.1.wait(done).unwrap();
            }
        }
        // The release happened before this shutdown; the worker's hand-over
        // of its batch races the restart.
        on_shutdown();
        on_startup();
        core.close();
        core.join();
        assert_eq!(lock_count(), 1, "the startup lock only");
        on_shutdown();
        assert_eq!(lock_count(), 0);
    });
}
