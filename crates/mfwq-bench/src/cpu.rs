//! Process CPU time and thread count (the idle workload), and the noise a
//! measurement ran under (every bench's report).

use std::time::{Duration, Instant};

/// User plus system CPU time used by the whole process so far
/// (`getrusage(RUSAGE_SELF)`).
pub fn process_cpu_time() -> Duration {
    // SAFETY: `rusage` is plain data; getrusage only writes into it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU time the whole machine has spent busy (user, nice, system, irq,
/// softirq and steal of the `cpu` line of `/proc/stat`), if it can be read.
/// Minus [`process_cpu_time`] over the same interval, it is what other
/// processes took: the noise a measurement ran under.
pub fn machine_busy_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let busy: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| fields.get(i))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = if ticks > 0 { ticks as u64 } else { 100 };
    Some(Duration::from_nanos(
        busy.saturating_mul(1_000_000_000) / ticks,
    ))
}

/// The 1-minute load average (`/proc/loadavg`), if it can be read.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What other processes ran while a bench measured: for each measurement,
/// the machine's busy time minus this process's CPU time over it, in CPUs
/// on average; and the load average before the first one. The report's note
/// lists them ([`Noise::note`]).
///
/// ```
/// let mut noise = mfwq_bench::Noise::new();
/// let mark = mfwq_bench::Noise::mark();
/// noise.record("workload", &mark, std::time::Duration::ZERO);
/// let _line: Option<String> = noise.note("workload", 2);
/// ```
pub struct Noise {
    entries: Vec<String>,
    load_before: Option<f64>,
}

/// The start of one measurement, for [`Noise::record`].
pub struct NoiseMark {
    busy: Option<Duration>,
    own: Duration,
    start: Instant,
}

impl Noise {
    /// Nothing recorded yet; the load average now.
    pub fn new() -> Noise {
        Noise {
            entries: Vec::new(),
            load_before: load_average(),
        }
    }

    /// A measurement starts now.
    pub fn mark() -> NoiseMark {
        NoiseMark {
            busy: machine_busy_time(),
            own: process_cpu_time(),
            start: Instant::now(),
        }
    }

    /// Records what other processes ran since `mark`, as measurement
    /// `name`; `also_ours` is CPU time this measurement's child processes
    /// used, which is not noise. Nothing is recorded where `/proc/stat`
    /// cannot be read.
    pub fn record(&mut self, name: &str, mark: &NoiseMark, also_ours: Duration) {
        let (Some(busy0), Some(busy1)) = (mark.busy, machine_busy_time()) else {
            return;
        };
        let ours = process_cpu_time().saturating_sub(mark.own) + also_ours;
        let others = busy1.saturating_sub(busy0).saturating_sub(ours);
        self.entries.push(format!(
            "{name} {:.2}",
            others.as_secs_f64() / mark.start.elapsed().as_secs_f64()
        ));
    }

    /// The report's line: the noise during each `each` (a workload, a run),
    /// of `cpus`, and the load average before and now; `None` if nothing was
    /// recorded.
    pub fn note(&self, each: &str, cpus: usize) -> Option<String> {
        let average = |load: Option<f64>| load.map_or("?".into(), |l| format!("{l:.2}"));
        (!self.entries.is_empty()).then(|| {
            format!(
                "noise: CPUs used by other processes during each {each} (of {cpus}): {}; \
                 1-min load average {} before, {} after",
                self.entries.join(", "),
                average(self.load_before),
                average(load_average()),
            )
        })
    }
}

impl Default for Noise {
    fn default() -> Noise {
        Noise::new()
    }
}

/// The number of threads of this process (`Threads:` of `/proc/self/status`),
/// if it can be read.
pub fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_with_work() {
        let before = process_cpu_time();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let used = process_cpu_time() - before;
        assert!(used >= Duration::from_millis(10), "{used:?}");
    }

    #[test]
    fn machine_busy_time_is_monotonic() {
        if let Some(a) = machine_busy_time() {
            let b = machine_busy_time().unwrap();
            assert!(b >= a);
        }
        if let Some(load) = load_average() {
            assert!(load >= 0.0);
        }
    }

    #[test]
    fn thread_count_sees_this_thread() {
        if let Some(n) = thread_count() {
            assert!(n >= 1);
        }
    }
}
