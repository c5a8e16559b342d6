//! The hooks of `hooks.rs`, empty: the build without the `observe` feature,
//! which the benchmarks compare the tracing-off put path against.

use super::event::{KeyStep, Keyed, ShutdownPhase};
use crate::ids::QueueId;

#[inline(always)]
pub(crate) fn enabled() -> bool {
    false
}
#[inline(always)]
pub(crate) fn tracing() -> bool {
    false
}
#[inline(always)]
pub(crate) fn on_startup() {}
#[inline(always)]
pub(crate) fn on_shutdown_complete() {}
#[inline(always)]
pub(crate) fn refused_call(_queue: QueueId, _hresult: i32) {}
#[inline(always)]
pub(crate) fn worker(_queue: QueueId, _started: bool) {}
#[inline(always)]
pub(crate) fn wants_queue_created(_queue: QueueId) -> bool {
    false
}
#[inline(always)]
pub(crate) fn queue_created(_queue: QueueId, _name: &str) {}
#[inline(always)]
pub(crate) fn queue_unlocked(_queue: QueueId) {}
#[inline(always)]
pub(crate) fn key(_what: Keyed, _key: u64, _step: KeyStep) {}
#[inline(always)]
pub(crate) fn cancelled(_queue: QueueId) {}
#[inline(always)]
pub(crate) fn serial_hand_off(_serial: QueueId, _target: QueueId) {}
#[inline(always)]
pub(crate) fn reply(_serial: QueueId) {}
#[inline(always)]
pub(crate) fn realtime(_queue: QueueId, _requested: &str, _applied: &str) {}
#[inline(always)]
pub(crate) fn shutdown(_phase: ShutdownPhase) {}
#[inline(always)]
pub(crate) fn panic(_queue: QueueId, _site: &'static str) {}
#[inline(always)]
pub(crate) fn misuse(_call: &'static str, _hresult: i32, _fatal: bool) {}
