//! Loom models of a join handle's hand-off (`join.rs`): the runner's
//! completion (`Task::run`, or `Task::abandon` when the queue drops the item
//! unrun) racing the handle's registration of its waker, for a blocking join
//! (the thread's waker, then `park`) and for an `.await` (the caller's
//! waker). What is checked: no wake-up is lost (a lost one leaves the joiner
//! parked: loom reports a deadlock), the handle reads the result only after
//! the runner has written it (the stage is a loom `UnsafeCell`: an access
//! without a happens-before edge fails the model), and the handle gets the
//! right outcome.
//!
//! The handle's drop only sets `DETACHED`, which decides where a panic is
//! reported (the handle or the panic hook); it hands nothing over, so it has
//! no model of its own.
//!
//! ```text
//! RUSTFLAGS="--cfg mfwq_loom -C debug-assertions" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p mfwq --lib --release loom_join
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{task_pair, JoinError, ThreadWaker};
use crate::sync::{model, thread, Arc};
use crate::work::RunShared;

/// Catches: `Task::run` writing the result into the stage after `complete`
/// instead of before (the joiner takes the stage concurrently with the
/// write: a race on the cell); `complete` reading `WAITING` with a load and
/// setting `COMPLETE` with a separate store instead of one `fetch_or` (a
/// registration between the two sees no `COMPLETE`, the completer saw no
/// `WAITING`: the joiner parks for ever, a deadlock); `is_finished` loading
/// the state `Relaxed` (the joiner that sees `COMPLETE` has no
/// happens-before edge to the write it then reads). A blocking join
/// re-checks `is_finished` before it parks, so the order of `register`'s two
/// steps is the `.await` model's to check.
#[test]
fn loom_join_completion_races_a_blocking_join() {
    model(|| {
        let (task, handle) = task_pair(|| 7u32);
        let runner = thread::spawn(move || task.run());
        assert_eq!(handle.join(), Ok(7));
        runner.join().unwrap();
    });
}

/// Catches: `register` setting `WAITING` before it stores the waker (the
/// completer sees the flag, finds the slot empty and wakes nobody: the task
/// is never woken, a deadlock); `complete` split into a load and a store, as
/// above (a deadlock too); `Task::run` writing the result after `complete`
/// (a race on the cell).
#[test]
fn loom_join_completion_races_an_await() {
    model(|| {
        let (task, mut handle) = task_pair(|| 7u32);
        let runner = thread::spawn(move || task.run());
        let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
        let mut context = Context::from_waker(&waker);
        let outcome = loop {
            match Pin::new(&mut handle).poll(&mut context) {
                Poll::Ready(outcome) => break outcome,
                // Woken by the completer (or spuriously): poll again.
                Poll::Pending => thread::park(),
            }
        };
        assert_eq!(outcome, Ok(7));
        runner.join().unwrap();
    });
}

/// Catches: `Task::abandon` publishing `COMPLETE` before it writes
/// `Cancelled` into the stage (the joiner's `take` races the write on the
/// cell); `is_finished` loading the state `Relaxed` (as above); `complete`
/// split into a load and a store (a deadlock).
#[test]
fn loom_join_abandon_races_a_join() {
    model(|| {
        let (task, handle) = task_pair(|| 7u32);
        let queue = thread::spawn(move || task.abandon());
        assert_eq!(handle.join(), Err(JoinError::Cancelled));
        queue.join().unwrap();
    });
}
