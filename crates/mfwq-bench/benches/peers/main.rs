//! mfwq against its peers, in one process, one run: see the crate's
//! `README.md` for the workloads and the targets.
//!
//! `cargo bench -p mfwq-bench [-- FILTER... --rounds N --scale X ...]`;
//! `cargo test -p mfwq-bench --benches` runs every workload once at 1% size as
//! a smoke test.
//!
//! The workloads live in the library (`mfwq_bench::peers`), where `mfwq
//! bench` (crates/mfwq-cli) runs them too; this driver reads the bench's
//! flags, prints the commentary and the table, and writes the Markdown copy.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use mfwq_bench::peers::{self, Stderr, WORKLOADS};
use mfwq_bench::{Config, CountingAlloc};

/// Counts live bytes for the memory workload (off, one relaxed load per call, otherwise).
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

fn main() {
    let cfg = match Config::from_process() {
        Ok(cfg) => cfg,
        Err(error) => {
            eprintln!("mfwq-bench: {error}\n{}", Config::usage());
            std::process::exit(2);
        }
    };
    if cfg.help || cfg.list {
        if cfg.help {
            println!("{}\n\nworkloads:", Config::usage());
        }
        for workload in WORKLOADS {
            println!("  {:<14} {}", workload.name, workload.about);
        }
        return;
    }
    let selected = peers::selected(&cfg);
    if selected.is_empty() {
        eprintln!("mfwq-bench: no workload matches {:?}", cfg.filters);
        std::process::exit(2);
    }

    let mode = if cfg.bench_mode {
        "bench"
    } else {
        "smoke test (run with `cargo bench` to measure)"
    };
    let mut preamble = vec![format!("mode: {mode}")];
    preamble.extend(peers::conditions(&cfg));
    for line in &preamble {
        eprintln!("mfwq-bench: {line}");
    }

    let outcome = peers::run(&cfg, &selected, Arc::new(Stderr), Some(&ALLOC))
        .expect("start the mfwq platform");
    let report = outcome.report;

    let summary = report.summary(outcome.wall.as_secs_f64());
    println!();
    print!("{}", report.table());
    println!("{summary}");

    if cfg.write {
        let when = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        preamble.insert(0, format!("unix time: {when}"));
        preamble.push(summary);
        let path = cfg
            .out
            .clone()
            .unwrap_or_else(|| mfwq_bench::target_report_path("mfwq-bench.md"));
        let markdown = report.markdown("mfwq vs peers", &preamble);
        match std::fs::write(&path, markdown) {
            Ok(()) => eprintln!("mfwq-bench: wrote {}", path.display()),
            Err(error) => eprintln!("mfwq-bench: cannot write {}: {error}", path.display()),
        }
    }
}
