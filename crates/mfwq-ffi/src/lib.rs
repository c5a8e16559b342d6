//! `libmfplat`: the `mfapi.h` / `rtworkq.h` C ABI over the `mfwq` core.
//!
//! Each export is a thin translation: C arguments to Rust values, the core call,
//! the `Result` back to an HRESULT. No behaviour lives here: COM results and
//! callbacks, their reference counting and `MFASYNCRESULT` layout are the
//! core's (`mfwq::com`, `mfwq::AsyncResult`), event handles are the core's
//! (`mfwq::handle`).
//!
//! Modules follow the areas of docs/behaviour.md: [`lifecycle`] (startup,
//! shutdown, platform locks and events), [`queues`] (allocate, lock, unlock,
//! serial and shared queues), [`work`] (results, put, invoke, timers, waits,
//! periodic callbacks), [`mmcss`] (MMCSS, deadlines, join), [`win32`] (the
//! event subset of docs/behaviour.md#d17) and [`guids`] (the IIDs).
//! [`apartment`] is the COM apartment bookkeeping and `CoTaskMem*` of
//! `mfwq_combase.h`, [`synch`] the synchronisation and time functions of
//! `mfwq_synch.h`, [`shlwapi`] the `QISearch` of `shlwapi.h`.
//!
//! Calling convention: on Linux `extern "system"` is the C convention, which is
//! what `STDAPI` means for a native Linux build.
//!
//! Bad input (docs/behaviour.md#d34, #d35): NULL out-pointers are `E_POINTER`, NULL
//! required inputs `E_INVALIDARG`; nothing dereferences a NULL pointer.

#![allow(non_snake_case, non_camel_case_types)]

use std::ffi::c_void;

use mfwq::com::ComPtr;
use mfwq::{to_hresult, Error, HResult};

pub mod apartment;
pub mod guids;
pub mod lifecycle;
pub mod mmcss;
pub mod queues;
pub mod shlwapi;
pub mod synch;
pub mod win32;
pub mod work;

/// `HRESULT` as the C headers declare it: a 32-bit signed integer.
pub type HRESULT = i32;
/// `DWORD`.
pub type DWORD = u32;
/// `ULONG`.
pub type ULONG = u32;
/// `LONG`: 32-bit, as on Windows (never C `long`).
pub type LONG = i32;
/// `BOOL` / `WINBOOL`.
pub type BOOL = i32;
/// `HANDLE`.
pub type HANDLE = *mut c_void;
/// `WCHAR`: a UTF-16 code unit.
pub type WCHAR = u16;

const S_OK: HRESULT = HResult::S_OK.0;

fn hr(result: mfwq::Result<()>) -> HRESULT {
    to_hresult(&result).0
}

/// The error for a bad or missing required input of a call that needs the
/// platform: `MF_E_SHUTDOWN` while it is down (reported first, as for every
/// call, docs/behaviour.md#d34), else `error` (`E_INVALIDARG`, `E_HANDLE`, ...).
fn refuse_input(error: Error) -> Error {
    mfwq::shutdown_first(error)
}

/// [`refuse_input`] for a missing required input, `E_INVALIDARG` (docs/behaviour.md#d35).
fn missing_input() -> Error {
    refuse_input(Error::InvalidArg)
}

/// [`missing_input`] as the HRESULT an export returns.
fn invalid_arg() -> HRESULT {
    missing_input().hresult().0
}

/// [`invalid_arg`] for a call given no callback or result to work on (what
/// Windows' work queues report as invalid usage): recorded in the trace.
fn invalid_call(call: &'static str) -> HRESULT {
    let hresult = invalid_arg();
    mfwq::observe::note_misuse(call, hresult);
    hresult
}

/// Runs `produce` and writes its value through `out`; NULL `out` is
/// `E_POINTER` (docs/behaviour.md#d35) and nothing is produced.
///
/// # Safety
/// `out` must be NULL or valid for a write of `T`.
unsafe fn write_out<T>(out: *mut T, produce: impl FnOnce() -> mfwq::Result<T>) -> HRESULT {
    if out.is_null() {
        return Error::Pointer.hresult().0;
    }
    match produce() {
        Ok(value) => {
            // SAFETY: checked non-NULL; the caller promises it is writable.
            unsafe { out.write(value) };
            S_OK
        }
        Err(error) => error.hresult().0,
    }
}

/// Writes through an optional out pointer (`_Out_opt_`): NULL is fine.
///
/// # Safety
/// `out` must be NULL or valid for a write of `T`.
unsafe fn write_opt<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable, as the caller promises.
        unsafe { out.write(value) };
    }
}

/// The HRESULT of `result`, writing its value (a key) through the optional
/// out pointer `out` on success.
///
/// # Safety
/// `out` must be NULL or valid for a write of `T`.
unsafe fn finish_opt<T>(out: *mut T, result: mfwq::Result<T>) -> HRESULT {
    match result {
        Ok(value) => {
            // SAFETY: forwarded caller contract.
            unsafe { write_opt(out, value) };
            S_OK
        }
        Err(error) => error.hresult().0,
    }
}

/// A NUL-terminated UTF-16 class name (`LPCWSTR`), kept unit for unit
/// (unpaired surrogates included); `None` for NULL.
///
/// # Safety
/// `text` must be NULL or point at a NUL-terminated `WCHAR` string.
unsafe fn class_name(text: *const WCHAR) -> Option<mfwq::ClassName> {
    if text.is_null() {
        return None;
    }
    let mut len = 0;
    // SAFETY: the string is NUL-terminated, as the caller promises.
    while unsafe { *text.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` units before the NUL are readable.
    let units = unsafe { std::slice::from_raw_parts(text, len) };
    // Kept as the units they are: names are compared and handed back exactly.
    Some(mfwq::ClassName::from_utf16(units))
}

/// A COM interface argument the platform keeps: one `AddRef`, `None` for NULL.
///
/// # Safety
/// `object` must be NULL or a live COM object.
unsafe fn com_arg(object: *mut c_void) -> Option<ComPtr> {
    // SAFETY: forwarded caller contract.
    unsafe { ComPtr::from_raw_add_ref(object) }
}

/// Held by every unit test that starts the platform: it is process-wide and
/// tests run in parallel.
#[cfg(test)]
pub(crate) static PLATFORM_TEST_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::lifecycle::*;
    use super::queues::*;
    use super::*;

    #[test]
    fn lifecycle_and_queues_through_the_c_entry_points() {
        let _lock = PLATFORM_TEST_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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
