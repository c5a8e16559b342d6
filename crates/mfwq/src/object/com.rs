//! The COM object model the platform speaks: GUIDs, the vtable layouts of
//! `IUnknown`, `IMFAsyncCallback` and `IMFAsyncResult`
//! (docs/behaviour.md#layout), and owned references to foreign objects.
//! Only what the core itself calls or lays out is here; the interfaces only
//! the C ABI names (`IRtwqPlatformEvents`, the real-time client and logging
//! IIDs) are in `mfwq-ffi`.
//!
//! It lives in the core, not in the C ABI crate, because it *is* behaviour:
//! when a callback's `GetParameters` is called and with what, which
//! `AddRef`/`Release` calls a work item makes, how a result's fields are read
//! by offset. The ABI crate only converts arguments and HRESULTs.
//!
//! Threading: the platform calls these objects from its own threads without
//! marshaling, as Windows does (callbacks must be free-threaded: docs/behaviour.md#apartments), so a
//! [`ComPtr`] is `Send + Sync`.

use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::error::HResult;
use crate::ids::{CallbackFlags, QueueId};
use crate::object::callback::{AsyncCallback, CallbackParams};
use crate::object::result::AsyncResult;

/// A COM `GUID` / `IID` (16 bytes, docs/behaviour.md#layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Guid {
    /// `Data1`.
    pub data1: u32,
    /// `Data2`.
    pub data2: u16,
    /// `Data3`.
    pub data3: u16,
    /// `Data4`.
    pub data4: [u8; 8],
}

impl Guid {
    const fn new(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> Guid {
        Guid {
            data1,
            data2,
            data3,
            data4,
        }
    }
}

/// `IID_IUnknown` {00000000-0000-0000-C000-000000000046}.
pub const IID_IUNKNOWN: Guid = Guid::new(0, 0, 0, [0xC0, 0, 0, 0, 0, 0, 0, 0x46]);
/// `IID_IMFAsyncResult` = `IID_IRtwqAsyncResult` {AC6B7889-0740-4D51-8619-905994A55CC6}.
pub const IID_IMF_ASYNC_RESULT: Guid = Guid::new(
    0xAC6B_7889,
    0x0740,
    0x4D51,
    [0x86, 0x19, 0x90, 0x59, 0x94, 0xA5, 0x5C, 0xC6],
);
/// `IID_IMFAsyncCallback` = `IID_IRtwqAsyncCallback` {A27003CF-2354-4F2A-8D6A-AB7CFF15437E}.
pub const IID_IMF_ASYNC_CALLBACK: Guid = Guid::new(
    0xA270_03CF,
    0x2354,
    0x4F2A,
    [0x8D, 0x6A, 0xAB, 0x7C, 0xFF, 0x15, 0x43, 0x7E],
);
/// `IUnknown`'s three slots, the start of every vtable.
#[repr(C)]
pub struct IUnknownVtbl {
    /// `HRESULT QueryInterface(REFIID, void **)`.
    pub query_interface: unsafe extern "system" fn(
        this: *mut c_void,
        riid: *const Guid,
        out: *mut *mut c_void,
    ) -> i32,
    /// `ULONG AddRef()`.
    pub add_ref: unsafe extern "system" fn(this: *mut c_void) -> u32,
    /// `ULONG Release()`.
    pub release: unsafe extern "system" fn(this: *mut c_void) -> u32,
}

/// `IMFAsyncCallbackVtbl` / `IRtwqAsyncCallbackVtbl` (40 bytes).
#[repr(C)]
pub struct IMFAsyncCallbackVtbl {
    /// Slots 0–2.
    pub unknown: IUnknownVtbl,
    /// `HRESULT GetParameters(DWORD *pdwFlags, DWORD *pdwQueue)`.
    pub get_parameters:
        unsafe extern "system" fn(this: *mut c_void, flags: *mut u32, queue: *mut u32) -> i32,
    /// `HRESULT Invoke(IMFAsyncResult *pAsyncResult)`.
    pub invoke: unsafe extern "system" fn(this: *mut c_void, result: *mut c_void) -> i32,
}

/// `IMFAsyncResultVtbl` / `IRtwqAsyncResultVtbl` (64 bytes).
#[repr(C)]
pub struct IMFAsyncResultVtbl {
    /// Slots 0–2.
    pub unknown: IUnknownVtbl,
    /// `HRESULT GetState(IUnknown **ppunkState)`.
    pub get_state: unsafe extern "system" fn(this: *mut c_void, out: *mut *mut c_void) -> i32,
    /// `HRESULT GetStatus()`.
    pub get_status: unsafe extern "system" fn(this: *mut c_void) -> i32,
    /// `HRESULT SetStatus(HRESULT)`.
    pub set_status: unsafe extern "system" fn(this: *mut c_void, status: i32) -> i32,
    /// `HRESULT GetObject(IUnknown **ppObject)`.
    pub get_object: unsafe extern "system" fn(this: *mut c_void, out: *mut *mut c_void) -> i32,
    /// `IUnknown *GetStateNoAddRef()`.
    pub get_state_no_add_ref: unsafe extern "system" fn(this: *mut c_void) -> *mut c_void,
}

/// An owned reference to a COM object (one `AddRef` that `Drop` releases).
///
/// Cloning calls `AddRef`; dropping calls `Release`: exactly the calls Windows
/// makes for the references the platform holds.
///
/// A stock result is a COM object too, so it can stand in for a C one here:
///
/// ```
/// use mfwq::{com::ComPtr, AsyncResult};
/// let raw = AsyncResult::new(None, None, None).into_com_raw(); // an IMFAsyncResult*
/// // SAFETY: a live COM object; its one reference goes to the ComPtr.
/// let object = unsafe { ComPtr::from_raw_owned(raw) }.unwrap();
/// let second = object.clone(); // AddRef
/// // SAFETY: a live stock result.
/// let result = unsafe { AsyncResult::from_com_result(second.as_raw()) }.unwrap();
/// assert_eq!(result.ref_count(), 3);
/// drop((object, second)); // two Releases
/// assert_eq!(result.ref_count(), 1);
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct ComPtr(NonNull<c_void>);

// SAFETY: objects handed to the work-queue platform are called from its
// threads without marshaling (docs/behaviour.md#apartments), i.e. they are free-threaded.
unsafe impl Send for ComPtr {}
// SAFETY: as above.
unsafe impl Sync for ComPtr {}

impl ComPtr {
    /// Takes a new reference to `object` (calls `AddRef`); `None` for NULL.
    ///
    /// # Safety
    /// `object` is NULL or a live COM object whose first word is a vtable
    /// starting with the `IUnknown` slots.
    #[inline]
    pub unsafe fn from_raw_add_ref(object: *mut c_void) -> Option<ComPtr> {
        let object = NonNull::new(object)?;
        // SAFETY: the caller promises a live COM object.
        unsafe { (unknown_vtbl(object.as_ptr()).add_ref)(object.as_ptr()) };
        Some(ComPtr(object))
    }

    /// Adopts a reference the caller already owns (no `AddRef`); `None` for NULL.
    ///
    /// # Safety
    /// As [`from_raw_add_ref`](Self::from_raw_add_ref), and the caller gives up
    /// one reference it holds.
    #[inline]
    pub unsafe fn from_raw_owned(object: *mut c_void) -> Option<ComPtr> {
        NonNull::new(object).map(ComPtr)
    }

    /// The interface pointer (no reference taken).
    #[inline]
    pub fn as_raw(&self) -> *mut c_void {
        self.0.as_ptr()
    }

    /// Gives the reference to the caller (no `Release`).
    #[inline]
    pub fn into_raw(self) -> *mut c_void {
        let raw = self.0.as_ptr();
        std::mem::forget(self);
        raw
    }

    /// The object's vtable viewed as `V`.
    ///
    /// # Safety
    /// The object implements an interface whose vtable starts with `V`.
    pub unsafe fn vtbl<V>(&self) -> &V {
        // SAFETY: a COM object's first word points at its vtable.
        unsafe { &**(self.0.as_ptr() as *const *const V) }
    }
}

/// The `IUnknown` part of the vtable of `object`.
///
/// # Safety
/// `object` is a live COM object.
#[inline]
unsafe fn unknown_vtbl<'a>(object: *mut c_void) -> &'a IUnknownVtbl {
    // SAFETY: the caller promises a COM object: first word = vtable pointer.
    unsafe { &**(object as *const *const IUnknownVtbl) }
}

impl Clone for ComPtr {
    #[inline]
    fn clone(&self) -> ComPtr {
        // SAFETY: we hold a reference, so the object is live.
        unsafe { (unknown_vtbl(self.as_raw()).add_ref)(self.as_raw()) };
        ComPtr(self.0)
    }
}

impl Drop for ComPtr {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { (unknown_vtbl(self.as_raw()).release)(self.as_raw()) };
    }
}

/// Asks a COM callback for its parameters, the way Windows does: both
/// pointers non-NULL (docs/behaviour.md#w31); `E_NOTIMPL` or any other failure means the
/// defaults (flags 0, STANDARD).
///
/// # Safety
/// `callback` is a live `IMFAsyncCallback`.
#[inline]
pub(crate) unsafe fn callback_parameters(callback: *mut c_void) -> CallbackParams {
    // SAFETY: the caller promises a live IMFAsyncCallback.
    unsafe { CallbackVtbl::of(callback).parameters(callback) }
}

/// An owned reference to a COM `IMFAsyncCallback` that keeps the vtable
/// pointer it read when it took the reference, for the put and schedule
/// calls of the C ABI: `AddRef` and then `GetParameters` with one read of the
/// object's memory.
///
/// That read matters when one callback object is put again and again while
/// workers run its earlier items: every worker's `Release` writes the
/// object's reference count, which usually shares a cache line with its
/// vtable pointer, so each read of that pointer on the putting thread can
/// miss. Reading it twice per put (once for `AddRef`, once more for
/// `GetParameters`) cost a fan-out's putting thread a second miss per item.
/// An interface pointer's vtable does not change while a reference to it is
/// held, so the one read serves both calls.
///
/// ```
/// use mfwq::com::ComCallbackPtr;
/// // A C program passes its IMFAsyncCallback*; NULL gives None.
/// // SAFETY: NULL is allowed.
/// assert!(unsafe { ComCallbackPtr::from_raw_add_ref(std::ptr::null_mut()) }.is_none());
/// ```
#[derive(Debug)]
pub struct ComCallbackPtr {
    object: ComPtr,
    vtbl: CallbackVtbl,
}

impl ComCallbackPtr {
    /// Takes a new reference to `callback` (calls `AddRef`); `None` for NULL.
    ///
    /// # Safety
    /// `callback` is NULL or a live `IMFAsyncCallback`.
    #[inline]
    pub unsafe fn from_raw_add_ref(callback: *mut c_void) -> Option<ComCallbackPtr> {
        let object = NonNull::new(callback)?;
        // SAFETY: the caller promises a live IMFAsyncCallback.
        let vtbl = unsafe { CallbackVtbl::of(callback) };
        // SAFETY: as promised; the new reference is the one `object` owns.
        unsafe { vtbl.add_ref(callback) };
        Some(ComCallbackPtr {
            object: ComPtr(object),
            vtbl,
        })
    }

    /// `GetParameters`, as [`callback_parameters`] asks it.
    #[inline]
    pub(crate) fn parameters(&self) -> CallbackParams {
        // SAFETY: the reference keeps the object and its vtable alive.
        unsafe { self.vtbl.parameters(self.object.as_raw()) }
    }

    /// The reference as a plain [`ComPtr`].
    #[inline]
    pub fn into_com_ptr(self) -> ComPtr {
        self.object
    }

    /// The vtable read when the reference was taken, for calls made later
    /// without reading the object again.
    #[inline]
    pub(crate) fn vtbl(&self) -> CallbackVtbl {
        self.vtbl
    }
}

/// The vtable of a live `IMFAsyncCallback`, as read from its first word,
/// and the calls the platform makes through it. Read once, it serves later
/// calls without reading the object again: a C or C++ COM object keeps its
/// reference count on the same cache line, which other threads' `AddRef`
/// and `Release` write ([`ComCallbackPtr`]; `work::ComPut`, which carries it
/// to the worker; docs/performance.md, "The C ABI's remaining gap").
///
/// Every method's safety contract: `callback` is a live object whose
/// vtable this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CallbackVtbl(NonNull<IMFAsyncCallbackVtbl>);

// SAFETY: a vtable is an immutable table of function pointers, which any
// thread may read.
unsafe impl Send for CallbackVtbl {}
// SAFETY: as above.
unsafe impl Sync for CallbackVtbl {}

impl CallbackVtbl {
    /// The vtable of `callback`: one read of its first word.
    ///
    /// # Safety
    /// `callback` is a live `IMFAsyncCallback`.
    #[inline]
    pub(crate) unsafe fn of(callback: *mut c_void) -> CallbackVtbl {
        // SAFETY: a COM object's first word points at its (non-null) vtable.
        CallbackVtbl(unsafe {
            NonNull::new_unchecked(*(callback as *const *mut IMFAsyncCallbackVtbl))
        })
    }

    /// # Safety
    /// The object the vtable was read from is alive, and so its vtable.
    #[inline]
    unsafe fn get(&self) -> &IMFAsyncCallbackVtbl {
        // SAFETY: as the caller promises.
        unsafe { self.0.as_ref() }
    }

    /// `AddRef`.
    ///
    /// # Safety
    /// See the type.
    #[inline]
    pub(crate) unsafe fn add_ref(self, callback: *mut c_void) {
        // SAFETY: as the caller promises.
        unsafe { (self.get().unknown.add_ref)(callback) };
    }

    /// `Release`.
    ///
    /// # Safety
    /// See the type; the caller gives up one reference.
    #[inline]
    pub(crate) unsafe fn release(self, callback: *mut c_void) {
        // SAFETY: as the caller promises.
        unsafe { (self.get().unknown.release)(callback) };
    }

    /// `GetParameters`, as [`callback_parameters`] asks it.
    ///
    /// # Safety
    /// See the type.
    #[inline]
    pub(crate) unsafe fn parameters(self, callback: *mut c_void) -> CallbackParams {
        let mut flags = 0u32;
        let mut queue = QueueId::STANDARD.0;
        // SAFETY: both out pointers are valid locals; the caller promises the rest.
        let hr = unsafe { (self.get().get_parameters)(callback, &mut flags, &mut queue) };
        if HResult(hr).is_err() {
            return CallbackParams::default();
        }
        CallbackParams {
            flags: CallbackFlags::from_bits_retain(flags),
            queue: QueueId(queue),
        }
    }

    /// `Invoke(result)`; the return value is ignored (docs/behaviour.md#w32).
    ///
    /// # Safety
    /// See the type; `result` is a live `IMFAsyncResult`.
    #[inline]
    pub(crate) unsafe fn invoke(self, callback: *mut c_void, result: *mut c_void) {
        // SAFETY: as the caller promises.
        let _ignored = unsafe { (self.get().invoke)(callback, result) };
    }
}

/// Calls `callback->Invoke(result)`; the return value is ignored (docs/behaviour.md#w32).
///
/// # Safety
/// `callback` is a live `IMFAsyncCallback`, `result` a live `IMFAsyncResult`.
#[inline]
pub(crate) unsafe fn invoke_callback(callback: *mut c_void, result: *mut c_void) {
    // SAFETY: as promised by the caller.
    unsafe { CallbackVtbl::of(callback).invoke(callback, result) }
}

/// A COM `IMFAsyncCallback` in the Rust callback slot, for the operations that
/// take a [`Callback`](crate::Callback) (the MMCSS Begin functions): its
/// `Invoke` receives the result's COM pointer.
struct ComCallback(ComPtr);

impl AsyncCallback for ComCallback {
    fn parameters(&self) -> Option<CallbackParams> {
        // SAFETY: the ComPtr keeps the callback alive.
        Some(unsafe { callback_parameters(self.0.as_raw()) })
    }

    fn invoke(&self, result: &AsyncResult) {
        // SAFETY: both objects are alive for the call.
        unsafe { invoke_callback(self.0.as_raw(), result.com_ptr()) }
    }
}

/// Wraps a COM `IMFAsyncCallback` as a [`Callback`](crate::Callback); the
/// reference is released when the last clone of the callback goes. This is
/// how the C ABI hands a C callback to the operations that take a
/// `Callback` (the MMCSS Begin functions); its `GetParameters` is asked for
/// the queue and its `Invoke` receives [`AsyncResult::com_ptr`].
///
/// Only the C ABI calls this, yet it stays here: it is the core's COM call
/// protocol (`callback_parameters`: `GetParameters` with both pointers, any
/// failure meaning the defaults, docs/behaviour.md#w31; `invoke_callback`:
/// `Invoke`'s return ignored, #w32), the one the core applies to every
/// stock result's `pCallback`; in `mfwq-ffi` it would need that protocol
/// exported or copied.
///
/// # Safety
/// `callback` is an `IMFAsyncCallback` (a [`ComPtr`] only promises
/// `IUnknown`): the platform calls its `GetParameters` and `Invoke` slots.
pub unsafe fn com_callback(callback: ComPtr) -> crate::object::callback::Callback {
    Arc::new(ComCallback(callback))
}

/// A COM object as a result's state or object ([`State`](crate::State)): the
/// C `GetState`/`GetObject` give it back as the same `IUnknown*`.
///
/// ```
/// use mfwq::{com, AsyncResult};
/// let raw = AsyncResult::new(None, None, None).into_com_raw();
/// // SAFETY: a live COM object; its reference goes to the state.
/// let state = com::com_state(unsafe { com::ComPtr::from_raw_owned(raw) }.unwrap());
/// let result = AsyncResult::new(None, None, Some(state));
/// assert_eq!(result.state_as::<com::ComPtr>().unwrap().as_raw(), raw);
/// ```
pub fn com_state(object: ComPtr) -> crate::object::result::State {
    Arc::new(object)
}

#[cfg(test)]
pub(crate) mod test_objects {
    //! A minimal COM object written in Rust, for tests of the COM paths.
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A counted `IUnknown` whose count tests can read.
    #[repr(C)]
    pub(crate) struct TestUnknown {
        /// A raw pointer, so that a longer vtable that begins with these
        /// slots ([`TestCallback`]'s) keeps its whole extent for callers
        /// that read it as theirs.
        vtbl: *const IUnknownVtbl,
        pub(crate) refs: AtomicU32,
    }

    unsafe extern "system" fn query_interface(
        _this: *mut c_void,
        _riid: *const Guid,
        _out: *mut *mut c_void,
    ) -> i32 {
        HResult::E_NOINTERFACE.0
    }

    unsafe extern "system" fn add_ref(this: *mut c_void) -> u32 {
        // SAFETY: `this` is a TestUnknown.
        unsafe { &*(this as *const TestUnknown) }
            .refs
            .fetch_add(1, Ordering::SeqCst)
            + 1
    }

    unsafe extern "system" fn release(this: *mut c_void) -> u32 {
        // Never freed here: the test owns the box and reads the count after
        // the last release.
        // SAFETY: `this` is a TestUnknown.
        unsafe { &*(this as *const TestUnknown) }
            .refs
            .fetch_sub(1, Ordering::SeqCst)
            - 1
    }

    const VTBL_SLOTS: IUnknownVtbl = IUnknownVtbl {
        query_interface,
        add_ref,
        release,
    };

    static VTBL: IUnknownVtbl = VTBL_SLOTS;

    impl TestUnknown {
        /// An object with one reference, held by the caller; the box must
        /// outlive every reference the test hands out.
        pub(crate) fn new() -> Box<TestUnknown> {
            Box::new(TestUnknown {
                vtbl: &VTBL,
                refs: AtomicU32::new(1),
            })
        }

        pub(crate) fn as_raw(&self) -> *mut c_void {
            self as *const TestUnknown as *mut c_void
        }

        pub(crate) fn count(&self) -> u32 {
            self.refs.load(Ordering::SeqCst)
        }
    }

    /// A counted `IMFAsyncCallback` whose `GetParameters` answers `answer`
    /// (an HRESULT) with `flags` and `queue`, and counts its calls. It
    /// begins with a [`TestUnknown`], whose `AddRef` and `Release` it uses.
    /// `Invoke` counts too, and once [`keep_results`](Self::keep_results) is
    /// set it keeps a reference to each result it is given (the last one).
    #[repr(C)]
    pub(crate) struct TestCallback {
        unknown: TestUnknown,
        pub(crate) asked: AtomicU32,
        pub(crate) invoked: AtomicU32,
        keep: std::sync::atomic::AtomicBool,
        kept: std::sync::atomic::AtomicPtr<c_void>,
        answer: i32,
        flags: u32,
        queue: u32,
    }

    unsafe extern "system" fn get_parameters(
        this: *mut c_void,
        flags: *mut u32,
        queue: *mut u32,
    ) -> i32 {
        // SAFETY: `this` is a TestCallback; the out pointers are the caller's.
        unsafe {
            let callback = &*(this as *const TestCallback);
            callback.asked.fetch_add(1, Ordering::SeqCst);
            if callback.answer >= 0 {
                flags.write(callback.flags);
                queue.write(callback.queue);
            }
            callback.answer
        }
    }

    unsafe extern "system" fn invoke(this: *mut c_void, result: *mut c_void) -> i32 {
        // SAFETY: `this` is a TestCallback.
        let callback = unsafe { &*(this as *const TestCallback) };
        callback.invoked.fetch_add(1, Ordering::SeqCst);
        if callback.keep.load(Ordering::SeqCst) {
            // SAFETY: the platform passes a live IMFAsyncResult.
            unsafe { (unknown_vtbl(result).add_ref)(result) };
            // One kept at a time (a test keeps one put in flight); a second
            // would leak here, and `take_kept` would then leave a reference.
            let _before = callback.kept.swap(result, Ordering::SeqCst);
        }
        HResult::S_OK.0
    }

    static CALLBACK_VTBL: IMFAsyncCallbackVtbl = IMFAsyncCallbackVtbl {
        unknown: VTBL_SLOTS,
        get_parameters,
        invoke,
    };

    impl TestCallback {
        /// A callback with one reference, held by the caller.
        pub(crate) fn new(answer: HResult, flags: u32, queue: u32) -> Box<TestCallback> {
            Box::new(TestCallback {
                // The IUnknown slots at the start of the callback's vtable.
                unknown: TestUnknown {
                    vtbl: std::ptr::from_ref(&CALLBACK_VTBL).cast(),
                    refs: AtomicU32::new(1),
                },
                asked: AtomicU32::new(0),
                invoked: AtomicU32::new(0),
                keep: std::sync::atomic::AtomicBool::new(false),
                kept: std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()),
                answer: answer.0,
                flags,
                queue,
            })
        }

        pub(crate) fn as_raw(&self) -> *mut c_void {
            self as *const TestCallback as *mut c_void
        }

        pub(crate) fn count(&self) -> u32 {
            self.unknown.count()
        }

        /// From now on, `Invoke` keeps a reference to its result.
        #[cfg_attr(mfwq_loom, allow(dead_code))] // used by tests that are not loom models
        pub(crate) fn keep_results(&self) {
            self.keep.store(true, Ordering::SeqCst);
        }

        /// The result `Invoke` kept, with its reference (null: none).
        #[cfg_attr(mfwq_loom, allow(dead_code))] // used by tests that are not loom models
        pub(crate) fn take_kept(&self) -> *mut c_void {
            self.kept.swap(std::ptr::null_mut(), Ordering::SeqCst)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_objects::TestUnknown;
    use super::*;

    #[test]
    fn com_ptr_add_refs_and_releases_exactly_once_each() {
        let object = TestUnknown::new();
        // SAFETY: a live test object.
        let owned = unsafe { ComPtr::from_raw_add_ref(object.as_raw()) }.unwrap();
        assert_eq!(object.count(), 2);
        let second = owned.clone();
        assert_eq!(object.count(), 3);
        drop(owned);
        drop(second);
        assert_eq!(object.count(), 1);
        // SAFETY: NULL is allowed.
        assert!(unsafe { ComPtr::from_raw_add_ref(std::ptr::null_mut()) }.is_none());
    }

    #[test]
    fn a_callback_pointer_adds_one_reference_and_asks_through_the_vtable_it_read() {
        use super::test_objects::TestCallback;
        let answers = TestCallback::new(HResult::S_OK, 1, QueueId::IO.0);
        // SAFETY: a live test callback.
        let callback = unsafe { ComCallbackPtr::from_raw_add_ref(answers.as_raw()) }.unwrap();
        assert_eq!(answers.count(), 2);
        let params = callback.parameters();
        assert_eq!(params.queue, QueueId::IO);
        assert_eq!(params.flags, CallbackFlags::FAST_IO_PROCESSING);
        assert_eq!(answers.asked.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Handed on as a plain reference: still one, released once.
        let plain = callback.into_com_ptr();
        assert_eq!(plain.as_raw(), answers.as_raw());
        assert_eq!(answers.count(), 2);
        drop(plain);
        assert_eq!(answers.count(), 1);

        // E_NOTIMPL (or any failure) means the defaults, whatever the out values.
        let refuses = TestCallback::new(HResult::E_NOTIMPL, 1, QueueId::IO.0);
        // SAFETY: a live test callback.
        let callback = unsafe { ComCallbackPtr::from_raw_add_ref(refuses.as_raw()) }.unwrap();
        assert_eq!(callback.parameters(), CallbackParams::default());
        drop(callback);
        assert_eq!(refuses.count(), 1);
        // SAFETY: NULL is allowed.
        assert!(unsafe { ComCallbackPtr::from_raw_add_ref(std::ptr::null_mut()) }.is_none());
    }

    #[test]
    fn iid_bytes_match_the_headers() {
        assert_eq!(std::mem::size_of::<Guid>(), 16);
        assert_eq!(IID_IMF_ASYNC_RESULT.data1, 0xac6b7889);
        assert_eq!(IID_IMF_ASYNC_CALLBACK.data4[7], 0x7e);
        assert_eq!(std::mem::size_of::<IMFAsyncResultVtbl>(), 64);
        assert_eq!(std::mem::size_of::<IMFAsyncCallbackVtbl>(), 40);
    }
}
