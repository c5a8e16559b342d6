//! Diagnostic (no target): what checked mode costs. The same fan-out as
//! `fanout-mt` (one thread puts empty items with one shared callback onto
//! MULTITHREADED; timed until the last one has run), with checked mode off
//! and on, alternating in the same run. Off is the platform's normal path;
//! on, every result is a fresh allocation that is poisoned and quarantined
//! when freed (the oldest of the quarantine goes back to the allocator).

use super::harness::{contestant, measure, put_fan_out};
use crate::{fmt_num, Config, Report, Row};

const ITEMS: usize = 200_000;

const OFF: &str = "put_work_item, checked off";
const ON: &str = "put_work_item, checked on";

/// Puts `n` items with checked mode `checked`, timed until all have run.
fn fan_out(n: usize, checked: bool, what: &str) -> std::time::Duration {
    mfwq::set_checked_mode(checked);
    put_fan_out(n, what)
}

pub fn run(cfg: &Config, report: &mut Report) {
    const NAME: &str = "checked-mode";
    let n = cfg.scaled(ITEMS);
    let before = mfwq::checked_mode();

    let mut contestants = vec![
        contestant(OFF, n, || fan_out(n, false, OFF)),
        contestant(ON, n, || fan_out(n, true, ON)),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    mfwq::set_checked_mode(before);

    let median = |name: &str| {
        contestants
            .iter()
            .zip(&summaries)
            .find(|(c, _)| c.name == name)
            .map(|(_, s)| s.median)
    };
    if let (Some(off), Some(on)) = (median(OFF), median(ON)) {
        report.note(format!(
            "checked-mode: diagnostic, no target: {n} empty items put onto MULTITHREADED, \
             checked mode off vs on in alternating rounds; medians {} vs {} ns/item, on/off \
             {:.2}x. Off is the platform's normal put path (compare fanout-mt's put_work_item \
             row); on, each result is a fresh allocation, poisoned and quarantined when freed.",
            fmt_num(off),
            fmt_num(on),
            on / off
        ));
    }
    for (c, s) in contestants.iter().zip(summaries) {
        report.push(Row::new(NAME, c.name, "ns/item", s));
    }
}
