//! The platform's lifecycle: startup and shutdown counting, the platform lock
//! with the accounting Windows shows, the epoch that owns the platform queues,
//! and the shutdown protocol of docs/behaviour.md#d1 (see `ARCHITECTURE.md`).

pub(crate) mod dispatch;
pub(crate) mod events;
pub(crate) mod registry;
pub(crate) mod route;
mod shutdown;

pub use shutdown::shutdown;
pub(crate) use shutdown::{deliver_late, LastResort};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::ids::PlatformQueue;
use crate::object::accounting;
use crate::platform::registry::Registry;
use crate::work::target::Target;
use crate::work::QueueCore;

/// `MF_VERSION`: SDK 2, API 0x70.
pub const MF_VERSION: u32 = 0x0002_0070;
/// `MF_API_VERSION`.
pub const MF_API_VERSION: u32 = 0x0070;
/// The default bound on how long the last shutdown waits for platform and queue locks.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Environment variable that sets the shutdown timeout in milliseconds.
pub const SHUTDOWN_TIMEOUT_ENV: &str = "MFWQ_SHUTDOWN_TIMEOUT_MS";
/// How long the last shutdown waits, past its [timeout](shutdown_timeout), for
/// the callbacks it delivers itself (completions owed during the drain, items
/// stranded behind a callback that does not return) before it returns anyway.
/// So the last shutdown returns within `shutdown_timeout() + SHUTDOWN_GRACE`
/// plus the time the system takes to switch threads.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(100);

/// `now + delay`, or a deadline a century away when that does not fit.
pub(crate) fn deadline_after(now: Instant, delay: Duration) -> Instant {
    const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(delay)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

/// A per-epoch service that a layer above the platform owns (the timers of
/// scheduled items, waiting items and periodic callbacks): made on first use
/// by that layer through [`Epoch::service`], stopped by the last shutdown,
/// dropped with the epoch. The platform knows it only through this trait, so
/// that it imports nothing above itself.
pub(crate) trait EpochService: Send + Sync + 'static {
    /// The last shutdown has begun (the queues still run): end what must
    /// end while they do.
    fn shutdown_started(&self) {}
    /// The last shutdown: stop, waiting for the service's threads at most
    /// until `deadline`.
    fn stop(&self, deadline: Instant);
    /// For [`Epoch::service`]'s downcast.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// The platform queues and the threads of one startup-to-shutdown period.
pub(crate) struct Epoch {
    queues: [Arc<QueueCore>; 6],
    /// The epoch's one service (see [`EpochService`]), once something used it.
    service: std::sync::OnceLock<Box<dyn EpochService>>,
    /// Set by the last shutdown before it stops the service: no service is
    /// made afterwards. Held while one is made.
    service_stopped: Mutex<bool>,
    /// The shared queues of `lock_shared_work_queue`, by class name.
    pub(crate) shared_queues:
        Mutex<std::collections::HashMap<crate::class_name::ClassName, crate::ids::QueueId>>,
}

impl Epoch {
    fn new() -> Epoch {
        let pool_size = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2);
        let make = |queue: PlatformQueue| {
            let workers = if queue.is_serial() { 1 } else { pool_size };
            let name = format!("{:?}", queue.id()).to_lowercase();
            QueueCore::new(queue.id(), name, workers, None)
        };
        Epoch {
            queues: PlatformQueue::ALL.map(make),
            service: std::sync::OnceLock::new(),
            service_stopped: Mutex::new(false),
            shared_queues: Mutex::new(std::collections::HashMap::new()),
        }
    }

    pub(crate) fn queue(&self, queue: PlatformQueue) -> &Arc<QueueCore> {
        &self.queues[queue as usize]
    }

    /// The epoch's service of type `S`, made by `make` on first use;
    /// [`Error::Shutdown`] once the last shutdown has stopped services.
    ///
    /// # Panics
    /// If the epoch already holds a service of another type: there is one.
    #[inline]
    pub(crate) fn service<S: EpochService>(&self, make: impl FnOnce() -> S) -> Result<&S> {
        let service = match self.service.get() {
            Some(service) => service,
            None => {
                let stopped = self.service_stopped.lock();
                if *stopped {
                    return Err(Error::Shutdown);
                }
                self.service.get_or_init(|| Box::new(make()))
            }
        };
        Ok(service
            .as_any()
            .downcast_ref::<S>()
            .expect("an epoch has one service type"))
    }

    /// The last shutdown has begun: tells the service, if there is one.
    fn service_shutdown_started(&self) {
        if let Some(service) = self.service.get() {
            service.shutdown_started();
        }
    }

    /// The last shutdown: no service is made any more; the one there is stops.
    fn stop_service(&self, deadline: Instant) {
        *self.service_stopped.lock() = true;
        if let Some(service) = self.service.get() {
            service.stop(deadline);
        }
    }
}

struct Lifecycle {
    startup_count: i64,
}

pub(crate) struct PlatformState {
    lifecycle: Mutex<Lifecycle>,
    /// `Some` from the first startup until the last shutdown stops accepting
    /// work. Read on every put without a lock: the queues gate their own pushes,
    /// so a put that still sees an epoch shutdown has replaced either lands
    /// before its queue closes (and runs in the drain) or is refused.
    epoch: ArcSwapOption<Epoch>,
    /// Moves on after every change of `epoch`, so that cached routes notice.
    epoch_generation: AtomicU64,
    pub(crate) registry: Registry,
    /// Queues unlocked to zero that may still be draining; shutdown closes and
    /// joins them. Its lock also orders allocation and last unlocks against
    /// shutdown's sweep of the registry (see `teardown`).
    retired: Mutex<Vec<Target>>,
    /// While the last shutdown runs: the queue that delivers what the platform
    /// still owes once no other queue takes work (see [`deliver_late`]).
    rescue: ArcSwapOption<QueueCore>,
    /// Signalled when an explicit platform or queue lock is released.
    lock_released: Condvar,
    lock_released_mutex: Mutex<()>,
}

pub(crate) static PLATFORM: LazyLock<PlatformState> = LazyLock::new(|| PlatformState {
    lifecycle: Mutex::new(Lifecycle { startup_count: 0 }),
    epoch: ArcSwapOption::const_empty(),
    epoch_generation: AtomicU64::new(0),
    registry: Registry::new(),
    retired: Mutex::new(Vec::new()),
    rescue: ArcSwapOption::const_empty(),
    lock_released: Condvar::new(),
    lock_released_mutex: Mutex::new(()),
});

static SHUTDOWN_TIMEOUT_MS: AtomicU64 = AtomicU64::new(u64::MAX);

/// The platform lock count as Windows' probe measures it: how many
/// `unlock_platform` calls are possible before the platform looks shut down.
///
/// ```
/// let _platform = mfwq::Platform::start().unwrap();
/// assert!(mfwq::platform_lock_count() >= 1);
/// ```
pub fn platform_lock_count() -> i64 {
    accounting::lock_count()
}

/// Whether a version is one `startup` accepts: low word `0x0070`, high word 1 or 2 (docs/behaviour.md#d2).
pub fn is_supported_version(version: u32) -> bool {
    version & 0xFFFF == MF_API_VERSION && matches!(version >> 16, 1 | 2)
}

/// `MFStartup(version, flags)`: starts the platform, or nests one more startup.
///
/// Startups nest and share one count with [`rtwq_startup`]; each needs one
/// [`shutdown`]. A version other than `0x00010070` or `0x00020070` is refused
/// with [`Error::BadStartupVersion`] and starts nothing. The startup flags of
/// the C API (`MFSTARTUP_LITE`, ...) change nothing on Linux and are not taken.
///
/// ```
/// mfwq::startup(mfwq::MF_VERSION).unwrap();
/// assert_eq!(mfwq::startup(0xDEAD_0070), Err(mfwq::Error::BadStartupVersion));
/// mfwq::shutdown().unwrap();
/// ```
#[doc(alias = "MFStartup")]
pub fn startup(version: u32) -> Result<()> {
    if !is_supported_version(version) {
        return Err(Error::BadStartupVersion);
    }
    rtwq_startup()
}

/// `RtwqStartup()`: as [`startup`] without a version.
#[doc(alias = "RtwqStartup")]
pub fn rtwq_startup() -> Result<()> {
    let platform = &*PLATFORM;
    let mut lifecycle = platform.lifecycle.lock();
    lifecycle.startup_count += 1;
    let first = lifecycle.startup_count == 1;
    if first {
        // A startup during the lock wait of the last shutdown revives that epoch.
        if platform.epoch.load().is_none() {
            platform.epoch.store(Some(Arc::new(Epoch::new())));
            platform.epoch_generation.fetch_add(1, Ordering::Release);
        }
        accounting::on_startup();
        crate::object::checked::on_startup();
        crate::observe::on_startup();
        tracing::debug!("platform started");
    }
    drop(lifecycle);
    if first {
        // Listeners run on this thread, with no lock held (docs/behaviour.md#d25).
        events::notify_initialization_complete();
    }
    Ok(())
}

impl PlatformState {
    fn wait_for_locks(&self, deadline: Instant) {
        let mut guard = self.lock_released_mutex.lock();
        loop {
            let explicit = accounting::explicit_locks();
            let queue_locks = self.registry.extra_locks();
            if explicit <= 0 && queue_locks <= 0 {
                return;
            }
            if self
                .lock_released
                .wait_until(&mut guard, deadline)
                .timed_out()
            {
                tracing::warn!(
                    explicit,
                    queue_locks,
                    "shutdown timed out waiting for locks; stopping anyway"
                );
                return;
            }
        }
    }

    /// Wakes a shutdown waiting for locks.
    pub(crate) fn notify_lock_released(&self) {
        let _guard = self.lock_released_mutex.lock();
        self.lock_released.notify_all();
    }

    /// Read before [`load_epoch`](Self::load_epoch): an epoch read after this
    /// generation is at least as new as the generation says.
    pub(crate) fn epoch_generation(&self) -> u64 {
        self.epoch_generation.load(Ordering::Acquire)
    }

    pub(crate) fn load_epoch(&self) -> Option<Arc<Epoch>> {
        self.epoch.load_full()
    }

    /// Runs `f` on the running epoch; `Err(Shutdown)` if there is none.
    /// `f` must not run user code.
    pub(crate) fn with_epoch<R>(&self, f: impl FnOnce(&Epoch) -> R) -> Result<R> {
        let epoch = self.epoch.load();
        epoch.as_deref().map(f).ok_or(Error::Shutdown)
    }

    /// Runs `f` under the teardown lock if the platform is running: allocation
    /// and a queue's last unlock go through here, so that shutdown's sweep of
    /// the registry (which swaps the epoch out first, then takes this lock)
    /// misses neither a queue allocated nor one retired concurrently.
    pub(crate) fn teardown<R>(&self, f: impl FnOnce(&mut Vec<Target>) -> Result<R>) -> Result<R> {
        let mut retired = self.retired.lock();
        if self.epoch.load().is_none() {
            return Err(Error::Shutdown);
        }
        retired.retain(|target| !target.is_finished());
        f(&mut retired)
    }

    /// Runs `allocate` if new queues may be allocated: started, and the lock
    /// count above zero.
    pub(crate) fn allocate_if_running<R>(&self, allocate: impl FnOnce() -> Result<R>) -> Result<R> {
        self.teardown(|_| {
            if accounting::is_started() && platform_lock_count() > 0 {
                allocate()
            } else {
                Err(Error::Shutdown)
            }
        })
    }
}

/// Whether the platform is started (some startup is not yet balanced by a shutdown).
#[inline]
pub fn is_started() -> bool {
    // The startup lock is held exactly while the count is above zero.
    accounting::is_started()
}

// The order of errors, in one place (docs/behaviour.md#d34). Every call that
// needs the platform fails with `MF_E_SHUTDOWN` while it is not started,
// before it looks at its arguments and before any user code (a callback's
// parameters, a `Drop`) runs for it: first `ensure_started`, then the call's
// own checks, whose errors go through `shutdown_first`. A shutdown that
// races the call is caught where the work is handed over (the epoch is gone,
// or the queue refuses the push), again as `MF_E_SHUTDOWN`. The rule itself
// is `object::accounting::shutdown_first`, beside the startup count it reads,
// so that the layers below this one (`work/poll.rs`) use it too.

/// `Ok` while the platform is started, else [`Error::Shutdown`]: the first
/// check of every call that needs the platform.
///
/// ```
/// assert_eq!(mfwq::ensure_started(), Err(mfwq::Error::Shutdown));
/// let _platform = mfwq::Platform::start()?;
/// assert_eq!(mfwq::ensure_started(), Ok(()));
/// # Ok::<(), mfwq::Error>(())
/// ```
#[inline]
pub fn ensure_started() -> Result<()> {
    if is_started() {
        Ok(())
    } else {
        Err(Error::Shutdown)
    }
}

/// The error a call reports for a bad argument or queue: `error`, unless the
/// platform is not started, in which case [`Error::Shutdown`] wins.
///
/// ```
/// use mfwq::Error;
/// assert_eq!(mfwq::shutdown_first(Error::InvalidArg), Error::Shutdown);
/// let _platform = mfwq::Platform::start()?;
/// assert_eq!(mfwq::shutdown_first(Error::InvalidArg), Error::InvalidArg);
/// # Ok::<(), mfwq::Error>(())
/// ```
#[inline]
pub fn shutdown_first(error: Error) -> Error {
    accounting::shutdown_first(error)
}

/// `MFLockPlatform()`: one more platform lock; the last shutdown waits for it (bounded).
/// Always succeeds.
#[doc(alias = "MFLockPlatform")]
#[doc(alias = "RtwqLockPlatform")]
pub fn lock_platform() {
    accounting::lock_platform();
}

/// `MFUnlockPlatform()`: one platform lock less. Always succeeds, also after
/// shutdown; the count may go below zero, and the platform then looks shut
/// down until it is locked again, as on Windows (docs/behaviour.md#w10).
#[doc(alias = "MFUnlockPlatform")]
#[doc(alias = "RtwqUnlockPlatform")]
pub fn unlock_platform() {
    if accounting::unlock_platform() {
        PLATFORM.notify_lock_released();
    }
}

/// How long the last shutdown waits for locks: set by [`set_shutdown_timeout`],
/// else by `MFWQ_SHUTDOWN_TIMEOUT_MS`, else 5 s.
pub fn shutdown_timeout() -> Duration {
    match SHUTDOWN_TIMEOUT_MS.load(Ordering::Relaxed) {
        u64::MAX => std::env::var(SHUTDOWN_TIMEOUT_ENV)
            .ok()
            .and_then(|ms| ms.trim().parse().ok())
            .map_or(DEFAULT_SHUTDOWN_TIMEOUT, Duration::from_millis),
        ms => Duration::from_millis(ms),
    }
}

/// Sets how long the last shutdown waits for platform and queue locks.
///
/// ```
/// use std::time::Duration;
/// mfwq::set_shutdown_timeout(Duration::from_millis(250));
/// assert_eq!(mfwq::shutdown_timeout(), Duration::from_millis(250));
/// ```
pub fn set_shutdown_timeout(timeout: Duration) {
    let ms = u64::try_from(timeout.as_millis())
        .unwrap_or(u64::MAX - 1)
        .min(u64::MAX - 1);
    SHUTDOWN_TIMEOUT_MS.store(ms, Ordering::Relaxed);
}

/// A started platform that shuts down when dropped: the RAII form of
/// [`startup`] / [`shutdown`].
///
/// ```
/// let platform = mfwq::Platform::start()?;
/// mfwq::put_work_item(mfwq::QueueId::MULTITHREADED, mfwq::callback(|_| {}), None)?;
/// drop(platform); // shutdown; the item above still runs first
/// # Ok::<(), mfwq::Error>(())
/// ```
#[must_use = "the platform shuts down when this guard is dropped"]
pub struct Platform {
    _private: (),
}

impl Platform {
    /// `startup(MF_VERSION)`, returning a guard.
    pub fn start() -> Result<Platform> {
        startup(MF_VERSION)?;
        Ok(Platform { _private: () })
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = shutdown();
    }
}
