//! The result table: one row per (workload, contestant), with the target each
//! mfwq row is held to and whether it meets it.

use crate::stats::Summary;

/// What an mfwq row is held to. Every row's unit is a cost (lower is better:
/// ns per item, bytes per item, ...), so a throughput target is read off the
/// inverse ratio.
#[derive(Clone, Debug, PartialEq)]
pub enum Goal {
    /// Throughput at least `factor` times the peer's:
    /// ratio = peer median / own median, pass when `ratio >= factor`.
    ThroughputVs {
        /// The contestant name of the peer row in the same workload.
        peer: String,
        /// The required throughput ratio.
        factor: f64,
    },
    /// Cost at most `factor` times the peer's:
    /// ratio = own median / peer median, pass when `ratio <= factor`.
    TimeVs {
        /// The contestant name of the peer row in the same workload.
        peer: String,
        /// The allowed cost ratio.
        factor: f64,
    },
    /// Own median at most this value, in the row's unit.
    AtMost(f64),
}

impl Goal {
    /// Throughput at least `factor` x `peer`.
    pub fn throughput_vs(peer: &str, factor: f64) -> Goal {
        Goal::ThroughputVs {
            peer: peer.to_owned(),
            factor,
        }
    }

    /// Cost at most `factor` x `peer`.
    pub fn time_vs(peer: &str, factor: f64) -> Goal {
        Goal::TimeVs {
            peer: peer.to_owned(),
            factor,
        }
    }
}

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Workload name (`fanout-mt`, ...).
    pub workload: String,
    /// Contestant name (`mfwq put_work_item`, `rayon`, ...).
    pub contestant: String,
    /// The unit of the numbers (`ns/item`, ...).
    pub unit: String,
    /// Median, min, max over the rounds.
    pub summary: Summary,
    /// The targets the row is held to (none for peers and informational rows).
    pub goals: Vec<Goal>,
}

impl Row {
    /// A row without a target.
    pub fn new(workload: &str, contestant: &str, unit: &str, summary: Summary) -> Row {
        Row {
            workload: workload.to_owned(),
            contestant: contestant.to_owned(),
            unit: unit.to_owned(),
            summary,
            goals: Vec::new(),
        }
    }

    /// The same row, also held to `goal`.
    pub fn with_goal(mut self, goal: Goal) -> Row {
        self.goals.push(goal);
        self
    }
}

/// A row's comparison with one of its targets ([`Report::verdict`]): the
/// table's `ratio`, `target` and (through [`Report::result`]) `result` cells.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The ratio the target is judged on (throughput: peer median / own
    /// median; cost: own median / peer median); `None` for an absolute limit
    /// or when the peer has no row.
    pub ratio: Option<f64>,
    /// The target in words, e.g. `thrpt >= 3.00x tokio`.
    pub target: String,
    /// Met or not; `None` when the peer has no row (a failure).
    pub pass: Option<bool>,
}

/// All rows of a run, plus free-form notes printed under the table.
#[derive(Clone, Debug, Default)]
pub struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
    informational: bool,
}

/// The result cell of a target missed in a smoke run.
pub const NOT_MET_IN_SMOKE: &str = "not met (smoke)";

const HEADERS: [&str; 10] = [
    "workload",
    "contestant",
    "unit",
    "median",
    "min",
    "max",
    "spread",
    "ratio",
    "target",
    "result",
];

/// Columns right-aligned in the text table.
const NUMERIC: [bool; 10] = [
    false, false, false, true, true, true, true, true, false, false,
];

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report::default()
    }

    /// Adds a row.
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Adds a note line.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The rows so far.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The notes so far.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Targets as information only: a smoke run (one round at 1% size, on a
    /// machine busy with other work) says nothing about them, so a missed
    /// target reads `not met (smoke)` instead of `FAIL`, and
    /// [`Report::summary`] says so. A target without its peer's figures still
    /// reads `FAIL (no peer)`: a contestant that produced nothing is a broken
    /// run, smoke or not. `cargo bench` runs keep `FAIL`.
    pub fn set_targets_informational(&mut self, informational: bool) {
        self.informational = informational;
    }

    /// The closing line: how many targets were met, and `wall_s` seconds;
    /// in a smoke run (see [`Report::set_targets_informational`]) marked as
    /// information.
    pub fn summary(&self, wall_s: f64) -> String {
        let met = self.targets() - self.failures();
        if self.informational {
            format!(
                "targets (information only: noise expected in smoke runs; `cargo bench` judges \
                 them): {met} of {} met; {wall_s:.0} s in all",
                self.targets()
            )
        } else {
            format!(
                "targets: {met} of {} met; {wall_s:.0} s in all",
                self.targets()
            )
        }
    }

    /// How many targets failed (a missing peer counts as failed).
    pub fn failures(&self) -> usize {
        self.rows
            .iter()
            .flat_map(|row| row.goals.iter().map(move |goal| self.verdict(row, goal)))
            .filter(|v| v.pass != Some(true))
            .count()
    }

    /// How many targets there are.
    pub fn targets(&self) -> usize {
        self.rows.iter().map(|row| row.goals.len()).sum()
    }

    fn peer(&self, row: &Row, peer: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|other| other.workload == row.workload && other.contestant == peer)
    }

    /// How `row` (one of this report's rows) fares against `goal` (one of
    /// its goals).
    pub fn verdict(&self, row: &Row, goal: &Goal) -> Verdict {
        let own = row.summary.median;
        match goal {
            Goal::ThroughputVs { peer, factor } => {
                let ratio = self
                    .peer(row, peer)
                    .filter(|_| own > 0.0)
                    .map(|p| p.summary.median / own);
                Verdict {
                    ratio,
                    target: format!("thrpt >= {factor:.2}x {peer}"),
                    pass: ratio.map(|r| r >= *factor),
                }
            }
            Goal::TimeVs { peer, factor } => {
                let ratio = self
                    .peer(row, peer)
                    .filter(|p| p.summary.median > 0.0)
                    .map(|p| own / p.summary.median);
                Verdict {
                    ratio,
                    target: format!("cost <= {factor:.2}x {peer}"),
                    pass: ratio.map(|r| r <= *factor),
                }
            }
            Goal::AtMost(limit) => Verdict {
                ratio: None,
                target: format!("<= {} {}", fmt_num(*limit), row.unit),
                pass: Some(own <= *limit),
            },
        }
    }

    /// The table's `result` cell for `verdict`: `PASS`, `FAIL`, `not met
    /// (smoke)` (a missed target when targets are information only, see
    /// [`Report::set_targets_informational`]) or `FAIL (no peer)`.
    pub fn result(&self, verdict: &Verdict) -> &'static str {
        match verdict.pass {
            Some(true) => "PASS",
            Some(false) if self.informational => NOT_MET_IN_SMOKE,
            Some(false) => "FAIL",
            None => "FAIL (no peer)",
        }
    }

    /// Whether targets are information only ([`Report::set_targets_informational`]).
    pub fn targets_informational(&self) -> bool {
        self.informational
    }

    /// One line per row and extra lines for a row's second and later goals
    /// (stats left blank there); each line with the index of its row.
    fn cells(&self) -> Vec<(usize, [String; 10])> {
        let mut lines = Vec::new();
        for (index, row) in self.rows.iter().enumerate() {
            let s = &row.summary;
            let stats = [
                row.workload.clone(),
                row.contestant.clone(),
                row.unit.clone(),
                fmt_num(s.median),
                fmt_num(s.min),
                fmt_num(s.max),
                format!("{:.0}%", s.spread_pct()),
            ];
            let judged: Vec<[String; 3]> = row
                .goals
                .iter()
                .map(|goal| {
                    let v = self.verdict(row, goal);
                    [
                        v.ratio.map_or("-".to_owned(), |r| format!("{r:.2}x")),
                        v.target.clone(),
                        self.result(&v).to_owned(),
                    ]
                })
                .collect();
            let none = ["-".to_owned(), "-".to_owned(), "-".to_owned()];
            for (i, [ratio, target, result]) in judged
                .into_iter()
                .chain(std::iter::once(none).filter(|_| row.goals.is_empty()))
                .enumerate()
            {
                let [w, c, u, med, min, max, spread] = if i == 0 {
                    stats.clone()
                } else {
                    Default::default()
                };
                lines.push((
                    index,
                    [w, c, u, med, min, max, spread, ratio, target, result],
                ));
            }
        }
        lines
    }

    /// The plain-text table, columns aligned, a rule under the header and
    /// between workloads, then the notes.
    pub fn table(&self) -> String {
        let cells = self.cells();
        let rows: Vec<(&str, [String; 10])> = cells
            .into_iter()
            .map(|(index, row)| (self.rows[index].workload.as_str(), row))
            .collect();
        text_table(&HEADERS, &NUMERIC, &rows, &self.notes)
    }

    /// The same table as Markdown, under `title`, with `preamble` lines
    /// (run conditions) before it and the notes as a list after it.
    pub fn markdown(&self, title: &str, preamble: &[String]) -> String {
        let rows: Vec<[String; 10]> = self.cells().into_iter().map(|(_, row)| row).collect();
        markdown_table(title, preamble, &HEADERS, &NUMERIC, &rows, &self.notes)
    }
}

/// A plain-text table: `headers`, then `rows`, columns aligned (right where
/// `numeric`), a rule under the header and between rows of different
/// workloads (each row's first element names its workload), then `notes`.
/// Shared by the peers, C-ABI and real-time benches.
pub fn text_table<const N: usize>(
    headers: &[&str; N],
    numeric: &[bool; N],
    rows: &[(&str, [String; N])],
    notes: &[String],
) -> String {
    let mut widths = headers.map(str::len);
    for (_, row) in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |fields: &[String; N]| -> String {
        let mut out = String::new();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            if numeric[i] {
                out.push_str(&format!("{field:>w$}", w = widths[i]));
            } else {
                out.push_str(&format!("{field:<w$}", w = widths[i]));
            }
        }
        out.trim_end().to_owned()
    };
    let rule = "-".repeat(widths.iter().sum::<usize>() + 2 * (N - 1));
    let mut out = String::new();
    out.push_str(&line(&headers.map(str::to_owned)));
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    let mut previous: Option<&str> = None;
    for (workload, row) in rows {
        if previous.is_some_and(|p| p != *workload) {
            out.push_str(&rule);
            out.push('\n');
        }
        previous = Some(workload);
        out.push_str(&line(row));
        out.push('\n');
    }
    for note in notes {
        out.push_str(note);
        out.push('\n');
    }
    out
}

/// [`text_table`] as Markdown, under `title`, with `preamble` lines (run
/// conditions) before it and the notes as a list after it.
pub fn markdown_table<const N: usize>(
    title: &str,
    preamble: &[String],
    headers: &[&str; N],
    numeric: &[bool; N],
    rows: &[[String; N]],
    notes: &[String],
) -> String {
    let mut out = format!("# {title}\n\n");
    for line in preamble {
        out.push_str(&format!("- {line}\n"));
    }
    if !preamble.is_empty() {
        out.push('\n');
    }
    out.push_str(&format!("| {} |\n", headers.join(" | ")));
    let aligns: Vec<&str> = numeric
        .iter()
        .map(|&n| if n { "---:" } else { "---" })
        .collect();
    out.push_str(&format!("| {} |\n", aligns.join(" | ")));
    for row in rows {
        let escaped: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        out.push_str(&format!("| {} |\n", escaped.join(" | ")));
    }
    if !notes.is_empty() {
        out.push('\n');
        for note in notes {
            out.push_str(&format!("- {note}\n"));
        }
    }
    out
}

/// A number with about three significant digits (no exponent): `1234`,
/// `123`, `12.3`, `1.23`, `0.123`.
pub fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        format!("{x}")
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 || a == 0.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut r = Report::new();
        r.push(
            Row::new(
                "w",
                "mfwq",
                "ns/item",
                Summary::of(&[100.0, 110.0, 90.0]).unwrap(),
            )
            .with_goal(Goal::throughput_vs("peer", 1.0)),
        );
        r.push(
            Row::new("w", "mfwq slow", "ns/item", Summary::single(400.0))
                .with_goal(Goal::throughput_vs("peer", 1.0)),
        );
        r.push(Row::new("w", "peer", "ns/item", Summary::single(200.0)));
        r.push(
            Row::new("x", "mfwq", "ns/hop", Summary::single(120.0))
                .with_goal(Goal::time_vs("peer", 1.2)),
        );
        r.push(Row::new("x", "peer", "ns/hop", Summary::single(100.0)));
        r.push(
            Row::new("y", "mfwq", "us/pair", Summary::single(60.0)).with_goal(Goal::AtMost(50.0)),
        );
        r.push(
            Row::new("z", "mfwq", "ns/hop", Summary::single(1.0))
                .with_goal(Goal::time_vs("missing", 1.0)),
        );
        r
    }

    #[test]
    fn verdicts_follow_the_goal_direction() {
        let r = report();
        let v: Vec<_> = r
            .rows()
            .iter()
            .map(|row| row.goals.first().map(|goal| r.verdict(row, goal)))
            .collect();
        // Twice the peer's throughput.
        assert_eq!(v[0].as_ref().unwrap().ratio, Some(2.0));
        assert_eq!(v[0].as_ref().unwrap().pass, Some(true));
        // Half of it.
        assert_eq!(v[1].as_ref().unwrap().ratio, Some(0.5));
        assert_eq!(v[1].as_ref().unwrap().pass, Some(false));
        assert!(v[2].is_none());
        // 1.2x the peer's cost, allowed 1.2x: the boundary passes.
        assert!((v[3].as_ref().unwrap().ratio.unwrap() - 1.2).abs() < 1e-12);
        assert_eq!(v[3].as_ref().unwrap().pass, Some(true));
        assert_eq!(v[5].as_ref().unwrap().pass, Some(false));
        assert_eq!(v[6].as_ref().unwrap().pass, None);
        assert_eq!(r.targets(), 5);
        assert_eq!(r.failures(), 3);
    }

    #[test]
    fn table_is_aligned() {
        let mut r = report();
        r.note("a note");
        let table = r.table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("workload"));
        assert!(lines[1].chars().all(|c| c == '-'));
        // Every data line puts the median column at the same right edge.
        let header_median_end = lines[0].find("median").unwrap() + "median".len();
        let medians: Vec<&str> = lines
            .iter()
            .filter(|l| l.starts_with("w  "))
            .map(|l| &l[header_median_end - 3..header_median_end])
            .collect();
        assert_eq!(medians, ["100", "400", "200"]);
        assert!(table.contains("PASS"));
        assert!(table.contains("FAIL (no peer)"));
        assert!(table.contains("thrpt >= 1.00x peer"));
        assert!(table.contains("cost <= 1.20x peer"));
        assert!(table.contains("<= 50.0 us/pair"));
        assert!(table.ends_with("a note\n"));
        // A rule between workloads: one under the header plus three.
        assert_eq!(lines.iter().filter(|l| l.starts_with("---")).count(), 4);
    }

    #[test]
    fn markdown_has_one_line_per_row() {
        let r = report();
        let md = r.markdown("t", &["rounds: 5".to_owned()]);
        assert!(md.starts_with("# t\n\n- rounds: 5\n\n| workload |"));
        assert_eq!(md.lines().filter(|l| l.starts_with("| ")).count(), 2 + 7);
    }

    #[test]
    fn a_second_goal_gets_its_own_line() {
        let mut r = Report::new();
        r.push(
            Row::new("w", "mfwq", "ns/item", Summary::single(100.0))
                .with_goal(Goal::throughput_vs("a", 1.0))
                .with_goal(Goal::throughput_vs("b", 3.0)),
        );
        r.push(Row::new("w", "a", "ns/item", Summary::single(120.0)));
        r.push(Row::new("w", "b", "ns/item", Summary::single(200.0)));
        assert_eq!(r.targets(), 2);
        assert_eq!(r.failures(), 1);
        let table = r.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2 + 4);
        assert!(lines[2].contains("1.20x") && lines[2].contains("PASS"));
        assert!(lines[3].trim_start().starts_with("2.00x"));
        assert!(lines[3].contains("thrpt >= 3.00x b") && lines[3].contains("FAIL"));
    }

    #[test]
    fn smoke_runs_report_missed_targets_as_information() {
        let mut r = report();
        assert!(r.table().contains("FAIL\n"));
        assert!(r.summary(2.0).starts_with("targets: 2 of 5 met"));
        r.set_targets_informational(true);
        let table = r.table();
        assert_eq!(
            table
                .lines()
                .filter(|l| l.ends_with(NOT_MET_IN_SMOKE))
                .count(),
            2
        );
        // A missing peer is still a failure: that contestant produced nothing.
        assert_eq!(table.matches("FAIL").count(), 1);
        assert!(table.contains("FAIL (no peer)"));
        assert!(r.summary(2.0).contains("noise expected in smoke runs"));
        assert!(r.summary(2.0).contains("2 of 5 met"));
        assert_eq!(r.failures(), 3);
    }

    #[test]
    fn numbers_have_about_three_digits() {
        assert_eq!(fmt_num(1234.4), "1234");
        assert_eq!(fmt_num(123.46), "123");
        assert_eq!(fmt_num(12.345), "12.3");
        assert_eq!(fmt_num(1.2345), "1.23");
        assert_eq!(fmt_num(0.12345), "0.123");
        assert_eq!(fmt_num(0.0), "0.00");
    }
}
