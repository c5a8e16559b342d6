//! Undefined private ids (`0xFFFF0000`, `0xFFFE0000`: the private mask with a
//! low word of `UNDEFINED`) are accepted wherever a queue id enters and mean
//! STANDARD, as `UNDEFINED` does; a private id that was never allocated
//! (`0x10000`) or has gone stale keeps failing at every one of those entries.

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::{recv, serial};
use mfwq::{AsyncResult, Error, Event, Platform, QueueId};

const UNDEFINED_PRIVATE: [QueueId; 3] = [
    QueueId(QueueId::PRIVATE_MASK),
    QueueId(0xFFFE_0000),
    QueueId(0x8000_0000),
];

/// A callback naming `queue` in its parameters that reports where it ran.
fn reporting_on(queue: QueueId) -> (mfwq::Callback, mpsc::Receiver<Option<QueueId>>) {
    let (sender, receiver) = mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let callback = mfwq::callback_on(queue, move |_| {
        sender.lock().unwrap().send(mfwq::current_queue()).unwrap();
    });
    (callback, receiver)
}

/// A stale id: allocated, then unlocked.
fn stale_id() -> QueueId {
    let queue = mfwq::allocate_work_queue(mfwq::QueueType::Standard).unwrap();
    mfwq::unlock_work_queue(queue).unwrap();
    queue
}

#[test]
fn puts_to_undefined_private_ids_run_on_standard() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for queue in UNDEFINED_PRIVATE {
        assert!(!queue.is_private() && queue.is_undefined_private());
        let (callback, receiver) = reporting_on(QueueId::MULTITHREADED);
        mfwq::put_work_item(queue, callback.clone(), None).unwrap();
        assert_eq!(recv(&receiver), Some(QueueId::STANDARD), "put {queue:?}");
        mfwq::put_work_item_with_priority(queue, 1, callback.clone(), None).unwrap();
        assert_eq!(recv(&receiver), Some(QueueId::STANDARD), "put2 {queue:?}");
        let result = AsyncResult::with_callback(callback.clone(), None);
        mfwq::put_result(queue, &result).unwrap();
        assert_eq!(recv(&receiver), Some(QueueId::STANDARD), "put ex {queue:?}");
        mfwq::put_result_with_priority(queue, -1, &result).unwrap();
        assert_eq!(
            recv(&receiver),
            Some(QueueId::STANDARD),
            "put ex2 {queue:?}"
        );
        let (sender, ran) = mpsc::channel();
        mfwq::spawn(queue, move || sender.send(mfwq::current_queue()).unwrap()).unwrap();
        assert_eq!(recv(&ran), Some(QueueId::STANDARD), "spawn {queue:?}");
    }
}

#[test]
fn callbacks_naming_undefined_private_ids_run_on_standard() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for queue in UNDEFINED_PRIVATE {
        let (callback, receiver) = reporting_on(queue);
        // Invoke: the queue comes from the callback's parameters.
        mfwq::invoke_callback(AsyncResult::with_callback(callback.clone(), None)).unwrap();
        assert_eq!(recv(&receiver), Some(QueueId::STANDARD), "invoke {queue:?}");
        // Schedule: fired on the queue the parameters name.
        mfwq::schedule_work_item(callback.clone(), None, Duration::from_millis(1)).unwrap();
        assert_eq!(
            recv(&receiver),
            Some(QueueId::STANDARD),
            "schedule {queue:?}"
        );
        // Waiting item: dispatched to that queue when the event is set.
        let event = Event::auto_reset(false);
        let result = AsyncResult::with_callback(callback.clone(), None);
        mfwq::put_waiting_work_item(Some(&event), 0, &result).unwrap();
        event.set();
        assert_eq!(recv(&receiver), Some(QueueId::STANDARD), "wait {queue:?}");
        // A Begin's completion goes to the callback's queue too.
        mfwq::begin(QueueId::MULTITHREADED, callback.clone(), None, || Ok(())).unwrap();
        assert_eq!(recv(&receiver), Some(QueueId::STANDARD), "begin {queue:?}");
    }
}

#[test]
fn undefined_private_ids_as_serial_targets_lock_and_mmcss_getters() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for queue in UNDEFINED_PRIVATE {
        // Lock and unlock: as for any id that is not private, accepted, no effect.
        assert_eq!(mfwq::lock_work_queue(queue), Ok(()));
        assert_eq!(mfwq::unlock_work_queue(queue), Ok(()));
        assert_eq!(mfwq::unlock_work_queue(queue), Ok(()));
        // A serial queue over it runs on STANDARD's thread, in order.
        let serial = mfwq::allocate_serial_work_queue(queue).unwrap();
        let (sender, receiver) = mpsc::channel();
        for i in 0..20 {
            let sender = sender.clone();
            mfwq::spawn(serial, move || {
                sender.send((i, mfwq::current_queue())).unwrap()
            })
            .unwrap();
        }
        let ran: Vec<_> = (0..20).map(|_| recv(&receiver)).collect();
        assert_eq!(
            ran,
            (0..20)
                .map(|i| (i, Some(QueueId::STANDARD)))
                .collect::<Vec<_>>(),
            "serial over {queue:?}"
        );
        mfwq::unlock_work_queue(serial).unwrap();
        // The MMCSS getters report what STANDARD reports.
        assert_eq!(
            mfwq::work_queue_mmcss_class(queue),
            mfwq::work_queue_mmcss_class(QueueId::STANDARD)
        );
        assert_eq!(
            mfwq::work_queue_mmcss_task_id(queue),
            mfwq::work_queue_mmcss_task_id(QueueId::STANDARD)
        );
        assert_eq!(
            mfwq::work_queue_mmcss_priority(queue),
            mfwq::work_queue_mmcss_priority(QueueId::STANDARD)
        );
        assert_eq!(
            mfwq::work_queue_thread_ids(queue),
            mfwq::work_queue_thread_ids(QueueId::STANDARD)
        );
    }
}

#[test]
fn registrations_deadlines_and_hints_on_undefined_private_ids_are_standards() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for queue in UNDEFINED_PRIVATE {
        // MMCSS: registering the id registers STANDARD ("Games" maps to a
        // nice value, not a real-time policy).
        let task = mfwq::register_work_queue_with_mmcss(queue, "Games", 0, 1).unwrap();
        assert_eq!(
            mfwq::work_queue_mmcss_class(QueueId::STANDARD).unwrap(),
            "Games"
        );
        assert_eq!(mfwq::work_queue_mmcss_task_id(QueueId::STANDARD), Ok(task));
        assert_eq!(mfwq::work_queue_mmcss_priority(QueueId::STANDARD), Ok(1));
        mfwq::unregister_work_queue_from_mmcss(queue).unwrap();
        assert_eq!(mfwq::work_queue_mmcss_class(QueueId::STANDARD).unwrap(), "");
        // A deadline set through the id is STANDARD's.
        let request = mfwq::set_deadline(queue, 100_000).unwrap();
        assert_eq!(
            mfwq::work_queue_deadline(QueueId::STANDARD)
                .unwrap()
                .map(|deadline| deadline.deadline_hns),
            Some(100_000)
        );
        mfwq::cancel_deadline(request).unwrap();
        assert!(mfwq::work_queue_deadline(QueueId::STANDARD)
            .unwrap()
            .is_none());
        // So is the long-running hint.
        mfwq::set_long_running(queue, true).unwrap();
        assert_eq!(mfwq::is_long_running(QueueId::STANDARD), Ok(true));
        assert_eq!(mfwq::is_long_running(queue), Ok(true));
        mfwq::set_long_running(queue, false).unwrap();
        assert_eq!(mfwq::is_long_running(QueueId::STANDARD), Ok(false));
    }
}

#[test]
fn never_allocated_and_stale_private_ids_keep_failing_everywhere() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    for queue in [QueueId(0x10000), QueueId(0xFFFF_0001), stale_id()] {
        assert!(
            queue.is_private() && !queue.is_undefined_private(),
            "{queue:?}"
        );
        let (callback, receiver) = reporting_on(QueueId::MULTITHREADED);
        assert_eq!(
            mfwq::put_work_item(queue, callback.clone(), None),
            Err(Error::InvalidWorkQueue)
        );
        let result = AsyncResult::with_callback(callback.clone(), None);
        assert_eq!(
            mfwq::put_result(queue, &result),
            Err(Error::InvalidWorkQueue)
        );
        assert_eq!(mfwq::spawn(queue, || {}), Err(Error::InvalidWorkQueue));
        assert_eq!(mfwq::lock_work_queue(queue), Err(Error::InvalidWorkQueue));
        assert_eq!(mfwq::unlock_work_queue(queue), Err(Error::InvalidWorkQueue));
        assert_eq!(
            mfwq::allocate_serial_work_queue(queue),
            Err(Error::InvalidWorkQueue)
        );
        assert_eq!(
            mfwq::work_queue_mmcss_class(queue),
            Err(Error::InvalidWorkQueue)
        );
        assert_eq!(
            mfwq::work_queue_mmcss_task_id(queue),
            Err(Error::InvalidWorkQueue)
        );
        assert_eq!(
            mfwq::work_queue_mmcss_priority(queue),
            Err(Error::InvalidWorkQueue)
        );
        assert_eq!(
            mfwq::register_work_queue_with_mmcss(queue, "Games", 0, 0),
            Err(Error::InvalidWorkQueue)
        );
        assert_eq!(
            mfwq::unregister_work_queue_from_mmcss(queue),
            Err(Error::InvalidWorkQueue)
        );
        assert_eq!(
            mfwq::set_deadline(queue, 100_000).map(|_| ()),
            Err(Error::InvalidWorkQueue)
        );
        assert_eq!(
            mfwq::set_long_running(queue, true),
            Err(Error::InvalidWorkQueue)
        );
        // Through a callback's parameters: invoke is refused up front.
        let (naming, _never) = reporting_on(queue);
        assert_eq!(
            mfwq::invoke_callback(AsyncResult::with_callback(naming, None)),
            Err(Error::InvalidWorkQueue)
        );
        assert!(receiver.recv_timeout(Duration::from_millis(20)).is_err());
        drop(result);
        assert_eq!(Arc::strong_count(&callback), 1, "refused work is released");
    }
}
