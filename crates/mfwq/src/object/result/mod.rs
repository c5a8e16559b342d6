//! Async result objects (`IMFAsyncResult`): callback, state, object, status and
//! event, shared by reference counting.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::{Error, HResult, Result};
use crate::event::Event;
use crate::handle::{self, RawHandle};
use crate::object::accounting::ResultLock;
use crate::object::callback::{effective_params, Callback, CallbackParams};
use crate::object::com::{self, CallbackVtbl, ComPtr, Guid, IMFAsyncResultVtbl, IUnknownVtbl};
use crate::object::pool::{HasPool, LocalBlocks, Pool};
use crate::object::recycle::Recycled;

mod attached;
mod stock;
use attached::{Attached, Attachment, AttachmentRef, Extra};
use stock::{is_stock, STOCK_VTBL};

/// A state or object attached to a result (`IUnknown*` in C): any shared value.
pub type State = Arc<dyn Any + Send + Sync>;

/// An asynchronous result: the unit of work the queues carry.
///
/// It holds the callback to invoke (may be `None` when an [`Event`] is to be set
/// instead), the caller's *state*, the implementer's private *object* and a
/// status. Clones share one object, like `AddRef`; the platform holds its own
/// clone while an item is queued and drops it as soon as `invoke` returns.
///
/// Every live result holds one platform lock, with the accounting Windows shows
/// (see [`platform_lock_count`](crate::platform_lock_count)).
///
/// The same object is the stock COM result of the C ABI (`MFCreateAsyncResult`):
/// its memory begins with the `MFASYNCRESULT` layout (vtable, `OVERLAPPED`,
/// `pCallback`, `hrStatusResult`, `dwBytesTransferred`, `hEvent`), and
/// [`com_ptr`](Self::com_ptr) is its `IMFAsyncResult*`. A caller's own COM
/// result object is carried by a result that wraps it
/// ([`from_com_result`](Self::from_com_result)); its fields are then read from
/// the caller's object by offset.
///
/// ```
/// use std::sync::Arc;
/// use mfwq::{AsyncResult, Error, HResult};
///
/// let result = AsyncResult::new(None, None, Some(Arc::new(42u32)));
/// assert_eq!(result.state_as::<u32>(), Some(&42));
/// assert_eq!(result.object().err(), Some(Error::Pointer));
/// assert_eq!(result.status(), HResult::S_OK);
/// result.set_status(HResult::E_FAIL);
/// assert_eq!(result.status(), HResult::E_FAIL);
/// ```
#[derive(Clone)]
pub struct AsyncResult(Recycled<ResultInner>);

/// The `MFASYNCRESULT` image (64 bytes, docs/behaviour.md#layout): the start of
/// every result object, ours and callers'. Fields a C caller may write at any
/// time are atomics.
#[repr(C)]
struct ResultImage {
    vtbl: *const IMFAsyncResultVtbl,
    overlapped: [AtomicUsize; 4],
    callback: AtomicPtr<c_void>,
    status: AtomicI32,
    bytes_transferred: AtomicU32,
    event: AtomicUsize,
}

// SAFETY: `vtbl` points at an immutable static table; the rest are atomics.
unsafe impl Send for ResultImage {}
// SAFETY: as above.
unsafe impl Sync for ResultImage {}

const _: () = {
    assert!(std::mem::size_of::<ResultImage>() == 64);
    assert!(std::mem::offset_of!(ResultImage, callback) == 40);
    assert!(std::mem::offset_of!(ResultImage, status) == 48);
    assert!(std::mem::offset_of!(ResultImage, bytes_transferred) == 52);
    assert!(std::mem::offset_of!(ResultImage, event) == 56);
};

/// A result object's fields. Every queued `put_work_item` holds one, so it is
/// kept small (docs/performance.md, "Memory per queued item"): 80 bytes, 88
/// with `Recycled`'s count, carved from a slab (`slab.rs`). Everything but
/// the image shares two words (`attached.rs`); the platform lock is not a
/// field: every result holds one except a wrapper of a caller's result
/// (`foreign`), which holds none.
#[repr(C)]
struct ResultInner {
    /// First, so that the object's address is an `MFASYNCRESULT*`. For a COM
    /// callback, `image.callback` owns one reference to it.
    image: ResultImage,
    /// The Rust callback (never set together with a COM one), the state, the
    /// object and a wrapped caller's result.
    attached: Attached,
}

// 8 bytes of `Recycled`'s count before it: a result object is 88 bytes.
const _: () = {
    assert!(std::mem::size_of::<Attached>() == 16);
    assert!(std::mem::size_of::<ResultInner>() == 80);
};

impl ResultInner {
    /// A result of ours (not a wrapper), with its platform lock.
    #[inline]
    fn new(
        image: ResultImage,
        callback: Option<Callback>,
        state: Option<Attachment>,
        object: Option<Attachment>,
    ) -> ResultInner {
        ResultLock::acquire().into_held();
        ResultInner {
            image,
            attached: Attached::new(callback, state, object, None),
        }
    }

    /// A wrapper of a caller's result: no platform lock.
    fn wrapping(foreign: ComPtr) -> ResultInner {
        ResultInner {
            image: fresh_image(std::ptr::null_mut()),
            attached: Attached::new(None, None, None, Some(foreign)),
        }
    }

    #[inline]
    fn callback(&self) -> Option<&Callback> {
        self.attached.callback()
    }

    #[inline]
    fn foreign(&self) -> Option<&ComPtr> {
        self.attached.foreign()
    }

    #[inline]
    fn state(&self) -> Option<AttachmentRef<'_>> {
        self.attached.state()
    }

    #[inline]
    fn object(&self) -> Option<AttachmentRef<'_>> {
        self.attached.object()
    }
}

impl Drop for ResultInner {
    fn drop(&mut self) {
        // User values one at a time, each caught on its own: if the callback's
        // `Drop` panicked and the state were then dropped by the unwinding drop
        // glue, a second panic would abort the process.
        let Extra {
            callback,
            state,
            object,
            foreign,
        } = self.attached.take();
        crate::panic::drop_quietly(callback);
        crate::panic::drop_quietly(state);
        crate::panic::drop_quietly(object);
        let callback = *self.image.callback.get_mut();
        // SAFETY: the image owns one reference to a COM callback it holds.
        drop(unsafe { ComPtr::from_raw_owned(callback) });
        // A stock result closes `hEvent` on its final release (docs/behaviour.md#w22).
        let event = *self.image.event.get_mut();
        if event != 0 {
            handle::close(event);
        }
        // Last, as when they were fields: the wrapped result, then the lock
        // (held by every result but a wrapper).
        match foreign {
            Some(foreign) => drop(foreign),
            None => ResultLock::release_held(),
        }
    }
}

thread_local! {
    static RESULT_BLOCKS: RefCell<LocalBlocks<ResultInner>> = const { RefCell::new(LocalBlocks::new()) };
}

#[cfg(test)]
thread_local! {
    /// Callbacks this thread released through a carried vtable
    /// ([`AsyncResult::release_through`]'s short way), for tests.
    static RELEASED_THROUGH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many callbacks this thread has released through a carried vtable.
#[cfg(test)]
#[cfg_attr(mfwq_loom, allow(dead_code))] // the tests that ask are not loom models
pub(crate) fn released_through_count() -> usize {
    RELEASED_THROUGH.with(std::cell::Cell::get)
}

/// Freed result objects' memory, kept for the next ones (see `recycle`).
static RESULT_POOL: Pool<ResultInner> = Pool::new(&RESULT_BLOCKS);

impl HasPool for ResultInner {
    const KIND: &'static str = "IMFAsyncResult";

    fn pool() -> &'static Pool<ResultInner> {
        &RESULT_POOL
    }

    /// Checked mode: a freed result's `IMFAsyncResult*` calls abort.
    unsafe fn poison(value: *mut ResultInner) {
        // SAFETY: the vtable pointer is the first word of the freed memory.
        unsafe {
            (&raw mut (*value).image.vtbl).write(&crate::object::checked::POISONED_RESULT_VTBL)
        };
    }
}

fn fresh_image(callback: *mut c_void) -> ResultImage {
    ResultImage {
        vtbl: &STOCK_VTBL,
        overlapped: Default::default(),
        callback: AtomicPtr::new(callback),
        status: AtomicI32::new(HResult::S_OK.0),
        bytes_transferred: AtomicU32::new(0),
        event: AtomicUsize::new(0),
    }
}

impl AsyncResult {
    /// `MFCreateAsyncResult(object, callback, state)`. Works before startup too.
    pub fn new(
        object: Option<State>,
        callback: Option<Callback>,
        state: Option<State>,
    ) -> AsyncResult {
        AsyncResult(Recycled::new(ResultInner::new(
            fresh_image(std::ptr::null_mut()),
            callback,
            state.map(Attachment::Rust),
            object.map(Attachment::Rust),
        )))
    }

    /// A result for `callback` with an optional state and no object.
    pub fn with_callback(callback: Callback, state: Option<State>) -> AsyncResult {
        AsyncResult::new(None, Some(callback), state)
    }

    /// `MFCreateAsyncResult` with COM objects: the stock result of the C ABI.
    /// The references are adopted (the caller has `AddRef`ed them, as Windows
    /// does on creation); `pCallback` is the given callback, the other
    /// `MFASYNCRESULT` fields start zeroed (docs/behaviour.md#w18).
    ///
    /// ```
    /// use mfwq::{AsyncResult, HResult};
    /// // SAFETY: no callback is given.
    /// let result = unsafe { AsyncResult::from_com(None, None, None) };
    /// let raw = result.com_ptr() as *const u8;
    /// // SAFETY: the MFASYNCRESULT image is the first 64 bytes of the object.
    /// let status = unsafe { *(raw.add(48) as *const i32) }; // hrStatusResult
    /// assert_eq!(status, HResult::S_OK.0);
    /// result.set_status(HResult::E_FAIL);
    /// assert_eq!(unsafe { *(raw.add(48) as *const i32) }, HResult::E_FAIL.0);
    /// ```
    ///
    /// # Safety
    /// `callback`, if any, is an `IMFAsyncCallback` (a [`ComPtr`] only
    /// promises `IUnknown`): the platform calls its `GetParameters` and
    /// `Invoke` slots.
    // Hidden: the C ABI's constructor (`MFCreateAsyncResult` with COM pointers); Rust code uses `new`.
    #[doc(hidden)]
    pub unsafe fn from_com(
        object: Option<ComPtr>,
        callback: Option<ComPtr>,
        state: Option<ComPtr>,
    ) -> AsyncResult {
        AsyncResult(Recycled::new(ResultInner::new(
            fresh_image(callback.map_or(std::ptr::null_mut(), ComPtr::into_raw)),
            None,
            state.map(Attachment::Com),
            object.map(Attachment::Com),
        )))
    }

    /// [`from_com`](Self::from_com) handed straight to a C caller as its
    /// `IMFAsyncResult*`, with the one reference: `MFCreateAsyncResult`'s out
    /// value. The same as `from_com` then [`into_com_raw`](Self::into_com_raw),
    /// except that a result made here wraps nothing, so its fields are not
    /// read back to find out: a read of a block written a few instructions
    /// before stalled the creating thread (docs/performance.md, "The C ABI's put").
    ///
    /// ```
    /// use mfwq::AsyncResult;
    /// // SAFETY: no callback is given.
    /// let raw = unsafe { AsyncResult::create_com_raw(None, None, None) };
    /// // SAFETY: a live stock result; its one reference is adopted.
    /// let result = unsafe { AsyncResult::from_com_result(raw) }.unwrap();
    /// assert_eq!(result.ref_count(), 2);
    /// # drop(result);
    /// # // SAFETY: the caller's reference, given back.
    /// # drop(unsafe { mfwq::com::ComPtr::from_raw_owned(raw) });
    /// ```
    ///
    /// # Safety
    /// As [`from_com`](Self::from_com).
    // Hidden: the C ABI's `MFCreateAsyncResult`; Rust code uses `new`.
    #[doc(hidden)]
    pub unsafe fn create_com_raw(
        object: Option<ComPtr>,
        callback: Option<ComPtr>,
        state: Option<ComPtr>,
    ) -> *mut c_void {
        // SAFETY: forwarded caller contract.
        let result = unsafe { AsyncResult::from_com(object, callback, state) };
        Recycled::into_ptr(result.0) as *mut c_void
    }

    /// The result behind an incoming `IMFAsyncResult*`: a stock result is used
    /// as itself (one more reference); any other object is treated as the
    /// caller's own result that begins with `MFASYNCRESULT` and is wrapped,
    /// holding one reference to it. `None` for NULL.
    ///
    /// A wrapper takes no platform lock: Windows' internal work items do not
    /// either; only result objects count (docs/behaviour.md#w13).
    ///
    /// # Safety
    /// `result` is NULL or a live COM object implementing `IMFAsyncResult`
    /// whose memory begins with the `MFASYNCRESULT` layout.
    // Hidden: adopts an incoming C `IMFAsyncResult*`; only the C ABI has one.
    #[doc(hidden)]
    pub unsafe fn from_com_result(result: *mut c_void) -> Option<AsyncResult> {
        if result.is_null() {
            return None;
        }
        // SAFETY: a COM object's first word is its vtable pointer.
        if unsafe { is_stock(result) } {
            // SAFETY: stock results are ResultInner values, live while the caller holds one.
            let counted = unsafe { Recycled::add_ref_ptr(result as *const ResultInner) };
            debug_assert!(counted > 1);
            // SAFETY: the reference just added is adopted here.
            return Some(AsyncResult(unsafe {
                Recycled::from_ptr(result as *const ResultInner)
            }));
        }
        // SAFETY: the caller promises a live COM object.
        let foreign = unsafe { ComPtr::from_raw_add_ref(result) }?;
        Some(AsyncResult(Recycled::new(ResultInner::wrapping(foreign))))
    }

    /// Gives this reference to a C caller as an `IMFAsyncResult*` (for a
    /// wrapped caller's result: one reference to that object).
    // Hidden: hands a reference out as a raw C pointer, for the C ABI only.
    #[doc(hidden)]
    pub fn into_com_raw(self) -> *mut c_void {
        match self.0.foreign() {
            Some(foreign) => foreign.clone().into_raw(),
            None => Recycled::into_ptr(self.0) as *mut c_void,
        }
    }

    /// The `IMFAsyncResult*` a COM callback's `Invoke` receives: this object,
    /// or the caller's own object it wraps. No reference is taken.
    // Hidden: the raw pointer a C callback receives; Rust callbacks get `&AsyncResult`.
    #[doc(hidden)]
    #[inline]
    pub fn com_ptr(&self) -> *mut c_void {
        match self.0.foreign() {
            Some(foreign) => foreign.as_raw(),
            None => Recycled::as_ptr(&self.0) as *mut c_void,
        }
    }

    /// The `MFASYNCRESULT` fields this result is read through: its own, or
    /// those of the caller's object it wraps.
    #[inline]
    fn image(&self) -> &ResultImage {
        match self.0.foreign() {
            // SAFETY: a wrapped result begins with the MFASYNCRESULT layout
            // (promised to `from_com_result`) and is kept alive by `foreign`.
            Some(foreign) => unsafe { &*(foreign.as_raw() as *const ResultImage) },
            None => &self.0.image,
        }
    }

    /// The Rust callback to invoke, if any. A COM callback (`pCallback`) is
    /// not a Rust one: see [`has_callback`](Self::has_callback).
    pub fn callback(&self) -> Option<&Callback> {
        self.0.callback()
    }

    /// Whether the result names a callback, Rust or COM.
    pub fn has_callback(&self) -> bool {
        self.0.callback().is_some() || !self.image().callback.load(Ordering::Acquire).is_null()
    }

    /// `GetState`: the caller's state, or [`Error::Pointer`] when none is attached.
    /// A COM state comes back as a [`ComPtr`] value.
    pub fn state(&self) -> Result<State> {
        self.state_attachment()
            .map(|state| state.as_ref().to_state())
            .ok_or(Error::Pointer)
    }

    /// `GetStateNoAddRef`: the state without taking a reference (Rust states only).
    pub fn state_ref(&self) -> Option<&State> {
        match self.0.state()? {
            AttachmentRef::Rust(state) => Some(state),
            AttachmentRef::Com(_) => None,
        }
    }

    /// The state, if there is one and it is a `T` (a COM state is a [`ComPtr`]).
    /// A wrapped caller's result has no state of its own here: use
    /// [`state`](Self::state), which asks the caller's object.
    pub fn state_as<T: Any>(&self) -> Option<&T> {
        self.0.state()?.downcast()
    }

    /// `GetObject`: the private object, or [`Error::Pointer`] when none is attached.
    pub fn object(&self) -> Result<State> {
        self.object_attachment()
            .map(|object| object.as_ref().to_state())
            .ok_or(Error::Pointer)
    }

    /// The object, if there is one and it is a `T` (a COM object is a [`ComPtr`]).
    pub fn object_as<T: Any>(&self) -> Option<&T> {
        self.0.object()?.downcast()
    }

    /// The state, also from a wrapped caller's result (through its `GetState`).
    fn state_attachment(&self) -> Option<Attachment> {
        match self.0.foreign() {
            // SAFETY: the wrapped object is a live IMFAsyncResult.
            Some(foreign) => unsafe { foreign_get(foreign, |vtbl| vtbl.get_state) },
            None => self.0.state().map(AttachmentRef::to_owned),
        }
    }

    /// The object, also from a wrapped caller's result (through its `GetObject`).
    fn object_attachment(&self) -> Option<Attachment> {
        match self.0.foreign() {
            // SAFETY: the wrapped object is a live IMFAsyncResult.
            Some(foreign) => unsafe { foreign_get(foreign, |vtbl| vtbl.get_object) },
            None => self.0.object().map(AttachmentRef::to_owned),
        }
    }

    /// `GetStatus`: the operation's status (initially `S_OK`), read from the
    /// `hrStatusResult` field, also of a wrapped caller's result (the
    /// platform reads that field by offset, as Windows does).
    pub fn status(&self) -> HResult {
        HResult(self.image().status.load(Ordering::Acquire))
    }

    /// `SetStatus`. For a wrapped caller's result this calls its own
    /// `SetStatus` (which, like Microsoft's custom-result sample, stores
    /// `hrStatusResult`), so an object that keeps more state sees the call.
    pub fn set_status(&self, status: HResult) {
        match self.0.foreign() {
            Some(foreign) => {
                // SAFETY: the wrapped object is a live IMFAsyncResult.
                let _ = unsafe {
                    (foreign.vtbl::<IMFAsyncResultVtbl>().set_status)(foreign.as_raw(), status.0)
                };
            }
            None => self.0.image.status.store(status.0, Ordering::Release),
        }
    }

    /// The status as a `Result`: `Ok` for success codes.
    pub fn status_result(&self) -> Result<()> {
        self.status().ok()
    }

    /// `dwBytesTransferred` (0 unless someone set it).
    pub fn bytes_transferred(&self) -> u32 {
        self.image().bytes_transferred.load(Ordering::Relaxed)
    }

    /// Sets `dwBytesTransferred`.
    pub fn set_bytes_transferred(&self, bytes: u32) {
        self.image()
            .bytes_transferred
            .store(bytes, Ordering::Relaxed);
    }

    /// `hEvent`: the event set when a callback-less result is dispatched.
    pub fn event(&self) -> Option<Event> {
        handle::event(self.event_handle())
    }

    /// Stores or clears `hEvent`. The result keeps its own handle to the event
    /// and closes it on its final release, as a stock result closes `hEvent`.
    pub fn set_event(&self, event: Option<Event>) {
        let new = event.map_or(0, handle::open);
        let old = self.image().event.swap(new, Ordering::AcqRel);
        if old != 0 {
            handle::close(old);
        }
    }

    /// The raw `hEvent` handle value (0 for none).
    // Hidden: the raw `HANDLE` value for the C ABI; Rust code uses `event`.
    #[doc(hidden)]
    pub fn event_handle(&self) -> RawHandle {
        self.image().event.load(Ordering::Acquire)
    }

    /// How many handles to this result exist (the COM reference count). For a
    /// result wrapping a caller's own COM object this is the wrapper's count,
    /// not the object's (which only its `AddRef`/`Release` know).
    pub fn ref_count(&self) -> usize {
        Recycled::ref_count(&self.0)
    }

    /// Whether two handles name the same result object.
    pub fn ptr_eq(&self, other: &AsyncResult) -> bool {
        self.com_ptr() == other.com_ptr()
    }

    /// An address that identifies this result object while it lives.
    pub fn as_ptr(&self) -> *const () {
        self.com_ptr() as *const ()
    }

    /// The callback's address, for reports: the `IMFAsyncCallback*` of a COM
    /// callback, the data pointer of a Rust one; 0 without a callback.
    pub(crate) fn callback_address(&self) -> usize {
        match self.0.callback() {
            Some(callback) => Arc::as_ptr(callback).cast::<()>() as usize,
            None => self.image().callback.load(Ordering::Relaxed) as usize,
        }
    }

    /// What the dispatcher needs from the callback: its parameters (the COM
    /// callback's `GetParameters`, called with non-NULL pointers), or `None`
    /// when the result has no callback.
    #[inline]
    pub(crate) fn dispatch_params(&self) -> Option<CallbackParams> {
        if let Some(callback) = self.0.callback() {
            return Some(effective_params(&**callback));
        }
        let callback = self.image().callback.load(Ordering::Acquire);
        if callback.is_null() {
            return None;
        }
        // SAFETY: `pCallback` holds a live IMFAsyncCallback while the result lives.
        Some(unsafe { com::callback_parameters(callback) })
    }

    /// The parameters this result is dispatched with: its callback's, or the
    /// defaults when it has no callback but an event to set (docs/behaviour.md#d6);
    /// `None` with neither, which the calls report as `InvalidArg`.
    #[inline]
    pub(crate) fn invoke_params(&self) -> Option<CallbackParams> {
        match self.dispatch_params() {
            Some(params) => Some(params),
            None if self.event().is_some() => Some(CallbackParams::default()),
            None => None,
        }
    }

    /// Invokes this result's callback with `passed` (itself, or the reply
    /// result of reply mode). `false` when there is no callback.
    pub(crate) fn invoke_as(&self, passed: &AsyncResult) -> bool {
        if let Some(callback) = self.0.callback() {
            callback.invoke(passed);
            return true;
        }
        let callback = self.image().callback.load(Ordering::Acquire);
        if callback.is_null() {
            return false;
        }
        // SAFETY: `pCallback` is live while this result is, and `passed` is alive.
        unsafe { com::invoke_callback(callback, passed.com_ptr()) };
        true
    }

    /// [`run`](Self::run) for a result the C ABI's put made around a COM
    /// callback, with `Invoke` called through `vtbl`, the callback's vtable
    /// as the putting thread read it, rather than through the callback's
    /// first word: a C or C++ COM object keeps its reference count on that
    /// cache line, which the putting thread writes for the next item
    /// (docs/performance.md, "The C ABI's remaining gap"). Returns the
    /// callback invoked through `vtbl`, for
    /// [`release_through`](Self::release_through); null when the result ran
    /// the ordinary way instead (no COM callback, or a wrapped result).
    ///
    /// # Safety
    /// This result was made with a COM callback whose vtable is `vtbl`, and
    /// nothing has replaced it since: no caller has had the result's pointer
    /// before its `Invoke`.
    #[inline]
    pub(crate) unsafe fn run_com_through(&self, vtbl: CallbackVtbl) -> *mut c_void {
        let callback = self.0.image.callback.load(Ordering::Acquire);
        if callback.is_null() || self.0.foreign().is_some() {
            self.run();
            return std::ptr::null_mut();
        }
        // Checked in debug builds, and fatal: a panic here would be caught
        // and reported as the callback's own, with the callback not invoked.
        // SAFETY: a live COM object (the image's reference keeps it).
        #[cfg(debug_assertions)]
        if unsafe { CallbackVtbl::of(callback) } != vtbl {
            eprintln!("mfwq: the vtable carried with a C put is not its callback's");
            std::process::abort();
        }
        // SAFETY: the callback is the one `vtbl` was read from (the caller's
        // promise), kept alive by the image's reference; this result is alive.
        unsafe { vtbl.invoke(callback, self.com_ptr()) };
        callback
    }

    /// Drops this handle after [`run_com_through`](Self::run_com_through)
    /// invoked `callback`. When this is the last handle, nothing else is
    /// attached and the image still holds `callback`, the callback is
    /// released first through `vtbl`: what the final release does first
    /// anyway (the attachments, dropped before it, are none), without
    /// reading the callback's first word.
    ///
    /// # Safety
    /// As for `run_com_through`, with the `callback` it returned.
    #[inline]
    pub(crate) unsafe fn release_through(self, callback: *mut c_void, vtbl: CallbackVtbl) {
        if !callback.is_null()
            && Recycled::ref_count(&self.0) == 1
            && self.0.attached.is_none()
            && self
                .0
                .image
                .callback
                .compare_exchange(
                    callback,
                    std::ptr::null_mut(),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            // SAFETY: the image's reference, taken out of it just above, so
            // that the final release below does not release it again; the
            // vtable is the callback's (the caller's promise).
            unsafe { vtbl.release(callback) };
            #[cfg(test)]
            RELEASED_THROUGH.with(|count| count.set(count.get() + 1));
        }
        drop(self);
    }

    /// What a worker does with the result: invoke the callback, or set the
    /// event when there is none (docs/behaviour.md#d6).
    pub(crate) fn run(&self) {
        if !self.invoke_as(self) {
            if let Some(event) = self.event() {
                event.set();
            }
        }
    }

    /// The reply result of reply mode: `token` as its callback, this result's
    /// state, object and status.
    pub(crate) fn reply_result(&self, token: Callback) -> AsyncResult {
        let reply = AsyncResult(Recycled::new(ResultInner::new(
            fresh_image(std::ptr::null_mut()),
            Some(token),
            self.state_attachment(),
            self.object_attachment(),
        )));
        reply.set_status(self.status());
        reply
    }
}

/// Calls `GetState`/`GetObject` on a caller's result object.
///
/// # Safety
/// `foreign` is a live `IMFAsyncResult`.
unsafe fn foreign_get(
    foreign: &ComPtr,
    method: impl FnOnce(
        &IMFAsyncResultVtbl,
    ) -> unsafe extern "system" fn(*mut c_void, *mut *mut c_void) -> i32,
) -> Option<Attachment> {
    let mut out = std::ptr::null_mut();
    // SAFETY: as promised; `out` is a valid local.
    let hr = unsafe { method(foreign.vtbl::<IMFAsyncResultVtbl>())(foreign.as_raw(), &mut out) };
    if HResult(hr).is_err() {
        return None;
    }
    // SAFETY: a successful getter hands over one reference (or NULL).
    unsafe { ComPtr::from_raw_owned(out) }.map(Attachment::Com)
}

impl std::fmt::Debug for AsyncResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ptr", &self.as_ptr())
            .field("has_callback", &self.has_callback())
            .field("has_state", &self.0.state().is_some())
            .field("has_object", &self.0.object().is_some())
            .field("foreign", &self.0.foreign().is_some())
            .field("status", &self.status())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::com::test_objects::TestUnknown;

    /// The stock vtable of a COM result pointer.
    fn vtbl(result: *mut c_void) -> &'static IMFAsyncResultVtbl {
        // SAFETY: a live stock result.
        unsafe { &**(result as *const *const IMFAsyncResultVtbl) }
    }

    #[test]
    fn stock_com_result_has_the_observed_layout_and_reference_rules() {
        let _serial = crate::object::accounting::test_serial();
        let (object, callback, state) =
            (TestUnknown::new(), TestUnknown::new(), TestUnknown::new());
        // SAFETY: live test objects; the result takes one reference to each.
        let result = unsafe {
            AsyncResult::from_com(
                ComPtr::from_raw_add_ref(object.as_raw()),
                ComPtr::from_raw_add_ref(callback.as_raw()),
                ComPtr::from_raw_add_ref(state.as_raw()),
            )
        };
        assert_eq!((object.count(), callback.count(), state.count()), (2, 2, 2));
        let raw = result.into_com_raw();
        let image = raw as *const u8;
        // SAFETY: the MFASYNCRESULT image is 64 readable bytes at the object's address.
        unsafe {
            assert_eq!(
                *(image.add(40) as *const *mut c_void),
                callback.as_raw(),
                "pCallback"
            );
            assert_eq!(*(image.add(48) as *const i32), 0, "hrStatusResult");
            assert_eq!(*(image.add(52) as *const u32), 0, "dwBytesTransferred");
            assert_eq!(*(image.add(56) as *const usize), 0, "hEvent");
            // docs/behaviour.md#w21: GetStatus reads the field a caller wrote.
            (*(image.add(48) as *const AtomicI32)).store(123, Ordering::SeqCst);
        }
        let vtbl = vtbl(raw);
        // SAFETY: calls on a live stock result with valid arguments.
        unsafe {
            assert_eq!((vtbl.get_status)(raw), 123);
            assert_eq!((vtbl.set_status)(raw, HResult::E_FAIL.0), 0);
            assert_eq!((vtbl.get_status)(raw), HResult::E_FAIL.0);
            let mut out = std::ptr::null_mut();
            assert_eq!((vtbl.get_state)(raw, &mut out), 0);
            assert_eq!(out, state.as_raw());
            assert_eq!(state.count(), 3, "GetState AddRefs");
            drop(ComPtr::from_raw_owned(out));
            assert_eq!((vtbl.get_state_no_add_ref)(raw), state.as_raw());
            assert_eq!(state.count(), 2);
            assert_eq!(
                (vtbl.get_object)(raw, std::ptr::null_mut()),
                HResult::E_POINTER.0
            );
            let mut same = std::ptr::null_mut();
            assert_eq!(
                (vtbl.unknown.query_interface)(raw, &com::IID_IMF_ASYNC_RESULT, &mut same),
                0
            );
            assert_eq!(same, raw);
            assert_eq!(
                (vtbl.unknown.query_interface)(raw, &com::IID_IMF_ASYNC_CALLBACK, &mut same),
                HResult::E_NOINTERFACE.0
            );
            assert!(same.is_null());
            assert_eq!((vtbl.unknown.add_ref)(raw), 3);
            assert_eq!((vtbl.unknown.release)(raw), 2);
            // The platform's view of the same object.
            let again = AsyncResult::from_com_result(raw).unwrap();
            assert_eq!(again.com_ptr(), raw);
            assert_eq!(again.status(), HResult::E_FAIL);
            assert_eq!(again.ref_count(), 3);
            drop(again);
            // An event stored in hEvent is closed by the final release (docs/behaviour.md#w22).
            let event = handle::open(Event::manual_reset(false));
            (*(image.add(56) as *const AtomicUsize)).store(event, Ordering::SeqCst);
            assert_eq!((vtbl.unknown.release)(raw), 1);
            assert_eq!((vtbl.unknown.release)(raw), 0, "the last Release returns 0");
            assert!(handle::event(event).is_none(), "hEvent closed");
        }
        assert_eq!((object.count(), callback.count(), state.count()), (1, 1, 1));
    }

    #[test]
    fn stock_getters_with_nothing_attached_leave_the_out_value_alone() {
        let _serial = crate::object::accounting::test_serial();
        // SAFETY: no callback.
        let raw = unsafe { AsyncResult::from_com(None, None, None) }.into_com_raw();
        let vtbl = vtbl(raw);
        let sentinel = 0x1234usize as *mut c_void;
        let mut out = sentinel;
        // SAFETY: calls on a live stock result with valid arguments.
        unsafe {
            assert_eq!((vtbl.get_state)(raw, &mut out), HResult::E_POINTER.0);
            assert_eq!((vtbl.get_object)(raw, &mut out), HResult::E_POINTER.0);
            assert_eq!(out, sentinel);
            assert!((vtbl.get_state_no_add_ref)(raw).is_null());
            assert_eq!(
                (vtbl.unknown.query_interface)(raw, &com::IID_IUNKNOWN, std::ptr::null_mut()),
                HResult::E_POINTER.0
            );
            assert_eq!((vtbl.unknown.release)(raw), 0);
        }
    }

    #[test]
    fn fresh_result_fields_match_windows() {
        let _serial = crate::object::accounting::test_serial();
        let result = AsyncResult::new(None, None, None);
        assert!(result.callback().is_none());
        assert_eq!(result.status(), HResult::S_OK);
        assert_eq!(result.bytes_transferred(), 0);
        assert!(result.event().is_none());
        assert_eq!(result.state().err(), Some(Error::Pointer));
        assert!(result.state_ref().is_none());
        assert_eq!(result.object().err(), Some(Error::Pointer));
    }

    #[test]
    fn state_and_object_are_the_same_shared_values() {
        let _serial = crate::object::accounting::test_serial();
        let state: State = Arc::new(String::from("state"));
        let object: State = Arc::new(7i64);
        let result = AsyncResult::new(Some(object.clone()), None, Some(state.clone()));
        assert!(Arc::ptr_eq(&result.state().unwrap(), &state));
        assert!(Arc::ptr_eq(result.state_ref().unwrap(), &state));
        assert!(Arc::ptr_eq(&result.object().unwrap(), &object));
        assert_eq!(result.object_as::<i64>(), Some(&7));
        assert_eq!(result.state_as::<i64>(), None);
    }

    #[test]
    fn dropping_the_last_handle_releases_state_object_and_inner_results() {
        let _serial = crate::object::accounting::test_serial();
        let inner = AsyncResult::new(None, None, None);
        let outer = AsyncResult::new(
            Some(Arc::new(inner.clone())),
            None,
            Some(Arc::new(inner.clone())),
        );
        assert_eq!(inner.ref_count(), 3);
        drop(outer);
        assert_eq!(inner.ref_count(), 1);
    }
}
