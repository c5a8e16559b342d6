//! Async result objects (`IMFAsyncResult`): callback, state, object, status and
//! event, shared by reference counting.

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::accounting::ResultLock;
use crate::callback::Callback;
use crate::error::{Error, HResult, Result};
use crate::event::Event;
use crate::recycle::{HasPool, LocalBlocks, Pool, Recycled};

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

struct ResultInner {
    callback: Option<Callback>,
    state: Option<State>,
    object: Option<State>,
    status: AtomicI32,
    bytes_transferred: AtomicU32,
    event: Mutex<Option<Event>>,
    _platform_lock: ResultLock,
}

thread_local! {
    static RESULT_BLOCKS: RefCell<LocalBlocks<ResultInner>> = const { RefCell::new(LocalBlocks::new()) };
}

/// Freed result objects' memory, kept for the next ones (see `recycle`).
static RESULT_POOL: Pool<ResultInner> = Pool::new(&RESULT_BLOCKS);

impl HasPool for ResultInner {
    fn pool() -> &'static Pool<ResultInner> {
        &RESULT_POOL
    }
}

impl AsyncResult {
    /// `MFCreateAsyncResult(object, callback, state)`. Works before startup too.
    pub fn new(
        object: Option<State>,
        callback: Option<Callback>,
        state: Option<State>,
    ) -> AsyncResult {
        AsyncResult(Recycled::new(ResultInner {
            callback,
            state,
            object,
            status: AtomicI32::new(HResult::S_OK.0),
            bytes_transferred: AtomicU32::new(0),
            event: Mutex::new(None),
            _platform_lock: ResultLock::acquire(),
        }))
    }

    /// A result for `callback` with an optional state and no object.
    pub fn with_callback(callback: Callback, state: Option<State>) -> AsyncResult {
        AsyncResult::new(None, Some(callback), state)
    }

    /// The callback to invoke (`pCallback`), if any.
    pub fn callback(&self) -> Option<&Callback> {
        self.0.callback.as_ref()
    }

    /// `GetState`: the caller's state, or [`Error::Pointer`] when none is attached.
    pub fn state(&self) -> Result<State> {
        self.0.state.clone().ok_or(Error::Pointer)
    }

    /// `GetStateNoAddRef`: the state without taking a reference.
    pub fn state_ref(&self) -> Option<&State> {
        self.0.state.as_ref()
    }

    /// The state, if there is one and it is a `T`.
    pub fn state_as<T: Any>(&self) -> Option<&T> {
        self.0.state.as_deref()?.downcast_ref()
    }

    /// `GetObject`: the private object, or [`Error::Pointer`] when none is attached.
    pub fn object(&self) -> Result<State> {
        self.0.object.clone().ok_or(Error::Pointer)
    }

    /// The object, if there is one and it is a `T`.
    pub fn object_as<T: Any>(&self) -> Option<&T> {
        self.0.object.as_deref()?.downcast_ref()
    }

    /// `GetStatus`: the operation's status (initially `S_OK`).
    pub fn status(&self) -> HResult {
        HResult(self.0.status.load(Ordering::Acquire))
    }

    /// `SetStatus`.
    pub fn set_status(&self, status: HResult) {
        self.0.status.store(status.0, Ordering::Release);
    }

    /// The status as a `Result`: `Ok` for success codes.
    pub fn status_result(&self) -> Result<()> {
        self.status().ok()
    }

    /// `dwBytesTransferred` (0 unless someone set it).
    pub fn bytes_transferred(&self) -> u32 {
        self.0.bytes_transferred.load(Ordering::Relaxed)
    }

    /// Sets `dwBytesTransferred`.
    pub fn set_bytes_transferred(&self, bytes: u32) {
        self.0.bytes_transferred.store(bytes, Ordering::Relaxed);
    }

    /// `hEvent`: the event set when a callback-less result is dispatched.
    pub fn event(&self) -> Option<Event> {
        self.0.event.lock().clone()
    }

    /// Stores or clears `hEvent`.
    pub fn set_event(&self, event: Option<Event>) {
        *self.0.event.lock() = event;
    }

    /// How many handles to this result exist (the COM reference count).
    pub fn ref_count(&self) -> usize {
        Recycled::ref_count(&self.0)
    }

    /// Whether two handles name the same result object.
    pub fn ptr_eq(&self, other: &AsyncResult) -> bool {
        Recycled::ptr_eq(&self.0, &other.0)
    }

    /// An address that identifies this result object while it lives.
    pub fn as_ptr(&self) -> *const () {
        Recycled::as_ptr(&self.0).cast()
    }
}

impl std::fmt::Debug for AsyncResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ptr", &self.as_ptr())
            .field("has_callback", &self.0.callback.is_some())
            .field("has_state", &self.0.state.is_some())
            .field("has_object", &self.0.object.is_some())
            .field("status", &self.status())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_result_fields_match_windows() {
        let _serial = crate::accounting::test_serial();
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
        let _serial = crate::accounting::test_serial();
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
        let _serial = crate::accounting::test_serial();
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
