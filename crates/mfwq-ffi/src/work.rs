//! Result objects, put, invoke, timers, waits and periodic callbacks
//! (docs/behaviour.md#put-invoke, #scheduled, #waiting and #periodic, with their
//! Rtwq twins).
//!
//! A C result pointer becomes the core's [`AsyncResult`] through
//! [`AsyncResult::from_com_result`]: a stock result is itself, a caller's own
//! `MFASYNCRESULT`-based object is carried as it is. A C callback and state
//! become the COM fields of a new stock result ([`AsyncResult::from_com`]), as
//! `MFPutWorkItem` and `MFScheduleWorkItem` create one on Windows.

use std::ffi::c_void;

use mfwq::com::{ComCallbackPtr, ComPtr};
use mfwq::{AsyncResult, Error, HResult, PeriodicKey, QueueId, WorkItemKey};

use crate::{
    com_arg, finish_opt, hr, invalid_call, refuse_input, write_out, DWORD, HANDLE, HRESULT, LONG,
};

/// `MFWORKITEM_KEY` / `RTWQWORKITEM_KEY`.
pub type MFWORKITEM_KEY = u64;
/// `MFPERIODICCALLBACK` / `RTWQPERIODICCALLBACK`: `void (*)(IUnknown *)`.
pub type MFPERIODICCALLBACK = Option<unsafe extern "system" fn(context: *mut c_void)>;

/// The core result behind an incoming `IMFAsyncResult*`.
///
/// # Safety
/// `result` must be NULL or a live `IMFAsyncResult` beginning with `MFASYNCRESULT`.
unsafe fn result_arg(result: *mut c_void) -> Option<AsyncResult> {
    // SAFETY: forwarded caller contract.
    unsafe { AsyncResult::from_com_result(result) }
}

/// `MFCreateAsyncResult(object, callback, state, &result)`: works before
/// startup; every input may be NULL (docs/behaviour.md#w17, #w18); a NULL out pointer is
/// `E_POINTER`.
///
/// # Safety
/// The inputs must be NULL or live COM objects; `ppAsyncResult` NULL or writable.
#[no_mangle]
pub unsafe extern "system" fn MFCreateAsyncResult(
    punkObject: *mut c_void,
    pCallback: *mut c_void,
    punkState: *mut c_void,
    ppAsyncResult: *mut *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_out(ppAsyncResult, || {
            Ok(AsyncResult::create_com_raw(
                com_arg(punkObject),
                com_arg(pCallback),
                com_arg(punkState),
            ))
        })
    }
}

/// `RtwqCreateAsyncResult(object, callback, state, &result)`.
///
/// # Safety
/// As [`MFCreateAsyncResult`].
#[no_mangle]
pub unsafe extern "system" fn RtwqCreateAsyncResult(
    object: *mut c_void,
    callback: *mut c_void,
    state: *mut c_void,
    result: *mut *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFCreateAsyncResult(object, callback, state, result) }
}

/// `MFInvokeCallback(result)`: the callback runs on the queue its
/// `GetParameters` names, never inline.
///
/// # Safety
/// `pAsyncResult` must be NULL or a live `IMFAsyncResult` (`MFASYNCRESULT` layout).
#[no_mangle]
pub unsafe extern "system" fn MFInvokeCallback(pAsyncResult: *mut c_void) -> HRESULT {
    // SAFETY: forwarded caller contract.
    match unsafe { result_arg(pAsyncResult) } {
        Some(result) => hr(mfwq::invoke_callback(result)),
        None => invalid_call("MFInvokeCallback"),
    }
}

/// `RtwqInvokeCallback(result)`.
///
/// # Safety
/// As [`MFInvokeCallback`].
#[no_mangle]
pub unsafe extern "system" fn RtwqInvokeCallback(result: *mut c_void) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFInvokeCallback(result) }
}

/// `MFPutWorkItem(queue, callback, state)`.
///
/// # Safety
/// `pCallback` and `pState` must be NULL or live COM objects.
#[no_mangle]
pub unsafe extern "system" fn MFPutWorkItem(
    dwQueue: DWORD,
    pCallback: *mut c_void,
    pState: *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFPutWorkItem2(dwQueue, 0, pCallback, pState) }
}

/// `MFPutWorkItem2(queue, priority, callback, state)`.
///
/// # Safety
/// `pCallback` and `pState` must be NULL or live COM objects.
#[no_mangle]
pub unsafe extern "system" fn MFPutWorkItem2(
    dwQueue: DWORD,
    Priority: LONG,
    pCallback: *mut c_void,
    pState: *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    let Some(callback) = (unsafe { ComCallbackPtr::from_raw_add_ref(pCallback) }) else {
        return invalid_call("MFPutWorkItem2");
    };
    // SAFETY: forwarded caller contract.
    unsafe {
        hr(mfwq::put_com_work_item(
            QueueId(dwQueue),
            Priority,
            callback,
            com_arg(pState),
        ))
    }
}

/// `MFPutWorkItemEx(queue, result)`: runs on `queue` (docs/behaviour.md#d5).
///
/// # Safety
/// `pResult` must be NULL or a live `IMFAsyncResult` (`MFASYNCRESULT` layout).
#[no_mangle]
pub unsafe extern "system" fn MFPutWorkItemEx(dwQueue: DWORD, pResult: *mut c_void) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFPutWorkItemEx2(dwQueue, 0, pResult) }
}

/// `MFPutWorkItemEx2(queue, priority, result)`.
///
/// # Safety
/// As [`MFPutWorkItemEx`].
#[no_mangle]
pub unsafe extern "system" fn MFPutWorkItemEx2(
    dwQueue: DWORD,
    Priority: LONG,
    pResult: *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    match unsafe { result_arg(pResult) } {
        Some(result) => hr(mfwq::put_result_with_priority(
            QueueId(dwQueue),
            Priority,
            result,
        )),
        None => invalid_call("MFPutWorkItemEx2"),
    }
}

/// `RtwqPutWorkItem(queue, priority, result)`.
///
/// # Safety
/// As [`MFPutWorkItemEx`].
#[no_mangle]
pub unsafe extern "system" fn RtwqPutWorkItem(
    queue: DWORD,
    priority: LONG,
    result: *mut c_void,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFPutWorkItemEx2(queue, priority, result) }
}

/// `MFPutWaitingWorkItem(event, priority, result, &key)`: a NULL event never
/// signals (docs/behaviour.md#d17); a handle that is not an open event is `E_HANDLE`;
/// `pKey` may be NULL.
///
/// # Safety
/// `pResult` must be NULL or a live `IMFAsyncResult`; `pKey` NULL or writable.
#[no_mangle]
pub unsafe extern "system" fn MFPutWaitingWorkItem(
    hEvent: HANDLE,
    Priority: LONG,
    pResult: *mut c_void,
    pKey: *mut MFWORKITEM_KEY,
) -> HRESULT {
    let event = if hEvent.is_null() {
        None
    } else {
        match mfwq::handle::event(hEvent as usize) {
            Some(event) => Some(event),
            None => return refuse_input(Error::Other(HResult::E_HANDLE)).hresult().0,
        }
    };
    // SAFETY: forwarded caller contract.
    let Some(result) = (unsafe { result_arg(pResult) }) else {
        return invalid_call("MFPutWaitingWorkItem");
    };
    let key =
        mfwq::put_waiting_work_item(event.as_ref(), Priority, result).map(|key| key.into_raw());
    // SAFETY: NULL or writable, as the caller promises.
    unsafe { finish_opt(pKey, key) }
}

/// `RtwqPutWaitingWorkItem(event, priority, result, &key)`.
///
/// # Safety
/// As [`MFPutWaitingWorkItem`].
#[no_mangle]
pub unsafe extern "system" fn RtwqPutWaitingWorkItem(
    event: HANDLE,
    priority: LONG,
    result: *mut c_void,
    key: *mut MFWORKITEM_KEY,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFPutWaitingWorkItem(event, priority, result, key) }
}

/// Schedules `result` and writes the key through the optional `key`.
///
/// # Safety
/// `key` must be NULL or writable.
unsafe fn schedule(result: AsyncResult, timeout: i64, key: *mut MFWORKITEM_KEY) -> HRESULT {
    let issued = mfwq::schedule_result(result, mfwq::delay_from_mf_timeout(timeout));
    // SAFETY: forwarded caller contract.
    unsafe { finish_opt(key, issued.map(|issued| issued.into_raw())) }
}

/// `MFScheduleWorkItem(callback, state, timeout, &key)`: `Timeout` in negative
/// milliseconds (`>= 0` fires at once, docs/behaviour.md#d16); `pKey` may be NULL.
///
/// # Safety
/// `pCallback`, `pState` NULL or live COM objects; `pKey` NULL or writable.
#[no_mangle]
pub unsafe extern "system" fn MFScheduleWorkItem(
    pCallback: *mut c_void,
    pState: *mut c_void,
    Timeout: i64,
    pKey: *mut MFWORKITEM_KEY,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    let Some(callback) = (unsafe { ComCallbackPtr::from_raw_add_ref(pCallback) }) else {
        return invalid_call("MFScheduleWorkItem");
    };
    // A refused call makes no result: none lives while the platform is
    // down, so none leaves a lock behind (docs/behaviour.md#w13).
    // SAFETY: forwarded caller contract.
    unsafe {
        let issued = mfwq::schedule_com_work_item(
            callback,
            com_arg(pState),
            mfwq::delay_from_mf_timeout(Timeout),
        );
        finish_opt(pKey, issued.map(|issued| issued.into_raw()))
    }
}

/// `MFScheduleWorkItemEx(result, timeout, &key)`.
///
/// # Safety
/// `pResult` NULL or a live `IMFAsyncResult`; `pKey` NULL or writable.
#[no_mangle]
pub unsafe extern "system" fn MFScheduleWorkItemEx(
    pResult: *mut c_void,
    Timeout: i64,
    pKey: *mut MFWORKITEM_KEY,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    match unsafe { result_arg(pResult) } {
        // SAFETY: forwarded caller contract.
        Some(result) => unsafe { schedule(result, Timeout, pKey) },
        None => invalid_call("MFScheduleWorkItemEx"),
    }
}

/// `RtwqScheduleWorkItem(result, timeout, &key)`.
///
/// # Safety
/// As [`MFScheduleWorkItemEx`].
#[no_mangle]
pub unsafe extern "system" fn RtwqScheduleWorkItem(
    result: *mut c_void,
    timeout: i64,
    key: *mut MFWORKITEM_KEY,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFScheduleWorkItemEx(result, timeout, key) }
}

/// `MFCancelWorkItem(key)` (docs/behaviour.md#d15).
#[no_mangle]
pub extern "system" fn MFCancelWorkItem(Key: MFWORKITEM_KEY) -> HRESULT {
    hr(mfwq::cancel_work_item(WorkItemKey::from_raw(Key)))
}

/// `RtwqCancelWorkItem(key)`.
#[no_mangle]
pub extern "system" fn RtwqCancelWorkItem(key: MFWORKITEM_KEY) -> HRESULT {
    MFCancelWorkItem(key)
}

/// `MFGetTimerPeriodicity(&ms)`: 10 (docs/behaviour.md#w44).
///
/// # Safety
/// `Periodicity` must be NULL or writable.
#[no_mangle]
pub unsafe extern "system" fn MFGetTimerPeriodicity(Periodicity: *mut DWORD) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe {
        write_out(Periodicity, || {
            Ok(u32::try_from(mfwq::timer_periodicity().as_millis()).unwrap_or(u32::MAX))
        })
    }
}

/// `MFAddPeriodicCallback(fn, context, &key)`: `fn(context)` every period,
/// never overlapping itself; the context is held (one `AddRef`) until removal
/// (docs/behaviour.md#d18). A NULL function is `E_INVALIDARG`; `pdwKey` may be NULL.
///
/// # Safety
/// `pContext` NULL or a live COM object; `pdwKey` NULL or writable; `Callback`
/// callable from any thread until removed.
#[no_mangle]
pub unsafe extern "system" fn MFAddPeriodicCallback(
    Callback: MFPERIODICCALLBACK,
    pContext: *mut c_void,
    pdwKey: *mut DWORD,
) -> HRESULT {
    let Some(function) = Callback else {
        return invalid_call("MFAddPeriodicCallback");
    };
    // SAFETY: forwarded caller contract.
    let context = unsafe { com_arg(pContext) }.map(mfwq::com::com_state);
    let tick = move |context: Option<&mfwq::State>| {
        let raw = context
            .and_then(|context| context.downcast_ref::<ComPtr>())
            .map_or(std::ptr::null_mut(), ComPtr::as_raw);
        // SAFETY: the caller promised the function stays callable; the context is held.
        unsafe { function(raw) };
    };
    let key = mfwq::add_periodic_callback(tick, context).map(|key| key.into_raw());
    // SAFETY: NULL or writable, as the caller promises.
    unsafe { finish_opt(pdwKey, key) }
}

/// `RtwqAddPeriodicCallback(fn, context, &key)`.
///
/// # Safety
/// As [`MFAddPeriodicCallback`].
#[no_mangle]
pub unsafe extern "system" fn RtwqAddPeriodicCallback(
    callback: MFPERIODICCALLBACK,
    context: *mut c_void,
    key: *mut DWORD,
) -> HRESULT {
    // SAFETY: forwarded caller contract.
    unsafe { MFAddPeriodicCallback(callback, context, key) }
}

/// `MFRemovePeriodicCallback(key)`: an unknown key is `MF_E_NOT_FOUND`.
#[no_mangle]
pub extern "system" fn MFRemovePeriodicCallback(dwKey: DWORD) -> HRESULT {
    hr(mfwq::remove_periodic_callback(PeriodicKey::from_raw(dwKey)))
}

/// `RtwqRemovePeriodicCallback(key)`.
#[no_mangle]
pub extern "system" fn RtwqRemovePeriodicCallback(key: DWORD) -> HRESULT {
    MFRemovePeriodicCallback(key)
}
