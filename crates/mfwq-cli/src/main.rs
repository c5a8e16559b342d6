//! `mfwq`: the command line of the work-queue platform.
//!
//! `mfwq demo` runs a real workload through the platform and prints what
//! happened; `mfwq info` prints the platform's constants and limits; `mfwq
//! bench` runs the peer benchmark's workloads (crates/mfwq-bench) with a
//! progress bar and prints the table, JSON or an SVG chart; `mfwq realtime`
//! runs the real-time audio benchmark.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod demo;
mod top;
mod trace;

#[derive(Parser)]
#[command(
    name = "mfwq",
    version,
    about = "The Media Foundation work-queue platform, on Linux"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a media pipeline through the platform (a video source, decode on
    /// the pool, in-order render, real-time audio) with a live status; print
    /// a summary that checks itself and exit non-zero if a check fails.
    Demo(demo::DemoArgs),
    /// Print the platform's version, queue ids and limits.
    Info,
    /// Run the benchmark workloads, mfwq against tokio, rayon and
    /// crossbeam-channel, with a progress bar; print the table, or JSON,
    /// and draw an SVG chart.
    Bench(bench::BenchArgs),
    /// Run the real-time audio benchmark (lateness and missed deadlines of a
    /// Pro Audio queue against a bare SCHED_FIFO thread).
    ///
    /// A "Pro Audio" queue fed one block
    /// per period (2.667 and 1.333 ms) against a bare SCHED_FIFO thread, the
    /// same queue parking or unregistered, and tokio, idle and under the
    /// benchmark's own CPU, allocator and fsync load; print lateness
    /// percentiles and missed deadlines (about 6 minutes; `--periods N` for
    /// shorter runs, `--list` for the workloads, `--help` for every option).
    /// Needs the right to use SCHED_FIFO to measure what it is for. A
    /// report file is written only with `--out PATH`.
    #[command(disable_help_flag = true)]
    Realtime {
        /// The benchmark's own arguments (filters, --periods, --frames,
        /// --load, --only, --out, --no-write, --list, --help).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run PROGRAM (Rust, or C linked to libmfplat) with the platform's
    /// tracing on (MFWQ_TRACE), write the Perfetto trace, and print a
    /// summary: per queue the items and their time in queue and in Invoke,
    /// the longest callbacks, refused puts and misuse, real-time policy.
    /// Open the trace in the Perfetto UI for the timeline.
    Trace {
        /// Where the trace goes.
        #[arg(short, long, default_value = "mfwq.pftrace")]
        output: std::path::PathBuf,
        /// Summarize the trace at --output instead of running a program.
        #[arg(long)]
        summary: bool,
        /// How many of the longest callbacks to list.
        #[arg(long, default_value_t = 10)]
        longest: usize,
        /// Also draw a window of the trace as a timeline (one row per
        /// thread, callbacks as bars, arrows from put to start) to this SVG.
        #[arg(long, value_name = "FILE.svg")]
        timeline: Option<std::path::PathBuf>,
        /// Where the timeline's window starts, in ms after the first item.
        #[arg(long, default_value_t = 0.0)]
        from_ms: f64,
        /// How long the timeline's window is, in ms.
        #[arg(long, default_value_t = 5.0)]
        window_ms: f64,
        /// The program and its arguments (after `--`).
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// A live view of another process's queues (depth, rates, latency
    /// percentiles, per-thread busy time), from the statistics it publishes
    /// when started with MFWQ_STATS=1 (or live).
    Top {
        /// The process to watch.
        pid: u32,
        /// Refresh interval in milliseconds.
        #[arg(long, default_value_t = 1000)]
        interval: u64,
        /// Print one view as text (two snapshots an interval apart) and exit.
        #[arg(long)]
        once: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Demo(args) => match demo::run(&args) {
            Ok(demo::Verdict::Passed) => Ok(()),
            Ok(demo::Verdict::Failed) => return ExitCode::FAILURE,
            Err(error) => Err(error),
        },
        Command::Info => {
            info();
            Ok(())
        }
        Command::Bench(args) => return bench::run(args),
        Command::Realtime { args } => {
            return mfwq_bench::realtime::run(args, mfwq_bench::realtime::Launch::Cli)
        }
        Command::Trace {
            output,
            summary,
            longest,
            timeline,
            from_ms,
            window_ms,
            command,
        } => {
            let options = trace::Options {
                output,
                summary_only: summary,
                longest,
                command,
                timeline,
                window: (from_ms, window_ms),
            };
            return match trace::run(&options) {
                Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
                Err(error) => {
                    eprintln!("mfwq trace: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Top {
            pid,
            interval,
            once,
        } => {
            return match top::run(
                pid,
                std::time::Duration::from_millis(interval.max(50)),
                once,
            ) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("mfwq top: {error}");
                    ExitCode::FAILURE
                }
            };
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mfwq: {error} [{}]", error.hresult());
            ExitCode::FAILURE
        }
    }
}

fn info() {
    use mfwq::QueueId;
    println!("MF_VERSION            {:#010x}", mfwq::MF_VERSION);
    for queue in [
        QueueId::STANDARD,
        QueueId::RT,
        QueueId::IO,
        QueueId::TIMER,
        QueueId::MULTITHREADED,
        QueueId::LONG_FUNCTION,
    ] {
        println!("queue {:<15} {}", queue.to_string(), queue.0);
    }
    println!("private queues (max)  {}", mfwq::MAX_PRIVATE_QUEUES);
    println!("shutdown timeout      {:?}", mfwq::shutdown_timeout());
}
