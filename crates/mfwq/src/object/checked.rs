//! Checked mode: catching callers' reference-count bugs on result objects.
//!
//! Result objects live in recycled memory (`pool.rs`): a freed block goes
//! straight back to a free list and is handed out again by the next
//! allocation. That is what makes a put cheap, and it also hides the commonest
//! COM bug from every memory checker: an `Invoke` that calls `Release` on the
//! result it was given (which it does not own), or any other extra `Release`,
//! frees a block that the allocator never sees freed, so ASan and valgrind
//! stay silent and the next result quietly reuses the memory.
//!
//! Checked mode is the page heap of this platform. Off by default; switched
//! on by [`CHECKED_ENV`]`=1` at the first startup, or by [`set_checked_mode`].
//! A block allocated while it is on carries a flag in its reference-count word
//! and, when its last reference goes:
//!
//! - its value is dropped as usual (callbacks, state, event: nothing changes
//!   for a correct program), then its memory is filled with `0xDD` bytes, the
//!   vtable pointer of a COM object (the first word of a result) is replaced
//!   by a *poisoned vtable* whose every slot aborts naming the call, and the
//!   count word is set to [`POISON`];
//! - the block goes to a FIFO quarantine of [`QUARANTINE_BLOCKS`] blocks per
//!   value type instead of the free list; the oldest block leaves it for the
//!   allocator (where ASan and valgrind take over).
//!
//! Every reference-count operation that meets a poisoned word, or a count that
//! would go below zero or overflow, writes one line to stderr and aborts:
//!
//! ```text
//! mfwq checked mode: IMFAsyncResult 0x5581f7c3e2a0: Release called after the final Release (double release or use after free)
//! ```
//!
//! The decision is taken per block when it is allocated and kept in the block,
//! so switching the mode while results are alive is safe: blocks keep the mode
//! they were born with, a checked block freed after the mode went off is still
//! quarantined, an unchecked one freed while it is on is still recycled.
//!
//! Cost when off: reference-count operations load nothing more than before
//! and branch on the value their `fetch_add`/`fetch_sub` returned, as they
//! did before (see `recycle.rs`); an allocation reads the mode flag with one
//! relaxed load, folds it into the initial count, and branches on it once to
//! pick where the block comes from (a pool, or an allocation of its own).

use std::collections::VecDeque;
use std::ffi::c_void;
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::object::com::{Guid, IMFAsyncResultVtbl, IUnknownVtbl};

/// Environment variable read at the first startup: `1` switches checked mode
/// on, `0` off (unless [`set_checked_mode`] was called: an explicit choice
/// wins).
pub const CHECKED_ENV: &str = "MFWQ_CHECKED";

/// Set in the count word of a block allocated in checked mode.
pub(crate) const CHECKED: usize = 1 << (usize::BITS - 2);
/// The largest reference count a block may hold. Fast paths accept counts in
/// `1..=MAX_REFS` (unchecked blocks) and send everything else to the slow path.
pub(crate) const MAX_REFS: usize = CHECKED - 2;
/// Count words from here up are poisoned (a poisoned word that a few racing
/// operations moved still is).
const POISONED_FROM: usize = 1 << (usize::BITS - 1);
/// The byte a freed checked block is filled with (MSVC's "dead land" byte).
pub(crate) const POISON_BYTE: u8 = 0xDD;
/// The count word of a freed checked block: `0xDDDD_DDDD_DDDD_DDDD`.
pub(crate) const POISON: usize = usize::from_ne_bytes([POISON_BYTE; size_of::<usize>()]);
/// Freed checked blocks kept out of use, per value type, before the oldest goes
/// back to the allocator.
pub(crate) const QUARANTINE_BLOCKS: usize = 4096;

const _: () = assert!(POISON >= POISONED_FROM);

/// The mode new blocks get, as the flag bits of their count word: 0 or
/// [`CHECKED`] (so that an allocation only ORs it in).
static NEW_BLOCK_FLAGS: AtomicUsize = AtomicUsize::new(0);
/// Whether [`set_checked_mode`] was called (then the environment is not read).
static EXPLICIT: AtomicBool = AtomicBool::new(false);

/// Switches checked mode on or off for results allocated from now on.
///
/// Checked mode catches reference-count bugs of callers (a double `Release`,
/// an `AddRef` or any call after the final `Release`, an `Invoke` that
/// releases the result it was given) by poisoning and quarantining freed
/// result objects; such a bug then aborts the process with a message naming
/// the object and the call. Results already alive keep the mode they were
/// allocated with, so switching at any time is safe. An explicit call
/// overrides [`CHECKED_ENV`] at later startups.
///
/// ```
/// use mfwq::AsyncResult;
///
/// mfwq::set_checked_mode(true);
/// let result = AsyncResult::new(None, None, None); // allocated checked
/// mfwq::set_checked_mode(false);
/// let copy = result.clone();                        // still checked
/// assert_eq!(result.ref_count(), 2);
/// drop((result, copy));                             // poisoned and quarantined
/// assert!(!mfwq::checked_mode());
/// ```
pub fn set_checked_mode(on: bool) {
    EXPLICIT.store(true, Ordering::Relaxed);
    store_mode(on);
}

fn store_mode(on: bool) {
    NEW_BLOCK_FLAGS.store(if on { CHECKED } else { 0 }, Ordering::Relaxed);
}

/// Whether results allocated now are checked (see [`set_checked_mode`]).
///
/// ```
/// // Off unless MFWQ_CHECKED=1 was seen at startup or the mode was set.
/// let before = mfwq::checked_mode();
/// mfwq::set_checked_mode(true);
/// assert!(mfwq::checked_mode());
/// mfwq::set_checked_mode(before);
/// ```
pub fn checked_mode() -> bool {
    NEW_BLOCK_FLAGS.load(Ordering::Relaxed) != 0
}

/// The flag bits a new block's count word starts with: [`CHECKED`] or 0.
/// One relaxed load (a plain load on x86-64 and AArch64).
#[inline]
pub(crate) fn new_block_flags() -> usize {
    NEW_BLOCK_FLAGS.load(Ordering::Relaxed)
}

/// The first startup: applies [`CHECKED_ENV`] unless the mode was set explicitly.
pub(crate) fn on_startup() {
    if EXPLICIT.load(Ordering::Relaxed) {
        return;
    }
    let Some(value) = std::env::var_os(CHECKED_ENV) else {
        return;
    };
    match value.to_str().and_then(parse_switch) {
        Some(on) => {
            store_mode(on);
            if on {
                tracing::info!("checked mode on ({CHECKED_ENV})");
            }
        }
        None => tracing::warn!("{CHECKED_ENV}={value:?} ignored: use 1 or 0"),
    }
}

/// `1`/`true`/`on`/`yes` or `0`/`false`/`off`/`no`/empty, any case.
fn parse_switch(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" | "" => Some(false),
        _ => None,
    }
}

/// A count word, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    /// The block was allocated in checked mode.
    pub(crate) checked: bool,
    /// The reference count (at least 1).
    pub(crate) count: usize,
}

/// What is wrong with a count word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The word is poisoned: the object was freed in checked mode.
    Freed,
    /// The count is zero: no reference is left to use or give back.
    Zero,
    /// The count is beyond [`MAX_REFS`].
    Overflow,
}

/// Decodes the count word `word` as an operation found it.
pub(crate) fn decode(word: usize) -> Result<Word, (Fault, bool)> {
    if word >= POISONED_FROM {
        return Err((Fault::Freed, true));
    }
    let checked = word >= CHECKED;
    let count = word & !CHECKED;
    match count {
        0 => Err((Fault::Zero, checked)),
        n if n > MAX_REFS => Err((Fault::Overflow, checked)),
        n => Ok(Word { checked, count: n }),
    }
}

/// A reference-count operation, as the messages name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    AddRef,
    Release,
    QueryInterface,
    GetState,
    GetStatus,
    SetStatus,
    GetObject,
    GetStateNoAddRef,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::AddRef => "AddRef",
            Call::Release => "Release",
            Call::QueryInterface => "QueryInterface",
            Call::GetState => "GetState",
            Call::GetStatus => "GetStatus",
            Call::SetStatus => "SetStatus",
            Call::GetObject => "GetObject",
            Call::GetStateNoAddRef => "GetStateNoAddRef",
        }
    }
}

/// The line written before aborting.
pub(crate) struct Report {
    /// Whether the object was allocated in checked mode.
    pub(crate) checked: bool,
    /// `IMFAsyncResult`, ...
    pub(crate) kind: &'static str,
    /// The object's address (its COM pointer).
    pub(crate) address: usize,
    pub(crate) call: Call,
    pub(crate) fault: Fault,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.checked {
            "mfwq checked mode"
        } else {
            "mfwq"
        };
        write!(
            f,
            "{prefix}: {} {:#x}: {}",
            self.kind,
            self.address,
            self.call.name()
        )?;
        match (self.fault, self.call) {
            (Fault::Freed | Fault::Zero, Call::Release) => f.write_str(
                " called after the final Release (double release or use after free; \
                 an Invoke that releases the result it was given, which it does not own, \
                 ends this way)",
            )?,
            (Fault::Freed | Fault::Zero, _) => {
                f.write_str(" called after the final Release (use after free)")?
            }
            (Fault::Overflow, _) => f.write_str(" overflows the reference count")?,
        }
        if !self.checked {
            write!(f, "; {CHECKED_ENV}=1 catches more such bugs")?;
        }
        Ok(())
    }
}

/// Writes `report` to stderr (unbuffered, and not captured by the test
/// harness, so the line survives the abort) and aborts the process.
#[cold]
#[inline(never)]
pub(crate) fn fail(report: Report) -> ! {
    let _ = writeln!(std::io::stderr().lock(), "{report}");
    // The trace, if one is recorded, shows the misuse before the abort.
    crate::observe::misuse(report.call.name(), crate::error::HResult::E_POINTER.0, true);
    std::process::abort()
}

/// A bounded FIFO of freed blocks kept out of use.
pub(crate) struct Quarantine<B> {
    capacity: usize,
    blocks: Mutex<VecDeque<B>>,
}

impl<B> Quarantine<B> {
    pub(crate) const fn new(capacity: usize) -> Quarantine<B> {
        Quarantine {
            capacity,
            blocks: Mutex::new(VecDeque::new()),
        }
    }

    /// Keeps `block`; returns the oldest one, to be freed, when the quarantine
    /// was full.
    pub(crate) fn admit(&self, block: B) -> Option<B> {
        let mut blocks = self.blocks.lock();
        let evicted = if blocks.len() >= self.capacity {
            blocks.pop_front()
        } else {
            None
        };
        blocks.push_back(block);
        evicted
    }

    /// Blocks held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.blocks.lock().len()
    }

    /// Whether a held block matches.
    #[cfg(test)]
    pub(crate) fn holds(&self, matches: impl Fn(&B) -> bool) -> bool {
        self.blocks.lock().iter().any(matches)
    }
}

// ---- The poisoned IMFAsyncResult vtable: every slot aborts ----

/// The vtable a freed checked result object gets.
pub(crate) static POISONED_RESULT_VTBL: IMFAsyncResultVtbl = IMFAsyncResultVtbl {
    unknown: IUnknownVtbl {
        query_interface: freed_query_interface,
        add_ref: freed_add_ref,
        release: freed_release,
    },
    get_state: freed_get_state,
    get_status: freed_get_status,
    set_status: freed_set_status,
    get_object: freed_get_object,
    get_state_no_add_ref: freed_get_state_no_add_ref,
};

fn freed_result(this: *mut c_void, call: Call) -> ! {
    fail(Report {
        checked: true,
        kind: "IMFAsyncResult",
        address: this as usize,
        call,
        fault: Fault::Freed,
    })
}

unsafe extern "system" fn freed_query_interface(
    this: *mut c_void,
    _riid: *const Guid,
    _out: *mut *mut c_void,
) -> i32 {
    freed_result(this, Call::QueryInterface)
}

unsafe extern "system" fn freed_add_ref(this: *mut c_void) -> u32 {
    freed_result(this, Call::AddRef)
}

unsafe extern "system" fn freed_release(this: *mut c_void) -> u32 {
    freed_result(this, Call::Release)
}

unsafe extern "system" fn freed_get_state(this: *mut c_void, _out: *mut *mut c_void) -> i32 {
    freed_result(this, Call::GetState)
}

unsafe extern "system" fn freed_get_status(this: *mut c_void) -> i32 {
    freed_result(this, Call::GetStatus)
}

unsafe extern "system" fn freed_set_status(this: *mut c_void, _status: i32) -> i32 {
    freed_result(this, Call::SetStatus)
}

unsafe extern "system" fn freed_get_object(this: *mut c_void, _out: *mut *mut c_void) -> i32 {
    freed_result(this, Call::GetObject)
}

unsafe extern "system" fn freed_get_state_no_add_ref(this: *mut c_void) -> *mut c_void {
    freed_result(this, Call::GetStateNoAddRef)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_words_decode_into_counts_and_faults() {
        assert_eq!(
            decode(1),
            Ok(Word {
                checked: false,
                count: 1
            })
        );
        assert_eq!(
            decode(CHECKED | 3),
            Ok(Word {
                checked: true,
                count: 3
            })
        );
        assert_eq!(decode(0), Err((Fault::Zero, false)));
        assert_eq!(decode(CHECKED), Err((Fault::Zero, true)));
        assert_eq!(decode(POISON), Err((Fault::Freed, true)));
        // A poisoned word a few racing operations moved is still poisoned.
        assert_eq!(decode(POISON - 3), Err((Fault::Freed, true)));
        assert_eq!(decode(POISON + 3), Err((Fault::Freed, true)));
        assert_eq!(decode(usize::MAX), Err((Fault::Freed, true)));
        assert_eq!(decode(MAX_REFS + 1), Err((Fault::Overflow, false)));
        assert_eq!(
            decode(CHECKED | (MAX_REFS + 1)),
            Err((Fault::Overflow, true))
        );
        assert_eq!(
            decode(MAX_REFS),
            Ok(Word {
                checked: false,
                count: MAX_REFS
            })
        );
    }

    #[test]
    fn poison_is_the_dead_land_pattern() {
        assert_eq!(POISON.to_ne_bytes(), [0xDD; size_of::<usize>()]);
        #[cfg(target_pointer_width = "64")]
        assert_eq!(POISON, 0xDDDD_DDDD_DDDD_DDDD);
    }

    #[test]
    fn reports_name_the_object_and_the_call() {
        let report = Report {
            checked: true,
            kind: "IMFAsyncResult",
            address: 0x1234_5678,
            call: Call::Release,
            fault: Fault::Freed,
        };
        assert_eq!(
            report.to_string(),
            "mfwq checked mode: IMFAsyncResult 0x12345678: Release called after the final \
             Release (double release or use after free; an Invoke that releases the result \
             it was given, which it does not own, ends this way)"
        );
        let report = Report {
            checked: true,
            kind: "IMFAsyncResult",
            address: 0x10,
            call: Call::AddRef,
            fault: Fault::Zero,
        };
        assert_eq!(
            report.to_string(),
            "mfwq checked mode: IMFAsyncResult 0x10: AddRef called after the final Release \
             (use after free)"
        );
        let report = Report {
            checked: false,
            kind: "object",
            address: 0x20,
            call: Call::AddRef,
            fault: Fault::Overflow,
        };
        assert_eq!(
            report.to_string(),
            "mfwq: object 0x20: AddRef overflows the reference count; MFWQ_CHECKED=1 catches \
             more such bugs"
        );
    }

    #[test]
    fn quarantine_is_a_bounded_fifo() {
        let quarantine = Quarantine::new(3);
        assert_eq!(quarantine.admit(1), None);
        assert_eq!(quarantine.admit(2), None);
        assert_eq!(quarantine.admit(3), None);
        assert_eq!(quarantine.len(), 3);
        assert_eq!(quarantine.admit(4), Some(1), "the oldest leaves first");
        assert_eq!(quarantine.admit(5), Some(2));
        assert_eq!(quarantine.len(), 3);
        assert!(quarantine.holds(|&b| b == 5));
        assert!(!quarantine.holds(|&b| b == 1));
    }

    #[test]
    fn environment_values() {
        for on in ["1", "true", "ON", " yes "] {
            assert_eq!(parse_switch(on), Some(true), "{on:?}");
        }
        for off in ["0", "false", "Off", "no", ""] {
            assert_eq!(parse_switch(off), Some(false), "{off:?}");
        }
        assert_eq!(parse_switch("2"), None);
        assert_eq!(parse_switch("checked"), None);
    }
}
