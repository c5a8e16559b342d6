//! Workload 6: bytes per queued item. Each queue is blocked by a first item
//! that waits on a gate; with the counting allocator on, N items are put and
//! the growth of live bytes divided by N; then the gate opens, everything runs,
//! and what is still live afterwards is reported too.

use std::sync::Arc;
use std::time::Duration;

use mfwq::{Event, QueueType};

use super::harness::wait;
use super::pools::{rayon_pool, tokio_runtime, ChannelPool, POOL_THREADS};
use crate::{fmt_num, Config, CountingAlloc, Goal, Latch, Report, Row, Summary};

const ITEMS: usize = 100_000;

struct Footprint {
    bytes: f64,
    allocations: f64,
    residual: f64,
}

/// `blockers` tasks are started by `block` (each must call `started` then
/// wait on the gate); once all run, counting starts, `put` queues `n`
/// items that count down `latch`, and the growth is measured.
fn footprint(
    alloc: &CountingAlloc,
    n: usize,
    what: &str,
    blockers: usize,
    block: impl Fn(Box<dyn FnOnce() + Send>),
    put: impl FnOnce(&Arc<Latch>),
) -> Footprint {
    let gate = Event::manual_reset(false);
    let started = Arc::new(Latch::new(blockers));
    for _ in 0..blockers {
        let gate = gate.clone();
        let started = started.clone();
        block(Box::new(move || {
            started.count_down();
            gate.wait(None);
        }));
    }
    wait(&started, &format!("{what}: blockers"));
    let latch = Arc::new(Latch::new(n));

    alloc.set_enabled(true);
    let (bytes0, allocs0) = (alloc.live_bytes(), alloc.allocations());
    put(&latch);
    let (bytes1, allocs1) = (alloc.live_bytes(), alloc.allocations());
    gate.set();
    wait(&latch, what);
    // The last items count down before their own memory is released.
    std::thread::sleep(Duration::from_millis(50));
    let bytes2 = alloc.live_bytes();
    alloc.set_enabled(false);

    Footprint {
        bytes: (bytes1 - bytes0) as f64 / n as f64,
        allocations: (allocs1 - allocs0) as f64 / n as f64,
        residual: (bytes2 - bytes0) as f64 / n as f64,
    }
}

/// Whether `alloc` sees this thread's allocations, i.e. is the process's
/// global allocator (a counter that is not would report 0 bytes per item).
fn counts(alloc: &CountingAlloc) -> bool {
    alloc.set_enabled(true);
    let before = alloc.live_bytes();
    let probe = std::hint::black_box(vec![0u8; 4096]);
    let seen = alloc.live_bytes() - before;
    drop(probe);
    alloc.set_enabled(false);
    seen >= 4096
}

pub fn run(cfg: &Config, report: &mut Report) {
    const NAME: &str = "memory";
    let Some(alloc) = super::counting_alloc().filter(|alloc| counts(alloc)) else {
        report.note(format!(
            "{NAME}: not measured: the run was given no counting allocator, or one that is not \
             this program's #[global_allocator]"
        ));
        return;
    };
    let n = cfg.scaled(ITEMS);
    super::log(&format!("[{NAME}] {n} items per contestant"));
    let mut results: Vec<(&str, Footprint)> = Vec::new();

    {
        let queue = mfwq::WorkQueue::new(QueueType::Standard).expect("allocate");
        let id = queue.id();
        let block = |task: Box<dyn FnOnce() + Send>| mfwq::spawn(id, task).expect("spawn");
        let fp = footprint(alloc, n, "mfwq put_work_item", 1, block, |latch| {
            let latch = latch.clone();
            let callback = mfwq::callback(move |_| latch.count_down());
            for _ in 0..n {
                mfwq::put_work_item(id, callback.clone(), None).expect("put_work_item");
            }
        });
        results.push(("mfwq put_work_item", fp));
        let fp = footprint(alloc, n, "mfwq spawn", 1, block, |latch| {
            for _ in 0..n {
                let latch = latch.clone();
                mfwq::spawn(id, move || latch.count_down()).expect("spawn");
            }
        });
        results.push(("mfwq spawn", fp));
    }
    {
        let pool = ChannelPool::new(1, "xbeam-mem");
        let fp = footprint(
            alloc,
            n,
            "crossbeam",
            1,
            |task| pool.execute(task),
            |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    pool.execute(move || latch.count_down());
                }
            },
        );
        results.push(("crossbeam", fp));
    }
    {
        let rt = tokio_runtime();
        let fp = footprint(
            alloc,
            n,
            "tokio",
            POOL_THREADS,
            |task| drop(rt.spawn(async move { task() })),
            |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    drop(rt.spawn(async move { latch.count_down() }));
                }
            },
        );
        results.push(("tokio", fp));
    }
    {
        let pool = rayon_pool();
        let fp = footprint(
            alloc,
            n,
            "rayon",
            POOL_THREADS,
            |task| pool.spawn(task),
            |latch| {
                for _ in 0..n {
                    let latch = latch.clone();
                    pool.spawn(move || latch.count_down());
                }
            },
        );
        results.push(("rayon", fp));
    }

    let mut details = Vec::new();
    for (name, fp) in &results {
        let mut row = Row::new(NAME, name, "B/item", Summary::single(fp.bytes));
        if name.contains("put_work_item") {
            row = row.with_goal(Goal::AtMost(128.0));
        } else if name.starts_with("mfwq") {
            row = row.with_goal(Goal::AtMost(256.0));
        }
        report.push(row);
        details.push(format!(
            "{name} {} allocs/item, {} B/item left after drain",
            fmt_num(fp.allocations),
            fmt_num(fp.residual)
        ));
    }
    report.note(format!(
        "memory: Rust-level bytes requested (no malloc headers), {n} items queued behind a blocked \
         worker, one measurement; {}.",
        details.join("; ")
    ));
    let in_order = kept_after_release(alloc, n, false);
    let shuffled = kept_after_release(alloc, n, true);
    report.note(format!(
        "memory: {n} put_work_item results made on one thread, then released on two: still held \
         afterwards by the result pools and the slabs their blocks lie in, {} MB released in \
         creation order, {} MB shuffled (a live block keeps its 16 KiB slab).",
        fmt_num(in_order / 1e6),
        fmt_num(shuffled / 1e6)
    ));
}

/// Bytes still counted after `n` results, made on this thread, are released
/// half here and half on another thread, in creation order or shuffled.
fn kept_after_release(alloc: &CountingAlloc, n: usize, shuffle: bool) -> f64 {
    let callback = mfwq::callback(|_| {});
    alloc.set_enabled(true);
    let before = alloc.live_bytes();
    let mut results: Vec<_> = (0..n)
        .map(|_| mfwq::AsyncResult::with_callback(callback.clone(), None))
        .collect();
    if shuffle {
        // Fisher-Yates with a fixed xorshift sequence: the same order each run.
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        for i in (1..results.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            results.swap(i, (x % (i as u64 + 1)) as usize);
        }
    }
    let other_half = results.split_off(n / 2);
    let releaser = std::thread::spawn(move || drop(other_half));
    drop(results);
    releaser.join().expect("the releasing thread");
    let kept = alloc.live_bytes() - before;
    alloc.set_enabled(false);
    kept as f64
}
