//! `libmfplat`: the `mfapi.h` / `rtworkq.h` C ABI over the `mfwq` core.
//!
//! Each export is a thin translation: C arguments to Rust values, the core call,
//! the `Result` back to an HRESULT. No behaviour lives here. This first part
//! covers the platform lifecycle and queue management; the COM-object parts
//! (`IMFAsyncResult`, `IMFAsyncCallback`, put, invoke, timers) follow with the
//! C ABI issue.
//!
//! Calling convention: on Linux `extern "system"` is the C convention, which is
//! what `STDAPI` means for a native Linux build.

#![allow(non_snake_case)]

use mfwq::{to_hresult, Error, HResult, QueueId, QueueType};

/// `HRESULT` as the C headers declare it: a 32-bit signed integer.
pub type HRESULT = i32;
/// `DWORD`.
pub type DWORD = u32;
/// `ULONG`.
pub type ULONG = u32;

fn hr(result: mfwq::Result<()>) -> HRESULT {
    to_hresult(&result).0
}

/// Writes an allocated queue id through a caller pointer; NULL is `E_POINTER` (decision Q35).
///
/// # Safety
/// `out` must be NULL or valid for a `DWORD` write.
unsafe fn write_queue(
    out: *mut DWORD,
    allocate: impl FnOnce() -> mfwq::Result<QueueId>,
) -> HRESULT {
    if out.is_null() {
        return Error::Pointer.hresult().0;
    }
    match allocate() {
        Ok(queue) => {
            // SAFETY: checked non-NULL; the caller promises it is writable.
            unsafe { out.write(queue.0) };
            HResult::S_OK.0
        }
        Err(error) => error.hresult().0,
    }
}

/// `MFStartup(Version, dwFlags)`. The flags change nothing on Linux.
#[no_mangle]
pub extern "system" fn MFStartup(Version: ULONG, _dwFlags: DWORD) -> HRESULT {
    hr(mfwq::startup(Version))
}

/// `MFShutdown()`.
#[no_mangle]
pub extern "system" fn MFShutdown() -> HRESULT {
    hr(mfwq::shutdown())
}

/// `RtwqStartup()`.
#[no_mangle]
pub extern "system" fn RtwqStartup() -> HRESULT {
    hr(mfwq::rtwq_startup())
}

/// `RtwqShutdown()`.
#[no_mangle]
pub extern "system" fn RtwqShutdown() -> HRESULT {
    hr(mfwq::shutdown())
}

/// `MFLockPlatform()`.
#[no_mangle]
pub extern "system" fn MFLockPlatform() -> HRESULT {
    mfwq::lock_platform();
    HResult::S_OK.0
}

/// `MFUnlockPlatform()`.
#[no_mangle]
pub extern "system" fn MFUnlockPlatform() -> HRESULT {
    mfwq::unlock_platform();
    HResult::S_OK.0
}

/// `RtwqLockPlatform()`.
#[no_mangle]
pub extern "system" fn RtwqLockPlatform() -> HRESULT {
    MFLockPlatform()
}

/// `RtwqUnlockPlatform()`.
#[no_mangle]
pub extern "system" fn RtwqUnlockPlatform() -> HRESULT {
    MFUnlockPlatform()
}

/// `MFAllocateWorkQueue(&id)`: a private standard queue.
///
/// # Safety
/// `pdwWorkQueue` must be NULL or valid for a `DWORD` write.
#[no_mangle]
pub unsafe extern "system" fn MFAllocateWorkQueue(pdwWorkQueue: *mut DWORD) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_queue(pdwWorkQueue, || {
            mfwq::allocate_work_queue(QueueType::Standard)
        })
    }
}

/// `MFAllocateWorkQueueEx(type, &id)`; an unknown type is `E_INVALIDARG`.
///
/// # Safety
/// `pdwWorkQueue` must be NULL or valid for a `DWORD` write.
#[no_mangle]
pub unsafe extern "system" fn MFAllocateWorkQueueEx(
    WorkQueueType: i32,
    pdwWorkQueue: *mut DWORD,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_queue(pdwWorkQueue, || {
            mfwq::allocate_work_queue(QueueType::from_raw(WorkQueueType).ok_or(Error::InvalidArg)?)
        })
    }
}

/// `RtwqAllocateWorkQueue(type, &id)`.
///
/// # Safety
/// `queue` must be NULL or valid for a `DWORD` write.
#[no_mangle]
pub unsafe extern "system" fn RtwqAllocateWorkQueue(queue_type: i32, queue: *mut DWORD) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFAllocateWorkQueueEx(queue_type, queue) }
}

/// `MFLockWorkQueue(id)`.
#[no_mangle]
pub extern "system" fn MFLockWorkQueue(dwWorkQueue: DWORD) -> HRESULT {
    hr(mfwq::lock_work_queue(QueueId(dwWorkQueue)))
}

/// `MFUnlockWorkQueue(id)`.
#[no_mangle]
pub extern "system" fn MFUnlockWorkQueue(dwWorkQueue: DWORD) -> HRESULT {
    hr(mfwq::unlock_work_queue(QueueId(dwWorkQueue)))
}

/// `RtwqLockWorkQueue(id)`.
#[no_mangle]
pub extern "system" fn RtwqLockWorkQueue(queue: DWORD) -> HRESULT {
    MFLockWorkQueue(queue)
}

/// `RtwqUnlockWorkQueue(id)`.
#[no_mangle]
pub extern "system" fn RtwqUnlockWorkQueue(queue: DWORD) -> HRESULT {
    MFUnlockWorkQueue(queue)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S_OK: HRESULT = 0;

    #[test]
    fn lifecycle_and_queues_through_the_c_entry_points() {
        assert_eq!(MFShutdown(), S_OK, "shutdown when never started is S_OK");
        assert_eq!(
            MFStartup(0xDEAD_0070, 0),
            HResult::MF_E_BAD_STARTUP_VERSION.0
        );
        let mut queue: DWORD = 0;
        // SAFETY: a valid out pointer.
        assert_eq!(
            unsafe { MFAllocateWorkQueue(&mut queue) },
            HResult::MF_E_SHUTDOWN.0
        );
        assert_eq!(RtwqStartup(), S_OK);
        assert_eq!(MFStartup(mfwq::MF_VERSION, 0), S_OK);
        // SAFETY: NULL is allowed and reported.
        assert_eq!(
            unsafe { MFAllocateWorkQueue(std::ptr::null_mut()) },
            HResult::E_POINTER.0
        );
        // SAFETY: a valid out pointer.
        assert_eq!(
            unsafe { MFAllocateWorkQueueEx(7, &mut queue) },
            HResult::E_INVALIDARG.0
        );
        // SAFETY: a valid out pointer.
        assert_eq!(unsafe { RtwqAllocateWorkQueue(2, &mut queue) }, S_OK);
        assert_ne!(queue & 0xFFFF_0000, 0);
        assert_eq!(MFLockWorkQueue(queue), S_OK);
        assert_eq!(MFUnlockWorkQueue(queue), S_OK);
        assert_eq!(RtwqUnlockWorkQueue(queue), S_OK);
        assert_eq!(MFUnlockWorkQueue(queue), HResult::MF_E_INVALID_WORKQUEUE.0);
        assert_eq!(MFUnlockWorkQueue(1), S_OK, "platform ids are a no-op");
        assert_eq!(MFUnlockPlatform(), S_OK);
        // SAFETY: a valid out pointer.
        assert_eq!(
            unsafe { MFAllocateWorkQueue(&mut queue) },
            HResult::MF_E_SHUTDOWN.0
        );
        assert_eq!(RtwqLockPlatform(), S_OK);
        assert_eq!(RtwqShutdown(), S_OK);
        assert_eq!(MFShutdown(), S_OK);
        assert!(!mfwq::is_started());
    }
}
