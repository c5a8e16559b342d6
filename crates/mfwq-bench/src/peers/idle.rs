//! Workload 7: CPU used by an idle process whose mfwq workers exist (they ran
//! work) but have nothing to do: no polling loop should show. Peers are
//! measured the same way afterwards, each alone, for context.

use std::time::{Duration, Instant};

use mfwq::{QueueId, QueueType};

use super::harness::timed;
use super::pools::{rayon_pool, tokio_runtime};
use crate::{process_cpu_time, Config, Goal, Report, Row, Summary};

/// Allowed CPU per second of idle wall time.
const IDLE_LIMIT_MS_PER_S: f64 = 1.0;

/// Milliseconds of process CPU per second of wall time over `samples`
/// windows, after a short settle; with the thread names seen just before.
fn idle_cpu(cfg: &Config, samples: usize) -> (Summary, String) {
    std::thread::sleep(Duration::from_millis(200));
    let threads = thread_names();
    let per_s: Vec<f64> = (0..samples)
        .map(|_| {
            let cpu0 = process_cpu_time();
            let t0 = Instant::now();
            std::thread::sleep(cfg.idle_window);
            let cpu = process_cpu_time() - cpu0;
            cpu.as_secs_f64() * 1000.0 / t0.elapsed().as_secs_f64()
        })
        .collect();
    (Summary::of(&per_s).expect("samples"), threads)
}

/// Names of this process's threads, with counts, e.g. `mfwq-multithreaded x2`.
fn thread_names() -> String {
    let mut names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .map(|name| {
            // Strip a pool index so that pools group together.
            let name = name.trim();
            match name.rsplit_once('-') {
                Some((base, idx)) if idx.chars().all(|c| c.is_ascii_digit()) => base.to_owned(),
                _ => name.to_owned(),
            }
        })
        .collect();
    names.sort();
    let mut grouped: Vec<String> = Vec::new();
    let mut i = 0;
    while i < names.len() {
        let j = names[i..].iter().take_while(|n| **n == names[i]).count();
        grouped.push(if j > 1 {
            format!("{} x{j}", names[i])
        } else {
            names[i].clone()
        });
        i += j;
    }
    grouped.join(", ")
}

pub fn run(cfg: &Config, report: &mut Report) {
    const NAME: &str = "idle";
    let samples = cfg.rounds.clamp(1, 3);
    super::log(&format!(
        "[{NAME}] {samples} windows of {:?} per contestant",
        cfg.idle_window
    ));

    // Make sure the platform's workers exist: MULTITHREADED (both threads),
    // STANDARD, and a private queue that stays allocated while we watch.
    let queue = mfwq::WorkQueue::new(QueueType::Standard).expect("allocate");
    for target in [QueueId::MULTITHREADED, QueueId::STANDARD, queue.id()] {
        timed(1000, "idle warm-up", |latch| {
            for _ in 0..1000 {
                let latch = latch.clone();
                mfwq::spawn(target, move || latch.count_down()).expect("spawn");
            }
        });
    }
    let (s, threads) = idle_cpu(cfg, samples);
    report.push(
        Row::new(NAME, "mfwq (workers parked)", "ms CPU/s", s)
            .with_goal(Goal::AtMost(IDLE_LIMIT_MS_PER_S)),
    );
    report.note(format!("idle: threads while mfwq was watched: {threads}"));
    drop(queue);

    {
        let rt = tokio_runtime();
        timed(1000, "tokio warm-up", |latch| {
            for _ in 0..1000 {
                let latch = latch.clone();
                drop(rt.spawn(async move { latch.count_down() }));
            }
        });
        let (s, _) = idle_cpu(cfg, samples);
        report.push(Row::new(NAME, "tokio (+ parked mfwq)", "ms CPU/s", s));
    }
    {
        let pool = rayon_pool();
        timed(1000, "rayon warm-up", |latch| {
            for _ in 0..1000 {
                let latch = latch.clone();
                pool.spawn(move || latch.count_down());
            }
        });
        let (s, _) = idle_cpu(cfg, samples);
        report.push(Row::new(NAME, "rayon (+ parked mfwq)", "ms CPU/s", s));
    }
}
