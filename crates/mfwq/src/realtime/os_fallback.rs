//! The system calls where there is no Linux scheduling (`os.rs` is the
//! Linux form, with the same interface): registrations and deadlines are
//! recorded, nothing is applied, and `applied_scheduling` reports a fallback.

use std::io;

use super::policy::SchedPolicy;

pub(super) fn set(_tid: i32, _policy: SchedPolicy) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

pub(super) fn get(_tid: i32) -> io::Result<SchedPolicy> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

pub(super) fn priority_range(_kind: i32) -> (i32, i32) {
    (1, 99)
}

pub(super) fn rt_priority_limit() -> i64 {
    0
}

pub(super) fn nice_floor() -> i32 {
    20
}
