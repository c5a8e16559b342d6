//! The background load the loaded runs measure under, made by the bench
//! itself at normal priority (`SCHED_OTHER`, nice 0): one spinning thread per
//! CPU, one thread allocating and freeing heavily (touching every page, so
//! the kernel faults pages in and out), and one writing to a file in a
//! scratch directory with an `fsync` after every write.

use std::fs::File;
use std::hint::black_box;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    allocations: Arc<AtomicU64>,
    fsyncs: Arc<AtomicU64>,
    spinners: usize,
    dir: PathBuf,
    started: Instant,
}

/// xorshift64.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn spin(stop: &AtomicBool) {
    let mut x = 1.000_000_1f64;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..10_000 {
            x = black_box(x * 1.000_000_1 + 1e-9);
        }
    }
    black_box(x);
}

/// Keeps 64 blocks of 16 B ..= 1 MiB alive, replacing a random one each step.
fn allocate(stop: &AtomicBool, count: &AtomicU64) {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut live: Vec<Vec<u8>> = (0..64).map(|_| Vec::new()).collect();
    while !stop.load(Ordering::Relaxed) {
        let slot = (next(&mut rng) % 64) as usize;
        let size = 16 << (next(&mut rng) % 17); // 16 B .. 1 MiB
        let mut block = Vec::<u8>::with_capacity(size);
        // One byte per page: the kernel has to fault every page in.
        let spare = block.spare_capacity_mut();
        for page in spare.chunks_mut(4096) {
            page[0].write(1);
        }
        live[slot] = black_box(block);
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Writes 64 KiB and fsyncs, over and over; starts the file again every 16 MiB.
fn write_and_sync(stop: &AtomicBool, count: &AtomicU64, path: &Path) {
    let Ok(mut file) = File::create(path) else {
        return;
    };
    let chunk = vec![0x5Au8; 64 * 1024];
    let mut written = 0usize;
    while !stop.load(Ordering::Relaxed) {
        if file.write_all(&chunk).is_err() || file.sync_all().is_err() {
            return;
        }
        count.fetch_add(1, Ordering::Relaxed);
        written += chunk.len();
        if written >= 16 << 20 {
            let _ = file.set_len(0);
            let _ = file.seek(SeekFrom::Start(0));
            written = 0;
        }
    }
}

impl Load {
    /// Starts the load: `spinners` spinning threads plus the allocating and
    /// the syncing one, the file in a new directory under `parent`.
    pub fn start(spinners: usize, parent: &Path) -> std::io::Result<Load> {
        let dir = parent.join(format!("mfwq-rt-load.{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let stop = Arc::new(AtomicBool::new(false));
        let allocations = Arc::new(AtomicU64::new(0));
        let fsyncs = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        for i in 0..spinners {
            let stop = stop.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("load-spin-{i}"))
                    .spawn(move || spin(&stop))?,
            );
        }
        {
            let (stop, count) = (stop.clone(), allocations.clone());
            threads.push(
                std::thread::Builder::new()
                    .name("load-alloc".into())
                    .spawn(move || allocate(&stop, &count))?,
            );
        }
        {
            let (stop, count) = (stop.clone(), fsyncs.clone());
            let path = dir.join("fsync.dat");
            threads.push(
                std::thread::Builder::new()
                    .name("load-fsync".into())
                    .spawn(move || write_and_sync(&stop, &count, &path))?,
            );
        }
        Ok(Load {
            stop,
            threads,
            allocations,
            fsyncs,
            spinners,
            dir,
            started: Instant::now(),
        })
    }

    /// Stops the load, removes its directory, and says what it did.
    pub fn stop(self) -> String {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let secs = self.started.elapsed().as_secs_f64();
        format!(
            "{} spinning threads, {:.0} allocations/s, {:.0} fsyncs/s (64 KiB each) in {}",
            self.spinners,
            self.allocations.load(Ordering::Relaxed) as f64 / secs,
            self.fsyncs.load(Ordering::Relaxed) as f64 / secs,
            self.dir
                .parent()
                .map_or("?".into(), |p| p.display().to_string()),
        )
    }
}
