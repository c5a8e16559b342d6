//! The video half of the pipeline: a source that emits numbered frames on a
//! clock, a decoder that fans each frame out as slices on the MULTITHREADED
//! pool, a reorder buffer, and a render stage on a serial queue that presents
//! the frames and checks that they come in order.
//!
//! Why these pieces, in this shape:
//!
//! - The source is a future on its own queue (`Queue::spawn_future`) that
//!   awaits `mfwq::sleep_until` the frame's due time: one timer item per
//!   frame, against an absolute clock, so a late tick does not shift the ones
//!   after it.
//! - Each frame is decoded as [`SLICES`] independent slices (`Queue::spawn`
//!   on MULTITHREADED), the way codecs split frames to use every core; a
//!   small future awaits the slices' join handles and assembles the frame.
//!   Slices of different frames run on whichever worker is free, so frames
//!   can finish decoding out of order.
//! - The reorder buffer holds a frame that finished before its predecessor
//!   and releases frames to the render queue strictly in sequence, under its
//!   lock, so the serial queue (FIFO, one item at a time) receives them in
//!   order. A frame whose decode failed leaves a hole that the buffer skips,
//!   so one lost frame cannot stall presentation; the render stage then sees
//!   the gap.
//! - The render stage is a serial queue over MULTITHREADED
//!   (`Queue::serial`): presentation is one frame at a time without a thread
//!   of its own. It verifies each slice's checksum and counts gaps and
//!   frames out of order: the demo's "in order, none missing" check reads
//!   what it saw, not what the buffer meant to send.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mfwq::Queue;

use super::stats::{Errors, Histogram, Stage};

/// Slices per frame, decoded in parallel.
pub const SLICES: usize = 4;
/// 8×8 blocks per slice: 4 × 32 blocks is a 128×64 picture, about 40 µs of
/// inverse transforms per frame on the development machine.
pub const BLOCKS_PER_SLICE: usize = 32;
/// Pixels per 8×8 block.
const BLOCK: usize = 64;

/// The counters of the video stages and what the render stage observed.
pub struct Video {
    frames: u64,
    period: Duration,
    t0: Instant,
    render_queue: Queue,
    /// Ticks of the frame clock; latency: how late each tick woke.
    pub source: Stage,
    /// Frames in decode; latency: emitted → every slice decoded.
    pub decode: Stage,
    /// Frames between decode and presentation; latency: decoded → presented
    /// (the wait in the reorder buffer included).
    pub render: Stage,
    /// Emitted → presented.
    pub end_to_end: Histogram,
    /// CPU time of the slices of one frame, added up.
    pub decode_work: Histogram,
    reorder: Mutex<Reorder>,
    presentation: Mutex<Presentation>,
    errors: Arc<Errors>,
}

/// Frames that finished decoding ahead of a predecessor.
struct Reorder {
    /// The next sequence number to release.
    next: u64,
    /// Decoded frames (or holes: `None`) waiting for their predecessors.
    held: BTreeMap<u64, Option<Frame>>,
    max_held: usize,
    /// Frames that had to wait for a predecessor.
    reordered: u64,
    /// The injected fault: release this frame after its successor.
    swap_at: Option<u64>,
    swapped: Option<Frame>,
}

/// What the render stage saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct Presentation {
    /// The sequence number the next frame should have.
    pub expected: u64,
    /// Frames presented.
    pub presented: u64,
    /// Frames whose number was below the expected one.
    pub out_of_order: u64,
    /// Numbers skipped: frames that were not there when their turn came.
    pub gaps: u64,
    /// Frames whose pixels did not match their decoder's checksum.
    pub corrupt: u64,
    /// The mean brightness of the last frame (0–255).
    pub last_luma: u8,
}

/// What the reorder buffer did.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReorderFigures {
    /// Frames waiting in it now.
    pub held: usize,
    /// The most that waited at once.
    pub max_held: usize,
    /// Frames that finished decoding before a predecessor and waited.
    pub reordered: u64,
}

/// A decoded frame.
struct Frame {
    seq: u64,
    emitted: Instant,
    decoded: Instant,
    slices: Vec<Slice>,
}

/// One decoded slice: its pixels and the decoder's checksum of them.
struct Slice {
    pixels: Vec<u8>,
    checksum: u32,
    work: Duration,
}

impl Video {
    /// The video stages for `frames` frames, one every `period` from `t0`,
    /// presented on `render_queue`; `swap_at` injects a fault (that frame is
    /// released after its successor).
    pub fn new(
        frames: u64,
        period: Duration,
        t0: Instant,
        render_queue: Queue,
        swap_at: Option<u64>,
        errors: Arc<Errors>,
    ) -> Video {
        Video {
            frames,
            period,
            t0,
            render_queue,
            source: Stage::default(),
            decode: Stage::default(),
            render: Stage::default(),
            end_to_end: Histogram::default(),
            decode_work: Histogram::default(),
            reorder: Mutex::new(Reorder {
                next: 0,
                held: BTreeMap::new(),
                max_held: 0,
                reordered: 0,
                swap_at,
                swapped: None,
            }),
            presentation: Mutex::new(Presentation::default()),
            errors,
        }
    }

    /// Frames the source emits in all.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// When frame `seq` is due.
    fn due(&self, seq: u64) -> Instant {
        self.t0 + Duration::from_secs_f64(self.period.as_secs_f64() * seq as f64)
    }

    /// What the render stage has seen so far.
    pub fn presentation(&self) -> Presentation {
        *lock(&self.presentation)
    }

    /// The reorder buffer's figures so far.
    pub fn reorder(&self) -> ReorderFigures {
        let reorder = lock(&self.reorder);
        ReorderFigures {
            held: reorder.held.len(),
            max_held: reorder.max_held,
            reordered: reorder.reordered,
        }
    }

    /// Whether every frame has been presented or lost on the way.
    pub fn drained(&self) -> bool {
        self.render.outputs() + self.render.dropped() + self.decode.dropped() >= self.frames
    }

    /// Frame `seq` is due: decode its slices on the pool and assemble it.
    fn emit(self: &Arc<Self>, seq: u64) {
        let emitted = Instant::now();
        self.decode.enter();
        let mut slices = Vec::with_capacity(SLICES);
        for index in 0..SLICES {
            match Queue::MULTITHREADED.spawn(move || decode_slice(seq, index)) {
                Ok(handle) => slices.push(handle),
                Err(error) => {
                    // The slices already spawned run detached; the frame is lost.
                    self.errors
                        .record(format_args!("frame {seq}: spawning slice {index}: {error}"));
                    self.lost(seq);
                    return;
                }
            }
        }
        let video = Arc::clone(self);
        let assemble = async move {
            let mut decoded = Vec::with_capacity(SLICES);
            for (index, slice) in slices.into_iter().enumerate() {
                match slice.await {
                    Ok(slice) => decoded.push(slice),
                    Err(error) => {
                        video
                            .errors
                            .record(format_args!("frame {seq}: slice {index}: {error}"));
                        video.lost(seq);
                        return;
                    }
                }
            }
            video.decoded(Frame {
                seq,
                emitted,
                decoded: Instant::now(),
                slices: decoded,
            });
        };
        match Queue::MULTITHREADED.spawn_future(assemble) {
            // It runs to completion on its own; `drained` says when all have.
            Ok(task) => task.detach(),
            Err(error) => {
                self.errors
                    .record(format_args!("frame {seq}: spawning its assembly: {error}"));
                self.lost(seq);
            }
        }
    }

    /// Frame `seq` will never be decoded: a hole in the sequence.
    fn lost(self: &Arc<Self>, seq: u64) {
        self.decode.drop_item();
        self.insert(seq, None);
    }

    /// Every slice of a frame is decoded.
    fn decoded(self: &Arc<Self>, frame: Frame) {
        self.decode.leave(frame.decoded - frame.emitted);
        let work = frame.slices.iter().map(|slice| slice.work).sum();
        self.decode_work.record(work);
        self.render.enter();
        self.insert(frame.seq, Some(frame));
    }

    /// Puts a frame (or a hole) into the reorder buffer and releases every
    /// frame that is next in sequence, in order.
    fn insert(self: &Arc<Self>, seq: u64, frame: Option<Frame>) {
        let mut reorder = lock(&self.reorder);
        if seq != reorder.next {
            reorder.reordered += 1;
        }
        reorder.held.insert(seq, frame);
        reorder.max_held = reorder.max_held.max(reorder.held.len());
        loop {
            let next = reorder.next;
            let Some(entry) = reorder.held.remove(&next) else {
                break;
            };
            reorder.next += 1;
            if let Some(frame) = entry {
                self.release(&mut reorder, frame);
            }
        }
    }

    /// Hands a frame to the render queue (with the injected fault applied).
    fn release(self: &Arc<Self>, reorder: &mut Reorder, frame: Frame) {
        if reorder.swap_at == Some(frame.seq) {
            reorder.swapped = Some(frame);
            return;
        }
        let after_swap = reorder.swap_at.map(|at| at + 1) == Some(frame.seq);
        self.present_later(frame);
        if after_swap {
            if let Some(swapped) = reorder.swapped.take() {
                self.present_later(swapped);
            }
        }
    }

    fn present_later(self: &Arc<Self>, frame: Frame) {
        let seq = frame.seq;
        let video = Arc::clone(self);
        if let Err(error) = self.render_queue.execute(move || video.present(frame)) {
            self.errors.record(format_args!(
                "frame {seq}: queueing its presentation: {error}"
            ));
            self.render.drop_item();
        }
    }

    /// The render stage: runs on the serial queue, one frame at a time.
    fn present(&self, frame: Frame) {
        let mut intact = true;
        let mut luma = 0u64;
        let mut pixels = 0u64;
        for slice in &frame.slices {
            intact &= checksum(&slice.pixels) == slice.checksum;
            luma += slice.pixels.iter().map(|&p| u64::from(p)).sum::<u64>();
            pixels += slice.pixels.len() as u64;
        }
        let mut seen = lock(&self.presentation);
        if frame.seq == seen.expected {
            seen.expected += 1;
        } else if frame.seq > seen.expected {
            seen.gaps += frame.seq - seen.expected;
            seen.expected = frame.seq + 1;
        } else {
            seen.out_of_order += 1;
        }
        seen.presented += 1;
        seen.last_luma = (luma / pixels.max(1)) as u8;
        if !intact {
            seen.corrupt += 1;
            self.errors.record(format_args!(
                "frame {}: pixels do not match the decoder's checksum",
                frame.seq
            ));
        }
        drop(seen);
        let now = Instant::now();
        self.end_to_end.record(now - frame.emitted);
        self.render.leave(now - frame.decoded);
    }
}

/// The frame clock: a future on the source queue that emits one frame per
/// period, each at its absolute due time.
pub async fn source(video: Arc<Video>) -> mfwq::Result<()> {
    for seq in 0..video.frames {
        let due = video.due(seq);
        mfwq::sleep_until(due).await?;
        video.source.enter();
        let late = due.elapsed();
        video.emit(seq);
        video.source.leave(late);
    }
    Ok(())
}

/// Locks `mutex`; a panic elsewhere (which the errors record) does not stop
/// the counting.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The 8-point inverse DCT basis in 12-bit fixed point: `BASIS[u][x]` is
/// `c(u) · cos((2x + 1)uπ / 16)`, with `c(0) = √(1/8)` and `c(u) = √(2/8)`.
static BASIS: LazyLock<[[i32; 8]; 8]> = LazyLock::new(|| {
    let mut basis = [[0; 8]; 8];
    for (u, row) in basis.iter_mut().enumerate() {
        let scale = if u == 0 {
            (1.0f64 / 8.0).sqrt()
        } else {
            (2.0f64 / 8.0).sqrt()
        };
        for (x, value) in row.iter_mut().enumerate() {
            let angle = (2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0;
            *value = (scale * angle.cos() * 4096.0).round() as i32;
        }
    }
    basis
});

/// A small, fast pseudo-random sequence (xorshift64*): the "bitstream".
struct Bits(u64);

impl Bits {
    fn new(seq: u64, slice: usize) -> Bits {
        Bits((seq << 8 | slice as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Decodes slice `index` of frame `seq`: for each 8×8 block, reads the
/// low-frequency coefficients from the "bitstream", dequantizes them, runs
/// the separable inverse DCT in fixed point and clamps to 8-bit pixels.
fn decode_slice(seq: u64, index: usize) -> Slice {
    let started = Instant::now();
    let basis = &*BASIS;
    let mut bits = Bits::new(seq, index);
    let mut pixels = vec![0u8; BLOCKS_PER_SLICE * BLOCK];
    for block in pixels.chunks_exact_mut(BLOCK) {
        let mut coefficients = [[0i32; 8]; 8];
        for (v, row) in coefficients.iter_mut().take(4).enumerate() {
            for (u, value) in row.iter_mut().take(4).enumerate() {
                let level = (bits.next() >> 58) as i32 - 32;
                let quantizer = 4 + 2 * (u + v) as i32;
                *value = level * quantizer;
            }
        }
        coefficients[0][0] = (bits.next() >> 56) as i32 * 4;
        // Rows, then columns; 12-bit basis twice, so 24 bits of scale.
        let mut rows = [[0i32; 8]; 8];
        for (v, row) in rows.iter_mut().enumerate() {
            for (x, out) in row.iter_mut().enumerate() {
                *out = (0..8)
                    .map(|u| coefficients[v][u] * basis[u][x])
                    .sum::<i32>()
                    >> 12;
            }
        }
        for y in 0..8 {
            for x in 0..8 {
                let value = (0..8).map(|v| rows[v][x] * basis[v][y]).sum::<i32>() >> 12;
                block[y * 8 + x] = (value / 2 + 128).clamp(0, 255) as u8;
            }
        }
    }
    let checksum = checksum(&pixels);
    Slice {
        pixels,
        checksum,
        work: started.elapsed(),
    }
}

/// FNV-1a over the pixels: what the render stage checks a slice against.
fn checksum(pixels: &[u8]) -> u32 {
    pixels.iter().fold(0x811C_9DC5u32, |hash, &byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_is_deterministic_and_differs_per_frame() {
        let a = decode_slice(7, 1);
        let b = decode_slice(7, 1);
        let c = decode_slice(8, 1);
        assert_eq!(a.pixels, b.pixels);
        assert_eq!(a.checksum, checksum(&a.pixels));
        assert_ne!(a.pixels, c.pixels);
        assert_eq!(a.pixels.len(), BLOCKS_PER_SLICE * BLOCK);
    }

    #[test]
    fn the_basis_is_the_dct() {
        // The DC row is flat at √(1/8); every row has unit energy.
        assert!(BASIS[0].iter().all(|&c| c == 1448));
        for row in BASIS.iter() {
            let energy: i64 = row.iter().map(|&c| i64::from(c) * i64::from(c)).sum();
            assert!((energy - 4096 * 4096).abs() < 4096 * 16, "{energy}");
        }
    }
}
