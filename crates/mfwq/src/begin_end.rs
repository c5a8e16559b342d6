//! The Begin/End pattern ("Writing an Asynchronous Method"), made natural.
//!
//! The caller's side is plain: `BeginX(callback, state)` either fails at once or
//! later invokes `callback` exactly once with a result; the callback passes that
//! result to `EndX` to get the output. [`AsyncOperation`] is the implementer's
//! side: it is result 1 of the documented pattern (the caller's callback and
//! state, plus a private object that carries the output), and [`begin`] is the
//! whole pattern in one call: it puts the work on a queue with result 1 as the
//! state of result 2, runs it there, stores the output, sets the status and
//! invokes the caller's callback on the caller's queue.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::error::{Error, HResult, Result};
use crate::ids::QueueId;
use crate::object::callback::{callback, Callback};
use crate::object::result::{AsyncResult, State};

/// The private object of an operation's result: where the output waits for End.
struct Output<T> {
    value: Mutex<Option<T>>,
}

/// One asynchronous operation, seen from the component that implements it.
///
/// ```
/// use std::sync::mpsc;
/// use mfwq::{AsyncOperation, QueueId};
///
/// // BeginRead: start the operation; complete it later, from anywhere.
/// fn begin_read(callback: mfwq::Callback, state: Option<mfwq::State>) -> mfwq::Result<()> {
///     let operation = AsyncOperation::<Vec<u8>>::new(callback, state);
///     std::thread::spawn(move || operation.complete(Ok(vec![1, 2, 3])));
///     Ok(())
/// }
/// // EndRead: the output of the operation the result stands for.
/// fn end_read(result: &mfwq::AsyncResult) -> mfwq::Result<Vec<u8>> {
///     AsyncOperation::<Vec<u8>>::end(result)
/// }
///
/// let _platform = mfwq::Platform::start()?;
/// let (sender, receiver) = mpsc::sync_channel(1);
/// begin_read(mfwq::callback(move |result| sender.send(end_read(result)).unwrap()), None)?;
/// assert_eq!(receiver.recv().unwrap()?, [1, 2, 3]);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub struct AsyncOperation<T> {
    result: AsyncResult,
    output: PhantomData<fn() -> T>,
}

impl<T: Send + 'static> AsyncOperation<T> {
    /// Result 1 of the pattern: `MFCreateAsyncResult(output slot, callback, state)`.
    pub fn new(callback: Callback, state: Option<State>) -> AsyncOperation<T> {
        let output: State = Arc::new(Output::<T> {
            value: Mutex::new(None),
        });
        AsyncOperation {
            result: AsyncResult::new(Some(output), Some(callback), state),
            output: PhantomData,
        }
    }

    /// The result the caller's callback will receive.
    pub fn result(&self) -> &AsyncResult {
        &self.result
    }

    /// Finishes the operation: stores the output (or the error as the status) and
    /// invokes the caller's callback on the queue it names (`MFInvokeCallback`).
    /// A successful Begin promised one invocation, so the callback is invoked
    /// even where its queue cannot take it: on STANDARD if its queue has gone
    /// away since the Begin call, and by the shutdown itself (on its thread
    /// `mfwq-shutdown`) while the platform shuts down. Fails with
    /// [`Error::Shutdown`] only when nothing can run the callback any more
    /// (the platform is down and this is not a platform thread); it is then
    /// not invoked, and the implementer knows.
    pub fn complete(self, output: Result<T>) -> Result<()> {
        match output {
            Ok(value) => {
                *self.slot().value.lock() = Some(value);
                self.result.set_status(HResult::S_OK);
            }
            Err(error) => self.result.set_status(error.hresult()),
        }
        crate::platform::dispatch::complete(self.result.clone())
    }

    fn slot(&self) -> &Output<T> {
        self.result
            .object_as::<Output<T>>()
            .expect("created by AsyncOperation::new")
    }

    /// The End call: the operation's output, once. A failed operation gives its
    /// status as the error; a result that no `AsyncOperation<T>` made gives
    /// [`Error::InvalidArg`]; a second End gives [`Error::InvalidRequest`].
    pub fn end(result: &AsyncResult) -> Result<T> {
        let slot = result.object_as::<Output<T>>().ok_or(Error::InvalidArg)?;
        result.status_result()?;
        slot.value.lock().take().ok_or(Error::InvalidRequest)
    }
}

/// The whole documented pattern in one call: runs `work` on `queue`, then
/// completes the operation to `callback` (on the queue `callback` names), whose
/// `invoke` calls [`AsyncOperation::end`] for the output. If `work` panics the
/// caller still gets its callback, with status `E_UNEXPECTED`.
///
/// ```
/// use std::sync::mpsc;
/// use mfwq::{AsyncOperation, QueueId};
/// let _platform = mfwq::Platform::start()?;
/// let (sender, receiver) = mpsc::sync_channel(1);
/// let on_done = mfwq::callback(move |result| sender.send(AsyncOperation::<u64>::end(result)).unwrap());
/// mfwq::begin(QueueId::MULTITHREADED, on_done, None, || Ok::<u64, mfwq::Error>((1..=10u64).product()))?;
/// assert_eq!(receiver.recv().unwrap()?, 3_628_800);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn begin<T, F>(
    queue: QueueId,
    callback_to_caller: Callback,
    state: Option<State>,
    work: F,
) -> Result<()>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let callback_to_caller = crate::panic::Refusable::new(callback_to_caller);
    let state = crate::panic::Refusable::new(state);
    let work = crate::panic::Refusable::new(work);
    crate::platform::ensure_started()?;
    // A completion that could never be dispatched is refused now.
    crate::platform::dispatch::check_completion_params(crate::object::callback::effective_params(
        &**callback_to_caller,
    ))?;
    let operation = AsyncOperation::<T>::new(callback_to_caller.take(), state.take());
    let result_one: State = Arc::new(operation.result().clone());
    let job = Mutex::new(Some((operation, work.take())));
    // Result 2: the component's own callback, with result 1 as its state.
    let component = callback(move |result_two| {
        debug_assert!(result_two.state_as::<AsyncResult>().is_some());
        let Some((operation, work)) = job.lock().take() else {
            return;
        };
        let output = crate::panic::guard(crate::panic::PanicSite::Invoke, work)
            .unwrap_or(Err(Error::Unexpected));
        if let Err(error) = operation.complete(output) {
            tracing::warn!(%error, "could not complete an operation; its callback will not run");
        }
    });
    crate::platform::dispatch::put_work_item(queue, component, Some(result_one))
}

/// Where an [`OperationFuture`] waits for its output.
struct FutureSlot<T> {
    output: Mutex<(Option<Result<T>>, Option<Waker>)>,
}

/// The output of an operation started by [`begin_async`], as a `Future`.
///
/// It resolves when the operation's completion is delivered (on a
/// MULTITHREADED worker), so `async` code can await platform work without
/// blocking a thread. Dropping it does not cancel the work.
pub struct OperationFuture<T> {
    slot: Arc<FutureSlot<T>>,
}

/// Runs `work` on `queue` through the Begin/End machinery and returns a future of
/// its output. Fails at once (like a Begin call) if the platform is down or the
/// queue is not live.
///
/// ```
/// use std::future::Future;
/// use std::pin::pin;
/// use std::sync::Arc;
/// use std::task::{Context, Poll, Wake};
///
/// struct Unpark(std::thread::Thread);
/// impl Wake for Unpark {
///     fn wake(self: Arc<Self>) { self.0.unpark() }
/// }
/// fn block_on<F: Future>(future: F) -> F::Output {
///     let waker = Arc::new(Unpark(std::thread::current())).into();
///     let mut future = pin!(future);
///     loop {
///         if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
///             return output;
///         }
///         std::thread::park();
///     }
/// }
///
/// let _platform = mfwq::Platform::start()?;
/// let sum = mfwq::begin_async(mfwq::QueueId::MULTITHREADED, || Ok((1..=100u32).sum::<u32>()))?;
/// assert_eq!(block_on(sum)?, 5050);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn begin_async<T, F>(queue: QueueId, work: F) -> Result<OperationFuture<T>>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let slot = Arc::new(FutureSlot {
        output: Mutex::new((None, None)),
    });
    let deliver = Delivery(Arc::clone(&slot), false.into());
    let on_done = crate::object::callback::callback_on(QueueId::MULTITHREADED, move |result| {
        deliver.deliver(AsyncOperation::<T>::end(result));
    });
    begin(queue, on_done, None, work)?;
    Ok(OperationFuture { slot })
}

/// The completion side of an [`OperationFuture`]. If the completion callback
/// goes away without having been invoked (nothing could deliver it), the
/// future still resolves, with [`Error::Shutdown`]: a future that can never
/// resolve would hang its task for ever.
struct Delivery<T>(Arc<FutureSlot<T>>, std::sync::atomic::AtomicBool);

impl<T> Delivery<T> {
    fn deliver(&self, output: Result<T>) {
        self.1.store(true, std::sync::atomic::Ordering::Relaxed);
        let waker = {
            let mut guard = self.0.output.lock();
            guard.0 = Some(output);
            guard.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Delivery<T> {
    fn drop(&mut self) {
        let waker = {
            let mut guard = self.0.output.lock();
            if *self.1.get_mut() || Arc::strong_count(&self.0) == 1 {
                return;
            }
            guard.0 = Some(Err(Error::Shutdown));
            guard.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Future for OperationFuture<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Result<T>> {
        let mut guard = self.slot.output.lock();
        match guard.0.take() {
            Some(output) => Poll::Ready(output),
            None => {
                guard.1 = Some(context.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn pair() -> (OperationFuture<u32>, Delivery<u32>) {
        let slot = Arc::new(FutureSlot {
            output: Mutex::new((None, None)),
        });
        let delivery = Delivery(Arc::clone(&slot), false.into());
        (OperationFuture { slot }, delivery)
    }

    fn poll_once(
        future: &mut OperationFuture<u32>,
        waker: &Arc<CountingWaker>,
    ) -> Poll<Result<u32>> {
        let waker = std::task::Waker::from(Arc::clone(waker));
        Pin::new(future).poll(&mut Context::from_waker(&waker))
    }

    // The fallback of `begin_async`: a completion callback that goes away
    // without having been invoked resolves the future with `Shutdown` and
    // wakes its task, rather than leaving it pending for ever.
    #[test]
    fn an_undelivered_completion_resolves_the_future_with_shutdown() {
        let waker = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let (mut future, delivery) = pair();
        assert!(poll_once(&mut future, &waker).is_pending());
        drop(delivery);
        assert_eq!(waker.0.load(Ordering::SeqCst), 1);
        assert_eq!(
            poll_once(&mut future, &waker),
            Poll::Ready(Err(Error::Shutdown))
        );
    }

    #[test]
    fn a_delivered_completion_keeps_its_output_when_the_callback_goes() {
        let waker = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let (mut future, delivery) = pair();
        assert!(poll_once(&mut future, &waker).is_pending());
        delivery.deliver(Ok(7));
        drop(delivery);
        assert_eq!(waker.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll_once(&mut future, &waker), Poll::Ready(Ok(7)));
    }

    #[test]
    fn a_completion_dropped_after_its_future_does_nothing() {
        let (future, delivery) = pair();
        drop(future);
        drop(delivery);
    }
}
