//! The stock result's `IMFAsyncResult` vtable (docs/behaviour.md#w17 to
//! #w23): what C code calls through a result the platform made. Beside the
//! result's Rust side because it reads the same private state; separate
//! because it is the result's C face, every entry an `unsafe extern "system"`
//! function.

use super::*;

pub(super) static STOCK_VTBL: IMFAsyncResultVtbl = IMFAsyncResultVtbl {
    unknown: IUnknownVtbl {
        query_interface: stock_query_interface,
        add_ref: stock_add_ref,
        release: stock_release,
    },
    get_state: stock_get_state,
    get_status: stock_get_status,
    set_status: stock_set_status,
    get_object: stock_get_object,
    get_state_no_add_ref: stock_get_state_no_add_ref,
};

/// Whether `result` is one of ours.
///
/// # Safety
/// `result` is a live COM object.
pub(super) unsafe fn is_stock(result: *mut c_void) -> bool {
    // SAFETY: the first word of a COM object is its vtable pointer.
    let vtbl = unsafe { *(result as *const *const IMFAsyncResultVtbl) };
    std::ptr::eq(vtbl, &STOCK_VTBL)
}

/// The stock result behind `this`, borrowed for one call.
///
/// # Safety
/// `this` is a live stock result (the COM caller holds a reference).
unsafe fn stock<'a>(this: *mut c_void) -> &'a ResultInner {
    // SAFETY: as promised.
    unsafe { &*(this as *const ResultInner) }
}

fn clamp_count(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

unsafe extern "system" fn stock_query_interface(
    this: *mut c_void,
    riid: *const Guid,
    out: *mut *mut c_void,
) -> i32 {
    if out.is_null() {
        return HResult::E_POINTER.0;
    }
    // SAFETY: a non-NULL REFIID points at a GUID.
    let supported = !riid.is_null()
        && matches!(
            unsafe { *riid },
            com::IID_IUNKNOWN | com::IID_IMF_ASYNC_RESULT
        );
    if !supported {
        // SAFETY: checked non-NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        return if riid.is_null() {
            HResult::E_INVALIDARG.0
        } else {
            HResult::E_NOINTERFACE.0
        };
    }
    // SAFETY: `this` is live; the new reference goes to the caller.
    unsafe {
        Recycled::add_ref_ptr(this as *const ResultInner);
        out.write(this);
    }
    HResult::S_OK.0
}

unsafe extern "system" fn stock_add_ref(this: *mut c_void) -> u32 {
    // SAFETY: COM callers hold a reference to `this`.
    clamp_count(unsafe { Recycled::add_ref_ptr(this as *const ResultInner) })
}

unsafe extern "system" fn stock_release(this: *mut c_void) -> u32 {
    // SAFETY: the COM caller gives up one reference it holds.
    let handle = unsafe { Recycled::from_ptr(this as *const ResultInner) };
    clamp_count(Recycled::release(handle))
}

/// `GetState`/`GetObject`: `E_POINTER` for a NULL out pointer or when nothing
/// (no COM object) is attached, the out value untouched (docs/behaviour.md#w19, #w20).
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn give_attachment(attachment: Option<AttachmentRef<'_>>, out: *mut *mut c_void) -> i32 {
    if out.is_null() {
        return HResult::E_POINTER.0;
    }
    match attachment.and_then(AttachmentRef::as_com) {
        Some(object) => {
            // SAFETY: checked non-NULL; the clone's reference goes to the caller.
            unsafe { out.write(object.clone().into_raw()) };
            HResult::S_OK.0
        }
        None => HResult::E_POINTER.0,
    }
}

unsafe extern "system" fn stock_get_state(this: *mut c_void, out: *mut *mut c_void) -> i32 {
    // SAFETY: `this` is a live stock result; `out` as the caller gives it.
    unsafe { give_attachment(stock(this).state(), out) }
}

unsafe extern "system" fn stock_get_object(this: *mut c_void, out: *mut *mut c_void) -> i32 {
    // SAFETY: `this` is a live stock result; `out` as the caller gives it.
    unsafe { give_attachment(stock(this).object(), out) }
}

unsafe extern "system" fn stock_get_status(this: *mut c_void) -> i32 {
    // SAFETY: `this` is a live stock result.
    unsafe { stock(this) }.image.status.load(Ordering::Acquire)
}

unsafe extern "system" fn stock_set_status(this: *mut c_void, status: i32) -> i32 {
    // SAFETY: `this` is a live stock result.
    unsafe { stock(this) }
        .image
        .status
        .store(status, Ordering::Release);
    HResult::S_OK.0
}

unsafe extern "system" fn stock_get_state_no_add_ref(this: *mut c_void) -> *mut c_void {
    // SAFETY: `this` is a live stock result.
    let state = unsafe { stock(this) }.state();
    state
        .and_then(AttachmentRef::as_com)
        .map_or(std::ptr::null_mut(), ComPtr::as_raw)
}
