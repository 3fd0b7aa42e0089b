//! A map whose entries are forgotten oldest first, by event-time window and by count: the Event
//! stage's call and seen-record tables.
//!
//! Entries live in a ring in the order they came (which is the order they are forgotten in), and an
//! index of 4-byte slots finds them by key. A hash map of whole entries, at its cap, forgets one for
//! each it learns; the forgotten leave tombstones, and hashbrown clears those in place only while the
//! entries fill at most half of it, so at 100,000 calls the map doubled (and held both copies for a
//! moment): 13 MB of a 29 MB heap peak of `check --timeline` on a load test's export. Here only the
//! index grows so, at 4 bytes a slot.

use std::collections::VecDeque;

use hashbrown::HashTable;

/// Request ids and stream ids come from logs, but every table keyed by them is bounded (by count and
/// by event time), so a fast hash will do where SipHash's flood resistance buys nothing (it was ~5 %
/// of `check`'s time); foldhash is seeded per process, so keys still differ from run to run.
pub type Fast = foldhash::fast::RandomState;

/// Rings up to this many entries are sized at once (the defaults are 100,000 calls and 200,000
/// records): growing by doubling copies the ring when it is largest. Larger caps grow as they fill.
const PRESIZE_MAX: usize = 1 << 18;

/// A map whose entries are forgotten oldest first, by event-time window and by count. Keys are
/// `Fast` hashes already (of a call's or record's parts), so they index as they are.
pub struct Bounded<V> {
    /// Oldest first: key, when first seen (event time), value.
    ring: VecDeque<(u64, i64, V)>,
    /// The number of `ring[0]` in the order entries came (its low 32 bits: the ring is never that long).
    head: u32,
    /// Each entry's number.
    index: HashTable<u32>,
}

impl<V> Bounded<V> {
    /// Up to `cap` entries are expected (`expire` keeps to it).
    pub fn new(cap: usize) -> Self {
        Bounded { ring: VecDeque::with_capacity(cap.min(PRESIZE_MAX) + 1), head: 0, index: HashTable::new() }
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    fn position(&self, key: u64) -> Option<usize> {
        let ring = &self.ring;
        let head = self.head;
        let slot = self.index.find(key, |&n| ring[n.wrapping_sub(head) as usize].0 == key)?;
        Some(slot.wrapping_sub(head) as usize)
    }

    pub fn get(&self, key: &u64) -> Option<&V> {
        self.position(*key).map(|i| &self.ring[i].2)
    }

    pub fn get_mut(&mut self, key: &u64) -> Option<&mut V> {
        self.position(*key).map(|i| &mut self.ring[i].2)
    }

    pub fn contains_key(&self, key: &u64) -> bool {
        self.position(*key).is_some()
    }

    /// Adds an entry whose key is not in the map (`contains_key` said so), first seen at `at`.
    pub fn insert_new(&mut self, key: u64, at: i64, value: V) {
        let n = self.head.wrapping_add(self.ring.len() as u32);
        self.ring.push_back((key, at, value));
        let (ring, head) = (&self.ring, self.head);
        self.index.insert_unique(key, n, |&m| ring[m.wrapping_sub(head) as usize].0);
    }

    /// Removes entries first seen before `horizon_ms`, and the oldest past `cap`.
    pub fn expire(&mut self, horizon_ms: Option<i64>, cap: usize, mut gone: impl FnMut((u64, V))) {
        while let Some(&(key, at, _)) = self.ring.front() {
            let old = horizon_ms.is_some_and(|h| at < h);
            if !old && self.ring.len() <= cap {
                break;
            }
            let head = self.head;
            if let Ok(entry) = self.index.find_entry(key, |&n| n == head) {
                entry.remove();
            }
            self.head = head.wrapping_add(1);
            if let Some((key, _, value)) = self.ring.pop_front() {
                gone((key, value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_holds_and_forgets_oldest_first() {
        let mut b: Bounded<u32> = Bounded::new(4);
        let mut gone = Vec::new();
        for k in 0..10u64 {
            // Keys that share low bits, so the index probes past each other.
            let key = k << 40 | 7;
            assert!(!b.contains_key(&key));
            b.insert_new(key, k as i64 * 10, k as u32);
            b.expire(None, 4, |(key, v)| gone.push((key >> 40, v)));
            assert!(b.len() <= 4);
        }
        assert_eq!(gone, (0..6).map(|k| (k, k as u32)).collect::<Vec<_>>());
        for k in 6..10u64 {
            assert_eq!(b.get(&(k << 40 | 7)), Some(&(k as u32)));
        }
        *b.get_mut(&(9 << 40 | 7)).unwrap() = 99;
        assert_eq!(b.get(&(9 << 40 | 7)), Some(&99));
        // By window: entries first seen before the horizon go, whatever the count.
        b.expire(Some(85), 4, |(key, _)| gone.push((key >> 40, 0)));
        assert_eq!(b.len(), 1);
        assert!(b.contains_key(&(9 << 40 | 7)) && !b.contains_key(&(8 << 40 | 7)));
    }

    /// Many more entries than the cap, through wrapping numbers: the index stays exact.
    #[test]
    fn stays_exact_past_the_numbers_wrapping() {
        let mut b: Bounded<u64> = Bounded::new(1000);
        b.head = u32::MAX - 5000;
        for k in 0..20_000u64 {
            let key = k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            b.insert_new(key, 0, k);
            b.expire(None, 1000, |_| {});
            if k % 997 == 0 {
                for j in k.saturating_sub(999)..=k {
                    assert_eq!(b.get(&j.wrapping_mul(0x9E37_79B9_7F4A_7C15)), Some(&j));
                }
                assert!(!b.contains_key(&(k.saturating_sub(1000)).wrapping_mul(0x9E37_79B9_7F4A_7C15)) || k < 1000);
            }
        }
        assert_eq!(b.len(), 1000);
    }
}
