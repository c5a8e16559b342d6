//! The worker side of a queue: a worker thread's life (its thread policy,
//! its loop of taking and running jobs, how it waits for work when there is
//! none — spinning, yielding, watching for a real-time feeder, parking — and
//! the window queue's pump steps).

#[cfg(not(mfwq_loom))]
use super::invocation::CURRENT_SLOT;
use super::*;

impl<J: Job> QueueCore<J> {
    /// A starting worker lists itself and applies the queue's thread policy.
    #[cfg(not(mfwq_loom))]
    fn enter_thread_policy(&self) -> std::sync::Arc<crossbeam_utils::CachePadded<WorkerSlot>> {
        let tid = current_tid();
        let slot = std::sync::Arc::new(crossbeam_utils::CachePadded::new(WorkerSlot {
            tid,
            name: std::thread::current().name().unwrap_or("").to_owned(),
            running: std::sync::atomic::AtomicUsize::new(0),
            finished: std::sync::atomic::AtomicUsize::new(0),
            returned: std::sync::atomic::AtomicUsize::new(0),
        }));
        let policy = {
            let mut threads = self.threads.lock();
            threads.workers.push(std::sync::Arc::clone(&slot));
            let policy = threads.policy.clone();
            if let Some(policy) = &policy {
                policy.apply(tid);
                // What was applied may differ from what was asked (a
                // fallback), and decides whether the worker anticipates.
                self.anticipating
                    .store(policy.anticipates(), std::sync::atomic::Ordering::Relaxed);
            }
            policy
        };
        if let Some(policy) = policy {
            policy.report();
        }
        slot
    }

    /// An exiting worker takes itself off the list.
    #[cfg(not(mfwq_loom))]
    fn leave_thread_policy(&self, tid: i32) {
        let mut threads = self.threads.lock();
        if let Some(index) = threads.workers.iter().position(|slot| slot.tid == tid) {
            threads.workers.swap_remove(index);
        }
    }

    fn worker_main(&self, index: usize) {
        CURRENT_QUEUE.with(|current| current.set(Some(self.id)));
        let own = self.slots.get(index).map(|slot| &**slot);
        if own.is_some() {
            CURRENT_CORE.with(|current| current.set((self.address(), index)));
        }
        let mut streak = 0;
        let mut cadence = Cadence::new();
        #[cfg(not(mfwq_loom))]
        let slot = self.enter_thread_policy();
        #[cfg(not(mfwq_loom))]
        CURRENT_SLOT.with(|current| current.set(std::sync::Arc::as_ptr(&slot)));
        J::worker_started();
        loop {
            let work = match self.next_job(own, &mut streak) {
                Some(work) => work,
                None => {
                    J::worker_idle();
                    match self.wait_for_work(own, &mut streak, &mut cadence) {
                        Some(work) => work,
                        None => break,
                    }
                }
            };
            #[cfg(not(mfwq_loom))]
            slot.running
                .store(work.address(), std::sync::atomic::Ordering::Relaxed);
            work.run(self.id);
            #[cfg(not(mfwq_loom))]
            {
                slot.running.store(0, std::sync::atomic::Ordering::Relaxed);
                slot.finish_step();
            }
            self.step_pump();
        }
        J::worker_stopped();
        #[cfg(not(mfwq_loom))]
        CURRENT_SLOT.with(|current| current.set(std::ptr::null()));
        #[cfg(not(mfwq_loom))]
        self.leave_thread_policy(slot.tid);
        CURRENT_QUEUE.with(|current| current.set(None));
        CURRENT_CORE.with(|current| current.set((0, 0)));
        self.live_workers.fetch_sub(1, Ordering::SeqCst);
        // Wakes a join waiting with a deadline (which may be waiting for all
        // but its own thread, so every exit counts).
        {
            let _guard = self.exited_lock.lock();
            self.exited.notify_all();
        }
    }

    /// Polls briefly, then parks; `None` once the queue is closed and empty.
    /// Other workers' slots are looked into only after the spinning rounds
    /// (their owners are about to run them) and before parking. The one
    /// worker of a real-time queue also keeps the rhythm of its arrivals and,
    /// once a feeder is steady, wakes itself for the next item
    /// (`cadence.rs`).
    fn wait_for_work(
        &self,
        own: Option<&Slot<J>>,
        streak: &mut u32,
        cadence: &mut Cadence,
    ) -> Option<J> {
        if !self.anticipates() {
            // A rhythm learned before anticipation was turned off (or the
            // policy changed) is stale by the time it is turned on again.
            cadence.forget_if_known();
            return self.wait_for_work_in(own, streak, None);
        }
        let work = self.wait_for_work_in(own, streak, Some(&mut *cadence));
        if work.is_some() {
            cadence.arrived(std::time::Instant::now());
        }
        work
    }

    /// Whether this queue's worker anticipates a periodic feeder: the one
    /// worker of a queue whose thread policy says so
    /// ([`ThreadPolicy::anticipates`]), while anticipation is on. Never under
    /// loom, whose models keep the plain protocol.
    #[inline]
    fn anticipates(&self) -> bool {
        !cfg!(mfwq_loom)
            && !self.is_pool()
            && self.anticipating.load(std::sync::atomic::Ordering::Relaxed)
            && cadence::enabled()
    }

    /// Polls `own` and the bands until `until`, or until the queue closes:
    /// the watch for an anticipated item. The worker is not counted idle
    /// meanwhile, so a push does not wake it: it finds the item here. No
    /// `PAUSE` (`spin_loop`) in this loop: under KVM, pause-loop exiting
    /// hands a vCPU that keeps pausing back to the host, which then delays
    /// the very wake-ups (the feeder's timer) the watch waits for. (Measured
    /// once each way, at 2.667 ms under load: the feeder's p99 wake-up
    /// lateness was 84 µs with `PAUSE` and 62 µs without; the parking worker's
    /// runs gave 46–79.)
    fn watch_for_work(
        &self,
        own: Option<&Slot<J>>,
        streak: &mut u32,
        until: std::time::Instant,
    ) -> Option<J> {
        loop {
            for _ in 0..32 {
                if let Some(work) = self.next_job(own, streak) {
                    return Some(work);
                }
            }
            if self.sleep.is_closed() || std::time::Instant::now() >= until {
                return None;
            }
        }
    }

    fn wait_for_work_in(
        &self,
        own: Option<&Slot<J>>,
        streak: &mut u32,
        mut cadence: Option<&mut Cadence>,
    ) -> Option<J> {
        let now = std::time::Instant::now;
        // A window queue's pump step is due `interval` after the idle spell
        // began (or after the last step), however often the park is cut
        // short by wake-ups or watches meanwhile.
        let next_pump = || {
            self.pump
                .as_ref()
                .and_then(|pump| now().checked_add(pump.interval))
        };
        let mut pump_at = next_pump();
        loop {
            let yield_rounds = if self.no_yield.load(std::sync::atomic::Ordering::Relaxed) {
                0
            } else {
                YIELD_ROUNDS
            };
            for round in 0..SPIN_ROUNDS + yield_rounds {
                // No look at the gate here: park checks it, and the poll
                // is short.
                if let Some(work) = self.next_job(own, streak) {
                    return Some(work);
                }
                if round < SPIN_ROUNDS {
                    std::hint::spin_loop();
                } else {
                    if let Some(work) = self.steal(own) {
                        return Some(work);
                    }
                    thread::yield_now();
                }
            }
            let watch = cadence
                .as_deref_mut()
                .and_then(|cadence| cadence.watch(now()));
            // The earlier of the two, if any.
            let deadline = pump_at
                .into_iter()
                .chain(watch.map(|watch| watch.wake_at))
                .min();
            let find = || self.next_job(own, streak).or_else(|| self.steal(own));
            match self.sleep.park(find, deadline) {
                Parked::Work(work) => return Some(work),
                Parked::Closed => return None,
                Parked::Woken => continue,
                Parked::TimedOut => {
                    if let (Some(watch), Some(cadence)) = (watch, cadence.as_deref_mut()) {
                        if now() >= watch.wake_at {
                            self.watches
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if let Some(work) = self.watch_for_work(own, streak, watch.until) {
                                self.anticipated
                                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                return Some(work);
                            }
                            cadence.missed();
                        }
                    }
                    if pump_at.is_some_and(|pump_at| now() >= pump_at) {
                        self.step_pump();
                        pump_at = next_pump();
                    }
                }
            }
        }
    }

    fn step_pump(&self) {
        if let Some(pump) = &self.pump {
            let mut step = lock(&pump.step);
            // The step catches and reports its own panics (it is built with
            // the panic guard by the layer that makes window queues).
            (*step)();
        }
    }
}

/// The calling thread's Linux thread id (0 where there is none).
pub(crate) fn current_tid() -> i32 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_gettid) as i32 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

pub(super) fn spawn_worker<J: Job>(
    name: String,
    core: Arc<QueueCore<J>>,
    index: usize,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name(name)
        .spawn(move || core.worker_main(index))
}
