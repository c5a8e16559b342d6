//! The idiomatic Rust API: queue handles with methods, a builder, typed
//! priorities, guards for everything that must be undone, join handles and
//! scoped work. The top layer: it uses everything below it (the C-shaped free
//! functions, which stay the 1:1 map of the C API); nothing below imports it.
//!
//! One file per concept: `queue.rs` (the `Queue` handle, `OwnedQueue`,
//! `Priority`), `builder.rs`, `guards.rs` (everything that must be undone),
//! `join.rs`, `scope.rs`, and the futures: `executor.rs` (`spawn_future`,
//! `block_on`), `sleep.rs`, `interval.rs`, `event_future.rs`.

pub(crate) mod builder;
pub(crate) mod event_future;
pub(crate) mod executor;
pub(crate) mod guards;
pub(crate) mod interval;
pub(crate) mod join;
pub(crate) mod queue;
pub(crate) mod repeat;
pub(crate) mod scope;
pub(crate) mod sleep;

pub use builder::{QueueBuilder, QueueKind};
pub use guards::{
    DeadlineGuard, EventWait, Periodic, PlatformEventsRegistration, RealtimeRegistration, Scheduled,
};
pub use join::{JoinError, JoinHandle};
pub use queue::{OwnedQueue, Priority, Queue};
pub use repeat::Repeating;
pub use scope::{scope, Scope};

// Futures on queues: spawn_future (executor.rs), sleep (sleep.rs), interval
// (interval.rs), awaiting an event (event_future.rs); no runtime needed.
pub use event_future::WaitAsync;
pub use executor::{block_on, spawn_future, spawn_future_with_priority, TaskHandle};
pub use interval::{interval, interval_at, Interval};
pub use sleep::{sleep, sleep_until, Sleep};

use crate::sync::store_waker;

/// The poll of a future whose outcome another thread decides (a sleep's
/// timer, an event wait): ready with the outcome once there is one, else
/// pending with the polling task's waker stored (replaced only when the task
/// changed), so that the decider wakes the right task.
fn poll_decided(
    outcome: Option<crate::Result<()>>,
    waker: &mut Option<std::task::Waker>,
    current: &std::task::Waker,
) -> std::task::Poll<crate::Result<()>> {
    match outcome {
        Some(outcome) => std::task::Poll::Ready(outcome),
        None => {
            store_waker(waker, current);
            std::task::Poll::Pending
        }
    }
}
