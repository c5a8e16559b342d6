//! An audio pipeline on the idiomatic API: decode fan-out on the
//! MULTITHREADED queue, a serial queue that puts the decoded packets back in
//! order, and a real-time queue ("Pro Audio", with a deadline) that renders
//! each block.
//!
//! `cargo run -p mfwq --example audio_pipeline`; `cargo test -p mfwq --example
//! audio_pipeline` (or `cargo test --workspace`) runs its test.

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use mfwq::{Platform, Queue, QueueBuilder, QueueKind};

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
fn run_pipeline(packets: usize) -> mfwq::Result<Vec<f32>> {
    let _platform = Platform::start()?;
    // The render queue: one real-time thread, done within 2.667 ms per block.
    let render_queue = QueueBuilder::new()
        .realtime("Pro Audio")
        .deadline(Duration::from_micros(2_667))
        .thread_name("render")
        .build()?;
    // Orders decoded packets: one item at a time, FIFO, on the pool.
    let reorder = QueueBuilder::new()
        .kind(QueueKind::Serial(Queue::MULTITHREADED))
        .build()?;

    let (peaks_tx, peaks_rx) = mpsc::channel();
    let pending = Arc::new(Mutex::new((0usize, BTreeMap::new())));
    for n in 0..packets {
        // Decode in parallel, then hand the block to the serial queue.
        let reorder_queue = reorder.as_queue();
        let render_on = render_queue.as_queue();
        let pending = Arc::clone(&pending);
        let peaks_tx = peaks_tx.clone();
        Queue::MULTITHREADED.execute(move || {
            let block = decode(n);
            let _ = reorder_queue.execute(move || {
                // Release every block that is next in order to the renderer.
                let mut state = pending.lock().unwrap();
                state.1.insert(n, block);
                loop {
                    let next = state.0;
                    let Some(mut block) = state.1.remove(&next) else {
                        break;
                    };
                    state.0 += 1;
                    let peaks_tx = peaks_tx.clone();
                    let _ = render_on.execute(move || {
                        let _ = peaks_tx.send((next, render(&mut block)));
                    });
                }
            });
        })?;
    }
    drop(peaks_tx);
    let rendered: Vec<(usize, f32)> = peaks_rx.iter().take(packets).collect();
    // The render queue ran them in packet order.
    assert!(rendered.iter().enumerate().all(|(i, (n, _))| i == *n));
    Ok(rendered.into_iter().map(|(_, peak)| peak).collect())
}

fn main() -> mfwq::Result<()> {
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
        let peaks = run_pipeline(64).unwrap();
        let expected: Vec<f32> = (0..64).map(|n| render(&mut decode(n))).collect();
        assert_eq!(peaks, expected);
    }

    #[test]
    fn scoped_decode_fan_out_borrows_the_packets() {
        let _platform = Platform::start().unwrap();
        let mut blocks = vec![Vec::new(); 16];
        mfwq::scope(|s| {
            for (n, block) in blocks.iter_mut().enumerate() {
                s.spawn(&Queue::MULTITHREADED, move || *block = decode(n))
                    .unwrap();
            }
        });
        assert!(blocks.iter().enumerate().all(|(n, b)| *b == decode(n)));
    }
}
