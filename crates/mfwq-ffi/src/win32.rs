//! The Win32 event subset (docs/behaviour.md#d17): what `hEvent` and
//! `MFPutWaitingWorkItem` need, so that Windows code using them builds
//! unchanged. Handles are the core's [`mfwq::handle`] values over
//! [`mfwq::Event`]; a NULL, closed or made-up handle fails cleanly
//! (`FALSE`/`WAIT_FAILED` with `ERROR_INVALID_HANDLE` from `GetLastError`).
//!
//! Event names are accepted and ignored: every event is a new unnamed one
//! (named events are for sharing across processes, which this platform does
//! not do). Security attributes and access masks are ignored likewise.

use std::cell::Cell;
use std::ffi::c_void;
use std::time::Duration;

use mfwq::Event;

use crate::{BOOL, DWORD, HANDLE};

/// `INFINITE`.
pub const INFINITE: DWORD = 0xFFFF_FFFF;
/// `WAIT_OBJECT_0`.
pub const WAIT_OBJECT_0: DWORD = 0;
/// `WAIT_TIMEOUT`.
pub const WAIT_TIMEOUT: DWORD = 0x102;
/// `WAIT_FAILED`.
pub const WAIT_FAILED: DWORD = 0xFFFF_FFFF;
/// `ERROR_INVALID_HANDLE`.
pub const ERROR_INVALID_HANDLE: DWORD = 6;
/// `CREATE_EVENT_MANUAL_RESET`.
pub const CREATE_EVENT_MANUAL_RESET: DWORD = 0x1;
/// `CREATE_EVENT_INITIAL_SET`.
pub const CREATE_EVENT_INITIAL_SET: DWORD = 0x2;

const TRUE: BOOL = 1;
const FALSE: BOOL = 0;

thread_local! {
    static LAST_ERROR: Cell<DWORD> = const { Cell::new(0) };
}

fn fail_invalid_handle() {
    set_last_error(ERROR_INVALID_HANDLE);
}

/// Sets the calling thread's last error (what `GetLastError` returns next).
pub(crate) fn set_last_error(code: DWORD) {
    LAST_ERROR.with(|last| last.set(code));
}

fn create(manual_reset: bool, initially_set: bool) -> HANDLE {
    mfwq::handle::open(Event::new(manual_reset, initially_set)) as HANDLE
}

fn with_event(handle: HANDLE, action: impl FnOnce(&Event)) -> BOOL {
    match mfwq::handle::event(handle as usize) {
        Some(event) => {
            action(&event);
            TRUE
        }
        None => {
            fail_invalid_handle();
            FALSE
        }
    }
}

/// `CreateEventA(attributes, bManualReset, bInitialState, name)`.
#[no_mangle]
pub extern "system" fn CreateEventA(
    _lpEventAttributes: *mut c_void,
    bManualReset: BOOL,
    bInitialState: BOOL,
    _lpName: *const u8,
) -> HANDLE {
    create(bManualReset != 0, bInitialState != 0)
}

/// `CreateEventW(attributes, bManualReset, bInitialState, name)`.
#[no_mangle]
pub extern "system" fn CreateEventW(
    _lpEventAttributes: *mut c_void,
    bManualReset: BOOL,
    bInitialState: BOOL,
    _lpName: *const u16,
) -> HANDLE {
    create(bManualReset != 0, bInitialState != 0)
}

/// `CreateEventExA(attributes, name, flags, access)`: `CREATE_EVENT_MANUAL_RESET`
/// and `CREATE_EVENT_INITIAL_SET` in `dwFlags`.
#[no_mangle]
pub extern "system" fn CreateEventExA(
    _lpEventAttributes: *mut c_void,
    _lpName: *const u8,
    dwFlags: DWORD,
    _dwDesiredAccess: DWORD,
) -> HANDLE {
    create(
        dwFlags & CREATE_EVENT_MANUAL_RESET != 0,
        dwFlags & CREATE_EVENT_INITIAL_SET != 0,
    )
}

/// `CreateEventExW(attributes, name, flags, access)`.
#[no_mangle]
pub extern "system" fn CreateEventExW(
    lpEventAttributes: *mut c_void,
    _lpName: *const u16,
    dwFlags: DWORD,
    dwDesiredAccess: DWORD,
) -> HANDLE {
    CreateEventExA(
        lpEventAttributes,
        std::ptr::null(),
        dwFlags,
        dwDesiredAccess,
    )
}

/// `SetEvent(handle)`: also releases waiting work items put on the event.
#[no_mangle]
pub extern "system" fn SetEvent(hEvent: HANDLE) -> BOOL {
    with_event(hEvent, Event::set)
}

/// `ResetEvent(handle)`.
#[no_mangle]
pub extern "system" fn ResetEvent(hEvent: HANDLE) -> BOOL {
    with_event(hEvent, Event::reset)
}

/// `WaitForSingleObject(handle, ms)`: `WAIT_OBJECT_0`, `WAIT_TIMEOUT`, or
/// `WAIT_FAILED` for a handle that is not an open event. `INFINITE` waits for ever.
#[no_mangle]
pub extern "system" fn WaitForSingleObject(hHandle: HANDLE, dwMilliseconds: DWORD) -> DWORD {
    let Some(event) = mfwq::handle::event(hHandle as usize) else {
        fail_invalid_handle();
        return WAIT_FAILED;
    };
    let timeout =
        (dwMilliseconds != INFINITE).then(|| Duration::from_millis(u64::from(dwMilliseconds)));
    if event.wait(timeout) {
        WAIT_OBJECT_0
    } else {
        WAIT_TIMEOUT
    }
}

/// `CloseHandle(handle)`: `FALSE` for a handle that is not open.
#[no_mangle]
pub extern "system" fn CloseHandle(hObject: HANDLE) -> BOOL {
    if mfwq::handle::close(hObject as usize) {
        TRUE
    } else {
        fail_invalid_handle();
        FALSE
    }
}

/// `GetHandleInformation(handle, &flags)`: `TRUE` (flags 0) for an open
/// handle; how the observed tests check that a result closed its `hEvent`.
///
/// # Safety
/// `lpdwFlags` must be NULL or writable.
#[no_mangle]
pub unsafe extern "system" fn GetHandleInformation(hObject: HANDLE, lpdwFlags: *mut DWORD) -> BOOL {
    with_event(hObject, |_| {
        // SAFETY: NULL or writable, as the caller promises.
        unsafe { crate::write_opt(lpdwFlags, 0) };
    })
}

/// `GetLastError()`: the calling thread's last error from this subset.
#[no_mangle]
pub extern "system" fn GetLastError() -> DWORD {
    LAST_ERROR.with(Cell::get)
}

/// `Sleep(ms)`.
#[no_mangle]
pub extern "system" fn Sleep(dwMilliseconds: DWORD) {
    std::thread::sleep(Duration::from_millis(u64::from(dwMilliseconds)));
}
