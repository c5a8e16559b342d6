//! Live statistics for other processes: a JSON snapshot in a per-process
//! file on a memory file system, replaced four times a second.
//!
//! Why a file replaced by `rename` rather than a shared-memory page of
//! counters: a reader (`mfwq top`) always sees one whole snapshot — never a
//! half-updated one — with no cross-process lock or seqlock; the format is
//! self-describing JSON that any tool (`jq`, a script) reads, so no binary
//! layout has to stay stable between versions of the library and the
//! reader; and the cost is one snapshot per period on a background thread,
//! nothing on the hot path. `$XDG_RUNTIME_DIR` is a tmpfs on systemd
//! machines, so the file never touches a disk there.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::snapshot::Snapshot;

/// How often a process with live statistics replaces its snapshot.
pub const PUBLISH_INTERVAL: Duration = Duration::from_millis(250);

/// Where a process publishes its statistics: `$MFWQ_STATS_DIR`, else
/// `$XDG_RUNTIME_DIR/mfwq`, else `mfwq-<uid>` in the temporary directory;
/// the file is `<pid>.json`.
///
/// ```
/// let path = mfwq::observe::stats_path(42);
/// assert!(path.ends_with("42.json"));
/// ```
pub fn stats_path(pid: u32) -> PathBuf {
    stats_dir().join(format!("{pid}.json"))
}

fn stats_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MFWQ_STATS_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir).join("mfwq");
    }
    // SAFETY: getuid has no arguments and cannot fail.
    #[cfg(unix)]
    let uid = unsafe { libc::getuid() };
    #[cfg(not(unix))]
    let uid = 0;
    std::env::temp_dir().join(format!("mfwq-{uid}"))
}

/// Reads the statistics process `pid` published last.
///
/// ```no_run
/// let stats = mfwq::observe::read_published(1234)?;
/// println!("{} queues", stats.queues.len());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_published(pid: u32) -> io::Result<Snapshot> {
    let text = std::fs::read(stats_path(pid))?;
    serde_json::from_slice(&text).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
}

static PUBLISHING: AtomicBool = AtomicBool::new(false);
/// Held while a snapshot is written, so that `stop` removes the file after
/// the last one.
static WRITING: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// Starts the publishing thread (once per process).
pub(crate) fn start() {
    if PUBLISHING.swap(true, Ordering::AcqRel) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("mfwq-stats".into())
        .spawn(|| {
            while PUBLISHING.load(Ordering::Acquire) {
                if let Err(error) = publish() {
                    eprintln!(
                        "mfwq: cannot publish statistics to {}: {error}",
                        stats_path(std::process::id()).display()
                    );
                    return;
                }
                std::thread::sleep(PUBLISH_INTERVAL);
            }
        });
    if spawned.is_err() {
        PUBLISHING.store(false, Ordering::Release);
    }
}

/// Writes the current snapshot, atomically replacing the last one.
fn publish() -> io::Result<()> {
    let _writing = WRITING.lock();
    if !PUBLISHING.load(Ordering::Acquire) {
        return Ok(());
    }
    let path = stats_path(std::process::id());
    if let Some(dir) = path.parent() {
        prepare_dir(dir)?;
    }
    let staging = path.with_extension("json.new");
    // A fresh file, never through a link someone else left in the directory.
    let _ = std::fs::remove_file(&staging);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&staging)?;
    file.write_all(&serde_json::to_vec(&super::stats::snapshot())?)?;
    drop(file);
    std::fs::rename(&staging, &path)
}

/// Makes the directory, private to this user (0700), and refuses one that
/// is a link or belongs to someone else: in a shared temporary directory
/// another user could otherwise have the files written where they choose.
fn prepare_dir(dir: &std::path::Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let meta = std::fs::symlink_metadata(dir)?;
        // SAFETY: getuid has no arguments and cannot fail.
        let uid = unsafe { libc::getuid() };
        if !meta.is_dir() || meta.uid() != uid {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} is not a directory of this user", dir.display()),
            ));
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Stops publishing and removes the file (process exit).
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) fn stop() {
    if PUBLISHING.swap(false, Ordering::AcqRel) {
        let _writing = WRITING.lock();
        let path = stats_path(std::process::id());
        let _ = std::fs::remove_file(path.with_extension("json.new"));
        let _ = std::fs::remove_file(path);
    }
}
