//! The summary at the end: one table of what each stage did, one of the
//! checks that decide whether the run passed. The checks are computed here,
//! from the counters the stages kept, and each prints its rule next to what
//! was measured, so that a FAIL says which promise was broken.

use std::time::Duration;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use mfwq::{AppliedScheduling, SchedPolicy};

use super::stats::{fmt_duration, fmt_opt, Stage};
use super::video::SLICES;
use super::Pipeline;

/// Late blocks the audio check allows, per thousand blocks (rounded up, so
/// that a short run allows one), when the device and audio queues got a
/// real-time policy: even then a VM's stolen time or a storm of interrupts
/// can push a rare block past its deadline, but more than one in a thousand
/// means the real-time path is not doing its job.
const LATE_PER_MILLE_REALTIME: u64 = 1;
/// The same when they fell back to normal scheduling and compete with the
/// decoder and the `--load` threads: one block in a hundred, past which a
/// listener hears clicks all the time.
const LATE_PER_MILLE_FALLBACK: u64 = 10;

/// What the run leaves for the summary besides the pipeline's counters.
pub struct Outcome {
    /// The audio queue's scheduling after the run (`None` if it could not be read).
    pub scheduling: Option<AppliedScheduling>,
    /// The device queue's, likewise.
    pub device_scheduling: Option<AppliedScheduling>,
    /// How long dropping the platform guard (MFShutdown) took.
    pub shutdown: Duration,
    /// Whether everything finished before the drain timeout.
    pub drained: bool,
    /// The fps the source ran at.
    pub fps: u32,
}

/// One check: its rule, what was measured, and the verdict.
pub struct Check {
    name: &'static str,
    rule: String,
    measured: String,
    passed: bool,
}

/// A scheduling policy, shortly.
pub fn fmt_policy(policy: SchedPolicy) -> String {
    match policy {
        SchedPolicy::Deadline {
            runtime_ns,
            period_ns,
            ..
        } => format!(
            "SCHED_DEADLINE ({} every {})",
            fmt_duration(Duration::from_nanos(runtime_ns)),
            fmt_duration(Duration::from_nanos(period_ns))
        ),
        other => other.to_string(),
    }
}

/// Whether the audio queue's threads run under a real-time policy.
pub fn is_realtime(scheduling: Option<&AppliedScheduling>) -> bool {
    matches!(
        scheduling.and_then(|s| s.applied),
        Some(
            SchedPolicy::Fifo { .. }
                | SchedPolicy::RoundRobin { .. }
                | SchedPolicy::Deadline { .. }
        )
    )
}

/// The queue's scheduling in a few words: what was applied, and what was
/// asked for if that was refused.
pub fn fmt_scheduling(scheduling: &AppliedScheduling) -> String {
    let applied = scheduling
        .applied
        .map_or_else(|| "nothing yet".to_owned(), fmt_policy);
    if scheduling.fell_back {
        format!(
            "{applied}, not {} (refused)",
            fmt_policy(scheduling.requested)
        )
    } else {
        format!("{applied}, as asked")
    }
}

/// Prints both tables and the verdict; returns whether every check passed.
pub fn print(pipeline: &Pipeline, outcome: &Outcome) -> bool {
    let video = &pipeline.video;
    let audio = &pipeline.audio;
    say!("{}", stage_table(pipeline, outcome));
    let end_to_end = video.end_to_end.summary();
    let start = audio.start_late.summary();
    let device = audio.device_late.summary();
    say!(
        "latency: source = how late the tick woke; decode = emitted -> decoded;\n         \
         render = decoded -> presented; audio = period start -> block done"
    );
    say!(
        "frames end to end (emitted -> presented): p50 {}, p99 {}, max {}",
        fmt_opt(end_to_end.p50),
        fmt_opt(end_to_end.p99),
        fmt_opt(end_to_end.max)
    );
    say!(
        "audio period start -> device awake: p50 {}, p99 {}, max {}\n                   \
         -> block started: p50 {}, p99 {}, max {}; output peak {:.1} dBFS",
        fmt_opt(device.p50),
        fmt_opt(device.p99),
        fmt_opt(device.max),
        fmt_opt(start.p50),
        fmt_opt(start.p99),
        fmt_opt(start.max),
        audio.peak_dbfs()
    );
    // Real-time only if the whole path is: the device's clock and the block.
    let realtime =
        is_realtime(outcome.scheduling.as_ref()) && is_realtime(outcome.device_scheduling.as_ref());
    let checks = checks(pipeline, outcome, realtime);
    say!();
    say!("{}", check_table(&checks));
    let policy_of = |scheduling: Option<&AppliedScheduling>| {
        scheduling
            .and_then(|s| s.applied)
            .map_or_else(|| "unknown".to_owned(), fmt_policy)
    };
    say!(
        "audio rule: late = done more than one period ({}) after the period began. Allowed,\n            \
         rounded up: {}% of blocks when the device and audio queues run real-time, {}% when\n            \
         they fell back to normal scheduling (then they compete with decode and --load).\n            \
         This run: device {}, audio {}: {}.",
        fmt_duration(audio.period()),
        LATE_PER_MILLE_REALTIME as f64 / 10.0,
        LATE_PER_MILLE_FALLBACK as f64 / 10.0,
        policy_of(outcome.device_scheduling.as_ref()),
        policy_of(outcome.scheduling.as_ref()),
        if realtime { "real-time" } else { "fallback" }
    );
    for error in pipeline.errors.first() {
        say!("error: {error}");
    }
    say!(
        "platform: shut down in {} (queues released, platform guard dropped)",
        fmt_duration(outcome.shutdown)
    );
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect();
    if failed.is_empty() {
        say!(
            "demo: PASS ({} of {} checks passed)",
            checks.len(),
            checks.len()
        );
        true
    } else {
        say!(
            "demo: FAIL ({} of {} checks failed: {})",
            failed.len(),
            checks.len(),
            failed.join("; ")
        );
        false
    }
}

fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    table
}

fn align_right(table: &mut Table, columns: std::ops::Range<usize>) {
    for index in columns {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn stage_row(name: &str, stage: &Stage, notes: String) -> Vec<String> {
    let latency = stage.latency.summary();
    vec![
        name.to_owned(),
        stage.inputs().to_string(),
        stage.outputs().to_string(),
        fmt_opt(latency.p50),
        fmt_opt(latency.p99),
        fmt_opt(latency.max),
        notes,
    ]
}

fn stage_table(pipeline: &Pipeline, outcome: &Outcome) -> Table {
    let video = &pipeline.video;
    let audio = &pipeline.audio;
    let mut table = new_table(&["stage", "in", "out", "p50", "p99", "max", "notes"]);
    align_right(&mut table, 1..6);
    table.add_row(stage_row(
        "source",
        &video.source,
        format!("{} fps on queue \"source\"", outcome.fps),
    ));
    let work = video.decode_work.summary();
    table.add_row(stage_row(
        "decode",
        &video.decode,
        format!("{SLICES} slices, {} work a frame", fmt_opt(work.p50)),
    ));
    let reorder = video.reorder();
    table.add_row(stage_row(
        "render",
        &video.render,
        format!(
            "{} reordered, {} held at most",
            reorder.reordered, reorder.max_held
        ),
    ));
    let policy = outcome
        .scheduling
        .and_then(|s| s.applied)
        .map_or_else(|| "policy unknown".to_owned(), fmt_policy);
    table.add_row(stage_row(
        "audio",
        &audio.stage,
        format!("{} late, {policy}", audio.misses()),
    ));
    table
}

fn checks(pipeline: &Pipeline, outcome: &Outcome, realtime: bool) -> Vec<Check> {
    let video = &pipeline.video;
    let audio = &pipeline.audio;
    let frames = video.frames();
    let seen = video.presentation();
    let mut checks = Vec::new();

    let decoded = video.decode.outputs();
    checks.push(Check {
        name: "every frame decoded",
        rule: format!("{frames} emitted and decoded"),
        measured: format!(
            "{} emitted, {decoded} decoded, {} lost",
            video.source.outputs(),
            video.decode.dropped()
        ),
        passed: video.source.outputs() == frames && decoded == frames,
    });

    checks.push(Check {
        name: "frames rendered in order",
        rule: format!("0..{frames} once, in order"),
        measured: format!(
            "{} shown; out of order {}, gaps {}{}",
            seen.presented,
            seen.out_of_order,
            seen.gaps,
            if seen.expected < frames {
                format!(", never came {}", frames - seen.expected)
            } else {
                String::new()
            }
        ),
        passed: seen.presented == frames
            && seen.expected == frames
            && seen.out_of_order == 0
            && seen.gaps == 0,
    });

    let blocks = audio.blocks();
    let done = audio.stage.outputs();
    let per_mille = if realtime {
        LATE_PER_MILLE_REALTIME
    } else {
        LATE_PER_MILLE_FALLBACK
    };
    let allowed = (blocks * per_mille).div_ceil(1000);
    // A block that never ran missed its deadline too.
    let late = audio.misses() + blocks.saturating_sub(done);
    let worst = audio.stage.latency.summary().max;
    checks.push(Check {
        name: "audio blocks on time",
        rule: format!(
            "<= {}% late: {allowed} of {blocks}",
            per_mille as f64 / 10.0
        ),
        measured: format!(
            "{late} late; worst {}",
            worst.map_or_else(
                || "-".to_owned(),
                |worst| match worst.checked_sub(audio.period()) {
                    Some(over) if !over.is_zero() => format!("{} over", fmt_duration(over)),
                    _ => format!("{} to spare", fmt_duration(audio.period() - worst)),
                }
            )
        ),
        passed: done == blocks && late <= allowed,
    });

    let errors = pipeline.errors.count();
    checks.push(Check {
        name: "no errors",
        rule: "no failure, panic, hang".to_owned(),
        measured: format!(
            "{errors} errors, {} corrupt, {}",
            seen.corrupt,
            if outcome.drained {
                "all drained"
            } else {
                "not drained"
            }
        ),
        passed: errors == 0 && seen.corrupt == 0 && outcome.drained,
    });
    checks
}

fn check_table(checks: &[Check]) -> Table {
    let mut table = new_table(&["check", "rule", "measured", "result"]);
    for check in checks {
        table.add_row(vec![
            check.name.to_owned(),
            check.rule.clone(),
            check.measured.clone(),
            if check.passed { "PASS" } else { "FAIL" }.to_owned(),
        ]);
    }
    table
}
