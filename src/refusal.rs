//! The first refusal: the time of the first 45011 call, and the login attempts whose call time t
//! satisfies first − 60 s < t ≤ first (the refused call's own attempt included). It is exact (times in
//! milliseconds, not minute counts), so a load test cut short in the onset minute still says at what
//! rate WeChat began refusing.
//!
//! Contract: records may come in any order (a newest-first export lowers the first refusal as it goes),
//! so every attempt at or before the first refusal known so far is kept; attempts after it can never
//! count (the first refusal only moves earlier) and are dropped. `horizon_ms` bounds memory for a
//! sink that never ends (the daemon): attempts older than the newest attempt minus `horizon_ms` are
//! dropped, except those in the 60 s before the first refusal; a finished input (`check`) passes None
//! and keeps what it needs. Each sink (`check`'s tally, the daemon's state) owns one; the read model
//! (`crate::view`) reads `first()`.

pub const LOOKBACK_MS: i64 = 60_000;

#[derive(Debug, Clone, Default)]
pub struct Refusals {
    first_ms: Option<i64>,
    /// Attempt times at or before the first refusal (all of them before one is known).
    attempts: Vec<i64>,
    newest_attempt_ms: Option<i64>,
    horizon_ms: Option<i64>,
    /// Length past which the next attempt prunes (twice the length after the last prune).
    prune_at: usize,
}

impl Refusals {
    pub fn new(horizon_ms: Option<i64>) -> Refusals {
        Refusals { horizon_ms, prune_at: 1024, ..Refusals::default() }
    }

    /// A login attempt at `time_ms` (its call's time).
    pub fn attempt(&mut self, time_ms: i64) {
        if self.first_ms.is_some_and(|f| time_ms > f) {
            return;
        }
        self.newest_attempt_ms = Some(self.newest_attempt_ms.map_or(time_ms, |n| n.max(time_ms)));
        self.attempts.push(time_ms);
        if self.attempts.len() >= self.prune_at {
            self.prune();
            self.prune_at = (self.attempts.len() * 2).max(1024);
        }
    }

    /// A 45011 call at `time_ms`.
    pub fn refusal(&mut self, time_ms: i64) {
        if self.first_ms.is_some_and(|f| f <= time_ms) {
            return;
        }
        self.first_ms = Some(time_ms);
        self.attempts.retain(|&t| t <= time_ms);
    }

    fn prune(&mut self) {
        let (Some(h), Some(newest)) = (self.horizon_ms, self.newest_attempt_ms) else { return };
        let oldest = newest - h;
        let first = self.first_ms;
        self.attempts.retain(|&t| t >= oldest || first.is_some_and(|f| t > f - LOOKBACK_MS));
    }

    /// (time of the first refusal, login attempts in the 60 s up to it), None before any refusal.
    pub fn first(&self) -> Option<(i64, u64)> {
        let f = self.first_ms?;
        Some((f, self.attempts.iter().filter(|&&t| t > f - LOOKBACK_MS && t <= f).count() as u64))
    }

    /// The saved form: the first refusal and the attempts that count for it (the daemon's history).
    pub fn state(&self) -> (Option<i64>, Vec<i64>) {
        let keep: Vec<i64> = match self.first_ms {
            Some(f) => self.attempts.iter().copied().filter(|&t| t > f - LOOKBACK_MS && t <= f).collect(),
            None => Vec::new(),
        };
        (self.first_ms, keep)
    }

    /// Restored from `state` (attempts before a first refusal are not saved: with none, nothing is).
    pub fn from_state(first_ms: Option<i64>, attempts: &[i64], horizon_ms: Option<i64>) -> Refusals {
        let mut r = Refusals::new(horizon_ms);
        r.first_ms = first_ms;
        r.attempts = attempts.to_vec();
        r.newest_attempt_ms = attempts.iter().copied().max();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_first_minus_60s_exclusive_to_first_inclusive_in_any_order() {
        let attempts: Vec<i64> = (0..200).map(|i| 1_000 + i * 1_000).collect(); // 1 s apart
        let refusals = [150_500, 120_000, 180_000];
        for reversed in [false, true] {
            let mut r = Refusals::new(None);
            let mut all: Vec<(bool, i64)> =
                attempts.iter().map(|&t| (false, t)).chain(refusals.iter().map(|&t| (true, t))).collect();
            all.sort_by_key(|&(_, t)| t);
            if reversed {
                all.reverse();
            }
            for (refused, t) in all {
                if refused { r.refusal(t) } else { r.attempt(t) }
            }
            // (60 000, 120 000]: 61 000 … 120 000 is 60 attempts.
            assert_eq!(r.first(), Some((120_000, 60)), "reversed: {reversed}");
        }
        assert_eq!(Refusals::new(None).first(), None);
    }

    #[test]
    fn a_horizon_bounds_memory_but_keeps_the_window() {
        let mut r = Refusals::new(Some(600_000));
        for i in 0..100_000 {
            r.attempt(i * 100);
        }
        assert!(r.attempts.len() < 20_000, "{}", r.attempts.len());
        r.refusal(9_999_900);
        assert_eq!(r.first(), Some((9_999_900, 600)));
        let (f, a) = r.state();
        assert_eq!(Refusals::from_state(f, &a, None).first(), r.first());
    }
}
