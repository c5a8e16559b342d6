//! An audio pipeline on the idiomatic API: the packets are decoded in
//! parallel on the MULTITHREADED queue (one `spawn` each, one `JoinHandle`
//! each), a task on a serial queue over the same pool awaits those handles in
//! packet order, and each block it gets is rendered on a real-time queue
//! ("Pro Audio", with a 2.667 ms deadline). Awaiting the handles in the order
//! they were spawned is the reordering: no map of early blocks is needed.
//!
//! `cargo run -p mfwq --example audio_pipeline`; `cargo test -p mfwq --example
//! audio_pipeline` (or `cargo test --workspace`) runs its tests.
//! docs/comparison.md compares it with the same pipeline in tokio, rayon and
//! GCD.

use std::time::Duration;

use mfwq::{Platform, Queue, QueueBuilder};

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
    // The serial stage: FIFO, one item at a time, on the pool's threads.
    let serial = Queue::MULTITHREADED.serial()?;
    // Decode in parallel: one task per packet on the pool.
    let decodes: Vec<_> = (0..packets)
        .map(|n| Queue::MULTITHREADED.spawn(move || decode(n)))
        .collect::<mfwq::Result<_>>()?;
    // Await the decodes in packet order; render each block on the real-time
    // queue, which runs them one by one in the order they are handed over.
    let render_on = render_queue.as_queue();
    let ordering = serial.spawn_future(async move {
        let mut renders = Vec::with_capacity(packets);
        for decoded in decodes {
            let mut block = decoded.await.expect("a decode panicked");
            renders.push(render_on.spawn(move || render(&mut block))?);
        }
        Ok::<_, mfwq::Error>(renders)
    })?;
    let renders = ordering.join()??;
    Ok(renders.into_iter().map(|r| r.join().unwrap()).collect())
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
        // Every one of the 64 blocks has a different peak, so equal vectors
        // also mean packet order.
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
