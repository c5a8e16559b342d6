//! Waiting for the platform to come to rest after the last shutdown (both
//! targets; see `docs/fuzzing.md`, "The oracle").
//!
//! The end-of-input oracle reads reference counts and the platform lock
//! count, and a result leaked by a timer pending at the last shutdown looks
//! exactly like a result still on its way to its `Invoke`: both hold their
//! callback, state and platform lock. After `MFShutdown` returns, the only
//! things that can still move such a result are the platform's own threads
//! that the shutdown left behind at its deadline: a queue worker still in a
//! callback, the timer thread dispatching an item that expired as the
//! shutdown gave up, the rescue thread (`mfwq-shutdown`) past its grace.
//! Each exits by itself once it has nothing left to run, so the oracle waits
//! for the platform to have no thread at all, and judges the counts only
//! then, when they can no longer change.
//!
//! The platform's threads are recognised by name (docs/porting.md, "Thread
//! names"): every one it starts is called `mfwq-…`.

use std::time::{Duration, Instant};

/// Threads of the platform's observability (publishing statistics, writing a
/// trace), by their names as Linux keeps them (15 characters): they outlive
/// shutdowns by design, run no user code and hold no result, so they are not
/// waited for. The fuzzers do not start them unless the environment asks.
const SERVICE_THREADS: [&str; 2] = ["mfwq-stats", "mfwq-trace-writ"];

/// The names of the platform threads alive in this process (queue workers,
/// the timer thread, the shutdown's rescue thread, a scheduling probe).
pub fn platform_threads() -> Vec<String> {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap_or_else(|error| {
        // Without it the oracle could not tell a leak from work in flight.
        panic!("cannot list this process's threads in /proc/self/task: {error}")
    });
    let mut names = Vec::new();
    for task in tasks.flatten() {
        // A thread that exits meanwhile has no `comm` to read: it is gone.
        let Ok(comm) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        let name = comm.trim_end_matches('\n');
        if name.starts_with("mfwq-") && !SERVICE_THREADS.contains(&name) {
            names.push(name.to_owned());
        }
    }
    names
}

/// Waits, for at most `limit`, until the platform has no thread left; the
/// names of those still running if it does not come to rest by then.
///
/// Two empty listings in a row are required: a thread that starts another
/// one and exits while the directory is being read could otherwise slip
/// between the entries already read and those not read yet.
pub fn wait_for_platform_threads(limit: Duration) -> Result<(), Vec<String>> {
    let deadline = Instant::now() + limit;
    let mut quiet_listings = 0;
    loop {
        let running = platform_threads();
        if running.is_empty() {
            quiet_listings += 1;
            if quiet_listings == 2 {
                return Ok(());
            }
        } else {
            quiet_listings = 0;
            if Instant::now() > deadline {
                return Err(running);
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}
