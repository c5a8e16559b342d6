//! Switching observation on and off: the mode the hot path reads, recording
//! sessions, the environment variables, and what happens at shutdown and at
//! process exit.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use parking_lot::Mutex;

use super::snapshot::Snapshot;
use super::writer::{Control, TraceTotals, Writer};

/// Environment variable read at the first startup: a path to record a trace
/// to (`%p` becomes the process id).
pub const TRACE_ENV: &str = "MFWQ_TRACE";
/// Environment variable read at the first startup: `1` collects statistics,
/// prints them at every final shutdown and publishes them live; `live` only
/// publishes; `print` only prints; `0` or empty does nothing.
pub const STATS_ENV: &str = "MFWQ_STATS";

pub(crate) const TRACE: u8 = 1;
pub(crate) const STATS: u8 = 2;

/// What the hot path checks: 0 when nothing observes.
pub(crate) static MODE: AtomicU8 = AtomicU8::new(0);

static PRINT_AT_SHUTDOWN: AtomicBool = AtomicBool::new(false);
/// Statistics asked for ([`enable_stats`], `MFWQ_STATS`): they stay on when
/// a recording (which needs them for its depth counters) ends.
static STATS_WANTED: AtomicBool = AtomicBool::new(false);
static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

struct Active {
    control: Arc<Control>,
    writer: std::thread::JoinHandle<io::Result<TraceTotals>>,
}

static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);

/// Held across the whole of a start and of a stop (the writer's last drain
/// and join included), so that a recording started while another stops
/// cannot have its mode reset or its rings drained by the old writer.
static LIFECYCLE: Mutex<()> = Mutex::new(());

/// A trace being recorded: [`stop`](Recording::stop) (or drop) ends it.
/// One at a time per process; the file is valid at every moment (appended
/// packet by packet), and complete once `stop` returns.
///
/// ```
/// let _platform = mfwq::Platform::start()?;
/// let path = std::env::temp_dir().join(format!("recording-{}.pftrace", std::process::id()));
/// let recording = mfwq::observe::Recording::start(&path).unwrap();
/// assert!(mfwq::observe::Recording::start(&path).is_err()); // one at a time
/// recording.stop().unwrap();
/// # std::fs::remove_file(path).unwrap();
/// # Ok::<(), mfwq::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "dropping a Recording stops it"]
pub struct Recording {
    stopped: bool,
}

impl Recording {
    /// Starts recording to `path` (created or truncated). Fails with
    /// `AlreadyExists` while another recording runs (including one started
    /// by `MFWQ_TRACE`), or with the error creating the file.
    pub fn start(path: impl AsRef<Path>) -> io::Result<Recording> {
        start_session(path.as_ref())?;
        Ok(Recording { stopped: false })
    }

    /// Writes everything recorded so far to the file (waits at most a second).
    pub fn flush(&self) {
        flush(Duration::from_secs(1));
    }

    /// Stops recording, writes the rest, and says what was written.
    pub fn stop(mut self) -> io::Result<TraceTotals> {
        self.stopped = true;
        stop_session().unwrap_or(Ok(TraceTotals::default()))
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if !self.stopped {
            let _ = stop_session();
        }
    }
}

fn start_session(path: &Path) -> io::Result<()> {
    let _lifecycle = LIFECYCLE.lock();
    let mut active = ACTIVE.lock();
    if active.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a trace is already being recorded",
        ));
    }
    let file = open_exclusive(path)?;
    super::clock::init();
    let session = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
    // What an earlier session interned or left behind is not this one's.
    super::record::start_session();
    let writer = Writer::new(file, session, writer_failed);
    let control = Control::new();
    super::record::SESSION.store(session, Ordering::Release);
    MODE.fetch_or(TRACE | STATS, Ordering::AcqRel);
    let thread_control = Arc::clone(&control);
    let spawned = std::thread::Builder::new()
        .name("mfwq-trace-writer".into())
        .spawn(move || writer.run(&thread_control));
    match spawned {
        Ok(writer) => {
            *active = Some(Active { control, writer });
            register_exit_hook();
            Ok(())
        }
        Err(error) => {
            end_mode();
            Err(error)
        }
    }
}

/// Opens `path` for a new trace, truncated, and holds an exclusive lock on it
/// for as long as it records: a second process given the same path (a child
/// that inherited `MFWQ_TRACE` without `%p`) is refused instead of writing
/// into the same file.
fn open_exclusive(path: &Path) -> io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "another process records to this file (put %p in the path for one file per process)",
            ));
        }
    }
    file.set_len(0)?;
    Ok(file)
}

fn end_mode() {
    super::record::SESSION.store(0, Ordering::Release);
    let keep = if STATS_WANTED.load(Ordering::Acquire) {
        !TRACE
    } else {
        !(TRACE | STATS)
    };
    MODE.fetch_and(keep, Ordering::AcqRel);
}

/// Ends the current session; `None` when there was none.
fn stop_session() -> Option<io::Result<TraceTotals>> {
    let _lifecycle = LIFECYCLE.lock();
    let active = ACTIVE.lock().take()?;
    end_mode();
    active.control.stop();
    let totals = active
        .writer
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the trace writer panicked")));
    // Rings left by threads that recorded: freed now, not at their next
    // recording (a thread racing the end may register one more, which the
    // next session's writer discards).
    super::record::RINGS.lock().clear();
    Some(totals)
}

/// The writer could not write (disk full, file gone; the writer calls this
/// itself): recording ends here, the rest of the session records nothing,
/// and flushes stop waiting.
fn writer_failed() {
    end_mode();
}

/// Asks the writer to write everything recorded so far.
pub(crate) fn flush(limit: Duration) {
    let control = ACTIVE
        .lock()
        .as_ref()
        .map(|active| Arc::clone(&active.control));
    if let Some(control) = control {
        control.flush(limit);
    }
}

/// Switches statistics on for the rest of the process (they cost a few
/// atomic increments per item and one allocation; see the module docs).
///
/// ```
/// mfwq::observe::enable_stats();
/// assert!(mfwq::observe::stats().pid > 0);
/// ```
pub fn enable_stats() {
    super::clock::init();
    STATS_WANTED.store(true, Ordering::Release);
    MODE.fetch_or(STATS, Ordering::AcqRel);
}

/// Switches statistics off again (they stay on while a trace is recorded).
/// The counts so far remain in [`stats`]; items put while they were on are
/// still timed when they run.
///
/// ```
/// mfwq::observe::enable_stats();
/// mfwq::observe::disable_stats();
/// ```
pub fn disable_stats() {
    STATS_WANTED.store(false, Ordering::Release);
    let _active = ACTIVE.lock();
    if MODE.load(Ordering::Acquire) & TRACE == 0 {
        MODE.fetch_and(!STATS, Ordering::AcqRel);
    }
}

/// The statistics now (empty until statistics or a trace were switched on).
pub fn stats() -> Snapshot {
    super::stats::snapshot()
}

/// Reads `MFWQ_TRACE` and `MFWQ_STATS` (once per process, at the first
/// startup).
pub(crate) fn on_startup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Some(path) = std::env::var_os(TRACE_ENV).filter(|path| !path.is_empty()) {
            let path = expand_pid(&path.to_string_lossy());
            if let Err(error) = start_session(&path) {
                eprintln!(
                    "mfwq: {TRACE_ENV}: cannot record to {}: {error}",
                    path.display()
                );
            }
        }
        let stats = std::env::var(STATS_ENV).unwrap_or_default();
        let (collect, publish, print) = match stats.trim() {
            "" | "0" => (false, false, false),
            "live" => (true, true, false),
            "print" => (true, false, true),
            "1" => (true, true, true),
            other => {
                eprintln!("mfwq: {STATS_ENV}={other:?} ignored: use 1, live, print or 0");
                (false, false, false)
            }
        };
        if collect {
            enable_stats();
            PRINT_AT_SHUTDOWN.store(print, Ordering::Relaxed);
            if publish {
                super::publish::start();
            }
            register_exit_hook();
        }
    });
}

fn expand_pid(path: &str) -> PathBuf {
    PathBuf::from(path.replace("%p", &std::process::id().to_string()))
}

/// After a final shutdown: the statistics table if asked for, and the trace
/// written up to here.
pub(crate) fn on_shutdown_complete() {
    if PRINT_AT_SHUTDOWN.load(Ordering::Relaxed) {
        eprint!("{}", super::snapshot::table(&super::stats::snapshot()));
    }
    flush(Duration::from_secs(1));
}

/// At process exit (from `exit`, or the end of `main`): the trace is
/// finished and the live statistics file removed, whether or not the
/// program shut the platform down. (Unix only: elsewhere a trace is complete
/// at each final shutdown and at `Recording::stop`.)
fn register_exit_hook() {
    #[cfg(unix)]
    {
        static ONCE: Once = Once::new();
        /// The process that registered the hook: a child made by `fork`
        /// inherits the hook but not the writer thread, and must not wait
        /// for it (nor remove the parent's statistics file).
        static REGISTERED_BY: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        extern "C" fn at_exit() {
            if REGISTERED_BY.load(Ordering::Relaxed) != std::process::id() {
                return;
            }
            let _ = stop_session();
            super::publish::stop();
        }
        ONCE.call_once(|| {
            REGISTERED_BY.store(std::process::id(), Ordering::Relaxed);
            // SAFETY: `at_exit` is a plain function with no arguments that
            // never unwinds (`stop_session` maps a writer panic to an error).
            unsafe {
                libc::atexit(at_exit);
            }
        });
    }
}
