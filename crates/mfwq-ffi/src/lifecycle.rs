//! Platform lifecycle (docs/behaviour.md#startup) and RTWorkQ platform events.

use std::ffi::c_void;
use std::sync::Arc;

use mfwq::com::{ComPtr, IRtwqPlatformEventsVtbl};
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

/// An `IRtwqPlatformEvents` listener seen by the core; equal listeners are the
/// same COM pointer, so unregistering finds the one registered.
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

    fn identity(&self) -> *const () {
        self.0.as_raw() as *const ()
    }
}

/// `RtwqRegisterPlatformEvents(events)`: NULL is `E_INVALIDARG`.
///
/// # Safety
/// `events` must be NULL or a live `IRtwqPlatformEvents`.
#[no_mangle]
pub unsafe extern "system" fn RtwqRegisterPlatformEvents(events: *mut c_void) -> HRESULT {
    // SAFETY: forwarded caller contract.
    let Some(events) = (unsafe { com_arg(events) }) else {
        return Error::InvalidArg.hresult().0;
    };
    hr(mfwq::register_platform_events(Arc::new(ComPlatformEvents(
        events,
    ))))
}

/// `RtwqUnregisterPlatformEvents(events)`: the pointer that was registered.
///
/// # Safety
/// `events` must be NULL or a live `IRtwqPlatformEvents`.
#[no_mangle]
pub unsafe extern "system" fn RtwqUnregisterPlatformEvents(events: *mut c_void) -> HRESULT {
    if events.is_null() {
        return Error::InvalidArg.hresult().0;
    }
    let probe: Arc<dyn PlatformEvents> = Arc::new(Identity(events as *const ()));
    hr(mfwq::unregister_platform_events(&probe))
}

/// Finds a registered COM listener by its pointer, without calling it.
struct Identity(*const ());

// SAFETY: only the address is kept; it is never dereferenced.
unsafe impl Send for Identity {}
// SAFETY: as above.
unsafe impl Sync for Identity {}

impl PlatformEvents for Identity {
    fn identity(&self) -> *const () {
        self.0
    }
}
