//! Workload 4: an item on queue A puts one to queue B, which puts one back to
//! A, and so on; the cost is per round trip (two items, two puts, two
//! cross-thread hand-offs).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use mfwq::{QueueId, QueueType};

use super::harness::{contestant, measure, timed, WAIT_LIMIT};
use crate::{Config, Goal, Latch, Report, Row};

const ROUND_TRIPS: usize = 100_000;

fn ping(a: QueueId, b: QueueId, left: usize, latch: Arc<Latch>) {
    mfwq::spawn(b, move || pong(a, b, left, latch)).expect("spawn to B");
}

fn pong(a: QueueId, b: QueueId, left: usize, latch: Arc<Latch>) {
    if left == 1 {
        latch.count_down();
    } else {
        mfwq::spawn(a, move || ping(a, b, left - 1, latch)).expect("spawn to A");
    }
}

/// [`ping`] / [`pong`] through the idiomatic handles (JoinHandles dropped).
fn queue_ping(a: mfwq::Queue, b: mfwq::Queue, left: usize, latch: Arc<Latch>) {
    drop(
        b.spawn(move || queue_pong(a, b, left, latch))
            .expect("spawn to B"),
    );
}

fn queue_pong(a: mfwq::Queue, b: mfwq::Queue, left: usize, latch: Arc<Latch>) {
    if left == 1 {
        latch.count_down();
    } else {
        drop(
            a.spawn(move || queue_ping(a, b, left - 1, latch))
                .expect("spawn to A"),
        );
    }
}

/// Two threads, two unbounded channels; `Some(n)` is a ball with `n` round
/// trips to go, `None` tells both threads to stop.
struct ChannelPair {
    to_a: Sender<Option<usize>>,
    done: Receiver<()>,
    handles: Vec<JoinHandle<()>>,
}

impl ChannelPair {
    fn new() -> ChannelPair {
        let (to_a, from_main) = crossbeam_channel::unbounded::<Option<usize>>();
        let (to_b, at_b) = crossbeam_channel::unbounded::<Option<usize>>();
        let (done_tx, done) = crossbeam_channel::unbounded();
        let back_to_a = to_a.clone();
        let a = std::thread::Builder::new()
            .name("xbeam-ping".into())
            .spawn(move || {
                for ball in from_main.iter() {
                    let stop = ball.is_none();
                    to_b.send(ball).expect("B alive");
                    if stop {
                        break;
                    }
                }
            })
            .expect("spawn");
        let b = std::thread::Builder::new()
            .name("xbeam-pong".into())
            .spawn(move || {
                for ball in at_b.iter() {
                    match ball {
                        None => break,
                        Some(1) => done_tx.send(()).expect("main alive"),
                        Some(n) => back_to_a.send(Some(n - 1)).expect("A alive"),
                    }
                }
            })
            .expect("spawn");
        ChannelPair {
            to_a,
            done,
            handles: vec![a, b],
        }
    }

    fn round(&self, n: usize) -> std::time::Duration {
        let start = std::time::Instant::now();
        self.to_a.send(Some(n)).expect("A alive");
        self.done
            .recv_timeout(WAIT_LIMIT)
            .expect("crossbeam ping-pong finished");
        start.elapsed()
    }
}

impl Drop for ChannelPair {
    fn drop(&mut self) {
        let _ = self.to_a.send(None);
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

pub fn run(cfg: &Config, report: &mut Report) {
    const NAME: &str = "pingpong";
    let n = cfg.scaled(ROUND_TRIPS);
    let queue_a = mfwq::WorkQueue::new(QueueType::Standard).expect("allocate A");
    let queue_b = mfwq::WorkQueue::new(QueueType::Standard).expect("allocate B");
    let (a, b) = (queue_a.id(), queue_b.id());
    let pair = ChannelPair::new();

    let mut contestants = vec![
        contestant("mfwq put_work_item", n, || {
            timed(1, "mfwq put_work_item ping-pong", |latch| {
                // One callback serves both sides: on A it puts itself to B;
                // on B it counts a round trip and puts itself back to A.
                let latch = latch.clone();
                let left = AtomicUsize::new(n);
                let callback = mfwq::callback(move |result| {
                    let me = result.callback().expect("has a callback").clone();
                    if mfwq::current_queue() == Some(a) {
                        mfwq::put_work_item(b, me, None).expect("put to B");
                    } else if left.fetch_sub(1, Ordering::Relaxed) == 1 {
                        latch.count_down();
                    } else {
                        mfwq::put_work_item(a, me, None).expect("put to A");
                    }
                });
                mfwq::put_work_item(a, callback, None).expect("put to A");
            })
        }),
        contestant("mfwq spawn", n, || {
            timed(1, "mfwq spawn ping-pong", |latch| {
                let latch = latch.clone();
                mfwq::spawn(a, move || ping(a, b, n, latch)).expect("spawn to A");
            })
        }),
        contestant("mfwq Queue::spawn", n, || {
            timed(1, "mfwq Queue::spawn ping-pong", |latch| {
                let latch = latch.clone();
                let (qa, qb) = (mfwq::Queue::from_id(a), mfwq::Queue::from_id(b));
                drop(
                    qa.spawn(move || queue_ping(qa, qb, n, latch))
                        .expect("spawn to A"),
                );
            })
        }),
        contestant("crossbeam", n, || pair.round(n)),
    ];
    let summaries = measure(cfg, NAME, &mut contestants);
    for (c, s) in contestants.iter().zip(summaries) {
        let mut row = Row::new(NAME, c.name, "ns/rtt", s);
        if c.name.starts_with("mfwq") {
            row = row.with_goal(Goal::time_vs("crossbeam", 1.0));
        }
        report.push(row);
    }
    drop(contestants);
    drop(pair);
}
