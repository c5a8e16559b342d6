//! Fuzz target `rust_api`: random sequences of calls through the Rust API of
//! crate `mfwq`, with callbacks whose `parameters()` or `invoke` panic,
//! states whose `Drop` panics, spawned closures and periodic callbacks that
//! panic, Begin work that fails or panics, and a panic hook that sometimes
//! panics itself. The oracle is the one of `c_api` (see `docs/fuzzing.md`),
//! in Rust terms, plus: every injected panic is caught by the platform and
//! reported to the panic hook exactly once, and none escapes an API call.
//!
//! Knobs (environment): `MFWQ_FUZZ_TRACE=1`, `MFWQ_FUZZ_RELAX=rule,...`, and
//! `MFWQ_FUZZ_WRITE_SEEDS=<dir>` (writes the seed corpus and exits).

#![no_main]

use std::any::Any;
use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, LazyLock, Mutex, Once, Weak};
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use mfwq::{
    AsyncCallback, AsyncOperation, AsyncResult, Callback, CallbackFlags, CallbackParams, ClassName, Error,
    Event, HResult, PanicSite, PeriodicKey, QueueId, QueueType, State, WorkItemKey,
};

mod quiescence;

const MAX_OPS: usize = 64;
const MAX_OBJECTS: usize = 12;
const CHAIN_BUDGET: i64 = 16;
const SHUTDOWN_TIMEOUT_MS: u64 = 10;
/// How long the end-of-input checks wait for the threads a shutdown left
/// behind to end (see `c_api`).
const QUIESCE: Duration = Duration::from_secs(10);

type Res<T> = mfwq::Result<T>;

// ---------------------------------------------------------------------------
// Failures, knobs, tracing

static FAILURES: Mutex<Vec<String>> = Mutex::new(Vec::new());
static TRACE: LazyLock<bool> = LazyLock::new(|| std::env::var_os("MFWQ_FUZZ_TRACE").is_some());
static RELAX: LazyLock<Vec<String>> = LazyLock::new(|| {
    std::env::var("MFWQ_FUZZ_RELAX")
        .unwrap_or_default()
        .split(',')
        .map(|rule| rule.trim().to_owned())
        .filter(|rule| !rule.is_empty())
        .collect()
});

fn relaxed(rule: &str) -> bool {
    RELAX.iter().any(|r| r == rule)
}

fn fail(message: String) {
    FAILURES.lock().unwrap().push(message);
}

fn raise_failures(context: &str) {
    let failures = std::mem::take(&mut *FAILURES.lock().unwrap());
    if !failures.is_empty() {
        panic!("oracle failure ({context}):\n  {}", failures.join("\n  "));
    }
}

macro_rules! trace {
    ($($arg:tt)*) => {
        if *TRACE {
            eprintln!($($arg)*);
        }
    };
}

/// What the model predicts for a call.
#[derive(Clone, Debug)]
enum Expect {
    Exactly(Res<()>),
    OneOf(Vec<Res<()>>),
}

use Error::{InvalidArg, InvalidWorkQueue, NotFound, Shutdown};

fn ok() -> Expect {
    Expect::Exactly(Ok(()))
}
fn err(error: Error) -> Expect {
    Expect::Exactly(Err(error))
}

/// Checks an API call's outcome against the documented errors and the model.
#[track_caller]
fn check<T: std::fmt::Debug>(call: &str, got: &Res<T>, documented: &[Error], model: Expect) {
    trace!("  {call} -> {got:?}");
    let got = got.as_ref().map(|_| ()).map_err(|e| *e);
    if let Err(error) = got {
        if !documented.contains(&error) {
            panic!("oracle failure: {call} returned {error:?} ({:?}); documented: {documented:?}", error.hresult());
        }
    }
    let fits = match &model {
        Expect::Exactly(expected) => *expected == got,
        Expect::OneOf(set) => set.contains(&got),
    };
    if !fits {
        panic!("oracle failure: {call} returned {got:?}; the model expected {model:?}");
    }
}

// ---------------------------------------------------------------------------
// Injected panics

/// The payload of every panic the fuzzer injects.
struct Injected;

/// A payload whose own `Drop` panics (the platform must leak it, not abort).
struct InjectedBomb;

impl Drop for InjectedBomb {
    fn drop(&mut self) {
        if !FUZZER_DROPPING.with(Cell::get) {
            std::panic::panic_any(Injected);
        }
    }
}

/// Primary panics injected into code the platform calls, and reports the
/// panic hook received.
static INJECTED: AtomicU64 = AtomicU64::new(0);
static REPORTED: AtomicU64 = AtomicU64::new(0);
static REPORTED_BY_SITE: Mutex<Vec<(PanicSite, u64)>> = Mutex::new(Vec::new());
/// The hook itself panics on every n-th report (0: never).
static HOOK_PANIC_EVERY: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set while the fuzzer itself drops values: a state's `Drop` panics
    /// only when the platform drops it.
    static FUZZER_DROPPING: Cell<bool> = const { Cell::new(false) };
}

fn fuzzer_drop<T>(value: T) {
    FUZZER_DROPPING.with(|f| f.set(true));
    drop(value);
    FUZZER_DROPPING.with(|f| f.set(false));
}

fn inject(bomb: bool) -> ! {
    INJECTED.fetch_add(1, SeqCst);
    if bomb {
        std::panic::panic_any(InjectedBomb)
    } else {
        std::panic::panic_any(Injected)
    }
}

fn is_injected(payload: &(dyn Any + Send)) -> bool {
    payload.is::<Injected>() || payload.is::<InjectedBomb>()
}

/// Runs one API call; an injected panic that escapes it is a violation.
#[track_caller]
fn call<T>(what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => value,
        Err(payload) => {
            let injected = is_injected(&*payload);
            std::mem::forget(payload);
            panic!("oracle failure: a panic escaped {what} (injected: {injected}); user code must be contained");
        }
    }
}

// ---------------------------------------------------------------------------
// Items, callbacks, states

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TagKind {
    Put,
    Schedule,
    Result,
    Begin,
    MmcssBegin { register: bool, task: u32 },
    Operation,
    Chain,
}

/// What the fuzzer knows of one item (or of one result object).
struct Stats {
    kind: TagKind,
    callback: Option<usize>,
    owed: AtomicU32,
    scheduled: AtomicU32,
    cancelled_timers: AtomicU32,
    waits: AtomicU32,
    cancelled_waits: AtomicU32,
    invoked: AtomicU32,
    statuses: Mutex<Vec<HResult>>,
    /// A Begin's expected End: the work's output or error.
    begin: Mutex<Option<Res<u32>>>,
}

impl Stats {
    fn new(kind: TagKind, callback: Option<usize>) -> Arc<Stats> {
        Arc::new(Stats {
            kind,
            callback,
            owed: AtomicU32::new(0),
            scheduled: AtomicU32::new(0),
            cancelled_timers: AtomicU32::new(0),
            waits: AtomicU32::new(0),
            cancelled_waits: AtomicU32::new(0),
            invoked: AtomicU32::new(0),
            statuses: Mutex::new(Vec::new()),
            begin: Mutex::new(None),
        })
    }
}

/// An item's state: handed to the platform (the fuzzer keeps only a `Weak`),
/// so that its release is observable; its `Drop` may panic.
struct Tag {
    stats: Arc<Stats>,
    panic_on_drop: bool,
}

impl Drop for Tag {
    fn drop(&mut self) {
        if self.panic_on_drop && !FUZZER_DROPPING.with(Cell::get) && !std::thread::panicking() {
            inject(false);
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum ParamsMode {
    /// `None`: the defaults.
    Defaults,
    Some(u32, QueueId),
    Panic,
}

#[derive(Clone, Copy, Debug)]
struct CbConfig {
    params: ParamsMode,
    invoke_panics: bool,
    bomb: bool,
    stash_replies: bool,
    chain: Option<QueueId>,
}

impl CbConfig {
    fn effective(&self) -> (u32, QueueId) {
        match self.params {
            ParamsMode::Some(flags, queue) => (flags, queue),
            _ => (0, QueueId::STANDARD),
        }
    }
}

struct FuzzCallback {
    index: usize,
    config: CbConfig,
    invoked: AtomicU32,
    untagged_invoked: AtomicU32,
    untagged_owed: AtomicU32,
    untagged_statuses: Mutex<Vec<HResult>>,
}

static STASH: Mutex<Vec<AsyncResult>> = Mutex::new(Vec::new());
static CHAIN_TAGS: Mutex<Vec<(Weak<Tag>, Arc<Stats>)>> = Mutex::new(Vec::new());
static CHAIN_LEFT: AtomicI64 = AtomicI64::new(0);

impl AsyncCallback for FuzzCallback {
    fn parameters(&self) -> Option<CallbackParams> {
        match self.config.params {
            ParamsMode::Defaults => None,
            ParamsMode::Some(flags, queue) => Some(CallbackParams {
                flags: CallbackFlags::from_bits_retain(flags),
                queue,
            }),
            ParamsMode::Panic => inject(self.config.bomb),
        }
    }

    fn invoke(&self, result: &AsyncResult) {
        let status = result.status();
        let stats = result.state_as::<Tag>().map(|tag| Arc::clone(&tag.stats));
        // A result whose callback is not this one is a reply result.
        let own = result
            .callback()
            .is_some_and(|cb| std::ptr::addr_eq(Arc::as_ptr(cb), self as *const FuzzCallback));
        match &stats {
            Some(stats) => {
                stats.statuses.lock().unwrap().push(status);
                match stats.kind {
                    TagKind::Begin | TagKind::Operation => end_operation(self.index, result, stats),
                    TagKind::MmcssBegin { register, task } => end_mmcss(self.index, result, register, task),
                    _ => self.maybe_reply(result, own),
                }
                if stats.kind != TagKind::Chain {
                    self.maybe_chain();
                }
                stats.invoked.fetch_add(1, SeqCst);
            }
            None => {
                self.untagged_statuses.lock().unwrap().push(status);
                self.maybe_reply(result, own);
                self.untagged_invoked.fetch_add(1, SeqCst);
            }
        }
        self.invoked.fetch_add(1, SeqCst);
        if self.config.invoke_panics {
            inject(self.config.bomb);
        }
    }
}

impl FuzzCallback {
    fn maybe_reply(&self, result: &AsyncResult, own: bool) {
        if own || self.config.effective().0 & CallbackFlags::REPLY.bits() == 0 {
            return;
        }
        if self.config.stash_replies {
            STASH.lock().unwrap().push(result.clone());
        } else {
            match mfwq::invoke_callback(result) {
                Ok(()) | Err(Error::Shutdown) => {}
                Err(other) => fail(format!("invoke_callback(reply) from callback {} gave {other:?}", self.index)),
            }
        }
    }

    fn maybe_chain(&self) {
        let Some(queue) = self.config.chain else { return };
        if CHAIN_LEFT.fetch_sub(1, SeqCst) <= 0 {
            return;
        }
        let Some(me) = CALLBACKS.lock().unwrap().get(self.index).cloned() else { return };
        let stats = Stats::new(TagKind::Chain, Some(self.index));
        let tag = Arc::new(Tag { stats: Arc::clone(&stats), panic_on_drop: false });
        CHAIN_TAGS.lock().unwrap().push((Arc::downgrade(&tag), Arc::clone(&stats)));
        let callback: Callback = me;
        match mfwq::put_work_item(queue, callback, Some(tag as State)) {
            Ok(()) => {
                stats.owed.fetch_add(1, SeqCst);
            }
            Err(Error::Shutdown | Error::InvalidWorkQueue) => {}
            Err(other) => fail(format!("chained put_work_item({queue:?}) gave {other:?}")),
        }
    }
}

/// The callbacks of the current input, for chained puts from inside `invoke`.
static CALLBACKS: Mutex<Vec<Arc<FuzzCallback>>> = Mutex::new(Vec::new());

fn end_operation(index: usize, result: &AsyncResult, stats: &Stats) {
    let expected = stats.begin.lock().unwrap().clone();
    let got = AsyncOperation::<u32>::end(result);
    let Some(expected) = expected else {
        fail(format!("callback {index}: an operation completed with no expectation recorded"));
        return;
    };
    let fits = got == expected || (got == Err(Error::Shutdown) && result.status() == HResult::MF_E_SHUTDOWN);
    if !fits {
        fail(format!("callback {index}: End gave {got:?}, the operation produced {expected:?}"));
    }
    let again = AsyncOperation::<u32>::end(result);
    let expected_again = match got {
        Ok(_) => Err(Error::InvalidRequest),
        Err(error) => Err(error),
    };
    if again != expected_again {
        fail(format!("callback {index}: a second End gave {again:?} (first {got:?})"));
    }
    if AsyncOperation::<String>::end(result) != Err(Error::InvalidArg) {
        fail(format!("callback {index}: End of another type did not refuse the result"));
    }
}

fn end_mmcss(index: usize, result: &AsyncResult, register: bool, requested: u32) {
    let allowed = [Error::InvalidWorkQueue, Error::Shutdown];
    if register {
        if mfwq::end_unregister_work_queue_with_mmcss(result) != Err(Error::InvalidArg) {
            fail("end_unregister_work_queue_with_mmcss(register result) did not refuse it".into());
        }
        match mfwq::end_register_work_queue_with_mmcss(result) {
            Ok(task) => {
                if task == 0 || (requested != 0 && task != requested) {
                    fail(format!("end_register gave task {task} for {requested}"));
                }
                if mfwq::end_register_work_queue_with_mmcss(result) != Err(Error::InvalidRequest) {
                    fail("a second end_register did not say InvalidRequest".into());
                }
            }
            Err(error) if allowed.contains(&error) => {}
            Err(error) => fail(format!("callback {index}: end_register gave {error:?}")),
        }
    } else {
        if mfwq::end_register_work_queue_with_mmcss(result) != Err(Error::InvalidArg) {
            fail("end_register_work_queue_with_mmcss(unregister result) did not refuse it".into());
        }
        match mfwq::end_unregister_work_queue_with_mmcss(result) {
            Ok(()) => {}
            Err(error) if allowed.contains(&error) => {}
            Err(error) => fail(format!("callback {index}: end_unregister gave {error:?}")),
        }
    }
}

/// Spawned closures and periodic callbacks: counts and optional panics.
struct SpawnStats {
    ran: AtomicU32,
}

/// Captured by a spawned closure: tells whether the closure was dropped.
struct SpawnGuard(Arc<SpawnStats>, Arc<AtomicBool>);

impl Drop for SpawnGuard {
    fn drop(&mut self) {
        self.1.store(true, SeqCst);
    }
}

struct PeriodicStats {
    ticks: AtomicU64,
    closure_dropped: AtomicBool,
}

struct PeriodicGuard(Arc<PeriodicStats>);

impl Drop for PeriodicGuard {
    fn drop(&mut self) {
        self.0.closure_dropped.store(true, SeqCst);
    }
}

// ---------------------------------------------------------------------------
// The input

#[derive(Arbitrary, Debug, Clone, Copy)]
enum QSel {
    Platform(u8),
    Mine(u8),
    Private(u16, u16),
    Garbage(u32),
    All,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum ClassSel {
    None,
    Empty,
    Known(u8),
    Nul,
    Long(u8),
    /// Not valid UTF-16: kept exactly as given all the same.
    LoneSurrogate { high: bool, unit: u8, prefix: u8 },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum StateSel {
    None,
    Tag,
    /// A tag whose `Drop` panics.
    Bomb,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Delay {
    Zero,
    Ms(u8),
    Far,
    Max,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Outcome {
    Value(u32),
    Fail(u8),
    Panic,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    Startup { how: u8 },
    Shutdown,
    Guard,
    LockPlatform,
    UnlockPlatform,
    Allocate { kind: u8 },
    AllocateSerial { target: QSel },
    LockQueue(QSel),
    UnlockQueue(QSel),
    LockShared { class: ClassSel, priority: i8, task: Option<u8> },
    NewCallback { params: u8, flags: u8, queue: QSel, invoke_panics: bool, bomb: bool, stash_replies: bool, chain: Option<QSel> },
    NewEvent { manual: bool, initial: bool },
    SetEvent(u8),
    ResetEvent(u8),
    CreateResult { callback: Option<u8>, event: Option<u8>, state: StateSel },
    Put { queue: QSel, priority: i8, callback: u8, state: StateSel },
    PutResult { queue: QSel, priority: i8, result: u8, moved: bool },
    Invoke { result: u8 },
    Spawn { queue: QSel, priority: i8, panics: bool },
    Schedule { callback: u8, state: StateSel, delay: Delay },
    ScheduleResult { result: u8, delay: Delay },
    Cancel { key: Option<u8>, garbage: u64 },
    PutWaiting { event: Option<u8>, result: u8 },
    AddPeriodic { context: bool, panics: bool },
    RemovePeriodic { key: Option<u8>, garbage: u32 },
    Begin { queue: QSel, callback: u8, outcome: Outcome, state: StateSel },
    Operation { callback: u8, outcome: Outcome },
    RegisterQueue { queue: QSel, class: ClassSel, task: u8, priority: i8 },
    UnregisterQueue(QSel),
    BeginRegister { queue: QSel, class: ClassSel, task: u8, priority: i8, callback: u8 },
    BeginUnregister { queue: QSel, callback: u8 },
    RegisterPlatform { class: ClassSel, task: u8, priority: i8 },
    UnregisterPlatform,
    Getters(QSel),
    Reply { index: u8 },
    HookPanics(u8),
    Sleep(u8),
}

// ---------------------------------------------------------------------------
// The model

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Live {
    Yes,
    No,
    Maybe,
}

struct QueueRec {
    id: u32,
    epoch: u32,
    locks: i64,
    targeted: bool,
    unsure: bool,
    /// The target of a serial queue.
    target: Option<u32>,
}

struct TagRec {
    weak: Weak<Tag>,
    stats: Arc<Stats>,
    /// A schedule without a state: accounted here, unseen by the platform.
    stateless: bool,
}

struct ResultRec {
    result: AsyncResult,
    stats: Arc<Stats>,
    callback: Option<usize>,
    event: Option<usize>,
    uses: u32,
    waited: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Scheduled { far: bool },
    Waiting { event: Option<usize> },
}

struct KeyRec {
    key: WorkItemKey,
    epoch: u32,
    kind: KeyKind,
    stats: Arc<Stats>,
    done: bool,
}

struct PeriodicRec {
    key: PeriodicKey,
    epoch: u32,
    removed: bool,
    stats: Arc<PeriodicStats>,
    context: Option<Weak<Tag>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Mmcss {
    class: Vec<u16>,
    task: Option<u32>,
    priority: i32,
}

impl Mmcss {
    fn none() -> Mmcss {
        Mmcss { class: Vec::new(), task: Some(0), priority: 0 }
    }
}

#[derive(Clone, Debug)]
enum Reg {
    Known(Mmcss),
    Unknown,
}

struct SpawnRec {
    stats: Arc<SpawnStats>,
    dropped: Arc<AtomicBool>,
    accepted: bool,
}

struct Model {
    started: i64,
    epoch: u32,
    explicit_locks: i64,
    guards: Vec<mfwq::Platform>,
    queues: Vec<QueueRec>,
    shared: Vec<(Vec<u16>, usize)>,
    callbacks: Vec<Arc<FuzzCallback>>,
    tags: Vec<TagRec>,
    results: Vec<ResultRec>,
    events: Vec<(Event, bool)>,
    keys: Vec<KeyRec>,
    periodic: Vec<PeriodicRec>,
    spawns: Vec<SpawnRec>,
    mmcss: Option<HashMap<u32, Reg>>,
    begins: Vec<Arc<Stats>>,
    deadline_hit: bool,
    leaked_results: u64,
}

const PLATFORM_KEYS: [u32; 6] = [1, 2, 3, 4, 5, 7];

fn platform_key(id: u32) -> u32 {
    match id {
        2 | 3 | 4 | 5 | 7 => id,
        _ => 1,
    }
}

/// Names an allocated queue: private bits, except the undefined private ids
/// (low word 0 under a high word with its top bit set), which mean STANDARD.
fn is_private(id: u32) -> bool {
    id & 0xFFFF_0000 != 0 && id & 0x8000_FFFF != 0x8000_0000
}

fn needs_fast_io(flags: u32) -> bool {
    flags & 0x3 != 0
}

fn fast_io_allowed(queue: u32) -> bool {
    queue == 3 || queue == 4
}

fn flags_of(bits: u8) -> u32 {
    let mut flags = u32::from(bits & 0x1F);
    if bits & 0x20 != 0 {
        flags |= 0x100;
    }
    if bits & 0xC0 == 0xC0 {
        flags = CallbackFlags::REPLY.bits();
    }
    flags
}

fn class_of(class: ClassSel) -> Option<ClassName> {
    const NAMES: [&str; 8] = ["Audio", "Pro Audio", "Playback", "Capture", "Games", "Distribution", "Ünïcødé ☃", "😀 emoji"];
    Some(match class {
        ClassSel::None => return None,
        ClassSel::Empty => ClassName::from(""),
        ClassSel::Known(i) => ClassName::from(NAMES[i as usize % NAMES.len()]),
        ClassSel::Nul => ClassName::from("Au\0dio"),
        ClassSel::Long(n) => ClassName::from("x".repeat(n as usize + 60)),
        ClassSel::LoneSurrogate { high, unit, prefix } => {
            let mut units: Vec<u16> = "Audio".encode_utf16().take(prefix as usize % 6).collect();
            units.push(if high { 0xD800 } else { 0xDC00 } + u16::from(unit) * 4);
            units.push(u16::from(b'x'));
            ClassName::from_utf16(&units)
        }
    })
}

/// What the validity rules say of a class name: empty or with a NUL is refused.
fn bad_class(class: &ClassName) -> bool {
    class.is_empty() || class.contains_nul()
}

fn delay_of(delay: Delay) -> (Duration, bool) {
    match delay {
        Delay::Zero => (Duration::ZERO, false),
        Delay::Ms(n) => (Duration::from_micros(u64::from(n % 4) * 700), false),
        Delay::Far => (Duration::from_secs(3600), true),
        Delay::Max => (Duration::MAX, true),
    }
}

impl Model {
    fn new() -> Model {
        Model {
            started: 0,
            epoch: 0,
            explicit_locks: 0,
            guards: Vec::new(),
            queues: Vec::new(),
            shared: Vec::new(),
            callbacks: Vec::new(),
            tags: Vec::new(),
            results: Vec::new(),
            events: Vec::new(),
            keys: Vec::new(),
            periodic: Vec::new(),
            spawns: Vec::new(),
            mmcss: None,
            begins: Vec::new(),
            deadline_hit: false,
            leaked_results: 0,
        }
    }

    fn up(&self) -> bool {
        self.started > 0
    }

    fn queue_id(&self, sel: QSel) -> QueueId {
        QueueId(match sel {
            QSel::Platform(n) => u32::from(n % 8),
            QSel::Mine(i) if !self.queues.is_empty() => self.queues[i as usize % self.queues.len()].id,
            QSel::Mine(n) => u32::from(n % 8),
            QSel::Private(slot, generation) => (u32::from(slot % 64) + 1) << 16 | u32::from(generation),
            QSel::Garbage(value) => value,
            QSel::All => u32::MAX,
        })
    }

    fn queue_rec(&mut self, id: u32) -> Option<&mut QueueRec> {
        self.queues.iter_mut().rev().find(|q| q.id == id)
    }

    /// A queue whose lock count, or that of a queue below it, is unknowable
    /// (an unlock past the input's own locks takes a serial queue's lock on
    /// its target, and the serial queue then refuses work).
    fn tainted(&self, id: u32, depth: usize) -> bool {
        match self.queues.iter().rev().find(|q| q.id == id) {
            Some(q) if q.unsure => true,
            Some(q) if depth < 64 => q.target.is_some_and(|t| self.tainted(t, depth + 1)),
            _ => false,
        }
    }

    fn live(&self, id: u32) -> Live {
        if !is_private(id) {
            return Live::Yes;
        }
        match self.queues.iter().rev().find(|q| q.id == id) {
            None => Live::No,
            Some(q) if q.epoch != self.epoch || !self.up() => Live::No,
            Some(q) if self.tainted(q.id, 0) => Live::Maybe,
            Some(q) if q.locks > 0 => Live::Yes,
            Some(q) if q.targeted => Live::Maybe,
            Some(_) => Live::No,
        }
    }

    /// Whether a completion to callback `c` could never be dispatched
    /// (FAST_IO or SIGNAL on a queue other than IO and TIMER): the platform
    /// refuses the Begin, schedule or wait that would promise it.
    fn completion_refused(&self, c: usize) -> bool {
        let (flags, queue) = self.callbacks[c].config.effective();
        needs_fast_io(flags) && (is_private(queue.0) || !fast_io_allowed(queue.0))
    }

    fn push_outcome(&self, id: u32, flags: u32) -> Expect {
        if !self.up() {
            return err(Shutdown);
        }
        if needs_fast_io(flags) && (is_private(id) || !fast_io_allowed(id)) {
            return err(InvalidWorkQueue);
        }
        self.resolve_outcome(id)
    }

    fn resolve_outcome(&self, id: u32) -> Expect {
        if !self.up() {
            return err(Shutdown);
        }
        match self.live(id) {
            Live::Yes => ok(),
            Live::No => err(InvalidWorkQueue),
            Live::Maybe => Expect::OneOf(vec![Ok(()), Err(InvalidWorkQueue)]),
        }
    }

    fn cb(&self, sel: u8) -> Option<usize> {
        (!self.callbacks.is_empty()).then(|| sel as usize % self.callbacks.len())
    }

    fn result(&self, sel: u8) -> Option<usize> {
        (!self.results.is_empty()).then(|| sel as usize % self.results.len())
    }

    fn event(&self, sel: u8) -> Option<usize> {
        (!self.events.is_empty()).then(|| sel as usize % self.events.len())
    }

    fn new_state(&mut self, kind: TagKind, callback: Option<usize>, sel: StateSel) -> (Option<State>, Option<Arc<Stats>>) {
        let panic_on_drop = match sel {
            StateSel::None => return (None, None),
            StateSel::Tag => false,
            StateSel::Bomb => true,
        };
        let stats = Stats::new(kind, callback);
        let tag = Arc::new(Tag { stats: Arc::clone(&stats), panic_on_drop });
        self.tags.push(TagRec { weak: Arc::downgrade(&tag), stats: Arc::clone(&stats), stateless: false });
        (Some(tag as State), Some(stats))
    }

    fn set_mmcss(&mut self, keys: &[u32], value: Reg) {
        if let Some(map) = &mut self.mmcss {
            for &key in keys {
                map.insert(key, value.clone());
            }
        }
    }

    fn mmcss_keys(id: u32) -> Vec<u32> {
        if id == u32::MAX {
            PLATFORM_KEYS.to_vec()
        } else if is_private(id) {
            vec![id]
        } else {
            vec![platform_key(id)]
        }
    }

    fn begins_settled(&mut self) -> bool {
        self.begins.retain(|stats| stats.invoked.load(SeqCst) == 0);
        self.begins.is_empty()
    }

    fn expected_mmcss(&self, id: u32) -> Option<Mmcss> {
        let map = self.mmcss.as_ref()?;
        let key = if is_private(id) { id } else { platform_key(id) };
        match map.get(&key) {
            None => Some(Mmcss::none()),
            Some(Reg::Known(known)) => Some(known.clone()),
            Some(Reg::Unknown) => None,
        }
    }

    /// `settled`: no Begin call could still land, checked before the call.
    fn sync_registration(&mut self, keys: &[u32], value: Mmcss, settled: bool) {
        let value = if settled { Reg::Known(value) } else { Reg::Unknown };
        self.set_mmcss(keys, value);
    }
}

// ---------------------------------------------------------------------------
// Running one input

struct Run {
    m: Model,
}

const PUT_ERRORS: &[Error] = &[Shutdown, InvalidArg, InvalidWorkQueue];

impl Run {
    fn op(&mut self, op: Op) {
        trace!("{op:?}");
        let m = &mut self.m;
        match op {
            Op::Startup { how } => {
                let (what, got) = match how % 3 {
                    0 => ("startup(MF_VERSION)", call("startup", || mfwq::startup(mfwq::MF_VERSION))),
                    1 => ("rtwq_startup", call("rtwq_startup", mfwq::rtwq_startup)),
                    _ => ("startup(bad)", call("startup", || mfwq::startup(0x0002_0071))),
                };
                let expected = if how % 3 == 2 { err(Error::BadStartupVersion) } else { ok() };
                check(what, &got, &[Error::BadStartupVersion], expected);
                if got.is_ok() {
                    self.started();
                }
            }
            Op::Guard => {
                let got = call("Platform::start", mfwq::Platform::start);
                check("Platform::start", &got.as_ref().map(|_| ()).map_err(|e| *e), &[], ok());
                if let Ok(guard) = got {
                    m.guards.push(guard);
                    self.started();
                }
            }
            Op::Shutdown => self.shutdown(),
            Op::LockPlatform => {
                call("lock_platform", mfwq::lock_platform);
                m.explicit_locks += 1;
            }
            Op::UnlockPlatform => {
                call("unlock_platform", mfwq::unlock_platform);
                m.explicit_locks -= 1;
            }
            Op::Allocate { kind } => {
                let kind = [QueueType::Standard, QueueType::Window, QueueType::Multithreaded][kind as usize % 3];
                let got = call("allocate_work_queue", || mfwq::allocate_work_queue(kind));
                let expected = if !m.up() {
                    err(Shutdown)
                } else if m.explicit_locks >= 0 {
                    ok()
                } else {
                    Expect::OneOf(vec![Ok(()), Err(Shutdown)])
                };
                check(&format!("allocate_work_queue({kind:?})"), &got, &[Shutdown, Error::Fail], expected);
                if let Ok(id) = got {
                    self.new_queue(id.0);
                }
            }
            Op::AllocateSerial { target } => {
                let target = m.queue_id(target);
                let got = call("allocate_serial_work_queue", || mfwq::allocate_serial_work_queue(target));
                let expected = if !m.up() {
                    err(Shutdown)
                } else {
                    match (m.live(target.0), m.explicit_locks >= 0) {
                        (Live::Yes, true) => ok(),
                        (Live::No, _) => err(InvalidWorkQueue),
                        _ => Expect::OneOf(vec![Ok(()), Err(InvalidWorkQueue), Err(Shutdown)]),
                    }
                };
                check(&format!("allocate_serial_work_queue({target:?})"), &got, &[Shutdown, InvalidWorkQueue, Error::Fail], expected);
                if let Ok(id) = got {
                    if let Some(rec) = m.queue_rec(target.0) {
                        rec.targeted = true;
                    }
                    self.new_queue(id.0);
                    if let Some(rec) = self.m.queue_rec(id.0) {
                        rec.target = Some(target.0);
                    }
                }
            }
            Op::LockQueue(sel) => {
                let id = m.queue_id(sel);
                let got = call("lock_work_queue", || mfwq::lock_work_queue(id));
                let expected = if !id.is_private() { ok() } else { m.resolve_outcome(id.0) };
                check(&format!("lock_work_queue({id:?})"), &got, &[Shutdown, InvalidWorkQueue], expected);
                if got.is_ok() && id.is_private() {
                    if let Some(rec) = m.queue_rec(id.0) {
                        rec.locks += 1;
                    }
                }
            }
            Op::UnlockQueue(sel) => {
                let id = m.queue_id(sel);
                let got = call("unlock_work_queue", || mfwq::unlock_work_queue(id));
                let expected = if !id.is_private() { ok() } else { m.resolve_outcome(id.0) };
                check(&format!("unlock_work_queue({id:?})"), &got, &[Shutdown, InvalidWorkQueue], expected);
                if got.is_ok() && id.is_private() {
                    if let Some(rec) = m.queue_rec(id.0) {
                        rec.locks -= 1;
                        if rec.locks < 0 {
                            rec.unsure = true;
                        }
                    }
                }
            }
            Op::LockShared { class, priority, task } => {
                let class = class_of(class);
                let priority = i32::from(priority % 4);
                let mut task_value = task.map_or(0, u32::from) * 1000;
                let requested = task_value;
                let got = call("lock_shared_work_queue", || match class.as_ref().and_then(ClassName::to_str) {
                    // Valid text goes through the &str form, the rest through ClassName.
                    Some(text) if class.as_ref().is_some_and(|c| c.as_utf16().len() % 2 == 1) => {
                        mfwq::lock_shared_work_queue(Some(&text), priority, task.map(|_| &mut task_value))
                    }
                    _ => mfwq::lock_shared_work_queue_named(class.as_ref(), priority, task.map(|_| &mut task_value)),
                });
                let expected = if !m.up() {
                    err(Shutdown)
                } else if class.is_none() {
                    err(Error::Pointer)
                } else if class.as_ref().is_some_and(ClassName::is_empty) && task.is_some() {
                    err(InvalidArg)
                } else if class.as_ref().is_some_and(ClassName::contains_nul) {
                    // Refused as a class name, unless its queue already exists.
                    Expect::OneOf(vec![Ok(()), Err(InvalidArg), Err(Shutdown)])
                } else if m.explicit_locks >= 0 {
                    ok()
                } else {
                    Expect::OneOf(vec![Ok(()), Err(Shutdown)])
                };
                check(&format!("lock_shared_work_queue({class:?})"), &got, &[Shutdown, Error::Pointer, InvalidArg, Error::Fail], expected);
                if let Ok(id) = got {
                    self.shared_locked(class.unwrap().as_utf16().to_vec(), id.0, priority, task.map(|_| (requested, task_value)));
                }
            }
            Op::NewCallback { params, flags, queue, invoke_panics, bomb, stash_replies, chain } => {
                if m.callbacks.len() >= MAX_OBJECTS {
                    return;
                }
                let params = match params % 6 {
                    0 | 1 | 2 => ParamsMode::Some(flags_of(flags), m.queue_id(queue)),
                    3 | 4 => ParamsMode::Defaults,
                    _ => ParamsMode::Panic,
                };
                let config = CbConfig {
                    params,
                    invoke_panics,
                    bomb: bomb && invoke_panics,
                    stash_replies,
                    chain: chain.map(|q| m.queue_id(q)),
                };
                let index = m.callbacks.len();
                trace!("  callback {index}: {config:?}");
                let cb = Arc::new(FuzzCallback {
                    index,
                    config,
                    invoked: AtomicU32::new(0),
                    untagged_invoked: AtomicU32::new(0),
                    untagged_owed: AtomicU32::new(0),
                    untagged_statuses: Mutex::new(Vec::new()),
                });
                CALLBACKS.lock().unwrap().push(Arc::clone(&cb));
                m.callbacks.push(cb);
            }
            Op::NewEvent { manual, initial } => {
                if m.events.len() < MAX_OBJECTS {
                    m.events.push((Event::new(manual, initial), initial));
                }
            }
            Op::SetEvent(sel) => {
                if let Some(i) = m.event(sel) {
                    call("Event::set", || m.events[i].0.set());
                    m.events[i].1 = true;
                }
            }
            Op::ResetEvent(sel) => {
                if let Some(i) = m.event(sel) {
                    call("Event::reset", || m.events[i].0.reset());
                }
            }
            Op::CreateResult { callback, event, state } => {
                if m.results.len() >= MAX_OBJECTS {
                    return;
                }
                let callback = callback.and_then(|c| m.cb(c));
                let event = event.and_then(|e| m.event(e));
                let state = if matches!(state, StateSel::None) { StateSel::Tag } else { state };
                let (state, stats) = m.new_state(TagKind::Result, callback, state);
                let cb: Option<Callback> = callback.map(|i| Arc::clone(&m.callbacks[i]) as Callback);
                let result = AsyncResult::new(None, cb, state);
                if let Some(e) = event {
                    result.set_event(Some(m.events[e].0.clone()));
                    m.events[e].1 = true;
                }
                m.results.push(ResultRec { result, stats: stats.unwrap(), callback, event, uses: 0, waited: false });
            }
            Op::Put { queue, priority, callback, state } => {
                let Some(c) = m.cb(callback) else { return };
                let id = m.queue_id(queue);
                let flags = m.callbacks[c].config.effective().0;
                let (state, stats) = m.new_state(TagKind::Put, Some(c), state);
                let cb: Callback = Arc::clone(&m.callbacks[c]) as Callback;
                let priority = i32::from(priority);
                let got = call("put_work_item", || {
                    if priority == 0 {
                        mfwq::put_work_item(id, cb, state)
                    } else {
                        mfwq::put_work_item_with_priority(id, priority, cb, state)
                    }
                });
                let expected = m.push_outcome(id.0, flags);
                check(&format!("put_work_item({id:?}, cb {c})"), &got, PUT_ERRORS, expected);
                if got.is_ok() {
                    match stats {
                        Some(stats) => stats.owed.fetch_add(1, SeqCst),
                        None => m.callbacks[c].untagged_owed.fetch_add(1, SeqCst),
                    };
                }
            }
            Op::PutResult { queue, priority, result, moved } => {
                let Some(i) = m.result(result) else { return };
                let id = m.queue_id(queue);
                let priority = i32::from(priority);
                let rec = &m.results[i];
                let got = call("put_result", || {
                    if moved {
                        mfwq::put_result_with_priority(id, priority, rec.result.clone())
                    } else {
                        mfwq::put_result_with_priority(id, priority, &rec.result)
                    }
                });
                let expected = match (rec.callback, rec.event) {
                    _ if !m.up() => err(Shutdown),
                    (Some(c), _) => m.push_outcome(id.0, m.callbacks[c].config.effective().0),
                    (None, Some(_)) => m.push_outcome(id.0, 0),
                    (None, None) => err(InvalidArg),
                };
                check(&format!("put_result({id:?}, result {i})"), &got, PUT_ERRORS, expected);
                if got.is_ok() {
                    self.result_used(i, false);
                }
            }
            Op::Invoke { result } => {
                let Some(i) = m.result(result) else { return };
                let rec = &m.results[i];
                let got = call("invoke_callback", || mfwq::invoke_callback(&rec.result));
                let expected = match (rec.callback, rec.event) {
                    _ if !m.up() => err(Shutdown),
                    (Some(c), _) => {
                        let (flags, queue) = m.callbacks[c].config.effective();
                        m.push_outcome(queue.0, flags)
                    }
                    (None, Some(_)) => m.push_outcome(1, 0),
                    (None, None) => err(InvalidArg),
                };
                check(&format!("invoke_callback(result {i})"), &got, PUT_ERRORS, expected);
                if got.is_ok() {
                    self.result_used(i, false);
                }
            }
            Op::Spawn { queue, priority, panics } => {
                let id = m.queue_id(queue);
                let stats = Arc::new(SpawnStats { ran: AtomicU32::new(0) });
                let dropped = Arc::new(AtomicBool::new(false));
                let guard = SpawnGuard(Arc::clone(&stats), Arc::clone(&dropped));
                let task = move || {
                    let guard = guard;
                    guard.0.ran.fetch_add(1, SeqCst);
                    if panics {
                        inject(false);
                    }
                };
                let priority = i32::from(priority);
                let got = call("spawn", || mfwq::spawn_with_priority(id, priority, task));
                let expected = m.push_outcome(id.0, 0);
                check(&format!("spawn({id:?})"), &got, &[Shutdown, InvalidWorkQueue], expected);
                m.spawns.push(SpawnRec { stats, dropped, accepted: got.is_ok() });
            }
            Op::Schedule { callback, state, delay } => {
                let Some(c) = m.cb(callback) else { return };
                let (state, stats) = m.new_state(TagKind::Schedule, Some(c), state);
                let (delay, far) = delay_of(delay);
                let cb: Callback = Arc::clone(&m.callbacks[c]) as Callback;
                let got = call("schedule_work_item", || mfwq::schedule_work_item(cb, state, delay));
                let expected = if !m.up() {
                    err(Shutdown)
                } else if m.completion_refused(c) {
                    err(InvalidWorkQueue)
                } else {
                    ok()
                };
                check(&format!("schedule_work_item(cb {c}, {delay:?})"), &got, &[Shutdown, InvalidWorkQueue], expected);
                if let Ok(key) = got {
                    let stats = stats.unwrap_or_else(|| {
                        let stats = Stats::new(TagKind::Schedule, Some(c));
                        m.tags.push(TagRec { weak: Weak::new(), stats: Arc::clone(&stats), stateless: true });
                        stats
                    });
                    stats.scheduled.fetch_add(1, SeqCst);
                    self.new_key(key, KeyKind::Scheduled { far }, stats);
                }
            }
            Op::ScheduleResult { result, delay } => {
                let Some(i) = m.result(result) else { return };
                let (delay, far) = delay_of(delay);
                let rec = &m.results[i];
                let got = call("schedule_result", || mfwq::schedule_result(&rec.result, delay));
                let expected = match (rec.callback, rec.event) {
                    _ if !m.up() => err(Shutdown),
                    (None, None) => err(InvalidArg),
                    (Some(c), _) if m.completion_refused(c) => err(InvalidWorkQueue),
                    _ => ok(),
                };
                check(&format!("schedule_result(result {i}, {delay:?})"), &got, &[Shutdown, InvalidArg, InvalidWorkQueue], expected);
                if let Ok(key) = got {
                    let stats = Arc::clone(&rec.stats);
                    stats.scheduled.fetch_add(1, SeqCst);
                    m.results[i].uses += 1;
                    self.new_key(key, KeyKind::Scheduled { far }, stats);
                }
            }
            Op::Cancel { key, garbage } => self.cancel(key, garbage),
            Op::PutWaiting { event, result } => {
                let Some(i) = m.result(result) else { return };
                let event = event.and_then(|e| m.event(e));
                let rec = &m.results[i];
                let got = call("put_waiting_work_item", || {
                    mfwq::put_waiting_work_item(event.map(|e| &m.events[e].0), 0, &rec.result)
                });
                let expected = match (rec.callback, rec.event) {
                    _ if !m.up() => err(Shutdown),
                    (Some(c), _) if [2, 3, 4, 7].contains(&m.callbacks[c].config.effective().1 .0) => err(InvalidWorkQueue),
                    (Some(c), _) if m.completion_refused(c) => err(InvalidWorkQueue),
                    (None, None) => err(InvalidArg),
                    _ => ok(),
                };
                check(&format!("put_waiting_work_item(event {event:?}, result {i})"), &got, PUT_ERRORS, expected);
                if let Ok(key) = got {
                    let stats = Arc::clone(&rec.stats);
                    self.result_used(i, true);
                    self.new_key(key, KeyKind::Waiting { event }, stats);
                }
            }
            Op::AddPeriodic { context, panics } => {
                let stats = Arc::new(PeriodicStats { ticks: AtomicU64::new(0), closure_dropped: AtomicBool::new(false) });
                let guard = PeriodicGuard(Arc::clone(&stats));
                let (ctx, ctx_weak) = if context {
                    let tag = Arc::new(Tag { stats: Stats::new(TagKind::Put, None), panic_on_drop: false });
                    let weak = Arc::downgrade(&tag);
                    (Some(tag as State), Some(weak))
                } else {
                    (None, None)
                };
                let expect_ctx = context;
                let tick = move |ctx: Option<&State>| {
                    guard.0.ticks.fetch_add(1, SeqCst);
                    if ctx.is_some() != expect_ctx || ctx.is_some_and(|c| !c.is::<Tag>()) {
                        fail("a periodic callback got a context other than the one registered".into());
                    }
                    if panics {
                        inject(false);
                    }
                };
                let got = call("add_periodic_callback", || mfwq::add_periodic_callback(tick, ctx));
                let expected = if m.up() { ok() } else { err(Shutdown) };
                check("add_periodic_callback", &got, &[Shutdown], expected);
                match got {
                    Ok(key) => {
                        if key.into_raw() == 0 {
                            panic!("oracle failure: add_periodic_callback gave key 0");
                        }
                        m.periodic.push(PeriodicRec { key, epoch: m.epoch, removed: false, stats, context: ctx_weak });
                    }
                    Err(_) => {
                        if !stats.closure_dropped.load(SeqCst) || ctx_weak.is_some_and(|w| w.strong_count() != 0) {
                            panic!("oracle failure: a refused periodic callback (or its context) was kept");
                        }
                    }
                }
            }
            Op::RemovePeriodic { key, garbage } => {
                let rec = key.and_then(|i| (!m.periodic.is_empty()).then(|| i as usize % m.periodic.len()));
                let value = rec.map_or(PeriodicKey::from_raw(garbage), |i| m.periodic[i].key);
                let got = call("remove_periodic_callback", || mfwq::remove_periodic_callback(value));
                let mine = m.periodic.iter().position(|p| p.key == value);
                let expected = if !m.up() {
                    err(Shutdown)
                } else {
                    match mine {
                        Some(i) if m.periodic[i].epoch == m.epoch && !m.periodic[i].removed => ok(),
                        _ => err(NotFound),
                    }
                };
                check(&format!("remove_periodic_callback({value:?})"), &got, &[Shutdown, NotFound], expected);
                if got.is_ok() {
                    if let Some(i) = mine {
                        m.periodic[i].removed = true;
                    }
                }
            }
            Op::Begin { queue, callback, outcome, state } => {
                let Some(c) = m.cb(callback) else { return };
                let id = m.queue_id(queue);
                let state = if matches!(state, StateSel::None) { StateSel::Tag } else { state };
                let (state, stats) = m.new_state(TagKind::Begin, Some(c), state);
                let stats = stats.unwrap();
                let output: Res<u32> = match outcome {
                    Outcome::Value(v) => Ok(v),
                    Outcome::Fail(n) => Err([Error::Fail, Error::NotFound, Error::OutOfMemory][n as usize % 3]),
                    Outcome::Panic => Err(Error::Unexpected),
                };
                *stats.begin.lock().unwrap() = Some(output.clone());
                let cb: Callback = Arc::clone(&m.callbacks[c]) as Callback;
                let work = move || -> Res<u32> {
                    match outcome {
                        Outcome::Panic => inject(false),
                        _ => output,
                    }
                };
                let got = call("begin", || mfwq::begin(id, cb, state, work));
                // A completion that could never be dispatched is refused up
                // front; else the work is put on `queue` with the component's
                // own callback.
                let expected = if m.up() && m.completion_refused(c) {
                    err(InvalidWorkQueue)
                } else {
                    m.push_outcome(id.0, 0)
                };
                check(&format!("begin({id:?}, cb {c})"), &got, PUT_ERRORS, expected);
                if got.is_ok() {
                    stats.owed.fetch_add(1, SeqCst);
                }
            }
            Op::Operation { callback, outcome } => {
                let Some(c) = m.cb(callback) else { return };
                let (state, stats) = m.new_state(TagKind::Operation, Some(c), StateSel::Tag);
                let stats = stats.unwrap();
                let output: Res<u32> = match outcome {
                    Outcome::Value(v) => Ok(v),
                    Outcome::Fail(_) | Outcome::Panic => Err(Error::Fail),
                };
                *stats.begin.lock().unwrap() = Some(output.clone());
                let cb: Callback = Arc::clone(&m.callbacks[c]) as Callback;
                let operation = AsyncOperation::<u32>::new(cb, state);
                let got = call("AsyncOperation::complete", || operation.complete(output));
                let (flags, queue) = m.callbacks[c].config.effective();
                // A completion falls back to STANDARD when its queue is gone.
                let expected = if !m.up() {
                    err(Shutdown)
                } else if needs_fast_io(flags) && (is_private(queue.0) || !fast_io_allowed(queue.0)) {
                    err(InvalidWorkQueue)
                } else {
                    ok()
                };
                check("AsyncOperation::complete", &got, &[Shutdown, InvalidWorkQueue], expected);
                if got.is_ok() {
                    stats.owed.fetch_add(1, SeqCst);
                }
            }
            Op::RegisterQueue { queue, class, task, priority } => {
                let id = m.queue_id(queue);
                let class = class_of(class).unwrap_or_default();
                let requested = u32::from(task % 4) * 1000;
                let priority = i32::from(priority % 4);
                let settled = m.begins_settled();
                let got = call("register_work_queue_with_mmcss", || {
                    mfwq::register_work_queue_with_mmcss(id, &class, requested, priority)
                });
                let expected = if !m.up() {
                    err(Shutdown)
                } else if bad_class(&class) || !(-2..=2).contains(&priority) {
                    err(InvalidArg)
                } else if id == QueueId::ALL {
                    ok()
                } else {
                    m.resolve_outcome(id.0)
                };
                check(&format!("register_work_queue_with_mmcss({id:?}, {class:?})"), &got, &[Shutdown, InvalidArg, InvalidWorkQueue], expected);
                if let Ok(task) = got {
                    if task == 0 || (requested != 0 && task != requested) {
                        panic!("oracle failure: register_work_queue_with_mmcss gave task {task} for {requested}");
                    }
                    let value = Mmcss { class: class.as_utf16().to_vec(), task: Some(task), priority };
                    self.m.sync_registration(&Model::mmcss_keys(id.0), value, settled);
                }
            }
            Op::UnregisterQueue(sel) => {
                let id = m.queue_id(sel);
                let settled = m.begins_settled();
                let got = call("unregister_work_queue_from_mmcss", || mfwq::unregister_work_queue_from_mmcss(id));
                let expected = if id == QueueId::ALL && m.up() { ok() } else { m.resolve_outcome(id.0) };
                check(&format!("unregister_work_queue_from_mmcss({id:?})"), &got, &[Shutdown, InvalidWorkQueue], expected);
                if got.is_ok() {
                    self.m.sync_registration(&Model::mmcss_keys(id.0), Mmcss::none(), settled);
                }
            }
            Op::BeginRegister { queue, class, task, priority, callback } => {
                let Some(c) = m.cb(callback) else { return };
                let id = m.queue_id(queue);
                let class = class_of(class).unwrap_or_default();
                let task = u32::from(task % 4) * 1000;
                let priority = i32::from(priority % 4);
                let (state, stats) = m.new_state(TagKind::MmcssBegin { register: true, task }, Some(c), StateSel::Tag);
                let cb: Callback = Arc::clone(&m.callbacks[c]) as Callback;
                let got = call("begin_register_work_queue_with_mmcss", || {
                    mfwq::begin_register_work_queue_with_mmcss(id, &class, task, priority, cb, state)
                });
                let expected = if !m.up() {
                    err(Shutdown)
                } else if bad_class(&class) || !(-2..=2).contains(&priority) {
                    err(InvalidArg)
                } else if m.completion_refused(c) {
                    err(InvalidWorkQueue)
                } else if id == QueueId::ALL {
                    ok()
                } else {
                    m.resolve_outcome(id.0)
                };
                check(&format!("begin_register_work_queue_with_mmcss({id:?})"), &got, &[Shutdown, InvalidArg, InvalidWorkQueue], expected);
                self.begun(got.is_ok(), stats.unwrap(), id.0);
            }
            Op::BeginUnregister { queue, callback } => {
                let Some(c) = m.cb(callback) else { return };
                let id = m.queue_id(queue);
                let (state, stats) = m.new_state(TagKind::MmcssBegin { register: false, task: 0 }, Some(c), StateSel::Tag);
                let cb: Callback = Arc::clone(&m.callbacks[c]) as Callback;
                let got = call("begin_unregister_work_queue_with_mmcss", || {
                    mfwq::begin_unregister_work_queue_with_mmcss(id, cb, state)
                });
                let expected = if m.up() && m.completion_refused(c) {
                    err(InvalidWorkQueue)
                } else if id == QueueId::ALL && m.up() {
                    ok()
                } else {
                    m.resolve_outcome(id.0)
                };
                check(&format!("begin_unregister_work_queue_with_mmcss({id:?})"), &got, &[Shutdown, InvalidWorkQueue], expected);
                self.begun(got.is_ok(), stats.unwrap(), id.0);
            }
            Op::RegisterPlatform { class, task, priority } => {
                let class = class_of(class).unwrap_or_default();
                let requested = u32::from(task % 4) * 1000;
                let priority = i32::from(priority % 4);
                let settled = m.begins_settled();
                let got = call("register_platform_with_mmcss", || mfwq::register_platform_with_mmcss(&class, requested, priority));
                let expected = if !m.up() {
                    err(Shutdown)
                } else if bad_class(&class) || !(-2..=2).contains(&priority) {
                    err(InvalidArg)
                } else {
                    ok()
                };
                check("register_platform_with_mmcss", &got, &[Shutdown, InvalidArg], expected);
                if let Ok(task) = got {
                    if task == 0 || (requested != 0 && task != requested) {
                        panic!("oracle failure: register_platform_with_mmcss gave task {task} for {requested}");
                    }
                    self.m.sync_registration(&PLATFORM_KEYS, Mmcss { class: class.as_utf16().to_vec(), task: Some(task), priority }, settled);
                }
            }
            Op::UnregisterPlatform => {
                let settled = m.begins_settled();
                let got = call("unregister_platform_from_mmcss", mfwq::unregister_platform_from_mmcss);
                check("unregister_platform_from_mmcss", &got, &[Shutdown], if m.up() { ok() } else { err(Shutdown) });
                if got.is_ok() {
                    self.m.sync_registration(&PLATFORM_KEYS, Mmcss::none(), settled);
                }
            }
            Op::Getters(sel) => {
                let id = m.queue_id(sel);
                let known = m.expected_mmcss(id.0);
                let expected = m.resolve_outcome(id.0);
                let class = call("work_queue_mmcss_class_name", || mfwq::work_queue_mmcss_class_name(id));
                let text = call("work_queue_mmcss_class", || mfwq::work_queue_mmcss_class(id));
                // Two calls: only comparable while no Begin call may land.
                if let (Some(_), Ok(class), Ok(text)) = (&known, &class, &text) {
                    if class.to_string_lossy() != *text {
                        panic!("oracle failure: work_queue_mmcss_class({id:?}) = {text:?}, not the text of {class:?}");
                    }
                }
                let task = call("work_queue_mmcss_task_id", || mfwq::work_queue_mmcss_task_id(id));
                let priority = call("work_queue_mmcss_priority", || mfwq::work_queue_mmcss_priority(id));
                check(&format!("work_queue_mmcss_class({id:?})"), &class, &[Shutdown, InvalidWorkQueue], expected.clone());
                check(&format!("work_queue_mmcss_task_id({id:?})"), &task, &[Shutdown, InvalidWorkQueue], expected.clone());
                check(&format!("work_queue_mmcss_priority({id:?})"), &priority, &[Shutdown, InvalidWorkQueue], expected);
                if let (Some(known), Ok(class), Ok(task), Ok(priority)) = (known, class, task, priority) {
                    let fits = known.class == class.as_utf16()
                        && known.priority == priority
                        && known.task.is_none_or(|t| t == task);
                    if !fits {
                        panic!("oracle failure: {id:?} reports ({class:?}, {task}, {priority}), registered {known:?}");
                    }
                }
                let applied = call("applied_scheduling", || mfwq::applied_scheduling(id));
                check(&format!("applied_scheduling({id:?})"), &applied, &[Shutdown, InvalidWorkQueue], m.resolve_outcome(id.0));
            }
            Op::Reply { index } => {
                let reply = {
                    let stash = STASH.lock().unwrap();
                    if stash.is_empty() {
                        return;
                    }
                    stash[index as usize % stash.len()].clone()
                };
                let got = call("invoke_callback(reply)", || mfwq::invoke_callback(&reply));
                check("invoke_callback(reply)", &got, &[Shutdown], if m.up() { ok() } else { err(Shutdown) });
                fuzzer_drop(reply);
            }
            Op::HookPanics(n) => HOOK_PANIC_EVERY.store(u64::from(n % 4), SeqCst),
            Op::Sleep(n) => std::thread::sleep(Duration::from_micros(u64::from(n) * 4)),
        }
        raise_failures("during the input");
    }

    fn started(&mut self) {
        let m = &mut self.m;
        m.started += 1;
        if m.started == 1 {
            m.epoch += 1;
            m.mmcss = Some(HashMap::new());
            m.begins.clear();
        }
    }

    fn new_queue(&mut self, id: u32) {
        if !is_private(id) || id & 0xFFFF == 0 {
            panic!("oracle failure: an allocated queue id {id:#x} is not a private id");
        }
        if self.m.queues.iter().any(|q| q.id == id) {
            panic!("oracle failure: the id {id:#x} was given twice (one queue ever per id)");
        }
        self.m.queues.push(QueueRec { id, epoch: self.m.epoch, locks: 1, targeted: false, unsure: false, target: None });
        self.m.set_mmcss(&[id], Reg::Known(Mmcss::none()));
    }

    fn shared_locked(&mut self, class: Vec<u16>, id: u32, priority: i32, task: Option<(u32, u32)>) {
        let m = &mut self.m;
        let same = m
            .shared
            .iter()
            .rev()
            .find(|(name, q)| *name == class && m.queues[*q].epoch == m.epoch && m.live(m.queues[*q].id) != Live::No)
            .map(|(_, q)| *q);
        if let Some(q) = same {
            let known = m.queues[q].id;
            if known == id {
                m.queues[q].locks += 1;
                return;
            }
            if m.live(known) == Live::Yes {
                panic!("oracle failure: lock_shared_work_queue({class:?}) gave {id:#x} while that class's queue {known:#x} is alive");
            }
        }
        if let Some((other, _)) = m
            .shared
            .iter()
            .find(|(name, q)| m.queues[*q].id == id && *name != class && m.live(id) != Live::No)
            .map(|(name, q)| (name.clone(), *q))
        {
            {
                panic!("oracle failure: lock_shared_work_queue({class:?}) gave {id:#x}, the queue of class {other:?}");
            }
        }
        let epoch = m.epoch;
        if let Some(rec) = m.queue_rec(id) {
            if rec.epoch == epoch {
                rec.locks += 1;
                return;
            }
        }
        self.new_queue(id);
        let q = self.m.queues.len() - 1;
        self.m.shared.push((class.clone(), q));
        if !class.is_empty() {
            if let Some((requested, granted)) = task {
                if granted == 0 || (requested != 0 && granted != requested) {
                    panic!("oracle failure: lock_shared_work_queue gave task {granted} for {requested}");
                }
            }
            let value = Mmcss { class, task: task.map(|(_, granted)| granted), priority: priority.clamp(-2, 2) };
            // (class is the exact UTF-16 given)
            self.m.set_mmcss(&[id], Reg::Known(value));
        }
    }

    fn begun(&mut self, accepted: bool, stats: Arc<Stats>, id: u32) {
        if !accepted {
            return;
        }
        stats.owed.fetch_add(1, SeqCst);
        self.m.begins.push(stats);
        self.m.set_mmcss(&Model::mmcss_keys(id), Reg::Unknown);
    }

    fn result_used(&mut self, index: usize, wait: bool) {
        let rec = &mut self.m.results[index];
        rec.uses += 1;
        if wait {
            rec.waited = true;
            rec.stats.waits.fetch_add(1, SeqCst);
        }
        if rec.callback.is_some() {
            rec.stats.owed.fetch_add(1, SeqCst);
        }
    }

    fn new_key(&mut self, key: WorkItemKey, kind: KeyKind, stats: Arc<Stats>) {
        let high = match kind {
            KeyKind::Scheduled { .. } => 0x8000_0000u64,
            KeyKind::Waiting { .. } => 0x8200_0000,
        };
        if key.into_raw() >> 32 != high || key.into_raw() as u32 == 0 {
            panic!("oracle failure: the key {key:?} does not have the documented form");
        }
        if self.m.keys.iter().any(|k| k.key == key) {
            panic!("oracle failure: the key {key:?} was issued twice");
        }
        self.m.keys.push(KeyRec { key, epoch: self.m.epoch, kind, stats, done: false });
    }

    fn cancel(&mut self, sel: Option<u8>, garbage: u64) {
        let m = &mut self.m;
        let key = match sel {
            Some(i) if !m.keys.is_empty() => m.keys[i as usize % m.keys.len()].key,
            _ => WorkItemKey::from_raw(garbage),
        };
        let got = call("cancel_work_item", || mfwq::cancel_work_item(key));
        let rec = m.keys.iter().position(|k| k.key == key);
        let expected = if !m.up() {
            err(Shutdown)
        } else {
            match rec {
                None => err(NotFound),
                Some(i) => {
                    let k = &m.keys[i];
                    if k.epoch != m.epoch || k.done {
                        err(NotFound)
                    } else {
                        let pending = match k.kind {
                            KeyKind::Scheduled { far } => far,
                            KeyKind::Waiting { event: None } => true,
                            KeyKind::Waiting { event: Some(e) } => !m.events[e].1,
                        };
                        if pending {
                            ok()
                        } else {
                            Expect::OneOf(vec![Ok(()), Err(NotFound)])
                        }
                    }
                }
            }
        };
        check(&format!("cancel_work_item({key:?})"), &got, &[Shutdown, NotFound], expected);
        if let Some(i) = rec {
            let k = &mut m.keys[i];
            match got {
                Ok(()) => {
                    k.done = true;
                    match k.kind {
                        KeyKind::Scheduled { .. } => k.stats.cancelled_timers.fetch_add(1, SeqCst),
                        KeyKind::Waiting { .. } => k.stats.cancelled_waits.fetch_add(1, SeqCst),
                    };
                }
                Err(NotFound) => k.done = true,
                Err(_) => {}
            }
        }
    }

    fn shutdown(&mut self) {
        let timeout = mfwq::shutdown_timeout();
        let last = self.m.started == 1;
        let start = Instant::now();
        let got = if let (true, Some(guard)) = (self.m.started > 0, self.m.guards.pop()) {
            call("drop(Platform)", || drop(guard));
            Ok(())
        } else {
            call("shutdown", mfwq::shutdown)
        };
        let took = start.elapsed();
        check("shutdown", &got, &[], ok());
        if took > timeout + mfwq::SHUTDOWN_GRACE + Duration::from_millis(400) {
            panic!("oracle failure: shutdown took {took:?}, more than the timeout {timeout:?} plus the grace");
        }
        if last && took >= timeout {
            self.m.deadline_hit = true;
        }
        if self.m.started > 0 {
            self.m.started -= 1;
        }
        if self.m.started == 0 {
            self.m.mmcss = None;
        }
    }

    fn finish(&mut self) {
        while self.m.started > 0 {
            self.shutdown();
        }
        check("shutdown (not started)", &call("shutdown", mfwq::shutdown), &[], ok());
        if mfwq::is_started() {
            panic!("oracle failure: the platform is still started after the last shutdown");
        }
        // Judge only a platform at rest (as `c_api` does; see quiescence.rs):
        // an item a thread left behind by the shutdown still carries holds its
        // callback and platform lock exactly as a leaked timer's result does.
        if let Err(running) = quiescence::wait_for_platform_threads(QUIESCE) {
            panic!(
                "oracle failure: platform threads still running {QUIESCE:?} after the last shutdown: {}",
                running.join(", ")
            );
        }
        // Nothing can reach a reply result any more (a worker left behind
        // may have stashed one until it ended): give the stash back.
        fuzzer_drop(std::mem::take(&mut *STASH.lock().unwrap()));
        let chained = std::mem::take(&mut *CHAIN_TAGS.lock().unwrap());
        for (weak, stats) in chained {
            self.m.tags.push(TagRec { weak, stats, stateless: false });
        }
        let (mut report, leaked) = self.settled();
        self.m.leaked_results = leaked;
        report.extend(std::mem::take(&mut *FAILURES.lock().unwrap()));
        if !report.is_empty() {
            panic!("oracle failure (after the last shutdown):\n  {}", report.join("\n  "));
        }
        self.release_everything();
    }

    fn fastio_excuse(&self, callback: Option<usize>) -> bool {
        relaxed("fastio-drop")
            && callback.is_some_and(|c| {
                let (flags, queue) = self.m.callbacks[c].config.effective();
                needs_fast_io(flags) && (queue.is_private() || !fast_io_allowed(queue.0))
            })
    }

    /// `MFWQ_FUZZ_RELAX=timer-deadline-drop` (see `c_api`).
    fn late_timer_excuse(&self) -> bool {
        relaxed("timer-deadline-drop") && self.m.deadline_hit
    }

    fn settled(&self) -> (Vec<String>, u64) {
        let m = &self.m;
        let mut bad = Vec::new();
        let mut leaked_results = 0u64;
        let mut cb_held = vec![0i64; m.callbacks.len()];
        for (index, rec) in m.results.iter().enumerate() {
            let stats = &rec.stats;
            let refs = rec.result.ref_count() as i64;
            let leaked = refs - 1;
            let scheduled = i64::from(stats.scheduled.load(SeqCst)) - i64::from(stats.cancelled_timers.load(SeqCst));
            let invoked = i64::from(stats.invoked.load(SeqCst));
            let what = format!("result {index} (callback {:?})", rec.callback);
            if leaked < 0 || leaked > scheduled {
                bad.push(format!("{what}: {refs} handles at the end; at most 1 + {scheduled} pending schedules"));
                continue;
            }
            if let Some(cb) = rec.callback {
                cb_held[cb] += 1;
                let owed = i64::from(stats.owed.load(SeqCst)) + scheduled;
                let excuse = (self.fastio_excuse(rec.callback) && invoked + leaked <= owed)
                    || (self.late_timer_excuse() && invoked + leaked < owed && invoked + leaked >= owed - scheduled);
                if invoked + leaked != owed && !excuse {
                    bad.push(format!(
                        "{what}: invoked {invoked} times, {leaked} schedules leaked, {owed} owed (puts/invokes/waits {}, \
                         schedules {}, cancelled {}, waits {}, cancelled waits {})",
                        stats.owed.load(SeqCst),
                        stats.scheduled.load(SeqCst),
                        stats.cancelled_timers.load(SeqCst),
                        stats.waits.load(SeqCst),
                        stats.cancelled_waits.load(SeqCst)
                    ));
                }
            } else if invoked != 0 {
                bad.push(format!("{what}: no callback, yet invoked {invoked} times"));
            }
            if leaked > 0 {
                leaked_results += 1;
            }
            let statuses = stats.statuses.lock().unwrap().clone();
            let allowed: &[HResult] = if rec.waited {
                &[HResult::S_OK, HResult::MF_E_OPERATION_CANCELLED, HResult::MF_E_SHUTDOWN]
            } else if m.deadline_hit {
                &[HResult::S_OK, HResult::MF_E_SHUTDOWN]
            } else {
                &[HResult::S_OK]
            };
            for status in &statuses {
                if !allowed.contains(status) {
                    bad.push(format!("{what}: invoked with status {status:?}"));
                }
            }
            if rec.uses == 1 && rec.waited && rec.callback.is_some() && statuses.len() == 1 {
                let cancelled = stats.cancelled_waits.load(SeqCst) == 1;
                let late = m.deadline_hit && statuses[0] == HResult::MF_E_SHUTDOWN;
                if cancelled != (statuses[0] == HResult::MF_E_OPERATION_CANCELLED) && !late {
                    bad.push(format!("{what}: wait cancelled: {cancelled}, invoked with {:?}", statuses[0]));
                }
            }
        }
        for tag in &m.tags {
            let stats = &tag.stats;
            if stats.kind == TagKind::Result || tag.stateless {
                continue;
            }
            let strong = tag.weak.strong_count() as i64;
            let invoked = i64::from(stats.invoked.load(SeqCst));
            let owed = i64::from(stats.owed.load(SeqCst));
            if stats.kind == TagKind::Schedule {
                let live = i64::from(stats.scheduled.load(SeqCst)) - i64::from(stats.cancelled_timers.load(SeqCst));
                let excuse = (self.fastio_excuse(stats.callback) && strong == 0 && invoked <= live)
                    || (self.late_timer_excuse() && invoked + strong <= live);
                if (strong > live || invoked + strong != live) && !excuse {
                    bad.push(format!(
                        "scheduled item (callback {:?}): invoked {invoked} times, its state still held {strong} times \
                         (scheduled {}, cancelled {})",
                        stats.callback,
                        stats.scheduled.load(SeqCst),
                        stats.cancelled_timers.load(SeqCst)
                    ));
                } else if strong == 1 {
                    leaked_results += 1;
                    if let Some(cb) = stats.callback {
                        cb_held[cb] += 1;
                    }
                }
            } else if invoked != owed || strong != 0 {
                let excuse = self.fastio_excuse(stats.callback) && invoked == 0 && strong == 0;
                if !excuse {
                    bad.push(format!(
                        "{:?} item (callback {:?}): invoked {invoked} times, owed {owed}, its state still held {strong} times",
                        stats.kind, stats.callback
                    ));
                }
            }
            for status in stats.statuses.lock().unwrap().iter() {
                let ok = match stats.kind {
                    TagKind::MmcssBegin { .. } | TagKind::Begin | TagKind::Operation => true,
                    _ => *status == HResult::S_OK || (*status == HResult::MF_E_SHUTDOWN && m.deadline_hit),
                };
                if !ok {
                    bad.push(format!("{:?} item invoked with status {status:?}", stats.kind));
                }
            }
        }
        for (index, cb) in m.callbacks.iter().enumerate() {
            let live_timers: i64 = m
                .tags
                .iter()
                .filter(|t| t.stateless && t.stats.callback == Some(index))
                .map(|t| i64::from(t.stats.scheduled.load(SeqCst)) - i64::from(t.stats.cancelled_timers.load(SeqCst)))
                .sum();
            let untagged = i64::from(cb.untagged_invoked.load(SeqCst));
            let owed = i64::from(cb.untagged_owed.load(SeqCst));
            // The input's own Arc, and the copy in CALLBACKS.
            let strong = Arc::strong_count(cb) as i64 - 2;
            let timer_leaks = strong - cb_held[index];
            let balanced = timer_leaks >= 0 && timer_leaks <= live_timers && untagged + timer_leaks == owed + live_timers;
            let within = timer_leaks >= 0 && untagged + timer_leaks <= owed + live_timers;
            let excuse = within
                && (self.fastio_excuse(Some(index))
                    || (self.late_timer_excuse() && untagged + timer_leaks >= owed));
            if !balanced && !excuse {
                bad.push(format!(
                    "callback {index} ({:?}): {strong} references besides the input's ({} held by its results and leaked \
                     timers seen), {untagged} untagged invocations for {owed} untagged items and {live_timers} stateless \
                     schedules not cancelled",
                    cb.config, cb_held[index]
                ));
            } else {
                // Balanced (or excused): what the callback still holds beyond
                // the leaks seen are the results of stateless timers.
                leaked_results += timer_leaks as u64;
            }
            for status in cb.untagged_statuses.lock().unwrap().iter() {
                if !(*status == HResult::S_OK || (*status == HResult::MF_E_SHUTDOWN && m.deadline_hit)) {
                    bad.push(format!("callback {index}: an untagged item was invoked with status {status:?}"));
                }
            }
        }
        for (index, spawn) in m.spawns.iter().enumerate() {
            let ran = spawn.stats.ran.load(SeqCst);
            let expected = u32::from(spawn.accepted);
            if ran != expected || !spawn.dropped.load(SeqCst) {
                bad.push(format!(
                    "spawned closure {index}: accepted {}, ran {ran} times, dropped {}",
                    spawn.accepted,
                    spawn.dropped.load(SeqCst)
                ));
            }
        }
        for (index, p) in m.periodic.iter().enumerate() {
            let context_held = p.context.as_ref().map_or(0, Weak::strong_count);
            if !p.stats.closure_dropped.load(SeqCst) || context_held != 0 {
                bad.push(format!(
                    "periodic callback {index}: its closure dropped {}, its context still held {context_held} times",
                    p.stats.closure_dropped.load(SeqCst)
                ));
            }
        }
        if mfwq::private_queue_count() != 0 {
            bad.push(format!("{} private queues alive after the last shutdown", mfwq::private_queue_count()));
        }
        let injected = INJECTED.load(SeqCst);
        let reported = REPORTED.load(SeqCst);
        if injected != reported {
            bad.push(format!(
                "{injected} panics injected into user code, {reported} reported to the panic hook ({:?})",
                REPORTED_BY_SITE.lock().unwrap()
            ));
        }
        (bad, leaked_results)
    }

    fn release_everything(&mut self) {
        let m = &mut self.m;
        for rec in m.results.drain(..) {
            let leaked = rec.result.ref_count() > 1;
            let weak = m.tags.iter().find(|t| Arc::ptr_eq(&t.stats, &rec.stats)).map(|t| t.weak.clone());
            fuzzer_drop(rec.result);
            let held = weak.map_or(0, |w| w.strong_count());
            if held != usize::from(leaked) {
                panic!("oracle failure: a result's state is held {held} times after the result's release (leaked: {leaked})");
            }
        }
        fuzzer_drop(std::mem::take(&mut m.events));
        for rec in std::mem::take(&mut m.guards) {
            std::mem::forget(rec);
        }
        // Callbacks: those still held by leaked results stay alive (leaked).
        CALLBACKS.lock().unwrap().clear();
        for cb in m.callbacks.drain(..) {
            if Arc::strong_count(&cb) > 1 {
                KEPT.lock().unwrap().push(cb);
            }
        }
        while m.explicit_locks > 0 {
            mfwq::unlock_platform();
            m.explicit_locks -= 1;
        }
        while m.explicit_locks < 0 {
            mfwq::lock_platform();
            m.explicit_locks += 1;
        }
        // With the platform down and at rest, the lock count is final.
        let leaked_total = LEAKED_RESULTS.fetch_add(m.leaked_results, SeqCst) + m.leaked_results;
        let count = mfwq::platform_lock_count();
        if count != leaked_total as i64 {
            panic!("oracle failure: platform lock count {count} after the last shutdown; leaked timer results account for {leaked_total}");
        }
    }
}

static LEAKED_RESULTS: AtomicU64 = AtomicU64::new(0);
static KEPT: Mutex<Vec<Arc<FuzzCallback>>> = Mutex::new(Vec::new());

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os(mfwq::SHUTDOWN_TIMEOUT_ENV).is_none() {
            mfwq::set_shutdown_timeout(Duration::from_millis(SHUTDOWN_TIMEOUT_MS));
        }
        // libFuzzer's hook aborts on every panic; injected ones are expected.
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !is_injected(info.payload()) {
                fuzzer_hook(info);
            }
        }));
        mfwq::set_panic_hook(|report| {
            let count = REPORTED.fetch_add(1, SeqCst) + 1;
            {
                let mut sites = REPORTED_BY_SITE.lock().unwrap();
                match sites.iter_mut().find(|(site, _)| *site == report.site) {
                    Some((_, n)) => *n += 1,
                    None => sites.push((report.site, 1)),
                }
            }
            let every = HOOK_PANIC_EVERY.load(SeqCst);
            if every != 0 && count % every == 0 {
                std::panic::panic_any(Injected);
            }
        });
    });
}

fn run(data: &[u8]) {
    init();
    CHAIN_LEFT.store(CHAIN_BUDGET, SeqCst);
    INJECTED.store(0, SeqCst);
    REPORTED.store(0, SeqCst);
    REPORTED_BY_SITE.lock().unwrap().clear();
    HOOK_PANIC_EVERY.store(0, SeqCst);
    let mut input = Unstructured::new(data);
    let mut run = Run { m: Model::new() };
    let mut count = 0;
    while count < MAX_OPS && !input.is_empty() {
        let Ok(op) = Op::arbitrary(&mut input) else { break };
        run.op(op);
        count += 1;
    }
    run.finish();
}

fuzz_target!(init: seeds::write_if_asked(), |data: &[u8]| run(data));

/// The seed corpus (see `c_api`'s): `MFWQ_FUZZ_WRITE_SEEDS=<dir>`.
mod seeds {
    use super::*;

    type Want = Box<dyn Fn(&Op) -> bool>;

    macro_rules! want {
        ($($pattern:tt)*) => {
            Box::new(|op: &Op| matches!(op, $($pattern)*)) as Want
        };
    }

    fn chunk(rng: &mut u64, want: &Want) -> Vec<u8> {
        let mut next = || {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            *rng
        };
        for _ in 0..20_000_000 {
            let buffer: Vec<u8> = (0..48).map(|_| next() as u8).collect();
            let mut input = Unstructured::new(&buffer);
            let Ok(op) = Op::arbitrary(&mut input) else { continue };
            if !want(&op) {
                continue;
            }
            let used = buffer.len() - input.len();
            let mut again = buffer[..used].to_vec();
            again.extend_from_slice(&[0xA5; 8]);
            let mut input = Unstructured::new(&again);
            match Op::arbitrary(&mut input) {
                Ok(same) if input.len() == 8 && format!("{same:?}") == format!("{op:?}") => return buffer[..used].to_vec(),
                _ => continue,
            }
        }
        panic!("no encoding found for a seed operation");
    }

    fn startup() -> Want {
        want!(Op::Startup { how } if how % 3 == 0)
    }
    fn plain_callback() -> Want {
        want!(Op::NewCallback { params, flags, queue: QSel::Platform(q), invoke_panics: false, chain: None, .. }
            if params % 6 < 3 && flags_of(*flags) == 0 && [1, 5].contains(&(q % 8)))
    }
    fn sleep() -> Want {
        want!(Op::Sleep(n) if *n > 200)
    }

    fn scenarios() -> Vec<(&'static str, Vec<Want>)> {
        vec![
            ("seed-lifecycle", vec![
                startup(),
                want!(Op::Guard),
                want!(Op::LockPlatform),
                want!(Op::Allocate { .. }),
                want!(Op::LockQueue(QSel::Mine(_))),
                want!(Op::UnlockQueue(QSel::Mine(_))),
                want!(Op::UnlockQueue(QSel::Mine(_))),
                want!(Op::UnlockPlatform),
                want!(Op::Startup { how } if how % 3 == 2),
                want!(Op::Shutdown),
                want!(Op::Shutdown),
                want!(Op::LockQueue(QSel::Mine(_))),
            ]),
            ("seed-put-spawn", vec![
                startup(),
                plain_callback(),
                want!(Op::Put { queue: QSel::Platform(_), state: StateSel::Tag, .. }),
                want!(Op::Put { queue: QSel::Platform(_), state: StateSel::None, .. }),
                want!(Op::CreateResult { callback: Some(_), event: None, .. }),
                want!(Op::PutResult { queue: QSel::Platform(_), moved: true, .. }),
                want!(Op::PutResult { queue: QSel::Platform(_), moved: false, .. }),
                want!(Op::Invoke { .. }),
                want!(Op::Spawn { queue: QSel::Platform(_), panics: false, .. }),
                want!(Op::Spawn { queue: QSel::Platform(_), panics: true, .. }),
                sleep(),
                want!(Op::Shutdown),
            ]),
            ("seed-panics", vec![
                startup(),
                want!(Op::NewCallback { params, invoke_panics: true, bomb: true, chain: None, .. } if params % 6 == 5),
                want!(Op::HookPanics(n) if n % 4 == 2),
                want!(Op::Put { queue: QSel::Platform(_), state: StateSel::Bomb, .. }),
                want!(Op::Put { queue: QSel::Platform(_), state: StateSel::Tag, .. }),
                want!(Op::CreateResult { callback: Some(_), event: None, state: StateSel::Bomb }),
                want!(Op::Invoke { .. }),
                want!(Op::Schedule { state: StateSel::Bomb, delay: Delay::Zero, .. }),
                want!(Op::Begin { queue: QSel::Platform(_), outcome: Outcome::Panic, state: StateSel::Bomb, .. }),
                want!(Op::AddPeriodic { context: true, panics: true }),
                sleep(), sleep(), sleep(), sleep(), sleep(), sleep(),
                want!(Op::Shutdown),
            ]),
            ("seed-serial-reply", vec![
                startup(),
                want!(Op::NewCallback { params, flags, stash_replies: false, invoke_panics: false, chain: None, .. }
                    if params % 6 < 3 && flags_of(*flags) == CallbackFlags::REPLY.bits()),
                want!(Op::NewCallback { params, flags, stash_replies: true, invoke_panics: false, chain: None, .. }
                    if params % 6 < 3 && flags_of(*flags) == CallbackFlags::REPLY.bits()),
                want!(Op::Allocate { kind } if kind % 3 == 2),
                want!(Op::AllocateSerial { target: QSel::Mine(_) }),
                want!(Op::Put { queue: QSel::Mine(q), callback: c, state: StateSel::Tag, .. } if q % 2 == 1 && c % 2 == 0),
                want!(Op::Put { queue: QSel::Mine(q), callback: c, state: StateSel::Tag, .. } if q % 2 == 1 && c % 2 == 1),
                want!(Op::Put { queue: QSel::Mine(q), callback: c, state: StateSel::Tag, .. } if q % 2 == 1 && c % 2 == 1),
                want!(Op::Spawn { queue: QSel::Mine(q), panics: false, .. } if q % 2 == 1),
                sleep(),
                want!(Op::Reply { .. }),
                want!(Op::UnlockQueue(QSel::Mine(q)) if q % 2 == 1),
                want!(Op::Shutdown),
            ]),
            ("seed-timers-waits", vec![
                startup(),
                plain_callback(),
                want!(Op::NewEvent { manual: false, initial: false }),
                want!(Op::Schedule { state: StateSel::Tag, delay: Delay::Ms(_), .. }),
                want!(Op::Schedule { state: StateSel::None, delay: Delay::Far, .. }),
                want!(Op::Schedule { state: StateSel::Tag, delay: Delay::Far, .. }),
                want!(Op::CreateResult { callback: Some(_), event: None, .. }),
                want!(Op::ScheduleResult { delay: Delay::Max, .. }),
                want!(Op::PutWaiting { event: Some(_), .. }),
                want!(Op::PutWaiting { event: None, .. }),
                want!(Op::SetEvent(_)),
                want!(Op::Cancel { key: Some(k), .. } if k % 6 == 2),
                want!(Op::Cancel { key: Some(k), .. } if k % 6 == 5),
                want!(Op::Cancel { key: None, .. }),
                sleep(),
                want!(Op::Shutdown),
            ]),
            // Regression: a put refused because the platform was down dropped
            // its state on the caller's thread without the guard, so a state
            // whose Drop panics unwound into the caller (fixed by 6d4db57).
            ("regress-drop-escape", vec![
                plain_callback(),
                want!(Op::Put { state: StateSel::Bomb, queue: QSel::Platform(_), .. }),
            ]),
            ("seed-begin-mmcss", vec![
                startup(),
                plain_callback(),
                want!(Op::Begin { queue: QSel::Platform(_), outcome: Outcome::Value(_), .. }),
                want!(Op::Begin { queue: QSel::Platform(_), outcome: Outcome::Fail(_), .. }),
                want!(Op::Operation { outcome: Outcome::Value(_), .. }),
                want!(Op::RegisterPlatform { class: ClassSel::Known(_), priority, .. } if (-2..=2).contains(&(priority % 4))),
                want!(Op::Getters(QSel::Platform(_))),
                want!(Op::LockShared { class: ClassSel::Known(_), task: Some(_), .. }),
                want!(Op::LockShared { class: ClassSel::Empty, task: None, .. }),
                want!(Op::Getters(QSel::Mine(_))),
                want!(Op::RegisterQueue { queue: QSel::Mine(_), class: ClassSel::Known(_), priority, .. } if (-2..=2).contains(&(priority % 4))),
                want!(Op::BeginRegister { queue: QSel::Platform(_), class: ClassSel::Known(_), priority, .. } if (-2..=2).contains(&(priority % 4))),
                want!(Op::BeginUnregister { queue: QSel::All, .. }),
                sleep(),
                want!(Op::UnregisterQueue(QSel::Mine(_))),
                want!(Op::UnregisterPlatform),
                want!(Op::AddPeriodic { context: true, panics: false }),
                want!(Op::RemovePeriodic { key: Some(_), .. }),
                want!(Op::Shutdown),
            ]),
        ]
    }

    pub(super) fn write_if_asked() {
        let Some(dir) = std::env::var_os("MFWQ_FUZZ_WRITE_SEEDS") else { return };
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("seed directory");
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        for (name, ops) in scenarios() {
            let bytes: Vec<u8> = ops.iter().flat_map(|want| chunk(&mut rng, want)).collect();
            let mut input = Unstructured::new(&bytes);
            for want in &ops {
                let op = Op::arbitrary(&mut input).expect("decodes");
                assert!(want(&op), "{name}: {op:?}");
            }
            assert!(input.is_empty());
            std::fs::write(dir.join(name), &bytes).expect("write a seed");
            eprintln!("wrote {name} ({} bytes, {} operations)", bytes.len(), ops.len());
        }
        std::process::exit(0);
    }
}
