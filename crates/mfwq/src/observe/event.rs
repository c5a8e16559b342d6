//! The events the platform records: what happened, on which queue, to which
//! item. Plain data with no dependency, so that every layer can name them
//! whether or not the recorder is compiled in (the `observe` feature).

// Without the recorder (the `observe` feature off) nothing reads the fields.
#![cfg_attr(not(feature = "observe"), allow(dead_code))]

use crate::ids::QueueId;

/// What the platform was told to run, as the trace names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Label {
    /// A result's callback: the `IMFAsyncCallback*` (or the Rust callback's
    /// data pointer); 0 for a result with no callback (its event is set).
    Callback(usize),
    /// A Rust closure or future, by its type name.
    Rust(&'static str),
    /// A serial queue's step (the item it runs is recorded on its own).
    Serial,
}

/// Which step of the platform's shutdown an event marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShutdownPhase {
    /// `MFShutdown` was called for the last platform lock.
    Begin,
    /// New work is refused; the queues drain.
    Draining,
    /// Every queue is joined (or given up on at the timeout).
    Complete,
}

/// A timer, periodic callback or waiting item, by the key its caller holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keyed {
    /// A scheduled item (`MFScheduleWorkItem*`) or periodic callback.
    Timer,
    /// A waiting item (`MFPutWaitingWorkItem`).
    Wait,
}

/// One thing the platform did, as recorded by the thread that did it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    /// An item was offered to `queue` (`item` names it until it runs).
    Put {
        queue: QueueId,
        item: u64,
        priority: i8,
    },
    /// The queue refused the item offered by the last `Put` with this `item`.
    Refused {
        queue: QueueId,
        item: u64,
        hresult: i32,
    },
    /// A put refused before any item existed (platform down, bad id).
    RefusedCall { queue: QueueId, hresult: i32 },
    /// A worker starts the item (its callback's `Invoke`, the closure).
    Begin {
        queue: QueueId,
        item: u64,
        status: i32,
        label: Label,
    },
    /// The item returned (or unwound).
    End,
    /// A worker thread of `queue` started or stopped.
    Worker { queue: QueueId, started: bool },
    /// A private queue was allocated (`name` interned) or finally unlocked.
    Queue {
        queue: QueueId,
        created: bool,
        name: u32,
    },
    /// A timer or waiting item was registered, fired, or cancelled.
    Key {
        what: Keyed,
        key: u64,
        step: KeyStep,
    },
    /// A serial queue handed its next item to its target queue.
    SerialHandOff { serial: QueueId, target: QueueId },
    /// A reply-mode callback's reply released the serial queue.
    Reply { serial: QueueId },
    /// A queue was registered with a real-time class: what was asked for and
    /// what took effect (both interned).
    Realtime {
        queue: QueueId,
        requested: u32,
        applied: u32,
    },
    /// A shutdown phase.
    Shutdown(ShutdownPhase),
    /// User code panicked (or a C++ exception would have escaped) on `queue`.
    Panic { queue: QueueId, site: &'static str },
    /// A call the platform refused as misuse (the C ABI's invalid pointers,
    /// a checked-mode over-release): what was called and its HRESULT.
    Misuse { call: &'static str, hresult: i32 },
}

/// The step of a [`Event::Key`] event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyStep {
    Registered,
    Fired,
    Cancelled,
}

/// An event and when it happened (raw clock ticks, `clock.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Record {
    pub(crate) ticks: u64,
    pub(crate) event: Event,
}

// The ring's slot: keep it small, the rings are per thread.
const _: () = assert!(std::mem::size_of::<Record>() <= 56);
