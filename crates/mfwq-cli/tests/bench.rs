//! `mfwq bench`, run as a user runs it: the built binary at a tiny size
//! (1% of the items, one round, no warm-up) on three quick workloads, one
//! per panel of the chart (time per operation: `fanout-serial`, `churn`;
//! bytes: `memory`, which also proves the binary's counting allocator
//! counts). A few seconds in all.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const TINY: [&str; 6] = ["--scale", "0.01", "--rounds", "1", "--warmup", "0"];
const WORKLOADS: [&str; 3] = ["fanout-serial", "churn", "memory"];

fn mfwq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mfwq"))
        .args(args)
        .output()
        .expect("run the mfwq binary")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mfwq-cli-bench");
    std::fs::create_dir_all(&dir).expect("make the scratch directory");
    dir.join(format!("{}-{name}", std::process::id()))
}

fn succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "mfwq bench failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn json_has_every_row_and_the_svg_draws_them() {
    let svg_path = scratch("bench.svg");
    let svg_arg = svg_path.to_str().expect("a UTF-8 path");
    let mut args = vec!["bench", "--json", "--plot", svg_arg];
    args.extend(TINY);
    args.extend(WORKLOADS);
    let output = mfwq(&args);
    succeeded(&output);

    // The JSON: the whole of standard output.
    let doc: Value = serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["tool"], "mfwq bench");
    assert_eq!(doc["scale"], 0.01);
    assert_eq!(doc["rounds"], 1);
    assert_eq!(
        doc["targets_judged"], false,
        "below scale 1 targets only inform"
    );
    assert_eq!(doc["workloads"], serde_json::json!(WORKLOADS));
    let rows = doc["rows"].as_array().expect("rows");
    for workload in WORKLOADS {
        assert!(
            rows.iter().any(|row| row["workload"] == workload),
            "no row for {workload}"
        );
    }
    for row in rows {
        let median = row["median"].as_f64().expect("a numeric median");
        assert!(median >= 0.0, "{row}");
        assert!(row["min"].as_f64().unwrap() <= median && median <= row["max"].as_f64().unwrap());
        assert!(row["spread_pct"].as_f64().is_some(), "{row}");
        assert!(!row["unit"].as_str().unwrap().is_empty(), "{row}");
        assert!(row["targets"].is_array(), "{row}");
    }
    // fanout-serial's mfwq rows are held to crossbeam's cost: a ratio.
    let put = rows
        .iter()
        .find(|row| row["workload"] == "fanout-serial" && row["contestant"] == "mfwq put_work_item")
        .expect("fanout-serial's put_work_item row");
    assert_eq!(put["library"], "mfwq");
    assert_eq!(put["unit"], "ns/item");
    let target = &put["targets"][0];
    assert_eq!(target["kind"], "cost");
    assert_eq!(target["peer"], "crossbeam");
    assert_eq!(target["factor"], 1.3);
    assert!(target["ratio"].as_f64().expect("a ratio") > 0.0);
    // The memory workload counted bytes: the binary installs the counter.
    let memory: Vec<&Value> = rows.iter().filter(|r| r["workload"] == "memory").collect();
    assert_eq!(memory.len(), 5, "mfwq x2, crossbeam, tokio, rayon");
    assert!(memory.iter().all(|row| row["unit"] == "B/item"));

    // The chart: well-formed SVG with a legend entry per library and a bar
    // per row.
    let svg = std::fs::read_to_string(&svg_path).expect("the chart was written");
    let tree = roxmltree::Document::parse(&svg).expect("the chart is well-formed XML");
    assert_eq!(tree.root_element().tag_name().name(), "svg");
    let texts: Vec<String> = tree
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_owned())
        .collect();
    for series in ["mfwq", "tokio", "rayon", "crossbeam-channel"] {
        assert!(
            texts.iter().any(|t| t == series),
            "no legend entry {series:?}"
        );
    }
    for workload in WORKLOADS {
        assert!(
            texts.iter().any(|t| t == workload),
            "no heading {workload:?}"
        );
    }
    for row in rows {
        let contestant = row["contestant"].as_str().unwrap();
        assert!(
            texts.iter().any(|t| t == contestant),
            "no label {contestant:?}"
        );
    }
    let rects: Vec<_> = tree
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .collect();
    assert!(
        rects.len() > rows.len() + 4,
        "{} rects for {} rows",
        rects.len(),
        rows.len()
    );
    let fills: std::collections::BTreeSet<String> = rects
        .iter()
        .filter_map(|n| n.attribute("fill"))
        .map(str::to_ascii_lowercase)
        .collect();
    assert!(
        fills.len() >= 4 + 2,
        "a colour per library, the background and the bands: {fills:?}"
    );
    assert!(
        tree.descendants()
            .any(|n| n.has_tag_name("line") || n.has_tag_name("polyline")),
        "no axis or grid line"
    );
    let _ = std::fs::remove_file(&svg_path);
}

#[test]
fn the_table_is_the_bench_table() {
    let mut args = vec!["bench"];
    args.extend(TINY);
    args.push("churn");
    let output = mfwq(&args);
    succeeded(&output);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let header = stdout
        .lines()
        .find(|l| l.starts_with("workload"))
        .expect("the table's header");
    for column in [
        "contestant",
        "unit",
        "median",
        "spread",
        "ratio",
        "target",
        "result",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert!(stdout.contains("churn  "), "{stdout}");
    assert!(stdout.contains("mfwq alloc+unlock"), "{stdout}");
    assert!(
        stdout.contains("targets (information only below --scale 1): "),
        "{stdout}"
    );
}

#[test]
fn list_and_usage_errors() {
    let output = mfwq(&["bench", "--list"]);
    succeeded(&output);
    let list = String::from_utf8(output.stdout).unwrap();
    assert_eq!(list.lines().count(), 19, "{list}");
    assert!(list
        .lines()
        .any(|l| l.trim_start().starts_with("fanout-mt ")));

    let output = mfwq(&["bench", "no-such-workload"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no workload"));

    let output = mfwq(&["bench", "--rounds", "0"]);
    assert_eq!(output.status.code(), Some(2));
}
