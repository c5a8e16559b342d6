//! The part of Perfetto's trace format (`perfetto.protos.Trace`, protobuf)
//! that the recorder writes, as message types for tools that read traces
//! (the `mfwq trace` command, tests), and the writer's encoder.
//!
//! A trace file is a sequence of `Trace.packet` fields: any prefix that ends
//! on a packet boundary is itself a valid trace, which is why the recorder can
//! append as it goes and a crashed or aborted process still leaves a trace
//! that opens. Field numbers are Perfetto's (`trace_packet.proto`,
//! `track_event.proto`, `track_descriptor.proto`, `debug_annotation.proto`);
//! fields the recorder does not write are left out and skipped by readers.
//!
//! ```
//! use prost::Message;
//! use mfwq::observe::perfetto::{Trace, TracePacket};
//! let bytes = Trace { packet: vec![TracePacket { timestamp: Some(5), ..Default::default() }] }.encode_to_vec();
//! assert_eq!(Trace::decode(&bytes[..]).unwrap().packet[0].timestamp, Some(5));
//! ```

/// A whole trace: its packets in file order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Trace {
    /// The packets.
    #[prost(message, repeated, tag = "1")]
    pub packet: Vec<TracePacket>,
}

/// One packet: a track described, or an event on a track.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TracePacket {
    /// When, in nanoseconds of the trace's clock.
    #[prost(uint64, optional, tag = "8")]
    pub timestamp: Option<u64>,
    /// The writer sequence (one per recording thread).
    #[prost(uint32, optional, tag = "10")]
    pub trusted_packet_sequence_id: Option<u32>,
    /// An event.
    #[prost(message, optional, tag = "11")]
    pub track_event: Option<TrackEvent>,
    /// Strings this packet and the later ones of its sequence name by id.
    #[prost(message, optional, tag = "12")]
    pub interned_data: Option<InternedData>,
    /// [`SEQ_INCREMENTAL_STATE_CLEARED`] on a sequence's first packet,
    /// [`SEQ_NEEDS_INCREMENTAL_STATE`] on packets that use its interned
    /// strings or defaults.
    #[prost(uint32, optional, tag = "13")]
    pub sequence_flags: Option<u32>,
    /// What the sequence's later events leave out (their track).
    #[prost(message, optional, tag = "59")]
    pub trace_packet_defaults: Option<TracePacketDefaults>,
    /// A track.
    #[prost(message, optional, tag = "60")]
    pub track_descriptor: Option<TrackDescriptor>,
}

/// `TracePacket.sequence_flags`: the sequence starts afresh here (no
/// interned string or default of its earlier packets holds).
pub const SEQ_INCREMENTAL_STATE_CLEARED: u32 = 1;
/// `TracePacket.sequence_flags`: the packet uses its sequence's interned
/// strings or defaults.
pub const SEQ_NEEDS_INCREMENTAL_STATE: u32 = 2;

/// Strings given small ids on a sequence, so that its events carry the id
/// instead of the text (`interned_data.proto`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct InternedData {
    /// Event names (`TrackEvent.name_iid`).
    #[prost(message, repeated, tag = "2")]
    pub event_names: Vec<EventName>,
    /// Argument names (`DebugAnnotation.name_iid`).
    #[prost(message, repeated, tag = "3")]
    pub debug_annotation_names: Vec<DebugAnnotationName>,
    /// Argument string values (`DebugAnnotation.string_value_iid`).
    #[prost(message, repeated, tag = "29")]
    pub debug_annotation_string_values: Vec<InternedString>,
}

/// An interned event name.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EventName {
    /// Its id.
    #[prost(uint64, optional, tag = "1")]
    pub iid: Option<u64>,
    /// The name.
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
}

/// An interned argument name.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DebugAnnotationName {
    /// Its id.
    #[prost(uint64, optional, tag = "1")]
    pub iid: Option<u64>,
    /// The name.
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
}

/// An interned string value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InternedString {
    /// Its id.
    #[prost(uint64, optional, tag = "1")]
    pub iid: Option<u64>,
    /// The text (UTF-8).
    #[prost(bytes = "vec", optional, tag = "2")]
    pub str: Option<Vec<u8>>,
}

/// Defaults for a sequence's later packets.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TracePacketDefaults {
    /// Defaults for its events.
    #[prost(message, optional, tag = "11")]
    pub track_event_defaults: Option<TrackEventDefaults>,
}

/// Defaults for a sequence's events.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TrackEventDefaults {
    /// The track of events that name none.
    #[prost(uint64, optional, tag = "11")]
    pub track_uuid: Option<u64>,
}

/// `TrackEvent.type`: a slice begins.
pub const TYPE_SLICE_BEGIN: i32 = 1;
/// `TrackEvent.type`: the innermost open slice ends.
pub const TYPE_SLICE_END: i32 = 2;
/// `TrackEvent.type`: an instant.
pub const TYPE_INSTANT: i32 = 3;
/// `TrackEvent.type`: a counter's new value.
pub const TYPE_COUNTER: i32 = 4;

/// An event on a track.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TrackEvent {
    /// Arguments shown with the event.
    #[prost(message, repeated, tag = "4")]
    pub debug_annotations: Vec<DebugAnnotation>,
    /// One of the `TYPE_*` constants.
    #[prost(int32, optional, tag = "9")]
    pub r#type: Option<i32>,
    /// Its name, interned (the recorder's item events name themselves so).
    #[prost(uint64, optional, tag = "10")]
    pub name_iid: Option<u64>,
    /// The track it is on.
    #[prost(uint64, optional, tag = "11")]
    pub track_uuid: Option<u64>,
    /// Its categories.
    #[prost(string, repeated, tag = "22")]
    pub categories: Vec<String>,
    /// Its name.
    #[prost(string, optional, tag = "23")]
    pub name: Option<String>,
    /// A counter's value.
    #[prost(int64, optional, tag = "30")]
    pub counter_value: Option<i64>,
    /// Flows this event starts or continues.
    #[prost(fixed64, repeated, packed = "false", tag = "47")]
    pub flow_ids: Vec<u64>,
    /// Flows this event ends.
    #[prost(fixed64, repeated, packed = "false", tag = "48")]
    pub terminating_flow_ids: Vec<u64>,
}

/// A named argument of an event.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DebugAnnotation {
    /// The argument's name, interned.
    #[prost(uint64, optional, tag = "1")]
    pub name_iid: Option<u64>,
    /// An unsigned value.
    #[prost(uint64, optional, tag = "3")]
    pub uint_value: Option<u64>,
    /// A signed value.
    #[prost(int64, optional, tag = "4")]
    pub int_value: Option<i64>,
    /// A string value.
    #[prost(string, optional, tag = "6")]
    pub string_value: Option<String>,
    /// An address.
    #[prost(uint64, optional, tag = "7")]
    pub pointer_value: Option<u64>,
    /// The argument's name.
    #[prost(string, optional, tag = "10")]
    pub name: Option<String>,
    /// A string value, interned.
    #[prost(uint64, optional, tag = "17")]
    pub string_value_iid: Option<u64>,
}

/// A track: the process, one of its threads, or a counter.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TrackDescriptor {
    /// The id events name it by.
    #[prost(uint64, optional, tag = "1")]
    pub uuid: Option<u64>,
    /// Its name (counter tracks).
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    /// The process it describes.
    #[prost(message, optional, tag = "3")]
    pub process: Option<ProcessDescriptor>,
    /// The thread it describes.
    #[prost(message, optional, tag = "4")]
    pub thread: Option<ThreadDescriptor>,
    /// The track it is nested under.
    #[prost(uint64, optional, tag = "5")]
    pub parent_uuid: Option<u64>,
    /// Present on counter tracks.
    #[prost(message, optional, tag = "8")]
    pub counter: Option<CounterDescriptor>,
}

/// A process.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProcessDescriptor {
    /// Its pid.
    #[prost(int32, optional, tag = "1")]
    pub pid: Option<i32>,
    /// Its name.
    #[prost(string, optional, tag = "6")]
    pub process_name: Option<String>,
}

/// A thread.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ThreadDescriptor {
    /// Its process's pid.
    #[prost(int32, optional, tag = "1")]
    pub pid: Option<i32>,
    /// Its thread id.
    #[prost(int32, optional, tag = "2")]
    pub tid: Option<i32>,
    /// Its name.
    #[prost(string, optional, tag = "5")]
    pub thread_name: Option<String>,
}

/// Marks a counter track (no fields needed for plain counters).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CounterDescriptor {}

impl Trace {
    /// Decodes a trace and [resolves](Resolver) its packets: every event
    /// then has its name, its track and its arguments' names and string
    /// values in place, whether the recorder interned them or not.
    ///
    /// ```
    /// use mfwq::observe::perfetto::Trace;
    /// let trace = Trace::decode_resolved(&[]).unwrap();
    /// assert!(trace.packet.is_empty());
    /// ```
    pub fn decode_resolved(bytes: &[u8]) -> Result<Trace, prost::DecodeError> {
        use prost::Message;
        let mut trace = Trace::decode(bytes)?;
        let mut resolver = Resolver::default();
        for packet in &mut trace.packet {
            resolver.resolve(packet);
        }
        Ok(trace)
    }
}

/// Puts back what a sequence's packets leave to its incremental state: the
/// names and strings they give by interned id, and the track of events
/// that name none. Packets must be given in file order; each sequence's
/// state starts afresh at a packet flagged [`SEQ_INCREMENTAL_STATE_CLEARED`].
///
/// ```
/// use mfwq::observe::perfetto::*;
/// let mut first = TracePacket {
///     trusted_packet_sequence_id: Some(3),
///     sequence_flags: Some(SEQ_INCREMENTAL_STATE_CLEARED),
///     interned_data: Some(InternedData {
///         event_names: vec![EventName { iid: Some(1), name: Some("put".into()) }],
///         ..Default::default()
///     }),
///     ..Default::default()
/// };
/// let mut second = TracePacket {
///     trusted_packet_sequence_id: Some(3),
///     track_event: Some(TrackEvent { name_iid: Some(1), ..Default::default() }),
///     ..Default::default()
/// };
/// let mut resolver = Resolver::default();
/// resolver.resolve(&mut first);
/// resolver.resolve(&mut second);
/// assert_eq!(second.track_event.unwrap().name.as_deref(), Some("put"));
/// ```
#[derive(Debug, Default)]
pub struct Resolver {
    sequences: std::collections::HashMap<u32, SequenceState>,
}

#[derive(Debug, Default)]
struct SequenceState {
    event_names: std::collections::HashMap<u64, String>,
    annotation_names: std::collections::HashMap<u64, String>,
    string_values: std::collections::HashMap<u64, String>,
    track_uuid: Option<u64>,
}

impl Resolver {
    /// Resolves `packet` in place, and learns what it interns or defaults.
    pub fn resolve(&mut self, packet: &mut TracePacket) {
        let sequence = packet.trusted_packet_sequence_id.unwrap_or(0);
        let state = self.sequences.entry(sequence).or_default();
        if packet.sequence_flags.unwrap_or(0) & SEQ_INCREMENTAL_STATE_CLEARED != 0 {
            *state = SequenceState::default();
        }
        if let Some(uuid) = packet
            .trace_packet_defaults
            .as_ref()
            .and_then(|defaults| defaults.track_event_defaults.as_ref())
            .and_then(|defaults| defaults.track_uuid)
        {
            state.track_uuid = Some(uuid);
        }
        if let Some(interned) = &packet.interned_data {
            for name in &interned.event_names {
                if let (Some(iid), Some(text)) = (name.iid, &name.name) {
                    state.event_names.insert(iid, text.clone());
                }
            }
            for name in &interned.debug_annotation_names {
                if let (Some(iid), Some(text)) = (name.iid, &name.name) {
                    state.annotation_names.insert(iid, text.clone());
                }
            }
            for value in &interned.debug_annotation_string_values {
                if let (Some(iid), Some(text)) = (value.iid, &value.str) {
                    let text = String::from_utf8_lossy(text).into_owned();
                    state.string_values.insert(iid, text);
                }
            }
        }
        let Some(event) = &mut packet.track_event else {
            return;
        };
        if event.name.is_none() {
            event.name = event
                .name_iid
                .and_then(|iid| state.event_names.get(&iid).cloned());
        }
        if event.track_uuid.is_none() {
            event.track_uuid = state.track_uuid;
        }
        for annotation in &mut event.debug_annotations {
            if annotation.name.is_none() {
                annotation.name = annotation
                    .name_iid
                    .and_then(|iid| state.annotation_names.get(&iid).cloned());
            }
            if annotation.string_value.is_none() {
                annotation.string_value = annotation
                    .string_value_iid
                    .and_then(|iid| state.string_values.get(&iid).cloned());
            }
        }
    }
}

/// Writes protobuf fields into a buffer without building message values:
/// the writer encodes millions of events, one allocation-free call each.
/// Nested messages get a two-byte length written before their body is
/// known (a non-minimal varint for short bodies, which protobuf readers
/// accept; Perfetto's own writer pads lengths the same way), so no body is
/// ever moved to make room for its length. The tests decode it with prost.
pub(crate) struct Encoder<'a> {
    buf: &'a mut Vec<u8>,
}

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LENGTH_DELIMITED: u32 = 2;

/// Appends `value` as a protobuf varint.
#[inline]
fn put_varint(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push((value as u8) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

/// The largest body a two-byte length prefix can announce.
const SHORT_BODY: usize = (1 << 14) - 1;

#[inline]
fn put_key(buf: &mut Vec<u8>, field: u32, wire_type: u32) {
    put_varint(buf, u64::from(field << 3 | wire_type));
}

impl<'a> Encoder<'a> {
    pub(crate) fn new(buf: &'a mut Vec<u8>) -> Encoder<'a> {
        Encoder { buf }
    }

    pub(crate) fn uint(&mut self, field: u32, value: u64) -> &mut Self {
        put_key(self.buf, field, VARINT);
        put_varint(self.buf, value);
        self
    }

    /// An `int32`/`int64` field (negative values as ten-byte varints).
    pub(crate) fn int(&mut self, field: u32, value: i64) -> &mut Self {
        self.uint(field, value as u64)
    }

    pub(crate) fn fixed64(&mut self, field: u32, value: u64) -> &mut Self {
        put_key(self.buf, field, FIXED64);
        self.buf.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub(crate) fn string(&mut self, field: u32, value: &str) -> &mut Self {
        put_key(self.buf, field, LENGTH_DELIMITED);
        put_varint(self.buf, value.len() as u64);
        self.buf.extend_from_slice(value.as_bytes());
        self
    }

    /// Fields already encoded, appended as they are.
    pub(crate) fn bytes(&mut self, encoded: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(encoded);
        self
    }

    /// A nested message written by `body`: its length is patched in after.
    pub(crate) fn message(&mut self, field: u32, body: impl FnOnce(&mut Encoder<'_>)) -> &mut Self {
        put_key(self.buf, field, LENGTH_DELIMITED);
        let length_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        let start = self.buf.len();
        body(&mut Encoder { buf: self.buf });
        let length = self.buf.len() - start;
        if length <= SHORT_BODY {
            self.buf[length_at] = (length as u8 & 0x7F) | 0x80;
            self.buf[length_at + 1] = (length >> 7) as u8;
        } else {
            // Longer than any event: make room for a longer prefix.
            let mut prefix = Vec::with_capacity(4);
            put_varint(&mut prefix, length as u64);
            self.buf.splice(length_at..length_at + 2, prefix);
        }
        self
    }

    /// A debug annotation with a string value.
    pub(crate) fn arg_str(&mut self, name: &str, value: &str) -> &mut Self {
        self.message(4, |a| {
            a.string(10, name).string(6, value);
        })
    }

    /// A debug annotation with an unsigned value.
    pub(crate) fn arg_uint(&mut self, name: &str, value: u64) -> &mut Self {
        self.message(4, |a| {
            a.string(10, name).uint(3, value);
        })
    }
}

/// Values at every varint length boundary, for the encoders' tests.
#[cfg(test)]
pub(super) const VARINT_EDGES: [u64; 9] = [
    0,
    1,
    127,
    128,
    300,
    16_383,
    16_384,
    u32::MAX as u64,
    u64::MAX,
];

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn the_encoder_writes_what_the_schema_reads() {
        let mut buf = Vec::new();
        let long_name = "x".repeat(20_000);
        Encoder::new(&mut buf).message(1, |packet| {
            packet
                .uint(8, 123_456_789)
                .uint(10, 7)
                .message(11, |event| {
                    event
                        .int(9, i64::from(TYPE_SLICE_BEGIN))
                        .uint(11, 42)
                        .string(23, &long_name)
                        .fixed64(48, u64::MAX - 1)
                        .arg_str("queue", "STANDARD")
                        .arg_uint("priority", 3)
                        .message(4, |a| {
                            a.string(10, "callback").uint(7, 0xdead_beef);
                        });
                });
        });
        let trace = Trace::decode(&buf[..]).unwrap();
        let packet = &trace.packet[0];
        assert_eq!(packet.timestamp, Some(123_456_789));
        assert_eq!(packet.trusted_packet_sequence_id, Some(7));
        let event = packet.track_event.as_ref().unwrap();
        assert_eq!(event.r#type, Some(TYPE_SLICE_BEGIN));
        assert_eq!(event.track_uuid, Some(42));
        assert_eq!(event.name.as_deref(), Some(&*long_name));
        assert_eq!(event.terminating_flow_ids, [u64::MAX - 1]);
        assert_eq!(event.debug_annotations.len(), 3);
        assert_eq!(
            event.debug_annotations[0].string_value.as_deref(),
            Some("STANDARD")
        );
        assert_eq!(event.debug_annotations[1].uint_value, Some(3));
        assert_eq!(event.debug_annotations[2].pointer_value, Some(0xdead_beef));
    }

    #[test]
    fn varints_match_prost() {
        for value in VARINT_EDGES {
            let mut mine = Vec::new();
            put_varint(&mut mine, value);
            let mut theirs = Vec::new();
            prost::encoding::encode_varint(value, &mut theirs);
            assert_eq!(mine, theirs, "{value}");
        }
    }

    #[test]
    fn negative_ints_round_trip() {
        let mut buf = Vec::new();
        Encoder::new(&mut buf).message(1, |packet| {
            packet.message(11, |event| {
                event.int(30, -5);
            });
        });
        let trace = Trace::decode(&buf[..]).unwrap();
        assert_eq!(
            trace.packet[0].track_event.as_ref().unwrap().counter_value,
            Some(-5)
        );
    }
}
