//! The audio pipeline of `crates/mfwq/examples/audio_pipeline.rs`, written
//! with tokio: decode fan-out as tasks on the multi-thread runtime, one task
//! that awaits the decodes in packet order (the serial stage), and a plain
//! std thread that renders each block, fed by a channel.
//!
//! What tokio cannot say: the render thread's scheduling class (tokio has
//! no real-time threads; a program sets `SCHED_FIFO` on its own thread by
//! hand, see `run_pipeline`) and a per-block deadline (the
//! 2.667 ms of a 128-frame block at 48 kHz exists only in this comment).
//! docs/comparison.md compares it with mfwq, rayon and GCD.
//!
//! `cargo run -p mfwq-bench --example pipeline_tokio`; `cargo test -p
//! mfwq-bench --examples` runs its test.

use std::thread;

use tokio::sync::mpsc;

/// Samples per block (2.667 ms at 48 kHz).
const BLOCK: usize = 128;

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
    let runtime = tokio::runtime::Runtime::new()?;
    let (blocks_tx, mut blocks_rx) = mpsc::unbounded_channel::<Vec<f32>>();
    // The render stage: a thread of its own (tokio has no real-time threads).
    let renderer = thread::Builder::new()
        .name("render".into())
        .spawn(move || {
            // Real-time priority would be set here by hand, with libc, and
            // checked by hand (without CAP_SYS_NICE or RLIMIT_RTPRIO it fails):
            //   let param = libc::sched_param { sched_priority: 30 };
            //   unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
            // There is no way to give the thread a 2.667 ms deadline.
            let mut peaks = Vec::new();
            while let Some(mut block) = blocks_rx.blocking_recv() {
                peaks.push(render(&mut block));
            }
            peaks
        })?;
    runtime.block_on(async move {
        // Decode in parallel: one task per packet on the runtime's workers.
        let decodes: Vec<_> = (0..packets)
            .map(|n| tokio::spawn(async move { decode(n) }))
            .collect();
        // The serial stage: await the decodes in packet order.
        for decoded in decodes {
            let block = decoded.await.expect("a decode task panicked");
            let _ = blocks_tx.send(block);
        }
        // blocks_tx is dropped here, which ends the render thread's loop.
    });
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
}
