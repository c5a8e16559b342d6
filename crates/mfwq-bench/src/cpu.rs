//! Process CPU time and thread count, for the idle workload.

use std::time::Duration;

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
