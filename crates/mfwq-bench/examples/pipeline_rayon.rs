//! The audio pipeline of `crates/mfwq/examples/audio_pipeline.rs`, written
//! with rayon: the packets are decoded a window at a time with a parallel
//! iterator, whose `collect` keeps packet order (the serial stage is the
//! calling thread's loop), and a plain std thread renders each block, fed by
//! a crossbeam channel.
//!
//! What rayon cannot say: a serial queue (order comes from `collect`, so a
//! window's slowest decode holds back the whole window), the render
//! thread's scheduling class (rayon has no real-time threads; a program sets
//! `SCHED_FIFO` on its own thread by hand, see `run_pipeline`) and a
//! per-block deadline (the 2.667 ms of a 128-frame block at 48 kHz exists
//! only in this comment). docs/comparison.md compares it with mfwq, tokio
//! and GCD.
//!
//! `cargo run -p mfwq-bench --example pipeline_rayon`; `cargo test -p
//! mfwq-bench --examples` runs its test.

use std::thread;

use rayon::prelude::*;

/// Samples per block (2.667 ms at 48 kHz).
const BLOCK: usize = 128;

/// Packets decoded together: order is restored once per window.
const WINDOW: usize = 16;

/// "Decodes" packet `n`: a block of samples that depends only on `n`.
fn decode(n: usize) -> Vec<f32> {
    (0..BLOCK)
        .map(|i| ((n * BLOCK + i) as f32 * 0.01).sin())
        .collect()
}

/// Renders one block: a gain, then the block's peak.
fn render(block: &mut [f32]) -> f32 {
    block.iter_mut().for_each(|x| *x *= 0.5);
    block.iter().fold(0.0f32, |peak, x| peak.max(x.abs()))
}

/// Runs `packets` through the pipeline; returns the rendered blocks' peaks
/// in packet order.
fn run_pipeline(packets: usize) -> std::io::Result<Vec<f32>> {
    let (blocks_tx, blocks_rx) = crossbeam_channel::unbounded::<Vec<f32>>();
    // The render stage: a thread of its own (rayon has no real-time threads).
    let renderer = thread::Builder::new()
        .name("render".into())
        .spawn(move || {
            // Real-time priority would be set here by hand, with libc, and
            // checked by hand (without CAP_SYS_NICE or RLIMIT_RTPRIO it fails):
            //   let param = libc::sched_param { sched_priority: 30 };
            //   unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
            // There is no way to give the thread a 2.667 ms deadline.
            blocks_rx
                .iter()
                .map(|mut block| render(&mut block))
                .collect::<Vec<f32>>()
        })?;
    // Decode a window of packets in parallel on rayon's pool; `collect`
    // puts them back in packet order, and this loop hands them on.
    for first in (0..packets).step_by(WINDOW) {
        let window = first..packets.min(first + WINDOW);
        let blocks: Vec<Vec<f32>> = window.into_par_iter().map(decode).collect();
        for block in blocks {
            let _ = blocks_tx.send(block);
        }
    }
    drop(blocks_tx); // ends the render thread's loop
    Ok(renderer.join().expect("the render thread panicked"))
}

fn main() -> std::io::Result<()> {
    let peaks = run_pipeline(256)?;
    println!(
        "rendered {} blocks, loudest peak {:.3}",
        peaks.len(),
        peaks.iter().fold(0.0f32, |a, b| a.max(*b))
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_render_in_order_with_the_expected_peaks() {
        // Every one of the 64 blocks has a different peak, so equal vectors
        // also mean packet order.
        let peaks = run_pipeline(64).unwrap();
        let expected: Vec<f32> = (0..64).map(|n| render(&mut decode(n))).collect();
        assert_eq!(peaks, expected);
    }

    #[test]
    fn a_partial_last_window_renders_too() {
        let peaks = run_pipeline(WINDOW + 3).unwrap();
        let expected: Vec<f32> = (0..WINDOW + 3).map(|n| render(&mut decode(n))).collect();
        assert_eq!(peaks, expected);
    }
}
