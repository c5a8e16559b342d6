//! Where a put goes: from a queue id to the queue's machinery, on the hot path.
//!
//! Finding a queue is the platform's epoch (platform queues) or a registry slot
//! (private queues). Doing that under a lock on every put costs more than the
//! push itself, and in ping-pong workloads the lock's cache line would cross
//! cores on every hop. So each thread remembers its last route: the epoch with
//! the generation it was read at, and its last private queues (a small
//! direct-mapped table by slot, so a producer that feeds several queues in turn
//! still hits). A cached route is
//! used only after a check against one read-mostly word (the epoch generation,
//! or the slot's live generation). A route that goes stale between that check
//! and the push is still safe: queues gate their own pushes, so the push either
//! lands before the queue closes (and runs in its drain) or is refused.
//!
//! The cache holds at most one epoch and [`PRIVATE_ROUTES`] private queues per thread, so a
//! closed queue it keeps alive costs a few hundred bytes until the thread's
//! next put elsewhere or its exit.

use std::cell::RefCell;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ids::{CallbackFlags, PlatformQueue, QueueId};
use crate::platform::{Epoch, PLATFORM};
use crate::sched::Refusal;
use crate::work::target::{Target, TargetRef};
use crate::work::QueueCore;

/// Private queues a thread remembers routes to.
const PRIVATE_ROUTES: usize = 16;

struct Routes {
    epoch: Option<(u64, Arc<Epoch>)>,
    private: [Option<(QueueId, Target)>; PRIVATE_ROUTES],
}

thread_local! {
    static ROUTES: RefCell<Routes> = const { RefCell::new(Routes { epoch: None, private: [const { None }; PRIVATE_ROUTES] }) };
}

/// Resolves `queue`, checks that `flags` may run there, and calls `push` with
/// its machinery, once. Errors: [`Error::Shutdown`] when the platform is down
/// (checked first), [`Error::InvalidWorkQueue`] for a private id that is not
/// live or flags the queue does not allow.
#[inline]
pub(crate) fn push_to(
    queue: QueueId,
    flags: CallbackFlags,
    push: impl FnOnce(TargetRef<'_>) -> std::result::Result<(), Refusal>,
) -> Result<()> {
    if !flags.fit(queue) {
        return Err(not_live());
    }
    let mut push = Some(push);
    let mut run = |target: TargetRef<'_>| (push.take().expect("pushed once"))(target);
    let cached = ROUTES.try_with(|routes| {
        let mut routes = routes.try_borrow_mut().ok()?;
        Some(if queue.is_private() {
            routes
                .private(queue)
                .and_then(|target| map_refusal(run(target.as_ref()), not_live))
        } else {
            routes
                .platform(queue.platform_slot())
                .and_then(|core| map_refusal(run(TargetRef::Core(core)), || Error::Shutdown))
        })
    });
    match cached.ok().flatten() {
        Some(outcome) => outcome,
        // Only while this thread's locals are being destroyed: no cache.
        None if queue.is_private() => {
            let target = PLATFORM
                .registry
                .with_queue(queue, |entry| entry.target.clone())
                .map_err(|_| not_live())?;
            map_refusal(run(target.as_ref()), not_live)
        }
        None => {
            let core =
                PLATFORM.with_epoch(|epoch| Arc::clone(epoch.queue(queue.platform_slot())))?;
            map_refusal(run(TargetRef::Core(&core)), || Error::Shutdown)
        }
    }
}

impl Routes {
    #[inline]
    fn platform(&mut self, slot: PlatformQueue) -> Result<&Arc<QueueCore>> {
        Ok(self.epoch()?.queue(slot))
    }

    /// The running epoch, as of one read of its generation.
    #[inline]
    fn epoch(&mut self) -> Result<&Arc<Epoch>> {
        let generation = PLATFORM.epoch_generation();
        if !matches!(&self.epoch, Some((cached, _)) if *cached == generation) {
            self.epoch = PLATFORM.load_epoch().map(|epoch| (generation, epoch));
        }
        match &self.epoch {
            Some((_, epoch)) => Ok(epoch),
            None => Err(Error::Shutdown),
        }
    }

    #[inline]
    fn private(&mut self, queue: QueueId) -> Result<&Target> {
        // The slot index is the id's high word: distinct live queues map apart.
        let entry = &mut self.private[(queue.0 >> 16) as usize % PRIVATE_ROUTES];
        let hit = matches!(entry, Some((cached, _)) if *cached == queue)
            && PLATFORM.registry.is_live(queue);
        if !hit {
            let target = PLATFORM
                .registry
                .with_queue(queue, |entry| entry.target.clone())
                .map_err(|_| not_live())?;
            *entry = Some((queue, target));
        }
        Ok(&entry.as_ref().expect("just filled").1)
    }
}

/// Runs `f` on the running epoch, found through this thread's cached route
/// (one read of the epoch generation) rather than the platform's shared
/// pointer, whose load protocol costs about a hundred instructions; as
/// `PLATFORM.with_epoch`, `Err(Shutdown)` if there is none. For the hot
/// paths that need the epoch itself (timers); `f` must not run user code.
#[inline]
pub(crate) fn with_epoch<R>(f: impl FnOnce(&Epoch) -> R) -> Result<R> {
    let mut f = Some(f);
    let cached = ROUTES.try_with(|routes| {
        // Busy only if `f` itself reached here: the shared pointer then.
        let mut routes = routes.try_borrow_mut().ok()?;
        let epoch = routes.epoch();
        Some(epoch.map(|epoch| (f.take().expect("called once"))(epoch)))
    });
    match cached.ok().flatten() {
        Some(outcome) => outcome,
        None => PLATFORM.with_epoch(f.take().expect("not called yet")),
    }
}

/// The error for a queue that cannot take work: the platform being down wins.
fn not_live() -> Error {
    crate::platform::shutdown_first(Error::InvalidWorkQueue)
}

fn map_refusal(
    outcome: std::result::Result<(), Refusal>,
    closed: impl FnOnce() -> Error,
) -> Result<()> {
    outcome.map_err(|refusal| match refusal {
        Refusal::Closed => closed(),
        Refusal::NoThread => Error::OutOfMemory,
    })
}
