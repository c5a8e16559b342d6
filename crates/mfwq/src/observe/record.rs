//! What the recorder records, and where: one event type, and one wait-free
//! ring per recording thread.
//!
//! A thread that records an event pushes it into its own ring (an
//! `rtrb` single-producer/single-consumer buffer made for exactly this:
//! a producer that must never block on its consumer). The writer thread
//! (`writer.rs`) is every ring's consumer: it drains them every few
//! milliseconds, off the hot path, and encodes what it finds. A ring is made
//! the first time its thread records in a recording session and registered
//! under one mutex (the only lock on the path, taken once per thread and
//! session); a full ring drops the event and counts it, so a stalled writer
//! costs detail, never latency. Events that race the end of a session may be
//! left out; everything recorded before `stop` returns is in the trace.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::event::{Event, Record};
use crate::ids::QueueId;

/// Events per thread ring: 3.5 MB a thread at 56 bytes an event, enough
/// for 5 ms of the fastest put loop between two drains.
const RING_EVENTS: usize = 64 * 1024;

/// The consumer side of one thread's ring, as the writer holds it.
pub(crate) struct RingReader {
    pub(crate) consumer: rtrb::Consumer<Record>,
    /// The recording thread's Linux thread id and name.
    pub(crate) tid: i32,
    pub(crate) thread_name: String,
    /// The queue the thread works for, if it is a worker.
    pub(crate) queue: Option<QueueId>,
    /// Events the thread could not record because its ring was full.
    pub(crate) dropped: Arc<AtomicU64>,
    /// The writer's sequence for this ring (0 until it has described it).
    pub(crate) sequence: u32,
    /// The recording session the ring was made for.
    pub(crate) session: u64,
}

/// The rings of the current session, waiting for the writer; taken and
/// given back by each drain.
pub(crate) static RINGS: Mutex<Vec<RingReader>> = Mutex::new(Vec::new());

/// Events dropped by full rings in the current (or last) session, as the
/// trace writer last counted them: for the statistics.
pub(crate) static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The recording session: 0 when nothing records. A ring made in one session
/// is abandoned by the next (its thread makes a new one).
pub(crate) static SESSION: AtomicU64 = AtomicU64::new(0);

struct ThreadRing {
    session: u64,
    producer: rtrb::Producer<Record>,
    dropped: Arc<AtomicU64>,
}

thread_local! {
    static RING: RefCell<Option<ThreadRing>> = const { RefCell::new(None) };
}

/// Records `event` on this thread's ring if a session records. Never blocks
/// on the writer; called only when `super::tracing()` said yes.
#[inline]
pub(crate) fn emit(event: Event) {
    emit_at(super::clock::raw(), event);
}

/// [`emit`] with the time already read (the item hooks read it once for the
/// statistics and the trace).
#[inline]
pub(crate) fn emit_at(ticks: u64, event: Event) {
    let session = SESSION.load(Ordering::Acquire);
    if session == 0 {
        return;
    }
    // A thread whose locals are gone (it is exiting) records nothing more.
    let _ = RING.try_with(|ring| {
        // No user code and no recording runs while the ring is borrowed, so
        // this borrow never nests.
        let Ok(mut ring) = ring.try_borrow_mut() else {
            return;
        };
        if ring.as_ref().is_none_or(|ring| ring.session != session) {
            *ring = Some(register(session));
        }
        if let Some(ring) = ring.as_mut() {
            if ring.producer.push(Record { ticks, event }).is_err() {
                ring.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
}

/// Makes this thread's ring for `session` and hands its consumer to the
/// writer.
#[cold]
fn register(session: u64) -> ThreadRing {
    let (producer, consumer) = rtrb::RingBuffer::new(RING_EVENTS);
    let dropped = Arc::new(AtomicU64::new(0));
    let thread = std::thread::current();
    RINGS.lock().push(RingReader {
        consumer,
        tid: crate::sched::current_tid(),
        thread_name: thread.name().unwrap_or("").to_owned(),
        queue: crate::sched::current_queue(),
        dropped: Arc::clone(&dropped),
        sequence: 0,
        session,
    });
    ThreadRing {
        session,
        producer,
        dropped,
    }
}

/// Strings that cannot be `'static` (queue names, real-time classes and
/// policies), kept for the session's writer: a few per queue, never per item.
static STRINGS: Mutex<Vec<Box<str>>> = Mutex::new(Vec::new());

/// A new session starts: the strings interned for earlier ones go.
pub(crate) fn start_session() {
    STRINGS.lock().clear();
    RINGS.lock().clear();
}

/// Interns `text` for an event; the writer reads it back with [`string`].
#[cold]
pub(crate) fn intern(text: &str) -> u32 {
    let mut strings = STRINGS.lock();
    if let Some(index) = strings.iter().rposition(|known| &**known == text) {
        return index as u32;
    }
    strings.push(text.into());
    (strings.len() - 1) as u32
}

/// The string [`intern`] returned `index` for.
pub(crate) fn string(index: u32) -> String {
    STRINGS
        .lock()
        .get(index as usize)
        .map_or_else(String::new, |text| text.to_string())
}
