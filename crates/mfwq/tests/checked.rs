//! Checked mode (`MFWQ_CHECKED=1` / `mfwq::set_checked_mode`): reference-count
//! bugs of callers abort the process with a message naming the object and the
//! call.
//!
//! A bug that aborts cannot be tested in the test process itself, so each
//! death test runs this very test binary again as a child process, selecting
//! [`scenario_child`] with `--exact` and the scenario with [`SCENARIO_ENV`],
//! and asserts that the child died of `SIGABRT` with the expected line on
//! stderr. Without the variable, `scenario_child` does nothing.

mod common;

use std::ffi::c_void;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

use common::{recv, serial, wait_until, WAIT};
use mfwq::com::IMFAsyncResultVtbl;
use mfwq::{AsyncResult, QueueId, CHECKED_ENV};

/// Selects the scenario a child process runs.
const SCENARIO_ENV: &str = "MFWQ_CHECKED_TEST_SCENARIO";
/// The test that runs a scenario in a child process.
const CHILD_TEST: &str = "scenario_child";
/// What a child prints before it does the wrong thing: the object's address.
const ADDRESS_LINE: &str = "scenario object: ";
/// What a child prints when a scenario ran to its end.
const SURVIVED: &str = "scenario survived";
/// The prefix of every checked-mode report.
const CHECKED_PREFIX: &str = "mfwq checked mode: ";

// ---- COM calls as a C caller makes them: the vtable read from the object ----

/// # Safety
/// `raw` is readable (a live object, or a freed one in quarantine).
unsafe fn vtbl(raw: *mut c_void) -> *const IMFAsyncResultVtbl {
    // SAFETY: as promised; the first word of a COM object is its vtable pointer.
    unsafe { *(raw as *const *const IMFAsyncResultVtbl) }
}

/// `raw->lpVtbl->Release(raw)`.
///
/// # Safety
/// As for [`vtbl`].
unsafe fn release(raw: *mut c_void) -> u32 {
    // SAFETY: as promised.
    unsafe { ((*vtbl(raw)).unknown.release)(raw) }
}

/// `raw->lpVtbl->AddRef(raw)`.
///
/// # Safety
/// As for [`vtbl`].
unsafe fn add_ref(raw: *mut c_void) -> u32 {
    // SAFETY: as promised.
    unsafe { ((*vtbl(raw)).unknown.add_ref)(raw) }
}

/// `raw->lpVtbl->GetStatus(raw)`.
///
/// # Safety
/// As for [`vtbl`].
unsafe fn get_status(raw: *mut c_void) -> i32 {
    // SAFETY: as promised.
    unsafe { ((*vtbl(raw)).get_status)(raw) }
}

// ---- The child side ----

/// Written straight to stderr: not captured, and out before an abort.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn announce(raw: *mut c_void) {
    say(&format!("{ADDRESS_LINE}{:#x}", raw as usize));
}

/// A stock result given away as a COM pointer, announced.
fn fresh_raw_result() -> *mut c_void {
    let raw = AsyncResult::new(None, None, None).into_com_raw();
    announce(raw);
    raw
}

/// Runs the scenario named by [`SCENARIO_ENV`] (in a child process); nothing
/// when the variable is not set, as in an ordinary test run.
#[test]
fn scenario_child() {
    let Ok(scenario) = std::env::var(SCENARIO_ENV) else {
        return;
    };
    // The platform reads MFWQ_CHECKED at its first startup.
    let _platform = mfwq::Platform::start().expect("startup");
    match scenario.as_str() {
        "double_release" => {
            let raw = fresh_raw_result();
            // SAFETY: the caller owns the one reference; the second Release is
            // the bug under test.
            unsafe {
                assert_eq!(release(raw), 0);
                release(raw);
            }
        }
        "add_ref_after_release" => {
            let raw = fresh_raw_result();
            // SAFETY: as above; the AddRef is the bug.
            unsafe {
                assert_eq!(release(raw), 0);
                add_ref(raw);
                release(raw);
            }
        }
        "get_status_after_release" => {
            let raw = fresh_raw_result();
            // SAFETY: as above; GetStatus is the bug.
            unsafe {
                assert_eq!(release(raw), 0);
                get_status(raw);
            }
        }
        "put_released_result" => {
            // MFPutWorkItemEx with a result the caller already released.
            let raw = fresh_raw_result();
            // SAFETY: as above; handing the freed pointer over is the bug.
            unsafe {
                assert_eq!(release(raw), 0);
                let result = AsyncResult::from_com_result(raw).expect("non-NULL");
                let _ = mfwq::put_result(QueueId::STANDARD, result);
            }
        }
        "invoke_over_release" => {
            // An Invoke that releases the result it was given: the platform
            // owns that reference and gives it back after Invoke returns.
            let callback = mfwq::callback(|result| {
                let raw = result.com_ptr();
                announce(raw);
                // SAFETY: the result is live during Invoke; this Release, of a
                // reference the callback does not own, is the bug.
                unsafe { release(raw) };
            });
            mfwq::put_work_item(QueueId::MULTITHREADED, callback.clone(), None).expect("put");
            // The worker aborts when it drops its reference; keep the
            // callback alive meanwhile (the result's reference to it is gone).
            std::thread::sleep(Duration::from_secs(10));
            drop(callback);
        }
        "off_double_release" => {
            // Checked mode off: a second Release right after the final one
            // still finds the count at zero in the recycled block.
            let raw = fresh_raw_result();
            // SAFETY: as for "double_release".
            unsafe {
                assert_eq!(release(raw), 0);
                release(raw);
            }
        }
        "balanced" => balanced(),
        other => panic!("unknown scenario {other:?}"),
    }
    say(SURVIVED);
}

/// Correct use of everything the death tests misuse; reports the mode.
fn balanced() {
    say(&format!("checked mode: {}", mfwq::checked_mode()));
    let (sender, receiver) = mpsc::channel();
    // An Invoke that takes a reference of its own and gives it back.
    let callback = mfwq::callback(move |result| {
        let raw = result.com_ptr();
        // SAFETY: the result is live during Invoke.
        let counts = unsafe { (add_ref(raw), release(raw)) };
        sender.send(counts).unwrap();
    });
    for _ in 0..100 {
        mfwq::put_work_item(QueueId::MULTITHREADED, callback.clone(), None).expect("put");
    }
    for _ in 0..100 {
        let (added, released) = recv(&receiver);
        assert_eq!(added, released + 1);
    }
    // A result handed to C and back: AddRef, the platform's view, a put, Release.
    let raw = AsyncResult::with_callback(callback, None).into_com_raw();
    // SAFETY: `raw` is live until its last Release, at the end.
    unsafe {
        assert_eq!(add_ref(raw), 2);
        assert_eq!(get_status(raw), 0);
        let again = AsyncResult::from_com_result(raw).expect("non-NULL");
        assert_eq!(again.ref_count(), 3);
        mfwq::put_result(QueueId::STANDARD, again).expect("put_result");
        recv(&receiver);
        assert!(release(raw) >= 1);
        // The platform gives its reference back right after Invoke.
        assert!(wait_until(WAIT, || {
            let added = add_ref(raw);
            let left = release(raw);
            added == 2 && left == 1
        }));
        assert_eq!(release(raw), 0);
    }
}

// ---- The parent side ----

/// Runs `scenario` in a child process, with `MFWQ_CHECKED` set to `checked`
/// (or removed).
fn run_child(scenario: &str, checked: Option<&str>) -> Output {
    let exe = std::env::current_exe().expect("the test binary");
    let mut command = Command::new(exe);
    command
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(SCENARIO_ENV, scenario)
        .env_remove(CHECKED_ENV)
        .env("RUST_BACKTRACE", "0");
    if let Some(value) = checked {
        command.env(CHECKED_ENV, value);
    }
    command.output().expect("run the child")
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The address the child announced.
fn announced(stderr: &str) -> &str {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix(ADDRESS_LINE))
        .unwrap_or_else(|| panic!("the child announced no object:\n{stderr}"))
}

/// Asserts that the child aborted with `expected` (after the object's
/// address) on stderr, and returns stderr.
fn assert_aborted_with(output: &Output, prefix: &str, expected: &str) -> String {
    let stderr = stderr_of(output);
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGABRT),
        "the child should die of SIGABRT; status {:?}, stderr:\n{stderr}",
        output.status
    );
    assert!(!stderr.contains(SURVIVED), "{stderr}");
    let line = format!("{prefix}IMFAsyncResult {}: {expected}", announced(&stderr));
    assert!(
        stderr.contains(&line),
        "stderr lacks {line:?}; stderr:\n{stderr}"
    );
    stderr
}

fn assert_survived(output: &Output) -> String {
    let stderr = stderr_of(output);
    assert!(
        output.status.success() && stderr.contains(SURVIVED),
        "the child should exit normally; status {:?}, stderr:\n{stderr}",
        output.status
    );
    assert!(!stderr.contains("mfwq checked mode"), "{stderr}");
    stderr
}

#[test]
fn double_release_through_the_vtable_aborts() {
    let output = run_child("double_release", Some("1"));
    assert_aborted_with(
        &output,
        CHECKED_PREFIX,
        "Release called after the final Release (double release or use after free",
    );
}

#[test]
fn add_ref_after_the_final_release_aborts() {
    let output = run_child("add_ref_after_release", Some("1"));
    assert_aborted_with(
        &output,
        CHECKED_PREFIX,
        "AddRef called after the final Release (use after free)",
    );
}

#[test]
fn any_method_of_a_freed_result_aborts() {
    let output = run_child("get_status_after_release", Some("1"));
    assert_aborted_with(
        &output,
        CHECKED_PREFIX,
        "GetStatus called after the final Release (use after free)",
    );
}

#[test]
fn putting_a_released_result_aborts() {
    let output = run_child("put_released_result", Some("1"));
    assert_aborted_with(
        &output,
        CHECKED_PREFIX,
        "AddRef called after the final Release (use after free)",
    );
}

#[test]
fn an_invoke_that_releases_the_platforms_reference_aborts() {
    let output = run_child("invoke_over_release", Some("1"));
    assert_aborted_with(
        &output,
        CHECKED_PREFIX,
        "Release called after the final Release (double release or use after free",
    );
}

#[test]
fn with_checked_mode_off_a_second_release_at_once_is_still_caught() {
    // No quarantine and no poison, but the count word of the recycled block
    // is still zero: the free part of the checks.
    let output = run_child("off_double_release", None);
    let stderr = assert_aborted_with(&output, "mfwq: ", "Release called after the final Release");
    assert!(
        stderr.contains("MFWQ_CHECKED=1 catches more such bugs"),
        "{stderr}"
    );
    assert!(!stderr.contains(CHECKED_PREFIX), "{stderr}");
}

#[test]
fn correct_use_runs_the_same_with_checked_mode_on_and_off() {
    let on = assert_survived(&run_child("balanced", Some("1")));
    assert!(on.contains("checked mode: true"), "{on}");
    let off = assert_survived(&run_child("balanced", Some("0")));
    assert!(off.contains("checked mode: false"), "{off}");
    let unset = assert_survived(&run_child("balanced", None));
    assert!(unset.contains("checked mode: false"), "{unset}");
}

/// In this process: the default, the Rust switch, and switching while
/// results of both kinds are alive.
#[test]
fn checked_mode_is_off_by_default_and_switchable_while_results_live() {
    let _serial = serial();
    if std::env::var_os(CHECKED_ENV).is_none() {
        assert!(!mfwq::checked_mode(), "off by default");
    }
    let before = mfwq::checked_mode();
    let _platform = mfwq::Platform::start().expect("startup");
    let (sender, receiver) = mpsc::channel();
    let callback = mfwq::callback(move |result| sender.send(result.as_ptr() as usize).unwrap());

    mfwq::set_checked_mode(false);
    let unchecked = AsyncResult::with_callback(callback.clone(), None);
    mfwq::set_checked_mode(true);
    assert!(mfwq::checked_mode());
    let checked = AsyncResult::with_callback(callback.clone(), None);
    let unchecked_copy = unchecked.clone();
    mfwq::set_checked_mode(false);
    assert!(!mfwq::checked_mode());
    let checked_copy = checked.clone();
    assert_eq!((unchecked.ref_count(), checked.ref_count()), (2, 2));

    // Both kinds go through the queues and come back as usual, whatever the
    // mode is now.
    for result in [&unchecked, &checked] {
        mfwq::put_result(QueueId::MULTITHREADED, result).expect("put_result");
    }
    let mut invoked = [recv(&receiver), recv(&receiver)];
    invoked.sort_unstable();
    let mut expected = [unchecked.as_ptr() as usize, checked.as_ptr() as usize];
    expected.sort_unstable();
    assert_eq!(invoked, expected);
    assert!(wait_until(WAIT, || checked.ref_count() == 2
        && unchecked.ref_count() == 2));

    // Work put while the mode is on runs as usual.
    mfwq::set_checked_mode(true);
    for _ in 0..100 {
        mfwq::put_work_item(QueueId::MULTITHREADED, callback.clone(), None).expect("put");
    }
    mfwq::set_checked_mode(false);
    for _ in 0..100 {
        recv(&receiver);
    }

    let checked_raw = checked.com_ptr();
    // SAFETY: the object is live; its first word is the stock vtable pointer.
    let stock = unsafe { vtbl(checked_raw) } as usize;
    drop((unchecked, unchecked_copy, checked));
    assert_eq!(checked_copy.ref_count(), 1);
    drop(checked_copy);
    // The freed checked result sits in quarantine, poisoned: another vtable,
    // and the count word just before the object reads 0xDD...
    // SAFETY: a quarantined block stays allocated.
    unsafe {
        assert_ne!(vtbl(checked_raw) as usize, stock, "the vtable is poisoned");
        let count_word = *(checked_raw as *const usize).sub(1);
        assert_eq!(count_word, usize::from_ne_bytes([0xDD; size_of::<usize>()]));
    }
    mfwq::set_checked_mode(before);
}
