//! The result table: one row per (run, variant) with the start-lateness
//! percentiles and missed deadlines, and under the Pro Audio row of every
//! loaded run its targets, one line each, laid out like the peers bench's
//! table (columns separated by two or more spaces, a rule between runs, the
//! notes after it, the same closing line).

use crate::{fmt_num, markdown_table, text_table};

use super::rt::Figures;

/// The result of one target.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Pass,
    Fail,
    /// The peer has no figures: a broken run, smoke or not.
    NoPeer,
    /// Not judged, and why.
    NotApplicable(String),
}

#[derive(Clone, Debug)]
pub struct Target {
    pub text: String,
    pub ratio: Option<f64>,
    pub verdict: Verdict,
}

pub struct Line {
    pub workload: String,
    pub contestant: &'static str,
    pub figures: Option<Figures>,
    pub policy: String,
    pub targets: Vec<Target>,
}

#[derive(Default)]
pub struct Table {
    pub lines: Vec<Line>,
    pub notes: Vec<String>,
    /// A smoke run: a missed target reads "not met (smoke)".
    pub informational: bool,
}

const HEADERS: [&str; 13] = [
    "workload",
    "contestant",
    "unit",
    "p50",
    "p99",
    "p99.9",
    "max",
    "missed",
    "run p99",
    "policy",
    "ratio",
    "target",
    "result",
];
const NUMERIC: [bool; 13] = [
    false, false, false, true, true, true, true, true, true, false, true, false, false,
];

impl Table {
    fn result(&self, verdict: &Verdict) -> String {
        match verdict {
            Verdict::Pass => "PASS".to_owned(),
            Verdict::Fail if self.informational => "not met (smoke)".to_owned(),
            Verdict::Fail => "FAIL".to_owned(),
            Verdict::NoPeer => "FAIL (no peer)".to_owned(),
            Verdict::NotApplicable(why) => format!("not applicable: {why}"),
        }
    }

    fn cells(&self) -> Vec<(usize, [String; 13])> {
        let mut out = Vec::new();
        for (index, line) in self.lines.iter().enumerate() {
            let dash = || "-".to_owned();
            let stats: [String; 10] = match &line.figures {
                Some(f) if f.lateness.count > 0 => [
                    line.workload.clone(),
                    line.contestant.to_owned(),
                    "us late".to_owned(),
                    fmt_num(f.lateness.p50),
                    fmt_num(f.lateness.p99),
                    fmt_num(f.lateness.p999),
                    fmt_num(f.lateness.max),
                    format!("{}/{}", f.missed, f.periods),
                    fmt_num(f.runtime.p99),
                    line.policy.clone(),
                ],
                _ => [
                    line.workload.clone(),
                    line.contestant.to_owned(),
                    "us late".to_owned(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    line.policy.clone(),
                ],
            };
            let judged: Vec<[String; 3]> = line
                .targets
                .iter()
                .map(|t| {
                    [
                        t.ratio.map_or("-".to_owned(), |r| format!("{r:.2}x")),
                        t.text.clone(),
                        self.result(&t.verdict),
                    ]
                })
                .collect();
            let none = ["-".to_owned(), "-".to_owned(), "-".to_owned()];
            for (i, [ratio, target, result]) in judged
                .into_iter()
                .chain(std::iter::once(none).filter(|_| line.targets.is_empty()))
                .enumerate()
            {
                let s: [String; 10] = if i == 0 {
                    stats.clone()
                } else {
                    Default::default()
                };
                let [a, b, c, d, e, f, g, h, j, k] = s;
                out.push((index, [a, b, c, d, e, f, g, h, j, k, ratio, target, result]));
            }
        }
        out
    }

    /// The plain-text table and the notes.
    pub fn text(&self) -> String {
        let cells = self.cells();
        let rows: Vec<(&str, [String; 13])> = cells
            .into_iter()
            .map(|(index, row)| (self.lines[index].workload.as_str(), row))
            .collect();
        text_table(&HEADERS, &NUMERIC, &rows, &self.notes)
    }

    /// The same as Markdown under `title`, with `preamble` lines before it.
    pub fn markdown(&self, title: &str, preamble: &[String]) -> String {
        let rows: Vec<[String; 13]> = self.cells().into_iter().map(|(_, row)| row).collect();
        markdown_table(title, preamble, &HEADERS, &NUMERIC, &rows, &self.notes)
    }

    fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.lines
            .iter()
            .flat_map(|l| &l.targets)
            .filter(|t| f(&t.verdict))
            .count()
    }

    /// The closing line, worded as the peers bench words it.
    pub fn summary(&self, wall_s: f64) -> String {
        let judged = self.count(|v| !matches!(v, Verdict::NotApplicable(_)));
        let met = self.count(|v| *v == Verdict::Pass);
        let skipped = self.count(|v| matches!(v, Verdict::NotApplicable(_)));
        let tail = if skipped > 0 {
            format!(" ({skipped} not applicable)")
        } else {
            String::new()
        };
        if self.informational {
            format!(
                "targets (information only: noise expected in smoke runs; `cargo bench` judges \
                 them): {met} of {judged} met{tail}; {wall_s:.0} s in all"
            )
        } else {
            format!("targets: {met} of {judged} met{tail}; {wall_s:.0} s in all")
        }
    }
}

/// The targets of one loaded run, on the Pro Audio row: within 1.2x of the
/// floor at p99 and p99.9 start lateness, no more missed deadlines than the
/// floor, and at least 10x fewer than the SCHED_OTHER queue and tokio where
/// those miss any. `no_privilege`: why none can be judged, if so.
pub fn targets(
    pro_audio: Option<&Figures>,
    floor: Option<&Figures>,
    other: Option<&Figures>,
    tokio: Option<&Figures>,
    no_privilege: Option<&str>,
) -> Vec<Target> {
    let mut targets = Vec::new();
    let na = |text: String, why: &str| Target {
        text,
        ratio: None,
        verdict: Verdict::NotApplicable(why.to_owned()),
    };
    let no_peer = |text: String| Target {
        text,
        ratio: None,
        verdict: Verdict::NoPeer,
    };
    let judged = |text: String, ratio: Option<f64>, met: bool| Target {
        text,
        ratio,
        verdict: if met { Verdict::Pass } else { Verdict::Fail },
    };
    let latency = |text: &str, pick: fn(&Figures) -> f64| -> Target {
        let text = format!("{text} <= 1.20x floor");
        match (pro_audio, floor) {
            (Some(own), Some(floor)) => {
                let (own, floor) = (pick(own), pick(floor));
                let ratio = if floor > 0.0 {
                    own / floor
                } else if own > 0.0 {
                    f64::INFINITY
                } else {
                    1.0
                };
                judged(text, Some(ratio), ratio <= 1.2)
            }
            _ => no_peer(text),
        }
    };
    let texts = [
        "p99 late <= 1.20x floor".to_owned(),
        "p99.9 late <= 1.20x floor".to_owned(),
        "missed <= floor's".to_owned(),
        format!("missed <= 0.10x {}", super::variants::OTHER),
        format!("missed <= 0.10x {}", super::variants::TOKIO),
    ];
    if let Some(why) = no_privilege {
        return texts.into_iter().map(|t| na(t, why)).collect();
    }
    targets.push(latency("p99 late", |f| f.lateness.p99));
    targets.push(latency("p99.9 late", |f| f.lateness.p999));
    targets.push(match (pro_audio, floor) {
        (Some(own), Some(floor)) => judged(
            texts[2].clone(),
            (floor.missed > 0).then(|| own.missed as f64 / floor.missed as f64),
            own.missed <= floor.missed,
        ),
        _ => no_peer(texts[2].clone()),
    });
    for (text, peer) in [(texts[3].clone(), other), (texts[4].clone(), tokio)] {
        targets.push(match (pro_audio, peer) {
            (Some(_), Some(peer)) if peer.missed == 0 => na(text, "peer missed none"),
            (Some(own), Some(peer)) => judged(
                text,
                Some(own.missed as f64 / peer.missed as f64),
                own.missed * 10 <= peer.missed,
            ),
            _ => no_peer(text),
        });
    }
    targets
}
