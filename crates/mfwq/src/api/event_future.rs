//! Awaiting an [`Event`]: [`Event::wait_async`] and its future, [`WaitAsync`].
//!
//! The future registers a waiting item ([`put_waiting_work_item`]) on its
//! first poll, with an internal callback (on MULTITHREADED) that wakes the
//! task, so no thread blocks. The event treats it like any waiting item: an
//! auto-reset event hands one signal to exactly one waiter, oldest first; a
//! manual-reset event releases them all. Dropping the future before it fires
//! cancels the item. Pending items end at the last shutdown with
//! `MF_E_SHUTDOWN`, which the future returns as `Err(Error::Shutdown)`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::event::{Event, WeakEvent};
use crate::ids::QueueId;
use crate::object::callback::{AsyncCallback, CallbackParams};
use crate::object::result::AsyncResult;
use crate::timer::wait::put_waiting_work_item;
use crate::timer::{cancel_work_item, WorkItemKey};

impl Event {
    /// A future that completes when this event is set, without blocking a
    /// thread: the `async` form of [`wait`](Event::wait). See [`WaitAsync`].
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let ready = mfwq::Event::auto_reset(false);
    /// let waiter = mfwq::spawn_future(mfwq::QueueId::MULTITHREADED, ready.wait_async())?;
    /// ready.set();
    /// mfwq::block_on(waiter)??;
    /// assert!(!ready.is_set()); // the auto-reset signal went to the future
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    #[doc(alias = "MFPutWaitingWorkItem")]
    pub fn wait_async(&self) -> WaitAsync {
        WaitAsync {
            event: self.clone(),
            shared: None,
            done: false,
        }
    }
}

/// A future that completes when an [`Event`] is set; made by
/// [`Event::wait_async`].
///
/// - Nothing happens until the first poll, which puts a waiting item on the
///   event. An event already set then releases it at once.
/// - **Auto-reset** events: the future takes one signal, like a waiting item
///   (ahead of threads blocked in [`Event::wait`]), and a set releases one
///   waiter, the oldest first. The signal is taken when the event is set, not
///   when the future is next polled.
/// - **Dropped after the event released it but before it returned `Ready`**
///   (a `select` that another branch won, a cancelled task): the signal it
///   took from an auto-reset event is handed back (the event is set again),
///   so that the next waiter gets it instead of it being lost, as tokio's
///   `Notify` does. Nothing is handed back for a manual-reset event, which
///   stays set. Dropped before the event was set, its waiting item is
///   cancelled and takes no signal.
/// - Resolves to `Ok(())` when released, to `Err(Error::Shutdown)` if the
///   platform is not running at the first poll or shuts down while it waits.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let ready = mfwq::Event::manual_reset(false);
/// let (a, b) = (ready.wait_async(), ready.wait_async());
/// let both = mfwq::spawn_future(mfwq::QueueId::STANDARD, async move {
///     a.await?;
///     b.await
/// })?;
/// ready.set(); // a manual-reset event releases every waiter
/// mfwq::block_on(both)??;
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct WaitAsync {
    event: Event,
    /// Set from the first poll on.
    shared: Option<Arc<WaitShared>>,
    /// The output was returned.
    done: bool,
}

impl std::fmt::Debug for WaitAsync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitAsync")
            .field("event", &self.event)
            .field("registered", &self.shared.is_some())
            .field("done", &self.done)
            .finish()
    }
}

impl Future for WaitAsync {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Result<()>> {
        if self.done {
            return Poll::Ready(Ok(()));
        }
        let outcome = match &self.shared {
            None => self.register(context.waker()),
            Some(shared) => {
                let mut state = shared.state.lock();
                let state = &mut *state;
                poll_decided(state.outcome, &mut state.waker, context.waker())
            }
        };
        if outcome.is_ready() {
            self.done = true;
        }
        outcome
    }
}

impl WaitAsync {
    fn register(&mut self, waker: &Waker) -> Poll<Result<()>> {
        let shared = Arc::new(WaitShared {
            event: self.event.downgrade(),
            state: Mutex::new(WaitState {
                outcome: None,
                waker: Some(waker.clone()),
                key: None,
                dropped: false,
            }),
        });
        let result = AsyncResult::with_callback(shared.clone(), None);
        match put_waiting_work_item(Some(&self.event), 0, result) {
            Ok(key) => {
                shared.state.lock().key = Some(key);
                self.shared = Some(shared);
                Poll::Pending
            }
            Err(error) => Poll::Ready(Err(error)),
        }
    }
}

impl Drop for WaitAsync {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        if self.done {
            return;
        }
        let (outcome, key) = {
            let mut state = shared.state.lock();
            // From here a late release hands its signal back by itself.
            state.dropped = true;
            state.waker = None;
            (state.outcome.take(), state.key)
        };
        match outcome {
            // Released, never returned: hand the signal back.
            Some(Ok(())) => shared.hand_back(),
            Some(Err(_)) => {}
            // Still waiting (or released this very moment, in which case the
            // cancel finds nothing and the callback hands the signal back).
            None => {
                if let Some(key) = key {
                    let _ = cancel_work_item(key);
                }
            }
        }
    }
}

/// What an [`WaitAsync`] and its waiting item share: the item's callback.
struct WaitShared {
    /// For handing a signal back; weak, as waiting items hold their event
    /// (the event holds the item, which holds this).
    event: WeakEvent,
    state: Mutex<WaitState>,
}

struct WaitState {
    outcome: Option<Result<()>>,
    waker: Option<Waker>,
    key: Option<WorkItemKey>,
    /// The future is gone: a release now hands its signal back.
    dropped: bool,
}

impl WaitShared {
    /// Sets an auto-reset event again, for a signal taken by a future that
    /// was dropped before it could return it.
    fn hand_back(&self) {
        if let Some(event) = self.event.upgrade() {
            if !event.is_manual_reset() {
                event.set();
            }
        }
    }
}

impl AsyncCallback for WaitShared {
    fn parameters(&self) -> Option<CallbackParams> {
        Some(CallbackParams::on(QueueId::MULTITHREADED))
    }

    fn invoke(&self, result: &AsyncResult) {
        let outcome = match result.status_result() {
            Ok(()) => Ok(()),
            Err(Error::OperationCancelled) => return, // by the future's own drop
            Err(Error::Shutdown) => Err(Error::Shutdown),
            Err(other) => Err(other),
        };
        let waker = {
            let mut state = self.state.lock();
            if state.dropped {
                drop(state);
                if outcome.is_ok() {
                    self.hand_back();
                }
                return;
            }
            if state.outcome.is_some() {
                return;
            }
            state.outcome = Some(outcome);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The poll of a future whose outcome another thread decides (a sleep's
/// timer, an event wait): ready with the outcome once there is one, else
/// pending with the polling task's waker stored (replaced only when the task
/// changed), so that the decider wakes the right task.
fn poll_decided(
    outcome: Option<Result<()>>,
    waker: &mut Option<Waker>,
    current: &Waker,
) -> Poll<Result<()>> {
    match outcome {
        Some(outcome) => Poll::Ready(outcome),
        None => {
            crate::sync::store_waker(waker, current);
            Poll::Pending
        }
    }
}
