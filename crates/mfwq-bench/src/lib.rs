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
pub use cpu::{load_average, machine_busy_time, process_cpu_time, thread_count};
pub use latch::Latch;
pub use report::{fmt_num, markdown_table, text_table, Goal, Report, Row, Verdict};
pub use stats::Summary;
