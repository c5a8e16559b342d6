//! The five ways of running the same audio client, one at a time:
//!
//! - `bare SCHED_FIFO thread`: one thread, its own absolute timer, the work
//!   inline: no hand-off at all (the floor);
//! - `mfwq Pro Audio queue`: a private standard queue (one worker thread)
//!   registered with the "Pro Audio" MMCSS class, fed one block per period
//!   by the source thread; its worker anticipates the source's periods
//!   (`mfwq::set_realtime_anticipation`, on by default);
//! - `mfwq Pro Audio queue, parking`: the same with anticipation off: the
//!   worker parks between blocks and each put wakes it;
//! - `mfwq SCHED_OTHER queue`: the same queue without the registration;
//! - `tokio multi-thread`: a task per block spawned from the same source onto
//!   a two-worker multi-thread runtime.
//!
//! The source (a timer thread in an absolute-deadline `clock_nanosleep` loop,
//! like a sound server's period wake-up) runs `SCHED_FIFO` ten levels above
//! the Pro Audio queue wherever that is allowed, for all three queue
//! variants: only the thread that does the work differs between them.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use mfwq::{AsyncResult, QueueId, QueueType};

use super::rt::{self, Figures, Record, Samples, Work};

/// How long after the setup the first period starts.
const LEAD_NS: i64 = 30_000_000;
/// How long after the last deadline a run waits for blocks still queued.
const GRACE_NS: i64 = 5_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Floor,
    ProAudio,
    ProAudioParking,
    Other,
    Tokio,
}

pub const FLOOR: &str = "bare SCHED_FIFO thread";
pub const PRO_AUDIO: &str = "mfwq Pro Audio queue";
pub const PRO_AUDIO_PARKING: &str = "mfwq Pro Audio, parking";
pub const OTHER: &str = "mfwq SCHED_OTHER queue";
pub const TOKIO: &str = "tokio multi-thread";

/// In run order.
pub const VARIANTS: [(Variant, &str, &str); 5] = [
    (
        Variant::Floor,
        FLOOR,
        "one SCHED_FIFO thread, its own absolute timer, the work inline (the floor)",
    ),
    (
        Variant::ProAudio,
        PRO_AUDIO,
        "private standard queue registered \"Pro Audio\"; put_result of one reused result per period",
    ),
    (
        Variant::ProAudioParking,
        PRO_AUDIO_PARKING,
        "the same with anticipation off: the worker parks, each put wakes it",
    ),
    (
        Variant::Other,
        OTHER,
        "the same queue without MMCSS registration (SCHED_OTHER worker)",
    ),
    (
        Variant::Tokio,
        TOKIO,
        "a task per block spawned onto a 2-worker tokio multi-thread runtime",
    ),
];

/// What every variant of one run shares.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    pub periods: usize,
    pub period_ns: i64,
    pub work: Work,
    /// The Pro Audio class's SCHED_FIFO priority: also the floor's.
    pub rt_priority: i32,
    /// Whether SCHED_FIFO may be used at all (probed at startup).
    pub privileged: bool,
}

impl Setup {
    fn source_priority(&self) -> i32 {
        (self.rt_priority + 10).min(99)
    }
}

/// What one variant gave, in one run or merged over several.
pub struct Outcome {
    pub samples: Option<Samples>,
    /// The scheduling of the thread(s) that did the work, as the kernel reports it.
    pub policy: String,
    /// Whether that is a real-time policy (in every run merged).
    pub realtime: bool,
    /// The source thread's scheduling, for the variants fed by one.
    pub source_policy: Option<String>,
    /// A Pro Audio queue's anticipation counters.
    pub anticipation: Option<Anticipation>,
    pub notes: Vec<String>,
}

/// How often a Pro Audio queue's worker was awake when its block came.
#[derive(Clone, Copy, Debug)]
pub struct Anticipation {
    pub on: bool,
    pub caught: u64,
    pub watches: u64,
}

impl Outcome {
    fn failed(error: String) -> Outcome {
        Outcome {
            samples: None,
            policy: "-".to_owned(),
            realtime: false,
            source_policy: None,
            anticipation: None,
            notes: vec![error],
        }
    }

    /// The figures over every period measured.
    pub fn figures(&self) -> Option<Figures> {
        self.samples.as_ref().map(Samples::figures)
    }

    /// Adds a later run of the same variant: its measurements join this
    /// one's; a run that failed fails the whole; notes already given are
    /// not repeated.
    pub fn merge(&mut self, later: Outcome) {
        self.samples = match (self.samples.take(), later.samples) {
            (Some(mut samples), Some(more)) => {
                samples.merge(more);
                Some(samples)
            }
            _ => None,
        };
        if self.policy != later.policy {
            self.notes
                .push(format!("a later run's worker ran {} instead", later.policy));
        }
        self.realtime &= later.realtime;
        self.source_policy = self.source_policy.take().or(later.source_policy);
        self.anticipation = match (self.anticipation, later.anticipation) {
            (Some(a), Some(b)) => Some(Anticipation {
                on: a.on,
                caught: a.caught + b.caught,
                watches: a.watches + b.watches,
            }),
            (a, b) => a.or(b),
        };
        for note in later.notes {
            if !self.notes.contains(&note) {
                self.notes.push(note);
            }
        }
    }

    /// The notes, with those made from the merged figures (this outcome's
    /// [`figures`](Self::figures), computed once by the caller): the
    /// source's own lateness and the queue's anticipation.
    pub fn all_notes(&self, name: &str, figures: Option<&Figures>) -> Vec<String> {
        let mut notes = self.notes.clone();
        if let (Some(policy), Some(figures)) = (&self.source_policy, figures) {
            notes.push(format!(
                "{name}: source thread {policy}, woke p50 {:.0} / p99 {:.0} / max {:.0} us late; \
                 hand-off (block start minus the source's wake-up) p50 {:.0} / p99 {:.0} / \
                 p99.9 {:.0} / max {:.0} us; of {} missed, {} had a source that woke too late \
                 for the work alone to end in time",
                figures.source.p50,
                figures.source.p99,
                figures.source.max,
                figures.handoff.p50,
                figures.handoff.p99,
                figures.handoff.p999,
                figures.handoff.max,
                figures.missed,
                figures.missed_at_source
            ));
        }
        if let (Some(a), Some(figures)) = (self.anticipation, figures) {
            notes.push(format!(
                "{name}: anticipation {}: {} of {} blocks caught awake, {} watches",
                if a.on { "on" } else { "off" },
                a.caught,
                figures.periods,
                a.watches
            ));
        }
        notes
    }
}

pub fn run(variant: Variant, setup: &Setup) -> Outcome {
    match variant {
        Variant::Floor => floor(setup),
        Variant::ProAudio => queue(setup, PRO_AUDIO, true, true),
        Variant::ProAudioParking => queue(setup, PRO_AUDIO_PARKING, true, false),
        Variant::Other => queue(setup, OTHER, false, true),
        Variant::Tokio => tokio(setup),
    }
}

fn new_record(setup: &Setup) -> Arc<Record> {
    Arc::new(Record::new(
        setup.periods,
        setup.period_ns,
        setup.work,
        rt::now_ns() + LEAD_NS,
    ))
}

/// Puts the calling timing thread under SCHED_FIFO `priority` if allowed;
/// returns what it runs under.
fn become_realtime(setup: &Setup, priority: i32) -> String {
    rt::prepare_thread();
    if setup.privileged {
        if let Err(error) = rt::set_fifo(priority) {
            return format!(
                "{} (SCHED_FIFO {priority} refused: {error})",
                rt::policy_of(0)
            );
        }
    }
    rt::policy_of(0)
}

fn floor(setup: &Setup) -> Outcome {
    let record = new_record(setup);
    let setup_copy = *setup;
    let rec = record.clone();
    let thread = std::thread::Builder::new()
        .name("rt-floor".into())
        .spawn(move || {
            let policy = become_realtime(&setup_copy, setup_copy.rt_priority);
            for k in 0..rec.periods() {
                rt::sleep_until(rec.nominal(k));
                rec.block(k);
            }
            policy
        });
    let policy = match thread.map(JoinHandle::join) {
        Ok(Ok(policy)) => policy,
        Ok(Err(_)) => return Outcome::failed("the floor thread panicked".into()),
        Err(error) => return Outcome::failed(format!("cannot start the floor thread: {error}")),
    };
    Outcome {
        samples: Some(record.samples()),
        realtime: policy.starts_with("SCHED_FIFO"),
        policy,
        source_policy: None,
        anticipation: None,
        notes: Vec::new(),
    }
}

/// Starts the source thread: for every period, sleep until its nominal start,
/// note how late that was, and `submit` the period.
fn source(
    setup: &Setup,
    record: &Arc<Record>,
    mut submit: impl FnMut(usize) + Send + 'static,
) -> std::io::Result<JoinHandle<String>> {
    let setup = *setup;
    let record = record.clone();
    std::thread::Builder::new()
        .name("rt-source".into())
        .spawn(move || {
            let policy = become_realtime(&setup, setup.source_priority());
            for k in 0..record.periods() {
                let nominal = record.nominal(k);
                rt::sleep_until(nominal);
                record.source_woke(k, rt::now_ns());
                submit(k);
            }
            policy
        })
}

/// Waits for the source and the blocks: what was measured, the source
/// thread's scheduling, and a note when blocks never ran.
fn finish(
    name: &str,
    record: &Record,
    source: std::io::Result<JoinHandle<String>>,
) -> Result<(Samples, String, Vec<String>), String> {
    let source_policy = match source.map(JoinHandle::join) {
        Ok(Ok(policy)) => policy,
        Ok(Err(_)) => return Err(format!("{name}: the source thread panicked")),
        Err(error) => return Err(format!("{name}: cannot start the source thread: {error}")),
    };
    let all = record.wait_done(GRACE_NS);
    let samples = record.samples();
    let mut notes = Vec::new();
    if !all {
        notes.push(format!(
            "{name}: {} of {} blocks had not run {} s after the last deadline (counted as missed)",
            samples.never,
            samples.periods,
            GRACE_NS / 1_000_000_000
        ));
    }
    Ok((samples, source_policy, notes))
}

fn queue(setup: &Setup, name: &str, pro_audio: bool, anticipate: bool) -> Outcome {
    let queue = match mfwq::allocate_work_queue(QueueType::Standard) {
        Ok(queue) => queue,
        Err(error) => return Outcome::failed(format!("{name}: allocate_work_queue: {error}")),
    };
    let default = mfwq::realtime_anticipation();
    mfwq::set_realtime_anticipation(anticipate);
    let outcome = queue_run(setup, queue, pro_audio, name);
    mfwq::set_realtime_anticipation(default);
    if pro_audio {
        let _ = mfwq::unregister_work_queue_from_mmcss(queue);
    }
    let _ = mfwq::unlock_work_queue(queue);
    outcome.unwrap_or_else(Outcome::failed)
}

fn queue_run(
    setup: &Setup,
    queue: QueueId,
    pro_audio: bool,
    name: &str,
) -> Result<Outcome, String> {
    let mut notes = Vec::new();
    if pro_audio {
        mfwq::register_work_queue_with_mmcss(queue, "Pro Audio", 0, 0)
            .map_err(|e| format!("{name}: register_work_queue_with_mmcss: {e}"))?;
        let applied = mfwq::applied_scheduling(queue)
            .map_err(|e| format!("{name}: applied_scheduling: {e}"))?;
        notes.push(format!(
            "{name}: applied_scheduling: requested {}, applied {}{}",
            applied.requested,
            applied
                .applied
                .map_or("nothing".to_owned(), |p| p.to_string()),
            if applied.fell_back {
                " (FELL BACK)"
            } else {
                ""
            }
        ));
    }
    // Start the worker (and let it apply its policy) before the first period.
    let (sender, receiver) = mpsc::channel();
    mfwq::spawn(queue, move || {
        let _ = sender.send(rt::gettid());
    })
    .map_err(|e| format!("{name}: spawn: {e}"))?;
    let tid = receiver
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| format!("{name}: the queue's worker never ran"))?;
    let tids = mfwq::work_queue_thread_ids(queue).unwrap_or_default();
    let policy = rt::policy_of(*tids.first().unwrap_or(&tid));

    let record = new_record(setup);
    let rec = record.clone();
    // One result, put again every period: the put itself allocates nothing
    // but what the queue needs (the callback counts blocks in FIFO order).
    let result = AsyncResult::with_callback(mfwq::callback(move |_| rec.next_block()), None);
    let source = source(setup, &record, move |_k| {
        let _ = mfwq::put_result(queue, &result);
    });
    let (samples, source_policy, more) = finish(name, &record, source)?;
    notes.extend(more);
    let anticipation = if pro_audio {
        mfwq::work_queue_anticipation(queue)
            .ok()
            .map(|anticipation| Anticipation {
                on: mfwq::realtime_anticipation(),
                caught: anticipation.caught,
                watches: anticipation.watches,
            })
    } else {
        None
    };
    Ok(Outcome {
        samples: Some(samples),
        realtime: policy.starts_with("SCHED_FIFO") || policy.starts_with("SCHED_RR"),
        policy,
        source_policy: Some(source_policy),
        anticipation,
        notes,
    })
}

fn tokio(setup: &Setup) -> Outcome {
    let tids = Arc::new(Mutex::new(Vec::new()));
    let started = tids.clone();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("rt-tokio")
        .on_thread_start(move || started.lock().unwrap().push(rt::gettid()))
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return Outcome::failed(format!("{TOKIO}: runtime: {error}")),
    };
    // Wake both workers once before the first period.
    runtime.block_on(async {
        let a = tokio::spawn(async {});
        let b = tokio::spawn(async {});
        let _ = (a.await, b.await);
    });
    let policy = tids
        .lock()
        .unwrap()
        .first()
        .map_or("?".to_owned(), |&tid| rt::policy_of(tid));

    let record = new_record(setup);
    let handle = runtime.handle().clone();
    let rec = record.clone();
    let source = source(setup, &record, move |k| {
        let rec = rec.clone();
        drop(handle.spawn(async move { rec.block(k) }));
    });
    let outcome = match finish(TOKIO, &record, source) {
        Ok((samples, source_policy, notes)) => Outcome {
            samples: Some(samples),
            realtime: false,
            policy,
            source_policy: Some(source_policy),
            anticipation: None,
            notes,
        },
        Err(error) => Outcome::failed(error),
    };
    runtime.shutdown_timeout(Duration::from_secs(5));
    outcome
}
