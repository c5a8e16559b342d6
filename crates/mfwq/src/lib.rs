//! # mfwq — the Media Foundation work-queue platform, in Rust
//!
//! The asynchronous work-queue platform of Microsoft Media Foundation (`mfapi.h`)
//! and its RTWorkQ twin, rebuilt for Linux: platform startup and shutdown,
//! platform and private work queues, async results, callbacks, put and invoke,
//! with the behaviour real Windows shows. The C ABI crate (`mfwq-ffi`) is a thin
//! translation layer over this one.
//!
//! ## The Rust API
//!
//! [`Queue`] is a `Copy` handle with methods for everything that takes a
//! queue (platform queues are constants: [`Queue::MULTITHREADED`], …);
//! [`OwnedQueue`] keeps a private queue alive and unlocks it on drop;
//! [`QueueBuilder`] sets its kind, real-time class, deadline, long-running
//! hint and thread names. [`Queue::spawn`] returns a [`JoinHandle`] to
//! `join()` or `.await`; [`scope`] runs closures that borrow from the stack;
//! whatever must be undone comes back as a guard ([`Scheduled`],
//! [`EventWait`], [`Periodic`], [`Repeating`] (a closure at any period,
//! [`Queue::every`]), [`RealtimeRegistration`], [`DeadlineGuard`],
//! [`PlatformEventsRegistration`]) that undoes it on drop. [`Priority`] and
//! the typed keys replace the C API's integers.
//!
//! ```
//! use std::time::Duration;
//! use mfwq::{Queue, QueueBuilder};
//!
//! let _platform = mfwq::Platform::start()?;
//! let render = QueueBuilder::new().realtime("Pro Audio").deadline(Duration::from_millis(2)).build()?;
//! let mut block = [0.0f32; 128];
//! mfwq::scope(|s| s.spawn(&render, || block.fill(0.5)))?;
//! let peak = Queue::MULTITHREADED.spawn(move || block.iter().fold(0.0f32, |a, b| a.max(*b)))?;
//! assert_eq!(peak.join(), Ok(0.5));
//! # Ok::<(), mfwq::Error>(())
//! ```
//!
//! ## The C-shaped layer
//!
//! Underneath, free functions keyed by [`QueueId`] map the C API one to one
//! (each carries its C name as a doc alias):
//!
//! ```
//! use std::sync::mpsc;
//! use mfwq::{QueueId, QueueType};
//!
//! let _platform = mfwq::Platform::start()?;             // MFStartup / MFShutdown
//! let queue = mfwq::WorkQueue::new(QueueType::Standard)?; // MFAllocateWorkQueue / MFUnlockWorkQueue
//! let (sender, receiver) = mpsc::channel();
//! let callback = mfwq::callback(move |result| {          // IMFAsyncCallback::Invoke
//!     sender.send(*result.state_as::<&str>().unwrap()).unwrap();
//! });
//! queue.put(callback.clone(), Some(std::sync::Arc::new("hello")))?; // MFPutWorkItem
//! mfwq::put_work_item_with_priority(QueueId::MULTITHREADED, 1, callback, Some(std::sync::Arc::new("high")))?;
//! let mut got = vec![receiver.recv().unwrap(), receiver.recv().unwrap()];
//! got.sort();
//! assert_eq!(got, ["hello", "high"]);
//! # Ok::<(), mfwq::Error>(())
//! ```
//!
//! See `ARCHITECTURE.md` in the repository for the design and its invariants.

#![warn(missing_docs)]

// Layers, lowest first; a module imports only from the layers below it
// (ARCHITECTURE.md, "Code map"):
// - base: error, ids, sync (the loom facade), class_name;
// - sched: the scheduler, generic over its jobs;
// - runtime support: observe (traces and statistics, fed by every layer
//   above through its hooks), panic, event, handle;
// - object: the object model (results, callbacks, COM layout, accounting);
// - work: what the queues run (work items, serial queues);
// - platform: lifecycle, registry, routing, put and invoke, platform events;
// - features: timer (scheduled, periodic, waiting items), begin_end,
//   realtime, queue (the allocation API);
// - api: the idiomatic Rust API (queue handles, builder, guards, join
//   handles, scopes) over all of the above; nothing below imports it.
mod api;
mod begin_end;
mod class_name;
mod error;
mod event;
#[doc(hidden)]
pub mod handle;
mod ids;
mod object;
pub mod observe;
mod panic;
mod platform;
mod queue;
mod realtime;
mod sched;
mod sync;
mod timer;
mod work;

// The COM object model serves the C ABI (`mfwq-ffi`): public for that crate
// only, hidden from the Rust API. It lives in the core because the core's own
// objects have its layout: a result *is* an `MFASYNCRESULT`, whose `hEvent`
// is a handle from `handle`.
#[doc(hidden)]
pub use object::com;

pub use api::{
    block_on, interval, interval_at, scope, sleep, sleep_until, spawn_future,
    spawn_future_with_priority, DeadlineGuard, EventWait, Interval, JoinError, JoinHandle,
    OwnedQueue, Periodic, PlatformEventsRegistration, Priority, Queue, QueueBuilder, QueueKind,
    RealtimeRegistration, Repeating, Scheduled, Scope, Sleep, TaskHandle, WaitAsync,
};
pub use begin_end::{begin, begin_async, AsyncOperation, OperationFuture};
pub use class_name::ClassName;
pub use error::{to_hresult, Error, HResult, Result};
pub use event::Event;
pub use ids::{CallbackFlags, QueueId, QueueType, MAX_PRIVATE_QUEUES};
pub use object::callback::{
    callback, callback_on, callback_with, AsyncCallback, Callback, CallbackParams,
};
pub use object::checked::{checked_mode, set_checked_mode, CHECKED_ENV};
pub use object::result::{AsyncResult, State};
pub use panic::{clear_panic_hook, set_panic_hook, PanicReport, PanicSite};
pub use platform::dispatch::{
    invoke_callback, put_com_work_item, put_result, put_result_with_priority, put_work_item,
    put_work_item_with_priority, spawn, spawn_with_priority, IntoAsyncResult,
};
pub use platform::events::{register_platform_events, unregister_platform_events, PlatformEvents};
pub use platform::{
    ensure_started, is_started, is_supported_version, lock_platform, platform_lock_count,
    rtwq_startup, set_shutdown_timeout, shutdown, shutdown_first, shutdown_timeout, startup,
    unlock_platform, Platform, DEFAULT_SHUTDOWN_TIMEOUT, MF_API_VERSION, MF_VERSION,
    SHUTDOWN_GRACE, SHUTDOWN_TIMEOUT_ENV,
};
pub use queue::{
    allocate_serial_work_queue, allocate_window_queue, allocate_work_queue, lock_shared_work_queue,
    lock_shared_work_queue_named, lock_work_queue, private_queue_count, unlock_work_queue,
    work_queue_type, WorkQueue,
};
pub use realtime::{
    applied_scheduling, begin_register_work_queue_with_mmcss,
    begin_unregister_work_queue_with_mmcss, cancel_deadline, end_register_work_queue_with_mmcss,
    end_unregister_work_queue_with_mmcss, is_long_running, join_work_queue, lock_memory,
    realtime_anticipation, register_platform_with_mmcss, register_work_queue_with_mmcss,
    scheduling_for_class, set_deadline, set_deadline2, set_long_running, set_realtime_anticipation,
    unjoin_work_queue, unlock_memory, unregister_platform_from_mmcss,
    unregister_work_queue_from_mmcss, work_queue_anticipation, work_queue_deadline,
    work_queue_mmcss_class, work_queue_mmcss_class_name, work_queue_mmcss_priority,
    work_queue_mmcss_task_id, work_queue_thread_ids, Anticipation, AppliedScheduling, Deadline,
    DeadlineRequest, MemoryLock, MemoryLockError, SchedPolicy,
};
pub use timer::wait::put_waiting_work_item;
pub use timer::{
    add_periodic_callback, cancel_work_item, delay_from_mf_timeout, remove_periodic_callback,
    schedule_com_work_item, schedule_result, schedule_work_item, timer_periodicity, PeriodicKey,
    WorkItemKey,
};

/// The queue a callback is running on, when called from inside `invoke` (or a
/// spawned task); `None` on threads that are not queue threads.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// assert_eq!(mfwq::current_queue(), None);
/// let (sender, receiver) = std::sync::mpsc::channel();
/// mfwq::spawn(mfwq::QueueId::RT, move || sender.send(mfwq::current_queue()).unwrap())?;
/// assert_eq!(receiver.recv().unwrap(), Some(mfwq::QueueId::RT));
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn current_queue() -> Option<QueueId> {
    sched::current_queue()
}

/// The README's Rust examples are compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
