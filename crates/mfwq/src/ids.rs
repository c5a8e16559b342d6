//! Queue identifiers, queue types, callback flags and priority bands: the
//! numbers of `mfobjects.h` / `mfapi.h`, with names that explain them.

use std::fmt;

/// The most private queues alive at once (docs/behaviour.md#d11). Past it,
/// allocation fails with `E_FAIL`. A private id carries the queue's slot in
/// its high word, so this also bounds the high words that live ids use
/// (see [`QueueId::is_undefined_private`]).
pub const MAX_PRIVATE_QUEUES: usize = 8192;

// Slots stay below the top bit of the high word, which the undefined
// private ids use.
const _: () = assert!(MAX_PRIVATE_QUEUES < 0x8000);

/// A work-queue identifier (`DWORD` in C).
///
/// Platform queues have fixed small ids; queues made by an allocate call carry
/// bits in [`QueueId::PRIVATE_MASK`]. A private id also carries a generation, so an
/// id that outlived its queue is refused with [`Error::InvalidWorkQueue`](crate::Error::InvalidWorkQueue)
/// instead of reaching a newer queue that reuses the slot.
///
/// ```
/// use mfwq::QueueId;
/// assert!(!QueueId::MULTITHREADED.is_private());
/// assert!(QueueId(0x0001_0001).is_private());
/// assert_eq!(QueueId::STANDARD.0, 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(transparent)]
pub struct QueueId(pub u32);

impl QueueId {
    /// `MFASYNC_CALLBACK_QUEUE_UNDEFINED` (0): "no queue"; put calls treat it as STANDARD.
    pub const UNDEFINED: QueueId = QueueId(0);
    /// `MFASYNC_CALLBACK_QUEUE_STANDARD` (1): one thread, FIFO. The default queue of a callback.
    pub const STANDARD: QueueId = QueueId(1);
    /// `MFASYNC_CALLBACK_QUEUE_RT` (2): one thread, FIFO.
    pub const RT: QueueId = QueueId(2);
    /// `MFASYNC_CALLBACK_QUEUE_IO` (3): a pool; the only queue besides TIMER that allows fast-I/O callbacks.
    pub const IO: QueueId = QueueId(3);
    /// `MFASYNC_CALLBACK_QUEUE_TIMER` (4): one thread, FIFO.
    pub const TIMER: QueueId = QueueId(4);
    /// `MFASYNC_CALLBACK_QUEUE_MULTITHREADED` (5): the general-purpose pool.
    pub const MULTITHREADED: QueueId = QueueId(5);
    /// `MFASYNC_CALLBACK_QUEUE_LONG_FUNCTION` (7): a pool for long-running callbacks.
    pub const LONG_FUNCTION: QueueId = QueueId(7);
    /// `MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK`: non-zero `id & mask` means "made by an allocate call".
    pub const PRIVATE_MASK: u32 = 0xFFFF_0000;
    /// `MFASYNC_CALLBACK_QUEUE_ALL`: "all platform queues" (MMCSS helpers only).
    pub const ALL: QueueId = QueueId(0xFFFF_FFFF);

    /// Whether the id names an allocated queue (live or not): it has bits in
    /// [`PRIVATE_MASK`](Self::PRIVATE_MASK) and is not an
    /// [undefined private id](Self::is_undefined_private).
    ///
    /// Every call that takes a queue id decides with this alone whether to look
    /// the id up among the private queues (where a stale or never-allocated id
    /// fails with [`Error::InvalidWorkQueue`](crate::Error::InvalidWorkQueue))
    /// or to treat it as a platform id.
    ///
    /// ```
    /// use mfwq::QueueId;
    /// assert!(QueueId(0x0001_0001).is_private());
    /// assert!(QueueId(0x0001_0000).is_private()); // never allocated: refused
    /// assert!(!QueueId(0xFFFF_0000).is_private()); // undefined private id: STANDARD
    /// assert!(!QueueId::MULTITHREADED.is_private());
    /// ```
    pub const fn is_private(self) -> bool {
        self.0 & Self::PRIVATE_MASK != 0 && !self.is_undefined_private()
    }

    /// Whether the id is an *undefined private id*: a private-mask id that no
    /// allocation can produce and that stands for
    /// [`UNDEFINED`](Self::UNDEFINED), so that it runs on STANDARD like any
    /// other id that names no queue.
    ///
    /// Windows accepts `MFASYNC_CALLBACK_QUEUE_PRIVATE_MASK` itself
    /// (`0xFFFF0000`) and `0xFFFE0000` wherever a queue id goes and runs the
    /// item, yet refuses `0x00010000`. The rule drawn from that: the low word
    /// (where a platform id lives) is `UNDEFINED`, and the high word has its top
    /// bit set — a range the allocator never uses (private ids carry the slot
    /// number, at most [`MAX_PRIVATE_QUEUES`], in
    /// the high word and a generation that is never 0 in the low word), so no
    /// live, stale or never-allocated private id is mistaken for one.
    ///
    /// ```
    /// use mfwq::QueueId;
    /// assert!(QueueId(QueueId::PRIVATE_MASK).is_undefined_private());
    /// assert!(QueueId(0xFFFE_0000).is_undefined_private());
    /// assert!(QueueId(0x8000_0000).is_undefined_private());
    /// assert!(!QueueId(0x0001_0000).is_undefined_private());
    /// assert!(!QueueId(0xFFFF_0001).is_undefined_private());
    /// assert!(!QueueId::ALL.is_undefined_private());
    /// ```
    pub const fn is_undefined_private(self) -> bool {
        self.0 & 0x8000_FFFF == 0x8000_0000
    }

    /// The platform queue an id that is not private stands for: ids that name no
    /// platform queue (0, 6, 8..=0xFFFF, the undefined private ids) mean
    /// STANDARD, as on Windows (docs/behaviour.md#d7).
    pub(crate) fn platform_slot(self) -> PlatformQueue {
        match self.0 {
            2 => PlatformQueue::Rt,
            3 => PlatformQueue::Io,
            4 => PlatformQueue::Timer,
            5 => PlatformQueue::Multithreaded,
            7 => PlatformQueue::LongFunction,
            _ => PlatformQueue::Standard,
        }
    }
}

impl fmt::Debug for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("UNDEFINED"),
            1 => f.write_str("STANDARD"),
            2 => f.write_str("RT"),
            3 => f.write_str("IO"),
            4 => f.write_str("TIMER"),
            5 => f.write_str("MULTITHREADED"),
            7 => f.write_str("LONG_FUNCTION"),
            id => write!(f, "QueueId({id:#x})"),
        }
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The six platform queues (id 6 is reserved and maps to STANDARD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PlatformQueue {
    Standard = 0,
    Rt = 1,
    Io = 2,
    Timer = 3,
    Multithreaded = 4,
    LongFunction = 5,
}

impl PlatformQueue {
    pub(crate) const ALL: [PlatformQueue; 6] = [
        PlatformQueue::Standard,
        PlatformQueue::Rt,
        PlatformQueue::Io,
        PlatformQueue::Timer,
        PlatformQueue::Multithreaded,
        PlatformQueue::LongFunction,
    ];

    pub(crate) fn id(self) -> QueueId {
        match self {
            PlatformQueue::Standard => QueueId::STANDARD,
            PlatformQueue::Rt => QueueId::RT,
            PlatformQueue::Io => QueueId::IO,
            PlatformQueue::Timer => QueueId::TIMER,
            PlatformQueue::Multithreaded => QueueId::MULTITHREADED,
            PlatformQueue::LongFunction => QueueId::LONG_FUNCTION,
        }
    }

    /// docs/behaviour.md#d3: STANDARD, RT and TIMER run one item at a time; the rest are pools.
    pub(crate) fn is_serial(self) -> bool {
        matches!(
            self,
            PlatformQueue::Standard | PlatformQueue::Rt | PlatformQueue::Timer
        )
    }

    /// Only IO and TIMER may dispatch FAST_IO and SIGNAL callbacks.
    pub(crate) fn allows_fast_io(self) -> bool {
        matches!(self, PlatformQueue::Io | PlatformQueue::Timer)
    }
}

/// The type of a private queue (`MFASYNC_WORKQUEUE_TYPE` / `RTWQ_WORKQUEUE_TYPE`).
///
/// ```
/// use mfwq::QueueType;
/// assert_eq!(QueueType::from_raw(2), Some(QueueType::Multithreaded));
/// assert_eq!(QueueType::from_raw(3), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueueType {
    /// `MF_STANDARD_WORKQUEUE` (0): one dedicated thread, FIFO, one item at a time.
    Standard = 0,
    /// `MF_WINDOW_WORKQUEUE` (1): a standard queue whose thread can also step a host event loop.
    Window = 1,
    /// `MF_MULTITHREADED_WORKQUEUE` (2): a pool; items start in FIFO order but run concurrently.
    Multithreaded = 2,
}

impl QueueType {
    /// The type for a C enum value; `None` for values outside 0..=2.
    pub fn from_raw(raw: i32) -> Option<QueueType> {
        match raw {
            0 => Some(QueueType::Standard),
            1 => Some(QueueType::Window),
            2 => Some(QueueType::Multithreaded),
            _ => None,
        }
    }
}

bitflags::bitflags! {
    /// Flags a callback reports from [`AsyncCallback::parameters`](crate::AsyncCallback::parameters)
    /// (`MFASYNC_*_CALLBACK`).
    ///
    /// ```
    /// use mfwq::CallbackFlags;
    /// assert_eq!(CallbackFlags::REPLY.bits(), 0x8);
    /// assert!(CallbackFlags::SIGNAL.needs_fast_io_queue());
    /// assert!(!CallbackFlags::BLOCKING.needs_fast_io_queue());
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct CallbackFlags: u32 {
        /// `MFASYNC_FAST_IO_PROCESSING_CALLBACK`: under 1 ms; only IO or TIMER may dispatch it.
        const FAST_IO_PROCESSING = 0x1;
        /// `MFASYNC_SIGNAL_CALLBACK`: under 50 µs, only sets an event; only IO or TIMER.
        const SIGNAL = 0x2;
        /// `MFASYNC_BLOCKING_CALLBACK`: accepted everywhere.
        const BLOCKING = 0x4;
        /// `MFASYNC_REPLY_CALLBACK`: reply mode on serial queues.
        const REPLY = 0x8;
        /// `MFASYNC_LOCALIZE_REMOTE_CALLBACK`: undocumented; accepted and ignored.
        const LOCALIZE_REMOTE = 0x10;
        // Unknown bits are kept, not rejected: a callback may report flags from a newer SDK.
        const _ = !0;
    }
}

impl CallbackFlags {
    /// FAST_IO and SIGNAL may only be dispatched from the IO or TIMER queue (docs/behaviour.md#d9).
    pub fn needs_fast_io_queue(self) -> bool {
        self.intersects(CallbackFlags::FAST_IO_PROCESSING | CallbackFlags::SIGNAL)
    }

    /// Whether a callback with these flags may be dispatched from `queue`:
    /// FAST_IO and SIGNAL only from the IO or TIMER platform queue.
    #[inline]
    pub(crate) fn fit(self, queue: QueueId) -> bool {
        !self.needs_fast_io_queue()
            || (!queue.is_private() && queue.platform_slot().allows_fast_io())
    }
}

/// The three priority bands of docs/behaviour.md#d4. A higher band is taken first by the
/// next free worker; FIFO inside a band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Band {
    High = 0,
    Normal = 1,
    Low = 2,
}

impl Band {
    /// `> 0` high, `0` normal, `< 0` low.
    pub(crate) fn from_priority(priority: i32) -> Band {
        match priority {
            p if p > 0 => Band::High,
            0 => Band::Normal,
            _ => Band::Low,
        }
    }

    /// The band as a priority sign: 1, 0 or -1 (what traces show).
    #[cfg_attr(not(feature = "observe"), allow(dead_code))]
    pub(crate) fn priority(self) -> i8 {
        match self {
            Band::High => 1,
            Band::Normal => 0,
            Band::Low => -1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_low_ids_are_standard() {
        for id in [0u32, 1, 6, 8, 0x20, 0x4000, 0xFFFF] {
            assert_eq!(
                QueueId(id).platform_slot(),
                PlatformQueue::Standard,
                "{id:#x}"
            );
            assert!(!QueueId(id).is_private());
        }
        assert_eq!(QueueId(5).platform_slot(), PlatformQueue::Multithreaded);
        assert!(QueueId(0x10000).is_private());
    }

    #[test]
    fn undefined_private_ids_are_standard_and_no_allocated_id_is_one() {
        for id in [0xFFFF_0000u32, 0xFFFE_0000, 0x8000_0000, 0xC000_0000] {
            let id = QueueId(id);
            assert!(id.is_undefined_private() && !id.is_private(), "{id:?}");
            assert_eq!(id.platform_slot(), PlatformQueue::Standard, "{id:?}");
        }
        for id in [
            0x0001_0000u32,
            0x7FFF_0000,
            0xFFFF_0001,
            0xFFFF_0005,
            0xFFFF_FFFF,
        ] {
            assert!(!QueueId(id).is_undefined_private(), "{id:#x}");
        }
    }

    #[test]
    fn priority_bands() {
        assert_eq!(Band::from_priority(1), Band::High);
        assert_eq!(Band::from_priority(i32::MAX), Band::High);
        assert_eq!(Band::from_priority(0), Band::Normal);
        assert_eq!(Band::from_priority(-1), Band::Low);
        assert_eq!(Band::from_priority(i32::MIN), Band::Low);
    }

    #[test]
    fn platform_queue_threading_follows_decision_q3() {
        let serial: Vec<_> = PlatformQueue::ALL
            .iter()
            .filter(|q| q.is_serial())
            .map(|q| q.id())
            .collect();
        assert_eq!(serial, [QueueId::STANDARD, QueueId::RT, QueueId::TIMER]);
    }
}
