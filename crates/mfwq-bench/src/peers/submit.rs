//! Diagnostic (no target): what one put costs the submitting thread alone.
//! The queue's worker is blocked by a first item, the puts are timed, then the
//! worker is released and the backlog drains untimed. With no consumer
//! running meanwhile, this is the submit path without cache-line traffic from
//! the other side (except what the design itself shares).

use std::sync::Arc;
use std::time::{Duration, Instant};

use mfwq::{Event, QueueType};

use super::harness::{contestant, measure, wait};
use super::pools::ChannelPool;
use crate::{Config, Latch, Report, Row};

const ITEMS: usize = 200_000;

/// Blocks the queue with one item (`block` runs it there), times `put` of
/// `n` items counting down a latch, then releases and waits for the drain.
fn blocked_puts(
    n: usize,
    what: &str,
    block: impl FnOnce(Box<dyn FnOnce() + Send>),
    put: impl FnOnce(&Arc<Latch>),
) -> Duration {
    let gate = Event::manual_reset(false);
    let started = Arc::new(Latch::new(1));
    {
        let gate = gate.clone();
        let started = started.clone();
        block(Box::new(move || {
            started.count_down();
            gate.wait(None);
        }));
    }
    wait(&started, what);
    let latch = Arc::new(Latch::new(n));
    let t0 = Instant::now();
    put(&latch);
    let elapsed = t0.elapsed();
    gate.set();
    wait(&latch, what);
    elapsed
}

pub fn run(cfg: &Config, report: &mut Report) {
    const NAME: &str = "submit";
    let n = cfg.scaled(ITEMS);
    let queue = mfwq::WorkQueue::new(QueueType::Standard).expect("allocate");
    let id = queue.id();
    let crossbeam = ChannelPool::new(1, "xbeam-submit");
    let block = move |task: Box<dyn FnOnce() + Send>| mfwq::spawn(id, task).expect("spawn");

    let mut contestants = vec![
        contestant("mfwq put_work_item", n, || {
            blocked_puts(n, "submit put_work_item", block, |latch| {
                let latch = latch.clone();
                let callback = mfwq::callback(move |_| latch.count_down());
                for _ in 0..n {
                    mfwq::put_work_item(id, callback.clone(), None).expect("put_work_item");
                }
            })
        }),
        contestant("mfwq spawn", n, || {
            blocked_puts(n, "submit spawn", block, |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    mfwq::spawn(id, move || latch.count_down()).expect("spawn");
                }
            })
        }),
        contestant("crossbeam", n, || {
            blocked_puts(
                n,
                "submit crossbeam",
                |task| crossbeam.execute(task),
                |latch| {
                    for _ in 0..n {
                        let latch = latch.clone();
                        crossbeam.execute(move || latch.count_down());
                    }
                },
            )
        }),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    for (c, s) in contestants.iter().zip(summaries) {
        report.push(Row::new(NAME, c.name, "ns/put", s));
    }
    report.note(format!(
        "submit: diagnostic, no target: the submitting thread's time per put of {n} items onto a \
         private standard queue (or one crossbeam thread) whose worker is blocked, so nothing is \
         consumed meanwhile."
    ));
}
