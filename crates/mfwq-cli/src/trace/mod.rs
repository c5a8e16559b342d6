//! `mfwq trace`: run any program (Rust or C, linked to libmfplat) with the
//! platform's tracing on, then summarize the trace it wrote — or summarize a
//! trace recorded before.
//!
//! The program records through `MFWQ_TRACE` (read by the platform at its
//! first startup, in whatever process it runs), so nothing in the program
//! changes. The summary reads the Perfetto file back with the message types
//! of `mfwq::observe::perfetto`: per queue the items and their time in queue
//! (put to start, joined by the put's flow id) and in the callback (start to
//! end on the worker's track), the longest callbacks, refused puts and
//! misuse, real-time registrations, and the events the recorder dropped.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod timeline;

use mfwq::observe::perfetto::{Trace, TrackEvent, TYPE_INSTANT, TYPE_SLICE_BEGIN, TYPE_SLICE_END};
use prost::Message;

/// What `mfwq trace` was asked to do.
pub struct Options {
    /// Where the trace goes (or the trace to read with `summary_only`).
    pub output: PathBuf,
    /// Read `output` instead of running a program.
    pub summary_only: bool,
    /// How many of the longest callbacks to list.
    pub longest: usize,
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Draw the tracks of a window of the trace to this SVG file.
    pub timeline: Option<PathBuf>,
    /// The window: from this many ms after the first item, this long.
    pub window: (f64, f64),
}

/// Runs the program with tracing on, then prints the summary. Returns the
/// program's exit code (or 0 after a summary-only run).
pub fn run(options: &Options) -> Result<i32, String> {
    let mut code = 0;
    if !options.summary_only {
        let (program, args) = options
            .command
            .split_first()
            .ok_or("no program to run: mfwq trace [OPTIONS] -- PROGRAM [ARGS]")?;
        let output = absolute(&options.output)?;
        let _ = std::fs::remove_file(&output);
        let status = Command::new(program)
            .args(args)
            .env(mfwq::observe::TRACE_ENV, &output)
            .status()
            .map_err(|error| format!("cannot run {program}: {error}"))?;
        code = status.code().unwrap_or(1);
        if !output.exists() {
            return Err(format!(
                "{program} wrote no trace to {}: it never started the platform \
                 (MFStartup / Platform::start), or it is not linked to this mfwq",
                output.display()
            ));
        }
        eprintln!(
            "mfwq trace: {program} exited with {code}; trace in {}",
            output.display()
        );
    }
    let summary = Summary::read(&options.output)?;
    print!("{}", summary.render(options.longest));
    if let Some(path) = &options.timeline {
        timeline::draw(&summary, path, options.window)?;
        eprintln!("mfwq trace: timeline in {}", path.display());
    }
    Ok(code)
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    if path.is_absolute() {
        return Ok(path.to_owned());
    }
    std::env::current_dir()
        .map(|dir| dir.join(path))
        .map_err(|error| format!("cannot resolve {}: {error}", path.display()))
}

/// One callback that ran.
#[derive(Clone, Debug)]
pub struct Slice {
    pub name: String,
    pub queue: String,
    pub thread: String,
    pub start_ns: u64,
    pub duration_ns: u64,
}

/// A put and the start of its item: an arrow in the timeline.
#[derive(Clone, Debug)]
pub struct Flow {
    pub put_thread: String,
    pub put_ns: u64,
    pub thread: String,
    pub start_ns: u64,
}

/// What a trace says, gathered for the summary.
#[derive(Debug, Default)]
pub struct Summary {
    /// Per queue: times in queue and in the callback, nanoseconds.
    pub queues: BTreeMap<String, QueueTimes>,
    /// Every callback, for the longest ones.
    pub slices: Vec<Slice>,
    /// Every put whose item started.
    pub flows: Vec<Flow>,
    /// Refused puts: (queue, HRESULT) → count.
    pub refused: BTreeMap<(String, String), u64>,
    /// Misuse: (call, HRESULT) → count.
    pub misuse: BTreeMap<(String, String), u64>,
    /// Real-time registrations: (queue, requested, applied).
    pub realtime: Vec<(String, String, String)>,
    /// Panics: (queue, site).
    pub panics: Vec<(String, String)>,
    /// Threads that recorded, by name.
    pub threads: Vec<String>,
    /// Puts whose item never started in the trace.
    pub unmatched_puts: usize,
    /// Events in the file.
    pub events: usize,
    /// Events the recorder had to drop (its note at the end of the trace).
    pub dropped: u64,
    /// Bytes at the end of the file that are not a whole packet.
    pub unread_bytes: usize,
}

/// The packets of a trace file, one `Trace.packet` field at a time, up to
/// the first that is cut short or does not decode, resolved (interned names
/// and default tracks put back); and how many bytes were left after it.
pub fn decode_packets(mut bytes: &[u8]) -> (Trace, usize) {
    use prost::encoding::decode_varint;
    let mut trace = Trace::default();
    let mut resolver = mfwq::observe::perfetto::Resolver::default();
    while !bytes.is_empty() {
        let mut cursor = bytes;
        let Ok(key) = decode_varint(&mut cursor) else {
            break;
        };
        // Field 1 (`packet`), length-delimited.
        if key != (1 << 3 | 2) {
            break;
        }
        let Ok(length) = decode_varint(&mut cursor) else {
            break;
        };
        let Ok(length) = usize::try_from(length) else {
            break;
        };
        if length > cursor.len() {
            break;
        }
        let Ok(mut packet) = mfwq::observe::perfetto::TracePacket::decode(&cursor[..length]) else {
            break;
        };
        resolver.resolve(&mut packet);
        trace.packet.push(packet);
        bytes = &cursor[length..];
    }
    (trace, bytes.len())
}

/// One queue's items.
#[derive(Debug, Default)]
pub struct QueueTimes {
    pub in_queue: Vec<u64>,
    pub in_invoke: Vec<u64>,
}

fn annotation(event: &TrackEvent, name: &str) -> String {
    event
        .debug_annotations
        .iter()
        .find(|annotation| annotation.name.as_deref() == Some(name))
        .map(|annotation| {
            annotation
                .string_value
                .clone()
                .or_else(|| annotation.uint_value.map(|value| value.to_string()))
                .or_else(|| annotation.pointer_value.map(|value| format!("{value:#x}")))
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

impl Summary {
    /// Reads and digests the trace at `path`. A trace cut short (a process
    /// killed while writing, a full disk, a file still being written) is
    /// read up to its last whole packet, and the summary says what was left.
    pub fn read(path: &Path) -> Result<Summary, String> {
        let bytes = std::fs::read(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let (trace, unread) = decode_packets(&bytes);
        if trace.packet.is_empty() && !bytes.is_empty() {
            return Err(format!("{} is not a Perfetto trace", path.display()));
        }
        let mut summary = Summary::from_trace(&trace);
        summary.unread_bytes = unread;
        Ok(summary)
    }

    /// Digests a decoded trace.
    pub fn from_trace(trace: &Trace) -> Summary {
        let mut summary = Summary::default();
        let mut threads = HashMap::new();
        for packet in &trace.packet {
            if let Some(thread) = packet
                .track_descriptor
                .as_ref()
                .and_then(|track| Some((track.uuid?, track.thread.as_ref()?)))
            {
                threads.insert(thread.0, thread.1.thread_name.clone().unwrap_or_default());
            }
        }
        summary.threads = threads.values().cloned().collect();
        summary.threads.sort();
        let mut puts: HashMap<u64, (u64, u64)> = HashMap::new();
        let mut starts: Vec<(u64, u64, String, u64)> = Vec::new();
        let mut open: HashMap<u64, Vec<(u64, String, String)>> = HashMap::new();
        for packet in &trace.packet {
            let Some(event) = &packet.track_event else {
                continue;
            };
            summary.events += 1;
            let time = packet.timestamp.unwrap_or(0);
            let track = event.track_uuid.unwrap_or(0);
            let name = event.name.clone().unwrap_or_default();
            match event.r#type.unwrap_or(0) {
                TYPE_INSTANT if name.starts_with("put ") => {
                    for flow in &event.flow_ids {
                        puts.insert(*flow, (time, track));
                    }
                }
                TYPE_INSTANT if name == "refused put" => {
                    for flow in &event.terminating_flow_ids {
                        puts.remove(flow);
                    }
                    *summary
                        .refused
                        .entry((annotation(event, "queue"), annotation(event, "hresult")))
                        .or_default() += 1;
                }
                TYPE_INSTANT if name.starts_with("misuse: ") => {
                    *summary
                        .misuse
                        .entry((annotation(event, "call"), annotation(event, "hresult")))
                        .or_default() += 1;
                }
                TYPE_INSTANT if name == "real-time registration" => summary.realtime.push((
                    annotation(event, "queue"),
                    annotation(event, "requested"),
                    annotation(event, "applied"),
                )),
                TYPE_INSTANT if name == mfwq::observe::DROPPED_EVENT => {
                    summary.dropped = summary.dropped.saturating_add(
                        event
                            .debug_annotations
                            .iter()
                            .find_map(|annotation| annotation.uint_value)
                            .unwrap_or(0),
                    );
                }
                TYPE_INSTANT if name == "panic" => summary
                    .panics
                    .push((annotation(event, "queue"), annotation(event, "site"))),
                TYPE_SLICE_BEGIN => {
                    let queue = annotation(event, "queue");
                    for flow in &event.terminating_flow_ids {
                        starts.push((*flow, time, queue.clone(), track));
                    }
                    // A C callback's slice is "Invoke": its address says
                    // which callback it was.
                    let name = match event
                        .debug_annotations
                        .iter()
                        .find(|annotation| annotation.name.as_deref() == Some("callback"))
                        .and_then(|annotation| annotation.pointer_value)
                    {
                        Some(address) => format!("{name} {address:#x}"),
                        None => name,
                    };
                    open.entry(track).or_default().push((time, name, queue));
                }
                TYPE_SLICE_END => {
                    if let Some((start, name, queue)) =
                        open.get_mut(&track).and_then(|stack| stack.pop())
                    {
                        let duration = time.saturating_sub(start);
                        summary
                            .queues
                            .entry(queue.clone())
                            .or_default()
                            .in_invoke
                            .push(duration);
                        summary.slices.push(Slice {
                            name,
                            queue,
                            thread: threads.get(&track).cloned().unwrap_or_default(),
                            start_ns: start,
                            duration_ns: duration,
                        });
                    }
                }
                _ => {}
            }
        }
        for (flow, start, queue, track) in starts {
            if let Some((put, put_track)) = puts.remove(&flow) {
                summary
                    .queues
                    .entry(queue)
                    .or_default()
                    .in_queue
                    .push(start.saturating_sub(put));
                summary.flows.push(Flow {
                    put_thread: threads.get(&put_track).cloned().unwrap_or_default(),
                    put_ns: put,
                    thread: threads.get(&track).cloned().unwrap_or_default(),
                    start_ns: start,
                });
            }
        }
        summary.unmatched_puts = puts.len();
        summary
    }

    /// The summary as `mfwq trace` prints it.
    pub fn render(&self, longest: usize) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} events, {} threads recorded\n",
            self.events,
            self.threads.len()
        );
        if self.unread_bytes > 0 {
            let _ = writeln!(
                out,
                "WARNING: the trace ends with {} bytes that are not a whole packet \
                 (the process stopped while writing): read up to there\n",
                self.unread_bytes
            );
        }
        if self.dropped > 0 {
            let _ = writeln!(
                out,
                "WARNING: {} events were dropped (the recorder's writer thread fell behind): \
                 counts below are short\n",
                self.dropped
            );
        }
        let _ = writeln!(
            out,
            "{:<28} {:>9}  {:>30}  {:>30}",
            "queue", "items", "time in queue p50/p99/max", "time in Invoke p50/p99/max"
        );
        for (queue, times) in &self.queues {
            let _ = writeln!(
                out,
                "{:<28} {:>9}  {:>30}  {:>30}",
                queue,
                times.in_invoke.len(),
                triple(&times.in_queue),
                triple(&times.in_invoke)
            );
        }
        let mut slices: Vec<&Slice> = self.slices.iter().collect();
        slices.sort_by_key(|slice| std::cmp::Reverse(slice.duration_ns));
        let _ = writeln!(out, "\nlongest callbacks:");
        let first = self
            .slices
            .iter()
            .map(|slice| slice.start_ns)
            .min()
            .unwrap_or(0);
        for slice in slices.iter().take(longest) {
            let _ = writeln!(
                out,
                "  {:>12}  at {:>10}  {:<24} {:<28} {}",
                format_ns(slice.duration_ns),
                format_ns(slice.start_ns - first),
                slice.queue,
                slice.thread,
                slice.name
            );
        }
        let _ = writeln!(
            out,
            "\nrefused puts:{}",
            if self.refused.is_empty() { " none" } else { "" }
        );
        for ((queue, hresult), count) in &self.refused {
            let _ = writeln!(out, "  {count:>6} x {queue}: {hresult}");
        }
        let _ = writeln!(
            out,
            "misuse:{}",
            if self.misuse.is_empty() { " none" } else { "" }
        );
        for ((call, hresult), count) in &self.misuse {
            let _ = writeln!(out, "  {count:>6} x {call}: {hresult}");
        }
        if !self.panics.is_empty() {
            let _ = writeln!(out, "panics:");
            for (queue, site) in &self.panics {
                let _ = writeln!(out, "  {queue}: in {site}");
            }
        }
        let _ = writeln!(
            out,
            "real-time registrations:{}",
            if self.realtime.is_empty() {
                " none"
            } else {
                ""
            }
        );
        for (queue, requested, applied) in &self.realtime {
            let _ = writeln!(out, "  {queue}: requested {requested}; applied {applied}");
        }
        if self.unmatched_puts > 0 {
            let _ = writeln!(
                out,
                "{} puts whose items had not started when the trace ended",
                self.unmatched_puts
            );
        }
        out
    }
}

fn triple(values: &[u64]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let at =
        |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    format!(
        "{}/{}/{}",
        format_ns(at(0.5)),
        format_ns(at(0.99)),
        format_ns(sorted[sorted.len() - 1])
    )
}

fn format_ns(ns: u64) -> String {
    let duration = Duration::from_nanos(ns);
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}µs", duration.as_secs_f64() * 1e6)
    } else {
        format!("{:.2}ms", duration.as_secs_f64() * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfwq::observe::perfetto::TracePacket;

    #[test]
    fn a_trace_cut_short_is_read_up_to_its_last_whole_packet() {
        let packet = |timestamp| TracePacket {
            timestamp: Some(timestamp),
            ..Default::default()
        };
        let bytes = Trace {
            packet: vec![packet(1), packet(2), packet(3)],
        }
        .encode_to_vec();
        let (whole, unread) = decode_packets(&bytes);
        assert_eq!((whole.packet.len(), unread), (3, 0));
        let cut = &bytes[..bytes.len() - 1];
        let (trace, unread) = decode_packets(cut);
        assert_eq!(trace.packet.len(), 2);
        assert!(unread > 0);
        let (nothing, unread) = decode_packets(b"not a trace");
        assert!(nothing.packet.is_empty());
        assert_eq!(unread, 11);
    }
}
