//! What observation costs a put: 1M `put_work_item`s onto MULTITHREADED with
//! observation off, with statistics on, and while a trace is recorded (to a
//! file in the temporary directory). Built with `--no-default-features`, mfwq
//! has no observation code at all and the one row says so: compare its figure
//! with "observation off" from the default build to see what the off switch
//! costs (docs/observability.md has both commands).

use super::harness::{contestant, measure, put_fan_out};
use crate::{Config, Report, Row};

const ITEMS: usize = 1_000_000;

/// The workload.
pub fn run(cfg: &Config, report: &mut Report) {
    const NAME: &str = "observe";
    let n = cfg.scaled(ITEMS);
    #[cfg(feature = "observe")]
    let trace_path =
        std::env::temp_dir().join(format!("mfwq-bench-{}.pftrace", std::process::id()));
    #[cfg(feature = "observe")]
    let mut contestants = vec![
        contestant("put, observation off", n, || {
            put_fan_out(n, "observation off")
        }),
        contestant("put, statistics on", n, || {
            mfwq::observe::enable_stats();
            let took = put_fan_out(n, "statistics on");
            mfwq::observe::disable_stats();
            took
        }),
        contestant("put, tracing on", n, || {
            let recording = mfwq::observe::Recording::start(&trace_path).expect("record a trace");
            let took = put_fan_out(n, "tracing on");
            let totals = recording.stop().expect("the trace is written");
            if totals.dropped > 0 {
                super::log(&format!(
                    "[observe] the trace dropped {} of {} events (its writer thread got too little CPU)",
                    totals.dropped,
                    totals.events + totals.dropped
                ));
            }
            took
        }),
    ];
    #[cfg(not(feature = "observe"))]
    let mut contestants = vec![contestant("put, built without observe", n, || {
        put_fan_out(n, "built without observe")
    })];
    let summaries = measure(cfg, NAME, &mut contestants);
    let off = summaries.first().map(|summary| summary.median);
    for (c, s) in contestants.iter().zip(summaries) {
        if let (Some(off), true) = (off, c.name != contestants[0].name) {
            report.note(format!(
                "observe: {} adds {:.0} ns per item to observation off (median to median)",
                c.name,
                s.median - off
            ));
        }
        report.push(Row::new(NAME, c.name, "ns/item", s));
    }
    #[cfg(feature = "observe")]
    let _ = std::fs::remove_file(&trace_path);
}
