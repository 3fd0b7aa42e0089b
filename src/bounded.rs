//! The Event stage's bounded tables (calls, records seen): a map whose entries are forgotten oldest
//! first, by event-time window and by count. Apart from `event.rs` so that file stays readable.

use std::collections::{HashMap, VecDeque};

/// A map whose entries are forgotten oldest first, by event-time window and by count.
pub struct Bounded<V> {
    pub map: HashMap<u64, V>,
    pub order: VecDeque<(u64, i64)>,
}

impl<V> Bounded<V> {
    /// Sized for `cap` at once: growing by doubling would copy the table (and, for a moment, hold
    /// both copies) just when it is largest. Untouched capacity costs no resident memory.
    pub fn new(cap: usize, presize: bool) -> Self {
        let cap = if presize { cap + 1 } else { 0 };
        Bounded { map: HashMap::with_capacity(cap), order: VecDeque::with_capacity(cap) }
    }

    /// Removes entries first seen before `horizon_ms`, and the oldest past `cap`.
    pub fn expire(&mut self, horizon_ms: Option<i64>, cap: usize, mut gone: impl FnMut((u64, V))) {
        while let Some(&(key, at)) = self.order.front() {
            let old = horizon_ms.is_some_and(|h| at < h);
            if !old && self.order.len() <= cap {
                break;
            }
            self.order.pop_front();
            if let Some(v) = self.map.remove(&key) {
                gone((key, v));
            }
        }
    }
}
