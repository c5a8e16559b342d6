//! Workload 5: allocating and unlocking private standard queues.

use std::time::Instant;

use mfwq::QueueType;

use super::harness::{contestant, measure, wait};
use crate::{Config, Goal, Latch, Report, Row, Summary};

const PAIRS: usize = 10_000;

pub fn run(cfg: &Config, report: &mut Report) {
    const NAME: &str = "churn";
    let n = cfg.scaled(PAIRS);
    // With one item each the queue also starts (and ends) its thread: a
    // tenth as many, for context.
    let with_item = cfg.scaled(PAIRS / 10);

    let mut contestants = vec![
        contestant("mfwq alloc+unlock", n, || {
            let start = Instant::now();
            for _ in 0..n {
                let id = mfwq::allocate_work_queue(QueueType::Standard).expect("allocate");
                mfwq::unlock_work_queue(id).expect("unlock");
            }
            start.elapsed()
        }),
        contestant("mfwq alloc+1 item+unlock", with_item, || {
            let start = Instant::now();
            for _ in 0..with_item {
                let id = mfwq::allocate_work_queue(QueueType::Standard).expect("allocate");
                let latch = std::sync::Arc::new(Latch::new(1));
                let done = latch.clone();
                mfwq::spawn(id, move || done.count_down()).expect("spawn");
                wait(&latch, "churn item");
                mfwq::unlock_work_queue(id).expect("unlock");
            }
            start.elapsed()
        }),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    for (c, s) in contestants.iter().zip(summaries) {
        // ns per pair -> microseconds per pair.
        let us = Summary {
            median: s.median / 1000.0,
            min: s.min / 1000.0,
            max: s.max / 1000.0,
            count: s.count,
        };
        let mut row = Row::new(NAME, c.name, "us/pair", us);
        if c.name == "mfwq alloc+unlock" {
            row = row.with_goal(Goal::AtMost(50.0));
        }
        report.push(row);
    }
    report.note(format!(
        "churn: 'alloc+1 item' also starts the queue's thread with its first item, waits for the \
         item, then unlocks ({with_item} pairs a round); no target."
    ));
}
