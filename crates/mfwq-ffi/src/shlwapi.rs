//! `QISearch` (`include/shlwapi.h`): the table-driven `QueryInterface` that
//! Microsoft's Media Foundation samples write their callbacks with:
//!
//! ```c
//! static const QITAB qit[] = { QITABENT(CCallback, IMFAsyncCallback), { 0 } };
//! return QISearch(this, qit, riid, ppv);
//! ```
//!
//! The table lists, for each interface the object implements, its IID and
//! the offset of that interface's vtable pointer inside the object; a NULL
//! IID ends it. The rules (include/README.md, "QISearch"):
//!
//! - `IID_IUnknown` is the first entry's interface, whatever the table holds
//!   further on, so that every `QueryInterface` for `IUnknown` returns the same
//!   pointer (COM's identity rule);
//! - any other IID is searched in table order; the first match wins;
//! - on a match, `*ppv` is `that` plus the entry's offset, `AddRef` is called
//!   through that interface, and the result is `S_OK`;
//! - no match: `*ppv` is NULL and the result is `E_NOINTERFACE`.
//!
//! Bad input, by this library's rule (docs/behaviour.md#d34, #d35): a NULL
//! `ppv` is `E_POINTER`; a NULL `that`, table or `riid` is `E_INVALIDARG`,
//! with `*ppv` set to NULL; nothing NULL is dereferenced.

use std::ffi::c_void;

use mfwq::com::{ComPtr, Guid, IID_IUNKNOWN};
use mfwq::{Error, HResult};

use crate::HRESULT;

/// `QITAB`: one interface of an object: its IID, and the byte offset of its
/// vtable pointer from the start of the object (`OFFSETOFCLASS`). An entry
/// whose `piid` is NULL ends a table. 16 bytes, as in the Windows SDK's
/// `shlwapi.h` (`int dwOffset` after the pointer).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QITAB {
    /// The interface's IID; NULL ends the table.
    pub piid: *const Guid,
    /// Where the interface's vtable pointer sits in the object, in bytes.
    pub dwOffset: i32,
}

const E_NOINTERFACE: HRESULT = 0x8000_4002_u32 as HRESULT;

/// `QISearch(that, pqit, riid, ppv)`: looks `riid` up in the table `pqit` of
/// the object `that` and returns the interface, with a reference added. See
/// the module documentation for the rules.
///
/// # Safety
/// `ppv` must be NULL or valid for a pointer write; `riid` NULL or a valid
/// `IID`; `pqit` NULL or a table of `QITAB` entries ended by one whose `piid`
/// is NULL, each non-NULL `piid` a valid `IID`; `that` NULL or an object
/// that, at each entry's offset, holds a pointer to a vtable that starts with
/// the `IUnknown` slots.
#[no_mangle]
pub unsafe extern "system" fn QISearch(
    that: *mut c_void,
    pqit: *const QITAB,
    riid: *const Guid,
    ppv: *mut *mut c_void,
) -> HRESULT {
    if ppv.is_null() {
        return Error::Pointer.hresult().0;
    }
    // SAFETY: non-NULL and writable, as the caller promises.
    unsafe { ppv.write(std::ptr::null_mut()) };
    if that.is_null() || pqit.is_null() || riid.is_null() {
        return Error::InvalidArg.hresult().0;
    }
    // SAFETY: non-NULL and valid, as the caller promises.
    let riid = unsafe { riid.read() };
    // SAFETY: the table is valid up to its ending entry, as the caller promises.
    let Some(entry) = (unsafe { find_entry(pqit, &riid) }) else {
        return E_NOINTERFACE;
    };
    // Pointer arithmetic on the object's address: the offset of a base
    // class inside the object, which `OFFSETOFCLASS` computed.
    let interface = that
        .cast::<u8>()
        .wrapping_offset(entry.dwOffset as isize)
        .cast::<c_void>();
    // SAFETY: at this offset the object holds an interface pointer whose
    // vtable starts with IUnknown's slots, as the caller promises.
    let Some(reference) = (unsafe { ComPtr::from_raw_add_ref(interface) }) else {
        return E_NOINTERFACE;
    };
    // SAFETY: checked non-NULL and writable above; the reference is the
    // caller's now.
    unsafe { ppv.write(reference.into_raw()) };
    HResult::S_OK.0
}

/// The entry `riid` names: the first one for `IUnknown`, else the first
/// whose IID equals `riid`.
///
/// # Safety
/// As [`QISearch`] for `pqit`.
unsafe fn find_entry(pqit: *const QITAB, riid: &Guid) -> Option<QITAB> {
    let mut at = pqit;
    loop {
        // SAFETY: `at` is within the table, which an ending entry closes.
        let entry = unsafe { at.read() };
        if entry.piid.is_null() {
            return None;
        }
        // SAFETY: a non-NULL IID of the table is valid.
        if *riid == IID_IUNKNOWN || unsafe { entry.piid.read() } == *riid {
            return Some(entry);
        }
        // SAFETY: the entry just read was not the last one.
        at = unsafe { at.add(1) };
    }
}

#[cfg(test)]
mod tests {
    use std::ptr::{null, null_mut};
    use std::sync::atomic::{AtomicU32, Ordering};

    use mfwq::com::IUnknownVtbl;

    use super::*;

    /// An object with two interfaces, each its own vtable pointer, sharing
    /// one reference count (the layout a C++ class with two bases has).
    #[repr(C)]
    struct TwoFaces {
        first: *const IUnknownVtbl,
        second: *const IUnknownVtbl,
        refs: AtomicU32,
    }

    unsafe extern "system" fn query_interface(
        _this: *mut c_void,
        _riid: *const Guid,
        _out: *mut *mut c_void,
    ) -> i32 {
        E_NOINTERFACE
    }
    unsafe extern "system" fn add_ref_first(this: *mut c_void) -> u32 {
        // SAFETY: `this` is a TwoFaces at its first interface.
        unsafe { &*this.cast::<TwoFaces>() }
            .refs
            .fetch_add(1, Ordering::SeqCst)
            + 1
    }
    unsafe extern "system" fn add_ref_second(this: *mut c_void) -> u32 {
        // SAFETY: `this` is a TwoFaces at its second interface, one pointer in.
        unsafe { add_ref_first(this.cast::<*const IUnknownVtbl>().sub(1).cast()) }
    }
    unsafe extern "system" fn release(_this: *mut c_void) -> u32 {
        1
    }

    static FIRST: IUnknownVtbl = IUnknownVtbl {
        query_interface,
        add_ref: add_ref_first,
        release,
    };
    static SECOND: IUnknownVtbl = IUnknownVtbl {
        query_interface,
        add_ref: add_ref_second,
        release,
    };
    const IID_FIRST: Guid = Guid {
        data1: 1,
        data2: 2,
        data3: 3,
        data4: [4; 8],
    };
    const IID_SECOND: Guid = Guid {
        data1: 5,
        data2: 6,
        data3: 7,
        data4: [8; 8],
    };

    fn object() -> TwoFaces {
        TwoFaces {
            first: &FIRST,
            second: &SECOND,
            refs: AtomicU32::new(1),
        }
    }

    fn table() -> [QITAB; 3] {
        [
            QITAB {
                piid: &IID_FIRST,
                dwOffset: 0,
            },
            QITAB {
                piid: &IID_SECOND,
                dwOffset: std::mem::size_of::<*const IUnknownVtbl>() as i32,
            },
            QITAB {
                piid: null(),
                dwOffset: 0,
            },
        ]
    }

    fn search(object: &mut TwoFaces, riid: &Guid) -> (HRESULT, *mut c_void) {
        let mut out = 0x55usize as *mut c_void;
        let table = table();
        // SAFETY: a valid object, table, IID and out pointer.
        let hr = unsafe {
            QISearch(
                std::ptr::from_mut(object).cast(),
                table.as_ptr(),
                riid,
                &mut out,
            )
        };
        (hr, out)
    }

    #[test]
    fn finds_each_interface_at_its_offset_and_adds_a_reference() {
        let mut object = object();
        let base = std::ptr::from_mut(&mut object) as usize;
        assert_eq!(search(&mut object, &IID_FIRST), (S_OK, base as *mut c_void));
        assert_eq!(object.refs.load(Ordering::SeqCst), 2);
        let second = base + std::mem::size_of::<*const IUnknownVtbl>();
        assert_eq!(
            search(&mut object, &IID_SECOND),
            (S_OK, second as *mut c_void)
        );
        assert_eq!(object.refs.load(Ordering::SeqCst), 3);
        // IUnknown: the first entry.
        assert_eq!(
            search(&mut object, &IID_IUNKNOWN),
            (S_OK, base as *mut c_void)
        );
        assert_eq!(object.refs.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_miss_is_e_nointerface_with_null_out_and_no_reference() {
        let mut object = object();
        let other = Guid {
            data1: 9,
            ..IID_FIRST
        };
        assert_eq!(search(&mut object, &other), (E_NOINTERFACE, null_mut()));
        assert_eq!(object.refs.load(Ordering::SeqCst), 1);
        // An empty table has no IUnknown either.
        let empty = [QITAB {
            piid: null(),
            dwOffset: 0,
        }];
        let mut out = 0x55usize as *mut c_void;
        // SAFETY: valid arguments.
        let hr = unsafe {
            QISearch(
                std::ptr::from_mut(&mut object).cast(),
                empty.as_ptr(),
                &IID_IUNKNOWN,
                &mut out,
            )
        };
        assert_eq!((hr, out), (E_NOINTERFACE, null_mut()));
    }

    #[test]
    fn null_arguments_fail_without_touching_anything() {
        let mut object = object();
        let table = table();
        let that = std::ptr::from_mut(&mut object).cast();
        // SAFETY: NULL pointers are allowed and checked.
        unsafe {
            assert_eq!(
                QISearch(that, table.as_ptr(), &IID_FIRST, null_mut()),
                Error::Pointer.hresult().0
            );
            let mut out = 0x55usize as *mut c_void;
            assert_eq!(
                QISearch(null_mut(), table.as_ptr(), &IID_FIRST, &mut out),
                Error::InvalidArg.hresult().0
            );
            assert!(out.is_null());
            out = 0x55usize as *mut c_void;
            assert_eq!(
                QISearch(that, null(), &IID_FIRST, &mut out),
                Error::InvalidArg.hresult().0
            );
            assert!(out.is_null());
            out = 0x55usize as *mut c_void;
            assert_eq!(
                QISearch(that, table.as_ptr(), null(), &mut out),
                Error::InvalidArg.hresult().0
            );
            assert!(out.is_null());
        }
        assert_eq!(object.refs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_entry_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<QITAB>(), 16);
        assert_eq!(std::mem::offset_of!(QITAB, dwOffset), 8);
    }

    const S_OK: HRESULT = 0;
}
