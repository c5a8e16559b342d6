//! What a thread can learn about another thread of this process from the
//! kernel: how much CPU time it has used, and whether it is blocked or could
//! run. A woken thread that waits for a worker to finish an item
//! (`Invocation::settle`) asks, once its short bound has passed, so that it
//! goes on waiting for a worker that is merely preempted, but not for one
//! that runs user code or is blocked in it (possibly waiting for the very
//! thread that asks).
//!
//! Linux only, and not under Miri (which cannot make the calls): elsewhere
//! every answer is "unknown", and the waiter keeps its short bound.

use std::time::Duration;

/// The CPU time thread `tid` of this process has used so far (user and
/// system), or `None` if the kernel does not say (the thread is gone, or
/// this is not Linux). One system call.
pub(super) fn cpu_time(tid: i32) -> Option<Duration> {
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        // The kernel's per-thread CPU clock for `tid`: `MAKE_THREAD_CPUCLOCK
        // (tid, CPUCLOCK_SCHED)` of the kernel's ABI (what glibc's
        // `pthread_getcpuclockid` returns), which does not need the thread's
        // `pthread_t`, and fails cleanly once the thread is gone.
        const CPUCLOCK_PERTHREAD: libc::clockid_t = 4;
        const CPUCLOCK_SCHED: libc::clockid_t = 2;
        let clock = ((!tid) << 3) | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED;
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid timespec to write; an unknown clock is an
        // error return, not undefined behaviour.
        if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
            return None;
        }
        Some(Duration::new(
            u64::try_from(now.tv_sec).ok()?,
            u32::try_from(now.tv_nsec).ok()?,
        ))
    }
    #[cfg(not(all(target_os = "linux", not(miri))))]
    {
        let _ = tid;
        None
    }
}

/// Whether thread `tid` of this process is blocked (sleeping, waiting for
/// I/O, stopped) rather than running or waiting for a processor: `Some(true)`
/// or `Some(false)` from the state letter in `/proc/self/task/<tid>/stat`,
/// `None` if that cannot be read. Three system calls, no allocation.
pub(super) fn is_blocked(tid: i32) -> Option<bool> {
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        let mut path = [0u8; 48];
        let length = task_stat_path(tid, &mut path)?;
        debug_assert_eq!(path[length], 0);
        // SAFETY: `path` is NUL-terminated (`task_stat_path`).
        let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        // The state comes right after the command name, which is at most 16
        // bytes in parentheses, after the id: well within the buffer.
        let mut stat = [0u8; 128];
        // SAFETY: `fd` is open; `stat` is writable for its length.
        let read = unsafe { libc::read(fd, stat.as_mut_ptr().cast(), stat.len()) };
        // SAFETY: `fd` is ours and closed once.
        unsafe { libc::close(fd) };
        let stat = stat.get(..usize::try_from(read).ok()?)?;
        state_is_blocked(stat)
    }
    #[cfg(not(all(target_os = "linux", not(miri))))]
    {
        let _ = tid;
        None
    }
}

/// Writes `/proc/self/task/<tid>/stat` and a NUL into `path`; returns the
/// length without the NUL, or `None` for a negative id.
#[cfg_attr(not(all(target_os = "linux", not(miri))), allow(dead_code))]
fn task_stat_path(tid: i32, path: &mut [u8; 48]) -> Option<usize> {
    let mut digits = [0u8; 10];
    let mut left = u32::try_from(tid).ok()?;
    let mut count = 0;
    loop {
        digits[count] = b'0' + (left % 10) as u8;
        count += 1;
        left /= 10;
        if left == 0 {
            break;
        }
    }
    let mut length = 0;
    let mut push = |bytes: &[u8]| {
        path[length..length + bytes.len()].copy_from_slice(bytes);
        length += bytes.len();
    };
    push(b"/proc/self/task/");
    for digit in digits[..count].iter().rev() {
        push(std::slice::from_ref(digit));
    }
    push(b"/stat\0");
    Some(length - 1)
}

/// The state letter of a `stat` line (`pid (comm) S …`; the command name
/// may itself hold spaces and parentheses, so the last `)` ends it): blocked
/// unless `R` (running or runnable). `None` if the line has no state.
#[cfg_attr(not(all(target_os = "linux", not(miri))), allow(dead_code))]
fn state_is_blocked(stat: &[u8]) -> Option<bool> {
    let end_of_name = stat.iter().rposition(|&byte| byte == b')')?;
    let state = *stat.get(end_of_name + 2)?;
    Some(state != b'R')
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    #[test]
    fn reads_the_state_letter_after_the_command_name() {
        assert_eq!(state_is_blocked(b"12 (mfwq-standard) R 1 2"), Some(false));
        assert_eq!(state_is_blocked(b"12 (a) b) S 1 2"), Some(true));
        assert_eq!(state_is_blocked(b"12 (x) D 1"), Some(true));
        assert_eq!(state_is_blocked(b"12 (x)"), None);
    }

    #[test]
    fn writes_the_stat_path_of_a_task() {
        let mut path = [0u8; 48];
        let length = task_stat_path(4_194_304, &mut path).unwrap();
        assert_eq!(&path[..=length], b"/proc/self/task/4194304/stat\0");
        assert_eq!(task_stat_path(-1, &mut path), None);
    }

    // A thread blocked on a channel is blocked, a spinning one is not, and
    // the spinning one's CPU time grows.
    #[cfg(target_os = "linux")]
    #[test]
    fn tells_a_blocked_thread_from_a_running_one() {
        use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
        use std::sync::Arc;
        let tid = |id: &AtomicI32| loop {
            let tid = id.load(Ordering::SeqCst);
            if tid != 0 {
                return tid;
            }
            std::thread::yield_now();
        };
        let (sender, receiver) = std::sync::mpsc::channel::<()>();
        let sleeper_id = Arc::new(AtomicI32::new(0));
        let id = Arc::clone(&sleeper_id);
        let sleeper = std::thread::spawn(move || {
            id.store(crate::sched::current_tid(), Ordering::SeqCst);
            receiver.recv().unwrap();
        });
        let stop = Arc::new(AtomicBool::new(false));
        let spinner_id = Arc::new(AtomicI32::new(0));
        let (id, stopped) = (Arc::clone(&spinner_id), Arc::clone(&stop));
        let spinner = std::thread::spawn(move || {
            id.store(crate::sched::current_tid(), Ordering::SeqCst);
            while !stopped.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        let (sleeper_tid, spinner_tid) = (tid(&sleeper_id), tid(&spinner_id));
        // The sleeper reaches its wait soon; look until it has.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while is_blocked(sleeper_tid) != Some(true) {
            assert!(
                std::time::Instant::now() < deadline,
                "the sleeper never blocked"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(is_blocked(spinner_tid), Some(false));
        let before = cpu_time(spinner_tid).unwrap();
        while cpu_time(spinner_tid).unwrap() < before + Duration::from_millis(5) {
            assert!(
                std::time::Instant::now() < deadline,
                "the spinner used no CPU"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        stop.store(true, Ordering::Relaxed);
        sender.send(()).unwrap();
        sleeper.join().unwrap();
        spinner.join().unwrap();
        // A thread that is gone has nothing to say, but its id may already
        // name another thread of this process (the tests run side by side
        // and Linux reuses ids at once): only the answer for an id that no
        // thread can have is certain (Linux ids stay below PID_MAX_LIMIT, 2^22).
        const NO_THREAD: i32 = 1 << 23;
        assert_eq!(cpu_time(NO_THREAD), None);
        assert_eq!(is_blocked(NO_THREAD), None);
    }
}
