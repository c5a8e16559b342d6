//! Platform lifecycle (docs/behaviour.md#startup) and RTWorkQ platform events.

use std::ffi::c_void;
use std::sync::Arc;

use parking_lot::Mutex;

use mfwq::com::{ComPtr, IUnknownVtbl};
use mfwq::{Error, PlatformEvents};

use crate::{com_arg, hr, DWORD, HRESULT, S_OK, ULONG};

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
    S_OK
}

/// `MFUnlockPlatform()`.
#[no_mangle]
pub extern "system" fn MFUnlockPlatform() -> HRESULT {
    mfwq::unlock_platform();
    S_OK
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

/// `IRtwqPlatformEventsVtbl` (48 bytes): only C code implements this
/// interface, so its layout lives here, not in the core.
#[repr(C)]
pub(crate) struct IRtwqPlatformEventsVtbl {
    /// Slots 0–2.
    pub(crate) unknown: IUnknownVtbl,
    /// `HRESULT InitializationComplete()`.
    pub(crate) initialization_complete: unsafe extern "system" fn(this: *mut c_void) -> i32,
    /// `HRESULT ShutdownStart()`.
    pub(crate) shutdown_start: unsafe extern "system" fn(this: *mut c_void) -> i32,
    /// `HRESULT ShutdownComplete()`.
    pub(crate) shutdown_complete: unsafe extern "system" fn(this: *mut c_void) -> i32,
}

const _: () = assert!(std::mem::size_of::<IRtwqPlatformEventsVtbl>() == 48);

/// An `IRtwqPlatformEvents` listener as the core sees it: an
/// `Arc<dyn PlatformEvents>` that calls the COM object.
struct ComPlatformEvents(ComPtr);

impl ComPlatformEvents {
    fn call(
        &self,
        method: impl FnOnce(&IRtwqPlatformEventsVtbl) -> unsafe extern "system" fn(*mut c_void) -> i32,
    ) {
        // SAFETY: the listener was registered as an IRtwqPlatformEvents and is held alive.
        let _ignored = unsafe { method(self.0.vtbl())(self.0.as_raw()) };
    }
}

impl PlatformEvents for ComPlatformEvents {
    fn initialization_complete(&self) {
        self.call(|vtbl| vtbl.initialization_complete);
    }

    fn shutdown_start(&self) {
        self.call(|vtbl| vtbl.shutdown_start);
    }

    fn shutdown_complete(&self) {
        self.call(|vtbl| vtbl.shutdown_complete);
    }
}

/// The listeners registered through this ABI, by COM pointer (its address),
/// each with the `Arc` handed to the core. The core knows a listener by its
/// `Arc`; C code names it by the interface pointer, so the same pointer is one
/// listener and unregistering finds the `Arc` it registered.
///
/// Lock order: this lock, then the core's listener lock. No COM call runs
/// under it: `AddRef` happens before it is taken, and every `Release` (a
/// duplicate registration, an unregistered listener) after it is released.
static COM_LISTENERS: Mutex<Vec<(usize, Arc<dyn PlatformEvents>)>> = Mutex::new(Vec::new());

/// `RtwqRegisterPlatformEvents(events)`: NULL is `E_INVALIDARG`. The same
/// pointer registered again changes nothing.
///
/// # Safety
/// `events` must be NULL or a live `IRtwqPlatformEvents`.
#[no_mangle]
pub unsafe extern "system" fn RtwqRegisterPlatformEvents(events: *mut c_void) -> HRESULT {
    // SAFETY: forwarded caller contract.
    let Some(events) = (unsafe { com_arg(events) }) else {
        return Error::InvalidArg.hresult().0;
    };
    let key = events.as_raw() as usize;
    let mut listeners = COM_LISTENERS.lock();
    if listeners.iter().any(|(known, _)| *known == key) {
        drop(listeners);
        // Our AddRef is given back with no lock held.
        drop(events);
        return S_OK;
    }
    let listener: Arc<dyn PlatformEvents> = Arc::new(ComPlatformEvents(events));
    let result = mfwq::register_platform_events(Arc::clone(&listener));
    let refused = match result {
        Ok(()) => {
            listeners.push((key, listener));
            None
        }
        Err(_) => Some(listener),
    };
    drop(listeners);
    drop(refused);
    hr(result)
}

/// `RtwqUnregisterPlatformEvents(events)`: the pointer that was registered;
/// one that is not is `MF_E_NOT_FOUND`. NULL is `E_INVALIDARG`.
///
/// # Safety
/// `events` must be NULL or a live `IRtwqPlatformEvents`.
#[no_mangle]
pub unsafe extern "system" fn RtwqUnregisterPlatformEvents(events: *mut c_void) -> HRESULT {
    if events.is_null() {
        return Error::InvalidArg.hresult().0;
    }
    let key = events as usize;
    let mut listeners = COM_LISTENERS.lock();
    let Some(index) = listeners.iter().position(|(known, _)| *known == key) else {
        return Error::NotFound.hresult().0;
    };
    let (_, listener) = listeners.remove(index);
    let result = mfwq::unregister_platform_events(&listener);
    drop(listeners);
    // The last reference: its Release runs here, with no lock held.
    drop(listener);
    hr(result)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use mfwq::com::Guid;
    use mfwq::HResult;

    use super::*;

    /// A minimal `IRtwqPlatformEvents` that counts its references.
    #[repr(C)]
    struct Events {
        vtbl: &'static IRtwqPlatformEventsVtbl,
        refs: AtomicU32,
    }

    unsafe extern "system" fn query_interface(
        _this: *mut c_void,
        _riid: *const Guid,
        _out: *mut *mut c_void,
    ) -> i32 {
        HResult::E_NOINTERFACE.0
    }

    unsafe extern "system" fn add_ref(this: *mut c_void) -> u32 {
        // SAFETY: `this` is an `Events` the test keeps alive.
        unsafe { &*(this as *const Events) }
            .refs
            .fetch_add(1, Ordering::SeqCst)
            + 1
    }

    unsafe extern "system" fn release(this: *mut c_void) -> u32 {
        // SAFETY: as above; the test owns the memory, Release never frees it.
        unsafe { &*(this as *const Events) }
            .refs
            .fetch_sub(1, Ordering::SeqCst)
            - 1
    }

    unsafe extern "system" fn nothing(_this: *mut c_void) -> i32 {
        S_OK
    }

    static VTBL: IRtwqPlatformEventsVtbl = IRtwqPlatformEventsVtbl {
        unknown: IUnknownVtbl {
            query_interface,
            add_ref,
            release,
        },
        initialization_complete: nothing,
        shutdown_start: nothing,
        shutdown_complete: nothing,
    };

    #[test]
    fn platform_events_are_known_by_their_com_pointer() {
        // No startup or shutdown meanwhile: one would notify (and so hold) the
        // listener while the counts are read.
        let _lock = crate::PLATFORM_TEST_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let events = Box::leak(Box::new(Events {
            vtbl: &VTBL,
            refs: AtomicU32::new(1),
        }));
        let raw = events as *mut Events as *mut c_void;
        let refs = || events.refs.load(Ordering::SeqCst);
        // SAFETY (every call below): `raw` is a live IRtwqPlatformEvents.
        unsafe {
            assert_eq!(RtwqRegisterPlatformEvents(raw), S_OK);
            assert_eq!(refs(), 2, "held while registered");
            assert_eq!(RtwqRegisterPlatformEvents(raw), S_OK);
            assert_eq!(refs(), 2, "the same pointer again: one listener");
            assert_eq!(RtwqUnregisterPlatformEvents(raw), S_OK);
            assert_eq!(refs(), 1, "released when unregistered");
            assert_eq!(RtwqUnregisterPlatformEvents(raw), HResult::MF_E_NOT_FOUND.0);
            assert_eq!(refs(), 1);
        }
    }
}
