//! The last shutdown (docs/behaviour.md#d1): one deadline for everything,
//! the rescue queue that delivers completions owed after the epoch is gone,
//! work stranded behind a callback that does not return, and the report of
//! such a callback. Separate from the lifecycle's counting because it is the
//! one long protocol of the platform; the invariants it keeps are listed in
//! `ARCHITECTURE.md` ("Shutdown").

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::{deadline_after, events, shutdown_timeout, PLATFORM, SHUTDOWN_GRACE};
use crate::error::{Error, Result};
use crate::ids::{Band, QueueId};
use crate::object::accounting;
use crate::observe::event::ShutdownPhase;
use crate::sched;
use crate::work::target::Target;
use crate::work::{QueueCore, Work};

/// `MFShutdown()` / `RtwqShutdown()`: undoes one startup; the last one stops the platform.
///
/// The last shutdown (docs/behaviour.md#d1), all within one deadline,
/// [`shutdown_timeout`] from the call:
/// 1. drops the startup lock and the cached result locks;
/// 2. waits, until the deadline, while explicit platform locks
///    ([`lock_platform`](super::lock_platform)) or extra queue locks ([`lock_work_queue`](crate::lock_work_queue))
///    are held; work is still accepted meanwhile, so a locked operation can finish;
/// 3. stops accepting work: from here every call fails with [`Error::Shutdown`]
///    and private queue ids are dead. Waiting items still pending get their
///    callback invoked once with [`MF_E_SHUTDOWN`](crate::error::HResult::MF_E_SHUTDOWN);
///    scheduled items still pending never run (their results are kept for
///    ever, as on Windows);
/// 4. lets every already-queued item run, then stops the threads and waits
///    for them, until the deadline. Completions owed meanwhile (a Begin
///    operation finishing during the drain) are delivered on a thread of the
///    shutdown's own, `mfwq-shutdown`, with the status the operation set;
/// 5. a queue whose threads are still busy at the deadline (a callback that
///    does not return) is reported (a `tracing` error naming the queue, the
///    thread and the callback's address) and left behind: the items it has
///    not started are taken from it and invoked on `mfwq-shutdown` with the
///    status `MF_E_SHUTDOWN` (a [`spawn`](crate::spawn) closure simply runs),
///    and its thread exits by itself once the callback returns. The shutdown
///    waits [`SHUTDOWN_GRACE`] more for what it delivers, then returns; a
///    later [`startup`](super::startup) works even while the old thread is still blocked.
///
/// Called from a queue thread it skips step 2 and does not wait for its own
/// thread, which finishes its backlog after the current item returns (docs/behaviour.md#d36).
/// A shutdown with nothing started returns `Ok` and does nothing.
#[doc(alias = "MFShutdown")]
#[doc(alias = "RtwqShutdown")]
pub fn shutdown() -> Result<()> {
    let platform = &*PLATFORM;
    {
        let mut lifecycle = platform.lifecycle.lock();
        if lifecycle.startup_count <= 0 {
            return Ok(());
        }
        lifecycle.startup_count -= 1;
        if lifecycle.startup_count > 0 {
            return Ok(());
        }
        accounting::on_shutdown();
    }
    let deadline = deadline_after(Instant::now(), shutdown_timeout());
    crate::observe::shutdown(ShutdownPhase::Begin);
    events::notify_shutdown_start();
    if let Some(epoch) = platform.epoch.load_full() {
        epoch.service_shutdown_started();
    }
    if sched::current_queue().is_none() {
        platform.wait_for_locks(deadline);
    }
    let (epoch, rescue) = {
        let lifecycle = platform.lifecycle.lock();
        if lifecycle.startup_count > 0 {
            tracing::debug!("platform restarted while shutting down; it stays up");
            return Ok(());
        }
        // Before the epoch goes: whoever finds no epoch finds the rescue queue.
        let rescue = QueueCore::new(QueueId::UNDEFINED, "shutdown".into(), 1, None);
        platform.rescue.store(Some(Arc::clone(&rescue)));
        let epoch = platform.epoch.swap(None);
        platform.epoch_generation.fetch_add(1, Ordering::Release);
        (epoch, rescue)
    };
    let Some(epoch) = epoch else {
        platform.rescue.store(None);
        return Ok(());
    };
    epoch.stop_service(deadline);
    let (targets, retired) = {
        // Under the teardown lock: an allocation or a last unlock either
        // finished before (its queue is swept here) or sees no epoch.
        let mut retired = platform.retired.lock();
        (platform.registry.drain(), std::mem::take(&mut *retired))
    };
    // Serial queues first: they stop taking items while the queues below them
    // still run their steps; their backlogs drain through those queues. That
    // includes serial queues unlocked earlier that have not drained yet (one
    // may wait for a reply that can no longer come).
    let mut cores = Vec::new();
    let mut serials = Vec::new();
    for target in retired.into_iter().chain(targets) {
        match target {
            Target::Serial(serial) => {
                serial.close_at_shutdown();
                serials.push(serial);
            }
            Target::Core(core) => cores.push(core),
        }
    }
    cores.extend(epoch.queues.iter().cloned());
    crate::observe::shutdown(ShutdownPhase::Draining);
    for core in &cores {
        core.close();
    }
    let stuck: Vec<_> = cores
        .iter()
        .filter(|core| !core.join_until(deadline))
        .collect();
    for core in stuck {
        let stranded = core.take_backlog();
        report_stuck(core, stranded.len());
        deliver_stranded(stranded, &rescue);
    }
    // A serial queue that has not drained by now waits behind a callback that
    // does not return (its own, or one on the queue below it): what waits in
    // it is stranded the same way.
    for serial in serials.iter().filter(|serial| !serial.is_finished()) {
        let stranded = serial.take_backlog();
        if !stranded.is_empty() {
            tracing::error!(
                queue = %serial.id(),
                stranded = stranded.len(),
                "shutdown gave up on a serial queue held up by a callback that has not returned"
            );
        }
        deliver_stranded(stranded, &rescue);
    }
    // From here a completion finds no queue at all: it runs on the thread that
    // raises it if that is a platform thread (one left behind above), or is
    // refused (see `deliver_late`).
    platform.rescue.store(None);
    rescue.close();
    if !rescue.join_until(deadline_after(Instant::now(), SHUTDOWN_GRACE).max(deadline)) {
        report_stuck(&rescue, 0);
    }
    tracing::debug!("platform shut down");
    crate::observe::shutdown(ShutdownPhase::Complete);
    events::notify_shutdown_complete();
    crate::observe::on_shutdown_complete();
    Ok(())
}

/// Work a queue given up on had not started: delivered on the rescue queue,
/// results with the status `MF_E_SHUTDOWN`.
fn deliver_stranded(stranded: Vec<Work>, rescue: &Arc<QueueCore>) {
    for work in stranded {
        if let Some(result) = work.result() {
            result.set_status(crate::error::HResult::MF_E_SHUTDOWN);
        }
        if let Err(refused) = rescue.push(work, Band::Normal) {
            // Only if no thread can be started at all.
            let (_, work) = refused.into_parts();
            tracing::error!("no thread to deliver a stranded item; it is dropped");
            crate::panic::drop_quietly(work);
        }
    }
}

fn report_stuck(core: &QueueCore, stranded: usize) {
    // A program with a `tracing` subscriber gets the report there; any other
    // (every C program, which cannot see `tracing`) gets it on stderr: a
    // shutdown that gave up on a thread is never silent.
    let to_stderr = !tracing::dispatcher::has_been_set();
    for worker in core.running_workers() {
        tracing::error!(
            queue = %core.id(),
            thread = %worker.name,
            tid = worker.tid,
            callback = format_args!("{:#x}", worker.running),
            stranded,
            "shutdown stopped waiting for a callback that has not returned; its thread is left running"
        );
        if to_stderr {
            eprintln!(
                "mfwq: shutdown stopped waiting for a callback that has not returned: \
                 queue {} thread {} (tid {}) callback {:#x}; {stranded} item(s) behind it \
                 delivered with MF_E_SHUTDOWN; the thread is left running",
                core.id(),
                worker.name,
                worker.tid,
                worker.running
            );
        }
    }
}

/// Delivers work the platform owes (a completion, a cancelled or stopped
/// waiting item) when no queue takes it because the platform is shutting
/// down or is down: on the running shutdown's rescue queue; else, on a
/// queue thread that outlived its platform (one a shutdown left behind) or
/// where `last_resort` says so (the timer thread's completions do), right
/// here; else it is refused with [`Error::Shutdown`].
pub(crate) fn deliver_late(work: Work, last_resort: LastResort) -> Result<()> {
    let work = match PLATFORM.rescue.load_full() {
        Some(rescue) => match rescue.push(work, Band::Normal) {
            Ok(()) => return Ok(()),
            Err(refused) => refused.into_parts().1,
        },
        None => work,
    };
    let here = sched::current_queue();
    if here.is_some() || last_resort == LastResort::RunHere {
        work.run(here.unwrap_or(QueueId::UNDEFINED));
        return Ok(());
    }
    crate::panic::drop_quietly(work);
    Err(Error::Shutdown)
}

/// What [`deliver_late`] does when nothing can run the work any more and the
/// calling thread is not a queue thread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum LastResort {
    /// Refuse it with [`Error::Shutdown`]: the caller can be told (an
    /// `AsyncOperation` completed by its implementer).
    Refuse,
    /// Run it here: nobody could be told (an expired timer, a set event).
    RunHere,
}
