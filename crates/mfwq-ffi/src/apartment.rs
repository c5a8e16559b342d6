//! COM apartment bookkeeping and the task allocator, for Media Foundation
//! client code that calls `CoInitializeEx`, `CoUninitialize`,
//! `CoGetApartmentType` and `CoTaskMem*` (`include/mfwq_combase.h`;
//! `include/README.md`, "COM apartments", states the rules for users).
//!
//! Bookkeeping only: each thread records which apartment it entered and how
//! many initialisations it owes; nothing is marshalled, no object is tied to an
//! apartment, and an STA has no message pump. The rules are Windows':
//!
//! - The first successful `CoInitializeEx` on a thread is `S_OK`, later ones of
//!   the same model `S_FALSE` (each counted, each owed a `CoUninitialize`), one
//!   of the other model `RPC_E_CHANGED_MODE` (not counted). `CoUninitialize`
//!   with nothing to balance does nothing; the last one leaves the apartment.
//! - The first thread to enter a single-threaded apartment while no other
//!   thread holds it is the main STA (`APTTYPE_MAINSTA`); the others are
//!   `APTTYPE_STA`. The main STA is free again once its thread leaves it (or
//!   ends).
//! - A thread that has initialised nothing is in the implicit MTA while the
//!   platform is started (`MFStartup`/`RtwqStartup`, as on Windows), else it
//!   has no apartment (`CO_E_NOTINITIALIZED`, `APTTYPE_CURRENT`,
//!   `APTTYPEQUALIFIER_NONE`).
//! - Work-queue threads are initialised by the platform, as Windows' are: the
//!   threads of every queue are in the MTA (explicitly, qualifier `NONE`),
//!   except the threads of `MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION`, which are
//!   STAs (so the first of them to ask, when no thread holds the main STA, is
//!   the main STA, as Windows reports for a process whose main thread never
//!   initialised COM; docs/behaviour.md#w34 says why LONG_FUNCTION follows
//!   what Windows was seen to do rather than its documentation). Serial
//!   queues run on the threads of the queue under them and so report that
//!   queue's apartment. The shutdown's own thread (`mfwq-shutdown`), a queue
//!   worker whose queue id is `UNDEFINED`, is in the MTA like the others. The platform's initialisation
//!   is the floor: a callback's `CoInitializeEx` of the same model is
//!   `S_FALSE`, the other model `RPC_E_CHANGED_MODE`, and no `CoUninitialize`
//!   takes the thread out of its queue's apartment. Threads are reused across
//!   work items, so a callback that leaves an initialisation unbalanced only
//!   leaves a count behind: the model cannot change on a queue thread, so no
//!   later callback on that thread can see a difference.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

use mfwq::QueueId;

use crate::{DWORD, HRESULT};

/// `SIZE_T`.
pub type SIZE_T = usize;
/// `APTTYPE`: a 4-byte enum.
pub type APTTYPE = i32;
/// `APTTYPEQUALIFIER`: a 4-byte enum.
pub type APTTYPEQUALIFIER = i32;

/// `APTTYPE_CURRENT`: what `CoGetApartmentType` writes when there is no apartment.
pub const APTTYPE_CURRENT: APTTYPE = -1;
/// `APTTYPE_STA`.
pub const APTTYPE_STA: APTTYPE = 0;
/// `APTTYPE_MTA`.
pub const APTTYPE_MTA: APTTYPE = 1;
/// `APTTYPE_NA` (never reported: there is no neutral apartment here).
pub const APTTYPE_NA: APTTYPE = 2;
/// `APTTYPE_MAINSTA`.
pub const APTTYPE_MAINSTA: APTTYPE = 3;

/// `APTTYPEQUALIFIER_NONE`.
pub const APTTYPEQUALIFIER_NONE: APTTYPEQUALIFIER = 0;
/// `APTTYPEQUALIFIER_IMPLICIT_MTA`.
pub const APTTYPEQUALIFIER_IMPLICIT_MTA: APTTYPEQUALIFIER = 1;

/// `COINIT_MULTITHREADED`.
pub const COINIT_MULTITHREADED: DWORD = 0x0;
/// `COINIT_APARTMENTTHREADED`.
pub const COINIT_APARTMENTTHREADED: DWORD = 0x2;
/// `COINIT_DISABLE_OLE1DDE`: accepted and ignored.
pub const COINIT_DISABLE_OLE1DDE: DWORD = 0x4;
/// `COINIT_SPEED_OVER_MEMORY`: accepted and ignored.
pub const COINIT_SPEED_OVER_MEMORY: DWORD = 0x8;

/// `S_FALSE`.
const S_FALSE: HRESULT = 1;
/// `E_INVALIDARG`.
const E_INVALIDARG: HRESULT = 0x8007_0057_u32 as HRESULT;
/// `RPC_E_CHANGED_MODE`.
pub const RPC_E_CHANGED_MODE: HRESULT = 0x8001_0106_u32 as HRESULT;
/// `CO_E_NOTINITIALIZED`.
pub const CO_E_NOTINITIALIZED: HRESULT = 0x8004_01F0_u32 as HRESULT;

/// Whether some thread holds the main STA.
static MAIN_STA: AtomicBool = AtomicBool::new(false);

/// An apartment a thread can be in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Model {
    Sta,
    Mta,
}

impl Model {
    /// The apartment the platform puts the threads of `queue` in.
    fn of_queue(queue: QueueId) -> Model {
        if queue == QueueId::LONG_FUNCTION {
            Model::Sta
        } else {
            Model::Mta
        }
    }
}

/// One thread's apartment.
struct Apartment {
    /// The apartment entered, by the thread itself or by the platform; `None`:
    /// none (the implicit MTA or nothing, depending on the platform).
    model: Cell<Option<Model>>,
    /// Initialisations the thread's own `CoInitializeEx` calls owe.
    inits: Cell<u32>,
    /// The platform entered `model` for this queue thread: `CoUninitialize`
    /// never leaves it.
    queue: Cell<Option<QueueId>>,
    /// This thread holds the main STA.
    main_sta: Cell<bool>,
}

impl Apartment {
    /// Brings the record up to date with the thread's role: a queue thread is
    /// in its queue's apartment from the first look on.
    fn sync(&self) {
        let current = mfwq::current_queue();
        if current == self.queue.get() {
            return;
        }
        if self.queue.get().is_some() && self.inits.get() == 0 {
            // No longer a queue thread (never happens while a worker runs):
            // what the platform entered is left.
            self.leave();
        }
        self.queue.set(current);
        if let Some(queue) = current {
            if self.model.get().is_none() {
                self.enter(Model::of_queue(queue));
            }
        }
    }

    fn enter(&self, model: Model) {
        self.model.set(Some(model));
        if model == Model::Sta {
            let main = MAIN_STA
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
            self.main_sta.set(main);
        }
    }

    fn leave(&self) {
        self.model.set(None);
        if self.main_sta.replace(false) {
            MAIN_STA.store(false, Ordering::Release);
        }
    }

    fn initialize(&self, model: Model) -> HRESULT {
        self.sync();
        match self.model.get() {
            None => {
                self.enter(model);
                self.inits.set(1);
                crate::S_OK
            }
            Some(current) if current == model => {
                self.inits.set(self.inits.get().saturating_add(1));
                S_FALSE
            }
            Some(_) => RPC_E_CHANGED_MODE,
        }
    }

    fn uninitialize(&self) {
        self.sync();
        let inits = self.inits.get();
        if inits == 0 {
            return;
        }
        self.inits.set(inits - 1);
        if inits == 1 && self.queue.get().is_none() {
            self.leave();
        }
    }

    fn apartment_type(&self) -> (HRESULT, APTTYPE, APTTYPEQUALIFIER) {
        self.sync();
        match self.model.get() {
            Some(Model::Mta) => (crate::S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE),
            Some(Model::Sta) if self.main_sta.get() => {
                (crate::S_OK, APTTYPE_MAINSTA, APTTYPEQUALIFIER_NONE)
            }
            Some(Model::Sta) => (crate::S_OK, APTTYPE_STA, APTTYPEQUALIFIER_NONE),
            None if mfwq::is_started() => (crate::S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_IMPLICIT_MTA),
            None => (CO_E_NOTINITIALIZED, APTTYPE_CURRENT, APTTYPEQUALIFIER_NONE),
        }
    }
}

impl Drop for Apartment {
    /// A thread that ends inside the main STA gives it up.
    fn drop(&mut self) {
        if self.main_sta.get() {
            MAIN_STA.store(false, Ordering::Release);
        }
    }
}

thread_local! {
    static APARTMENT: Apartment = const {
        Apartment {
            model: Cell::new(None),
            inits: Cell::new(0),
            queue: Cell::new(None),
            main_sta: Cell::new(false),
        }
    };
}

/// Runs `f` on this thread's record; `fallback` if the thread is being torn
/// down (a call from a thread-local destructor of the program's own).
fn with_apartment<R>(fallback: R, f: impl FnOnce(&Apartment) -> R) -> R {
    APARTMENT.try_with(f).unwrap_or(fallback)
}

/// `CoInitializeEx(reserved, dwCoInit)`. `reserved` must be NULL
/// (`E_INVALIDARG`); `dwCoInit` is `COINIT_MULTITHREADED` or
/// `COINIT_APARTMENTTHREADED`, optionally with `COINIT_DISABLE_OLE1DDE` and
/// `COINIT_SPEED_OVER_MEMORY` (ignored); any other bit is `E_INVALIDARG`.
#[no_mangle]
pub extern "system" fn CoInitializeEx(pvReserved: *mut c_void, dwCoInit: DWORD) -> HRESULT {
    const KNOWN: DWORD =
        COINIT_APARTMENTTHREADED | COINIT_DISABLE_OLE1DDE | COINIT_SPEED_OVER_MEMORY;
    if !pvReserved.is_null() || dwCoInit & !KNOWN != 0 {
        return E_INVALIDARG;
    }
    let model = if dwCoInit & COINIT_APARTMENTTHREADED != 0 {
        Model::Sta
    } else {
        Model::Mta
    };
    with_apartment(E_INVALIDARG, |apartment| apartment.initialize(model))
}

/// `CoInitialize(reserved)`: `CoInitializeEx(reserved, COINIT_APARTMENTTHREADED)`.
#[no_mangle]
pub extern "system" fn CoInitialize(pvReserved: *mut c_void) -> HRESULT {
    CoInitializeEx(pvReserved, COINIT_APARTMENTTHREADED)
}

/// `CoUninitialize()`: balances one successful `CoInitialize[Ex]` of this
/// thread; the last one leaves the apartment. Nothing to balance: no-op.
#[no_mangle]
pub extern "system" fn CoUninitialize() {
    with_apartment((), Apartment::uninitialize);
}

/// `CoGetApartmentType(&type, &qualifier)`: `S_OK` with the calling thread's
/// apartment, or `CO_E_NOTINITIALIZED` with `APTTYPE_CURRENT` /
/// `APTTYPEQUALIFIER_NONE` on a thread with none. A NULL pointer is
/// `E_INVALIDARG` and nothing is written.
///
/// # Safety
/// Both pointers must be NULL or valid for a 4-byte write.
#[no_mangle]
pub unsafe extern "system" fn CoGetApartmentType(
    pAptType: *mut APTTYPE,
    pAptQualifier: *mut APTTYPEQUALIFIER,
) -> HRESULT {
    if pAptType.is_null() || pAptQualifier.is_null() {
        return E_INVALIDARG;
    }
    let (hr, kind, qualifier) = with_apartment(
        (CO_E_NOTINITIALIZED, APTTYPE_CURRENT, APTTYPEQUALIFIER_NONE),
        Apartment::apartment_type,
    );
    // SAFETY: both checked non-NULL; the caller promises they are writable.
    unsafe {
        pAptType.write(kind);
        pAptQualifier.write(qualifier);
    }
    hr
}

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

/// `CoTaskMemAlloc(cb)`: C `malloc`, so the block can be handed to code that
/// frees it with `CoTaskMemFree` (or `free`). `cb == 0` gives a valid, unique
/// zero-length block, as on Windows; NULL when out of memory.
#[no_mangle]
pub extern "system" fn CoTaskMemAlloc(cb: SIZE_T) -> *mut c_void {
    // SAFETY: plain C allocation; 1 byte for 0 so the pointer is never NULL
    // for a zero-length request (glibc's malloc(0) is unique too, but C lets
    // it be NULL).
    unsafe { malloc(cb.max(1)) }
}

/// `CoTaskMemRealloc(pv, cb)`: NULL `pv` allocates (as `CoTaskMemAlloc`);
/// `cb == 0` with a block frees it and returns NULL; otherwise C `realloc`
/// (NULL when out of memory, the old block unchanged).
///
/// # Safety
/// `pv` must be NULL or a live block from `CoTaskMemAlloc`/`CoTaskMemRealloc`
/// (or C `malloc`).
#[no_mangle]
pub unsafe extern "system" fn CoTaskMemRealloc(pv: *mut c_void, cb: SIZE_T) -> *mut c_void {
    if pv.is_null() {
        return CoTaskMemAlloc(cb);
    }
    if cb == 0 {
        // SAFETY: a live block, as the caller promises.
        unsafe { free(pv) };
        return std::ptr::null_mut();
    }
    // SAFETY: a live block, as the caller promises; cb > 0.
    unsafe { realloc(pv, cb) }
}

/// `CoTaskMemFree(pv)`: C `free`; NULL is a no-op.
///
/// # Safety
/// `pv` must be NULL or a live block from `CoTaskMemAlloc`/`CoTaskMemRealloc`
/// (or C `malloc`).
#[no_mangle]
pub unsafe extern "system" fn CoTaskMemFree(pv: *mut c_void) {
    if !pv.is_null() {
        // SAFETY: a live block, as the caller promises.
        unsafe { free(pv) };
    }
}
