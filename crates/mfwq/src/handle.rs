//! Win32-style handles for events: the value a C caller holds as a `HANDLE`,
//! stores in a result's `hEvent` and passes to `MFPutWaitingWorkItem`
//! (docs/behaviour.md#d17).
//!
//! A handle is a number, not a pointer, so that a stale, closed or made-up
//! handle is recognised and refused instead of dereferenced ("bad input never
//! crashes"). Values are multiples of four like Windows handles, never 0 (NULL)
//! and never `INVALID_HANDLE_VALUE` (all bits set). Each slot carries a 16-bit
//! generation, so a closed handle stays invalid while its slot is reused by
//! later events, for 65,535 reuses of that slot (Windows itself reuses values
//! at once; this is stricter, not perfect).
//!
//! Written by hand: the table is a few dozen lines, and the slab crates' keys
//! give no guarantee that 0 and all-ones are never produced.

use parking_lot::RwLock;

use crate::event::Event;

/// A handle value as C sees it (`HANDLE`, pointer-sized).
pub type RawHandle = usize;

struct Slot {
    generation: u16,
    event: Option<Event>,
}

struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

static TABLE: RwLock<Table> = RwLock::new(Table {
    slots: Vec::new(),
    free: Vec::new(),
});

const INDEX_BITS: u32 = 32;

fn encode(index: usize, generation: u16) -> RawHandle {
    (((generation as usize) << INDEX_BITS) | (index + 1)) << 2
}

fn decode(handle: RawHandle) -> Option<(usize, u16)> {
    if handle == 0 || handle & 3 != 0 {
        return None;
    }
    let value = handle >> 2;
    let index = (value & ((1 << INDEX_BITS) - 1)).checked_sub(1)?;
    let generation = u16::try_from(value >> INDEX_BITS).ok()?;
    Some((index, generation))
}

/// Opens a handle to `event` (the handle holds one reference to it).
///
/// ```
/// let event = mfwq::Event::manual_reset(false);
/// let handle = mfwq::handle::open(event.clone());
/// assert!(mfwq::handle::event(handle).unwrap().ptr_eq(&event));
/// assert!(mfwq::handle::close(handle));
/// assert!(mfwq::handle::event(handle).is_none());
/// assert!(!mfwq::handle::close(handle), "a second close fails");
/// ```
pub fn open(event: Event) -> RawHandle {
    let mut table = TABLE.write();
    match table.free.pop() {
        Some(index) => {
            let slot = &mut table.slots[index];
            slot.event = Some(event);
            encode(index, slot.generation)
        }
        None => {
            let index = table.slots.len();
            table.slots.push(Slot {
                generation: 0,
                event: Some(event),
            });
            encode(index, 0)
        }
    }
}

/// The event a handle names, or `None` for NULL, closed or invalid handles.
pub fn event(handle: RawHandle) -> Option<Event> {
    let (index, generation) = decode(handle)?;
    let table = TABLE.read();
    let slot = table.slots.get(index)?;
    if slot.generation != generation {
        return None;
    }
    slot.event.clone()
}

/// Closes a handle; `false` when it was not open. The event lives on while
/// other handles or Rust clones hold it.
pub fn close(handle: RawHandle) -> bool {
    let Some((index, generation)) = decode(handle) else {
        return false;
    };
    let closed = {
        let mut table = TABLE.write();
        let Some(slot) = table.slots.get_mut(index) else {
            return false;
        };
        if slot.generation != generation || slot.event.is_none() {
            return false;
        }
        slot.generation = slot.generation.wrapping_add(1);
        let closed = slot.event.take();
        table.free.push(index);
        closed
    };
    // Dropped outside the lock: the last reference may free waiting items.
    drop(closed);
    true
}

/// The kinds of handle value that are not events. The core owns the layout of
/// every handle value: an event handle is a multiple of four; a handle of
/// another kind carries the kind in its two low bits and a number above them,
/// so no two kinds ever share a value, and an event call given another kind's
/// handle fails cleanly (and the other way round).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleKind {
    /// A deadline request (`RtwqSetDeadline`'s `pRequest`).
    DeadlineRequest = 1,
}

/// The handle value for object `id` (non-zero, below 2^62) of `kind`.
///
/// ```
/// use mfwq::handle::{tagged, untag, HandleKind};
/// let handle = tagged(HandleKind::DeadlineRequest, 7);
/// assert_eq!(untag(HandleKind::DeadlineRequest, handle), Some(7));
/// assert!(mfwq::handle::event(handle).is_none());
/// ```
pub fn tagged(kind: HandleKind, id: u64) -> RawHandle {
    // The two low bits hold the kind: an id that does not fit above them
    // would lose its high bits and alias another object's handle. The ids
    // come from 64-bit counters that start at 1 (`realtime/deadline.rs`),
    // so they stay far below this in practice; the assertion says so.
    debug_assert!(
        id != 0 && id <= MAX_TAGGED_ID,
        "tagged handle id {id:#x} out of range"
    );
    ((id as RawHandle) << 2) | kind as RawHandle
}

/// The largest object number a tagged handle holds: two bits fewer than a
/// handle value (2^62 - 1 where handles are 64 bits wide).
pub const MAX_TAGGED_ID: u64 = (RawHandle::MAX >> 2) as u64;

/// The object number a handle of `kind` names, or `None` for NULL and for
/// values of any other kind.
pub fn untag(kind: HandleKind, handle: RawHandle) -> Option<u64> {
    (handle & 3 == kind as RawHandle && handle >> 2 != 0).then_some((handle >> 2) as u64)
}

/// How many handles are open (for leak checks in tests).
pub fn open_count() -> usize {
    let table = TABLE.read();
    table.slots.len() - table.free.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_never_null_or_invalid_and_stale_ones_fail() {
        let first = open(Event::manual_reset(false));
        assert_ne!(first, 0);
        assert_ne!(first, usize::MAX);
        assert_eq!(first % 4, 0);
        assert!(close(first));
        let second = open(Event::manual_reset(false));
        assert_ne!(first, second, "a reused slot has a new generation");
        assert!(event(first).is_none());
        assert!(!close(first));
        assert!(event(second).is_some());
        assert!(close(second));
        for bogus in [0, 1, 3, usize::MAX, usize::MAX - 3, 4 << 40] {
            assert!(event(bogus).is_none());
            assert!(!close(bogus));
        }
    }

    #[test]
    fn tagged_ids_round_trip_up_to_the_largest_that_fits() {
        for id in [1, 7, MAX_TAGGED_ID] {
            let handle = tagged(HandleKind::DeadlineRequest, id);
            assert_eq!(untag(HandleKind::DeadlineRequest, handle), Some(id));
        }
        #[cfg(target_pointer_width = "64")]
        assert_eq!(MAX_TAGGED_ID, (1 << 62) - 1);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "out of range")]
    fn an_id_too_large_for_a_tagged_handle_is_caught() {
        let _ = tagged(HandleKind::DeadlineRequest, MAX_TAGGED_ID + 1);
    }
}
