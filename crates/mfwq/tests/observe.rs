//! Observation (`mfwq::observe`): the trace a recording writes, decoded, holds
//! every item's put, start and end with a flow between them, on tracks named
//! after their queues, and the platform's other events; the statistics count
//! what ran where.

#![cfg(feature = "observe")]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use mfwq::observe::perfetto::{
    Trace, TracePacket, TYPE_COUNTER, TYPE_INSTANT, TYPE_SLICE_BEGIN, TYPE_SLICE_END,
};
use mfwq::observe::Recording;
use mfwq::{HResult, Queue, QueueBuilder, QueueId};

use common::{recv_n, serial, WAIT};

fn trace_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "mfwq-observe-{name}-{}.pftrace",
        std::process::id()
    ))
}

fn decode(path: &std::path::Path) -> Vec<TracePacket> {
    let bytes = std::fs::read(path).unwrap();
    std::fs::remove_file(path).unwrap();
    Trace::decode_resolved(&bytes)
        .expect("the trace parses")
        .packet
}

fn arg<'a>(event: &'a mfwq::observe::perfetto::TrackEvent, name: &str) -> Option<&'a str> {
    event
        .debug_annotations
        .iter()
        .find(|annotation| annotation.name.as_deref() == Some(name))
        .and_then(|annotation| annotation.string_value.as_deref())
}

/// Thread tracks by uuid, with their names.
fn thread_tracks(packets: &[TracePacket]) -> HashMap<u64, String> {
    packets
        .iter()
        .filter_map(|packet| packet.track_descriptor.as_ref())
        .filter_map(|track| {
            let thread = track.thread.as_ref()?;
            Some((track.uuid?, thread.thread_name.clone().unwrap_or_default()))
        })
        .collect()
}

#[test]
fn a_recording_holds_every_item_with_a_flow_from_put_to_invoke() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let path = trace_path("items");
    let recording = Recording::start(&path).unwrap();

    const ITEMS: usize = 200;
    let (sender, receiver) = mpsc::channel();
    for i in 0..ITEMS {
        let sender = sender.clone();
        let queue = if i % 2 == 0 {
            QueueId::MULTITHREADED
        } else {
            QueueId::STANDARD
        };
        mfwq::put_work_item(
            queue,
            mfwq::callback(move |_| sender.send(()).unwrap()),
            None,
        )
        .unwrap();
    }
    recv_n(&receiver, ITEMS);
    let private = QueueBuilder::new().build().unwrap();
    let joined = private.spawn(|| 6 * 7).unwrap().join().unwrap();
    assert_eq!(joined, 42);
    // A refused put, a timer cancelled and a timer fired, a waiting item.
    let stale = private.id();
    drop(private);
    assert_eq!(
        mfwq::put_work_item(stale, mfwq::callback(|_| ()), None),
        Err(mfwq::Error::InvalidWorkQueue)
    );
    let key =
        mfwq::schedule_work_item(mfwq::callback(|_| ()), None, Duration::from_secs(60)).unwrap();
    mfwq::cancel_work_item(key).unwrap();
    let fired = mfwq::Event::manual_reset(false);
    let signal = fired.clone();
    mfwq::schedule_work_item(
        mfwq::callback(move |_| signal.set()),
        None,
        Duration::from_millis(1),
    )
    .unwrap();
    assert!(fired.wait(Some(WAIT)));
    let totals = recording.stop().unwrap();
    assert_eq!(totals.dropped, 0);

    let packets = decode(&path);
    assert_eq!(
        totals.events as usize,
        packets.iter().filter(|p| p.timestamp.is_some()).count()
            - packets
                .iter()
                .filter(|p| p
                    .track_event
                    .as_ref()
                    .is_some_and(|e| e.r#type == Some(TYPE_COUNTER)))
                .count()
    );
    let tracks = thread_tracks(&packets);
    assert!(
        packets.iter().any(|packet| packet
            .track_descriptor
            .as_ref()
            .is_some_and(|track| track.process.is_some())),
        "a process track"
    );
    // Every put starts a flow that one slice ends.
    let mut puts = HashSet::new();
    let mut invoked = HashSet::new();
    let mut depth = HashMap::<u64, i64>::new();
    let mut instants = Vec::new();
    for packet in &packets {
        let Some(event) = &packet.track_event else {
            continue;
        };
        let track = event.track_uuid.unwrap();
        match event.r#type.unwrap() {
            TYPE_INSTANT => {
                let name = event.name.clone().unwrap();
                if name.starts_with("put ") {
                    assert_eq!(event.flow_ids.len(), 1);
                    assert!(puts.insert(event.flow_ids[0]));
                }
                instants.push((name, event.clone()));
            }
            TYPE_SLICE_BEGIN => {
                assert!(tracks.contains_key(&track), "slices are on thread tracks");
                assert_eq!(event.terminating_flow_ids.len(), 1);
                invoked.insert(event.terminating_flow_ids[0]);
                *depth.entry(track).or_default() += 1;
                assert!(
                    tracks[&track].starts_with("mfwq-"),
                    "a worker's track is named after its queue: {}",
                    tracks[&track]
                );
            }
            TYPE_SLICE_END => {
                let open = depth.entry(track).or_default();
                *open -= 1;
                assert!(*open >= 0, "an end without a begin");
            }
            TYPE_COUNTER => {}
            other => panic!("unexpected event type {other}"),
        }
    }
    assert!(depth.values().all(|&open| open == 0), "every slice ends");
    // ITEMS callbacks, the spawned closure, the fired timer.
    assert!(puts.len() > ITEMS, "{} puts", puts.len());
    let refused: Vec<_> = instants
        .iter()
        .filter(|(name, _)| name == "refused put")
        .collect();
    assert_eq!(refused.len(), 1);
    assert!(arg(&refused[0].1, "hresult")
        .unwrap()
        .contains("MF_E_INVALID_WORKQUEUE"));
    // Every put that was not refused ran.
    let refused_flows: HashSet<u64> = refused
        .iter()
        .flat_map(|(_, event)| event.terminating_flow_ids.clone())
        .collect();
    for put in &puts {
        assert!(
            invoked.contains(put) || refused_flows.contains(put),
            "put {put:#x} neither ran nor was refused"
        );
    }
    let names: HashSet<&str> = instants.iter().map(|(name, _)| name.as_str()).collect();
    for expected in [
        "queue allocated",
        "queue unlocked",
        "timer registered",
        "timer cancelled",
        "timer fired",
        "worker started",
    ] {
        assert!(names.contains(expected), "no {expected:?} in {names:?}");
    }
    // The spawned closure is named by its type.
    assert!(packets.iter().any(|packet| packet
        .track_event
        .as_ref()
        .is_some_and(|event| event.r#type == Some(TYPE_SLICE_BEGIN)
            && event.name.as_deref().unwrap_or("").contains("{{closure}}"))));
    // Depth counters, one track per queue.
    assert!(packets
        .iter()
        .any(|packet| packet
            .track_descriptor
            .as_ref()
            .is_some_and(|track| track.counter.is_some()
                && track.name.as_deref() == Some("depth MULTITHREADED"))));
}

#[test]
fn statistics_count_items_times_and_threads_per_queue() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    mfwq::observe::enable_stats();
    let queue = QueueBuilder::new().build().unwrap();
    const ITEMS: usize = 300;
    let handles: Vec<_> = (0..ITEMS)
        .map(|_| {
            queue
                .spawn(|| std::thread::sleep(Duration::from_micros(20)))
                .unwrap()
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    // A panic is still an item that ran.
    assert!(queue.spawn(|| panic!("observed")).unwrap().join().is_err());
    // A join returns when the closure has; the item's end is recorded a
    // moment later.
    assert!(common::wait_until(WAIT, || {
        mfwq::observe::stats()
            .queues
            .iter()
            .any(|snapshot| snapshot.id == queue.id().0 && snapshot.run == ITEMS as u64 + 1)
    }));
    let stats = mfwq::observe::stats();
    let mine = stats
        .queues
        .iter()
        .find(|snapshot| snapshot.id == queue.id().0)
        .expect("the queue is in the snapshot");
    assert_eq!(mine.put, ITEMS as u64 + 1);
    assert_eq!(mine.run, ITEMS as u64 + 1);
    assert_eq!(mine.depth, 0);
    assert_eq!(mine.threads, 1, "{mine:?}");
    assert!(mine.name.starts_with("standard q"), "{}", mine.name);
    assert_eq!(mine.invoke_time.count, ITEMS as u64 + 1);
    assert!(mine.invoke_time.percentile(0.5) >= Duration::from_micros(20));
    assert_eq!(mine.queue_time.count, ITEMS as u64 + 1);
    assert!(mine.busy_ns >= 20_000 * ITEMS as u64);
    let worker = stats
        .threads
        .iter()
        .find(|thread| thread.queue == Some(queue.id().0))
        .expect("its worker is listed");
    assert_eq!(worker.items, ITEMS as u64 + 1);
    // Refusals count on the queue they were meant for.
    let stale = queue.id();
    drop(queue);
    let refused_before = mfwq::observe::stats()
        .queues
        .iter()
        .find(|snapshot| snapshot.id == stale.0)
        .map_or(0, |snapshot| snapshot.refused);
    assert!(mfwq::put_work_item(stale, mfwq::callback(|_| ()), None).is_err());
    let after = mfwq::observe::stats();
    let refused_after = after
        .queues
        .iter()
        .find(|snapshot| snapshot.id == stale.0)
        .map_or(0, |snapshot| snapshot.refused);
    assert_eq!(refused_after, refused_before + 1);
    // A cancelled timer counts on its callback's queue.
    let before = cancelled_on(QueueId::STANDARD);
    let key =
        mfwq::schedule_work_item(mfwq::callback(|_| ()), None, Duration::from_secs(60)).unwrap();
    mfwq::cancel_work_item(key).unwrap();
    assert_eq!(cancelled_on(QueueId::STANDARD), before + 1);
    let _ = Queue::STANDARD;
    let _ = HResult::S_OK;
}

fn cancelled_on(queue: QueueId) -> u64 {
    mfwq::observe::stats()
        .queues
        .iter()
        .find(|snapshot| snapshot.id == queue.0)
        .map_or(0, |snapshot| snapshot.cancelled)
}

#[test]
fn reply_mode_serial_items_are_recorded_and_still_wait_for_their_reply() {
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let path = trace_path("serial");
    let recording = Recording::start(&path).unwrap();
    let serial_queue = mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    let (sender, receiver) = mpsc::channel();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    for i in 0..3 {
        let sender = sender.clone();
        let order = order.clone();
        let callback = mfwq::callback_with(
            mfwq::CallbackParams {
                flags: mfwq::CallbackFlags::REPLY,
                queue: QueueId::STANDARD,
            },
            move |result| {
                order.lock().unwrap().push(i);
                // Reply later, from elsewhere: the next item must wait.
                let reply = result.clone();
                let sender = sender.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(5));
                    mfwq::invoke_callback(&reply).unwrap();
                    sender.send(()).unwrap();
                });
            },
        );
        mfwq::put_work_item(serial_queue, callback, None).unwrap();
    }
    recv_n(&receiver, 3);
    assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
    mfwq::unlock_work_queue(serial_queue).unwrap();
    recording.stop().unwrap();
    let packets = decode(&path);
    let names: Vec<String> = packets
        .iter()
        .filter_map(|packet| packet.track_event.as_ref()?.name.clone())
        .collect();
    // The third reply may still be on its way when the recording stops.
    assert!(
        names.iter().filter(|name| *name == "reply").count() >= 2,
        "{names:?}"
    );
    assert!(
        names.iter().filter(|name| *name == "Invoke").count() >= 3,
        "{names:?}"
    );
    assert!(names.iter().any(|name| name == "serial hand-off"));
}

/// Stress: items put from several threads onto pooled, private and serial
/// queues while recordings start and stop, statistics switch on and off and
/// snapshots are taken: every item runs exactly once, and every trace written
/// meanwhile decodes with its slices balanced.
#[test]
fn observation_switching_under_load_loses_and_duplicates_nothing() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let private = QueueBuilder::new().build().unwrap();
    let serial_queue = mfwq::allocate_serial_work_queue(QueueId::MULTITHREADED).unwrap();
    const THREADS: usize = 4;
    const ITEMS: usize = 5_000;
    let ran = Arc::new(
        (0..THREADS * ITEMS)
            .map(|_| AtomicUsize::new(0))
            .collect::<Vec<_>>(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let switcher = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut traces = 0;
            while !stop.load(Ordering::Acquire) {
                let path = trace_path(&format!("stress-{traces}"));
                let recording = Recording::start(&path).unwrap();
                mfwq::observe::enable_stats();
                std::thread::sleep(Duration::from_millis(3));
                let _ = mfwq::observe::stats();
                mfwq::observe::disable_stats();
                recording.stop().unwrap();
                let packets = decode(&path);
                let mut open = HashMap::<u64, i64>::new();
                for event in packets
                    .iter()
                    .filter_map(|packet| packet.track_event.as_ref())
                {
                    match event.r#type {
                        Some(TYPE_SLICE_BEGIN) => {
                            *open.entry(event.track_uuid.unwrap()).or_default() += 1
                        }
                        Some(TYPE_SLICE_END) => {
                            *open.entry(event.track_uuid.unwrap()).or_default() -= 1
                        }
                        _ => {}
                    }
                }
                // A slice begun before the recording started ends in it
                // (-1), one begun as it stops may end after it (+1).
                assert!(open.values().all(|depth| depth.abs() <= 1), "{open:?}");
                traces += 1;
            }
            traces
        })
    };
    let private_id = private.id();
    let putters: Vec<_> = (0..THREADS)
        .map(|thread| {
            let ran = ran.clone();
            std::thread::spawn(move || {
                for i in 0..ITEMS {
                    let index = thread * ITEMS + i;
                    let ran = ran.clone();
                    let queue = [QueueId::MULTITHREADED, private_id, serial_queue][i % 3];
                    if i % 2 == 0 {
                        mfwq::spawn(queue, move || {
                            ran[index].fetch_add(1, Ordering::Relaxed);
                        })
                        .unwrap();
                    } else {
                        mfwq::put_work_item(
                            queue,
                            mfwq::callback(move |_| {
                                ran[index].fetch_add(1, Ordering::Relaxed);
                            }),
                            None,
                        )
                        .unwrap();
                    }
                }
            })
        })
        .collect();
    for putter in putters {
        putter.join().unwrap();
    }
    assert!(common::wait_until(WAIT * 4, || ran
        .iter()
        .all(|count| count.load(Ordering::Relaxed) >= 1)));
    stop.store(true, Ordering::Release);
    let traces = switcher.join().unwrap();
    assert!(traces >= 1);
    std::thread::sleep(Duration::from_millis(20));
    for (index, count) in ran.iter().enumerate() {
        assert_eq!(count.load(Ordering::Relaxed), 1, "item {index}");
    }
    mfwq::unlock_work_queue(serial_queue).unwrap();
}

/// The instant events of a decoded trace, by name, with their events.
fn instants_named<'a>(
    packets: &'a [TracePacket],
    name: &str,
) -> Vec<&'a mfwq::observe::perfetto::TrackEvent> {
    packets
        .iter()
        .filter_map(|packet| packet.track_event.as_ref())
        .filter(|event| event.r#type == Some(TYPE_INSTANT) && event.name.as_deref() == Some(name))
        .collect()
}

// The event kinds the first test does not reach: waiting items (registered,
// fired, cancelled), a put's priority, an item invoked with a failure status,
// a panic with its site, a real-time registration (requested and applied), a
// final shutdown's phases and the workers it stops.
#[test]
fn a_recording_holds_waits_priorities_statuses_panics_realtime_and_shutdown() {
    let _serial = serial();
    let panics = common::capture_panics();
    let path = trace_path("kinds");
    let platform = mfwq::Platform::start().unwrap();
    let recording = Recording::start(&path).unwrap();

    // A waiting item that fires, and one that is cancelled.
    let (sender, receiver) = mpsc::channel();
    let event = mfwq::Event::auto_reset(false);
    let fired = sender.clone();
    mfwq::put_waiting_work_item(
        Some(&event),
        0,
        mfwq::AsyncResult::with_callback(
            mfwq::callback(move |_| fired.send("wait").unwrap()),
            None,
        ),
    )
    .unwrap();
    event.set();
    assert_eq!(common::recv(&receiver), "wait");
    let never = mfwq::Event::manual_reset(false);
    let cancelled = sender.clone();
    let key = mfwq::put_waiting_work_item(
        Some(&never),
        0,
        mfwq::AsyncResult::with_callback(
            mfwq::callback(move |result| {
                cancelled
                    .send(if result.status() == HResult::MF_E_OPERATION_CANCELLED {
                        "cancelled"
                    } else {
                        "other"
                    })
                    .unwrap()
            }),
            None,
        ),
    )
    .unwrap();
    mfwq::cancel_work_item(key).unwrap();
    assert_eq!(common::recv(&receiver), "cancelled");

    // A put with a priority, whose result carries a failure status.
    let prioritised = sender.clone();
    let result = mfwq::AsyncResult::with_callback(
        mfwq::callback(move |_| prioritised.send("priority").unwrap()),
        None,
    );
    result.set_status(HResult::E_FAIL);
    mfwq::put_result_with_priority(QueueId::STANDARD, 1, result).unwrap();
    assert_eq!(common::recv(&receiver), "priority");

    // A periodic callback's tick.
    let ticked = sender.clone();
    let ticks = std::sync::Mutex::new(Some(ticked));
    let periodic = mfwq::add_periodic_callback(
        move |_| {
            if let Some(ticked) = ticks.lock().unwrap().take() {
                ticked.send("tick").unwrap();
            }
        },
        None,
    )
    .unwrap();
    assert_eq!(common::recv(&receiver), "tick");
    mfwq::remove_periodic_callback(periodic).unwrap();

    // A panic in `invoke`.
    mfwq::put_work_item(
        QueueId::STANDARD,
        mfwq::callback(|_| panic!("traced panic")),
        None,
    )
    .unwrap();
    assert_eq!(common::recv(&panics).site, mfwq::PanicSite::Invoke);

    // A real-time registration: whatever the policy applied, both are named.
    let realtime = QueueBuilder::new().build().unwrap();
    mfwq::register_work_queue_with_mmcss(realtime.id(), "Pro Audio", 0, 0).unwrap();
    let on_realtime = sender.clone();
    realtime
        .spawn(move || on_realtime.send("realtime").unwrap())
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(common::recv(&receiver), "realtime");
    drop(realtime);

    // The final shutdown, recorded.
    drop(platform);
    let totals = recording.stop().unwrap();
    assert_eq!(totals.dropped, 0);
    let packets = decode(&path);

    // The tick's "timer fired" names the periodic callback's key (a
    // scheduled item's key is another number).
    assert!(
        instants_named(&packets, "timer fired")
            .iter()
            .any(|event| event.debug_annotations.iter().any(|annotation| {
                annotation.name.as_deref() == Some("key")
                    && annotation.uint_value == Some(u64::from(periodic.into_raw()))
            })),
        "no \"timer fired\" for the periodic callback"
    );
    for name in [
        "waiting item registered",
        "waiting item fired",
        "waiting item cancelled",
        "shutdown: begin",
        "shutdown: draining",
        "shutdown: complete",
        "worker stopped",
    ] {
        assert!(
            !instants_named(&packets, name).is_empty(),
            "no {name:?} event"
        );
    }
    let panic = instants_named(&packets, "panic");
    assert_eq!(panic.len(), 1);
    assert_eq!(arg(panic[0], "site"), Some("Invoke"));
    let registration = instants_named(&packets, "real-time registration");
    assert!(!registration.is_empty());
    assert!(arg(registration[0], "requested")
        .unwrap()
        .contains("Pro Audio"));
    assert!(!arg(registration[0], "applied").unwrap().is_empty());
    // The prioritised put carries its priority; its slice its status.
    assert!(packets
        .iter()
        .filter_map(|packet| packet.track_event.as_ref())
        .any(|event| event.r#type == Some(TYPE_INSTANT)
            && event.debug_annotations.iter().any(|annotation| {
                annotation.name.as_deref() == Some("priority") && annotation.int_value == Some(1)
            })));
    assert!(packets
        .iter()
        .filter_map(|packet| packet.track_event.as_ref())
        .any(|event| event.r#type == Some(TYPE_SLICE_BEGIN)
            && arg(event, "status").is_some_and(|status| status.contains("E_FAIL"))));
}

/// The item events (put, begin, end), which are nearly all of a trace, name
/// their event, arguments and track by interned id; every id an event uses
/// was told to its sequence before (or in the same packet), on a sequence
/// that started by clearing its state, as Perfetto's readers require; and
/// an item event takes about 30 bytes.
#[test]
fn item_events_use_ids_their_sequence_was_told_first() {
    use mfwq::observe::perfetto::{SEQ_INCREMENTAL_STATE_CLEARED, SEQ_NEEDS_INCREMENTAL_STATE};
    use prost::Message;

    let _serial = serial();
    let _platform = mfwq::Platform::start().unwrap();
    let path = trace_path("interned");
    let recording = Recording::start(&path).unwrap();
    const ITEMS: usize = 300;
    let (sender, receiver) = mpsc::channel();
    let queue = QueueBuilder::new().build().unwrap();
    for i in 0..ITEMS {
        let sender = sender.clone();
        let callback = mfwq::callback(move |_| sender.send(()).unwrap());
        let target = [QueueId::MULTITHREADED, QueueId::STANDARD, queue.id()][i % 3];
        mfwq::put_work_item_with_priority(target, (i % 3) as i32 - 1, callback, None).unwrap();
    }
    recv_n(&receiver, ITEMS);
    assert_eq!(queue.spawn(|| 1).unwrap().join().unwrap(), 1);
    // Queues unlocked and allocated again: the writer lets the old names go
    // and names the new queues afresh.
    drop(queue);
    for round in 0..3 {
        let queue = QueueBuilder::new().build().unwrap();
        assert_eq!(queue.spawn(move || round).unwrap().join().unwrap(), round);
    }
    let totals = recording.stop().unwrap();
    assert_eq!(totals.dropped, 0);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();

    // What each sequence has been told, per table.
    #[derive(Default)]
    struct Told {
        cleared: bool,
        names: HashSet<u64>,
        arg_names: HashSet<u64>,
        values: HashSet<u64>,
        default_track: bool,
    }
    let mut sequences = HashMap::<u32, Told>::new();
    let (mut item_events, mut item_bytes) = (0usize, 0usize);
    let trace = Trace::decode(&bytes[..]).unwrap();
    for packet in &trace.packet {
        let sequence = packet.trusted_packet_sequence_id.unwrap();
        let flags = packet.sequence_flags.unwrap_or(0);
        let told = sequences.entry(sequence).or_default();
        if flags & SEQ_INCREMENTAL_STATE_CLEARED != 0 {
            *told = Told {
                cleared: true,
                ..Told::default()
            };
        }
        if let Some(defaults) = &packet.trace_packet_defaults {
            told.default_track |= defaults
                .track_event_defaults
                .as_ref()
                .is_some_and(|d| d.track_uuid.is_some());
        }
        if let Some(data) = &packet.interned_data {
            told.names
                .extend(data.event_names.iter().map(|n| n.iid.unwrap()));
            told.arg_names
                .extend(data.debug_annotation_names.iter().map(|n| n.iid.unwrap()));
            told.values.extend(
                data.debug_annotation_string_values
                    .iter()
                    .map(|v| v.iid.unwrap()),
            );
        }
        let Some(event) = &packet.track_event else {
            continue;
        };
        if flags & SEQ_NEEDS_INCREMENTAL_STATE == 0 {
            continue;
        }
        // An item event.
        assert!(
            told.cleared,
            "sequence {sequence} used state it never cleared"
        );
        assert!(event.name.is_none(), "item events are named by id");
        assert!(event.track_uuid.is_none() && told.default_track);
        if event.r#type != Some(TYPE_SLICE_END) {
            let name = event.name_iid.expect("a name id");
            assert!(told.names.contains(&name), "name {name} used before told");
        }
        for annotation in &event.debug_annotations {
            let name = annotation.name_iid.expect("an argument name id");
            assert!(
                told.arg_names.contains(&name),
                "argument name {name} untold"
            );
            if let Some(value) = annotation.string_value_iid {
                assert!(told.values.contains(&value), "value {value} untold");
            }
        }
        item_events += 1;
        item_bytes += packet.encoded_len() + 2;
    }
    // Puts, begins and ends of every item (and the spawn's).
    assert!(item_events >= 3 * (ITEMS + 1), "{item_events} item events");
    let average = item_bytes as f64 / item_events as f64;
    assert!(average < 40.0, "{average:.1} bytes per item event");

    // Resolved, the same trace reads as if nothing were interned: every put
    // is named after the queue its item then ran on.
    let resolved = Trace::decode_resolved(&bytes).unwrap();
    let mut priorities = HashSet::new();
    let mut put_names = HashMap::new();
    let mut ran_on = HashMap::new();
    for event in resolved
        .packet
        .iter()
        .filter_map(|p| p.track_event.as_ref())
    {
        if event.r#type == Some(TYPE_SLICE_BEGIN) {
            assert!(event.name.is_some());
            let queue = arg(event, "queue").expect("a queue").to_owned();
            ran_on.insert(event.terminating_flow_ids[0], queue);
        }
        if let (Some(name), Some(&flow)) = (&event.name, event.flow_ids.first()) {
            put_names.insert(flow, name.clone());
        }
        if event.r#type == Some(TYPE_INSTANT) && event.name.as_deref().unwrap().starts_with("put ")
        {
            priorities.extend(event.debug_annotations.iter().filter_map(|a| {
                (a.name.as_deref() == Some("priority")).then_some(a.int_value.unwrap())
            }));
        }
        assert!(event.track_uuid.is_some());
    }
    assert_eq!(priorities, HashSet::from([-1, 1]));
    assert_eq!(put_names.len(), ran_on.len());
    let queues: HashSet<&String> = ran_on.values().collect();
    assert!(queues.len() >= 3, "{queues:?}");
    for (flow, queue) in &ran_on {
        assert_eq!(put_names[flow], format!("put {queue}"));
    }
}
