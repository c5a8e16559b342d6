//! Shared work queues: docs/behaviour.md#shared (#w51 to #w53, #d20).

mod common;

use std::sync::mpsc;

use common::{serial, WAIT};
use mfwq::{
    lock_shared_work_queue, shutdown, spawn, startup, unlock_work_queue, Error, MF_VERSION,
};

// docs/behaviour.md#w51: a NULL class is E_POINTER, with or without a task id.
#[test]
fn null_class_is_e_pointer() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let mut task_id = 7;
    assert_eq!(lock_shared_work_queue(None, 0, None), Err(Error::Pointer));
    assert_eq!(
        lock_shared_work_queue(None, 0, Some(&mut task_id)),
        Err(Error::Pointer)
    );
    assert_eq!(task_id, 7, "untouched on failure");
    shutdown().unwrap();
}

// docs/behaviour.md#w52, #d20: "" with a task id is E_INVALIDARG, as on
// Windows; the task id is left alone and no lock is taken.
#[test]
fn empty_class_with_a_task_id_is_invalid_arg() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let mut task_id = 7;
    assert_eq!(
        lock_shared_work_queue(Some(""), 0, Some(&mut task_id)),
        Err(Error::InvalidArg)
    );
    assert_eq!(task_id, 7);
    let queue = lock_shared_work_queue(Some(""), 0, None).unwrap();
    unlock_work_queue(queue).unwrap();
    assert_eq!(
        unlock_work_queue(queue),
        Err(Error::InvalidWorkQueue),
        "the refused call took no lock"
    );
    shutdown().unwrap();
}

// docs/behaviour.md#w53: "" gives a private id; the same id again with one more lock per call.
#[test]
fn same_class_same_queue_one_lock_per_call() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let first = lock_shared_work_queue(Some(""), 0, None).unwrap();
    assert!(first.is_private());
    let second = lock_shared_work_queue(Some(""), 0, None).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        mfwq::work_queue_type(first),
        Ok(mfwq::QueueType::Multithreaded)
    );
    let (sender, receiver) = mpsc::channel();
    spawn(first, move || sender.send(()).unwrap()).unwrap();
    receiver.recv_timeout(WAIT).unwrap();
    unlock_work_queue(first).unwrap();
    unlock_work_queue(second).unwrap();
    assert_eq!(
        unlock_work_queue(first),
        Err(Error::InvalidWorkQueue),
        "two calls, two locks"
    );
    // Unlocked to zero: the next call makes a new one.
    let third = lock_shared_work_queue(Some(""), 0, None).unwrap();
    assert_ne!(third, first);
    unlock_work_queue(third).unwrap();
    shutdown().unwrap();
}

// docs/behaviour.md#d20: one shared queue per distinct class name.
#[test]
fn one_queue_per_class() {
    let _serial = serial();
    startup(MF_VERSION).unwrap();
    let regular = lock_shared_work_queue(Some(""), 0, None).unwrap();
    let mut audio_task = 0;
    let audio = lock_shared_work_queue(Some("Audio"), 0, Some(&mut audio_task)).unwrap();
    let mut again_task = 0;
    let audio_again = lock_shared_work_queue(Some("Audio"), 0, Some(&mut again_task)).unwrap();
    let capture = lock_shared_work_queue(Some("Capture"), 0, None).unwrap();
    assert_ne!(regular, audio);
    assert_ne!(audio, capture);
    assert_eq!(audio, audio_again);
    assert_ne!(audio_task, 0, "a class gets a task id");
    assert_eq!(again_task, audio_task, "the same task id again");
    for queue in [regular, audio, audio_again, capture] {
        unlock_work_queue(queue).unwrap();
    }
    assert_eq!(mfwq::private_queue_count(), 0);
    shutdown().unwrap();
}

// Not started: MF_E_SHUTDOWN; after a restart the map starts empty.
#[test]
fn not_started_and_restart() {
    let _serial = serial();
    assert_eq!(
        lock_shared_work_queue(Some(""), 0, None),
        Err(Error::Shutdown)
    );
    startup(MF_VERSION).unwrap();
    let before = lock_shared_work_queue(Some(""), 0, None).unwrap();
    shutdown().unwrap();
    startup(MF_VERSION).unwrap();
    let after = lock_shared_work_queue(Some(""), 0, None).unwrap();
    assert_ne!(before, after, "the old id died with its epoch");
    unlock_work_queue(after).unwrap();
    shutdown().unwrap();
}
