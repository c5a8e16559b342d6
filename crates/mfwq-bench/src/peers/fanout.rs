//! Workloads 1 and 2: one thread puts a million empty items, the pool (or the
//! serial queue) runs them; the time is from the first put until the last item
//! has counted down the latch.

use mfwq::{QueueId, QueueType};

use super::harness::{contestant, measure, put_fan_out, timed};
use super::pools::{rayon_pool, tokio_runtime, ChannelPool, POOL_THREADS};
use crate::{Config, Goal, Report, Row};

const ITEMS: usize = 1_000_000;

/// Workload 1: onto MULTITHREADED vs rayon, tokio and a crossbeam-channel pool.
pub fn mt(cfg: &Config, report: &mut Report) {
    const NAME: &str = "fanout-mt";
    let n = cfg.scaled(ITEMS);
    let rayon = rayon_pool();
    let tokio = tokio_runtime();
    let crossbeam = ChannelPool::new(POOL_THREADS, "xbeam-pool");

    let mut contestants = vec![
        contestant("mfwq put_work_item", n, || {
            put_fan_out(n, "mfwq put_work_item")
        }),
        contestant("mfwq spawn", n, || {
            timed(n, "mfwq spawn", |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    mfwq::spawn(QueueId::MULTITHREADED, move || latch.count_down()).expect("spawn");
                }
            })
        }),
        contestant("mfwq Queue::spawn", n, || {
            timed(n, "mfwq Queue::spawn", |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    // The JoinHandle is dropped: the task runs detached.
                    drop(
                        mfwq::Queue::MULTITHREADED
                            .spawn(move || latch.count_down())
                            .expect("spawn"),
                    );
                }
            })
        }),
        contestant("mfwq Queue::spawn + join", n, || {
            // Each item returns a value that the submitting thread joins.
            let start = std::time::Instant::now();
            let handles: Vec<_> = (0..n)
                .map(|i| mfwq::Queue::MULTITHREADED.spawn(move || i).expect("spawn"))
                .collect();
            let mut sum = 0usize;
            for handle in handles {
                sum = sum.wrapping_add(handle.join().expect("joined"));
            }
            std::hint::black_box(sum);
            start.elapsed()
        }),
        contestant("rayon spawn + channel", n, || {
            let start = std::time::Instant::now();
            let (sender, receiver) = crossbeam_channel::unbounded();
            for i in 0..n {
                let sender = sender.clone();
                rayon.spawn(move || sender.send(i).expect("receiver alive"));
            }
            let mut sum = 0usize;
            for _ in 0..n {
                sum = sum.wrapping_add(receiver.recv().expect("sent"));
            }
            std::hint::black_box(sum);
            start.elapsed()
        }),
        contestant("rayon", n, || {
            timed(n, "rayon", |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    rayon.spawn(move || latch.count_down());
                }
            })
        }),
        contestant("tokio", n, || {
            timed(n, "tokio", |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    drop(tokio.spawn(async move { latch.count_down() }));
                }
            })
        }),
        contestant("crossbeam pool", n, || {
            timed(n, "crossbeam pool", |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    crossbeam.execute(move || latch.count_down());
                }
            })
        }),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    for (c, s) in contestants.iter().zip(summaries) {
        let mut row = Row::new(NAME, c.name, "ns/item", s);
        // A result per item (as Windows requires) may cost 1.3x the best
        // peer's closure; a closure must cost no more than the best peer's;
        // a closure with a join handle (one allocation per task, as tokio's
        // and rayon's spawns) no more than tokio's spawn, and joined, no more
        // than rayon's spawn with a channel back.
        if c.name.contains("join") {
            row = row.with_goal(Goal::time_vs("rayon spawn + channel", 1.0));
        } else if c.name.contains("put_work_item") {
            row = row.with_goal(Goal::time_vs("crossbeam pool", 1.3));
        } else if c.name.contains("Queue::spawn") {
            row = row.with_goal(Goal::time_vs("tokio", 1.0));
        } else if c.name.starts_with("mfwq") {
            row = row.with_goal(Goal::time_vs("crossbeam pool", 1.0));
        }
        report.push(row);
    }
}

/// Workload 2: onto a private standard queue vs one thread behind a crossbeam channel.
pub fn serial(cfg: &Config, report: &mut Report) {
    const NAME: &str = "fanout-serial";
    let n = cfg.scaled(ITEMS);
    let queue = mfwq::WorkQueue::new(QueueType::Standard).expect("allocate a standard queue");
    let id = queue.id();
    let crossbeam = ChannelPool::new(1, "xbeam-serial");

    let mut contestants = vec![
        contestant("mfwq put_work_item", n, || {
            timed(n, "mfwq put_work_item (private)", |latch| {
                let latch = latch.clone();
                let callback = mfwq::callback(move |_| latch.count_down());
                for _ in 0..n {
                    mfwq::put_work_item(id, callback.clone(), None).expect("put_work_item");
                }
            })
        }),
        contestant("mfwq spawn", n, || {
            timed(n, "mfwq spawn (private)", |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    mfwq::spawn(id, move || latch.count_down()).expect("spawn");
                }
            })
        }),
        contestant("crossbeam", n, || {
            timed(n, "crossbeam (1 thread)", |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    crossbeam.execute(move || latch.count_down());
                }
            })
        }),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    for (c, s) in contestants.iter().zip(summaries) {
        let mut row = Row::new(NAME, c.name, "ns/item", s);
        if c.name.contains("put_work_item") {
            row = row.with_goal(Goal::time_vs("crossbeam", 1.3));
        } else if c.name.starts_with("mfwq") {
            row = row.with_goal(Goal::time_vs("crossbeam", 1.0));
        }
        report.push(row);
    }
    drop(contestants);
    drop(queue);
}
