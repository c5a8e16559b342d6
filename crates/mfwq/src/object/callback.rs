//! Callbacks: the `IMFAsyncCallback` of the platform, as a trait that closures
//! also implement.

use std::sync::Arc;

use crate::ids::{CallbackFlags, QueueId};
use crate::object::result::AsyncResult;

/// What a callback tells the dispatcher (`GetParameters`): its flags and the
/// queue it wants to be invoked on.
///
/// ```
/// use mfwq::{CallbackFlags, CallbackParams, QueueId};
/// let defaults = CallbackParams::default();
/// assert_eq!(defaults.queue, QueueId::STANDARD);
/// assert_eq!(defaults.flags, CallbackFlags::empty());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackParams {
    /// `MFASYNC_*_CALLBACK` flags.
    pub flags: CallbackFlags,
    /// The queue invoke-callback routes to.
    pub queue: QueueId,
}

impl Default for CallbackParams {
    /// What `E_NOTIMPL` from `GetParameters` means: flags 0, the STANDARD queue.
    fn default() -> CallbackParams {
        CallbackParams {
            flags: CallbackFlags::empty(),
            queue: QueueId::STANDARD,
        }
    }
}

impl CallbackParams {
    /// Parameters naming `queue`, with no flags.
    pub fn on(queue: QueueId) -> CallbackParams {
        CallbackParams {
            flags: CallbackFlags::empty(),
            queue,
        }
    }
}

/// An asynchronous callback (`IMFAsyncCallback`).
///
/// `invoke` runs on a work-queue thread, never inline on the thread that put or
/// invoked the item, so it must be thread-safe. Every platform call may be made
/// from inside `invoke`. A panic inside `invoke` is caught and reported; the
/// worker survives (see [`set_panic_hook`](crate::set_panic_hook)).
///
/// Any `Fn(&AsyncResult)` closure is a callback with the default parameters:
///
/// ```
/// use mfwq::{AsyncCallback, AsyncResult, CallbackParams, QueueId};
///
/// struct Decoder;
/// impl AsyncCallback for Decoder {
///     fn parameters(&self) -> Option<CallbackParams> {
///         Some(CallbackParams::on(QueueId::MULTITHREADED))
///     }
///     fn invoke(&self, result: &AsyncResult) {
///         let _status = result.status();
///     }
/// }
/// let closure = |_: &AsyncResult| {};
/// assert_eq!(closure.parameters(), None);
/// assert_eq!(Decoder.parameters().unwrap().queue, QueueId::MULTITHREADED);
/// ```
pub trait AsyncCallback: Send + Sync + 'static {
    /// Flags and queue for the dispatcher. `None` is `E_NOTIMPL`: use the defaults
    /// (flags 0, STANDARD), see [`CallbackParams::default`].
    fn parameters(&self) -> Option<CallbackParams> {
        None
    }

    /// Does the work, or receives the completion of an asynchronous operation.
    fn invoke(&self, result: &AsyncResult);
}

impl<F> AsyncCallback for F
where
    F: Fn(&AsyncResult) + Send + Sync + 'static,
{
    fn invoke(&self, result: &AsyncResult) {
        self(result)
    }
}

/// A shared callback, as results and work items hold it.
pub type Callback = Arc<dyn AsyncCallback>;

/// Wraps a closure as a [`Callback`] with the default parameters.
///
/// ```
/// let cb = mfwq::callback(|_result| println!("invoked"));
/// assert!(cb.parameters().is_none());
/// ```
pub fn callback<F>(invoke: F) -> Callback
where
    F: Fn(&AsyncResult) + Send + Sync + 'static,
{
    Arc::new(invoke)
}

/// Wraps a closure as a [`Callback`] whose parameters name `queue` (and no flags),
/// so that [`invoke_callback`](crate::invoke_callback) routes it there.
///
/// ```
/// use mfwq::QueueId;
/// let cb = mfwq::callback_on(QueueId::MULTITHREADED, |_result| {});
/// assert_eq!(cb.parameters().unwrap().queue, QueueId::MULTITHREADED);
/// ```
pub fn callback_on<F>(queue: QueueId, invoke: F) -> Callback
where
    F: Fn(&AsyncResult) + Send + Sync + 'static,
{
    callback_with(CallbackParams::on(queue), invoke)
}

/// Wraps a closure as a [`Callback`] that reports `params`.
///
/// ```
/// use mfwq::{CallbackFlags, CallbackParams, QueueId};
/// let params = CallbackParams { flags: CallbackFlags::FAST_IO_PROCESSING, queue: QueueId::IO };
/// let cb = mfwq::callback_with(params, |_result| {});
/// assert_eq!(cb.parameters(), Some(params));
/// ```
pub fn callback_with<F>(params: CallbackParams, invoke: F) -> Callback
where
    F: Fn(&AsyncResult) + Send + Sync + 'static,
{
    Arc::new(WithParams { params, invoke })
}

struct WithParams<F> {
    params: CallbackParams,
    invoke: F,
}

impl<F> AsyncCallback for WithParams<F>
where
    F: Fn(&AsyncResult) + Send + Sync + 'static,
{
    fn parameters(&self) -> Option<CallbackParams> {
        Some(self.params)
    }

    fn invoke(&self, result: &AsyncResult) {
        (self.invoke)(result)
    }
}

/// The parameters the dispatcher uses: the callback's own, or the defaults.
/// A `parameters()` that panics counts as one that failed (`GetParameters`
/// returning an error): the defaults, and the panic is reported.
#[inline]
pub(crate) fn effective_params(callback: &dyn AsyncCallback) -> CallbackParams {
    crate::panic::guard(crate::panic::PanicSite::Parameters, || {
        callback.parameters()
    })
    .flatten()
    .unwrap_or_default()
}
