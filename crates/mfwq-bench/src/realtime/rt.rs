//! The real-time pieces every variant shares: the monotonic clock and its
//! absolute sleeps, thread scheduling, the calibrated audio work, and the
//! per-period record that the measured path writes without allocating.

use std::hint::black_box;
use std::io;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicUsize, Ordering};

/// The largest period the work buffer holds, in frames.
pub const MAX_FRAMES: usize = 4096;

/// Nanoseconds of `CLOCK_MONOTONIC` (the clock the sleeps below use; read
/// through the vDSO, no system call).
pub fn now_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is writable; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    #[allow(clippy::unnecessary_cast)] // time_t and c_long are 32 bits on some targets
    let ns = ts.tv_sec as i64 * 1_000_000_000 + ts.tv_nsec as i64;
    ns
}

/// Sleeps until `CLOCK_MONOTONIC` reads `deadline_ns`: `clock_nanosleep` with
/// `TIMER_ABSTIME`, so that a late wake-up does not shift the next period.
pub fn sleep_until(deadline_ns: i64) {
    let ts = libc::timespec {
        tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
    };
    loop {
        // SAFETY: `ts` is a valid timespec; no remainder is asked for with TIMER_ABSTIME.
        let rc = unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &ts,
                std::ptr::null_mut(),
            )
        };
        if rc != libc::EINTR {
            return;
        }
    }
}

/// Puts the calling thread under `SCHED_FIFO` at `priority`.
pub fn set_fifo(priority: i32) -> io::Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: pid 0 is the calling thread; `param` is valid.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A thread's scheduling as the kernel reports it (`tid` 0: the caller),
/// e.g. `SCHED_FIFO 30` or `SCHED_OTHER nice 0`.
pub fn policy_of(tid: i32) -> String {
    // SAFETY: plain queries; `param` is writable.
    unsafe {
        let policy = libc::sched_getscheduler(tid);
        if policy < 0 {
            return "?".to_owned();
        }
        let policy = policy & !libc::SCHED_RESET_ON_FORK;
        let mut param = libc::sched_param { sched_priority: 0 };
        libc::sched_getparam(tid, &mut param);
        match policy {
            libc::SCHED_FIFO => format!("SCHED_FIFO {}", param.sched_priority),
            libc::SCHED_RR => format!("SCHED_RR {}", param.sched_priority),
            libc::SCHED_OTHER => {
                *libc::__errno_location() = 0;
                let nice = libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t);
                format!("SCHED_OTHER nice {nice}")
            }
            6 => "SCHED_DEADLINE".to_owned(),
            other => format!("policy {other}"),
        }
    }
}

/// The calling thread's Linux thread id.
pub fn gettid() -> i32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Prepares a timing thread: 1 ns timer slack (a `SCHED_OTHER` thread's
/// sleeps otherwise end up to 50 us late on purpose) and 128 KiB of stack
/// touched, so that the measured loop takes no page fault on it.
pub fn prepare_thread() {
    // SAFETY: affects only this thread's timer slack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
    let mut stack = [0u8; 128 * 1024];
    for page in stack.chunks_mut(4096) {
        page[0] = 1;
    }
    black_box(&stack);
}

/// Whether this thread may use `SCHED_FIFO` at `priority`: tried on a
/// short-lived thread. `Err` says why not.
pub fn probe_fifo(priority: i32) -> Result<(), String> {
    std::thread::spawn(move || set_fifo(priority).map_err(|e| e.to_string()))
        .join()
        .unwrap_or_else(|_| Err("probe thread panicked".to_owned()))
}

/// `mlockall(MCL_CURRENT | MCL_FUTURE)` through `mfwq::lock_memory`, as
/// audio programs (and `cyclictest -m`) do, so that no page fault lands in a
/// period. It refuses unless the process has `CAP_IPC_LOCK` or an unlimited
/// `RLIMIT_MEMLOCK` (where `MCL_FUTURE` cannot make later allocations fail).
/// Returns what happened, for the report.
pub fn lock_memory() -> String {
    match mfwq::lock_memory(mfwq::MemoryLock::CurrentAndFuture) {
        Ok(()) => "locked (mfwq::lock_memory: mlockall MCL_CURRENT|MCL_FUTURE)".to_owned(),
        Err(error) => format!("not locked ({error})"),
    }
}

// ---------------------------------------------------------------------------
// The work
// ---------------------------------------------------------------------------

/// One block's processing: `passes` runs of a biquad low-pass over a buffer
/// of `frames` f32 samples (on the stack: no allocation), a dependent chain of
/// multiply-adds that the compiler cannot skip.
#[derive(Clone, Copy, Debug)]
pub struct Work {
    pub frames: usize,
    pub passes: u32,
}

impl Work {
    /// Processes the block for period `seed`; returns a checksum to keep.
    #[inline(never)]
    pub fn run(&self, seed: usize) -> f32 {
        let mut storage = [0f32; MAX_FRAMES];
        let buf = &mut storage[..self.frames.min(MAX_FRAMES)];
        let mut x = (seed as u32).wrapping_mul(2_654_435_761) | 1;
        for sample in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *sample = x as f32 / u32::MAX as f32 - 0.5;
        }
        // A second-order Butterworth low-pass at a quarter of the rate (unity gain at DC).
        let (b0, b1, b2, a1, a2) = (0.292_893_2f32, 0.585_786_4, 0.292_893_2, 0.0, 0.171_572_9);
        let (mut x1, mut x2, mut y1, mut y2) = (0f32, 0f32, 0f32, 0f32);
        for _ in 0..self.passes {
            for sample in buf.iter_mut() {
                let x0 = *sample;
                let y0 = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
                x2 = x1;
                x1 = x0;
                y2 = y1;
                y1 = y0;
                *sample = y0;
            }
            black_box(&mut *buf);
        }
        buf.iter().sum()
    }

    /// The work calibrated to take about `target_ns` on this machine now (on
    /// the calling thread, meant to run on an idle machine before any load).
    /// Returns it with its measured median duration in nanoseconds.
    pub fn calibrate(frames: usize, target_ns: i64) -> (Work, i64) {
        let time = |work: Work| -> i64 {
            let mut samples: Vec<i64> = (0..15)
                .map(|i| {
                    let t = now_ns();
                    black_box(work.run(i));
                    now_ns() - t
                })
                .collect();
            samples.sort_unstable();
            samples[samples.len() / 2]
        };
        let mut work = Work { frames, passes: 64 };
        time(work); // warm the caches and the CPU
                    // Scale until a run is long enough to time well, then once more to the target.
        for _ in 0..3 {
            let took = time(work).max(1);
            let passes = (work.passes as f64 * target_ns as f64 / took as f64).round();
            work.passes = passes.clamp(1.0, 1e7) as u32;
        }
        let took = time(work);
        (work, took)
    }
}

// ---------------------------------------------------------------------------
// The record of one run
// ---------------------------------------------------------------------------

/// Marks a period whose block never ran.
const NEVER: i64 = i64::MIN;

/// What one run of `periods` periods measured. Period `k` nominally starts at
/// `t0 + k * period` and must be done by the next period's start. Every slot
/// is written once, by whoever processed or sourced that period, with a
/// relaxed atomic store: no allocation, no lock in the measured path (the
/// slots are allocated and touched before the run).
pub struct Record {
    pub t0: i64,
    pub period: i64,
    pub work: Work,
    start: Box<[AtomicI64]>,
    end: Box<[AtomicI64]>,
    /// For the queue variants: how late the source woke for each period.
    source: Box<[AtomicI64]>,
    /// Blocks done so far.
    pub done: AtomicUsize,
    /// The next block a serial queue's callback processes (FIFO order).
    next: AtomicUsize,
    sink: AtomicU32,
}

impl Record {
    pub fn new(periods: usize, period: i64, work: Work, t0: i64) -> Record {
        let slots = || (0..periods).map(|_| AtomicI64::new(NEVER)).collect();
        Record {
            t0,
            period,
            work,
            start: slots(),
            end: slots(),
            source: slots(),
            done: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            sink: AtomicU32::new(0),
        }
    }

    pub fn periods(&self) -> usize {
        self.start.len()
    }

    /// Period `k`'s nominal start.
    pub fn nominal(&self, k: usize) -> i64 {
        self.t0 + k as i64 * self.period
    }

    /// Processes period `k`'s block and records when it started and ended.
    #[inline]
    pub fn block(&self, k: usize) {
        let start = now_ns();
        let out = self.work.run(k);
        let end = now_ns();
        if k < self.start.len() {
            self.start[k].store(start, Ordering::Relaxed);
            self.end[k].store(end, Ordering::Relaxed);
        }
        self.sink.store(out.to_bits(), Ordering::Relaxed);
        self.done.fetch_add(1, Ordering::Release);
    }

    /// Processes the next block in order (a serial queue's callback).
    #[inline]
    pub fn next_block(&self) {
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        self.block(k);
    }

    /// The source woke for period `k` at `at`.
    #[inline]
    pub fn source_woke(&self, k: usize, at: i64) {
        self.source[k].store(at - self.nominal(k), Ordering::Relaxed);
    }

    /// Waits (polling every millisecond) until every block is done or the
    /// last deadline is `grace_ns` past; returns whether all were done.
    pub fn wait_done(&self, grace_ns: i64) -> bool {
        let limit = self.nominal(self.periods()) + grace_ns;
        while self.done.load(Ordering::Acquire) < self.periods() {
            if now_ns() > limit {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        true
    }

    /// What the run measured, period by period, to be merged with other runs
    /// of the same contestant.
    pub fn samples(&self) -> Samples {
        let n = self.periods();
        let mut samples = Samples {
            periods: n,
            lateness: Vec::with_capacity(n),
            runtime: Vec::with_capacity(n),
            source: Vec::new(),
            handoff: Vec::new(),
            missed: 0,
            missed_at_source: 0,
            never: 0,
        };
        for k in 0..n {
            let start = self.start[k].load(Ordering::Relaxed);
            let end = self.end[k].load(Ordering::Relaxed);
            if start == NEVER {
                samples.never += 1;
                samples.missed += 1;
                continue;
            }
            samples
                .lateness
                .push((start - self.nominal(k)) as f64 / 1e3);
            samples.runtime.push((end - start) as f64 / 1e3);
            if end > self.nominal(k) + self.period {
                samples.missed += 1;
            }
            let woke = self.source[k].load(Ordering::Relaxed);
            if woke != NEVER {
                samples.source.push(woke as f64 / 1e3);
                samples
                    .handoff
                    .push((start - self.nominal(k) - woke) as f64 / 1e3);
                if end > self.nominal(k) + self.period && woke + (end - start) > self.period {
                    samples.missed_at_source += 1;
                }
            }
        }
        samples
    }
}

/// One contestant's measurements (microseconds), from one run or merged
/// from several: the figures are taken over all of them at once, so that a
/// percentile of the whole is not an average of the parts' percentiles.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    pub periods: usize,
    lateness: Vec<f64>,
    runtime: Vec<f64>,
    source: Vec<f64>,
    /// Block start minus the source's wake-up, for the variants with a source.
    handoff: Vec<f64>,
    pub missed: usize,
    /// Missed blocks whose source woke too late for the work alone to end
    /// by the deadline: lost before any hand-off.
    pub missed_at_source: usize,
    pub never: usize,
}

impl Samples {
    /// Adds another run's measurements.
    pub fn merge(&mut self, other: Samples) {
        self.periods += other.periods;
        self.lateness.extend(other.lateness);
        self.runtime.extend(other.runtime);
        self.source.extend(other.source);
        self.handoff.extend(other.handoff);
        self.missed += other.missed;
        self.missed_at_source += other.missed_at_source;
        self.never += other.never;
    }

    pub fn figures(&self) -> Figures {
        Figures {
            periods: self.periods,
            lateness: Percentiles::of(self.lateness.clone()),
            runtime: Percentiles::of(self.runtime.clone()),
            source: Percentiles::of(self.source.clone()),
            handoff: Percentiles::of(self.handoff.clone()),
            missed: self.missed,
            missed_at_source: self.missed_at_source,
        }
    }
}

/// Percentiles of a set of samples (microseconds), nearest rank.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub count: usize,
}

impl Percentiles {
    /// `None`-like (count 0) for no samples.
    pub fn of(mut samples: Vec<f64>) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_by(f64::total_cmp);
        // The median and maximum as the other benches compute them.
        let summary = crate::Summary::of(&samples).expect("finite samples");
        Percentiles {
            p50: summary.median,
            p99: rank(&samples, 0.99),
            p999: rank(&samples, 0.999),
            max: summary.max,
            count: samples.len(),
        }
    }
}

/// The nearest-rank percentile `q` of sorted samples: the smallest value that
/// at least `q` of the samples do not exceed.
pub fn rank(sorted: &[f64], q: f64) -> f64 {
    let index = (q * sorted.len() as f64).ceil() as usize;
    sorted[index.clamp(1, sorted.len()) - 1]
}

/// What one variant measured in one run.
#[derive(Clone, Copy, Debug)]
pub struct Figures {
    pub periods: usize,
    /// Start lateness: block start minus the period's nominal start (us).
    pub lateness: Percentiles,
    /// How long the block's work took, start to end (us).
    pub runtime: Percentiles,
    /// The source's own wake-up lateness (us; variants with a source only).
    pub source: Percentiles,
    /// Block start minus the source's wake-up (us): the hand-off alone.
    pub handoff: Percentiles,
    /// Blocks done after their deadline (the next period's start), plus those never run.
    pub missed: usize,
    /// Of those, the ones whose source woke too late for the work alone.
    pub missed_at_source: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(lateness: &[f64], missed: usize) -> Samples {
        Samples {
            periods: lateness.len(),
            lateness: lateness.to_vec(),
            runtime: vec![1.0; lateness.len()],
            source: Vec::new(),
            handoff: Vec::new(),
            missed,
            missed_at_source: 0,
            never: 0,
        }
    }

    #[test]
    fn a_miss_is_put_on_the_source_when_it_woke_too_late_for_the_work_alone() {
        // Periods of 1,000 ns from t0 = 0; each block runs 500 ns.
        let record = Record::new(
            3,
            1000,
            Work {
                frames: 1,
                passes: 1,
            },
            0,
        );
        let period = |k: usize, woke: i64, start: i64| {
            let nominal = record.nominal(k);
            record.source_woke(k, nominal + woke);
            record.start[k].store(nominal + start, Ordering::Relaxed);
            record.end[k].store(nominal + start + 500, Ordering::Relaxed);
        };
        period(0, 10, 30); // in time: hand-off 20 ns
        period(1, 900, 920); // missed: 900 + 500 > 1,000, the source's doing
        period(2, 10, 700); // missed after an in-time source: hand-off 690 ns
        let figures = record.samples().figures();
        assert_eq!(figures.missed, 2);
        assert_eq!(figures.missed_at_source, 1);
        assert_eq!(figures.handoff.count, 3);
        assert_eq!(figures.handoff.max, 0.69);
        assert_eq!(figures.source.max, 0.9);
    }

    #[test]
    fn merged_runs_give_percentiles_of_the_whole() {
        // 1,000 periods at 10 us, then a run of 1,000 where one block came
        // 5,000 us late: the p99.9 of the whole is the 1,998th of 2,000
        // values (10 us), and the max is the late one.
        let mut whole = samples(&[10.0; 1000], 0);
        let mut late = vec![10.0; 999];
        late.push(5000.0);
        whole.merge(samples(&late, 1));
        let figures = whole.figures();
        assert_eq!(figures.periods, 2000);
        assert_eq!(figures.missed, 1);
        assert_eq!(figures.lateness.count, 2000);
        assert_eq!(figures.lateness.p999, 10.0);
        assert_eq!(figures.lateness.max, 5000.0);
        // With a third run holding three more, 4 of 3,000 are late: the
        // p99.9 (the 2,997th value) is one of them.
        let mut more = vec![10.0; 997];
        more.extend([5000.0; 3]);
        whole.merge(samples(&more, 3));
        let figures = whole.figures();
        assert_eq!(figures.periods, 3000);
        assert_eq!(figures.missed, 4);
        assert_eq!(figures.lateness.p999, 5000.0);
    }
}
