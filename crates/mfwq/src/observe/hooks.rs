//! The hooks the other layers call. Each checks the mode with one relaxed
//! load and does nothing more when nothing observes; the work happens in a
//! `#[cold]` function beside it. `off.rs` has the same functions, empty, for
//! builds without the `observe` feature.

use std::sync::atomic::Ordering;

use super::clock;
use super::event::{Event, KeyStep, Keyed, Label, ShutdownPhase};
use super::record::{emit, emit_at, intern};
use super::session::{MODE, STATS, TRACE};
use super::stats;
use crate::ids::QueueId;

pub(crate) use super::session::{flush, on_shutdown_complete, on_startup};

/// Whether anything observes: statistics, a trace, or both.
#[inline]
pub(crate) fn enabled() -> bool {
    MODE.load(Ordering::Relaxed) != 0
}

/// Whether a trace is being recorded.
#[inline]
pub(crate) fn tracing() -> bool {
    MODE.load(Ordering::Relaxed) & TRACE != 0
}

#[inline]
fn counting() -> bool {
    MODE.load(Ordering::Relaxed) & STATS != 0
}

/// An item identified by `item` is offered to `queue`: recorded; returns
/// its put time for [`begin`], and whether statistics count it (decided
/// here, once, so that its put, start and end are counted all or not at all
/// even if statistics are switched meanwhile).
pub(crate) fn put(queue: QueueId, item: u64, priority: i8) -> (u64, bool) {
    let ticks = clock::raw();
    if tracing() {
        emit_at(
            ticks,
            Event::Put {
                queue,
                item,
                priority,
            },
        );
    }
    (ticks, counting())
}

/// The queue accepted an item [`put`] said to count.
#[inline]
pub(crate) fn accepted(queue: QueueId) {
    stats::count_put(queue);
}

/// The queue refused the item [`put`] offered.
#[cold]
pub(crate) fn refused(queue: QueueId, item: u64, hresult: i32, counted: bool) {
    if counted {
        stats::count_refused(queue);
    }
    if tracing() {
        emit(Event::Refused {
            queue,
            item,
            hresult,
        });
    }
}

/// A put refused before it became an item (the platform is down).
#[inline]
pub(crate) fn refused_call(queue: QueueId, hresult: i32) {
    if enabled() {
        refused_call_slow(queue, hresult);
    }
}

#[cold]
fn refused_call_slow(queue: QueueId, hresult: i32) {
    if counting() {
        stats::count_refused(queue);
    }
    if tracing() {
        emit(Event::RefusedCall { queue, hresult });
    }
}

/// A worker starts the item; returns the start time for [`end`]. `counted`
/// is what [`put`] said.
pub(crate) fn begin(
    queue: QueueId,
    item: u64,
    put_ticks: u64,
    status: i32,
    label: Label,
    counted: bool,
) -> u64 {
    let ticks = clock::raw();
    if counted {
        stats::count_start(queue, clock::nanos_between(put_ticks, ticks));
    }
    if tracing() {
        emit_at(
            ticks,
            Event::Begin {
                queue,
                item,
                status,
                label,
            },
        );
    }
    ticks
}

/// The item [`begin`] started has returned.
pub(crate) fn end(queue: QueueId, begin_ticks: u64, counted: bool) {
    let ticks = clock::raw();
    if tracing() {
        emit_at(ticks, Event::End);
    }
    if counted {
        stats::count_finish(queue, clock::nanos_between(begin_ticks, ticks));
    }
}

/// A worker thread of `queue` started or stopped.
#[inline]
pub(crate) fn worker(queue: QueueId, started: bool) {
    if enabled() {
        worker_slow(queue, started);
    }
}

#[cold]
fn worker_slow(queue: QueueId, started: bool) {
    let record = stats::queue(queue);
    // A worker of an earlier queue in the same slot, exiting late, no
    // longer counts (the slot's record now belongs to the new queue).
    if record.is_for(queue) {
        let threads = &record.threads;
        if started {
            threads.fetch_add(1, Ordering::Relaxed);
        } else {
            // A worker that started before observation began was never counted.
            let _ = threads.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |count| {
                count.checked_sub(1)
            });
        }
    }
    if tracing() {
        emit(Event::Worker { queue, started });
    }
}

/// Whether a new queue `queue` must be announced ([`queue_created`]):
/// something observes, or its slot has a record from an earlier queue that
/// must not be counted as this one's.
#[inline]
pub(crate) fn wants_queue_created(queue: QueueId) -> bool {
    enabled() || stats::has_record(queue)
}

/// A private queue was allocated under `name` (its kind and its threads'
/// name: "standard source-q10001", "serial q20002"). The caller asked
/// [`wants_queue_created`] first (it builds the name only then).
#[cold]
pub(crate) fn queue_created(queue: QueueId, name: &str) {
    stats::queue(queue).reset_for(queue, name);
    if tracing() {
        emit(Event::Queue {
            queue,
            created: true,
            name: intern(name),
        });
    }
}

/// A private queue's last lock went.
#[inline]
pub(crate) fn queue_unlocked(queue: QueueId) {
    if tracing() {
        emit(Event::Queue {
            queue,
            created: false,
            name: 0,
        });
    }
}

/// A timer, periodic callback or waiting item changed state.
#[inline]
pub(crate) fn key(what: Keyed, key: u64, step: KeyStep) {
    if tracing() {
        emit(Event::Key { what, key, step });
    }
}

/// A timer or waiting item whose callback names `queue` was cancelled.
#[inline]
pub(crate) fn cancelled(queue: QueueId) {
    if counting() {
        stats::queue(queue)
            .cancelled
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// A serial queue handed its next item to its target.
#[inline]
pub(crate) fn serial_hand_off(serial: QueueId, target: QueueId) {
    if tracing() {
        emit(Event::SerialHandOff { serial, target });
    }
}

/// A reply-mode callback replied on a serial queue.
#[inline]
pub(crate) fn reply(serial: QueueId) {
    if tracing() {
        emit(Event::Reply { serial });
    }
}

/// `queue` was registered with a real-time class: what was asked for and
/// what took effect.
#[inline]
pub(crate) fn realtime(queue: QueueId, requested: &str, applied: &str) {
    if enabled() {
        realtime_slow(queue, requested, applied);
    }
}

#[cold]
fn realtime_slow(queue: QueueId, requested: &str, applied: &str) {
    stats::queue(queue).set_realtime(format!("{requested} -> {applied}"));
    if tracing() {
        emit(Event::Realtime {
            queue,
            requested: intern(requested),
            applied: intern(applied),
        });
    }
}

/// A shutdown phase.
#[inline]
pub(crate) fn shutdown(phase: ShutdownPhase) {
    if tracing() {
        emit(Event::Shutdown(phase));
    }
}

/// User code panicked on `queue` at `site`.
#[inline]
pub(crate) fn panic(queue: QueueId, site: &'static str) {
    if tracing() {
        emit(Event::Panic { queue, site });
    }
}

/// A call refused as misuse; `fatal` misuse (checked mode aborts next)
/// writes the trace out before returning.
#[inline]
pub(crate) fn misuse(call: &'static str, hresult: i32, fatal: bool) {
    if tracing() {
        emit(Event::Misuse { call, hresult });
        if fatal {
            flush(std::time::Duration::from_secs(1));
        }
    }
}
