//! `Event::wait_any` / `Event::wait_all` (what `WaitForMultipleObjects`
//! builds on): ordering with waiting work items, and multi-threaded races of
//! `set` against both waits. The races check the two properties that matter:
//! no lost wake-up (a blocked waiter always sees a signal that stays set) and
//! no double consumption (one auto-reset signal releases one waiter).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::{recv, serial, WAIT};
use mfwq::{callback, put_waiting_work_item, AsyncResult, Event, Platform};

/// An auto-reset event whose signal is accounted for: `give` marks a signal
/// in flight before it sets the event, `take` clears the mark after a wait
/// took the signal. A `take` that finds no mark is a double consumption.
struct Tracked {
    event: Event,
    in_flight: AtomicBool,
}

impl Tracked {
    fn new() -> Tracked {
        Tracked {
            event: Event::auto_reset(false),
            in_flight: AtomicBool::new(false),
        }
    }

    /// Sets the event once the previous signal was taken; `false` if that did
    /// not happen before `deadline`.
    fn give(&self, deadline: Instant) -> bool {
        while self
            .in_flight
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::yield_now();
        }
        self.event.set();
        true
    }

    fn take(&self) {
        assert!(
            self.in_flight.swap(false, Ordering::SeqCst),
            "a signal was consumed twice (or one that was never given)"
        );
    }
}

fn stress_rounds() -> usize {
    if cfg!(debug_assertions) {
        2_000
    } else {
        20_000
    }
}

/// Setters race consumers that block in `wait_any` without a timeout: every
/// signal is taken exactly once, and nobody stays blocked on a set event.
#[test]
fn wait_any_races_set_without_lost_or_doubled_signals() {
    const EVENTS: usize = 4;
    const SETTERS: usize = 2;
    const CONSUMERS: usize = 3;
    let rounds = stress_rounds();
    let tracked: Arc<Vec<Tracked>> = Arc::new((0..EVENTS).map(|_| Tracked::new()).collect());
    let stop = Event::manual_reset(false);
    let mut waited: Vec<Event> = tracked.iter().map(|t| t.event.clone()).collect();
    waited.push(stop.clone());
    let taken = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(60);

    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let (tracked, waited, taken) = (tracked.clone(), waited.clone(), taken.clone());
            std::thread::spawn(move || loop {
                let index = Event::wait_any(&waited, None).expect("no timeout was given");
                if index == EVENTS {
                    return;
                }
                tracked[index].take();
                taken.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let setters: Vec<_> = (0..SETTERS)
        .map(|setter| {
            let tracked = tracked.clone();
            std::thread::spawn(move || {
                let mut given = 0;
                for round in 0..rounds {
                    if tracked[(round + setter) % EVENTS].give(deadline) {
                        given += 1;
                    }
                }
                given
            })
        })
        .collect();
    let given: usize = setters.into_iter().map(|s| s.join().unwrap()).sum();
    assert_eq!(
        given,
        SETTERS * rounds,
        "a signal was never taken (lost wake-up)"
    );
    while taken.load(Ordering::SeqCst) < given {
        assert!(
            Instant::now() < deadline,
            "lost wake-up: {} of {given} signals taken",
            taken.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.set();
    for consumer in consumers {
        consumer.join().unwrap();
    }
    assert_eq!(taken.load(Ordering::SeqCst), given);
    assert!(tracked.iter().all(|t| !t.event.is_set()));
}

/// Two auto-reset events raced by a `wait_all` consumer and by thieves that
/// take either one alone: the wait-all takes both signals or neither, and no
/// signal is taken twice.
#[test]
fn wait_all_never_consumes_a_subset_under_races() {
    let rounds = stress_rounds() / 2;
    let pair: Arc<[Tracked; 2]> = Arc::new([Tracked::new(), Tracked::new()]);
    let both = [pair[0].event.clone(), pair[1].event.clone()];
    let done = Arc::new(AtomicBool::new(false));
    let whole = Arc::new(AtomicUsize::new(0));
    let stolen = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(60);

    let all_waiter = {
        let (pair, done, whole) = (pair.clone(), done.clone(), whole.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                if Event::wait_all(&both, Some(Duration::from_millis(20))) {
                    pair[0].take();
                    pair[1].take();
                    whole.fetch_add(1, Ordering::SeqCst);
                } else {
                    // A failed wait-all left both marks as they were.
                }
            }
        })
    };
    let thieves: Vec<_> = (0..2)
        .map(|which| {
            let (pair, done, stolen) = (pair.clone(), done.clone(), stolen.clone());
            std::thread::spawn(move || {
                let mine = [pair[which].event.clone()];
                let mut turn = 0usize;
                while !done.load(Ordering::SeqCst) {
                    turn += 1;
                    if turn % 4 != 0 {
                        // Give the wait-all a chance most of the time.
                        std::thread::yield_now();
                        continue;
                    }
                    if Event::wait_any(&mine, Some(Duration::from_millis(5))) == Some(0) {
                        pair[which].take();
                        stolen.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    let setters: Vec<_> = (0..2)
        .map(|which| {
            let pair = pair.clone();
            std::thread::spawn(move || (0..rounds).filter(|_| pair[which].give(deadline)).count())
        })
        .collect();
    let given: usize = setters.into_iter().map(|s| s.join().unwrap()).sum();
    assert_eq!(given, 2 * rounds, "a signal was never taken");
    // The last signals of each event may still wait for a partner or thief.
    while whole.load(Ordering::SeqCst) * 2 + stolen.load(Ordering::SeqCst) < given {
        assert!(Instant::now() < deadline, "signals were lost");
        std::thread::sleep(Duration::from_millis(1));
    }
    done.store(true, Ordering::SeqCst);
    all_waiter.join().unwrap();
    for thief in thieves {
        thief.join().unwrap();
    }
    assert_eq!(
        whole.load(Ordering::SeqCst) * 2 + stolen.load(Ordering::SeqCst),
        given
    );
}

/// Many threads in `wait_all` on overlapping sets of manual-reset events
/// (locks taken in a global order: no deadlock), all released by the last set.
#[test]
fn overlapping_wait_alls_do_not_deadlock() {
    let events: Vec<Event> = (0..6).map(|_| Event::manual_reset(false)).collect();
    let waiters: Vec<_> = (0..8)
        .map(|i| {
            let mine: Vec<Event> = (0..3).map(|k| events[(i + k * 5) % 6].clone()).collect();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    assert!(Event::wait_all(&mine, Some(Duration::from_secs(30))));
                }
            })
        })
        .collect();
    // Set in reverse order, with pauses, so that the waiters block first.
    for event in events.iter().rev() {
        std::thread::sleep(Duration::from_millis(5));
        event.set();
    }
    for waiter in waiters {
        waiter.join().unwrap();
    }
}

/// An auto-reset `set` releases a waiting work item ahead of a thread in
/// `wait_any`, as it does ahead of one in `wait`; the next set goes to the thread.
#[test]
fn a_waiting_item_comes_before_a_multi_waiter() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let event = Event::auto_reset(false);
    let (sender, fired) = mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let cb = callback(move |_: &AsyncResult| {
        let _ = sender.lock().unwrap().send(());
    });
    let result = AsyncResult::with_callback(cb, None);
    put_waiting_work_item(Some(&event), 0, &result).unwrap();
    let waiter = {
        let events = [Event::manual_reset(false), event.clone()];
        std::thread::spawn(move || Event::wait_any(&events, Some(WAIT)))
    };
    std::thread::sleep(Duration::from_millis(30));
    event.set();
    recv(&fired);
    std::thread::sleep(Duration::from_millis(30));
    assert!(
        !waiter.is_finished(),
        "the item took the signal, not the thread"
    );
    event.set();
    assert_eq!(waiter.join().unwrap(), Some(1));
    assert!(!event.is_set());
}
