//! The raw system calls, Linux: `sched_setattr` / `sched_getattr` (with a
//! `sched_setscheduler` + `setpriority` fallback for kernels before 3.14),
//! the real-time priority range and the `RLIMIT_RTPRIO` / `RLIMIT_NICE`
//! limits that the fallback chain (`apply.rs`) is built from.
//!
//! The only `unsafe` of `realtime`, kept in one small file with one
//! interface (`set`, `get`, `priority_range`, `rt_priority_limit`,
//! `nice_floor`); `os_fallback.rs` implements the same interface where there
//! is no Linux scheduling.
//!
//! Every setting carries `SCHED_FLAG_RESET_ON_FORK`, so threads that a
//! callback starts do not inherit a real-time policy (on Linux
//! `sched_getscheduler` then reports the policy or'ed with
//! `SCHED_RESET_ON_FORK`).

use std::io;

use super::policy::SchedPolicy;

/// `struct sched_attr` (`SCHED_ATTR_SIZE_VER0`, 48 bytes).
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    sched_policy: u32,
    sched_flags: u64,
    sched_nice: i32,
    sched_priority: u32,
    sched_runtime: u64,
    sched_deadline: u64,
    sched_period: u64,
}

const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;

/// Sets the scheduling of thread `tid`, with reset-on-fork.
pub(super) fn set(tid: i32, policy: SchedPolicy) -> io::Result<()> {
    let mut attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        sched_policy: policy.linux_policy() as u32,
        sched_flags: SCHED_FLAG_RESET_ON_FORK,
        ..SchedAttr::default()
    };
    match policy {
        SchedPolicy::Other { nice } => attr.sched_nice = nice,
        SchedPolicy::Fifo { priority } | SchedPolicy::RoundRobin { priority } => {
            attr.sched_priority = priority as u32;
        }
        SchedPolicy::Deadline {
            runtime_ns,
            deadline_ns,
            period_ns,
        } => {
            attr.sched_runtime = runtime_ns;
            attr.sched_deadline = deadline_ns;
            attr.sched_period = period_ns;
        }
    }
    // SAFETY: `attr` is a valid, initialised sched_attr of the size it states.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_sched_setattr,
            tid as libc::c_long,
            &attr as *const SchedAttr,
            0 as libc::c_uint,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::ENOSYS) {
        return set_legacy(tid, policy);
    }
    Err(error)
}

/// Kernels before 3.14 have no sched_setattr (and no SCHED_DEADLINE).
fn set_legacy(tid: i32, policy: SchedPolicy) -> io::Result<()> {
    let (kind, priority, nice) = match policy {
        SchedPolicy::Other { nice } => (libc::SCHED_OTHER, 0, Some(nice)),
        SchedPolicy::Fifo { priority } => (libc::SCHED_FIFO, priority, None),
        SchedPolicy::RoundRobin { priority } => (libc::SCHED_RR, priority, None),
        SchedPolicy::Deadline { .. } => return Err(io::Error::from_raw_os_error(libc::ENOSYS)),
    };
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: plain system calls on a thread id with a valid parameter block.
    unsafe {
        if libc::sched_setscheduler(tid, kind | libc::SCHED_RESET_ON_FORK, &param) != 0 {
            return Err(io::Error::last_os_error());
        }
        if let Some(nice) = nice {
            if libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// The scheduling thread `tid` runs under now.
pub(super) fn get(tid: i32) -> io::Result<SchedPolicy> {
    let mut attr = SchedAttr::default();
    // SAFETY: `attr` is writable and as large as the size passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            tid as libc::c_long,
            &mut attr as *mut SchedAttr,
            std::mem::size_of::<SchedAttr>() as libc::c_uint,
            0 as libc::c_uint,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(match attr.sched_policy as i32 {
        libc::SCHED_FIFO => SchedPolicy::Fifo {
            priority: attr.sched_priority as i32,
        },
        libc::SCHED_RR => SchedPolicy::RoundRobin {
            priority: attr.sched_priority as i32,
        },
        6 => SchedPolicy::Deadline {
            runtime_ns: attr.sched_runtime,
            deadline_ns: attr.sched_deadline,
            period_ns: attr.sched_period,
        },
        _ => SchedPolicy::Other {
            nice: attr.sched_nice,
        },
    })
}

/// `sched_get_priority_min/max` of a real-time policy.
pub(super) fn priority_range(kind: i32) -> (i32, i32) {
    // SAFETY: pure queries.
    let (min, max) = unsafe {
        (
            libc::sched_get_priority_min(kind),
            libc::sched_get_priority_max(kind),
        )
    };
    if min < 0 || max < min {
        (1, 99)
    } else {
        (min, max)
    }
}

fn soft_limit(resource: libc::__rlimit_resource_t) -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is writable.
    if unsafe { libc::getrlimit(resource, &mut limit) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    Some(limit.rlim_cur as u64)
}

/// The highest real-time priority `RLIMIT_RTPRIO` allows without privilege.
pub(super) fn rt_priority_limit() -> i64 {
    soft_limit(libc::RLIMIT_RTPRIO).map_or(0, |limit| limit.min(i64::MAX as u64) as i64)
}

/// The lowest nice `RLIMIT_NICE` allows without privilege (`20 - limit`).
pub(super) fn nice_floor() -> i32 {
    match soft_limit(libc::RLIMIT_NICE) {
        Some(limit) => 20 - limit.min(40) as i32,
        None => 20,
    }
}
