//! The Begin/End pattern (docs/behaviour.md#begin-end): Begin either fails at once (and
//! the callback is never called) or the callback is called exactly once, with
//! the result that End turns into the operation's output.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use common::{assert_nothing_more, recv, serial};
use mfwq::{
    begin, callback, callback_on, current_queue, AsyncOperation, AsyncResult, Error, HResult,
    Platform, QueueId, QueueType, WorkQueue,
};

/// A caller's callback (on `queue`) that ends the operation and reports
/// (the queue it ran on, the result, End's output, a second End's output).
#[allow(clippy::type_complexity)]
fn ending_callback<T: Send + 'static>(
    queue: QueueId,
) -> (
    mfwq::Callback,
    mpsc::Receiver<(
        Option<QueueId>,
        AsyncResult,
        mfwq::Result<T>,
        mfwq::Result<T>,
    )>,
) {
    let (sender, receiver) = mpsc::channel();
    let sender = Mutex::new(sender);
    let cb = callback_on(queue, move |result| {
        let first = AsyncOperation::<T>::end(result);
        let second = AsyncOperation::<T>::end(result);
        sender
            .lock()
            .unwrap()
            .send((current_queue(), result.clone(), first, second))
            .unwrap();
    });
    (cb, receiver)
}

// docs/behaviour.md#begin-end: begin runs the work on the given queue and delivers the output to the
// caller's callback on the callback's own queue, with the caller's state.
#[test]
fn begin_runs_the_work_and_completes_on_the_callers_queue() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let private = WorkQueue::new(QueueType::Standard).unwrap();
    let (cb, receiver) = ending_callback::<(Option<QueueId>, u64)>(QueueId::RT);
    let state: mfwq::State = Arc::new("caller state");
    let work_queue = private.id();
    begin(work_queue, cb, Some(state.clone()), move || {
        Ok((current_queue(), (1..=10u64).product::<u64>()))
    })
    .unwrap();
    let (ran_on, result, output, again) = recv(&receiver);
    assert_eq!(
        ran_on,
        Some(QueueId::RT),
        "completion on the callback's queue"
    );
    assert_eq!(
        output,
        Ok((Some(work_queue), 3_628_800)),
        "work ran on the given queue"
    );
    assert_eq!(again, Err(Error::InvalidRequest), "End works once");
    assert!(Arc::ptr_eq(&result.state().unwrap(), &state));
    assert_eq!(result.status(), HResult::S_OK);
    assert!(
        result.object().is_ok(),
        "the private object carries the output"
    );
    assert_nothing_more(&receiver, std::time::Duration::from_millis(50));
}

// docs/behaviour.md#begin-end: a failed operation reaches the caller as the result's status and as
// End's error.
#[test]
fn failed_operation_reports_its_status() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, receiver) = ending_callback::<u32>(QueueId::STANDARD);
    begin(QueueId::MULTITHREADED, cb, None, || {
        Err::<u32, _>(Error::NotFound)
    })
    .unwrap();
    let (_, result, output, _) = recv(&receiver);
    assert_eq!(result.status(), HResult::MF_E_NOT_FOUND);
    assert_eq!(output, Err(Error::NotFound));
}

// docs/behaviour.md#begin-end: End on a result that no operation of that type made is E_INVALIDARG.
#[test]
fn end_on_an_unrelated_result_is_invalid_arg() {
    let _serial = serial();
    let plain = AsyncResult::with_callback(callback(|_| {}), None);
    assert_eq!(AsyncOperation::<u32>::end(&plain), Err(Error::InvalidArg));
    let operation = AsyncOperation::<u32>::new(callback(|_| {}), None);
    assert_eq!(
        AsyncOperation::<String>::end(operation.result()),
        Err(Error::InvalidArg),
        "another operation type"
    );
}

// docs/behaviour.md#begin-end / #d36: work that panics still completes the operation, with E_UNEXPECTED.
#[test]
fn panicking_work_completes_with_unexpected() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (report_sender, reports) = mpsc::channel();
    let report_sender = Mutex::new(report_sender);
    mfwq::set_panic_hook(move |report| {
        let _ = report_sender.lock().unwrap().send(report.message.clone());
    });
    let (cb, receiver) = ending_callback::<u32>(QueueId::STANDARD);
    begin(QueueId::IO, cb, None, || -> mfwq::Result<u32> {
        panic!("work failed")
    })
    .unwrap();
    let (_, result, output, _) = recv(&receiver);
    assert_eq!(output, Err(Error::Unexpected));
    assert_eq!(result.status(), HResult::E_UNEXPECTED);
    assert_eq!(recv(&reports), "work failed");
}

// docs/behaviour.md#begin-end: an operation completed later from any thread invokes the caller's
// callback once, with the operation's own result.
#[test]
fn operation_completed_from_another_thread_reaches_the_callback() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (cb, receiver) = ending_callback::<Vec<u8>>(QueueId::MULTITHREADED);
    let operation = AsyncOperation::<Vec<u8>>::new(cb, None);
    let expected = operation.result().clone();
    std::thread::spawn(move || operation.complete(Ok(vec![1, 2, 3])).unwrap())
        .join()
        .unwrap();
    let (ran_on, result, output, _) = recv(&receiver);
    assert_eq!(ran_on, Some(QueueId::MULTITHREADED));
    assert!(result.ptr_eq(&expected));
    assert_eq!(output, Ok(vec![1, 2, 3]));
}

// docs/behaviour.md#begin-end: Begin fails at once when the platform is down, and then the callback is
// never called (and is released).
#[test]
fn begin_fails_at_once_when_shut_down() {
    let _serial = serial();
    let (cb, receiver) = ending_callback::<u32>(QueueId::STANDARD);
    assert_eq!(
        begin(QueueId::MULTITHREADED, cb.clone(), None, || Ok(1u32)),
        Err(Error::Shutdown)
    );
    assert_eq!(Arc::strong_count(&cb), 1);
    // Completing an operation while shut down fails too; nothing is invoked.
    let operation = AsyncOperation::<u32>::new(cb.clone(), None);
    assert_eq!(operation.complete(Ok(5)), Err(Error::Shutdown));
    assert_eq!(Arc::strong_count(&cb), 1);
    assert!(receiver.try_recv().is_err());
}
