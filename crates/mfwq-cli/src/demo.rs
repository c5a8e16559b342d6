//! `mfwq demo`: a media player's pipeline on the work-queue platform, with
//! live status and a summary that checks itself.
//!
//! The demo is the first thing a newcomer runs, so it does what media code
//! does with the platform rather than listing the API: a video source on a
//! frame clock, decoding fanned out over MULTITHREADED, presentation in order
//! on a serial queue, and an audio stream on a "Pro Audio" real-time queue
//! whose blocks have deadlines. Each stage uses the idiomatic Rust API
//! (`QueueBuilder` with real-time classes, serial kinds and thread names;
//! `Queue::spawn` and join handles, awaited; `spawn_future` and
//! `sleep_until`; `Queue::execute`) the way an application would, and
//! counts what it did. At the end the counts decide
//! four checks (every frame decoded, frames presented in order with none
//! missing, audio blocks on time within a stated tolerance, no errors); the
//! process exits non-zero when one fails, so the demo doubles as an
//! end-to-end test (`tests/demo.rs`).
//!
//! Layout: `video.rs` and `audio.rs` are the stages, `stats.rs` their
//! counters and latency histograms, `display.rs` the live status,
//! `report.rs` the summary and the checks; this file parses the options,
//! builds the queues, runs the pipeline and takes it down.

/// `println!` that ignores a closed stdout (`mfwq demo | head`): the run
/// goes on, and the exit status still says whether it passed.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod audio;
mod display;
mod report;
mod stats;
mod video;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mfwq::{Queue, QueueBuilder, QueueKind};

use audio::Audio;
use display::Display;
use stats::{fmt_duration, Errors};
use video::Video;

/// How long after the setup the first frame and the first audio period start.
const LEAD: Duration = Duration::from_millis(50);
/// How long after the last frame's due time the stages may take to drain.
const DRAIN: Duration = Duration::from_secs(5);
/// How often the live status is refreshed.
const REFRESH: Duration = Duration::from_millis(100);

/// The options of `mfwq demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// How long the pipeline runs, in seconds.
    #[arg(long, default_value_t = 10.0, value_parser = parse_seconds)]
    duration: f64,
    /// Video frames per second.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1000))]
    fps: u32,
    /// Extra CPU load: this many busy threads at normal priority, competing
    /// with the pipeline for the cores.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=64))]
    load: u32,
    /// Frames per audio block at 48 kHz: 480 is a 10 ms period (the Windows
    /// audio engine's), 128 is 2.667 ms (a pro-audio setting).
    #[arg(long, default_value_t = 480, value_parser = clap::value_parser!(u32).range(16..=48_000))]
    audio_frames: u32,
    /// Also give the audio queue its period as a deadline
    /// (`QueueBuilder::deadline`, RtwqSetDeadline: SCHED_DEADLINE where the
    /// kernel allows). Off by default: see the audio stage's notes.
    #[arg(long)]
    queue_deadline: bool,
    /// A fault to inject, to see a check fail (for the tests).
    #[arg(long, value_enum, hide = true)]
    inject_fault: Option<Fault>,
}

/// Faults `--inject-fault` can inject.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// The reorder buffer hands one frame to the render stage after its
    /// successor: the "frames rendered in order" check must fail.
    SwapFrames,
}

/// `--duration`: seconds, more than 0 and at most an hour.
fn parse_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0 {
        Ok(seconds)
    } else {
        Err("must be more than 0 and at most 3600 seconds".to_owned())
    }
}

/// What every part of the demo shares: the stages' counters and the errors.
pub struct Pipeline {
    /// Source, decode and render.
    pub video: Arc<Video>,
    /// The audio stream.
    pub audio: Arc<Audio>,
    /// Everything that went wrong.
    pub errors: Arc<Errors>,
}

/// How `mfwq demo` ended, when the platform itself did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed.
    Passed,
    /// At least one check failed (the summary says which).
    Failed,
}

/// Runs the pipeline for `--duration` seconds with a live status, prints
/// the summary and returns whether every check passed. Errors are the
/// platform's own, before the pipeline runs (startup, allocating a queue).
pub fn run(args: &DemoArgs) -> mfwq::Result<Verdict> {
    let frames = ((args.duration * f64::from(args.fps)).round() as u64).max(1);
    let frame_period = Duration::from_secs_f64(1.0 / f64::from(args.fps));
    let frames_per_block = args.audio_frames as usize;
    let audio_period = audio::period_of(frames_per_block);
    let blocks = ((args.duration / audio_period.as_secs_f64()).round() as u64).max(1);

    say!(
        "mfwq demo: a media pipeline on the work-queue platform, for {} s\n",
        args.duration
    );
    let platform = mfwq::Platform::start()?;
    let errors = Arc::new(Errors::default());
    let panics = Arc::clone(&errors);
    mfwq::set_panic_hook(move |report| {
        panics.record(format_args!(
            "panic on {}: {}",
            report.queue, report.message
        ));
    });

    // One thread for the frame clock; presentation serialized on the pool;
    // one real-time thread for the audio blocks, and one above it for the
    // sound card's clock (audio.rs says why the clock is not the timer).
    let source_queue = QueueBuilder::new().thread_name("source").build()?;
    let render_queue = QueueBuilder::new()
        .kind(QueueKind::Serial(Queue::MULTITHREADED))
        .build()?;
    let mut audio_builder = QueueBuilder::new()
        .realtime("Pro Audio")
        .thread_name("audio");
    if args.queue_deadline {
        audio_builder = audio_builder.deadline(audio_period);
    }
    let audio_queue = audio_builder.build()?;
    // The sound card's clock, one step above the audio queue.
    let device_queue = QueueBuilder::new()
        .realtime("Pro Audio")
        .base_priority(1)
        .thread_name("device")
        .build()?;

    print_plan(args, frames, blocks, &audio_queue, &device_queue);

    let load = Load::start(args.load, &errors);
    let t0 = Instant::now() + LEAD;
    let swap_at =
        (args.inject_fault == Some(Fault::SwapFrames)).then(|| (frames / 2).saturating_sub(1));
    let pipeline = Pipeline {
        video: Arc::new(Video::new(
            frames,
            frame_period,
            t0,
            render_queue.as_queue(),
            swap_at,
            Arc::clone(&errors),
        )),
        audio: Arc::new(Audio::new(
            audio_queue.as_queue(),
            frames_per_block,
            blocks,
            t0,
            Arc::clone(&errors),
        )),
        errors,
    };
    // From here on the pipeline runs; dropping `load` stops its threads
    // whichever way this function returns.
    let device = {
        let audio = Arc::clone(&pipeline.audio);
        device_queue.spawn(move || audio.device())?
    };
    let source = source_queue.spawn_future(video::source(Arc::clone(&pipeline.video)))?;

    // The main thread only watches: refresh the status until every stage is
    // done, or until the drain timeout after the last frame was due.
    let give_up = t0 + Duration::from_secs_f64(args.duration) + DRAIN;
    let mut display = Display::new(&pipeline);
    let drained = loop {
        display.update(&pipeline);
        if source.is_finished() && pipeline.video.drained() && pipeline.audio.is_finished() {
            break true;
        }
        if Instant::now() >= give_up {
            break false;
        }
        std::thread::sleep(REFRESH);
    };
    display.finish(&pipeline);

    // Take it down: the device and the source are joined (the source is
    // cancelled if it is stuck), the load threads joined, the queues
    // released, and last the platform.
    pipeline.audio.stop();
    match device.join_timeout(DRAIN) {
        Ok(Ok(())) => {}
        Ok(Err(error)) => pipeline
            .errors
            .record(format_args!("the audio device: {error}")),
        Err(_still_running) => pipeline.errors.record("the audio device did not stop"),
    }
    if source.is_finished() {
        if let Err(error) = mfwq::block_on(source).and_then(|outcome| outcome) {
            pipeline
                .errors
                .record(format_args!("the frame source failed: {error}"));
        }
    } else {
        source.cancel();
    }
    drop(load);
    let scheduling = audio_queue.applied_scheduling().ok();
    let device_scheduling = device_queue.applied_scheduling().ok();
    drop(device_queue);
    drop(audio_queue);
    drop(render_queue);
    drop(source_queue);
    mfwq::clear_panic_hook();
    let shutdown_started = Instant::now();
    drop(platform);
    let outcome = report::Outcome {
        scheduling,
        device_scheduling,
        shutdown: shutdown_started.elapsed(),
        drained,
        fps: args.fps,
    };
    Ok(if report::print(&pipeline, &outcome) {
        Verdict::Passed
    } else {
        Verdict::Failed
    })
}

/// Prints what the pipeline will do, and where: the stages, their queues,
/// the real-time queues' scheduling as the platform reports it.
fn print_plan(args: &DemoArgs, frames: u64, blocks: u64, audio: &Queue, device: &Queue) {
    let pool = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    let audio_period = audio::period_of(args.audio_frames as usize);
    say!(
        "  source  {} fps: {frames} frames, each emitted on time by a future on queue \"source\"",
        args.fps
    );
    say!(
        "  decode  {} slices per frame ({} 8x8 inverse DCTs each) on MULTITHREADED ({pool} threads)",
        video::SLICES,
        video::BLOCKS_PER_SLICE
    );
    say!("  render  through a reorder buffer, in order, on a serial queue over MULTITHREADED");
    say!(
        "  audio   {} kHz, {}-frame blocks: {blocks} blocks, each due {} after its period starts",
        audio::SAMPLE_RATE / 1000,
        args.audio_frames,
        fmt_duration(audio_period)
    );
    let deadline = if args.queue_deadline {
        format!(", deadline {}", fmt_duration(audio_period))
    } else {
        String::new()
    };
    let mut refused = false;
    // The scheduling each real-time queue got, as the platform reports it.
    for (queue, label) in [
        (
            audio,
            format!("          on queue \"audio\" (\"Pro Audio\"{deadline})"),
        ),
        (
            device,
            "  device  the sound card's clock, queue \"device\" (\"Pro Audio\" +1)".to_owned(),
        ),
    ] {
        match queue.applied_scheduling() {
            Ok(scheduling) => {
                refused |= scheduling.fell_back;
                say!("{label}: {}", report::fmt_scheduling(&scheduling));
            }
            Err(error) => say!("{label}: scheduling unknown ({error})"),
        }
    }
    if refused {
        say!("          (the kernel refused the real-time request: docs/realtime.md says how to allow it)");
    }
    if args.load == 0 {
        say!("  load    none (--load N adds N busy threads at normal priority)");
    } else {
        say!("  load    {} busy threads at normal priority", args.load);
    }
    say!();
}

/// The `--load` threads: each spins on integer arithmetic at normal priority
/// until stopped, competing with the pipeline for the cores.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<u64>>,
}

impl Load {
    /// Starts `threads` spinners; one that cannot start is an error.
    fn start(threads: u32, errors: &Errors) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .filter_map(|index| {
                let stop = Arc::clone(&stop);
                std::thread::Builder::new()
                    .name(format!("demo-load-{index}"))
                    .spawn(move || spin(&stop))
                    .map_err(|error| errors.record(format_args!("load thread {index}: {error}")))
                    .ok()
            })
            .collect();
        Load { stop, threads }
    }
}

impl Drop for Load {
    /// Stops the spinners and joins them.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            // A spinner cannot panic; its result is only there to be used.
            let _ = std::hint::black_box(thread.join());
        }
    }
}

/// Busy arithmetic until `stop`: a linear congruential generator.
fn spin(stop: &AtomicBool) -> u64 {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..4096 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
        }
        state = std::hint::black_box(state);
    }
    state
}
