//! Real-time audio on mfwq: does a queue registered as "Pro Audio" keep its
//! deadlines when the machine is busy? An audio-style client (a timer thread
//! waking every period on an absolute deadline and putting one block onto
//! the queue, whose callback does a calibrated amount of arithmetic on the
//! block) against the floor (a bare SCHED_FIFO thread doing the same work on
//! its own timer), the same queue without MMCSS registration, and tokio; with
//! no load and with the bench's own full CPU, allocator and fsync load.
//! docs/realtime.md describes it and holds its figures.
//!
//! `cargo bench -p mfwq-bench --bench realtime [-- --periods N --frames 128,64
//! --load none|full|both --work-pct P ...]`, or `mfwq realtime [...]` with the
//! same arguments; `cargo test -p mfwq-bench --bench realtime` is the smoke
//! run (a few hundred periods). [`run`] is the whole benchmark, for both.

mod load;
mod rt;
mod table;
mod variants;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::process::ExitCode;

use crate::{Config, Noise};

use table::{Line, Table};
use variants::{Setup, Variant, VARIANTS};

/// Loaded periods at the first period length, `cargo bench`.
const BENCH_PERIODS: usize = 20_000;
/// The same in a smoke run.
const SMOKE_PERIODS: usize = 200;
/// Segments each run is cut into, `cargo bench`.
const BENCH_SEGMENTS: usize = 10;
/// The same in a smoke run (two, so that merging runs there too).
const SMOKE_SEGMENTS: usize = 2;

const USAGE: &str = "usage: cargo bench -p mfwq-bench --bench realtime -- [FILTER...] \
(or: mfwq realtime [FILTER...] with the same options) \
[--periods N] [--short-periods N] [--idle-periods N] [--frames N[,N...]] [--rate HZ] \
[--load none|full|both] [--work-pct P] [--segments N] [--io-dir DIR] [--no-mlock] \
[--only CONTESTANT] [--out PATH] [--no-write] [--list]\n\
environment: MFWQ_RT_PERIODS, MFWQ_RT_SHORT_PERIODS, MFWQ_RT_IDLE_PERIODS, MFWQ_RT_FRAMES, \
MFWQ_RT_LOAD, MFWQ_RT_WORK_PCT, MFWQ_RT_SEGMENTS (arguments win)\n\
--periods: periods per variant of the loaded run at the first period length (default 20000; \
smoke 200); --short-periods: loaded runs at the other lengths (default periods/4); \
--idle-periods: runs without load (default periods/8); --segments: each run is cut into N \
segments that run every contestant in turn, the order rotating (default 10; smoke 2). \
FILTER selects runs by name (e.g. 2.667ms, load).";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoadKind {
    None,
    Full,
}

impl LoadKind {
    fn name(self) -> &'static str {
        match self {
            LoadKind::None => "idle",
            LoadKind::Full => "load",
        }
    }
}

/// The options this bench adds to the shared [`Config`].
struct Options {
    periods: usize,
    short_periods: Option<usize>,
    idle_periods: Option<usize>,
    frames: Vec<usize>,
    rate: u32,
    loads: Vec<LoadKind>,
    work_pct: f64,
    io_dir: PathBuf,
    mlock: bool,
    segments: usize,
}

/// One run: a period length and a load, every variant in turn.
struct Cell {
    name: String,
    frames: usize,
    period_ns: i64,
    load: LoadKind,
    periods: usize,
}

fn parse_value<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{name}: not a valid value: {value:?}"))
}

fn parse_frames(value: &str) -> Result<Vec<usize>, String> {
    let frames: Vec<usize> = value
        .split(',')
        .filter(|f| !f.trim().is_empty())
        .map(|f| parse_value("--frames", f))
        .collect::<Result<_, _>>()?;
    if frames.is_empty() || frames.iter().any(|&f| f == 0 || f > rt::MAX_FRAMES) {
        return Err(format!("--frames: 1 ..= {} frames each", rt::MAX_FRAMES));
    }
    Ok(frames)
}

fn parse_load(value: &str) -> Result<Vec<LoadKind>, String> {
    match value.trim() {
        "none" | "idle" => Ok(vec![LoadKind::None]),
        "full" | "load" => Ok(vec![LoadKind::Full]),
        "both" => Ok(vec![LoadKind::None, LoadKind::Full]),
        other => Err(format!("--load: none, full or both, not {other:?}")),
    }
}

/// Takes this bench's own options out of the arguments (the rest go to
/// [`Config::parse`]), over the environment, over the defaults.
fn parse_options(bench_mode: bool, args: &[String]) -> Result<(Options, Vec<String>), String> {
    let env = |key: &str| std::env::var(key).ok();
    let mut options = Options {
        periods: if bench_mode {
            BENCH_PERIODS
        } else {
            SMOKE_PERIODS
        },
        short_periods: None,
        idle_periods: None,
        frames: vec![128, 64],
        rate: 48_000,
        loads: vec![LoadKind::None, LoadKind::Full],
        work_pct: 15.0,
        io_dir: std::env::temp_dir(),
        mlock: true,
        segments: if bench_mode {
            BENCH_SEGMENTS
        } else {
            SMOKE_SEGMENTS
        },
    };
    if let Some(v) = env("MFWQ_RT_PERIODS") {
        options.periods = parse_value("MFWQ_RT_PERIODS", &v)?;
    }
    if let Some(v) = env("MFWQ_RT_SHORT_PERIODS") {
        options.short_periods = Some(parse_value("MFWQ_RT_SHORT_PERIODS", &v)?);
    }
    if let Some(v) = env("MFWQ_RT_IDLE_PERIODS") {
        options.idle_periods = Some(parse_value("MFWQ_RT_IDLE_PERIODS", &v)?);
    }
    if let Some(v) = env("MFWQ_RT_FRAMES") {
        options.frames = parse_frames(&v)?;
    }
    if let Some(v) = env("MFWQ_RT_LOAD") {
        options.loads = parse_load(&v)?;
    }
    if let Some(v) = env("MFWQ_RT_WORK_PCT") {
        options.work_pct = parse_value("MFWQ_RT_WORK_PCT", &v)?;
    }
    if let Some(v) = env("MFWQ_RT_SEGMENTS") {
        options.segments = parse_value("MFWQ_RT_SEGMENTS", &v)?;
    }
    let mut rest = Vec::new();
    let mut args = crate::config::Flags::new(args.iter().cloned());
    while let Some((flag, arg)) = args.next_arg() {
        let mut value = |name: &str| args.value(name);
        match flag.as_str() {
            "--periods" => options.periods = parse_value("--periods", &value("--periods")?)?,
            "--short-periods" => {
                options.short_periods =
                    Some(parse_value("--short-periods", &value("--short-periods")?)?)
            }
            "--idle-periods" => {
                options.idle_periods =
                    Some(parse_value("--idle-periods", &value("--idle-periods")?)?)
            }
            "--frames" => options.frames = parse_frames(&value("--frames")?)?,
            "--rate" => options.rate = parse_value("--rate", &value("--rate")?)?,
            "--load" => options.loads = parse_load(&value("--load")?)?,
            "--work-pct" => options.work_pct = parse_value("--work-pct", &value("--work-pct")?)?,
            "--io-dir" => options.io_dir = PathBuf::from(value("--io-dir")?),
            "--no-mlock" => options.mlock = false,
            "--segments" => options.segments = parse_value("--segments", &value("--segments")?)?,
            _ => rest.push(arg),
        }
    }
    if options.periods == 0 || options.short_periods == Some(0) || options.idle_periods == Some(0) {
        return Err("periods: at least 1".to_owned());
    }
    if options.segments == 0 {
        return Err("--segments: at least 1".to_owned());
    }
    if !(options.work_pct > 0.0 && options.work_pct < 100.0) {
        return Err("--work-pct: between 0 and 100".to_owned());
    }
    if options.rate == 0 {
        return Err("--rate: at least 1".to_owned());
    }
    Ok((options, rest))
}

fn cells(options: &Options) -> Vec<Cell> {
    let min = 50.min(options.periods);
    let short = options
        .short_periods
        .unwrap_or((options.periods / 4).max(min));
    let idle = options
        .idle_periods
        .unwrap_or((options.periods / 8).max(min));
    let mut cells = Vec::new();
    for (i, &frames) in options.frames.iter().enumerate() {
        let period_ns = (frames as f64 * 1e9 / options.rate as f64).round() as i64;
        for &load in &options.loads {
            let periods = match (load, i) {
                (LoadKind::None, _) => idle,
                (LoadKind::Full, 0) => options.periods,
                (LoadKind::Full, _) => short,
            };
            cells.push(Cell {
                name: format!("{:.3}ms-{}", period_ns as f64 / 1e6, load.name()),
                frames,
                period_ns,
                load,
                periods,
            });
        }
    }
    cells
}

fn first_line_of(path: &str, prefix: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

/// `YYYY-MM-DD HH:MM UTC` of a Unix time (civil-from-days, no dependency).
fn utc_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

fn shout(lines: &[String]) {
    let bar = "*".repeat(78);
    eprintln!("{bar}");
    for line in lines {
        eprintln!("* {line}");
    }
    eprintln!("{bar}");
}

/// Who runs the benchmark, which decides its defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Launch {
    /// `cargo bench` (full run lengths, with `--bench` in the arguments) or
    /// `cargo test` (smoke lengths); the report goes to
    /// `target/mfwq-bench-realtime.md` unless `--out` or `--no-write` says
    /// otherwise.
    Cargo,
    /// `mfwq realtime`: full run lengths; a report file only with `--out`.
    Cli,
}

/// Runs the benchmark with `args` (the program's arguments after its name:
/// filters and the options of the usage text) and prints its table; the
/// exit code says whether it could run (targets missed are reported, not an
/// error).
///
/// ```no_run
/// use mfwq_bench::realtime::{run, Launch};
/// let code = run(vec!["--list".to_owned()], Launch::Cli);
/// # let _ = code;
/// ```
pub fn run(args: Vec<String>, launch: Launch) -> ExitCode {
    let bench_mode = launch == Launch::Cli || args.iter().any(|a| a == "--bench");
    let (options, rest) = match parse_options(bench_mode, &args) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("realtime: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut rest = rest;
    if launch == Launch::Cli && !rest.iter().any(|a| a == "--bench") {
        // The shared options' full-run defaults (targets judged), as under
        // `cargo bench`.
        rest.push("--bench".to_owned());
    }
    let cfg = match Config::parse(rest, |key| std::env::var(key).ok()) {
        Ok(cfg) => cfg,
        Err(error) => {
            eprintln!("realtime: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let all_cells = cells(&options);
    if cfg.help || cfg.list {
        if cfg.help {
            println!("{USAGE}\n\nworkloads:");
        }
        for cell in &all_cells {
            println!(
                "  {:<14} {} frames at {} Hz, {}, {} periods per variant",
                cell.name,
                cell.frames,
                options.rate,
                match cell.load {
                    LoadKind::None => "no load",
                    LoadKind::Full => "full CPU + allocator + fsync load",
                },
                cell.periods
            );
        }
        println!("contestants (each workload runs every one):");
        for (_, name, about) in VARIANTS {
            println!("    {name:<24}  {about}");
        }
        return ExitCode::SUCCESS;
    }
    let selected: Vec<&Cell> = all_cells.iter().filter(|c| cfg.selected(&c.name)).collect();
    if selected.is_empty() {
        eprintln!("realtime: no workload matches {:?}", cfg.filters);
        return ExitCode::from(2);
    }
    let variants: Vec<_> = VARIANTS
        .iter()
        .filter(|(_, name, _)| cfg.runs_contestant(name))
        .collect();

    // Lock memory first, so that every thread started later has its stack locked too.
    let memory = if options.mlock {
        rt::lock_memory()
    } else {
        "not locked (--no-mlock)".to_owned()
    };
    let rt_priority = match mfwq::scheduling_for_class("Pro Audio", 0) {
        mfwq::SchedPolicy::Fifo { priority } | mfwq::SchedPolicy::RoundRobin { priority } => {
            priority
        }
        _ => 30,
    };
    let source_priority = (rt_priority + 10).min(99);
    let privilege = rt::probe_fifo(source_priority);
    let privileged = privilege.is_ok();
    let mut banner = Vec::new();
    if let Err(why) = &privilege {
        banner = vec![
            "NO REAL-TIME PRIVILEGE".to_owned(),
            format!("sched_setscheduler(SCHED_FIFO {source_priority}) was refused: {why}."),
            "Every thread runs SCHED_OTHER: the 'bare SCHED_FIFO thread' is a plain thread,"
                .to_owned(),
            "the Pro Audio queue falls back (applied_scheduling says to what), and no target"
                .to_owned(),
            "is judged. To measure, run with CAP_SYS_NICE, or RLIMIT_RTPRIO >= 40, or".to_owned(),
            "through rtkit: see docs/realtime.md.".to_owned(),
        ];
        shout(&banner);
    }

    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mode = if cfg.bench_mode {
        "bench"
    } else {
        "smoke test (run with `cargo bench` to measure)"
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut preamble = vec![
        format!("mode: {mode}"),
        format!("date: {} (unix time {now})", utc_date(now)),
        format!(
            "machine: {cpus} CPUs ({}), kernel {}",
            first_line_of("/proc/cpuinfo", "model name").unwrap_or_else(|| "?".into()),
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "?".into())
        ),
        format!(
            "real-time privilege: {}; memory {memory}",
            match &privilege {
                Ok(()) => format!("yes (SCHED_FIFO {source_priority} allowed)"),
                Err(why) => format!("NO ({why})"),
            }
        ),
        format!(
            "priorities: Pro Audio queue and floor SCHED_FIFO {rt_priority}, source thread \
             SCHED_FIFO {source_priority} (where allowed); load threads SCHED_OTHER nice 0"
        ),
    ];

    let platform = match mfwq::Platform::start() {
        Ok(platform) => platform,
        Err(error) => {
            eprintln!("realtime: cannot start the mfwq platform: {error}");
            return ExitCode::from(1);
        }
    };

    // Calibrate the work once per period length, before any load.
    let mut works = Vec::new();
    for &frames in &options.frames {
        let period_ns = (frames as f64 * 1e9 / options.rate as f64).round() as i64;
        let target = (period_ns as f64 * options.work_pct / 100.0) as i64;
        let (work, took) = rt::Work::calibrate(frames, target);
        preamble.push(format!(
            "work per block ({frames} frames, period {:.3} ms): {} biquad passes over a \
             {frames}-sample f32 buffer, {:.0} us measured at calibration (target {:.0}% = {:.0} us)",
            period_ns as f64 / 1e6,
            work.passes,
            took as f64 / 1e3,
            options.work_pct,
            target as f64 / 1e3
        ));
        works.push((frames, work));
    }
    for line in &preamble {
        eprintln!("realtime: {line}");
    }

    let start = Instant::now();
    let mut noise = Noise::new();
    let mut table = Table {
        informational: !cfg.bench_mode,
        ..Table::default()
    };
    if !banner.is_empty() {
        table
            .notes
            .push("NO REAL-TIME PRIVILEGE: every thread ran SCHED_OTHER; targets not applicable (see the policy column)".to_owned());
    }
    let settle = if cfg.bench_mode {
        Duration::from_millis(300)
    } else {
        Duration::from_millis(50)
    };
    let mut loads = Vec::new();
    for cell in selected {
        let work = works
            .iter()
            .find(|(f, _)| *f == cell.frames)
            .map(|(_, w)| *w)
            .expect("calibrated");
        let setup = Setup {
            periods: cell.periods,
            period_ns: cell.period_ns,
            work,
            rt_priority,
            privileged,
        };
        let t0 = Instant::now();
        let mark = Noise::mark();
        let load = match cell.load {
            LoadKind::None => None,
            LoadKind::Full => match load::Load::start(cpus, &options.io_dir) {
                Ok(load) => {
                    std::thread::sleep(Duration::from_millis(500));
                    Some(load)
                }
                Err(error) => {
                    eprintln!("realtime: cannot start the load: {error}");
                    return ExitCode::from(1);
                }
            },
        };
        // The run is cut into segments, and each segment runs every
        // contestant, in an order that rotates from one segment to the
        // next: a stretch of host stalls (this is a shared guest) then
        // falls on all of them alike instead of on whoever ran at the time.
        let segments = options.segments.clamp(1, cell.periods);
        let mut merged: Vec<(Variant, &str, Option<variants::Outcome>)> = variants
            .iter()
            .map(|&&(variant, name, _)| (variant, name, None))
            .collect();
        let count = merged.len();
        for segment in 0..segments {
            let periods = cell.periods / segments + usize::from(segment < cell.periods % segments);
            let setup = Setup { periods, ..setup };
            for i in 0..count {
                let (variant, name, slot) = &mut merged[(i + segment) % count];
                std::thread::sleep(settle);
                let outcome = variants::run(*variant, &setup);
                if segments > 1 {
                    match outcome.figures() {
                        Some(f) => eprintln!(
                            "[{} {}/{segments}] {name}: p99 {} max {} us, missed {}/{}",
                            cell.name,
                            segment + 1,
                            crate::fmt_num(f.lateness.p99),
                            crate::fmt_num(f.lateness.max),
                            f.missed,
                            f.periods
                        ),
                        None => eprintln!(
                            "[{} {}/{segments}] {name}: no figures",
                            cell.name,
                            segment + 1
                        ),
                    }
                }
                match slot {
                    Some(earlier) => earlier.merge(outcome),
                    None => *slot = Some(outcome),
                }
            }
        }
        let mut outcomes = Vec::new();
        for (variant, name, outcome) in merged {
            let outcome = outcome.expect("every contestant ran at least once");
            let figures = outcome.figures();
            match &figures {
                Some(f) => eprintln!(
                    "[{}] {name}: late p50 {} p99 {} p99.9 {} max {} us, missed {}/{}, {}",
                    cell.name,
                    crate::fmt_num(f.lateness.p50),
                    crate::fmt_num(f.lateness.p99),
                    crate::fmt_num(f.lateness.p999),
                    crate::fmt_num(f.lateness.max),
                    f.missed,
                    f.periods,
                    outcome.policy
                ),
                None => eprintln!("[{}] {name}: no figures: {:?}", cell.name, outcome.notes),
            }
            outcomes.push((variant, name, outcome, figures));
        }
        if let Some(load) = load {
            loads.push(format!("{}: {}", cell.name, load.stop()));
        }
        let wall = t0.elapsed();
        noise.record(&cell.name, &mark, Duration::ZERO);

        let find = |v: Variant| {
            outcomes
                .iter()
                .find(|(variant, _, _, _)| *variant == v)
                .map(|(_, _, o, f)| (o, f.as_ref()))
        };
        let figures = |v: Variant| find(v).and_then(|(_, f)| f);
        let targets = if cell.load == LoadKind::Full {
            // A skipped or failed contestant shows as a missing peer, not as
            // a missing privilege.
            let rt_ok = privileged
                && find(Variant::Floor).is_none_or(|(o, f)| f.is_none() || o.realtime)
                && find(Variant::ProAudio).is_none_or(|(o, f)| f.is_none() || o.realtime);
            table::targets(
                figures(Variant::ProAudio),
                figures(Variant::Floor),
                figures(Variant::Other),
                figures(Variant::Tokio),
                (!rt_ok).then_some("no real-time privilege"),
            )
        } else {
            Vec::new()
        };
        let mut targets = Some(targets);
        for (variant, name, outcome, figures) in outcomes {
            for note in outcome.all_notes(name, figures.as_ref()) {
                table.notes.push(format!("{}: {note}", cell.name));
            }
            table.lines.push(Line {
                workload: cell.name.clone(),
                contestant: name,
                figures,
                policy: outcome.policy,
                targets: if variant == Variant::ProAudio {
                    targets.take().unwrap_or_default()
                } else {
                    Vec::new()
                },
            });
        }
        eprintln!("[{}] done in {:.1} s", cell.name, wall.as_secs_f64());
    }
    drop(platform);
    let wall = start.elapsed().as_secs_f64();

    table.notes.push(format!(
        "segments: each run was cut into {} segments (fewer where it has fewer periods); \
         each segment ran every contestant once, in an order rotating by one from segment to \
         segment, so that stretches of host stalls fall on every contestant alike; the \
         figures are over all of a contestant's segments together",
        options.segments
    ));
    table.notes.push(
        "lateness: block start minus the period's nominal start (us); missed: blocks that \
         ended after the next period's start; run p99: the block's own duration (us), which \
         grows when the worker is preempted"
            .to_owned(),
    );
    for line in loads {
        table.notes.push(format!("load {line}"));
    }
    if let Some(line) = noise.note("run", cpus) {
        table.notes.push(line);
    }

    let summary = table.summary(wall);
    if !banner.is_empty() {
        println!();
        for line in &banner {
            println!("!! {line}");
        }
    }
    println!();
    print!("{}", table.text());
    println!("{summary}");
    if !banner.is_empty() {
        shout(&banner);
    }

    if cfg.write {
        preamble.push(summary);
        let path = match launch {
            Launch::Cargo => Some(
                cfg.out
                    .clone()
                    .unwrap_or_else(|| crate::target_report_path("mfwq-bench-realtime.md")),
            ),
            Launch::Cli => cfg.out.clone(),
        };
        if let Some(path) = path {
            let markdown = table.markdown("mfwq real-time audio", &preamble);
            match std::fs::write(&path, markdown) {
                Ok(()) => eprintln!("realtime: wrote {}", path.display()),
                Err(error) => eprintln!("realtime: cannot write {}: {error}", path.display()),
            }
        }
    }
    ExitCode::SUCCESS
}
