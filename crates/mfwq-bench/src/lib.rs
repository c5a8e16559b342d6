//! The mfwq peer benchmark (`cargo bench -p mfwq-bench`) as a library.
//!
//! [`peers`] holds the workloads, mfwq against tokio, rayon and
//! crossbeam-channel, so that more than the bench binary can run them
//! (`mfwq bench` in crates/mfwq-cli does). Besides, the library holds what
//! the benches share and what deserves unit tests: the statistics
//! ([`Summary`]), the report table with its targets ([`Report`], [`Goal`]),
//! the live-bytes counting allocator ([`CountingAlloc`]), process CPU time
//! ([`process_cpu_time`]), the completion latch ([`Latch`]) and the
//! command-line / environment configuration ([`Config`]).

mod alloc;
mod config;
mod cpu;
mod latch;
pub mod peers;
pub mod realtime;
mod report;
mod stats;

pub use alloc::CountingAlloc;
pub use config::{
    Config, DEFAULT_ROUNDS, ENV_FILTER, ENV_IDLE_MS, ENV_OUT, ENV_ROUNDS, ENV_SCALE, ENV_WARMUP,
};
pub use cpu::{load_average, machine_busy_time, process_cpu_time, thread_count, Noise, NoiseMark};
pub use latch::Latch;
pub use report::{fmt_num, markdown_table, text_table, Goal, Report, Row, Verdict};
pub use stats::Summary;

/// Where a bench run from Cargo writes its report, `<target>/NAME`: a bench
/// runs from `<target>/<profile>/deps/` (else, for a binary elsewhere, the
/// workspace's `target/`).
///
/// ```
/// let path = mfwq_bench::target_report_path("mfwq-bench.md");
/// assert!(path.ends_with("mfwq-bench.md"));
/// ```
pub fn target_report_path(name: &str) -> std::path::PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        let deps = exe.parent()?;
        (deps.file_name()? == "deps")
            .then(|| deps.parent()?.parent().map(std::path::PathBuf::from))?
    });
    from_exe
        .unwrap_or_else(|| {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target"))
        })
        .join(name)
}
