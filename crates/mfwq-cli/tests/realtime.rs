//! `mfwq realtime`, run as a user runs it: the workloads and contestants it
//! lists, a usage error, and one short run (a few hundred periods of the
//! 1.333 ms workload without load, two contestants) whose table has a row for
//! each and no report file unless asked for. Without the right to use
//! SCHED_FIFO the run still works and says so; the rows are there either way.

use std::path::Path;
use std::process::{Command, Output};

fn mfwq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfwq"))
        .arg("realtime")
        .args(args)
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .output()
        .expect("run the mfwq binary")
}

#[test]
fn lists_its_workloads_and_contestants() {
    let output = mfwq(&["--list"]);
    assert!(output.status.success(), "{output:?}");
    let list = String::from_utf8(output.stdout).unwrap();
    for workload in [
        "2.667ms-idle",
        "2.667ms-load",
        "1.333ms-idle",
        "1.333ms-load",
    ] {
        assert!(list.contains(workload), "{workload} missing:\n{list}");
    }
    for contestant in [
        "bare SCHED_FIFO thread",
        "mfwq Pro Audio queue",
        "mfwq Pro Audio, parking",
        "mfwq SCHED_OTHER queue",
        "tokio multi-thread",
    ] {
        assert!(list.contains(contestant), "{contestant} missing:\n{list}");
    }
    // The CLI runs the full lengths by default (cargo test's smoke run does not).
    assert!(list.contains("20000 periods per variant"), "{list}");
}

#[test]
fn a_bad_option_is_a_usage_error() {
    let output = mfwq(&["--load", "sideways"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("--load"));
}

#[test]
fn a_short_run_prints_a_row_per_contestant() {
    let report = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("mfwq-realtime-{}.md", std::process::id()));
    let report_arg = report.to_str().unwrap();
    let output = mfwq(&[
        "1.333ms-idle",
        "--idle-periods",
        "300",
        "--only",
        "Pro Audio",
        "--out",
        report_arg,
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    for row in ["mfwq Pro Audio queue", "mfwq Pro Audio, parking"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with("1.333ms-idle") && line.contains(row)),
            "no row for {row}:\n{stdout}"
        );
    }
    assert!(!stdout.contains("tokio multi-thread"), "{stdout}");
    let written = std::fs::read_to_string(&report).expect("the report asked for");
    assert!(written.contains("mfwq Pro Audio queue"), "{written}");
    let _ = std::fs::remove_file(report);
}
