//! The Event stage's tables (calls, records seen): a map whose entries are forgotten oldest first, by
//! event-time window and by count, and what the calls table keeps of a call. Apart from `event.rs`
//! so that file stays readable; the rules that fill them are there.

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

/// One call, kept small: the table holds up to `max_calls` of them. Events waiting for the call's
/// time are kept apart (`Stage::held`), for the few calls that have any.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// The call's time, or `NO_TIME` while none is known.
    pub time: i64,
    /// Catalogue patterns already counted for this call (bit per index; patterns from 31 on are not
    /// joined and count per line), and bit 31: its login attempt was counted.
    pub counted: u32,
    pub stream: u64,
}

pub const NO_TIME: i64 = i64::MIN;
pub const ATTEMPT_BIT: u32 = 1 << 31;

impl Call {
    pub fn time_ms(&self) -> Option<i64> {
        (self.time != NO_TIME).then_some(self.time)
    }
}
