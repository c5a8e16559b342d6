//! MMCSS-style real-time queues, deadlines and the long-running hint
//! (docs/behaviour.md, sections "Shared queues, MMCSS and real-time
//! scheduling" and "Deadlines, long-running hint, join and unjoin"). Platform
//! events, a matter of the platform's lifecycle, are in `platform/events.rs`.
//!
//! Linux has no MMCSS: a registration is bookkeeping (the getters round-trip
//! class, task id and priority) plus real Linux scheduling for the queue's
//! worker threads, with a fallback where the process may not raise them that
//! far (docs/behaviour.md#d19). This file is the map and the re-exports only;
//! each concept has a file of its own.
//!
//! | file | concept |
//! | --- | --- |
//! | `policy.rs` | class → policy: the MMCSS class table, [`SchedPolicy`], [`AppliedScheduling`] (pure, no system call) |
//! | `apply.rs` | applying one requested policy to a thread with its fallback chain, logging a fallback once; the probe thread for a queue with no worker yet |
//! | `state.rs` | per-queue records under one lock (`STATE`), keyed to one queue of one epoch; turning a record into the policy its threads get |
//! | `mmcss.rs` | register / unregister (synchronous, Begin/End, platform-wide) |
//! | `query.rs` | the getters: class, task id, priority, [`applied_scheduling`], thread ids |
//! | `deadline.rs` | `RtwqSetDeadline(2)` / `RtwqCancelDeadline`: `SCHED_DEADLINE` stacked over the MMCSS policy |
//! | `hints.rs` | the long-running hint (pool growth) and join/unjoin (`E_NOTIMPL`) |
//! | `memlock.rs` | opt-in [`lock_memory`] / [`unlock_memory`] (`mlockall`), for the program to call at startup |
//! | `os.rs` / `os_fallback.rs` | the system calls (Linux), and a stand-in that applies nothing elsewhere |
//!
//! How a change reaches the threads: an entry point (`mmcss.rs`,
//! `deadline.rs`) resolves the queue, then under the state lock changes the
//! record and calls `state::update_policy`, which builds an `apply::Policy`
//! and hands it to the queue's core (`QueueCore::set_thread_policy`: running
//! workers get it by thread id, workers that start later apply it themselves;
//! `sched/README.md`, "Thread policy"). With the lock released,
//! `state::finish` probes a queue that has no worker yet (so that
//! [`applied_scheduling`] can already answer) and logs a fallback. Lock order:
//! the state lock, then the core's `threads` mutex; nothing else runs under
//! the state lock.
//!
//! Registrations, deadlines and the long-running hint belong to one
//! startup-to-shutdown period: after the last shutdown and a new startup every
//! queue starts unregistered (the state asks the platform to be told of the
//! end of each epoch, `platform::events::on_shutdown_complete`).

mod apply;
mod deadline;
mod hints;
mod memlock;
mod mmcss;
#[cfg(target_os = "linux")]
mod os;
#[cfg(not(target_os = "linux"))]
#[path = "os_fallback.rs"]
mod os;
mod policy;
mod query;
mod state;

pub use deadline::{
    cancel_deadline, set_deadline, set_deadline2, work_queue_deadline, Deadline, DeadlineRequest,
};
pub use hints::{
    is_long_running, join_work_queue, realtime_anticipation, set_long_running,
    set_realtime_anticipation, unjoin_work_queue,
};
pub use memlock::{lock_memory, unlock_memory, MemoryLock, MemoryLockError};
pub use mmcss::{
    begin_register_work_queue_with_mmcss, begin_unregister_work_queue_with_mmcss,
    end_register_work_queue_with_mmcss, end_unregister_work_queue_with_mmcss,
    register_platform_with_mmcss, register_work_queue_with_mmcss, unregister_platform_from_mmcss,
    unregister_work_queue_from_mmcss,
};
pub use policy::{scheduling_for_class, AppliedScheduling, SchedPolicy};
pub use query::{
    applied_scheduling, work_queue_anticipation, work_queue_mmcss_class,
    work_queue_mmcss_class_name, work_queue_mmcss_priority, work_queue_mmcss_task_id,
    work_queue_thread_ids, Anticipation,
};
