//! Async result objects (docs/behaviour.md#results: #w17 to #w23) and how long
//! the platform holds on to them (docs/behaviour.md#w33).

mod common;

use std::any::Any;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::{recv, serial, wait_event, wait_until, DropSignal, WAIT};
use mfwq::{
    callback, callback_on, invoke_callback, put_result, put_work_item, AsyncResult, Callback,
    Error, Event, HResult, Platform, QueueId, QueueType, State, WorkQueue,
};

fn state_of<T: Any + Send + Sync>(value: T) -> State {
    Arc::new(value)
}

// docs/behaviour.md#w18: with nothing given, creation succeeds and the public fields start as
// pCallback NULL, hrStatusResult S_OK, dwBytesTransferred 0, hEvent NULL.
// (docs/behaviour.md#w17, a NULL out pointer, cannot be expressed in Rust.)
#[test]
fn fresh_result_has_the_windows_defaults() {
    let _serial = serial();
    let result = AsyncResult::new(None, None, None);
    assert!(result.callback().is_none());
    assert_eq!(result.status(), HResult::S_OK);
    assert_eq!(result.status_result(), Ok(()));
    assert_eq!(result.bytes_transferred(), 0);
    assert!(result.event().is_none(), "no event is created");
    assert_eq!(result.ref_count(), 1);
    // The same with a callback: it is stored as given; no event either.
    let cb = callback(|_| {});
    let with_cb = AsyncResult::with_callback(cb.clone(), None);
    assert!(Arc::ptr_eq(with_cb.callback().unwrap(), &cb));
    assert_eq!(with_cb.status(), HResult::S_OK);
    assert_eq!(with_cb.bytes_transferred(), 0);
    assert!(with_cb.event().is_none());
}

// docs/behaviour.md#w19: GetState with no state is E_POINTER; GetStateNoAddRef gives NULL.
#[test]
fn get_state_without_a_state_is_a_pointer_error() {
    let _serial = serial();
    let result = AsyncResult::new(None, Some(callback(|_| {})), None);
    assert_eq!(result.state().err(), Some(Error::Pointer));
    assert_eq!(Error::Pointer.hresult(), HResult::E_POINTER);
    assert!(result.state_ref().is_none());
    assert_eq!(result.state_as::<u32>(), None);
}

// docs/behaviour.md#w19: GetState returns the very state, AddRef'd; GetStateNoAddRef the same
// pointer without a reference.
#[test]
fn get_state_returns_the_same_state_with_a_reference() {
    let _serial = serial();
    let state = state_of(String::from("state"));
    let result = AsyncResult::new(None, None, Some(state.clone()));
    assert_eq!(
        Arc::strong_count(&state),
        2,
        "the result holds one reference"
    );
    let got = result.state().unwrap();
    assert!(Arc::ptr_eq(&got, &state));
    assert_eq!(Arc::strong_count(&state), 3, "GetState adds a reference");
    let borrowed = result.state_ref().unwrap();
    assert!(Arc::ptr_eq(borrowed, &state));
    assert_eq!(Arc::strong_count(&state), 3, "GetStateNoAddRef does not");
    assert_eq!(
        result.state_as::<String>().map(String::as_str),
        Some("state")
    );
    assert_eq!(result.state_as::<u32>(), None, "wrong type");
    drop(got);
    assert_eq!(Arc::strong_count(&state), 2);
}

// docs/behaviour.md#w20: GetObject with no object is E_POINTER; with one it is the same
// pointer, AddRef'd.
#[test]
fn get_object_returns_the_same_object_or_a_pointer_error() {
    let _serial = serial();
    let without = AsyncResult::new(None, None, Some(state_of(1u8)));
    assert_eq!(without.object().err(), Some(Error::Pointer));
    assert_eq!(
        without.object_as::<u8>(),
        None,
        "the state is not the object"
    );

    let object = state_of(7i64);
    let with = AsyncResult::new(Some(object.clone()), None, None);
    assert_eq!(
        with.state().err(),
        Some(Error::Pointer),
        "the object is not the state"
    );
    assert_eq!(Arc::strong_count(&object), 2);
    let got = with.object().unwrap();
    assert!(Arc::ptr_eq(&got, &object));
    assert_eq!(Arc::strong_count(&object), 3);
    assert_eq!(with.object_as::<i64>(), Some(&7));
}

// docs/behaviour.md#w21: a fresh status is S_OK; whatever is stored is what GetStatus returns.
#[test]
fn status_round_trips() {
    let _serial = serial();
    let result = AsyncResult::new(None, None, None);
    assert_eq!(result.status(), HResult::S_OK);
    result.set_status(HResult(123));
    assert_eq!(result.status(), HResult(123));
    assert_eq!(result.status_result(), Ok(()), "123 is a success code");
    result.set_status(HResult::E_FAIL);
    assert_eq!(result.status(), HResult::E_FAIL);
    assert_eq!(result.status_result(), Err(Error::Fail));
    // Clones are the same object: they see the same status.
    let other = result.clone();
    other.set_status(HResult::MF_E_SHUTDOWN);
    assert_eq!(result.status(), HResult::MF_E_SHUTDOWN);
    result.set_bytes_transferred(4096);
    assert_eq!(other.bytes_transferred(), 4096);
}

// docs/behaviour.md#w21/#w22: hEvent is stored as given and can be cleared.
#[test]
fn event_field_round_trips() {
    let _serial = serial();
    let result = AsyncResult::new(None, None, None);
    let event = Event::manual_reset(false);
    result.set_event(Some(event.clone()));
    assert!(result.event().unwrap().ptr_eq(&event));
    assert!(!event.is_set(), "storing the event does not set it");
    result.set_event(None);
    assert!(result.event().is_none());
}

// docs/behaviour.md#w23 / COM: Clone is AddRef, drop is Release, ptr_eq is pointer identity.
#[test]
fn clone_is_addref_and_drop_is_release() {
    let _serial = serial();
    let result = AsyncResult::new(None, None, None);
    assert_eq!(result.ref_count(), 1);
    let clone = result.clone();
    assert_eq!(result.ref_count(), 2);
    assert!(clone.ptr_eq(&result));
    assert_eq!(clone.as_ptr(), result.as_ptr());
    drop(clone);
    assert_eq!(result.ref_count(), 1, "the caller holds the last reference");
    let other = AsyncResult::new(None, None, None);
    assert!(!other.ptr_eq(&result));
}

// docs/behaviour.md#w22: releasing the last reference releases the callback, the state and
// the object.
#[test]
fn releasing_the_last_reference_releases_callback_state_and_object() {
    let _serial = serial();
    let cb = callback(|_| {});
    let state = state_of(1u32);
    let object = state_of(2u32);
    let (sender, dropped) = mpsc::channel();
    let watched = state_of(DropSignal(sender));
    let result = AsyncResult::new(Some(object.clone()), Some(cb.clone()), Some(state.clone()));
    let second = AsyncResult::new(None, None, Some(watched));
    assert_eq!(Arc::strong_count(&cb), 2);
    assert_eq!(Arc::strong_count(&state), 2);
    assert_eq!(Arc::strong_count(&object), 2);
    let clone = result.clone();
    drop(result);
    assert_eq!(Arc::strong_count(&cb), 2, "a reference is still held");
    drop(clone);
    assert_eq!(Arc::strong_count(&cb), 1);
    assert_eq!(Arc::strong_count(&state), 1);
    assert_eq!(Arc::strong_count(&object), 1);
    assert!(dropped.try_recv().is_err());
    drop(second);
    assert!(
        dropped.try_recv().is_ok(),
        "the only state reference went with the result"
    );
}

// docs/behaviour.md#w22: releasing the outer result drops an inner result, used as object or
// state, to its caller's reference only.
#[test]
fn releasing_the_outer_result_releases_inner_results() {
    let _serial = serial();
    let inner = AsyncResult::new(None, None, None);
    let outer = AsyncResult::new(
        Some(Arc::new(inner.clone())),
        None,
        Some(Arc::new(inner.clone())),
    );
    assert_eq!(inner.ref_count(), 3);
    assert!(outer.state_as::<AsyncResult>().unwrap().ptr_eq(&inner));
    assert!(outer.object_as::<AsyncResult>().unwrap().ptr_eq(&inner));
    drop(outer);
    assert_eq!(inner.ref_count(), 1);
}

// docs/behaviour.md#w33: after put_result (RtwqPutWorkItem with the caller's result) the platform
// drops its reference promptly once invoke returns; the callback got the very
// same result.
#[test]
fn platform_releases_a_put_result_promptly_after_invoke() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let private = WorkQueue::new(QueueType::Standard).unwrap();
    for queue in [QueueId::STANDARD, QueueId::MULTITHREADED, private.id()] {
        let done = Event::manual_reset(false);
        let signal = done.clone();
        let result = AsyncResult::with_callback(callback(move |_| signal.set()), None);
        put_result(queue, &result).unwrap();
        wait_event(&done, "the callback");
        // Windows itself may still be releasing on the worker: a short bounded poll.
        assert!(
            wait_until(Duration::from_secs(2), || result.ref_count() == 1),
            "{queue:?}: the platform still holds {} references",
            result.ref_count() - 1
        );
    }
}

// docs/behaviour.md#w33: put_work_item's internal result, kept by the callback and handed to
// the waiter, ends with the waiter's reference only; the state goes with it.
#[test]
fn platform_releases_an_internal_result_promptly_after_invoke() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let state = state_of(5u32);
    let (sender, receiver) = mpsc::channel();
    put_work_item(
        QueueId::STANDARD,
        callback(move |result| sender.send(result.clone()).unwrap()),
        Some(state.clone()),
    )
    .unwrap();
    let kept: AsyncResult = recv(&receiver);
    assert!(Arc::ptr_eq(&kept.state().unwrap(), &state));
    assert!(
        wait_until(Duration::from_secs(2), || kept.ref_count() == 1),
        "the platform still holds {} references",
        kept.ref_count() - 1
    );
    drop(kept);
    assert_eq!(
        Arc::strong_count(&state),
        1,
        "the state was released with the result"
    );
}

// docs/behaviour.md#w33 / #w35: the same after invoke_callback; the callback and state go when
// the caller releases its last reference.
#[test]
fn platform_releases_an_invoked_result_promptly() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let done = Event::manual_reset(false);
    let signal = done.clone();
    let cb: Callback = callback_on(QueueId::MULTITHREADED, move |_| signal.set());
    let state = state_of(());
    let result = AsyncResult::with_callback(cb.clone(), Some(state.clone()));
    invoke_callback(&result).unwrap();
    wait_event(&done, "the callback");
    assert!(wait_until(Duration::from_secs(2), || result.ref_count() == 1));
    drop(result);
    assert_eq!(Arc::strong_count(&cb), 1);
    assert_eq!(Arc::strong_count(&state), 1);
}

// docs/behaviour.md#w33: while an item is queued the platform holds a reference (the result
// stays alive even if the caller lets go at once), and drops it after invoke.
#[test]
fn a_queued_result_lives_until_invoked_even_if_the_caller_lets_go() {
    let _serial = serial();
    let _platform = Platform::start().unwrap();
    let (sender, dropped) = mpsc::channel();
    let (ran_sender, ran) = mpsc::channel();
    let result = AsyncResult::with_callback(
        callback(move |result| {
            assert!(result.state_as::<DropSignal>().is_some());
            ran_sender.send(()).unwrap();
        }),
        Some(state_of(DropSignal(sender))),
    );
    put_result(QueueId::MULTITHREADED, &result).unwrap();
    drop(result);
    recv(&ran);
    assert_eq!(dropped.recv_timeout(WAIT), Ok(()), "released after invoke");
}
