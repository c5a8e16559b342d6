//! The set of pending items by deadline behind scheduled items and periodic
//! callbacks: a binary heap of `(deadline, key)` for the earliest, plus a map
//! by key for cancel (lazy deletion from the heap).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

/// A fast hasher for item keys: the low dword is a counter, so one multiply
/// spreads them well enough.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (value ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by item keys.
pub(crate) type KeyMap<T> = HashMap<u64, T, BuildHasherDefault<KeyHasher>>;

/// Items ordered by deadline, removable by key.
///
/// Whoever removes an item from here owns it: the firing thread
/// ([`pop_due`](Self::pop_due)), a cancel ([`remove`](Self::remove)) or
/// shutdown ([`drain`](Self::drain)), all under the one lock that guards it.
/// Removal by key leaves the heap entry behind; an entry is live only while the
/// map holds its key with the same deadline.
pub(crate) struct Deadlines<T> {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    items: KeyMap<(Instant, T)>,
}

/// Pending items a set has room for from the start: a steady state with up
/// to this many pending (a real-time queue's timer items, a few at a time)
/// never grows the map or the heap, so it allocates nothing (about 3 KB per
/// set).
pub(crate) const ROOM: usize = 64;

impl<T> Deadlines<T> {
    pub(crate) fn new() -> Deadlines<T> {
        Deadlines {
            heap: BinaryHeap::with_capacity(ROOM),
            items: KeyMap::with_capacity_and_hasher(ROOM, Default::default()),
        }
    }

    /// Adds `item` under a key not in use.
    pub(crate) fn insert(&mut self, key: u64, deadline: Instant, item: T) {
        self.compact_if_sparse();
        let previous = self.items.insert(key, (deadline, item));
        debug_assert!(previous.is_none(), "item keys are unique");
        self.heap.push(Reverse((deadline, key)));
    }

    /// Takes the item out, if it is still pending.
    pub(crate) fn remove(&mut self, key: u64) -> Option<T> {
        self.items.remove(&key).map(|(_, item)| item)
    }

    /// Takes out every item due at `now`, earliest first, with its key and deadline.
    pub(crate) fn pop_due(&mut self, now: Instant, out: &mut Vec<(u64, Instant, T)>) {
        while let Some(&Reverse((deadline, key))) = self.heap.peek() {
            if deadline > now {
                break;
            }
            self.heap.pop();
            if self.is_live(deadline, key) {
                let (_, item) = self
                    .items
                    .remove(&key)
                    .expect("live entries are in the map");
                out.push((key, deadline, item));
            }
        }
    }

    /// The earliest pending deadline (stale heap entries are dropped on the way).
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((deadline, key))) = self.heap.peek() {
            if self.is_live(deadline, key) {
                return Some(deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// Takes out everything.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        self.heap.clear();
        self.items.drain().map(|(_, (_, item))| item).collect()
    }

    fn is_live(&self, deadline: Instant, key: u64) -> bool {
        matches!(self.items.get(&key), Some((live, _)) if *live == deadline)
    }

    /// Drops stale heap entries once they outnumber the live ones (amortised O(1)).
    fn compact_if_sparse(&mut self) {
        if self.heap.len() > 2 * self.items.len() + 1024 {
            let items = &self.items;
            self.heap.retain(
                |&Reverse((deadline, key))| matches!(items.get(&key), Some((live, _)) if *live == deadline),
            );
        }
    }
}

#[cfg(all(test, not(mfwq_loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn deadlines_pop_due_items_in_deadline_order_and_skip_removed_ones() {
        let base = Instant::now();
        let mut set = Deadlines::new();
        set.insert(1, at(base, 30), "c");
        set.insert(2, at(base, 10), "a");
        set.insert(3, at(base, 20), "b");
        set.insert(4, at(base, 40), "d");
        assert_eq!(set.remove(3), Some("b"));
        assert_eq!(set.remove(3), None, "a second removal finds nothing");
        assert_eq!(set.next_deadline(), Some(at(base, 10)));
        let mut due = Vec::new();
        set.pop_due(at(base, 35), &mut due);
        let keys: Vec<_> = due.iter().map(|(key, _, item)| (*key, *item)).collect();
        assert_eq!(keys, [(2, "a"), (1, "c")]);
        assert_eq!(set.remove(2), None, "a fired item cannot be removed");
        assert_eq!(set.next_deadline(), Some(at(base, 40)));
        assert_eq!(set.drain(), ["d"]);
        assert_eq!(set.next_deadline(), None);
    }

    #[test]
    fn next_deadline_skips_stale_heap_entries() {
        let base = Instant::now();
        let mut set = Deadlines::new();
        set.insert(1, at(base, 1), ());
        set.insert(2, at(base, 5), ());
        set.remove(1);
        assert_eq!(set.next_deadline(), Some(at(base, 5)));
        // A re-inserted key with a new deadline: only the new entry is live.
        set.remove(2);
        set.insert(2, at(base, 9), ());
        assert_eq!(set.next_deadline(), Some(at(base, 9)));
        let mut due = Vec::new();
        set.pop_due(at(base, 8), &mut due);
        assert!(
            due.is_empty(),
            "the stale 5 ms entry does not fire the item"
        );
        set.pop_due(at(base, 9), &mut due);
        assert_eq!(due.len(), 1);
    }

    #[test]
    fn heap_is_compacted_when_stale_entries_pile_up() {
        let base = Instant::now();
        let mut set = Deadlines::new();
        for key in 0..100_000u64 {
            set.insert(key, at(base, 1000 + key % 50), ());
            set.remove(key);
        }
        assert!(
            set.heap.len() <= 2048,
            "stale entries are dropped: {}",
            set.heap.len()
        );
    }
}
