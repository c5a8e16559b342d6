//! The trace writer: one thread per recording session that drains every
//! thread's ring, turns the events into Perfetto packets and appends them to
//! the trace file.
//!
//! Tracks: one process track; one thread track per recording thread (named
//! after the thread, whose name says its queue: `mfwq-MULTITHREADED-1`), each
//! with its own packet sequence; one counter track per queue for its depth,
//! sampled at every drain from the statistics. A put is an instant on the
//! putting thread's track that starts a flow; the worker's slice for the item
//! ends it, so the trace viewer draws an arrow from each put to its invoke.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use rustc_hash::FxHashMap as HashMap;

use super::clock::Anchor;
use super::event::{Event, KeyStep, Keyed, Label, Record, ShutdownPhase};
use super::perfetto::{Encoder, TYPE_COUNTER, TYPE_INSTANT, TYPE_SLICE_BEGIN, TYPE_SLICE_END};
use super::record::{string, RingReader, RINGS};
use super::stats;
use crate::error::HResult;
use crate::ids::QueueId;

/// How often the writer drains the rings.
const DRAIN_INTERVAL: Duration = Duration::from_millis(5);

const PROCESS_UUID: u64 = 1;
/// Thread tracks are numbered from here by their sequence: small numbers,
/// one-byte varints in every event.
const THREAD_UUID_BASE: u64 = 16;
const COUNTER_UUID_BASE: u64 = 1 << 40;
/// The writer's own packets (descriptors, counters).
const WRITER_SEQUENCE: u32 = 1;

/// What a finished recording wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceTotals {
    /// Events written.
    pub events: u64,
    /// Events lost because a thread's buffer was full.
    pub dropped: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The name of the instant that ends a trace with dropped events.
pub const DROPPED_EVENT: &str = "mfwq: events dropped (a thread's buffer was full)";

/// Events dropped in the current (or last) session, for the statistics.
pub(crate) static DROPPED: AtomicU64 = AtomicU64::new(0);

#[derive(Default)]
struct Requests {
    stop: bool,
    /// The writer has given up (an I/O error): nobody will flush.
    failed: bool,
    flush_asked: u64,
    flush_done: u64,
}

/// What the recording API and the writer thread share.
pub(crate) struct Control {
    requests: Mutex<Requests>,
    changed: Condvar,
}

impl Control {
    pub(crate) fn new() -> Arc<Control> {
        Arc::new(Control {
            requests: Mutex::new(Requests::default()),
            changed: Condvar::new(),
        })
    }

    pub(crate) fn stop(&self) {
        self.requests.lock().stop = true;
        self.changed.notify_all();
    }

    fn failed(&self) {
        self.requests.lock().failed = true;
        self.changed.notify_all();
    }

    /// Asks for everything recorded so far to reach the file; waits at most
    /// `limit`.
    pub(crate) fn flush(&self, limit: Duration) {
        let mut requests = self.requests.lock();
        requests.flush_asked += 1;
        let ticket = requests.flush_asked;
        self.changed.notify_all();
        let deadline = std::time::Instant::now() + limit;
        while requests.flush_done < ticket && !requests.stop && !requests.failed {
            if self.changed.wait_until(&mut requests, deadline).timed_out() {
                break;
            }
        }
    }
}

/// The writer thread's state.
pub(crate) struct Writer {
    session: u64,
    out: BufWriter<File>,
    anchor: Anchor,
    pid: i32,
    buf: Vec<u8>,
    next_sequence: u32,
    depths: HashMap<u32, i64>,
    names: HashMap<u32, String>,
    /// "put <queue>" per queue, and slice names per Rust type (by the
    /// address of its `'static` name): the hot events allocate nothing.
    put_names: HashMap<u32, String>,
    type_names: HashMap<usize, String>,
    totals: TraceTotals,
    retired_dropped: u64,
}

impl Writer {
    pub(crate) fn new(file: File, session: u64) -> Writer {
        let mut writer = Writer {
            session,
            out: BufWriter::with_capacity(1 << 20, file),
            anchor: Anchor::now(),
            pid: std::process::id() as i32,
            buf: Vec::with_capacity(1 << 20),
            next_sequence: WRITER_SEQUENCE + 1,
            depths: HashMap::default(),
            names: HashMap::default(),
            put_names: HashMap::default(),
            type_names: HashMap::default(),
            totals: TraceTotals::default(),
            retired_dropped: 0,
        };
        let name = std::env::current_exe()
            .ok()
            .and_then(|exe| {
                exe.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "process".into());
        let pid = writer.pid;
        Encoder::new(&mut writer.buf).message(1, |packet| {
            packet
                .uint(10, u64::from(WRITER_SEQUENCE))
                .uint(13, 1)
                .message(60, |track| {
                    track.uint(1, PROCESS_UUID).message(3, |process| {
                        process.int(1, i64::from(pid)).string(6, &name);
                    });
                });
        });
        writer
    }

    /// Runs the session until `control` says stop; returns what it wrote.
    pub(crate) fn run(self, control: &Control) -> io::Result<TraceTotals> {
        let outcome = self.run_until_stopped(control);
        if outcome.is_err() {
            super::session::writer_failed();
            control.failed();
        }
        outcome
    }

    fn run_until_stopped(mut self, control: &Control) -> io::Result<TraceTotals> {
        let mut flushed = 0;
        loop {
            let (stop, flush) = {
                let mut requests = control.requests.lock();
                if !requests.stop && requests.flush_asked == requests.flush_done {
                    control.changed.wait_for(&mut requests, DRAIN_INTERVAL);
                }
                (requests.stop, requests.flush_asked)
            };
            let outcome = self.drain();
            let outcome = outcome.and_then(|()| {
                if stop || flush > flushed {
                    self.out.flush()
                } else {
                    Ok(())
                }
            });
            flushed = flush;
            {
                let mut requests = control.requests.lock();
                requests.flush_done = flush;
                control.changed.notify_all();
            }
            outcome?;
            if stop {
                break;
            }
        }
        self.drain()?;
        self.note_dropped();
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()?;
        Ok(self.totals)
    }

    /// Says in the trace itself how many events it lacks, so that whoever
    /// reads it (`mfwq trace`) knows.
    fn note_dropped(&mut self) {
        if self.totals.dropped == 0 {
            return;
        }
        let now = self.anchor.nanos(super::clock::raw());
        let dropped = self.totals.dropped;
        self.writer_event(now, |event| {
            event
                .int(9, i64::from(TYPE_INSTANT))
                .uint(11, PROCESS_UUID)
                .string(23, DROPPED_EVENT)
                .arg_uint("dropped", dropped);
        });
    }

    /// An event of the writer's own (a counter, a note) at `timestamp`.
    fn writer_event(&mut self, timestamp: u64, body: impl FnOnce(&mut Encoder<'_>)) {
        Encoder::new(&mut self.buf).message(1, |packet| {
            packet
                .uint(8, timestamp)
                .uint(10, u64::from(WRITER_SEQUENCE))
                .message(11, body);
        });
    }

    /// Encodes everything the rings hold, and the queues' depths.
    fn drain(&mut self) -> io::Result<()> {
        let mut rings = std::mem::take(&mut *RINGS.lock());
        // A ring registered for an earlier session (a thread that raced its
        // end) is not this trace's.
        rings.retain(|ring| ring.session == self.session);
        for ring in &mut rings {
            self.drain_ring(ring);
        }
        let mut live_dropped = 0;
        rings.retain(|ring| {
            let done = ring.consumer.is_abandoned() && ring.consumer.is_empty();
            if done {
                self.retired_dropped += ring.dropped.load(Ordering::Relaxed);
            } else {
                live_dropped += ring.dropped.load(Ordering::Relaxed);
            }
            !done
        });
        {
            let mut registered = RINGS.lock();
            let newer = std::mem::take(&mut *registered);
            *registered = rings;
            registered.extend(newer);
        }
        self.totals.dropped = self.retired_dropped + live_dropped;
        DROPPED.store(self.totals.dropped, Ordering::Relaxed);
        self.sample_depths();
        self.out.write_all(&self.buf)?;
        self.totals.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn drain_ring(&mut self, ring: &mut RingReader) {
        if ring.sequence == 0 {
            ring.sequence = self.next_sequence;
            self.next_sequence += 1;
            self.describe_thread(ring);
        }
        let available = ring.consumer.slots();
        if available == 0 {
            return;
        }
        let Ok(chunk) = ring.consumer.read_chunk(available) else {
            return;
        };
        let (first, second) = chunk.as_slices();
        let track = THREAD_UUID_BASE + u64::from(ring.sequence);
        for record in first.iter().chain(second) {
            self.encode(ring.sequence, track, record);
        }
        self.totals.events += available as u64;
        chunk.commit_all();
    }

    fn describe_thread(&mut self, ring: &RingReader) {
        let pid = self.pid;
        let name = match ring.queue {
            Some(queue) if !ring.thread_name.is_empty() => {
                format!("{} ({})", ring.thread_name, self.queue_name(queue))
            }
            _ if ring.thread_name.is_empty() => format!("thread {}", ring.tid),
            _ => ring.thread_name.clone(),
        };
        let uuid = THREAD_UUID_BASE + u64::from(ring.sequence);
        let sequence = ring.sequence;
        Encoder::new(&mut self.buf).message(1, |packet| {
            packet
                .uint(10, u64::from(sequence))
                .uint(13, 1)
                .message(60, |track| {
                    track
                        .uint(1, uuid)
                        .uint(5, PROCESS_UUID)
                        .message(4, |thread| {
                            thread
                                .int(1, i64::from(pid))
                                .int(2, i64::from(ring.tid))
                                .string(5, &name);
                        });
                });
        });
    }

    /// The events every item makes (put, start, end), with cached names and
    /// only the arguments that say something (a priority that is not 0, a
    /// status that is not `S_OK`, a C callback's address; a Rust item's type
    /// is its slice's name); `false` for any other event.
    fn encode_item_event(
        &mut self,
        sequence: u32,
        track: u64,
        timestamp: u64,
        event: Event,
    ) -> bool {
        match event {
            Event::End => {}
            Event::Put { queue, .. } => {
                if !self.put_names.contains_key(&queue.0) {
                    let name = format!("put {}", self.queue_name(queue));
                    self.put_names.insert(queue.0, name);
                }
            }
            Event::Begin { queue, label, .. } => {
                if !self.names.contains_key(&queue.0) {
                    self.queue_name(queue);
                }
                if let Label::Rust(name) = label {
                    self.type_names
                        .entry(name.as_ptr() as usize)
                        .or_insert_with(|| short_type_name(name));
                }
            }
            _ => return false,
        }
        let (names, put_names, type_names) = (&self.names, &self.put_names, &self.type_names);
        Encoder::new(&mut self.buf).message(1, |packet| {
            packet
                .uint(8, timestamp)
                .uint(10, u64::from(sequence))
                .message(11, |e| match event {
                    Event::Put {
                        queue,
                        item,
                        priority,
                        ..
                    } => {
                        e.int(9, i64::from(TYPE_INSTANT))
                            .uint(11, track)
                            .string(23, &put_names[&queue.0]);
                        if priority != 0 {
                            e.message(4, |a| {
                                a.string(10, "priority").int(4, i64::from(priority));
                            });
                        }
                        e.fixed64(47, item);
                    }
                    Event::Begin {
                        queue,
                        item,
                        status,
                        label,
                    } => {
                        let name: &str = match label {
                            Label::Rust(name) => &type_names[&(name.as_ptr() as usize)],
                            Label::Callback(0) => "set event",
                            Label::Callback(_) => "Invoke",
                            Label::Serial => "serial step",
                        };
                        e.int(9, i64::from(TYPE_SLICE_BEGIN))
                            .uint(11, track)
                            .string(23, name)
                            .arg_str("queue", &names[&queue.0]);
                        if let Label::Callback(address @ 1..) = label {
                            e.arg_pointer("callback", address as u64);
                        }
                        if status != 0 {
                            e.arg_str("status", &hresult_text(status));
                        }
                        e.fixed64(48, item);
                    }
                    _ => {
                        e.int(9, i64::from(TYPE_SLICE_END)).uint(11, track);
                    }
                });
        });
        true
    }

    fn queue_name(&mut self, queue: QueueId) -> String {
        self.names
            .entry(queue.0)
            .or_insert_with(|| stats::queue(queue).name())
            .clone()
    }

    fn sample_depths(&mut self) {
        let changed: Vec<(u32, String, i64)> = stats::depths()
            .into_iter()
            .map(|(id, name, depth)| (id, name, depth as i64))
            .filter(|(id, _, depth)| self.depths.get(id) != Some(depth))
            .collect();
        if changed.is_empty() {
            return;
        }
        let now = self.anchor.nanos(super::clock::raw());
        for (id, name, depth) in changed {
            let uuid = COUNTER_UUID_BASE + u64::from(id);
            if !self.depths.contains_key(&id) {
                Encoder::new(&mut self.buf).message(1, |packet| {
                    packet
                        .uint(10, u64::from(WRITER_SEQUENCE))
                        .message(60, |track| {
                            track
                                .uint(1, uuid)
                                .string(2, &format!("depth {name}"))
                                .uint(5, PROCESS_UUID)
                                .message(8, |_| {});
                        });
                });
            }
            self.depths.insert(id, depth);
            self.writer_event(now, |event| {
                event
                    .int(9, i64::from(TYPE_COUNTER))
                    .uint(11, uuid)
                    .int(30, depth);
            });
        }
    }

    fn encode(&mut self, sequence: u32, track: u64, record: &Record) {
        let timestamp = self.anchor.nanos(record.ticks);
        let event = record.event;
        if self.encode_item_event(sequence, track, timestamp, event) {
            return;
        }
        // Names of queues the event mentions, looked up before the encoder
        // borrows the buffer.
        let queue_of = |writer: &mut Writer, queue: QueueId| writer.queue_name(queue);
        let (kind, name, queue_name): (i32, String, Option<String>) = match event {
            // Encoded by `encode_item_event`.
            Event::Put { .. } | Event::Begin { .. } | Event::End => return,
            Event::Refused { queue, .. } | Event::RefusedCall { queue, .. } => (
                TYPE_INSTANT,
                "refused put".into(),
                Some(queue_of(self, queue)),
            ),
            Event::Worker { queue, started } => (
                TYPE_INSTANT,
                if started {
                    "worker started"
                } else {
                    "worker stopped"
                }
                .into(),
                Some(queue_of(self, queue)),
            ),
            Event::Queue { queue, created, .. } => {
                if created {
                    self.names.remove(&queue.0);
                    self.put_names.remove(&queue.0);
                }
                (
                    TYPE_INSTANT,
                    if created {
                        "queue allocated"
                    } else {
                        "queue unlocked"
                    }
                    .into(),
                    Some(queue_of(self, queue)),
                )
            }
            Event::Key { what, step, .. } => {
                let what = match what {
                    Keyed::Timer => "timer",
                    Keyed::Wait => "waiting item",
                };
                let step = match step {
                    KeyStep::Registered => "registered",
                    KeyStep::Fired => "fired",
                    KeyStep::Cancelled => "cancelled",
                };
                (TYPE_INSTANT, format!("{what} {step}"), None)
            }
            Event::SerialHandOff { serial, .. } => (
                TYPE_INSTANT,
                "serial hand-off".into(),
                Some(queue_of(self, serial)),
            ),
            Event::Reply { serial } => (TYPE_INSTANT, "reply".into(), Some(queue_of(self, serial))),
            Event::Realtime { queue, .. } => (
                TYPE_INSTANT,
                "real-time registration".into(),
                Some(queue_of(self, queue)),
            ),
            Event::Shutdown(phase) => (
                TYPE_INSTANT,
                match phase {
                    ShutdownPhase::Begin => "shutdown: begin",
                    ShutdownPhase::Draining => "shutdown: draining",
                    ShutdownPhase::Complete => "shutdown: complete",
                }
                .into(),
                None,
            ),
            Event::Panic { queue, .. } => {
                (TYPE_INSTANT, "panic".into(), Some(queue_of(self, queue)))
            }
            Event::Misuse { call, .. } => (TYPE_INSTANT, format!("misuse: {call}"), None),
        };
        let target = match event {
            Event::SerialHandOff { target, .. } => Some(queue_of(self, target)),
            _ => None,
        };
        let strings = match event {
            Event::Queue { name, .. } => Some((string(name), String::new())),
            Event::Realtime {
                requested, applied, ..
            } => Some((string(requested), string(applied))),
            _ => None,
        };
        Encoder::new(&mut self.buf).message(1, |packet| {
            packet
                .uint(8, timestamp)
                .uint(10, u64::from(sequence))
                .message(11, |e| {
                    e.int(9, i64::from(kind)).uint(11, track).string(23, &name);
                    if let Some(queue) = &queue_name {
                        e.arg_str("queue", queue);
                    }
                    match event {
                        Event::Refused { item, hresult, .. } => {
                            e.arg_str("hresult", &hresult_text(hresult));
                            e.fixed64(48, item);
                        }
                        Event::RefusedCall { hresult, .. } => {
                            e.arg_str("hresult", &hresult_text(hresult));
                        }
                        Event::Key { key, .. } => {
                            e.arg_uint("key", key);
                        }
                        Event::SerialHandOff { .. } => {
                            if let Some(target) = &target {
                                e.arg_str("target", target);
                            }
                        }
                        Event::Panic { site, .. } => {
                            e.arg_str("site", site);
                        }
                        Event::Misuse { call, hresult } => {
                            e.arg_str("call", call);
                            e.arg_str("hresult", &hresult_text(hresult));
                        }
                        _ => {}
                    }
                    if let Some((first, second)) = &strings {
                        match event {
                            Event::Realtime { .. } => {
                                e.arg_str("requested", first);
                                e.arg_str("applied", second);
                            }
                            _ => {
                                e.arg_str("name", first);
                            }
                        }
                    }
                });
        });
    }
}

/// A Rust type name without its module paths, keeping the function a
/// closure is defined in (`demo::decode::{{closure}}` → `decode::{{closure}}`,
/// `alloc::boxed::Box<core::option::Option<u8>>` → `Box<Option<u8>>`).
pub(crate) fn short_type_name(name: &str) -> String {
    let mut short = String::with_capacity(name.len());
    let mut rest = name;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| "<>,()[]&; ".contains(c))
            .unwrap_or(rest.len());
        let segments: Vec<&str> = rest[..end].split("::").collect();
        let closures = segments
            .iter()
            .rev()
            .take_while(|segment| segment.starts_with("{{"))
            .count();
        let keep = (closures + 1).min(segments.len());
        short.push_str(&segments[segments.len() - keep..].join("::"));
        match rest[end..].chars().next() {
            Some(delimiter) => {
                short.push(delimiter);
                rest = &rest[end + delimiter.len_utf8()..];
            }
            None => rest = "",
        }
    }
    short
}

fn hresult_text(hresult: i32) -> String {
    let value = HResult(hresult);
    match value.name() {
        Some(name) => format!("{name} ({:#010x})", hresult as u32),
        None => format!("{:#010x}", hresult as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(
            short_type_name("demo::run::{{closure}}"),
            "run::{{closure}}"
        );
        assert_eq!(
            short_type_name("alloc::boxed::Box<core::option::Option<u8>>"),
            "Box<Option<u8>>"
        );
        assert_eq!(short_type_name("u32"), "u32");
    }
}
