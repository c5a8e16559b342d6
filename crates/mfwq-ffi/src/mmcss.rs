//! MMCSS registration (docs/behaviour.md#shared), the RTWorkQ real-time extras
//! (deadlines, the long-running hint, join/unjoin: docs/behaviour.md#deadlines)
//! and their Rtwq twins.
//!
//! Linux has no MMCSS: the core keeps the registrations (the getters
//! round-trip class, task id and priority) and maps the classes to Linux
//! scheduling (docs/behaviour.md#d19); deadlines are recorded in 100-ns units and
//! applied as `SCHED_DEADLINE` where the kernel allows (docs/behaviour.md#d22); join/unjoin are
//! `E_NOTIMPL` (docs/behaviour.md#d23). All of that is `mfwq::realtime`; this module
//! translates, and owns the one piece that is C plumbing only: the
//! `MFGetWorkQueueMMCSSClass` buffer protocol (size query, short buffer,
//! docs/behaviour.md#d21), built on the core's exact UTF-16 class name.
//!
//! Argument conventions (docs/behaviour.md#d34, #d35): a NULL class string, callback or
//! result is a missing required input, `E_INVALIDARG`; a NULL out-pointer
//! `E_POINTER`; a NULL state is
//! simply no state. A deadline request travels as a `HANDLE` whose integer
//! value is the core's [`mfwq::DeadlineRequest`] (never 0); `LONGLONG` is `i64`.

use mfwq::handle::HandleKind;
use std::ffi::c_void;

use mfwq::com::{com_callback, com_state};
use mfwq::{AsyncResult, Callback, DeadlineRequest, Error, QueueId, State};

use crate::{
    class_name, com_arg, hr, missing_input, write_out, BOOL, DWORD, HANDLE, HRESULT, LONG, S_OK,
    WCHAR,
};

/// A class name argument (`LPCWSTR`); NULL is `E_INVALIDARG` (docs/behaviour.md#d35:
/// only `MFLockSharedWorkQueue` answers `E_POINTER`, as Windows does, docs/behaviour.md#w51).
///
/// # Safety
/// `class` must be NULL or a NUL-terminated UTF-16 string.
unsafe fn class_arg(class: *const WCHAR) -> mfwq::Result<mfwq::ClassName> {
    // SAFETY: forwarded caller contract.
    unsafe { class_name(class) }.ok_or_else(missing_input)
}

/// The done callback and state of a Begin call: the callback is required
/// (`E_INVALIDARG`), the state optional. Each takes one reference, released
/// when the core lets go of it (or at once, if the call fails).
///
/// # Safety
/// `callback` must be NULL or a live `IMFAsyncCallback`; `state` NULL or a
/// live COM object.
unsafe fn done_args(
    callback: *mut c_void,
    state: *mut c_void,
) -> mfwq::Result<(Callback, Option<State>)> {
    // SAFETY: forwarded caller contract.
    let callback = unsafe { com_arg(callback) }.ok_or_else(missing_input)?;
    // SAFETY: forwarded caller contract.
    let state = unsafe { com_arg(state) }.map(com_state);
    // SAFETY: the caller promises an IMFAsyncCallback.
    Ok((unsafe { com_callback(callback) }, state))
}

/// The result an End call was handed; NULL is `E_INVALIDARG`.
///
/// # Safety
/// `result` must be NULL or a live `IMFAsyncResult` (beginning with the
/// `MFASYNCRESULT` layout).
unsafe fn result_arg(result: *mut c_void) -> mfwq::Result<AsyncResult> {
    // SAFETY: forwarded caller contract.
    unsafe { AsyncResult::from_com_result(result) }.ok_or(Error::InvalidArg)
}

// ---------------------------------------------------------------------------
// MMCSS registration (MF)
// ---------------------------------------------------------------------------

/// `MFBeginRegisterWorkQueueWithMMCSS(id, class, taskId, cb, state)`: the Ex
/// form with priority 0 (`AVRT_PRIORITY_NORMAL`), as Wine does.
///
/// # Safety
/// As [`MFBeginRegisterWorkQueueWithMMCSSEx`].
#[no_mangle]
pub unsafe extern "system" fn MFBeginRegisterWorkQueueWithMMCSS(
    dwWorkQueueId: DWORD,
    wszClass: *const WCHAR,
    dwTaskId: DWORD,
    pDoneCallback: *mut c_void,
    pDoneState: *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        MFBeginRegisterWorkQueueWithMMCSSEx(
            dwWorkQueueId,
            wszClass,
            dwTaskId,
            0,
            pDoneCallback,
            pDoneState,
        )
    }
}

/// `MFBeginRegisterWorkQueueWithMMCSSEx(id, class, taskId, lPriority, cb,
/// state)`: starts the registration; `cb` is invoked when it is done and calls
/// [`MFEndRegisterWorkQueueWithMMCSS`]. NULL class: `E_INVALIDARG`; NULL `cb`:
/// `E_INVALIDARG`; not started: `MF_E_SHUTDOWN`.
///
/// # Safety
/// `wszClass` must be NULL or a NUL-terminated UTF-16 string; `pDoneCallback`
/// NULL or a live `IMFAsyncCallback`; `pDoneState` NULL or a live COM object.
#[no_mangle]
pub unsafe extern "system" fn MFBeginRegisterWorkQueueWithMMCSSEx(
    dwWorkQueueId: DWORD,
    wszClass: *const WCHAR,
    dwTaskId: DWORD,
    lPriority: LONG,
    pDoneCallback: *mut c_void,
    pDoneState: *mut c_void,
) -> HRESULT {
    let begin = || {
        // SAFETY: forwarded caller contract.
        let class = unsafe { class_arg(wszClass) }?;
        // SAFETY: forwarded caller contract.
        let (callback, state) = unsafe { done_args(pDoneCallback, pDoneState) }?;
        mfwq::begin_register_work_queue_with_mmcss(
            QueueId(dwWorkQueueId),
            &class,
            dwTaskId,
            lPriority,
            callback,
            state,
        )
    };
    hr(begin())
}

/// `MFEndRegisterWorkQueueWithMMCSS(result, &taskId)`: the task id of a
/// finished registration (or its failure). NULL `pdwTaskId`: `E_POINTER`
/// (the operation is not ended); NULL result: `E_INVALIDARG`.
///
/// # Safety
/// `pResult` must be NULL or a live `IMFAsyncResult`; `pdwTaskId` NULL or
/// valid for a `DWORD` write.
#[no_mangle]
pub unsafe extern "system" fn MFEndRegisterWorkQueueWithMMCSS(
    pResult: *mut c_void,
    pdwTaskId: *mut DWORD,
) -> HRESULT {
    let end = || {
        // SAFETY: forwarded caller contract.
        let result = unsafe { result_arg(pResult) }?;
        mfwq::end_register_work_queue_with_mmcss(&result)
    };
    // SAFETY: forwarded caller contract.
    unsafe { write_out(pdwTaskId, end) }
}

/// `MFBeginUnregisterWorkQueueWithMMCSS(id, cb, state)`: starts the
/// unregistration; `cb` calls [`MFEndUnregisterWorkQueueWithMMCSS`]. NULL
/// `cb`: `E_INVALIDARG`; not started: `MF_E_SHUTDOWN`.
///
/// # Safety
/// `pDoneCallback` must be NULL or a live `IMFAsyncCallback`; `pDoneState`
/// NULL or a live COM object.
#[no_mangle]
pub unsafe extern "system" fn MFBeginUnregisterWorkQueueWithMMCSS(
    dwWorkQueueId: DWORD,
    pDoneCallback: *mut c_void,
    pDoneState: *mut c_void,
) -> HRESULT {
    let begin = || {
        // SAFETY: forwarded caller contract.
        let (callback, state) = unsafe { done_args(pDoneCallback, pDoneState) }?;
        mfwq::begin_unregister_work_queue_with_mmcss(QueueId(dwWorkQueueId), callback, state)
    };
    hr(begin())
}

/// `MFEndUnregisterWorkQueueWithMMCSS(result)`: completes an unregistration.
/// NULL result: `E_INVALIDARG`.
///
/// # Safety
/// `pResult` must be NULL or a live `IMFAsyncResult`.
#[no_mangle]
pub unsafe extern "system" fn MFEndUnregisterWorkQueueWithMMCSS(pResult: *mut c_void) -> HRESULT {
    let end = || {
        // SAFETY: forwarded caller contract.
        let result = unsafe { result_arg(pResult) }?;
        mfwq::end_unregister_work_queue_with_mmcss(&result)
    };
    hr(end())
}

/// `MFGetWorkQueueMMCSSClass(id, buf, &cch)`: `*pcchClass` in is the size of
/// `pwszClass` in `WCHAR`s, out the size the class needs with its NUL. A NULL
/// or short buffer is `MF_E_BUFFERTOOSMALL` with the size written
/// (docs/behaviour.md#d21); an unregistered queue's class is `L""`. NULL `pcchClass`: `E_POINTER`.
/// On a queue error (`MF_E_INVALID_WORKQUEUE`, `MF_E_SHUTDOWN`) `*pcchClass`
/// is left as it was.
///
/// # Safety
/// `pwszClass` must be NULL or valid for writes of `*pcchClass` `WCHAR`s;
/// `pcchClass` NULL or valid for a `DWORD` read and write.
#[no_mangle]
pub unsafe extern "system" fn MFGetWorkQueueMMCSSClass(
    dwWorkQueueId: DWORD,
    pwszClass: *mut WCHAR,
    pcchClass: *mut DWORD,
) -> HRESULT {
    // SAFETY: NULL or valid for read and write, as the caller promises.
    let Some(cch) = (unsafe { pcchClass.as_mut() }) else {
        return Error::Pointer.hresult().0;
    };
    let mut length = *cch as usize;
    let buffer: Option<&mut [WCHAR]> = if pwszClass.is_null() {
        None
    } else if length == 0 {
        Some(&mut [])
    } else {
        // SAFETY: non-NULL and writable for `*pcchClass` units, as the caller promises.
        Some(unsafe { std::slice::from_raw_parts_mut(pwszClass, length) })
    };
    let result = class_into(QueueId(dwWorkQueueId), buffer, &mut length);
    *cch = DWORD::try_from(length).unwrap_or(DWORD::MAX);
    hr(result)
}

/// The buffer protocol of `MFGetWorkQueueMMCSSClass` over the core's exact
/// class name: `length` is set to the size needed (UTF-16 units, NUL
/// included) whether or not the name fits; a missing or short buffer is
/// [`Error::BufferTooSmall`] (docs/behaviour.md#d21) and nothing is written;
/// otherwise the name and a NUL are copied. An unregistered queue's class is
/// `""` (length 1). On a queue error `length` is left alone.
fn class_into(
    queue: QueueId,
    buffer: Option<&mut [WCHAR]>,
    length: &mut usize,
) -> mfwq::Result<()> {
    let class = mfwq::work_queue_mmcss_class_name(queue)?;
    copy_with_nul(class.as_utf16(), buffer, length)
}

/// The C buffer protocol for a string of UTF-16 `units` (kept exactly,
/// unpaired surrogates included): `length` is set to the units needed, NUL
/// included; a missing buffer or one shorter than that is
/// [`Error::BufferTooSmall`] and nothing is written; otherwise the units and
/// a NUL are copied, and nothing past the NUL is touched.
fn copy_with_nul(
    units: &[u16],
    buffer: Option<&mut [WCHAR]>,
    length: &mut usize,
) -> mfwq::Result<()> {
    let needed = units.len() + 1;
    *length = needed;
    match buffer {
        Some(buffer) if buffer.len() >= needed => {
            buffer[..units.len()].copy_from_slice(units);
            buffer[units.len()] = 0;
            Ok(())
        }
        _ => Err(Error::BufferTooSmall),
    }
}

/// `MFGetWorkQueueMMCSSTaskId(id, &taskId)`: 0 for an unregistered queue.
///
/// # Safety
/// `pdwTaskId` must be NULL or valid for a `DWORD` write.
#[no_mangle]
pub unsafe extern "system" fn MFGetWorkQueueMMCSSTaskId(
    dwWorkQueueId: DWORD,
    pdwTaskId: *mut DWORD,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_out(pdwTaskId, || {
            mfwq::work_queue_mmcss_task_id(QueueId(dwWorkQueueId))
        })
    }
}

/// `MFGetWorkQueueMMCSSPriority(id, &priority)`: 0 for an unregistered queue.
///
/// # Safety
/// `lPriority` must be NULL or valid for a `LONG` write.
#[no_mangle]
pub unsafe extern "system" fn MFGetWorkQueueMMCSSPriority(
    dwWorkQueueId: DWORD,
    lPriority: *mut LONG,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_out(lPriority, || {
            mfwq::work_queue_mmcss_priority(QueueId(dwWorkQueueId))
        })
    }
}

/// `MFRegisterPlatformWithMMCSS(class, &taskId, lPriority)`: registers every
/// platform queue, synchronously. `*pdwTaskId` in: an existing task id or 0
/// for a new one; out: the task id used (written only on success). NULL class:
/// `E_INVALIDARG`; NULL `pdwTaskId`: `E_POINTER`.
///
/// # Safety
/// `wszClass` must be NULL or a NUL-terminated UTF-16 string; `pdwTaskId` NULL
/// or valid for a `DWORD` read and write.
#[no_mangle]
pub unsafe extern "system" fn MFRegisterPlatformWithMMCSS(
    wszClass: *const WCHAR,
    pdwTaskId: *mut DWORD,
    lPriority: LONG,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    let class = match unsafe { class_arg(wszClass) } {
        Ok(class) => class,
        Err(error) => return error.hresult().0,
    };
    // SAFETY: NULL or valid for read and write, as the caller promises.
    let Some(task_id) = (unsafe { pdwTaskId.as_mut() }) else {
        return Error::Pointer.hresult().0;
    };
    match mfwq::register_platform_with_mmcss(&class, *task_id, lPriority) {
        Ok(actual) => {
            *task_id = actual;
            S_OK
        }
        Err(error) => error.hresult().0,
    }
}

/// `MFUnregisterPlatformFromMMCSS()`.
#[no_mangle]
pub extern "system" fn MFUnregisterPlatformFromMMCSS() -> HRESULT {
    hr(mfwq::unregister_platform_from_mmcss())
}

// ---------------------------------------------------------------------------
// MMCSS registration (Rtwq)
// ---------------------------------------------------------------------------

/// `RtwqBeginRegisterWorkQueueWithMMCSS(queue, class, taskid, priority,
/// callback, state)`: as [`MFBeginRegisterWorkQueueWithMMCSSEx`].
///
/// # Safety
/// As [`MFBeginRegisterWorkQueueWithMMCSSEx`].
#[no_mangle]
pub unsafe extern "system" fn RtwqBeginRegisterWorkQueueWithMMCSS(
    queue: DWORD,
    mmcss_class: *const WCHAR,
    taskid: DWORD,
    priority: LONG,
    callback: *mut c_void,
    state: *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        MFBeginRegisterWorkQueueWithMMCSSEx(queue, mmcss_class, taskid, priority, callback, state)
    }
}

/// `RtwqEndRegisterWorkQueueWithMMCSS(result, &taskid)`: as
/// [`MFEndRegisterWorkQueueWithMMCSS`].
///
/// # Safety
/// As [`MFEndRegisterWorkQueueWithMMCSS`].
#[no_mangle]
pub unsafe extern "system" fn RtwqEndRegisterWorkQueueWithMMCSS(
    result: *mut c_void,
    taskid: *mut DWORD,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFEndRegisterWorkQueueWithMMCSS(result, taskid) }
}

/// `RtwqBeginUnregisterWorkQueueWithMMCSS(queue, callback, state)`: as
/// [`MFBeginUnregisterWorkQueueWithMMCSS`].
///
/// # Safety
/// As [`MFBeginUnregisterWorkQueueWithMMCSS`].
#[no_mangle]
pub unsafe extern "system" fn RtwqBeginUnregisterWorkQueueWithMMCSS(
    queue: DWORD,
    callback: *mut c_void,
    state: *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFBeginUnregisterWorkQueueWithMMCSS(queue, callback, state) }
}

/// `RtwqEndUnregisterWorkQueueWithMMCSS(result)`: not in the Windows SDK
/// header; exported as a harmless extra (docs/behaviour.md#d26), as
/// [`MFEndUnregisterWorkQueueWithMMCSS`].
///
/// # Safety
/// As [`MFEndUnregisterWorkQueueWithMMCSS`].
#[no_mangle]
pub unsafe extern "system" fn RtwqEndUnregisterWorkQueueWithMMCSS(result: *mut c_void) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFEndUnregisterWorkQueueWithMMCSS(result) }
}

/// `RtwqGetWorkQueueMMCSSClass(queue, buffer, &length)`: as
/// [`MFGetWorkQueueMMCSSClass`].
///
/// # Safety
/// As [`MFGetWorkQueueMMCSSClass`].
#[no_mangle]
pub unsafe extern "system" fn RtwqGetWorkQueueMMCSSClass(
    queue: DWORD,
    mmcss_class: *mut WCHAR,
    length: *mut DWORD,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFGetWorkQueueMMCSSClass(queue, mmcss_class, length) }
}

/// `RtwqGetWorkQueueMMCSSTaskId(queue, &taskid)`: as
/// [`MFGetWorkQueueMMCSSTaskId`].
///
/// # Safety
/// As [`MFGetWorkQueueMMCSSTaskId`].
#[no_mangle]
pub unsafe extern "system" fn RtwqGetWorkQueueMMCSSTaskId(
    queue: DWORD,
    taskid: *mut DWORD,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFGetWorkQueueMMCSSTaskId(queue, taskid) }
}

/// `RtwqGetWorkQueueMMCSSPriority(queue, &priority)`: as
/// [`MFGetWorkQueueMMCSSPriority`].
///
/// # Safety
/// As [`MFGetWorkQueueMMCSSPriority`].
#[no_mangle]
pub unsafe extern "system" fn RtwqGetWorkQueueMMCSSPriority(
    queue: DWORD,
    priority: *mut LONG,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFGetWorkQueueMMCSSPriority(queue, priority) }
}

/// `RtwqRegisterPlatformWithMMCSS(class, &taskid, priority)`: as
/// [`MFRegisterPlatformWithMMCSS`].
///
/// # Safety
/// As [`MFRegisterPlatformWithMMCSS`].
#[no_mangle]
pub unsafe extern "system" fn RtwqRegisterPlatformWithMMCSS(
    mmcss_class: *const WCHAR,
    taskid: *mut DWORD,
    priority: LONG,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFRegisterPlatformWithMMCSS(mmcss_class, taskid, priority) }
}

/// `RtwqUnregisterPlatformFromMMCSS()`.
#[no_mangle]
pub extern "system" fn RtwqUnregisterPlatformFromMMCSS() -> HRESULT {
    MFUnregisterPlatformFromMMCSS()
}

// ---------------------------------------------------------------------------
// Deadlines, long-running hint, join
// ---------------------------------------------------------------------------

/// A deadline request as a `HANDLE`, in the core's handle namespace: never
/// the value of an event handle, so `CloseHandle` on a request fails cleanly
/// instead of closing an unrelated event, and an event handle given to
/// `RtwqCancelDeadline` names no request.
fn request_handle(request: DeadlineRequest) -> HANDLE {
    mfwq::handle::tagged(HandleKind::DeadlineRequest, request.into_raw()) as HANDLE
}

/// The request a `HANDLE` from [`request_handle`] names; anything else names
/// none (request 0, which the core never issues: `MF_E_NOT_FOUND`, or
/// `E_INVALIDARG` for NULL).
fn handle_request(handle: HANDLE) -> DeadlineRequest {
    let value = handle as usize;
    if value == 0 {
        return DeadlineRequest::from_raw(0);
    }
    DeadlineRequest::from_raw(
        mfwq::handle::untag(HandleKind::DeadlineRequest, value).unwrap_or(u64::MAX),
    )
}

/// `RtwqSetDeadline(queue, deadline, &request)`: `deadline` in 100-ns units
/// (docs/behaviour.md#d22); `*request` receives the handle for [`RtwqCancelDeadline`].
/// NULL `request`: `E_POINTER`.
///
/// # Safety
/// `request` must be NULL or valid for a `HANDLE` write.
#[no_mangle]
pub unsafe extern "system" fn RtwqSetDeadline(
    queue_id: DWORD,
    deadline: i64,
    request: *mut HANDLE,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_out(request, || {
            mfwq::set_deadline(QueueId(queue_id), deadline).map(request_handle)
        })
    }
}

/// `RtwqSetDeadline2(queue, deadline, predeadline, &request)`: both in 100-ns
/// units; the pre-deadline is recorded only. NULL `request`: `E_POINTER`.
///
/// # Safety
/// `request` must be NULL or valid for a `HANDLE` write.
#[no_mangle]
pub unsafe extern "system" fn RtwqSetDeadline2(
    queue_id: DWORD,
    deadline: i64,
    predeadline: i64,
    request: *mut HANDLE,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_out(request, || {
            mfwq::set_deadline2(QueueId(queue_id), deadline, predeadline).map(request_handle)
        })
    }
}

/// `RtwqCancelDeadline(request)`: ends a deadline. A NULL handle is
/// `E_INVALIDARG`; one already cancelled or never issued `MF_E_NOT_FOUND`.
/// The handle is only compared, never dereferenced.
#[no_mangle]
pub extern "system" fn RtwqCancelDeadline(request: HANDLE) -> HRESULT {
    hr(mfwq::cancel_deadline(handle_request(request)))
}

/// `RtwqSetLongRunning(queue, enable)`: the long-running hint (docs/behaviour.md#d24).
#[no_mangle]
pub extern "system" fn RtwqSetLongRunning(queue_id: DWORD, enable: BOOL) -> HRESULT {
    hr(mfwq::set_long_running(QueueId(queue_id), enable != 0))
}

/// `RtwqJoinWorkQueue(queue, hFile, &cookie)`: always `E_NOTIMPL`
/// (docs/behaviour.md#d23; Linux has no completion ports). NULL `cookie`: `E_POINTER`.
///
/// # Safety
/// `cookie` must be NULL or valid for a `HANDLE` write.
#[no_mangle]
pub unsafe extern "system" fn RtwqJoinWorkQueue(
    queue: DWORD,
    hFile: HANDLE,
    cookie: *mut HANDLE,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_out(cookie, || {
            mfwq::join_work_queue(QueueId(queue), hFile as usize).map(|cookie| cookie as HANDLE)
        })
    }
}

/// `RtwqUnjoinWorkQueue(queue, cookie)`: always `E_NOTIMPL` (docs/behaviour.md#d23).
/// The cookie is never dereferenced.
#[no_mangle]
pub extern "system" fn RtwqUnjoinWorkQueue(queue: DWORD, cookie: HANDLE) -> HRESULT {
    hr(mfwq::unjoin_work_queue(QueueId(queue), cookie as usize))
}

#[cfg(test)]
mod tests {
    use std::ptr::null_mut;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Condvar, Mutex, MutexGuard};
    use std::time::{Duration, Instant};

    use mfwq::com::{Guid, IMFAsyncCallbackVtbl, IMFAsyncResultVtbl, IUnknownVtbl};
    use mfwq::HResult;

    use super::*;
    use crate::lifecycle::{MFShutdown, MFStartup};

    /// The platform is process-wide; tests that start it take turns.
    use crate::PLATFORM_TEST_LOCK as PLATFORM_LOCK;

    /// Holds the platform started for one test; shuts it down on drop.
    struct Started(#[allow(dead_code)] MutexGuard<'static, ()>);

    fn start() -> Started {
        let guard = PLATFORM_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        assert_eq!(MFStartup(0x0002_0070, 0), S_OK);
        Started(guard)
    }

    impl Drop for Started {
        fn drop(&mut self) {
            assert_eq!(MFShutdown(), S_OK);
        }
    }

    const WAIT: Duration = Duration::from_secs(10);

    fn wide(text: &str) -> Vec<WCHAR> {
        text.encode_utf16().chain(std::iter::once(0)).collect()
    }

    /// What the test callback's `Invoke` does with the result.
    #[derive(Clone, Copy)]
    enum Mode {
        /// `MFEndRegisterWorkQueueWithMMCSS` (or the Rtwq twin).
        Register { rtwq: bool },
        /// `MFEndUnregisterWorkQueueWithMMCSS` (or the Rtwq twin), after a
        /// register End on the same result, which must refuse it.
        Unregister { rtwq: bool },
    }

    /// What one `Invoke` saw.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Completion {
        end: HRESULT,
        task_id: DWORD,
        /// The register End called on an unregister result (S_OK otherwise).
        wrong_end: HRESULT,
        /// The state `GetState` gave back (address), 0 for none.
        state: usize,
    }

    /// A free-threaded `IMFAsyncCallback` written in Rust, leaked so its
    /// reference count can be read after the platform let go of it.
    #[repr(C)]
    struct TestCallback {
        vtbl: &'static IMFAsyncCallbackVtbl,
        refs: AtomicU32,
        mode: Mode,
        done: Mutex<Vec<Completion>>,
        signal: Condvar,
    }

    unsafe extern "system" fn query_interface(
        _this: *mut c_void,
        _riid: *const Guid,
        out: *mut *mut c_void,
    ) -> HRESULT {
        if !out.is_null() {
            // SAFETY: non-NULL out pointer from the caller.
            unsafe { out.write(null_mut()) };
        }
        HResult::E_NOINTERFACE.0
    }

    unsafe extern "system" fn add_ref(this: *mut c_void) -> u32 {
        // SAFETY: `this` is a leaked TestCallback.
        unsafe { &*(this as *const TestCallback) }
            .refs
            .fetch_add(1, Ordering::SeqCst)
            + 1
    }

    unsafe extern "system" fn release(this: *mut c_void) -> u32 {
        // SAFETY: `this` is a leaked TestCallback (never freed).
        let previous = unsafe { &*(this as *const TestCallback) }
            .refs
            .fetch_sub(1, Ordering::SeqCst);
        assert!(previous > 0, "Release without a reference");
        previous - 1
    }

    unsafe extern "system" fn get_parameters(
        _this: *mut c_void,
        _flags: *mut u32,
        _queue: *mut u32,
    ) -> HRESULT {
        HResult::E_NOTIMPL.0
    }

    unsafe extern "system" fn invoke(this: *mut c_void, result: *mut c_void) -> HRESULT {
        // SAFETY: `this` is a leaked TestCallback.
        let me = unsafe { &*(this as *const TestCallback) };
        let mut state: *mut c_void = null_mut();
        // SAFETY: `result` is a live IMFAsyncResult for the call.
        let vtbl = unsafe { &**(result as *const *const IMFAsyncResultVtbl) };
        // SAFETY: as above; `state` is a valid out pointer.
        if HResult(unsafe { (vtbl.get_state)(result, &mut state) }).is_ok() && !state.is_null() {
            // SAFETY: GetState gave us a reference to a live COM object.
            let unknown = unsafe { &**(state as *const *const IUnknownVtbl) };
            // SAFETY: as above; we give back the reference GetState took.
            unsafe { (unknown.release)(state) };
        }
        let mut task_id = 0;
        let mut wrong_end = S_OK;
        let end = match me.mode {
            // SAFETY: `result` is live; `task_id` a valid out pointer.
            Mode::Register { rtwq: false } => unsafe {
                MFEndRegisterWorkQueueWithMMCSS(result, &mut task_id)
            },
            // SAFETY: as above.
            Mode::Register { rtwq: true } => unsafe {
                RtwqEndRegisterWorkQueueWithMMCSS(result, &mut task_id)
            },
            Mode::Unregister { rtwq } => {
                // SAFETY: as above.
                wrong_end = unsafe { MFEndRegisterWorkQueueWithMMCSS(result, &mut task_id) };
                if rtwq {
                    // SAFETY: `result` is live.
                    unsafe { RtwqEndUnregisterWorkQueueWithMMCSS(result) }
                } else {
                    // SAFETY: `result` is live.
                    unsafe { MFEndUnregisterWorkQueueWithMMCSS(result) }
                }
            }
        };
        me.done.lock().unwrap().push(Completion {
            end,
            task_id,
            wrong_end,
            state: state as usize,
        });
        me.signal.notify_all();
        S_OK
    }

    static VTBL: IMFAsyncCallbackVtbl = IMFAsyncCallbackVtbl {
        unknown: IUnknownVtbl {
            query_interface,
            add_ref,
            release,
        },
        get_parameters,
        invoke,
    };

    impl TestCallback {
        /// A leaked callback with one reference, owned by the test.
        fn leak(mode: Mode) -> &'static TestCallback {
            Box::leak(Box::new(TestCallback {
                vtbl: &VTBL,
                refs: AtomicU32::new(1),
                mode,
                done: Mutex::new(Vec::new()),
                signal: Condvar::new(),
            }))
        }

        fn raw(&'static self) -> *mut c_void {
            self as *const TestCallback as *mut c_void
        }

        fn refs(&self) -> u32 {
            self.refs.load(Ordering::SeqCst)
        }

        /// Waits for the next `Invoke` and returns what it saw.
        fn wait(&self) -> Completion {
            let deadline = Instant::now() + WAIT;
            let mut done = self.done.lock().unwrap();
            while done.is_empty() {
                let left = deadline.saturating_duration_since(Instant::now());
                assert!(!left.is_zero(), "the callback was not invoked");
                done = self.signal.wait_timeout(done, left).unwrap().0;
            }
            done.remove(0)
        }

        /// Waits until the platform has dropped every reference it took.
        fn wait_refs(&self, expected: u32) {
            let deadline = Instant::now() + WAIT;
            while self.refs() != expected {
                assert!(
                    Instant::now() < deadline,
                    "reference count stuck at {} (expected {expected})",
                    self.refs()
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        }

        fn invocations(&self) -> usize {
            self.done.lock().unwrap().len()
        }
    }

    fn class_of(queue: DWORD) -> String {
        let mut length: DWORD = 0;
        // SAFETY: a size query with a valid length pointer.
        let hr = unsafe { MFGetWorkQueueMMCSSClass(queue, null_mut(), &mut length) };
        assert_eq!(hr, HResult::MF_E_BUFFERTOOSMALL.0);
        let mut buffer = vec![0xFFFF; length as usize];
        // SAFETY: `buffer` holds `length` units.
        let hr = unsafe { MFGetWorkQueueMMCSSClass(queue, buffer.as_mut_ptr(), &mut length) };
        assert_eq!(hr, S_OK);
        assert_eq!(length as usize, buffer.len());
        assert_eq!(buffer.last(), Some(&0));
        String::from_utf16(&buffer[..buffer.len() - 1]).unwrap()
    }

    fn task_of(queue: DWORD) -> DWORD {
        let mut task = 0xDEAD;
        // SAFETY: a valid out pointer.
        assert_eq!(unsafe { MFGetWorkQueueMMCSSTaskId(queue, &mut task) }, S_OK);
        task
    }

    fn priority_of(queue: DWORD) -> LONG {
        let mut priority = 0xDEAD;
        // SAFETY: a valid out pointer.
        assert_eq!(
            unsafe { MFGetWorkQueueMMCSSPriority(queue, &mut priority) },
            S_OK
        );
        priority
    }

    fn private_queue() -> DWORD {
        let mut queue = 0;
        // SAFETY: a valid out pointer.
        assert_eq!(
            unsafe { crate::queues::MFAllocateWorkQueue(&mut queue) },
            S_OK
        );
        queue
    }

    #[test]
    fn mmcss_register_end_gives_the_task_and_the_getters_round_trip() {
        let _platform = start();
        let queue = private_queue();
        assert_eq!(class_of(queue), "");
        assert_eq!((task_of(queue), priority_of(queue)), (0, 0));

        let done = TestCallback::leak(Mode::Register { rtwq: false });
        let state = TestCallback::leak(Mode::Register { rtwq: false });
        let class = wide("Playback");
        // SAFETY: valid class, live callback and state.
        let hr = unsafe {
            MFBeginRegisterWorkQueueWithMMCSSEx(
                queue,
                class.as_ptr(),
                0,
                -1,
                done.raw(),
                state.raw(),
            )
        };
        assert_eq!(hr, S_OK);
        let completion = done.wait();
        assert_eq!(completion.end, S_OK);
        assert_ne!(completion.task_id, 0, "task id 0 asks for a new one");
        assert_eq!(
            completion.state,
            state.raw() as usize,
            "GetState gives the state back"
        );
        assert_eq!(class_of(queue), "Playback");
        assert_eq!(task_of(queue), completion.task_id);
        assert_eq!(priority_of(queue), -1);
        let mut task = 0;
        // SAFETY: valid out pointer.
        assert_eq!(
            unsafe { RtwqGetWorkQueueMMCSSTaskId(queue, &mut task) },
            S_OK
        );
        assert_eq!(task, completion.task_id);
        let mut priority = 0;
        // SAFETY: valid out pointer.
        assert_eq!(
            unsafe { RtwqGetWorkQueueMMCSSPriority(queue, &mut priority) },
            S_OK
        );
        assert_eq!(priority, -1);

        // The MF form without a priority registers at 0; a given task id is kept.
        // SAFETY: valid class and callback, no state.
        let hr = unsafe {
            MFBeginRegisterWorkQueueWithMMCSS(queue, class.as_ptr(), 77, done.raw(), null_mut())
        };
        assert_eq!(hr, S_OK);
        let completion = done.wait();
        assert_eq!(
            (completion.end, completion.task_id, completion.state),
            (S_OK, 77, 0)
        );
        assert_eq!((task_of(queue), priority_of(queue)), (77, 0));

        // The Rtwq form, on a platform queue, with the Rtwq End.
        let rtwq = TestCallback::leak(Mode::Register { rtwq: true });
        let audio = wide("Games");
        // SAFETY: valid class and callback.
        let hr = unsafe {
            RtwqBeginRegisterWorkQueueWithMMCSS(
                mfwq::QueueId::RT.0,
                audio.as_ptr(),
                0,
                2,
                rtwq.raw(),
                null_mut(),
            )
        };
        assert_eq!(hr, S_OK);
        let completion = rtwq.wait();
        assert_eq!(completion.end, S_OK);
        assert_eq!(class_of(mfwq::QueueId::RT.0), "Games");
        assert_eq!(priority_of(mfwq::QueueId::RT.0), 2);
        assert_eq!(task_of(mfwq::QueueId::RT.0), completion.task_id);

        // A bad priority or an empty class is refused at once, nothing invoked.
        let empty = wide("");
        // SAFETY: valid class and callback.
        let hr = unsafe {
            MFBeginRegisterWorkQueueWithMMCSSEx(queue, class.as_ptr(), 0, 3, done.raw(), null_mut())
        };
        assert_eq!(hr, HResult::E_INVALIDARG.0);
        // SAFETY: valid class and callback.
        let hr = unsafe {
            MFBeginRegisterWorkQueueWithMMCSSEx(queue, empty.as_ptr(), 0, 0, done.raw(), null_mut())
        };
        assert_eq!(hr, HResult::E_INVALIDARG.0);
        // A queue that does not exist.
        assert_eq!(crate::queues::MFUnlockWorkQueue(queue), S_OK);
        // SAFETY: valid class and callback.
        let hr = unsafe {
            MFBeginRegisterWorkQueueWithMMCSSEx(queue, class.as_ptr(), 0, 0, done.raw(), null_mut())
        };
        assert_eq!(hr, HResult::MF_E_INVALID_WORKQUEUE.0);

        for callback in [done, state, rtwq] {
            callback.wait_refs(1);
        }
        assert_eq!(done.invocations(), 0);
    }

    /// The buffer protocol itself, over names the C API cannot type
    /// (unpaired surrogates, units beyond the BMP) and every buffer size
    /// around the one needed.
    #[test]
    fn copy_with_nul_keeps_the_units_and_writes_only_into_a_buffer_that_fits() {
        let names: [&[u16]; 5] = [
            &[],
            &[0xD800],
            &[0xDC00, 0x41],
            &[0xC4, 0x75, 0x64, 0x69, 0x6F, 0x20, 0xD834, 0xDD1E], // "Äudio 𝄞"
            &[0x41; 40],
        ];
        for units in names {
            let needed = units.len() + 1;
            let mut length = 0;
            assert_eq!(
                copy_with_nul(units, None, &mut length),
                Err(Error::BufferTooSmall),
                "a NULL buffer is a size query that fails (D21)"
            );
            assert_eq!(length, needed, "the size needed, NUL included");
            for size in 0..needed + 3 {
                let mut buffer = vec![0xAAAAu16; size];
                let mut length = 0;
                let outcome = copy_with_nul(units, Some(&mut buffer), &mut length);
                assert_eq!(length, needed);
                if size < needed {
                    assert_eq!(outcome, Err(Error::BufferTooSmall));
                    assert!(buffer.iter().all(|&unit| unit == 0xAAAA), "nothing written");
                } else {
                    assert_eq!(outcome, Ok(()));
                    assert_eq!(&buffer[..units.len()], units);
                    assert_eq!(buffer[units.len()], 0);
                    assert!(
                        buffer[needed..].iter().all(|&unit| unit == 0xAAAA),
                        "nothing past the NUL"
                    );
                }
            }
        }
    }

    #[test]
    fn mmcss_class_getter_size_query_and_short_buffer() {
        let _platform = start();
        let queue = mfwq::QueueId::IO.0;
        let mut taskid = 0;
        let class = wide("Pro Audio");
        // SAFETY: valid class and task id.
        assert_eq!(
            unsafe { RtwqRegisterPlatformWithMMCSS(class.as_ptr(), &mut taskid, 0) },
            S_OK
        );

        let mut length: DWORD = 0;
        // SAFETY: NULL buffer, valid length: a size query.
        let hr = unsafe { MFGetWorkQueueMMCSSClass(queue, null_mut(), &mut length) };
        assert_eq!((hr, length), (HResult::MF_E_BUFFERTOOSMALL.0, 10));
        // A NULL buffer with a length that claims room is still a size query.
        let mut length: DWORD = 64;
        // SAFETY: as above.
        let hr = unsafe { MFGetWorkQueueMMCSSClass(queue, null_mut(), &mut length) };
        assert_eq!((hr, length), (HResult::MF_E_BUFFERTOOSMALL.0, 10));

        // One unit short: nothing written, the size needed reported.
        let mut buffer = [0xFFFFu16; 12];
        let mut length: DWORD = 9;
        // SAFETY: `buffer` holds at least `length` units.
        let hr = unsafe { RtwqGetWorkQueueMMCSSClass(queue, buffer.as_mut_ptr(), &mut length) };
        assert_eq!((hr, length), (HResult::MF_E_BUFFERTOOSMALL.0, 10));
        assert!(buffer.iter().all(|&unit| unit == 0xFFFF));
        // A zero-sized buffer.
        let mut length: DWORD = 0;
        // SAFETY: zero units are writable.
        let hr = unsafe { MFGetWorkQueueMMCSSClass(queue, buffer.as_mut_ptr(), &mut length) };
        assert_eq!((hr, length), (HResult::MF_E_BUFFERTOOSMALL.0, 10));

        // Exactly enough, then more than enough.
        let mut length: DWORD = 10;
        // SAFETY: `buffer` holds at least `length` units.
        let hr = unsafe { MFGetWorkQueueMMCSSClass(queue, buffer.as_mut_ptr(), &mut length) };
        assert_eq!((hr, length), (S_OK, 10));
        assert_eq!(&buffer[..10], &class[..]);
        assert_eq!(buffer[10], 0xFFFF, "nothing written past the NUL");
        let mut length: DWORD = 12;
        // SAFETY: `buffer` holds `length` units.
        let hr = unsafe { MFGetWorkQueueMMCSSClass(queue, buffer.as_mut_ptr(), &mut length) };
        assert_eq!((hr, length), (S_OK, 10));

        // An unregistered queue's class is L"" (one unit).
        assert_eq!(MFUnregisterPlatformFromMMCSS(), S_OK);
        let mut length: DWORD = 0;
        // SAFETY: a size query.
        let hr = unsafe { MFGetWorkQueueMMCSSClass(queue, null_mut(), &mut length) };
        assert_eq!((hr, length), (HResult::MF_E_BUFFERTOOSMALL.0, 1));
        let mut length: DWORD = 1;
        // SAFETY: `buffer` holds at least one unit.
        let hr = unsafe { MFGetWorkQueueMMCSSClass(queue, buffer.as_mut_ptr(), &mut length) };
        assert_eq!((hr, length, buffer[0]), (S_OK, 1, 0));

        // A queue error leaves the length alone.
        let mut length: DWORD = 5;
        // SAFETY: `buffer` holds at least `length` units.
        let hr = unsafe { MFGetWorkQueueMMCSSClass(0x1234_0000, buffer.as_mut_ptr(), &mut length) };
        assert_eq!((hr, length), (HResult::MF_E_INVALID_WORKQUEUE.0, 5));
    }

    #[test]
    fn mmcss_unregister_begin_end() {
        let _platform = start();
        let queue = mfwq::QueueId::TIMER.0;
        let mut taskid = 0;
        let class = wide("Capture");
        // SAFETY: valid class and task id.
        assert_eq!(
            unsafe { MFRegisterPlatformWithMMCSS(class.as_ptr(), &mut taskid, 1) },
            S_OK
        );
        assert_eq!(class_of(queue), "Capture");

        for rtwq in [false, true] {
            let done = TestCallback::leak(Mode::Unregister { rtwq });
            let state = TestCallback::leak(Mode::Unregister { rtwq });
            let hr = if rtwq {
                // SAFETY: live callback and state.
                unsafe { RtwqBeginUnregisterWorkQueueWithMMCSS(queue, done.raw(), state.raw()) }
            } else {
                // SAFETY: live callback and state.
                unsafe { MFBeginUnregisterWorkQueueWithMMCSS(queue, done.raw(), state.raw()) }
            };
            assert_eq!(hr, S_OK);
            let completion = done.wait();
            assert_eq!(completion.end, S_OK);
            assert_eq!(
                completion.wrong_end,
                HResult::E_INVALIDARG.0,
                "a register End refuses an unregister result"
            );
            assert_eq!(completion.state, state.raw() as usize);
            assert_eq!(class_of(queue), "");
            assert_eq!((task_of(queue), priority_of(queue)), (0, 0));
            done.wait_refs(1);
            state.wait_refs(1);
        }
        // The other platform queues are still registered.
        assert_eq!(task_of(mfwq::QueueId::STANDARD.0), taskid);
        assert_eq!(MFUnregisterPlatformFromMMCSS(), S_OK);
    }

    #[test]
    fn mmcss_register_and_unregister_platform() {
        let _platform = start();
        let class = wide("Audio");
        let mut taskid: DWORD = 0;
        // SAFETY: valid class and task id.
        assert_eq!(
            unsafe { MFRegisterPlatformWithMMCSS(class.as_ptr(), &mut taskid, 0) },
            S_OK
        );
        assert_ne!(taskid, 0);
        for queue in [
            mfwq::QueueId::STANDARD,
            mfwq::QueueId::RT,
            mfwq::QueueId::IO,
            mfwq::QueueId::TIMER,
            mfwq::QueueId::MULTITHREADED,
        ] {
            assert_eq!(class_of(queue.0), "Audio");
            assert_eq!(task_of(queue.0), taskid);
        }
        assert_eq!(MFUnregisterPlatformFromMMCSS(), S_OK);
        assert_eq!(class_of(mfwq::QueueId::STANDARD.0), "");

        // In/out: a given task id is kept.
        let mut taskid: DWORD = 4242;
        // SAFETY: valid class and task id.
        assert_eq!(
            unsafe { RtwqRegisterPlatformWithMMCSS(class.as_ptr(), &mut taskid, -2) },
            S_OK
        );
        assert_eq!(taskid, 4242);
        assert_eq!(task_of(mfwq::QueueId::MULTITHREADED.0), 4242);
        assert_eq!(priority_of(mfwq::QueueId::MULTITHREADED.0), -2);
        assert_eq!(RtwqUnregisterPlatformFromMMCSS(), S_OK);
        assert_eq!(task_of(mfwq::QueueId::MULTITHREADED.0), 0);

        // A bad priority is refused and the task id left alone.
        let mut taskid: DWORD = 9;
        // SAFETY: valid class and task id.
        let hr = unsafe { MFRegisterPlatformWithMMCSS(class.as_ptr(), &mut taskid, 5) };
        assert_eq!((hr, taskid), (HResult::E_INVALIDARG.0, 9));
    }

    #[test]
    fn mmcss_deadlines_set_and_cancel() {
        let _platform = start();
        let queue = mfwq::QueueId::STANDARD.0;
        let mut request: HANDLE = null_mut();
        // SAFETY: a valid out pointer.
        assert_eq!(
            unsafe { RtwqSetDeadline(queue, 100_000, &mut request) },
            S_OK
        );
        assert!(!request.is_null());
        let deadline = mfwq::work_queue_deadline(mfwq::QueueId::STANDARD)
            .unwrap()
            .unwrap();
        assert_eq!(request_handle(deadline.request), request);
        // A request handle never aliases an event handle: CloseHandle on it
        // fails, and an event handle names no request.
        let event = crate::win32::CreateEventW(null_mut(), 1, 0, std::ptr::null());
        assert_eq!(crate::win32::CloseHandle(request), 0);
        assert_eq!(crate::win32::SetEvent(event), 1, "the event is still open");
        assert_eq!(RtwqCancelDeadline(event), HResult::MF_E_NOT_FOUND.0);
        assert_eq!(crate::win32::CloseHandle(event), 1);
        assert_eq!(deadline.deadline_hns, 100_000);

        let mut second: HANDLE = null_mut();
        // SAFETY: a valid out pointer.
        assert_eq!(
            unsafe { RtwqSetDeadline2(queue, 200_000, 50_000, &mut second) },
            S_OK
        );
        assert!(!second.is_null());
        assert_ne!(second, request);
        let deadline = mfwq::work_queue_deadline(mfwq::QueueId::STANDARD)
            .unwrap()
            .unwrap();
        assert_eq!(
            (deadline.deadline_hns, deadline.pre_deadline_hns),
            (200_000, 50_000)
        );

        assert_eq!(RtwqCancelDeadline(second), S_OK);
        assert_eq!(RtwqCancelDeadline(second), HResult::MF_E_NOT_FOUND.0);
        assert_eq!(RtwqCancelDeadline(request), S_OK);
        assert_eq!(
            mfwq::work_queue_deadline(mfwq::QueueId::STANDARD).unwrap(),
            None
        );
        assert_eq!(RtwqCancelDeadline(null_mut()), HResult::E_INVALIDARG.0);
        assert_eq!(
            RtwqCancelDeadline(usize::MAX as HANDLE),
            HResult::MF_E_NOT_FOUND.0
        );

        // Bad values: nothing written.
        let mut untouched: HANDLE = 1 as HANDLE;
        // SAFETY: a valid out pointer.
        assert_eq!(
            unsafe { RtwqSetDeadline(queue, 0, &mut untouched) },
            HResult::E_INVALIDARG.0
        );
        // SAFETY: a valid out pointer.
        let hr = unsafe { RtwqSetDeadline2(queue, 100, 200, &mut untouched) };
        assert_eq!(hr, HResult::E_INVALIDARG.0);
        assert_eq!(untouched, 1 as HANDLE);
    }

    #[test]
    fn mmcss_long_running_and_join() {
        let _platform = start();
        let queue = mfwq::QueueId::MULTITHREADED;
        assert_eq!(RtwqSetLongRunning(queue.0, 1), S_OK);
        assert!(mfwq::is_long_running(queue).unwrap());
        assert_eq!(RtwqSetLongRunning(queue.0, 0), S_OK);
        assert!(!mfwq::is_long_running(queue).unwrap());
        assert_eq!(
            RtwqSetLongRunning(queue.0, -1),
            S_OK,
            "any non-zero BOOL is TRUE"
        );
        assert!(mfwq::is_long_running(queue).unwrap());
        assert_eq!(RtwqSetLongRunning(queue.0, 0), S_OK);
        assert_eq!(
            RtwqSetLongRunning(0x4321_0000, 1),
            HResult::MF_E_INVALID_WORKQUEUE.0
        );

        let mut cookie: HANDLE = 7 as HANDLE;
        // SAFETY: a valid out pointer.
        let hr = unsafe { RtwqJoinWorkQueue(mfwq::QueueId::IO.0, 3 as HANDLE, &mut cookie) };
        assert_eq!(hr, HResult::E_NOTIMPL.0);
        assert_eq!(cookie, 7 as HANDLE, "nothing written on failure");
        assert_eq!(
            RtwqUnjoinWorkQueue(mfwq::QueueId::IO.0, cookie),
            HResult::E_NOTIMPL.0
        );
    }

    #[test]
    fn mmcss_null_pointers_give_the_documented_codes() {
        let _platform = start();
        let queue = mfwq::QueueId::STANDARD.0;
        let class = wide("Audio");
        let done = TestCallback::leak(Mode::Register { rtwq: false });
        let state = TestCallback::leak(Mode::Register { rtwq: false });
        let pointer = HResult::E_POINTER.0;
        let invalid = HResult::E_INVALIDARG.0;
        // SAFETY (every call below): each pointer is NULL or valid.
        unsafe {
            // Begin: NULL class or callback E_INVALIDARG.
            let hr =
                MFBeginRegisterWorkQueueWithMMCSS(queue, null_mut(), 0, done.raw(), state.raw());
            assert_eq!(hr, invalid);
            let hr = MFBeginRegisterWorkQueueWithMMCSSEx(
                queue,
                null_mut(),
                0,
                0,
                done.raw(),
                null_mut(),
            );
            assert_eq!(hr, invalid);
            let hr = RtwqBeginRegisterWorkQueueWithMMCSS(
                queue,
                null_mut(),
                0,
                0,
                done.raw(),
                null_mut(),
            );
            assert_eq!(hr, invalid);
            let hr = MFBeginRegisterWorkQueueWithMMCSS(
                queue,
                class.as_ptr(),
                0,
                null_mut(),
                state.raw(),
            );
            assert_eq!(hr, invalid);
            let hr = RtwqBeginRegisterWorkQueueWithMMCSS(
                queue,
                class.as_ptr(),
                0,
                0,
                null_mut(),
                null_mut(),
            );
            assert_eq!(hr, invalid);
            assert_eq!(
                MFBeginUnregisterWorkQueueWithMMCSS(queue, null_mut(), state.raw()),
                invalid
            );
            assert_eq!(
                RtwqBeginUnregisterWorkQueueWithMMCSS(queue, null_mut(), null_mut()),
                invalid
            );

            // End: NULL result E_INVALIDARG, NULL task id E_POINTER.
            let mut task = 5;
            assert_eq!(
                MFEndRegisterWorkQueueWithMMCSS(null_mut(), &mut task),
                invalid
            );
            assert_eq!(
                RtwqEndRegisterWorkQueueWithMMCSS(null_mut(), &mut task),
                invalid
            );
            assert_eq!(task, 5);
            assert_eq!(
                MFEndRegisterWorkQueueWithMMCSS(null_mut(), null_mut()),
                pointer
            );
            assert_eq!(MFEndUnregisterWorkQueueWithMMCSS(null_mut()), invalid);
            assert_eq!(RtwqEndUnregisterWorkQueueWithMMCSS(null_mut()), invalid);

            // Getters.
            let mut buffer = [0u16; 8];
            assert_eq!(
                MFGetWorkQueueMMCSSClass(queue, null_mut(), null_mut()),
                pointer
            );
            assert_eq!(
                MFGetWorkQueueMMCSSClass(queue, buffer.as_mut_ptr(), null_mut()),
                pointer
            );
            assert_eq!(
                RtwqGetWorkQueueMMCSSClass(queue, null_mut(), null_mut()),
                pointer
            );
            assert_eq!(MFGetWorkQueueMMCSSTaskId(queue, null_mut()), pointer);
            assert_eq!(RtwqGetWorkQueueMMCSSTaskId(queue, null_mut()), pointer);
            assert_eq!(MFGetWorkQueueMMCSSPriority(queue, null_mut()), pointer);
            assert_eq!(RtwqGetWorkQueueMMCSSPriority(queue, null_mut()), pointer);

            // Platform registration.
            let mut taskid = 0;
            assert_eq!(
                MFRegisterPlatformWithMMCSS(null_mut(), &mut taskid, 0),
                invalid
            );
            assert_eq!(
                MFRegisterPlatformWithMMCSS(class.as_ptr(), null_mut(), 0),
                pointer
            );
            assert_eq!(
                RtwqRegisterPlatformWithMMCSS(null_mut(), null_mut(), 0),
                invalid
            );
            assert_eq!(taskid, 0);
            assert_eq!(class_of(queue), "", "nothing was registered");

            // Deadlines and join.
            assert_eq!(RtwqSetDeadline(queue, 100_000, null_mut()), pointer);
            assert_eq!(RtwqSetDeadline2(queue, 100_000, 0, null_mut()), pointer);
            assert_eq!(
                mfwq::work_queue_deadline(mfwq::QueueId::STANDARD).unwrap(),
                None
            );
            assert_eq!(RtwqCancelDeadline(null_mut()), invalid);
            assert_eq!(RtwqJoinWorkQueue(queue, null_mut(), null_mut()), pointer);
        }
        // Every reference taken by a refused call was given back at once.
        assert_eq!((done.refs(), state.refs()), (1, 1));
        assert_eq!(done.invocations(), 0);
    }

    #[test]
    fn mmcss_calls_before_startup_are_shutdown() {
        let _lock = PLATFORM_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        assert!(
            !mfwq::is_started(),
            "another test left the platform running"
        );
        let shutdown = HResult::MF_E_SHUTDOWN.0;
        let queue = mfwq::QueueId::STANDARD.0;
        let class = wide("Audio");
        let done = TestCallback::leak(Mode::Register { rtwq: false });
        let state = TestCallback::leak(Mode::Register { rtwq: false });
        let mut task: DWORD = 3;
        let mut priority: LONG = 3;
        let mut length: DWORD = 3;
        let mut request: HANDLE = null_mut();
        // SAFETY (every call below): each pointer is valid.
        unsafe {
            let hr = MFBeginRegisterWorkQueueWithMMCSS(
                queue,
                class.as_ptr(),
                0,
                done.raw(),
                state.raw(),
            );
            assert_eq!(hr, shutdown);
            let hr = RtwqBeginRegisterWorkQueueWithMMCSS(
                queue,
                class.as_ptr(),
                0,
                0,
                done.raw(),
                null_mut(),
            );
            assert_eq!(hr, shutdown);
            assert_eq!(
                MFBeginUnregisterWorkQueueWithMMCSS(queue, done.raw(), state.raw()),
                shutdown
            );
            assert_eq!(
                MFGetWorkQueueMMCSSClass(queue, null_mut(), &mut length),
                shutdown
            );
            assert_eq!(length, 3);
            assert_eq!(MFGetWorkQueueMMCSSTaskId(queue, &mut task), shutdown);
            assert_eq!(MFGetWorkQueueMMCSSPriority(queue, &mut priority), shutdown);
            assert_eq!(
                MFRegisterPlatformWithMMCSS(class.as_ptr(), &mut task, 0),
                shutdown
            );
            assert_eq!((task, priority), (3, 3));
            assert_eq!(MFUnregisterPlatformFromMMCSS(), shutdown);
            assert_eq!(RtwqUnregisterPlatformFromMMCSS(), shutdown);
            assert_eq!(RtwqSetDeadline(queue, 100_000, &mut request), shutdown);
            assert_eq!(RtwqSetDeadline2(queue, 100_000, 0, &mut request), shutdown);
            assert!(request.is_null());
            assert_eq!(RtwqCancelDeadline(1 as HANDLE), shutdown);
            assert_eq!(RtwqSetLongRunning(queue, 1), shutdown);
        }
        assert_eq!((done.refs(), state.refs()), (1, 1));
        assert_eq!(done.invocations(), 0);
    }
}
