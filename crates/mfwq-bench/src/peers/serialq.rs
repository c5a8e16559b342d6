//! Serial queues over the multithreaded pool: one serial queue against a
//! private standard queue (the thread-per-queue way to get the same FIFO,
//! one-at-a-time guarantee), and sixteen serial queues sharing the pool at once
//! against one.

use mfwq::{QueueId, QueueType};

use super::harness::{contestant, measure, timed};
use crate::{Config, Goal, Report, Row};

const ITEMS: usize = 1_000_000;
const QUEUES: usize = 16;

pub fn run(cfg: &Config, report: &mut Report) {
    const NAME: &str = "serial";
    let n = cfg.scaled(ITEMS);
    let standard = mfwq::WorkQueue::new(QueueType::Standard).expect("allocate a standard queue");
    let standard_id = standard.id();
    let one =
        mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED).expect("allocate a serial queue");
    let many: Vec<_> = (0..QUEUES)
        .map(|_| {
            mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED)
                .expect("allocate a serial queue")
        })
        .collect();

    let mut contestants = vec![
        contestant("private standard queue", n, || {
            timed(n, "private standard queue", |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    mfwq::spawn(standard_id, move || latch.count_down()).expect("spawn");
                }
            })
        }),
        contestant("1 serial over MT", n, || {
            timed(n, "1 serial queue over MULTITHREADED", |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    mfwq::spawn(one, move || latch.count_down()).expect("spawn");
                }
            })
        }),
        contestant("16 serial over MT", n, || {
            timed(n, "16 serial queues over MULTITHREADED", |latch| {
                for i in 0..n {
                    let latch = latch.clone();
                    mfwq::spawn(many[i % QUEUES], move || latch.count_down()).expect("spawn");
                }
            })
        }),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    for (c, s) in contestants.iter().zip(summaries) {
        let mut row = Row::new(NAME, c.name, "ns/item", s);
        if c.name == "1 serial over MT" {
            row = row.with_goal(Goal::throughput_vs("private standard queue", 0.7));
        }
        if c.name == "16 serial over MT" {
            row = row.with_goal(Goal::throughput_vs("1 serial over MT", 1.0));
        }
        report.push(row);
    }
    report.note(format!(
        "serial: {n} items put from one thread; '16 serial' spreads them round-robin over {QUEUES} serial queues on the same pool"
    ));
    drop(contestants);
    for queue in many.into_iter().chain([one]) {
        mfwq::unlock_work_queue(queue).expect("unlock a serial queue");
    }
    drop(standard);
}
