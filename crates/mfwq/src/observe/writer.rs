//! The trace writer: one thread per recording session, at the lowest
//! priority, that drains every thread's ring, has its events encoded as
//! Perfetto packets (`packets.rs`, which also says what the tracks are, and
//! `items.rs` for the put, start and end of every item) and appends them to
//! the trace file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::packets::{Packets, THREAD_UUID_BASE, WRITER_SEQUENCE};
use super::record::{RingReader, DROPPED, RINGS};

/// How often the writer drains the rings.
const DRAIN_INTERVAL: Duration = Duration::from_millis(5);

/// The writer thread's nice value: the lowest priority there is for a
/// normal thread, so that it runs on CPU time the recorded program leaves
/// idle instead of taking a share of the program's. A program that keeps
/// every CPU busy then loses events (the trace says how many) rather than
/// throughput: at the default priority the writer, always behind at a
/// million items a second on two CPUs, took a third of the CPU time and
/// slowed every put by about as much as the rest of the recording together.
#[cfg(all(target_os = "linux", not(miri)))]
const WRITER_NICE: i32 = 19;

/// Gives the calling thread [`WRITER_NICE`]. Nice values are per thread on
/// Linux; elsewhere `setpriority` would lower the whole process, so the
/// writer keeps the default priority there.
fn lower_own_priority() {
    // Miri runs no system calls.
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        let tid = crate::sched::current_tid();
        // SAFETY: setpriority has no memory effects; it names this thread.
        // Lowering one's own priority needs no privilege; a failure leaves
        // the writer at the default priority, which only costs speed.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, WRITER_NICE);
        }
    }
}

/// What a finished recording wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceTotals {
    /// Events written.
    pub events: u64,
    /// Events lost because a thread's buffer was full.
    pub dropped: u64,
    /// Bytes written.
    pub bytes: u64,
}

#[derive(Default)]
struct Requests {
    stop: bool,
    /// The writer has given up (an I/O error): nobody will flush.
    failed: bool,
    flush_asked: u64,
    flush_done: u64,
}

/// What the recording API and the writer thread share.
pub(crate) struct Control {
    requests: Mutex<Requests>,
    changed: Condvar,
}

impl Control {
    pub(crate) fn new() -> Arc<Control> {
        Arc::new(Control {
            requests: Mutex::new(Requests::default()),
            changed: Condvar::new(),
        })
    }

    pub(crate) fn stop(&self) {
        self.requests.lock().stop = true;
        self.changed.notify_all();
    }

    fn failed(&self) {
        self.requests.lock().failed = true;
        self.changed.notify_all();
    }

    /// Asks for everything recorded so far to reach the file; waits at most
    /// `limit`.
    pub(crate) fn flush(&self, limit: Duration) {
        let mut requests = self.requests.lock();
        requests.flush_asked += 1;
        let ticket = requests.flush_asked;
        self.changed.notify_all();
        let deadline = std::time::Instant::now() + limit;
        while requests.flush_done < ticket && !requests.stop && !requests.failed {
            if self.changed.wait_until(&mut requests, deadline).timed_out() {
                break;
            }
        }
    }
}

/// The writer thread's state.
pub(crate) struct Writer {
    session: u64,
    out: BufWriter<File>,
    packets: Packets,
    next_sequence: u32,
    totals: TraceTotals,
    retired_dropped: u64,
    /// Called once if the writer gives up (an I/O error): the session that
    /// started it ends recording (`session.rs`), without this thread knowing
    /// anything of sessions.
    on_failure: fn(),
}

impl Writer {
    pub(crate) fn new(file: File, session: u64, on_failure: fn()) -> Writer {
        Writer {
            session,
            out: BufWriter::with_capacity(1 << 20, file),
            packets: Packets::new(),
            next_sequence: WRITER_SEQUENCE + 1,
            totals: TraceTotals::default(),
            retired_dropped: 0,
            on_failure,
        }
    }

    /// Runs the session until `control` says stop; returns what it wrote.
    pub(crate) fn run(self, control: &Control) -> io::Result<TraceTotals> {
        let on_failure = self.on_failure;
        lower_own_priority();
        let outcome = self.run_until_stopped(control);
        if outcome.is_err() {
            on_failure();
            control.failed();
        }
        outcome
    }

    fn run_until_stopped(mut self, control: &Control) -> io::Result<TraceTotals> {
        let mut flushed = 0;
        loop {
            let (stop, flush) = {
                let mut requests = control.requests.lock();
                if !requests.stop && requests.flush_asked == requests.flush_done {
                    control.changed.wait_for(&mut requests, DRAIN_INTERVAL);
                }
                (requests.stop, requests.flush_asked)
            };
            let outcome = self.drain();
            let outcome = outcome.and_then(|()| {
                if stop || flush > flushed {
                    self.out.flush()
                } else {
                    Ok(())
                }
            });
            flushed = flush;
            {
                let mut requests = control.requests.lock();
                requests.flush_done = flush;
                control.changed.notify_all();
            }
            outcome?;
            if stop {
                break;
            }
        }
        self.drain()?;
        self.packets.note_dropped(self.totals.dropped);
        self.out.write_all(&self.packets.buf)?;
        self.packets.buf.clear();
        self.out.flush()?;
        Ok(self.totals)
    }

    /// Encodes everything the rings hold, and the queues' depths.
    fn drain(&mut self) -> io::Result<()> {
        let mut rings = std::mem::take(&mut *RINGS.lock());
        // A ring registered for an earlier session (a thread that raced its
        // end) is not this trace's.
        rings.retain(|ring| ring.session == self.session);
        for ring in &mut rings {
            self.drain_ring(ring);
        }
        let mut live_dropped = 0;
        rings.retain(|ring| {
            let done = ring.consumer.is_abandoned() && ring.consumer.is_empty();
            if done {
                self.retired_dropped += ring.dropped.load(Ordering::Relaxed);
            } else {
                live_dropped += ring.dropped.load(Ordering::Relaxed);
            }
            !done
        });
        {
            let mut registered = RINGS.lock();
            let newer = std::mem::take(&mut *registered);
            *registered = rings;
            registered.extend(newer);
        }
        self.totals.dropped = self.retired_dropped + live_dropped;
        DROPPED.store(self.totals.dropped, Ordering::Relaxed);
        self.packets.sample_depths();
        self.out.write_all(&self.packets.buf)?;
        self.totals.bytes += self.packets.buf.len() as u64;
        self.packets.buf.clear();
        Ok(())
    }

    fn drain_ring(&mut self, ring: &mut RingReader) {
        if ring.sequence == 0 {
            ring.sequence = self.next_sequence;
            self.next_sequence += 1;
            self.packets.describe_thread(ring);
        }
        let available = ring.consumer.slots();
        if available == 0 {
            return;
        }
        let Ok(chunk) = ring.consumer.read_chunk(available) else {
            return;
        };
        let (first, second) = chunk.as_slices();
        let track = THREAD_UUID_BASE + u64::from(ring.sequence);
        for record in first.iter().chain(second) {
            self.packets.encode(ring.sequence, track, record);
        }
        self.totals.events += available as u64;
        chunk.commit_all();
    }
}
