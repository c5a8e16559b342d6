//! [`Target`]: where the work for a queue id goes, as the routing
//! (`platform/route.rs`), the registry and the shutdown hold it: the
//! scheduler's machinery of a thread-backed queue, or a serial queue, which
//! is in turn layered on a target of its own (`serial.rs`). So this file and
//! `serial.rs` use each other: a serial queue is a target and has one.

use std::sync::Arc;

use crate::ids::{Band, CallbackFlags, QueueId};
use crate::work::item::{QueueCore, Refused, Work};
use crate::work::serial::SerialQueue;

/// Where work for a queue id goes: the machinery of a thread-backed queue, or
/// a serial queue layered on another target.
#[derive(Clone)]
pub(crate) enum Target {
    Core(Arc<QueueCore>),
    Serial(Arc<SerialQueue>),
}

/// A borrowed [`Target`], so the put path needs no reference-count traffic.
#[derive(Clone, Copy)]
pub(crate) enum TargetRef<'a> {
    Core(&'a Arc<QueueCore>),
    Serial(&'a Arc<SerialQueue>),
}

impl TargetRef<'_> {
    /// Queues `work`; `flags` are the callback's (reply mode on serial queues).
    #[inline]
    pub(crate) fn push(self, work: Work, band: Band, flags: CallbackFlags) -> Result<(), Refused> {
        match self {
            TargetRef::Core(core) => core.push(work, band),
            TargetRef::Serial(serial) => serial.push(work, band, flags),
        }
    }
}

impl Target {
    /// Whether the queue is closed and done (a core's workers have exited; a
    /// serial queue is idle).
    pub(crate) fn is_finished(&self) -> bool {
        match self {
            Target::Core(core) => core.is_finished(),
            Target::Serial(serial) => serial.is_finished(),
        }
    }

    /// The id of the queue it is.
    pub(crate) fn id(&self) -> QueueId {
        match self {
            Target::Core(core) => core.id(),
            Target::Serial(serial) => serial.id(),
        }
    }

    pub(crate) fn as_ref(&self) -> TargetRef<'_> {
        match self {
            Target::Core(core) => TargetRef::Core(core),
            Target::Serial(serial) => TargetRef::Serial(serial),
        }
    }

    /// Queues `work`; `flags` are the callback's (reply mode on serial queues).
    pub(crate) fn push(&self, work: Work, band: Band, flags: CallbackFlags) -> Result<(), Refused> {
        self.as_ref().push(work, band, flags)
    }
}
