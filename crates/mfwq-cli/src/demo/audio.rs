//! The audio half of the pipeline: one stereo block per period on a queue
//! registered with the "Pro Audio" class, each block due by the end of its
//! period.
//!
//! A sound card asks for a block every period (480 frames at 48 kHz: 10 ms,
//! the default period of the Windows audio engine) and plays whatever is in
//! the buffer when the period ends: a block done after that is a click. The
//! card's clock is simulated by a "device" queue, registered "Pro Audio" one
//! priority step above the audio queue, whose one long item sleeps until
//! each period starts and then puts that period's block on the audio queue
//! (`Queue::execute`), as a driver's interrupt would. Block `k` is released
//! at `t0 + k·period` and due at `t0 + (k + 1)·period`; the clock is
//! absolute, so it does not drift with the work.
//!
//! Why not the platform's timer (`Queue::schedule`, as the video source uses
//! through `sleep_until`): the timer's thread runs at normal priority, so
//! under `--load` it wakes up to tens of milliseconds late, and a block
//! released through it is then late however high the audio queue's own
//! priority (measured: 55 of 500 blocks late with `--load 2`, the audio queue
//! on SCHED_FIFO). The device queue keeps the whole release path real-time.
//!
//! The queue is registered with "Pro Audio" (`QueueBuilder::realtime`:
//! SCHED_FIFO where allowed) and, by default, given no queue deadline.
//! `--queue-deadline` adds one (`QueueBuilder::deadline` with the period:
//! SCHED_DEADLINE where allowed). It is off by default because, measured on
//! the development machine (root, 10 ms periods), most blocks then started
//! up to one period late and missed (from a few to nearly all of 300 blocks,
//! run to run): the queue's worker yields a few times before it parks, and a
//! SCHED_DEADLINE thread that yields gives up the rest of its runtime until
//! its next period (docs/realtime.md, "Deadlines"), so a block put on the
//! queue meanwhile waits for that period.
//!
//! The blocks' state (the oscillators, the filters, the buffer) is behind a
//! mutex that only the audio queue's one thread takes, so it is never
//! contended; what the audio thread records (the latency histogram, the
//! counters) is atomics.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mfwq::Queue;

use super::stats::{Errors, Histogram, Stage};

/// Frames per second of the simulated device.
pub const SAMPLE_RATE: u32 = 48_000;
/// Interleaved channels per frame.
const CHANNELS: usize = 2;

/// The audio stage: its clock, counters and the blocks' state.
pub struct Audio {
    queue: Queue,
    period: Duration,
    blocks: u64,
    t0: Instant,
    /// Blocks; latency: the period's start → the block done. A block is on
    /// time when that is at most one period.
    pub stage: Stage,
    /// The period's start → the block's start: the device's and the queue's
    /// share of the latency.
    pub start_late: Histogram,
    /// The period's start → the device awake: the kernel's share.
    pub device_late: Histogram,
    misses: AtomicU64,
    /// The output's peak level of the last block (an `f32`'s bits).
    peak: AtomicU32,
    /// Blocks the device put on the audio queue.
    released: AtomicU64,
    /// The device has stopped ticking.
    device_done: AtomicBool,
    stopping: AtomicBool,
    dsp: Mutex<Dsp>,
    errors: Arc<Errors>,
}

impl Audio {
    /// `blocks` blocks of `frames_per_block` frames on `queue`, the first
    /// period starting at `t0`.
    pub fn new(
        queue: Queue,
        frames_per_block: usize,
        blocks: u64,
        t0: Instant,
        errors: Arc<Errors>,
    ) -> Audio {
        Audio {
            queue,
            period: period_of(frames_per_block),
            blocks,
            t0,
            stage: Stage::default(),
            start_late: Histogram::default(),
            device_late: Histogram::default(),
            misses: AtomicU64::new(0),
            peak: AtomicU32::new(0),
            released: AtomicU64::new(0),
            device_done: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            dsp: Mutex::new(Dsp::new(frames_per_block)),
            errors,
        }
    }

    /// The length of one period (each block's deadline after its start).
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Blocks in all.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Blocks done after their deadline, so far.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The last block's peak level, in dBFS.
    pub fn peak_dbfs(&self) -> f32 {
        let peak = f32::from_bits(self.peak.load(Ordering::Relaxed));
        20.0 * peak.max(1e-6).log10()
    }

    /// Whether the device has stopped and every block it released has run.
    pub fn is_finished(&self) -> bool {
        self.device_done.load(Ordering::Acquire)
            && self.stage.outputs() >= self.released.load(Ordering::Acquire)
    }

    /// Asks the device to stop before its next period.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// The start of period `k`.
    fn release(&self, k: u64) -> Instant {
        self.t0 + Duration::from_secs_f64(self.period.as_secs_f64() * k as f64)
    }

    /// The sound card's clock: the one long item of the device queue. Sleeps
    /// until each period starts and puts the period's block on the audio
    /// queue; returns when every block is released or [`stop`](Audio::stop)
    /// was called.
    pub fn device(self: &Arc<Self>) {
        for k in 0..self.blocks {
            if self.stopping.load(Ordering::Relaxed) {
                break;
            }
            let release = self.release(k);
            let now = Instant::now();
            if release > now {
                std::thread::sleep(release - now);
            }
            self.device_late
                .record(Instant::now().saturating_duration_since(release));
            let audio = Arc::clone(self);
            if let Err(error) = self.queue.execute(move || audio.block(k)) {
                self.errors
                    .record(format_args!("audio block {k}: queueing it: {error}"));
                break;
            }
            self.released.fetch_add(1, Ordering::Release);
        }
        self.device_done.store(true, Ordering::Release);
    }

    /// Block `k`, on the audio queue's thread.
    fn block(&self, k: u64) {
        let release = self.release(k);
        self.stage.enter();
        self.start_late
            .record(Instant::now().saturating_duration_since(release));
        let peak = self
            .dsp
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .render();
        self.peak.store(peak.to_bits(), Ordering::Relaxed);
        let latency = Instant::now().saturating_duration_since(release);
        if latency > self.period {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
        self.stage.leave(latency);
    }
}

/// The period of a block of `frames` frames.
pub fn period_of(frames: usize) -> Duration {
    Duration::from_secs_f64(frames as f64 / f64::from(SAMPLE_RATE))
}

/// The audio thread's state: two oscillators (one per channel) through a
/// low-pass biquad each, into an interleaved stereo buffer.
struct Dsp {
    buffer: Vec<f32>,
    oscillators: [Phasor; CHANNELS],
    filters: [Biquad; CHANNELS],
}

impl Dsp {
    fn new(frames: usize) -> Dsp {
        Dsp {
            buffer: vec![0.0; frames * CHANNELS],
            oscillators: [Phasor::new(220.0), Phasor::new(330.0)],
            filters: [
                Biquad::lowpass(2_000.0, 0.707),
                Biquad::lowpass(2_000.0, 0.707),
            ],
        }
    }

    /// Renders one block: a tone with a touch of its own harmonics, through
    /// the filter, at -6 dB; returns the block's peak.
    fn render(&mut self) -> f32 {
        let mut peak = 0.0f32;
        for frame in self.buffer.chunks_exact_mut(CHANNELS) {
            for ((sample, oscillator), filter) in frame
                .iter_mut()
                .zip(&mut self.oscillators)
                .zip(&mut self.filters)
            {
                let (cos, sin) = oscillator.next();
                // sin 2θ and sin 3θ from the same phasor: a brighter tone.
                let tone = sin + 0.3 * (2.0 * sin * cos) + 0.1 * sin * (3.0 - 4.0 * sin * sin);
                let out = 0.5 * filter.process(tone / 1.4);
                peak = peak.max(out.abs());
                *sample = out;
            }
        }
        for oscillator in &mut self.oscillators {
            oscillator.renormalize();
        }
        peak
    }
}

/// A sine oscillator as a unit phasor rotated once per sample.
struct Phasor {
    cos: f32,
    sin: f32,
    step_cos: f32,
    step_sin: f32,
}

impl Phasor {
    fn new(hz: f32) -> Phasor {
        let step = std::f32::consts::TAU * hz / SAMPLE_RATE as f32;
        Phasor {
            cos: 1.0,
            sin: 0.0,
            step_cos: step.cos(),
            step_sin: step.sin(),
        }
    }

    /// Advances one sample; the new (cos, sin).
    fn next(&mut self) -> (f32, f32) {
        let cos = self.cos * self.step_cos - self.sin * self.step_sin;
        let sin = self.cos * self.step_sin + self.sin * self.step_cos;
        self.cos = cos;
        self.sin = sin;
        (cos, sin)
    }

    /// Puts the phasor back on the unit circle (rounding drifts it).
    fn renormalize(&mut self) {
        let norm = (self.cos * self.cos + self.sin * self.sin).sqrt();
        self.cos /= norm;
        self.sin /= norm;
    }
}

/// A second-order IIR filter (the RBJ cookbook's low-pass), transposed
/// direct form II.
struct Biquad {
    b0: f32,
    b1: f32,
    b2: f32,
    a1: f32,
    a2: f32,
    z1: f32,
    z2: f32,
}

impl Biquad {
    fn lowpass(cutoff_hz: f32, q: f32) -> Biquad {
        let w0 = std::f32::consts::TAU * cutoff_hz / SAMPLE_RATE as f32;
        let alpha = w0.sin() / (2.0 * q);
        let a0 = 1.0 + alpha;
        let b1 = (1.0 - w0.cos()) / a0;
        Biquad {
            b0: b1 / 2.0,
            b1,
            b2: b1 / 2.0,
            a1: -2.0 * w0.cos() / a0,
            a2: (1.0 - alpha) / a0,
            z1: 0.0,
            z2: 0.0,
        }
    }

    fn process(&mut self, x: f32) -> f32 {
        let y = self.b0 * x + self.z1;
        self.z1 = self.b1 * x - self.a1 * y + self.z2;
        self.z2 = self.b2 * x - self.a2 * y;
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_follow_the_block_size() {
        assert_eq!(period_of(480), Duration::from_millis(10));
        assert_eq!(period_of(128).as_nanos(), 2_666_667);
    }

    #[test]
    fn the_tone_stays_in_range_and_the_phasor_on_the_circle() {
        let mut dsp = Dsp::new(480);
        let mut peak = 0.0;
        for _ in 0..500 {
            peak = dsp.render();
        }
        assert!((0.2..=0.5).contains(&peak), "{peak}");
        let phasor = &dsp.oscillators[0];
        let norm = phasor.cos * phasor.cos + phasor.sin * phasor.sin;
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    }
}
