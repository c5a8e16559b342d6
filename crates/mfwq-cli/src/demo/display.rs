//! The live status while the pipeline runs: on a terminal, one `indicatif`
//! line per stage, redrawn in place (items done of the total, what is in
//! flight, latency percentiles so far); elsewhere (a pipe, a test, CI's log)
//! a plain status line once a second, because redrawn lines would arrive
//! there as a heap of escape codes.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::stats::fmt_opt;
use super::Pipeline;

/// How the status is shown.
pub enum Display {
    /// A terminal: one bar per stage.
    Bars {
        multi: MultiProgress,
        source: ProgressBar,
        decode: ProgressBar,
        render: ProgressBar,
        audio: ProgressBar,
    },
    /// Not a terminal: a line per second, the next one due at `next`.
    Lines { started: Instant, next: Instant },
}

impl Display {
    /// Bars when stdout is a terminal, else lines.
    pub fn new(pipeline: &Pipeline) -> Display {
        if !std::io::stdout().is_terminal() {
            let now = Instant::now();
            return Display::Lines {
                started: now,
                next: now + Duration::from_secs(1),
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout_with_hz(10));
        let style = ProgressStyle::with_template(
            "{prefix:<6.bold} {bar:20.cyan/blue} {pos:>5}/{len:<5} {msg}",
        )
        .expect("the template is valid")
        .progress_chars("█▌░");
        let bar = |name: &'static str, len: u64| {
            let bar = multi.add(ProgressBar::new(len).with_style(style.clone()));
            bar.set_prefix(name);
            bar
        };
        let frames = pipeline.video.frames();
        Display::Bars {
            source: bar("source", frames),
            decode: bar("decode", frames),
            render: bar("render", frames),
            audio: bar("audio", pipeline.audio.blocks()),
            multi,
        }
    }

    /// Shows the pipeline's state now.
    pub fn update(&mut self, pipeline: &Pipeline) {
        let video = &pipeline.video;
        let audio = &pipeline.audio;
        match self {
            Display::Bars {
                source,
                decode,
                render,
                audio: audio_bar,
                ..
            } => {
                let late = video.source.latency.summary();
                source.set_position(video.source.outputs());
                source.set_message(format!(
                    "frames  late p50 {}  p99 {}",
                    fmt_opt(late.p50),
                    fmt_opt(late.p99)
                ));
                let decoded = video.decode.latency.summary();
                decode.set_position(video.decode.outputs());
                decode.set_message(format!(
                    "frames  in flight {}  p50 {}  p99 {}",
                    video.decode.in_flight(),
                    fmt_opt(decoded.p50),
                    fmt_opt(decoded.p99)
                ));
                let seen = video.presentation();
                let rendered = video.render.latency.summary();
                render.set_position(seen.presented);
                render.set_message(format!(
                    "frames  held {}  p50 {}  p99 {}  {}",
                    video.reorder().held,
                    fmt_opt(rendered.p50),
                    fmt_opt(rendered.p99),
                    if seen.gaps + seen.out_of_order == 0 {
                        "in order".to_owned()
                    } else {
                        format!("OUT OF ORDER {}, gaps {}", seen.out_of_order, seen.gaps)
                    }
                ));
                let blocks = audio.stage.latency.summary();
                audio_bar.set_position(audio.stage.outputs());
                audio_bar.set_message(format!(
                    "blocks  late {}  p50 {}  p99 {}",
                    audio.misses(),
                    fmt_opt(blocks.p50),
                    fmt_opt(blocks.p99),
                ));
            }
            Display::Lines { started, next } => {
                let now = Instant::now();
                if now < *next {
                    return;
                }
                *next += Duration::from_secs(1);
                let seen = video.presentation();
                say!(
                    "[{:>4.1} s] source {}/{}  decode {} ({} in flight)  render {} ({})  audio {}/{} ({} late)",
                    (now - *started).as_secs_f64(),
                    video.source.outputs(),
                    video.frames(),
                    video.decode.outputs(),
                    video.decode.in_flight(),
                    seen.presented,
                    if seen.gaps + seen.out_of_order == 0 { "in order" } else { "OUT OF ORDER" },
                    audio.stage.outputs(),
                    audio.blocks(),
                    audio.misses(),
                );
            }
        }
    }

    /// Draws the final state and leaves it on screen.
    pub fn finish(mut self, pipeline: &Pipeline) {
        self.update(pipeline);
        if let Display::Bars {
            multi,
            source,
            decode,
            render,
            audio,
        } = self
        {
            for bar in [source, decode, render, audio] {
                bar.abandon();
            }
            drop(multi);
            // indicatif leaves the cursor at the end of the last bar.
            say!();
        }
        say!();
    }
}
