//! Soak under faults: `startup → load → shutdown` cycles for a bounded time,
//! with user code that misbehaves in every way the platform promises to
//! survive, ending with an exact account of every item.
//!
//! `MFWQ_SOAK_SECS` sets the duration (default 5 s, so that
//! `cargo test --workspace` stays quick; `ci/soak.sh` runs 60 s). See
//! `docs/soak.md` for what each cycle does and how to run a long soak.
//!
//! Each cycle starts the platform, allocates private and serial queues, and
//! runs producers, an allocator that unlocks queues under their feet, a thread
//! that changes MMCSS registrations, a replier for reply-mode serial queues and
//! a thread that nests startups; then it shuts down while the producers still
//! put. Every item gets a unique id in the cycle's ledger; the ledger records
//! whether its put was accepted and counts its invocations. After the cycle
//! the ledger is checked against the rules below; at the end the soak checks
//! threads, file descriptors and memory, and prints one summary line.
//!
//! Rules (each violation is reported under its letter; `general` is the
//! exactly-once contract that every item has, and the leak checks):
//!
//! - (a) a Begin that returned `Ok` (`begin`, `begin_async`, the MMCSS Begin
//!   calls) always gets its callback invoked / its future resolved, even when
//!   shutdown follows at once;
//! - (b) a waiting item still pending at the last shutdown is invoked once
//!   with `MF_E_SHUTDOWN`;
//! - (c) a reply-mode serial queue whose callback never replies, unlocked and
//!   then shut down, still drains its backlog;
//! - (d) shutdown returns within the shutdown timeout plus
//!   [`SHUTDOWN_SLACK`] even when a callback blocks; items stranded behind it
//!   are invoked (with `MF_E_SHUTDOWN`; stranded `spawn` closures simply run);
//!   a later startup works while the old thread is still blocked;
//! - (e) user code may panic anywhere (`invoke`, `parameters()`, `Drop` of a
//!   state or a callback, the panic hook, a Begin's work, a periodic
//!   callback): every such panic is caught and reported once through the
//!   panic hook, never reaches the caller, and strands no work.

mod common;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, LazyLock, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mfwq::{
    AsyncCallback, AsyncOperation, AsyncResult, CallbackFlags, CallbackParams, Error, Event,
    HResult, OperationFuture, QueueId, QueueType, State,
};

/// Environment variable with the soak's duration in seconds.
const SECS_ENV: &str = "MFWQ_SOAK_SECS";
const DEFAULT_SECS: f64 = 5.0;
/// The shutdown timeout the soak runs with: small, so that callbacks that
/// block outlast it.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(200);
/// Rule (d): how much longer than the timeout a shutdown may take.
const SHUTDOWN_SLACK: Duration = Duration::from_millis(250);
/// A shutdown that has not returned by then is taken as hung: the blocked
/// callbacks are let go so that the soak can go on and report.
const SHUTDOWN_HANG: Duration = Duration::from_secs(10);
/// Upper bound on cycles, whatever the duration.
const MAX_CYCLES: usize = 100_000;
/// Upper bound on items per cycle (the ledger's size).
const ITEMS_PER_CYCLE: usize = 1 << 17;
const PRODUCERS: usize = 3;
/// Producers slow down while this many accepted items have not run yet.
const IN_FLIGHT_CAP: usize = 3000;
/// How long after the last shutdown returned an accepted item may still take
/// to be invoked before it counts as lost.
const STRAGGLER_WAIT: Duration = Duration::from_secs(3);
/// A scheduled item due this long before the shutdown began must have run
/// (milliseconds; `MFWQ_SOAK_TIMER_GRACE_MS` overrides it for slow builds:
/// `ci/tsan.sh` gives ThreadSanitizer, which slows every thread 5-15x and
/// stalls them while it grows its shadow memory, 2 s).
const TIMER_GRACE_MS: u64 = 250;
const TIMER_GRACE_ENV: &str = "MFWQ_SOAK_TIMER_GRACE_MS";

fn timer_grace() -> Duration {
    static GRACE: LazyLock<Duration> = LazyLock::new(|| {
        Duration::from_millis(number_from_env(
            TIMER_GRACE_ENV,
            TIMER_GRACE_MS,
            "milliseconds",
        ))
    });
    *GRACE
}
/// Long-delay scheduled items (pending at shutdown by design, so they leak)
/// per cycle.
const LONG_TIMERS_PER_CYCLE: usize = 2;
/// Few short timers are scheduled this close to the end of a cycle's load.
const SHORT_TIMER_QUIET: Duration = Duration::from_millis(60);
const PERIODIC_PER_CYCLE: usize = 3;
/// Items put behind a blocked callback per cycle.
const STRANDED_PER_CYCLE: usize = 200;
/// Memory may grow this much from the first cycles to the last ones (the
/// allocator's arenas and caches settling; a 60 s run grows by well under
/// 1 MiB besides its leaked timers, a leak of one block per item would add
/// tens of MiB)... (in MiB; `MFWQ_SOAK_RSS_TOLERANCE_MIB` overrides it for
/// builds whose allocator is not glibc's: under ThreadSanitizer `malloc_trim`
/// gives nothing back and TSan's shadow and synchronisation metadata grow with
/// every new address the run touches, so `ci/tsan.sh` allows 16 MiB; the exact
/// leak check, results still alive after the soak, is the same everywhere)...
const RSS_TOLERANCE_MIB: f64 = 4.0;
const RSS_TOLERANCE_ENV: &str = "MFWQ_SOAK_RSS_TOLERANCE_MIB";

fn rss_tolerance() -> f64 {
    number_from_env(RSS_TOLERANCE_ENV, RSS_TOLERANCE_MIB, "MiB") * 1024.0 * 1024.0
}

/// The number in the environment variable `name`, or `default` when it is
/// not set; a value that is not a number of `unit` fails the soak.
fn number_from_env<T: std::str::FromStr>(name: &str, default: T, unit: &str) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number of {unit}")),
        Err(_) => default,
    }
}
/// ...plus this much per timer left pending at a shutdown: its result, callback
/// and state are leaked by design, and each leaked block can keep a page of
/// heap from being given back.
const RSS_PER_LEAKED_TIMER: f64 = 3.0 * 4096.0;
/// Every panic the soak injects starts with this.
const INJECTED: &str = "soak-injected";

// ---------------------------------------------------------------------------
// Violations and counters
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    A,
    B,
    C,
    D,
    E,
    General,
}

impl Rule {
    const ALL: [Rule; 6] = [Rule::A, Rule::B, Rule::C, Rule::D, Rule::E, Rule::General];

    fn label(self) -> &'static str {
        match self {
            Rule::A => "(a) every accepted Begin completes",
            Rule::B => "(b) pending waits are invoked with MF_E_SHUTDOWN",
            Rule::C => "(c) an unlocked reply-mode serial queue drains at shutdown",
            Rule::D => "(d) shutdown is bounded when a callback blocks",
            Rule::E => "(e) panics in user code are caught and reported",
            Rule::General => "exactly once, accounting, leaks",
        }
    }
}

#[derive(Default)]
struct Violations {
    count: [usize; 6],
    first: [Vec<String>; 6],
}

/// Counters over the whole soak.
#[derive(Default)]
struct Stats {
    ops: AtomicU64,
    refused_shutdown: AtomicU64,
    refused_invalid: AtomicU64,
    timers_cancelled: AtomicU64,
    timer_cancel_too_late: AtomicU64,
    late_after_shutdown: AtomicU64,
    double_invocations: AtomicU64,
    invoke_panics: AtomicU64,
    parameters_panics: AtomicU64,
    state_drop_panics: AtomicU64,
    callback_drop_panics: AtomicU64,
    work_panics: AtomicU64,
    periodic_panics: AtomicU64,
    hook_panics: AtomicU64,
    injected_fired: AtomicU64,
    panic_reports: AtomicU64,
    escaped_panics: AtomicU64,
    blockers: AtomicU64,
    stranded_invoked_with_shutdown: AtomicU64,
    queues_unlocked: AtomicU64,
    serial_unlocked: AtomicU64,
    mmcss_changes: AtomicU64,
    mmcss_refused: AtomicU64,
    waits_set: AtomicU64,
    waits_cancelled: AtomicU64,
    waits_pending_at_shutdown: AtomicU64,
    replies: AtomicU64,
    reply_items_never_replied: AtomicU64,
    nested_startups: AtomicU64,
    periodic_added: AtomicU64,
    periodic_ticks: AtomicU64,
    futures_resolved: AtomicU64,
    max_shutdown_us: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Lets blocked callbacks go: a blocker of cycle `c` waits until `released > c`.
struct Gate {
    released: Mutex<usize>,
    changed: Condvar,
    blocked_now: AtomicUsize,
}

impl Gate {
    fn block(&self, cycle: usize) {
        self.blocked_now.fetch_add(1, Ordering::SeqCst);
        let mut released = self.released.lock().unwrap();
        while *released <= cycle {
            released = self.changed.wait(released).unwrap();
        }
        drop(released);
        self.blocked_now.fetch_sub(1, Ordering::SeqCst);
    }

    /// Releases every blocker of the cycles before `cycle`.
    fn release_before(&self, cycle: usize) {
        let mut released = self.released.lock().unwrap();
        *released = (*released).max(cycle);
        self.changed.notify_all();
    }

    fn blocked_now(&self) -> usize {
        self.blocked_now.load(Ordering::SeqCst)
    }
}

struct Soak {
    stats: Stats,
    violations: Mutex<Violations>,
    gate: Gate,
}

static SOAK: LazyLock<Soak> = LazyLock::new(|| Soak {
    stats: Stats::default(),
    violations: Mutex::new(Violations::default()),
    gate: Gate {
        released: Mutex::new(0),
        changed: Condvar::new(),
        blocked_now: AtomicUsize::new(0),
    },
});

fn violation(rule: Rule, message: String) {
    let mut violations = SOAK.violations.lock().unwrap_or_else(|p| p.into_inner());
    violations.count[rule as usize] += 1;
    if violations.first[rule as usize].len() < 12 {
        violations.first[rule as usize].push(message);
    }
}

fn stats() -> &'static Stats {
    &SOAK.stats
}

/// Panics with an injected message (counted by the process panic hook).
fn inject(what: &str) -> ! {
    panic!("{INJECTED}: {what}");
}

// ---------------------------------------------------------------------------
// The ledger of one cycle
// ---------------------------------------------------------------------------

/// What an item is; decides what "done" means for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Put = 1,
    Blocker,
    Begin,
    BeginAsync,
    MmcssBegin,
    Scheduled,
    ScheduledLong,
    WaitSet,
    WaitCancel,
    WaitPending,
    Reply,
}

impl Kind {
    fn from_u8(value: u8) -> Option<Kind> {
        use Kind::*;
        [
            Put,
            Blocker,
            Begin,
            BeginAsync,
            MmcssBegin,
            Scheduled,
            ScheduledLong,
            WaitSet,
            WaitCancel,
            WaitPending,
            Reply,
        ]
        .into_iter()
        .find(|kind| *kind as u8 == value)
    }

    fn is_timer(self) -> bool {
        matches!(self, Kind::Scheduled | Kind::ScheduledLong)
    }
}

/// Where an item was put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Route {
    Platform = 1,
    Private,
    Serial,
    ReplySerial,
    NeverReply,
    Blocked,
}

impl Route {
    fn from_u8(value: u8) -> Route {
        use Route::*;
        [Platform, Private, Serial, ReplySerial, NeverReply, Blocked]
            .into_iter()
            .find(|route| *route as u8 == value)
            .unwrap_or(Platform)
    }
}

/// A put's outcome.
const IN_PROGRESS: u8 = 0;
const ACCEPTED: u8 = 1;
const REFUSED_SHUTDOWN: u8 = 2;
const REFUSED_INVALID: u8 = 3;
const REFUSED_OTHER: u8 = 4;
const ESCAPED: u8 = 5;

/// Marks set after the put.
const CANCEL_OK: u8 = 1;
const CANCEL_NOT_FOUND: u8 = 2;
const CANCEL_SHUTDOWN: u8 = 4;
const EVENT_SET: u8 = 8;

/// The status an item was invoked with.
const STATUS_OK: u8 = 1;
const STATUS_CANCELLED: u8 = 2;
const STATUS_SHUTDOWN: u8 = 3;
const STATUS_OTHER: u8 = 4;

fn status_class(status: HResult) -> u8 {
    match status {
        HResult::MF_E_OPERATION_CANCELLED => STATUS_CANCELLED,
        HResult::MF_E_SHUTDOWN => STATUS_SHUTDOWN,
        status if status.is_ok() => STATUS_OK,
        _ => STATUS_OTHER,
    }
}

fn atomics(n: usize) -> Box<[AtomicU8]> {
    (0..n).map(|_| AtomicU8::new(0)).collect()
}

struct Ledger {
    cycle: usize,
    next: AtomicUsize,
    kind: Box<[AtomicU8]>,
    route: Box<[AtomicU8]>,
    outcome: Box<[AtomicU8]>,
    marks: Box<[AtomicU8]>,
    runs: Box<[AtomicU8]>,
    status: Box<[AtomicU8]>,
    accepted: AtomicUsize,
    invoked: AtomicUsize,
    /// Due times of the short scheduled items.
    deadlines: Mutex<Vec<(u32, Instant)>>,
    stranded: AtomicUsize,
    long_timers: AtomicUsize,
    periodic: AtomicUsize,
}

impl Ledger {
    fn new(cycle: usize) -> Ledger {
        Ledger {
            cycle,
            next: AtomicUsize::new(0),
            kind: atomics(ITEMS_PER_CYCLE),
            route: atomics(ITEMS_PER_CYCLE),
            outcome: atomics(ITEMS_PER_CYCLE),
            marks: atomics(ITEMS_PER_CYCLE),
            runs: atomics(ITEMS_PER_CYCLE),
            status: atomics(ITEMS_PER_CYCLE),
            accepted: AtomicUsize::new(0),
            invoked: AtomicUsize::new(0),
            deadlines: Mutex::new(Vec::new()),
            stranded: AtomicUsize::new(0),
            long_timers: AtomicUsize::new(0),
            periodic: AtomicUsize::new(0),
        }
    }

    fn reserve(&self, kind: Kind, route: Route) -> Option<u32> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if id >= ITEMS_PER_CYCLE {
            return None;
        }
        self.kind[id].store(kind as u8, Ordering::Relaxed);
        self.route[id].store(route as u8, Ordering::Relaxed);
        Some(id as u32)
    }

    fn used(&self) -> usize {
        self.next.load(Ordering::Relaxed).min(ITEMS_PER_CYCLE)
    }

    /// Records the put's outcome; `Ok` means the platform took the item.
    fn settle(&self, id: u32, result: &std::thread::Result<mfwq::Result<()>>) -> bool {
        let outcome = match result {
            Ok(Ok(())) => ACCEPTED,
            Ok(Err(Error::Shutdown)) => REFUSED_SHUTDOWN,
            Ok(Err(Error::InvalidWorkQueue)) => REFUSED_INVALID,
            Ok(Err(error)) => {
                violation(
                    Rule::General,
                    format!(
                        "cycle {}: item {id} ({:?}) refused with {error:?}",
                        self.cycle,
                        self.kind_of(id as usize)
                    ),
                );
                REFUSED_OTHER
            }
            Err(payload) => {
                add(&stats().escaped_panics, 1);
                violation(
                    Rule::E,
                    format!(
                        "cycle {}: a panic of user code escaped into the caller of a put \
                         ({:?} item {id}: {:?}; platform started: {})",
                        self.cycle,
                        self.kind_of(id as usize),
                        payload_text(&**payload),
                        mfwq::is_started()
                    ),
                );
                ESCAPED
            }
        };
        if outcome == ACCEPTED {
            self.accepted.fetch_add(1, Ordering::Relaxed);
        }
        self.outcome[id as usize].store(outcome, Ordering::Release);
        outcome == ACCEPTED
    }

    fn mark(&self, id: u32, mark: u8) {
        self.marks[id as usize].fetch_or(mark, Ordering::AcqRel);
    }

    fn invoked(&self, id: u32, status: HResult) {
        let id = id as usize;
        self.status[id].store(status_class(status), Ordering::Relaxed);
        let before = self.runs[id].fetch_add(1, Ordering::AcqRel);
        if before == 0 {
            self.invoked.fetch_add(1, Ordering::Relaxed);
        } else {
            add(&stats().double_invocations, 1);
            violation(
                Rule::General,
                format!(
                    "cycle {}: item {id} ({:?} on {:?}) invoked {} times",
                    self.cycle,
                    self.kind_of(id),
                    Route::from_u8(self.route[id].load(Ordering::Relaxed)),
                    before + 1
                ),
            );
        }
    }

    fn kind_of(&self, id: usize) -> Option<Kind> {
        Kind::from_u8(self.kind[id].load(Ordering::Relaxed))
    }

    fn in_flight(&self) -> usize {
        self.accepted
            .load(Ordering::Relaxed)
            .saturating_sub(self.invoked.load(Ordering::Relaxed))
    }
}

/// An item's state: its id in its cycle's ledger. The ledger is held weakly, so
/// that a result leaked by design (a timer pending at shutdown) keeps no
/// ledger alive.
struct Tag {
    ledger: Weak<Ledger>,
    id: u32,
    panic_on_drop: bool,
}

impl Tag {
    fn new(ledger: &Arc<Ledger>, id: u32, panic_on_drop: bool) -> Tag {
        Tag {
            ledger: Arc::downgrade(ledger),
            id,
            panic_on_drop,
        }
    }

    fn record(&self, status: HResult) {
        match self.ledger.upgrade() {
            Some(ledger) => ledger.invoked(self.id, status),
            None => violation(
                Rule::General,
                format!(
                    "item {} invoked after its cycle was checked (more than {STRAGGLER_WAIT:?} \
                     after the last shutdown returned)",
                    self.id
                ),
            ),
        }
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        if self.panic_on_drop {
            if thread::panicking() {
                violation(
                    Rule::E,
                    format!(
                        "item {}: a state's Drop ran while another Drop of the same result was \
                         unwinding (its callback's Drop had panicked); a Drop that panics there \
                         aborts the process",
                        self.id
                    ),
                );
            } else {
                add(&stats().state_drop_panics, 1);
                inject("drop of a state");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The callback
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Params {
    /// `parameters()` returns `None`.
    Default,
    On(QueueId, CallbackFlags),
    Panic,
}

enum Action {
    Record,
    Panic,
    Block(usize),
    /// Reply-mode: hand the reply result to the replier.
    Reply(Sender<AsyncResult>),
    /// Reply-mode callback that never replies.
    NeverReply,
    EndBegin,
    EndMmcssRegister,
    EndMmcssUnregister,
}

struct SoakCallback {
    params: Params,
    action: Action,
    panic_on_drop: bool,
}

impl SoakCallback {
    fn arc(params: Params, action: Action, panic_on_drop: bool) -> mfwq::Callback {
        Arc::new(SoakCallback {
            params,
            action,
            panic_on_drop,
        })
    }
}

impl AsyncCallback for SoakCallback {
    fn parameters(&self) -> Option<CallbackParams> {
        match self.params {
            Params::Default => None,
            Params::On(queue, flags) => Some(CallbackParams { flags, queue }),
            Params::Panic => {
                add(&stats().parameters_panics, 1);
                inject("parameters");
            }
        }
    }

    fn invoke(&self, result: &AsyncResult) {
        let status = result.status();
        match &self.action {
            Action::EndBegin => {
                let _ = AsyncOperation::<u32>::end(result);
            }
            Action::EndMmcssRegister => {
                let _ = mfwq::end_register_work_queue_with_mmcss(result);
            }
            Action::EndMmcssUnregister => {
                let _ = mfwq::end_unregister_work_queue_with_mmcss(result);
            }
            _ => {}
        }
        match result.state_as::<Tag>() {
            Some(tag) => tag.record(status),
            None => violation(
                Rule::General,
                "a callback got a result without its tag".into(),
            ),
        }
        match &self.action {
            Action::Panic => {
                add(&stats().invoke_panics, 1);
                inject("invoke");
            }
            Action::Block(cycle) => SOAK.gate.block(*cycle),
            Action::Reply(replier) => {
                // Only a reply result moves the queue on; the item's own result
                // (its callback is this one) would invoke this callback again.
                let is_reply = result.callback().is_none_or(|callback| {
                    !std::ptr::addr_eq(Arc::as_ptr(callback), self as *const SoakCallback)
                });
                if is_reply {
                    let _ = replier.send(result.clone());
                } else {
                    add(&stats().reply_items_never_replied, 1);
                }
            }
            Action::NeverReply => add(&stats().reply_items_never_replied, 1),
            _ => {}
        }
    }
}

impl Drop for SoakCallback {
    fn drop(&mut self) {
        if self.panic_on_drop && !thread::panicking() {
            add(&stats().callback_drop_panics, 1);
            inject("drop of a callback");
        }
    }
}

// ---------------------------------------------------------------------------
// A small random number generator (xorshift64*)
// ---------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn priority(&mut self) -> i32 {
        self.below(3) as i32 - 1
    }
}

// ---------------------------------------------------------------------------
// One cycle's queues and threads
// ---------------------------------------------------------------------------

/// Slots of queue ids the producers put to; the allocator replaces and
/// unlocks them while the producers run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    PrivateStandard0,
    PrivateStandard1,
    PrivateMultithreaded,
    SerialOverPool,
    SerialOverPrivate,
    SerialOverSerial,
    ReplySerial,
    NeverReplySerial,
}

const SLOTS: [Slot; 8] = [
    Slot::PrivateStandard0,
    Slot::PrivateStandard1,
    Slot::PrivateMultithreaded,
    Slot::SerialOverPool,
    Slot::SerialOverPrivate,
    Slot::SerialOverSerial,
    Slot::ReplySerial,
    Slot::NeverReplySerial,
];

impl Slot {
    fn route(self) -> Route {
        match self {
            Slot::PrivateStandard0 | Slot::PrivateStandard1 | Slot::PrivateMultithreaded => {
                Route::Private
            }
            Slot::SerialOverPool | Slot::SerialOverPrivate | Slot::SerialOverSerial => {
                Route::Serial
            }
            Slot::ReplySerial => Route::ReplySerial,
            Slot::NeverReplySerial => Route::NeverReply,
        }
    }
}

struct Cycle {
    index: usize,
    ledger: Arc<Ledger>,
    slots: [AtomicU32; 8],
    /// The queue a blocker holds (0: none this cycle).
    blocked: AtomicU32,
    /// What the blocker blocks, for the report.
    blocker: Mutex<&'static str>,
    /// Producers and helpers stop.
    stop: AtomicBool,
    /// The nesting thread stops (before the last shutdown).
    stop_nesting: AtomicBool,
    /// Set when the last shutdown has returned.
    down: AtomicBool,
    replier: Mutex<Option<Sender<AsyncResult>>>,
    /// When the load ends and the last shutdown begins.
    load_ends: Instant,
    /// The futures of `begin_async` items, checked after the shutdown.
    futures: Mutex<Vec<(u32, OperationFuture<u32>)>>,
}

impl Cycle {
    fn slot(&self, slot: Slot) -> Option<QueueId> {
        match self.slots[slot as usize].load(Ordering::Acquire) {
            0 => None,
            id => Some(QueueId(id)),
        }
    }

    /// The replier's channel; `None` once the cycle is over.
    fn replier(&self) -> Option<Sender<AsyncResult>> {
        self.replier.lock().unwrap().clone()
    }
}

/// Allocates the queue a slot holds.
fn allocate_slot(cycle: &Cycle, slot: Slot) -> mfwq::Result<QueueId> {
    let private = |slot| cycle.slot(slot).unwrap_or(QueueId::MULTITHREADED);
    match slot {
        Slot::PrivateStandard0 | Slot::PrivateStandard1 => {
            mfwq::allocate_work_queue(QueueType::Standard)
        }
        Slot::PrivateMultithreaded => mfwq::allocate_work_queue(QueueType::Multithreaded),
        Slot::SerialOverPool | Slot::ReplySerial => {
            mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED)
        }
        Slot::SerialOverPrivate => {
            match mfwq::allocate_serial_work_queue(private(Slot::PrivateMultithreaded)) {
                // The private queue was unlocked meanwhile.
                Err(Error::InvalidWorkQueue) => {
                    mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED)
                }
                other => other,
            }
        }
        Slot::SerialOverSerial => {
            match mfwq::allocate_serial_work_queue(private(Slot::SerialOverPool)) {
                Err(Error::InvalidWorkQueue) => mfwq::allocate_serial_work_queue(QueueId::IO),
                other => other,
            }
        }
        Slot::NeverReplySerial => {
            match mfwq::allocate_serial_work_queue(private(Slot::PrivateStandard1)) {
                Err(Error::InvalidWorkQueue) => mfwq::allocate_serial_work_queue(QueueId::STANDARD),
                other => other,
            }
        }
    }
}

fn unlock_queue(cycle: &Cycle, id: QueueId, what: &str) {
    match mfwq::unlock_work_queue(id) {
        Ok(()) => add(&stats().queues_unlocked, 1),
        Err(Error::Shutdown) => {}
        Err(error) => violation(
            Rule::General,
            format!("cycle {}: unlock of {what} {id}: {error:?}", cycle.index),
        ),
    }
}

/// The allocator: replaces the queue of a random slot every few
/// milliseconds and unlocks the old one while producers still put to it.
fn allocator(cycle: Arc<Cycle>, seed: u64) {
    let mut rng = Rng::new(seed);
    while !cycle.stop.load(Ordering::Acquire) {
        thread::sleep(Duration::from_micros(2000 + rng.below(12_000)));
        if cycle.down.load(Ordering::Acquire) {
            continue;
        }
        let slot = SLOTS[rng.below(SLOTS.len() as u64) as usize];
        match allocate_slot(&cycle, slot) {
            Ok(id) => {
                let old = cycle.slots[slot as usize].swap(id.0, Ordering::AcqRel);
                if old != 0 {
                    if slot.route() != Route::Private {
                        add(&stats().serial_unlocked, 1);
                    }
                    unlock_queue(&cycle, QueueId(old), "a slot's queue");
                }
            }
            Err(Error::Shutdown) => {}
            Err(error) => violation(
                Rule::General,
                format!("cycle {}: allocating {slot:?}: {error:?}", cycle.index),
            ),
        }
        // Now and then, unlock the queue a blocked callback holds.
        if rng.chance(30) {
            let blocked = cycle.blocked.load(Ordering::Acquire);
            if QueueId(blocked).is_private()
                && cycle
                    .blocked
                    .compare_exchange(blocked, 0, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            {
                unlock_queue(&cycle, QueueId(blocked), "the blocked queue");
            }
        }
    }
}

const CLASSES: [&str; 5] = ["Audio", "Pro Audio", "Capture", "Playback", "Games"];

/// Changes MMCSS registrations of the queues in use, synchronously and
/// through the Begin calls (whose callbacks are ledger items).
fn mmcss_changer(cycle: Arc<Cycle>, seed: u64) {
    let mut rng = Rng::new(seed);
    while !cycle.stop.load(Ordering::Acquire) {
        thread::sleep(Duration::from_micros(500 + rng.below(4000)));
        let queue = match rng.below(4) {
            0 => QueueId(1 + rng.below(7) as u32),
            1 if rng.chance(100) => QueueId::ALL,
            _ => cycle
                .slot(SLOTS[rng.below(SLOTS.len() as u64) as usize])
                .unwrap_or(QueueId::MULTITHREADED),
        };
        let class = CLASSES[rng.below(CLASSES.len() as u64) as usize];
        let priority = rng.below(5) as i32 - 2;
        let result = match rng.below(5) {
            0 | 1 => mfwq::register_work_queue_with_mmcss(queue, class, 0, priority).map(|_| ()),
            2 => mfwq::unregister_work_queue_from_mmcss(queue),
            register => {
                let Some(id) = cycle.ledger.reserve(Kind::MmcssBegin, Route::Platform) else {
                    continue;
                };
                let action = if register == 3 {
                    Action::EndMmcssRegister
                } else {
                    Action::EndMmcssUnregister
                };
                let params = callback_params(&cycle, &mut rng, false);
                let callback = SoakCallback::arc(params, action, rng.chance(20));
                let state: State = Arc::new(Tag::new(&cycle.ledger, id, rng.chance(20)));
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    if register == 3 {
                        mfwq::begin_register_work_queue_with_mmcss(
                            queue,
                            class,
                            0,
                            priority,
                            callback,
                            Some(state),
                        )
                    } else {
                        mfwq::begin_unregister_work_queue_with_mmcss(queue, callback, Some(state))
                    }
                }));
                cycle.ledger.settle(id, &outcome);
                outcome.unwrap_or(Ok(()))
            }
        };
        match result {
            Ok(()) => add(&stats().mmcss_changes, 1),
            Err(Error::Shutdown | Error::InvalidWorkQueue) => add(&stats().mmcss_refused, 1),
            Err(error) => violation(
                Rule::General,
                format!("cycle {}: MMCSS change on {queue}: {error:?}", cycle.index),
            ),
        }
    }
}

/// Sends the reply results of reply-mode items back, from its own thread.
fn replier(cycle: Arc<Cycle>, replies: Receiver<AsyncResult>, seed: u64) {
    let mut rng = Rng::new(seed);
    loop {
        match replies.recv_timeout(Duration::from_millis(5)) {
            Ok(reply) => {
                if rng.chance(500) {
                    thread::sleep(Duration::from_micros(rng.below(800)));
                }
                match catch_unwind(AssertUnwindSafe(|| mfwq::invoke_callback(reply))) {
                    Ok(Ok(())) => add(&stats().replies, 1),
                    Ok(Err(Error::Shutdown)) => {}
                    Ok(Err(error)) => violation(
                        Rule::General,
                        format!("cycle {}: a reply was refused: {error:?}", cycle.index),
                    ),
                    Err(_) => violation(Rule::E, "a panic escaped into a reply".into()),
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if cycle.stop.load(Ordering::Acquire) => return,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Nested startups and shutdowns while the load runs (never the last one).
fn nesting(cycle: Arc<Cycle>, seed: u64) {
    let mut rng = Rng::new(seed);
    while !cycle.stop_nesting.load(Ordering::Acquire) {
        if let Err(error) = mfwq::startup(mfwq::MF_VERSION) {
            violation(Rule::General, format!("nested startup: {error:?}"));
            return;
        }
        thread::sleep(Duration::from_micros(rng.below(2000)));
        if let Err(error) = mfwq::shutdown() {
            violation(Rule::General, format!("nested shutdown: {error:?}"));
        }
        add(&stats().nested_startups, 1);
        thread::sleep(Duration::from_micros(1000 + rng.below(5000)));
    }
}

// ---------------------------------------------------------------------------
// Producers
// ---------------------------------------------------------------------------

/// A target queue for a put, with its route.
fn pick_queue(cycle: &Cycle, rng: &mut Rng) -> (QueueId, Route) {
    match rng.below(20) {
        // Platform queues, and low ids that name none (they mean STANDARD).
        0..=2 => (QueueId::MULTITHREADED, Route::Platform),
        3 => (QueueId::STANDARD, Route::Platform),
        4 => (
            QueueId([0, 2, 3, 4, 6, 7, 8, 0x1234][rng.below(8) as usize]),
            Route::Platform,
        ),
        _ => {
            // Not the reply-mode queues: their items are made apart.
            let slot = SLOTS[rng.below(6) as usize];
            match cycle.slot(slot) {
                Some(id) => (id, slot.route()),
                None => (QueueId::MULTITHREADED, Route::Platform),
            }
        }
    }
}

/// Parameters for a callback: mostly a queue of the cycle, some panicking.
fn callback_params(cycle: &Cycle, rng: &mut Rng, allow_panic: bool) -> Params {
    if allow_panic && rng.chance(30) {
        return Params::Panic;
    }
    match rng.below(4) {
        0 => Params::Default,
        _ => {
            let (queue, _) = pick_queue(cycle, rng);
            let flags = if rng.chance(100) {
                CallbackFlags::BLOCKING
            } else {
                CallbackFlags::empty()
            };
            Params::On(queue, flags)
        }
    }
}

/// The route of an item whose callback picks its queue.
fn route_of(params: Params, cycle: &Cycle) -> Route {
    match params {
        Params::On(queue, _) => SLOTS
            .iter()
            .find(|slot| cycle.slot(**slot) == Some(queue))
            .map_or(Route::Platform, |slot| slot.route()),
        _ => Route::Platform,
    }
}

/// The callback of the 10-minute timers, which must never run.
static LONG_TIMER: LazyLock<mfwq::Callback> = LazyLock::new(|| {
    mfwq::callback(|_| {
        violation(
            Rule::General,
            "a scheduled item due in 10 minutes was invoked".into(),
        )
    })
});

/// A timer or a waiting item the producer still has to set or cancel.
struct Pending {
    id: u32,
    key: mfwq::WorkItemKey,
    kind: Kind,
    event: Option<Event>,
}

struct Producer {
    cycle: Arc<Cycle>,
    rng: Rng,
    pending: VecDeque<Pending>,
    periodic: Vec<(mfwq::PeriodicKey, Instant)>,
}

/// A fault for an item's callback and state: (invoke panics, state Drop
/// panics, callback Drop panics).
fn faults(rng: &mut Rng) -> (bool, bool, bool) {
    (rng.chance(30), rng.chance(30), rng.chance(20))
}

impl Producer {
    fn ledger(&self) -> &Arc<Ledger> {
        &self.cycle.ledger
    }

    /// A plain item's callback and state.
    fn item(&mut self, id: u32, params: Params) -> (mfwq::Callback, State) {
        let (panics, state_panics, callback_panics) = faults(&mut self.rng);
        let action = if panics {
            Action::Panic
        } else {
            Action::Record
        };
        let callback = SoakCallback::arc(params, action, callback_panics);
        let state: State = Arc::new(Tag::new(self.ledger(), id, state_panics));
        (callback, state)
    }

    fn run(mut self) {
        let ledger = Arc::clone(&self.cycle.ledger);
        while !self.cycle.stop.load(Ordering::Acquire) {
            if ledger.used() >= ITEMS_PER_CYCLE {
                thread::sleep(Duration::from_millis(1));
                continue;
            }
            if ledger.in_flight() > IN_FLIGHT_CAP {
                thread::sleep(Duration::from_millis(1));
            }
            if self.cycle.down.load(Ordering::Acquire) {
                // The race with the shutdown is over: a few more refused puts.
                thread::sleep(Duration::from_micros(200));
            }
            add(&stats().ops, 1);
            if !self.pending.is_empty() && self.rng.chance(150) {
                self.settle_pending();
            }
            match self.rng.below(100) {
                0..=21 => self.put_work_item(),
                22..=31 => self.put_result(),
                32..=41 => self.invoke_callback(),
                42..=55 => self.spawn(),
                56..=61 => self.begin(),
                62..=65 => self.begin_async(),
                66..=73 => self.schedule(),
                74..=81 => self.wait(),
                82..=88 => self.reply_item(),
                89..=91 => self.stranded(),
                92 => self.periodic(),
                _ => self.put_work_item(),
            }
        }
        // Whatever is still pending stays so: timers leak, waits are invoked
        // with MF_E_SHUTDOWN (rule b).
        for (periodic, _) in self.periodic.drain(..) {
            remove_periodic(periodic);
        }
    }

    /// Reserves an id, runs the put with panics caught, and records the outcome.
    fn attempt(
        &mut self,
        kind: Kind,
        route: Route,
        put: impl FnOnce(&mut Self, u32) -> mfwq::Result<()>,
    ) -> Option<u32> {
        let id = self.ledger().reserve(kind, route)?;
        let outcome = catch_unwind(AssertUnwindSafe(|| put(self, id)));
        match outcome {
            Ok(Err(Error::Shutdown)) => {
                add(&stats().refused_shutdown, 1);
                // Keep racing the shutdown, without flooding.
                thread::sleep(Duration::from_micros(50));
            }
            Ok(Err(Error::InvalidWorkQueue)) => add(&stats().refused_invalid, 1),
            _ => {}
        }
        self.ledger().settle(id, &outcome).then_some(id)
    }

    fn put_work_item(&mut self) {
        let (queue, route) = pick_queue(&self.cycle, &mut self.rng);
        let priority = self.rng.priority();
        let params = callback_params(&self.cycle, &mut self.rng, true);
        self.attempt(Kind::Put, route, |me, id| {
            let (callback, state) = me.item(id, params);
            if priority == 0 && me.rng.chance(500) {
                mfwq::put_work_item(queue, callback, Some(state))
            } else {
                mfwq::put_work_item_with_priority(queue, priority, callback, Some(state))
            }
        });
    }

    fn put_result(&mut self) {
        let (queue, route) = pick_queue(&self.cycle, &mut self.rng);
        let priority = self.rng.priority();
        let params = callback_params(&self.cycle, &mut self.rng, true);
        self.attempt(Kind::Put, route, |me, id| {
            let (callback, state) = me.item(id, params);
            let result = AsyncResult::with_callback(callback, Some(state));
            mfwq::put_result_with_priority(queue, priority, result)
        });
    }

    fn invoke_callback(&mut self) {
        let params = callback_params(&self.cycle, &mut self.rng, true);
        let route = route_of(params, &self.cycle);
        self.attempt(Kind::Put, route, |me, id| {
            let (callback, state) = me.item(id, params);
            mfwq::invoke_callback(AsyncResult::with_callback(callback, Some(state)))
        });
    }

    fn spawn(&mut self) {
        let (queue, route) = pick_queue(&self.cycle, &mut self.rng);
        let priority = self.rng.priority();
        // Either the closure panics or its capture's Drop does, not both: a
        // capture dropped while the closure's own panic unwinds would abort.
        let (panics, drop_panics) = match self.rng.below(30) {
            0 => (true, false),
            1 => (false, true),
            _ => (false, false),
        };
        self.attempt(Kind::Put, route, |me, id| {
            let tag = Tag::new(me.ledger(), id, drop_panics);
            mfwq::spawn_with_priority(queue, priority, move || {
                tag.record(HResult::S_OK);
                if panics {
                    add(&stats().invoke_panics, 1);
                    inject("spawned closure");
                }
                drop(tag);
            })
        });
    }

    fn begin(&mut self) {
        let (queue, route) = pick_queue(&self.cycle, &mut self.rng);
        let params = callback_params(&self.cycle, &mut self.rng, true);
        let work = self.rng.below(20);
        self.attempt(Kind::Begin, route, |me, id| {
            let callback = SoakCallback::arc(params, Action::EndBegin, me.rng.chance(20));
            let state_panics = me.rng.chance(20);
            let state: State = Arc::new(Tag::new(me.ledger(), id, state_panics));
            mfwq::begin(queue, callback, Some(state), move || match work {
                0 => {
                    add(&stats().work_panics, 1);
                    inject("begin work")
                }
                1 => Err(Error::Fail),
                _ => Ok(id),
            })
        });
    }

    fn begin_async(&mut self) {
        let (queue, route) = pick_queue(&self.cycle, &mut self.rng);
        let panics = self.rng.chance(50);
        let mut future = None;
        let id = self.attempt(Kind::BeginAsync, route, |_, id| {
            future = Some(mfwq::begin_async(queue, move || {
                if panics {
                    add(&stats().work_panics, 1);
                    inject("begin_async work");
                }
                Ok(id)
            })?);
            Ok(())
        });
        if let (Some(id), Some(future)) = (id, future) {
            self.cycle.futures.lock().unwrap().push((id, future));
        }
    }

    fn schedule(&mut self) {
        let long = self.ledger().long_timers.load(Ordering::Relaxed) < LONG_TIMERS_PER_CYCLE
            && self.rng.chance(30);
        // A short timer still pending at the shutdown leaks for ever, as
        // designed, and leaked blocks keep heap pages from being given back:
        // few are scheduled in the last moments before the shutdown.
        if !long
            && Instant::now() + SHORT_TIMER_QUIET > self.cycle.load_ends
            && self.rng.chance(950)
        {
            return self.put_work_item();
        }
        let (kind, delay) = if long {
            self.ledger().long_timers.fetch_add(1, Ordering::Relaxed);
            (Kind::ScheduledLong, Duration::from_secs(600))
        } else {
            let delay = match self.rng.below(4) {
                0 => mfwq::delay_from_mf_timeout(self.rng.below(10) as i64),
                _ => Duration::from_micros(self.rng.below(30_000)),
            };
            (Kind::Scheduled, delay)
        };
        let params = callback_params(&self.cycle, &mut self.rng, true);
        let route = route_of(params, &self.cycle);
        let as_result = self.rng.chance(300);
        let mut key = None;
        let due = Instant::now() + delay;
        let id = self.attempt(kind, route, |me, id| {
            if long {
                // Never invoked and leaked with its result: one shared
                // callback and no state, so that it leaks nothing else.
                let callback = Arc::clone(&LONG_TIMER);
                key = Some(mfwq::schedule_work_item(callback, None, delay)?);
                return Ok(());
            }
            let (callback, state) = me.item(id, params);
            key = Some(if as_result {
                mfwq::schedule_result(AsyncResult::with_callback(callback, Some(state)), delay)?
            } else {
                mfwq::schedule_work_item(callback, Some(state), delay)?
            });
            Ok(())
        });
        if let (Some(id), Some(key)) = (id, key) {
            if kind == Kind::Scheduled {
                self.ledger().deadlines.lock().unwrap().push((id, due));
            }
            if self.rng.chance(400) {
                self.pending.push_back(Pending {
                    id,
                    key,
                    kind,
                    event: None,
                });
            }
        }
    }

    fn wait(&mut self) {
        let kind = match self.rng.below(3) {
            0 => Kind::WaitSet,
            1 => Kind::WaitCancel,
            _ => Kind::WaitPending,
        };
        // Waiting items may not name IO, LONG_FUNCTION, RT or TIMER.
        let params = match callback_params(&self.cycle, &mut self.rng, true) {
            Params::On(queue, _) if !queue.is_private() => {
                Params::On(QueueId::MULTITHREADED, CallbackFlags::empty())
            }
            params => params,
        };
        let route = route_of(params, &self.cycle);
        let event = match kind {
            Kind::WaitPending if self.rng.chance(500) => None,
            Kind::WaitCancel if self.rng.chance(300) => None,
            _ if self.rng.chance(500) => Some(Event::auto_reset(false)),
            _ => Some(Event::manual_reset(false)),
        };
        let priority = self.rng.priority();
        let mut key = None;
        let id = self.attempt(kind, route, |me, id| {
            let (callback, state) = me.item(id, params);
            let result = AsyncResult::with_callback(callback, Some(state));
            key = Some(mfwq::put_waiting_work_item(
                event.as_ref(),
                priority,
                result,
            )?);
            Ok(())
        });
        if let (Some(id), Some(key)) = (id, key) {
            if kind != Kind::WaitPending {
                self.pending.push_back(Pending {
                    id,
                    key,
                    kind,
                    event,
                });
            }
        }
    }

    /// Sets or cancels the oldest pending timer or waiting item.
    fn settle_pending(&mut self) {
        let Some(item) = self.pending.pop_front() else {
            return;
        };
        let ledger = Arc::clone(self.ledger());
        match item.kind {
            Kind::WaitSet => {
                if let Some(event) = &item.event {
                    event.set();
                    ledger.mark(item.id, EVENT_SET);
                    add(&stats().waits_set, 1);
                }
            }
            kind => {
                let mark = match mfwq::cancel_work_item(item.key) {
                    Ok(()) => CANCEL_OK,
                    Err(Error::NotFound) => CANCEL_NOT_FOUND,
                    Err(Error::Shutdown) => CANCEL_SHUTDOWN,
                    Err(error) => {
                        violation(
                            Rule::General,
                            format!("cycle {}: cancel of {kind:?}: {error:?}", ledger.cycle),
                        );
                        0
                    }
                };
                ledger.mark(item.id, mark);
                match (kind, mark) {
                    (Kind::WaitCancel, CANCEL_OK) => add(&stats().waits_cancelled, 1),
                    (Kind::WaitCancel, CANCEL_NOT_FOUND) => violation(
                        Rule::General,
                        format!(
                            "cycle {}: cancel of a waiting item nobody set gave NotFound",
                            ledger.cycle
                        ),
                    ),
                    (_, CANCEL_OK) => add(&stats().timers_cancelled, 1),
                    (Kind::ScheduledLong, CANCEL_NOT_FOUND) => violation(
                        Rule::General,
                        format!(
                            "cycle {}: a scheduled item due in 10 minutes was not found",
                            ledger.cycle
                        ),
                    ),
                    (_, CANCEL_NOT_FOUND) => add(&stats().timer_cancel_too_late, 1),
                    _ => {}
                }
            }
        }
    }

    /// A reply-mode item: on the replying serial queue (replied from the
    /// replier thread) or on the one whose callbacks never reply.
    fn reply_item(&mut self) {
        let never = self.rng.chance(350);
        let slot = if never {
            Slot::NeverReplySerial
        } else {
            Slot::ReplySerial
        };
        let Some(queue) = self.cycle.slot(slot) else {
            return;
        };
        let action = if never {
            if self.rng.chance(100) {
                Action::Panic
            } else {
                Action::NeverReply
            }
        } else {
            match self.cycle.replier() {
                Some(replier) => Action::Reply(replier),
                None => return,
            }
        };
        // Reply-mode items and plain ones in between.
        let reply = self.rng.chance(600);
        let flags = if reply {
            CallbackFlags::REPLY
        } else {
            CallbackFlags::empty()
        };
        let kind = if reply { Kind::Reply } else { Kind::Put };
        let via_invoke = self.rng.chance(200);
        self.attempt(kind, slot.route(), |me, id| {
            let action = if reply { action } else { Action::Record };
            let callback = SoakCallback::arc(Params::On(queue, flags), action, false);
            let state: State = Arc::new(Tag::new(me.ledger(), id, false));
            if via_invoke {
                mfwq::invoke_callback(AsyncResult::with_callback(callback, Some(state)))
            } else {
                mfwq::put_work_item(queue, callback, Some(state))
            }
        });
    }

    /// An item put behind this cycle's blocked callback.
    fn stranded(&mut self) {
        let blocked = self.cycle.blocked.load(Ordering::Acquire);
        if blocked == 0
            || self.ledger().stranded.fetch_add(1, Ordering::Relaxed) >= STRANDED_PER_CYCLE
        {
            return self.put_work_item();
        }
        let queue = QueueId(blocked);
        if self.rng.chance(300) {
            self.attempt(Kind::Put, Route::Blocked, |me, id| {
                let tag = Tag::new(me.ledger(), id, false);
                mfwq::spawn(queue, move || tag.record(HResult::S_OK))
            });
        } else {
            self.attempt(Kind::Put, Route::Blocked, |me, id| {
                let (callback, state) = me.item(id, Params::Default);
                mfwq::put_work_item(queue, callback, Some(state))
            });
        }
    }

    fn periodic(&mut self) {
        if let Some(&(key, added)) = self.periodic.first() {
            // Each runs for a few ticks before it is removed.
            if added.elapsed() > Duration::from_millis(30 + self.rng.below(120)) {
                self.periodic.swap_remove(0);
                remove_periodic(key);
                return;
            }
        }
        if self.ledger().periodic.fetch_add(1, Ordering::Relaxed) >= PERIODIC_PER_CYCLE {
            return;
        }
        let ticks = AtomicU64::new(0);
        // The context's Drop may panic too (at removal or at shutdown).
        let context_panics = self.rng.chance(300);
        let context: State = Arc::new(Tag::new(self.ledger(), u32::MAX, context_panics));
        let added = catch_unwind(AssertUnwindSafe(|| {
            mfwq::add_periodic_callback(
                move |_| {
                    add(&stats().periodic_ticks, 1);
                    if ticks.fetch_add(1, Ordering::Relaxed) % 7 == 3 {
                        add(&stats().periodic_panics, 1);
                        inject("periodic callback");
                    }
                },
                Some(context),
            )
        }));
        match added {
            Ok(Ok(key)) => {
                add(&stats().periodic_added, 1);
                self.periodic.push((key, Instant::now()));
            }
            Ok(Err(Error::Shutdown)) => {}
            Ok(Err(error)) => violation(Rule::General, format!("add_periodic_callback: {error:?}")),
            Err(_) => {
                add(&stats().escaped_panics, 1);
                violation(Rule::E, "a panic escaped from add_periodic_callback".into());
            }
        }
    }
}

/// Removes a periodic callback; its context's `Drop` may panic, which the
/// platform must catch.
fn remove_periodic(key: mfwq::PeriodicKey) {
    match catch_unwind(|| mfwq::remove_periodic_callback(key)) {
        Ok(Ok(()) | Err(Error::Shutdown)) => {}
        Ok(Err(error)) => violation(
            Rule::General,
            format!("remove_periodic_callback: {error:?}"),
        ),
        Err(_) => {
            add(&stats().escaped_panics, 1);
            violation(
                Rule::E,
                "a panic escaped from remove_periodic_callback (the Drop of its context)".into(),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Blockers, probes and the last shutdown
// ---------------------------------------------------------------------------

/// Puts a callback that blocks until the next cycle has been checked, on one
/// of: STANDARD, a private standard queue, a serial queue over a private
/// standard queue (whose own lock is given back at once), a serial queue over
/// MULTITHREADED. Items the producers put there later are stranded behind it.
fn install_blocker(cycle: &Cycle, rng: &mut Rng) {
    let mode = rng.below(4);
    *cycle.blocker.lock().unwrap() = [
        "STANDARD",
        "a private standard queue",
        "a serial queue over a private standard queue",
        "a serial queue over MULTITHREADED",
    ][mode as usize];
    let queue = match mode {
        0 => Ok(QueueId::STANDARD),
        1 => mfwq::allocate_work_queue(QueueType::Standard),
        2 => mfwq::allocate_work_queue(QueueType::Standard).and_then(|private| {
            let serial = mfwq::allocate_serial_work_queue(private);
            unlock_queue(cycle, private, "the queue under a blocked serial queue");
            serial
        }),
        _ => mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED),
    };
    let queue = match queue {
        Ok(queue) => queue,
        Err(error) => {
            violation(
                Rule::General,
                format!("cycle {}: a queue for the blocker: {error:?}", cycle.index),
            );
            return;
        }
    };
    let Some(id) = cycle.ledger.reserve(Kind::Blocker, Route::Blocked) else {
        return;
    };
    let callback = SoakCallback::arc(Params::Default, Action::Block(cycle.index), false);
    let state: State = Arc::new(Tag::new(&cycle.ledger, id, false));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        mfwq::put_work_item(queue, callback, Some(state))
    }));
    if cycle.ledger.settle(id, &outcome) {
        add(&stats().blockers, 1);
        cycle.blocked.store(queue.0, Ordering::Release);
    }
}

/// Every platform queue runs an item: after a restart, while callbacks of
/// earlier cycles may still block their old threads.
fn probe(cycle: usize) {
    let (sender, receiver) = mpsc::channel();
    for queue in common::PLATFORM_QUEUES {
        let sender = sender.clone();
        if let Err(error) = mfwq::spawn(queue, move || {
            let _ = sender.send(queue);
        }) {
            violation(
                Rule::General,
                format!("cycle {cycle}: probe on {queue}: {error:?}"),
            );
        }
    }
    for _ in common::PLATFORM_QUEUES {
        if receiver.recv_timeout(common::WAIT).is_err() {
            let rule = if SOAK.gate.blocked_now() > 0 {
                Rule::D
            } else {
                Rule::General
            };
            violation(
                rule,
                format!(
                    "cycle {cycle}: a platform queue did not run a probe after startup \
                     ({} callbacks of earlier cycles blocked)",
                    SOAK.gate.blocked_now()
                ),
            );
            return;
        }
    }
}

/// The last shutdown, on a thread of its own so that a hang is noticed:
/// returns how long it took.
fn last_shutdown(cycle: usize) -> Duration {
    let (sender, receiver) = mpsc::channel();
    let shutdown = thread::Builder::new()
        .name("soak-shutdown".into())
        .spawn(move || {
            let started = Instant::now();
            let result = mfwq::shutdown();
            let _ = sender.send((result, started.elapsed()));
        })
        .unwrap();
    let (result, took) = match receiver.recv_timeout(SHUTDOWN_HANG) {
        Ok(done) => done,
        Err(_) => {
            violation(
                Rule::D,
                format!(
                    "cycle {cycle}: shutdown had not returned after {SHUTDOWN_HANG:?} \
                     ({} callbacks blocked); blocked callbacks let go for good",
                    SOAK.gate.blocked_now()
                ),
            );
            SOAK.gate.release_before(usize::MAX);
            receiver
                .recv()
                .expect("shutdown returns once nothing blocks")
        }
    };
    shutdown.join().unwrap();
    if let Err(error) = result {
        violation(Rule::General, format!("cycle {cycle}: shutdown: {error:?}"));
    }
    if mfwq::is_started() {
        violation(
            Rule::General,
            format!("cycle {cycle}: still started after the last shutdown"),
        );
    }
    stats()
        .max_shutdown_us
        .fetch_max(took.as_micros() as u64, Ordering::Relaxed);
    if took > SHUTDOWN_TIMEOUT + SHUTDOWN_SLACK {
        violation(
            Rule::D,
            format!(
                "cycle {cycle}: shutdown took {took:?} (timeout {SHUTDOWN_TIMEOUT:?} + \
                 {SHUTDOWN_SLACK:?} allowed; {} callbacks blocked)",
                SOAK.gate.blocked_now()
            ),
        );
    }
    took
}

// ---------------------------------------------------------------------------
// Checking a cycle
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Totals {
    accepted: u64,
    invoked: u64,
    timers_pending: u64,
    timers_cancelled: u64,
    lost: u64,
}

/// Whether an accepted item must be invoked exactly once, whatever happens.
fn must_run(kind: Kind) -> bool {
    !kind.is_timer()
}

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Accepted items that must run and have not yet.
fn not_yet_run(ledger: &Ledger) -> Vec<usize> {
    (0..ledger.used())
        .filter(|&id| {
            ledger.outcome[id].load(Ordering::Acquire) == ACCEPTED
                && ledger.runs[id].load(Ordering::Acquire) == 0
                && ledger.kind_of(id).is_some_and(must_run)
        })
        .collect()
}

/// Counts the items not yet invoked when the last shutdown returned, by kind
/// and route (futures are only polled later, so they are left out).
fn count_late(ledger: &Ledger) {
    let mut late = LATE.lock().unwrap();
    for id in not_yet_run(ledger) {
        let kind = ledger.kind_of(id);
        if kind == Some(Kind::BeginAsync) {
            continue;
        }
        let route = Route::from_u8(ledger.route[id].load(Ordering::Relaxed));
        add(&stats().late_after_shutdown, 1);
        *late.entry(format!("{kind:?}/{route:?}")).or_default() += 1;
    }
}

/// Items invoked only after the last shutdown had returned, by kind/route.
static LATE: Mutex<std::collections::BTreeMap<String, u64>> =
    Mutex::new(std::collections::BTreeMap::new());

fn verify(
    cycle: &Cycle,
    mut futures: Vec<(u32, OperationFuture<u32>)>,
    shutdown_began: Instant,
    totals: &mut Totals,
) {
    let ledger = &cycle.ledger;
    let waker = Waker::from(Arc::new(NoopWake));
    let mut context = Context::from_waker(&waker);
    // Stragglers get a bounded time (rule d's stranded items, completions).
    let deadline = Instant::now() + STRAGGLER_WAIT;
    loop {
        futures.retain_mut(|(id, future)| match Pin::new(future).poll(&mut context) {
            Poll::Ready(output) => {
                add(&stats().futures_resolved, 1);
                let status = output.map_or_else(Error::hresult, |_| HResult::S_OK);
                ledger.invoked(*id, status);
                false
            }
            Poll::Pending => true,
        });
        if (futures.is_empty() && not_yet_run(ledger).is_empty()) || Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(2));
    }
    let deadlines: std::collections::HashMap<u32, Instant> =
        ledger.deadlines.lock().unwrap().iter().copied().collect();
    for id in 0..ledger.used() {
        let outcome = ledger.outcome[id].load(Ordering::Acquire);
        let runs = ledger.runs[id].load(Ordering::Acquire);
        let marks = ledger.marks[id].load(Ordering::Acquire);
        let status = ledger.status[id].load(Ordering::Acquire);
        let route = Route::from_u8(ledger.route[id].load(Ordering::Relaxed));
        let Some(kind) = ledger.kind_of(id) else {
            continue;
        };
        let mut what = format!("cycle {}: {kind:?} item {id} on {route:?}", cycle.index);
        if route == Route::Blocked {
            let _ = write!(
                what,
                " (a callback blocks {})",
                cycle.blocker.lock().unwrap()
            );
        }
        match outcome {
            ACCEPTED => {}
            // Already reported where the put returned.
            ESCAPED | REFUSED_OTHER => continue,
            IN_PROGRESS => {
                violation(Rule::General, format!("{what}: its put never returned"));
                continue;
            }
            _ => {
                if runs != 0 {
                    violation(Rule::General, format!("{what}: refused but invoked"));
                }
                continue;
            }
        }
        totals.accepted += 1;
        if runs >= 1 {
            totals.invoked += 1;
        }
        if kind.is_timer() {
            let due_long_ago = deadlines
                .get(&(id as u32))
                .is_some_and(|due| *due + timer_grace() < shutdown_began);
            if marks & CANCEL_OK != 0 {
                totals.timers_cancelled += 1;
                if runs != 0 {
                    violation(Rule::General, format!("{what}: cancelled (Ok) but invoked"));
                }
            } else if runs == 0 {
                if marks & CANCEL_NOT_FOUND != 0 {
                    totals.lost += 1;
                    violation(
                        Rule::General,
                        format!("{what}: cancel said it fired; never invoked"),
                    );
                } else if due_long_ago {
                    totals.lost += 1;
                    violation(
                        Rule::E,
                        format!(
                            "{what}: due over {:?} before the shutdown and never invoked \
                             (a dead timer thread or worker?)",
                            timer_grace()
                        ),
                    );
                } else {
                    totals.timers_pending += 1;
                }
            } else if kind == Kind::ScheduledLong {
                violation(
                    Rule::General,
                    format!("{what}: due in 10 minutes, yet invoked"),
                );
            }
            continue;
        }
        let pending_wait = match kind {
            Kind::WaitPending => true,
            Kind::WaitCancel => marks & CANCEL_OK == 0,
            Kind::WaitSet => marks & EVENT_SET == 0,
            _ => false,
        };
        if pending_wait {
            add(&stats().waits_pending_at_shutdown, 1);
        }
        if runs == 0 {
            totals.lost += 1;
            let rule = match (kind, route) {
                (Kind::Begin | Kind::BeginAsync | Kind::MmcssBegin, _) => Rule::A,
                _ if pending_wait => Rule::B,
                (_, Route::NeverReply) => Rule::C,
                (_, Route::Blocked) => Rule::D,
                _ => Rule::General,
            };
            violation(rule, format!("{what}: accepted, never invoked"));
            continue;
        }
        // The status it was invoked with.
        let shutdown = status == STATUS_SHUTDOWN;
        let ok = match kind {
            Kind::WaitPending => shutdown,
            Kind::WaitCancel if marks & CANCEL_OK != 0 => shutdown || status == STATUS_CANCELLED,
            Kind::WaitCancel => shutdown,
            Kind::WaitSet if marks & EVENT_SET != 0 => shutdown || status == STATUS_OK,
            Kind::WaitSet => shutdown,
            Kind::Begin | Kind::BeginAsync | Kind::MmcssBegin => true,
            _ => shutdown || status == STATUS_OK,
        };
        if !ok {
            let rule = if pending_wait { Rule::B } else { Rule::General };
            violation(
                rule,
                format!("{what}: invoked with status class {status} (marks {marks:#x})"),
            );
        }
        if route == Route::Blocked && kind == Kind::Put && shutdown {
            add(&stats().stranded_invoked_with_shutdown, 1);
        }
    }
    for (id, _) in futures {
        totals.lost += 1;
        violation(
            Rule::A,
            format!(
                "cycle {}: begin_async item {id}: its future never resolved",
                cycle.index
            ),
        );
    }
}

// ---------------------------------------------------------------------------
// Process measurements
// ---------------------------------------------------------------------------

fn count_entries(dir: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, Iterator::count)
}

fn threads() -> usize {
    count_entries("/proc/self/task")
}

fn fds() -> usize {
    count_entries("/proc/self/fd")
}

/// Resident memory in bytes, after giving freed heap back to the system.
fn rss() -> f64 {
    // SAFETY: malloc_trim only returns free heap memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as f64;
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let resident: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .unwrap_or(0.0);
    resident * page
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn secs_from_env() -> f64 {
    number_from_env(SECS_ENV, DEFAULT_SECS, "seconds")
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("")
}

/// Counts injected panics and keeps them off stderr; forwards the others.
fn install_hooks() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if payload_text(info.payload()).starts_with(INJECTED) {
            add(&stats().injected_fired, 1);
        } else {
            previous(info);
        }
    }));
    mfwq::set_panic_hook(|report| {
        let n = stats().panic_reports.fetch_add(1, Ordering::Relaxed);
        if !report.message.starts_with(INJECTED) {
            violation(
                Rule::General,
                format!("a panic that the soak did not inject: {}", report.message),
            );
        }
        if n % 61 == 60 {
            add(&stats().hook_panics, 1);
            inject("panic hook");
        }
    });
}

// ---------------------------------------------------------------------------
// The cycle and the test
// ---------------------------------------------------------------------------

fn spawn_named<T: Send + 'static>(
    name: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    thread::Builder::new().name(name).spawn(f).unwrap()
}

fn run_cycle(index: usize, rng: &mut Rng, load: Duration, totals: &mut Totals) -> Duration {
    if let Err(error) = mfwq::startup(mfwq::MF_VERSION) {
        violation(Rule::General, format!("cycle {index}: startup: {error:?}"));
        return Duration::ZERO;
    }
    probe(index);
    let (replies, replies_in) = mpsc::channel();
    let cycle = Arc::new(Cycle {
        index,
        ledger: Arc::new(Ledger::new(index)),
        slots: std::array::from_fn(|_| AtomicU32::new(0)),
        blocked: AtomicU32::new(0),
        blocker: Mutex::new("nothing"),
        stop: AtomicBool::new(false),
        stop_nesting: AtomicBool::new(false),
        down: AtomicBool::new(false),
        replier: Mutex::new(Some(replies)),
        futures: Mutex::new(Vec::new()),
        load_ends: Instant::now() + load,
    });
    for slot in SLOTS {
        match allocate_slot(&cycle, slot) {
            Ok(id) => cycle.slots[slot as usize].store(id.0, Ordering::Release),
            Err(error) => violation(
                Rule::General,
                format!("cycle {index}: allocating {slot:?}: {error:?}"),
            ),
        }
    }
    if rng.chance(600) {
        install_blocker(&cycle, rng);
    }
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let producer = Producer {
                cycle: Arc::clone(&cycle),
                rng: Rng::new(rng.next()),
                pending: VecDeque::new(),
                periodic: Vec::new(),
            };
            spawn_named(format!("soak-producer-{p}"), move || producer.run())
        })
        .collect();
    let helpers = [
        {
            let (cycle, seed) = (Arc::clone(&cycle), rng.next());
            spawn_named("soak-allocator".into(), move || allocator(cycle, seed))
        },
        {
            let (cycle, seed) = (Arc::clone(&cycle), rng.next());
            spawn_named("soak-mmcss".into(), move || mmcss_changer(cycle, seed))
        },
        {
            let (cycle, seed) = (Arc::clone(&cycle), rng.next());
            spawn_named("soak-replier".into(), move || {
                replier(cycle, replies_in, seed)
            })
        },
    ];
    let nesting = {
        let (cycle, seed) = (Arc::clone(&cycle), rng.next());
        spawn_named("soak-nesting".into(), move || nesting(cycle, seed))
    };
    thread::sleep(load);

    // The last shutdown, while the producers still put.
    cycle.stop_nesting.store(true, Ordering::Release);
    nesting.join().unwrap();
    let shutdown_began = Instant::now();
    let took = last_shutdown(index);
    cycle.down.store(true, Ordering::Release);
    count_late(&cycle.ledger);
    // Producers race on against the stopped platform for a moment.
    thread::sleep(Duration::from_millis(20));
    cycle.stop.store(true, Ordering::Release);
    cycle.replier.lock().unwrap().take();
    for producer in producers {
        if producer.join().is_err() {
            violation(Rule::General, format!("cycle {index}: a producer panicked"));
        }
    }
    let futures = std::mem::take(&mut *cycle.futures.lock().unwrap());
    for helper in helpers {
        if helper.join().is_err() {
            violation(
                Rule::General,
                format!("cycle {index}: a helper thread panicked"),
            );
        }
    }
    verify(&cycle, futures, shutdown_began, totals);
    // The blockers of the cycle before go now; this cycle's stay blocked
    // until the next cycle has started, loaded and shut down.
    SOAK.gate.release_before(index);
    took
}

/// Gives up the right to real-time scheduling for this thread and every
/// thread it starts from now on (the platform's workers among them):
/// `CAP_SYS_NICE` out of the thread's capabilities, and `RLIMIT_RTPRIO` 0
/// for the process. MMCSS registrations then take their documented fallback
/// (`docs/realtime.md`: the same bookkeeping, the policy reported as not
/// applied), which is what this soak checks under faults.
///
/// Why: with the right, the soak's registrations put whole pools (two
/// workers on a two-CPU machine) under `SCHED_FIFO`/`SCHED_RR`, and a
/// real-time pool that always has soak items to run holds every CPU (as
/// real-time scheduling means it to): the timekeeper, the producers and the
/// soak's own checks wait, and timers that were due fire too late for the
/// soak's 250 ms rule, which is not a fault. (It once also stalled on a wait
/// inside the bands' queue: docs/realtime.md, "More real-time workers than
/// CPUs", and `tests/realtime_starvation.rs`.) The real-time tests and the
/// real-time bench exercise the real policies.
fn give_up_realtime_scheduling() {
    #[cfg(target_os = "linux")]
    {
        #[repr(C)]
        struct CapHeader {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy, Default)]
        struct CapData {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        const VERSION_3: u32 = 0x2008_0522;
        const CAP_SYS_NICE: u32 = 23;
        let mut header = CapHeader {
            version: VERSION_3,
            pid: 0,
        };
        let mut data = [CapData::default(); 2];
        // SAFETY: capget/capset with a version-3 header and two data words,
        // as the kernel's ABI defines them; both only touch this thread.
        unsafe {
            if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) == 0 {
                let bit = !(1u32 << CAP_SYS_NICE);
                data[0].effective &= bit;
                data[0].permitted &= bit;
                data[0].inheritable &= bit;
                libc::syscall(libc::SYS_capset, &mut header, data.as_ptr());
            }
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_RTPRIO, &none);
        }
    }
}

#[test]
fn soak_under_faults() {
    let _serial = common::serial();
    give_up_realtime_scheduling();
    let secs = secs_from_env();
    let budget = Duration::from_secs_f64(secs.max(0.0));
    mfwq::set_shutdown_timeout(SHUTDOWN_TIMEOUT);
    install_hooks();
    let seed = std::env::var("MFWQ_SOAK_SEED")
        .ok()
        .and_then(|seed| seed.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |now| now.as_nanos() as u64)
        });
    let mut rng = Rng::new(seed);
    let threads_before = threads();
    let fds_before = fds();
    let rss_before = rss();
    let started = Instant::now();
    let mut totals = Totals::default();
    let mut rss_samples = Vec::new();
    let mut cycles = 0;
    eprintln!("soak: {secs} s (seed {seed}), shutdown timeout {SHUTDOWN_TIMEOUT:?}");
    while cycles < MAX_CYCLES && (cycles == 0 || started.elapsed() < budget) {
        let load = Duration::from_millis(120 + rng.below(250));
        let took = run_cycle(cycles, &mut rng, load, &mut totals);
        // Threads: the platform's are gone but for blocked callbacks.
        let blocked = SOAK.gate.blocked_now();
        if !common::wait_until(Duration::from_secs(3), || {
            threads() <= threads_before + SOAK.gate.blocked_now()
        }) {
            violation(
                Rule::General,
                format!(
                    "cycle {cycles}: {} threads after the shutdown, {threads_before} before the \
                     soak and {blocked} callbacks blocked",
                    threads()
                ),
            );
        }
        rss_samples.push(rss());
        let violations: usize = SOAK.violations.lock().unwrap().count.iter().sum();
        if cycles % 10 == 0 || violations > 0 && cycles < 3 {
            eprintln!(
                "soak cycle {cycles}: {} items, shutdown {took:?}, {blocked} blocked, \
                 {} threads, RSS {:.1} MiB, {} results alive ({} timers left pending), \
                 {violations} violations so far",
                totals.accepted,
                threads(),
                mib(*rss_samples.last().unwrap()),
                mfwq::platform_lock_count(),
                totals.timers_pending,
            );
        }
        cycles += 1;
    }
    let elapsed = started.elapsed();

    // Let the blocked callbacks go: their threads must exit.
    SOAK.gate.release_before(usize::MAX);
    if !common::wait_until(Duration::from_secs(5), || SOAK.gate.blocked_now() == 0) {
        violation(
            Rule::D,
            "blocked callbacks did not return once let go".into(),
        );
    }
    if !common::wait_until(Duration::from_secs(5), || threads() <= threads_before) {
        violation(
            Rule::General,
            format!(
                "threads leaked: {threads_before} before, {} after",
                threads()
            ),
        );
    }
    if !common::wait_until(Duration::from_secs(2), || fds() <= fds_before) {
        violation(
            Rule::General,
            format!(
                "file descriptors leaked: {fds_before} before, {} after",
                fds()
            ),
        );
    }
    let (threads_after, fds_after) = (threads(), fds());
    // With the platform down, every result still alive holds one platform
    // lock: those of the timers left pending at each last shutdown (leaked by
    // design), and no other.
    common::wait_until(Duration::from_secs(2), || {
        mfwq::platform_lock_count() <= totals.timers_pending as i64
    });
    let results_alive = mfwq::platform_lock_count();
    if results_alive > totals.timers_pending as i64 {
        violation(
            Rule::General,
            format!(
                "{results_alive} results still alive after the soak, {} of them timers left \
                 pending at a shutdown",
                totals.timers_pending
            ),
        );
    }
    // Memory: the last cycles against the first ones (the very first warms up).
    let (rss_first, rss_last) = if rss_samples.len() >= 6 {
        (
            mean(&rss_samples[1..4]),
            mean(&rss_samples[rss_samples.len() - 3..]),
        )
    } else {
        (rss_samples[0], *rss_samples.last().unwrap())
    };
    let rss_allowed = rss_tolerance() + totals.timers_pending as f64 * RSS_PER_LEAKED_TIMER;
    if rss_last > rss_first + rss_allowed {
        violation(
            Rule::General,
            format!(
                "memory grew from {:.1} MiB in the first cycles to {:.1} MiB in the last \
                 ({:.1} MiB allowed)",
                mib(rss_first),
                mib(rss_last),
                mib(rss_allowed)
            ),
        );
    }
    // Every injected panic the platform caught was reported once; the hook's
    // own panics and those that escaped to a caller were not.
    let fired = get(&stats().injected_fired);
    let reports = get(&stats().panic_reports);
    let hook = get(&stats().hook_panics);
    let escaped = get(&stats().escaped_panics);
    if reports + hook + escaped != fired {
        violation(
            Rule::E,
            format!(
                "{fired} injected panics fired, {reports} reported through the hook, {hook} in \
                 the hook itself, {escaped} escaped: {} unaccounted",
                fired as i64 - (reports + hook + escaped) as i64
            ),
        );
    }
    let _ = std::panic::take_hook();
    mfwq::clear_panic_hook();

    let s = stats();
    let violations = SOAK.violations.lock().unwrap();
    let double = get(&s.double_invocations);
    eprintln!(
        "soak summary: {:.1} s, {cycles} cycles, seed {seed}; items: accepted {} = invoked {} + \
         timers pending at the last shutdown {} + timers cancelled {} + lost {}; refused {} \
         (Shutdown {}, InvalidWorkQueue {}); invoked after shutdown returned {}; double \
         invocations {double}; faults injected and survived: panics in invoke {}, in \
         parameters() {}, in Drop of a state {}, of a callback {}, in Begin work {}, in \
         periodic callbacks {}, in the panic hook {} ({} fired, {} reported, {} escaped); blocked \
         callbacks {} ({} stranded items invoked with MF_E_SHUTDOWN); queues unlocked mid-flight \
         {} (serial {}); MMCSS changes {} (+{} refused); waits set {}, cancelled {}, pending at \
         shutdown {}; replies {}; nested startups {}; periodic callbacks {} ({} ticks); futures \
         resolved {}; longest shutdown {:.1} ms; results alive at the end {results_alive}; threads \
         {threads_before} -> {threads_after}, fds \
         {fds_before} -> {fds_after}, RSS {:.1} MiB before, {:.1} MiB (first cycles) -> {:.1} MiB \
         (last cycles)",
        elapsed.as_secs_f64(),
        totals.accepted,
        totals.invoked,
        totals.timers_pending,
        totals.timers_cancelled,
        totals.lost,
        get(&s.refused_shutdown) + get(&s.refused_invalid),
        get(&s.refused_shutdown),
        get(&s.refused_invalid),
        get(&s.late_after_shutdown),
        get(&s.invoke_panics),
        get(&s.parameters_panics),
        get(&s.state_drop_panics),
        get(&s.callback_drop_panics),
        get(&s.work_panics),
        get(&s.periodic_panics),
        get(&s.hook_panics),
        get(&s.injected_fired),
        get(&s.panic_reports),
        get(&s.escaped_panics),
        get(&s.blockers),
        get(&s.stranded_invoked_with_shutdown),
        get(&s.queues_unlocked),
        get(&s.serial_unlocked),
        get(&s.mmcss_changes),
        get(&s.mmcss_refused),
        get(&s.waits_set),
        get(&s.waits_cancelled),
        get(&s.waits_pending_at_shutdown),
        get(&s.replies),
        get(&s.nested_startups),
        get(&s.periodic_added),
        get(&s.periodic_ticks),
        get(&s.futures_resolved),
        get(&s.max_shutdown_us) as f64 / 1000.0,
        mib(rss_before),
        mib(rss_first),
        mib(rss_last),
    );
    eprintln!(
        "soak: invoked only after the last shutdown returned, by kind/route: {:?}",
        LATE.lock().unwrap()
    );
    let mut report = String::new();
    for rule in Rule::ALL {
        let count = violations.count[rule as usize];
        let verdict = if count == 0 { "held" } else { "FAILED" };
        eprintln!("soak rule {}: {verdict} ({count} violations)", rule.label());
        if count > 0 {
            let _ = writeln!(report, "{} — {count} violations, first:", rule.label());
            for message in &violations.first[rule as usize] {
                let _ = writeln!(report, "    {message}");
            }
        }
    }
    assert!(report.is_empty(), "soak violations:\n{report}");
    assert!(totals.accepted > 0, "nothing was accepted");
    assert_eq!(
        totals.accepted,
        totals.invoked + totals.timers_pending + totals.timers_cancelled + totals.lost
    );
}
