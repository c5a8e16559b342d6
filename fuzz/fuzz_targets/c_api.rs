//! Fuzz target `c_api`: random sequences of C API calls, made through the
//! `extern "system"` exports of libmfplat (the `mfplat` rlib), with COM
//! callbacks and states written in Rust, and an oracle checked after a final
//! full shutdown at the end of every input. See `docs/fuzzing.md`.
//!
//! The input is a list of [`Op`]s (at most [`MAX_OPS`]), decoded with
//! `arbitrary`. Every call's HRESULT is checked against what the function's
//! documentation allows for it and, where the fuzzer's model of the platform
//! knows the answer (platform up or down, a private queue certainly alive or
//! certainly gone, a key certainly pending), against that exact value.
//!
//! The oracle at the end of each input (after the last `MFShutdown`, once
//! every platform thread it left behind has ended, so that nothing is still
//! in flight: `quiescence.rs`):
//! - every item whose put / invoke / schedule / wait / Begin call returned
//!   `S_OK` was invoked exactly once, except scheduled items still pending at
//!   the last shutdown: those are never invoked and their result (with its
//!   references) is leaked, exactly once per result;
//! - a successfully cancelled scheduled item is never invoked; a successfully
//!   cancelled waiting item is invoked once with `MF_E_OPERATION_CANCELLED`;
//!   a waiting item still pending at the last shutdown once with
//!   `MF_E_SHUTDOWN`;
//! - every COM reference the platform took is given back (callbacks, states,
//!   objects, periodic contexts back to their owner's one), except those held
//!   by the leaked timer results; results close their `hEvent` on their final
//!   release; no event handle, private queue or platform lock is left over;
//! - `GetParameters` is never called with a NULL pointer; every `MFShutdown`
//!   returns within the shutdown timeout plus the documented grace, and the
//!   threads it leaves behind end by themselves.
//!
//! Knobs (environment): `MFWQ_FUZZ_TRACE=1` prints every call and its
//! HRESULT; `MFWQ_FUZZ_RELAX=rule,...` turns off named rules while a known
//! bug is being fixed; `MFWQ_FUZZ_SLOW_LATE_INVOKE=1` makes every `Invoke`
//! that starts once the last shutdown has begun take up to 63 ms, so that
//! shutdowns leave threads behind with items in flight (see
//! `docs/fuzzing.md`).

#![no_main]

use std::collections::HashMap;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{LazyLock, Mutex, Once};
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use mfplat::{lifecycle as lc, mmcss as mm, queues as qs, win32 as w32, work as wk};
use mfwq::com::{
    Guid, IMFAsyncCallbackVtbl, IMFAsyncResultVtbl, IUnknownVtbl, IID_IMF_ASYNC_CALLBACK,
    IID_IUNKNOWN,
};
use mfwq::HResult;

mod quiescence;

/// Most operations taken from one input.
const MAX_OPS: usize = 64;
/// Most callbacks, plain objects, results and events made by one input.
const MAX_OBJECTS: usize = 12;
/// Most chained puts made from inside callbacks per input.
const CHAIN_BUDGET: i64 = 16;
/// The shutdown timeout the fuzzer runs with (`MFWQ_SHUTDOWN_TIMEOUT_MS`),
/// unless the environment sets one.
const SHUTDOWN_TIMEOUT_MS: u64 = 10;
/// How long the end-of-input checks wait for the threads a shutdown left
/// behind to end (their callbacks never block: well beyond what any of them
/// needs, even under AddressSanitizer on a loaded machine).
const QUIESCE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// HRESULTs

const S_OK: i32 = 0;
const S_FALSE: i32 = 1;
const SHUTDOWN: i32 = HResult::MF_E_SHUTDOWN.0;
const INVALID_WQ: i32 = HResult::MF_E_INVALID_WORKQUEUE.0;
const INVALIDARG: i32 = HResult::E_INVALIDARG.0;
const POINTER: i32 = HResult::E_POINTER.0;
const NOT_FOUND: i32 = HResult::MF_E_NOT_FOUND.0;
const FAIL: i32 = HResult::E_FAIL.0;
const NOTIMPL: i32 = HResult::E_NOTIMPL.0;
const BUFFERTOOSMALL: i32 = HResult::MF_E_BUFFERTOOSMALL.0;
const HANDLE_ERR: i32 = HResult::E_HANDLE.0;
const CANCELLED: i32 = HResult::MF_E_OPERATION_CANCELLED.0;
const INVALIDREQUEST: i32 = HResult::MF_E_INVALIDREQUEST.0;
const BAD_VERSION: i32 = HResult::MF_E_BAD_STARTUP_VERSION.0;
const NOINTERFACE: i32 = HResult::E_NOINTERFACE.0;

const FLAG_FAST_IO: u32 = 0x1;
const FLAG_SIGNAL: u32 = 0x2;
const FLAG_REPLY: u32 = 0x8;

fn name(hr: i32) -> String {
    format!("{:?}", HResult(hr))
}

// ---------------------------------------------------------------------------
// Failures, knobs, tracing

static FAILURES: Mutex<Vec<String>> = Mutex::new(Vec::new());
static TRACE: LazyLock<bool> = LazyLock::new(|| std::env::var_os("MFWQ_FUZZ_TRACE").is_some());
static SLOW_LATE_INVOKE: LazyLock<bool> =
    LazyLock::new(|| std::env::var_os("MFWQ_FUZZ_SLOW_LATE_INVOKE").is_some());
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

/// Records a violation seen on any thread; the fuzzer thread panics with all
/// of them at its next check point.
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

/// Checks `hr` against the allowed set of `call`.
#[track_caller]
fn allow(call: &str, hr: i32, allowed: &[i32]) -> i32 {
    trace!("  {call} -> {}", name(hr));
    if !allowed.contains(&hr) {
        let allowed: Vec<String> = allowed.iter().map(|&hr| name(hr)).collect();
        panic!(
            "oracle failure: {call} returned {}; allowed: {}",
            name(hr),
            allowed.join(", ")
        );
    }
    hr
}

/// What the model predicts for a call: one exact HRESULT, or a set.
#[derive(Clone, Debug)]
enum Expect {
    Exactly(i32),
    OneOf(Vec<i32>),
}

impl Expect {
    fn one_of(set: &[i32]) -> Expect {
        Expect::OneOf(set.to_vec())
    }
}

/// Checks `hr` against the documented set and the model's prediction.
#[track_caller]
fn check(call: &str, hr: i32, documented: &[i32], model: Expect) -> i32 {
    allow(call, hr, documented);
    let ok = match &model {
        Expect::Exactly(expected) => hr == *expected,
        Expect::OneOf(set) => set.contains(&hr),
    };
    if !ok {
        panic!(
            "oracle failure: {call} returned {}; the model expected {model:?}",
            name(hr)
        );
    }
    hr
}

// ---------------------------------------------------------------------------
// COM objects written in Rust

/// A plain `IUnknown`: states, objects, periodic contexts, and item tags. A
/// tag is the state of exactly one item (or of one result object), so an
/// `Invoke` can tell which item it runs.
#[repr(C)]
struct Unk {
    vtbl: &'static IUnknownVtbl,
    refs: AtomicI64,
    id: usize,
    tag: Option<Tag>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TagKind {
    /// The state of an `MFPutWorkItem(2)` item (the platform's own result).
    Put,
    /// The state of an `MFScheduleWorkItem` item (the platform's own result).
    Schedule,
    /// The state of one result object made by `MFCreateAsyncResult`.
    Result,
    /// The state of a Begin call (MMCSS register / unregister).
    Begin { register: bool, task: u32 },
    /// A put made from inside a callback.
    Chain,
}

struct Tag {
    kind: TagKind,
    /// The callback this item (or result) names (index in the input's list).
    callback: Option<usize>,
    /// Invocations owed: calls that returned `S_OK` (a scheduled item counts
    /// in `scheduled` instead).
    owed: AtomicU32,
    /// Scheduled items that returned `S_OK`, and those cancelled with `S_OK`.
    scheduled: AtomicU32,
    cancelled_timers: AtomicU32,
    /// Waiting items that returned `S_OK`, and those cancelled with `S_OK`.
    waits: AtomicU32,
    cancelled_waits: AtomicU32,
    /// Invocations seen, and the status of each.
    invoked: AtomicU32,
    statuses: Mutex<Vec<i32>>,
}

impl Tag {
    fn new(kind: TagKind, callback: Option<usize>) -> Tag {
        Tag {
            kind,
            callback,
            owed: AtomicU32::new(0),
            scheduled: AtomicU32::new(0),
            cancelled_timers: AtomicU32::new(0),
            waits: AtomicU32::new(0),
            cancelled_waits: AtomicU32::new(0),
            invoked: AtomicU32::new(0),
            statuses: Mutex::new(Vec::new()),
        }
    }
}

unsafe extern "system" fn unk_query_interface(
    this: *mut c_void,
    riid: *const Guid,
    out: *mut *mut c_void,
) -> i32 {
    if out.is_null() {
        return POINTER;
    }
    if !riid.is_null() && unsafe { *riid } == IID_IUNKNOWN {
        unsafe { unk_add_ref(this) };
        unsafe { out.write(this) };
        return S_OK;
    }
    unsafe { out.write(null_mut()) };
    NOINTERFACE
}

unsafe extern "system" fn unk_add_ref(this: *mut c_void) -> u32 {
    let unk = unsafe { &*(this as *const Unk) };
    (unk.refs.fetch_add(1, SeqCst) + 1) as u32
}

unsafe extern "system" fn unk_release(this: *mut c_void) -> u32 {
    let unk = unsafe { &*(this as *const Unk) };
    let left = unk.refs.fetch_sub(1, SeqCst) - 1;
    if left <= 0 {
        fail(format!(
            "object {} released below its owner's reference ({left})",
            unk.id
        ));
    }
    left.max(0) as u32
}

static UNK_VTBL: IUnknownVtbl = IUnknownVtbl {
    query_interface: unk_query_interface,
    add_ref: unk_add_ref,
    release: unk_release,
};

static NEXT_OBJECT_ID: AtomicU64 = AtomicU64::new(1);

fn new_unk(tag: Option<Tag>) -> *mut Unk {
    Box::into_raw(Box::new(Unk {
        vtbl: &UNK_VTBL,
        refs: AtomicI64::new(1),
        id: NEXT_OBJECT_ID.fetch_add(1, SeqCst) as usize,
        tag,
    }))
}

fn refs_of_unk(unk: *mut Unk) -> i64 {
    unsafe { &*unk }.refs.load(SeqCst)
}

/// Whether `object` is one of ours (it is, for every state the platform can
/// hand back; checked anyway).
unsafe fn as_unk<'a>(object: *mut c_void) -> Option<&'a Unk> {
    if object.is_null() {
        return None;
    }
    let vtbl = unsafe { *(object as *const *const IUnknownVtbl) };
    std::ptr::eq(vtbl, &UNK_VTBL).then(|| unsafe { &*(object as *const Unk) })
}

/// What a callback does, fixed when it is made.
#[derive(Clone, Copy, Debug)]
struct CbConfig {
    params_hr: i32,
    flags: u32,
    queue: u32,
    /// Reply results (reply mode of serial queues) are kept for a later
    /// `Reply` operation instead of being invoked at once.
    stash_replies: bool,
    /// Puts one more item of itself on this queue from inside `Invoke`.
    chain: Option<u32>,
}

impl CbConfig {
    /// The flags and queue the dispatcher uses (defaults when GetParameters fails).
    fn effective(&self) -> (u32, u32) {
        if self.params_hr >= 0 {
            (self.flags, self.queue)
        } else {
            (0, 1)
        }
    }
}

#[repr(C)]
struct Cb {
    vtbl: &'static IMFAsyncCallbackVtbl,
    refs: AtomicI64,
    index: usize,
    config: CbConfig,
    invoked: AtomicU32,
    /// Invocations whose result carries no tag (`MFPutWorkItem` with a NULL
    /// or a shared state), and how many such items were accepted.
    untagged_invoked: AtomicU32,
    untagged_owed: AtomicU32,
    untagged_statuses: Mutex<Vec<i32>>,
    /// Begin calls made with this callback and no state (their completion
    /// arrives untagged, with the operation's status).
    untagged_begins: AtomicU32,
    params_calls: AtomicU32,
}

unsafe extern "system" fn cb_query_interface(
    this: *mut c_void,
    riid: *const Guid,
    out: *mut *mut c_void,
) -> i32 {
    if out.is_null() {
        return POINTER;
    }
    if !riid.is_null() && matches!(unsafe { *riid }, IID_IUNKNOWN | IID_IMF_ASYNC_CALLBACK) {
        unsafe { cb_add_ref(this) };
        unsafe { out.write(this) };
        return S_OK;
    }
    unsafe { out.write(null_mut()) };
    NOINTERFACE
}

unsafe extern "system" fn cb_add_ref(this: *mut c_void) -> u32 {
    let cb = unsafe { &*(this as *const Cb) };
    (cb.refs.fetch_add(1, SeqCst) + 1) as u32
}

unsafe extern "system" fn cb_release(this: *mut c_void) -> u32 {
    let cb = unsafe { &*(this as *const Cb) };
    let left = cb.refs.fetch_sub(1, SeqCst) - 1;
    if left <= 0 {
        fail(format!(
            "callback {} released below its owner's reference ({left})",
            cb.index
        ));
    }
    left.max(0) as u32
}

unsafe extern "system" fn cb_get_parameters(
    this: *mut c_void,
    flags: *mut u32,
    queue: *mut u32,
) -> i32 {
    let cb = unsafe { &*(this as *const Cb) };
    cb.params_calls.fetch_add(1, SeqCst);
    if flags.is_null() || queue.is_null() {
        fail(format!(
            "GetParameters of callback {} called with a NULL pointer",
            cb.index
        ));
        return POINTER;
    }
    if cb.config.params_hr >= 0 {
        unsafe {
            flags.write(cb.config.flags);
            queue.write(cb.config.queue);
        }
    }
    cb.config.params_hr
}

/// The `pCallback` field of a stock result (`MFASYNCRESULT`, offset 40).
unsafe fn result_callback_field(result: *mut c_void) -> *mut c_void {
    unsafe { *((result as *const u8).add(40) as *const *mut c_void) }
}

unsafe fn result_vtbl<'a>(result: *mut c_void) -> &'a IMFAsyncResultVtbl {
    unsafe { &**(result as *const *const IMFAsyncResultVtbl) }
}

/// The reference count of a COM object, read with an AddRef/Release pair.
unsafe fn com_refs(object: *mut c_void) -> u32 {
    let vtbl = unsafe { &**(object as *const *const IUnknownVtbl) };
    let count = unsafe { (vtbl.add_ref)(object) };
    unsafe { (vtbl.release)(object) };
    count - 1
}

unsafe fn com_release(object: *mut c_void) -> u32 {
    let vtbl = unsafe { &**(object as *const *const IUnknownVtbl) };
    unsafe { (vtbl.release)(object) }
}

unsafe fn com_add_ref(object: *mut c_void) -> u32 {
    let vtbl = unsafe { &**(object as *const *const IUnknownVtbl) };
    unsafe { (vtbl.add_ref)(object) }
}

/// Reply results kept by callbacks with `stash_replies` (one reference each).
static STASH: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// Tags made by chained puts inside callbacks (owned like the input's own).
static CHAIN_TAGS: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static CHAIN_LEFT: AtomicI64 = AtomicI64::new(0);

/// `MFWQ_FUZZ_SLOW_LATE_INVOKE`: an `Invoke` that starts while the platform
/// is shutting down or down first sleeps 0 to 63 ms (a fixed pseudo-random
/// sequence), long past the shutdown's deadline, so that the shutdown leaves
/// threads behind with items in flight, and the oracle must wait for them.
fn slow_late_invoke() {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    if *SLOW_LATE_INVOKE && !mfwq::is_started() {
        // The top 6 bits of a multiplicative hash of the call number.
        let millis = CALLS.fetch_add(1, SeqCst).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58;
        std::thread::sleep(Duration::from_millis(millis));
    }
}

unsafe extern "system" fn cb_invoke(this: *mut c_void, result: *mut c_void) -> i32 {
    let cb = unsafe { &*(this as *const Cb) };
    slow_late_invoke();
    if result.is_null() {
        fail(format!("callback {} invoked with a NULL result", cb.index));
        cb.invoked.fetch_add(1, SeqCst);
        return S_OK;
    }
    let vtbl = unsafe { result_vtbl(result) };
    let status = unsafe { (vtbl.get_status)(result) };
    let mut state = null_mut();
    let got = unsafe { (vtbl.get_state)(result, &mut state) };
    let tag_unk = if got >= 0 { unsafe { as_unk(state) } } else { None };
    let tag = tag_unk.and_then(|unk| unk.tag.as_ref());
    match tag {
        Some(tag) => {
            tag.statuses.lock().unwrap().push(status);
            if let TagKind::Begin { register, task } = tag.kind {
                unsafe { end_begin(cb.index, result, register, task) };
            } else {
                unsafe { maybe_reply(cb, this, result) };
            }
            if tag.kind != TagKind::Chain {
                unsafe { maybe_chain(cb, this) };
            }
            tag.invoked.fetch_add(1, SeqCst);
        }
        None => {
            cb.untagged_statuses.lock().unwrap().push(status);
            unsafe { maybe_reply(cb, this, result) };
            cb.untagged_invoked.fetch_add(1, SeqCst);
        }
    }
    if !state.is_null() {
        unsafe { com_release(state) };
    }
    cb.invoked.fetch_add(1, SeqCst);
    S_OK
}

/// In reply mode the callback receives a reply result (its `pCallback` is not
/// this callback); invoking it moves the serial queue on.
unsafe fn maybe_reply(cb: &Cb, this: *mut c_void, result: *mut c_void) {
    if cb.config.effective().0 & FLAG_REPLY == 0 || unsafe { result_callback_field(result) } == this {
        return;
    }
    if cb.config.stash_replies {
        unsafe { com_add_ref(result) };
        STASH.lock().unwrap().push(result as usize);
    } else {
        let hr = unsafe { wk::MFInvokeCallback(result) };
        if hr != S_OK && hr != SHUTDOWN {
            fail(format!(
                "MFInvokeCallback(reply result) from callback {} returned {}",
                cb.index,
                name(hr)
            ));
        }
    }
}

/// A chained put: one more item of this callback, from inside `Invoke`.
unsafe fn maybe_chain(cb: &Cb, this: *mut c_void) {
    let Some(queue) = cb.config.chain else { return };
    if CHAIN_LEFT.fetch_sub(1, SeqCst) <= 0 {
        return;
    }
    let tag = new_unk(Some(Tag::new(TagKind::Chain, Some(cb.index))));
    CHAIN_TAGS.lock().unwrap().push(tag as usize);
    let hr = unsafe { wk::MFPutWorkItem(queue, this, tag as *mut c_void) };
    match hr {
        S_OK => {
            unsafe { &*tag }.tag.as_ref().unwrap().owed.fetch_add(1, SeqCst);
        }
        SHUTDOWN | INVALID_WQ => {}
        other => fail(format!(
            "chained MFPutWorkItem({queue:#x}) from callback {} returned {}",
            cb.index,
            name(other)
        )),
    }
}

/// The callback of a Begin call ends the operation, the way a C caller does.
unsafe fn end_begin(index: usize, result: *mut c_void, register: bool, requested_task: u32) {
    let allowed_status = [S_OK, INVALID_WQ, SHUTDOWN];
    if register {
        // The other operation's End refuses this result, and ends nothing.
        let wrong = unsafe { mm::MFEndUnregisterWorkQueueWithMMCSS(result) };
        if wrong != INVALIDARG {
            fail(format!(
                "MFEndUnregisterWorkQueueWithMMCSS(register result) returned {}",
                name(wrong)
            ));
        }
        let no_out = unsafe { mm::MFEndRegisterWorkQueueWithMMCSS(result, null_mut()) };
        if no_out != POINTER {
            fail(format!(
                "MFEndRegisterWorkQueueWithMMCSS(result, NULL) returned {}",
                name(no_out)
            ));
        }
        let mut task = 0xDEAD_BEEF;
        let first = unsafe { mm::MFEndRegisterWorkQueueWithMMCSS(result, &mut task) };
        if !allowed_status.contains(&first) {
            fail(format!(
                "callback {index}: MFEndRegisterWorkQueueWithMMCSS returned {}",
                name(first)
            ));
        }
        if first == S_OK && (task == 0 || (requested_task != 0 && task != requested_task)) {
            fail(format!(
                "MFEndRegisterWorkQueueWithMMCSS gave task id {task} for a request of {requested_task}"
            ));
        }
        let second = unsafe { mm::MFEndRegisterWorkQueueWithMMCSS(result, &mut task) };
        let expected = if first == S_OK { INVALIDREQUEST } else { first };
        if second != expected {
            fail(format!(
                "a second MFEndRegisterWorkQueueWithMMCSS returned {} (first {})",
                name(second),
                name(first)
            ));
        }
    } else {
        let mut task = 0;
        let wrong = unsafe { mm::MFEndRegisterWorkQueueWithMMCSS(result, &mut task) };
        if wrong != INVALIDARG {
            fail(format!(
                "MFEndRegisterWorkQueueWithMMCSS(unregister result) returned {}",
                name(wrong)
            ));
        }
        let first = unsafe { mm::MFEndUnregisterWorkQueueWithMMCSS(result) };
        if !allowed_status.contains(&first) {
            fail(format!(
                "callback {index}: MFEndUnregisterWorkQueueWithMMCSS returned {}",
                name(first)
            ));
        }
    }
}

static CB_VTBL: IMFAsyncCallbackVtbl = IMFAsyncCallbackVtbl {
    unknown: IUnknownVtbl {
        query_interface: cb_query_interface,
        add_ref: cb_add_ref,
        release: cb_release,
    },
    get_parameters: cb_get_parameters,
    invoke: cb_invoke,
};

/// `MFPERIODICCALLBACK`: counts, and checks that the context it is given is
/// still held by the platform.
static TICKS: AtomicU64 = AtomicU64::new(0);

unsafe extern "system" fn periodic_tick(context: *mut c_void) {
    TICKS.fetch_add(1, SeqCst);
    if let Some(unk) = unsafe { as_unk(context) } {
        if unk.refs.load(SeqCst) < 2 {
            fail(format!(
                "a periodic callback ran with context {} that the platform no longer holds",
                unk.id
            ));
        }
    } else if !context.is_null() {
        fail("a periodic callback ran with a context that is not ours".into());
    }
}

// ---------------------------------------------------------------------------
// The input

#[derive(Arbitrary, Debug, Clone, Copy)]
enum QSel {
    /// A platform id: 0..=7 (6 and 0 stand for STANDARD).
    Platform(u8),
    /// One of the ids this input was given (live, unlocked, or from before a restart).
    Mine(u8),
    /// A made-up private-looking id.
    Private(u16, u16),
    /// Any 32-bit value.
    Garbage(u32),
    /// `MFASYNC_CALLBACK_QUEUE_ALL`.
    All,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum HSel {
    Null,
    Mine(u8),
    /// A value that names no open handle.
    Garbage(u64),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum KSel {
    Mine(u8),
    Garbage(u64),
    /// A scheduled-looking key with a made-up counter.
    SchedLike(u32),
    /// A waiting-looking key with a made-up counter.
    WaitLike(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum ClassSel {
    Null,
    Empty,
    Known(u8),
    /// A name with an unpaired surrogate (not valid UTF-16).
    LoneSurrogate { high: bool, unit: u8, prefix: u8 },
    /// A long name.
    Long(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum StateSel {
    None,
    /// A fresh state that identifies the item.
    Tag,
    /// A shared plain object.
    Shared(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Timeout {
    /// `>= 0`: as soon as possible.
    Now(u8),
    /// A few milliseconds (1..=3).
    Ms(u8),
    /// An hour: certainly pending at the end.
    Far,
    /// `i64::MIN`: "never", in effect.
    Min,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum LenSel {
    Exact,
    Short,
    Len(u8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    Startup { how: u8 },
    Shutdown { rtwq: bool },
    LockPlatform { rtwq: bool },
    UnlockPlatform { rtwq: bool },
    Allocate { how: u8, kind: i8, null_out: bool },
    AllocateSerial { target: QSel, rtwq: bool, null_out: bool },
    LockQueue { queue: QSel, rtwq: bool },
    UnlockQueue { queue: QSel, rtwq: bool },
    LockShared { class: ClassSel, priority: i8, task: Option<u8>, null_out: bool, rtwq: bool },
    NewCallback { params: u8, flags: u8, queue: QSel, stash_replies: bool, chain: Option<QSel> },
    NewObject,
    NewEvent { manual: bool, initial: bool, how: u8 },
    SetEvent(HSel),
    ResetEvent(HSel),
    CloseHandle(HSel),
    WaitEvent(HSel),
    CreateResult { callback: Option<u8>, object: Option<u8>, event: Option<HSel>, null_out: bool, rtwq: bool },
    Put { two: bool, queue: QSel, priority: i8, callback: Option<u8>, state: StateSel },
    PutResult { how: u8, queue: QSel, priority: i8, result: Option<u8> },
    Invoke { result: Option<u8>, rtwq: bool },
    Schedule { callback: Option<u8>, tagged: bool, timeout: Timeout, null_key: bool },
    ScheduleResult { result: Option<u8>, timeout: Timeout, null_key: bool, rtwq: bool },
    Cancel { key: KSel, rtwq: bool },
    PutWaiting { event: HSel, priority: i8, result: Option<u8>, null_key: bool, rtwq: bool },
    AddPeriodic { context: Option<u8>, null_fn: bool, null_key: bool, rtwq: bool },
    RemovePeriodic { key: Option<u8>, garbage: u32, rtwq: bool },
    BeginRegister { how: u8, queue: QSel, class: ClassSel, task: u8, priority: i8, callback: Option<u8>, state: bool },
    BeginUnregister { rtwq: bool, queue: QSel, callback: Option<u8>, state: bool },
    RegisterPlatform { class: ClassSel, task: u8, priority: i8, null_task: bool, rtwq: bool },
    UnregisterPlatform { rtwq: bool },
    GetClass { queue: QSel, len: LenSel, null_buffer: bool, null_len: bool, rtwq: bool },
    GetTaskId { queue: QSel, null: bool, rtwq: bool },
    GetPriority { queue: QSel, null: bool, rtwq: bool },
    Reply { index: u8, how: u8 },
    Periodicity { null: bool },
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
    /// Locks this input holds (allocation, MFLockWorkQueue, shared locks).
    locks: i64,

    /// A serial queue was allocated over it (it holds a lock of its own).
    targeted: bool,
    /// Something made its lock count unknowable (an unlock past ours).
    unsure: bool,
    /// The target of a serial queue.
    target: Option<u32>,
}

struct HandleRec {
    value: usize,
    /// Closed by this input (CloseHandle returned TRUE).
    closed: bool,
    /// Set at some point (initially, by SetEvent, or by the platform for a result).
    maybe_set: bool,
    /// Stored as the `hEvent` of one of the input's results.
    owned: bool,
}

struct ResultRec {
    ptr: *mut c_void,
    tag: *mut Unk,
    callback: Option<usize>,
    object: Option<usize>,
    event: Option<usize>,
    /// Calls that took it and returned `S_OK` (puts, invokes, schedules, waits).
    uses: u32,
    waited: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Scheduled { far: bool },
    Waiting { event: Option<usize> },
}

struct KeyRec {
    key: u64,
    epoch: u32,
    kind: KeyKind,
    tag: *mut Unk,
    /// Cancelled with `S_OK` (or known to be gone).
    done: bool,
}

struct PeriodicRec {
    key: u32,
    epoch: u32,
    removed: bool,
}

/// One queue's MMCSS registration as the getters must report it (`task`
/// unknown when the call that made it did not report it).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Mmcss {
    class: Vec<u16>,
    task: Option<u32>,
    priority: i32,
}

impl Mmcss {
    fn none() -> Mmcss {
        Mmcss { class: vec![0], task: Some(0), priority: 0 }
    }
}

/// What the model knows of a queue's registration.
#[derive(Clone, Debug)]
enum Reg {
    Known(Mmcss),
    /// A Begin call may change it at a time the model cannot know.
    Unknown,
}

struct Model {
    started: i64,
    epoch: u32,
    explicit_locks: i64,
    queues: Vec<QueueRec>,
    shared: Vec<(Vec<u16>, usize)>,
    callbacks: Vec<*mut Cb>,
    objects: Vec<*mut Unk>,
    tags: Vec<*mut Unk>,
    results: Vec<ResultRec>,
    handles: Vec<HandleRec>,
    keys: Vec<KeyRec>,
    periodic: Vec<PeriodicRec>,
    /// Registrations by queue key (platform queues by their slot id); a key
    /// not in the map is unregistered. `None` while the platform is down.
    mmcss: Option<HashMap<u32, Reg>>,
    /// Begin calls whose callback has not run yet (their tags).
    begins: Vec<*mut Unk>,
    /// A Begin call without a state (its completion cannot be seen).
    untracked_begin: bool,
    /// Accounting tags of schedules made without a state (the platform's
    /// result holds only the callback).
    stateless: Vec<*mut Unk>,
    /// Results leaked by this input (set by the end-of-input accounting).
    leaked_results: u64,
    /// Some shutdown reached its deadline: items may have been delivered with
    /// `MF_E_SHUTDOWN` (documented for a queue still busy at the deadline).
    deadline_hit: bool,
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

fn known_classes() -> [&'static str; 9] {
    [
        "Audio",
        "Pro Audio",
        "Playback",
        "Capture",
        "Games",
        "Distribution",
        "Window Manager",
        "Ünïcødé ☃",
        "😀 emoji",
    ]
}

/// The class name (UTF-16 with its NUL), or `None` for NULL.
fn class_units(class: ClassSel) -> Option<Vec<u16>> {
    let mut units: Vec<u16> = match class {
        ClassSel::Null => return None,
        ClassSel::Empty => Vec::new(),
        ClassSel::Known(i) => {
            let names = known_classes();
            names[i as usize % names.len()].encode_utf16().collect()
        }
        ClassSel::LoneSurrogate { high, unit, prefix } => {
            let mut units: Vec<u16> = "Audio".encode_utf16().take(prefix as usize % 6).collect();
            let base = if high { 0xD800 } else { 0xDC00 };
            units.push(base + u16::from(unit) * 4);
            units.push(u16::from(b'x'));
            units
        }
        ClassSel::Long(n) => (0..(n as usize % 200 + 60))
            .map(|i| u16::from(b'a') + (i % 26) as u16)
            .collect(),
    };
    units.push(0);
    Some(units)
}

fn timeout_value(timeout: Timeout) -> (i64, bool) {
    match timeout {
        Timeout::Now(n) => (i64::from(n % 3) * 7, false),
        Timeout::Ms(n) => (-(i64::from(n % 3) + 1), false),
        Timeout::Far => (-3_600_000, true),
        Timeout::Min => (i64::MIN, true),
    }
}

fn flags_of(bits: u8) -> u32 {
    // FAST_IO, SIGNAL, BLOCKING, REPLY, LOCALIZE_REMOTE, and an unknown bit.
    let mut flags = u32::from(bits & 0x1F);
    if bits & 0x20 != 0 {
        flags |= 0x100;
    }
    // Reply mode is the interesting case: make it common.
    if bits & 0xC0 == 0xC0 {
        flags = FLAG_REPLY;
    }
    flags
}

fn needs_fast_io(flags: u32) -> bool {
    flags & (FLAG_FAST_IO | FLAG_SIGNAL) != 0
}

fn fast_io_allowed(queue: u32) -> bool {
    queue == 3 || queue == 4
}

impl Model {
    fn new() -> Model {
        Model {
            started: 0,
            epoch: 0,
            explicit_locks: 0,
            queues: Vec::new(),
            shared: Vec::new(),
            callbacks: Vec::new(),
            objects: Vec::new(),
            tags: Vec::new(),
            results: Vec::new(),
            handles: Vec::new(),
            keys: Vec::new(),
            periodic: Vec::new(),
            mmcss: None,
            begins: Vec::new(),
            untracked_begin: false,
            stateless: Vec::new(),
            leaked_results: 0,
            deadline_hit: false,
        }
    }

    fn up(&self) -> bool {
        self.started > 0
    }

    fn queue_id(&self, sel: QSel) -> u32 {
        match sel {
            QSel::Platform(n) => u32::from(n % 8),
            QSel::Mine(i) if !self.queues.is_empty() => {
                self.queues[i as usize % self.queues.len()].id
            }
            QSel::Mine(n) => u32::from(n % 8),
            QSel::Private(slot, generation) => (u32::from(slot % 64) + 1) << 16 | u32::from(generation),
            QSel::Garbage(value) => value,
            QSel::All => u32::MAX,
        }
    }

    fn queue_rec(&mut self, id: u32) -> Option<&mut QueueRec> {
        // The newest record: an id names one queue ever.
        self.queues.iter_mut().rev().find(|q| q.id == id)
    }

    /// Whether a private id names a live queue, as far as the model knows.
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

    /// Whether a completion to `callback` could never be dispatched (FAST_IO
    /// or SIGNAL on a queue other than IO and TIMER): the platform refuses
    /// the Begin, schedule or wait that would promise it.
    fn completion_refused(&self, callback: Option<usize>) -> bool {
        callback.is_some_and(|i| {
            let (flags, queue) = self.cb(i).config.effective();
            needs_fast_io(flags) && (is_private(queue) || !fast_io_allowed(queue))
        })
    }

    /// The outcome of pushing an item with `flags` to queue `id`, platform up.
    fn push_outcome(&self, id: u32, flags: u32) -> Expect {
        if needs_fast_io(flags) && (is_private(id) || !fast_io_allowed(id)) {
            return Expect::Exactly(INVALID_WQ);
        }
        match self.live(id) {
            Live::Yes => Expect::Exactly(S_OK),
            Live::No => Expect::Exactly(INVALID_WQ),
            Live::Maybe => Expect::one_of(&[S_OK, INVALID_WQ]),
        }
    }

    /// The outcome of a call that needs `id` to be live (MMCSS, getters).
    fn resolve_outcome(&self, id: u32) -> Expect {
        match self.live(id) {
            Live::Yes => Expect::Exactly(S_OK),
            Live::No => Expect::Exactly(INVALID_WQ),
            Live::Maybe => Expect::one_of(&[S_OK, INVALID_WQ]),
        }
    }

    fn callback(&self, sel: Option<u8>) -> Option<usize> {
        let sel = sel?;
        (!self.callbacks.is_empty()).then(|| sel as usize % self.callbacks.len())
    }

    /// `GetParameters` calls on all callbacks so far.
    fn params_calls(&self) -> u32 {
        self.callbacks.iter().map(|&cb| unsafe { &*cb }.params_calls.load(SeqCst)).sum()
    }

    fn cb(&self, index: usize) -> &Cb {
        unsafe { &*self.callbacks[index] }
    }

    fn object(&self, sel: Option<u8>) -> Option<usize> {
        let sel = sel?;
        (!self.objects.is_empty()).then(|| sel as usize % self.objects.len())
    }

    fn result(&self, sel: Option<u8>) -> Option<usize> {
        let sel = sel?;
        (!self.results.is_empty()).then(|| sel as usize % self.results.len())
    }

    /// A handle value, the record it belongs to, and whether it is open.
    fn handle(&self, sel: HSel) -> (usize, Option<usize>, bool) {
        match sel {
            HSel::Null => (0, None, false),
            HSel::Mine(i) if !self.handles.is_empty() => {
                let index = i as usize % self.handles.len();
                let rec = &self.handles[index];
                (rec.value, Some(index), !rec.closed)
            }
            HSel::Mine(_) => (0, None, false),
            // Low bits set, or a generation no table slot has: never a handle.
            HSel::Garbage(value) => {
                let value = value as usize;
                let value = if value % 2 == 0 { value | (1 << 62) } else { value };
                (value, None, false)
            }
        }
    }

    /// Whether a result's `hEvent` names an open event now.
    fn has_event(&self, index: usize) -> bool {
        self.results[index].event.is_some_and(|h| !self.handles[h].closed)
    }

    /// The effective parameters of a result's callback; `None` for a result
    /// without one.
    fn result_params(&self, index: usize) -> Option<(u32, u32)> {
        let cb = self.results[index].callback?;
        Some(self.cb(cb).config.effective())
    }

    fn new_tag(&mut self, kind: TagKind, callback: Option<usize>) -> *mut Unk {
        let tag = new_unk(Some(Tag::new(kind, callback)));
        self.tags.push(tag);
        tag
    }

    fn set_mmcss(&mut self, keys: &[u32], value: Reg) {
        if let Some(map) = &mut self.mmcss {
            for &key in keys {
                map.insert(key, value.clone());
            }
        }
    }

    /// The model's keys for a queue id given to an MMCSS call.
    fn mmcss_keys(id: u32) -> Vec<u32> {
        if id == u32::MAX {
            PLATFORM_KEYS.to_vec()
        } else if is_private(id) {
            vec![id]
        } else {
            vec![platform_key(id)]
        }
    }

    /// Begin calls whose callback has not run: the registrations they make
    /// land at a time the model cannot know.
    fn begins_settled(&mut self) -> bool {
        self.begins
            .retain(|&tag| tag_of(tag).invoked.load(SeqCst) == 0);
        self.begins.is_empty() && !self.untracked_begin
    }

    /// What the getters must report for `id`: `Some` when known.
    fn expected_mmcss(&self, id: u32) -> Option<Mmcss> {
        let map = self.mmcss.as_ref()?;
        let key = if is_private(id) { id } else { platform_key(id) };
        match map.get(&key) {
            None => Some(Mmcss::none()),
            Some(Reg::Known(known)) => Some(known.clone()),
            Some(Reg::Unknown) => None,
        }
    }
}

fn tag_of<'a>(unk: *mut Unk) -> &'a Tag {
    unsafe { &*unk }.tag.as_ref().expect("a tag")
}

// ---------------------------------------------------------------------------
// Running one input

struct Run {
    m: Model,
}

impl Run {
    fn op(&mut self, op: Op) {
        trace!("{op:?}");
        // While the platform is down nothing runs callback code, and a
        // refused call must not either (it never asks for parameters).
        let params_before = (!self.m.up()).then(|| self.m.params_calls());
        self.run_op(op);
        if let Some(before) = params_before {
            if self.m.params_calls() != before {
                panic!("oracle failure: {op:?} called GetParameters while the platform was down");
            }
        }
        raise_failures("during the input");
    }

    fn run_op(&mut self, op: Op) {
        let m = &mut self.m;
        match op {
            Op::Startup { how } => {
                let (call, hr) = match how % 4 {
                    0 => ("MFStartup(MF_VERSION)", lc::MFStartup(mfwq::MF_VERSION, 0)),
                    1 => ("MFStartup(0x10070)", lc::MFStartup(0x0001_0070, 1)),
                    2 => ("RtwqStartup", lc::RtwqStartup()),
                    _ => ("MFStartup(bad version)", lc::MFStartup(0x0003_0070, 0)),
                };
                let expected = if how % 4 == 3 { BAD_VERSION } else { S_OK };
                check(call, hr, &[S_OK, BAD_VERSION], Expect::Exactly(expected));
                if hr == S_OK {
                    m.started += 1;
                    if m.started == 1 {
                        m.epoch += 1;
                        // A new epoch: nothing is registered with MMCSS.
                        m.mmcss = Some(HashMap::new());
                        m.begins.clear();
                        m.untracked_begin = false;
                    }
                }
            }
            Op::Shutdown { rtwq } => self.shutdown(rtwq),
            Op::LockPlatform { rtwq } => {
                let hr = if rtwq { lc::RtwqLockPlatform() } else { lc::MFLockPlatform() };
                check("MFLockPlatform", hr, &[S_OK], Expect::Exactly(S_OK));
                m.explicit_locks += 1;
            }
            Op::UnlockPlatform { rtwq } => {
                let hr = if rtwq { lc::RtwqUnlockPlatform() } else { lc::MFUnlockPlatform() };
                check("MFUnlockPlatform", hr, &[S_OK], Expect::Exactly(S_OK));
                m.explicit_locks -= 1;
            }
            Op::Allocate { how, kind, null_out } => {
                let kind = i32::from(kind % 5);
                let mut id = 0u32;
                let out: *mut u32 = if null_out { null_mut() } else { &mut id };
                let (call, hr) = match how % 3 {
                    0 => ("MFAllocateWorkQueue", unsafe { qs::MFAllocateWorkQueue(out) }),
                    1 => ("MFAllocateWorkQueueEx", unsafe { qs::MFAllocateWorkQueueEx(kind, out) }),
                    _ => ("RtwqAllocateWorkQueue", unsafe { qs::RtwqAllocateWorkQueue(kind, out) }),
                };
                let bad_kind = how % 3 != 0 && !(0..=2).contains(&kind);
                let expected = if null_out {
                    Expect::Exactly(POINTER)
                } else if !m.up() {
                    Expect::Exactly(SHUTDOWN)
                } else if bad_kind {
                    Expect::Exactly(INVALIDARG)
                } else if m.explicit_locks >= 0 {
                    Expect::Exactly(S_OK)
                } else {
                    // Extra unlocks can take the lock count to zero or below, and the
                    // platform then refuses allocations as if it were shut down.
                    Expect::one_of(&[S_OK, SHUTDOWN])
                };
                check(call, hr, &[S_OK, SHUTDOWN, POINTER, INVALIDARG, FAIL], expected);
                if hr == S_OK {
                    self.new_queue(id, false);
                }
            }
            Op::AllocateSerial { target, rtwq, null_out } => {
                let target = m.queue_id(target);
                let mut id = 0u32;
                let out: *mut u32 = if null_out { null_mut() } else { &mut id };
                let hr = if rtwq {
                    unsafe { qs::RtwqAllocateSerialWorkQueue(target, out) }
                } else {
                    unsafe { qs::MFAllocateSerialWorkQueue(target, out) }
                };
                let expected = if null_out {
                    Expect::Exactly(POINTER)
                } else if !m.up() {
                    Expect::Exactly(SHUTDOWN)
                } else {
                    match (m.live(target), m.explicit_locks >= 0) {
                        (Live::Yes, true) => Expect::Exactly(S_OK),
                        (Live::No, _) => Expect::Exactly(INVALID_WQ),
                        _ => Expect::one_of(&[S_OK, INVALID_WQ, SHUTDOWN]),
                    }
                };
                check(
                    &format!("MFAllocateSerialWorkQueue({target:#x})"),
                    hr,
                    &[S_OK, SHUTDOWN, POINTER, INVALID_WQ, FAIL],
                    expected,
                );
                if hr == S_OK {
                    if let Some(rec) = m.queue_rec(target) {
                        rec.targeted = true;
                    }
                    self.new_queue(id, true);
                    if let Some(rec) = self.m.queue_rec(id) {
                        rec.target = Some(target);
                    }
                }
            }
            Op::LockQueue { queue, rtwq } => {
                let id = m.queue_id(queue);
                let hr = if rtwq { qs::RtwqLockWorkQueue(id) } else { qs::MFLockWorkQueue(id) };
                let expected = if !is_private(id) {
                    Expect::Exactly(S_OK)
                } else if !m.up() {
                    Expect::Exactly(SHUTDOWN)
                } else {
                    m.resolve_outcome(id)
                };
                check(&format!("MFLockWorkQueue({id:#x})"), hr, &[S_OK, SHUTDOWN, INVALID_WQ], expected);
                if hr == S_OK && is_private(id) {
                    if let Some(rec) = m.queue_rec(id) {
                        rec.locks += 1;
                    }
                }
            }
            Op::UnlockQueue { queue, rtwq } => {
                let id = m.queue_id(queue);
                let hr = if rtwq { qs::RtwqUnlockWorkQueue(id) } else { qs::MFUnlockWorkQueue(id) };
                let expected = if !is_private(id) {
                    Expect::Exactly(S_OK)
                } else if !m.up() {
                    Expect::Exactly(SHUTDOWN)
                } else {
                    m.resolve_outcome(id)
                };
                check(&format!("MFUnlockWorkQueue({id:#x})"), hr, &[S_OK, SHUTDOWN, INVALID_WQ], expected);
                if hr == S_OK && is_private(id) {
                    if let Some(rec) = m.queue_rec(id) {
                        rec.locks -= 1;
                        if rec.locks < 0 {
                            // We took a lock that was not ours (a serial queue's).
                            rec.unsure = true;
                        }
                    }
                }
            }
            Op::LockShared { class, priority, task, null_out, rtwq } => {
                let units = class_units(class);
                let priority = i32::from(priority % 4);
                let mut task_value = task.map_or(0, u32::from);
                let task_ptr: *mut u32 = if task.is_some() { &mut task_value } else { null_mut() };
                let requested_task = task_value;
                let mut id = 0u32;
                let out: *mut u32 = if null_out { null_mut() } else { &mut id };
                let class_ptr = units.as_ref().map_or(std::ptr::null(), |u| u.as_ptr());
                let hr = if rtwq {
                    unsafe { qs::RtwqLockSharedWorkQueue(class_ptr, priority, task_ptr, out) }
                } else {
                    unsafe { qs::MFLockSharedWorkQueue(class_ptr, priority, task_ptr, out) }
                };
                let empty = units.as_ref().is_some_and(|u| u.len() == 1);
                let expected = if null_out {
                    Expect::Exactly(POINTER)
                } else if !m.up() {
                    Expect::Exactly(SHUTDOWN)
                } else if units.is_none() {
                    Expect::Exactly(POINTER)
                } else if empty && task.is_some() {
                    Expect::Exactly(INVALIDARG)
                } else {
                    // A new shared queue is allocated: the lock count matters.
                    Expect::one_of(if m.explicit_locks >= 0 { &[S_OK] } else { &[S_OK, SHUTDOWN] })
                };
                let call = format!("MFLockSharedWorkQueue({:?})", units.as_deref().map(String::from_utf16_lossy));
                check(&call, hr, &[S_OK, SHUTDOWN, POINTER, INVALIDARG, FAIL], expected);
                if hr == S_OK {
                    let units = units.unwrap();
                    self.shared_locked(units, id, priority, task.map(|_| (requested_task, task_value)));
                }
            }
            Op::NewCallback { params, flags, queue, stash_replies, chain } => {
                if m.callbacks.len() >= MAX_OBJECTS {
                    return;
                }
                let params_hr = match params % 5 {
                    0 | 1 => S_OK,
                    2 => NOTIMPL,
                    3 => S_FALSE,
                    _ => FAIL,
                };
                let config = CbConfig {
                    params_hr,
                    flags: flags_of(flags),
                    queue: m.queue_id(queue),
                    stash_replies,
                    chain: chain.map(|q| m.queue_id(q)),
                };
                let index = m.callbacks.len();
                trace!("  callback {index}: {config:?}");
                m.callbacks.push(Box::into_raw(Box::new(Cb {
                    vtbl: &CB_VTBL,
                    refs: AtomicI64::new(1),
                    index,
                    config,
                    invoked: AtomicU32::new(0),
                    untagged_invoked: AtomicU32::new(0),
                    untagged_owed: AtomicU32::new(0),
                    untagged_statuses: Mutex::new(Vec::new()),
                    untagged_begins: AtomicU32::new(0),
                    params_calls: AtomicU32::new(0),
                })));
            }
            Op::NewObject => {
                if m.objects.len() < MAX_OBJECTS {
                    m.objects.push(new_unk(None));
                }
            }
            Op::NewEvent { manual, initial, how } => {
                if m.handles.len() >= MAX_OBJECTS {
                    return;
                }
                let handle = match how % 4 {
                    0 => w32::CreateEventA(null_mut(), manual.into(), initial.into(), std::ptr::null()),
                    1 => w32::CreateEventW(null_mut(), manual.into(), initial.into(), std::ptr::null()),
                    2 => {
                        let flags = u32::from(manual) | (u32::from(initial) << 1);
                        w32::CreateEventExA(null_mut(), std::ptr::null(), flags, 0)
                    }
                    _ => {
                        let flags = u32::from(manual) | (u32::from(initial) << 1);
                        w32::CreateEventExW(null_mut(), std::ptr::null(), flags, 0x1F_0003)
                    }
                };
                if handle.is_null() {
                    panic!("oracle failure: CreateEvent returned NULL");
                }
                m.handles.push(HandleRec {
                    value: handle as usize,
                    closed: false,
                    maybe_set: initial,
                    owned: false,
                });
            }
            Op::SetEvent(sel) => {
                let (value, rec, open) = m.handle(sel);
                let ok = w32::SetEvent(value as *mut c_void);
                trace!("  SetEvent({value:#x}) -> {ok}");
                if ok != i32::from(open) {
                    panic!("oracle failure: SetEvent({value:#x}) returned {ok}, handle open: {open}");
                }
                if let (Some(rec), true) = (rec, open) {
                    m.handles[rec].maybe_set = true;
                }
            }
            Op::ResetEvent(sel) => {
                let (value, _, open) = m.handle(sel);
                let ok = w32::ResetEvent(value as *mut c_void);
                if ok != i32::from(open) {
                    panic!("oracle failure: ResetEvent({value:#x}) returned {ok}, handle open: {open}");
                }
            }
            Op::CloseHandle(sel) => {
                let (value, rec, open) = m.handle(sel);
                let ok = w32::CloseHandle(value as *mut c_void);
                if ok != i32::from(open) {
                    panic!("oracle failure: CloseHandle({value:#x}) returned {ok}, handle open: {open}");
                }
                if let (Some(rec), true) = (rec, open) {
                    m.handles[rec].closed = true;
                }
            }
            Op::WaitEvent(sel) => {
                let (value, _, open) = m.handle(sel);
                let got = w32::WaitForSingleObject(value as *mut c_void, 0);
                let allowed: &[u32] = if open {
                    &[w32::WAIT_OBJECT_0, w32::WAIT_TIMEOUT]
                } else {
                    &[w32::WAIT_FAILED]
                };
                if !allowed.contains(&got) {
                    panic!("oracle failure: WaitForSingleObject({value:#x}, 0) returned {got:#x}");
                }
            }
            Op::CreateResult { callback, object, event, null_out, rtwq } => {
                if m.results.len() >= MAX_OBJECTS {
                    return;
                }
                let callback = m.callback(callback);
                let object = m.object(object);
                let cb_ptr = callback.map_or(null_mut(), |i| m.callbacks[i] as *mut c_void);
                let object_ptr = object.map_or(null_mut(), |i| m.objects[i] as *mut c_void);
                let tag = new_unk(Some(Tag::new(TagKind::Result, callback)));
                let mut out = null_mut();
                let out_ptr: *mut *mut c_void = if null_out { null_mut() } else { &mut out };
                let hr = if rtwq {
                    unsafe { wk::RtwqCreateAsyncResult(object_ptr, cb_ptr, tag as *mut c_void, out_ptr) }
                } else {
                    unsafe { wk::MFCreateAsyncResult(object_ptr, cb_ptr, tag as *mut c_void, out_ptr) }
                };
                let expected = if null_out { POINTER } else { S_OK };
                check("MFCreateAsyncResult", hr, &[S_OK, POINTER], Expect::Exactly(expected));
                m.tags.push(tag);
                if hr != S_OK {
                    return;
                }
                let fields = out as *mut u8;
                // A new result's fields start zeroed, and pCallback is the callback.
                unsafe {
                    if *(fields.add(48) as *const i32) != S_OK
                        || *(fields.add(56) as *const usize) != 0
                        || result_callback_field(out) != cb_ptr
                    {
                        panic!("oracle failure: a new result's MFASYNCRESULT fields are not as created");
                    }
                }
                let event = event.and_then(|sel| {
                    let (value, rec, _) = m.handle(sel);
                    // A result owns the handle in its hEvent (closed on its final release).
                    unsafe { *(fields.add(56) as *mut usize) = value };
                    if let Some(rec) = rec {
                        m.handles[rec].owned = true;
                        m.handles[rec].maybe_set = true;
                    }
                    // Only an open handle of ours is an event; anything else
                    // names none (the result then has no event).
                    rec.filter(|&h| !m.handles[h].closed)
                });
                m.results.push(ResultRec {
                    ptr: out,
                    tag,
                    callback,
                    object,
                    event,
                    uses: 0,
                    waited: false,
                });
            }
            Op::Put { two, queue, priority, callback, state } => {
                let id = m.queue_id(queue);
                let callback = m.callback(callback);
                let cb_ptr = callback.map_or(null_mut(), |i| m.callbacks[i] as *mut c_void);
                let (state_ptr, tag) = match state {
                    StateSel::None => (null_mut(), None),
                    StateSel::Tag => {
                        let tag = m.new_tag(TagKind::Put, callback);
                        (tag as *mut c_void, Some(tag))
                    }
                    StateSel::Shared(i) => match m.object(Some(i)) {
                        Some(i) => (m.objects[i] as *mut c_void, None),
                        None => (null_mut(), None),
                    },
                };
                let priority = i32::from(priority);
                let hr = if two {
                    unsafe { wk::MFPutWorkItem2(id, priority, cb_ptr, state_ptr) }
                } else {
                    unsafe { wk::MFPutWorkItem(id, cb_ptr, state_ptr) }
                };
                let expected = if !m.up() {
                    Expect::Exactly(SHUTDOWN)
                } else {
                    match callback {
                        None => Expect::Exactly(INVALIDARG),
                        Some(i) => m.push_outcome(id, m.cb(i).config.effective().0),
                    }
                };
                check(
                    &format!("MFPutWorkItem({id:#x}, cb {callback:?})"),
                    hr,
                    &[S_OK, SHUTDOWN, INVALIDARG, INVALID_WQ],
                    expected,
                );
                if hr == S_OK {
                    match tag {
                        Some(tag) => {
                            tag_of(tag).owed.fetch_add(1, SeqCst);
                        }
                        None => {
                            m.cb(callback.unwrap()).untagged_owed.fetch_add(1, SeqCst);
                        }
                    }
                }
            }
            Op::PutResult { how, queue, priority, result } => {
                let id = m.queue_id(queue);
                let result = m.result(result);
                let ptr = result.map_or(null_mut(), |i| m.results[i].ptr);
                let priority = i32::from(priority);
                let (call, hr) = match how % 3 {
                    0 => ("MFPutWorkItemEx", unsafe { wk::MFPutWorkItemEx(id, ptr) }),
                    1 => ("MFPutWorkItemEx2", unsafe { wk::MFPutWorkItemEx2(id, priority, ptr) }),
                    _ => ("RtwqPutWorkItem", unsafe { wk::RtwqPutWorkItem(id, priority, ptr) }),
                };
                let expected = match result {
                    _ if !m.up() => Expect::Exactly(SHUTDOWN),
                    None => Expect::Exactly(INVALIDARG),
                    Some(i) => match (m.result_params(i), m.has_event(i)) {
                        (Some((flags, _)), _) => m.push_outcome(id, flags),
                        (None, true) => m.push_outcome(id, 0),
                        (None, false) => Expect::Exactly(INVALIDARG),
                    },
                };
                check(
                    &format!("{call}({id:#x}, result {result:?})"),
                    hr,
                    &[S_OK, SHUTDOWN, INVALIDARG, INVALID_WQ],
                    expected,
                );
                if hr == S_OK {
                    self.result_used(result.unwrap(), false);
                }
            }
            Op::Invoke { result, rtwq } => {
                let result = m.result(result);
                let ptr = result.map_or(null_mut(), |i| m.results[i].ptr);
                let hr = if rtwq {
                    unsafe { wk::RtwqInvokeCallback(ptr) }
                } else {
                    unsafe { wk::MFInvokeCallback(ptr) }
                };
                let expected = match result {
                    _ if !m.up() => Expect::Exactly(SHUTDOWN),
                    None => Expect::Exactly(INVALIDARG),
                    Some(i) => match (m.result_params(i), m.has_event(i)) {
                        (Some((flags, queue)), _) => m.push_outcome(queue, flags),
                        (None, true) => m.push_outcome(1, 0),
                        (None, false) => Expect::Exactly(INVALIDARG),
                    },
                };
                check(
                    &format!("MFInvokeCallback(result {result:?})"),
                    hr,
                    &[S_OK, SHUTDOWN, INVALIDARG, INVALID_WQ],
                    expected,
                );
                if hr == S_OK {
                    self.result_used(result.unwrap(), false);
                }
            }
            Op::Schedule { callback, tagged, timeout, null_key } => {
                let callback = m.callback(callback);
                let cb_ptr = callback.map_or(null_mut(), |i| m.callbacks[i] as *mut c_void);
                let tag = tagged.then(|| m.new_tag(TagKind::Schedule, callback));
                let state = tag.map_or(null_mut(), |t| t as *mut c_void);
                let (value, far) = timeout_value(timeout);
                let mut key = 0u64;
                let key_ptr: *mut u64 = if null_key { null_mut() } else { &mut key };
                let hr = unsafe { wk::MFScheduleWorkItem(cb_ptr, state, value, key_ptr) };
                let expected = if !m.up() {
                    SHUTDOWN
                } else if callback.is_none() {
                    INVALIDARG
                } else if m.completion_refused(callback) {
                    INVALID_WQ
                } else {
                    S_OK
                };
                check(
                    &format!("MFScheduleWorkItem(cb {callback:?}, {value})"),
                    hr,
                    &[S_OK, SHUTDOWN, INVALIDARG, INVALID_WQ],
                    Expect::Exactly(expected),
                );
                if hr == S_OK {
                    let tag = match tag {
                        Some(tag) => tag,
                        // No state: the item is accounted on its callback, with
                        // a tag of the fuzzer's own that the platform never sees.
                        None => {
                            let tag = m.new_tag(TagKind::Schedule, callback);
                            m.stateless.push(tag);
                            tag
                        }
                    };
                    tag_of(tag).scheduled.fetch_add(1, SeqCst);
                    self.new_key(key, null_key, KeyKind::Scheduled { far }, tag);
                }
            }
            Op::ScheduleResult { result, timeout, null_key, rtwq } => {
                let result = m.result(result);
                let ptr = result.map_or(null_mut(), |i| m.results[i].ptr);
                let (value, far) = timeout_value(timeout);
                let mut key = 0u64;
                let key_ptr: *mut u64 = if null_key { null_mut() } else { &mut key };
                let hr = if rtwq {
                    unsafe { wk::RtwqScheduleWorkItem(ptr, value, key_ptr) }
                } else {
                    unsafe { wk::MFScheduleWorkItemEx(ptr, value, key_ptr) }
                };
                let expected = match result {
                    _ if !m.up() => SHUTDOWN,
                    None => INVALIDARG,
                    Some(i) if m.results[i].callback.is_none() && !m.has_event(i) => {
                        INVALIDARG
                    }
                    Some(i) if m.completion_refused(m.results[i].callback) => INVALID_WQ,
                    Some(_) => S_OK,
                };
                check(
                    &format!("MFScheduleWorkItemEx(result {result:?}, {value})"),
                    hr,
                    &[S_OK, SHUTDOWN, INVALIDARG, INVALID_WQ],
                    Expect::Exactly(expected),
                );
                if hr == S_OK {
                    let i = result.unwrap();
                    let tag = m.results[i].tag;
                    tag_of(tag).scheduled.fetch_add(1, SeqCst);
                    m.results[i].uses += 1;
                    self.new_key(key, null_key, KeyKind::Scheduled { far }, tag);
                }
            }
            Op::Cancel { key, rtwq } => self.cancel(key, rtwq),
            Op::PutWaiting { event, priority, result, null_key, rtwq } => {
                let (value, handle_rec, open) = m.handle(event);
                let result = m.result(result);
                let ptr = result.map_or(null_mut(), |i| m.results[i].ptr);
                let mut key = 0u64;
                let key_ptr: *mut u64 = if null_key { null_mut() } else { &mut key };
                let priority = i32::from(priority);
                let hr = if rtwq {
                    unsafe { wk::RtwqPutWaitingWorkItem(value as *mut c_void, priority, ptr, key_ptr) }
                } else {
                    unsafe { wk::MFPutWaitingWorkItem(value as *mut c_void, priority, ptr, key_ptr) }
                };
                let expected = if !m.up() {
                    SHUTDOWN
                } else if value != 0 && !open {
                    HANDLE_ERR
                } else {
                    match result {
                        None => INVALIDARG,
                        Some(i) => match (m.result_params(i), m.has_event(i)) {
                            (Some((_, queue)), _) if [2, 3, 4, 7].contains(&queue) => INVALID_WQ,
                            (Some((flags, queue)), _)
                                if needs_fast_io(flags) && (is_private(queue) || !fast_io_allowed(queue)) =>
                            {
                                INVALID_WQ
                            }
                            (Some(_), _) | (None, true) => S_OK,
                            (None, false) => INVALIDARG,
                        },
                    }
                };
                check(
                    &format!("MFPutWaitingWorkItem({value:#x}, result {result:?})"),
                    hr,
                    &[S_OK, SHUTDOWN, HANDLE_ERR, INVALIDARG, INVALID_WQ],
                    Expect::Exactly(expected),
                );
                if hr == S_OK {
                    let i = result.unwrap();
                    let tag = m.results[i].tag;
                    let event = if value == 0 { None } else { handle_rec };
                    self.result_used(i, true);
                    self.new_key(key, null_key, KeyKind::Waiting { event }, tag);
                }
            }
            Op::AddPeriodic { context, null_fn, null_key, rtwq } => {
                let context = m.object(context);
                let ctx_ptr = context.map_or(null_mut(), |i| m.objects[i] as *mut c_void);
                let function: wk::MFPERIODICCALLBACK = if null_fn { None } else { Some(periodic_tick) };
                let mut key = 0u32;
                let key_ptr: *mut u32 = if null_key { null_mut() } else { &mut key };
                let hr = if rtwq {
                    unsafe { wk::RtwqAddPeriodicCallback(function, ctx_ptr, key_ptr) }
                } else {
                    unsafe { wk::MFAddPeriodicCallback(function, ctx_ptr, key_ptr) }
                };
                let expected = if null_fn {
                    if m.up() { INVALIDARG } else { SHUTDOWN }
                } else if !m.up() {
                    SHUTDOWN
                } else {
                    S_OK
                };
                // A NULL function is refused before the platform is asked.
                let documented: &[i32] = &[S_OK, SHUTDOWN, INVALIDARG];
                let model = if null_fn { Expect::one_of(&[INVALIDARG, SHUTDOWN]) } else { Expect::Exactly(expected) };
                check("MFAddPeriodicCallback", hr, documented, model);
                if hr == S_OK && !null_key {
                    if key == 0 {
                        panic!("oracle failure: MFAddPeriodicCallback gave key 0 (a key is never 0)");
                    }
                    m.periodic.push(PeriodicRec { key, epoch: m.epoch, removed: false });
                }
            }
            Op::RemovePeriodic { key, garbage, rtwq } => {
                let rec = key.and_then(|i| (!m.periodic.is_empty()).then(|| i as usize % m.periodic.len()));
                let value = rec.map_or(garbage, |i| m.periodic[i].key);
                let hr = if rtwq {
                    wk::RtwqRemovePeriodicCallback(value)
                } else {
                    wk::MFRemovePeriodicCallback(value)
                };
                let mine = m.periodic.iter().position(|p| p.key == value);
                let expected = if !m.up() {
                    Expect::Exactly(SHUTDOWN)
                } else {
                    match mine {
                        Some(i) if m.periodic[i].epoch == m.epoch && !m.periodic[i].removed => Expect::Exactly(S_OK),
                        Some(_) => Expect::Exactly(NOT_FOUND),
                        // A made-up key: periodic keys come from a process-wide counter.
                        None => Expect::Exactly(NOT_FOUND),
                    }
                };
                check(&format!("MFRemovePeriodicCallback({value})"), hr, &[S_OK, SHUTDOWN, NOT_FOUND], expected);
                if hr == S_OK {
                    if let Some(i) = mine {
                        m.periodic[i].removed = true;
                    }
                }
            }
            Op::BeginRegister { how, queue, class, task, priority, callback, state } => {
                let id = m.queue_id(queue);
                let units = class_units(class);
                let class_ptr = units.as_ref().map_or(std::ptr::null(), |u| u.as_ptr());
                let callback = m.callback(callback);
                let cb_ptr = callback.map_or(null_mut(), |i| m.callbacks[i] as *mut c_void);
                let task = u32::from(task % 4) * 1000;
                let priority = i32::from(priority % 4);
                let tag = m.new_tag(TagKind::Begin { register: true, task }, callback);
                // A reply-mode callback must see a tag: a Begin result looks
                // like a reply result otherwise.
                let state = state || callback.is_some_and(|i| m.cb(i).config.effective().0 & FLAG_REPLY != 0);
                let state_ptr = if state { tag as *mut c_void } else { null_mut() };
                let (call, hr, priority) = match how % 3 {
                    0 => ("MFBeginRegisterWorkQueueWithMMCSS", unsafe {
                        mm::MFBeginRegisterWorkQueueWithMMCSS(id, class_ptr, task, cb_ptr, state_ptr)
                    }, 0),
                    1 => ("MFBeginRegisterWorkQueueWithMMCSSEx", unsafe {
                        mm::MFBeginRegisterWorkQueueWithMMCSSEx(id, class_ptr, task, priority, cb_ptr, state_ptr)
                    }, priority),
                    _ => ("RtwqBeginRegisterWorkQueueWithMMCSS", unsafe {
                        mm::RtwqBeginRegisterWorkQueueWithMMCSS(id, class_ptr, task, priority, cb_ptr, state_ptr)
                    }, priority),
                };
                let expected = if !m.up() {
                    Expect::Exactly(SHUTDOWN)
                } else if units.as_ref().is_none_or(|u| u.len() == 1) || callback.is_none() || !(-2..=2).contains(&priority) {
                    Expect::Exactly(INVALIDARG)
                } else if m.completion_refused(callback) {
                    Expect::Exactly(INVALID_WQ)
                } else if id == u32::MAX {
                    Expect::Exactly(S_OK)
                } else {
                    m.resolve_outcome(id)
                };
                check(&format!("{call}({id:#x})"), hr, &[S_OK, SHUTDOWN, INVALIDARG, INVALID_WQ], expected);
                self.begun(hr, tag, state, callback, id);
            }
            Op::BeginUnregister { rtwq, queue, callback, state } => {
                let id = m.queue_id(queue);
                let callback = m.callback(callback);
                let cb_ptr = callback.map_or(null_mut(), |i| m.callbacks[i] as *mut c_void);
                let tag = m.new_tag(TagKind::Begin { register: false, task: 0 }, callback);
                let state = state || callback.is_some_and(|i| m.cb(i).config.effective().0 & FLAG_REPLY != 0);
                let state_ptr = if state { tag as *mut c_void } else { null_mut() };
                let hr = if rtwq {
                    unsafe { mm::RtwqBeginUnregisterWorkQueueWithMMCSS(id, cb_ptr, state_ptr) }
                } else {
                    unsafe { mm::MFBeginUnregisterWorkQueueWithMMCSS(id, cb_ptr, state_ptr) }
                };
                let expected = if !m.up() {
                    Expect::Exactly(SHUTDOWN)
                } else if callback.is_none() {
                    Expect::Exactly(INVALIDARG)
                } else if m.completion_refused(callback) {
                    Expect::Exactly(INVALID_WQ)
                } else if id == u32::MAX {
                    Expect::Exactly(S_OK)
                } else {
                    m.resolve_outcome(id)
                };
                check(&format!("MFBeginUnregisterWorkQueueWithMMCSS({id:#x})"), hr, &[S_OK, SHUTDOWN, INVALIDARG, INVALID_WQ], expected);
                self.begun(hr, tag, state, callback, id);
            }
            Op::RegisterPlatform { class, task, priority, null_task, rtwq } => {
                let units = class_units(class);
                let class_ptr = units.as_ref().map_or(std::ptr::null(), |u| u.as_ptr());
                let requested = u32::from(task % 4) * 1000;
                let mut task_value = requested;
                let task_ptr: *mut u32 = if null_task { null_mut() } else { &mut task_value };
                let priority = i32::from(priority % 4);
                let settled = m.begins_settled();
                let hr = if rtwq {
                    unsafe { mm::RtwqRegisterPlatformWithMMCSS(class_ptr, task_ptr, priority) }
                } else {
                    unsafe { mm::MFRegisterPlatformWithMMCSS(class_ptr, task_ptr, priority) }
                };
                let documented = &[S_OK, SHUTDOWN, INVALIDARG, POINTER];
                let expected = if units.is_none() {
                    Expect::Exactly(if m.up() { INVALIDARG } else { SHUTDOWN })
                } else if null_task {
                    Expect::Exactly(POINTER)
                } else if !m.up() {
                    Expect::Exactly(SHUTDOWN)
                } else if units.as_ref().is_some_and(|u| u.len() == 1) || !(-2..=2).contains(&priority) {
                    Expect::Exactly(INVALIDARG)
                } else {
                    Expect::Exactly(S_OK)
                };
                check("MFRegisterPlatformWithMMCSS", hr, documented, expected);
                if hr == S_OK {
                    if task_value == 0 || (requested != 0 && task_value != requested) {
                        panic!("oracle failure: MFRegisterPlatformWithMMCSS gave task {task_value} for {requested}");
                    }
                    let value = Mmcss { class: units.unwrap(), task: Some(task_value), priority };
                    self.sync_registration(&PLATFORM_KEYS, Some(value), settled);
                } else if !null_task && task_value != requested {
                    panic!("oracle failure: MFRegisterPlatformWithMMCSS wrote the task id on failure");
                }
            }
            Op::UnregisterPlatform { rtwq } => {
                let settled = m.begins_settled();
                let hr = if rtwq {
                    mm::RtwqUnregisterPlatformFromMMCSS()
                } else {
                    mm::MFUnregisterPlatformFromMMCSS()
                };
                let expected = if m.up() { S_OK } else { SHUTDOWN };
                check("MFUnregisterPlatformFromMMCSS", hr, &[S_OK, SHUTDOWN], Expect::Exactly(expected));
                if hr == S_OK {
                    self.sync_registration(&PLATFORM_KEYS, None, settled);
                }
            }
            Op::GetClass { queue, len, null_buffer, null_len, rtwq } => self.get_class(queue, len, null_buffer, null_len, rtwq),
            Op::GetTaskId { queue, null, rtwq } => {
                let id = m.queue_id(queue);
                let mut task = 0xDEAD_BEEFu32;
                let out: *mut u32 = if null { null_mut() } else { &mut task };
                let hr = if rtwq {
                    unsafe { mm::RtwqGetWorkQueueMMCSSTaskId(id, out) }
                } else {
                    unsafe { mm::MFGetWorkQueueMMCSSTaskId(id, out) }
                };
                let expected = self.getter_outcome(id, null);
                check(&format!("MFGetWorkQueueMMCSSTaskId({id:#x})"), hr, &[S_OK, SHUTDOWN, INVALID_WQ, POINTER], expected);
                if hr == S_OK {
                    if let Some(known) = self.m.expected_mmcss(id) {
                        if known.task.is_some_and(|known| known != task) {
                            panic!("oracle failure: MFGetWorkQueueMMCSSTaskId({id:#x}) = {task}, registered {:?}", known.task);
                        }
                    }
                }
            }
            Op::GetPriority { queue, null, rtwq } => {
                let id = m.queue_id(queue);
                let mut priority = 0x7777_7777i32;
                let out: *mut i32 = if null { null_mut() } else { &mut priority };
                let hr = if rtwq {
                    unsafe { mm::RtwqGetWorkQueueMMCSSPriority(id, out) }
                } else {
                    unsafe { mm::MFGetWorkQueueMMCSSPriority(id, out) }
                };
                let expected = self.getter_outcome(id, null);
                check(&format!("MFGetWorkQueueMMCSSPriority({id:#x})"), hr, &[S_OK, SHUTDOWN, INVALID_WQ, POINTER], expected);
                if hr == S_OK {
                    if let Some(known) = self.m.expected_mmcss(id) {
                        if known.priority != priority {
                            panic!("oracle failure: MFGetWorkQueueMMCSSPriority({id:#x}) = {priority}, registered {}", known.priority);
                        }
                    }
                }
            }
            Op::Reply { index, how } => {
                let reply = {
                    let stash = STASH.lock().unwrap();
                    if stash.is_empty() {
                        return;
                    }
                    stash[index as usize % stash.len()]
                } as *mut c_void;
                // The stash keeps its reference until the end of the input.
                let (call, hr) = match how % 3 {
                    0 => ("MFInvokeCallback(reply)", unsafe { wk::MFInvokeCallback(reply) }),
                    1 => ("RtwqInvokeCallback(reply)", unsafe { wk::RtwqInvokeCallback(reply) }),
                    _ => ("MFPutWorkItemEx(MULTITHREADED, reply)", unsafe { wk::MFPutWorkItemEx(5, reply) }),
                };
                let expected = if m.up() { S_OK } else { SHUTDOWN };
                check(call, hr, &[S_OK, SHUTDOWN], Expect::Exactly(expected));
            }
            Op::Periodicity { null } => {
                let mut ms = 0u32;
                let out: *mut u32 = if null { null_mut() } else { &mut ms };
                let hr = unsafe { wk::MFGetTimerPeriodicity(out) };
                check("MFGetTimerPeriodicity", hr, &[S_OK, POINTER], Expect::Exactly(if null { POINTER } else { S_OK }));
                if !null && ms != 10 {
                    panic!("oracle failure: MFGetTimerPeriodicity = {ms}, documented as 10 ms");
                }
            }
            Op::Sleep(n) => std::thread::sleep(Duration::from_micros(u64::from(n) * 4)),
        }
    }

    fn new_queue(&mut self, id: u32, _serial: bool) {
        if !is_private(id) || (id & 0xFFFF) == 0 {
            panic!("oracle failure: an allocated queue id {id:#x} is not a private id");
        }
        if self.m.live(id) != Live::No {
            panic!("oracle failure: a new queue got the id {id:#x} of a queue still alive");
        }
        if self.m.queues.iter().any(|q| q.id == id) {
            panic!("oracle failure: the id {id:#x} was given twice (invariant 3: one queue ever)");
        }
        self.m.queues.push(QueueRec {
            id,
            epoch: self.m.epoch,
            locks: 1,

            targeted: false,
            unsure: false,
            target: None,
        });
        // A new queue starts unregistered.
        self.m.set_mmcss(&[id], Reg::Known(Mmcss::none()));
    }

    /// `MFLockSharedWorkQueue` returned `S_OK` with `id` for `class`: one
    /// shared queue per distinct class name (the exact UTF-16 given).
    fn shared_locked(&mut self, class: Vec<u16>, id: u32, priority: i32, task: Option<(u32, u32)>) {
        let m = &mut self.m;
        // The live shared queue of this class, if the model knows one.
        let same = m
            .shared
            .iter()
            .rev()
            .map(|&(ref name, q)| (name, q))
            .find(|&(name, q)| *name == class && m.queues[q].epoch == m.epoch && m.live(m.queues[q].id) != Live::No);
        if let Some((_, q)) = same {
            let known = m.queues[q].id;
            if known == id {
                m.queues[q].locks += 1;
                return;
            }
            if m.live(known) == Live::Yes {
                panic!(
                    "oracle failure: MFLockSharedWorkQueue({:x?}) gave {id:#x} while the queue of that class, \
                     {known:#x}, is alive",
                    class
                );
            }
        }
        // Not this class's queue: it must not be another class's live one.
        if let Some((other, _)) = m
            .shared
            .iter()
            .find(|&&(ref name, q)| m.queues[q].id == id && *name != class && m.live(id) != Live::No)
            .map(|(name, q)| (name.clone(), *q))
        {
            {
                panic!(
                    "oracle failure: MFLockSharedWorkQueue({class:x?}) gave {id:#x}, the queue of class {other:x?} \
                     (one shared queue per distinct class name, kept as the exact UTF-16 given)"
                );
            }
        }
        let epoch = m.epoch;
        if let Some(rec) = m.queue_rec(id) {
            // A queue the model thought gone (or unsure about) is this class's.
            if rec.epoch == epoch {
                rec.locks += 1;
                return;
            }
        }
        self.new_queue(id, false);
        let q = self.m.queues.len() - 1;
        self.m.shared.push((class.clone(), q));
        if class.len() > 1 {
            if let Some((requested, granted)) = task {
                if granted == 0 || (requested != 0 && granted != requested) {
                    panic!("oracle failure: MFLockSharedWorkQueue gave task {granted} for {requested}");
                }
            }
            let value = Mmcss {
                class,
                task: task.map(|(_, granted)| granted),
                priority: priority.clamp(-2, 2),
            };
            self.m.set_mmcss(&[id], Reg::Known(value));
        }
    }

    /// A synchronous registration change of `keys`: known from now on, unless
    /// a Begin call may still land after it.
    /// `settled`: no Begin call could still land, checked before the call.
    fn sync_registration(&mut self, keys: &[u32], value: Option<Mmcss>, settled: bool) {
        let value = match value {
            Some(value) if settled => Reg::Known(value),
            None if settled => Reg::Known(Mmcss::none()),
            _ => Reg::Unknown,
        };
        self.m.set_mmcss(keys, value);
    }

    fn begun(&mut self, hr: i32, tag: *mut Unk, state: bool, callback: Option<usize>, id: u32) {
        if hr != S_OK {
            return;
        }
        // The operation's completion is owed to the callback (exactly once).
        if state {
            tag_of(tag).owed.fetch_add(1, SeqCst);
            self.m.begins.push(tag);
        } else {
            self.m.cb(callback.unwrap()).untagged_owed.fetch_add(1, SeqCst);
            self.m.cb(callback.unwrap()).untagged_begins.fetch_add(1, SeqCst);
            // A completion the model cannot see: never settled in this epoch.
            self.m.untracked_begin = true;
        }
        self.m.set_mmcss(&Model::mmcss_keys(id), Reg::Unknown);
    }

    fn getter_outcome(&self, id: u32, null_out: bool) -> Expect {
        if null_out {
            Expect::Exactly(POINTER)
        } else if !self.m.up() {
            Expect::Exactly(SHUTDOWN)
        } else {
            self.m.resolve_outcome(id)
        }
    }

    fn get_class(&mut self, queue: QSel, len: LenSel, null_buffer: bool, null_len: bool, rtwq: bool) {
        let id = self.m.queue_id(queue);
        let known = self.m.expected_mmcss(id);
        let needed = known.as_ref().map_or(1, |k| k.class.len());
        let size = match len {
            LenSel::Exact => needed,
            LenSel::Short => needed.saturating_sub(1),
            LenSel::Len(n) => usize::from(n % 80),
        };
        const SENTINEL: u16 = 0xA5A5;
        let mut buffer = vec![SENTINEL; size.max(1)];
        let buffer_ptr = if null_buffer { null_mut() } else { buffer.as_mut_ptr() };
        let mut cch = size as u32;
        let cch_ptr: *mut u32 = if null_len { null_mut() } else { &mut cch };
        let hr = if rtwq {
            unsafe { mm::RtwqGetWorkQueueMMCSSClass(id, buffer_ptr, cch_ptr) }
        } else {
            unsafe { mm::MFGetWorkQueueMMCSSClass(id, buffer_ptr, cch_ptr) }
        };
        let call = format!("MFGetWorkQueueMMCSSClass({id:#x}, {size})");
        let documented = &[S_OK, SHUTDOWN, INVALID_WQ, POINTER, BUFFERTOOSMALL];
        let expected = if null_len {
            Expect::Exactly(POINTER)
        } else if !self.m.up() {
            Expect::Exactly(SHUTDOWN)
        } else {
            match (self.m.resolve_outcome(id), &known) {
                (Expect::Exactly(S_OK), Some(_)) if null_buffer || size < needed => Expect::Exactly(BUFFERTOOSMALL),
                (Expect::Exactly(S_OK), Some(_)) => Expect::Exactly(S_OK),
                (Expect::Exactly(INVALID_WQ), _) => Expect::Exactly(INVALID_WQ),
                _ => Expect::one_of(&[S_OK, INVALID_WQ, BUFFERTOOSMALL]),
            }
        };
        check(&call, hr, documented, expected);
        match hr {
            S_OK | BUFFERTOOSMALL => {
                let reported = cch as usize;
                if reported == 0 {
                    panic!("oracle failure: {call} reported a size of 0 (the NUL counts)");
                }
                if hr == S_OK {
                    if null_buffer || reported > size || buffer[reported - 1] != 0 {
                        panic!("oracle failure: {call} returned S_OK with size {reported} for a buffer of {size}");
                    }
                } else if !null_buffer && reported <= size {
                    panic!("oracle failure: {call}: MF_E_BUFFERTOOSMALL but {reported} fits in {size}");
                } else if !null_buffer && buffer.iter().any(|&unit| unit != SENTINEL) && size > 0 {
                    panic!("oracle failure: {call}: MF_E_BUFFERTOOSMALL but the buffer was written");
                }
                if let Some(known) = known {
                    let got_len_ok = reported == known.class.len();
                    let got_text_ok = hr != S_OK || buffer[..reported] == known.class[..];
                    if !(got_len_ok && got_text_ok) {
                        panic!(
                            "oracle failure: {call}: the class is {:x?} (size {reported}), registered {:x?} \
                             (the exact UTF-16 given must come back)",
                            if hr == S_OK { &buffer[..reported] } else { &[][..] },
                            known.class
                        );
                    }
                }
            }
            _ => {
                if !null_len && cch as usize != size {
                    panic!("oracle failure: {call} failed with {} and changed *pcchClass", name(hr));
                }
            }
        }
    }

    fn result_used(&mut self, index: usize, wait: bool) {
        let rec = &mut self.m.results[index];
        rec.uses += 1;
        if wait {
            rec.waited = true;
        }
        let tag = tag_of(rec.tag);
        if wait {
            tag.waits.fetch_add(1, SeqCst);
        }
        if rec.callback.is_some() {
            tag.owed.fetch_add(1, SeqCst);
        }
    }

    fn new_key(&mut self, key: u64, null_key: bool, kind: KeyKind, tag: *mut Unk) {
        if null_key {
            return;
        }
        let expected_high = match kind {
            KeyKind::Scheduled { .. } => 0x8000_0000u64,
            KeyKind::Waiting { .. } => 0x8200_0000,
        };
        if key >> 32 != expected_high || key as u32 == 0 {
            panic!("oracle failure: a work item key {key:#x} does not have the documented form");
        }
        if self.m.keys.iter().any(|k| k.key == key) {
            panic!("oracle failure: the key {key:#x} was issued twice");
        }
        self.m.keys.push(KeyRec {
            key,
            epoch: self.m.epoch,
            kind,
            tag,
            done: false,
        });
    }

    fn cancel(&mut self, sel: KSel, rtwq: bool) {
        let m = &mut self.m;
        let key = match sel {
            KSel::Mine(i) if !m.keys.is_empty() => m.keys[i as usize % m.keys.len()].key,
            KSel::Mine(_) => 0,
            KSel::Garbage(value) => value,
            KSel::SchedLike(n) => 0x8000_0000u64 << 32 | u64::from(n | 0x4000_0000),
            KSel::WaitLike(n) => 0x8200_0000u64 << 32 | u64::from(n | 0x4000_0000),
        };
        let hr = if rtwq { wk::RtwqCancelWorkItem(key) } else { wk::MFCancelWorkItem(key) };
        let rec = m.keys.iter().position(|k| k.key == key);
        let expected = if !m.up() {
            Expect::Exactly(SHUTDOWN)
        } else {
            match rec {
                None => Expect::Exactly(NOT_FOUND),
                Some(i) => {
                    let k = &m.keys[i];
                    if k.epoch != m.epoch || k.done {
                        Expect::Exactly(NOT_FOUND)
                    } else {
                        let pending = match k.kind {
                            KeyKind::Scheduled { far } => far,
                            KeyKind::Waiting { event: None } => true,
                            KeyKind::Waiting { event: Some(h) } => !m.handles[h].maybe_set,
                        };
                        if pending {
                            Expect::Exactly(S_OK)
                        } else {
                            Expect::one_of(&[S_OK, NOT_FOUND])
                        }
                    }
                }
            }
        };
        check(&format!("MFCancelWorkItem({key:#x})"), hr, &[S_OK, SHUTDOWN, NOT_FOUND], expected);
        if let Some(i) = rec {
            if hr == S_OK {
                let k = &mut m.keys[i];
                k.done = true;
                let tag = tag_of(k.tag);
                match k.kind {
                    KeyKind::Scheduled { .. } => {
                        tag.cancelled_timers.fetch_add(1, SeqCst);
                    }
                    KeyKind::Waiting { .. } => {
                        tag.cancelled_waits.fetch_add(1, SeqCst);
                    }
                }
            } else if hr == NOT_FOUND && m.up() {
                m.keys[i].done = true;
            }
        }
    }

    fn shutdown(&mut self, rtwq: bool) {
        let timeout = mfwq::shutdown_timeout();
        let last = self.m.started == 1;
        let start = Instant::now();
        let hr = if rtwq { lc::RtwqShutdown() } else { lc::MFShutdown() };
        let took = start.elapsed();
        check("MFShutdown", hr, &[S_OK], Expect::Exactly(S_OK));
        let bound = timeout + mfwq::SHUTDOWN_GRACE + Duration::from_millis(400);
        if took > bound {
            panic!("oracle failure: MFShutdown took {took:?}, more than the timeout {timeout:?} plus the grace");
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

    /// The end of the input: a full shutdown, then the oracle.
    fn finish(&mut self) {
        while self.m.started > 0 {
            self.shutdown(false);
        }
        check("MFShutdown (not started)", lc::MFShutdown(), &[S_OK], Expect::Exactly(S_OK));
        if mfwq::is_started() {
            panic!("oracle failure: the platform is still started after the last shutdown");
        }
        // Judge only a platform at rest: a thread the shutdown left behind at
        // its deadline may still carry an item to its `Invoke`, and until it
        // is done the item's result holds its callback and platform lock
        // exactly as a leaked timer's result does (see quiescence.rs). Once
        // no platform thread is left, nothing can change the counts.
        if let Err(running) = quiescence::wait_for_platform_threads(QUIESCE) {
            panic!(
                "oracle failure: platform threads still running {QUIESCE:?} after the last shutdown: {}",
                running.join(", ")
            );
        }
        // Nothing can reach a reply result any more (a worker left behind
        // may have stashed one until it ended): give the stash back.
        for reply in std::mem::take(&mut *STASH.lock().unwrap()) {
            unsafe { com_release(reply as *mut c_void) };
        }
        let chain_tags: Vec<*mut Unk> = CHAIN_TAGS
            .lock()
            .unwrap()
            .drain(..)
            .map(|t| t as *mut Unk)
            .collect();
        self.m.tags.extend(chain_tags);

        let (mut report, leaked) = self.settled();
        self.m.leaked_results = leaked;
        report.extend(std::mem::take(&mut *FAILURES.lock().unwrap()));
        if !report.is_empty() {
            panic!("oracle failure (after the last shutdown):\n  {}", report.join("\n  "));
        }
        self.release_everything();
    }

    /// Every accounting rule that must hold once the platform is down and at
    /// rest (no thread left to move anything): the violations (empty when
    /// right) and the number of results leaked by pending timers.
    fn settled(&self) -> (Vec<String>, u64) {
        let m = &self.m;
        let mut bad = Vec::new();
        let mut leaked_results = 0u64;
        // References to each callback and object held by leaked results.
        let mut cb_leaks = vec![0i64; m.callbacks.len()];
        let mut object_leaks = vec![0i64; m.objects.len()];

        // The input's own results: invocations + leaked schedules = owed.
        for (index, rec) in m.results.iter().enumerate() {
            let tag = tag_of(rec.tag);
            let refs = i64::from(unsafe { com_refs(rec.ptr) });
            let leaked = refs - 1;
            let scheduled =
                i64::from(tag.scheduled.load(SeqCst)) - i64::from(tag.cancelled_timers.load(SeqCst));
            let invoked = i64::from(tag.invoked.load(SeqCst));
            let what = format!("result {index} (callback {:?})", rec.callback);
            if leaked < 0 || leaked > scheduled {
                bad.push(format!(
                    "{what}: {refs} references at the end; only the input's own and one per scheduled \
                     item pending at the last shutdown ({scheduled} at most) may remain"
                ));
                continue;
            }
            if rec.callback.is_some() {
                let owed = i64::from(tag.owed.load(SeqCst)) + scheduled;
                let fastio = self.fastio_excuse(rec.callback) && invoked + leaked <= owed;
                let late = self.late_timer_excuse() && invoked + leaked < owed && invoked + leaked >= owed - scheduled;
                if invoked + leaked != owed && !fastio && !late {
                    bad.push(format!(
                        "{what}: invoked {invoked} times, {leaked} schedules leaked, {owed} owed (puts, \
                         invokes and waits {}, schedules {}, cancelled schedules {}, waits {}, cancelled waits {})",
                        tag.owed.load(SeqCst),
                        tag.scheduled.load(SeqCst),
                        tag.cancelled_timers.load(SeqCst),
                        tag.waits.load(SeqCst),
                        tag.cancelled_waits.load(SeqCst),
                    ));
                }
            } else if invoked != 0 {
                bad.push(format!("{what}: no callback, yet invoked {invoked} times"));
            }
            // The input still holds every result: each holds its callback,
            // object and tag (its state) once.
            if let Some(cb) = rec.callback {
                cb_leaks[cb] += 1;
            }
            if let Some(object) = rec.object {
                object_leaks[object] += 1;
            }
            if refs_of_unk(rec.tag) != 2 {
                bad.push(format!(
                    "{what}: its state has {} references while the result is alive (expected 2)",
                    refs_of_unk(rec.tag)
                ));
            }
            if leaked > 0 {
                leaked_results += 1;
            }
            bad.extend(self.status_rules(&what, rec, tag));
        }

        // Items on the platform's own results (puts, schedules, Begins, chains).
        for &unk in &m.tags {
            let tag = tag_of(unk);
            if tag.kind == TagKind::Result || m.stateless.contains(&unk) {
                continue;
            }
            let id = unsafe { &*unk }.id;
            let refs = refs_of_unk(unk);
            let invoked = i64::from(tag.invoked.load(SeqCst));
            let owed = i64::from(tag.owed.load(SeqCst));
            if tag.kind == TagKind::Schedule {
                let live =
                    i64::from(tag.scheduled.load(SeqCst)) - i64::from(tag.cancelled_timers.load(SeqCst));
                let leaked = refs - 1;
                let fastio = self.fastio_excuse(tag.callback) && leaked == 0 && invoked <= live;
                let late = self.late_timer_excuse() && leaked >= 0 && invoked + leaked <= live;
                if (leaked < 0 || leaked > live || invoked + leaked != live) && !fastio && !late {
                    bad.push(format!(
                        "scheduled item (tag {id}, callback {:?}): invoked {invoked} times, {refs} references \
                         at the end (scheduled {}, cancelled {})",
                        tag.callback,
                        tag.scheduled.load(SeqCst),
                        tag.cancelled_timers.load(SeqCst)
                    ));
                } else if leaked == 1 {
                    leaked_results += 1;
                    if let Some(cb) = tag.callback {
                        cb_leaks[cb] += 1;
                    }
                }
            } else if invoked != owed || refs != 1 {
                let fastio = self.fastio_excuse(tag.callback) && invoked == 0 && refs == 1;
                if !fastio {
                    bad.push(format!(
                        "{:?} item (tag {id}, callback {:?}): invoked {invoked} times, owed {owed}, {refs} \
                         references at the end (expected 1)",
                        tag.kind, tag.callback
                    ));
                }
            }
            for status in tag.statuses.lock().unwrap().iter().copied() {
                let ok = match tag.kind {
                    TagKind::Begin { .. } => [S_OK, INVALID_WQ, SHUTDOWN].contains(&status),
                    _ => status == S_OK || (status == SHUTDOWN && m.deadline_hit),
                };
                if !ok {
                    bad.push(format!("{:?} item (tag {id}) invoked with status {}", tag.kind, name(status)));
                }
            }
        }

        // Per callback: untagged invocations and stateless timers balance
        // with the references the callback still has.
        for (index, &cb_ptr) in m.callbacks.iter().enumerate() {
            let cb = unsafe { &*cb_ptr };
            let live_timers: i64 = m
                .stateless
                .iter()
                .map(|&t| tag_of(t))
                .filter(|t| t.callback == Some(index))
                .map(|t| i64::from(t.scheduled.load(SeqCst)) - i64::from(t.cancelled_timers.load(SeqCst)))
                .sum();
            let untagged = i64::from(cb.untagged_invoked.load(SeqCst));
            let owed = i64::from(cb.untagged_owed.load(SeqCst));
            let refs = cb.refs.load(SeqCst);
            let timer_leaks = refs - 1 - cb_leaks[index];
            let balanced = timer_leaks >= 0
                && timer_leaks <= live_timers
                && untagged + timer_leaks == owed + live_timers;
            let within = timer_leaks >= 0 && untagged + timer_leaks <= owed + live_timers;
            let fastio = within
                && (self.fastio_excuse(Some(index))
                    || (self.late_timer_excuse() && untagged + timer_leaks >= owed));
            if !balanced && !fastio {
                bad.push(format!(
                    "callback {index} ({:?}): {refs} references at the end ({} held by leaked results seen), \
                     {untagged} untagged invocations for {owed} untagged items and {live_timers} stateless \
                     schedules not cancelled",
                    cb.config, cb_leaks[index]
                ));
            } else {
                // Balanced (or excused): what the callback still holds beyond
                // the leaks seen are the results of stateless timers.
                leaked_results += timer_leaks as u64;
            }
            let untracked_begins = cb.untagged_begins.load(SeqCst) > 0;
            for status in cb.untagged_statuses.lock().unwrap().iter().copied() {
                let ok = status == S_OK
                    || (status == SHUTDOWN && (m.deadline_hit || untracked_begins))
                    || (status == INVALID_WQ && untracked_begins);
                if !ok {
                    bad.push(format!("callback {index}: an untagged item was invoked with status {}", name(status)));
                }
            }
        }

        for (index, &unk) in m.objects.iter().enumerate() {
            let refs = refs_of_unk(unk);
            if refs != 1 + object_leaks[index] {
                bad.push(format!(
                    "object {index}: {refs} references at the end, expected {} ({} held by the input's results)",
                    1 + object_leaks[index],
                    object_leaks[index]
                ));
            }
        }
        if mfwq::private_queue_count() != 0 {
            bad.push(format!(
                "{} private queues alive after the last shutdown",
                mfwq::private_queue_count()
            ));
        }
        (bad, leaked_results)
    }

    /// `MFWQ_FUZZ_RELAX=fastio-drop`: a completion (timer, wait, Begin) of a
    /// callback whose flags need the IO or TIMER queue but which names
    /// another queue may be dropped.
    fn fastio_excuse(&self, callback: Option<usize>) -> bool {
        relaxed("fastio-drop")
            && callback.is_some_and(|cb| {
                let (flags, queue) = self.m.cb(cb).config.effective();
                needs_fast_io(flags) && (is_private(queue) || !fast_io_allowed(queue))
            })
    }

    /// `MFWQ_FUZZ_RELAX=timer-deadline-drop`: after a shutdown that reached
    /// its deadline, a timer that had fired may have been dropped (neither
    /// run nor kept as pending).
    fn late_timer_excuse(&self) -> bool {
        relaxed("timer-deadline-drop") && self.m.deadline_hit
    }

    /// Status rules for the invocations of one result object.
    fn status_rules(&self, what: &str, rec: &ResultRec, tag: &Tag) -> Vec<String> {
        let statuses = tag.statuses.lock().unwrap().clone();
        let mut bad = Vec::new();
        let allowed: &[i32] = if rec.waited {
            &[S_OK, CANCELLED, SHUTDOWN]
        } else if self.m.deadline_hit {
            &[S_OK, SHUTDOWN]
        } else {
            &[S_OK]
        };
        for &status in &statuses {
            if !allowed.contains(&status) {
                bad.push(format!("{what}: invoked with status {}", name(status)));
            }
        }
        // A result used once, by a wait: its one invocation says how the wait
        // ended (cancelled; else fired or stopped by the last shutdown).
        if rec.uses == 1 && rec.waited && rec.callback.is_some() && statuses.len() == 1 {
            let status = statuses[0];
            let cancelled = tag.cancelled_waits.load(SeqCst) == 1;
            let late = self.m.deadline_hit && status == SHUTDOWN;
            if cancelled && status != CANCELLED && !late {
                bad.push(format!("{what}: a cancelled wait was invoked with {}", name(status)));
            }
            if !cancelled && status == CANCELLED {
                bad.push(format!("{what}: a wait not cancelled was invoked with MF_E_OPERATION_CANCELLED"));
            }
        }
        bad
    }

    /// Gives back everything the input owns; objects still held by leaked
    /// results are kept for ever (reachable from `KEPT`).
    fn release_everything(&mut self) {
        let m = &mut self.m;
        let cb_before: Vec<i64> = m.callbacks.iter().map(|&cb| unsafe { &*cb }.refs.load(SeqCst)).collect();
        let object_before: Vec<i64> = m.objects.iter().map(|&unk| refs_of_unk(unk)).collect();
        let mut cb_freed = vec![0i64; m.callbacks.len()];
        let mut object_freed = vec![0i64; m.objects.len()];
        for rec in m.results.drain(..) {
            let refs = unsafe { com_refs(rec.ptr) };
            if refs > 1 {
                KEPT.lock().unwrap().push(rec.ptr as usize);
            }
            unsafe { com_release(rec.ptr) };
            // The final release gives back the callback, object and state.
            let tag_refs = refs_of_unk(rec.tag);
            let expected_tag = if refs == 1 { 1 } else { 2 };
            if tag_refs != expected_tag {
                panic!(
                    "oracle failure: a result's state has {tag_refs} references after the result's \
                     release ({} references before it), expected {expected_tag}",
                    refs
                );
            }
            if refs == 1 {
                if let Some(cb) = rec.callback {
                    cb_freed[cb] += 1;
                }
                if let Some(object) = rec.object {
                    object_freed[object] += 1;
                }
            }
            // A result closes its hEvent on its final release.
            if let (1, Some(h)) = (refs, rec.event) {
                let handle = &m.handles[h];
                let mut flags = 0u32;
                if !handle.closed
                    && unsafe { w32::GetHandleInformation(handle.value as *mut c_void, &mut flags) } != 0
                {
                    panic!("oracle failure: a result's hEvent is still open after its final release");
                }
            }
        }
        for handle in m.handles.drain(..) {
            if !handle.closed {
                w32::CloseHandle(handle.value as *mut c_void);
            }
        }
        let baseline = *HANDLE_BASELINE.lock().unwrap();
        if mfwq::handle::open_count() != baseline {
            panic!(
                "oracle failure: {} event handles open after the input, {baseline} before",
                mfwq::handle::open_count()
            );
        }
        for (index, &cb) in m.callbacks.iter().enumerate() {
            let refs = unsafe { &*cb }.refs.load(SeqCst);
            if refs != cb_before[index] - cb_freed[index] {
                panic!(
                    "oracle failure: callback {index} has {refs} references after the input's results were \
                     released; expected {} - {}",
                    cb_before[index], cb_freed[index]
                );
            }
        }
        for (index, &unk) in m.objects.iter().enumerate() {
            let refs = refs_of_unk(unk);
            if refs != object_before[index] - object_freed[index] {
                panic!(
                    "oracle failure: object {index} has {refs} references after the input's results were \
                     released; expected {} - {}",
                    object_before[index], object_freed[index]
                );
            }
        }
        // Callbacks and objects: free those nobody else holds.
        for cb in m.callbacks.drain(..) {
            if unsafe { &*cb }.refs.load(SeqCst) == 1 {
                drop(unsafe { Box::from_raw(cb) });
            } else {
                KEPT.lock().unwrap().push(cb as usize);
            }
        }
        let stateless = std::mem::take(&mut m.stateless);
        // (A stateless schedule's tag is the fuzzer's own: the platform never saw it.)
        for unk in m.objects.drain(..).chain(m.tags.drain(..)) {
            if refs_of_unk(unk) == 1 || stateless.contains(&unk) {
                drop(unsafe { Box::from_raw(unk) });
            } else {
                KEPT.lock().unwrap().push(unk as usize);
            }
        }
        // The explicit platform lock count survives shutdown: balance it.
        while m.explicit_locks > 0 {
            lc::MFUnlockPlatform();
            m.explicit_locks -= 1;
        }
        while m.explicit_locks < 0 {
            lc::MFLockPlatform();
            m.explicit_locks += 1;
        }
        // With the platform down and at rest, the lock count is final: it is
        // what the leaked results hold.
        let leaked_total = LEAKED_RESULTS.fetch_add(m.leaked_results, SeqCst) + m.leaked_results;
        let count = mfwq::platform_lock_count();
        if count != leaked_total as i64 {
            panic!(
                "oracle failure: platform lock count {count} after the last shutdown; the results \
                 leaked by pending timers account for {leaked_total}"
            );
        }
    }
}

/// Results leaked by pending timers so far in this process (each holds a platform lock).
static LEAKED_RESULTS: AtomicU64 = AtomicU64::new(0);
/// Objects kept alive for ever because a leaked result holds them.
static KEPT: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static HANDLE_BASELINE: Mutex<usize> = Mutex::new(0);

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if std::env::var_os(mfwq::SHUTDOWN_TIMEOUT_ENV).is_none() {
            mfwq::set_shutdown_timeout(Duration::from_millis(SHUTDOWN_TIMEOUT_MS));
        }
        *HANDLE_BASELINE.lock().unwrap() = mfwq::handle::open_count();
    });
}

fn run(data: &[u8]) {
    init();
    CHAIN_LEFT.store(CHAIN_BUDGET, SeqCst);
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

/// The seed corpus: hand-made scenarios, one per family of operations,
/// written as inputs that decode to exactly those operations.
/// `MFWQ_FUZZ_WRITE_SEEDS=<dir> target/.../c_api` writes them and exits.
mod seeds {
    use super::*;

    type Want = Box<dyn Fn(&Op) -> bool>;

    macro_rules! want {
        ($($pattern:tt)*) => {
            Box::new(|op: &Op| matches!(op, $($pattern)*)) as Want
        };
    }

    /// Bytes that decode to one operation satisfying `want`, and to nothing
    /// more (so that chunks concatenate).
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
                Ok(same) if input.len() == 8 && format!("{same:?}") == format!("{op:?}") => {
                    return buffer[..used].to_vec()
                }
                _ => continue,
            }
        }
        panic!("no encoding found for a seed operation");
    }

    fn startup() -> Want {
        want!(Op::Startup { how } if how % 4 == 0)
    }
    fn shutdown() -> Want {
        want!(Op::Shutdown { .. })
    }
    fn plain_callback() -> Want {
        want!(Op::NewCallback { params, flags, queue: QSel::Platform(q), chain: None, .. }
            if params % 5 < 2 && flags_of(*flags) == 0 && [1, 5].contains(&(q % 8)))
    }
    fn sleep() -> Want {
        want!(Op::Sleep(n) if *n > 200)
    }

    fn scenarios() -> Vec<(&'static str, Vec<Want>)> {
        vec![
            ("seed-lifecycle", vec![
                startup(),
                want!(Op::LockPlatform { .. }),
                want!(Op::Allocate { how, kind, null_out: false } if how % 3 == 1 && (kind % 5) == 2),
                want!(Op::Allocate { how, null_out: false, .. } if how % 3 == 0),
                want!(Op::LockQueue { queue: QSel::Mine(_), .. }),
                want!(Op::UnlockQueue { queue: QSel::Mine(_), .. }),
                want!(Op::UnlockQueue { queue: QSel::Mine(_), .. }),
                want!(Op::UnlockQueue { queue: QSel::Garbage(_), .. }),
                want!(Op::UnlockPlatform { .. }),
                want!(Op::Startup { how } if how % 4 == 2),
                shutdown(),
                shutdown(),
                want!(Op::Startup { how } if how % 4 == 3),
                want!(Op::LockQueue { queue: QSel::Mine(_), .. }),
                want!(Op::Allocate { null_out: true, .. }),
                shutdown(),
            ]),
            ("seed-put-invoke", vec![
                startup(),
                plain_callback(),
                want!(Op::NewObject),
                want!(Op::Put { queue: QSel::Platform(_), callback: Some(_), state: StateSel::Tag, .. }),
                want!(Op::Put { queue: QSel::Platform(_), callback: Some(_), state: StateSel::Shared(_), .. }),
                want!(Op::Put { queue: QSel::Platform(_), callback: Some(_), state: StateSel::None, two: true, .. }),
                want!(Op::Put { callback: None, .. }),
                want!(Op::CreateResult { callback: Some(_), event: None, null_out: false, object: Some(_), .. }),
                want!(Op::PutResult { queue: QSel::Platform(_), result: Some(_), how, .. } if how % 3 == 1),
                want!(Op::Invoke { result: Some(_), .. }),
                want!(Op::Invoke { result: None, .. }),
                sleep(),
                shutdown(),
                want!(Op::Put { callback: Some(_), .. }),
            ]),
            ("seed-serial-reply", vec![
                startup(),
                want!(Op::NewCallback { params, flags, stash_replies: false, chain: None, .. }
                    if params % 5 < 2 && flags_of(*flags) == FLAG_REPLY),
                want!(Op::NewCallback { params, flags, stash_replies: true, chain: None, .. }
                    if params % 5 < 2 && flags_of(*flags) == FLAG_REPLY),
                want!(Op::Allocate { how, kind, null_out: false } if how % 3 == 1 && kind % 5 == 2),
                want!(Op::AllocateSerial { target: QSel::Mine(_), null_out: false, .. }),
                want!(Op::AllocateSerial { target: QSel::Platform(q), null_out: false, .. } if q % 8 == 5),
                want!(Op::Put { queue: QSel::Mine(q), callback: Some(c), state: StateSel::Tag, .. } if q % 3 == 1 && c % 2 == 0),
                want!(Op::Put { queue: QSel::Mine(q), callback: Some(c), state: StateSel::Tag, .. } if q % 3 == 1 && c % 2 == 1),
                want!(Op::Put { queue: QSel::Mine(q), callback: Some(c), state: StateSel::Tag, .. } if q % 3 == 1 && c % 2 == 1),
                want!(Op::Put { queue: QSel::Mine(q), callback: Some(c), state: StateSel::None, .. } if q % 3 == 2 && c % 2 == 1),
                sleep(),
                want!(Op::Reply { .. }),
                want!(Op::UnlockQueue { queue: QSel::Mine(q), .. } if q % 3 == 1),
                want!(Op::UnlockQueue { queue: QSel::Mine(q), .. } if q % 3 == 0),
                shutdown(),
            ]),
            ("seed-timers", vec![
                startup(),
                plain_callback(),
                want!(Op::Schedule { callback: Some(_), tagged: true, timeout: Timeout::Ms(_), null_key: false }),
                want!(Op::Schedule { callback: Some(_), tagged: false, timeout: Timeout::Far, null_key: false }),
                want!(Op::Schedule { callback: Some(_), tagged: true, timeout: Timeout::Far, null_key: false }),
                want!(Op::Schedule { callback: Some(_), tagged: true, timeout: Timeout::Now(_), null_key: true }),
                want!(Op::CreateResult { callback: Some(_), null_out: false, event: None, .. }),
                want!(Op::ScheduleResult { result: Some(_), timeout: Timeout::Far, null_key: false, .. }),
                want!(Op::Cancel { key: KSel::Mine(k), .. } if k % 4 == 1),
                want!(Op::Cancel { key: KSel::Mine(k), .. } if k % 4 == 1),
                want!(Op::Cancel { key: KSel::Garbage(_), .. }),
                want!(Op::Cancel { key: KSel::SchedLike(_), .. }),
                sleep(),
                shutdown(),
                want!(Op::Cancel { key: KSel::Mine(k), .. } if k % 4 == 3),
            ]),
            ("seed-waits", vec![
                startup(),
                plain_callback(),
                want!(Op::NewEvent { manual: false, initial: false, .. }),
                want!(Op::NewEvent { manual: true, initial: false, .. }),
                want!(Op::CreateResult { callback: Some(_), event: None, null_out: false, .. }),
                want!(Op::CreateResult { callback: Some(_), event: None, null_out: false, .. }),
                want!(Op::CreateResult { callback: None, event: Some(HSel::Mine(h)), null_out: false, .. } if h % 2 == 1),
                want!(Op::PutWaiting { event: HSel::Mine(h), result: Some(r), null_key: false, .. } if h % 2 == 0 && r % 3 == 0),
                want!(Op::PutWaiting { event: HSel::Null, result: Some(r), null_key: false, .. } if r % 3 == 1),
                want!(Op::PutWaiting { event: HSel::Garbage(_), result: Some(r), .. } if r % 3 == 1),
                want!(Op::SetEvent(HSel::Mine(h)) if h % 2 == 0),
                want!(Op::Cancel { key: KSel::Mine(k), .. } if k % 2 == 1),
                want!(Op::PutResult { result: Some(r), queue: QSel::Platform(_), .. } if r % 3 == 2),
                want!(Op::PutWaiting { event: HSel::Mine(h), result: Some(r), null_key: false, .. } if h % 2 == 1 && r % 3 == 0),
                want!(Op::WaitEvent(HSel::Mine(h)) if h % 2 == 1),
                want!(Op::CloseHandle(HSel::Mine(h)) if h % 2 == 0),
                want!(Op::SetEvent(HSel::Mine(h)) if h % 2 == 0),
                shutdown(),
            ]),
            ("seed-periodic", vec![
                startup(),
                want!(Op::NewObject),
                want!(Op::AddPeriodic { context: Some(_), null_fn: false, null_key: false, .. }),
                want!(Op::AddPeriodic { null_fn: true, .. }),
                want!(Op::AddPeriodic { context: None, null_fn: false, null_key: false, .. }),
                want!(Op::Periodicity { null: false }),
                sleep(), sleep(), sleep(), sleep(), sleep(), sleep(),
                want!(Op::RemovePeriodic { key: Some(k), .. } if k % 2 == 0),
                want!(Op::RemovePeriodic { key: Some(k), .. } if k % 2 == 0),
                want!(Op::RemovePeriodic { key: None, .. }),
                shutdown(),
            ]),
            ("seed-mmcss", vec![
                startup(),
                plain_callback(),
                want!(Op::RegisterPlatform { class: ClassSel::Known(_), null_task: false, priority, .. } if (-2..=2).contains(&(priority % 4))),
                want!(Op::GetClass { queue: QSel::Platform(_), len: LenSel::Exact, null_buffer: false, null_len: false, .. }),
                want!(Op::GetClass { queue: QSel::Platform(_), len: LenSel::Short, null_buffer: false, null_len: false, .. }),
                want!(Op::GetClass { queue: QSel::Platform(_), null_buffer: true, null_len: false, .. }),
                want!(Op::GetTaskId { queue: QSel::Platform(_), null: false, .. }),
                want!(Op::GetPriority { queue: QSel::Platform(_), null: false, .. }),
                want!(Op::LockShared { class: ClassSel::Known(_), task: Some(_), null_out: false, .. }),
                want!(Op::LockShared { class: ClassSel::Empty, task: None, null_out: false, .. }),
                want!(Op::LockShared { class: ClassSel::LoneSurrogate { .. }, null_out: false, .. }),
                want!(Op::GetClass { queue: QSel::Mine(_), len: LenSel::Len(_), null_buffer: false, null_len: false, .. }),
                want!(Op::BeginRegister { queue: QSel::Platform(_), class: ClassSel::Known(_), callback: Some(_), state: true, priority, .. } if (-2..=2).contains(&(priority % 4))),
                want!(Op::BeginUnregister { queue: QSel::All, callback: Some(_), state: true, .. }),
                sleep(),
                want!(Op::UnregisterPlatform { .. }),
                want!(Op::RegisterPlatform { class: ClassSel::LoneSurrogate { .. }, null_task: false, priority, .. } if (-2..=2).contains(&(priority % 4))),
                want!(Op::GetClass { queue: QSel::Platform(_), len: LenSel::Len(_), null_buffer: false, null_len: false, .. }),
                shutdown(),
            ]),
            ("seed-bad-input", vec![
                want!(Op::Put { callback: None, .. }),
                want!(Op::GetClass { null_len: true, .. }),
                want!(Op::Cancel { key: KSel::Garbage(_), .. }),
                startup(),
                want!(Op::Allocate { how, kind, null_out: false } if how % 3 == 2 && kind % 5 > 2),
                want!(Op::AllocateSerial { target: QSel::Garbage(_), null_out: false, .. }),
                want!(Op::AllocateSerial { target: QSel::All, null_out: false, .. }),
                want!(Op::LockShared { class: ClassSel::Null, null_out: false, .. }),
                want!(Op::LockShared { class: ClassSel::Empty, task: Some(_), null_out: false, .. }),
                want!(Op::PutResult { result: None, .. }),
                want!(Op::ScheduleResult { result: None, .. }),
                want!(Op::PutWaiting { result: None, event: HSel::Null, .. }),
                want!(Op::BeginRegister { class: ClassSel::Null, .. }),
                want!(Op::BeginRegister { class: ClassSel::Empty, callback: Some(_), .. }),
                want!(Op::BeginUnregister { callback: None, .. }),
                want!(Op::RegisterPlatform { null_task: true, class: ClassSel::Known(_), .. }),
                want!(Op::GetTaskId { queue: QSel::Private(..), null: false, .. }),
                want!(Op::GetPriority { null: true, .. }),
                want!(Op::CloseHandle(HSel::Garbage(_))),
                want!(Op::SetEvent(HSel::Null)),
                want!(Op::RemovePeriodic { key: None, .. }),
                shutdown(),
            ]),
            ("seed-chain", vec![
                startup(),
                want!(Op::NewCallback { params, flags, chain: Some(QSel::Platform(q)), .. }
                    if params % 5 < 2 && flags_of(*flags) == 0 && q % 8 == 5),
                want!(Op::Put { queue: QSel::Platform(_), callback: Some(_), state: StateSel::Tag, .. }),
                want!(Op::Put { queue: QSel::Platform(_), callback: Some(_), state: StateSel::Tag, .. }),
                shutdown(),
            ]),
            // Regression: a Begin whose callback reports FAST_IO on a queue
            // other than IO/TIMER returned S_OK and its callback never ran.
            ("regress-fastio-begin", vec![
                want!(Op::NewCallback { params, flags, queue: QSel::Platform(q), chain: None, .. }
                    if params % 5 < 2 && flags_of(*flags) == FLAG_FAST_IO && q % 8 == 1),
                startup(),
                want!(Op::BeginUnregister { queue: QSel::Platform(q), callback: Some(_), state: true, .. } if q % 8 == 5),
                sleep(), sleep(), sleep(), sleep(), sleep(),
                shutdown(),
            ]),
            // Regression (of the oracle): one callback with a stateless timer
            // due at once, a put with no state and Begin calls, then the last
            // shutdown. An item a thread left behind by the shutdown was still
            // carrying balanced the reference counts as a leaked timer
            // (docs/fuzzing.md, "Findings"; `MFWQ_FUZZ_SLOW_LATE_INVOKE=1`
            // widens the window).
            ("regress-inflight-as-leak", vec![
                startup(),
                plain_callback(),
                want!(Op::Schedule { callback: Some(_), tagged: false, timeout: Timeout::Now(_), .. }),
                want!(Op::Put { queue: QSel::Platform(_), callback: Some(_), state: StateSel::None, .. }),
                want!(Op::BeginRegister { queue: QSel::All, class: ClassSel::Known(_), callback: Some(_), state: false, priority, .. }
                    if (-2..=2).contains(&(priority % 4))),
                want!(Op::BeginRegister { queue: QSel::Platform(_), class: ClassSel::Known(_), callback: Some(_), state: true, priority, .. }
                    if (-2..=2).contains(&(priority % 4))),
                shutdown(),
            ]),
        ]
    }

    pub(super) fn write_if_asked() {
        let Some(dir) = std::env::var_os("MFWQ_FUZZ_WRITE_SEEDS") else { return };
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("seed directory");
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        for (name, ops) in scenarios() {
            let bytes: Vec<u8> = ops.iter().flat_map(|want| chunk(&mut rng, want)).collect();
            // Decodes back to the scenario, operation by operation.
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
