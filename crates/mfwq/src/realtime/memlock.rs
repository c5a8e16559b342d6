//! Opt-in memory locking for real-time programs: [`lock_memory`] wraps
//! `mlockall`, [`unlock_memory`] `munlockall` (docs/realtime.md, "Locking
//! memory"). The platform never locks memory by itself: the whole process is
//! affected, and only the program knows whether it wants that.
//!
//! Call it once at startup, before the real-time queues are registered and
//! fed: with [`MemoryLock::CurrentAndFuture`] every page mapped later (worker
//! stacks, the recycler's blocks, the bands' blocks) is locked as it is
//! mapped, so the steady state takes no page fault.

/// Which pages [`lock_memory`] locks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryLock {
    /// The pages mapped now (`MCL_CURRENT`).
    Current,
    /// The pages mapped now and every page mapped later (`MCL_CURRENT |
    /// MCL_FUTURE`): what real-time audio programs want.
    CurrentAndFuture,
}

/// Why [`lock_memory`] or [`unlock_memory`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemoryLockError {
    /// `EPERM`: the process has neither `CAP_IPC_LOCK` nor a non-zero
    /// `RLIMIT_MEMLOCK`. `limit` is the soft limit in bytes (`None`:
    /// unlimited or unknown).
    NotPermitted {
        /// `RLIMIT_MEMLOCK`'s soft limit, in bytes.
        limit: Option<u64>,
    },
    /// `ENOMEM`: the process maps more than its `RLIMIT_MEMLOCK` allows it
    /// to lock (and it lacks `CAP_IPC_LOCK`).
    LimitTooSmall {
        /// `RLIMIT_MEMLOCK`'s soft limit, in bytes.
        limit: Option<u64>,
    },
    /// [`MemoryLock::CurrentAndFuture`] was refused before `mlockall` was
    /// called: the process lacks `CAP_IPC_LOCK` and its `RLIMIT_MEMLOCK` is
    /// finite, so `MCL_FUTURE` would make every allocation fail once that
    /// many bytes are locked. Nothing was locked; [`MemoryLock::Current`]
    /// is still possible within the limit.
    FutureNeedsUnlimited {
        /// `RLIMIT_MEMLOCK`'s soft limit, in bytes.
        limit: u64,
    },
    /// `EAGAIN`: some memory could not be locked (the kernel is short of it).
    Unavailable,
    /// This system has no `mlockall` (not Linux).
    Unsupported,
    /// Another `errno`.
    Os(i32),
}

impl MemoryLockError {
    /// The HRESULT the C ABI reports for it (`MFWQLockMemory`):
    /// `E_ACCESSDENIED` without the right, `E_OUTOFMEMORY` for a limit too
    /// small or memory short, `E_NOTIMPL` where unsupported, `E_FAIL` else.
    pub fn to_hresult(self) -> crate::error::HResult {
        match self {
            MemoryLockError::NotPermitted { .. } => crate::error::HResult::E_ACCESSDENIED,
            MemoryLockError::LimitTooSmall { .. }
            | MemoryLockError::FutureNeedsUnlimited { .. }
            | MemoryLockError::Unavailable => crate::error::HResult::E_OUTOFMEMORY,
            MemoryLockError::Unsupported => crate::error::HResult::E_NOTIMPL,
            MemoryLockError::Os(_) => crate::error::HResult::E_FAIL,
        }
    }
}

fn describe_limit(limit: Option<u64>) -> String {
    match limit {
        Some(bytes) => format!("RLIMIT_MEMLOCK is {} KiB", bytes / 1024),
        None => "RLIMIT_MEMLOCK is unlimited".to_owned(),
    }
}

impl std::fmt::Display for MemoryLockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemoryLockError::NotPermitted { limit } => write!(
                f,
                "mlockall: not permitted ({}; needs CAP_IPC_LOCK or a memlock limit, \
                 e.g. `@audio - memlock unlimited` in /etc/security/limits.d or \
                 LimitMEMLOCK=infinity)",
                describe_limit(*limit)
            ),
            MemoryLockError::LimitTooSmall { limit } => write!(
                f,
                "mlockall: the process maps more than it may lock ({}; raise it, \
                 e.g. `@audio - memlock unlimited`, or grant CAP_IPC_LOCK)",
                describe_limit(*limit)
            ),
            MemoryLockError::FutureNeedsUnlimited { limit } => write!(
                f,
                "mlockall(MCL_FUTURE) refused: {} and no CAP_IPC_LOCK, so allocations \
                 would fail once that much is locked (make it unlimited, grant \
                 CAP_IPC_LOCK, or lock MemoryLock::Current only)",
                describe_limit(Some(*limit))
            ),
            MemoryLockError::Unavailable => {
                write!(f, "mlockall: the kernel could not lock all of the memory")
            }
            MemoryLockError::Unsupported => write!(f, "mlockall is not available here"),
            MemoryLockError::Os(errno) => write!(
                f,
                "mlockall failed: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

impl std::error::Error for MemoryLockError {}

/// Locks the process's memory into RAM (`mlockall`), so that a real-time
/// thread never waits for a page to be faulted in. Opt-in, process-wide, and
/// meant to be called once at startup, before the real-time queues are
/// registered and fed; idempotent. Needs `CAP_IPC_LOCK` or an
/// `RLIMIT_MEMLOCK` large enough for the whole process (docs/realtime.md,
/// "Locking memory"); without it the error says which, and nothing changed.
/// [`MemoryLock::CurrentAndFuture`] needs `CAP_IPC_LOCK` or an unlimited
/// `RLIMIT_MEMLOCK` and is refused otherwise
/// ([`MemoryLockError::FutureNeedsUnlimited`]): with a finite limit,
/// `MCL_FUTURE` would make allocations fail once the limit is reached.
///
/// ```
/// match mfwq::lock_memory(mfwq::MemoryLock::CurrentAndFuture) {
///     Ok(()) => { /* locked: start the platform, register the audio queue */ }
///     Err(error) => eprintln!("running without locked memory: {error}"),
/// }
/// # let _ = mfwq::unlock_memory();
/// ```
pub fn lock_memory(which: MemoryLock) -> Result<(), MemoryLockError> {
    os::lock(which)
}

/// Unlocks every page the process locked (`munlockall`), including the
/// `MCL_FUTURE` setting.
pub fn unlock_memory() -> Result<(), MemoryLockError> {
    os::unlock()
}

#[cfg(target_os = "linux")]
mod os {
    use super::{MemoryLock, MemoryLockError};

    fn memlock_limit() -> Option<u64> {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid out-parameter.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } == 0;
        (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
    }

    fn error(errno: i32) -> MemoryLockError {
        match errno {
            libc::EPERM => MemoryLockError::NotPermitted {
                limit: memlock_limit(),
            },
            libc::ENOMEM => MemoryLockError::LimitTooSmall {
                limit: memlock_limit(),
            },
            libc::EAGAIN => MemoryLockError::Unavailable,
            errno => MemoryLockError::Os(errno),
        }
    }

    fn last_errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    /// Whether the process has `CAP_IPC_LOCK` in its effective set.
    fn has_cap_ipc_lock() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("CapEff:"))
                    .and_then(|caps| u64::from_str_radix(caps.trim(), 16).ok())
            })
            .is_some_and(|caps| caps & (1 << 14) != 0) // CAP_IPC_LOCK is capability 14
    }

    pub(super) fn lock(which: MemoryLock) -> Result<(), MemoryLockError> {
        if which == MemoryLock::CurrentAndFuture {
            if let Some(limit) = memlock_limit() {
                if !has_cap_ipc_lock() {
                    return Err(MemoryLockError::FutureNeedsUnlimited { limit });
                }
            }
        }
        let flags = match which {
            MemoryLock::Current => libc::MCL_CURRENT,
            MemoryLock::CurrentAndFuture => libc::MCL_CURRENT | libc::MCL_FUTURE,
        };
        // SAFETY: mlockall takes flags only.
        if unsafe { libc::mlockall(flags) } == 0 {
            Ok(())
        } else {
            Err(error(last_errno()))
        }
    }

    pub(super) fn unlock() -> Result<(), MemoryLockError> {
        // SAFETY: munlockall has no arguments.
        if unsafe { libc::munlockall() } == 0 {
            Ok(())
        } else {
            Err(error(last_errno()))
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    use super::{MemoryLock, MemoryLockError};

    pub(super) fn lock(_which: MemoryLock) -> Result<(), MemoryLockError> {
        Err(MemoryLockError::Unsupported)
    }

    pub(super) fn unlock() -> Result<(), MemoryLockError> {
        Err(MemoryLockError::Unsupported)
    }
}

#[cfg(all(test, target_os = "linux", not(mfwq_loom)))]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_right_and_map_to_hresults() {
        let denied = MemoryLockError::NotPermitted { limit: Some(65536) };
        let text = denied.to_string();
        assert!(
            text.contains("CAP_IPC_LOCK") && text.contains("64 KiB"),
            "{text}"
        );
        assert_eq!(denied.to_hresult(), crate::error::HResult::E_ACCESSDENIED);
        let small = MemoryLockError::LimitTooSmall { limit: None };
        assert!(small.to_string().contains("unlimited"));
        assert_eq!(small.to_hresult(), crate::error::HResult::E_OUTOFMEMORY);
        let future = MemoryLockError::FutureNeedsUnlimited { limit: 8 << 20 };
        assert!(future.to_string().contains("8192 KiB"), "{future}");
        assert_eq!(
            MemoryLockError::Unsupported.to_hresult(),
            crate::error::HResult::E_NOTIMPL
        );
    }

    /// Locks the current pages (not MCL_FUTURE: the test process goes on) or
    /// fails with an error that matches the process's rights.
    #[test]
    fn lock_memory_succeeds_or_says_why() {
        match lock_memory(MemoryLock::Current) {
            Ok(()) => assert_eq!(unlock_memory(), Ok(())),
            Err(MemoryLockError::NotPermitted { .. } | MemoryLockError::LimitTooSmall { .. }) => {}
            Err(other) => panic!("unexpected: {other}"),
        }
    }
}
