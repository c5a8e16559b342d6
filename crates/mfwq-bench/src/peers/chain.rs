//! Workload 3: a chain of items, each putting the next from inside its own
//! run, one at a time; the cost is per hop (one item run plus one put).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::Sender;
use mfwq::QueueId;

use super::harness::{contestant, measure, timed};
use super::pools::{rayon_pool, tokio_runtime, ChannelPool, Job, POOL_THREADS};
use crate::{Config, Goal, Latch, Report, Row};

const HOPS: usize = 100_000;
const MT: QueueId = QueueId::MULTITHREADED;

/// Every chain below runs exactly `left` more items after this one.
fn mfwq_hop(left: usize, latch: Arc<Latch>) {
    if left == 0 {
        latch.count_down();
    } else {
        mfwq::spawn(MT, move || mfwq_hop(left - 1, latch)).expect("spawn");
    }
}

/// [`mfwq_hop`] through the idiomatic handle (the JoinHandle is dropped).
fn queue_hop(left: usize, latch: Arc<Latch>) {
    if left == 0 {
        latch.count_down();
    } else {
        drop(
            mfwq::Queue::MULTITHREADED
                .spawn(move || queue_hop(left - 1, latch))
                .expect("spawn"),
        );
    }
}

fn tokio_hop(left: usize, latch: Arc<Latch>) {
    if left == 0 {
        latch.count_down();
    } else {
        drop(tokio::spawn(async move { tokio_hop(left - 1, latch) }));
    }
}

fn rayon_hop(left: usize, latch: Arc<Latch>) {
    if left == 0 {
        latch.count_down();
    } else {
        // On a pool thread, rayon::spawn goes to that thread's own pool.
        rayon::spawn(move || rayon_hop(left - 1, latch));
    }
}

fn crossbeam_hop(left: usize, latch: Arc<Latch>, tx: Sender<Job>) {
    if left == 0 {
        latch.count_down();
    } else {
        let next = tx.clone();
        tx.send(Box::new(move || crossbeam_hop(left - 1, latch, next)))
            .expect("pool alive");
    }
}

pub fn run(cfg: &Config, report: &mut Report) {
    const NAME: &str = "chain";
    let n = cfg.scaled(HOPS);
    let tokio = tokio_runtime();
    let rayon = rayon_pool();
    let crossbeam = ChannelPool::new(POOL_THREADS, "xbeam-chain");

    let mut contestants = vec![
        contestant("mfwq put_work_item", n, || {
            timed(1, "mfwq put_work_item chain", |latch| {
                // The callback carries the count; each invoke re-puts the
                // callback it was invoked with (a fresh result per hop).
                let latch = latch.clone();
                let left = AtomicUsize::new(n);
                let callback = mfwq::callback(move |result| {
                    if left.fetch_sub(1, Ordering::Relaxed) == 1 {
                        latch.count_down();
                    } else {
                        let me = result.callback().expect("has a callback").clone();
                        mfwq::put_work_item(MT, me, None).expect("put_work_item");
                    }
                });
                mfwq::put_work_item(MT, callback, None).expect("put_work_item");
            })
        }),
        contestant("mfwq spawn", n, || {
            timed(1, "mfwq spawn chain", |latch| {
                let latch = latch.clone();
                mfwq::spawn(MT, move || mfwq_hop(n - 1, latch)).expect("spawn");
            })
        }),
        contestant("mfwq Queue::spawn", n, || {
            timed(1, "mfwq Queue::spawn chain", |latch| {
                let latch = latch.clone();
                drop(
                    mfwq::Queue::MULTITHREADED
                        .spawn(move || queue_hop(n - 1, latch))
                        .expect("spawn"),
                );
            })
        }),
        contestant("tokio", n, || {
            timed(1, "tokio chain", |latch| {
                let latch = latch.clone();
                drop(tokio.spawn(async move { tokio_hop(n - 1, latch) }));
            })
        }),
        contestant("rayon", n, || {
            timed(1, "rayon chain", |latch| {
                let latch = latch.clone();
                rayon.spawn(move || rayon_hop(n - 1, latch));
            })
        }),
        contestant("crossbeam pool", n, || {
            timed(1, "crossbeam chain", |latch| {
                let latch = latch.clone();
                let tx = crossbeam.sender();
                crossbeam.execute(move || crossbeam_hop(n - 1, latch, tx));
            })
        }),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    for (c, s) in contestants.iter().zip(summaries) {
        let mut row = Row::new(NAME, c.name, "ns/hop", s);
        // A hop with a result per item against tokio's task per hop; a
        // closure hop against rayon's; a closure with a join handle against
        // tokio's spawn, which makes one too.
        if c.name.contains("put_work_item") {
            row = row.with_goal(Goal::time_vs("tokio", 0.6));
        } else if c.name.contains("Queue::spawn") {
            row = row.with_goal(Goal::time_vs("tokio", 1.0));
        } else if c.name.starts_with("mfwq") {
            row = row.with_goal(Goal::time_vs("rayon", 1.5));
        }
        report.push(row);
    }
}
