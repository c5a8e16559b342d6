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
    // Per tracing round, the share of events the trace kept.
    #[cfg(feature = "observe")]
    let kept = std::cell::RefCell::new(Vec::<f64>::new());
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
            let offered = totals.events + totals.dropped;
            if totals.dropped > 0 {
                super::log(&format!(
                    "[observe] the trace dropped {} of {offered} events (the writer runs on idle CPU time, and this workload leaves none)",
                    totals.dropped,
                ));
            }
            kept.borrow_mut()
                .push(100.0 * totals.events as f64 / offered.max(1) as f64);
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
    {
        let mut kept = kept.take();
        kept.sort_by(f64::total_cmp);
        if let (Some(low), Some(high)) = (kept.first(), kept.last()) {
            report.note(format!(
                "observe: the trace kept {:.0}% of the events (median of {} runs; {low:.0}-{high:.0}%): \
                 its writer runs at the lowest priority, on CPU time this workload leaves idle",
                kept[kept.len() / 2],
                kept.len()
            ));
        }
        let _ = std::fs::remove_file(&trace_path);
    }
}
