//! The Win32 synchronisation and time functions that Media Foundation
//! work-queue client code calls next to the work-queue API: critical
//! sections, thread and process ids, tick counts, the performance counter
//! and `WaitForMultipleObjects` over this library's event handles. The
//! `Interlocked*` family is `static inline` in `include/mfwq_synch.h` (on
//! Windows they are compiler intrinsics) and has nothing here.
//!
//! This is what work-queue client code touches, not a Win32 emulator; the
//! Linux semantics of each function are in `include/README.md`
//! ("Synchronisation and time").
//!
//! # Critical sections
//!
//! A `CRITICAL_SECTION` keeps the 40-byte Windows x64 layout, and the lock
//! lives inside it, so nothing is allocated and `DeleteCriticalSection` has
//! nothing to free:
//!
//! | offset | Windows field    | here                                              |
//! | ------ | ---------------- | ------------------------------------------------- |
//! | 0      | `DebugInfo`      | NULL                                              |
//! | 8      | `LockCount`      | -1, not maintained                                |
//! | 12     | `RecursionCount` | how many times the owner entered (0 when free)    |
//! | 16     | `OwningThread`   | the owner's `GetCurrentThreadId()`, 0 when free   |
//! | 24     | `LockSemaphore`  | a `parking_lot::RawMutex` in its first byte       |
//! | 32     | `SpinCount`      | the value given, with no effect                   |
//!
//! Every field is accessed atomically, so a section shared by threads is
//! never a data race in Rust terms. The owner's thread id decides re-entry:
//! the owner enters again without blocking and must leave as many times.
//!
//! Misuse, which Windows leaves undefined, does this here:
//! - `LeaveCriticalSection` by a thread that does not own the section does
//!   nothing (the owner keeps it).
//! - `DeleteCriticalSection` clears `DebugInfo` and `SpinCount` and leaves the
//!   lock state alone: deleting an owned section does not release it (its
//!   owner can still leave it), and a deleted section used again behaves as
//!   an initialised one. Freeing the storage while a thread waits in
//!   `EnterCriticalSection` is the caller's use-after-free.
//! - A thread that exits while owning a section leaves it locked for ever
//!   (an abandoned section); a later thread that gets the same Linux thread
//!   id would be taken for its owner.
//! - Initialising a section again while other threads use it races with them
//!   (a data race, as on Windows): initialise once, before sharing.
//! - A NULL or misaligned (not 8-byte) section pointer, where Windows would
//!   crash, is refused: the call does nothing (`FALSE` where it returns a
//!   `BOOL`) and `GetLastError` is `ERROR_INVALID_PARAMETER`.

use std::cell::Cell;
use std::ffi::c_void;
use std::mem::{align_of, offset_of, size_of};
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use mfwq::Event;
use parking_lot::lock_api::RawMutex as _;
use parking_lot::RawMutex;

use crate::win32::{
    set_last_error, ERROR_INVALID_HANDLE, INFINITE, WAIT_FAILED, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use crate::{BOOL, DWORD, HANDLE, LONG};

/// `MAXIMUM_WAIT_OBJECTS`: the most handles `WaitForMultipleObjects` takes.
pub const MAXIMUM_WAIT_OBJECTS: DWORD = 64;
/// `ERROR_INVALID_PARAMETER`.
pub const ERROR_INVALID_PARAMETER: DWORD = 87;
/// The flag bits `InitializeCriticalSectionEx` accepts (the
/// `RTL_CRITICAL_SECTION_FLAG_*` range, `CRITICAL_SECTION_NO_DEBUG_INFO`
/// among them); every one is accepted and ignored.
pub const CRITICAL_SECTION_FLAG_BITS: DWORD = 0xFF00_0000;
/// The frequency `QueryPerformanceFrequency` reports: 10 MHz (100 ns ticks),
/// as modern Windows does.
pub const PERFORMANCE_FREQUENCY: i64 = 10_000_000;

const TRUE: BOOL = 1;
const FALSE: BOOL = 0;

// ---------------------------------------------------------------------------
// Thread and process ids
// ---------------------------------------------------------------------------

thread_local! {
    /// This thread's Linux thread id, 0 until first asked for.
    static THREAD_ID: Cell<DWORD> = const { Cell::new(0) };
}

/// In the child of `fork()`, the forking thread has a new thread id: forget
/// the cached one (the child has no other threads).
extern "C" fn forget_thread_id_in_child() {
    THREAD_ID.with(|id| id.set(0));
}

fn current_thread_id() -> DWORD {
    THREAD_ID.with(|cached| {
        let id = cached.get();
        if id != 0 {
            return id;
        }
        static AT_FORK: std::sync::Once = std::sync::Once::new();
        AT_FORK.call_once(|| {
            // SAFETY: registers a handler that only touches this module's
            // thread-local; no pointers are passed.
            unsafe { libc::pthread_atfork(None, None, Some(forget_thread_id_in_child)) };
        });
        // SAFETY: gettid takes no arguments and cannot fail.
        let id = unsafe { libc::syscall(libc::SYS_gettid) } as DWORD;
        cached.set(id);
        id
    })
}

/// `GetCurrentThreadId()`: the calling thread's Linux thread id (`gettid`),
/// the number `ps -L`, `/proc/<pid>/task` and debuggers show. Never 0; the
/// main thread's id equals the process id.
#[no_mangle]
pub extern "system" fn GetCurrentThreadId() -> DWORD {
    current_thread_id()
}

/// `GetCurrentProcessId()`: `getpid()`.
#[no_mangle]
pub extern "system" fn GetCurrentProcessId() -> DWORD {
    // SAFETY: getpid has no arguments and cannot fail.
    unsafe { libc::getpid() as DWORD }
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec. CLOCK_BOOTTIME and
    // CLOCK_MONOTONIC exist on every Linux this library supports (2.6.39+),
    // so the call cannot fail.
    unsafe { libc::clock_gettime(clock, &mut now) };
    (now.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(now.tv_nsec as u64)
}

/// `GetTickCount64()`: milliseconds since boot, suspended time included
/// (`CLOCK_BOOTTIME`).
#[no_mangle]
pub extern "system" fn GetTickCount64() -> u64 {
    clock_ns(libc::CLOCK_BOOTTIME) / 1_000_000
}

/// `GetTickCount()`: the low 32 bits of [`GetTickCount64`]; it wraps to 0
/// after 49.7 days of uptime, as on Windows.
#[no_mangle]
pub extern "system" fn GetTickCount() -> DWORD {
    GetTickCount64() as DWORD
}

/// `QueryPerformanceCounter(&count)`: `CLOCK_MONOTONIC` in 100 ns ticks
/// ([`PERFORMANCE_FREQUENCY`]); `TRUE`. NULL (which crashes on Windows) is
/// `FALSE` with `ERROR_INVALID_PARAMETER`.
///
/// # Safety
/// `lpPerformanceCount` must be NULL or valid for a write of 8 bytes (any
/// alignment).
#[no_mangle]
pub unsafe extern "system" fn QueryPerformanceCounter(lpPerformanceCount: *mut i64) -> BOOL {
    let ticks = (clock_ns(libc::CLOCK_MONOTONIC) / 100) as i64;
    // SAFETY: forwarded caller contract.
    unsafe { write_large_integer(lpPerformanceCount, ticks) }
}

/// `QueryPerformanceFrequency(&frequency)`: 10,000,000 (10 MHz), fixed for
/// the life of the process; `TRUE`. NULL is `FALSE` with `ERROR_INVALID_PARAMETER`.
///
/// # Safety
/// `lpFrequency` must be NULL or valid for a write of 8 bytes (any alignment).
#[no_mangle]
pub unsafe extern "system" fn QueryPerformanceFrequency(lpFrequency: *mut i64) -> BOOL {
    // SAFETY: forwarded caller contract.
    unsafe { write_large_integer(lpFrequency, PERFORMANCE_FREQUENCY) }
}

/// Writes a `LARGE_INTEGER`'s `QuadPart`.
///
/// # Safety
/// `out` must be NULL or valid for a write of 8 bytes.
unsafe fn write_large_integer(out: *mut i64, value: i64) -> BOOL {
    if out.is_null() {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    // SAFETY: non-NULL and writable, as the caller promises; unaligned
    // writes are allowed so that a misaligned pointer is not UB here.
    unsafe { out.write_unaligned(value) };
    TRUE
}

// ---------------------------------------------------------------------------
// Critical sections
// ---------------------------------------------------------------------------

/// `RTL_CRITICAL_SECTION` / `CRITICAL_SECTION` as C declares it (40 bytes,
/// alignment 8). The library works on the same storage through an atomic
/// view (see the module documentation).
#[repr(C)]
#[derive(Debug)]
pub struct RTL_CRITICAL_SECTION {
    /// `DebugInfo`: NULL.
    pub DebugInfo: *mut c_void,
    /// `LockCount`: -1.
    pub LockCount: LONG,
    /// `RecursionCount`: entries by the owner not yet left.
    pub RecursionCount: LONG,
    /// `OwningThread`: the owner's thread id, 0 when free.
    pub OwningThread: HANDLE,
    /// `LockSemaphore`: holds the lock.
    pub LockSemaphore: HANDLE,
    /// `SpinCount`: stored, no effect.
    pub SpinCount: usize,
}

/// The library's view of the same 40 bytes.
#[repr(C)]
struct Section {
    debug_info: AtomicPtr<c_void>,
    lock_count: AtomicI32,
    recursion: AtomicI32,
    owner: AtomicUsize,
    lock: LockSlot,
    spin_count: AtomicUsize,
}

/// The `LockSemaphore` slot: the mutex in its first byte, the rest unused.
#[repr(C, align(8))]
struct LockSlot {
    mutex: RawMutex,
    _unused: [AtomicU8; 7],
}

const _: () = {
    assert!(size_of::<RawMutex>() == 1 && align_of::<RawMutex>() == 1);
    assert!(size_of::<LockSlot>() == 8);
    assert!(size_of::<RTL_CRITICAL_SECTION>() == 40);
    assert!(align_of::<RTL_CRITICAL_SECTION>() == 8);
    assert!(size_of::<Section>() == size_of::<RTL_CRITICAL_SECTION>());
    assert!(align_of::<Section>() == align_of::<RTL_CRITICAL_SECTION>());
    assert!(offset_of!(Section, debug_info) == offset_of!(RTL_CRITICAL_SECTION, DebugInfo));
    assert!(offset_of!(Section, lock_count) == offset_of!(RTL_CRITICAL_SECTION, LockCount));
    assert!(offset_of!(Section, recursion) == offset_of!(RTL_CRITICAL_SECTION, RecursionCount));
    assert!(offset_of!(Section, owner) == offset_of!(RTL_CRITICAL_SECTION, OwningThread));
    assert!(offset_of!(Section, lock) == offset_of!(RTL_CRITICAL_SECTION, LockSemaphore));
    assert!(offset_of!(Section, spin_count) == offset_of!(RTL_CRITICAL_SECTION, SpinCount));
    assert!(offset_of!(RTL_CRITICAL_SECTION, LockSemaphore) == 24);
    assert!(offset_of!(RTL_CRITICAL_SECTION, SpinCount) == 32);
};

/// The library's view of a C section; `None` (with `ERROR_INVALID_PARAMETER`)
/// for NULL or a pointer that is not 8-byte aligned.
///
/// # Safety
/// A non-NULL `section` must point at 40 bytes that stay valid for `'a`, that
/// were initialised by `InitializeCriticalSection*` (or are zero-filled), and
/// that nobody writes except through these functions meanwhile.
unsafe fn section<'a>(section: *mut RTL_CRITICAL_SECTION) -> Option<&'a Section> {
    if section.is_null() || (section as usize) % align_of::<Section>() != 0 {
        set_last_error(ERROR_INVALID_PARAMETER);
        return None;
    }
    // SAFETY: non-NULL and aligned (checked); valid for 40 bytes, as the
    // caller promises. Every field of `Section` is an atomic or the raw
    // mutex, for which any byte values are valid, and all access through
    // this shared reference is atomic.
    Some(unsafe { &*section.cast::<Section>() })
}

/// Writes a fresh, unowned section.
///
/// # Safety
/// `section` must be NULL or valid for a write of 40 bytes that no other
/// thread accesses during the call.
unsafe fn initialize(section: *mut RTL_CRITICAL_SECTION, spin_count: usize) -> BOOL {
    if section.is_null() || (section as usize) % align_of::<Section>() != 0 {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    // SAFETY: non-NULL, aligned (checked) and writable without a concurrent
    // access, as the caller promises.
    unsafe {
        section.cast::<Section>().write(Section {
            debug_info: AtomicPtr::new(std::ptr::null_mut()),
            lock_count: AtomicI32::new(-1),
            recursion: AtomicI32::new(0),
            owner: AtomicUsize::new(0),
            lock: LockSlot {
                mutex: RawMutex::INIT,
                _unused: Default::default(),
            },
            spin_count: AtomicUsize::new(spin_count),
        })
    };
    TRUE
}

impl Section {
    /// Takes the section for the calling thread if it is free or already the
    /// caller's; `block` chooses between waiting and giving up.
    fn enter(&self, block: bool) -> bool {
        let me = current_thread_id() as usize;
        // Only this thread ever stores its own id here, and it sees its own
        // stores: equality means the caller owns the section.
        if self.owner.load(Ordering::Relaxed) == me {
            self.recursion.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        if block {
            self.lock.mutex.lock();
        } else if !self.lock.mutex.try_lock() {
            return false;
        }
        self.owner.store(me, Ordering::Relaxed);
        self.recursion.store(1, Ordering::Relaxed);
        true
    }

    /// Leaves once; the last leave releases the section. A caller that does
    /// not own it changes nothing.
    fn leave(&self) {
        let me = current_thread_id() as usize;
        if self.owner.load(Ordering::Relaxed) != me {
            return;
        }
        let depth = self.recursion.load(Ordering::Relaxed);
        if depth > 1 {
            self.recursion.store(depth - 1, Ordering::Relaxed);
            return;
        }
        self.recursion.store(0, Ordering::Relaxed);
        self.owner.store(0, Ordering::Relaxed);
        // SAFETY: the owner field held this thread's id, which only `enter`
        // stores, after this thread locked the mutex: it holds the mutex now.
        unsafe { self.lock.mutex.unlock() };
    }
}

/// `InitializeCriticalSection(section)`. NULL does nothing.
///
/// # Safety
/// `lpCriticalSection` must be NULL or point at 40 writable bytes that no
/// other thread uses during the call.
#[no_mangle]
pub unsafe extern "system" fn InitializeCriticalSection(
    lpCriticalSection: *mut RTL_CRITICAL_SECTION,
) {
    // SAFETY: forwarded caller contract.
    unsafe { initialize(lpCriticalSection, 0) };
}

/// `InitializeCriticalSectionAndSpinCount(section, spin)`: `TRUE`; the spin
/// count is stored but changes nothing. NULL is `FALSE` (`ERROR_INVALID_PARAMETER`).
///
/// # Safety
/// As [`InitializeCriticalSection`].
#[no_mangle]
pub unsafe extern "system" fn InitializeCriticalSectionAndSpinCount(
    lpCriticalSection: *mut RTL_CRITICAL_SECTION,
    dwSpinCount: DWORD,
) -> BOOL {
    // SAFETY: forwarded caller contract.
    unsafe { initialize(lpCriticalSection, dwSpinCount as usize) }
}

/// `InitializeCriticalSectionEx(section, spin, flags)`: as
/// [`InitializeCriticalSectionAndSpinCount`]; flags outside
/// [`CRITICAL_SECTION_FLAG_BITS`] are `FALSE` with `ERROR_INVALID_PARAMETER`
/// (as on Windows), the others are ignored.
///
/// # Safety
/// As [`InitializeCriticalSection`].
#[no_mangle]
pub unsafe extern "system" fn InitializeCriticalSectionEx(
    lpCriticalSection: *mut RTL_CRITICAL_SECTION,
    dwSpinCount: DWORD,
    Flags: DWORD,
) -> BOOL {
    if Flags & !CRITICAL_SECTION_FLAG_BITS != 0 {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    // SAFETY: forwarded caller contract.
    unsafe { initialize(lpCriticalSection, dwSpinCount as usize) }
}

/// `SetCriticalSectionSpinCount(section, spin)`: stores the spin count and
/// returns the previous one (0 for NULL).
///
/// # Safety
/// `lpCriticalSection` must be NULL or an initialised section (module docs).
#[no_mangle]
pub unsafe extern "system" fn SetCriticalSectionSpinCount(
    lpCriticalSection: *mut RTL_CRITICAL_SECTION,
    dwSpinCount: DWORD,
) -> DWORD {
    // SAFETY: forwarded caller contract.
    match unsafe { section(lpCriticalSection) } {
        Some(section) => section
            .spin_count
            .swap(dwSpinCount as usize, Ordering::Relaxed) as DWORD,
        None => 0,
    }
}

/// `EnterCriticalSection(section)`: waits until the section is free, then
/// owns it; the owner enters again at once. Not fair: a thread that leaves
/// and enters again may overtake threads already waiting (parking_lot's
/// eventual fairness bounds how long). NULL does nothing.
///
/// # Safety
/// `lpCriticalSection` must be NULL or an initialised section (module docs).
#[no_mangle]
pub unsafe extern "system" fn EnterCriticalSection(lpCriticalSection: *mut RTL_CRITICAL_SECTION) {
    // SAFETY: forwarded caller contract.
    if let Some(section) = unsafe { section(lpCriticalSection) } {
        section.enter(true);
    }
}

/// `TryEnterCriticalSection(section)`: `TRUE` if the caller now owns the
/// section (it was free, or already the caller's), `FALSE` if another thread
/// owns it. NULL is `FALSE`.
///
/// # Safety
/// `lpCriticalSection` must be NULL or an initialised section (module docs).
#[no_mangle]
pub unsafe extern "system" fn TryEnterCriticalSection(
    lpCriticalSection: *mut RTL_CRITICAL_SECTION,
) -> BOOL {
    // SAFETY: forwarded caller contract.
    match unsafe { section(lpCriticalSection) } {
        Some(section) if section.enter(false) => TRUE,
        _ => FALSE,
    }
}

/// `LeaveCriticalSection(section)`: undoes one enter by the owner; the last
/// one frees the section. By a thread that does not own it: nothing.
///
/// # Safety
/// `lpCriticalSection` must be NULL or an initialised section (module docs).
#[no_mangle]
pub unsafe extern "system" fn LeaveCriticalSection(lpCriticalSection: *mut RTL_CRITICAL_SECTION) {
    // SAFETY: forwarded caller contract.
    if let Some(section) = unsafe { section(lpCriticalSection) } {
        section.leave();
    }
}

/// `DeleteCriticalSection(section)`: nothing to free. Clears `DebugInfo` and
/// `SpinCount`; the lock state is left alone (module docs, "Misuse").
///
/// # Safety
/// `lpCriticalSection` must be NULL or an initialised section (module docs).
#[no_mangle]
pub unsafe extern "system" fn DeleteCriticalSection(lpCriticalSection: *mut RTL_CRITICAL_SECTION) {
    // SAFETY: forwarded caller contract.
    if let Some(section) = unsafe { section(lpCriticalSection) } {
        section
            .debug_info
            .store(std::ptr::null_mut(), Ordering::Relaxed);
        section.spin_count.store(0, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------
// WaitForMultipleObjects
// ---------------------------------------------------------------------------

fn fail(error: DWORD) -> DWORD {
    set_last_error(error);
    WAIT_FAILED
}

/// `WaitForMultipleObjects(nCount, lpHandles, bWaitAll, ms)` over this
/// library's event handles ([`mfwq::Event::wait_any`] /
/// [`mfwq::Event::wait_all`]):
///
/// - wait-any (`bWaitAll` FALSE): `WAIT_OBJECT_0 + i` for the lowest index
///   `i` whose event is set; only that event is consumed (an auto-reset one
///   is cleared).
/// - wait-all: `WAIT_OBJECT_0` once every event is set at the same moment;
///   every auto-reset one among them is then consumed, all at once. A wait
///   that times out consumes nothing.
/// - `WAIT_TIMEOUT` after `ms` milliseconds (0 polls; `INFINITE` waits for ever).
/// - `WAIT_FAILED` with `GetLastError()` = `ERROR_INVALID_PARAMETER` for
///   `nCount` 0 or above `MAXIMUM_WAIT_OBJECTS` (64), a NULL array, or the same
///   event twice in a wait-all; `ERROR_INVALID_HANDLE` for a handle that is
///   not an open event (pseudo-handles such as `GetCurrentProcess()`'s are
///   not supported). Nothing is waited for or consumed then.
///
/// There are no mutexes here, hence never `WAIT_ABANDONED_0 + i`.
///
/// # Safety
/// `lpHandles` must be NULL or point at `nCount` readable `HANDLE`s.
#[no_mangle]
pub unsafe extern "system" fn WaitForMultipleObjects(
    nCount: DWORD,
    lpHandles: *const HANDLE,
    bWaitAll: BOOL,
    dwMilliseconds: DWORD,
) -> DWORD {
    if nCount == 0 || nCount > MAXIMUM_WAIT_OBJECTS || lpHandles.is_null() {
        return fail(ERROR_INVALID_PARAMETER);
    }
    let mut events: Vec<Event> = Vec::with_capacity(nCount as usize);
    for index in 0..nCount as usize {
        // SAFETY: `lpHandles` is non-NULL (checked) and holds `nCount`
        // readable handles, as the caller promises; read unaligned so that a
        // misaligned array is not UB here.
        let handle = unsafe { lpHandles.add(index).read_unaligned() };
        match mfwq::handle::event(handle as usize) {
            Some(event) => events.push(event),
            None => return fail(ERROR_INVALID_HANDLE),
        }
    }
    let wait_all = bWaitAll != 0;
    if wait_all {
        let duplicate = events
            .iter()
            .enumerate()
            .any(|(i, event)| events[..i].iter().any(|earlier| earlier.ptr_eq(event)));
        if duplicate {
            return fail(ERROR_INVALID_PARAMETER);
        }
    }
    let timeout =
        (dwMilliseconds != INFINITE).then(|| Duration::from_millis(u64::from(dwMilliseconds)));
    if wait_all {
        if Event::wait_all(&events, timeout) {
            WAIT_OBJECT_0
        } else {
            WAIT_TIMEOUT
        }
    } else {
        match Event::wait_any(&events, timeout) {
            Some(index) => WAIT_OBJECT_0 + index as DWORD,
            None => WAIT_TIMEOUT,
        }
    }
}

/// `WaitForMultipleObjectsEx(nCount, lpHandles, bWaitAll, ms, bAlertable)`:
/// [`WaitForMultipleObjects`]; there are no APCs here, so `bAlertable`
/// changes nothing and `WAIT_IO_COMPLETION` never comes back.
///
/// # Safety
/// As [`WaitForMultipleObjects`].
#[no_mangle]
pub unsafe extern "system" fn WaitForMultipleObjectsEx(
    nCount: DWORD,
    lpHandles: *const HANDLE,
    bWaitAll: BOOL,
    dwMilliseconds: DWORD,
    _bAlertable: BOOL,
) -> DWORD {
    // SAFETY: forwarded caller contract.
    unsafe { WaitForMultipleObjects(nCount, lpHandles, bWaitAll, dwMilliseconds) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::win32::{CloseHandle, CreateEventA, GetLastError, SetEvent};

    fn new_section() -> Box<RTL_CRITICAL_SECTION> {
        let mut section = Box::new(RTL_CRITICAL_SECTION {
            DebugInfo: std::ptr::null_mut(),
            LockCount: 0,
            RecursionCount: 0,
            OwningThread: std::ptr::null_mut(),
            LockSemaphore: std::ptr::null_mut(),
            SpinCount: 0,
        });
        // SAFETY: a valid, unshared section.
        assert_eq!(
            unsafe { InitializeCriticalSectionAndSpinCount(&mut *section, 4000) },
            TRUE
        );
        section
    }

    #[test]
    fn critical_sections_recurse_and_exclude_other_threads() {
        let mut section = new_section();
        let raw: *mut RTL_CRITICAL_SECTION = &mut *section;
        let address = raw as usize;
        // SAFETY (all calls below): `raw` is an initialised section that
        // outlives the threads using it.
        unsafe {
            EnterCriticalSection(raw);
            EnterCriticalSection(raw);
            assert_eq!(TryEnterCriticalSection(raw), TRUE);
            assert_eq!((*raw).RecursionCount, 3);
            assert_eq!((*raw).OwningThread as usize, GetCurrentThreadId() as usize);
            let other = std::thread::spawn(move || {
                TryEnterCriticalSection(address as *mut RTL_CRITICAL_SECTION)
            });
            assert_eq!(other.join().unwrap(), FALSE);
            LeaveCriticalSection(raw);
            LeaveCriticalSection(raw);
            LeaveCriticalSection(raw);
            assert_eq!((*raw).RecursionCount, 0);
            assert!((*raw).OwningThread.is_null());
            let other = std::thread::spawn(move || {
                TryEnterCriticalSection(address as *mut RTL_CRITICAL_SECTION)
            });
            assert_eq!(other.join().unwrap(), TRUE);
            assert_eq!(
                TryEnterCriticalSection(raw),
                FALSE,
                "the exited thread still owns it"
            );
            // A leave by a non-owner changes nothing.
            LeaveCriticalSection(raw);
            assert_eq!(TryEnterCriticalSection(raw), FALSE);
            assert_eq!((*raw).RecursionCount, 1);
            DeleteCriticalSection(raw);
        }
    }

    #[test]
    fn null_and_misaligned_sections_are_refused() {
        let mut words = [0u64; 6];
        let misaligned = (words.as_mut_ptr() as usize + 4) as *mut RTL_CRITICAL_SECTION;
        for bad in [std::ptr::null_mut(), misaligned] {
            // SAFETY: refused before any access.
            unsafe {
                assert_eq!(InitializeCriticalSectionAndSpinCount(bad, 0), FALSE);
                assert_eq!(GetLastError(), ERROR_INVALID_PARAMETER);
                assert_eq!(TryEnterCriticalSection(bad), FALSE);
                EnterCriticalSection(bad);
                LeaveCriticalSection(bad);
                DeleteCriticalSection(bad);
                InitializeCriticalSection(bad);
            }
        }
        assert_eq!(words, [0; 6]);
        let mut section = new_section();
        // SAFETY: a valid section.
        assert_eq!(
            unsafe { InitializeCriticalSectionEx(&mut *section, 0, 1) },
            FALSE
        );
    }

    #[test]
    fn clocks_and_ids() {
        assert_ne!(GetCurrentThreadId(), 0);
        assert_eq!(GetCurrentProcessId(), std::process::id());
        let other = std::thread::spawn(|| GetCurrentThreadId()).join().unwrap();
        assert_ne!(other, GetCurrentThreadId());
        let mut frequency = 0i64;
        let (mut before, mut after) = (0i64, 0i64);
        // SAFETY: valid out pointers.
        unsafe {
            assert_eq!(QueryPerformanceFrequency(&mut frequency), TRUE);
            assert_eq!(QueryPerformanceCounter(&mut before), TRUE);
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(QueryPerformanceCounter(&mut after), TRUE);
            assert_eq!(QueryPerformanceCounter(std::ptr::null_mut()), FALSE);
        }
        assert_eq!(frequency, 10_000_000);
        assert!(after - before >= 20 * frequency / 1000);
        assert!(GetTickCount64() > 0);
    }

    #[test]
    fn wait_for_multiple_objects_checks_its_input() {
        let a = CreateEventA(std::ptr::null_mut(), 0, 1, std::ptr::null());
        let b = CreateEventA(std::ptr::null_mut(), 0, 0, std::ptr::null());
        // SAFETY (all calls below): the arrays hold as many handles as given.
        unsafe {
            assert_eq!(WaitForMultipleObjects(0, [a].as_ptr(), 0, 0), WAIT_FAILED);
            assert_eq!(GetLastError(), ERROR_INVALID_PARAMETER);
            assert_eq!(
                WaitForMultipleObjects(1, std::ptr::null(), 0, 0),
                WAIT_FAILED
            );
            assert_eq!(
                WaitForMultipleObjects(2, [a, a].as_ptr(), 1, 0),
                WAIT_FAILED
            );
            assert_eq!(GetLastError(), ERROR_INVALID_PARAMETER);
            assert_eq!(
                WaitForMultipleObjects(2, [a, (4usize << 40) as HANDLE].as_ptr(), 0, 0),
                WAIT_FAILED
            );
            assert_eq!(GetLastError(), ERROR_INVALID_HANDLE);
            assert_eq!(
                WaitForMultipleObjects(2, [a, b].as_ptr(), 1, 0),
                WAIT_TIMEOUT
            );
            assert_eq!(SetEvent(b), TRUE);
            assert_eq!(
                WaitForMultipleObjects(2, [a, b].as_ptr(), 0, 0),
                WAIT_OBJECT_0
            );
            assert_eq!(
                WaitForMultipleObjects(2, [a, b].as_ptr(), 0, INFINITE),
                WAIT_OBJECT_0 + 1
            );
            assert_eq!(
                WaitForMultipleObjects(2, [a, b].as_ptr(), 0, 5),
                WAIT_TIMEOUT
            );
        }
        assert_eq!(CloseHandle(a), TRUE);
        assert_eq!(CloseHandle(b), TRUE);
    }
}
