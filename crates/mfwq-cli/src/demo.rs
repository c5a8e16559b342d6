//! The demo workload: every part uses the public API the way media code does.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mfwq::{AsyncOperation, AsyncResult, Event, QueueId, QueueType, WorkQueue};

const WAIT: Duration = Duration::from_secs(30);

pub fn run(frames: u32, items: u32) -> mfwq::Result<()> {
    println!("mfwq demo: the Media Foundation work-queue platform on Linux\n");
    let platform = mfwq::Platform::start()?;
    println!(
        "[startup] MFStartup(MF_VERSION = {:#x}) -> S_OK, platform lock count {}",
        mfwq::MF_VERSION,
        mfwq::platform_lock_count()
    );

    begin_end_decoder(frames)?;
    priorities()?;
    fan_out(items)?;
    serial_timers_and_waits()?;
    pending_work_at_shutdown(platform)?;
    Ok(())
}

/// A decoder component written in the documented Begin/End style: BeginDecode
/// runs on the multithreaded queue, completions arrive on the caller's private
/// standard queue, one at a time, where EndDecode collects the output.
fn begin_end_decoder(frames: u32) -> mfwq::Result<()> {
    println!("\n== Begin/End: {frames} frames decoded on MULTITHREADED, completed on a private standard queue ==");
    let caller_queue = WorkQueue::new(QueueType::Standard)?;
    let completed = Arc::new(AtomicU32::new(0));
    let checksum = Arc::new(AtomicU32::new(0));
    let done = Event::manual_reset(false);
    let (completed_cb, checksum_cb, done_cb) = (completed.clone(), checksum.clone(), done.clone());
    let threads = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let threads_cb = threads.clone();
    // The caller's callback names its own queue, so invoke_callback delivers there.
    let on_decoded = mfwq::callback_on(caller_queue.id(), move |result: &AsyncResult| {
        let frame = *result
            .state_as::<u32>()
            .expect("the frame number is the state");
        match end_decode(result) {
            Ok(pixels) => {
                checksum_cb.fetch_add(
                    pixels.iter().map(|&p| u32::from(p)).sum::<u32>() ^ frame,
                    Ordering::Relaxed,
                );
            }
            Err(error) => eprintln!("frame {frame}: {error}"),
        }
        threads_cb
            .lock()
            .unwrap()
            .insert(std::thread::current().name().unwrap_or("?").to_owned());
        if completed_cb.fetch_add(1, Ordering::AcqRel) + 1 == frames {
            done_cb.set();
        }
    });
    let started = Instant::now();
    for frame in 0..frames {
        begin_decode(frame, on_decoded.clone(), Some(Arc::new(frame)))?;
    }
    if frames > 0 && !done.wait(Some(WAIT)) {
        return Err(mfwq::Error::Unexpected);
    }
    println!(
        "  {} of {frames} completions received in {:.2?}; checksum {:#x}; callbacks ran on {:?}",
        completed.load(Ordering::Acquire),
        started.elapsed(),
        checksum.load(Ordering::Relaxed),
        threads.lock().unwrap()
    );
    Ok(())
}

/// BeginDecode: the work runs on the multithreaded queue.
fn begin_decode(
    frame: u32,
    callback: mfwq::Callback,
    state: Option<mfwq::State>,
) -> mfwq::Result<()> {
    mfwq::begin(QueueId::MULTITHREADED, callback, state, move || {
        let pixels: Vec<u8> = (0..256u32)
            .map(|i| (i.wrapping_mul(31) ^ frame) as u8)
            .collect();
        Ok(pixels)
    })
}

/// EndDecode: the output of the operation `result` stands for.
fn end_decode(result: &AsyncResult) -> mfwq::Result<Vec<u8>> {
    AsyncOperation::<Vec<u8>>::end(result)
}

/// Three priority bands on a serial queue: while the queue is busy, items of
/// priority -1, 0 and 1 arrive in that order and run high first.
fn priorities() -> mfwq::Result<()> {
    println!("\n== Priorities on a private standard queue (MFPutWorkItem2 with -1, 0, +1) ==");
    let queue = WorkQueue::new(QueueType::Standard)?;
    let gate = Event::manual_reset(false);
    let wait = gate.clone();
    queue.spawn(move || {
        wait.wait(Some(WAIT));
    })?;
    let (sender, receiver) = mpsc::channel();
    for (priority, label) in [
        (-1, "low #1"),
        (0, "normal #1"),
        (1, "high #1"),
        (-1, "low #2"),
        (1, "high #2"),
        (0, "normal #2"),
    ] {
        let sender = sender.clone();
        let record = mfwq::callback(move |_| sender.send(label).expect("receiver lives"));
        mfwq::put_work_item_with_priority(queue.id(), priority, record, None)?;
    }
    gate.set();
    let order: Vec<&str> = receiver.iter().take(6).collect();
    println!("  put order: low #1, normal #1, high #1, low #2, high #2, normal #2");
    println!("  ran order: {}", order.join(", "));
    Ok(())
}

/// Many small items onto the multithreaded pool, from one thread.
fn fan_out(items: u32) -> mfwq::Result<()> {
    println!("\n== Fan-out: {items} empty work items onto MULTITHREADED (MFPutWorkItem) ==");
    let ran = Arc::new(AtomicUsize::new(0));
    let done = Event::manual_reset(false);
    let (ran_cb, done_cb) = (ran.clone(), done.clone());
    let target = items as usize;
    let count = mfwq::callback(move |_| {
        if ran_cb.fetch_add(1, Ordering::Relaxed) + 1 == target {
            done_cb.set();
        }
    });
    let started = Instant::now();
    for _ in 0..items {
        mfwq::put_work_item(QueueId::MULTITHREADED, count.clone(), None)?;
    }
    if items > 0 && !done.wait(Some(WAIT)) {
        return Err(mfwq::Error::Unexpected);
    }
    let elapsed = started.elapsed();
    println!(
        "  {} items ran in {elapsed:.2?}: {:.2} M items/s; platform lock count now {}",
        ran.load(Ordering::Relaxed),
        f64::from(items) / elapsed.as_secs_f64() / 1e6,
        mfwq::platform_lock_count()
    );
    Ok(())
}

/// A serial queue over the pool in reply mode, a timer, a cancelled timer and
/// an item waiting on an event.
fn serial_timers_and_waits() -> mfwq::Result<()> {
    println!("\n== Serial queue (reply mode) over MULTITHREADED, timers, a waiting item ==");
    let serial = mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED)?;
    let (sender, receiver) = mpsc::channel::<String>();
    let replying = sender.clone();
    let reply_mode = mfwq::callback_with(
        mfwq::CallbackParams {
            flags: mfwq::CallbackFlags::REPLY,
            queue: QueueId::STANDARD,
        },
        move |result: &AsyncResult| {
            replying
                .send("serial item 1 runs and replies 20 ms later".into())
                .expect("receiver lives");
            let reply = result.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                mfwq::invoke_callback(&reply).expect("reply");
            });
        },
    );
    mfwq::put_work_item(serial, reply_mode, None)?;
    let after = sender.clone();
    mfwq::spawn(serial, move || {
        after
            .send("serial item 2 runs after the reply".into())
            .expect("receiver lives")
    })?;

    let scheduled_at = Instant::now();
    let timer = sender.clone();
    mfwq::schedule_work_item(
        mfwq::callback(move |_| {
            timer
                .send(format!(
                    "timer of 15 ms fired after {:.2?}",
                    scheduled_at.elapsed()
                ))
                .expect("receiver lives")
        }),
        None,
        Duration::from_millis(15),
    )?;
    let cancelled = mfwq::schedule_work_item(
        mfwq::callback(|_| println!("  (a cancelled timer ran: this must not happen)")),
        None,
        Duration::from_millis(5),
    )?;
    mfwq::cancel_work_item(cancelled)?;
    println!(
        "  a second timer was cancelled; cancelling it again gives {:?}",
        mfwq::cancel_work_item(cancelled).err()
    );

    let event = Event::auto_reset(false);
    let waiter = sender.clone();
    let result = AsyncResult::with_callback(
        mfwq::callback(move |_| {
            waiter
                .send("waiting item ran when its event was set".into())
                .expect("receiver lives")
        }),
        None,
    );
    mfwq::put_waiting_work_item(Some(&event), 0, &result)?;
    event.set();
    drop(sender);
    for line in receiver.iter().take(4) {
        println!("  {line}");
    }
    mfwq::unlock_work_queue(serial)?;
    Ok(())
}

/// Work still queued when the platform shuts down runs before shutdown returns;
/// afterwards every call says MF_E_SHUTDOWN.
fn pending_work_at_shutdown(platform: mfwq::Platform) -> mfwq::Result<()> {
    println!("\n== Shutdown with a backlog: 5 slow items queued on STANDARD, then MFShutdown ==");
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..5 {
        let ran = ran.clone();
        mfwq::spawn(QueueId::STANDARD, move || {
            std::thread::sleep(Duration::from_millis(10));
            ran.fetch_add(1, Ordering::SeqCst);
        })?;
    }
    let started = Instant::now();
    drop(platform);
    println!(
        "  MFShutdown returned after {:.2?}; items that ran: {}",
        started.elapsed(),
        ran.load(Ordering::SeqCst)
    );
    let after = mfwq::put_work_item(QueueId::STANDARD, mfwq::callback(|_| {}), None);
    match after {
        Err(error) => println!(
            "  MFPutWorkItem after shutdown -> {} ({error})",
            error.hresult()
        ),
        Ok(()) => println!("  MFPutWorkItem after shutdown unexpectedly succeeded"),
    }
    Ok(())
}
