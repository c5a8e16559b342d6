//! Seeing inside the platform: a per-item trace any process can record, and
//! live per-queue statistics.
//!
//! **Tracing.** With `MFWQ_TRACE=path` in the environment at the first
//! startup (`%p` in the path becomes the process id), or between
//! [`Recording::start`] and [`Recording::stop`], the platform records every
//! work item — its put (queue, priority, thread, time, callback address or
//! Rust type name), the start and end of its callback on the worker thread,
//! and its status — and around them worker threads starting and stopping,
//! queues allocated and unlocked, timers and waiting items registered, fired
//! and cancelled, serial hand-offs and replies, real-time registrations
//! (asked for and applied), shutdown phases, panics, and misuse (refused puts
//! with their HRESULT, over-releases caught by checked mode). The file is a
//! Perfetto trace (protobuf, [`perfetto`]): open it in the Perfetto UI or read
//! it with `mfwq trace`. One track per thread, named after its queue; an
//! arrow from each put to its invoke; a depth counter per queue.
//!
//! **Statistics.** With `MFWQ_STATS` set (or after [`enable_stats`]), each
//! queue counts items put, run, refused and cancelled, its depth and threads,
//! and keeps histograms of time in queue and time in the callback;
//! [`stats`] returns a [`Snapshot`]. `MFWQ_STATS=1` also prints the table
//! at every final shutdown and publishes the snapshot live for `mfwq top`
//! ([`stats_path`]); `MFWQ_STATS=live` only publishes, `MFWQ_STATS=print`
//! only prints.
//!
//! **Cost.** Off, the put path reads one relaxed atomic byte; nothing else
//! changes. On, each item is wrapped with its put time (in a recycled block)
//! and records three events into its threads' wait-free rings; a writer
//! thread at the lowest priority drains them every 5 ms, so that it uses
//! only CPU time the program leaves idle (a program that keeps every CPU
//! busy loses events, counted in the trace, rather than speed). Built
//! without the `observe` feature, the hooks are empty functions.
//! `docs/observability.md` has the figures.
//!
//! ```
//! let _platform = mfwq::Platform::start()?;
//! let path = std::env::temp_dir().join(format!("doc-{}.pftrace", std::process::id()));
//! let recording = mfwq::observe::Recording::start(&path).unwrap();
//! mfwq::Queue::MULTITHREADED.spawn(|| 2 + 2)?.join().unwrap();
//! let totals = recording.stop().unwrap();
//! assert!(totals.events >= 3); // put, begin, end
//! # std::fs::remove_file(path).unwrap();
//! # Ok::<(), mfwq::Error>(())
//! ```

pub(crate) mod event;

#[cfg(feature = "observe")]
mod clock;
#[cfg(feature = "observe")]
mod histogram;
#[cfg(feature = "observe")]
mod hooks;
#[cfg(feature = "observe")]
mod items;
#[cfg(feature = "observe")]
mod packets;
#[cfg(feature = "observe")]
pub mod perfetto;
#[cfg(feature = "observe")]
mod publish;
#[cfg(feature = "observe")]
mod record;
#[cfg(feature = "observe")]
mod session;
#[cfg(feature = "observe")]
mod snapshot;
#[cfg(feature = "observe")]
mod stats;
#[cfg(feature = "observe")]
mod writer;

#[cfg(not(feature = "observe"))]
mod off;

#[cfg(feature = "observe")]
pub(crate) use hooks::*;
#[cfg(not(feature = "observe"))]
pub(crate) use off::*;

#[cfg(feature = "observe")]
pub use histogram::Histogram;
#[cfg(feature = "observe")]
pub use packets::DROPPED_EVENT;
#[cfg(feature = "observe")]
pub use publish::{read_published, stats_path, PUBLISH_INTERVAL};
#[cfg(feature = "observe")]
pub use session::{disable_stats, enable_stats, stats, Recording, STATS_ENV, TRACE_ENV};
#[cfg(feature = "observe")]
pub use snapshot::{QueueSnapshot, Snapshot, ThreadSnapshot};
#[cfg(feature = "observe")]
pub use writer::TraceTotals;

/// Records a call refused as misuse — given no callback or result to work
/// on — in the trace, as Windows' invalid-usage events report it. For layers
/// over this crate that refuse such calls themselves (the C ABI).
///
/// ```
/// mfwq::observe::note_misuse("MFPutWorkItem", mfwq::HResult::E_INVALIDARG.0);
/// ```
#[doc(hidden)]
pub fn note_misuse(call: &'static str, hresult: i32) {
    misuse(call, hresult, false);
}
