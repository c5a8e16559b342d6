//! Encoding a recording's events as Perfetto packets (`perfetto.rs`'s
//! message subset): the tracks (one process track; one thread track per
//! recording thread, named after the thread, whose name says its queue:
//! `mfwq-MULTITHREADED-1`, each with its own packet sequence; one counter
//! track per queue for its depth, sampled at every drain from the
//! statistics), and the events on them. A put is an instant on the putting
//! thread's track that starts a flow; the worker's slice for the item ends
//! it, so the trace viewer draws an arrow from each put to its invoke. Those
//! item events (put, start, end) have a compact encoding of their own,
//! `items.rs`; the rarer events are built here with the general encoder.
//! The thread that drains the rings and writes the packets out is
//! `writer.rs`.

use rustc_hash::FxHashMap as HashMap;

use super::clock::Anchor;
use super::event::{Event, KeyStep, Keyed, Record, ShutdownPhase};
use super::items::ItemEvents;
use super::perfetto::{Encoder, SEQ_INCREMENTAL_STATE_CLEARED, TYPE_COUNTER, TYPE_INSTANT};
use super::record::{string, RingReader};
use super::stats;
use crate::error::HResult;
use crate::ids::QueueId;

const PROCESS_UUID: u64 = 1;
/// Thread tracks are numbered from here by their sequence: small numbers,
/// one-byte varints in every event.
pub(super) const THREAD_UUID_BASE: u64 = 16;
const COUNTER_UUID_BASE: u64 = 1 << 40;
/// The writer's own packets (descriptors, counters).
pub(super) const WRITER_SEQUENCE: u32 = 1;

/// The name of the instant that ends a trace with dropped events.
pub const DROPPED_EVENT: &str = "mfwq: events dropped (a thread's buffer was full)";

/// The packets of one recording not yet written out, and what encoding them
/// needs to remember: the clock's anchor, the depths last sampled, and the
/// names already made.
pub(super) struct Packets {
    /// Encoded packets, written out and cleared by the writer at every drain.
    pub(super) buf: Vec<u8>,
    anchor: Anchor,
    pid: i32,
    depths: HashMap<u32, i64>,
    names: HashMap<u32, String>,
    /// The put, begin and end of every item, in their own layout.
    items: ItemEvents,
}

impl Packets {
    /// A recording's packets, starting with its process track.
    pub(super) fn new() -> Packets {
        let mut packets = Packets {
            buf: Vec::with_capacity(1 << 20),
            anchor: Anchor::now(),
            pid: std::process::id() as i32,
            depths: HashMap::default(),
            names: HashMap::default(),
            items: ItemEvents::new(),
        };
        let name = std::env::current_exe()
            .ok()
            .and_then(|exe| {
                exe.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "process".into());
        let pid = packets.pid;
        Encoder::new(&mut packets.buf).message(1, |packet| {
            packet
                .uint(10, u64::from(WRITER_SEQUENCE))
                .uint(13, 1)
                .message(60, |track| {
                    track.uint(1, PROCESS_UUID).message(3, |process| {
                        process.int(1, i64::from(pid)).string(6, &name);
                    });
                });
        });
        packets
    }

    /// Says in the trace itself how many events it lacks, so that whoever
    /// reads it (`mfwq trace`) knows.
    pub(super) fn note_dropped(&mut self, dropped: u64) {
        if dropped == 0 {
            return;
        }
        let now = self.anchor.nanos(super::clock::raw());
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

    pub(super) fn describe_thread(&mut self, ring: &RingReader) {
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
        let items = &mut self.items;
        Encoder::new(&mut self.buf).message(1, |packet| {
            packet
                .uint(10, u64::from(sequence))
                .uint(13, u64::from(SEQ_INCREMENTAL_STATE_CLEARED));
            items.start_sequence(packet, sequence, uuid);
            packet.message(60, |track| {
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

    fn queue_name(&mut self, queue: QueueId) -> String {
        self.names
            .entry(queue.0)
            .or_insert_with(|| stats::queue(queue).name())
            .clone()
    }

    pub(super) fn sample_depths(&mut self) {
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

    pub(super) fn encode(&mut self, sequence: u32, track: u64, record: &Record) {
        let timestamp = self.anchor.nanos(record.ticks);
        let event = record.event;
        if self.items.encode(&mut self.buf, sequence, timestamp, event) {
            return;
        }
        // Names of queues the event mentions, looked up before the encoder
        // borrows the buffer.
        let queue_of = |packets: &mut Packets, queue: QueueId| packets.queue_name(queue);
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
                    self.items.forget_queue(queue);
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

pub(super) fn hresult_text(hresult: i32) -> String {
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
