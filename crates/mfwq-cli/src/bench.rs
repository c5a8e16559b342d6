//! `mfwq bench`: the peer benchmark (mfwq against tokio, rayon and
//! crossbeam-channel) from the command line.
//!
//! The workloads are the library's (`mfwq_bench::peers`), the same code that
//! `cargo bench -p mfwq-bench --bench peers` runs, so the two print the same
//! table. What this command adds: a progress bar (indicatif) over
//! workloads x rounds instead of the bench's per-round commentary, results
//! as JSON (`--json`, see [`json`]), and a chart as SVG (`--plot`, see
//! [`plot`]).

mod json;
mod plot;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mfwq_bench::peers::{self, Progress, WORKLOADS};
use mfwq_bench::{Config, CountingAlloc, Report, DEFAULT_ROUNDS};

/// The memory workload counts live bytes with this allocator, which has to
/// be the program's global allocator to see anything. It is, for every
/// subcommand: while counting is off (always, outside that workload) it
/// costs one relaxed atomic load per allocation and free on top of
/// `System`'s.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// The flags of `mfwq bench`.
#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct BenchArgs {
    /// Run only the workloads whose name contains one of these (`fanout`
    /// selects fanout-mt and fanout-serial); all of them by default.
    #[arg(value_name = "WORKLOAD")]
    filters: Vec<String>,

    /// Measured rounds per contestant: the table shows their median, min,
    /// max and spread.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ROUNDS, value_parser = at_least_one)]
    rounds: usize,

    /// Unmeasured warm-up rounds per contestant, before the measured ones.
    #[arg(long, value_name = "N", default_value_t = 1)]
    warmup: usize,

    /// Work size: multiplies every workload's item count (1 = the sizes
    /// `--list` names, 0.01 = the bench's smoke size). Targets are judged
    /// at 1 or more; below, a missed one reads "not met (smoke)".
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = positive)]
    scale: f64,

    /// How long the idle workload watches the process's CPU time, per
    /// window (it takes up to 3 windows per contestant).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    idle_ms: u64,

    /// Run only the contestants whose name contains NAME (repeatable): for
    /// profiling one; a target against a skipped peer reads "FAIL (no peer)".
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,

    /// Print the results as JSON on standard output instead of the table:
    /// the run's conditions, then every row (median, min, max, spread,
    /// unit, and each target with its ratio against the peer).
    #[arg(long)]
    json: bool,

    /// Also draw the results into FILE as an SVG chart: a bar per
    /// contestant (the median, min-max whiskers) grouped by workload, one
    /// panel per kind of unit, coloured by library.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,

    /// Also write the table as Markdown into FILE, as the bench does.
    #[arg(long, value_name = "FILE.md")]
    markdown: Option<PathBuf>,

    /// Print the bench's running commentary (each round's figures) above
    /// the progress bar.
    #[arg(long, short)]
    verbose: bool,

    /// List the workloads and exit.
    #[arg(long)]
    list: bool,
}

const AFTER_HELP: &str = "\
The workloads are those of `cargo bench -p mfwq-bench --bench peers`, and the
table is the bench's (crates/mfwq-bench/README.md describes both); the defaults
are the bench's too: 15 rounds after 1 warm-up at scale 1, about two minutes on
2 CPUs for all workloads (`--scale 0.1 --rounds 3`: about 20 s, half of it the
idle workload's watching). Measure a release build (`cargo run --release -p
mfwq-cli -- bench`): a debug build's figures say little about mfwq.

The progress bar goes to standard error when that is a terminal; otherwise
one line per finished workload does. The memory workload counts bytes with a
counting global allocator that this binary installs. A missed target does not
change the exit status: 0 after a run, 1 when the run or writing a file
failed, 2 for a usage error.

Examples:
  mfwq bench                                  # everything, the full table
  mfwq bench fanout chain --rounds 5          # two kinds of workload
  mfwq bench --scale 0.1 --plot bench.svg     # a quick look, as a chart
  mfwq bench --json > bench.json              # for scripts";

fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(error) => Err(error.to_string()),
    }
}

fn positive(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        Ok(_) => Err("must be a positive number".to_owned()),
        Err(error) => Err(error.to_string()),
    }
}

/// Runs `mfwq bench`; the exit status is the one [`AFTER_HELP`] documents.
pub fn run(args: BenchArgs) -> ExitCode {
    if args.list {
        let list: String = WORKLOADS
            .iter()
            .map(|w| format!("  {:<22} {}\n", w.name, w.about))
            .collect();
        return emit(&list);
    }
    let cfg = Config {
        // Targets are set for the full sizes: smaller runs only inform.
        bench_mode: args.scale >= 1.0,
        rounds: args.rounds,
        warmup: args.warmup,
        scale: args.scale,
        filters: args.filters.clone(),
        contestants: args.only.clone(),
        idle_window: Duration::from_millis(args.idle_ms),
        out: None,
        write: false,
        list: false,
        help: false,
    };
    let selected = peers::selected(&cfg);
    if selected.is_empty() {
        eprintln!(
            "mfwq bench: no workload's name contains any of {:?} (`mfwq bench --list` names them)",
            args.filters
        );
        return ExitCode::from(2);
    }
    let conditions = peers::conditions(&cfg);
    for line in &conditions {
        eprintln!("mfwq bench: {line}");
    }

    let bar = Arc::new(Bar::new(
        selected.len(),
        cfg.warmup + cfg.rounds,
        args.verbose,
    ));
    let outcome = match peers::run(&cfg, &selected, bar.clone(), Some(&ALLOC)) {
        Ok(outcome) => outcome,
        Err(error) => {
            bar.bar.abandon();
            eprintln!("mfwq bench: cannot start the platform: {error}");
            return ExitCode::FAILURE;
        }
    };
    bar.bar.finish_and_clear();
    let report = &outcome.report;
    let wall_s = outcome.wall.as_secs_f64();
    let closing = closing_line(report, wall_s);

    let mut status = if args.json {
        let results = json::Results::new(&cfg, &selected, &conditions, report, wall_s);
        eprintln!("mfwq bench: {closing}");
        match serde_json::to_string_pretty(&results) {
            Ok(text) => emit(&format!("{text}\n")),
            Err(error) => {
                eprintln!("mfwq bench: cannot make the JSON: {error}");
                ExitCode::FAILURE
            }
        }
    } else {
        emit(&format!("\n{}{closing}\n", report.table()))
    };

    if let Some(path) = &args.plot {
        let caption = plot::Caption {
            rounds: cfg.rounds,
            warmup: cfg.warmup,
            scale: cfg.scale,
            machine: conditions
                .iter()
                .find_map(|line| line.strip_prefix("machine: "))
                .unwrap_or("?")
                .to_owned(),
        };
        match plot::write_svg(path, report, &caption) {
            Ok(()) => eprintln!("mfwq bench: wrote the chart to {}", path.display()),
            Err(error) => {
                eprintln!("mfwq bench: cannot draw {}: {error}", path.display());
                status = ExitCode::FAILURE;
            }
        }
    }
    if let Some(path) = &args.markdown {
        let mut preamble = conditions.clone();
        preamble.push(closing.clone());
        match std::fs::write(path, report.markdown("mfwq vs peers", &preamble)) {
            Ok(()) => eprintln!("mfwq bench: wrote the table to {}", path.display()),
            Err(error) => {
                eprintln!("mfwq bench: cannot write {}: {error}", path.display());
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}

/// Writes `text` to standard output. A reader that went away (`| head`)
/// ends the output quietly; another failure is reported, and fails the command.
fn emit(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mfwq bench: cannot write to standard output: {error}");
            ExitCode::FAILURE
        }
    }
}

/// How many targets were met, worded for this command (the bench's own
/// line points at `cargo bench`).
fn closing_line(report: &Report, wall_s: f64) -> String {
    let met = report.targets() - report.failures();
    let judged = if report.targets_informational() {
        " (information only below --scale 1)"
    } else {
        ""
    };
    format!(
        "targets{judged}: {met} of {} met; {wall_s:.0} s in all",
        report.targets()
    )
}

/// Which library a contestant is: each peer's contestants name it, and
/// every other contestant is mfwq (`private standard queue`,
/// `1 serial over MT`, `put_work_item, checked off`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Library {
    Mfwq,
    Tokio,
    Rayon,
    Crossbeam,
    /// The standard library's own means: a Mutex+Condvar hand-off,
    /// `thread::sleep`.
    Std,
}

impl Library {
    /// In the legend's order.
    pub const ALL: [Library; 5] = [
        Library::Mfwq,
        Library::Tokio,
        Library::Rayon,
        Library::Crossbeam,
        Library::Std,
    ];

    /// The library of the contestant named `contestant`.
    pub fn of(contestant: &str) -> Library {
        let name = contestant.to_ascii_lowercase();
        if name.contains("tokio") {
            Library::Tokio
        } else if name.contains("rayon") {
            Library::Rayon
        } else if name.contains("crossbeam") {
            Library::Crossbeam
        } else if name.contains("condvar") || name.contains("thread::sleep") {
            Library::Std
        } else {
            Library::Mfwq
        }
    }

    /// Its name in the JSON and the chart's legend.
    pub fn name(self) -> &'static str {
        match self {
            Library::Mfwq => "mfwq",
            Library::Tokio => "tokio",
            Library::Rayon => "rayon",
            Library::Crossbeam => "crossbeam-channel",
            Library::Std => "std",
        }
    }
}

/// The progress bar: `warmup + rounds` steps per selected workload, the
/// running workload's name as its message. Rounds a workload reports move
/// it through that workload's share; a workload without rounds (`memory`,
/// `idle`) moves it at its end.
struct Bar {
    bar: ProgressBar,
    workloads: usize,
    per_workload: u64,
    current: AtomicUsize,
    verbose: bool,
}

impl Bar {
    fn new(workloads: usize, rounds: usize, verbose: bool) -> Bar {
        let per_workload = rounds.max(1) as u64;
        // Hidden (drawing nothing) when standard error is not a terminal.
        let bar = ProgressBar::with_draw_target(
            Some(workloads as u64 * per_workload),
            ProgressDrawTarget::stderr(),
        );
        let style = ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {bar:40.cyan/blue} {pos}/{len} rounds  {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix("mfwq bench");
        Bar {
            bar,
            workloads,
            per_workload,
            current: AtomicUsize::new(0),
            verbose,
        }
    }

    fn say(&self, line: &str) {
        // Above the bar, which redraws below it.
        self.bar.suspend(|| eprintln!("{line}"));
    }
}

impl Progress for Bar {
    fn workload_started(&self, index: usize, name: &str) {
        self.current.store(index, Ordering::Relaxed);
        self.bar.set_position(index as u64 * self.per_workload);
        self.bar
            .set_message(format!("{name} ({}/{})", index + 1, self.workloads));
    }

    fn round_done(&self, done: usize, total: usize) {
        let base = self.current.load(Ordering::Relaxed) as u64 * self.per_workload;
        let share = (done as u64 * self.per_workload / total.max(1) as u64).min(self.per_workload);
        // A workload may run more than one series of rounds: never back.
        if base + share > self.bar.position() {
            self.bar.set_position(base + share);
        }
    }

    fn workload_done(&self, index: usize, name: &str, wall: Duration) {
        self.bar
            .set_position((index as u64 + 1) * self.per_workload);
        if self.verbose || self.bar.is_hidden() {
            self.say(&format!(
                "mfwq bench: [{name}] done in {:.1} s ({}/{})",
                wall.as_secs_f64(),
                index + 1,
                self.workloads
            ));
        }
    }

    fn log(&self, line: &str) {
        if self.verbose {
            self.say(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contestants_map_to_their_library() {
        for (contestant, library) in [
            ("mfwq put_work_item", Library::Mfwq),
            ("private standard queue", Library::Mfwq),
            ("put_work_item, checked on", Library::Mfwq),
            ("rayon spawn + channel", Library::Rayon),
            ("tokio (+ parked mfwq)", Library::Tokio),
            ("tokio spawn+sleep", Library::Tokio),
            ("crossbeam pool", Library::Crossbeam),
            ("condvar", Library::Std),
            ("thread::sleep floor p99", Library::Std),
        ] {
            assert_eq!(Library::of(contestant), library, "{contestant}");
        }
    }

    #[test]
    fn the_closing_line_says_whether_targets_were_judged() {
        let mut report = Report::new();
        assert_eq!(
            closing_line(&report, 2.4),
            "targets: 0 of 0 met; 2 s in all"
        );
        report.set_targets_informational(true);
        assert!(closing_line(&report, 2.0).starts_with("targets (information only"));
    }
}
