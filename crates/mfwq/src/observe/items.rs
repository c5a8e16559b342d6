//! Encoding the three events every work item makes — its put, the start and
//! the end of its callback — which are nearly all of a trace: they get a
//! fixed layout built on the stack, and name everything by interned id.
//!
//! Perfetto lets a packet sequence give a string a small id once
//! (`TracePacket.interned_data`) and name it by that id afterwards, and give
//! its events a default track (`trace_packet_defaults`). Each recording
//! thread has its own sequence (`packets.rs`), so an item event carries its
//! timestamp, its sequence, a one-byte type, a name id, an argument or two
//! by id, and its flow id: about 30 bytes where spelled-out names took 50,
//! and about 260 instructions to encode where the general encoder
//! (`perfetto::Encoder`, which the rarer events still use) took about 560.
//! The writer runs on CPU time the program leaves idle (`writer.rs`), so
//! what it costs per event decides how many events a busy program keeps.
//! Readers put the names back with `perfetto::Resolver`.
//!
//! Ids are handed out once per recording, the same id for the same string
//! on every sequence; a sequence is told an id (its string goes into the
//! packet that first uses it there) the first time one of its events needs
//! it.

use rustc_hash::FxHashMap as HashMap;

use super::event::{Event, Label};
use super::perfetto::{
    Encoder, SEQ_NEEDS_INCREMENTAL_STATE, TYPE_INSTANT, TYPE_SLICE_BEGIN, TYPE_SLICE_END,
};
use super::stats;
use crate::ids::QueueId;

/// Perfetto's three interning tables the item events use (their field
/// numbers in `InternedData`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Table {
    EventName = 2,
    ArgName = 3,
    ArgValue = 29,
}

/// Ids every sequence is told in its first packet: the argument names and
/// the slice names that do not depend on the item.
const ARG_QUEUE: u64 = 1;
const ARG_CALLBACK: u64 = 2;
const ARG_STATUS: u64 = 3;
const ARG_PRIORITY: u64 = 4;
const NAME_INVOKE: u64 = 5;
const NAME_SET_EVENT: u64 = 6;
const NAME_SERIAL_STEP: u64 = 7;
const FIXED: [(Table, &str); 7] = [
    (Table::ArgName, "queue"),
    (Table::ArgName, "callback"),
    (Table::ArgName, "status"),
    (Table::ArgName, "priority"),
    (Table::EventName, "Invoke"),
    (Table::EventName, "set event"),
    (Table::EventName, "serial step"),
];

// Protobuf keys (field number << 3 | wire type), as the fixed layout writes
// them.
const KEY_PACKET: u64 = 1 << 3 | 2;
const KEY_TIMESTAMP: u64 = 8 << 3;
const KEY_SEQUENCE: u64 = 10 << 3;
const KEY_TRACK_EVENT: u64 = 11 << 3 | 2;
const KEY_FLAGS: u64 = 13 << 3;
const KEY_TYPE: u64 = 9 << 3;
const KEY_NAME_IID: u64 = 10 << 3;
const KEY_ANNOTATION: u64 = 4 << 3 | 2;
const KEY_FLOW: u64 = 47 << 3 | 1;
const KEY_TERMINATING_FLOW: u64 = 48 << 3 | 1;
const KEY_ARG_NAME_IID: u64 = 1 << 3;
const KEY_ARG_INT: u64 = 4 << 3;
const KEY_ARG_POINTER: u64 = 7 << 3;
const KEY_ARG_STRING_IID: u64 = 17 << 3;

/// Bytes of one packet's fixed part, written on the stack and appended in
/// one copy. The largest item event's body (a begin with a callback and a
/// status) is under 100 bytes even with every varint at its longest (under
/// 60 in practice) and any packet's head under 30, so 128 always holds one;
/// indices are taken modulo 128 so that no write needs a bounds check (this
/// loop is most of what the writer does).
struct Scratch {
    bytes: [u8; SCRATCH],
    len: usize,
}

const SCRATCH: usize = 128;

impl Scratch {
    #[inline(always)]
    fn new() -> Scratch {
        Scratch {
            bytes: [0; SCRATCH],
            len: 0,
        }
    }

    #[inline(always)]
    fn byte(&mut self, byte: u8) {
        debug_assert!(self.len < SCRATCH, "an item event outgrew its scratch");
        self.bytes[self.len % SCRATCH] = byte;
        self.len += 1;
    }

    #[inline(always)]
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.byte(value as u8 | 0x80);
            value >>= 7;
        }
        self.byte(value as u8);
    }

    #[inline(always)]
    fn field(&mut self, key: u64, value: u64) {
        self.varint(key);
        self.varint(value);
    }

    #[inline(always)]
    fn fixed64(&mut self, key: u64, value: u64) {
        self.varint(key);
        for byte in value.to_le_bytes() {
            self.byte(byte);
        }
    }

    /// A debug annotation: its interned name and one value field.
    #[inline(always)]
    fn annotation(&mut self, name_iid: u64, value_key: u64, value: u64) {
        self.varint(KEY_ANNOTATION);
        let length = 1 + varint_len(name_iid) + varint_len(value_key) + varint_len(value);
        self.byte(length as u8);
        self.field(KEY_ARG_NAME_IID, name_iid);
        self.field(value_key, value);
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len.min(SCRATCH)]
    }
}

#[inline(always)]
fn varint_len(value: u64) -> usize {
    // 1 byte per 7 bits, at least one.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// The ids of one queue's strings.
#[derive(Clone, Copy)]
struct QueueIds {
    /// "put <queue>", the put instant's name.
    put: u64,
    /// The queue's name, the begin slice's `queue` argument.
    name: u64,
}

/// The item events' interning state for one recording.
pub(super) struct ItemEvents {
    ids: HashMap<(Table, Box<str>), u64>,
    /// Each id's table and string, at `id - 1`.
    strings: Vec<(Table, Box<str>)>,
    /// Per sequence (by number), the ids it has been told, as a bitset.
    told: Vec<Vec<u64>>,
    /// Ids the packet being built tells its sequence.
    pending: Vec<u64>,
    queues: HashMap<u32, QueueIds>,
    /// Rust item types by the address of their `'static` name.
    types: HashMap<usize, u64>,
    statuses: HashMap<i32, u64>,
    /// The pending ids' `interned_data` field, encoded.
    interned: Vec<u8>,
}

impl ItemEvents {
    pub(super) fn new() -> ItemEvents {
        let mut items = ItemEvents {
            ids: HashMap::default(),
            strings: Vec::new(),
            told: Vec::new(),
            pending: Vec::new(),
            queues: HashMap::default(),
            types: HashMap::default(),
            statuses: HashMap::default(),
            interned: Vec::new(),
        };
        for (index, (table, text)) in FIXED.into_iter().enumerate() {
            let iid = items.iid(table, text);
            debug_assert_eq!(iid, index as u64 + 1);
        }
        items
    }

    fn iid(&mut self, table: Table, text: &str) -> u64 {
        let key = (table, Box::<str>::from(text));
        if let Some(&iid) = self.ids.get(&key) {
            return iid;
        }
        self.strings.push(key.clone());
        let iid = self.strings.len() as u64;
        self.ids.insert(key, iid);
        iid
    }

    /// Notes that the packet being built on `sequence` names `iid`.
    #[inline]
    fn uses(&mut self, sequence: u32, iid: u64) {
        let told = &mut self.told[sequence as usize];
        let (word, bit) = ((iid / 64) as usize, 1u64 << (iid % 64));
        if told.get(word).is_some_and(|bits| bits & bit != 0) {
            return;
        }
        if told.len() <= word {
            told.resize(word + 1, 0);
        }
        told[word] |= bit;
        self.pending.push(iid);
    }

    /// Encodes the pending ids as an `interned_data` field into
    /// `self.interned`.
    #[cold]
    fn encode_pending(&mut self) {
        self.interned.clear();
        let (pending, strings) = (&self.pending, &self.strings);
        Encoder::new(&mut self.interned).message(12, |data| {
            for &iid in pending {
                let (table, text) = &strings[iid as usize - 1];
                data.message(*table as u32, |entry| {
                    entry.uint(1, iid).string(2, text);
                });
            }
        });
        self.pending.clear();
    }

    /// The fields a thread's sequence starts with (in its descriptor
    /// packet, the one flagged as clearing its state): its events' default
    /// track, and the ids every sequence knows.
    pub(super) fn start_sequence(&mut self, packet: &mut Encoder<'_>, sequence: u32, track: u64) {
        let index = sequence as usize;
        if self.told.len() <= index {
            self.told.resize(index + 1, Vec::new());
        }
        self.told[index].clear();
        for iid in 1..=FIXED.len() as u64 {
            self.uses(sequence, iid);
        }
        self.encode_pending();
        packet.message(59, |defaults| {
            defaults.message(11, |event| {
                event.uint(11, track);
            });
        });
        packet.bytes(&self.interned);
    }

    /// `queue` was allocated anew: its id may have named another queue.
    /// The old queue's strings are let go (a program that allocates queues
    /// all the time would otherwise keep every name it ever used): no event
    /// names their ids any more, since [`queue`](Self::queue) gives the
    /// queue fresh ones.
    pub(super) fn forget_queue(&mut self, queue: QueueId) {
        let Some(old) = self.queues.remove(&queue.0) else {
            return;
        };
        for iid in [old.put, old.name] {
            // Another queue of the same name (none today: names carry the
            // queue's id) keeps the string.
            if self
                .queues
                .values()
                .any(|ids| ids.put == iid || ids.name == iid)
            {
                continue;
            }
            let entry = &mut self.strings[iid as usize - 1];
            self.ids.remove(entry);
            entry.1 = Box::from("");
        }
    }

    fn queue(&mut self, queue: QueueId) -> QueueIds {
        if let Some(&ids) = self.queues.get(&queue.0) {
            return ids;
        }
        let name = stats::queue(queue).name();
        let ids = QueueIds {
            put: self.iid(Table::EventName, &format!("put {name}")),
            name: self.iid(Table::ArgValue, &name),
        };
        self.queues.insert(queue.0, ids);
        ids
    }

    fn type_name(&mut self, name: &'static str) -> u64 {
        if let Some(&iid) = self.types.get(&(name.as_ptr() as usize)) {
            return iid;
        }
        let iid = self.iid(Table::EventName, &super::packets::short_type_name(name));
        self.types.insert(name.as_ptr() as usize, iid);
        iid
    }

    fn status(&mut self, status: i32) -> u64 {
        if let Some(&iid) = self.statuses.get(&status) {
            return iid;
        }
        let iid = self.iid(Table::ArgValue, &super::packets::hresult_text(status));
        self.statuses.insert(status, iid);
        iid
    }

    /// Appends `event` to `out` as a packet of `sequence` if it is an item
    /// event (put, begin, end); `false` for any other event. Only the
    /// arguments that say something are written: a priority that is not 0,
    /// a status that is not `S_OK`, a C callback's address; a Rust item's
    /// type is its slice's name.
    pub(super) fn encode(
        &mut self,
        out: &mut Vec<u8>,
        sequence: u32,
        timestamp: u64,
        event: Event,
    ) -> bool {
        let mut body = Scratch::new();
        match event {
            Event::Put {
                queue,
                item,
                priority,
            } => {
                let ids = self.queue(queue);
                self.uses(sequence, ids.put);
                body.field(KEY_TYPE, TYPE_INSTANT as u64);
                body.field(KEY_NAME_IID, ids.put);
                if priority != 0 {
                    body.annotation(ARG_PRIORITY, KEY_ARG_INT, i64::from(priority) as u64);
                }
                body.fixed64(KEY_FLOW, item);
            }
            Event::Begin {
                queue,
                item,
                status,
                label,
            } => {
                let queue = self.queue(queue).name;
                let name = match label {
                    Label::Rust(name) => self.type_name(name),
                    Label::Callback(0) => NAME_SET_EVENT,
                    Label::Callback(_) => NAME_INVOKE,
                    Label::Serial => NAME_SERIAL_STEP,
                };
                self.uses(sequence, name);
                self.uses(sequence, queue);
                body.field(KEY_TYPE, TYPE_SLICE_BEGIN as u64);
                body.field(KEY_NAME_IID, name);
                body.annotation(ARG_QUEUE, KEY_ARG_STRING_IID, queue);
                if let Label::Callback(address @ 1..) = label {
                    body.annotation(ARG_CALLBACK, KEY_ARG_POINTER, address as u64);
                }
                if status != 0 {
                    let status = self.status(status);
                    self.uses(sequence, status);
                    body.annotation(ARG_STATUS, KEY_ARG_STRING_IID, status);
                }
                body.fixed64(KEY_TERMINATING_FLOW, item);
            }
            Event::End => body.field(KEY_TYPE, TYPE_SLICE_END as u64),
            _ => return false,
        }
        // The strings first used here go after the event: a packet is read
        // whole before its event is, and this way its fixed part is one copy.
        let interned: &[u8] = if self.pending.is_empty() {
            &[]
        } else {
            self.encode_pending();
            &self.interned
        };
        let length = 1
            + varint_len(timestamp)
            + 1
            + varint_len(u64::from(sequence))
            + 2
            + 1
            + varint_len(body.len as u64)
            + body.len
            + interned.len();
        let mut head = Scratch::new();
        head.varint(KEY_PACKET);
        head.varint(length as u64);
        head.field(KEY_TIMESTAMP, timestamp);
        head.field(KEY_SEQUENCE, u64::from(sequence));
        head.field(KEY_FLAGS, u64::from(SEQ_NEEDS_INCREMENTAL_STATE));
        head.field(KEY_TRACK_EVENT, body.len as u64);
        out.reserve(head.len + body.len + interned.len());
        out.extend_from_slice(head.as_slice());
        out.extend_from_slice(body.as_slice());
        out.extend_from_slice(interned);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forgotten_queue_lets_its_strings_go_and_gets_new_ids() {
        let mut items = ItemEvents::new();
        let queue = QueueId(0x1_0001);
        let ids = QueueIds {
            put: items.iid(Table::EventName, "put q"),
            name: items.iid(Table::ArgValue, "q"),
        };
        items.queues.insert(queue.0, ids);
        items.forget_queue(queue);
        assert!(items.queues.is_empty());
        assert_eq!(&*items.strings[ids.put as usize - 1].1, "");
        assert_eq!(&*items.strings[ids.name as usize - 1].1, "");
        // The same text interned again is a new id, told afresh.
        assert!(items.iid(Table::EventName, "put q") > ids.name);
        // Forgetting a queue never seen is nothing.
        items.forget_queue(QueueId(0x2_0002));
    }

    #[test]
    fn varints_match_prost_and_their_lengths() {
        for value in super::super::perfetto::VARINT_EDGES {
            let mut scratch = Scratch::new();
            scratch.varint(value);
            assert_eq!(varint_len(value), scratch.len, "{value}");
            let mut prost = Vec::new();
            prost::encoding::encode_varint(value, &mut prost);
            assert_eq!(scratch.as_slice(), &prost[..], "{value}");
        }
    }
}
