//! `mfwq demo` end to end: the built binary runs the pipeline for two
//! seconds; every stage must have moved items and every check must pass.
//! A second run injects a frame out of order and must fail the ordering
//! check: the summary's checks are real, not a formality.

use std::process::{Command, Output};

/// Runs `mfwq demo --duration 2` with `extra` arguments.
fn demo(extra: &[&str]) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_mfwq"))
        .args(["demo", "--duration", "2"])
        .args(extra)
        .output()
        .expect("the mfwq binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

/// The cells of the table row whose first cell is `first`.
fn row<'a>(stdout: &'a str, first: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .map(|line| {
            line.trim_matches(|c| c == '│' || c == ' ')
                .split(['│', '┆'])
                .map(str::trim)
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.first() == Some(&first))
        .unwrap_or_else(|| panic!("no row {first:?} in the summary:\n{stdout}"))
}

#[test]
fn every_stage_runs_and_every_check_passes() {
    let (output, stdout) = demo(&[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    // 2 s at 60 fps and 10 ms audio blocks.
    let header = row(&stdout, "stage");
    let column = |name: &str| header.iter().position(|cell| *cell == name).unwrap();
    let (inputs, outputs) = (column("in"), column("out"));
    for (stage, expected) in [
        ("source", 120),
        ("decode", 120),
        ("render", 120),
        ("audio", 200),
    ] {
        let cells = row(&stdout, stage);
        let count = |index: usize| -> u64 {
            cells[index]
                .parse()
                .unwrap_or_else(|_| panic!("{stage}: {:?} is not a count:\n{stdout}", cells[index]))
        };
        assert_eq!(
            (count(inputs), count(outputs)),
            (expected, expected),
            "{stage} in/out:\n{stdout}"
        );
    }
    for check in [
        "every frame decoded",
        "frames rendered in order",
        "audio blocks on time",
        "no errors",
    ] {
        assert_eq!(
            row(&stdout, check).last(),
            Some(&"PASS"),
            "{check}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("demo: PASS (4 of 4 checks passed)"),
        "{stdout}"
    );
}

#[test]
fn a_frame_out_of_order_fails_the_run() {
    let (output, stdout) = demo(&["--inject-fault", "swap-frames", "--fps", "30"]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_eq!(
        row(&stdout, "frames rendered in order").last(),
        Some(&"FAIL"),
        "{stdout}"
    );
    assert_eq!(
        row(&stdout, "every frame decoded").last(),
        Some(&"PASS"),
        "{stdout}"
    );
    assert!(stdout.contains("out of order 1, gaps 1"), "{stdout}");
    assert!(stdout.contains("demo: FAIL ("), "{stdout}");
}

// `MFWQ_STATS=print`: any program that uses the platform prints its
// statistics table at its final shutdown, on stderr (here the demo).
#[test]
fn mfwq_stats_print_writes_the_table_at_shutdown() {
    let output = Command::new(env!("CARGO_BIN_EXE_mfwq"))
        .args(["demo", "--duration", "1"])
        .env("MFWQ_STATS", "print")
        .output()
        .expect("mfwq demo runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let table = &stderr[stderr
        .find("mfwq statistics (pid ")
        .unwrap_or_else(|| panic!("no statistics table on stderr:\n{stderr}"))..];
    let pool = table
        .lines()
        .find(|line| line.starts_with("MULTITHREADED"))
        .unwrap_or_else(|| panic!("no MULTITHREADED row:\n{table}"));
    let put: u64 = pool
        .split_whitespace()
        .nth(1)
        .and_then(|word| word.parse().ok())
        .unwrap_or_else(|| panic!("no item count in {pool:?}"));
    assert!(put > 0, "{pool}");
}
