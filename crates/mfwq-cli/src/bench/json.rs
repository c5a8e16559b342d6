//! `mfwq bench --json`: the run as one JSON document on standard output.
//!
//! ```json
//! {
//!   "tool": "mfwq bench", "version": "0.1.0",
//!   "rounds": 15, "warmup": 1, "scale": 1.0, "targets_judged": true,
//!   "workloads": ["fanout-mt", ...], "conditions": ["machine: ...", ...],
//!   "wall_s": 95.2, "targets": { "total": 33, "met": 30 },
//!   "rows": [
//!     { "workload": "fanout-mt", "contestant": "mfwq put_work_item",
//!       "library": "mfwq", "unit": "ns/item",
//!       "median": 521.0, "min": 498.2, "max": 560.1, "spread_pct": 11.9,
//!       "samples": 15,
//!       "targets": [ { "target": "thrpt >= 1.00x rayon", "kind": "throughput",
//!                      "peer": "rayon", "factor": 1.0, "ratio": 1.93,
//!                      "met": true, "result": "PASS" }, ... ] },
//!     ...
//!   ],
//!   "notes": ["serial: ...", ...]
//! }
//! ```
//!
//! Every row's unit is a cost: lower is better. `ratio` is the table's: for
//! a throughput target the peer's median over this row's (above 1: mfwq
//! does more per second), for a cost target this row's over the peer's
//! (below 1: mfwq is cheaper); `null` for an absolute limit (`at_most`,
//! whose `factor` is the limit in the row's unit) and when the peer has no
//! row. `met` is `null` when the peer has no row; `result` is the table's
//! cell (`PASS`, `FAIL`, `not met (smoke)`, `FAIL (no peer)`).

use mfwq_bench::peers::Workload;
use mfwq_bench::{Config, Goal, Report, Row};
use serde::Serialize;

use super::Library;

/// The whole document.
#[derive(Serialize)]
pub struct Results<'a> {
    tool: &'static str,
    version: &'static str,
    rounds: usize,
    warmup: usize,
    scale: f64,
    /// False below scale 1: missed targets are information only.
    targets_judged: bool,
    workloads: Vec<&'static str>,
    conditions: &'a [String],
    wall_s: f64,
    targets: Count,
    rows: Vec<JsonRow<'a>>,
    notes: &'a [String],
}

#[derive(Serialize)]
struct Count {
    total: usize,
    met: usize,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    workload: &'a str,
    contestant: &'a str,
    library: &'static str,
    unit: &'a str,
    median: f64,
    min: f64,
    max: f64,
    spread_pct: f64,
    samples: usize,
    targets: Vec<Target>,
}

#[derive(Serialize)]
struct Target {
    target: String,
    kind: &'static str,
    peer: Option<String>,
    factor: f64,
    ratio: Option<f64>,
    met: Option<bool>,
    result: &'static str,
}

impl<'a> Results<'a> {
    /// The document for a run of `workloads` under `cfg` that produced `report`.
    pub fn new(
        cfg: &Config,
        workloads: &[&Workload],
        conditions: &'a [String],
        report: &'a Report,
        wall_s: f64,
    ) -> Results<'a> {
        Results {
            tool: "mfwq bench",
            version: env!("CARGO_PKG_VERSION"),
            rounds: cfg.rounds,
            warmup: cfg.warmup,
            scale: cfg.scale,
            targets_judged: !report.targets_informational(),
            workloads: workloads.iter().map(|w| w.name).collect(),
            conditions,
            wall_s,
            targets: Count {
                total: report.targets(),
                met: report.targets() - report.failures(),
            },
            rows: report
                .rows()
                .iter()
                .map(|row| row_of(report, row))
                .collect(),
            notes: report.notes(),
        }
    }
}

fn row_of<'a>(report: &Report, row: &'a Row) -> JsonRow<'a> {
    let s = &row.summary;
    JsonRow {
        workload: &row.workload,
        contestant: &row.contestant,
        library: Library::of(&row.contestant).name(),
        unit: &row.unit,
        median: s.median,
        min: s.min,
        max: s.max,
        spread_pct: s.spread_pct(),
        samples: s.count,
        targets: row
            .goals
            .iter()
            .map(|goal| {
                let verdict = report.verdict(row, goal);
                let (kind, peer, factor) = match goal {
                    Goal::ThroughputVs { peer, factor } => {
                        ("throughput", Some(peer.clone()), *factor)
                    }
                    Goal::TimeVs { peer, factor } => ("cost", Some(peer.clone()), *factor),
                    Goal::AtMost(limit) => ("at_most", None, *limit),
                };
                Target {
                    result: report.result(&verdict),
                    target: verdict.target,
                    kind,
                    peer,
                    factor,
                    ratio: verdict.ratio,
                    met: verdict.pass,
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use mfwq_bench::Summary;

    use super::*;

    #[test]
    fn rows_carry_their_targets_and_ratios() {
        let mut report = Report::new();
        report.push(
            Row::new(
                "w",
                "mfwq put",
                "ns/item",
                Summary::of(&[90.0, 100.0, 130.0]).unwrap(),
            )
            .with_goal(Goal::throughput_vs("tokio", 3.0))
            .with_goal(Goal::AtMost(50.0)),
        );
        report.push(Row::new("w", "tokio", "ns/item", Summary::single(400.0)));
        let cfg = Config::parse(["--bench"], |_| None).unwrap();
        let conditions = vec!["machine: test".to_owned()];
        let doc = Results::new(&cfg, &[], &conditions, &report, 1.5);
        let value = serde_json::to_value(&doc).unwrap();
        assert_eq!(value["targets"]["total"], 2);
        assert_eq!(value["targets"]["met"], 1);
        let row = &value["rows"][0];
        assert_eq!(row["library"], "mfwq");
        assert_eq!(row["median"], 100.0);
        assert_eq!(row["spread_pct"], 40.0);
        assert_eq!(row["targets"][0]["kind"], "throughput");
        assert_eq!(row["targets"][0]["peer"], "tokio");
        assert_eq!(row["targets"][0]["ratio"], 4.0);
        assert_eq!(row["targets"][0]["result"], "PASS");
        assert_eq!(row["targets"][1]["kind"], "at_most");
        assert!(row["targets"][1]["ratio"].is_null());
        assert_eq!(row["targets"][1]["met"], false);
        assert_eq!(value["rows"][1]["library"], "tokio");
        assert!(value["rows"][1]["targets"].as_array().unwrap().is_empty());
    }
}
