//! The idiomatic Rust API: queue handles with methods, a builder, typed
//! priorities, guards for everything that must be undone, join handles and
//! scoped work. The top layer: it uses everything below it (the C-shaped free
//! functions, which stay the 1:1 map of the C API); nothing below imports it.
//!
//! One file per concept: `queue.rs` (the `Queue` handle), `priority.rs`,
//! `owned.rs` (`OwnedQueue` and what makes one), `realtime.rs` (a queue's
//! MMCSS registration, deadline and hints, with their guards), `builder.rs`,
//! `guards.rs` (the other things that must be undone), `repeat.rs`,
//! `join.rs`, `scope.rs`, and the futures: `executor.rs` (`spawn_future`,
//! `block_on`), `sleep.rs`, `interval.rs`, `event_future.rs`. This file only
//! names them: nothing in it is used by the files beside it.

pub(crate) mod builder;
pub(crate) mod event_future;
pub(crate) mod executor;
pub(crate) mod guards;
pub(crate) mod interval;
pub(crate) mod join;
pub(crate) mod owned;
pub(crate) mod priority;
pub(crate) mod queue;
pub(crate) mod realtime;
pub(crate) mod repeat;
pub(crate) mod scope;
pub(crate) mod sleep;

pub use builder::{QueueBuilder, QueueKind};
pub use guards::{EventWait, Periodic, PlatformEventsRegistration, Scheduled};
pub use join::{JoinError, JoinHandle};
pub use owned::OwnedQueue;
pub use priority::Priority;
pub use queue::Queue;
pub use realtime::{DeadlineGuard, RealtimeRegistration};
pub use repeat::Repeating;
pub use scope::{scope, Scope};

// Futures on queues: spawn_future (executor.rs), sleep (sleep.rs), interval
// (interval.rs), awaiting an event (event_future.rs); no runtime needed.
pub use event_future::WaitAsync;
pub use executor::{block_on, spawn_future, spawn_future_with_priority, TaskHandle};
pub use interval::{interval, interval_at, Interval};
pub use sleep::{sleep, sleep_until, Sleep};
