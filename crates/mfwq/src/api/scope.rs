//! Scoped work: [`scope`] and [`Scope`], as `std::thread::scope` and
//! `rayon::scope`, on any queue. Closures may borrow from the caller's
//! stack, because `scope` returns only once every closure spawned in it has
//! finished or been dropped.
//!
//! Each spawned closure is one `Arc<Item<F>>` (a claim flag, the closure and
//! the scope's shared data), queued as `Work::Shared`; whoever claims it first
//! runs it (the queue's worker, or the scope's owner while it waits) or drops
//! it (a queue that refuses or abandons it). Only then does the scope's
//! pending count go down, so no borrow outlives the `scope` call.
//!
//! Every primitive comes from the loom facade (`crate::sync`), and
//! `scope_loom_tests.rs` beside this file model-checks the claim, the
//! pending count and the owner's park against closures finishing on other
//! threads.

use std::any::Any;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::api::priority::Priority;
use crate::api::queue::Queue;
use crate::error::Result;
use crate::ids::QueueId;
use crate::sync::cell::UnsafeCell;
use crate::sync::parking::Mutex;
use crate::sync::thread::{self, Thread};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Ordering};
use crate::work::RunShared;

/// Runs `f` with a [`Scope`] on which it can spawn closures that borrow from
/// the caller's stack; returns `f`'s value once all of them have finished.
///
/// - **Waiting**: `scope` blocks the calling thread until every closure
///   spawned in it (from `f` or from other scoped closures) has run, or has
///   been dropped unrun because its queue refused it.
/// - **Panics**: a panic in a scoped closure is caught, the others still
///   run, and once all have finished `scope` resumes the first panic (with
///   its payload, as rayon does). A panic in `f` itself is resumed the same
///   way, after the wait. Scoped panics do not go to the panic hook: they
///   reach the caller.
/// - **Calling `scope` from a queue's worker** does not deadlock: a closure
///   whose queue is the one the caller runs on — directly, or through serial
///   queues down to it ([`Queue::current`]) — is also handed to the caller,
///   which runs it itself while it waits if no worker has taken it first.
///   On a single-threaded queue (STANDARD, a private standard queue, a
///   serial queue over the caller's queue) such closures thus run on the
///   caller's thread; on a pool, whichever comes first.
/// - **Refusal**: [`Scope::spawn`] returns the queue's error (the platform
///   is down, a private queue is gone); the closure has then been dropped,
///   never run.
///
/// ```
/// use mfwq::Queue;
/// let _platform = mfwq::Platform::start()?;
/// let mut totals = [0u64; 4];
/// let data: Vec<u64> = (1..=400).collect();
/// mfwq::scope(|s| {
///     for (chunk, total) in data.chunks(100).zip(totals.iter_mut()) {
///         s.spawn(&Queue::MULTITHREADED, move || *total = chunk.iter().sum())?;
///     }
///     Ok::<(), mfwq::Error>(())
/// })?;
/// assert_eq!(totals.iter().sum::<u64>(), 400 * 401 / 2);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    scope_with(Sink::Queues, f)
}

/// Where a scope's closures go: the platform's queues, or (for the unit
/// tests that Miri runs, and the loom models) plain threads.
#[derive(Clone, Copy)]
enum Sink {
    Queues,
    #[cfg(test)]
    Threads,
}

fn scope_with<'env, F, T>(sink: Sink, f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        data: Arc::new(ScopeData {
            pending: AtomicUsize::new(0),
            panic: Mutex::new(None),
            owned: Mutex::new(VecDeque::new()),
            owner: thread::current(),
        }),
        owner_queue: crate::sched::current_queue(),
        sink,
        scope: PhantomData,
        env: PhantomData,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| f(&scope)));
    scope.wait();
    let scoped_panic = scope.data.panic.lock().take();
    match (outcome, scoped_panic) {
        (Err(payload), _) | (Ok(_), Some(payload)) => resume_unwind(payload),
        (Ok(value), None) => value,
    }
}

/// A scope to spawn borrowing closures in; see [`scope`].
///
/// The two lifetimes follow `std::thread::Scope`: `'env` is what the
/// closures may borrow (anything outliving the `scope` call), `'scope` the
/// scope itself; both are invariant.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let serial = mfwq::Queue::MULTITHREADED.serial()?;
/// let mut log = Vec::new();
/// mfwq::scope(|s| s.spawn(&serial, || log.push("ran")))?;
/// assert_eq!(log, ["ran"]);
/// # Ok::<(), mfwq::Error>(())
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    data: Arc<ScopeData>,
    /// The queue the owner runs on (`current_queue()` when `scope` was called).
    owner_queue: Option<QueueId>,
    sink: Sink,
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("pending", &self.data.pending.load(Ordering::Relaxed))
            .field("owner_queue", &self.owner_queue)
            .finish()
    }
}

/// What the scope and its items share; lives as long as the last of them.
struct ScopeData {
    /// Closures spawned and not yet finished or dropped.
    pending: AtomicUsize,
    /// The first panic of a scoped closure.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Items the owner may run itself while it waits (their queue is its own).
    owned: Mutex<VecDeque<Arc<dyn RunShared>>>,
    owner: Thread,
}

impl ScopeData {
    /// One closure finished or dropped: wake the owner when it was the last.
    fn finish_one(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.owner.unpark();
        }
    }
}

/// One scoped closure (lifetime erased to `'static`; see `Scope::spawn`).
struct Item<F> {
    claimed: AtomicBool,
    /// Taken by whoever wins `claimed`, and only by it.
    task: UnsafeCell<Option<F>>,
    scope: Arc<ScopeData>,
}

// SAFETY: `task` is reached only by the one caller that won `claimed`.
unsafe impl<F: Send> Sync for Item<F> {}

impl<F> Item<F> {
    /// The closure, to whoever claims it first.
    fn claim(&self) -> Option<F> {
        if self.claimed.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: this call won the claim: nobody else touches `task`.
        self.task.with_mut(|task| unsafe { (*task).take() })
    }
}

impl<F: FnOnce() + Send> RunShared for Item<F> {
    fn run(self: Arc<Self>) {
        if let Some(task) = self.claim() {
            // The closure and its captures are gone when this returns or unwinds.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(task)) {
                let mut first = self.scope.panic.lock();
                if first.is_none() {
                    *first = Some(payload);
                } else {
                    drop(first);
                    crate::panic::drop_quietly(payload);
                }
            }
            self.scope.finish_one();
        }
    }

    fn abandon(self: Arc<Self>) {
        if let Some(task) = self.claim() {
            crate::panic::drop_quietly(task);
            self.scope.finish_one();
        }
    }
}

impl<'scope> Scope<'scope, '_> {
    /// Runs `f` on `queue` within the scope: `f` may borrow anything that
    /// outlives the [`scope`] call. See [`scope`] for waiting, panics and the
    /// rule that keeps a scope on its own queue from deadlocking.
    ///
    /// Errors: the queue's ([`Error::Shutdown`](crate::Error::Shutdown),
    /// [`Error::InvalidWorkQueue`](crate::Error::InvalidWorkQueue)); `f` has
    /// then been dropped, never run.
    ///
    /// ```
    /// use mfwq::Queue;
    /// let _platform = mfwq::Platform::start()?;
    /// let words = ["a", "bb", "ccc"];
    /// let lengths = std::sync::Mutex::new(Vec::new());
    /// mfwq::scope(|s| {
    ///     for word in &words {
    ///         let lengths = &lengths;
    ///         s.spawn(&Queue::MULTITHREADED, move || lengths.lock().unwrap().push(word.len()))?;
    ///     }
    ///     Ok::<(), mfwq::Error>(())
    /// })?;
    /// let mut lengths = lengths.into_inner().unwrap();
    /// lengths.sort();
    /// assert_eq!(lengths, [1, 2, 3]);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn spawn<F>(&'scope self, queue: &Queue, f: F) -> Result<()>
    where
        F: FnOnce() + Send + 'scope,
    {
        self.spawn_with_priority(queue, Priority::Normal, f)
    }

    /// [`spawn`](Scope::spawn) in a priority band.
    ///
    /// ```
    /// let _platform = mfwq::Platform::start()?;
    /// let mut hit = false;
    /// mfwq::scope(|s| s.spawn_with_priority(&mfwq::Queue::STANDARD, mfwq::Priority::High, || hit = true))?;
    /// assert!(hit);
    /// # Ok::<(), mfwq::Error>(())
    /// ```
    pub fn spawn_with_priority<F>(
        &'scope self,
        queue: &Queue,
        priority: Priority,
        f: F,
    ) -> Result<()>
    where
        F: FnOnce() + Send + 'scope,
    {
        let item: Arc<dyn RunShared + 'scope> = Arc::new(Item {
            claimed: AtomicBool::new(false),
            task: UnsafeCell::new(Some(f)),
            scope: Arc::clone(&self.data),
        });
        // SAFETY: only the lifetime bound changes (same fat-pointer layout).
        // The item may borrow for 'scope, and nothing uses its closure after
        // the `scope` call returns: the closure is taken (run or dropped) by
        // whoever claims the item, and `scope` waits until `pending`, counted
        // up here before the item can be claimed and down only after the
        // closure is gone, is zero. Every queued item is either run or
        // abandoned by its queue (`SharedTask`), a refused one is abandoned
        // before the put returns, and the owner runs the items it was handed.
        // What outlives the call is the empty `Arc` (claim flag, `None`,
        // scope data): no borrow. As `std::thread::scope` does.
        let item: Arc<dyn RunShared + 'static> = unsafe { std::mem::transmute(item) };
        self.data.pending.fetch_add(1, Ordering::AcqRel);
        let target = queue.id();
        let owned = self.reaches_owner(target).then(|| Arc::clone(&item));
        let put = match self.sink {
            Sink::Queues => crate::platform::dispatch::spawn_shared(
                target,
                priority.to_raw(),
                item,
                std::any::type_name::<F>(),
            ),
            #[cfg(test)]
            Sink::Threads => {
                drop(thread::spawn(move || item.run()));
                Ok(())
            }
        };
        // A refused item was abandoned (dropped, counted down) already.
        put?;
        if let Some(owned) = owned {
            self.data.owned.lock().push_back(owned);
            self.data.owner.unpark();
        }
        Ok(())
    }

    /// Whether work put on `target` would wait behind the owner's own item:
    /// `target` is the owner's queue, or a serial queue over it (at any depth).
    fn reaches_owner(&self, target: QueueId) -> bool {
        let Some(owner) = self.owner_queue else {
            return false;
        };
        let mut queue = target;
        for _ in 0..64 {
            if queue == owner {
                return true;
            }
            match crate::queue::serial_target(queue) {
                Some(next) => queue = next,
                None => return false,
            }
        }
        false
    }

    /// Blocks until every spawned closure has finished or been dropped,
    /// running those handed to the owner.
    fn wait(&self) {
        loop {
            loop {
                let next = self.data.owned.lock().pop_front();
                match next {
                    Some(item) => item.run(),
                    None => break,
                }
            }
            if self.data.pending.load(Ordering::Acquire) == 0 {
                break;
            }
            thread::park();
        }
        // Items a worker ran first: drop their (empty) references.
        self.data.owned.lock().clear();
    }
}

#[cfg(all(test, mfwq_loom))]
#[path = "scope_loom_tests.rs"]
mod loom_tests;

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;

    /// Miri: borrowing closures on other threads, panics, nesting (cargo
    /// +nightly miri test -p mfwq --lib api::scope).
    #[test]
    fn threads_borrow_and_finish_before_scope_returns() {
        let mut values = vec![0u32; 4];
        let base = 10;
        scope_with(Sink::Threads, |s| {
            for (i, value) in values.iter_mut().enumerate() {
                s.spawn(&Queue::STANDARD, move || *value = base + i as u32)
                    .unwrap();
            }
        });
        assert_eq!(values, [10, 11, 12, 13]);
    }

    #[test]
    fn nested_spawns_are_waited_for() {
        let counter = AtomicUsize::new(0);
        scope_with(Sink::Threads, |s| {
            s.spawn(&Queue::STANDARD, || {
                counter.fetch_add(1, Ordering::Relaxed);
                s.spawn(&Queue::STANDARD, || {
                    counter.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
            })
            .unwrap();
        });
        assert_eq!(counter.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_panic_is_resumed_after_all_finished() {
        let finished = AtomicUsize::new(0);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            scope_with(Sink::Threads, |s| {
                s.spawn(&Queue::STANDARD, || panic!("scoped")).unwrap();
                s.spawn(&Queue::STANDARD, || {
                    finished.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
            });
        }));
        let payload = outcome.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"scoped"));
        assert_eq!(finished.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn an_abandoned_item_drops_its_closure_and_counts_down() {
        let dropped = AtomicUsize::new(0);
        struct Flag<'a>(&'a AtomicUsize);
        impl Drop for Flag<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let data = Arc::new(ScopeData {
            pending: AtomicUsize::new(1),
            panic: Mutex::new(None),
            owned: Mutex::new(VecDeque::new()),
            owner: thread::current(),
        });
        let flag = Flag(&dropped);
        let item = Arc::new(Item {
            claimed: AtomicBool::new(false),
            task: UnsafeCell::new(Some(move || drop(flag))),
            scope: Arc::clone(&data),
        });
        Arc::clone(&item).abandon();
        item.run(); // claimed already: nothing happens
        assert_eq!(dropped.load(Ordering::Relaxed), 1);
        assert_eq!(data.pending.load(Ordering::Relaxed), 0);
    }
}
