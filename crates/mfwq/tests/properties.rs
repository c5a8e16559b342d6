//! Property tests (proptest) for the parts of the platform whose inputs have
//! structure: queue ids and their encoding, the allocate / lock / unlock life
//! of a private queue checked against a model, the HRESULT mapping, the
//! conversion of C timeouts, and MMCSS class names as UTF-16.
//!
//! The platform is one per process, so every test that starts it takes
//! [`common::serial`] first and runs its cases inside one `TestRunner`.
//! Case counts are kept small: the whole file runs in a few seconds.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use mfwq::{ClassName, Error, HResult, QueueId, QueueType, MAX_PRIVATE_QUEUES};

/// A runner with `cases` cases and no shrinking beyond a bounded effort.
fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        max_shrink_iters: 256,
        ..Config::default()
    })
}

/// Runs `test` over `strategy`, failing the Rust test with proptest's report.
fn check<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    if let Err(failure) = runner(cases).run(&strategy, test) {
        panic!("{failure}");
    }
}

// ---------------------------------------------------------------------------
// Queue ids
// ---------------------------------------------------------------------------

/// The platform queue an id without private bits runs on: the five named
/// ones run on themselves, every other low id on STANDARD.
fn expected_platform_queue(id: u32) -> QueueId {
    match id {
        2 | 3 | 4 | 5 | 7 => QueueId(id),
        _ => QueueId::STANDARD,
    }
}

/// Low ids, weighted towards the small numbers where the named queues live.
fn low_id() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 0u32..16, 1 => 16u32..=0xFFFF]
}

#[test]
fn is_private_is_the_high_word_less_the_undefined_private_ids() {
    check(512, any::<u32>(), |id| {
        let undefined_private = id & 0x8000_FFFF == 0x8000_0000;
        prop_assert_eq!(QueueId(id).is_undefined_private(), undefined_private);
        prop_assert_eq!(
            QueueId(id).is_private(),
            id & QueueId::PRIVATE_MASK != 0 && !undefined_private,
            "PRIVATE_MASK is the high word"
        );
        Ok(())
    });
}

#[test]
fn the_private_layout_round_trips() {
    // `(slot + 1) << 16 | generation` for every slot and generation the
    // registry hands out: private, and both parts come back out.
    let parts = (0..MAX_PRIVATE_QUEUES as u32, 1u32..=0xFFFE);
    check(512, parts, |(slot, generation)| {
        let id = QueueId(((slot + 1) << 16) | generation);
        prop_assert!(id.is_private());
        prop_assert_eq!((id.0 >> 16) - 1, slot);
        prop_assert_eq!(id.0 & 0xFFFF, generation);
        prop_assert_ne!(id, QueueId(0x10000), "0x10000 is never a live id");
        prop_assert!(!id.is_undefined_private());
        Ok(())
    });
}

#[test]
fn ids_without_private_bits_run_on_their_platform_queue() {
    let _serial = common::serial();
    let _platform = mfwq::Platform::start().unwrap();
    check(48, low_id(), |id| {
        let queue = QueueId(id);
        prop_assert!(!queue.is_private());
        // Lock and unlock of platform ids are accepted and change nothing.
        prop_assert_eq!(mfwq::lock_work_queue(queue), Ok(()));
        prop_assert_eq!(mfwq::unlock_work_queue(queue), Ok(()));
        let (sender, receiver) = mpsc::channel();
        let through_callback = sender.clone();
        mfwq::spawn(queue, move || sender.send(mfwq::current_queue()).unwrap()).unwrap();
        mfwq::put_work_item(
            queue,
            mfwq::callback(move |_| through_callback.send(mfwq::current_queue()).unwrap()),
            None,
        )
        .unwrap();
        let expected = Some(expected_platform_queue(id));
        prop_assert_eq!(common::recv(&receiver), expected, "spawn on {:#x}", id);
        prop_assert_eq!(common::recv(&receiver), expected, "put on {:#x}", id);
        Ok(())
    });
}

/// Private ids that no allocation can have made: generation 0 (so `0x10000`
/// and every `n << 16` below the undefined private ids), or a slot past the
/// table (so `QueueId::ALL`).
fn impossible_private_id() -> impl Strategy<Value = u32> {
    let max = MAX_PRIVATE_QUEUES as u32;
    prop_oneof![
        (1u32..0x8000).prop_map(|high| high << 16),
        ((max + 1)..=0xFFFF, 1u32..=0xFFFF).prop_map(|(high, low)| (high << 16) | low),
        Just(0x10000),
        Just(QueueId::ALL.0),
    ]
}

#[test]
fn never_allocatable_private_ids_are_invalid() {
    let _serial = common::serial();
    let platform = mfwq::Platform::start().unwrap();
    check(128, impossible_private_id(), |id| {
        let queue = QueueId(id);
        prop_assert!(queue.is_private());
        prop_assert_eq!(mfwq::spawn(queue, || {}), Err(Error::InvalidWorkQueue));
        prop_assert_eq!(mfwq::lock_work_queue(queue), Err(Error::InvalidWorkQueue));
        prop_assert_eq!(mfwq::unlock_work_queue(queue), Err(Error::InvalidWorkQueue));
        prop_assert_eq!(mfwq::work_queue_type(queue), Err(Error::InvalidWorkQueue));
        Ok(())
    });
    drop(platform);
    // While the platform is down, "not running" comes first.
    check(32, impossible_private_id(), |id| {
        prop_assert_eq!(mfwq::spawn(QueueId(id), || {}), Err(Error::Shutdown));
        prop_assert_eq!(mfwq::lock_work_queue(QueueId(id)), Err(Error::Shutdown));
        Ok(())
    });
}

/// One step of the allocation model. Indices pick among the ids the case has
/// seen so far (modulo their number), live or stale.
#[derive(Clone, Debug)]
enum Op {
    Allocate(QueueType),
    Lock(usize),
    Unlock(usize),
    Put(usize),
    /// The last shutdown and a new startup: every id dies.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop_oneof![Just(QueueType::Standard), Just(QueueType::Multithreaded)]
            .prop_map(Op::Allocate),
        2 => any::<usize>().prop_map(Op::Lock),
        3 => any::<usize>().prop_map(Op::Unlock),
        4 => any::<usize>().prop_map(Op::Put),
        1 => Just(Op::Restart),
    ]
}

/// Every private id any case of this binary was given. The generation counter
/// is process-wide and this binary allocates far fewer than 0xFFFE queues,
/// so no id may come back twice.
static SEEN_IDS: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

/// The model: each id the case was given, with its lock count while it lives
/// and `None` once it is stale (stale ids never come back).
struct Model {
    ids: Vec<(QueueId, Option<u32>)>,
    accepted_puts: usize,
}

impl Model {
    fn live(&self) -> usize {
        self.ids.iter().filter(|(_, locks)| locks.is_some()).count()
    }

    fn pick(&self, index: usize) -> Option<usize> {
        (!self.ids.is_empty()).then(|| index % self.ids.len())
    }
}

fn expected(live: bool) -> Result<(), Error> {
    if live {
        Ok(())
    } else {
        Err(Error::InvalidWorkQueue)
    }
}

fn run_allocation_model(ops: Vec<Op>) -> Result<(), TestCaseError> {
    mfwq::startup(mfwq::MF_VERSION).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let mut model = Model {
        ids: Vec::new(),
        accepted_puts: 0,
    };
    let outcome = (|| {
        for op in ops {
            match op {
                Op::Allocate(kind) => {
                    let id = mfwq::allocate_work_queue(kind).unwrap();
                    let (high, low) = (id.0 >> 16, id.0 & 0xFFFF);
                    prop_assert!(id.is_private(), "{:?}", id);
                    prop_assert!((1..=0xFFFE).contains(&low), "generation of {:?}", id);
                    prop_assert!(
                        (1..=MAX_PRIVATE_QUEUES as u32).contains(&high),
                        "slot of {:?}",
                        id
                    );
                    prop_assert!(
                        model.ids.iter().all(|(old, _)| *old != id),
                        "{:?} given twice in one case",
                        id
                    );
                    let fresh = SEEN_IDS
                        .lock()
                        .unwrap()
                        .get_or_insert_with(HashSet::new)
                        .insert(id.0);
                    prop_assert!(fresh, "{:?} given twice before the generation wrapped", id);
                    prop_assert_eq!(mfwq::work_queue_type(id), Ok(kind));
                    model.ids.push((id, Some(1)));
                }
                Op::Lock(index) => {
                    let Some(index) = model.pick(index) else {
                        continue;
                    };
                    let (id, locks) = &mut model.ids[index];
                    prop_assert_eq!(mfwq::lock_work_queue(*id), expected(locks.is_some()));
                    if let Some(locks) = locks {
                        *locks += 1;
                    }
                }
                Op::Unlock(index) => {
                    let Some(index) = model.pick(index) else {
                        continue;
                    };
                    let (id, locks) = &mut model.ids[index];
                    prop_assert_eq!(mfwq::unlock_work_queue(*id), expected(locks.is_some()));
                    *locks = match *locks {
                        Some(1) | None => None,
                        Some(n) => Some(n - 1),
                    };
                }
                Op::Put(index) => {
                    let Some(index) = model.pick(index) else {
                        continue;
                    };
                    let (id, locks) = model.ids[index];
                    let counter = Arc::clone(&ran);
                    let result = if index % 2 == 0 {
                        mfwq::spawn(id, move || {
                            counter.fetch_add(1, Ordering::SeqCst);
                        })
                    } else {
                        let callback = mfwq::callback(move |_| {
                            counter.fetch_add(1, Ordering::SeqCst);
                        });
                        mfwq::put_work_item(id, callback, None)
                    };
                    prop_assert_eq!(result, expected(locks.is_some()), "put on {:?}", id);
                    if result.is_ok() {
                        model.accepted_puts += 1;
                    }
                }
                Op::Restart => {
                    mfwq::shutdown().unwrap();
                    prop_assert!(!mfwq::is_started());
                    prop_assert_eq!(ran.load(Ordering::SeqCst), model.accepted_puts);
                    for (id, _) in &model.ids {
                        prop_assert_eq!(mfwq::spawn(*id, || {}), Err(Error::Shutdown));
                        prop_assert_eq!(mfwq::lock_work_queue(*id), Err(Error::Shutdown));
                    }
                    mfwq::startup(mfwq::MF_VERSION).unwrap();
                    for (_, locks) in &mut model.ids {
                        *locks = None;
                    }
                }
            }
            prop_assert_eq!(mfwq::private_queue_count(), model.live());
        }
        // Unlocking every live id to zero kills it on the last unlock only.
        for (id, locks) in &mut model.ids {
            while let Some(n) = *locks {
                prop_assert_eq!(mfwq::spawn(*id, || {}), Ok(()));
                model.accepted_puts += 1;
                ran.fetch_add(1, Ordering::SeqCst);
                prop_assert_eq!(mfwq::unlock_work_queue(*id), Ok(()));
                *locks = (n > 1).then(|| n - 1);
            }
            prop_assert_eq!(mfwq::unlock_work_queue(*id), Err(Error::InvalidWorkQueue));
        }
        prop_assert_eq!(mfwq::private_queue_count(), 0);
        Ok(())
    })();
    while mfwq::is_started() {
        mfwq::shutdown().unwrap();
    }
    outcome?;
    // Every accepted put has run by the time the last shutdown returned.
    prop_assert_eq!(ran.load(Ordering::SeqCst), model.accepted_puts);
    Ok(())
}

#[test]
fn allocate_lock_unlock_put_follow_the_model() {
    let _serial = common::serial();
    // A restart with explicit locks held need not wait for them here.
    mfwq::set_shutdown_timeout(Duration::from_millis(1));
    check(
        64,
        proptest::collection::vec(op(), 1..40),
        run_allocation_model,
    );
    let seen = SEEN_IDS.lock().unwrap().as_ref().map_or(0, HashSet::len);
    assert!(seen < 0xFFFE, "the generation may have wrapped: {seen} ids");
}

// ---------------------------------------------------------------------------
// HRESULT mapping
// ---------------------------------------------------------------------------

/// The variants that stand for one named HRESULT each.
const NAMED: [Error; 13] = [
    Error::Shutdown,
    Error::InvalidWorkQueue,
    Error::BadStartupVersion,
    Error::NotFound,
    Error::OperationCancelled,
    Error::InvalidArg,
    Error::Pointer,
    Error::Fail,
    Error::OutOfMemory,
    Error::NotImplemented,
    Error::Unexpected,
    Error::InvalidRequest,
    Error::BufferTooSmall,
];

/// A failure code: the named ones, other known ones, and arbitrary ones.
fn failure_code() -> impl Strategy<Value = HResult> {
    prop_oneof![
        proptest::sample::select(NAMED.to_vec()).prop_map(Error::hresult),
        proptest::sample::select(vec![
            HResult::MF_E_RT_UNAVAILABLE,
            HResult::MF_E_INVALID_KEY,
            HResult::E_ACCESSDENIED,
            HResult::E_HANDLE,
            HResult::MF_E_TIMER_ORPHANED,
        ]),
        (i32::MIN..0).prop_map(HResult),
        Just(HResult(i32::MIN)),
        Just(HResult(-1)),
    ]
}

fn any_error() -> impl Strategy<Value = Error> {
    prop_oneof![
        proptest::sample::select(NAMED.to_vec()),
        failure_code().prop_map(Error::Other),
    ]
}

#[test]
fn every_error_round_trips_through_its_hresult() {
    check(1024, any_error(), |error| {
        let hr = error.hresult();
        prop_assert!(hr.is_err() && !hr.is_ok(), "{:?} -> {:?}", error, hr);
        prop_assert_eq!(HResult::from(error), hr);
        prop_assert_eq!(mfwq::to_hresult::<()>(&Err(error)), hr);
        let back = Error::from_hresult(hr).expect("a failure code is an error");
        prop_assert_eq!(back.hresult(), hr, "the HRESULT survives");
        match error {
            // An `Other` holding a named code comes back as its named variant.
            Error::Other(code) => {
                let named = NAMED.iter().find(|named| named.hresult() == code);
                prop_assert_eq!(back, named.copied().unwrap_or(Error::Other(code)));
            }
            named => prop_assert_eq!(back, named),
        }
        prop_assert_eq!(hr.ok(), Err(back));
        prop_assert!(!error.to_string().is_empty());
        Ok(())
    });
}

#[test]
fn every_hresult_maps_by_its_sign() {
    let code = prop_oneof![
        any::<i32>().prop_map(HResult),
        failure_code(),
        Just(HResult::S_OK),
        Just(HResult::S_FALSE),
        Just(HResult::MF_S_MULTIPLE_BEGIN),
        Just(HResult(i32::MAX)),
    ];
    check(2048, code, |hr| {
        prop_assert_eq!(hr.is_ok(), hr.0 >= 0);
        prop_assert_eq!(hr.is_err(), hr.0 < 0);
        match Error::from_hresult(hr) {
            // Success codes are no error.
            None => {
                prop_assert!(hr.is_ok());
                prop_assert_eq!(hr.ok(), Ok(()));
            }
            Some(error) => {
                prop_assert!(hr.is_err());
                prop_assert_eq!(error.hresult(), hr);
                prop_assert_eq!(hr.ok(), Err(error));
                // Unknown failure codes are kept as they are.
                if !NAMED.iter().any(|named| named.hresult() == hr) {
                    prop_assert_eq!(error, Error::Other(hr));
                }
            }
        }
        let shown = format!("{hr:?}");
        prop_assert!(
            shown.contains(&format!("{:#010X}", hr.0 as u32)),
            "{}",
            shown
        );
        if let Some(name) = hr.name() {
            prop_assert!(shown.starts_with(name), "{}", shown);
        }
        prop_assert_eq!(mfwq::to_hresult(&Ok::<i32, Error>(hr.0)), HResult::S_OK);
        Ok(())
    });
}

// ---------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------

fn any_timeout() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -100_000i64..100_000,
        proptest::sample::select(vec![i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX]),
    ]
}

#[test]
fn negative_timeouts_are_relative_delays_and_others_mean_now() {
    check(4096, any_timeout(), |timeout| {
        let delay = mfwq::delay_from_mf_timeout(timeout);
        if timeout < 0 {
            prop_assert_eq!(delay.as_millis(), u128::from(timeout.unsigned_abs()));
        } else {
            prop_assert_eq!(delay, Duration::ZERO);
        }
        Ok(())
    });
}

#[test]
fn timeout_conversion_never_increases() {
    check(4096, (any_timeout(), any_timeout()), |(a, b)| {
        let (earlier, later) = (a.min(b), a.max(b));
        prop_assert!(
            mfwq::delay_from_mf_timeout(earlier) >= mfwq::delay_from_mf_timeout(later),
            "{} vs {}",
            earlier,
            later
        );
        Ok(())
    });
}

#[test]
fn any_converted_timeout_can_be_scheduled_and_cancelled() {
    let _serial = common::serial();
    let _platform = mfwq::Platform::start().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ran);
    let callback = mfwq::callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let expired = AtomicUsize::new(0);
    check(96, any_timeout(), |timeout| {
        let delay = mfwq::delay_from_mf_timeout(timeout);
        let key = mfwq::schedule_work_item(Arc::clone(&callback), None, delay);
        prop_assert!(key.is_ok(), "{}: {:?}", timeout, key);
        match mfwq::cancel_work_item(key.unwrap()) {
            Ok(()) => {}
            // Only an item due at once may have fired before the cancel.
            Err(Error::NotFound) => {
                prop_assert!(delay < Duration::from_secs(1), "{}", timeout);
                expired.fetch_add(1, Ordering::SeqCst);
            }
            Err(other) => prop_assert!(false, "cancel of {}: {:?}", timeout, other),
        }
        Ok(())
    });
    // A cancel that returned Ok means the item never runs; the others ran once.
    let expired = expired.load(Ordering::SeqCst);
    common::wait_until(common::WAIT, || ran.load(Ordering::SeqCst) >= expired);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(ran.load(Ordering::SeqCst), expired);
}

// ---------------------------------------------------------------------------
// MMCSS class names as UTF-16
// ---------------------------------------------------------------------------

/// Class names as UTF-16 units: lone surrogates, ASCII and anything else,
/// never a NUL (a NUL cannot pass through a C string).
fn class_units(max: usize) -> impl Strategy<Value = Vec<u16>> {
    let unit = prop_oneof![
        2 => 0xD800u16..=0xDFFF,
        2 => 0x20u16..0x7F,
        1 => 1u16..=u16::MAX,
    ];
    proptest::collection::vec(unit, 0..max)
}

#[test]
fn a_registered_class_comes_back_as_the_same_utf16() {
    let _serial = common::serial();
    let _platform = mfwq::Platform::start().unwrap();
    check(128, class_units(12), |units| {
        let queue = mfwq::allocate_work_queue(QueueType::Standard).unwrap();
        let class = ClassName::from_utf16(&units);
        let registered = mfwq::register_work_queue_with_mmcss(queue, class.clone(), 0, 0);
        let outcome = (|| {
            if units.is_empty() {
                prop_assert_eq!(registered, Err(Error::InvalidArg), "the empty class");
                return Ok(());
            }
            prop_assert!(registered.is_ok(), "{:?}: {:?}", units, registered);
            let back = mfwq::work_queue_mmcss_class_name(queue).unwrap();
            prop_assert_eq!(back.as_utf16(), &units[..]);
            prop_assert_eq!(&back, &class);
            prop_assert_eq!(
                mfwq::work_queue_mmcss_class(queue).unwrap(),
                String::from_utf16_lossy(&units)
            );
            Ok(())
        })();
        mfwq::unlock_work_queue(queue).unwrap();
        outcome
    });
}

#[test]
fn a_class_given_as_text_is_its_utf16() {
    let _serial = common::serial();
    let _platform = mfwq::Platform::start().unwrap();
    let text = "[^\u{0}]{1,10}";
    check(64, text, |class: String| {
        let units: Vec<u16> = class.encode_utf16().collect();
        let name = ClassName::from(class.as_str());
        prop_assert_eq!(name.as_utf16(), &units[..]);
        mfwq::register_work_queue_with_mmcss(QueueId::IO, class.as_str(), 0, 1).unwrap();
        let back = mfwq::work_queue_mmcss_class_name(QueueId::IO).unwrap();
        prop_assert_eq!(back.as_utf16(), &units[..]);
        prop_assert_eq!(mfwq::work_queue_mmcss_class(QueueId::IO).unwrap(), class);
        Ok(())
    });
    mfwq::unregister_work_queue_from_mmcss(QueueId::IO).unwrap();
}

#[test]
fn shared_queues_are_one_per_exact_utf16_name() {
    let _serial = common::serial();
    let _platform = mfwq::Platform::start().unwrap();
    // Two names, the second one equal to the first in about a third of the cases.
    let names = (class_units(6), class_units(6), 0u8..3).prop_map(|(first, second, same)| {
        let second = if same == 0 { first.clone() } else { second };
        (first, second)
    });
    check(128, names, |(first, second)| {
        let lock = |units: &[u16]| {
            mfwq::lock_shared_work_queue_named(Some(&ClassName::from_utf16(units)), 0, None)
        };
        let a = lock(&first).unwrap();
        let b = lock(&second).unwrap();
        prop_assert!(a.is_private() && b.is_private());
        if first == second {
            prop_assert_eq!(a, b, "one name, one queue");
        } else {
            prop_assert_ne!(a, b, "{:?} and {:?} share a queue", first, second);
        }
        if !first.is_empty() {
            let class = mfwq::work_queue_mmcss_class_name(a).unwrap();
            prop_assert_eq!(class.as_utf16(), &first[..]);
        }
        // Each lock is given back once; the last one ends the queue.
        prop_assert_eq!(mfwq::unlock_work_queue(a), Ok(()));
        prop_assert_eq!(mfwq::unlock_work_queue(b), Ok(()));
        prop_assert_eq!(mfwq::work_queue_type(a), Err(Error::InvalidWorkQueue));
        prop_assert_eq!(mfwq::work_queue_type(b), Err(Error::InvalidWorkQueue));
        Ok(())
    });
}
