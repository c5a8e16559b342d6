//! `mfwq`: the command line of the work-queue platform.
//!
//! `mfwq demo` runs a real workload through the platform and prints what
//! happened; `mfwq info` prints the platform's constants and limits; `mfwq
//! bench` runs the peer benchmark's workloads (crates/mfwq-bench) with a
//! progress bar and prints the table, JSON or an SVG chart.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod demo;

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
